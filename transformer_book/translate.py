"""Translate texts with a checkpoint written by ``python -m transformer_book.train``.

    python -m transformer_book.translate model.pt "24 Nov 2026" "Tuesday, 24 November 2026"
    echo "11/24/26" | python -m transformer_book.translate model.pt -

Prints one translation per input line. A missing or damaged checkpoint, or an input with a
character the model's vocabulary does not have, ends the program with exit code 2 and a one-line
message.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from ._cli import fail, positive_int
from .checkpoints import CheckpointError, load_checkpoint
from .decoding import translate


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m transformer_book.translate",
        description="Translate texts with a trained checkpoint (chapter 8).",
    )
    parser.add_argument("checkpoint", help="a .pt file from python -m transformer_book.train")
    parser.add_argument("texts", nargs="+", help="texts to translate ('-' reads lines from stdin)")
    parser.add_argument("--beam", type=int, default=1, help="beam size (default 1: greedy)")
    parser.add_argument("--alpha", type=float, default=0.6, help="beam's length penalty (0.6)")
    parser.add_argument("--max-len", type=positive_int, default=32, help="longest output (32)")
    parser.add_argument("--device", default="cpu", help="cpu (default), cuda or mps")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    texts = [line.rstrip("\n") for line in sys.stdin] if args.texts == ["-"] else args.texts
    if args.beam < 1:
        return fail(f"--beam={args.beam} must be at least 1")
    try:
        checkpoint = load_checkpoint(args.checkpoint, args.device)
    except (CheckpointError, ValueError) as exc:
        return fail(str(exc))
    tokenizer = checkpoint.tokenizer
    for text in texts:
        unknown = tokenizer.unknown_chars(text)
        if unknown:
            return fail(f"{text!r} has characters the model does not know: {''.join(unknown)!r}")
    max_len = min(args.max_len, checkpoint.model.config.max_len - 1)
    try:
        outputs = translate(checkpoint.model, tokenizer, texts, beam_size=args.beam,
                            alpha=args.alpha, max_len=max_len, strict=True)
    except ValueError as exc:  # e.g. an input longer than the model's max_len
        return fail(str(exc))
    for output in outputs:
        print(output)
    return 0


if __name__ == "__main__":
    sys.exit(main())
