"""What the two command lines (``train`` and ``translate``) share: how they parse arguments and
fail (one line on stderr, never a traceback), how they report an interrupt, and how they write
to a pipe that may close.

Exit codes: 0 done, 1 the system failed us (a full disk, a write error), 2 bad input (an
argument, a file), 130 interrupted by Ctrl-C (128 + SIGINT).
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time
from collections.abc import Iterable
from typing import NoReturn

EXIT_FAULT, EXIT_BAD_INPUT, EXIT_INTERRUPTED = 1, 2, 130

PAUSE_VARIABLE = "TRANSFORMER_BOOK_PAUSE_AT"
"""Naming a phase (``data``, ``epoch 2``, ``decode``, ``translate``) in this environment variable
makes the command stop there and wait for Ctrl-C, so that tests can interrupt it at a known
moment."""


class ArgumentParser(argparse.ArgumentParser):
    """``argparse`` whose errors are one line (``error: ...``, exit code 2), not the usage text
    followed by the error."""

    def error(self, message: str) -> NoReturn:
        print(f"error: {message} (see {self.prog} --help)", file=sys.stderr)
        sys.exit(EXIT_BAD_INPUT)


def fail(message: str, code: int = EXIT_BAD_INPUT) -> int:
    """Print a one-line error (no traceback) and return the exit code (2: bad input)."""
    print(f"error: {' '.join(message.split())}", file=sys.stderr)
    return code


def interrupted(message: str) -> int:
    """Report a Ctrl-C in one line on stderr and return its exit code, 130."""
    print(f"interrupted {message}", file=sys.stderr)
    return EXIT_INTERRUPTED


def _argument(text: str, convert, kind: str, valid, what: str):
    """``convert(text)``, or an ``argparse`` error saying the text is not ``kind``/``what``."""
    try:
        value = convert(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not {kind}") from None
    if not valid(value):
        raise argparse.ArgumentTypeError(f"{text} is not {what}")
    return value


def positive_int(text: str) -> int:
    """An ``argparse`` type: ``text`` as an int >= 1."""
    return _argument(text, int, "an integer", lambda v: v >= 1, "a positive integer")


def finite_float(text: str) -> float:
    """An ``argparse`` type: ``text`` as a finite float (no ``nan``, no ``inf``)."""
    return _argument(text, float, "a number", math.isfinite, "a finite number")


def pause_point(phase: str) -> None:
    """If ``PAUSE_VARIABLE`` names ``phase``, say so on stderr and wait (a minute at most) for
    Ctrl-C, which then arrives in the middle of ``phase``."""
    if os.environ.get(PAUSE_VARIABLE) != phase:
        return
    print(f"paused at {phase}", file=sys.stderr, flush=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        time.sleep(0.01)


def emit(lines: Iterable[str]) -> None:
    """Write ``lines`` to stdout and flush them. A reader that went away (``| head -1``) raises
    ``BrokenPipeError``, a failed write (a full disk) ``OSError``: see ``silence_stdout``."""
    for line in lines:
        sys.stdout.write(line + "\n")
    sys.stdout.flush()


def silence_stdout() -> None:
    """Point stdout at the null device, so that Python's final flush of what is still buffered
    cannot fail again (and print a warning) after a closed pipe or a full disk."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)
