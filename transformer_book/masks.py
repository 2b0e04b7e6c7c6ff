"""Boolean attention masks.

Convention (as in ``torch.nn.functional.scaled_dot_product_attention``): ``True`` means
"may attend". Padding masks have shape ``(batch, seq)`` and are ``True`` at real tokens.
"""

from __future__ import annotations

import torch
from torch import Tensor

from ._checks import check_integer, check_padding_mask, check_token_ids

__all__ = ["padding_mask", "causal_mask", "attention_mask"]


def padding_mask(tokens: Tensor, pad_id: int) -> Tensor:
    """``(batch, seq)`` token ids -> ``(batch, seq)`` bool, ``True`` where not ``pad_id``.

    >>> padding_mask(torch.tensor([[5, 7, 0]]), pad_id=0)
    tensor([[ True,  True, False]])
    """
    check_token_ids("tokens", tokens)
    return tokens != pad_id


def causal_mask(size: int, device: torch.device | str | None = None, start: int = 0) -> Tensor:
    """``(size, size)`` bool, lower-triangular: position ``i`` may attend to ``j <= i`` only.

    With ``start > 0`` the queries are positions ``start, ..., start + size - 1`` and the keys
    all positions up to the last query, the ``start`` earlier ones included (decoding with a
    key/value cache): the mask is ``(size, start + size)``.

    >>> causal_mask(3).int()
    tensor([[1, 0, 0],
            [1, 1, 0],
            [1, 1, 1]], dtype=torch.int32)
    >>> causal_mask(2, start=2).int()
    tensor([[1, 1, 1, 0],
            [1, 1, 1, 1]], dtype=torch.int32)
    """
    check_integer("size", size)
    check_integer("start", start, minimum=0)
    return torch.ones(size, start + size, dtype=torch.bool, device=device).tril(start)


def attention_mask(
    padding_mask: Tensor | None = None,
    causal_size: int | None = None,
    device: torch.device | str | None = None,
) -> Tensor | None:
    """Combine a padding mask of the keys and/or a causal mask into one attention mask.

    ``padding_mask`` is ``(batch, seq)`` bool, ``True`` at real tokens. The result broadcasts
    against attention scores of shape ``(batch, heads, q_len, k_len)``: ``(batch, 1, 1, k_len)``
    for padding only, ``(q_len, k_len)`` for causal only, ``(batch, 1, q_len, k_len)`` for both.
    Returns ``None`` when neither is given. The result lies on ``device`` when it is given,
    else on the padding mask's device, else on the CPU.

    >>> attention_mask(torch.tensor([[True, True, False]]), causal_size=3)[0, 0].int()
    tensor([[1, 0, 0],
            [1, 1, 0],
            [1, 1, 0]], dtype=torch.int32)
    """
    check_padding_mask("padding_mask", padding_mask)
    if causal_size is not None:
        check_integer("causal_size", causal_size)
        if padding_mask is not None and causal_size != padding_mask.size(1):
            raise ValueError(
                f"causal_size={causal_size!r} must equal the padding mask's length "
                f"{padding_mask.size(1)} (padding_mask shape {tuple(padding_mask.shape)})"
            )
    return combine_masks(padding_mask, causal_size, device)


def combine_masks(padding_mask: Tensor | None = None, causal_size: int | None = None,
                  device: torch.device | str | None = None) -> Tensor | None:
    """``attention_mask`` for callers that have checked their arguments (the model)."""
    if device is None and padding_mask is not None:
        device = padding_mask.device
    mask = None if padding_mask is None else padding_mask.to(device)[:, None, None, :]
    if causal_size is not None:
        causal = torch.ones(causal_size, causal_size, dtype=torch.bool, device=device).tril()
        mask = causal if mask is None else mask & causal
    return mask
