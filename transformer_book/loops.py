"""The training and evaluation loops (Vaswani et al., 2017, section 5) that ``training.fit``
runs every epoch, and the ``History`` they fill in: one step per batch (or per accumulated
batches), bf16 autocast on CUDA, gradient clipping, the losses all-reduced under ``torchrun``."""

from __future__ import annotations

import contextlib
import math
import sys
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, fields

import torch
import torch.distributed as dist
from torch import nn

from .batching import Batch
from .runtime import rank_and_world

__all__ = ["History", "NonFiniteLossError", "train_epoch", "evaluate"]


@dataclass
class History:
    """What ``fit`` measured: one entry per epoch, and the loss and learning rate of every step."""

    epoch: list[int] = field(default_factory=list)
    train_loss: list[float] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    val_token_accuracy: list[float] = field(default_factory=list)
    val_exact_match: list[float] = field(default_factory=list)
    step_loss: list[float] = field(default_factory=list)
    step_lr: list[float] = field(default_factory=list)

    def record(self, epoch: int, train_loss: float, metrics: dict[str, float]) -> None:
        """Add an epoch's training loss and validation ``metrics`` (``loss``,
        ``token_accuracy``, ``exact_match``)."""
        self.epoch.append(epoch)
        self.train_loss.append(train_loss)
        self.val_loss.append(metrics["loss"])
        self.val_token_accuracy.append(metrics["token_accuracy"])
        self.val_exact_match.append(metrics["exact_match"])

    def to_dict(self) -> dict[str, list]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> History:
        return cls(**{f.name: list(d.get(f.name, [])) for f in fields(cls)})


class NonFiniteLossError(FloatingPointError):
    """The training or validation loss, or a weight, became NaN or infinite; training stops
    before a checkpoint of spoiled weights is written."""


def _autocast(device: torch.device, amp: bool):
    return torch.autocast(device.type, dtype=torch.bfloat16, enabled=amp and device.type == "cuda")


def _progress(iterable, enabled: bool | None, desc: str):
    if enabled is None:
        enabled = sys.stderr.isatty()
    if not enabled:
        return iterable
    from tqdm.auto import tqdm

    return tqdm(iterable, desc=desc, leave=False)


def train_epoch(model: nn.Module, batches: Sequence[Batch | Sequence[Batch]],
                optimizer: torch.optim.Optimizer,
                scheduler: torch.optim.lr_scheduler.LRScheduler | None, loss_fn: nn.Module,
                device: torch.device, clip_norm: float | None = 1.0, amp: bool = True,
                progress: bool | None = False, history: History | None = None,
                epoch: int = 1) -> float:
    """One pass over ``batches`` with teacher forcing; returns the mean loss per target token.

    Each element of ``batches`` is one optimiser step: a ``Batch``, or a list of ``Batch``es
    whose gradients are added up before the step (gradient accumulation). In a distributed run
    (``model`` wrapped in ``DistributedDataParallel``) the list is this process's share of the
    step. Either way the step's loss is the mean over every target token of the step, in every
    pass and every process, as if the whole step were one batch.

    Raises ``NonFiniteLossError`` (naming the step) as soon as a loss is NaN or infinite, before
    the update. With ``history`` the loss and learning rate of each step are appended to it.
    """
    model.train()
    world = rank_and_world()[1]
    total, count = 0.0, 0
    for i, step in enumerate(_progress(batches, progress, f"epoch {epoch}")):
        passes = [step] if isinstance(step, Batch) else list(step)
        n = _step_tokens(passes, device, world)  # counted on the host, before the batches move
        lr = optimizer.param_groups[0]["lr"]
        optimizer.zero_grad(set_to_none=True)
        step_loss = 0.0
        for k, batch in enumerate(passes):
            b = batch.to(device)
            last = k == len(passes) - 1  # DDP averages the gradients after the last pass only
            sync = contextlib.nullcontext() if last or not hasattr(model, "no_sync") \
                else model.no_sync()
            with sync:
                with _autocast(device, amp):
                    logits = model(b.src, b.tgt_in, b.src_padding_mask, b.tgt_padding_mask)
                # This pass's share of the step's mean (DDP divides by the processes again).
                loss = loss_fn(logits, b.tgt_out) * (batch.num_tokens * world / n)
                loss.backward()
            step_loss = step_loss + loss.detach() / world
        if world > 1:
            dist.all_reduce(step_loss)
        value = float(step_loss)  # the step's one host-device synchronisation
        if not math.isfinite(value):
            raise NonFiniteLossError(
                f"training stopped: the loss is {value} at step {i + 1} of epoch {epoch} "
                f"(learning rate {lr:.3g}); lower the learning rate (lr_factor) or check the data"
            )
        if clip_norm is not None:
            nn.utils.clip_grad_norm_(model.parameters(), clip_norm)
        optimizer.step()
        if scheduler is not None:
            scheduler.step()
        total += value * n
        count += n
        if history is not None:
            history.step_loss.append(value)
            history.step_lr.append(lr)
    return total / max(count, 1)


def _step_tokens(passes: Sequence[Batch], device: torch.device, world: int) -> int:
    """The target tokens of one step: of all its passes, in every one of ``world`` processes."""
    n = sum(b.num_tokens for b in passes)
    if world > 1:
        count = torch.tensor(n, device=device)
        dist.all_reduce(count)
        n = int(count)
    return n


@torch.no_grad()
def evaluate(model: nn.Module, batches: Sequence[Batch], loss_fn: nn.Module,
             device: torch.device, amp: bool = True) -> dict[str, float]:
    """Teacher-forced ``{"loss", "token_accuracy"}`` over ``batches`` (per real target token)."""
    model.eval()
    loss_sum, correct, count = 0.0, 0, 0
    for batch in batches:
        b = batch.to(device)
        with _autocast(device, amp):
            logits = model(b.src, b.tgt_in, b.src_padding_mask, b.tgt_padding_mask)
        n = b.num_tokens
        loss_sum += float(loss_fn(logits, b.tgt_out)) * n
        correct += int(((logits.argmax(-1) == b.tgt_out) & b.tgt_padding_mask).sum())
        count += n
    return {"loss": loss_sum / max(count, 1), "token_accuracy": correct / max(count, 1)}
