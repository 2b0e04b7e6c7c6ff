"""A shared subword vocabulary (SentencePiece), with the interface of ``CharTokenizer``.

Characters make long sequences and words make huge vocabularies with many unknown words; the
paper's subwords sit between (37,000 shared byte-pair pieces for English-German). SentencePiece
(Kudo and Richardson, 2018) learns such pieces from raw sentences, spaces included (shown as
``▁``), so decoding is exact and needs no language-specific detokenizer, which suits Korean.

One vocabulary is trained on both languages, so the encoder and decoder can share embeddings.
Ids 0-3 are ``<pad>``, ``<bos>``, ``<eos>``, ``<unk>``, as in ``CharTokenizer``. Training runs
in memory and writes no file; the tokenizer is saved as plain Python values
(:meth:`SubwordTokenizer.to_dict`), so a checkpoint holding it loads with
``torch.load(path, weights_only=True)``.
"""

from __future__ import annotations

import io
import unicodedata
from collections.abc import Iterable, Mapping
from typing import Any

import sentencepiece as spm
from torch import Tensor

from .._checks import check_integer
from .tokenizers import SPECIAL_TOKENS, UNKNOWN_SURFACE, SpecialIds

MODEL_TYPES = ("unigram", "bpe")
MAX_SENTENCE_BYTES = 4192
"""The longest sentence (in UTF-8 bytes) SentencePiece learns from; it skips longer ones."""


