import hashlib

import pytest

from transformer_book.text.corpus import (
    Splits,
    filter_pairs,
    normalize,
    read_aligned,
    read_tsv,
    split_of,
    split_pairs,
)


def write(tmp_path, name, data: bytes):
    path = tmp_path / name
    path.write_bytes(data)
    return path


def test_normalize_composes_hangul_and_collapses_whitespace():
    decomposed = "\u1100\u1161\u11ab"  # ᄀ ᅡ ᆫ: the jamo of 간
    assert normalize(f" {decomposed}\t\t다 ") == "간 다"
    assert len(normalize(decomposed)) == 1
    with pytest.raises(TypeError, match="text must be a str"):
        normalize(3)


def test_read_tsv_ignores_extra_columns_bom_crlf_and_blank_lines(tmp_path):
    data = ("\ufeffHi.\t안녕.\tCC-BY 2.0 (France) #1\r\n"
            "\r\n"
            "Run!\t뛰어!\r\n").encode()
    path = write(tmp_path, "pairs.tsv", data)
    assert read_tsv(path) == [("Hi.", "안녕."), ("Run!", "뛰어!")]
    assert read_tsv(path, src_column=1, tgt_column=0) == [("안녕.", "Hi."), ("뛰어!", "Run!")]


def test_read_tsv_keeps_unicode_line_separators_inside_a_sentence(tmp_path):
    path = write(tmp_path, "pairs.tsv", "a\u2028b\tc\nd\te\n".encode())
    assert read_tsv(path) == [("a b", "c"), ("d", "e")]  # U+2028 is whitespace, not a line end


def test_read_tsv_names_the_file_and_line_of_a_malformed_line(tmp_path):
    path = write(tmp_path, "pairs.tsv", b"a\tb\nno tab here\n")
    with pytest.raises(ValueError, match=r"pairs\.tsv, line 2: expected at least 2"):
        read_tsv(path)
    with pytest.raises(ValueError, match=r"line 1: expected at least 4"):
        read_tsv(path, tgt_column=3)


def test_read_tsv_names_the_line_with_undecodable_bytes(tmp_path):
    path = write(tmp_path, "pairs.tsv", b"a\tb\nc\td\ne\t\xff\xfe\n")
    with pytest.raises(ValueError, match=r"pairs\.tsv, line 3: byte 3 cannot be read as UTF-8"):
        read_tsv(path)


def test_read_tsv_rejects_bad_columns(tmp_path):
    path = write(tmp_path, "pairs.tsv", b"a\tb\n")
    with pytest.raises(ValueError, match="src_column=1 and tgt_column=1 must differ"):
        read_tsv(path, src_column=1, tgt_column=1)
    with pytest.raises(ValueError, match="src_column=-1"):
        read_tsv(path, src_column=-1)


def test_read_aligned_pairs_lines_and_keeps_empty_ones(tmp_path):
    src = write(tmp_path, "train.en", b"\xef\xbb\xbfA dog.\r\n\r\nTwo cats.\n")
    tgt = write(tmp_path, "train.ko", "개.\n\n고양이 두 마리.".encode())
    assert read_aligned(src, tgt) == [("A dog.", "개."), ("", ""), ("Two cats.", "고양이 두 마리.")]


@pytest.mark.parametrize("src_lines, tgt_lines, shorter, line", [
    (3, 2, "train.ko", 3), (1, 2, "train.en", 2)])
def test_read_aligned_names_the_shorter_file(tmp_path, src_lines, tgt_lines, shorter, line):
    src = write(tmp_path, "train.en", b"x\n" * src_lines)
    tgt = write(tmp_path, "train.ko", b"y\n" * tgt_lines)
    with pytest.raises(ValueError, match=rf"{shorter} ends after {line - 1} lines, .* line {line}"):
        read_aligned(src, tgt)


def test_read_aligned_names_the_undecodable_line(tmp_path):
    src = write(tmp_path, "train.en", b"ok\nfine\n")
    tgt = write(tmp_path, "train.ko", b"ok\n\xc3(\n")
    with pytest.raises(ValueError, match=r"train\.ko, line 2: byte 1"):
        read_aligned(src, tgt)


