"""Writing a file so that a crash or Ctrl-C at any moment leaves the old file or the new one,
never half a file (checkpoints use it)."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

__all__ = ["write_atomically"]


def write_atomically(path: str | os.PathLike, write: Callable[[BinaryIO], object]) -> None:
    """Call ``write(f)`` on a temporary file of its own next to ``path``, flush it to the disk
    and rename it over ``path``; the temporary file is removed whatever happens. A symbolic link
    at ``path`` stays a link (the file it names is replaced), and the new file keeps the old
    one's permissions. An error of a write inside ``write`` surfaces as itself, even when
    ``write`` (``torch.save``'s zip writer) turns it into a ``RuntimeError``."""
    path = _target(Path(path))
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name[:100]}.", suffix=".tmp",
                               dir=path.parent or ".")
    try:
        with os.fdopen(fd, "wb") as f:
            writer = _Writer(f)
            try:
                write(writer)
            except RuntimeError:  # torch's zip writer hides the error of the write that failed
                if writer.error is None:
                    raise
                raise writer.error from None
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, _file_mode(path))
        os.replace(tmp, path)
    except BaseException:  # KeyboardInterrupt too: never leave the temporary file behind
        Path(tmp).unlink(missing_ok=True)
        raise
    _fsync_folder(path.parent)


class _Writer:
    """A file for ``torch.save`` that keeps the first exception a write raised (a full disk,
    a file-size limit, Ctrl-C), which torch's zip writer turns into a ``RuntimeError``."""

    def __init__(self, f):
        self.f, self.error = f, None

    def write(self, data) -> int:
        try:
            return self.f.write(data)
        except BaseException as exc:
            self.error = self.error or exc
            raise

    def flush(self) -> None:
        self.f.flush()


def _target(path: Path) -> Path:
    """Where a save to ``path`` writes: through a symbolic link to the file it names (so that the
    link stays a link), else ``path`` itself."""
    return Path(os.path.realpath(path)) if path.is_symlink() else path


def _file_mode(path: Path) -> int:
    """The permissions the new file gets: those of the file it replaces, else the umask's."""
    if path.is_file():
        return path.stat().st_mode & 0o777
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def _fsync_folder(folder: Path) -> None:
    """Make the rename itself durable (POSIX; other systems have no folder descriptors)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
