"""Scoring a trained model on a test set as the field does: every line of an official test set,
beam search, sacreBLEU's BLEU and chrF with their signatures, and the name of the set.

A BLEU score says little without its test set, its tokenisation and its decoding (Post, 2018):
the same model scores differently on its own held-out sentences and on an official test set,
greedily and with a beam. So a :class:`TestSet` carries a description (the files it came from
and their line count, or which split of which corpus), and :func:`score_test_set` reports it
next to the scores. The paper decodes with beam size 4 and length penalty ``alpha = 0.6``
(Vaswani et al., 2017, section 6.1; GNMT's ``lp = ((5 + |Y|) / 6) ** alpha``, see
``decoding``): those are the defaults.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

import torch

from .decoding import translate
from .protocols import Seq2Seq, Tokenizer
from .text.corpus import read_aligned
from .text.metrics import corpus_scores

__all__ = ["TestSet", "Scores", "read_test_set", "score_test_set", "nearest_neighbour",
           "BEAM", "ALPHA"]

BEAM, ALPHA = 4, 0.6
"""The paper's beam size and length penalty (section 6.1)."""


class TestSet(NamedTuple):
    """Source sentences, their references (one each) and what the set is, e.g.
    ``"test_2016_flickr.de -> test_2016_flickr.en, 1000 lines"``."""

    sources: list[str]
    references: list[str]
    description: str
    __test__ = False  # not a test class, whatever its name says


def read_test_set(src: str | os.PathLike, ref: str | os.PathLike) -> TestSet:
    """Every line of two line-aligned files (sources and references), normalised as
    ``corpus.read_aligned`` does; nothing is dropped, so that the score covers the whole set.
    ``ValueError`` names the file and line of undecodable bytes, or the shorter file when the
    line counts differ."""
    pairs = read_aligned(src, ref)
    if not pairs:
        raise ValueError(f"{os.fspath(src)} is empty: a test set needs at least one line")
    return TestSet([s for s, _ in pairs], [r for _, r in pairs],
                   f"{os.fspath(src)} -> {os.fspath(ref)}, {len(pairs)} lines")


@dataclass
class Scores:
    """What :func:`score_test_set` measured."""

    hypotheses: list[str]
    bleu: float
    chrf: float
    bleu_line: str
    chrf_line: str
    bleu_signature: str
    chrf_signature: str
    truncated: int
    """Sources cut to the model's ``max_len`` tokens before decoding."""


@torch.no_grad()
def score_test_set(model: Seq2Seq, tokenizer: Tokenizer,
                   test: TestSet, beam_size: int = BEAM, alpha: float = ALPHA,
                   max_new_tokens: int | None = None, tokenize: str = "13a",
                   batch_size: int = 128) -> Scores:
    """Translate every source of ``test`` (beam search, or greedy with ``beam_size=1``) and score
    the translations against the references with sacreBLEU.

    Sources are decoded shortest first in batches of ``batch_size`` (less padding), and put
    back in order. An empty source gives an empty translation; characters the tokenizer does
    not know read as ``<unk>``; a source longer than the model's ``max_len`` tokens is cut to
    it (counted in ``Scores.truncated``). ``max_new_tokens`` caps the tokens generated (default
    and at most the model's ``max_len`` - 1).
    """
    if not isinstance(test, TestSet):
        raise TypeError(f"test must be a TestSet, got {type(test).__name__}")
    longest = model.config.max_len
    if max_new_tokens is None or max_new_tokens > longest - 1:
        max_new_tokens = longest - 1
    ids = [tokenizer.encode(s) for s in test.sources]
    truncated = sum(len(i) > longest for i in ids)
    sources = [_cut(tokenizer, s, i, longest) for s, i in zip(test.sources, ids, strict=True)]
    order = sorted((k for k, i in enumerate(ids) if i), key=lambda k: len(ids[k]))
    hypotheses = [""] * len(sources)
    for start in range(0, len(order), batch_size):
        chunk = order[start: start + batch_size]
        outputs = translate(model, tokenizer, [sources[k] for k in chunk], beam_size=beam_size,
                            alpha=alpha, max_new_tokens=max_new_tokens, batch_size=batch_size)
        for k, out in zip(chunk, outputs, strict=True):
            hypotheses[k] = out
    scores = corpus_scores(hypotheses, test.references, tokenize=tokenize)
    (bleu, bleu_line, bleu_sig), (chrf, chrf_line, chrf_sig) = scores["bleu"], scores["chrf"]
    return Scores(hypotheses, bleu, chrf, bleu_line, chrf_line, bleu_sig, chrf_sig, truncated)


def _cut(tokenizer: Tokenizer, text: str, ids: list[int],
         longest: int) -> str:
    """``text``, or its first pieces if it has more than ``longest`` tokens."""
    n = longest
    while len(ids) > longest:
        text = tokenizer.decode(ids[:n])
        ids, n = tokenizer.encode(text), n - 1
    return text


def decoding_description(beam_size: int, alpha: float) -> str:
    """``"beam 4, alpha 0.6"`` or ``"greedy"``."""
    return "greedy" if beam_size == 1 else f"beam {beam_size}, alpha {alpha:g}"


def _words(text: str) -> set[str]:
    """The distinct words of ``text``, lower-cased, punctuation dropped."""
    return set(re.findall(r"\w+", text.lower()))


def nearest_neighbour(sources: Sequence[str], train_pairs: Sequence[tuple[str, str]]
                      ) -> list[str]:
    """A retrieval baseline: for each source, the target of the training pair whose source shares
    the most words with it (distinct words, lower-cased, punctuation dropped); among equals the
    one with the fewest other words, then the first in ``train_pairs``. A model that translates
    should beat it: it knows only sentences it has seen whole.

    >>> train = [("I like apples.", "사과를 좋아해요."), ("Tom ate.", "톰은 먹었어요."),
    ...          ("Tom ate an egg.", "톰은 달걀을 먹었어요."),
    ...          ("Tom ate a pear.", "톰은 배를 먹었어요.")]
    >>> nearest_neighbour(["Tom ate an apple.", "Tom ate a plum."], train)
    ['톰은 달걀을 먹었어요.', '톰은 배를 먹었어요.']
    """
    if isinstance(sources, str):
        raise TypeError("sources must be a sequence of sentences, got one str")
    if not train_pairs:
        raise ValueError("train_pairs is empty: there is nothing to retrieve")
    index: dict[str, list[int]] = {}
    train_words = [_words(source) for source, _ in train_pairs]
    for k, words in enumerate(train_words):
        for word in words:
            index.setdefault(word, []).append(k)
    outputs = []
    for source in sources:
        words = _words(source)
        shared: dict[int, int] = {}
        for word in words:
            for k in index.get(word, ()):
                shared[k] = shared.get(k, 0) + 1
        best = min(shared, key=lambda k: (-shared[k], len(train_words[k]) - shared[k], k),
                   default=0)
        outputs.append(train_pairs[best][1])
    return outputs
