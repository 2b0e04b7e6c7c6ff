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
from argparse import Namespace
from collections.abc import Sequence
from dataclasses import fields

from . import _train_eval
from ._checks import check_output_path
from ._cli import (
    EXIT_FAULT,
    OutputFailed,
    check_limits,
    exclusive,
    fail,
    interrupted,
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
    build_parser,
    given_settings,
    run_settings,
)
from .checkpoints import CheckpointError, load_checkpoint, saved_epoch
from .loops import NonFiniteLossError
from .model import Transformer, TransformerConfig
from .runtime import init_distributed, leave_distributed, set_seed
from .text.corpus import corpus_splits
from .text.data import task_pairs, task_tokenizer
from .training import TrainingConfig, fit


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
    run = _Run(args, _identity(args.out))
    if run.before is not None and not (args.resume or args.overwrite):
        return fail(f"--out {args.out} already exists; add --resume to continue its training "
                    f"or --overwrite to replace it")
    try:
        run.set_up(argv)
        run.prepare()
        run.train()
        run.phase = "leaving the process group"
        leave_distributed(together=True)  # the others have nothing left to do
        if run.rank == 0:
            run.test()
    except _Failed as exc:
        return fail(*exc.args)
    except KeyboardInterrupt as exc:  # Ctrl-C, or SIGTERM (Terminated)
        return interrupted(f"during {run.phase}; {run.on_disk()}", exc)
    except BrokenPipeError:  # e.g. `| head -1`: stop, but say what is on disk
        silence_stdout()
        return fail(f"standard output was closed during {run.phase}; {run.on_disk()}",
                    EXIT_FAULT)
    except OutputFailed as exc:  # e.g. > /dev/full
        silence_stdout()
        return fail(f"cannot write to standard output ({exc}) during {run.phase}; "
                    f"{run.on_disk()}", EXIT_FAULT)
    finally:
        leave_distributed()
    return 0


class _Failed(Exception):
    """Ends the run with ``fail(message[, code])``: one line, exit code 2 (or ``code``)."""


