"""Chapter 9's RNNsearch.

``RNNSearch`` is the recurrent encoder-decoder with additive attention of Bahdanau et al. (2015),
the state of the art that the Transformer was measured against; with ``attention=False`` it is the
fixed-vector encoder-decoder of Cho et al. (2014) and Sutskever et al. (2014). It has the
interface of ``model.Transformer`` (``forward``, ``encode``, ``decode``, ``config``), so the same
training loop and decoders run on either.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import Tensor, nn

from .._checks import check_integer, check_memory, check_padding_mask, check_token_ids

__all__ = ["RNNSearchConfig", "RNNSearch"]


@dataclass
class RNNSearchConfig:
    """Sizes of an ``RNNSearch``, named as in ``TransformerConfig`` where the idea is the same.

    ``d_model`` is the width of the embeddings and of each GRU state (Bahdanau et al.'s ``m`` and
    ``n``, one number here); the encoder's annotations are ``2 * d_model`` wide. ``max_len`` bounds
    what the decoders generate (the recurrence itself has no length limit). ``attention=False``
    gives the fixed-vector encoder-decoder.
    """

    src_vocab_size: int
    tgt_vocab_size: int
    d_model: int = 64
    max_len: int = 64
    attention: bool = True
    share_embeddings: bool = False

    def __post_init__(self) -> None:
        for name in ("src_vocab_size", "tgt_vocab_size", "d_model", "max_len"):
            check_integer(name, getattr(self, name))
        for name in ("attention", "share_embeddings"):
            if not isinstance(getattr(self, name), bool):
                raise TypeError(f"{name}={getattr(self, name)!r} must be a bool")
        if self.share_embeddings and self.src_vocab_size != self.tgt_vocab_size:
            raise ValueError(
                f"share_embeddings=True needs one vocabulary, but src_vocab_size="
                f"{self.src_vocab_size} and tgt_vocab_size={self.tgt_vocab_size}"
            )

    def to_dict(self) -> dict:
        return asdict(self)


def _reverse_within(x: Tensor, lengths: Tensor) -> Tensor:
    """Reverse each row's first ``lengths[b]`` positions, leave the padding after them in place.

    ``x`` is ``(batch, seq, d)``, ``lengths`` ``(batch,)``; applying it twice gives ``x`` back.
    """
    t = torch.arange(x.size(1), device=x.device)
    n = lengths[:, None]
    index = torch.where(t < n, n - 1 - t, t)  # (batch, seq), computed on the device
    return x.gather(1, index[..., None].expand_as(x))


class RNNSearch(nn.Module):
    r"""The recurrent encoder-decoder of Bahdanau et al. (2015), "RNNsearch".

    Encoder: embeddings, then a bidirectional GRU; the annotation of source position ``j`` is
    ``h_j = [->h_j ; <-h_j]``, ``(batch, src_len, 2 d_model)`` (``encode`` returns them, the
    *memory*). Each direction reads only the real tokens, so padding changes nothing.

    Decoder: a GRU cell, one target position at a time, started from
    ``s_0 = tanh(W_s [->h_n ; <-h_1])``. At step ``i`` additive attention scores every annotation,
    ``e_ij = v_a^T tanh(W_a s_{i-1} + U_a h_j)``, the context is ``c_i = sum_j softmax(e_i)_j h_j``,
    and ``s_i = GRU([E y_{i-1} ; c_i], s_{i-1})``. The logits come from a deep output layer,
    ``W_o tanh(L_o [s_i ; c_i ; E y_{i-1}])`` (a tanh where the paper has a maxout). With
    ``config.attention=False`` every step gets the same fixed vector ``c = [->h_n ; <-h_1]``:
    the encoder-decoder of Cho et al. (2014) that squeezes the source into one vector.

    Token tensors are ``(batch, seq)`` ids and padding masks ``(batch, seq)`` bool, ``True`` at
    real tokens, as for ``Transformer``. The decoder is causal by construction (step ``i`` reads
    ``y_{<i}`` only), so ``tgt_padding_mask`` is checked but changes nothing.

    >>> model = RNNSearch(RNNSearchConfig(20, 20, d_model=16))
    >>> model(torch.randint(20, (2, 7)), torch.randint(20, (2, 5))).shape
    torch.Size([2, 5, 20])
    """

    def __init__(self, config: RNNSearchConfig):
        super().__init__()
        if not isinstance(config, RNNSearchConfig):
            raise TypeError(f"config must be an RNNSearchConfig, got {type(config).__name__}")
        self.config = c = config
        d = c.d_model
        self.tgt_embed = nn.Embedding(c.tgt_vocab_size, d)
        self.src_embed = (self.tgt_embed if c.share_embeddings
                          else nn.Embedding(c.src_vocab_size, d))
        self.encoder_fwd = nn.GRU(d, d, batch_first=True)
        self.encoder_bwd = nn.GRU(d, d, batch_first=True)
        self.init_state = nn.Linear(2 * d, d)  # W_s
        if c.attention:
            self.attn_query = nn.Linear(d, d, bias=False)  # W_a
            self.attn_key = nn.Linear(2 * d, d)  # U_a
            self.attn_score = nn.Linear(d, 1, bias=False)  # v_a
        self.decoder_cell = nn.GRUCell(3 * d, d)
        self.deep_output = nn.Linear(4 * d, d)  # L_o
        self.generator = nn.Linear(d, c.tgt_vocab_size)  # W_o

    def encode(self, src: Tensor, src_padding_mask: Tensor | None = None) -> Tensor:
        """``(batch, src_len)`` ids -> the annotations ``(batch, src_len, 2 d_model)``."""
        check_token_ids("src", src, nonempty=True)
        check_padding_mask("src_padding_mask", src_padding_mask, src.shape)
        x = self.src_embed(src)
        forward, _ = self.encoder_fwd(x)
        lengths = self._lengths(src_padding_mask, x)
        backward, _ = self.encoder_bwd(_reverse_within(x, lengths))
        return torch.cat([forward, _reverse_within(backward, lengths)], dim=-1)

    @staticmethod
    def _lengths(mask: Tensor | None, x: Tensor) -> Tensor:
        if mask is None:
            return torch.full((x.size(0),), x.size(1), dtype=torch.long, device=x.device)
        return mask.sum(dim=1)

    def decode(self, tgt: Tensor, memory: Tensor, src_padding_mask: Tensor | None = None,
               tgt_padding_mask: Tensor | None = None, need_weights: bool = False
               ) -> tuple[Tensor, list[Tensor] | None]:
        """``(batch, tgt_len)`` ids and the memory -> ``(logits, weights)``, logits
        ``(batch, tgt_len, tgt_vocab)``, as ``Transformer.decode`` returns them.

        With ``need_weights=True`` (attention only) the weights are a one-element list of
        ``(batch, 1, tgt_len, src_len)``, shaped like ``Transformer``'s; otherwise ``None``.
        """
        check_token_ids("tgt", tgt, nonempty=True)
        check_padding_mask("tgt_padding_mask", tgt_padding_mask, tgt.shape)
        d = self.config.d_model
        check_memory(memory, 2 * d, tgt.size(0), "2 * d_model")
        if src_padding_mask is not None:
            check_padding_mask("src_padding_mask", src_padding_mask, memory.shape[:2])
        if need_weights and not self.config.attention:
            raise ValueError("need_weights=True needs a model with attention=True")
        batch = torch.arange(memory.size(0), device=memory.device)
        last = self._lengths(src_padding_mask, memory) - 1
        fixed = torch.cat([memory[batch, last, :d], memory[:, 0, d:]], dim=-1)  # (batch, 2d)
        s = torch.tanh(self.init_state(fixed))
        if self.config.attention:
            keys = self.attn_key(memory)  # U_a h_j, computed once: (batch, src_len, d)
            if src_padding_mask is not None:
                hide = ~src_padding_mask
        y = self.tgt_embed(tgt)
        features, weights = [], []
        for i in range(tgt.size(1)):  # one step after the other: s_i needs s_{i-1}
            context = fixed
            if self.config.attention:
                scores = self.attn_score(torch.tanh(self.attn_query(s)[:, None] + keys))[..., 0]
                if src_padding_mask is not None:
                    scores = scores.masked_fill(hide, torch.finfo(scores.dtype).min)
                alpha = scores.softmax(dim=-1)  # (batch, src_len)
                if src_padding_mask is not None:  # an all-padding source attends to nothing
                    alpha = alpha * src_padding_mask
                context = (alpha[:, None] @ memory)[:, 0]
                weights.append(alpha)
            s = self.decoder_cell(torch.cat([y[:, i], context], dim=-1), s)
            features.append(torch.cat([s, context, y[:, i]], dim=-1))
        logits = self.generator(torch.tanh(self.deep_output(torch.stack(features, dim=1))))
        return logits, ([torch.stack(weights, dim=1)[:, None]] if need_weights else None)

    def forward(self, src: Tensor, tgt: Tensor, src_padding_mask: Tensor | None = None,
                tgt_padding_mask: Tensor | None = None) -> Tensor:
        """Teacher-forced logits ``(batch, tgt_len, tgt_vocab)``."""
        if isinstance(src, Tensor) and isinstance(tgt, Tensor) and src.size(0) != tgt.size(0):
            raise ValueError(
                f"src and tgt must share the batch size, got {src.size(0)} and {tgt.size(0)}"
            )
        memory = self.encode(src, src_padding_mask)
        return self.decode(tgt, memory, src_padding_mask, tgt_padding_mask)[0]
