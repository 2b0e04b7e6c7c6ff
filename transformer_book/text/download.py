"""Downloading a data file once: fetched over HTTPS, checked against its SHA-256, kept in a cache
folder so that the next run reads it from the disk.

The cache folder is ``$TRANSFORMER_BOOK_DATA`` when that environment variable is set, else the
platform's cache folder: ``~/.cache/transformer_book`` on Linux (or under ``$XDG_CACHE_HOME``),
``~/Library/Caches/transformer_book`` on macOS, ``%LOCALAPPDATA%\\transformer_book`` on Windows.

A download goes to a temporary file in the cache folder and is renamed to its name only after
its checksum matched: an interrupted or failed download, a truncated transfer or a file that is
not the expected one never leaves a file under the expected name. Every failure raises
:class:`DownloadError`, whose one-line message says which address to fetch by hand and where to
put the file (so that a machine without internet can still run everything).
"""

from __future__ import annotations

import hashlib
import http.client
import os
import sys
import tempfile
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Sequence
from pathlib import Path

from .._checks import one_line

__all__ = ["CACHE_VARIABLE", "DownloadError", "cache_dir", "fetch", "file_sha256", "MAX_BYTES"]

CACHE_VARIABLE = "TRANSFORMER_BOOK_DATA"
"""The environment variable that names the cache folder."""

MAX_BYTES = 256 * 2**20
"""The largest download accepted (256 MiB); a server that sends more is cut off."""

_CHUNK = 2**16


class DownloadError(RuntimeError):
    """A data file is not in the cache and could not be downloaded (no network, an error from
    the server, a truncated transfer, a checksum that does not match). The message, one line,
    gives the ``reason`` and names the addresses to fetch by hand (``urls``) and the
    ``folder`` to put them in."""

    def __init__(self, reason: str, urls: Sequence[str], folder: str | os.PathLike):
        self.reason, self.urls, self.folder = reason, list(urls), Path(folder)
        super().__init__(f"{reason}; fetch {' and '.join(self.urls)} by hand into "
                         f"{self.folder} ({CACHE_VARIABLE} chooses another cache folder)")


def cache_dir() -> Path:
    """The folder that downloaded data files are kept in (created on first use, not here)."""
    folder = os.environ.get(CACHE_VARIABLE)
    if folder:
        return Path(folder).expanduser()
    if sys.platform == "win32":
        root = os.environ.get("LOCALAPPDATA") or Path.home() / "AppData" / "Local"
        return Path(root) / "transformer_book"
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Caches" / "transformer_book"
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "transformer_book"


def file_sha256(path: str | os.PathLike) -> str:
    """The SHA-256 of a file's bytes, as 64 hex digits."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(2**20):
            digest.update(chunk)
    return digest.hexdigest()


def fetch(url: str, path: str | os.PathLike, sha256: str, timeout: float = 30.0,
          max_bytes: int = MAX_BYTES) -> Path:
    """``path``, holding the file at ``url`` whose SHA-256 is ``sha256``.

    A file already at ``path`` with that checksum is used as it is (no network). Otherwise the
    file is downloaded (``http`` or ``https``; redirects followed, at most ``max_bytes`` bytes,
    ``timeout`` seconds without data) into a temporary file next to ``path``, checked, and
    renamed to ``path``; on any failure the temporary file is removed, a file already at
    ``path`` stays as it was, and ``DownloadError`` says what went wrong in one line.
    """
    path = Path(path)
    scheme = urllib.parse.urlsplit(url).scheme
    if scheme not in ("https", "http"):
        raise ValueError(f"url={url!r} must be an https:// (or http://) address")
    if len(sha256) != 64 or any(c not in "0123456789abcdef" for c in sha256):
        raise ValueError(f"sha256={sha256!r} must be 64 lower-case hex digits")
    if path.is_file() and file_sha256(path) == sha256:
        return path
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    except OSError as exc:
        raise DownloadError(f"cannot write into {path.parent} ({exc.strerror or exc})", [url],
                            path.parent) from None
    try:
        with os.fdopen(fd, "wb") as f:
            got = _copy(url, f, timeout, max_bytes)
        if got != sha256:
            raise DownloadError(f"{url} sent a file whose SHA-256 is {got}, not the expected "
                                f"{sha256}", [url], path.parent)
        os.replace(tmp, path)
    except BaseException as exc:  # KeyboardInterrupt too: never leave the temporary file
        Path(tmp).unlink(missing_ok=True)
        if isinstance(exc, (OSError, http.client.HTTPException, ValueError)):
            raise DownloadError(f"cannot download {url} ({_reason(exc)})", [url],
                                path.parent) from None
        raise
    return path


def _copy(url: str, out, timeout: float, max_bytes: int) -> str:
    """Stream ``url`` into the open file ``out``; return the SHA-256 of what came."""
    digest, size = hashlib.sha256(), 0
    with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 (scheme checked)
        length = response.headers.get("Content-Length")
        if length is not None and length.isdigit() and int(length) > max_bytes:
            raise ValueError(f"the server announces {int(length):,} bytes, more than "
                             f"{max_bytes:,}")
        while chunk := response.read(_CHUNK):
            size += len(chunk)
            if size > max_bytes:
                raise ValueError(f"more than {max_bytes:,} bytes")
            digest.update(chunk)
            out.write(chunk)
        if length is not None and length.isdigit() and size != int(length):
            raise ValueError(f"the transfer stopped after {size:,} of {int(length):,} bytes")
    return digest.hexdigest()


def _reason(exc: BaseException) -> str:
    """Why a download failed, in a few words on one line."""
    if isinstance(exc, urllib.error.HTTPError):
        text = f"HTTP {exc.code} {exc.reason}"
    elif isinstance(exc, urllib.error.URLError):
        text = str(exc.reason)
    elif isinstance(exc, http.client.IncompleteRead):
        text = f"the transfer stopped after {len(exc.partial):,} bytes"
    else:
        text = str(exc) or type(exc).__name__
    return one_line(text)
