"""Batches by tokens, as in the paper: sentences of similar length together, a token budget.

"Sentence pairs were batched together by approximate sequence length. Each training batch
contained a set of sentence pairs containing approximately 25000 source tokens and 25000 target
tokens" (Vaswani et al., 2017, section 5.1). A fixed number of *sentences* per batch wastes
work on padding when short and long sentences meet, and makes the memory a batch needs swing
with its longest sentence; a budget of *tokens* keeps both steady.

:func:`token_batches` sorts the examples by length, cuts the sorted list into batches whose
padded size (longest length x number of examples) stays within ``max_tokens`` on the source
side and on the target side, and shuffles the batches. It returns lists of example indices,
so any collate function can build the tensors. :func:`shard` deals the batches out to the
processes of a distributed run.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

from .._checks import check_integer


def _check_lengths(name: str, lengths: Sequence[int]) -> list[int]:
    lengths = list(lengths)
    for i, n in enumerate(lengths):
        if not isinstance(n, int) or isinstance(n, bool) or n < 1:
            raise ValueError(f"{name}[{i}]={n!r} must be a positive int (a sequence length)")
    return lengths


def token_batches(src_lengths: Sequence[int], tgt_lengths: Sequence[int], max_tokens: int,
                  shuffle: bool = True, seed: int = 0) -> list[list[int]]:
    """Indices of examples grouped into batches of at most ``max_tokens`` padded tokens.

    Args:
        src_lengths: the length of each example's source, as the collate function will pad
            it (count the ``<eos>`` if it adds one).
        tgt_lengths: the same for the target (with the one-token shift of teacher forcing,
            ``len(target) + 1``).
        max_tokens: the budget for each side: a batch of ``b`` examples whose longest source
            has ``s`` tokens and longest target ``t`` satisfies ``b * s <= max_tokens`` and
            ``b * t <= max_tokens``. An example longer than the budget on its own gets a batch
            of its own (the one case that exceeds it); filter such examples out beforehand
            (``corpus.filter_pairs(max_len=...)``) if memory is tight.
        shuffle: shuffle the order of the batches (and which of equally long examples go
            together) with ``seed``; pass a new seed each epoch (``seed + epoch``). With
            ``shuffle=False`` batches come shortest first.
        seed: the seed of the shuffle.

    Returns:
        a list of batches, each a list of indices into the examples; every index appears in
        exactly one batch.

    >>> token_batches([2, 9, 3, 8], [3, 8, 2, 9], max_tokens=18, shuffle=False)
    [[0, 2], [3, 1]]
    """
    src = _check_lengths("src_lengths", src_lengths)
    tgt = _check_lengths("tgt_lengths", tgt_lengths)
    if len(src) != len(tgt):
        raise ValueError(f"src_lengths has {len(src)} lengths and tgt_lengths {len(tgt)}; "
                         "expected one of each per example")
    check_integer("max_tokens", max_tokens)
    if not isinstance(seed, int) or isinstance(seed, bool):
        raise TypeError(f"seed={seed!r} must be an int")
    rng = random.Random(seed)
    ties = [rng.random() for _ in src] if shuffle else list(range(len(src)))
    order = sorted(range(len(src)), key=lambda i: (src[i], tgt[i], ties[i]))
    batches: list[list[int]] = []
    batch: list[int] = []
    longest_src = longest_tgt = 0
    for i in order:
        s, t = max(longest_src, src[i]), max(longest_tgt, tgt[i])
        if batch and (len(batch) + 1) * max(s, t) > max_tokens:
            batches.append(batch)
            batch, s, t = [], src[i], tgt[i]
        batch.append(i)
        longest_src, longest_tgt = s, t
    if batch:
        batches.append(batch)
    if shuffle:
        rng.shuffle(batches)
    return batches


def padded_tokens(batches: Sequence[Sequence[int]], lengths: Sequence[int]) -> tuple[int, int]:
    """``(real, padded)`` token counts of one side over all ``batches``: ``real`` sums the
    lengths, ``padded`` sums longest length x batch size. ``real / padded`` is the share of the
    computation spent on real tokens.

    >>> padded_tokens([[0, 1], [2]], [3, 5, 4])
    (12, 14)
    """
    lengths = _check_lengths("lengths", lengths)
    real = padded = 0
    for batch in batches:
        if not batch:
            raise ValueError("batches must not hold an empty batch")
        longest = max(lengths[i] for i in batch)
        real += sum(lengths[i] for i in batch)
        padded += longest * len(batch)
    return real, padded


def shard(batches: Sequence[list[int]], rank: int, world_size: int) -> list[list[int]]:
    """The batches process ``rank`` of ``world_size`` trains on: every ``world_size``-th one,
    starting at ``rank``. All processes get the same number of batches (the last
    ``len(batches) % world_size`` are dropped), since a distributed step waits for every
    process; shuffle with a new seed each epoch so that different batches are dropped. Step
    ``i`` of the run is then batches ``i * world_size`` to ``i * world_size + world_size - 1``,
    one per process: the same batches one process would add up with gradient accumulation.

    >>> shard([[0], [1], [2], [3], [4]], rank=1, world_size=2)
    [[1], [3]]
    """
    check_integer("world_size", world_size)
    check_integer("rank", rank, minimum=0)
    if rank >= world_size:
        raise ValueError(f"rank={rank} must be less than world_size={world_size}")
    usable = len(batches) - len(batches) % world_size
    return list(batches[rank:usable:world_size])
