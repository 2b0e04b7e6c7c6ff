"""Reading a real parallel corpus: sentence pairs from a TSV file or from two aligned files.

Two layouts cover the public corpora:

- a TSV file, one pair per line, ``source<TAB>target[<TAB>anything else]`` (Tatoeba and the
  Anki exports: their third column, the attribution, is ignored): :func:`read_tsv`;
- two files with one sentence per line, line ``i`` of one the translation of line ``i`` of the
  other (Multi30k, WMT): :func:`read_aligned`.

Both read bytes and split on ``\\n`` only (never on the other characters ``str.splitlines``
treats as line breaks, such as U+2028, which would shift one side against the other), accept a
UTF-8 byte-order mark and Windows line ends (CRLF), and normalise every sentence with
:func:`normalize`. A line that cannot be decoded, a TSV line with too few columns and two files
of different lengths raise ``ValueError`` naming the file and the line.

Then :func:`filter_pairs` drops duplicates, empty, too long and badly proportioned pairs, and
:func:`split_pairs` cuts the rest into train, validation and test sets by a seeded hash of the
source sentence: the same on every run and platform, and a sentence with two translations
never lands in two splits.
"""

from __future__ import annotations

import hashlib
import os
import unicodedata
from collections.abc import Callable, Iterator, Sequence
from typing import NamedTuple

from .._checks import check_integer

MAX_LINE_BYTES = 1 << 20
"""The longest line a corpus file may have (1 MiB; real sentences are far shorter): reading
``/dev/zero`` or a binary file by mistake stops at the first such line."""

Pair = tuple[str, str]
"""One ``(source, target)`` sentence pair."""


class Splits(NamedTuple):
    """A corpus cut three ways, each a list of ``(source, target)`` pairs."""

    train: list[Pair]
    validation: list[Pair]
    test: list[Pair]


def normalize(text: str) -> str:
    """Unicode NFC, runs of whitespace as one space, no space at either end.

    NFC matters for Korean: a Hangul syllable typed as one code point (U+AC00 "가") and the
    same syllable as two jamo (U+1100 U+1161) look alike but would be different tokens.

    >>> normalize("  \\u1100\\u1161   나\\t ") == "가 나"
    True
    """
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, got {type(text).__name__}")
    return " ".join(unicodedata.normalize("NFC", text).split())


def _lines(path: str | os.PathLike) -> Iterator[tuple[int, str]]:
    """``(line number from 1, text)`` for each line of a UTF-8 file, without its line end."""
    with open(path, "rb") as f:
        for number, raw in enumerate(iter(lambda: f.readline(MAX_LINE_BYTES + 1), b""),
                                     start=1):
            if len(raw) > MAX_LINE_BYTES:
                raise ValueError(f"{os.fspath(path)}, line {number} is longer than "
                                 f"{MAX_LINE_BYTES:,} bytes; is it a text file of sentences?")
            if raw.endswith(b"\n"):
                raw = raw[:-1]
            if raw.endswith(b"\r"):
                raw = raw[:-1]
            try:
                text = raw.decode("utf-8-sig" if number == 1 else "utf-8")
            except UnicodeDecodeError as err:
                raise ValueError(
                    f"{os.fspath(path)}, line {number}: byte {err.start + 1} cannot be read as "
                    f"UTF-8 ({raw[err.start:err.end]!r}); save the file as UTF-8"
                ) from None
            yield number, text


def read_tsv(path: str | os.PathLike, src_column: int = 0, tgt_column: int = 1) -> list[Pair]:
    """Sentence pairs from a tab-separated file, one pair per line.

    Columns other than ``src_column`` and ``tgt_column`` (counted from 0) are ignored. Blank
    lines are skipped; a line with too few columns raises ``ValueError`` naming the file and
    line. Sentences are returned normalised (:func:`normalize`), in file order.

    Returns:
        a list of ``(source, target)`` pairs.
    """
    check_integer("src_column", src_column, minimum=0)
    check_integer("tgt_column", tgt_column, minimum=0)
    if src_column == tgt_column:
        raise ValueError(f"src_column={src_column} and tgt_column={tgt_column} must differ")
    needed = max(src_column, tgt_column) + 1
    pairs = []
    for number, line in _lines(path):
        if not line.strip():
            continue
        columns = line.split("\t")
        if len(columns) < needed:
            raise ValueError(
                f"{os.fspath(path)}, line {number}: expected at least {needed} tab-separated "
                f"columns, got {len(columns)}: {line[:60]!r}"
            )
        pairs.append((normalize(columns[src_column]), normalize(columns[tgt_column])))
    return pairs


def read_aligned(src_path: str | os.PathLike, tgt_path: str | os.PathLike) -> list[Pair]:
    """Sentence pairs from two line-aligned files: line ``i`` of ``tgt_path`` translates line
    ``i`` of ``src_path``.

    Every line is kept (an empty line is an empty sentence, so that the two sides stay
    aligned; :func:`filter_pairs` drops such pairs). Files with different numbers of lines
    raise ``ValueError`` naming the shorter file and the first line it lacks.

    Returns:
        a list of ``(source, target)`` pairs, normalised, in file order.
    """
    pairs = []
    src_lines, tgt_lines = _lines(src_path), _lines(tgt_path)
    while True:
        src, tgt = next(src_lines, None), next(tgt_lines, None)
        if src is None and tgt is None:
            return pairs
        if src is None or tgt is None:
            longer, shorter = (tgt_path, src_path) if src is None else (src_path, tgt_path)
            raise ValueError(
                f"{os.fspath(shorter)} ends after {len(pairs)} lines, but {os.fspath(longer)} "
                f"has a line {len(pairs) + 1}: the files must have the same number of lines"
            )
        pairs.append((normalize(src[1]), normalize(tgt[1])))


