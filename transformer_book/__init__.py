"""The package of "The Transformer, Step by Step": every piece the chapters build, written once.

The layout shows the architecture; each layer imports only from the layers below it.

- The core, in reading order: ``runtime`` (seed, device), ``masks``, ``attention``,
  ``positional``, ``layers``, ``model`` (``TransformerConfig``, ``Transformer``), with
  ``torch_parity`` (``torch.nn``'s weights copied into ours) and ``protocols`` (the ``Tokenizer``
  and ``Seq2Seq`` interfaces the loops take). ``_checks`` holds the argument checks the public
  entry points share.
- ``models/``: the other models the chapters build from the same parts or race against them
  (``rnn``, ``rnnsearch``, ``classifier``, ``complexity``, ``sentence``, ``language_model``,
  ``sampling``).
- ``text/``: from text to ids and back and the data (``tokenizers``, ``subword``, ``corpus``,
  ``bucketing``, ``metrics``, ``data``, ``hangul``, ``korean_grammar``, ``download``,
  ``datasets``); it imports no model.
- Training and decoding: ``batching``, ``schedule``, ``decoding``, ``checkpoints`` (written
  through ``_files``), ``resuming``, ``loops`` (an epoch, an evaluation), ``training``
  (``fit``), ``averaging``, ``scoring``.
- The command lines on top: ``train``, ``translate`` and ``evaluate`` (``python -m
  transformer_book.train``), sharing ``_cli``; ``train`` with ``_train_settings`` (its flags),
  ``_train_eval`` and ``_train_corpus``.
- ``figures/``: the book's drawings (``plotting``, ``architecture``, ``attention_diagrams``,
  ``decoding_diagrams``, drawn with ``_drawing``); nothing else imports them.
"""

from .attention import KVCache, MultiHeadAttention, scaled_dot_product_attention
from .layers import Decoder, DecoderCache, DecoderLayer, Encoder, EncoderLayer, FeedForward
from .masks import attention_mask, causal_mask, padding_mask
from .model import Transformer, TransformerConfig
from .positional import PositionalEncoding, sinusoidal_encoding
from .runtime import get_device, set_seed

__version__ = "1.0.0"

__all__ = [
    "scaled_dot_product_attention", "MultiHeadAttention", "KVCache",
    "sinusoidal_encoding", "PositionalEncoding",
    "FeedForward", "EncoderLayer", "DecoderLayer", "Encoder", "Decoder", "DecoderCache",
    "Transformer", "TransformerConfig",
    "padding_mask", "causal_mask", "attention_mask",
    "set_seed", "get_device",
]
