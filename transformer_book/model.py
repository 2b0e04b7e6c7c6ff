"""The encoder-decoder Transformer (Vaswani et al., 2017, section 3 and Table 3)."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch
from torch import Tensor, nn

from ._checks import check_fraction, check_int
from .layers import Decoder, Encoder
from .masks import attention_mask
from .positional import PositionalEncoding

__all__ = ["TransformerConfig", "Transformer"]


@dataclass
class TransformerConfig:
    """Hyper-parameters, named as in the paper (``d_model``, ``h`` = ``num_heads``,
    ``N`` = ``num_layers``, ``d_ff``, ``P_drop`` = ``dropout``).

    ``tie_embeddings`` shares the target embedding with the output projection;
    ``share_embeddings`` also shares the source embedding (needs one vocabulary), which is
    the paper's setting (section 3.4).
    """

    src_vocab_size: int
    tgt_vocab_size: int
    d_model: int = 512
    num_heads: int = 8
    num_layers: int = 6
    d_ff: int = 2048
    dropout: float = 0.1
    max_len: int = 512
    norm_first: bool = False
    tie_embeddings: bool = True
    share_embeddings: bool = False

    def __post_init__(self) -> None:
        for name in ("src_vocab_size", "tgt_vocab_size", "d_model", "num_heads", "num_layers",
                     "d_ff", "max_len"):
            check_int(name, getattr(self, name))
        if self.d_model % self.num_heads != 0:
            raise ValueError(
                f"d_model={self.d_model} is not divisible by num_heads={self.num_heads}"
            )
        check_fraction("dropout", self.dropout)
        if self.share_embeddings and self.src_vocab_size != self.tgt_vocab_size:
            raise ValueError(
                f"share_embeddings=True needs one vocabulary, but src_vocab_size="
                f"{self.src_vocab_size} and tgt_vocab_size={self.tgt_vocab_size}"
            )

    @classmethod
    def base(cls, vocab_size: int = 37000, **overrides) -> TransformerConfig:
        """The paper's base model (Table 3), shared source/target vocabulary."""
        kw = dict(src_vocab_size=vocab_size, tgt_vocab_size=vocab_size, share_embeddings=True)
        return cls(**{**kw, **overrides})

    @classmethod
    def big(cls, vocab_size: int = 37000, **overrides) -> TransformerConfig:
        """The paper's big model (Table 3): d_model 1024, 16 heads, d_ff 4096, P_drop 0.3."""
        kw = dict(src_vocab_size=vocab_size, tgt_vocab_size=vocab_size, share_embeddings=True,
                  d_model=1024, num_heads=16, d_ff=4096, dropout=0.3)
        return cls(**{**kw, **overrides})

    @classmethod
    def small(cls, src_vocab_size: int, tgt_vocab_size: int, **overrides) -> TransformerConfig:
        """A model that trains in minutes on a laptop CPU: d_model 128, 4 heads, 2+2 layers."""
        kw = dict(src_vocab_size=src_vocab_size, tgt_vocab_size=tgt_vocab_size, d_model=128,
                  num_heads=4, num_layers=2, d_ff=256, dropout=0.1, max_len=128)
        return cls(**{**kw, **overrides})

    def to_dict(self) -> dict:
        return asdict(self)


