"""Argument checks shared by the package's public functions and classes.

One rule everywhere: a wrong *type* raises ``TypeError``, a wrong *value* (range, shape) raises
``ValueError``, and the message names the argument, the value and what was expected, e.g.
``d_model=0 must be an int >= 1`` or ``src must hold integer token ids, got torch.float32``.
Each check returns its argument, so it can stand in an assignment.
"""

from __future__ import annotations

import math
import os
from collections.abc import Collection, Iterable
from pathlib import Path

import torch
from torch import Tensor


def _describe(x: object) -> str:
    return f"shape {tuple(x.shape)}" if isinstance(x, Tensor) else type(x).__name__


def check_integer(name: str, value: object, minimum: int = 1) -> int:
    """``value`` must be an int (not a bool) of at least ``minimum``.

    >>> check_integer("d_model", 0)
    Traceback (most recent call last):
    ValueError: d_model=0 must be an int >= 1
    """
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError(f"{name}={value!r} must be an int, got {type(value).__name__}")
    if value < minimum:
        raise ValueError(f"{name}={value!r} must be an int >= {minimum}")
    return value


def check_heads(d_model: object, num_heads: object) -> None:
    """``d_model`` and ``num_heads`` must be positive ints, ``d_model`` divisible by
    ``num_heads`` (each head gets ``d_k = d_model / num_heads``)."""
    check_integer("d_model", d_model)
    check_integer("num_heads", num_heads)
    if d_model % num_heads != 0:
        raise ValueError(f"d_model={d_model} is not divisible by num_heads={num_heads}")


def check_number(name: str, value: object) -> float:
    """``value`` must be an int or a float (not a bool)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name}={value!r} must be a number, got {type(value).__name__}")
    return value


def check_fraction(name: str, value: object) -> float:
    """``value`` must be a number in ``[0, 1)``: a dropout or smoothing probability."""
    if not 0.0 <= check_number(name, value) < 1.0:
        raise ValueError(f"{name}={value!r} must be a number in [0, 1)")
    return value


def check_positive(name: str, value: object) -> float:
    """``value`` must be a number ``> 0`` (NaN is refused too)."""
    if not check_number(name, value) > 0:
        raise ValueError(f"{name}={value!r} must be a positive number")
    return value


def check_finite(name: str, value: object, low: float = -math.inf,
                 high: float = math.inf) -> float:
    """``value`` must be a finite number in ``[low, high]`` (NaN and infinities are refused).

    >>> check_finite("lr_factor", float("inf"), 0.0, 100.0)
    Traceback (most recent call last):
    ValueError: lr_factor=inf must be a finite number in [0.0, 100.0]
    """
    if not (math.isfinite(check_number(name, value)) and low <= value <= high):
        raise ValueError(f"{name}={value!r} must be a finite number in [{low}, {high}]")
    return value


def check_choice(name: str, value: object, choices: Collection) -> object:
    """``value`` must be one of ``choices``."""
    if value not in choices:
        raise ValueError(f"{name}={value!r} must be one of {list(choices)}")
    return value


def check_tensor(name: str, x: object) -> Tensor:
    """``x`` must be a ``torch.Tensor``."""
    if not isinstance(x, Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(x).__name__}")
    return x


def check_float_tensor(name: str, x: object, shape: str | None = None,
                       dim: int | None = None) -> Tensor:
    """``x`` must be a floating-point tensor; with ``dim``, of that many dimensions
    (``shape`` names them in the message, e.g. ``"(batch, seq, d)"``)."""
    if not check_tensor(name, x).dtype.is_floating_point:
        raise TypeError(f"{name} must have a floating-point dtype, got {x.dtype}")
    if dim is not None and x.dim() != dim:
        raise ValueError(f"{name} must have shape {shape or f'of {dim} dims'}, got {_describe(x)}")
    return x


def check_token_ids(name: str, tokens: object, vocab_size: int | None = None,
                    nonempty: bool = False) -> Tensor:
    """``tokens`` must be a ``(batch, seq)`` tensor of integer ids; with ``vocab_size``, each
    in ``[0, vocab_size)``; with ``nonempty``, at least one sequence of at least one token.

    The range check reads the smallest and largest id on the host (one device
    synchronisation); it turns what would be an ``IndexError`` on the CPU, or a device-side
    assert on a GPU, into a ``ValueError`` that names the argument.
    """
    if check_tensor(name, tokens).dtype.is_floating_point or tokens.dtype in (
            torch.bool, torch.complex64, torch.complex128):
        raise TypeError(f"{name} must hold integer token ids, got {tokens.dtype}")
    if tokens.dim() != 2:
        raise ValueError(f"{name} must have shape (batch, seq), got {_describe(tokens)}")
    if nonempty and tokens.numel() == 0:
        raise ValueError(f"{name} must hold at least one sequence of at least one token, got "
                         f"{_describe(tokens)} (batch, seq)")
    if vocab_size is not None and tokens.numel() > 0:
        low, high = (int(t) for t in torch.aminmax(tokens))
        if low < 0 or high >= vocab_size:
            raise ValueError(
                f"{name} holds ids from {low} to {high}; expected 0 <= id < vocab_size={vocab_size}"
            )
    return tokens


def check_padding_mask(name: str, mask: object,
                       shape: torch.Size | tuple | None = None) -> Tensor | None:
    """``mask`` must be ``None`` or a ``(batch, seq)`` bool tensor, ``True`` at real tokens;
    with ``shape``, of exactly that shape."""
    if mask is None:
        return None
    if check_tensor(name, mask).dtype != torch.bool:
        raise TypeError(f"{name} must be a bool tensor (True = real token), got {mask.dtype}")
    if mask.dim() != 2 or (shape is not None and mask.shape != tuple(shape)):
        expected = "(batch, seq)" if shape is None else f"{tuple(shape)} (batch, seq)"
        raise ValueError(f"{name} must have shape {expected}, got {_describe(mask)}")
    return mask


def check_attn_mask(mask: object, scores_shape: torch.Size) -> Tensor:
    """``mask`` must be a bool tensor (``True`` = may attend) that broadcasts to the attention
    scores' shape ``(..., q_len, k_len)``."""
    if check_tensor("mask", mask).dtype != torch.bool:
        raise TypeError(f"mask must have dtype torch.bool (True = may attend), got {mask.dtype}")
    try:
        shape = torch.broadcast_shapes(mask.shape, scores_shape)
    except RuntimeError:
        shape = None
    if shape != scores_shape:
        raise ValueError(
            f"mask of shape {tuple(mask.shape)} does not broadcast to the scores' shape "
            f"{tuple(scores_shape)} (..., q_len, k_len)"
        )
    return mask


