"""What the benchmark scripts share: a clock that waits for the accelerator."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

import torch

T = TypeVar("T")


def sync(device: torch.device) -> None:
    """Wait until ``device`` has finished the work queued on it (CUDA and MPS run ahead)."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    elif device.type == "mps":
        torch.mps.synchronize()


def timed(fn: Callable[[], T], device: torch.device) -> tuple[float, T]:
    """``fn()``'s wall-clock seconds on ``device`` (synchronised before and after), and its
    result."""
    sync(device)
    start = time.perf_counter()
    result = fn()
    sync(device)
    return time.perf_counter() - start, result
