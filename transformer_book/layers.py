"""The encoder and decoder stacks (Vaswani et al., 2017, sections 3.1 and 3.3).

Names follow ``torch.nn.TransformerEncoderLayer``/``TransformerDecoderLayer`` (``self_attn``,
``norm1``, ``linear1`` ...), so a reader can hold each layer next to PyTorch's. Post-LN as in the
paper by default (``x = norm(x + sublayer(x))``); ``norm_first=True`` gives pre-LN
(``x = x + sublayer(norm(x))``). Masks are bool, ``True`` = may attend.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ._checks import check_fraction, check_int
from .attention import MultiHeadAttention

__all__ = ["FeedForward", "EncoderLayer", "DecoderLayer", "Encoder", "Decoder",
           "copy_torch_weights"]


class FeedForward(nn.Module):
    """FFN(x) = max(0, x W_1 + b_1) W_2 + b_2, applied to each position separately (section 3.3)."""

    def __init__(self, d_model: int, d_ff: int, dropout: float = 0.0,
                 activation: Callable[[Tensor], Tensor] = F.relu):
        super().__init__()
        check_int("d_model", d_model)
        check_int("d_ff", d_ff)
        check_fraction("dropout", dropout)
        self.linear1 = nn.Linear(d_model, d_ff)
        self.dropout = nn.Dropout(dropout)
        self.linear2 = nn.Linear(d_ff, d_model)
        self.activation = activation

    def forward(self, x: Tensor) -> Tensor:
        """``(..., d_model)`` -> ``(..., d_model)``; every position is transformed alike."""
        return self.linear2(self.dropout(self.activation(self.linear1(x))))


class EncoderLayer(nn.Module):
    """Self-attention, then the feed-forward network, each wrapped in residual + LayerNorm."""

    def __init__(self, d_model: int, num_heads: int, d_ff: int, dropout: float = 0.1,
                 norm_first: bool = False, layer_norm_eps: float = 1e-5):
        super().__init__()
        self.self_attn = MultiHeadAttention(d_model, num_heads, dropout=dropout)
        self.feed_forward = FeedForward(d_model, d_ff, dropout)
        self.norm1 = nn.LayerNorm(d_model, eps=layer_norm_eps)
        self.norm2 = nn.LayerNorm(d_model, eps=layer_norm_eps)
        self.dropout1 = nn.Dropout(dropout)
        self.dropout2 = nn.Dropout(dropout)
        self.norm_first = norm_first

    def _sa(self, x: Tensor, mask: Tensor | None) -> Tensor:
        return self.dropout1(self.self_attn(x, x, x, mask=mask)[0])

    def _ff(self, x: Tensor) -> Tensor:
        return self.dropout2(self.feed_forward(x))

    def forward(self, x: Tensor, mask: Tensor | None = None) -> Tensor:
        """``x``: ``(batch, seq, d_model)``; ``mask`` broadcasts to ``(batch, heads, seq, seq)``."""
        if self.norm_first:
            x = x + self._sa(self.norm1(x), mask)
            return x + self._ff(self.norm2(x))
        x = self.norm1(x + self._sa(x, mask))
        return self.norm2(x + self._ff(x))


class DecoderLayer(nn.Module):
    """Masked self-attention, cross-attention over the encoder's output, then the feed-forward."""

    def __init__(self, d_model: int, num_heads: int, d_ff: int, dropout: float = 0.1,
                 norm_first: bool = False, layer_norm_eps: float = 1e-5):
        super().__init__()
        self.self_attn = MultiHeadAttention(d_model, num_heads, dropout=dropout)
        self.cross_attn = MultiHeadAttention(d_model, num_heads, dropout=dropout)
        self.feed_forward = FeedForward(d_model, d_ff, dropout)
        self.norm1 = nn.LayerNorm(d_model, eps=layer_norm_eps)
        self.norm2 = nn.LayerNorm(d_model, eps=layer_norm_eps)
        self.norm3 = nn.LayerNorm(d_model, eps=layer_norm_eps)
        self.dropout1 = nn.Dropout(dropout)
        self.dropout2 = nn.Dropout(dropout)
        self.dropout3 = nn.Dropout(dropout)
        self.norm_first = norm_first

    def forward(self, x: Tensor, memory: Tensor, tgt_mask: Tensor | None = None,
                memory_mask: Tensor | None = None, need_weights: bool = False
                ) -> Tensor | tuple[Tensor, Tensor]:
        """``x``: ``(batch, tgt_len, d_model)``, ``memory``: ``(batch, src_len, d_model)``.

        ``tgt_mask`` (usually causal) broadcasts to ``(batch, heads, tgt_len, tgt_len)``,
        ``memory_mask`` to ``(batch, heads, tgt_len, src_len)``. With ``need_weights=True`` the
        cross-attention weights ``(batch, heads, tgt_len, src_len)`` are returned as well.
        """
        def sa(h: Tensor) -> Tensor:
            return self.dropout1(self.self_attn(h, h, h, mask=tgt_mask)[0])

        def ca(h: Tensor) -> tuple[Tensor, Tensor | None]:
            out, w = self.cross_attn(h, memory, memory, mask=memory_mask, need_weights=need_weights)
            return self.dropout2(out), w

        def ff(h: Tensor) -> Tensor:
            return self.dropout3(self.feed_forward(h))

        if self.norm_first:
            x = x + sa(self.norm1(x))
            out, weights = ca(self.norm2(x))
            x = x + out
            x = x + ff(self.norm3(x))
        else:
            x = self.norm1(x + sa(x))
            out, weights = ca(x)
            x = self.norm2(x + out)
            x = self.norm3(x + ff(x))
        return (x, weights) if need_weights else x


