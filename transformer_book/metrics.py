"""Translation quality as the field reports it: corpus BLEU and chrF, computed by sacreBLEU.

BLEU (Papineni et al., 2002) is the geometric mean of the clipped 1- to 4-gram precisions of the
whole test set, times a brevity penalty; the paper reports it on newstest2014 (28.4 EN-DE for
the big model). Scores from different tokenisations are not comparable, which is why sacreBLEU
(Post, 2018) exists: it tokenises the references itself and prints a signature of every
setting. chrF (Popović, 2015) is an F-score (recall weighted twice as much as precision) of
character 1- to 6-grams; it needs no word tokenisation, so it suits Korean, whose words carry
particles and endings (사과를, 먹었어요): one wrong ending costs BLEU a whole word but chrF only
a few characters.

Tokenisation for BLEU (``tokenize=``):

- ``"13a"`` (default, sacreBLEU's and WMT's): splits punctuation off and words on spaces. Korean
  puts spaces between words (어절), so it works, word by word.
- ``"char"``: every character a token (spaces dropped); a finer view for Korean, Chinese or
  Japanese.
- ``"intl"``, ``"zh"``, ``"none"``: as in sacreBLEU. ``"ko-mecab"``, the usual choice in Korean
  papers, needs the MeCab-ko analyser, which this package does not install.
"""

from __future__ import annotations

from collections.abc import Sequence

from sacrebleu.metrics import BLEU, CHRF

from ._checks import check_integer

TOKENIZERS = ("13a", "char", "intl", "zh", "none")


def _streams(hypotheses: Sequence[str], references: Sequence[str] | Sequence[Sequence[str]]
             ) -> tuple[list[str], list[list[str]]]:
    """Check the arguments and turn one-or-more references per hypothesis into sacreBLEU's
    reference streams (stream ``k`` holds the ``k``-th reference of every hypothesis)."""
    if isinstance(hypotheses, str) or isinstance(references, str):
        raise TypeError("hypotheses and references must be lists of sentences, not one str")
    hypotheses, references = list(hypotheses), list(references)
    if not hypotheses:
        raise ValueError("hypotheses must hold at least one sentence")
    if len(hypotheses) != len(references):
        raise ValueError(f"hypotheses has {len(hypotheses)} sentences and references "
                         f"{len(references)}; expected one entry per hypothesis")
    for i, h in enumerate(hypotheses):
        if not isinstance(h, str):
            raise TypeError(f"hypotheses[{i}] must be a str, got {type(h).__name__}")
    refs = [[r] if isinstance(r, str) else list(r) for r in references]
    counts = {len(r) for r in refs}
    if len(counts) != 1 or 0 in counts:
        raise ValueError(f"references must give every hypothesis the same number (>= 1) of "
                         f"references, got {sorted(counts)}")
    for i, rs in enumerate(refs):
        for r in rs:
            if not isinstance(r, str):
                raise TypeError(f"references[{i}] must hold str, got {type(r).__name__}")
    return hypotheses, [list(stream) for stream in zip(*refs, strict=True)]


def bleu(hypotheses: Sequence[str], references: Sequence[str] | Sequence[Sequence[str]],
         tokenize: str = "13a") -> float:
    """Corpus BLEU in ``[0, 100]`` of ``hypotheses`` against ``references``.

    Args:
        hypotheses: one translation per test sentence.
        references: one reference per hypothesis (a str), or several (a list of str, the same
            number for each).
        tokenize: how sacreBLEU splits words, one of ``TOKENIZERS`` (see the module's notes on
            Korean).

    >>> round(bleu(["the cat sat on the mat"], ["the cat sat on the mat"]), 6)
    100.0
    """
    if tokenize not in TOKENIZERS:
        raise ValueError(f"tokenize={tokenize!r} must be one of {list(TOKENIZERS)}")
    hyps, streams = _streams(hypotheses, references)
    return float(BLEU(tokenize=tokenize).corpus_score(hyps, streams).score)


def chrf(hypotheses: Sequence[str], references: Sequence[str] | Sequence[Sequence[str]],
         word_order: int = 0) -> float:
    """Corpus chrF in ``[0, 100]``: character 1-6-gram F-score with beta = 2 (spaces ignored).
    ``word_order=2`` gives chrF++ (word 1- and 2-grams added).

    >>> round(chrf(["ab"], ["abc"]), 2)  # 1-grams: P 2/2, R 2/3; 2-grams: P 1/1, R 1/2
    63.64
    """
    if word_order not in (0, 1, 2):
        raise ValueError(f"word_order={word_order!r} must be 0 (chrF), 1 or 2 (chrF++)")
    hyps, streams = _streams(hypotheses, references)
    return float(CHRF(word_order=word_order).corpus_score(hyps, streams).score)


def signatures(tokenize: str = "13a", word_order: int = 0, num_refs: int = 1) -> dict[str, str]:
    """sacreBLEU's signatures of :func:`bleu` and :func:`chrf` with these settings and
    ``num_refs`` references per sentence, to print next to a score so that others can compare
    with it (e.g. ``nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp|version:2.6.0``)."""
    if tokenize not in TOKENIZERS:
        raise ValueError(f"tokenize={tokenize!r} must be one of {list(TOKENIZERS)}")
    if word_order not in (0, 1, 2):
        raise ValueError(f"word_order={word_order!r} must be 0 (chrF), 1 or 2 (chrF++)")
    check_integer("num_refs", num_refs)
    out = {}
    for name, metric in (("bleu", BLEU(tokenize=tokenize)), ("chrf", CHRF(word_order=word_order))):
        metric.corpus_score(["."], [["."]] * num_refs)  # the signature needs a reference count
        out[name] = str(metric.get_signature())
    return out
