"""Input validation shared by the whole package.

Every public function checks its inputs here so that bad values fail early with a
message that names the argument and the range it must lie in, instead of
propagating NaN through a fit or an optimiser, or failing inside numpy with a
message that names no argument. Strings, booleans and integers too large for a
float (``10**400``) are rejected as numbers; arrays that do not broadcast together
are rejected with the names of the arguments and their shapes. Every message shows
the value it refuses through ``shown``, which keeps it short (``10**400`` is "an
integer of 401 digits (1e+400)", not 401 digits).
"""

from __future__ import annotations

import math
import numbers

import numpy as np


def shown(value, width: int = 60) -> str:
    """``value`` as an error message shows it: short whatever it is.

    An integer of more than 20 digits is given by its number of digits and its order of
    magnitude (``10**400``: "an integer of 401 digits (1e+400)"), not digit by digit; a
    float or a numpy scalar by its repr ("nan", "inf", "1e+308"); a string by its repr
    cut to ``width`` characters; a small sequence or array entry by entry, a large one
    by its length or shape; any other object by its repr if short, else by its type.
    """
    import numbers

    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, bool) or value is None:
        return repr(value)
    if isinstance(value, numbers.Integral):
        digits = str(abs(int(value)))
        if len(digits) <= 20:
            return str(int(value))
        sign = "-" if value < 0 else ""
        mantissa = f"{digits[0]}.{digits[1:3]}".rstrip("0").rstrip(".")
        return (f"{'a negative' if sign else 'an'} integer of {len(digits)} digits "
                f"({sign}{mantissa}e+{len(digits) - 1})")
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, (str, bytes)):
        text = repr(value)
        return text if len(text) <= width else f"{text[:width - 20]}...' ({len(value)} characters)"
    if isinstance(value, np.ndarray):
        if value.size <= 6 and value.ndim <= 2:
            return shown(value.tolist(), width)
        return f"an array of shape {value.shape}"
    if isinstance(value, (list, tuple)):
        open_, close = ("[", "]") if isinstance(value, list) else ("(", ",)" if len(value) == 1 else ")")
        text = open_ + ", ".join(shown(v, width) for v in value[:6]) + (", ..." if len(value) > 6 else "") + close
        return text if len(text) <= width else f"a {type(value).__name__} of {len(value)} items"
    shape = getattr(value, "shape", None)
    if shape is not None and not callable(shape) and hasattr(value, "columns"):
        return f"a {type(value).__name__} of shape {tuple(shape)}"
    try:
        text = repr(value)
    except Exception:  # noqa: BLE001 - a broken __repr__ must not hide the error being reported
        text = ""
    return text if 0 < len(text) <= width else f"a {type(value).__name__}"


def _float_array(name: str, value, expected: str) -> np.ndarray:
    """``value`` as a float array; ``ValueError`` naming ``name`` for strings, booleans,
    non-numeric or overflowing values (``expected`` says what was wanted)."""
    if isinstance(value, (str, bytes, bool, np.bool_)):
        raise ValueError(f"{name} must be {expected}; got {shown(value)}")
    try:
        arr = np.asarray(value)
        if arr.dtype.kind not in "iuf" and arr.dtype != object:
            raise TypeError(arr.dtype)
        arr = arr.astype(float)
    except (TypeError, ValueError, OverflowError) as exc:
        raise ValueError(f"{name} must be {expected}; got {shown(value)}") from exc
    return arr


def positive_array(name: str, value, *, upper: float = np.inf) -> np.ndarray:
    """Return ``value`` as a float array after checking 0 < value < upper and finite.

    Raises ``ValueError`` naming ``name`` and the allowed range otherwise.
    """
    # The recipes' solvers call this tens of thousands of times per solve on small arrays,
    # so a valid value takes one comparison pass: ``0 < x < upper`` is False for NaN and
    # for both infinities, whatever ``upper``. Anything else goes through the full check
    # below, which builds the message.
    try:
        arr = _float_array(name, value, "a number")
    except ValueError:
        arr = None
    if arr is not None and arr.size and ((arr > 0) & (arr < upper)).all():
        return arr
    return _positive_array_or_raise(name, value, upper)


def _positive_array_or_raise(name: str, value, upper: float) -> np.ndarray:
    """``positive_array`` with its messages: the path of a value that fails the fast check."""
    upper_txt = "inf" if not np.isfinite(upper) else f"{upper:g}"
    arr = _float_array(name, value, f"numeric, finite and in the open interval (0, {upper_txt})")
    if arr.size == 0:
        raise ValueError(f"{name} must not be empty")
    bad = ~np.isfinite(arr) | (arr <= 0) | (arr >= upper)
    if np.any(bad):
        first = float(arr.flat[int(np.flatnonzero(bad.ravel())[0])])
        raise ValueError(
            f"{name} must be finite and in the open interval (0, {upper_txt}); "
            f"got {shown(first)}"
        )
    return arr


def in_range(name: str, value, lo: float, hi: float) -> float:
    """``float(value)`` after checking it is a real number (not a string or a
    boolean), finite and lo <= value <= hi."""
    message = f"{name} must be finite and in [{lo:g}, {hi:g}]; got {shown(value)}"
    if isinstance(value, (str, bytes, bool, np.bool_)) or np.ndim(value) != 0:
        raise ValueError(message)
    try:
        x = float(value)
    except (TypeError, ValueError, OverflowError) as exc:
        raise ValueError(message) from exc
    if not math.isfinite(x) or x < lo or x > hi:
        raise ValueError(message)
    return x


