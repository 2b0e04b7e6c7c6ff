"""The settings of a ``python -m transformer_book.train`` run: its flags, their defaults and
limits, and how a resumed run takes its checkpoint's settings and refuses flags that contradict
them."""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from . import _train_eval
from ._checks import check_choice
from ._cli import ArgumentParser, finite_float, positive_int
from ._train_corpus import CORPUS
from .checkpoints import Checkpoint
from .model import TransformerConfig
from .text.data import TASKS
from .training import TrainingConfig

__all__ = ["build_parser", "RUN_DEFAULTS", "LIMITS", "TRAINING_SETTINGS", "CORPUS_SETTINGS",
           "recorded_settings", "given_settings", "run_settings", "check_corpus_flags"]

RUN_DEFAULTS: dict[str, object] = {
    "task": "dates-iso", "preset": "small", "dropout": None, "train_size": 8000,
    "val_size": 500, "batch_size": 64, "warmup": 200, "lr_factor": 0.25,
    "label_smoothing": 0.1, "seed": 0, "max_tokens": None, "accumulate": 1,
    "data": None, "src": None, "tgt": None, "vocab_size": 8000, **_train_eval.SETTINGS,
}
"""The settings of a run. A new run takes them from the flags (else these defaults), a resumed
run from its checkpoint."""

LIMITS = {"epochs": 100_000, "train_size": 1_000_000, "val_size": 100_000,
          "test_size": 100_000, "batch_size": 65_536, "max_tokens": 1_048_576,
          "accumulate": 1024, "warmup": 10_000_000, "vocab_size": 1_000_000}
"""The largest value of each numeric flag: the generated pairs of a million training pairs take
a few hundred megabytes; more would exhaust a laptop's memory before the first step."""

TRAINING_SETTINGS = ("batch_size", "warmup", "lr_factor", "label_smoothing", "seed", "max_tokens",
                     "accumulate")
CORPUS_SETTINGS = ("data", "src", "tgt", "vocab_size", *_train_eval.OFFICIAL_SETS)


def build_parser() -> ArgumentParser:
    parser = ArgumentParser(
        prog="python -m transformer_book.train",
        description="Train a Transformer on a generated task (chapter 8) or a parallel corpus "
                    "(chapter 11) and save a checkpoint.",
    )
    d = RUN_DEFAULTS
    parser.set_defaults(**RUN_DEFAULTS)
    parser.add_argument("--task", choices=TASKS, help=f"what to learn (default: {d['task']})")
    parser.add_argument("--preset", choices=TransformerConfig.SIZES,
                        help=f"model size, a TransformerConfig preset (default: {d['preset']})")
    parser.add_argument("--device", default=None,
                        help="cpu, cuda or mps (default: the best one available)")
    parser.add_argument("--epochs", type=positive_int, default=10,
                        help="epochs to train, in all when resuming (default 10)")
    parser.add_argument("--train-size", type=positive_int,
                        help=f"training pairs per epoch, new ones every epoch "
                             f"(default {d['train_size']})")
    parser.add_argument("--val-size", type=positive_int,
                        help=f"validation pairs (default {d['val_size']})")
    parser.add_argument("--test-size", type=positive_int, default=1000,
                        help="test pairs decoded at the end (default 1000)")
    parser.add_argument("--data", metavar="PAIRS.tsv",
                        help="train on a corpus: a TSV file, source<TAB>target per line")
    parser.add_argument("--src", metavar="FILE",
                        help="train on a corpus: source sentences, one per line (with --tgt)")
    parser.add_argument("--tgt", metavar="FILE", help="their translations, line by line")
    parser.add_argument("--vocab-size", type=positive_int,
                        help=f"subword pieces of a corpus's vocabulary (default {d['vocab_size']})")
    parser.add_argument("--batch-size", type=positive_int,
                        help=f"pairs per batch (default {d['batch_size']})")
    parser.add_argument("--max-tokens", type=positive_int,
                        help="batch by tokens instead: padded tokens per batch on each side")
    parser.add_argument("--accumulate", type=positive_int,
                        help="batches whose gradients make one step (default 1)")
    parser.add_argument("--warmup", type=positive_int,
                        help=f"warmup steps (default {d['warmup']})")
    parser.add_argument("--lr-factor", type=finite_float,
                        help=f"multiplies the paper's learning-rate schedule, at most 100 "
                             f"(default {d['lr_factor']})")
    parser.add_argument("--dropout", type=finite_float,
                        help="dropout probability (default: the preset's)")
    parser.add_argument("--label-smoothing", type=finite_float,
                        help=f"default {d['label_smoothing']}")
    parser.add_argument("--seed", type=int, help=f"0 to 2**32 - 1 (default {d['seed']})")
    parser.add_argument("--compile", action="store_true", help="use torch.compile")
    parser.add_argument("--no-amp", action="store_true", help="no bf16 autocast on CUDA")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.add_argument("--resume", action="store_true",
                        help="continue the training saved in --out (up to --epochs in all), "
                             "with the settings stored there")
    parser.add_argument("--overwrite", action="store_true",
                        help="replace an existing --out with a new run")
    parser.add_argument("--out", default="model.pt", help="checkpoint path (default model.pt)")
    _train_eval.add_arguments(parser)
    return parser


