"""Train a Transformer on one of the book's generated tasks and save a checkpoint.

    python -m transformer_book.train --task dates-iso --preset small --device cpu --epochs 10 \\
        --out model.pt
    python -m transformer_book.translate model.pt "24 Nov 2026"

Tasks: ``dates-iso`` and ``dates-ko`` (chapter 8: English dates to ISO or Korean), ``copy`` and
``reverse`` (sanity checks). Errors (a bad argument, a checkpoint that cannot be resumed) end the
program with exit code 2 and a one-line message.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

import torch

from ._checks import check_choice
from ._cli import fail, positive_int
from .checkpoints import CheckpointError, load_checkpoint
from .data import DATE_SPLITS, copy_pairs, date_pairs, date_tokenizer
from .decoding import translate
from .model import Transformer, TransformerConfig
from .runtime import get_device, set_seed
from .tokenizers import CharTokenizer
from .training import NonFiniteLossError, TrainingConfig, exact_match, fit

TASKS = ("dates-iso", "dates-ko", "copy", "reverse")
COPY_ALPHABET = "abcdefghijklmnopqrstuvwxyz"


def task_pairs(task: str, n: int, split: str, seed: int = 0) -> list[tuple[str, str]]:
    """``n`` (source, target) pairs of ``task`` from ``split`` (train, validation or test)."""
    check_choice("task", task, TASKS)
    if task in ("dates-iso", "dates-ko"):
        return date_pairs(n, split=split, target=task.split("-")[1], seed=seed)
    offset = list(DATE_SPLITS).index(check_choice("split", split, DATE_SPLITS))  # 0, 1, 2
    return copy_pairs(n, reverse=task == "reverse", alphabet=COPY_ALPHABET,
                      seed=10_000 * seed + offset)


def task_tokenizer(task: str) -> CharTokenizer:
    """The character vocabulary of ``task`` (the dates tokenizer also covers the copy tasks)."""
    check_choice("task", task, TASKS)
    return date_tokenizer()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m transformer_book.train",
        description="Train a Transformer on a generated task (chapter 8) and save a checkpoint.",
    )
    parser.add_argument("--task", choices=TASKS, default="dates-iso",
                        help="what to learn (default: dates-iso)")
    parser.add_argument("--preset", choices=TransformerConfig.SIZES, default="small",
                        help="model size, a TransformerConfig preset (default: small)")
    parser.add_argument("--device", default=None,
                        help="cpu, cuda or mps (default: the best one available)")
    parser.add_argument("--epochs", type=positive_int, default=10,
                        help="epochs to train (default 10)")
    parser.add_argument("--train-size", type=positive_int, default=8000,
                        help="training pairs per epoch, new ones every epoch (default 8000)")
    parser.add_argument("--val-size", type=positive_int, default=500,
                        help="validation pairs (default 500)")
    parser.add_argument("--test-size", type=positive_int, default=1000,
                        help="test pairs decoded at the end (default 1000)")
    parser.add_argument("--batch-size", type=positive_int, default=64, help="default 64")
    parser.add_argument("--warmup", type=positive_int, default=200,
                        help="warmup steps (default 200)")
    parser.add_argument("--lr-factor", type=float, default=0.25,
                        help="multiplies the paper's learning-rate schedule (default 0.25)")
    parser.add_argument("--dropout", type=float, default=None,
                        help="dropout probability (default: the preset's)")
    parser.add_argument("--label-smoothing", type=float, default=0.1, help="default 0.1")
    parser.add_argument("--seed", type=int, default=0, help="default 0")
    parser.add_argument("--compile", action="store_true", help="use torch.compile")
    parser.add_argument("--no-amp", action="store_true", help="no bf16 autocast on CUDA")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.add_argument("--resume", action="store_true",
                        help="continue from --out if it exists (up to --epochs in all)")
    parser.add_argument("--out", default="model.pt", help="checkpoint path (default model.pt)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        device = get_device(args.device)
        config = TrainingConfig(epochs=args.epochs, batch_size=args.batch_size,
                                warmup=args.warmup, lr_factor=args.lr_factor,
                                label_smoothing=args.label_smoothing, seed=args.seed,
                                amp=not args.no_amp, compile=args.compile,
                                progress=False if args.no_progress else None)
    except ValueError as exc:
        return fail(str(exc))
    set_seed(args.seed)
    tokenizer = task_tokenizer(args.task)
    def train(epoch: int) -> list[tuple[str, str]]:  # fresh pairs every epoch
        return task_pairs(args.task, args.train_size, "train", 1000 * args.seed + epoch)

    val = task_pairs(args.task, args.val_size, "validation", args.seed)
    test = task_pairs(args.task, args.test_size, "test", args.seed)
    resume = None
    if args.resume:
        try:
            resume = load_checkpoint(args.out, device)
        except CheckpointError as exc:
            if "does not exist" not in str(exc):
                return fail(str(exc))
        if resume is not None and resume.extra.get("task") != args.task:
            return fail(f"{args.out} was trained on task {resume.extra.get('task')!r}, "
                         f"not {args.task!r}")
    if resume is not None:
        model, tokenizer = resume.model, resume.tokenizer
        print(f"resuming from {args.out} after epoch {resume.epoch}")
    else:
        overrides = {} if args.dropout is None else {"dropout": args.dropout}
        try:
            preset = getattr(TransformerConfig, args.preset)
            model = Transformer(preset(len(tokenizer), **overrides))
        except ValueError as exc:
            return fail(str(exc))
    n_params = sum(p.numel() for p in model.parameters())
    print(f"task {args.task}, preset {args.preset} ({n_params:,} parameters), device {device}, "
          f"{args.train_size} fresh training pairs per epoch")
    try:
        fit(model, tokenizer, train, val, config, device=device, checkpoint_path=args.out,
            resume=resume, extra={"task": args.task, "preset": args.preset})
    except NonFiniteLossError as exc:
        return fail(str(exc))
    except KeyboardInterrupt:
        print(f"\ninterrupted; the last finished epoch is saved in {args.out} (--resume)")
        return 130
    with torch.no_grad():
        predictions = translate(model, tokenizer, [s for s, _ in test])
    accuracy = exact_match(predictions, [t for _, t in test])
    print(f"test exact match {accuracy:.4f} on {len(test)} held-out pairs; saved {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