def filter_pairs(pairs: Sequence[Pair], min_len: int = 1, max_len: int | None = None,
                 max_ratio: float | None = None, deduplicate: bool = True,
                 length: Callable[[str], int] = len) -> list[Pair]:
    """The pairs worth training on, in their original order.

    A pair is dropped when it repeats an earlier pair exactly (``deduplicate=True``), when
    either side is shorter than ``min_len`` or longer than ``max_len``, or when the longer
    side is more than ``max_ratio`` times the shorter one (a sign of a misaligned pair; ratios
    are language-dependent: a Korean sentence has about half the characters of its English
    translation, so leave room). ``length`` measures a side, in characters by default; pass
    ``lambda s: len(s.split())`` for words, or a tokenizer's ``len(tok.encode(s))``.

    >>> filter_pairs([("a b", "x"), ("a b", "x"), ("", "y"), ("long one", "z")], max_ratio=4)
    [('a b', 'x')]
    """
    check_integer("min_len", min_len, minimum=0)
    if max_len is not None:
        check_integer("max_len", max_len, minimum=max(min_len, 1))
    if max_ratio is not None and (isinstance(max_ratio, bool)
                                  or not isinstance(max_ratio, (int, float))
                                  or not max_ratio >= 1):
        raise ValueError(f"max_ratio={max_ratio!r} must be a number >= 1 or None")
    seen: set[Pair] = set()
    kept = []
    for pair in pairs:
        if deduplicate:
            if pair in seen:
                continue
            seen.add(pair)
        lengths = sorted(length(side) for side in pair)
        if lengths[0] < min_len or (max_len is not None and lengths[1] > max_len):
            continue
        if max_ratio is not None and lengths[1] > max_ratio * max(lengths[0], 1):
            continue
        kept.append(pair)
    return kept


def split_of(source: str, validation: float = 0.05, test: float = 0.05, seed: int = 0) -> str:
    """Which split a source sentence belongs to: ``"train"``, ``"validation"`` or ``"test"``.

    The first 8 bytes of SHA-256 of ``"{seed}\\t{source}"`` give a number ``u`` in ``[0, 1)``;
    ``u < test`` is test, ``u < test + validation`` is validation, the rest is train. SHA-256
    (unlike Python's ``hash``) is the same on every run and platform, and a pair keeps its
    split when the corpus grows.
    """
    if not isinstance(source, str):
        raise TypeError(f"source must be a str, got {type(source).__name__}")
    digest = hashlib.sha256(f"{seed}\t{source}".encode()).digest()
    u = int.from_bytes(digest[:8], "big") / 2.0**64
    return "test" if u < test else "validation" if u < test + validation else "train"


def split_pairs(pairs: Sequence[Pair], validation: float = 0.05, test: float = 0.05,
                seed: int = 0) -> Splits:
    """Cut ``pairs`` into train, validation and test sets by :func:`split_of` of the source.

    The split is by source sentence, so all translations of one sentence share a split, and
    the fractions are expected values (each pair is one draw). Order within a split is the
    order of ``pairs``. Change ``seed`` for another split of the same corpus.

    Returns:
        ``Splits(train, validation, test)``, lists of pairs.
    """
    for name, value in (("validation", validation), ("test", test)):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < 1:
            raise ValueError(f"{name}={value!r} must be a number in [0, 1)")
    if validation + test >= 1:
        raise ValueError(f"validation={validation} + test={test} must leave some training data")
    if not isinstance(seed, int) or isinstance(seed, bool):
        raise TypeError(f"seed={seed!r} must be an int")
    out: dict[str, list[Pair]] = {"train": [], "validation": [], "test": []}
    for pair in pairs:
        out[split_of(pair[0], validation, test, seed)].append(pair)
    return Splits(out["train"], out["validation"], out["test"])


def corpus_splits(data: str | None, src: str | None, tgt: str | None,
                  validation: float = 0.05, test: float = 0.05) -> Splits:
    """The pairs of ``--data`` (TSV) or ``--src``/``--tgt`` (aligned files), de-duplicated,
    without empty sides, split 90/5/5 by a hash of the source sentence (``validation`` or
    ``test`` 0 when an official set replaces that part)."""
    pairs = read_tsv(data) if data else read_aligned(src, tgt)
    kept = filter_pairs(pairs)
    splits = split_pairs(kept, validation, test)
    if not splits.train or (validation and not splits.validation):
        sources = len({source for source, _ in kept})
        raise ValueError(f"the corpus has {len(pairs)} pairs ({len(kept)} distinct and "
                         f"non-empty, {sources} distinct sources), too few for a training and a "
                         f"validation split (5% of the source sentences go to each of "
                         f"validation and test)")
    return splits


def corpus_fingerprint(splits: Splits) -> str:
    """A SHA-256 of a corpus's pairs, split by split: stored in a checkpoint, so that resuming
    can check that the corpus given is the one it was trained on (wherever the file is now)."""
    digest = hashlib.sha256()
    for part in splits:
        for source, target in part:
            digest.update(f"{source}\t{target}\n".encode())
        digest.update(b"\0")
    return digest.hexdigest()