def recorded_settings(resume: Checkpoint, out: str) -> dict[str, object]:
    """The settings a checkpoint was trained with; ``ValueError`` if it cannot be resumed."""
    if resume.optimizer_state is None or resume.scheduler_state is None:
        raise ValueError(f"{out} holds a model without training state (no optimizer or "
                         f"schedule), so it cannot be resumed; use --overwrite to train a new "
                         f"model in its place")
    extra, training = resume.extra, resume.training
    try:
        config = TrainingConfig(**training)
        check_choice("task", extra.get("task"), (*TASKS, CORPUS))
        check_choice("preset", extra.get("preset"), TransformerConfig.SIZES)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{out} has malformed training settings ({exc})") from None
    if resume.epoch < 1:
        raise ValueError(f"{out} records epoch {resume.epoch}: no finished epoch to resume")
    recorded = {k: getattr(config, k) for k in TRAINING_SETTINGS}
    recorded.update(task=extra["task"], preset=extra["preset"],
                    dropout=resume.model.config.dropout,
                    **_train_eval.model_sizes(resume.model.config))
    for key in ("train_size", "val_size"):  # absent from older checkpoints
        if isinstance(extra.get(key), int) and extra[key] >= 1:
            recorded[key] = extra[key]
    if recorded["task"] == CORPUS:  # the corpus itself comes from the command line
        recorded["vocab_size"] = extra.get("vocab_size")
        for key in ("train_size", "val_size"):
            recorded.pop(key, None)
    return recorded


def given_settings(parser: argparse.ArgumentParser, argv: Sequence[str] | None
                   ) -> dict[str, object]:
    """The settings that ``argv`` sets explicitly (not left at their defaults), read with a
    fresh ``parser`` of the command line."""
    parser.set_defaults(**dict.fromkeys(RUN_DEFAULTS))
    args = parser.parse_args(argv)
    return {k: getattr(args, k) for k in RUN_DEFAULTS if getattr(args, k) is not None}


def run_settings(args, given: dict[str, object], resume: Checkpoint | None
                 ) -> dict[str, object]:
    """The flags (or defaults) of a new run; a resumed run's recorded settings, refusing the
    ``given`` flags that contradict them."""
    for key in ("data", "src", "tgt"):
        if key in given and not str(given[key]).strip():
            raise ValueError(f"--{key} is an empty path (an unset shell variable?)")
    if resume is None:
        settings = {k: getattr(args, k) for k in RUN_DEFAULTS}
        check_corpus_flags(given, CORPUS if args.data or args.src or args.tgt
                           else settings["task"], "the task is")
        if args.data or args.src or args.tgt:
            if "task" in given:
                raise ValueError("give --task or a corpus (--data, or --src and --tgt), not both")
            if bool(args.data) == bool(args.src or args.tgt) or bool(args.src) != bool(args.tgt):
                raise ValueError("give a corpus as --data PAIRS.tsv or as --src FILE --tgt FILE")
            settings["task"] = CORPUS
        return settings
    recorded = recorded_settings(resume, args.out)
    if "task" in given and given["task"] != recorded["task"]:
        raise ValueError(f"{args.out} was trained on task {recorded['task']!r}, "
                         f"not {given['task']!r}")
    check_corpus_flags(given, recorded["task"], f"{args.out} was trained on task")
    clashes = [f"--{k.replace('_', '-')} {v} (it has {recorded[k]})" for k, v in given.items()
               if k in recorded and v != recorded[k]]
    if clashes:
        raise ValueError(f"{args.out} was trained with other settings: {', '.join(clashes)}; "
                         f"leave these flags out to resume")
    if args.epochs <= resume.epoch:
        raise ValueError(f"{args.out} already holds {resume.epoch} epochs; give --epochs above "
                         f"{resume.epoch} to train more")
    corpus = {k: getattr(args, k) for k in ("data", "src", "tgt")}
    if recorded["task"] == CORPUS and bool(corpus["data"]) == bool(corpus["src"]):
        raise ValueError(f"{args.out} was trained on a corpus: give it again to resume, as "
                         f"--data PAIRS.tsv or as --src FILE --tgt FILE")
    # The official sets too come from the command line, never from paths the checkpoint records.
    sets = {k: getattr(args, k) for k in _train_eval.OFFICIAL_SETS}
    missing = [f"--{k.replace('_', '-')}" for k in _train_eval.OFFICIAL_SETS
               if resume.extra.get(k) and not sets[k]]
    if missing:
        raise ValueError(f"{args.out} was trained with {' '.join(missing)}: give them again to "
                         f"resume")
    return {**RUN_DEFAULTS, **recorded, **corpus, **sets}


def check_corpus_flags(given: dict[str, object], task: str, where: str) -> None:
    """``ValueError`` for flags that cannot mean what they say for ``task``: corpus flags for a
    generated task, the sizes of a generated task for a corpus. ``where`` says whose task it is
    (``"the task"``, or the checkpoint being resumed)."""
    flags = [f"--{k.replace('_', '-')}" for k in CORPUS_SETTINGS if k in given]
    if task != CORPUS and flags:
        raise ValueError(f"{' and '.join(flags)} appl{'y' if len(flags) > 1 else 'ies'} to a "
                         f"corpus only, and {where} {task!r}")
    sizes = [f"--{k.replace('_', '-')}" for k in ("train_size", "val_size") if k in given]
    if task == CORPUS and sizes:
        verb = "set" if len(sizes) > 1 else "sets"
        raise ValueError(f"{' and '.join(sizes)} {verb} the sizes of a generated task; a corpus "
                         f"is split 90/5/5 by itself")
