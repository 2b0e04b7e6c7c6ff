"""Positional encoding (Vaswani et al., 2017, section 3.5).

PE(pos, 2i) = sin(pos / 10000^(2i / d_model)),  PE(pos, 2i + 1) = cos(pos / 10000^(2i / d_model)).
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from ._checks import check_float_tensor, check_fraction, check_integer

__all__ = ["sinusoidal_encoding", "PositionalEncoding"]


def sinusoidal_encoding(max_len: int, d_model: int) -> Tensor:
    """The ``(max_len, d_model)`` float32 table of sinusoidal positional encodings.

    Row ``pos`` is the encoding of position ``pos``. Even columns ``2i`` hold
    ``sin(pos * w_i)``, odd columns ``2i + 1`` hold ``cos(pos * w_i)``, with the frequency
    ``w_i = 10000^(-2i / d_model)``. An odd ``d_model`` simply drops the last cosine. The
    angles are computed in float64 and rounded once, so every entry is exact to float32
    precision even for long tables (a float32 angle ``pos * w_i`` would lose ~1e-4 at pos 5000).

    >>> sinusoidal_encoding(4, 6).shape
    torch.Size([4, 6])
    """
    check_integer("max_len", max_len)
    check_integer("d_model", d_model)
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
        self.register_buffer("pe", sinusoidal_encoding(max_len, d_model), persistent=False)
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
