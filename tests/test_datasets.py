"""The real corpora: Tatoeba shipped in the package, Multi30k downloaded once, checked and
cached. No test touches the network: the cache is seeded from the repository's shared data
folder, and downloads come from a local HTTP server on 127.0.0.1."""

from __future__ import annotations

import hashlib
import http.server
import socket
import threading
from pathlib import Path

import pytest

from transformer_book.text import datasets
from transformer_book.text.datasets import (
    multi30k,
    multi30k_files,
    tatoeba_eng_kor,
    tatoeba_eng_kor_path,
)
from transformer_book.text.download import CACHE_VARIABLE, DownloadError, cache_dir, fetch

ROOT = Path(__file__).resolve().parents[1]


def test_the_shipped_tatoeba_file_is_the_shared_copy_with_its_credits(shared_data):
    ours = tatoeba_eng_kor_path()
    assert ours.read_bytes() == (shared_data / "tatoeba-eng-kor" / "kor.txt").read_bytes()
    assert "CC-BY 2.0" in (ours.parent / "LICENSE.md").read_text(encoding="utf-8")
    pairs, triples = tatoeba_eng_kor(), tatoeba_eng_kor(attribution=True)
    assert len(pairs) == len(triples) == 3798
    assert [t[:2] for t in triples] == pairs
    assert all(t[2].startswith("CC-BY 2.0 (France) Attribution: tatoeba.org #") for t in triples)


def test_pyproject_ships_the_corpus_as_package_data():
    tomllib = pytest.importorskip("tomllib")  # Python 3.11 and later
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    globs = config["tool"]["setuptools"]["package-data"]["transformer_book"]
    shipped = {p for g in globs for p in (ROOT / "transformer_book").glob(g)}
    folder = ROOT / "transformer_book" / "text" / "corpora" / "tatoeba-eng-kor"
    assert {folder / "kor.txt", folder / "LICENSE.md"} <= shipped


def test_multi30k_reads_a_seeded_cache_without_the_network(seeded_cache):
    test = multi30k("test_2016_flickr", cache=seeded_cache, base_url="http://127.0.0.1:9/")
    assert len(test) == 1000 and test[0][1] == "A man in an orange hat starring at something."
    assert len(multi30k("val", "en", "de", cache=seeded_cache)) == 1014
    src, tgt = multi30k_files("train", ("de", "en"), cache=seeded_cache)
    assert (src.name, tgt.name) == ("train.de", "train.en")
    assert len(src.read_text(encoding="utf-8").splitlines()) == 29000
    assert not list(seeded_cache.rglob("*.part"))


def test_the_cache_folder_follows_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv(CACHE_VARIABLE, str(tmp_path / "here"))
    assert cache_dir() == tmp_path / "here"
    monkeypatch.delenv(CACHE_VARIABLE)
    assert cache_dir().name == "transformer_book"


def test_bad_arguments():
    with pytest.raises(ValueError, match="split='dev'"):
        multi30k("dev")
    with pytest.raises(ValueError, match="language='fr'"):
        multi30k_files("val", ("fr",))
    with pytest.raises(ValueError, match="must differ"):
        multi30k("val", "en", "en")
    with pytest.raises(ValueError, match="https://"):
        fetch("file:///etc/passwd", "x", "0" * 64)


# Downloads from a local server: what it answers is set per test.

PAYLOAD = b"Ein Hund rennt.\nZwei Kinder spielen.\n" * 50
RESPONSES: dict[str, tuple[int, bytes, int | None]] = {}  # path -> (status, body, length sent)


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 (http.server's name)
        status, body, length = RESPONSES.get(self.path, (404, b"not here", None))
        self.send_response(status)
        self.send_header("Content-Length", str(len(body) if length is None else length))
        self.end_headers()
        self.wfile.write(body)
        self.wfile.flush()
        self.close_connection = True

    def log_message(self, *args):  # quiet
        pass


@pytest.fixture(scope="module")
def server():
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    httpd.shutdown()
    httpd.server_close()


def only(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def one_line(exc: pytest.ExceptionInfo, *fragments: str) -> str:
    message = str(exc.value)
    assert "\n" not in message
    for fragment in fragments:
        assert fragment in message, message
    return message


def test_a_download_is_checked_then_kept(server, tmp_path):
    RESPONSES["/good.txt"] = (200, PAYLOAD, None)
    sha = hashlib.sha256(PAYLOAD).hexdigest()
    path = fetch(server + "good.txt", tmp_path / "good.txt", sha)
    assert path.read_bytes() == PAYLOAD and only(tmp_path) == ["good.txt"]
    del RESPONSES["/good.txt"]  # the second call reads the cache, not the server
    assert fetch(server + "good.txt", tmp_path / "good.txt", sha) == path


@pytest.mark.parametrize("case, response, fragment", [
    ("checksum", (200, PAYLOAD, None), "not the expected"),
    ("truncated", (200, PAYLOAD[:100], len(PAYLOAD)), "the transfer stopped after 100"),
    ("missing", None, "HTTP 404"),
])
def test_a_failed_download_leaves_nothing(server, tmp_path, case, response, fragment):
    if response is not None:
        RESPONSES[f"/{case}.gz"] = response
    folder = tmp_path / "cache"
    with pytest.raises(DownloadError) as exc:
        fetch(server + f"{case}.gz", folder / f"{case}.gz", "ab" * 32)
    one_line(exc, fragment, f"fetch {server}{case}.gz by hand into {folder}")
    assert only(folder) == []


def test_a_bad_download_keeps_the_file_that_was_there(server, tmp_path):
    RESPONSES["/old.txt"] = (200, b"something else", None)
    (tmp_path / "old.txt").write_bytes(b"stale")
    with pytest.raises(DownloadError):
        fetch(server + "old.txt", tmp_path / "old.txt", "ab" * 32)
    assert (tmp_path / "old.txt").read_bytes() == b"stale" and only(tmp_path) == ["old.txt"]


def test_multi30k_downloads_what_the_cache_lacks(server, tmp_path, shared_data):
    for name in ("val.de.gz", "val.en.gz"):
        RESPONSES[f"/m/{name}"] = (200, (shared_data / "multi30k" / name).read_bytes(), None)
    pairs = multi30k("val", cache=tmp_path, base_url=server + "m/")
    assert len(pairs) == 1014
    assert only(tmp_path / "multi30k") == ["val.de", "val.de.gz", "val.en", "val.en.gz"]


def test_offline_multi30k_names_every_file_to_fetch_by_hand(tmp_path, monkeypatch):
    with socket.socket() as s:  # a port that nothing listens on: the connection is refused
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    base = f"http://127.0.0.1:{port}/"
    monkeypatch.setenv(CACHE_VARIABLE, str(tmp_path))
    with pytest.raises(DownloadError) as exc:
        multi30k("test_2016_flickr", base_url=base)
    folder = tmp_path / "multi30k"
    one_line(exc, "refused", f"fetch {base}test_2016_flickr.de.gz and "
             f"{base}test_2016_flickr.en.gz by hand into {folder}")
    assert exc.value.urls == [f"{base}test_2016_flickr.de.gz", f"{base}test_2016_flickr.en.gz"]
    assert only(folder) == []


def test_the_default_address_is_the_datasets_repository():
    assert datasets.MULTI30K_URL == "https://github.com/multi30k/dataset/raw/master/data/task1/raw/"
