"""The chapters' data sets, all generated locally from a seed (no downloads).

Each data set lives in its own section below, named after the chapter that introduces it. The
tokenizer is in ``tokenizers``, batching in ``batching``.
"""

from __future__ import annotations

import datetime
import random
import string
from collections.abc import Sequence

import torch

from .._checks import check_choice, check_integer
from .tokenizers import CharTokenizer

__all__ = [
    "recall_task", "MONTHS", "WEEKDAYS", "DATE_RANGE", "DATE_FORMATS", "DATE_TARGETS",
    "DATE_SPLITS", "format_date", "to_iso", "to_korean", "date_split", "date_pairs",
    "date_tokenizer", "DateDataset", "copy_pairs", "paraphrase_pairs", "TASKS", "task_pairs",
    "task_tokenizer",
]

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
    check_integer("num_sequences", num_sequences)
    check_integer("num_distractors", num_distractors, minimum=0)
    check_integer("num_symbols", num_symbols, minimum=2)
    if generator is None:
        generator = torch.Generator().manual_seed(check_integer("seed", seed, minimum=0))
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
    check_choice("fmt", fmt, DATE_FORMATS)
    fields = _fields(d)
    fields.update(month_lower=str(fields["month"]).lower(), MON=str(fields["mon"]).upper())
    return DATE_FORMATS[fmt].format(**fields)


def _check_formats(formats: Sequence[str] | None) -> list[str]:
    """``formats`` (default: all of ``DATE_FORMATS``) as a list, each a key of ``DATE_FORMATS``."""
    formats = list(DATE_FORMATS) if formats is None else list(formats)
    for i, fmt in enumerate(formats):
        check_choice(f"formats[{i}]", fmt, DATE_FORMATS)
    return formats


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
    check_choice("split", split, DATE_SPLITS)
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
    check_integer("n", n)
    check_choice("target", target, DATE_TARGETS)
    formats = _check_formats(formats)
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
    check_integer("n", n)
    if not 1 <= min_len <= max_len:
        raise ValueError(f"need 1 <= min_len <= max_len, got min_len={min_len}, max_len={max_len}")
    rng = random.Random(seed)
    pairs = []
    for _ in range(n):
        s = "".join(rng.choice(alphabet) for _ in range(rng.randint(min_len, max_len)))
        pairs.append((s, s[::-1] if reverse else s))
    return pairs


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
    check_integer("n", n)
    formats = _check_formats(formats)
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


# ---- the generated tasks of the train command line ---------------------------------------

TASKS = ("dates-iso", "dates-ko", "copy", "reverse")
COPY_ALPHABET = "abcdefghijklmnopqrstuvwxyz"


def task_pairs(task: str, n: int, split: str, seed: int = 0) -> list[tuple[str, str]]:
    """``n`` (source, target) pairs of ``task`` from ``split`` (train, validation or test)."""
    check_choice("task", task, TASKS)
    if task in ("dates-iso", "dates-ko"):
        return date_pairs(n, split=split, target=task.split("-")[1], seed=seed)
    offset = list(DATE_SPLITS).index(check_choice("split", split, DATE_SPLITS))  # 0, 1, 2
    return copy_pairs(n, reverse=task == "reverse", alphabet=COPY_ALPHABET,
                      seed=10_000 * seed + offset)


def task_tokenizer(task: str) -> CharTokenizer:
    """The character vocabulary of ``task`` (the dates tokenizer also covers the copy tasks)."""
    check_choice("task", task, TASKS)
    return date_tokenizer()
