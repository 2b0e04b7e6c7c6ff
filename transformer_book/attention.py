"""Scaled dot-product attention and multi-head attention (Vaswani et al., 2017, section 3.2).

Shapes are batch-first. Masks are boolean with ``True`` = "may attend", broadcastable to the
scores' shape ``(batch, heads, q_len, k_len)``. A query with nothing to attend to gets zeros.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ._checks import (
    check_attention_inputs,
    check_attn_mask,
    check_fraction,
    check_heads,
    check_qkv,
)
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
    check_qkv(q, k, v)
    check_fraction("dropout_p", dropout_p)
    if mask is not None:
        check_attn_mask(mask, torch.Size((*q.shape[:-1], k.size(-2))))
    return _attention(q, k, v, mask, dropout_p)


def _attention(q: Tensor, k: Tensor, v: Tensor, mask: Tensor | None,
               dropout_p: float) -> tuple[Tensor, Tensor]:
    """``scaled_dot_product_attention`` for callers that have checked their arguments."""
    dtype = q.dtype
    if dtype in (torch.float16, torch.bfloat16):
        # Half-precision scores can pass float16's largest value (65504) where the softmax of
        # them is perfectly finite; like PyTorch's fused kernel, compute them in float32.
        q, k, v = q.float(), k.float(), v.float()
    d_k = q.size(-1)
    scores = q @ k.transpose(-2, -1) / math.sqrt(d_k)  # (..., q_len, k_len)
    weights = masked_softmax(scores, mask)
    if dropout_p > 0.0:
        weights = F.dropout(weights, p=dropout_p)
    return (weights @ v).to(dtype), weights.to(dtype)


def masked_softmax(scores: Tensor, mask: Tensor | None) -> Tensor:
    """Softmax over the last dimension of ``scores`` where ``mask`` is ``True``, zero elsewhere;
    a row with nothing to attend to gets all-zero weights, never NaN."""
    if mask is None:
        return scores.softmax(dim=-1)
    mask, empty = open_empty_rows(mask)
    return scores.masked_fill(~mask, float("-inf")).softmax(dim=-1).masked_fill(empty, 0.0)


def open_empty_rows(mask: Tensor) -> tuple[Tensor, Tensor]:
    """The rule for a query with nothing to attend to, shared by both paths of attention: let it
    attend everywhere (so that no softmax sees a row of ``-inf`` and gives NaN), and zero its
    result afterwards. Returns ``(mask with such rows opened, the rows (..., q_len, 1))``."""
    empty = ~mask.any(dim=-1, keepdim=True)
    return mask | empty, empty


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

    def forward(
        self,
        query: Tensor,
        key: Tensor,
        value: Tensor,
        mask: Tensor | None = None,
        need_weights: bool = False,
        cache: KVCache | None = None,
    ) -> tuple[Tensor, Tensor | None]:
        check_attention_inputs(query, key, value, self.d_model, self.q_proj.weight.dtype)
        if mask is not None:
            k_len = (len(cache) if cache is not None and cache.static and cache.k is not None
                     else key.size(1) + (0 if cache is None else len(cache)))
            check_attn_mask(mask, torch.Size((query.size(0), self.num_heads, query.size(1),
                                              k_len)))
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
            out, weights = _attention(q, k, v, mask, dropout_p)
        else:  # the fused kernel, with attention's rule for rows with nothing to attend to
            empty = None
            if mask is not None:
                mask, empty = open_empty_rows(mask)
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
