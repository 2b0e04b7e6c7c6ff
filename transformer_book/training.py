"""Training a Transformer (Vaswani et al., 2017, section 5): the train and evaluation loops, their
metrics, and ``fit``, which runs them epoch by epoch.

One device per process; bf16 autocast on CUDA; optional ``torch.compile``; gradient clipping
(not in the paper, but standard and cheap insurance). Batches hold a number of sentences
(``batch_size``) or of tokens (``max_tokens``, as the paper's); ``accumulate`` adds up the
gradients of several passes before each step; launched by ``torchrun``, ``fit`` trains with
``DistributedDataParallel``, each process on its share of every batch. The schedule and the
loss are in ``schedule``, checkpoints in ``checkpoints``.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass

import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel

from ._checks import (
    check_finite,
    check_fraction,
    check_integer,
    check_vocab_fits,
    first_non_finite,
)
from .batching import Batch, epoch_steps, make_batches, pair_lengths
from .checkpoints import Checkpoint, save_checkpoint
from .decoding import translate
from .loops import History, NonFiniteLossError, evaluate, train_epoch
from .protocols import Seq2Seq, Tokenizer, check_model
from .resuming import restore_training_state
from .runtime import get_device, rank_and_world
from .schedule import LabelSmoothingLoss, make_optimizer, warmup_scheduler
from .text.metrics import exact_match

__all__ = ["TrainingConfig", "fit"]


@dataclass
class TrainingConfig:
    """How to train (the model's shape is a ``TransformerConfig``).

    ``warmup`` and ``lr_factor`` set the schedule; ``clip_norm`` the gradient clipping (``None``:
    off); ``amp`` bf16 autocast (used on CUDA only); ``compile`` wraps the model in
    ``torch.compile``; ``progress`` shows a tqdm bar (``None``: only when stderr is a terminal);
    ``eval_size`` caps how many validation pairs are decoded for exact match each epoch.

    A batch holds ``batch_size`` pairs, or with ``max_tokens`` as many pairs of similar length
    as fit in ``max_tokens`` padded tokens on each side (``bucketing.token_batches``). Both count
    per process and per pass: a step adds up the gradients of ``accumulate`` passes of every
    process, so it learns from ``batch_size`` (or ``max_tokens``) x ``accumulate`` x processes.
    """

    epochs: int = 10
    batch_size: int = 64
    warmup: int = 200
    lr_factor: float = 0.25
    label_smoothing: float = 0.1
    clip_norm: float | None = 1.0
    seed: int = 0
    amp: bool = True
    compile: bool = False
    progress: bool | None = None
    eval_size: int = 1000
    max_decode_len: int = 32
    max_tokens: int | None = None
    accumulate: int = 1

    def __post_init__(self) -> None:
        for name in ("epochs", "batch_size", "warmup", "eval_size", "max_decode_len",
                     "accumulate"):
            check_integer(name, getattr(self, name))
        if self.max_tokens is not None:
            check_integer("max_tokens", self.max_tokens)
        check_fraction("label_smoothing", self.label_smoothing)
        # Past 100 times the paper's schedule, Adam's first steps already blow the weights up.
        if not 0 < check_finite("lr_factor", self.lr_factor, 0.0, MAX_LR_FACTOR):
            raise ValueError(f"lr_factor={self.lr_factor!r} must be > 0")
        check_integer("seed", self.seed, minimum=0)
        if self.seed > MAX_SEED:
            raise ValueError(f"seed={self.seed!r} must be an int in [0, {MAX_SEED}] "
                             f"(the range NumPy's generator takes)")
        for name in ("amp", "compile"):
            if not isinstance(getattr(self, name), bool):
                raise TypeError(f"{name}={getattr(self, name)!r} must be a bool")
        if self.clip_norm is not None and not 0 < check_finite("clip_norm", self.clip_norm):
            raise ValueError(f"clip_norm={self.clip_norm!r} must be > 0")


MAX_LR_FACTOR = 100.0
"""The largest ``lr_factor`` accepted: 100 times the paper's schedule."""
MAX_SEED = 2**32 - 1
"""The largest seed (``set_seed`` seeds NumPy too, which takes 32 bits)."""


def fit(model: Seq2Seq, tokenizer: Tokenizer,
        train_pairs: Sequence[tuple[str, str]] | Callable[[int], Sequence[tuple[str, str]]],
        val_pairs: Sequence[tuple[str, str]], config: TrainingConfig | None = None,
        device: torch.device | str | None = None, log: Callable[[str], None] | None = print,
        checkpoint_path: str | os.PathLike | None = None, resume: Checkpoint | None = None,
        extra: dict | None = None,
        on_epoch_end: Callable[[int, History], None] | None = None) -> History:
    """Train ``model`` on ``train_pairs`` for ``config.epochs`` epochs, evaluating on
    ``val_pairs`` after each (loss, token accuracy, greedy exact match) and logging one line.

    ``train_pairs`` is a list of pairs, or a function ``epoch -> pairs`` that gives fresh data
    every epoch (``epoch`` counts from 1). The data order of epoch ``e`` is shuffled with seed
    ``config.seed * 1000 + e``; dropout
    draws from PyTorch's global generator (seed it before). ``tokenizer`` is a
    ``CharTokenizer`` or a ``subword.SubwordTokenizer`` (anything with their interface).

    Run by ``torchrun`` between ``runtime.init_distributed()`` and
    ``runtime.leave_distributed()``, every process calls ``fit`` with
    the same data: each step's batch is cut the same way everywhere and each process trains on
    its share (``bucketing.shard``), ``DistributedDataParallel`` averages the gradients, and
    only rank 0 logs and writes the checkpoint. Each process validates its share of the
    validation batches and pairs (every ``world``-th one) and the sums are all-reduced, so
    every process sees the same history.

    With ``checkpoint_path`` a checkpoint is written after every epoch; ``resume`` (from
    ``load_checkpoint``) continues a run where it stopped (same model, optimiser, schedule,
    history and random state) up to ``config.epochs``; the schedule then continues from the
    checkpoint's state, so ``warmup`` and ``lr_factor`` of ``config`` apply only to a new run.
    The validation loss and every weight must be finite before a checkpoint is written;
    otherwise ``NonFiniteLossError`` stops training and the previous checkpoint stays as it was.
    ``on_epoch_end(epoch, history)`` is called after each epoch (e.g. to keep a copy of the
    weights for ``average_weights``).
    """
    config = config or TrainingConfig()
    _check_fit_inputs(model, tokenizer, train_pairs, val_pairs)
    device = get_device(device)
    model.to(device)
    rank, world = rank_and_world()
    if rank != 0:
        log, checkpoint_path = None, None
    optimizer = make_optimizer(model)
    scheduler = warmup_scheduler(optimizer, model.config.d_model, config.warmup, config.lr_factor)
    history, start = History(), 1
    if resume is not None:
        state, start = restore_training_state(resume, optimizer, scheduler)
        history = History.from_dict(state)
    loss_fn = LabelSmoothingLoss(config.label_smoothing, ignore_index=tokenizer.pad_id)
    eval_loss = LabelSmoothingLoss(0.0, ignore_index=tokenizer.pad_id)
    train_model = _for_training(model, device, world, config.compile)
    val_batches = make_batches(val_pairs, tokenizer, 256)[rank::world]  # this process's share
    val_sample = list(val_pairs[: config.eval_size])[rank::world]
    fixed_lengths = None  # token batches of fixed pairs: their lengths measured once
    if config.max_tokens is not None and not callable(train_pairs):
        fixed_lengths = pair_lengths(train_pairs, tokenizer)
    for epoch in range(start, config.epochs + 1):
        pairs = train_pairs(epoch) if callable(train_pairs) else train_pairs
        steps = epoch_steps(pairs, tokenizer, config.batch_size, config.max_tokens,
                            config.accumulate, config.seed * 1000 + epoch, rank, world,
                            fixed_lengths)
        train_loss = train_epoch(train_model, steps, optimizer, scheduler, loss_fn, device,
                                 config.clip_norm, config.amp,
                                 config.progress if rank == 0 else False, history, epoch)
        metrics = _validation_scores(model, tokenizer, val_batches, val_sample, eval_loss,
                                     device, config)
        _check_finite_state(model, metrics["loss"], epoch)
        history.record(epoch, train_loss, metrics)
        if checkpoint_path is not None:  # saved before the log line, which a pipe may refuse
            save_checkpoint(checkpoint_path, model, tokenizer, optimizer, scheduler, epoch,
                            history.to_dict(), training=asdict(config), extra=extra)
        if log is not None:
            log(f"epoch {epoch:2d}/{config.epochs}  train loss {train_loss:.3f}  "
                f"val loss {metrics['loss']:.3f}  val token acc {metrics['token_accuracy']:.3f}  "
                f"val exact {metrics['exact_match']:.3f}  lr {history.step_lr[-1]:.2e}")
        if on_epoch_end is not None:
            on_epoch_end(epoch, history)
    return history


def _for_training(model: nn.Module, device: torch.device, world: int, compile: bool
                  ) -> nn.Module:
    """The module the training steps call: ``model`` itself, wrapped in
    ``DistributedDataParallel`` under ``torchrun`` and compiled with ``compile``."""
    if world > 1:
        model = DistributedDataParallel(
            model, device_ids=None if device.index is None else [device.index])
    return torch.compile(model) if compile else model


def _validation_scores(model: Seq2Seq, tokenizer: Tokenizer, batches: Sequence[Batch],
              sample: Sequence[tuple[str, str]], loss_fn: nn.Module, device: torch.device,
              config: TrainingConfig) -> dict[str, float]:
    """``evaluate`` and greedy exact match on this process's share of the validation data,
    added up over all processes: every process returns the numbers of the whole set."""
    metrics = evaluate(model, batches, loss_fn, device, config.amp)
    predictions = translate(model, tokenizer, [s for s, _ in sample],
                            max_new_tokens=config.max_decode_len) if sample else []
    if rank_and_world()[1] == 1:
        return {**metrics, "exact_match": exact_match(predictions, [t for _, t in sample])}
    correct = sum(p == t for p, (_, t) in zip(predictions, sample, strict=True))
    tokens = sum(b.num_tokens for b in batches)
    sums = torch.tensor([metrics["loss"] * tokens, metrics["token_accuracy"] * tokens, tokens,
                         correct, len(sample)], dtype=torch.float64, device=device)
    dist.all_reduce(sums)
    loss, right, tokens, correct, pairs = sums.tolist()
    return {"loss": loss / tokens, "token_accuracy": right / tokens,
            "exact_match": correct / pairs}


def _check_fit_inputs(model: Seq2Seq, tokenizer: Tokenizer, train_pairs: object,
                      val_pairs: Sequence[tuple[str, str]]) -> None:
    """What ``fit`` needs before its first step: a tokenizer the model's vocabulary holds, some
    training pairs, and a validation set to measure each epoch on."""
    check_model(model)
    check_vocab_fits("tokenizer", len(tokenizer), model.config)
    if not callable(train_pairs) and len(train_pairs) == 0:
        raise ValueError("train_pairs is empty; give at least one (source, target) pair")
    if len(val_pairs) == 0:
        raise ValueError("val_pairs is empty; fit measures every epoch on a validation set")


def _check_finite_state(model: nn.Module, val_loss: float, epoch: int) -> None:
    """Raise ``NonFiniteLossError`` if the validation loss or any weight is NaN or infinite,
    naming the first bad weight, so that no checkpoint of spoiled weights is written."""
    if not math.isfinite(val_loss):
        raise NonFiniteLossError(f"training stopped: the validation loss is {val_loss} after "
                                 f"epoch {epoch}; lower the learning rate (lr_factor)")
    name = first_non_finite(model.named_parameters())
    if name is not None:
        raise NonFiniteLossError(f"training stopped: the weight {name} holds NaN or infinite "
                                 f"values after epoch {epoch}; lower the learning rate "
                                 f"(lr_factor)")
