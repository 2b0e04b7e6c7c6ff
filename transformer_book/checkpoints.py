"""Checkpoints: save a model with its tokenizer and training state (atomically), load one back
safely, and average several (Vaswani et al., 2017, section 6.1).

Checkpoints are plain dicts of tensors, numbers, strings, bytes and lists (the config as a dict,
a character vocabulary as a list, a subword tokenizer as its SentencePiece model's bytes), so
``torch.load(path, weights_only=True)`` can read them without running any code from the file."""

from __future__ import annotations

import os
import pickle
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import Tensor

from ._checks import check_vocab_fits, first_non_finite, one_line
from ._files import write_atomically
from .model import Transformer, TransformerConfig
from .models.rnnsearch import RNNSearch, RNNSearchConfig
from .protocols import Seq2Seq, Seq2SeqConfig, Tokenizer
from .runtime import get_device
from .text.subword import SubwordTokenizer
from .text.tokenizers import CharTokenizer

__all__ = ["FORMAT", "CheckpointError", "Checkpoint", "save_checkpoint", "load_checkpoint",
           "saved_epoch", "average_weights", "MAX_ELEMENTS", "MAX_LAYERS", "MAX_POSITIONS"]


class CheckpointError(ValueError):
    """A file is missing, is not a checkpoint, or is damaged."""


@dataclass
class Checkpoint:
    """What ``load_checkpoint`` returns: a ready model (in eval mode) and its tokenizer, plus the
    training state to ``resume`` from."""

    model: Seq2Seq
    tokenizer: Tokenizer
    epoch: int = 0
    history: dict = field(default_factory=dict)
    training: dict = field(default_factory=dict)
    extra: dict = field(default_factory=dict)
    optimizer_state: dict | None = None
    scheduler_state: dict | None = None
    rng_state: Tensor | None = None
    cuda_rng_states: list[Tensor] = field(default_factory=list)


FORMAT = "transformer_book.checkpoint/1"

MODELS: dict[str, tuple[type, type]] = {
    "Transformer": (Transformer, TransformerConfig),
    "RNNSearch": (RNNSearch, RNNSearchConfig),
}
"""The models a checkpoint can hold, by the class name it records, with their config classes:
every model ``training.fit`` trains. A file that names another class is refused."""

MAX_ELEMENTS = 400_000_000
"""The most numbers (weights and buffers) a loaded checkpoint's model may hold: 1.6 GB in
float32, twice the paper's big model. A file that asks for more is refused before any memory is
allocated for it."""

MAX_LAYERS = 64
"""The most layers a loaded checkpoint's encoder (and decoder) may have (the paper has 6): a
config of a hundred thousand tiny layers holds few numbers but takes minutes and gigabytes of
Python objects to build."""

MAX_POSITIONS = 65_536
"""The longest ``max_len`` a loaded checkpoint's config may ask for (the paper's models use
512): its positional table is computed when the model is built."""


def save_checkpoint(path: str | os.PathLike, model: Seq2Seq, tokenizer: Tokenizer,
                    optimizer: torch.optim.Optimizer | None = None,
                    scheduler: torch.optim.lr_scheduler.LRScheduler | None = None,
                    epoch: int = 0, history: object | Mapping[str, list] | None = None,
                    training: dict | None = None, extra: dict | None = None) -> None:
    """Write the model's class name and weights, its config (a dict) and the tokenizer (a
    character vocabulary as a list; a subword tokenizer as ``to_dict()``, with its vocabulary),
    and optionally the optimiser and schedule states, the epoch, the history (``fit``'s
    ``History``, or the dict its ``to_dict()`` gives) and the random state.

    The model must be one of ``MODELS`` (``TypeError`` otherwise), so that ``load_checkpoint``
    can rebuild it.

    Weights that are NaN or infinite raise ``ValueError`` and nothing is written. The file is
    written to a temporary file of its own next to ``path``, flushed to the disk and then
    renamed over ``path``: a crash or Ctrl-C at any moment leaves either the old file or the new
    one, never half a file, and the temporary file is removed.
    """
    if MODELS.get(type(model).__name__, (None,))[0] is not type(model):
        raise TypeError(f"model must be one of {sorted(MODELS)} to be saved, got "
                        f"{type(model).__name__}")
    weights = {k: v.detach().cpu() for k, v in model.state_dict().items()}
    bad = first_non_finite(weights.items())
    if bad is not None:
        raise ValueError(f"the model's weight {bad} holds NaN or infinite values; not saved")
    state = {
        "format": FORMAT,
        "model_class": type(model).__name__,
        "config": model.config.to_dict(),
        "vocab": list(tokenizer.vocab),
        "model": weights,
        "epoch": epoch,
        "history": history.to_dict() if hasattr(history, "to_dict") else dict(history or {}),
        "training": dict(training or {}),
        "extra": dict(extra or {}),
        "optimizer": None if optimizer is None else optimizer.state_dict(),
        "scheduler": None if scheduler is None else scheduler.state_dict(),
        "rng_state": torch.get_rng_state(),
        "cuda_rng_states": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
    }
    if isinstance(tokenizer, SubwordTokenizer):  # its pieces alone cannot rebuild it
        state["tokenizer"] = tokenizer.to_dict()
    write_atomically(path, lambda f: torch.save(state, f))


