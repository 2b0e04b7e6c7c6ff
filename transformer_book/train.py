"""Train a Transformer on one of the book's generated tasks, or on a parallel corpus, and save a
checkpoint.

    python -m transformer_book.train --task dates-iso --preset small --device cpu --epochs 10 \\
        --out model.pt
    python -m transformer_book.translate model.pt "24 Nov 2026"

Tasks: ``dates-iso`` and ``dates-ko`` (chapter 8: English dates to ISO or Korean), ``copy`` and
``reverse`` (sanity checks).

A corpus (chapter 11) is a TSV file of sentence pairs (``--data pairs.tsv``, Tatoeba style) or
two line-aligned files (``--src train.en --tgt train.de``, Multi30k and WMT style). It is
normalised, de-duplicated and split by a hash of each source sentence into train, validation
and test (5% each); a shared subword vocabulary of ``--vocab-size`` pieces is trained on the
training split and stored in the checkpoint. Batches hold ``--max-tokens`` tokens (or
``--batch-size`` pairs), ``--accumulate`` passes per step. At the end the test split is decoded
with beam search (``--beam 4 --alpha 0.6``, the paper's) and scored with exact match, BLEU and
chrF (sacreBLEU); the report names the set it scored. Official sets (``--valid-src/--valid-tgt``,
``--test-src/--test-tgt``) replace the hash split's parts, ``--average-last K`` averages the last
K epochs' weights, ``--d-model --heads --layers --d-ff`` change a preset's sizes (see
``_train_eval``).

Launched by ``torchrun --nproc_per_node N -m transformer_book.train ...`` it trains with
``DistributedDataParallel`` on N processes (gloo on CPUs, NCCL on GPUs); rank 0 prints and
writes the checkpoint.

Nothing is lost: an existing ``--out`` is refused unless ``--resume`` continues its training (with
the settings stored in it; flags that contradict them are refused) or ``--overwrite`` replaces it,
and ``--out`` is checked before any data is generated. A checkpoint is written after every epoch,
atomically and only with finite weights. Errors end the program with one line and exit code 2
(bad input) or 1 (a failed write); Ctrl-C with one line, exit code 130, saying which epoch is
saved, if any, and SIGTERM the same way with exit code 143. While a run writes ``--out``, a
second run asking for the same ``--out`` is refused. Resuming a corpus run reads the corpus
given on the command line (never a path stored in the checkpoint) and checks that it is the
corpus the checkpoint was trained on.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Sequence
from dataclasses import fields

from . import _train_eval
from ._checks import check_output_path
from ._cli import (
    EXIT_FAULT,
    ArgumentParser,
    OutputFailed,
    check_limits,
    exclusive,
    fail,
    finite_float,
    interrupted,
    positive_int,
    silence_stdout,
    stop_on_sigterm,
)
from ._cli import (
    say as say_and_flush,
)
from ._train_corpus import (
    CORPUS,
    check_corpus,
    fit_to_length,
    shared_tokenizer,
)
from ._train_settings import (
    CORPUS_SETTINGS,
    LIMITS,
    RUN_DEFAULTS,
    given_settings,
    run_settings,
)
from .checkpoints import CheckpointError, load_checkpoint, saved_epoch
from .loops import NonFiniteLossError
from .model import Transformer, TransformerConfig
from .runtime import init_distributed, leave_distributed, set_seed
from .text.corpus import corpus_splits
from .text.data import TASKS, task_pairs, task_tokenizer
from .training import TrainingConfig, fit


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


def _identity(path: str) -> tuple[int, int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_ino, st.st_mtime_ns, st.st_size


def on_disk(out: str, before: tuple[int, int, int] | None) -> str:
    """What ``out`` holds now, compared with what it held when the program started."""
    if _identity(out) == before:
        if before is None:
            return "nothing was saved"
        epoch = saved_epoch(out)
        return (f"nothing was saved; {out} is as it was"
                + ("" if epoch is None else f" (epoch {epoch})"))
    epoch = saved_epoch(out)
    if epoch is None:
        return f"{out} was replaced but cannot be read back"
    return f"{out} holds epoch {epoch} (continue with --resume)"


def _quiet(*args, **kwargs) -> None:
    """``print`` for the processes other than rank 0, which stay silent."""


def main(argv: Sequence[str] | None = None) -> int:
    """The command line; see the module's docstring. Returns the exit code."""
    stop_on_sigterm()
    args = build_parser().parse_args(argv)
    lock = contextlib.ExitStack()
    if os.environ.get("RANK", "0") in ("", "0"):  # rank 0 writes --out
        try:
            check_output_path("--out", args.out)
            lock.enter_context(exclusive(args.out))
        except (TypeError, ValueError, OSError) as exc:
            return fail(str(exc))
    with lock:
        return _main(argv)


