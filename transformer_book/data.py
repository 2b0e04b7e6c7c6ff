"""Tokenizers and the chapters' data sets, all generated locally from a seed (no downloads).

Each data set lives in its own section below, named after the chapter that introduces it.
"""

from __future__ import annotations

import torch

# ---------------------------------------------------------------------------------------------
# Chapter 1: long-range recall
# ---------------------------------------------------------------------------------------------


def recall_task(
    num_sequences: int,
    num_distractors: int,
    num_symbols: int = 8,
    seed: int = 0,
    generator: torch.Generator | None = None,
    device: torch.device | str | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Sequences whose label is their first token, followed by ``num_distractors`` random tokens.

    Every token, the first one and the distractors alike, is drawn uniformly from the same
    ``num_symbols`` symbols ``0 .. num_symbols - 1``, so only its *position* tells the first
    token apart: a model must carry it across ``num_distractors`` steps (chapter 1).

    Args:
        num_sequences: how many sequences (the batch size).
        num_distractors: ``L``, the number of tokens after the one to recall (``>= 0``).
        num_symbols: vocabulary size, also the number of classes (``>= 2``); chance is
            ``1 / num_symbols``.
        seed: seeds a fresh generator when ``generator`` is not given.
        generator: a CPU ``torch.Generator`` to draw from (a training loop passes one so
            that each call gives a new, yet repeatable, batch).
        device: where to put the result (drawn on the CPU, so it is the same on every device).

    Returns:
        ``(tokens, targets)``: ``tokens`` is ``(num_sequences, num_distractors + 1)`` int64,
        ``targets`` is ``(num_sequences,)`` int64 and equals ``tokens[:, 0]``.

    >>> tokens, targets = recall_task(2, 3, seed=0)
    >>> tokens.shape, bool((targets == tokens[:, 0]).all())
    (torch.Size([2, 4]), True)
    """
    for name, value, low in (("num_sequences", num_sequences, 1),
                             ("num_distractors", num_distractors, 0),
                             ("num_symbols", num_symbols, 2)):
        if not isinstance(value, int) or isinstance(value, bool) or value < low:
            raise ValueError(f"{name}={value!r} must be an int >= {low}")
    if generator is None:
        if not isinstance(seed, int) or isinstance(seed, bool):
            raise TypeError(f"seed={seed!r} must be an int")
        generator = torch.Generator().manual_seed(seed)
    elif not isinstance(generator, torch.Generator):
        raise TypeError(
            f"generator must be a torch.Generator or None, got {type(generator).__name__}"
        )
    tokens = torch.randint(num_symbols, (num_sequences, num_distractors + 1), generator=generator)
    targets = tokens[:, 0].clone()
    return tokens.to(device), targets.to(device)