def _read(path: Path, mmap: bool = False) -> dict:
    """``torch.load(weights_only=True)`` with one-line reasons for every way it can fail."""
    if not path.exists():
        raise CheckpointError(f"checkpoint {str(path)!r} does not exist")
    if not path.is_file():
        raise CheckpointError(f"checkpoint {str(path)!r} is not a regular file")
    _check_records(path)
    try:
        state = torch.load(path, map_location="cpu", weights_only=True, mmap=mmap)
    except pickle.UnpicklingError as exc:
        if "GLOBAL" in str(exc) or "global" in str(exc):
            raise CheckpointError(f"{str(path)!r} contains Python objects other than tensors, "
                                  f"refused as unsafe") from exc
        raise CheckpointError(f"{str(path)!r} is not a readable checkpoint (not a PyTorch "
                              f"file, or a damaged one)") from exc
    except Exception as exc:  # corrupt zip, truncated file, unreadable ...
        raise CheckpointError(
            f"{str(path)!r} is not a readable checkpoint ({_reason(exc)})"
        ) from exc
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise CheckpointError(f"{str(path)!r} is not a transformer_book checkpoint")
    return state


def _check_records(path: Path) -> None:
    """Read the zip file's central directory, before ``torch.load`` inflates anything: every
    record must be stored uncompressed (as ``torch.save`` writes them), so that what loading
    allocates is bounded by the file's own size. Compressed records (a small file that would
    inflate to gigabytes) and PyTorch's legacy format (which allocates the sizes its pickle
    declares before reading them) are refused."""
    try:
        with zipfile.ZipFile(path) as archive:
            records = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
        raise CheckpointError(f"{str(path)!r} is not a readable checkpoint (not a zip-format "
                              f"PyTorch file, or a damaged one: {_reason(exc)}); other formats "
                              f"(a plain pickle, PyTorch's legacy format) are refused as "
                              f"unsafe") from None
    size, total = path.stat().st_size, 0
    for record in records:
        total += record.file_size
        if record.compress_type != zipfile.ZIP_STORED or record.file_size != record.compress_size:
            raise CheckpointError(f"{str(path)!r} holds a compressed record "
                                  f"({record.filename[:80]!r}); torch.save stores records "
                                  f"uncompressed, so it is refused as unsafe")
        if total > size:
            raise CheckpointError(f"{str(path)!r} declares records larger than the file; refused "
                                  f"as damaged")


def saved_epoch(path: str | os.PathLike) -> int | None:
    """The epoch recorded in the checkpoint at ``path``, or ``None`` if there is no readable
    checkpoint there. Reads the file memory-mapped, without building the model."""
    try:
        epoch = _read(Path(path), mmap=True).get("epoch")
    except CheckpointError:
        return None
    return epoch if isinstance(epoch, int) and not isinstance(epoch, bool) else None


def load_checkpoint(path: str | os.PathLike, device: torch.device | str | None = "cpu"
                    ) -> Checkpoint:
    """Read a checkpoint with ``torch.load(weights_only=True)`` and rebuild model and tokenizer.

    The file is checked before any model is built: its records must be stored uncompressed
    (checked in the zip's directory before ``torch.load``), its config must describe a model of
    at most ``MAX_ELEMENTS`` numbers, ``MAX_LAYERS`` layers and ``MAX_POSITIONS`` positions,
    every weight must have the shape that config gives it and be
    finite, and the other fields must have their types. Raises ``CheckpointError`` with a
    one-line reason: the file is missing, not a regular file, not a checkpoint, holds Python
    objects other than tensors (refused as unsafe) or is damaged (naming the first bad key).
    """
    path = Path(path)
    state = _read(path)
    try:
        model_class, config, tokenizer = _check_state(state)
        model = model_class(config)
        model.load_state_dict(state["model"])
    except (KeyError, TypeError, ValueError, RuntimeError) as exc:
        raise CheckpointError(f"{str(path)!r} is a damaged checkpoint ({_reason(exc)})") from exc
    model.to(get_device(device)).eval()
    return Checkpoint(model, tokenizer, state["epoch"], state["history"], state["training"],
                      state["extra"], state["optimizer"], state["scheduler"], state["rng_state"],
                      list(state["cuda_rng_states"]))


