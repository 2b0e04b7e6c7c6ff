"""A decoder-only language model (GPT-style), from the parts of the encoder-decoder (chapter 13).

A decoder layer without its cross-attention is an encoder layer with a causal mask, so the model
is: token embeddings (plus positions), an ``Encoder`` stack run with a causal mask, and a linear
projection to next-token logits, tied to the embeddings. With the defaults it is GPT-2's recipe
(Radford et al., 2019): pre-LN with a final LayerNorm, GELU, learned positions, no
``sqrt(d_model)`` scaling of the embeddings, tied output projection. The options give the paper's
choices back (``norm_first=False``, ``ffn="relu"``, ``positions="sinusoidal"``,
``scale_embeddings=True``) or later ones (``ffn="swiglu"``, ``norm="rmsnorm"``,
``positions="rotary"``).

Token tensors are ``(batch, seq)`` integer ids; the model reads them left to right, so right
padding needs no mask (a real token never sees a later pad); leave pads out of the loss.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .._checks import (
    check_choice,
    check_fraction,
    check_heads,
    check_integer,
    check_tensor,
    check_token_ids,
)
from ..layers import DecoderCache, Encoder, SwiGLU, check_cache
from ..masks import causal_mask
from ..positional import PositionalEncoding, RotaryEmbedding

__all__ = ["LanguageModelConfig", "LanguageModel", "next_token_loss"]

FFNS = ("relu", "gelu", "swiglu")
NORMS = ("layernorm", "rmsnorm")
POSITIONS = ("learned", "sinusoidal", "rotary", "none")


@dataclass
class LanguageModelConfig:
    """Hyper-parameters, named as in the paper (GPT-2's names in brackets): ``vocab_size``
    (``vocab_size``), ``d_model`` (``n_embd``), ``num_heads`` = h (``n_head``), ``num_layers`` =
    N (``n_layer``), ``d_ff`` (4 ``n_embd``), ``dropout`` = P_drop (``resid_pdrop``,
    ``embd_pdrop``), ``max_len`` (``n_ctx``, nanoGPT's ``block_size``).

    ``dropout`` acts on the embeddings and on each sub-layer's output; ``attn_dropout`` on the
    attention weights (GPT-2's ``attn_pdrop``). ``ffn``: one of ``FFNS``; ``norm``: one of
    ``NORMS``; ``positions``: one of ``POSITIONS``.
    """

    vocab_size: int
    d_model: int = 768
    num_heads: int = 12
    num_layers: int = 12
    d_ff: int = 3072
    dropout: float = 0.0
    attn_dropout: float = 0.0
    max_len: int = 1024
    norm_first: bool = True
    ffn: str = "gelu"
    norm: str = "layernorm"
    positions: str = "learned"
    scale_embeddings: bool = False
    tie_embeddings: bool = True

    def __post_init__(self) -> None:
        for name in ("vocab_size", "num_layers", "d_ff", "max_len"):
            check_integer(name, getattr(self, name))
        check_heads(self.d_model, self.num_heads)
        check_fraction("dropout", self.dropout)
        check_fraction("attn_dropout", self.attn_dropout)
        check_choice("ffn", self.ffn, FFNS)
        check_choice("norm", self.norm, NORMS)
        check_choice("positions", self.positions, POSITIONS)
        if self.positions == "rotary" and (self.d_model // self.num_heads) % 2:
            raise ValueError(f"positions='rotary' needs an even d_k, got d_model={self.d_model} "
                             f"/ num_heads={self.num_heads} = {self.d_model // self.num_heads}")

    @classmethod
    def tiny(cls, vocab_size: int, **overrides) -> LanguageModelConfig:
        """Seconds on a CPU: d_model 64, 4 heads, 2 layers, d_ff 256, max_len 128."""
        sizes = dict(d_model=64, num_heads=4, num_layers=2, d_ff=256, max_len=128)
        return cls(vocab_size, **{**sizes, **overrides})

    @classmethod
    def gpt2_small(cls, vocab_size: int = 50257, **overrides) -> LanguageModelConfig:
        """GPT-2's smallest model: d_model 768, 12 heads, 12 layers, d_ff 3072, 1024 positions,
        dropout 0.1 everywhere, 50,257 byte-pair tokens."""
        sizes = dict(d_model=768, num_heads=12, num_layers=12, d_ff=3072, max_len=1024,
                     dropout=0.1, attn_dropout=0.1)
        return cls(vocab_size, **{**sizes, **overrides})

    def to_dict(self) -> dict:
        return asdict(self)


class LanguageModel(nn.Module):
    """Embeddings (+ positions) -> ``Encoder`` with a causal mask -> logits of the next token.

    ``forward(tokens, cache=None)`` takes ``(batch, seq)`` ids and returns logits ``(batch, seq,
    vocab_size)``: row ``t`` scores the token after ``tokens[:, :t + 1]``. With a
    ``DecoderCache`` (``new_cache()``) ``tokens`` holds only the new positions, after the
    ``len(cache)`` read before: the logits equal (to rounding) the last positions of a call on
    the whole sequence without a cache.

    >>> model = LanguageModel(LanguageModelConfig.tiny(50))
    >>> model(torch.randint(50, (2, 7))).shape
    torch.Size([2, 7, 50])
    """

    def __init__(self, config: LanguageModelConfig):
        super().__init__()
        if not isinstance(config, LanguageModelConfig):
            raise TypeError(f"config must be a LanguageModelConfig, got {type(config).__name__}")
        self.config = c = config
        self.tok_embed = nn.Embedding(c.vocab_size, c.d_model)
        self.pos_embed = nn.Embedding(c.max_len, c.d_model) if c.positions == "learned" else None
        self.sinusoid = (PositionalEncoding(c.d_model, c.max_len)
                         if c.positions == "sinusoidal" else None)
        rotary = RotaryEmbedding(c.d_model // c.num_heads) if c.positions == "rotary" else None
        self.dropout = nn.Dropout(c.dropout)
        self.stack = Encoder(c.d_model, c.num_heads, c.num_layers, c.d_ff, dropout=c.dropout,
                             norm_first=c.norm_first, attn_dropout=c.attn_dropout,
                             activation=F.relu if c.ffn == "relu" else F.gelu, rotary=rotary)
        for layer in self.stack.layers:  # later recipes swap two parts of the same layer
            if c.ffn == "swiglu":
                layer.feed_forward = SwiGLU(c.d_model, c.d_ff)
            if c.norm == "rmsnorm":
                layer.norm1, layer.norm2 = nn.RMSNorm(c.d_model), nn.RMSNorm(c.d_model)
        if c.norm == "rmsnorm" and c.norm_first:
            self.stack.norm = nn.RMSNorm(c.d_model)
        self.head = nn.Linear(c.d_model, c.vocab_size, bias=False)
        self._init_weights()
        if c.tie_embeddings:
            self.head.weight = self.tok_embed.weight

    def _init_weights(self) -> None:
        """GPT-2's: normal(0, 0.02) weights, zero biases, and the projections that write into the
        residual stream scaled by 1/sqrt(2N), so the stream's variance does not grow with N.
        With ``scale_embeddings`` the token embeddings get std ``d_model ** -0.5`` instead (as in
        the paper's code, tensor2tensor), so that scaled by ``sqrt(d_model)`` their entries are
        about as large as the sinusoids'."""
        c = self.config
        for name, p in self.named_parameters():
            if p.dim() == 1:
                continue  # biases stay 0, norms' gains 1, as created
            std = 0.02
            if name.endswith(("out_proj.weight", "linear2.weight")):
                std /= math.sqrt(2 * c.num_layers)
            elif name == "tok_embed.weight" and c.scale_embeddings:
                std = c.d_model ** -0.5
            nn.init.normal_(p, mean=0.0, std=std)
        for name, p in self.named_parameters():
            if name.endswith("bias"):
                nn.init.zeros_(p)

    def new_cache(self) -> DecoderCache:
        """An empty key/value cache for incremental decoding (one entry per layer)."""
        return DecoderCache(self.config.num_layers)

    def forward(self, tokens: Tensor, cache: DecoderCache | None = None) -> Tensor:
        c = self.config
        on_cpu = check_tensor("tokens", tokens).device.type == "cpu"
        check_token_ids("tokens", tokens, c.vocab_size if on_cpu else None, nonempty=True)
        start = 0 if cache is None else len(check_cache(cache, c.num_layers))
        length = tokens.size(1)
        if start + length > c.max_len:
            after = f" after {start} cached positions" if start else ""
            raise ValueError(f"tokens has length {length}{after}, longer than "
                             f"max_len={c.max_len}")
        x = self.tok_embed(tokens)
        if c.scale_embeddings:
            x = x * math.sqrt(c.d_model)
        if self.pos_embed is not None:
            x = x + self.pos_embed(torch.arange(start, start + length, device=tokens.device))
        elif self.sinusoid is not None:
            x = self.sinusoid(x, start)
        # One new position sees every cached key: nothing to hide.
        mask = None if cache is not None and length == 1 else causal_mask(
            length, tokens.device, start)
        return self.head(self.stack(self.dropout(x), mask, cache))


def next_token_loss(model: LanguageModel, tokens: Tensor, pad_id: int | None = None) -> Tensor:
    """The mean cross-entropy (nats per token) of predicting ``tokens[:, 1:]`` from the
    tokens before each: the model reads ``tokens[:, :-1]`` ``(batch, seq - 1)``. Targets equal
    to ``pad_id`` are left out of the mean. ``exp`` of it is the perplexity.

    >>> model = LanguageModel(LanguageModelConfig.tiny(50))
    >>> ppl = next_token_loss(model, torch.randint(50, (2, 9))).exp()  # untrained: about 50
    >>> bool(40 < ppl < 60)
    True
    """
    check_token_ids("tokens", tokens)
    if tokens.size(1) < 2:
        raise ValueError(f"tokens must hold at least 2 positions (an input and its next token), "
                         f"got shape {tuple(tokens.shape)}")
    logits = model(tokens[:, :-1])
    logits = logits.to(torch.promote_types(logits.dtype, torch.float32))  # half -> float32
    return F.cross_entropy(logits.flatten(0, 1), tokens[:, 1:].flatten(),
                           ignore_index=-100 if pad_id is None else pad_id)
