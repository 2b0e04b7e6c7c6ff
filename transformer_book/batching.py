"""Batching: token ids padded into tensors, (source, target) pairs into teacher-forcing
batches with their padding masks (``True`` at real tokens), and an epoch's batches cut into
steps and dealt out to the processes of a distributed run."""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, fields

import torch
from torch import Tensor
from torch.nn.utils.rnn import pad_sequence

from ._checks import check_integer
from .protocols import Tokenizer
from .text.bucketing import shard, token_batches

__all__ = ["Batch", "pad_sequences", "Collate", "make_batches", "pair_lengths", "epoch_steps"]


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
    ids = pad_sequence([torch.tensor(list(s), dtype=torch.long) for s in seqs],
                       batch_first=True, padding_value=pad_id)
    mask = pad_sequence([torch.ones(len(s), dtype=torch.bool) for s in seqs], batch_first=True)
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
    collate = Collate(tokenizer)
    return [collate([pairs[i] for i in batch])
            for batch in _cut(len(pairs), batch_size, seed if shuffle else None)]


def _cut(n: int, size: int, seed: int | None) -> list[list[int]]:
    """The indices ``0 .. n - 1``, shuffled with ``seed`` (``None``: in order), cut into batches
    of ``size`` (the last one may be smaller)."""
    order = list(range(n))
    if seed is not None:
        random.Random(seed).shuffle(order)
    return [order[k: k + size] for k in range(0, n, size)]


def pair_lengths(pairs: Sequence[tuple[str, str]], tokenizer: Tokenizer
                 ) -> list[tuple[int, int]]:
    """Each pair's padded source and target length (``<bos>`` + target), for token batches."""
    return [(len(tokenizer.encode(s)), len(tokenizer.encode(t)) + 1) for s, t in pairs]


def epoch_steps(pairs: Sequence[tuple[str, str]], tokenizer: Tokenizer, batch_size: int,
                max_tokens: int | None, accumulate: int, seed: int, rank: int = 0,
                world: int = 1, lengths: Sequence[tuple[int, int]] | None = None
                ) -> list[list[Batch]]:
    """One epoch's steps for process ``rank`` of ``world``: per step, this process's
    ``accumulate`` passes, each a ``Batch``.

    Every process cuts the same batches (``batch_size`` pairs, or with ``max_tokens`` as many
    pairs of similar ``lengths`` as fit in ``max_tokens`` padded tokens: ``token_batches``),
    shuffled with ``seed``; step ``i`` takes the next ``accumulate x world`` of them and deals
    them out, ``accumulate`` to each process (``shard``). Left-over batches, fewer than a step
    needs, wait for the next epoch's shuffle.
    """
    parts = world * accumulate
    if max_tokens is None:
        batches = _cut(len(pairs), batch_size, seed)
    else:
        lengths = pair_lengths(pairs, tokenizer) if lengths is None else lengths
        src_lengths, tgt_lengths = zip(*lengths, strict=True)
        batches = token_batches(src_lengths, tgt_lengths, max_tokens, seed=seed)
    if len(batches) < parts:  # not one step: the epoch would train nothing
        processes = f" x {world} processes" if world > 1 else ""
        raise ValueError(f"the training pairs make {len(batches)} batch(es), fewer than the "
                         f"{parts} one step needs ({accumulate} accumulated{processes}); "
                         f"give smaller batches (batch_size or max_tokens) or a lower "
                         f"accumulate")
    collate = Collate(tokenizer)
    passes = [shard(batches, rank * accumulate + k, parts) for k in range(accumulate)]
    return [[collate([pairs[i] for i in batch]) for batch in step]
            for step in zip(*passes, strict=True)]
