"""Our modules next to PyTorch's built-ins: copy a ``torch.nn`` layer's weights into ours.

The chapters, the tests and the benchmarks use :func:`copy_torch_weights` to show that our
layers compute exactly what PyTorch's compute, and to time the two on the same weights.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .attention import MultiHeadAttention
from .layers import Decoder, DecoderLayer, Encoder, EncoderLayer

__all__ = ["copy_torch_weights"]


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
        _copy_attention(ours, theirs)
    elif isinstance(ours, (Encoder, Decoder)):
        _copy_stack(ours, theirs)
    else:
        _copy_layer(ours, theirs)


def _copy_attention(ours: MultiHeadAttention, theirs: nn.MultiheadAttention) -> None:
    """W^Q, W^K, W^V cut out of PyTorch's stacked ``in_proj_weight``, and W^O."""
    if theirs.embed_dim != ours.d_model or theirs.num_heads != ours.num_heads:
        raise ValueError(
            f"shape mismatch: ours has d_model={ours.d_model}, num_heads={ours.num_heads}; "
            f"theirs has embed_dim={theirs.embed_dim}, num_heads={theirs.num_heads}"
        )
    bias = theirs.in_proj_bias
    biases = bias.chunk(3) if bias is not None else (None, None, None)
    for dst, w, b in zip((ours.q_proj, ours.k_proj, ours.v_proj),
                         theirs.in_proj_weight.chunk(3), biases, strict=True):
        _copy_linear(dst, w, b)
    _copy_linear(ours.out_proj, theirs.out_proj.weight, theirs.out_proj.bias)


def _copy_stack(ours: Encoder | Decoder,
                theirs: nn.TransformerEncoder | nn.TransformerDecoder) -> None:
    """Layer by layer, then the final norm."""
    if len(ours.layers) != len(theirs.layers):
        raise ValueError(
            f"ours has {len(ours.layers)} layers but theirs has {len(theirs.layers)}"
        )
    for dst, src in zip(ours.layers, theirs.layers, strict=True):
        copy_torch_weights(dst, src)
    _copy_norm(ours.norm, theirs.norm, "norm")


def _copy_layer(ours: EncoderLayer | DecoderLayer,
                theirs: nn.TransformerEncoderLayer | nn.TransformerDecoderLayer) -> None:
    """One layer of the same arrangement (post- or pre-LN) and activation: its attentions, its
    feed-forward network and its norms."""
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
    _copy_attention(ours.self_attn, theirs.self_attn)
    if isinstance(ours, DecoderLayer):
        _copy_attention(ours.cross_attn, theirs.multihead_attn)
    for name in ("linear1", "linear2"):
        _copy_linear(getattr(ours.feed_forward, name), getattr(theirs, name).weight,
                     getattr(theirs, name).bias)
    for name in ("norm1", "norm2", "norm3"):
        if hasattr(ours, name):
            _copy_layer_norm(getattr(ours, name), getattr(theirs, name), name)


def _copy_linear(dst: nn.Linear, weight: Tensor, bias: Tensor | None) -> None:
    if (dst.bias is None) != (bias is None):
        raise ValueError(
            f"bias mismatch: ours has bias={dst.bias is not None}, theirs {bias is not None}"
        )
    dst.weight.copy_(weight)
    if bias is not None:
        dst.bias.copy_(bias)


def _copy_layer_norm(dst: nn.LayerNorm, src: nn.LayerNorm, where: str) -> None:
    if dst.eps != src.eps:
        raise ValueError(f"{where}: ours has eps={dst.eps}, theirs eps={src.eps}")
    dst.load_state_dict(src.state_dict())


def _copy_norm(dst: nn.Module, src: nn.Module | None, where: str) -> None:
    """A stack's final norm: a LayerNorm into a LayerNorm; none (or the identity) into the
    identity."""
    if isinstance(dst, nn.LayerNorm) and isinstance(src, nn.LayerNorm):
        _copy_layer_norm(dst, src, where)
    elif not (isinstance(dst, nn.Identity) and (src is None or isinstance(src, nn.Identity))):
        raise ValueError(
            f"{where}: cannot copy {type(src).__name__} into {type(dst).__name__}; "
            "a post-LN stack has no final norm, a pre-LN stack has a LayerNorm"
        )
