"""Training a Transformer (Vaswani et al., 2017, section 5): the warmup schedule, label smoothing,
the train and evaluation loops, and checkpoints.

- Optimiser: Adam with ``betas=(0.9, 0.98)``, ``eps=1e-9`` (section 5.3).
- Learning rate: ``lrate = d_model^-0.5 * min(step^-0.5, step * warmup^-1.5)`` (equation 3),
  a ``LambdaLR`` on a base learning rate of 1 (times an optional ``factor``).
- Label smoothing ``eps_ls = 0.1`` (section 5.4, Szegedy et al., 2016), dropout (section 5.4),
  and gradient clipping (not in the paper, but standard and cheap insurance).
- One device for everything; bf16 autocast on CUDA; optional ``torch.compile``.
- Checkpoints are plain dicts of tensors, numbers, strings and lists (the config as a dict, the
  vocabulary as a list), so ``torch.load(path, weights_only=True)`` can read them safely.
"""

from __future__ import annotations

import math
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ._checks import check_fraction, check_int
from .data import Batch, CharTokenizer, make_batches
from .decoding import translate
from .model import Transformer, TransformerConfig
from .runtime import get_device

__all__ = [
    "transformer_lr", "warmup_scheduler", "make_optimizer", "LabelSmoothingLoss",
    "PRESETS", "preset_config", "TrainingConfig", "History", "NonFiniteLossError",
    "train_epoch", "evaluate", "exact_match", "fit", "average_weights",
    "CheckpointError", "save_checkpoint", "load_checkpoint", "Checkpoint",
]


# --- the learning-rate schedule (section 5.3) -------------------------------------------------

def transformer_lr(step: int, d_model: int, warmup: int = 4000, factor: float = 1.0) -> float:
    """``factor * d_model^-0.5 * min(step^-0.5, step * warmup^-1.5)`` for ``step >= 1``.

    It rises linearly for ``warmup`` steps, peaks at ``step = warmup``, then decays as
    ``1/sqrt(step)``.

    >>> round(transformer_lr(4000, 512), 6)  # the base model's peak
    0.000699
    """
    if not isinstance(step, int) or isinstance(step, bool) or step < 1:
        raise ValueError(f"step={step!r} must be an int >= 1 (steps count from 1)")
    check_int("warmup", warmup)
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


# --- label smoothing (section 5.4) --------------------------------------------------------------

