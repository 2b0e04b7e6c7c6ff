"""Positional encoding (Vaswani et al., 2017, section 3.5), and rotary position embeddings.

PE(pos, 2i) = sin(pos / 10000^(2i / d_model)),  PE(pos, 2i + 1) = cos(pos / 10000^(2i / d_model)).

Rotary embeddings (Su et al., RoFormer) add nothing to the input: they turn each query and key
of attention by the rotation ``M_pos`` of its own position, the block-diagonal matrix of 2x2
rotations by the angles ``pos * w_i`` under which the sinusoidal table moves
(``PE[pos + k] = M_k PE[pos]``). A score ``(M_m q) . (M_n k) = q . M_(n-m) k`` then depends on
the offset ``n - m`` only.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from ._checks import check_float_tensor, check_fraction, check_integer

__all__ = ["sinusoidal_encoding", "PositionalEncoding", "RotaryEmbedding"]


def sinusoidal_encoding(d_model: int, max_len: int) -> Tensor:
    """The ``(max_len, d_model)`` float32 table of sinusoidal positional encodings.

    Row ``pos`` is the encoding of position ``pos``. Even columns ``2i`` hold
    ``sin(pos * w_i)``, odd columns ``2i + 1`` hold ``cos(pos * w_i)``, with the frequency
    ``w_i = 10000^(-2i / d_model)``. An odd ``d_model`` simply drops the last cosine. The
    angles are computed in float64 and rounded once, so every entry is exact to float32
    precision even for long tables (a float32 angle ``pos * w_i`` would lose ~1e-4 at pos 5000).

    >>> sinusoidal_encoding(6, 4).shape
    torch.Size([4, 6])
    """
    check_integer("d_model", d_model)
    check_integer("max_len", max_len)
    two_i = torch.arange(0, d_model, 2, dtype=torch.float64)  # 0, 2, 4, ...
    frequency = torch.exp(two_i * (-math.log(10000.0) / d_model))  # (ceil(d_model / 2),)
    pe = torch.empty(max_len, d_model)
    rows = max(1, _CHUNK // d_model)  # float64 temporaries for this many rows at a time
    for start in range(0, max_len, rows):
        position = torch.arange(start, min(start + rows, max_len), dtype=torch.float64)[:, None]
        angle = position * frequency  # (rows, ceil(d_model / 2))
        pe[start: start + rows, 0::2] = torch.sin(angle)
        pe[start: start + rows, 1::2] = torch.cos(angle[:, : d_model // 2])
    return pe


_CHUNK = 1 << 20
"""Numbers of the table computed at a time by ``sinusoidal_encoding``, so that its float64
temporaries stay small beside the float32 table itself."""


class PositionalEncoding(nn.Module):
    """Adds the sinusoidal table to ``(batch, seq, d_model)`` inputs, then applies dropout.

    Args:
        d_model: model width (any positive int; odd widths are allowed).
        max_len: longest sequence accepted; longer inputs raise ``ValueError``.
        dropout: dropout probability applied to the sum (the paper uses 0.1).

    The table is a (non-persistent) buffer: it follows ``.to(device)`` and ``.half()`` and is not
    stored in checkpoints, since it is a function of the shape alone.

    >>> PositionalEncoding(8, max_len=16)(torch.zeros(2, 5, 8)).shape
    torch.Size([2, 5, 8])
    """

    def __init__(self, d_model: int, max_len: int = 5000, dropout: float = 0.0):
        super().__init__()
        check_integer("d_model", d_model)
        check_integer("max_len", max_len)
        check_fraction("dropout", dropout)
        self.register_buffer("pe", sinusoidal_encoding(d_model, max_len), persistent=False)
        self.dropout = nn.Dropout(dropout)
        self.d_model = d_model
        self.max_len = max_len

    def forward(self, x: Tensor, start: int = 0) -> Tensor:
        """``x``: ``(batch, seq, d_model)``, the positions ``start, ..., start + seq - 1``, with
        ``start + seq <= max_len``; returns the same shape. (``start > 0`` continues a sequence
        whose earlier positions were decoded before, see ``DecoderCache``.)"""
        if check_float_tensor("x", x).dim() != 3 or x.size(-1) != self.d_model:
            raise ValueError(
                f"x must have shape (batch, seq, d_model={self.d_model}), got {tuple(x.shape)}"
            )
        end = check_integer("start", start, minimum=0) + x.size(1)
        if end > self.max_len:
            after = f" after start={start}" if start else ""
            raise ValueError(
                f"x has seq={x.size(1)} positions{after}, more than max_len={self.max_len}; "
                f"build PositionalEncoding with max_len >= {end}"
            )
        return self.dropout(x + self.pe[start:end].to(x.dtype))

    def extra_repr(self) -> str:
        return f"d_model={self.d_model}, max_len={self.max_len}"


class RotaryEmbedding(nn.Module):
    """Rotary position embeddings: turn each pair ``(x_2i, x_2i+1)`` of a query or key at
    position ``pos`` by the angle ``pos * w_i``, ``w_i = base^(-2i / dim)``, in the direction of
    the sinusoidal table's shift (``M_pos`` of chapter 5).

    Args:
        dim: the width of the vectors turned (a head's ``d_k``); must be even.
        base: the wavelength scale, 10000 as in the sinusoidal table.

    ``forward(x, start=0)``: ``x`` is ``(..., seq, dim)``, its positions ``start, ..., start +
    seq - 1`` (``start > 0`` continues a sequence held in a key/value cache); returns the same
    shape. Rotations keep lengths: ``forward(x).norm(dim=-1) == x.norm(dim=-1)``. Nothing is
    learned and nothing is stored in checkpoints (the frequencies are a non-persistent buffer).

    >>> rope = RotaryEmbedding(4)
    >>> q, k = torch.randn(1, 5, 4), torch.randn(1, 5, 4)
    >>> scores = rope(q) @ rope(k).transpose(-2, -1)   # depends on the offset only:
    >>> shifted = rope(q, start=7) @ rope(k, start=7).transpose(-2, -1)
    >>> torch.allclose(scores, shifted, atol=1e-5)
    True
    """

    def __init__(self, dim: int, base: float = 10000.0):
        super().__init__()
        check_integer("dim", dim)
        if dim % 2:
            raise ValueError(f"dim={dim} must be even: rotary embeddings turn pairs of features")
        if isinstance(base, bool) or not isinstance(base, (int, float)) or not base > 1:
            raise ValueError(f"base={base!r} must be a number > 1")
        frequency = base ** (-torch.arange(0, dim, 2, dtype=torch.float64) / dim)
        self.register_buffer("frequency", frequency.to(torch.float32), persistent=False)
        self.dim = dim
        self.base = base

    def forward(self, x: Tensor, start: int = 0) -> Tensor:
        if check_float_tensor("x", x).dim() < 2 or x.size(-1) != self.dim:
            raise ValueError(f"x must have shape (..., seq, dim={self.dim}), got {tuple(x.shape)}")
        check_integer("start", start, minimum=0)
        position = torch.arange(start, start + x.size(-2), device=x.device,
                                dtype=torch.float32)
        angle = position[:, None] * self.frequency.to(x.device)  # (seq, dim / 2)
        cos, sin = angle.cos().to(x.dtype), angle.sin().to(x.dtype)
        even, odd = x[..., 0::2], x[..., 1::2]
        # Each pair turned by M_pos's 2x2 block [[cos, sin], [-sin, cos]].
        return torch.stack((cos * even + sin * odd, cos * odd - sin * even), dim=-1).flatten(-2)

    def extra_repr(self) -> str:
        return f"dim={self.dim}, base={self.base}"
