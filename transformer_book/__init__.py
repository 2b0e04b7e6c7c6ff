"""The package of "The Transformer, Step by Step": every piece the chapters build, written once.

Modules, in reading order: ``runtime`` (seed, device), ``masks``, ``attention``, ``positional``,
``layers``, ``model``, ``torch_parity`` (copying ``torch.nn``'s weights into ours),
``tokenizers``, ``batching``, ``data`` (the chapters' generated data sets), ``schedule``
(warmup schedule, label smoothing), ``training`` (the loops, metrics and ``fit``),
``checkpoints``, ``decoding``, ``rnn`` (recurrent baselines and ``RNNSearch``), ``classifier``
(chapter 1's attention classifier), ``plotting``, ``diagrams``, ``attention_diagrams`` and
``decoding_diagrams`` (the book's drawings), ``complexity`` (chapter 9: counting FLOPs, paths,
bytes), ``sentence`` (chapter 10: pooling, contrastive loss, sentence encoder), the pieces for real
corpora (``corpus``, ``subword``, ``hangul``, ``korean_grammar``, ``bucketing``, ``metrics``), the
real corpora (``download``, ``datasets``: Tatoeba English-Korean shipped, Multi30k downloaded),
scoring as the field does (``scoring``, ``averaging``), the decoder alone (chapter 13:
``language_model``, a GPT-style model, and ``sampling``, generating text), and the command lines
``train``, ``translate`` and ``evaluate``. ``_checks`` holds the argument checks they share.
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