class LabelSmoothingLoss(nn.Module):
    """Cross-entropy against a smoothed target: ``1 - smoothing`` on the right token plus
    ``smoothing / V`` spread over all ``V`` classes, averaged over the tokens that are not
    ``ignore_index`` (padding).

    Written out, per token: ``(1 - eps) * (-log p_y) + eps * mean_v(-log p_v)``: the same as
    ``nn.CrossEntropyLoss(label_smoothing=eps, ignore_index=pad_id)``.

    ``forward(logits, target)``: logits ``(..., V)`` (any float dtype; computed in float32),
    target ``(...)`` ids. Returns a scalar.
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
        return (per_token * keep).sum() / keep.sum()


# --- model sizes ----------------------------------------------------------------------------------

PRESETS: dict[str, dict] = {
    # A few seconds on a CPU: for tests and smoke runs.
    "tiny": dict(d_model=32, num_heads=2, num_layers=1, d_ff=64, dropout=0.0, max_len=64),
    # Chapter 8's model: learns the dates task in about a minute on a laptop CPU. No dropout:
    # the task has plenty of data for so small a model, and dropout only slows it down.
    "small": dict(d_model=64, num_heads=4, num_layers=2, d_ff=128, dropout=0.0, max_len=64),
    # The paper's base model (Table 3), for a GPU.
    "base": dict(d_model=512, num_heads=8, num_layers=6, d_ff=2048, dropout=0.1, max_len=256),
}


def preset_config(preset: str, vocab_size: int, **overrides) -> TransformerConfig:
    """A ``TransformerConfig`` for one vocabulary shared by source and target (tied embeddings)."""
    if preset not in PRESETS:
        raise ValueError(f"preset={preset!r} must be one of {list(PRESETS)}")
    kw = dict(src_vocab_size=vocab_size, tgt_vocab_size=vocab_size, share_embeddings=True,
              **PRESETS[preset])
    return TransformerConfig(**{**kw, **overrides})


# --- the loops --------------------------------------------------------------------------------

@dataclass
class TrainingConfig:
    """How to train (the model's shape is a ``TransformerConfig``).

    ``warmup`` and ``lr_factor`` set the schedule; ``clip_norm`` the gradient clipping (``None``:
    off); ``amp`` bf16 autocast (used on CUDA only); ``compile`` wraps the model in
    ``torch.compile``; ``progress`` shows a tqdm bar (``None``: only when stderr is a terminal);
    ``eval_size`` caps how many validation pairs are decoded for exact match each epoch.
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

    def __post_init__(self) -> None:
        for name in ("epochs", "batch_size", "warmup", "eval_size", "max_decode_len"):
            check_int(name, getattr(self, name))
        check_fraction("label_smoothing", self.label_smoothing)
        if not self.lr_factor > 0:
            raise ValueError(f"lr_factor={self.lr_factor!r} must be positive")
        if self.clip_norm is not None and not self.clip_norm > 0:
            raise ValueError(f"clip_norm={self.clip_norm!r} must be positive or None")


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

    def to_dict(self) -> dict[str, list]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> History:
        return cls(**{f.name: list(d.get(f.name, [])) for f in fields(cls)})


class NonFiniteLossError(FloatingPointError):
    """The training loss became NaN or infinite; training stops before the weights are spoiled."""


def _autocast(device: torch.device, amp: bool):
    return torch.autocast(device.type, dtype=torch.bfloat16, enabled=amp and device.type == "cuda")


def _progress(iterable, enabled: bool | None, desc: str):
    if enabled is None:
        enabled = sys.stderr.isatty()
    if not enabled:
        return iterable
    from tqdm.auto import tqdm

    return tqdm(iterable, desc=desc, leave=False)


def train_epoch(model: nn.Module, batches: Sequence[Batch], optimizer: torch.optim.Optimizer,
                scheduler: torch.optim.lr_scheduler.LRScheduler | None, loss_fn: nn.Module,
                device: torch.device, clip_norm: float | None = 1.0, amp: bool = True,
                progress: bool | None = False, history: History | None = None,
                epoch: int = 1) -> float:
    """One pass over ``batches`` with teacher forcing; returns the mean loss per target token.

    Raises ``NonFiniteLossError`` (naming the step) as soon as a loss is NaN or infinite, before
    the update. With ``history`` the loss and learning rate of each step are appended to it.
    """
    model.train()
    total, count = 0.0, 0
    for i, batch in enumerate(_progress(batches, progress, f"epoch {epoch}")):
        n = batch.num_tokens  # counted on the host, before the batch moves to the device
        b = batch.to(device)
        lr = optimizer.param_groups[0]["lr"]
        with _autocast(device, amp):
            logits = model(b.src, b.tgt_in, b.src_mask, b.tgt_mask)
        loss = loss_fn(logits, b.tgt_out)
        value = float(loss.detach())  # the step's one host-device synchronisation
        if not math.isfinite(value):
            raise NonFiniteLossError(
                f"training stopped: the loss is {value} at step {i + 1} of epoch {epoch} "
                f"(learning rate {lr:.3g}); lower the learning rate (lr_factor) or check the data"
            )
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
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


@torch.no_grad()
def evaluate(model: nn.Module, batches: Sequence[Batch], loss_fn: nn.Module,
             device: torch.device, amp: bool = True) -> dict[str, float]:
    """Teacher-forced ``{"loss", "token_accuracy"}`` over ``batches`` (per real target token)."""
    model.eval()
    loss_sum, correct, count = 0.0, 0, 0
    for batch in batches:
        b = batch.to(device)
        with _autocast(device, amp):
            logits = model(b.src, b.tgt_in, b.src_mask, b.tgt_mask)
        n = b.num_tokens
        loss_sum += float(loss_fn(logits, b.tgt_out)) * n
        correct += int(((logits.argmax(-1) == b.tgt_out) & b.tgt_mask).sum())
        count += n
    return {"loss": loss_sum / max(count, 1), "token_accuracy": correct / max(count, 1)}


def exact_match(predictions: Sequence[str], references: Sequence[str]) -> float:
    """The fraction of predictions equal to their reference, character for character."""
    if len(predictions) != len(references):
        raise ValueError(f"{len(predictions)} predictions but {len(references)} references")
    if not references:
        raise ValueError("references is empty")
    return sum(p == r for p, r in zip(predictions, references, strict=True)) / len(references)


def fit(model: Transformer, tokenizer: CharTokenizer,
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
    draws from PyTorch's global generator (seed it before). With ``checkpoint_path`` a checkpoint
    is written after every epoch; ``resume`` (from ``load_checkpoint``) continues a run where it
    stopped (same model, optimiser, schedule, history and random state) up to ``config.epochs``;
    the schedule then continues from the checkpoint's state, so ``warmup`` and ``lr_factor`` of
    ``config`` apply only to a new run.
    ``on_epoch_end(epoch, history)`` is called after each epoch (e.g. to keep a copy of the
    weights for ``average_weights``).
    """
    config = config or TrainingConfig()
    device = get_device(device) if not isinstance(device, torch.device) else device
    model.to(device)
    optimizer = make_optimizer(model)
    scheduler = warmup_scheduler(optimizer, model.config.d_model, config.warmup, config.lr_factor)
    history, start = History(), 1
    if resume is not None:
        if resume.optimizer_state is None:
            raise ValueError("resume: the checkpoint holds no optimizer state (not a training run)")
        optimizer.load_state_dict(resume.optimizer_state)
        scheduler.load_state_dict(resume.scheduler_state)
        history = History.from_dict(resume.history)
        start = resume.epoch + 1
        if resume.rng_state is not None:
            torch.set_rng_state(resume.rng_state)
        if resume.cuda_rng_states and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(resume.cuda_rng_states)
    loss_fn = LabelSmoothingLoss(config.label_smoothing, ignore_index=tokenizer.pad_id)
    eval_loss = LabelSmoothingLoss(0.0, ignore_index=tokenizer.pad_id)
    train_model = torch.compile(model) if config.compile else model
    val_batches = make_batches(val_pairs, tokenizer, 256)
    val_sample = list(val_pairs[: config.eval_size])
    for epoch in range(start, config.epochs + 1):
        pairs = train_pairs(epoch) if callable(train_pairs) else train_pairs
        batches = make_batches(pairs, tokenizer, config.batch_size, shuffle=True,
                               seed=config.seed * 1000 + epoch)
        train_loss = train_epoch(train_model, batches, optimizer, scheduler, loss_fn, device,
                                 config.clip_norm, config.amp, config.progress, history, epoch)
        metrics = evaluate(model, val_batches, eval_loss, device, config.amp)
        predictions = translate(model, tokenizer, [s for s, _ in val_sample],
                                max_len=config.max_decode_len)
        em = exact_match(predictions, [t for _, t in val_sample])
        history.epoch.append(epoch)
        history.train_loss.append(train_loss)
        history.val_loss.append(metrics["loss"])
        history.val_token_accuracy.append(metrics["token_accuracy"])
        history.val_exact_match.append(em)
        if log is not None:
            log(f"epoch {epoch:2d}/{config.epochs}  train loss {train_loss:.3f}  "
                f"val loss {metrics['loss']:.3f}  val token acc {metrics['token_accuracy']:.3f}  "
                f"val exact {em:.3f}  lr {history.step_lr[-1]:.2e}")
        if checkpoint_path is not None:
            save_checkpoint(checkpoint_path, model, tokenizer, optimizer, scheduler, epoch,
                            history, training=asdict(config), extra=extra)
        if on_epoch_end is not None:
            on_epoch_end(epoch, history)
    return history


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


# --- checkpoints ----------------------------------------------------------------------------------

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
        "history": (history or History()).to_dict(),
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
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise CheckpointError(
            f"{str(path)!r} is not a readable checkpoint ({reason[:200]})"
        ) from exc
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise CheckpointError(f"{str(path)!r} is not a transformer_book checkpoint")
    try:
        config = TransformerConfig(**state["config"])
        tokenizer = CharTokenizer.from_vocab(state["vocab"])
        model = Transformer(config)
        model.load_state_dict(state["model"])
    except (KeyError, TypeError, ValueError, RuntimeError) as exc:
        reason = str(exc).strip().splitlines()[0]
        raise CheckpointError(f"{str(path)!r} is a damaged checkpoint ({reason[:200]})") from exc
    device = get_device(device) if not isinstance(device, torch.device) else device
    model.to(device).eval()
    return Checkpoint(model, tokenizer, state.get("epoch", 0), state.get("history", {}),
                      state.get("training", {}), state.get("extra", {}), state.get("optimizer"),
                      state.get("scheduler"), state.get("rng_state"),
                      list(state.get("cuda_rng_states", [])))
