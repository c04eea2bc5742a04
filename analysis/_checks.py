"""Input validation shared by the whole package.

Every public function checks its inputs here so that bad values fail early with a
message that names the argument and the range it must lie in, instead of
propagating NaN through a fit or an optimiser.
"""

from __future__ import annotations

import math

import numpy as np


def positive_array(name: str, value, *, upper: float = np.inf) -> np.ndarray:
    """Return ``value`` as a float array after checking 0 < value < upper and finite.

    Raises ``ValueError`` naming ``name`` and the allowed range otherwise.
    """
    try:
        arr = np.asarray(value, dtype=float)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be numeric; got {value!r}") from exc
    if arr.size == 0:
        raise ValueError(f"{name} must not be empty")
    bad = ~np.isfinite(arr) | (arr <= 0) | (arr >= upper)
    if np.any(bad):
        first = float(arr.flat[int(np.flatnonzero(bad.ravel())[0])])
        upper_txt = "inf" if not np.isfinite(upper) else f"{upper:g}"
        raise ValueError(
            f"{name} must be finite and in the open interval (0, {upper_txt}); "
            f"got {first!r}"
        )
    return arr


def in_range(name: str, value, lo: float, hi: float) -> float:
    """``float(value)`` after checking it is finite and lo <= value <= hi."""
    try:
        x = float(value)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be a number in [{lo:g}, {hi:g}]; got {value!r}") from exc
    if not math.isfinite(x) or x < lo or x > hi:
        raise ValueError(f"{name} must be finite and in [{lo:g}, {hi:g}]; got {value!r}")
    return x


def array_in_range(name: str, value, lo: float, hi: float) -> np.ndarray:
    """``value`` as a float array after checking it is non-empty, finite and lo <= value <= hi."""
    try:
        arr = np.asarray(value, dtype=float)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be numeric in [{lo:g}, {hi:g}]; got {value!r}") from exc
    bad = ~np.isfinite(arr) | (arr < lo) | (arr > hi)
    if arr.size == 0 or np.any(bad):
        first = arr.flat[int(np.flatnonzero(bad.ravel())[0])] if arr.size else value
        raise ValueError(f"{name} must be finite and in [{lo:g}, {hi:g}]; got {first!r}")
    return arr


def positive_interval(name: str, value) -> tuple[float, float]:
    """``value`` as a (low, high) pair of floats after checking both are finite and
    0 < low < high (for ranges and boxes passed as pairs)."""
    message = f"{name} must be a (low, high) pair of finite numbers with 0 < low < high; got {value!r}"
    if isinstance(value, (str, bytes)):
        raise ValueError(message)
    try:
        low, high = (float(v) for v in value)
    except (TypeError, ValueError) as exc:
        raise ValueError(message) from exc
    if not (math.isfinite(low) and math.isfinite(high) and 0 < low < high):
        raise ValueError(message)
    return low, high
