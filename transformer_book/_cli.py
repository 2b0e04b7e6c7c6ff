"""What the two command lines (``train`` and ``translate``) share: how they parse arguments and
fail (one line on stderr, never a traceback), how they report an interrupt, and how they write
to a pipe that may close.

Exit codes: 0 done, 1 the system failed us (a full disk, a write error), 2 bad input (an
argument, a file), 130 interrupted by Ctrl-C (128 + SIGINT), 143 stopped by SIGTERM (128 +
SIGTERM: ``kill``, ``timeout``, ``docker stop``, a cluster's scheduler).

Under ``torchrun`` every process sees the same input, so only rank 0 reports bad input and
interrupts; the others stay silent.
"""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import signal
import sys
from collections.abc import Iterable, Iterator
from typing import NoReturn

from ._checks import one_line

EXIT_FAULT, EXIT_BAD_INPUT, EXIT_INTERRUPTED, EXIT_TERMINATED = 1, 2, 130, 143

class ArgumentParser(argparse.ArgumentParser):
    """``argparse`` whose errors are one line (``error: ...``, exit code 2), not the usage text
    followed by the error."""

    def error(self, message: str) -> NoReturn:
        print(f"error: {message} (see {self.prog} --help)", file=sys.stderr)
        sys.exit(EXIT_BAD_INPUT)


def _report(line: str, everywhere: bool = False) -> None:
    """Print ``line`` on stderr: in rank 0 only, unless ``everywhere`` (with the rank named)."""
    rank = os.environ.get("RANK", "0")
    if rank in ("", "0"):
        print(line, file=sys.stderr, flush=True)
    elif everywhere:
        print(f"rank {rank}: {line}", file=sys.stderr, flush=True)


def fail(message: str, code: int = EXIT_BAD_INPUT) -> int:
    """Print a one-line error (no traceback) and return the exit code (2: bad input)."""
    _report(f"error: {one_line(message, len(message))}", everywhere=code == EXIT_FAULT)
    return code


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised where the program is (see ``stop_on_sigterm``), so that the same clean-up
    as for Ctrl-C runs: no temporary file left, one line saying what is on disk."""


def stop_on_sigterm() -> None:
    """Make SIGTERM raise ``Terminated`` in the main thread instead of killing the process."""
    def handler(signum, frame):
        raise Terminated()

    with contextlib.suppress(ValueError):  # not the main thread: leave the default
        signal.signal(signal.SIGTERM, handler)


def interrupted(message: str, exc: BaseException | None = None) -> int:
    """Report a Ctrl-C (or, when ``exc`` is ``Terminated``, a SIGTERM) in one line on stderr and
    return its exit code, 130 (or 143)."""
    if isinstance(exc, Terminated):
        _report(f"terminated {message}")
        return EXIT_TERMINATED
    _report(f"interrupted {message}")
    return EXIT_INTERRUPTED


class OutputFailed(Exception):
    """Writing to standard output failed (a full disk), as opposed to writing a checkpoint."""


def say(*values: object) -> None:
    """``print`` and flush; a failed write raises ``OutputFailed`` (a closed pipe stays a
    ``BrokenPipeError``), so that it is not taken for a failed checkpoint write."""
    try:
        print(*values, flush=True)
    except BrokenPipeError:
        raise
    except OSError as exc:
        raise OutputFailed(exc.strerror or str(exc)) from exc


def check_limits(args: argparse.Namespace, limits: dict[str, int]) -> None:
    """``ValueError`` naming the first flag whose value passes its limit in ``limits`` (flag
    name with underscores -> largest value); flags left at ``None`` are skipped."""
    for name, most in limits.items():
        value = getattr(args, name, None)
        if value is not None and value > most:
            raise ValueError(f"--{name.replace('_', '-')} {value} is more than {most:,}, the "
                             f"most this command accepts")


@contextlib.contextmanager
def exclusive(path: str) -> Iterator[None]:
    """Hold a lock on ``path`` for the duration: a file ``.NAME.lock`` next to it, locked with
    ``flock`` (released by the system even if the process is killed) and removed at the end.
    A second program asking for the same ``path`` meanwhile gets ``ValueError``. Where there
    is no ``flock`` (Windows) nothing is locked."""
    try:
        import fcntl
    except ImportError:
        yield
        return
    name = os.path.basename(os.path.abspath(path))
    lock = os.path.join(os.path.dirname(path), f".{name[:200]}.lock")
    while True:
        fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            raise ValueError(f"another run is writing {path} now (it holds {lock}); wait for it "
                             f"to end, or choose another --out") from None
        try:
            same = os.fstat(fd).st_ino == os.stat(lock).st_ino
        except FileNotFoundError:  # removed by the run that held it just before
            same = False
        if same:
            break
        os.close(fd)
    try:
        yield
    finally:
        with contextlib.suppress(OSError):
            os.unlink(lock)
        os.close(fd)


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


def emit(lines: Iterable[str], flush: bool = True) -> None:
    """Write ``lines`` to stdout and flush them (``flush=False``: the caller flushes, after it
    has counted them). A reader that went away (``| head -1``) raises ``BrokenPipeError``, a
    failed write (a full disk) ``OSError``: see ``silence_stdout``."""
    if not flush and getattr(sys.stdout, "write_through", False):
        sys.stdout.reconfigure(write_through=False)  # PYTHONUNBUFFERED: held until the flush
    for line in lines:
        sys.stdout.write(line + "\n")
    if flush:
        sys.stdout.flush()


def silence_stdout() -> None:
    """Point stdout at the null device, so that Python's final flush of what is still buffered
    cannot fail again (and print a warning) after a closed pipe or a full disk."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)
