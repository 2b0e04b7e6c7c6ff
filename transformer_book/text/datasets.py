"""Real parallel corpora: Tatoeba English–Korean, shipped with the package, and Multi30k,
downloaded on first use.

- :func:`tatoeba_eng_kor`: 3,798 English–Korean sentence pairs from Tatoeba (tatoeba.org), as
  exported in the Anki "kor-eng" file of manythings.org/anki. Licence CC-BY 2.0 France: each
  line credits its two sentences' numbers and contributors (``attribution=True`` returns that
  column too). The file ships inside the package (``corpora/tatoeba-eng-kor/``, with its
  licence note), so it works after ``pip install`` and on Colab without a download.
- :func:`multi30k`: Multi30k task 1 (Elliott et al., 2016), English and German descriptions
  of Flickr30k images: ``train`` (29,000 pairs), ``val`` (1,014) and ``test_2016_flickr``
  (1,000), the sets papers report BLEU on. The descriptions derive from Flickr30k, whose terms
  limit their use to research and education, so the package does not ship them: each file is
  downloaded once from the dataset's own repository, checked against its SHA-256 and kept in
  the cache folder (``download.cache_dir()``, ``$TRANSFORMER_BOOK_DATA`` to choose it).
"""

from __future__ import annotations

import gzip
import os
import shutil
import tempfile
from importlib import resources
from pathlib import Path

from .._checks import check_choice
from .corpus import Pair, read_aligned, read_tsv
from .download import DownloadError, cache_dir, fetch

__all__ = ["tatoeba_eng_kor", "tatoeba_eng_kor_path", "multi30k", "multi30k_files",
           "MULTI30K_SPLITS", "MULTI30K_LANGUAGES", "MULTI30K_URL", "MULTI30K_SHA256"]

TATOEBA_ENG_KOR = ("corpora", "tatoeba-eng-kor", "kor.txt")
"""Where the shipped Tatoeba file lies inside the package."""

MULTI30K_URL = "https://github.com/multi30k/dataset/raw/master/data/task1/raw/"
MULTI30K_SPLITS = ("train", "val", "test_2016_flickr")
MULTI30K_LANGUAGES = ("en", "de")
MULTI30K_SHA256 = {
    "train.de.gz": "726e39b2fa9eb9ffb6dc763fb35a179f80fae06ffc5d28b6ace5faa883de28a6",
    "train.en.gz": "d79cfa999dd4c51d2cb42499b6796d5a882c3a8a961923c25a898c90f8bbd56f",
    "val.de.gz": "f0cba2f995189cf5770f29a8a9a537a3ad3f51657ad873405082ff6863a5e75a",
    "val.en.gz": "14f7d25ddd868909a9213e361768460edcacdd6ab9d1e77b92560dc10c10dc28",
    "test_2016_flickr.de.gz": "9204244e408ccb38d2a55cfcd344df15005fc42a07a6e55ca6c52b6ababb8cc8",
    "test_2016_flickr.en.gz": "611d361c6334bc7246101d48097c13cf5c4413c5befc793cc629934359d532d9",
}
"""The SHA-256 of each file of the dataset's repository, ``data/task1/raw/`` (commit
a3d2e0d26b56f3846f66a952536ffed4e401d05a)."""


def tatoeba_eng_kor_path() -> Path:
    """The shipped ``kor.txt`` (``English<TAB>Korean<TAB>attribution``), e.g. for
    ``python -m transformer_book.train --data``. The package must be installed as files (pip's
    normal install, or ``pip install -e``), not run from a zip archive."""
    return Path(str(resources.files(__package__).joinpath(*TATOEBA_ENG_KOR)))


def tatoeba_eng_kor(attribution: bool = False) -> list[Pair] | list[tuple[str, str, str]]:
    """The Tatoeba English–Korean pairs, in file order, normalised (``corpus.normalize``).

    Returns ``(english, korean)`` pairs, or with ``attribution=True`` ``(english, korean,
    credit)`` triples, the credit naming the two sentences on tatoeba.org and their authors
    (CC-BY 2.0 France asks you to keep it with the sentences).

    >>> pairs = tatoeba_eng_kor()
    >>> len(pairs), pairs[1]
    (3798, ('Hi.', '안녕.'))
    >>> tatoeba_eng_kor(attribution=True)[1][2][:40]
    'CC-BY 2.0 (France) Attribution: tatoeba.'
    """
    if not isinstance(attribution, bool):
        raise TypeError(f"attribution={attribution!r} must be a bool")
    path = tatoeba_eng_kor_path()
    pairs = read_tsv(path)
    if not attribution:
        return pairs
    credits = read_tsv(path, src_column=0, tgt_column=2)
    return [(en, ko, credit) for (en, ko), (_, credit) in zip(pairs, credits, strict=True)]


def multi30k_files(split: str, languages: tuple[str, ...] = MULTI30K_LANGUAGES,
                   cache: str | os.PathLike | None = None, base_url: str = MULTI30K_URL
                   ) -> list[Path]:
    """The text files of one Multi30k ``split``, one per language (``en``, ``de``), one
    sentence per line, downloading what the cache lacks.

    Each ``<split>.<language>.gz`` is fetched from ``base_url`` (the dataset's repository by
    default) into ``cache`` (default ``download.cache_dir()``) unless it is already there with
    the right SHA-256, then unpacked next to it as ``<split>.<language>`` (written under a
    temporary name and renamed, so never half a file). Raises ``DownloadError`` (one line,
    naming every address still to fetch and the folder to put the files in) when a file can
    neither be found nor downloaded.
    """
    check_choice("split", split, MULTI30K_SPLITS)
    if isinstance(languages, str):
        raise TypeError(f"languages={languages!r} must be a tuple of languages, e.g. ('de', 'en')")
    for language in languages:
        check_choice("language", language, MULTI30K_LANGUAGES)
    folder = Path(cache).expanduser() if cache is not None else cache_dir()
    folder = folder / "multi30k"
    texts = [folder / f"{split}.{language}" for language in languages]
    missing = [text for text in texts if not text.is_file()]
    for number, text in enumerate(missing):
        name = f"{text.name}.gz"
        try:
            packed = fetch(base_url + name, folder / name, MULTI30K_SHA256[name])
        except DownloadError as exc:  # name every file still missing, not only this one
            urls = [base_url + f"{t.name}.gz" for t in missing[number:]]
            raise DownloadError(exc.reason, urls, folder) from None
        _unpack(packed, text)
    return texts


def multi30k(split: str, source: str = "de", target: str = "en",
             cache: str | os.PathLike | None = None, base_url: str = MULTI30K_URL
             ) -> list[Pair]:
    """The ``(source, target)`` pairs of a Multi30k ``split`` (``train``, ``val`` or
    ``test_2016_flickr``), German to English by default, in file order, normalised
    (``corpus.normalize``). Every line is kept, so that a test set stays whole. Downloads the
    files the cache lacks (see :func:`multi30k_files`)."""
    if source == target:
        raise ValueError(f"source={source!r} and target={target!r} must differ")
    src, tgt = multi30k_files(split, (source, target), cache, base_url)
    return read_aligned(src, tgt)


def _unpack(packed: Path, text: Path) -> None:
    """Decompress ``packed`` (gzip) into ``text`` through a temporary file and a rename."""
    fd, tmp = tempfile.mkstemp(prefix=f".{text.name}.", suffix=".part", dir=text.parent)
    try:
        with os.fdopen(fd, "wb") as out, gzip.open(packed, "rb") as f:
            shutil.copyfileobj(f, out)
        os.replace(tmp, text)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