def check_vocab_fits(name: str, size: int, config: object) -> int:
    """A tokenizer of ``size`` tokens must fit both vocabularies of a model's ``config`` (else
    its last ids would index past an embedding)."""
    vocab_size = min(config.src_vocab_size, config.tgt_vocab_size)
    if size > vocab_size:
        raise ValueError(f"{name} has {size} tokens, more than the model's "
                         f"vocab_size={vocab_size}; build the model with the tokenizer's size")
    return size


def check_output_path(name: str, path: object) -> Path:
    """``path`` must name a regular file (existing or not) in an existing, writable folder:
    not empty, not a folder, not a device or pipe.

    >>> check_output_path("out", "")
    Traceback (most recent call last):
    ValueError: out='' must be a file path, got an empty string
    """
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"{name}={path!r} must be a file path, got {type(path).__name__}")
    if str(path) == "":
        raise ValueError(f"{name}='' must be a file path, got an empty string")
    text = os.fspath(path)
    if isinstance(text, str) and (text.endswith(("/", os.sep)) or os.path.basename(text) in (
            ".", "..")):  # Path() would drop the trailing part and name the file before it
        raise ValueError(f"{name}={text!r} ends with a folder separator or a dot, so it names a "
                         f"folder, not a file path")
    path = Path(path)
    if path.is_dir():
        raise ValueError(f"{name}={str(path)!r} is a folder, not a file path")
    if path.exists() and not path.is_file():
        raise ValueError(f"{name}={str(path)!r} is not a regular file (a device, pipe or socket)")
    folder = path.parent
    if not folder.is_dir():
        raise ValueError(f"{name}={str(path)!r}: the folder {str(folder)!r} does not exist")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise ValueError(f"{name}={str(path)!r}: the folder {str(folder)!r} is not writable")
    return path


