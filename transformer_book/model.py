"""The encoder-decoder Transformer (Vaswani et al., 2017, section 3 and Table 3)."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import ClassVar

import torch  # noqa: F401  (the doctest uses it)
from torch import Tensor, nn

from ._checks import (
    check_fraction,
    check_heads,
    check_integer,
    check_memory,
    check_padding_mask,
    check_tensor,
    check_token_ids,
)
from .layers import Decoder, DecoderCache, Encoder, check_cache
from .masks import causal_mask, combine_masks
from .positional import PositionalEncoding

__all__ = ["TransformerConfig", "Transformer"]


@dataclass
class TransformerConfig:
    """Hyper-parameters, named as in the paper (``d_model``, ``h`` = ``num_heads``,
    ``N`` = ``num_layers``, ``d_ff``, ``P_drop`` = ``dropout``).

    ``dropout`` is the paper's (section 5.4): on each sub-layer's output before the residual add,
    and on the sums of the embeddings and the positional encodings. ``attn_dropout`` (on the
    attention weights) and ``ffn_dropout`` (inside the feed-forward, after the activation) are
    extra places some implementations use; the paper does not, so every size sets them to 0.

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
    attn_dropout: float = 0.0
    ffn_dropout: float = 0.0
    max_len: int = 512
    norm_first: bool = False
    tie_embeddings: bool = True
    share_embeddings: bool = False

    SIZES: ClassVar[tuple[str, ...]] = ("tiny", "small", "base", "big")
    """The names of the model sizes below, each a classmethod: ``TransformerConfig.small(V)``."""

    def __post_init__(self) -> None:
        for name in ("src_vocab_size", "tgt_vocab_size", "num_layers", "d_ff", "max_len"):
            check_integer(name, getattr(self, name))
        check_heads(self.d_model, self.num_heads)
        for name in ("dropout", "attn_dropout", "ffn_dropout"):
            check_fraction(name, getattr(self, name))
        for name in ("norm_first", "tie_embeddings", "share_embeddings"):
            if not isinstance(getattr(self, name), bool):
                raise TypeError(f"{name}={getattr(self, name)!r} must be a bool")
        if self.share_embeddings and self.src_vocab_size != self.tgt_vocab_size:
            raise ValueError(
                f"share_embeddings=True needs one vocabulary, but src_vocab_size="
                f"{self.src_vocab_size} and tgt_vocab_size={self.tgt_vocab_size}"
            )

    # The model sizes. Each takes one vocabulary shared by source and target (and then shares the
    # embeddings, as the paper does), or two vocabularies (``tgt_vocab_size``), and overrides.

    @classmethod
    def tiny(cls, vocab_size: int, tgt_vocab_size: int | None = None,
             **overrides) -> TransformerConfig:
        """Seconds on a CPU, for tests and smoke runs: d_model 32, 2 heads, 1+1 layers, d_ff 64,
        no dropout, max_len 64."""
        return cls._sized(vocab_size, tgt_vocab_size, overrides, d_model=32, num_heads=2,
                          num_layers=1, d_ff=64, dropout=0.0, max_len=64)

    @classmethod
    def small(cls, vocab_size: int, tgt_vocab_size: int | None = None,
              **overrides) -> TransformerConfig:
        """Chapter 8's model, which learns the dates task in about a minute on a laptop CPU:
        d_model 64, 4 heads, 2+2 layers, d_ff 128, max_len 64. No dropout: chapter 8 draws fresh
        training pairs every epoch, so so small a model has little to over-fit."""
        return cls._sized(vocab_size, tgt_vocab_size, overrides, d_model=64, num_heads=4,
                          num_layers=2, d_ff=128, dropout=0.0, max_len=64)

    @classmethod
    def base(cls, vocab_size: int = 37000, tgt_vocab_size: int | None = None,
             **overrides) -> TransformerConfig:
        """The paper's base model (Table 3): d_model 512, 8 heads, 6+6 layers, d_ff 2048,
        P_drop 0.1 (37000 shared byte-pair tokens by default)."""
        return cls._sized(vocab_size, tgt_vocab_size, overrides, d_model=512, num_heads=8,
                          num_layers=6, d_ff=2048, dropout=0.1)

    @classmethod
    def big(cls, vocab_size: int = 37000, tgt_vocab_size: int | None = None,
            **overrides) -> TransformerConfig:
        """The paper's big model (Table 3): d_model 1024, 16 heads, 6+6 layers, d_ff 4096,
        P_drop 0.3."""
        return cls._sized(vocab_size, tgt_vocab_size, overrides, d_model=1024, num_heads=16,
                          num_layers=6, d_ff=4096, dropout=0.3)

    @classmethod
    def _sized(cls, vocab_size: int, tgt_vocab_size: int | None, overrides: dict,
               **size) -> TransformerConfig:
        if tgt_vocab_size is None:
            vocab = dict(src_vocab_size=vocab_size, tgt_vocab_size=vocab_size,
                         share_embeddings=True)
        else:
            vocab = dict(src_vocab_size=vocab_size, tgt_vocab_size=tgt_vocab_size)
        return cls(**{**vocab, **size, **overrides})

    def to_dict(self) -> dict:
        return asdict(self)