def _main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.resume and args.overwrite:
        return fail("--resume continues --out and --overwrite replaces it: give one of them")
    try:
        check_output_path("--out", args.out)
        check_limits(args, LIMITS)
    except (TypeError, ValueError) as exc:
        return fail(str(exc))
    before = _identity(args.out)
    if before is not None and not (args.resume or args.overwrite):
        return fail(f"--out {args.out} already exists; add --resume to continue its training "
                    f"or --overwrite to replace it")
    phase = "setup"
    try:
        try:
            device, rank, _ = init_distributed(args.device)
            resume = load_checkpoint(args.out, device) if args.resume and before else None
            settings = run_settings(args, given_settings(build_parser(), argv), resume)
            training = {f.name: settings[f.name] for f in fields(TrainingConfig)
                        if f.name in settings}
            config = TrainingConfig(**training, epochs=args.epochs, amp=not args.no_amp,
                                    compile=args.compile,
                                    progress=False if args.no_progress else None)
            _train_eval.check_averaging(args)
        except (CheckpointError, ValueError, TypeError) as exc:
            return fail(str(exc))
        say = say_and_flush if rank == 0 else _quiet
        if args.resume and resume is None:
            say(f"no checkpoint at {args.out} yet: starting a new run")
        elif resume is not None:
            say(f"resuming from {args.out} after epoch {resume.epoch}")
        task, seed = settings["task"], settings["seed"]
        if resume is None:
            set_seed(seed)  # the same initial weights on every run (and in every process)
        preset = getattr(TransformerConfig, settings["preset"])
        overrides = {} if settings["dropout"] is None else {"dropout": settings["dropout"]}
        overrides.update(_train_eval.size_overrides(settings))

        try:
            if task == CORPUS:
                phase = "reading the corpus"
                official = _train_eval.read_official_sets(settings)
                splits = corpus_splits(settings["data"], settings["src"], settings["tgt"],
                                       **_train_eval.held_out(official))
                settings["fingerprint"] = check_corpus(args.out, settings, splits, resume)
                if resume is not None and not isinstance(resume.extra.get("fingerprint"), str):
                    say(f"note: {args.out} holds no fingerprint of its corpus (an older "
                        f"checkpoint): the corpus given is taken to be the one it was "
                        f"trained on")
                tokenizer = (resume.tokenizer if resume is not None
                             else shared_tokenizer(splits, settings["vocab_size"]))
            else:
                tokenizer = resume.tokenizer if resume is not None else task_tokenizer(task)
            model = resume.model if resume is not None else \
                Transformer(preset(len(tokenizer), **overrides))
        except (OSError, ValueError, TypeError) as exc:
            return fail(str(exc))
        if task == CORPUS:
            train, val, test = (fit_to_length(part, tokenizer, model.config.max_len)
                                for part in splits)
            test = test[: args.test_size]
            if official.validation is not None:
                val = fit_to_length(official.validation, tokenizer, model.config.max_len)
            if not train:
                return fail(f"every training pair has a side longer than the model's "
                            f"max_len - 1 = {model.config.max_len - 1} tokens")
            what = (f"{len(train)} training pairs, subword vocabulary of {len(tokenizer)} "
                    f"pieces")
        else:
            what = f"{settings['train_size']} fresh training pairs per epoch"
        n_params = sum(p.numel() for p in model.parameters())
        say(f"task {task}, preset {settings['preset']} ({n_params:,} parameters), device "
            f"{device}, {what}")

        if task != CORPUS:
            phase = "data generation"
            val = task_pairs(task, settings["val_size"], "validation", seed)
            test = task_pairs(task, args.test_size, "test", seed)

            def train(epoch: int) -> list[tuple[str, str]]:  # fresh pairs every epoch
                nonlocal phase
                phase = f"training (epoch {epoch})"
                return task_pairs(task, settings["train_size"], "train", 1000 * seed + epoch)
        else:
            phase = "training"

        extra = {k: settings[k] for k in ("task", "preset", "train_size", "val_size",
                                          *CORPUS_SETTINGS)}
        if task == CORPUS:
            extra["fingerprint"] = settings["fingerprint"]
        keeper = _train_eval.epoch_keeper(model, args)
        try:
            fit(model, tokenizer, train, val, config, device=device, checkpoint_path=args.out,
                resume=resume, extra=extra, on_epoch_end=keeper, log=say)
        except NonFiniteLossError as exc:
            return fail(f"{exc}; {on_disk(args.out, before)}")
        except ValueError as exc:
            return fail(f"{exc}; {on_disk(args.out, before)}")
        except (BrokenPipeError, OutputFailed):
            raise
        except OSError as exc:
            return fail(f"cannot write {args.out}: {exc.strerror or exc}; "
                        f"{on_disk(args.out, before)}", EXIT_FAULT)
        phase = "leaving the process group"
        leave_distributed(together=True)  # the others have nothing left to do
        if rank != 0:
            return 0
        phase = "the test decode"
        test_set = (official.test if task == CORPUS and official.test is not None
                    else _train_eval.split_test_set(test, task, settings))
        try:
            report = _train_eval.final_report(model, tokenizer, test_set, args, keeper, extra)
        except OSError as exc:
            return fail(f"cannot write the averaged model: {exc.strerror or exc}; "
                        f"{on_disk(args.out, before)}", EXIT_FAULT)
        say(report)
    except KeyboardInterrupt as exc:  # Ctrl-C, or SIGTERM (Terminated)
        return interrupted(f"during {phase}; {on_disk(args.out, before)}", exc)
    except BrokenPipeError:  # e.g. `| head -1`: stop, but say what is on disk
        silence_stdout()
        return fail(f"standard output was closed during {phase}; {on_disk(args.out, before)}",
                    EXIT_FAULT)
    except OutputFailed as exc:  # e.g. > /dev/full
        silence_stdout()
        return fail(f"cannot write to standard output ({exc}) during {phase}; "
                    f"{on_disk(args.out, before)}", EXIT_FAULT)
    finally:
        leave_distributed()
    return 0


if __name__ == "__main__":
    sys.exit(main())
