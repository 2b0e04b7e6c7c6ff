"""Where the code runs and how it repeats: one seed helper, one device helper, and joining the
processes of a distributed run started by ``torchrun``."""

from __future__ import annotations

import os
import random

import numpy as np
import torch
import torch.distributed as dist

from ._checks import check_integer

__all__ = ["set_seed", "get_device", "init_distributed", "leave_distributed", "rank_and_world"]


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


def init_distributed(device: str | torch.device | None = None) -> tuple[torch.device, int, int]:
    """Join the process group that ``torchrun`` describes in the environment (``WORLD_SIZE``,
    ``RANK``, ``LOCAL_RANK``, ``MASTER_ADDR``) and return ``(device, rank, world_size)``.

    Without ``torchrun`` (``WORLD_SIZE`` unset or 1) nothing is joined: ``(get_device(device),
    0, 1)``. On CUDA each process takes the GPU of its ``LOCAL_RANK`` and talks over NCCL; on
    the CPU processes talk over gloo.
    """
    try:
        world_size = int(os.environ.get("WORLD_SIZE", "1"))
    except ValueError:
        raise ValueError(f"the environment variable WORLD_SIZE="
                         f"{os.environ['WORLD_SIZE'][:40]!r} must be an integer (torchrun sets "
                         f"it)") from None
    device = get_device(device)
    if world_size == 1:
        return device, 0, 1
    if device.type == "cuda":
        device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
        torch.cuda.set_device(device)
    if not dist.is_initialized():
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    return device, dist.get_rank(), dist.get_world_size()


def leave_distributed(together: bool = False) -> None:
    """Leave the process group that ``init_distributed`` joined, if any. Call it before the
    process ends: a process that exits with its group still open can abort (SIGABRT) on the
    way out, and ``torchrun`` then reports the whole run as failed.

    With ``together`` every process first waits for the others (a barrier), so that none
    tears the group down while another still uses it: a process that leaves early, while rank
    0 is still writing its checkpoint, can abort the same way. Use it on the way out of a run
    that succeeded; after an error the other processes may never arrive."""
    if dist.is_available() and dist.is_initialized():
        if together:
            dist.barrier()
        dist.destroy_process_group()


def rank_and_world() -> tuple[int, int]:
    """``(rank, world_size)`` of this process: ``(0, 1)`` unless a process group is joined."""
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1
