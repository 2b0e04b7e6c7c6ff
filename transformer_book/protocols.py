"""The two interfaces the loops are written against, as ``typing.Protocol`` s.

``training.fit``, the decoders and the checkpoints take any ``Seq2Seq`` model (``Transformer``,
``models.rnnsearch.RNNSearch``) and any ``Tokenizer`` (``text.tokenizers.CharTokenizer``,
``text.subword.SubwordTokenizer``): the type hints say what the code uses, no more.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, Protocol, runtime_checkable

from torch import Tensor

__all__ = ["Tokenizer", "Seq2Seq", "Seq2SeqConfig", "check_model"]


@runtime_checkable
class Tokenizer(Protocol):
    """Text to ids and back, with the four special ids at 0-3 (``<pad>``, ``<bos>``, ``<eos>``,
    ``<unk>``)."""

    pad_id: int
    bos_id: int
    eos_id: int
    unk_id: int

    def __len__(self) -> int: ...

    def encode(self, text: str, add_bos: bool = False, add_eos: bool = False,
               strict: bool = False) -> list[int]: ...

    def decode(self, ids: Iterable[int] | Tensor, stop_at_eos: bool = True) -> str: ...


class Seq2SeqConfig(Protocol):
    """What the loops read of a model's configuration."""

    src_vocab_size: int
    tgt_vocab_size: int
    d_model: int
    max_len: int

    def to_dict(self) -> dict[str, Any]: ...


@runtime_checkable
class Seq2Seq(Protocol):
    """An encoder-decoder: ``encode(src, src_padding_mask) -> memory`` and
    ``decode(tgt, memory, src_padding_mask, ...) -> (logits, weights)``, with a ``config``."""

    config: Seq2SeqConfig

    def encode(self, src: Tensor, src_padding_mask: Tensor | None = None) -> Tensor: ...

    def decode(self, tgt: Tensor, memory: Tensor, src_padding_mask: Tensor | None = None,
               *args: Any, **kwargs: Any) -> tuple[Tensor, Sequence[Tensor] | None]: ...


def check_model(model: object) -> None:
    """The decoders and the training loop run on any ``Seq2Seq``: ``encode``, ``decode`` and a
    ``config`` with the vocabulary sizes and ``max_len`` (a ``Transformer``, an ``RNNSearch``)."""
    if not isinstance(model, Seq2Seq) or not callable(getattr(model, "parameters", None)):
        raise TypeError(f"model must be a Seq2Seq model such as a Transformer or an RNNSearch "
                        f"(encode, decode, config), got {type(model).__name__}")
