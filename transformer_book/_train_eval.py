"""What ``python -m transformer_book.train`` needs to score a run as the field does.

- Official validation and test sets (``--valid-src/--valid-tgt``, ``--test-src/--test-tgt``,
  line-aligned files such as Multi30k's ``val`` and ``test_2016_flickr``), used instead of the
  hash split's validation and test parts; every line of a test set is scored.
- The final test decode with beam search (``--beam``, default 4, ``--alpha``, default 0.6: the
  paper's section 6.1).
- The weights of the last ``K`` epochs averaged into the final model (``--average-last K``,
  section 6.1), written next to ``--out`` as ``NAME.avg.pt``.
- Model sizes other than a preset's (``--d-model``, ``--heads``, ``--layers``, ``--d-ff``).
- The final report, which names the set it scored, the decoding and sacreBLEU's signatures.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import NamedTuple

from ._checks import check_output_path
from ._cli import finite_float, positive_int
from .averaging import LastEpochs
from .checkpoints import save_checkpoint
from .model import TransformerConfig
from .protocols import Seq2Seq, Tokenizer
from .scoring import ALPHA, BEAM, TestSet, decoding_description, read_test_set, score_test_set
from .text.corpus import Pair, read_aligned
from .text.metrics import exact_match

OFFICIAL_SETS = ("valid_src", "valid_tgt", "test_src", "test_tgt")
SIZES = {"d_model": "d_model", "heads": "num_heads", "layers": "num_layers", "d_ff": "d_ff"}
"""Each size flag's setting and the ``TransformerConfig`` field it sets."""
SETTINGS = dict.fromkeys((*OFFICIAL_SETS, *SIZES))
"""The run settings this module adds (recorded in the checkpoint, checked on ``--resume``)."""
HELD_OUT = 0.05
"""The share of a corpus the hash split holds out for validation, and for test."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The flags of this module, in their own group of ``--help``."""
    group = parser.add_argument_group("official sets, beam search, averaging and model sizes")
    for side, what in (("valid", "validation"), ("test", "test")):
        group.add_argument(f"--{side}-src", metavar="FILE",
                           help=f"an official {what} set's sources, one per line (with "
                                f"--{side}-tgt), instead of the hash split's {what} part")
        group.add_argument(f"--{side}-tgt", metavar="FILE", help="their references")
    group.add_argument("--beam", type=positive_int, default=BEAM,
                       help=f"beam size of the final test decode, 1 for greedy (default {BEAM})")
    group.add_argument("--alpha", type=finite_float, default=ALPHA,
                       help=f"beam's length penalty ((5 + length) / 6) ** alpha (default {ALPHA})")
    group.add_argument("--average-last", type=positive_int, default=1, metavar="K",
                       help="average the weights of the last K epochs (of this run, when "
                            "resuming) into the final model, saved as NAME.avg.pt next to "
                            "--out (default 1: no averaging)")
    for flag, field in SIZES.items():
        group.add_argument(f"--{flag.replace('_', '-')}", type=positive_int,
                           help=f"the model's {field}, instead of the preset's")


def model_sizes(config: TransformerConfig) -> dict[str, int]:
    """The size settings of a model (as recorded for ``--resume``)."""
    return {flag: getattr(config, field) for flag, field in SIZES.items()}


def size_overrides(settings: dict[str, object]) -> dict[str, int]:
    """The ``TransformerConfig`` fields that the size flags set."""
    return {field: settings[flag] for flag, field in SIZES.items()
            if settings.get(flag) is not None}


class OfficialSets(NamedTuple):
    """The validation pairs and the test set read from official files (``None``: not given)."""

    validation: list[Pair] | None
    test: TestSet | None


