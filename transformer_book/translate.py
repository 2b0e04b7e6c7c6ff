"""Translate texts with a checkpoint written by ``python -m transformer_book.train``.

    python -m transformer_book.translate model.pt "24 Nov 2026" "Tuesday, 24 November 2026"
    echo "11/24/26" | python -m transformer_book.translate model.pt -

Prints one translation per text, or per line of standard input with ``-`` (UTF-8, ``\\n`` or
``\\r\\n`` line endings; an empty line gives an empty line), as it goes. A missing or damaged
checkpoint, or an input the model cannot read (a character it does not know, bytes that are not
UTF-8, a line longer than the model's ``max_len``) ends the program before any output with exit
code 2 and a one-line message naming the text or line. A closed pipe (``| head -1``) ends it
quietly; a failed write (a full disk) with one line and exit code 1; Ctrl-C with one line
saying how many translations were printed, and exit code 130.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from ._cli import (
    EXIT_FAULT,
    ArgumentParser,
    emit,
    fail,
    finite_float,
    interrupted,
    pause_point,
    positive_int,
    silence_stdout,
)
from .checkpoints import Checkpoint, CheckpointError, load_checkpoint
from .decoding import translate

MAX_BEAM = 64
CHUNK = 64  # texts decoded (and printed) at a time


def build_parser() -> ArgumentParser:
    parser = ArgumentParser(
        prog="python -m transformer_book.translate",
        description="Translate texts with a trained checkpoint (chapters 8 and 11).",
    )
    parser.add_argument("checkpoint", help="a .pt file from python -m transformer_book.train")
    parser.add_argument("texts", nargs="+",
                        help="texts to translate; '-' (alone) reads lines from standard input")
    parser.add_argument("--beam", type=int, default=1,
                        help=f"beam size, 1 to {MAX_BEAM} (default 1: greedy)")
    parser.add_argument("--alpha", type=finite_float, default=0.6,
                        help="beam's length penalty, >= 0 (default 0.6)")
    parser.add_argument("--max-len", type=positive_int, default=32, help="longest output (32)")
    parser.add_argument("--device", default="cpu", help="cpu (default), cuda or mps")
    return parser


def read_stdin() -> list[str]:
    """The lines of standard input without their ``\\n`` or ``\\r\\n``; ``ValueError`` names
    the first line that is not UTF-8."""
    lines = []
    for number, raw in enumerate(sys.stdin.buffer, start=1):
        raw = raw.removesuffix(b"\n").removesuffix(b"\r")
        try:
            lines.append(raw.decode("utf-8"))
        except UnicodeDecodeError as exc:
            raise ValueError(f"line {number} of standard input is not UTF-8 text (byte "
                             f"{raw[exc.start]:#04x} at position {exc.start + 1})") from None
    return lines


def check_texts(texts: Sequence[str], checkpoint: Checkpoint, from_stdin: bool) -> None:
    """``ValueError`` naming the first text (or line) the model cannot read."""
    longest = checkpoint.model.config.max_len
    for number, text in enumerate(texts, start=1):
        where = f"line {number}" if from_stdin else f"text {number}"
        unknown = checkpoint.tokenizer.unknown_chars(text)
        if unknown:
            raise ValueError(f"{where}, {text[:60]!r}, has characters the model does not know: "
                             f"{''.join(unknown)!r}")
        length = len(checkpoint.tokenizer.encode(text))
        if length > longest:
            raise ValueError(f"{where} has {length} tokens, more than the model's "
                             f"max_len={longest}")


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from_stdin = "-" in args.texts
    if from_stdin and len(args.texts) > 1:
        return fail("'-' (read standard input) must be the only text")
    if not 1 <= args.beam <= MAX_BEAM:
        return fail(f"--beam={args.beam} must be between 1 and {MAX_BEAM}")
    if args.alpha < 0:
        return fail(f"--alpha={args.alpha} must be >= 0")
    texts: list[str] = []
    done = 0
    try:
        try:
            checkpoint = load_checkpoint(args.checkpoint, args.device)
            texts = read_stdin() if from_stdin else list(args.texts)
            check_texts(texts, checkpoint, from_stdin)
        except (CheckpointError, ValueError) as exc:
            return fail(str(exc))
        max_len = min(args.max_len, checkpoint.model.config.max_len - 1)
        pause_point("translate")
        for start in range(0, len(texts), CHUNK):
            chunk = texts[start: start + CHUNK]
            todo = [t for t in chunk if t]
            outputs = iter(translate(checkpoint.model, checkpoint.tokenizer, todo,
                                     beam_size=args.beam, alpha=args.alpha, max_len=max_len,
                                     strict=True) if todo else [])
            emit([next(outputs) if t else "" for t in chunk])
            done += len(chunk)
    except KeyboardInterrupt:
        return interrupted(f"after {done} of {len(texts)} translations" if texts
                           else "before any translation")
    except BrokenPipeError:  # the reader has all it wants
        silence_stdout()
        return 0
    except OSError as exc:
        silence_stdout()
        return fail(f"cannot write the translations: {exc.strerror or exc}", EXIT_FAULT)
    return 0


if __name__ == "__main__":
    sys.exit(main())
