"""Tokenizers and the chapters' data sets, all generated locally from a seed (no downloads).

Each data set lives in its own section below, named after the chapter that introduces it.
"""

from __future__ import annotations

import datetime
import random
import string
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import torch
from torch import Tensor

from ._checks import check_int

# ---------------------------------------------------------------------------------------------
# Chapter 1: long-range recall
# ---------------------------------------------------------------------------------------------


def recall_task(
    num_sequences: int,
    num_distractors: int,
    num_symbols: int = 8,
    seed: int = 0,
    generator: torch.Generator | None = None,
    device: torch.device | str | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Sequences whose label is their first token, followed by ``num_distractors`` random tokens.

    Every token, the first one and the distractors alike, is drawn uniformly from the same
    ``num_symbols`` symbols ``0 .. num_symbols - 1``, so only its *position* tells the first
    token apart: a model must carry it across ``num_distractors`` steps (chapter 1).

    Args:
        num_sequences: how many sequences (the batch size).
        num_distractors: ``L``, the number of tokens after the one to recall (``>= 0``).
        num_symbols: vocabulary size, also the number of classes (``>= 2``); chance is
            ``1 / num_symbols``.
        seed: seeds a fresh generator when ``generator`` is not given.
        generator: a CPU ``torch.Generator`` to draw from (a training loop passes one so
            that each call gives a new, yet repeatable, batch).
        device: where to put the result (drawn on the CPU, so it is the same on every device).

    Returns:
        ``(tokens, targets)``: ``tokens`` is ``(num_sequences, num_distractors + 1)`` int64,
        ``targets`` is ``(num_sequences,)`` int64 and equals ``tokens[:, 0]``.

    >>> tokens, targets = recall_task(2, 3, seed=0)
    >>> tokens.shape, bool((targets == tokens[:, 0]).all())
    (torch.Size([2, 4]), True)
    """
    for name, value, low in (("num_sequences", num_sequences, 1),
                             ("num_distractors", num_distractors, 0),
                             ("num_symbols", num_symbols, 2)):
        if not isinstance(value, int) or isinstance(value, bool) or value < low:
            raise ValueError(f"{name}={value!r} must be an int >= {low}")
    if generator is None:
        if not isinstance(seed, int) or isinstance(seed, bool):
            raise TypeError(f"seed={seed!r} must be an int")
        generator = torch.Generator().manual_seed(seed)
    elif not isinstance(generator, torch.Generator):
        raise TypeError(
            f"generator must be a torch.Generator or None, got {type(generator).__name__}"
        )
    tokens = torch.randint(num_symbols, (num_sequences, num_distractors + 1), generator=generator)
    targets = tokens[:, 0].clone()
    return tokens.to(device), targets.to(device)


# ---------------------------------------------------------------------------------------------
# Chapter 8: dates
# ---------------------------------------------------------------------------------------------
# A small translation task that needs no download: dates written the many ways people write
# them in English, translated to ISO 8601 ("2026-11-24") or to Korean ("2026년 11월 24일").

PAD, BOS, EOS, UNK = "<pad>", "<bos>", "<eos>", "<unk>"
SPECIAL_TOKENS = (PAD, BOS, EOS, UNK)


class CharTokenizer:
    """One token per character, after four special tokens: ``<pad>`` = 0, ``<bos>`` = 1,
    ``<eos>`` = 2, ``<unk>`` = 3.

    The vocabulary is a plain list of strings (``tokenizer.vocab``), so a checkpoint can store it
    and ``CharTokenizer.from_vocab(vocab)`` rebuilds the same tokenizer.

    >>> tok = CharTokenizer("abc")
    >>> tok.encode("cab", add_bos=True, add_eos=True)
    [1, 6, 4, 5, 2]
    >>> tok.decode([1, 6, 4, 5, 2, 0])
    'cab'
    """

    pad_id, bos_id, eos_id, unk_id = 0, 1, 2, 3

    def __init__(self, chars: Iterable[str]):
        if isinstance(chars, str):
            chars = list(chars)
        chars = sorted(set(chars))
        for c in chars:
            if not isinstance(c, str) or len(c) != 1:
                raise ValueError(f"chars must be single characters, got {c!r}")
        self.vocab: list[str] = [*SPECIAL_TOKENS, *chars]
        self.stoi: dict[str, int] = {s: i for i, s in enumerate(self.vocab)}

    @classmethod
    def from_texts(cls, texts: Iterable[str]) -> CharTokenizer:
        """The tokenizer of every character that occurs in ``texts``."""
        return cls({c for text in texts for c in text})

    @classmethod
    def from_vocab(cls, vocab: Sequence[str]) -> CharTokenizer:
        """Rebuild a tokenizer from its ``vocab`` list (as stored in a checkpoint)."""
        vocab = list(vocab)
        if tuple(vocab[: len(SPECIAL_TOKENS)]) != SPECIAL_TOKENS:
            raise ValueError(f"vocab must start with {list(SPECIAL_TOKENS)}, got {vocab[:4]}")
        tok = cls(vocab[len(SPECIAL_TOKENS):])
        if tok.vocab != vocab:
            raise ValueError("vocab must list distinct single characters in sorted order")
        return tok

    def __len__(self) -> int:
        return len(self.vocab)

    def __repr__(self) -> str:
        return f"CharTokenizer({len(self)} tokens)"

    def unknown_chars(self, text: str) -> list[str]:
        """The characters of ``text`` that are not in the vocabulary, in order, without repeats."""
        return list(dict.fromkeys(c for c in text if c not in self.stoi))

    def encode(self, text: str, add_bos: bool = False, add_eos: bool = False,
               strict: bool = False) -> list[int]:
        """``text`` -> token ids. Unknown characters become ``<unk>``, or raise ``ValueError``
        when ``strict=True`` (what a command-line tool wants: tell the user, do not guess)."""
        if not isinstance(text, str):
            raise TypeError(f"text must be a str, got {type(text).__name__}")
        if strict:
            unknown = self.unknown_chars(text)
            if unknown:
                raise ValueError(
                    f"text={text!r} has characters the tokenizer does not know: "
                    f"{''.join(unknown)!r}"
                )
        ids = [self.stoi.get(c, self.unk_id) for c in text]
        return [self.bos_id] * add_bos + ids + [self.eos_id] * add_eos

    def decode(self, ids: Iterable[int] | Tensor, stop_at_eos: bool = True) -> str:
        """Token ids -> text, skipping ``<pad>`` and ``<bos>`` and stopping at the first
        ``<eos>`` (unless ``stop_at_eos=False``); ``<unk>`` shows as ``?``."""
        if isinstance(ids, Tensor):
            ids = ids.tolist()
        out = []
        for i in ids:
            if i == self.eos_id and stop_at_eos:
                break
            if i in (self.pad_id, self.bos_id, self.eos_id):
                continue
            out.append("?" if i == self.unk_id else self.vocab[i])
        return "".join(out)


MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
          "September", "October", "November", "December")
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
DATE_RANGE = (datetime.date(1950, 1, 1), datetime.date(2049, 12, 31))
"""First and last date of the task: two-digit years 50..99 mean 19xx, 00..49 mean 20xx."""


def _ordinal(n: int) -> str:
    suffix = "th" if 11 <= n % 100 <= 13 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def _fields(d: datetime.date) -> dict[str, object]:
    month = MONTHS[d.month - 1]
    return dict(d=d.day, dd=f"{d.day:02d}", m=d.month, mm=f"{d.month:02d}", yyyy=d.year,
                yy=f"{d.year % 100:02d}", month=month, mon=month[:3],
                weekday=WEEKDAYS[d.weekday()], wkd=WEEKDAYS[d.weekday()][:3], nth=_ordinal(d.day))


# Slashes are read month first (as in the US), dots day first (as in much of Europe); with a
# four-digit year first the order is year, month, day. So every string means one date.
DATE_FORMATS: dict[str, str] = {
    "weekday_d_month_yyyy": "{weekday}, {d} {month} {yyyy}",   # Tuesday, 24 November 2026
    "weekday_month_d_yyyy": "{weekday}, {month} {d}, {yyyy}",  # Tuesday, November 24, 2026
    "wkd_mon_d_yyyy": "{wkd}, {mon} {d}, {yyyy}",              # Tue, Nov 24, 2026
    "mm/dd/yy": "{mm}/{dd}/{yy}",                              # 11/24/26
    "m/d/yy": "{m}/{d}/{yy}",                                  # 3/7/26
    "mm/dd/yyyy": "{mm}/{dd}/{yyyy}",                          # 11/24/2026
    "yyyy/mm/dd": "{yyyy}/{mm}/{dd}",                          # 2026/11/24
    "dd.mm.yyyy": "{dd}.{mm}.{yyyy}",                          # 24.11.2026
    "d.m.yyyy": "{d}.{m}.{yyyy}",                              # 7.3.2026
    "mon_nth_yyyy": "{mon} {nth} {yyyy}",                      # Nov 24th 2026
    "month_d_yyyy": "{month} {d}, {yyyy}",                     # November 24, 2026
    "month_d_yyyy_lower": "{month_lower} {d}, {yyyy}",         # november 24, 2026
    "d_mon_yyyy": "{d} {mon} {yyyy}",                          # 24 Nov 2026
    "d_month_yyyy": "{d} {month} {yyyy}",                      # 24 November 2026
    "nth_month_yyyy": "{nth} {month} {yyyy}",                  # 24th November 2026
    "the_nth_of_month_yyyy": "the {nth} of {month}, {yyyy}",   # the 24th of November, 2026
    "MON_D_YYYY": "{MON} {d} {yyyy}",                          # NOV 24 2026
    "d_mon_yy": "{d} {mon} '{yy}",                             # 24 Nov '26
}


def format_date(d: datetime.date, fmt: str) -> str:
    """Write the date ``d`` in the format named ``fmt`` (a key of ``DATE_FORMATS``).

    >>> format_date(datetime.date(2026, 11, 24), "mon_nth_yyyy")
    'Nov 24th 2026'
    """
    if fmt not in DATE_FORMATS:
        raise ValueError(f"fmt={fmt!r} is not one of {sorted(DATE_FORMATS)}")
    fields = _fields(d)
    fields.update(month_lower=str(fields["month"]).lower(), MON=str(fields["mon"]).upper())
    return DATE_FORMATS[fmt].format(**fields)


def to_iso(d: datetime.date) -> str:
    """``2026-11-24`` (ISO 8601)."""
    return d.isoformat()


def to_korean(d: datetime.date) -> str:
    """``2026년 11월 24일`` (year 년, month 월, day 일; no leading zeros)."""
    return f"{d.year}년 {d.month}월 {d.day}일"


DATE_TARGETS = {"iso": to_iso, "ko": to_korean}
DATE_SPLITS = {"train": 0.9, "validation": 0.05, "test": 0.05}


def date_split(split: str, seed: int = 0) -> list[datetime.date]:
    """The dates of one split: every date of ``DATE_RANGE``, shuffled with ``seed`` and cut
    90% / 5% / 5% into ``"train"``, ``"validation"`` and ``"test"``.

    The split is by *date*, not by string, so no test date is ever seen in training, in any of
    its spellings.
    """
    if split not in DATE_SPLITS:
        raise ValueError(f"split={split!r} must be one of {list(DATE_SPLITS)}")
    first, last = DATE_RANGE
    days = [first + datetime.timedelta(days=i) for i in range((last - first).days + 1)]
    random.Random(seed).shuffle(days)
    n_train = int(DATE_SPLITS["train"] * len(days))
    n_val = int(DATE_SPLITS["validation"] * len(days))
    bounds = {"train": (0, n_train), "validation": (n_train, n_train + n_val),
              "test": (n_train + n_val, len(days))}
    lo, hi = bounds[split]
    return sorted(days[lo:hi])


def date_pairs(n: int, split: str = "train", target: str = "iso", seed: int = 0,
               split_seed: int = 0, formats: Sequence[str] | None = None
               ) -> list[tuple[str, str]]:
    """``n`` (source, target) string pairs: a random date of ``split`` in a random format, and the
    same date as ISO (``target="iso"``) or Korean (``target="ko"``).

    ``seed`` picks the dates and formats; ``split_seed`` fixes which dates belong to which split
    (keep it the same for all splits).

    >>> date_pairs(2, seed=1)
    [('Monday, 19 June 2023', '2023-06-19'), ("15 Mar '75", '1975-03-15')]
    """
    check_int("n", n)
    if target not in DATE_TARGETS:
        raise ValueError(f"target={target!r} must be one of {list(DATE_TARGETS)}")
    formats = list(DATE_FORMATS) if formats is None else list(formats)
    for fmt in formats:
        if fmt not in DATE_FORMATS:
            raise ValueError(f"formats has {fmt!r}, which is not one of {sorted(DATE_FORMATS)}")
    days = date_split(split, split_seed)
    rng = random.Random(f"{split}-{seed}")
    to_target = DATE_TARGETS[target]
    pairs = []
    for _ in range(n):
        d = rng.choice(days)
        pairs.append((format_date(d, rng.choice(formats)), to_target(d)))
    return pairs


def date_tokenizer() -> CharTokenizer:
    """One character vocabulary for sources and both targets: ASCII letters and digits, the
    punctuation the formats use, and 년, 월, 일. Anything else is unknown."""
    return CharTokenizer(string.ascii_letters + string.digits + " ,./'-" + "년월일")


class DateDataset(torch.utils.data.Dataset):
    """``date_pairs(...)`` as a ``torch.utils.data.Dataset`` of ``(source, target)`` strings,
    for a ``DataLoader`` with ``collate_fn=Collate(tokenizer)``."""

    def __init__(self, n: int, split: str = "train", target: str = "iso", seed: int = 0):
        self.pairs = date_pairs(n, split=split, target=target, seed=seed)

    def __len__(self) -> int:
        return len(self.pairs)

    def __getitem__(self, i: int) -> tuple[str, str]:
        return self.pairs[i]


def copy_pairs(n: int, min_len: int = 3, max_len: int = 12, reverse: bool = False,
               alphabet: str = "abcdefghij", seed: int = 0) -> list[tuple[str, str]]:
    """A sanity-check task: random strings and the same strings (or reversed, ``reverse=True``).

    A model that cannot learn to copy has a bug; one that learns to reverse uses positions.

    >>> copy_pairs(1, reverse=True, seed=0)
    [('gaeihgehf', 'fheghieag')]
    """
    check_int("n", n)
    if not 1 <= min_len <= max_len:
        raise ValueError(f"need 1 <= min_len <= max_len, got min_len={min_len}, max_len={max_len}")
    rng = random.Random(seed)
    pairs = []
    for _ in range(n):
        s = "".join(rng.choice(alphabet) for _ in range(rng.randint(min_len, max_len)))
        pairs.append((s, s[::-1] if reverse else s))
    return pairs


@dataclass
class Batch:
    """One padded batch of a sequence-to-sequence task (all tensors ``(batch, len)``).

    ``src``: source ids; ``tgt_in``: ``<bos>`` + target (the decoder's input);
    ``tgt_out``: target + ``<eos>`` (what it must predict, ``<pad>`` where there is nothing);
    ``src_mask``/``tgt_mask``: bool padding masks, ``True`` at real tokens.
    """

    src: Tensor
    tgt_in: Tensor
    tgt_out: Tensor
    src_mask: Tensor
    tgt_mask: Tensor

    def to(self, device: torch.device | str) -> Batch:
        return Batch(*(getattr(self, f).to(device) for f in
                       ("src", "tgt_in", "tgt_out", "src_mask", "tgt_mask")))

    def __len__(self) -> int:
        return self.src.size(0)

    @property
    def num_tokens(self) -> int:
        """Real target tokens (the ones the loss counts)."""
        return int(self.tgt_mask.sum())


def pad_sequences(seqs: Sequence[Sequence[int]], pad_id: int = 0) -> tuple[Tensor, Tensor]:
    """Lists of ids -> ``(ids, mask)``, both ``(batch, longest)``: ids right-padded with
    ``pad_id``, mask ``True`` at real tokens.

    >>> pad_sequences([[5, 6, 7], [8]])
    (tensor([[5, 6, 7],
            [8, 0, 0]]), tensor([[ True,  True,  True],
            [ True, False, False]]))
    """
    if len(seqs) == 0:
        raise ValueError("seqs must hold at least one sequence")
    longest = max(len(s) for s in seqs)
    ids = torch.full((len(seqs), longest), pad_id, dtype=torch.long)
    mask = torch.zeros(len(seqs), longest, dtype=torch.bool)
    for i, s in enumerate(seqs):
        ids[i, : len(s)] = torch.tensor(list(s), dtype=torch.long)
        mask[i, : len(s)] = True
    return ids, mask


class Collate:
    """Turns a list of ``(source, target)`` strings into a ``Batch`` (a ``collate_fn``).

    The target is shifted: the decoder reads ``<bos> y1 .. yn`` and must predict
    ``y1 .. yn <eos>`` ("teacher forcing"). ``strict=True`` refuses unknown characters.
    """

    def __init__(self, tokenizer: CharTokenizer, strict: bool = False):
        self.tokenizer = tokenizer
        self.strict = strict

    def __call__(self, pairs: Sequence[tuple[str, str]]) -> Batch:
        tok = self.tokenizer
        src, src_mask = pad_sequences([tok.encode(s, strict=self.strict) for s, _ in pairs],
                                      tok.pad_id)
        tgt = [tok.encode(t, strict=self.strict) for _, t in pairs]
        tgt_in, tgt_mask = pad_sequences([[tok.bos_id, *t] for t in tgt], tok.pad_id)
        tgt_out, _ = pad_sequences([[*t, tok.eos_id] for t in tgt], tok.pad_id)
        return Batch(src, tgt_in, tgt_out, src_mask, tgt_mask)


def make_batches(pairs: Sequence[tuple[str, str]], tokenizer: CharTokenizer, batch_size: int,
                 shuffle: bool = False, seed: int = 0) -> list[Batch]:
    """Cut ``pairs`` into padded ``Batch``es of ``batch_size`` (the last one may be smaller),
    in order or shuffled with ``seed`` (pass a new seed each epoch for a new order)."""
    check_int("batch_size", batch_size)
    order = list(range(len(pairs)))
    if shuffle:
        random.Random(seed).shuffle(order)
    collate = Collate(tokenizer)
    return [collate([pairs[i] for i in order[k: k + batch_size]])
            for k in range(0, len(order), batch_size)]


# ---------------------------------------------------------------------------------------------
# Chapter 10: paraphrases
# ---------------------------------------------------------------------------------------------
# Two sentences that mean the same thing: one date of chapter 8, written in two different formats.


def paraphrase_pairs(n: int, split: str = "train", seed: int = 0, split_seed: int = 0,
                     formats: Sequence[str] | None = None) -> list[tuple[str, str]]:
    """``n`` pairs of paraphrases: ``n`` distinct dates of ``split``, each written in two
    different formats of ``DATE_FORMATS`` (drawn at random from ``formats``, default all).

    The two strings of a pair always differ (if the two formats drawn write the date the same
    way, two different spellings are drawn instead). The dates are distinct, so within one call
    no pair is a paraphrase of another (no false negatives for an in-batch contrastive loss, and
    one right answer for retrieval). ``seed``
    picks dates and formats; ``split_seed`` fixes the split as in :func:`date_split`.

    >>> paraphrase_pairs(2, seed=1)
    [('2016/07/29', 'JUL 29 2016'), ('17 Feb 2000', '2000/02/17')]
    """
    check_int("n", n)
    formats = list(DATE_FORMATS) if formats is None else list(formats)
    for fmt in formats:
        if fmt not in DATE_FORMATS:
            raise ValueError(f"formats has {fmt!r}, which is not one of {sorted(DATE_FORMATS)}")
    if len(set(formats)) < 2:
        raise ValueError(f"formats={formats!r} must name at least two different formats")
    days = date_split(split, split_seed)
    if n > len(days):
        raise ValueError(f"n={n} is more than the {len(days)} dates of split={split!r}")
    rng = random.Random(f"paraphrase-{split}-{seed}")
    pairs = []
    formats = sorted(set(formats))
    for d in rng.sample(days, n):
        fmt_a, fmt_b = rng.sample(formats, 2)
        a, b = format_date(d, fmt_a), format_date(d, fmt_b)
        if a == b:  # e.g. "dd.mm.yyyy" and "d.m.yyyy" both write 23.11.1966
            spellings = sorted({format_date(d, f) for f in formats})
            if len(spellings) < 2:
                raise ValueError(f"formats={formats!r} write {d.isoformat()} only as {a!r}; "
                                 "give formats that can tell it apart")
            a, b = rng.sample(spellings, 2)
        pairs.append((a, b))
    return pairs