class SubwordTokenizer(SpecialIds):
    """A SentencePiece model behind ``CharTokenizer``'s interface.

    Build one with :meth:`train` (from sentences) or :meth:`from_dict` (from a checkpoint).

    Attributes:
        vocab: the pieces, ``vocab[i]`` is the piece of id ``i`` (starting with the specials).
        model: the SentencePiece model, serialised (``bytes``).
    """

    def __init__(self, model: bytes):
        if not isinstance(model, bytes):
            raise TypeError(f"model must be bytes (a SentencePiece model), got "
                            f"{type(model).__name__}")
        self._sp = spm.SentencePieceProcessor()
        try:
            self._sp.LoadFromSerializedProto(model)
        except (RuntimeError, OSError) as err:
            raise ValueError(f"model ({len(model)} bytes) is not a SentencePiece model: "
                             f"{err}") from None
        self.model = model
        self.vocab: list[str] = [self._sp.id_to_piece(i) for i in range(len(self._sp))]
        if tuple(self.vocab[:4]) != SPECIAL_TOKENS:
            raise ValueError(f"model must have the pieces {list(SPECIAL_TOKENS)} as ids 0-3, "
                             f"got {self.vocab[:4]}")

    @classmethod
    def train(cls, texts: Iterable[str], vocab_size: int = 8000, model_type: str = "unigram",
              character_coverage: float = 1.0) -> SubwordTokenizer:
        """Learn ``vocab_size`` pieces (specials included) from ``texts``, in memory.

        For a shared vocabulary pass both sides: ``[s for pair in pairs for s in pair]``. The
        texts are NFC-normalised first. ``character_coverage=1.0`` keeps every character
        seen (right for Korean and small corpora; SentencePiece suggests 0.9995 for Chinese or
        Japanese). Training uses one thread and every sentence, so the same texts and settings
        give the same model, byte for byte.

        Raises ``ValueError`` when the corpus cannot fill ``vocab_size`` pieces (the message
        gives the largest size it can). Sentences longer than ``MAX_SENTENCE_BYTES`` are left
        out (SentencePiece would skip them silently); the message counts them.
        """
        check_integer("vocab_size", vocab_size, minimum=len(SPECIAL_TOKENS) + 1)
        if model_type not in MODEL_TYPES:
            raise ValueError(f"model_type={model_type!r} must be one of {list(MODEL_TYPES)}")
        if (isinstance(character_coverage, bool) or not isinstance(character_coverage,
                                                                   (int, float))
                or not 0.9 <= character_coverage <= 1.0):
            raise ValueError(f"character_coverage={character_coverage!r} must be a number in "
                             "[0.9, 1.0]")
        if isinstance(texts, str):
            raise TypeError("texts must be an iterable of sentences, got one str")
        sentences, too_long = [], 0
        for i, text in enumerate(texts):
            if not isinstance(text, str):
                raise TypeError(f"texts[{i}] must be a str, got {type(text).__name__}")
            if text.strip():
                text = cls._prepare(text)
                if len(text.encode()) > MAX_SENTENCE_BYTES:
                    too_long += 1
                else:
                    sentences.append(text)
        skipped = (f" ({too_long} longer sentences left out: SentencePiece learns from "
                   f"sentences of at most {MAX_SENTENCE_BYTES} bytes)" if too_long else "")
        if not sentences:
            raise ValueError(f"texts must hold at least one non-empty sentence{skipped}")
        out = io.BytesIO()
        try:
            spm.SentencePieceTrainer.train(
                sentence_iterator=iter(sentences), model_writer=out, vocab_size=vocab_size,
                model_type=model_type, character_coverage=character_coverage,
                pad_id=0, bos_id=1, eos_id=2, unk_id=3, pad_piece=SPECIAL_TOKENS[0],
                bos_piece=SPECIAL_TOKENS[1], eos_piece=SPECIAL_TOKENS[2],
                unk_piece=SPECIAL_TOKENS[3], unk_surface=UNKNOWN_SURFACE,
                normalization_rule_name="identity", input_sentence_size=0,
                shuffle_input_sentence=False, num_threads=1, minloglevel=2,
            )
        except RuntimeError as err:
            raise ValueError(f"vocab_size={vocab_size} cannot be trained on these "
                             f"{len(sentences)} sentences{skipped}: {err}") from None
        return cls(out.getvalue())

    def to_dict(self) -> dict[str, Any]:
        """Plain Python values (``str`` and ``bytes``) that :meth:`from_dict` turns back into
        this tokenizer; safe for ``torch.save`` and ``torch.load(weights_only=True)``."""
        return {"kind": "sentencepiece", "model": self.model}

    @classmethod
    def from_dict(cls, state: Mapping[str, Any]) -> SubwordTokenizer:
        """The tokenizer saved by :meth:`to_dict`."""
        if (not isinstance(state, Mapping) or state.get("kind") != "sentencepiece"
                or "model" not in state):
            raise ValueError(f"state must be a dict from SubwordTokenizer.to_dict() with "
                             f"kind='sentencepiece', got {_describe_state(state)}")
        return cls(state["model"])

    def __len__(self) -> int:
        return len(self.vocab)

    def __repr__(self) -> str:
        return f"SubwordTokenizer({len(self)} pieces)"

    def __reduce__(self):  # pickles as its model (for DataLoader workers and spawned processes)
        return (SubwordTokenizer, (self.model,))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, SubwordTokenizer) and other.model == self.model

    def pieces(self, text: str) -> list[str]:
        """``text`` cut into pieces, e.g. ``['▁고양이', '는', '▁사과', '를']``."""
        return self._sp.encode(self._prepare(text), out_type=str)

    def unknown_chars(self, text: str) -> list[str]:
        """The characters of ``text`` that no piece covers, in order, without repeats."""
        text = self._prepare(text)
        return list(dict.fromkeys(c for c in text
                                  if c != " " and self.unk_id in self._sp.encode(c)))

    def encode(self, text: str, add_bos: bool = False, add_eos: bool = False,
               strict: bool = False) -> list[int]:
        """``text`` -> token ids. Characters no piece covers become ``<unk>``, or raise
        ``ValueError`` when ``strict=True``."""
        text = self._prepare(text)
        ids = self._sp.encode(text)
        if strict and self.unk_id in ids:
            raise ValueError(f"text={text!r} has characters the tokenizer does not know: "
                             f"{''.join(self.unknown_chars(text))!r}")
        return [self.bos_id] * add_bos + ids + [self.eos_id] * add_eos

    def decode(self, ids: Iterable[int] | Tensor, stop_at_eos: bool = True) -> str:
        """Token ids (a list or a 1-D tensor) -> text, skipping ``<pad>`` and ``<bos>`` and
        stopping at the first ``<eos>`` (unless ``stop_at_eos=False``); ``<unk>`` shows as
        ``?``."""
        if isinstance(ids, Tensor):
            ids = ids.tolist()
        kept = []
        for i in ids:
            if not isinstance(i, int) or not 0 <= i < len(self):
                raise ValueError(f"ids has {i!r}, expected ints in [0, {len(self)})")
            if i == self.eos_id and stop_at_eos:
                break
            if i not in (self.pad_id, self.bos_id, self.eos_id):
                kept.append(i)
        return self._sp.decode(kept)

    @staticmethod
    def _prepare(text: str) -> str:
        if not isinstance(text, str):
            raise TypeError(f"text must be a str, got {type(text).__name__}")
        try:
            text.encode()
        except UnicodeEncodeError as err:  # a lone surrogate: SentencePiece takes UTF-8 only
            raise ValueError(f"text has {text[err.start]!r} at position {err.start + 1}, which "
                             f"is not a Unicode character (a byte that was not UTF-8?)") from None
        return unicodedata.normalize("NFC", text)


def _describe_state(value: object) -> str:
    if isinstance(value, Mapping):
        return f"a dict with keys {sorted(map(str, value))}"
    return type(value).__name__
