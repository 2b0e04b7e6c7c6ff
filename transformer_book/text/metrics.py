"""Translation quality as the field reports it: corpus BLEU and chrF, computed by sacreBLEU.

BLEU (Papineni et al., 2002) is the geometric mean of the clipped 1- to 4-gram precisions of the
whole test set, times a brevity penalty; the paper reports it on newstest2014 (28.4 EN-DE for
the big model). Scores from different tokenisations are not comparable, which is why sacreBLEU
(Post, 2018) exists: it takes detokenised text, tokenises the hypotheses and the references
itself, the same way for everyone, and prints a signature of every setting. A signature makes
two scores comparable only when they were computed on the same test set with the same
references: a BLEU score names its test set too (see ``scoring``). The paper's own numbers are
not sacreBLEU's: they are tokenised BLEU with compound splitting (tensor2tensor's
``get_ende_bleu.sh``), about 0.7 to 1 point above sacreBLEU on the same output.

chrF (Popović, 2015) is an F-score (recall weighted twice as much as precision) of
character 1- to 6-grams; it needs no word tokenisation, so it suits Korean, whose words carry
particles and endings (사과를, 먹었어요): one wrong ending costs BLEU a whole word but chrF only
a few characters.

Tokenisation for BLEU (``tokenize=``):

- ``"13a"`` (default, sacreBLEU's and WMT's): splits punctuation off and words on spaces. Korean
  puts spaces between words (어절), so it works, word by word.
- ``"char"``: every character a token (spaces dropped); a finer view for Korean, Chinese or
  Japanese.
- ``"intl"``, ``"zh"``, ``"none"``: as in sacreBLEU.
- ``"ko-mecab"``: the usual choice in Korean papers, morphemes cut by the MeCab-ko analyser,
  which sacreBLEU's tokenizer needs and this package does not install
  (``pip install "sacrebleu[ko]"``); without it ``ValueError`` says so.
"""

from __future__ import annotations

from collections.abc import Sequence

from sacrebleu.metrics import BLEU, CHRF

from .._checks import check_integer

TOKENIZERS = ("13a", "char", "intl", "zh", "none")
"""The tokenisations that work with this package's dependencies alone."""
OPTIONAL_TOKENIZERS = ("ko-mecab",)
"""Tokenisations that need another package (``pip install "sacrebleu[ko]"``)."""


def _bleu_metric(tokenize: str) -> BLEU:
    """sacreBLEU's ``BLEU`` with ``tokenize``; ``ValueError`` for an unknown or unavailable one."""
    if tokenize not in TOKENIZERS + OPTIONAL_TOKENIZERS:
        raise ValueError(f"tokenize={tokenize!r} must be one of "
                         f"{list(TOKENIZERS + OPTIONAL_TOKENIZERS)}")
    try:
        return BLEU(tokenize=tokenize)
    except (RuntimeError, AssertionError, ImportError):
        raise ValueError(f"tokenize={tokenize!r} needs the MeCab-ko analyser and its "
                         f"dictionary: pip install 'sacrebleu[ko]'") from None


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
    metric = _bleu_metric(tokenize)
    hyps, streams = _streams(hypotheses, references)
    return float(metric.corpus_score(hyps, streams).score)


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
    ``num_refs`` references per sentence, to print next to a score (e.g.
    ``nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp|version:2.6.0``). They make two scores
    comparable only on the same test set and references, so print the set's name as well."""
    bleu_metric = _bleu_metric(tokenize)
    if word_order not in (0, 1, 2):
        raise ValueError(f"word_order={word_order!r} must be 0 (chrF), 1 or 2 (chrF++)")
    check_integer("num_refs", num_refs)
    out = {}
    for name, metric in (("bleu", bleu_metric), ("chrf", CHRF(word_order=word_order))):
        metric.corpus_score(["."], [["."]] * num_refs)  # the signature needs a reference count
        out[name] = str(metric.get_signature())
    return out


def corpus_scores(hypotheses: Sequence[str],
                  references: Sequence[str] | Sequence[Sequence[str]], tokenize: str = "13a",
                  word_order: int = 0) -> dict[str, tuple[float, str, str]]:
    """BLEU and chrF at once, as sacreBLEU's command line reports them: for ``"bleu"`` and
    ``"chrf"``, ``(score, line, signature)``, where ``line`` is sacreBLEU's own summary (for
    BLEU the four n-gram precisions, the brevity penalty and the lengths) and ``signature``
    its settings, with the true number of references."""
    if word_order not in (0, 1, 2):
        raise ValueError(f"word_order={word_order!r} must be 0 (chrF), 1 or 2 (chrF++)")
    metrics = {"bleu": _bleu_metric(tokenize), "chrf": CHRF(word_order=word_order)}
    hyps, streams = _streams(hypotheses, references)
    out = {}
    for name, metric in metrics.items():
        result = metric.corpus_score(hyps, streams)
        out[name] = (float(result.score), str(result), str(metric.get_signature()))
    return out


def exact_match(predictions: Sequence[str], references: Sequence[str]) -> float:
    """The fraction of predictions equal to their reference, character for character."""
    if len(predictions) != len(references):
        raise ValueError(f"{len(predictions)} predictions but {len(references)} references")
    if not references:
        raise ValueError("references is empty")
    return sum(p == r for p, r in zip(predictions, references, strict=True)) / len(references)