class Encoder(nn.Module):
    """A stack of ``num_layers`` identical encoder layers (N = 6 in the paper).

    Pre-LN stacks end with a final LayerNorm (``norm``); post-LN stacks, as in the paper, need
    none and ``norm`` is the identity.
    """

    def __init__(self, num_layers: int, d_model: int, num_heads: int, d_ff: int,
                 dropout: float = 0.1, norm_first: bool = False, layer_norm_eps: float = 1e-5):
        super().__init__()
        check_int("num_layers", num_layers)
        self.layers = nn.ModuleList(
            EncoderLayer(d_model, num_heads, d_ff, dropout, norm_first, layer_norm_eps)
            for _ in range(num_layers)
        )
        self.norm = nn.LayerNorm(d_model, eps=layer_norm_eps) if norm_first else nn.Identity()

    def forward(self, x: Tensor, mask: Tensor | None = None) -> Tensor:
        for layer in self.layers:
            x = layer(x, mask)
        return self.norm(x)


class Decoder(nn.Module):
    """A stack of ``num_layers`` identical decoder layers, with a final LayerNorm for pre-LN."""

    def __init__(self, num_layers: int, d_model: int, num_heads: int, d_ff: int,
                 dropout: float = 0.1, norm_first: bool = False, layer_norm_eps: float = 1e-5):
        super().__init__()
        check_int("num_layers", num_layers)
        self.layers = nn.ModuleList(
            DecoderLayer(d_model, num_heads, d_ff, dropout, norm_first, layer_norm_eps)
            for _ in range(num_layers)
        )
        self.norm = nn.LayerNorm(d_model, eps=layer_norm_eps) if norm_first else nn.Identity()

    def forward(self, x: Tensor, memory: Tensor, tgt_mask: Tensor | None = None,
                memory_mask: Tensor | None = None, need_weights: bool = False
                ) -> Tensor | tuple[Tensor, list[Tensor]]:
        """With ``need_weights=True`` also returns each layer's cross-attention weights."""
        cross_weights = []
        for layer in self.layers:
            if need_weights:
                x, w = layer(x, memory, tgt_mask, memory_mask, need_weights=True)
                cross_weights.append(w)
            else:
                x = layer(x, memory, tgt_mask, memory_mask)
        x = self.norm(x)
        return (x, cross_weights) if need_weights else x


