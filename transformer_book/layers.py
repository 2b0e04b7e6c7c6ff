"""The encoder and decoder stacks (Vaswani et al., 2017, sections 3.1 and 3.3).

Names follow ``torch.nn.TransformerEncoderLayer``/``TransformerDecoderLayer`` (``self_attn``,
``norm1``, ``linear1`` ...), so a reader can hold each layer next to PyTorch's. Post-LN as in the
paper by default (``x = norm(x + sublayer(x))``); ``norm_first=True`` gives pre-LN
(``x = x + sublayer(norm(x))``). Masks are bool, ``True`` = may attend.

Three dropouts, each a probability, 0 switches it off:

- ``dropout`` (the paper's P_drop, section 5.4): on each sub-layer's output, before the residual
  add;
- ``attn_dropout``: on the attention weights (PyTorch's layers use ``dropout`` there; the paper
  does not mention it);
- ``ffn_dropout``: inside the feed-forward network, after the activation (likewise).

Two options serve the decoder-only models of chapter 13: ``activation`` (the feed-forward's
non-linearity, ``F.relu`` as in the paper or ``F.gelu`` as in GPT) and ``rotary`` (a
``RotaryEmbedding`` shared by the self-attentions). An ``EncoderLayer`` with a causal mask is a
decoder layer without cross-attention; it then takes a ``KVCache`` for incremental decoding, and
an ``Encoder`` a ``DecoderCache``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import torch.nn.functional as F
from torch import Tensor, nn

from ._checks import check_fraction, check_integer
from .attention import KVCache, MultiHeadAttention
from .positional import RotaryEmbedding

__all__ = ["FeedForward", "SwiGLU", "EncoderLayer", "DecoderLayer", "Encoder", "Decoder",
           "DecoderCache", "LayerCache"]


class FeedForward(nn.Module):
    """FFN(x) = max(0, x W_1 + b_1) W_2 + b_2, applied to each position separately (section 3.3)."""

    def __init__(self, d_model: int, d_ff: int, dropout: float = 0.0,
                 activation: Callable[[Tensor], Tensor] = F.relu):
        super().__init__()
        check_integer("d_model", d_model)
        check_integer("d_ff", d_ff)
        check_fraction("dropout", dropout)
        self.linear1 = nn.Linear(d_model, d_ff)
        self.dropout = nn.Dropout(dropout)
        self.linear2 = nn.Linear(d_ff, d_model)
        self.activation = activation

    def forward(self, x: Tensor) -> Tensor:
        """``(..., d_model)`` -> ``(..., d_model)``; every position is transformed alike."""
        return self.linear2(self.dropout(self.activation(self.linear1(x))))


class SwiGLU(nn.Module):
    """FFN_SwiGLU(x) = (Swish(x W) * x V) W_2, without biases (Shazeer, 2020): a gated
    feed-forward network, the one of LLaMA-style models. ``linear1`` holds ``W`` and ``V`` side by
    side, ``(2 * d_ff, d_model)``; ``linear2`` is ``W_2``. It has three matrices where
    ``FeedForward`` has two, so ``d_ff = 2/3 * 4 * d_model`` keeps the parameter count of a
    ``4 * d_model`` ReLU network."""

    def __init__(self, d_model: int, d_ff: int, dropout: float = 0.0):
        super().__init__()
        check_integer("d_model", d_model)
        check_integer("d_ff", d_ff)
        check_fraction("dropout", dropout)
        self.linear1 = nn.Linear(d_model, 2 * d_ff, bias=False)
        self.dropout = nn.Dropout(dropout)
        self.linear2 = nn.Linear(d_ff, d_model, bias=False)

    def forward(self, x: Tensor) -> Tensor:
        """``(..., d_model)`` -> ``(..., d_model)``, every position alike."""
        gate, value = self.linear1(x).chunk(2, dim=-1)
        return self.linear2(self.dropout(F.silu(gate) * value))


def _check_dropouts(**rates: float) -> None:
    for name, rate in rates.items():
        check_fraction(name, rate)


class EncoderLayer(nn.Module):
    """Self-attention, then the feed-forward network, each wrapped in residual + LayerNorm."""

    def __init__(self, d_model: int, num_heads: int, d_ff: int, *, dropout: float = 0.1,
                 norm_first: bool = False, layer_norm_eps: float = 1e-5,
                 attn_dropout: float = 0.0, ffn_dropout: float = 0.0,
                 activation: Callable[[Tensor], Tensor] = F.relu,
                 rotary: RotaryEmbedding | None = None):
        super().__init__()
        _check_dropouts(dropout=dropout, attn_dropout=attn_dropout, ffn_dropout=ffn_dropout)
        self.self_attn = MultiHeadAttention(d_model, num_heads, dropout=attn_dropout,
                                            rotary=rotary)
        self.feed_forward = FeedForward(d_model, d_ff, ffn_dropout, activation)
        self.norm1 = nn.LayerNorm(d_model, eps=layer_norm_eps)
        self.norm2 = nn.LayerNorm(d_model, eps=layer_norm_eps)
        self.dropout1 = nn.Dropout(dropout)
        self.dropout2 = nn.Dropout(dropout)
        self.norm_first = norm_first

    def forward(self, x: Tensor, mask: Tensor | None = None,
                cache: KVCache | None = None) -> Tensor:
        """``x``: ``(batch, seq, d_model)``; ``mask`` broadcasts to ``(batch, heads, seq, seq)``.

        With a ``cache`` (a causal layer decoding incrementally) ``x`` holds only the new
        positions, whose keys and values are appended to the cached ones; ``mask`` is then
        ``(..., seq, cached + seq)``, or ``None`` for one new position."""
        if self.norm_first:
            x = x + self._sa_block(self.norm1(x), mask, cache)
            return x + self._ff_block(self.norm2(x))
        x = self.norm1(x + self._sa_block(x, mask, cache))
        return self.norm2(x + self._ff_block(x))

    def _sa_block(self, x: Tensor, mask: Tensor | None, cache: KVCache | None = None) -> Tensor:
        return self.dropout1(self.self_attn(x, x, x, mask, cache=cache)[0])

    def _ff_block(self, x: Tensor) -> Tensor:
        return self.dropout2(self.feed_forward(x))


class DecoderLayer(nn.Module):
    """Masked self-attention, cross-attention over the encoder's output, then the feed-forward,
    each wrapped in residual + LayerNorm."""

    def __init__(self, d_model: int, num_heads: int, d_ff: int, *, dropout: float = 0.1,
                 norm_first: bool = False, layer_norm_eps: float = 1e-5,
                 attn_dropout: float = 0.0, ffn_dropout: float = 0.0,
                 activation: Callable[[Tensor], Tensor] = F.relu,
                 rotary: RotaryEmbedding | None = None):
        super().__init__()
        _check_dropouts(dropout=dropout, attn_dropout=attn_dropout, ffn_dropout=ffn_dropout)
        self.self_attn = MultiHeadAttention(d_model, num_heads, dropout=attn_dropout,
                                            rotary=rotary)
        self.cross_attn = MultiHeadAttention(d_model, num_heads, dropout=attn_dropout)
        self.feed_forward = FeedForward(d_model, d_ff, ffn_dropout, activation)
        self.norm1 = nn.LayerNorm(d_model, eps=layer_norm_eps)
        self.norm2 = nn.LayerNorm(d_model, eps=layer_norm_eps)
        self.norm3 = nn.LayerNorm(d_model, eps=layer_norm_eps)
        self.dropout1 = nn.Dropout(dropout)
        self.dropout2 = nn.Dropout(dropout)
        self.dropout3 = nn.Dropout(dropout)
        self.norm_first = norm_first

    def forward(self, x: Tensor, memory: Tensor, self_attn_mask: Tensor | None = None,
                cross_attn_mask: Tensor | None = None, need_weights: bool = False,
                cache: LayerCache | None = None) -> tuple[Tensor, Tensor | None]:
        """``x``: ``(batch, tgt_len, d_model)``, ``memory``: ``(batch, src_len, d_model)``.

        ``self_attn_mask`` (usually causal) broadcasts to ``(batch, heads, tgt_len, tgt_len)``,
        ``cross_attn_mask`` to ``(batch, heads, tgt_len, src_len)``. Returns ``(x, weights)``:
        ``x`` is ``(batch, tgt_len, d_model)``; ``weights`` are the cross-attention weights
        ``(batch, heads, tgt_len, src_len)`` with ``need_weights=True``, else ``None`` (as
        ``MultiHeadAttention`` returns them).

        ``cache`` (this layer's entry of a ``DecoderCache``, for incremental decoding) holds the
        two attentions' ``KVCache``: then ``x`` holds only the new positions and the
        self-attention's keys span the cached ones too, ``self_attn_mask``
        ``(..., tgt_len, cached + tgt_len)``.
        """
        self_attn_cache, cross_attn_cache = (None, None) if cache is None else cache
        if self.norm_first:
            x = x + self._sa_block(self.norm1(x), self_attn_mask, self_attn_cache)
            out, weights = self._mha_block(self.norm2(x), memory, cross_attn_mask, need_weights,
                                    cross_attn_cache)
            x = x + out
            return x + self._ff_block(self.norm3(x)), weights
        x = self.norm1(x + self._sa_block(x, self_attn_mask, self_attn_cache))
        out, weights = self._mha_block(x, memory, cross_attn_mask, need_weights, cross_attn_cache)
        x = self.norm2(x + out)
        return self.norm3(x + self._ff_block(x)), weights

    def _sa_block(self, x: Tensor, mask: Tensor | None, cache: KVCache | None) -> Tensor:
        return self.dropout1(self.self_attn(x, x, x, mask, cache=cache)[0])

    def _mha_block(self, x: Tensor, memory: Tensor, mask: Tensor | None, need_weights: bool,
            cache: KVCache | None) -> tuple[Tensor, Tensor | None]:
        out, weights = self.cross_attn(x, memory, memory, mask, need_weights, cache)
        return self.dropout2(out), weights

    def _ff_block(self, x: Tensor) -> Tensor:
        return self.dropout3(self.feed_forward(x))


class _Stack(nn.Module):
    """``num_layers`` identical layers (``layer_class``), then a final LayerNorm for pre-LN
    stacks; post-LN stacks, as in the paper, need none and ``norm`` is the identity."""

    layer_class: type[nn.Module]

    def __init__(self, d_model: int, num_heads: int, num_layers: int, d_ff: int, *,
                 dropout: float = 0.1, norm_first: bool = False, layer_norm_eps: float = 1e-5,
                 attn_dropout: float = 0.0, ffn_dropout: float = 0.0,
                 activation: Callable[[Tensor], Tensor] = F.relu,
                 rotary: RotaryEmbedding | None = None):
        super().__init__()
        check_integer("num_layers", num_layers)
        self.layers = nn.ModuleList(
            self.layer_class(d_model, num_heads, d_ff, dropout=dropout, norm_first=norm_first,
                             layer_norm_eps=layer_norm_eps, attn_dropout=attn_dropout,
                             ffn_dropout=ffn_dropout, activation=activation, rotary=rotary)
            for _ in range(num_layers)
        )
        self.norm = nn.LayerNorm(d_model, eps=layer_norm_eps) if norm_first else nn.Identity()


class Encoder(_Stack):
    """A stack of ``num_layers`` encoder layers (N = 6 in the paper)."""

    layer_class = EncoderLayer

    def forward(self, x: Tensor, mask: Tensor | None = None,
                cache: DecoderCache | None = None) -> Tensor:
        """``x``: ``(batch, seq, d_model)`` -> the same shape; ``mask`` as in ``EncoderLayer``.

        With a ``cache`` (a causal stack, the decoder of a decoder-only model) every layer gets
        its entry of ``cache.self_attn``; ``cache.cross_attn`` stays unused."""
        if cache is not None:
            check_cache(cache, len(self.layers), x.size(0))
        for i, layer in enumerate(self.layers):
            x = layer(x, mask, None if cache is None else cache.self_attn[i])
        return self.norm(x)


class Decoder(_Stack):
    """A stack of ``num_layers`` decoder layers (N = 6 in the paper)."""

    layer_class = DecoderLayer

    def forward(self, x: Tensor, memory: Tensor, self_attn_mask: Tensor | None = None,
                cross_attn_mask: Tensor | None = None, need_weights: bool = False,
                cache: DecoderCache | None = None) -> tuple[Tensor, list[Tensor] | None]:
        """Returns ``(x, weights)``: ``x`` is ``(batch, tgt_len, d_model)``; ``weights`` lists each
        layer's cross-attention weights with ``need_weights=True``, else it is ``None``.

        With a ``cache`` every layer gets its own entry (see ``DecoderLayer``)."""
        if cache is not None:
            check_cache(cache, len(self.layers), x.size(0))
        cross_weights = []
        for i, layer in enumerate(self.layers):
            layer_cache = None if cache is None else cache.layer(i)
            x, w = layer(x, memory, self_attn_mask, cross_attn_mask, need_weights, layer_cache)
            cross_weights.append(w)
        return self.norm(x), (cross_weights if need_weights else None)


class LayerCache(NamedTuple):
    """One decoder layer's share of a ``DecoderCache``."""

    self_attn: KVCache
    cross_attn: KVCache


class DecoderCache:
    """What incremental decoding keeps between steps, one entry per decoder layer: the
    self-attention's keys and values of every position decoded so far (``self_attn``, a list of
    ``KVCache``, growing by the step's new positions) and the cross-attention's keys and values
    of the memory (``cross_attn``, computed at the first step and reused after).

    ``len(cache)`` is the number of positions decoded so far. Pass a fresh cache to
    ``Transformer.decode`` with the first tokens (``<bos>``), then only the new tokens each step.

    >>> cache = DecoderCache(num_layers=2)
    >>> len(cache), len(cache.self_attn)
    (0, 2)
    """

    def __init__(self, num_layers: int):
        check_integer("num_layers", num_layers)
        self.self_attn = [KVCache() for _ in range(num_layers)]
        self.cross_attn = [KVCache(static=True) for _ in range(num_layers)]

    def layer(self, i: int) -> LayerCache:
        """Layer ``i``'s entry: its self-attention's and cross-attention's ``KVCache``."""
        return LayerCache(self.self_attn[i], self.cross_attn[i])

    def __len__(self) -> int:
        """The number of target positions decoded so far."""
        return len(self.self_attn[0])

    def reorder(self, rows: Tensor) -> None:
        """Keep the batch rows ``rows`` (a 1-D index tensor), in that order, in every layer's
        caches: beam search calls it when it re-ranks its hypotheses."""
        for kv in self.self_attn + self.cross_attn:
            kv.reorder(rows)


def check_cache(cache: object, num_layers: int, batch: int | None = None) -> DecoderCache:
    """``cache`` must be a ``DecoderCache`` of ``num_layers`` layers, empty or holding ``batch``
    rows (when ``batch`` is given)."""
    if not isinstance(cache, DecoderCache):
        raise TypeError(f"cache must be a DecoderCache, got {type(cache).__name__}")
    if len(cache.self_attn) != num_layers:
        raise ValueError(f"cache has {len(cache.self_attn)} layers, the decoder {num_layers}; "
                         f"build it with DecoderCache({num_layers})")
    k = cache.self_attn[0].k
    if batch is not None and k is not None and k.size(0) != batch:
        raise ValueError(f"cache holds {k.size(0)} rows but the new tokens have batch size "
                         f"{batch}; after re-ranking rows, call cache.reorder(rows)")
    return cache
