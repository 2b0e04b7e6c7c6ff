import importlib.util

import pytest

from transformer_book.text.metrics import TOKENIZERS, bleu, chrf, signatures

HYP = "고양이가 사과를 먹었어요."
REF = "고양이는 사과를 먹었어요."


@pytest.mark.parametrize("tokenize", TOKENIZERS)
def test_identical_is_100_and_disjoint_is_0(tokenize):
    refs = ["the cat sat on the mat", "고양이는 사과를 세 개 먹었어요."]
    assert bleu(refs, refs, tokenize=tokenize) == pytest.approx(100.0)
    assert bleu(["w x y z", "q"], ["a b c d", "r"], tokenize=tokenize) == 0.0
    assert isinstance(bleu(refs, refs, tokenize=tokenize), float)


def test_chrf_identical_and_disjoint():
    refs = ["the cat sat on the mat", HYP]
    assert chrf(refs, refs) == pytest.approx(100.0)
    assert chrf(refs, refs, word_order=2) == pytest.approx(100.0)
    assert chrf(["xyz"], ["abc"]) == 0.0


def test_bleu_by_hand():
    # 1-grams 5/6 ("the" clipped to one), 2-grams 3/5, 3-grams 2/4, 4-grams 1/3; same length.
    expected = 100 * (5 / 6 * 3 / 5 * 2 / 4 * 1 / 3) ** 0.25
    assert bleu(["the cat sat on the mat"], ["the cat sat on a mat"]) == pytest.approx(expected)


def test_bleu_brevity_penalty_by_hand():
    # every n-gram of "the cat sat on" matches; 4 words against 6: BP = exp(1 - 6/4)
    expected = 100 * 2.718281828459045 ** (1 - 6 / 4)
    assert bleu(["the cat sat on"], ["the cat sat on a mat"]) == pytest.approx(expected)


def test_korean_words_versus_characters_by_hand():
    # 13a: 4 tokens (the period split off); one wrong particle breaks 1 of 4 unigrams, 1 of 3
    # bigrams, 1 of 2 trigrams and the only 4-gram, which sacreBLEU's default "exp"
    # smoothing counts as 1/2 instead of 0.
    words = 100 * (3 / 4 * 2 / 3 * 1 / 2 * 1 / 2) ** 0.25
    assert bleu([HYP], [REF]) == pytest.approx(words)
    # char: 12 characters (spaces dropped), the 4th differs: 11/12, 9/11, 7/10, 5/9.
    chars = 100 * (11 / 12 * 9 / 11 * 7 / 10 * 5 / 9) ** 0.25
    assert bleu([HYP], [REF], tokenize="char") == pytest.approx(chars)
    assert chars > words


def test_chrf_by_hand():
    # 1-grams: P 2/2, R 2/3; 2-grams: P 1/1, R 1/2; no longer n-grams in "ab".
    p, r = 1.0, (2 / 3 + 1 / 2) / 2
    assert chrf(["ab"], ["abc"]) == pytest.approx(100 * 5 * p * r / (4 * p + r))


def test_corpus_level_is_not_the_mean_of_sentences():
    hyps, refs = ["the cat sat on the mat", "a b"], ["the cat sat on a mat", "a b"]
    per_sentence = [bleu([h], [r]) for h, r in zip(hyps, refs, strict=True)]
    assert bleu(hyps, refs) != pytest.approx(sum(per_sentence) / 2)


def test_several_references_per_hypothesis():
    hyps = ["the cat sat on the mat"]
    assert bleu(hyps, [["a dog", "the cat sat on the mat"]]) == pytest.approx(100.0)
    assert bleu(hyps, [["the cat sat on a mat"]]) == bleu(hyps, ["the cat sat on a mat"])
    assert chrf(hyps, [["xyz", "the cat sat on the mat"]]) == pytest.approx(100.0)


def test_signatures_name_the_settings():
    sig = signatures("char", word_order=2, num_refs=3)
    assert "tok:char" in sig["bleu"] and "nrefs:3" in sig["bleu"]
    assert "nw:2" in sig["chrf"] and "nrefs:3" in sig["chrf"]
    assert "tok:13a" in signatures()["bleu"]


@pytest.mark.parametrize("call, error, match", [
    (lambda: bleu([], []), ValueError, "hypotheses must hold at least one sentence"),
    (lambda: bleu(["a", "b"], ["a"]), ValueError, "hypotheses has 2 sentences and references 1"),
    (lambda: bleu("a b", ["a b"]), TypeError, "not one str"),
    (lambda: bleu([3], ["a"]), TypeError, r"hypotheses\[0\] must be a str, got int"),
    (lambda: bleu(["a"], [[None]]), TypeError, r"references\[0\] must hold str"),
    (lambda: bleu(["a", "b"], [["a"], ["b", "c"]]), ValueError, r"same number .* got \[1, 2\]"),
    (lambda: bleu(["a"], [[]]), ValueError, r"got \[0\]"),
    (lambda: bleu(["a"], ["a"], tokenize="spm"), ValueError, "tokenize='spm' must be one of"),
    (lambda: chrf(["a"], ["a"], word_order=3), ValueError, "word_order=3 must be 0"),
    (lambda: signatures(tokenize="x"), ValueError, "tokenize='x'"),
    (lambda: signatures(word_order=5), ValueError, "word_order=5"),
    (lambda: signatures(num_refs=0), ValueError, "num_refs=0 must be an int >= 1"),
])
def test_bad_arguments(call, error, match):
    with pytest.raises(error, match=match):
        call()


def test_ko_mecab_without_its_analyser_says_what_to_install():
    if importlib.util.find_spec("mecab_ko") is not None:
        pytest.skip("MeCab-ko is installed here")
    with pytest.raises(ValueError, match=r"tokenize='ko-mecab' needs .*'sacrebleu\[ko\]'"):
        bleu(["사과"], ["사과"], tokenize="ko-mecab")