def read_official_sets(settings: dict[str, object]) -> OfficialSets:
    """Read ``--valid-src/--valid-tgt`` and ``--test-src/--test-tgt`` before any training, so that
    a bad file stops the run before anything is written. ``ValueError`` (one line, naming the
    file and line) for a flag without its partner, undecodable bytes or files of different
    lengths. (``train.check_corpus_flags`` refuses these flags without a corpus.)"""
    for side in ("valid", "test"):
        if bool(settings.get(f"{side}_src")) != bool(settings.get(f"{side}_tgt")):
            raise ValueError(f"give --{side}-src and --{side}-tgt together")
    validation = None
    if settings.get("valid_src"):
        validation = read_aligned(settings["valid_src"], settings["valid_tgt"])
        if not validation:
            raise ValueError(f"{settings['valid_src']} is empty: a validation set needs pairs")
    test = None
    if settings.get("test_src"):
        test = read_test_set(settings["test_src"], settings["test_tgt"])
    return OfficialSets(validation, test)


def held_out(official: OfficialSets) -> dict[str, float]:
    """The shares of the corpus the hash split keeps for validation and test: none for a part
    that an official set replaces."""
    return {"validation": 0.0 if official.validation is not None else HELD_OUT,
            "test": 0.0 if official.test is not None else HELD_OUT}


def split_test_set(pairs: list[Pair], task: str, settings: dict[str, object]) -> TestSet:
    """The test set of a run without an official one, described as what it is."""
    sources, references = [s for s, _ in pairs], [t for _, t in pairs]
    if task != "corpus":
        return TestSet(sources, references, f"{len(pairs)} generated test pairs of task {task}")
    corpus = settings["data"] or f"{settings['src']} -> {settings['tgt']}"
    return TestSet(sources, references,
                   f"{len(pairs)} pairs of the test part that the hash split held out of "
                   f"{corpus} (not an official test set)")


def averaged_path(out: str | os.PathLike) -> Path:
    """Where ``--average-last`` writes the averaged model: ``model.pt`` -> ``model.avg.pt``."""
    out = Path(out)
    return out.with_name(f"{out.stem}.avg{out.suffix}") if out.suffix else Path(f"{out}.avg")


def check_averaging(args: argparse.Namespace) -> None:
    """With ``--average-last K > 1``, refuse an averaged output that exists (unless ``--resume``
    or ``--overwrite``) or cannot be written, before any training."""
    if args.average_last == 1:
        return
    path = averaged_path(args.out)
    check_output_path("the averaged model's path", str(path))
    if path.exists() and not (args.resume or args.overwrite):
        raise ValueError(f"{path} (where --average-last writes the averaged model) already "
                         f"exists; add --overwrite to replace it")


def epoch_keeper(model: Seq2Seq, args: argparse.Namespace) -> LastEpochs | None:
    """``fit``'s ``on_epoch_end`` hook for ``--average-last``, or ``None`` without it. It keeps
    the epochs this process trains: a resumed run averages only its own epochs (the weights of
    earlier ones are not on disk)."""
    return LastEpochs(model, args.average_last) if args.average_last > 1 else None


def final_report(model: Seq2Seq, tokenizer: Tokenizer,
                 test: TestSet, args: argparse.Namespace, keeper: LastEpochs | None,
                 extra: dict[str, object]) -> str:
    """Average the kept epochs (and save that model), decode the test set with the beam and
    score it; the report names the set, the decoding and the signatures. ``OSError`` if the
    averaged model cannot be written."""
    saved = f"saved {args.out}"
    averaged = ""
    if keeper is not None:
        keeper.load_average()
        epochs = keeper.epochs
        path = averaged_path(args.out)
        save_checkpoint(path, model, tokenizer, epoch=epochs[-1],
                        extra={**extra, "averaged_epochs": epochs})
        averaged = f", weights averaged over epochs {epochs[0]}-{epochs[-1]}"
        saved = f"saved {args.out} and the averaged model {path}"
    if not test.sources:
        return f"no test pairs to score; {saved}"
    scores = score_test_set(model, tokenizer, test, beam_size=args.beam, alpha=args.alpha)
    em = exact_match(scores.hypotheses, test.references)
    cut = f", {scores.truncated} sources cut to max_len" if scores.truncated else ""
    return (f"test exact match {em:.4f}, BLEU {scores.bleu:.1f}, chrF {scores.chrf:.1f} on "
            f"{test.description} ({decoding_description(args.beam, args.alpha)}{averaged}"
            f"{cut}; BLEU {scores.bleu_signature}; chrF {scores.chrf_signature}); {saved}")