class _Run:
    """One run of the command, in the order of ``_main``: set up, prepare the tokenizer, model
    and data, train, and (rank 0) decode the test set. ``phase`` names what it is doing, for
    the last line of an interrupted run."""

    def __init__(self, args: Namespace, before: tuple[int, int, int] | None):
        self.args, self.before, self.phase = args, before, "setup"

    def on_disk(self) -> str:
        return on_disk(self.args.out, self.before)

    def set_up(self, argv: Sequence[str] | None) -> None:
        """The device, this process's rank, the checkpoint to resume, the run's settings and
        the training configuration; the seed of a new run."""
        args = self.args
        try:
            self.device, self.rank, _ = init_distributed(args.device)
            self.resume = load_checkpoint(args.out, self.device) if args.resume and self.before \
                else None
            self.settings = run_settings(args, given_settings(build_parser(), argv), self.resume)
            training = {f.name: self.settings[f.name] for f in fields(TrainingConfig)
                        if f.name in self.settings}
            self.config = TrainingConfig(**training, epochs=args.epochs, amp=not args.no_amp,
                                         compile=args.compile,
                                         progress=False if args.no_progress else None)
            _train_eval.check_averaging(args)
        except (CheckpointError, ValueError, TypeError) as exc:
            raise _Failed(str(exc)) from exc
        self.say = say_and_flush if self.rank == 0 else _quiet
        if args.resume and self.resume is None:
            self.say(f"no checkpoint at {args.out} yet: starting a new run")
        elif self.resume is not None:
            self.say(f"resuming from {args.out} after epoch {self.resume.epoch}")
        if self.resume is None:
            set_seed(self.settings["seed"])  # the same initial weights on every run (and process)

    def prepare(self) -> None:
        """The tokenizer and the model (a new one, or the checkpoint's), then the data: the
        corpus's parts cut to the model's length, or the generated validation and test pairs
        and a training set drawn afresh every epoch."""
        settings, resume, task = self.settings, self.resume, self.settings["task"]
        preset = getattr(TransformerConfig, settings["preset"])
        overrides = {} if settings["dropout"] is None else {"dropout": settings["dropout"]}
        overrides.update(_train_eval.size_overrides(settings))
        try:
            if task == CORPUS:
                self._read_corpus()
            else:
                self.tokenizer = resume.tokenizer if resume is not None else task_tokenizer(task)
            self.model = resume.model if resume is not None else \
                Transformer(preset(len(self.tokenizer), **overrides))
        except (OSError, ValueError, TypeError) as exc:
            raise _Failed(str(exc)) from exc
        if task == CORPUS:
            what = self._cut_corpus()
        else:
            what = f"{settings['train_size']} fresh training pairs per epoch"
        n_params = sum(p.numel() for p in self.model.parameters())
        self.say(f"task {task}, preset {settings['preset']} ({n_params:,} parameters), device "
                 f"{self.device}, {what}")
        if task != CORPUS:
            self.phase = "data generation"
            seed = settings["seed"]
            self.val = task_pairs(task, settings["val_size"], "validation", seed)
            self.test_pairs = task_pairs(task, self.args.test_size, "test", seed)
            self.train_pairs = self._fresh_pairs

    def _fresh_pairs(self, epoch: int) -> list[tuple[str, str]]:
        """The training pairs of a generated task: new ones every epoch."""
        self.phase = f"training (epoch {epoch})"
        settings = self.settings
        return task_pairs(settings["task"], settings["train_size"], "train",
                          1000 * settings["seed"] + epoch)

    def _read_corpus(self) -> None:
        """The corpus split (official sets in place of the parts they replace), checked against
        the checkpoint's fingerprint when resuming, and its tokenizer."""
        settings, resume = self.settings, self.resume
        self.phase = "reading the corpus"
        self.official = _train_eval.read_official_sets(settings)
        self.splits = corpus_splits(settings["data"], settings["src"], settings["tgt"],
                                    **_train_eval.held_out(self.official))
        settings["fingerprint"] = check_corpus(self.args.out, settings, self.splits, resume)
        if resume is not None and not isinstance(resume.extra.get("fingerprint"), str):
            self.say(f"note: {self.args.out} holds no fingerprint of its corpus (an older "
                     f"checkpoint): the corpus given is taken to be the one it was trained on")
        self.tokenizer = (resume.tokenizer if resume is not None
                          else shared_tokenizer(self.splits, settings["vocab_size"]))

    def _cut_corpus(self) -> str:
        """The corpus's parts without the pairs longer than the model's ``max_len``; what the
        run trains on, in words."""
        max_len = self.model.config.max_len
        train, val, test = (fit_to_length(part, self.tokenizer, max_len) for part in self.splits)
        if self.official.validation is not None:
            val = fit_to_length(self.official.validation, self.tokenizer, max_len)
        if not train:
            raise _Failed(f"every training pair has a side longer than the model's "
                          f"max_len - 1 = {max_len - 1} tokens")
        self.train_pairs, self.val, self.test_pairs = train, val, test[: self.args.test_size]
        return f"{len(train)} training pairs, subword vocabulary of {len(self.tokenizer)} pieces"

    def train(self) -> None:
        """``fit``, with a checkpoint after every epoch (and the epochs kept for
        ``--average-last``)."""
        args, settings = self.args, self.settings
        self.extra = {k: settings[k] for k in ("task", "preset", "train_size", "val_size",
                                               *CORPUS_SETTINGS)}
        if settings["task"] == CORPUS:  # a generated task names its epochs (_fresh_pairs)
            self.phase = "training"
            self.extra["fingerprint"] = settings["fingerprint"]
        self.keeper = _train_eval.epoch_keeper(self.model, args)
        try:
            fit(self.model, self.tokenizer, self.train_pairs, self.val, self.config,
                device=self.device, checkpoint_path=args.out, resume=self.resume,
                extra=self.extra, on_epoch_end=self.keeper, log=self.say)
        except (NonFiniteLossError, ValueError) as exc:
            raise _Failed(f"{exc}; {self.on_disk()}") from exc
        except (BrokenPipeError, OutputFailed):
            raise
        except OSError as exc:
            raise _Failed(f"cannot write {args.out}: {exc.strerror or exc}; {self.on_disk()}",
                          EXIT_FAULT) from exc

    def test(self) -> None:
        """Decode and score the test set (the official one if given), and say so."""
        self.phase = "the test decode"
        task = self.settings["task"]
        official = self.official.test if task == CORPUS else None
        test_set = (official if official is not None
                    else _train_eval.split_test_set(self.test_pairs, task, self.settings))
        try:
            report = _train_eval.final_report(self.model, self.tokenizer, test_set, self.args,
                                              self.keeper, self.extra)
        except OSError as exc:
            raise _Failed(f"cannot write the averaged model: {exc.strerror or exc}; "
                          f"{self.on_disk()}", EXIT_FAULT) from exc
        self.say(report)


if __name__ == "__main__":
    sys.exit(main())
