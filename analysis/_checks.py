"""Input validation shared by the whole package.

Every public function checks its inputs here so that bad values fail early with a
message that names the argument and the range it must lie in, instead of
propagating NaN through a fit or an optimiser.
"""

from __future__ import annotations

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


def fraction(name: str, value) -> float:
    """Return ``value`` as a float after checking it lies in [0, 1]."""
    x = float(value)
    if not np.isfinite(x) or x < 0 or x > 1:
        raise ValueError(f"{name} must be in the closed interval [0, 1]; got {value!r}")
    return x
