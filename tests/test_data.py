"""Chapter 8's data: the character tokenizer, the dates task, batching with padding masks."""

from __future__ import annotations

import datetime

import pytest
import torch

from transformer_book.batching import Batch, Collate, make_batches, pad_sequences
from transformer_book.text.data import (
    DATE_FORMATS,
    DateDataset,
    copy_pairs,
    date_pairs,
    date_split,
    date_tokenizer,
    format_date,
    to_iso,
    to_korean,
)
from transformer_book.text.tokenizers import CharTokenizer

DAY = datetime.date(2026, 11, 24)


def test_special_tokens_come_first():
    tok = CharTokenizer("ba")
    assert tok.vocab[:4] == ["<pad>", "<bos>", "<eos>", "<unk>"]
    assert (tok.pad_id, tok.bos_id, tok.eos_id, tok.unk_id) == (0, 1, 2, 3)
    assert tok.vocab[4:] == ["a", "b"]
    assert len(tok) == 6


def test_encode_decode_round_trip():
    tok = date_tokenizer()
    for src, tgt in date_pairs(200, target="ko", seed=3):
        for text in (src, tgt):
            ids = tok.encode(text, add_bos=True, add_eos=True, strict=True)
            assert ids[0] == tok.bos_id and ids[-1] == tok.eos_id
            assert tok.decode(ids) == text


def test_decode_stops_at_eos_and_skips_padding():
    tok = CharTokenizer("ab")
    assert tok.decode([tok.bos_id, 4, 5, tok.eos_id, 4, tok.pad_id]) == "ab"
    assert tok.decode(torch.tensor([4, tok.pad_id, 5])) == "ab"
    assert tok.decode([4, tok.unk_id]) == "a?"


def test_unknown_characters():
    tok = date_tokenizer()
    assert tok.encode("é") == [tok.unk_id]
    assert tok.unknown_chars("24 Nov 2026 ☃é☃") == ["☃", "é"]
    with pytest.raises(ValueError, match="does not know"):
        tok.encode("24 Nov 2026 ☃", strict=True)
    with pytest.raises(TypeError, match="text must be a str"):
        tok.encode(42)


def test_from_vocab_rebuilds_the_same_tokenizer():
    tok = date_tokenizer()
    again = CharTokenizer.from_vocab(list(tok.vocab))
    assert again.vocab == tok.vocab
    with pytest.raises(ValueError, match="must start with"):
        CharTokenizer.from_vocab(["a", "b"])
    with pytest.raises(ValueError, match="single characters"):
        CharTokenizer(["ab"])


def test_formats_from_the_issue():
    assert format_date(DAY, "weekday_d_month_yyyy") == "Tuesday, 24 November 2026"
    assert format_date(DAY, "mm/dd/yy") == "11/24/26"
    assert format_date(DAY, "mon_nth_yyyy") == "Nov 24th 2026"
    assert format_date(DAY, "dd.mm.yyyy") == "24.11.2026"
    assert format_date(DAY, "month_d_yyyy_lower") == "november 24, 2026"
    assert format_date(DAY, "d_mon_yyyy") == "24 Nov 2026"
    assert format_date(datetime.date(2001, 3, 1), "nth_month_yyyy") == "1st March 2001"
    assert format_date(datetime.date(2001, 3, 12), "nth_month_yyyy") == "12th March 2001"
    assert format_date(datetime.date(2001, 3, 23), "nth_month_yyyy") == "23rd March 2001"
    assert to_iso(DAY) == "2026-11-24"
    assert to_korean(DAY) == "2026년 11월 24일"
    with pytest.raises(ValueError, match="fmt="):
        format_date(DAY, "nope")


def test_every_format_is_unambiguous_and_known_to_the_tokenizer():
    tok = date_tokenizer()
    seen: dict[str, datetime.date] = {}
    for split in ("train", "validation", "test"):
        for d in date_split(split)[::7]:
            for fmt in DATE_FORMATS:
                text = format_date(d, fmt)
                assert tok.unknown_chars(text) == []
                assert seen.setdefault(text, d) == d, f"{text!r} means two dates"


def test_split_is_by_date():
    splits = {s: set(date_split(s)) for s in ("train", "validation", "test")}
    assert not splits["train"] & splits["test"]
    assert not splits["train"] & splits["validation"]
    assert not splits["validation"] & splits["test"]
    assert sum(len(s) for s in splits.values()) == 36525  # 1950-01-01 .. 2049-12-31
    train_targets = {t for _, t in date_pairs(5000, "train")}
    test_targets = {t for _, t in date_pairs(500, "test")}
    assert not train_targets & test_targets


def test_date_pairs_are_seeded():
    assert date_pairs(50, seed=1) == date_pairs(50, seed=1)
    assert date_pairs(50, seed=1) != date_pairs(50, seed=2)
    assert date_pairs(5, split="test") != date_pairs(5, split="train")
    src, tgt = date_pairs(1, target="ko", formats=["dd.mm.yyyy"])[0]
    d = datetime.date.fromisoformat("-".join(reversed(src.split("."))))
    assert tgt == to_korean(d)
    with pytest.raises(ValueError, match="target="):
        date_pairs(3, target="fr")
    with pytest.raises(ValueError, match="split="):
        date_pairs(3, split="dev")
    with pytest.raises(ValueError, match="n="):
        date_pairs(0)
    assert len(DateDataset(7)) == 7 and DateDataset(7)[0] == date_pairs(7)[0]


def test_copy_pairs():
    for src, tgt in copy_pairs(20, reverse=True, seed=1):
        assert tgt == src[::-1] and 3 <= len(src) <= 12
    assert all(s == t for s, t in copy_pairs(20))


def test_pad_sequences_masks_real_tokens():
    ids, mask = pad_sequences([[5, 6, 7], [8]], pad_id=0)
    assert ids.tolist() == [[5, 6, 7], [8, 0, 0]]
    assert mask.tolist() == [[True, True, True], [True, False, False]]
    assert ids.dtype == torch.long and mask.dtype == torch.bool


def test_collate_shifts_the_target():
    tok = CharTokenizer("abc")
    batch = Collate(tok)([("ab", "c"), ("a", "cba")])
    assert isinstance(batch, Batch) and len(batch) == 2
    a, b, c = (tok.stoi[x] for x in "abc")
    assert batch.src.tolist() == [[a, b], [a, 0]]
    assert batch.tgt_in.tolist() == [[1, c, 0, 0], [1, c, b, a]]
    assert batch.tgt_out.tolist() == [[c, 2, 0, 0], [c, b, a, 2]]
    assert batch.tgt_padding_mask.tolist() == [[True, True, False, False], [True] * 4]
    assert batch.src_padding_mask.tolist() == (batch.src != 0).tolist()
    assert batch.num_tokens == 6
    with pytest.raises(ValueError, match="does not know"):
        Collate(tok, strict=True)([("abz", "a")])


def test_make_batches_covers_every_pair_once():
    tok = date_tokenizer()
    pairs = date_pairs(70)
    batches = make_batches(pairs, tok, 32, shuffle=True, seed=5)
    assert [len(b) for b in batches] == [32, 32, 6]
    decoded = sorted(tok.decode(row) for b in batches for row in b.src)
    assert decoded == sorted(s for s, _ in pairs)
    again = make_batches(pairs, tok, 32, shuffle=True, seed=5)
    assert all(torch.equal(x.src, y.src) for x, y in zip(batches, again, strict=True))
    assert batches[0].to("cpu").src.device.type == "cpu"
    with pytest.raises(ValueError, match="batch_size="):
        make_batches(pairs, tok, 0)