class Transformer(nn.Module):
    """Embeddings (scaled by sqrt(d_model)) + sinusoidal positions, the encoder and decoder
    stacks, and a linear projection to target-vocabulary logits.

    Token tensors are ``(batch, seq)`` integer ids; padding masks are ``(batch, seq)`` bool,
    ``True`` at real tokens. The decoder's self-attention is always causal.

    >>> model = Transformer(TransformerConfig.small(20, 20))
    >>> model(torch.randint(20, (2, 7)), torch.randint(20, (2, 5))).shape
    torch.Size([2, 5, 20])
    """

    def __init__(self, config: TransformerConfig):
        super().__init__()
        if not isinstance(config, TransformerConfig):
            raise TypeError(f"config must be a TransformerConfig, got {type(config).__name__}")
        self.config = c = config
        self.tgt_embed = nn.Embedding(c.tgt_vocab_size, c.d_model)
        self.src_embed = (self.tgt_embed if c.share_embeddings
                          else nn.Embedding(c.src_vocab_size, c.d_model))
        self.positional = PositionalEncoding(c.d_model, c.max_len, c.dropout)
        layer_args = (c.num_layers, c.d_model, c.num_heads, c.d_ff, c.dropout, c.norm_first)
        self.encoder = Encoder(*layer_args)
        self.decoder = Decoder(*layer_args)
        self.generator = nn.Linear(c.d_model, c.tgt_vocab_size, bias=False)
        for p in self.parameters():
            if p.dim() > 1:
                nn.init.xavier_uniform_(p)
        if c.tie_embeddings or c.share_embeddings:
            self.generator.weight = self.tgt_embed.weight

    def _embed(self, tokens: Tensor, embedding: nn.Embedding, name: str) -> Tensor:
        if not isinstance(tokens, Tensor):
            raise TypeError(
                f"{name} must be a torch.Tensor of token ids, got {type(tokens).__name__}"
            )
        if tokens.dim() != 2 or tokens.dtype.is_floating_point or tokens.dtype == torch.bool:
            raise ValueError(
                f"{name} must be a (batch, seq) tensor of integer token ids, got shape "
                f"{tuple(tokens.shape)} and dtype {tokens.dtype}"
            )
        if tokens.size(1) > self.config.max_len:
            raise ValueError(
                f"{name} has length {tokens.size(1)}, longer than max_len={self.config.max_len}"
            )
        return self.positional(embedding(tokens) * math.sqrt(self.config.d_model))

    @staticmethod
    def _check_padding(mask: Tensor | None, tokens: Tensor, name: str) -> None:
        if mask is None:
            return
        if not isinstance(mask, Tensor):
            raise TypeError(
                f"{name} must be a bool torch.Tensor or None, got {type(mask).__name__}"
            )
        if mask.dtype != torch.bool or mask.shape != tokens.shape:
            raise ValueError(
                f"{name} must be a bool tensor of shape {tuple(tokens.shape)} (True = real token), "
                f"got dtype {mask.dtype} and shape {tuple(mask.shape)}"
            )

    def encode(self, src: Tensor, src_padding_mask: Tensor | None = None) -> Tensor:
        """``(batch, src_len)`` ids -> the memory ``(batch, src_len, d_model)``."""
        x = self._embed(src, self.src_embed, "src")
        self._check_padding(src_padding_mask, src, "src_padding_mask")
        return self.encoder(x, attention_mask(src_padding_mask))

    def decode(self, tgt: Tensor, memory: Tensor, src_padding_mask: Tensor | None = None,
               tgt_padding_mask: Tensor | None = None, need_weights: bool = False
               ) -> Tensor | tuple[Tensor, list[Tensor]]:
        """``(batch, tgt_len)`` ids and the memory -> logits ``(batch, tgt_len, tgt_vocab)``.

        With ``need_weights=True`` also returns each decoder layer's cross-attention weights,
        ``(batch, heads, tgt_len, src_len)``.
        """
        x = self._embed(tgt, self.tgt_embed, "tgt")
        self._check_padding(tgt_padding_mask, tgt, "tgt_padding_mask")
        d_model = self.config.d_model
        if not isinstance(memory, Tensor) or memory.dim() != 3 or memory.size(-1) != d_model:
            shape = tuple(memory.shape) if isinstance(memory, Tensor) else type(memory).__name__
            raise ValueError(
                f"memory must have shape (batch, src_len, d_model={d_model}), got {shape}"
            )
        if tgt.size(0) != memory.size(0):
            raise ValueError(
                f"tgt has batch size {tgt.size(0)} but the memory (from src) has {memory.size(0)}"
            )
        if src_padding_mask is not None and src_padding_mask.shape != memory.shape[:2]:
            raise ValueError(
                f"src_padding_mask has shape {tuple(src_padding_mask.shape)} but the memory has "
                f"(batch, src_len) = {tuple(memory.shape[:2])}"
            )
        tgt_mask = attention_mask(tgt_padding_mask, causal_size=tgt.size(1), device=tgt.device)
        out = self.decoder(x, memory, tgt_mask, attention_mask(src_padding_mask), need_weights)
        if need_weights:
            return self.generator(out[0]), out[1]
        return self.generator(out)

    def forward(self, src: Tensor, tgt: Tensor, src_padding_mask: Tensor | None = None,
                tgt_padding_mask: Tensor | None = None) -> Tensor:
        """Teacher-forced logits ``(batch, tgt_len, tgt_vocab)``."""
        if isinstance(src, Tensor) and isinstance(tgt, Tensor) and src.size(0) != tgt.size(0):
            raise ValueError(
                f"src and tgt must share the batch size, got {src.size(0)} and {tgt.size(0)}"
            )
        memory = self.encode(src, src_padding_mask)
        return self.decode(tgt, memory, src_padding_mask, tgt_padding_mask)