def check_qkv(q: object, k: object, v: object) -> None:
    """``q``, ``k``, ``v``: float tensors of one dtype, ``(..., q_len, d_k)``,
    ``(..., k_len, d_k)`` and ``(..., k_len, d_v)`` with batch dimensions that broadcast."""
    for name, x in (("q", q), ("k", k), ("v", v)):
        if check_float_tensor(name, x).dim() < 2:
            raise ValueError(f"{name} must have shape (..., seq, dim), got shape {tuple(x.shape)}")
    if not (q.dtype == k.dtype == v.dtype):
        raise TypeError(f"q, k and v must share one dtype, got {q.dtype}, {k.dtype} and {v.dtype}")
    if q.size(-1) == 0:
        raise ValueError(f"q must have d_k >= 1 features per position, got shape {tuple(q.shape)}")
    if q.size(-1) != k.size(-1):
        raise ValueError(f"q and k must have the same last dimension d_k, got q "
                         f"{tuple(q.shape)} and k {tuple(k.shape)}")
    if k.size(-2) != v.size(-2):
        raise ValueError(f"k and v must have the same number of positions, got k "
                         f"{tuple(k.shape)} and v {tuple(v.shape)}")
    try:
        torch.broadcast_shapes(q.shape[:-2], k.shape[:-2], v.shape[:-2])
    except RuntimeError as exc:
        raise ValueError(
            f"the batch dimensions of q {tuple(q.shape)}, k {tuple(k.shape)} and "
            f"v {tuple(v.shape)} do not broadcast"
        ) from exc


def check_attention_inputs(query: object, key: object, value: object, d_model: int,
                           dtype: torch.dtype) -> None:
    """``MultiHeadAttention``'s inputs: float tensors ``(batch, seq, d_model)`` of the module's
    ``dtype`` (unless autocast chooses the dtypes), one batch size, key and value one length."""
    for name, x in (("query", query), ("key", key), ("value", value)):
        if check_float_tensor(name, x).dim() != 3 or x.size(-1) != d_model:
            raise ValueError(
                f"{name} must have shape (batch, seq, d_model={d_model}), got {tuple(x.shape)}"
            )
    if not (query.dtype == key.dtype == value.dtype == dtype) and not _autocast_on(query):
        raise TypeError(
            f"query, key and value ({query.dtype}, {key.dtype}, {value.dtype}) must have the "
            f"module's dtype {dtype}; convert the inputs or the module (.to(dtype))"
        )
    if key.shape[:2] != value.shape[:2] or query.size(0) != key.size(0):
        raise ValueError(
            f"query {tuple(query.shape)}, key {tuple(key.shape)} and value "
            f"{tuple(value.shape)} must share the batch size, and key and value the length"
        )


def _autocast_on(x: Tensor) -> bool:
    """Whether autocast is on for ``x``'s device (then it chooses the dtypes, not we)."""
    try:
        return torch.is_autocast_enabled(x.device.type)
    except TypeError:  # PyTorch before 2.4 takes no device type
        return torch.is_autocast_enabled()


def check_memory(memory: object, width: int, batch: int, width_name: str = "d_model") -> Tensor:
    """The encoder's output handed to a decoder: a float ``(batch, src_len, width)`` tensor
    with the target's batch size."""
    if check_float_tensor("memory", memory).dim() != 3 or memory.size(-1) != width:
        raise ValueError(
            f"memory must have shape (batch, src_len, {width_name}={width}), "
            f"got {tuple(memory.shape)}"
        )
    if memory.size(0) != batch:
        raise ValueError(
            f"tgt has batch size {batch} but the memory (from src) has {memory.size(0)}"
        )
    return memory


def one_line(text: str, limit: int = 200) -> str:
    """``text`` on one line (its whitespace runs made single spaces), at most ``limit``
    characters: how an error's message is reported."""
    return " ".join(text.split())[:limit]


def first_non_finite(named: Iterable[tuple[str, Tensor]]) -> str | None:
    """The name of the first floating-point tensor that holds a NaN or an infinity, else
    ``None``; one device synchronisation for all of them."""
    named = [(name, t) for name, t in named if t.is_floating_point()]
    if not named:
        return None
    finite = torch.stack([torch.isfinite(t).all() for _, t in named]).cpu()
    return next((name for (name, _), ok in zip(named, finite.tolist(), strict=True) if not ok),
                None)
