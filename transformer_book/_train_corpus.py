"""The corpus pipeline of ``python -m transformer_book.train --data``, after the corpus is read
and split (``text.corpus.corpus_splits``): its fingerprint checked against a resumed run's, the
subword vocabulary trained once and shared by every process, and the pairs that fit the model."""

from __future__ import annotations

import os

import torch.distributed as dist

from .checkpoints import Checkpoint
from .runtime import rank_and_world
from .text.corpus import Splits, corpus_fingerprint, filter_pairs
from .text.subword import SubwordTokenizer

__all__ = ["CORPUS", "shared_tokenizer", "fit_to_length", "check_corpus"]


CORPUS = "corpus"
"""The task name a run on a corpus (``--data`` or ``--src``/``--tgt``) records."""


def shared_tokenizer(splits: Splits, vocab_size: int) -> SubwordTokenizer:
    """A subword vocabulary for both languages, trained on the training split. In a distributed
    run rank 0 trains it and sends it to the others, so that all use the same pieces."""
    rank, world = rank_and_world()
    sent = [None]  # the trained model's bytes, or the error that stopped the training
    if rank == 0:
        texts = [text for pair in splits.train for text in pair]
        try:
            sent[0] = SubwordTokenizer.train(texts, vocab_size=vocab_size).model
        except ValueError as exc:
            if world == 1:
                raise
            sent[0] = str(exc)
    if world > 1:
        dist.broadcast_object_list(sent, src=0)  # every process fails alike, or none does
    if isinstance(sent[0], str):
        raise ValueError(sent[0])
    return SubwordTokenizer(sent[0])


def fit_to_length(pairs: list[tuple[str, str]], tokenizer: SubwordTokenizer, max_len: int
            ) -> list[tuple[str, str]]:
    """The pairs whose two sides both fit the model: at most ``max_len - 1`` tokens."""
    return filter_pairs(pairs, deduplicate=False, max_len=max_len - 1,
                        length=lambda text: max(len(tokenizer.encode(text)), 1))


def check_corpus(out: str, settings: dict[str, object], splits: Splits,
                 resume: Checkpoint | None) -> str:
    """The corpus's fingerprint; ``ValueError`` if ``--out`` is one of the corpus files, or
    if a resumed checkpoint was trained on another corpus."""
    for key in ("data", "src", "tgt"):
        path = settings[key]
        if path and os.path.exists(out) and os.path.samefile(out, path):
            raise ValueError(f"--out {out} is the corpus file --{key} {path}; choose another "
                             f"--out")
    fingerprint = corpus_fingerprint(splits)
    stored = None if resume is None else resume.extra.get("fingerprint")
    if isinstance(stored, str) and stored != fingerprint:
        raise ValueError(f"the corpus given is not the one {out} was trained on (its pairs "
                         f"differ); give that corpus, or train a new model with --overwrite")
    return fingerprint
