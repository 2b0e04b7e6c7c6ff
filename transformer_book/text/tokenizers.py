"""Tokenizers: text to token ids and back.

``CharTokenizer`` gives one token per character after four special tokens (``<pad>``, ``<bos>``,
``<eos>``, ``<unk>``); its vocabulary is a plain list, so a checkpoint can store it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from torch import Tensor

__all__ = ["PAD", "BOS", "EOS", "UNK", "SPECIAL_TOKENS", "UNKNOWN_SURFACE", "SpecialIds",
           "CharTokenizer"]

PAD, BOS, EOS, UNK = "<pad>", "<bos>", "<eos>", "<unk>"
SPECIAL_TOKENS = (PAD, BOS, EOS, UNK)
UNKNOWN_SURFACE = "?"
"""How ``decode`` shows an ``<unk>`` token."""


class SpecialIds:
    """The ids of the four special tokens, the same in every tokenizer of the package."""

    pad_id, bos_id, eos_id, unk_id = 0, 1, 2, 3


class CharTokenizer(SpecialIds):
    """One token per character, after four special tokens: ``<pad>`` = 0, ``<bos>`` = 1,
    ``<eos>`` = 2, ``<unk>`` = 3.

    The vocabulary is a plain list of strings (``tokenizer.vocab``), so a checkpoint can store it
    and ``CharTokenizer.from_vocab(vocab)`` rebuilds the same tokenizer.

    >>> tok = CharTokenizer("abc")
    >>> tok.encode("cab", add_bos=True, add_eos=True)
    [1, 6, 4, 5, 2]
    >>> tok.decode([1, 6, 4, 5, 2, 0])
    'cab'
    """

    def __init__(self, chars: Iterable[str]):
        if isinstance(chars, str):
            chars = list(chars)
        chars = sorted(set(chars))
        for c in chars:
            if not isinstance(c, str) or len(c) != 1:
                raise ValueError(f"chars must be single characters, got {c!r}")
        self.vocab: list[str] = [*SPECIAL_TOKENS, *chars]
        self.stoi: dict[str, int] = {s: i for i, s in enumerate(self.vocab)}

    @classmethod
    def from_texts(cls, texts: Iterable[str]) -> CharTokenizer:
        """The tokenizer of every character that occurs in ``texts``."""
        return cls({c for text in texts for c in text})

    @classmethod
    def from_vocab(cls, vocab: Sequence[str]) -> CharTokenizer:
        """Rebuild a tokenizer from its ``vocab`` list (as stored in a checkpoint)."""
        vocab = list(vocab)
        if tuple(vocab[: len(SPECIAL_TOKENS)]) != SPECIAL_TOKENS:
            raise ValueError(f"vocab must start with {list(SPECIAL_TOKENS)}, got {vocab[:4]}")
        tok = cls(vocab[len(SPECIAL_TOKENS):])
        if tok.vocab != vocab:
            raise ValueError("vocab must list distinct single characters in sorted order")
        return tok

    def __len__(self) -> int:
        return len(self.vocab)

    def __repr__(self) -> str:
        return f"CharTokenizer({len(self)} tokens)"

    def unknown_chars(self, text: str) -> list[str]:
        """The characters of ``text`` that are not in the vocabulary, in order, without repeats."""
        return list(dict.fromkeys(c for c in text if c not in self.stoi))

    def encode(self, text: str, add_bos: bool = False, add_eos: bool = False,
               strict: bool = False) -> list[int]:
        """``text`` -> token ids. Unknown characters become ``<unk>``, or raise ``ValueError``
        when ``strict=True`` (what a command-line tool wants: tell the user, do not guess)."""
        if not isinstance(text, str):
            raise TypeError(f"text must be a str, got {type(text).__name__}")
        if strict:
            unknown = self.unknown_chars(text)
            if unknown:
                raise ValueError(
                    f"text={text!r} has characters the tokenizer does not know: "
                    f"{''.join(unknown)!r}"
                )
        ids = [self.stoi.get(c, self.unk_id) for c in text]
        return [self.bos_id] * add_bos + ids + [self.eos_id] * add_eos

    def decode(self, ids: Iterable[int] | Tensor, stop_at_eos: bool = True) -> str:
        """Token ids -> text, skipping ``<pad>`` and ``<bos>`` and stopping at the first
        ``<eos>`` (unless ``stop_at_eos=False``); ``<unk>`` shows as ``?``. An id that is not
        an int in ``[0, len(self))`` raises ``ValueError``."""
        if isinstance(ids, Tensor):
            ids = ids.tolist()
        out = []
        for i in ids:
            if not isinstance(i, int) or isinstance(i, bool) or not 0 <= i < len(self.vocab):
                raise ValueError(f"ids has {i!r}, expected ints in [0, {len(self.vocab)})")
            if i == self.eos_id and stop_at_eos:
                break
            if i in (self.pad_id, self.bos_id, self.eos_id):
                continue
            out.append(UNKNOWN_SURFACE if i == self.unk_id else self.vocab[i])
        return "".join(out)
