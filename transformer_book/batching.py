"""Batching: token ids padded into tensors, and (source, target) pairs into teacher-forcing
batches with their padding masks (``True`` at real tokens)."""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, fields

import torch
from torch import Tensor

from ._checks import check_integer
from .protocols import Tokenizer

__all__ = ["Batch", "pad_sequences", "Collate", "make_batches"]


@dataclass
class Batch:
    """One padded batch of a sequence-to-sequence task (all tensors ``(batch, len)``).

    ``src``: source ids; ``tgt_in``: ``<bos>`` + target (the decoder's input);
    ``tgt_out``: target + ``<eos>`` (what it must predict, ``<pad>`` where there is nothing);
    ``src_padding_mask``/``tgt_padding_mask``: bool, ``True`` at real tokens of ``src`` and of
    ``tgt_in`` (and so of ``tgt_out``, which has the same length).
    """

    src: Tensor
    tgt_in: Tensor
    tgt_out: Tensor
    src_padding_mask: Tensor
    tgt_padding_mask: Tensor

    def to(self, device: torch.device | str) -> Batch:
        return Batch(*(getattr(self, f.name).to(device) for f in fields(self)))

    def __len__(self) -> int:
        return self.src.size(0)

    @property
    def num_tokens(self) -> int:
        """Real target tokens (the ones the loss counts)."""
        return int(self.tgt_padding_mask.sum())


def pad_sequences(seqs: Sequence[Sequence[int]], pad_id: int = 0) -> tuple[Tensor, Tensor]:
    """Lists of ids -> ``(ids, padding_mask)``, both ``(batch, longest)``: ids right-padded with
    ``pad_id``, the mask ``True`` at real tokens.

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

    def __init__(self, tokenizer: Tokenizer, strict: bool = False):
        self.tokenizer = tokenizer
        self.strict = strict

    def __call__(self, pairs: Sequence[tuple[str, str]]) -> Batch:
        tok = self.tokenizer
        src, src_padding_mask = pad_sequences(
            [tok.encode(s, strict=self.strict) for s, _ in pairs], tok.pad_id)
        tgt = [tok.encode(t, strict=self.strict) for _, t in pairs]
        tgt_in, tgt_padding_mask = pad_sequences([[tok.bos_id, *t] for t in tgt], tok.pad_id)
        tgt_out, _ = pad_sequences([[*t, tok.eos_id] for t in tgt], tok.pad_id)
        return Batch(src, tgt_in, tgt_out, src_padding_mask, tgt_padding_mask)


def make_batches(pairs: Sequence[tuple[str, str]], tokenizer: Tokenizer, batch_size: int,
                 shuffle: bool = False, seed: int = 0) -> list[Batch]:
    """Cut ``pairs`` into padded ``Batch``es of ``batch_size`` (the last one may be smaller),
    in order or shuffled with ``seed`` (pass a new seed each epoch for a new order)."""
    check_integer("batch_size", batch_size)
    order = list(range(len(pairs)))
    if shuffle:
        random.Random(seed).shuffle(order)
    collate = Collate(tokenizer)
    return [collate([pairs[i] for i in order[k: k + batch_size]])
            for k in range(0, len(order), batch_size)]
