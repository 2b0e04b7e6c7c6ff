"""How the paper trains (Vaswani et al., 2017, sections 5.3 and 5.4): the warmup learning-rate
schedule with Adam, and label smoothing.

- Optimiser: Adam with ``betas=(0.9, 0.98)``, ``eps=1e-9`` (section 5.3).
- Learning rate: ``lrate = d_model^-0.5 * min(step^-0.5, step * warmup^-1.5)`` (equation 3),
  a ``LambdaLR`` on a base learning rate of 1 (times an optional ``factor``).
- Label smoothing ``eps_ls = 0.1`` (section 5.4, Szegedy et al., 2016).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ._checks import check_fraction, check_integer

__all__ = ["transformer_lr", "warmup_scheduler", "make_optimizer", "LabelSmoothingLoss"]


def transformer_lr(step: int, d_model: int, warmup: int = 4000, factor: float = 1.0) -> float:
    """``factor * d_model^-0.5 * min(step^-0.5, step * warmup^-1.5)`` for ``step >= 1``.

    It rises linearly for ``warmup`` steps, peaks at ``step = warmup``, then decays as
    ``1/sqrt(step)``.

    >>> round(transformer_lr(4000, 512), 6)  # the base model's peak
    0.000699
    """
    check_integer("step", step)  # steps count from 1
    check_integer("warmup", warmup)
    return factor * d_model ** -0.5 * min(step ** -0.5, step * warmup ** -1.5)


class _WarmupLambda:
    """A picklable callable for ``LambdaLR`` (its attributes go into the scheduler's state)."""

    def __init__(self, d_model: int, warmup: int, factor: float):
        self.d_model, self.warmup, self.factor = d_model, warmup, factor

    def __call__(self, index: int) -> float:
        # LambdaLR counts from 0 (and calls us once at construction); the paper counts from 1.
        return transformer_lr(index + 1, self.d_model, self.warmup, self.factor)


def warmup_scheduler(optimizer: torch.optim.Optimizer, d_model: int, warmup: int = 4000,
                     factor: float = 1.0) -> torch.optim.lr_scheduler.LambdaLR:
    """The paper's schedule as a ``LambdaLR``. Give the optimiser ``lr=1.0`` (``make_optimizer``
    does), call ``scheduler.step()`` after every ``optimizer.step()``; the ``n``-th update then
    uses ``transformer_lr(n, ...)``."""
    for group in optimizer.param_groups:
        if group.get("initial_lr", group["lr"]) != 1.0:
            raise ValueError(
                f"the optimizer's lr={group['lr']!r}: use lr=1.0, the schedule gives the rate"
            )
    return torch.optim.lr_scheduler.LambdaLR(optimizer, _WarmupLambda(d_model, warmup, factor))


def make_optimizer(model: nn.Module) -> torch.optim.Adam:
    """Adam with the paper's ``betas=(0.9, 0.98)`` and ``eps=1e-9``, ``lr=1.0`` for the schedule."""
    return torch.optim.Adam(model.parameters(), lr=1.0, betas=(0.9, 0.98), eps=1e-9)


class LabelSmoothingLoss(nn.Module):
    """Cross-entropy against a smoothed target: ``1 - smoothing`` on the right token plus
    ``smoothing / V`` spread over all ``V`` classes, averaged over the tokens that are not
    ``ignore_index`` (padding).

    Written out, per token: ``(1 - eps) * (-log p_y) + eps * mean_v(-log p_v)``: the same as
    ``nn.CrossEntropyLoss(label_smoothing=eps, ignore_index=pad_id)``.

    ``forward(logits, target)``: logits ``(..., V)`` (any float dtype; computed in float32),
    target ``(...)`` ids. Returns a scalar; 0 when every target is ``ignore_index`` (where
    ``nn.CrossEntropyLoss`` gives NaN).
    """

    def __init__(self, smoothing: float = 0.1, ignore_index: int = 0):
        super().__init__()
        check_fraction("smoothing", smoothing)
        self.smoothing = smoothing
        self.ignore_index = ignore_index

    def forward(self, logits: Tensor, target: Tensor) -> Tensor:
        if logits.shape[:-1] != target.shape:
            raise ValueError(
                f"logits {tuple(logits.shape)} must be target {tuple(target.shape)} plus (V,)"
            )
        logp = F.log_softmax(logits.float(), dim=-1)
        keep = target != self.ignore_index
        nll = -logp.gather(-1, target.clamp(min=0)[..., None]).squeeze(-1)
        uniform = -logp.mean(dim=-1)
        per_token = (1.0 - self.smoothing) * nll + self.smoothing * uniform
        return (per_token * keep).sum() / keep.sum().clamp(min=1)
