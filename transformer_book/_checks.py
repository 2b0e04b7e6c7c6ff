"""Argument checks shared by the package's public functions and classes.

Each raises ``ValueError`` whose message names the argument, the value and what was expected,
e.g. ``d_model=0 must be a positive int``.
"""

from __future__ import annotations


def check_int(name: str, value: object, minimum: int = 1) -> int:
    """``value`` must be an int (not a bool) of at least ``minimum``."""
    if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
        expected = "a positive int" if minimum == 1 else f"an int >= {minimum}"
        raise ValueError(f"{name}={value!r} must be {expected}")
    return value


def check_fraction(name: str, value: object) -> float:
    """``value`` must be a number in ``[0, 1)``: a dropout or smoothing probability."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= value < 1.0:
        raise ValueError(f"{name}={value!r} must be a number in [0, 1)")
    return value
