"""Boolean attention masks.

Convention (as in ``torch.nn.functional.scaled_dot_product_attention``): ``True`` means
"may attend". Padding masks have shape ``(batch, seq)`` and are ``True`` at real tokens.
"""

from __future__ import annotations

import torch
from torch import Tensor

from ._checks import check_int

__all__ = ["padding_mask", "causal_mask", "attention_mask"]


def padding_mask(tokens: Tensor, pad_id: int) -> Tensor:
    """``(batch, seq)`` token ids -> ``(batch, seq)`` bool, ``True`` where not ``pad_id``.

    >>> padding_mask(torch.tensor([[5, 7, 0]]), pad_id=0)
    tensor([[ True,  True, False]])
    """
    if not isinstance(tokens, Tensor):
        raise TypeError(f"tokens must be a torch.Tensor, got {type(tokens).__name__}")
    if tokens.dtype.is_floating_point or tokens.dtype == torch.bool:
        raise TypeError(f"tokens must hold integer ids, got dtype {tokens.dtype}")
    return tokens != pad_id


def causal_mask(size: int, device: torch.device | str | None = None) -> Tensor:
    """``(size, size)`` bool, lower-triangular: position ``i`` may attend to ``j <= i`` only.

    >>> causal_mask(3).int()
    tensor([[1, 0, 0],
            [1, 1, 0],
            [1, 1, 1]], dtype=torch.int32)
    """
    check_int("size", size)
    return torch.ones(size, size, dtype=torch.bool, device=device).tril()


def attention_mask(
    key_padding_mask: Tensor | None = None,
    causal_size: int | None = None,
    device: torch.device | str | None = None,
) -> Tensor | None:
    """Combine a key padding mask and/or a causal mask into one mask.

    The result broadcasts against attention scores of shape ``(batch, heads, q_len, k_len)``:
    ``(batch, 1, 1, k_len)`` for padding only, ``(q_len, k_len)`` for causal only,
    ``(batch, 1, q_len, k_len)`` for both. Returns ``None`` when neither is given. The causal
    part is made on ``device`` (default: the padding mask's device, else the CPU).
    """
    mask = None
    if key_padding_mask is not None:
        if not isinstance(key_padding_mask, Tensor):
            raise TypeError(
                f"key_padding_mask must be a torch.Tensor or None, got "
                f"{type(key_padding_mask).__name__}"
            )
        if key_padding_mask.dtype != torch.bool or key_padding_mask.dim() != 2:
            raise ValueError(
                "key_padding_mask must be a bool tensor of shape (batch, seq), got dtype "
                f"{key_padding_mask.dtype} and shape {tuple(key_padding_mask.shape)}"
            )
        mask = key_padding_mask[:, None, None, :]
    if causal_size is not None:
        if key_padding_mask is not None:
            if causal_size != key_padding_mask.size(1):
                raise ValueError(
                    f"causal_size={causal_size!r} must equal the padding mask's length "
                    f"{key_padding_mask.size(1)} (key_padding_mask shape "
                    f"{tuple(key_padding_mask.shape)})"
                )
            device = key_padding_mask.device
        causal = causal_mask(causal_size, device=device)
        mask = causal if mask is None else mask & causal
    return mask
