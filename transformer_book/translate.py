"""Translate texts with a checkpoint written by ``python -m transformer_book.train``.

    python -m transformer_book.translate model.pt "24 Nov 2026" "Tuesday, 24 November 2026"
    echo "11/24/26" | python -m transformer_book.translate model.pt -

Prints one translation per text, or per line of standard input with ``-`` (UTF-8, ``\\n`` or
``\\r\\n`` line endings; an empty or blank line gives an empty line). Standard input is read
and answered line by line, in bounded memory: the lines waiting at a time are translated
together (up to 64), so a pipe is fast and a person typing gets each answer at once. A missing or
damaged checkpoint, or an input the model cannot read (a character it does not know, bytes that
are not UTF-8, a line longer than the model's ``max_len`` or than 1 MiB) ends the program with
exit code 2 and a one-line message naming the text or line: before any output for texts given
as arguments, after the translations of the lines before it for standard input. A closed pipe
(``| head -1``) ends it quietly; a failed write (a full disk) with one line and exit code 1;
Ctrl-C with one line saying how many translations were printed, and exit code 130 (SIGTERM:
143).
"""

from __future__ import annotations

import codecs
import os
import select
import sys
from collections.abc import Iterator, Sequence

from ._cli import (
    EXIT_FAULT,
    ArgumentParser,
    emit,
    fail,
    finite_float,
    interrupted,
    positive_int,
    silence_stdout,
    stop_on_sigterm,
)
from .checkpoints import Checkpoint, CheckpointError, load_checkpoint
from .decoding import translate
from .text.corpus import normalize
from .text.subword import SubwordTokenizer

MAX_BEAM = 64
CHUNK = 64  # texts decoded (and printed) at a time
MAX_LINE_BYTES = 1 << 20  # the longest line of standard input read


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


class LineReader:
    """The lines of a binary stream as they arrive, at most ``MAX_LINE_BYTES`` each, and
    whether another one is there without waiting (``ready``)."""

    def __init__(self, stream):
        self.stream, self.buffer, self.eof = stream, bytearray(), False
        try:
            self.fd = stream.fileno()
        except (AttributeError, OSError, ValueError):  # an in-memory stream: always ready
            self.fd = None

    def _fill(self) -> None:
        data = os.read(self.fd, 65536) if self.fd is not None else self.stream.read(65536)
        self.eof = not data
        self.buffer += data

    def ready(self) -> bool:
        """Whether ``readline`` can answer now."""
        if self.fd is None or b"\n" in self.buffer or self.eof:
            return True
        try:
            waiting = select.select([self.fd], [], [], 0)[0]
        except (OSError, ValueError):  # no select on this kind of stream (Windows pipes)
            return False
        if waiting:
            self._fill()
        return b"\n" in self.buffer or self.eof

    def readline(self) -> bytes | None:
        """The next line with its ``\\n``, or ``None`` at the end; ``ValueError`` for a line
        longer than ``MAX_LINE_BYTES``."""
        while b"\n" not in self.buffer and not self.eof:
            if len(self.buffer) > MAX_LINE_BYTES:
                break
            self._fill()
        end = self.buffer.find(b"\n") + 1 or len(self.buffer)
        if end > MAX_LINE_BYTES + 1:
            raise ValueError(f"longer than {MAX_LINE_BYTES:,} bytes")
        line, self.buffer = bytes(self.buffer[:end]), self.buffer[end:]
        return line or None


def stdin_chunks() -> Iterator[list[str]]:
    """The lines of standard input without their ``\\n`` or ``\\r\\n`` (or a first line's
    byte-order mark), in lists of up to ``CHUNK``: the lines that are there without waiting.
    ``ValueError`` names the first line that is not UTF-8 or is too long."""
    reader, chunk, number = LineReader(sys.stdin.buffer), [], 0
    while True:
        if chunk and (len(chunk) == CHUNK or not reader.ready()):
            yield chunk
            chunk = []
        number += 1
        try:
            raw = reader.readline()
        except ValueError as exc:
            raise ValueError(f"line {number} of standard input is {exc}") from None
        if raw is None:
            break
        raw = raw.removesuffix(b"\n").removesuffix(b"\r")
        if number == 1:
            raw = raw.removeprefix(codecs.BOM_UTF8)
        try:
            chunk.append(raw.decode("utf-8"))
        except UnicodeDecodeError as exc:
            raise ValueError(f"line {number} of standard input is not UTF-8 text (byte "
                             f"{raw[exc.start]:#04x} at position {exc.start + 1})") from None
    if chunk:
        yield chunk