@torch.no_grad()
def copy_torch_weights(ours: nn.Module, theirs: nn.Module) -> None:
    """Copy the weights of a ``torch.nn`` built-in into our equivalent module, in place.

    Supported pairs (ours <- theirs): ``MultiHeadAttention`` <- ``nn.MultiheadAttention``,
    ``EncoderLayer`` <- ``nn.TransformerEncoderLayer``, ``DecoderLayer`` <-
    ``nn.TransformerDecoderLayer`` (``multihead_attn`` -> ``cross_attn``), ``Encoder`` <-
    ``nn.TransformerEncoder`` and ``Decoder`` <- ``nn.TransformerDecoder``. The chapters and
    tests use it to check that our layers compute exactly what PyTorch's compute.

    PyTorch keeps W^Q, W^K, W^V stacked in one ``in_proj_weight`` of shape
    ``(3 * d_model, d_model)``; here it is cut into our three projections. A stack's final
    ``norm`` is copied when both stacks have a LayerNorm there; when ours is the identity
    (post-LN) theirs must be ``None`` or ``nn.Identity`` too, since otherwise the two
    compute different functions.
    """
    def copy_linear(dst: nn.Linear, weight: Tensor, bias: Tensor | None) -> None:
        if (dst.bias is None) != (bias is None):
            raise ValueError(
                f"bias mismatch: ours has bias={dst.bias is not None}, theirs {bias is not None}"
            )
        dst.weight.copy_(weight)
        if bias is not None:
            dst.bias.copy_(bias)

    def copy_layer_norm(dst: nn.LayerNorm, src: nn.LayerNorm, where: str) -> None:
        if dst.eps != src.eps:
            raise ValueError(f"{where}: ours has eps={dst.eps}, theirs eps={src.eps}")
        dst.load_state_dict(src.state_dict())

    def copy_norm(dst: nn.Module, src: nn.Module | None, where: str) -> None:
        if isinstance(dst, nn.LayerNorm) and isinstance(src, nn.LayerNorm):
            copy_layer_norm(dst, src, where)
        elif not (isinstance(dst, nn.Identity) and (src is None or isinstance(src, nn.Identity))):
            raise ValueError(
                f"{where}: cannot copy {type(src).__name__} into {type(dst).__name__}; "
                "a post-LN stack has no final norm, a pre-LN stack has a LayerNorm"
            )

    pairs = [(MultiHeadAttention, nn.MultiheadAttention),
             (EncoderLayer, nn.TransformerEncoderLayer),
             (DecoderLayer, nn.TransformerDecoderLayer), (Encoder, nn.TransformerEncoder),
             (Decoder, nn.TransformerDecoder)]
    if not any(isinstance(ours, a) and isinstance(theirs, b) for a, b in pairs):
        raise TypeError(
            f"cannot copy {type(theirs).__name__} into {type(ours).__name__}; supported pairs: "
            + ", ".join(f"{a.__name__} <- nn.{b.__name__}" for a, b in pairs)
        )
    if isinstance(ours, MultiHeadAttention):
        if theirs.embed_dim != ours.d_model or theirs.num_heads != ours.num_heads:
            raise ValueError(
                f"shape mismatch: ours has d_model={ours.d_model}, num_heads={ours.num_heads}; "
                f"theirs has embed_dim={theirs.embed_dim}, num_heads={theirs.num_heads}"
            )
        bias = theirs.in_proj_bias
        biases = bias.chunk(3) if bias is not None else (None, None, None)
        for dst, w, b in zip((ours.q_proj, ours.k_proj, ours.v_proj),
                             theirs.in_proj_weight.chunk(3), biases, strict=True):
            copy_linear(dst, w, b)
        copy_linear(ours.out_proj, theirs.out_proj.weight, theirs.out_proj.bias)
        return
    if isinstance(ours, (Encoder, Decoder)):
        if len(ours.layers) != len(theirs.layers):
            raise ValueError(
                f"ours has {len(ours.layers)} layers but theirs has {len(theirs.layers)}"
            )
        for dst, src in zip(ours.layers, theirs.layers, strict=True):
            copy_torch_weights(dst, src)
        copy_norm(ours.norm, theirs.norm, "norm")
        return
    if ours.norm_first != theirs.norm_first:
        raise ValueError(
            f"ours has norm_first={ours.norm_first} but theirs has norm_first={theirs.norm_first}"
        )
    activation = ours.feed_forward.activation
    same_activation = theirs.activation is activation or (
        activation is F.relu and getattr(theirs, "activation_relu_or_gelu", 0) == 1
    )
    if not same_activation:
        raise ValueError(
            f"activation mismatch: ours is {getattr(activation, '__name__', activation)!s}, "
            f"theirs is {theirs.activation!r}"
        )
    copy_torch_weights(ours.self_attn, theirs.self_attn)
    if isinstance(ours, DecoderLayer):
        copy_torch_weights(ours.cross_attn, theirs.multihead_attn)
    for name in ("linear1", "linear2"):
        copy_linear(getattr(ours.feed_forward, name), getattr(theirs, name).weight,
                    getattr(theirs, name).bias)
    for name in ("norm1", "norm2", "norm3"):
        if hasattr(ours, name):
            copy_layer_norm(getattr(ours, name), getattr(theirs, name), name)
