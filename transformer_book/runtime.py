"""Where the code runs and how it repeats: one seed helper and one device helper."""

from __future__ import annotations

import os
import random

import numpy as np
import torch

from ._checks import check_integer

__all__ = ["set_seed", "get_device"]


def set_seed(seed: int = 0) -> None:
    """Seed Python, NumPy and PyTorch (every device) so that a run repeats.

    >>> set_seed(0); a = torch.rand(2)
    >>> set_seed(0); b = torch.rand(2)
    >>> bool((a == b).all())
    True
    """
    check_integer("seed", seed, minimum=0)
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)  # also seeds CUDA and MPS generators


def get_device(name: str | torch.device | None = None) -> torch.device:
    """The device to compute on: ``cuda`` if there is one, then ``mps`` (Apple), else ``cpu``.

    ``name`` (or the environment variable ``TRANSFORMER_BOOK_DEVICE``) forces a choice, e.g.
    ``get_device("cpu")``; a ``torch.device`` is taken as it is. Asking for a device that is not
    there raises ``ValueError``.
    """
    if isinstance(name, torch.device):
        return name
    name = name or os.environ.get("TRANSFORMER_BOOK_DEVICE") or None
    if name is None:
        if torch.cuda.is_available():
            return torch.device("cuda")
        if torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        device = torch.device(name)
    except RuntimeError as exc:
        raise ValueError(
            f"device={name!r} is not a device name (expected cpu, cuda or mps)"
        ) from exc
    available = {
        "cpu": True,
        "cuda": torch.cuda.is_available(),
        "mps": torch.backends.mps.is_available(),
    }
    if not available.get(device.type, False):
        raise ValueError(f"device={name!r} was asked for but is not available on this machine")
    return device