def prepare(texts: Sequence[str], checkpoint: Checkpoint) -> list[str]:
    """The texts as the model was trained to read them: a corpus's sentences were normalised
    (``corpus.normalize``: NFC, tabs and runs of spaces as one space), generated tasks' not."""
    if isinstance(checkpoint.tokenizer, SubwordTokenizer):
        return [normalize(text) for text in texts]
    return list(texts)


def check_texts(texts: Sequence[str], checkpoint: Checkpoint, from_stdin: bool,
                first: int = 1) -> None:
    """``ValueError`` naming the first text (or line, counting from ``first``) the model cannot
    read."""
    longest = checkpoint.model.config.max_len
    for number, text in enumerate(texts, start=first):
        where = f"line {number}" if from_stdin else f"text {number}"
        bad = next((c for c in text if "\ud800" <= c <= "\udfff"), None)
        if bad is not None:  # a byte that is not UTF-8, as Python passes it from argv
            byte = f"byte {ord(bad) - 0xDC00:#04x}" if bad >= "\udc80" else f"{bad!r}"
            raise ValueError(f"{where} is not UTF-8 text ({byte} at position "
                             f"{text.index(bad) + 1})")
        unknown = checkpoint.tokenizer.unknown_chars(text)
        if unknown:
            raise ValueError(f"{where}, {text[:60]!r}, has characters the model does not know: "
                             f"{''.join(unknown)!r}")
        length = len(checkpoint.tokenizer.encode(text))
        if length > longest:
            raise ValueError(f"{where} has {length} tokens, more than the model's "
                             f"max_len={longest}")


def main(argv: Sequence[str] | None = None) -> int:
    stop_on_sigterm()
    args = build_parser().parse_args(argv)
    from_stdin = "-" in args.texts
    if from_stdin and len(args.texts) > 1:
        return fail("'-' (read standard input) must be the only text")
    if not 1 <= args.beam <= MAX_BEAM:
        return fail(f"--beam={args.beam} must be between 1 and {MAX_BEAM}")
    if args.alpha < 0:
        return fail(f"--alpha={args.alpha} must be >= 0")
    done = 0
    total = "" if from_stdin else f" of {len(args.texts)}"
    try:
        try:
            checkpoint = load_checkpoint(args.checkpoint, args.device)
            if not from_stdin:
                check_texts(prepare(args.texts, checkpoint), checkpoint, False)
        except (CheckpointError, ValueError) as exc:
            return fail(str(exc))
        max_new_tokens = min(args.max_len, checkpoint.model.config.max_len - 1)
        chunks = stdin_chunks() if from_stdin else (
            list(args.texts[start: start + CHUNK]) for start in range(0, len(args.texts), CHUNK))
        for chunk in chunks:
            chunk = prepare(chunk, checkpoint)
            check_texts(chunk, checkpoint, from_stdin, done + 1)
            todo = [t for t in chunk if t.strip()]  # a blank text gives an empty line
            outputs = iter(translate(checkpoint.model, checkpoint.tokenizer, todo,
                                     beam_size=args.beam, alpha=args.alpha,
                                     max_new_tokens=max_new_tokens, strict=True)
                           if todo else [])
            emit([next(outputs) if t.strip() else "" for t in chunk], flush=False)
            done += len(chunk)  # counted before a reader can see them: an interrupt that
            sys.stdout.flush()  # follows the answer never reports one translation too few
    except ValueError as exc:  # a line of standard input the model cannot read
        return fail(f"{exc} (after {done} translations)")
    except KeyboardInterrupt as exc:  # Ctrl-C, or SIGTERM (Terminated)
        return interrupted(f"after {done}{total} translations" if done or not from_stdin
                           else "before any translation", exc)
    except BrokenPipeError:  # the reader has all it wants
        silence_stdout()
        return 0
    except OSError as exc:
        silence_stdout()
        return fail(f"cannot write the translations: {exc.strerror or exc}", EXIT_FAULT)
    return 0


if __name__ == "__main__":
    sys.exit(main())
