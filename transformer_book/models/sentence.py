"""The Transformer encoder as a sentence encoder (chapter 10).

As in the Transformer variant of the Universal Sentence Encoder (Cer et al., 2018), the
encoder's output vectors are pooled over the real tokens of a sentence into one vector, here by
their mean, and normalised to unit length, so that the dot product of two sentence vectors is
their cosine similarity. The encoder is trained with an in-batch contrastive objective (InfoNCE,
van den Oord et al., 2018, in the symmetric form of CLIP, Radford et al., 2021).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .._checks import (
    check_float_tensor,
    check_integer,
    check_padding_mask,
    check_positive,
    check_token_ids,
)
from ..layers import Encoder
from ..masks import attention_mask
from ..positional import PositionalEncoding

__all__ = ["mean_pool", "info_nce_loss", "SentenceEncoder"]


def mean_pool(hidden: Tensor, padding_mask: Tensor) -> Tensor:
    """The mean of ``hidden`` over the real positions of each sequence.

    Args:
        hidden: ``(batch, seq, d)`` floating-point vectors (the encoder's outputs).
        padding_mask: ``(batch, seq)`` bool, ``True`` at real tokens; padding positions are
            ignored, whatever ``hidden`` holds there.

    Returns:
        ``(batch, d)``. A sequence with no real token gets a zero vector (never NaN).

    >>> h = torch.tensor([[[1.0, 2.0], [3.0, 4.0], [99.0, 99.0]]])
    >>> mean_pool(h, torch.tensor([[True, True, False]]))
    tensor([[2., 3.]])
    """
    check_float_tensor("hidden", hidden, "(batch, seq, d)", dim=3)
    check_padding_mask("padding_mask", padding_mask, hidden.shape[:2])
    keep = padding_mask.unsqueeze(-1)  # (batch, seq, 1)
    total = hidden.masked_fill(~keep, 0.0).sum(dim=1)  # padding adds nothing
    count = keep.sum(dim=1).clamp(min=1).to(hidden.dtype)  # (batch, 1); no real token -> 1
    return total / count


def info_nce_loss(a: Tensor, b: Tensor, temperature: float = 0.05,
                  symmetric: bool = True) -> Tensor:
    r"""In-batch contrastive loss: row ``i`` of ``a`` must pick row ``i`` of ``b`` among all rows.

    With logits :math:`s_{ij} = a_i \cdot b_j / \tau`, the loss of ``a`` -> ``b`` is the
    cross-entropy :math:`-\frac{1}{B}\sum_i \log \frac{e^{s_{ii}}}{\sum_j e^{s_{ij}}}`: every other
    row of the batch serves as a negative example. ``symmetric=True`` averages it with the loss of
    ``b`` -> ``a`` (the columns), as CLIP does.

    Args:
        a, b: ``(batch, d)`` embeddings, row ``i`` of ``a`` paired with row ``i`` of ``b``;
            normalise them first for cosine similarities.
        temperature: :math:`\tau > 0`; smaller values sharpen the softmax.
        symmetric: average both directions (default) or use ``a`` -> ``b`` only.

    Returns:
        A scalar tensor.
    """
    check_float_tensor("a", a, "(batch, d)", dim=2)
    check_float_tensor("b", b, "(batch, d)", dim=2)
    if a.shape != b.shape:
        raise ValueError(f"a and b must have the same shape, got {tuple(a.shape)} and "
                         f"{tuple(b.shape)}")
    check_positive("temperature", temperature)
    logits = a @ b.T / temperature  # (batch, batch); the diagonal holds the true pairs
    labels = torch.arange(a.size(0), device=a.device)
    loss = F.cross_entropy(logits, labels)
    if symmetric:
        loss = (loss + F.cross_entropy(logits.T, labels)) / 2
    return loss


class SentenceEncoder(nn.Module):
    """Token ids -> one unit-length vector per sentence.

    Embedding (scaled by ``sqrt(d_model)``) + sinusoidal positions, the package's ``Encoder``
    stack with a padding mask, then :func:`mean_pool` over real tokens and L2 normalisation.

    >>> model = SentenceEncoder(vocab_size=30, d_model=16, num_heads=2, num_layers=1, d_ff=32)
    >>> model(torch.tensor([[5, 6, 7], [8, 9, 0]])).shape
    torch.Size([2, 16])
    """

    def __init__(self, vocab_size: int, d_model: int = 64, num_heads: int = 4,
                 num_layers: int = 2, d_ff: int = 128, dropout: float = 0.1,
                 max_len: int = 128, pad_id: int = 0, norm_first: bool = False):
        super().__init__()
        check_integer("vocab_size", vocab_size)
        check_integer("d_model", d_model)
        if check_integer("pad_id", pad_id, minimum=0) >= vocab_size:
            raise ValueError(f"pad_id={pad_id!r} must be an int in [0, vocab_size={vocab_size})")
        self.d_model, self.pad_id = d_model, pad_id
        self.embedding = nn.Embedding(vocab_size, d_model, padding_idx=pad_id)
        self.positional = PositionalEncoding(d_model, max_len, dropout)
        self.encoder = Encoder(d_model, num_heads, num_layers, d_ff, dropout=dropout,
                               norm_first=norm_first)
        # As in the package's Transformer: Xavier-uniform matrices. It keeps the scaled token
        # embeddings (x sqrt(d_model)) of the same size as the positional encoding, which a
        # default N(0, 1) embedding would drown; the padding row stays zero.
        for p in self.parameters():
            if p.dim() > 1:
                nn.init.xavier_uniform_(p)
        with torch.no_grad():
            self.embedding.weight[pad_id].zero_()

    def token_vectors(self, tokens: Tensor, padding_mask: Tensor | None = None) -> Tensor:
        """``(batch, seq)`` ids -> the encoder's context-aware vectors ``(batch, seq, d_model)``.

        ``padding_mask`` is ``(batch, seq)`` bool, ``True`` at real tokens; by default
        ``tokens != pad_id``."""
        padding_mask = self._padding_mask(tokens, padding_mask)
        x = self.positional(self.embedding(tokens) * math.sqrt(self.d_model))
        return self.encoder(x, attention_mask(padding_mask))

    def forward(self, tokens: Tensor, padding_mask: Tensor | None = None) -> Tensor:
        """``(batch, seq)`` ids (and optionally their padding mask, as in ``token_vectors``)
        -> ``(batch, d_model)`` unit vectors."""
        padding_mask = self._padding_mask(tokens, padding_mask)
        pooled = mean_pool(self.token_vectors(tokens, padding_mask), padding_mask)
        return F.normalize(pooled, dim=-1)

    def _padding_mask(self, tokens: Tensor, padding_mask: Tensor | None) -> Tensor:
        check_token_ids("tokens", tokens)
        if padding_mask is None:
            return tokens != self.pad_id
        return check_padding_mask("padding_mask", padding_mask, tokens.shape)
