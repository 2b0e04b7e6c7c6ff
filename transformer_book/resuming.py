"""Continuing a training run from a checkpoint: the optimiser's and the schedule's states, the
history and the random state, each checked against what a fresh run has before it is loaded
(``training.fit`` with ``resume``)."""

from __future__ import annotations

import math

import torch

from ._checks import one_line
from .checkpoints import Checkpoint

__all__ = ["restore_training_state"]


def restore_training_state(resume: Checkpoint, optimizer: torch.optim.Optimizer,
                           scheduler: torch.optim.lr_scheduler.LRScheduler
                           ) -> tuple[dict[str, list], int]:
    """Load a checkpoint's training state into ``optimizer`` and ``scheduler`` and the random
    generators, after checking it has their structure; returns its history (as a dict) and the
    first epoch still to train."""
    if resume.optimizer_state is None or resume.scheduler_state is None:
        raise ValueError("resume: the checkpoint holds no optimizer and schedule state (it is a "
                         "saved model, not a training run); start a new run instead")
    try:
        _check_like("optimizer", resume.optimizer_state, optimizer.state_dict(), strict=False)
        _check_moments(resume.optimizer_state, optimizer)
        _check_like("scheduler", resume.scheduler_state, scheduler.state_dict())
        optimizer.load_state_dict(resume.optimizer_state)
        scheduler.load_state_dict(resume.scheduler_state)
        history = dict(resume.history)
        if resume.rng_state is not None:
            torch.set_rng_state(resume.rng_state)
    except (KeyError, TypeError, ValueError, RuntimeError) as exc:
        raise ValueError(f"resume: the checkpoint's training state is malformed "
                         f"({type(exc).__name__}: {one_line(str(exc), 150)})") from exc
    if resume.cuda_rng_states and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(resume.cuda_rng_states)
    return history, resume.epoch + 1


def _check_like(name: str, value: object, like: object, strict: bool = True) -> None:
    """``TypeError``/``ValueError`` unless ``value`` has the structure of ``like`` (the state a
    fresh optimiser or schedule gives): no keys that ``like`` lacks (with ``strict``), lists of
    the same length, bools where it has bools, numbers finite and, where ``like`` holds a
    positive int, positive. (``LambdaLR.load_state_dict`` copies whatever it is given into the
    schedule's attributes.)"""
    if isinstance(like, dict):
        if not isinstance(value, dict):
            raise TypeError(f"{name} is a {type(value).__name__}, not a dict")
        for key in value:
            if key not in like and strict:
                raise ValueError(f"{name} has the unexpected key {key!r}")
        for key, item in like.items():
            if key in value:
                _check_like(f"{name}[{key!r}]", value[key], item, strict)
    elif isinstance(like, (list, tuple)):
        if not isinstance(value, (list, tuple)) or len(value) != len(like):
            raise ValueError(f"{name} must be a list of {len(like)} items")
        for i, (item, model) in enumerate(zip(value, like, strict=True)):
            _check_like(f"{name}[{i}]", item, model, strict)
    elif isinstance(like, bool) or like is None:
        if value is not None and not isinstance(value, bool):
            raise TypeError(f"{name}={value!r} must be a bool")
    elif isinstance(like, (int, float)):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or (
                isinstance(like, int) and not isinstance(value, int)):
            raise TypeError(f"{name}={value!r} must be of type {type(like).__name__}")
        if not math.isfinite(value) or value < min(like, 1 if isinstance(like, int) else 0):
            raise ValueError(f"{name}={value!r} is out of range")


def _check_moments(state: dict, optimizer: torch.optim.Optimizer) -> None:
    """Each optimiser moment must be a finite tensor of its weight's shape."""
    params = [p for group in optimizer.param_groups for p in group["params"]]
    entries = state.get("state")
    if not isinstance(entries, dict):
        raise TypeError("optimizer['state'] is not a dict")
    for index, entry in entries.items():
        if not isinstance(index, int) or not 0 <= index < len(params) or not isinstance(
                entry, dict):
            raise ValueError(f"optimizer['state'] has the entry {index!r} for no weight")
        for key, moment in entry.items():
            if key == "step":
                ok = isinstance(moment, torch.Tensor) and moment.numel() == 1
            else:
                ok = (isinstance(moment, torch.Tensor) and moment.is_floating_point()
                      and moment.shape == params[index].shape)
            if not ok:
                raise ValueError(f"optimizer['state'][{index}][{key!r}] does not fit weight "
                                 f"{index} of shape {tuple(params[index].shape)}")
