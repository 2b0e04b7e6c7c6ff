"""Scaled dot-product attention and multi-head attention (Vaswani et al., 2017, section 3.2).

Shapes are batch-first. Masks are boolean with ``True`` = "may attend", broadcastable to the
scores' shape ``(batch, heads, q_len, k_len)``. A query with nothing to attend to gets zeros.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ._checks import check_attn_mask, check_float_tensor, check_fraction, check_heads
from .positional import RotaryEmbedding

__all__ = ["scaled_dot_product_attention", "MultiHeadAttention", "KVCache"]


def scaled_dot_product_attention(
    q: Tensor, k: Tensor, v: Tensor, mask: Tensor | None = None, dropout_p: float = 0.0
) -> tuple[Tensor, Tensor]:
    r"""Attention(Q, K, V) = softmax(Q K^T / sqrt(d_k)) V, returning the output and the weights.

    Args:
        q: queries ``(..., q_len, d_k)``.
        k: keys ``(..., k_len, d_k)``.
        v: values ``(..., k_len, d_v)``.
        mask: optional bool, ``True`` = may attend, broadcastable to ``(..., q_len, k_len)``.
        dropout_p: dropout probability applied to the weights (always applied when > 0, as in
            ``torch.nn.functional.scaled_dot_product_attention``).

    Returns:
        ``(out, weights)`` with shapes ``(..., q_len, d_v)`` and ``(..., q_len, k_len)``.
        A query whose mask row is all ``False`` gets all-zero weights and a zero output.

    >>> q = torch.randn(2, 5, 8)
    >>> out, w = scaled_dot_product_attention(q, q, q)
    >>> out.shape, w.shape
    (torch.Size([2, 5, 8]), torch.Size([2, 5, 5]))
    """
    _check_qkv(q, k, v)
    check_fraction("dropout_p", dropout_p)
    d_k = q.size(-1)
    dtype = q.dtype
    if dtype in (torch.float16, torch.bfloat16):
        # Half-precision scores can pass float16's largest value (65504) where the softmax of
        # them is perfectly finite; like PyTorch's fused kernel, compute them in float32.
        q, k, v = q.float(), k.float(), v.float()

    # QK^T / sqrt(d_k), written as (q / d_k^(1/4)) (k / d_k^(1/4))^T: the same product, but the
    # factors are scaled before they meet, so the raw dot products overflow later.
    scale = d_k ** -0.25
    scores = (q * scale) @ (k * scale).transpose(-2, -1)  # (..., q_len, k_len)
    if mask is not None:
        check_attn_mask(mask, scores.shape)
        # The most negative finite value, not -inf: a fully masked row stays finite ...
        scores = scores.masked_fill(~mask, torch.finfo(scores.dtype).min)
    weights = scores.softmax(dim=-1)
    if mask is not None:
        # ... and is then zeroed, so it contributes nothing instead of NaN.
        weights = weights.masked_fill(~mask, 0.0)
    if dropout_p > 0.0:
        weights = F.dropout(weights, p=dropout_p)
    return (weights @ v).to(dtype), weights.to(dtype)


class MultiHeadAttention(nn.Module):
    r"""MultiHead(Q, K, V) = Concat(head_1, ..., head_h) W^O (section 3.2.2).

    Each head is ``head_i = Attention(Q W_i^Q, K W_i^K, V W_i^V)`` with ``d_k = d_model / h``.

    All heads are computed in one matrix product: ``q_proj`` maps ``d_model`` to
    ``num_heads * d_k`` at once, and the result is split into heads.

    Args:
        d_model: model width; must be divisible by ``num_heads`` (``d_k = d_model // num_heads``).
        num_heads: number of heads ``h``.
        dropout: dropout on the attention weights during training.
        bias: whether the four projections have biases.
        rotary: an optional ``RotaryEmbedding`` of width ``d_k``: then each head's queries and
            keys are turned by their positions' rotations before the scores (self-attention of
            a model with rotary positions; the positions count from the cache's length).

    ``forward(query, key, value, mask=None, need_weights=False, cache=None)`` takes
    ``(batch, seq, d_model)`` tensors and a bool mask broadcastable to
    ``(batch, heads, q_len, k_len)`` and returns ``(out, weights)``: ``out`` is
    ``(batch, q_len, d_model)``, ``weights`` is ``(batch, heads, q_len, k_len)`` or ``None``
    unless ``need_weights=True``. Without weights the fused
    ``torch.nn.functional.scaled_dot_product_attention`` does the work. With a ``KVCache`` the
    keys and values of earlier calls take part too (``k_len`` counts them), see ``KVCache``.
    """

    def __init__(self, d_model: int, num_heads: int, dropout: float = 0.0, bias: bool = True,
                 rotary: RotaryEmbedding | None = None):
        super().__init__()
        check_heads(d_model, num_heads)
        check_fraction("dropout", dropout)
        if rotary is not None and not (isinstance(rotary, RotaryEmbedding)
                                       and rotary.dim == d_model // num_heads):
            raise ValueError(f"rotary must be None or a RotaryEmbedding of dim d_k="
                             f"{d_model // num_heads}, got {rotary!r}")
        self.rotary = rotary
        self.d_model = d_model
        self.num_heads = num_heads
        self.d_k = d_model // num_heads
        self.dropout = dropout
        self.q_proj = nn.Linear(d_model, d_model, bias=bias)  # W^Q of all heads side by side
        self.k_proj = nn.Linear(d_model, d_model, bias=bias)  # W^K
        self.v_proj = nn.Linear(d_model, d_model, bias=bias)  # W^V
        self.out_proj = nn.Linear(d_model, d_model, bias=bias)  # W^O

    def split_heads(self, x: Tensor) -> Tensor:
        """``(batch, seq, d_model)`` -> ``(batch, heads, seq, d_k)``."""
        batch, seq, _ = x.shape
        return x.view(batch, seq, self.num_heads, self.d_k).transpose(1, 2)

    def merge_heads(self, x: Tensor) -> Tensor:
        """``(batch, heads, seq, d_k)`` -> ``(batch, seq, d_model)``."""
        batch, _, seq, _ = x.shape
        return x.transpose(1, 2).reshape(batch, seq, self.d_model)

    def _check_inputs(self, query: Tensor, key: Tensor, value: Tensor) -> None:
        for name, x in (("query", query), ("key", key), ("value", value)):
            if check_float_tensor(name, x).dim() != 3 or x.size(-1) != self.d_model:
                raise ValueError(
                    f"{name} must have shape (batch, seq, d_model={self.d_model}), "
                    f"got {tuple(x.shape)}"
                )
        weight = self.q_proj.weight
        if not (query.dtype == key.dtype == value.dtype == weight.dtype) and not _autocast(query):
            raise TypeError(
                f"query, key and value ({query.dtype}, {key.dtype}, {value.dtype}) must have the "
                f"module's dtype {weight.dtype}; convert the inputs or the module (.to(dtype))"
            )
        if key.shape[:2] != value.shape[:2] or query.size(0) != key.size(0):
            raise ValueError(
                f"query {tuple(query.shape)}, key {tuple(key.shape)} and value "
                f"{tuple(value.shape)} must share the batch size, and key and value the length"
            )

    def forward(
        self,
        query: Tensor,
        key: Tensor,
        value: Tensor,
        mask: Tensor | None = None,
        need_weights: bool = False,
        cache: KVCache | None = None,
    ) -> tuple[Tensor, Tensor | None]:
        self._check_inputs(query, key, value)
        q = self.split_heads(self.q_proj(query))
        if cache is not None and cache.static and cache.k is not None:
            k, v = cache.k, cache.v  # the memory's keys and values, projected at the first step
        else:
            k = self.split_heads(self.k_proj(key))
            v = self.split_heads(self.v_proj(value))
            if self.rotary is not None:  # turned at their own positions, after the cached ones
                start = 0 if cache is None else len(cache)
                q, k = self.rotary(q, start), self.rotary(k, start)
            if cache is not None:
                k, v = cache.update(k, v)
        dropout_p = self.dropout if self.training else 0.0
        if need_weights:
            out, weights = scaled_dot_product_attention(q, k, v, mask=mask, dropout_p=dropout_p)
        else:
            empty = None
            if mask is not None:
                check_attn_mask(mask, torch.Size((*q.shape[:-1], k.size(-2))))
                # Fused kernels differ on rows with nothing to attend to (zeros or NaN, and NaN
                # gradients). Let such rows attend everywhere, then zero their output below.
                empty = ~mask.any(dim=-1, keepdim=True)
                mask = mask | empty
            out = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=dropout_p)
            if empty is not None:
                out = out.masked_fill(empty, 0.0)
            weights = None
        return self.out_proj(self.merge_heads(out)), weights


class KVCache:
    """The keys and values one ``MultiHeadAttention`` has projected so far, kept between the steps
    of incremental decoding, each ``(batch, heads, seq, d_k)`` (``None`` before the first step).

    In the decoder's self-attention a step's new keys and values are appended to those of the
    earlier positions, which cannot change (the causal mask: a position never sees a later one).
    With ``static=True`` (cross-attention) the first step projects the memory and every later
    step reuses that projection, whatever ``key`` and ``value`` it is given.

    >>> mha, cache = MultiHeadAttention(8, 2), KVCache()
    >>> for x in torch.randn(3, 1, 1, 8):  # three steps, one new position each
    ...     out, _ = mha(x, x, x, cache=cache)
    >>> len(cache), tuple(cache.k.shape)
    (3, (1, 2, 3, 4))
    """

    def __init__(self, static: bool = False):
        self.static = static
        self.k: Tensor | None = None
        self.v: Tensor | None = None

    def __len__(self) -> int:
        """The number of positions held."""
        return 0 if self.k is None else self.k.size(-2)

    def update(self, k: Tensor, v: Tensor) -> tuple[Tensor, Tensor]:
        """Append ``(batch, heads, new, d_k)`` keys and values; returns all keys and values held."""
        if self.k is not None:
            k, v = torch.cat([self.k, k], dim=-2), torch.cat([self.v, v], dim=-2)
        self.k, self.v = k, v
        return k, v

    def reorder(self, rows: Tensor) -> None:
        """Keep the batch rows ``rows`` (a 1-D index tensor), in that order: beam search calls it
        when it re-ranks its hypotheses."""
        if self.k is not None:
            self.k, self.v = self.k.index_select(0, rows), self.v.index_select(0, rows)


def _check_qkv(q: object, k: object, v: object) -> None:
    """``q``, ``k``, ``v``: float tensors of one dtype, ``(..., q_len, d_k)``,
    ``(..., k_len, d_k)`` and ``(..., k_len, d_v)`` with batch dimensions that broadcast."""
    for name, x in (("q", q), ("k", k), ("v", v)):
        if check_float_tensor(name, x).dim() < 2:
            raise ValueError(f"{name} must have shape (..., seq, dim), got shape {tuple(x.shape)}")
    if not (q.dtype == k.dtype == v.dtype):
        raise TypeError(f"q, k and v must share one dtype, got {q.dtype}, {k.dtype} and {v.dtype}")
    if q.size(-1) == 0:
        raise ValueError(f"q must have d_k >= 1 features per position, got shape {tuple(q.shape)}")
    if q.size(-1) != k.size(-1):
        raise ValueError(f"q and k must have the same last dimension d_k, got q "
                         f"{tuple(q.shape)} and k {tuple(k.shape)}")
    if k.size(-2) != v.size(-2):
        raise ValueError(f"k and v must have the same number of positions, got k "
                         f"{tuple(k.shape)} and v {tuple(v.shape)}")
    try:
        torch.broadcast_shapes(q.shape[:-2], k.shape[:-2], v.shape[:-2])
    except RuntimeError as exc:
        raise ValueError(
            f"the batch dimensions of q {tuple(q.shape)}, k {tuple(k.shape)} and "
            f"v {tuple(v.shape)} do not broadcast"
        ) from exc


def _autocast(x: Tensor) -> bool:
    """Whether autocast is on for ``x``'s device (then it chooses the dtypes, not we)."""
    try:
        return torch.is_autocast_enabled(x.device.type)
    except TypeError:  # PyTorch before 2.4 takes no device type
        return torch.is_autocast_enabled()
