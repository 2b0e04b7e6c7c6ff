"""What the two command lines (``train`` and ``translate``) share: how they fail, and how they
read a positive integer."""

from __future__ import annotations

import argparse
import sys


def fail(message: str) -> int:
    """Print a one-line error (no traceback) and return the exit code for bad input, 2."""
    print(f"error: {message}", file=sys.stderr)
    return 2


def positive_int(text: str) -> int:
    """An ``argparse`` type: ``text`` as an int >= 1."""
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text} is not a positive integer")
    return value
