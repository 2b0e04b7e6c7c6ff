"""Checkpoints: save a model with its tokenizer and training state (atomically), load one back
safely, and average several (Vaswani et al., 2017, section 6.1).

Checkpoints are plain dicts of tensors, numbers, strings and lists (the config as a dict, the
vocabulary as a list), so ``torch.load(path, weights_only=True)`` can read them without
running any code from the file.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import torch
from torch import Tensor

from .model import Transformer, TransformerConfig
from .runtime import get_device
from .tokenizers import CharTokenizer

if TYPE_CHECKING:
    from .training import History

__all__ = ["FORMAT", "CheckpointError", "Checkpoint", "save_checkpoint", "load_checkpoint",
           "average_weights"]


class CheckpointError(ValueError):
    """A file is missing, is not a checkpoint, or is damaged."""


@dataclass
class Checkpoint:
    """What ``load_checkpoint`` returns: a ready model (in eval mode) and its tokenizer, plus the
    training state to ``resume`` from."""

    model: Transformer
    tokenizer: CharTokenizer
    epoch: int = 0
    history: dict = field(default_factory=dict)
    training: dict = field(default_factory=dict)
    extra: dict = field(default_factory=dict)
    optimizer_state: dict | None = None
    scheduler_state: dict | None = None
    rng_state: Tensor | None = None
    cuda_rng_states: list[Tensor] = field(default_factory=list)


FORMAT = "transformer_book.checkpoint/1"


def save_checkpoint(path: str | os.PathLike, model: Transformer, tokenizer: CharTokenizer,
                    optimizer: torch.optim.Optimizer | None = None,
                    scheduler: torch.optim.lr_scheduler.LRScheduler | None = None,
                    epoch: int = 0, history: History | None = None, training: dict | None = None,
                    extra: dict | None = None) -> None:
    """Write the model's weights, its config (a dict) and the vocabulary (a list), and optionally
    the optimiser and schedule states, the epoch, the history and the random state.

    The file is written next to ``path`` and then renamed, so a crash never leaves half a file.
    """
    state = {
        "format": FORMAT,
        "config": model.config.to_dict(),
        "vocab": list(tokenizer.vocab),
        "model": {k: v.detach().cpu() for k, v in model.state_dict().items()},
        "epoch": epoch,
        "history": {} if history is None else history.to_dict(),
        "training": dict(training or {}),
        "extra": dict(extra or {}),
        "optimizer": None if optimizer is None else optimizer.state_dict(),
        "scheduler": None if scheduler is None else scheduler.state_dict(),
        "rng_state": torch.get_rng_state(),
        "cuda_rng_states": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
    }
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    torch.save(state, tmp)
    os.replace(tmp, path)


def load_checkpoint(path: str | os.PathLike, device: torch.device | str | None = "cpu"
                    ) -> Checkpoint:
    """Read a checkpoint with ``torch.load(weights_only=True)`` and rebuild model and tokenizer.

    Raises ``CheckpointError`` with a one-line reason if the file is missing or is not a valid
    checkpoint.
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint {str(path)!r} does not exist")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # corrupt zip, truncated file, not a torch file, unsafe pickle ...
        raise CheckpointError(
            f"{str(path)!r} is not a readable checkpoint ({_reason(exc)})"
        ) from exc
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise CheckpointError(f"{str(path)!r} is not a transformer_book checkpoint")
    try:
        config = TransformerConfig(**state["config"])
        tokenizer = CharTokenizer.from_vocab(state["vocab"])
        model = Transformer(config)
        model.load_state_dict(state["model"])
    except (KeyError, TypeError, ValueError, RuntimeError) as exc:
        raise CheckpointError(f"{str(path)!r} is a damaged checkpoint ({_reason(exc)})") from exc
    model.to(get_device(device)).eval()
    return Checkpoint(model, tokenizer, state.get("epoch", 0), state.get("history", {}),
                      state.get("training", {}), state.get("extra", {}), state.get("optimizer"),
                      state.get("scheduler"), state.get("rng_state"),
                      list(state.get("cuda_rng_states", [])))


def _reason(exc: Exception) -> str:
    """An exception's message on one line, at most 200 characters (or the exception's name)."""
    return " ".join(str(exc).split())[:200] or type(exc).__name__


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