# Each field, its types, and its value when a file lacks it (no default: required).
_FIELDS: dict[str, tuple[tuple[type, ...], object]] = {
    "epoch": ((int,), 0), "history": ((dict,), {}), "training": ((dict,), {}),
    "extra": ((dict,), {}), "optimizer": ((dict, type(None)), None),
    "scheduler": ((dict, type(None)), None), "rng_state": ((Tensor, type(None)), None),
    "cuda_rng_states": ((list,), []), "tokenizer": ((dict, type(None)), None),
    "model_class": ((str,), "Transformer"),  # files written before it was recorded
}


def _check_state(state: dict) -> tuple[type, Seq2SeqConfig, Tokenizer]:
    """Check a loaded dict field by field (filling in missing optional fields) and return its
    model class, config and tokenizer; raise ``ValueError``/``TypeError``/``KeyError`` at the
    first fault."""
    for name, (types, default) in _FIELDS.items():
        value = state.setdefault(name, default)
        if not isinstance(value, types) or isinstance(value, bool):
            raise TypeError(f"{name} is a {type(value).__name__}")
    if state["epoch"] < 0:
        raise ValueError(f"epoch={state['epoch']} is negative")
    if not isinstance(state["config"], dict):
        raise TypeError(f"config is a {type(state['config']).__name__}, not a dict")
    if state["model_class"] not in MODELS:
        raise ValueError(f"model_class={state['model_class'][:50]!r} is not one of "
                         f"{sorted(MODELS)}")
    model_class, config_class = MODELS[state["model_class"]]
    config = config_class(**state["config"])
    for name, most in (("num_layers", MAX_LAYERS), ("max_len", MAX_POSITIONS)):
        value = getattr(config, name, 0)
        if value > most:
            raise ValueError(f"its config asks for {name}={value:,}, more than the {most:,} a "
                             f"checkpoint may hold")
    if state["tokenizer"] is None:
        tokenizer = CharTokenizer.from_vocab(state["vocab"])
    else:
        tokenizer = SubwordTokenizer.from_dict(state["tokenizer"])
    check_vocab_fits("vocab", len(tokenizer), config)
    weights = state["model"]
    if not isinstance(weights, dict):
        raise TypeError(f"model is a {type(weights).__name__}, not a dict of tensors")
    with torch.device("meta"):  # shapes only: no memory is allocated
        expected = model_class(config)
    elements = sum(t.numel() for t in (*expected.parameters(), *expected.buffers()))
    if elements > MAX_ELEMENTS:
        raise ValueError(f"its config asks for a model of {elements:,} numbers, more than "
                         f"the {MAX_ELEMENTS:,} a checkpoint may hold")
    expected = {k: t.shape for k, t in expected.state_dict().items()}
    for key in [*expected, *weights]:
        if key not in weights or key not in expected:
            raise KeyError(f"{key} is {'missing' if key not in weights else 'unexpected'}")
        tensor = weights[key]
        if not isinstance(tensor, Tensor) or not tensor.is_floating_point():
            raise TypeError(f"{key} is not a floating-point tensor")
        if tensor.shape != expected[key]:
            raise ValueError(f"{key} has shape {tuple(tensor.shape)}, but the config gives "
                             f"{tuple(expected[key])}")
    bad = first_non_finite(weights.items())
    if bad is not None:
        raise ValueError(f"{bad} holds NaN or infinite values")
    return model_class, config, tokenizer


def _reason(exc: Exception) -> str:
    """An exception's message on one line, at most 200 characters (or the exception's name)."""
    text = str(exc.args[0]) if isinstance(exc, KeyError) and exc.args else str(exc)
    return one_line(text) or type(exc).__name__


def average_weights(states: Sequence[dict[str, Tensor]]) -> dict[str, Tensor]:
    """The element-wise mean of several ``state_dict``s of one model (section 6.1 of the paper:
    "a single model obtained by averaging the last 5 checkpoints"). Load it with
    ``model.load_state_dict``. Integer buffers are taken from the last state."""
    if len(states) == 0:
        raise ValueError("states must hold at least one state_dict")
    keys = list(states[-1])
    for i, state in enumerate(states):
        if list(state) != keys:
            raise ValueError(f"states[{i}] has different keys from the last state")
    return {k: torch.stack([s[k].float() for s in states]).mean(0).to(states[-1][k].dtype)
            if states[-1][k].is_floating_point() else states[-1][k].clone() for k in keys}