def integer(name: str, value, lo: int, hi: int | None = None) -> int:
    """``int(value)`` after checking it is an integer (not a boolean or a float) with
    lo <= value (<= hi); for option arguments such as counts and seeds."""
    top = "" if hi is None else f" and <= {hi}"
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral) \
            or value < lo or (hi is not None and value > hi):
        raise ValueError(f"{name} must be an integer >= {lo}{top}; got {shown(value)}")
    return int(value)


def array_in_range(name: str, value, lo: float, hi: float) -> np.ndarray:
    """``value`` as a float array after checking it is non-empty, finite and lo <= value <= hi."""
    arr = _float_array(name, value, f"numeric in [{lo:g}, {hi:g}]")
    bad = ~np.isfinite(arr) | (arr < lo) | (arr > hi)
    if arr.size == 0 or np.any(bad):
        first = arr.flat[int(np.flatnonzero(bad.ravel())[0])] if arr.size else value
        raise ValueError(f"{name} must be finite and in [{lo:g}, {hi:g}]; got {shown(first)}")
    return arr


def broadcast(**arrays) -> tuple[np.ndarray, ...]:
    """The arrays broadcast against each other; ``ValueError`` naming them and their
    shapes when they do not broadcast (instead of numpy's message naming none)."""
    try:
        return tuple(np.broadcast_arrays(*arrays.values()))
    except ValueError:
        shapes = ", ".join(f"{k} {np.shape(v)}" for k, v in arrays.items())
        raise ValueError(f"{', '.join(arrays)} must have shapes that broadcast together; "
                         f"got {shapes}") from None


def positive_interval(name: str, value) -> tuple[float, float]:
    """``value`` as a (low, high) pair of floats after checking both are finite and
    0 < low < high (for ranges and boxes passed as pairs)."""
    message = f"{name} must be a (low, high) pair of finite numbers with 0 < low < high; got {shown(value)}"
    if isinstance(value, (str, bytes)):
        raise ValueError(message)
    try:
        low, high = (in_range(name, v, -math.inf, math.inf) for v in value)
    except (TypeError, ValueError) as exc:
        raise ValueError(message) from exc
    if not (math.isfinite(low) and math.isfinite(high) and 0 < low < high):
        raise ValueError(message)
    return low, high


def frame(name: str, value, columns=()):
    """``value`` after checking it is a non-empty pandas DataFrame with ``columns``
    (``TypeError`` for another type, ``ValueError`` naming the missing columns)."""
    import pandas as pd

    wanted = f" with the columns {', '.join(columns)}" if columns else ""
    if not isinstance(value, pd.DataFrame):
        raise TypeError(f"{name} must be a pandas DataFrame{wanted}; got {type(value).__name__}")
    missing = [c for c in columns if c not in value.columns]
    if missing:
        raise ValueError(f"{name} must have the columns {', '.join(columns)}; missing {', '.join(missing)}")
    if value.empty:
        raise ValueError(f"{name} must have at least one row")
    return value


def instance(name: str, value, kind: type, where: str = ""):
    """``value`` after checking it is a ``kind`` (``TypeError`` naming ``name`` otherwise)."""
    if not isinstance(value, kind):
        raise TypeError(f"{name} must be a {kind.__name__}{where}; got {type(value).__name__}")
    return value


def choice(name: str, value, options) -> str:
    """``value`` after checking it is one of the strings ``options``."""
    options = list(options)
    if not isinstance(value, str) or value not in options:
        raise ValueError(f"{name} must be one of {', '.join(map(str, options))}; got {shown(value)}")
    return value


def existing_path(name: str, value, *, folder: bool = False):
    """``value`` as a ``Path`` after checking it names an existing file (``folder``: a
    directory); ``TypeError`` when it is not a string or path, ``ValueError`` when the
    file or folder is missing."""
    from os import PathLike
    from pathlib import Path

    if not isinstance(value, (str, PathLike)) or isinstance(value, bool):
        raise TypeError(f"{name} must be a path (a string or pathlib.Path); got {shown(value)}")
    path = Path(value)
    if str(value) == "" or not (path.is_dir() if folder else path.is_file()):
        raise ValueError(f"{name} must name an existing {'folder' if folder else 'file'}; got {shown(str(value))}")
    return path


def values_in_range(name: str, value, lo: float, hi: float) -> np.ndarray:
    """``value`` (a sequence or 1-D array of numbers) as a non-empty 1-D float array after
    checking every entry is finite and lo <= entry <= hi."""
    if np.ndim(value) != 1 if not isinstance(value, (str, bytes)) else True:
        raise ValueError(f"{name} must be a non-empty sequence of numbers in [{lo:g}, {hi:g}]; "
                         f"got {shown(value)}")
    return array_in_range(name, value, lo, hi)


def integers(name: str, value, lo: int, hi: int | None = None) -> tuple[int, ...]:
    """``value`` (a non-empty sequence or 1-D array of integers) as a tuple of ints after
    checking each is an integer (not a boolean or a float) with lo <= entry (<= hi)."""
    top = "" if hi is None else f" and <= {hi}"
    if isinstance(value, (str, bytes)) or np.ndim(value) != 1 or len(value) == 0:
        raise ValueError(f"{name} must be a non-empty sequence of integers >= {lo}{top}; got {shown(value)}")
    return tuple(integer(name, v, lo, hi) for v in value)


def declaration(obj, texts: tuple, functions: tuple) -> None:
    """Check a declaration (a dataclass such as a finding or a conclusion): each field in
    ``texts`` a non-empty string, each in ``functions`` a callable."""
    for name in texts:
        value = getattr(obj, name)
        if not isinstance(value, str) or not value.strip():
            raise TypeError(f"{name} must be a non-empty string; got {shown(value)}")
    for name in functions:
        if not callable(getattr(obj, name)):
            raise TypeError(f"{name} must be a function; got {shown(getattr(obj, name))}")