def test_filter_pairs_drops_duplicates_lengths_and_ratios_in_order():
    pairs = [("hello", "안녕"), ("x", "y"), ("hello", "안녕"), ("a" * 30, "b"),
             ("", "empty"), ("medium one", "중간")]
    assert filter_pairs(pairs) == [("hello", "안녕"), ("x", "y"), ("a" * 30, "b"),
                                   ("medium one", "중간")]
    assert filter_pairs(pairs, deduplicate=False)[:3] == [("hello", "안녕"), ("x", "y"),
                                                          ("hello", "안녕")]
    assert filter_pairs(pairs, min_len=2) == [("hello", "안녕"), ("medium one", "중간")]
    assert filter_pairs(pairs, max_len=9) == [("hello", "안녕"), ("x", "y")]
    assert filter_pairs(pairs, max_ratio=3) == [("hello", "안녕"), ("x", "y")]
    words = filter_pairs(pairs, max_ratio=1, length=lambda s: len(s.split()))
    assert words == [("hello", "안녕"), ("x", "y"), ("a" * 30, "b")]


@pytest.mark.parametrize("kwargs, match", [
    ({"min_len": -1}, "min_len=-1"), ({"max_len": 0}, "max_len=0"),
    ({"min_len": 5, "max_len": 3}, "max_len=3 must be an int >= 5"),
    ({"max_ratio": 0.5}, "max_ratio=0.5 must be a number >= 1"),
    ({"max_ratio": "2"}, "max_ratio='2'")])
def test_filter_pairs_rejects_bad_settings(kwargs, match):
    with pytest.raises(ValueError, match=match):
        filter_pairs([("a", "b")], **kwargs)


def test_split_pairs_is_a_partition_by_source_with_the_expected_fractions():
    pairs = [(f"sentence {i}", f"문장 {i}") for i in range(4000)]
    pairs += [("sentence 7", "another translation")]
    splits = split_pairs(pairs, validation=0.1, test=0.2, seed=3)
    assert isinstance(splits, Splits)
    assert sorted(splits.train + splits.validation + splits.test) == sorted(pairs)
    sources = [{s for s, _ in part} for part in splits]
    assert not (sources[0] & sources[1] or sources[0] & sources[2] or sources[1] & sources[2])
    # 4000 draws: the standard deviation of a fraction is below 0.007, so 0.03 is 4+ sigmas.
    assert abs(len(splits.validation) / 4001 - 0.1) < 0.03
    assert abs(len(splits.test) / 4001 - 0.2) < 0.03
    assert split_pairs(pairs, validation=0.1, test=0.2, seed=3) == splits
    assert split_pairs(pairs, validation=0.1, test=0.2, seed=4) != splits
    order = [pairs.index(p) for p in splits.test]
    assert order == sorted(order)


def test_split_of_does_not_depend_on_python_hash_randomisation():
    # A golden value: the splits of 200 sentences, the same in every process whatever its
    # PYTHONHASHSEED (Python's hash() would change them from run to run; SHA-256 does not).
    here = ",".join(split_of(f"s{i}", 0.3, 0.3) for i in range(200))
    assert hashlib.sha256(here.encode()).hexdigest() == (
        "0c34cb25cc0cad17a26dca1200273e5189e42f6d04db03b4b95eea3edef8dacf")
    assert set(here.split(",")) == {"train", "validation", "test"}


def test_split_of_edges_and_bad_arguments():
    assert {split_of(f"s{i}", validation=0, test=0) for i in range(50)} == {"train"}
    with pytest.raises(TypeError, match="source must be a str"):
        split_of(None)
    with pytest.raises(ValueError, match="test=1.5 must be a number in"):
        split_pairs([], test=1.5)
    with pytest.raises(ValueError, match="must leave some training data"):
        split_pairs([], validation=0.5, test=0.5)
    with pytest.raises(TypeError, match="seed=1.0 must be an int"):
        split_pairs([], seed=1.0)


def test_a_line_longer_than_a_mebibyte_stops_the_reading(tmp_path, monkeypatch):
    # /dev/zero, or a binary file given by mistake, is one endless line: read at most 1 MiB.
    from transformer_book.text import corpus

    monkeypatch.setattr(corpus, "MAX_LINE_BYTES", 100)
    path = tmp_path / "long.tsv"
    path.write_bytes(b"a\tb\n" + b"x" * 101 + b"\tb\n")
    with pytest.raises(ValueError, match="long.tsv, line 2 is longer than 100 bytes"):
        corpus.read_tsv(path)
    with pytest.raises(ValueError, match="max_ratio=nan must be a number >= 1"):
        corpus.filter_pairs([("a", "b")], max_ratio=float("nan"))