class Transformer(nn.Module):
    """Embeddings (scaled by sqrt(d_model)) + sinusoidal positions, the encoder and decoder
    stacks, and a linear projection to target-vocabulary logits.

    Token tensors are ``(batch, seq)`` integer ids; padding masks are ``(batch, seq)`` bool,
    ``True`` at real tokens. The decoder's self-attention is always causal.

    >>> model = Transformer(TransformerConfig.tiny(20))
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
        stack = dict(num_layers=c.num_layers, d_model=c.d_model, num_heads=c.num_heads,
                     d_ff=c.d_ff, dropout=c.dropout, norm_first=c.norm_first,
                     attn_dropout=c.attn_dropout, ffn_dropout=c.ffn_dropout)
        self.encoder = Encoder(**stack)
        self.decoder = Decoder(**stack)
        self.generator = nn.Linear(c.d_model, c.tgt_vocab_size, bias=False)
        for p in self.parameters():
            if p.dim() > 1:
                nn.init.xavier_uniform_(p)
        if c.tie_embeddings or c.share_embeddings:
            self.generator.weight = self.tgt_embed.weight

    def encode(self, src: Tensor, src_padding_mask: Tensor | None = None) -> Tensor:
        """``(batch, src_len)`` ids -> the memory ``(batch, src_len, d_model)``."""
        self._check_tokens("src", src, self.src_embed)
        check_padding_mask("src_padding_mask", src_padding_mask, src.shape)
        return self._encode(src, src_padding_mask)

    def decode(self, tgt: Tensor, memory: Tensor, src_padding_mask: Tensor | None = None,
               tgt_padding_mask: Tensor | None = None, need_weights: bool = False,
               cache: DecoderCache | None = None) -> tuple[Tensor, list[Tensor] | None]:
        """``(batch, tgt_len)`` ids and the memory -> ``(logits, weights)``.

        ``logits`` is ``(batch, tgt_len, tgt_vocab)``. ``weights`` lists each decoder layer's
        cross-attention weights ``(batch, heads, tgt_len, src_len)`` with ``need_weights=True``,
        else it is ``None``.

        With a ``cache`` (incremental decoding, see ``DecoderCache``) ``tgt`` holds only the new
        tokens, usually one per row: they take the positions after the ``len(cache)`` decoded
        before and see all of those, and the cache keeps them for the next call. The logits are
        the new positions' ones, equal (up to rounding) to the last ``tgt_len`` positions of
        decoding the whole prefix without a cache. Decoding generates no padding, so a cache
        takes no ``tgt_padding_mask``; the memory must be the same at every call.

        >>> model, cache = Transformer(TransformerConfig.tiny(20)).eval(), DecoderCache(1)
        >>> memory = model.encode(torch.randint(20, (2, 7)))
        >>> for token in torch.randint(20, (3, 2, 1)):  # three steps, one new token per row
        ...     logits, _ = model.decode(token, memory, cache=cache)
        >>> logits.shape, len(cache)
        (torch.Size([2, 1, 20]), 3)
        """
        start = 0
        if cache is not None:
            start = len(check_cache(cache, self.config.num_layers))
            if tgt_padding_mask is not None:
                raise ValueError("tgt_padding_mask cannot be combined with a cache: pass the new "
                                 "tokens of every row, padding included, without a mask")
        self._check_tokens("tgt", tgt, self.tgt_embed, start)
        check_padding_mask("tgt_padding_mask", tgt_padding_mask, tgt.shape)
        check_memory(memory, self.config.d_model, tgt.size(0))
        check_padding_mask("src_padding_mask", src_padding_mask, memory.shape[:2])
        return self._decode(tgt, memory, src_padding_mask, tgt_padding_mask, need_weights, cache)

    def forward(self, src: Tensor, tgt: Tensor, src_padding_mask: Tensor | None = None,
                tgt_padding_mask: Tensor | None = None) -> Tensor:
        """Teacher-forced logits ``(batch, tgt_len, tgt_vocab)``."""
        self._check_tokens("src", src, self.src_embed)
        self._check_tokens("tgt", tgt, self.tgt_embed)
        if src.size(0) != tgt.size(0):
            raise ValueError(
                f"src and tgt must share the batch size, got {src.size(0)} and {tgt.size(0)}"
            )
        check_padding_mask("src_padding_mask", src_padding_mask, src.shape)
        check_padding_mask("tgt_padding_mask", tgt_padding_mask, tgt.shape)
        memory = self._encode(src, src_padding_mask)
        return self._decode(tgt, memory, src_padding_mask, tgt_padding_mask)[0]

    # What follows trusts its caller: the three methods above check the arguments.

    def _encode(self, src: Tensor, src_padding_mask: Tensor | None) -> Tensor:
        x = self._embed(src, self.src_embed)
        return self.encoder(x, combine_masks(src_padding_mask))

    def _decode(self, tgt: Tensor, memory: Tensor, src_padding_mask: Tensor | None,
                tgt_padding_mask: Tensor | None, need_weights: bool = False,
                cache: DecoderCache | None = None) -> tuple[Tensor, list[Tensor] | None]:
        start = 0 if cache is None else len(cache)
        y = self._embed(tgt, self.tgt_embed, start)
        if cache is None:
            self_attn_mask = combine_masks(tgt_padding_mask, causal_size=tgt.size(1),
                                           device=tgt.device)
        elif tgt.size(1) == 1:  # one new position sees every key: nothing to hide
            self_attn_mask = None
        else:  # the new queries see every cached key and the new keys causally
            self_attn_mask = causal_mask(tgt.size(1), tgt.device, start)
        out, weights = self.decoder(y, memory, self_attn_mask, combine_masks(src_padding_mask),
                                    need_weights, cache)
        return self.generator(out), weights

    def _embed(self, tokens: Tensor, embedding: nn.Embedding, start: int = 0) -> Tensor:
        """Token ids -> ``embedding(tokens) * sqrt(d_model)`` + positions (section 3.4), the
        positions counted from ``start``."""
        return self.positional(embedding(tokens) * math.sqrt(self.config.d_model), start)

    def _check_tokens(self, name: str, tokens: object, embedding: nn.Embedding,
                      start: int = 0) -> None:
        # Ids are range-checked where that costs no device synchronisation: on the CPU. On a
        # GPU the callers that read the host anyway check them (decoding, the training loop).
        on_cpu = check_tensor(name, tokens).device.type == "cpu"
        check_token_ids(name, tokens, embedding.num_embeddings if on_cpu else None, nonempty=True)
        if start + tokens.size(1) > self.config.max_len:
            after = f" after {start} cached positions" if start else ""
            raise ValueError(f"{name} has length {tokens.size(1)}{after}, longer than "
                             f"max_len={self.config.max_len}")
