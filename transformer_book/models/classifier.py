"""Chapter 1's attention model: a Transformer encoder that reads a token sequence and predicts a
class, the counterpart of ``rnn.RecurrentClassifier`` on the same tasks."""

from __future__ import annotations

from torch import Tensor, nn

from .._checks import check_integer, check_token_ids
from ..layers import EncoderLayer
from ..positional import PositionalEncoding

__all__ = ["AttentionClassifier"]


class AttentionClassifier(nn.Module):
    """Embedding + sinusoidal positional encoding, Transformer encoder layers, linear read-out.

    Like ``RecurrentClassifier``, the class is read from the last position; there, self-attention
    can look at every earlier position directly. With ``positional=False`` the model sees no
    order at all (self-attention is permutation-equivariant, chapter 5).

    Args:
        vocab_size: number of token ids.
        num_classes: number of output classes.
        d_model: model width (embedding size).
        num_heads: attention heads per layer.
        num_layers: how many ``EncoderLayer`` to stack.
        d_ff: hidden width of the feed-forward network (default ``2 * d_model``).
        max_len: longest sequence the positional table covers.
        positional: add the positional encoding (default ``True``).

    ``forward(tokens)``: ``(batch, seq)`` int64 -> logits ``(batch, num_classes)``.
    """

    def __init__(self, vocab_size: int, num_classes: int, d_model: int = 32, num_heads: int = 2,
                 num_layers: int = 1, d_ff: int | None = None, max_len: int = 1024,
                 positional: bool = True):
        super().__init__()
        d_ff = 2 * d_model if d_ff is None else d_ff
        for name, value in (("vocab_size", vocab_size), ("num_classes", num_classes),
                            ("d_model", d_model), ("num_heads", num_heads),
                            ("num_layers", num_layers), ("d_ff", d_ff), ("max_len", max_len)):
            check_integer(name, value)
        self.vocab_size = vocab_size
        self.embedding = nn.Embedding(vocab_size, d_model)
        self.positional = PositionalEncoding(d_model, max_len) if positional else nn.Identity()
        self.layers = nn.ModuleList(
            EncoderLayer(d_model, num_heads, d_ff, dropout=0.0) for _ in range(num_layers)
        )
        self.output = nn.Linear(d_model, num_classes)

    def forward(self, tokens: Tensor) -> Tensor:
        check_token_ids("tokens", tokens, nonempty=True)
        x = self.positional(self.embedding(tokens))
        for layer in self.layers:
            x = layer(x)
        return self.output(x[:, -1])

