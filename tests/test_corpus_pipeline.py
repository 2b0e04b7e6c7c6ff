"""The chapter 11 pieces fitted together: a corpus file, a subword vocabulary, token batches."""

from transformer_book.text.bucketing import padded_tokens, token_batches
from transformer_book.text.corpus import filter_pairs, read_aligned, read_tsv, split_pairs
from transformer_book.text.korean_grammar import korean_corpus
from transformer_book.text.subword import SubwordTokenizer


def test_generated_corpus_through_files_vocabulary_and_batches(tmp_path):
    corpus = korean_corpus(3000, 0, 200, seed=2)
    pairs = corpus.train + corpus.test
    tsv = tmp_path / "en-ko.tsv"
    tsv.write_text("".join(f"{en}\t{ko}\tgenerated\r\n" for en, ko in pairs), encoding="utf-8")
    (tmp_path / "x.en").write_text("\n".join(en for en, _ in pairs) + "\n", encoding="utf-8")
    (tmp_path / "x.ko").write_text("\n".join(ko for _, ko in pairs) + "\n", encoding="utf-8")
    assert read_tsv(tsv) == pairs == read_aligned(tmp_path / "x.en", tmp_path / "x.ko")
    assert filter_pairs(pairs, max_ratio=3) == pairs  # distinct and well proportioned

    splits = split_pairs(pairs, validation=0.1, test=0.1, seed=0)
    tok = SubwordTokenizer.train([s for pair in splits.train for s in pair], vocab_size=300)
    for src, tgt in splits.test:
        assert tok.decode(tok.encode(tgt, add_bos=True, add_eos=True)) == tgt
        assert tok.unknown_chars(src + tgt) == []

    src_lengths = [len(tok.encode(s)) + 1 for s, _ in splits.train]
    tgt_lengths = [len(tok.encode(t)) + 1 for _, t in splits.train]
    batches = token_batches(src_lengths, tgt_lengths, max_tokens=1000, seed=0)
    assert sorted(i for b in batches for i in b) == list(range(len(splits.train)))
    real, padded = padded_tokens(batches, src_lengths)
    assert real / padded > 0.95
