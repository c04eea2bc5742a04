"""Reproduction checks in three kinds, the same in every chapter.

Each chapter ends with a table of checks, built from three constructors:

* ``paper(quantity, paper_value, ours, printed=...)``: the paper's stated value against
  ours. The tolerance is half a unit of the last digit the paper prints (``printed`` is
  the value as printed, e.g. ``"0.513"``: tolerance 0.0005), or ``tolerance=`` with a
  ``reason`` saying why another one applies (a value read off a figure, a relative
  tolerance). Verdict "agrees".
* ``finding(quantity, ours, holds, criterion)``: one of the book's own findings, guarded
  so that it cannot silently change; ``criterion`` says in words what ``holds`` tests.
  Verdict "holds".
* ``differs(quantity, paper_statement, ours, differs, reason)``: a disagreement with the
  paper. ``differs`` is the computation that shows the disagreement (so that the entry
  must be revisited if it stops showing it), ``reason`` what the book finds instead.
  Verdict "differs", never "pass".

``show(checks)`` displays the three kinds as three tables and raises ``CheckError``
listing every check whose test fails, so the build fails.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass
from decimal import Decimal

import numpy as np
import pandas as pd
from analysis._checks import in_range, shown

__all__ = ["Check", "CheckError", "paper", "finding", "differs", "half_unit", "tables", "show", "KINDS"]

#: The three kinds, in the order the chapters show them, with their headings.
KINDS = {
    "paper": "(a) The paper's stated values against ours",
    "finding": "(b) The book's own findings, guarded",
    "differs": "(c) Where the book differs from the paper",
}


class CheckError(AssertionError):
    """A reproduction check whose test fails."""


@dataclass(frozen=True)
class Check:
    """One row of a chapter's check table."""

    kind: str
    quantity: str
    paper: str
    ours: object
    tolerance: str
    ok: bool
    verdict: str
    reason: str = ""


def half_unit(printed: str) -> float:
    """Half a unit of the last printed digit of ``printed`` ("0.513" -> 0.0005, "3355" -> 0.5,
    "1.2e21" -> 5e19)."""
    if not isinstance(printed, str):
        raise TypeError(f"printed must be a string (the number as the paper prints it); got {shown(printed)}")
    try:
        d = Decimal(printed.strip())
    except Exception as exc:  # decimal.InvalidOperation
        raise ValueError(f"printed must be a number as the paper prints it; got {shown(printed)}") from exc
    if not d.is_finite() or not -300 <= d.as_tuple().exponent <= 300:
        raise ValueError(f"printed must be a finite number as the paper prints it; got {shown(printed)}")
    return 0.5 * 10.0 ** int(d.as_tuple().exponent)


def _number(name: str, x) -> float:
    """``x`` as a float after checking it is a finite real number."""
    if isinstance(x, (str, bytes, bool, np.bool_)) or np.ndim(x) != 0:
        raise ValueError(f"{name} must be a finite number; got {shown(x)}")
    try:
        value = float(x)
    except (TypeError, ValueError, OverflowError):
        raise ValueError(f"{name} must be a finite number; got {shown(x)}") from None
    if not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number; got {shown(x)}")
    return value


def _non_finite(x) -> bool:
    """Whether ``x`` is, or holds (a tuple, list or array of), a number that is NaN or infinite."""
    if isinstance(x, (str, bytes, bool, np.bool_)):
        return False
    if isinstance(x, (numbers.Real, np.number)):
        try:
            return not math.isfinite(float(x))
        except OverflowError:  # an integer beyond a float (10**400) is finite
            return False
    if isinstance(x, (tuple, list, np.ndarray)):
        return any(_non_finite(v) for v in np.asarray(x, dtype=object).ravel())
    return False


def _ours(quantity: str, ours):
    """``ours`` after checking that it is not, and does not hold, a NaN or infinite number:
    a check shows a value it computed, and NaN or inf there hides a failed computation."""
    if _non_finite(ours):
        raise ValueError(f"{quantity}: ours must be finite (a number the chapter computed, or a text or "
                         f"a boolean); got {shown(ours)}")
    return ours


def _text(name: str, value, *, empty: bool = False) -> str:
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a {'' if empty else 'non-empty '}string; got {shown(value)}")
    if not (empty or value.strip()):
        raise ValueError(f"{name} must be a non-empty string")
    return value


def paper(quantity: str, paper_value, ours, *, printed: str | None = None, tolerance: float | None = None,
          relative: bool = False, upper: bool = False, reason: str = "") -> Check:
    """The paper's value against ours. With ``printed`` (the value as the paper prints it)
    the tolerance is half a unit of its last digit; otherwise ``tolerance`` and a
    ``reason`` for it are required. ``relative``: the tolerance is on ours / paper - 1.
    ``upper``: the paper states a bound ("about 1% or less"), so ours agrees when it is at
    most the paper's value plus the tolerance."""
    _text("quantity", quantity), _text("reason", reason, empty=True)
    for name, flag in (("relative", relative), ("upper", upper)):
        if not isinstance(flag, (bool, np.bool_)):
            raise ValueError(f"{name} must be True or False; got {shown(flag)}")
    if printed is not None:
        tol = half_unit(printed)
        if paper_value is None:
            paper_value = float(printed)
        where = f"± {tol:g} (half a unit of the printed {printed})"
    else:
        if paper_value is None:
            raise ValueError(f"{quantity}: give the paper_value (or printed=)")
        if tolerance is None or not reason:
            raise ValueError(f"{quantity}: give printed= (the value as printed) or tolerance= with a reason")
        tol = in_range("tolerance", tolerance, 0.0, math.inf)
        where = f"{'rel. ' if relative else '± '}{tol:g}"
    p, o = _number("paper_value", paper_value), _number("ours", ours)
    gap = (o / p - 1 if relative else o - p) if upper else (abs(o / p - 1) if relative else abs(o - p))
    if upper:
        where = "at most the paper's value " + where
    ok = bool(math.isfinite(gap) and gap <= tol * (1 + 1e-12))
    return Check("paper", quantity, f"{p:.6g}", o, where, ok, "agrees" if ok else "FAILS", reason)


def finding(quantity: str, ours, holds, criterion: str) -> Check:
    """One of the book's own findings: ``holds`` (a boolean, or a function of ``ours``)
    must be true; ``criterion`` says what it tests. ``ours`` is shown as it is (a number,
    a text, a boolean or a tuple of them); a NaN or infinite number raises ``ValueError``
    (for a quantity beyond a searched range, show the range's end or say so in a text)."""
    _text("quantity", quantity), _text("criterion", criterion)
    _ours(quantity, ours)
    ok = holds(ours) if callable(holds) else holds
    if not isinstance(ok, (bool, np.bool_)):
        raise TypeError(f"{quantity}: holds must be a boolean or return one; got {type(ok).__name__}")
    return Check("finding", quantity, "", ours, criterion, bool(ok), "holds" if ok else "FAILS")


def differs(quantity: str, paper_statement: str, ours, differs, reason: str) -> Check:
    """A disagreement with the paper: ``differs`` (a boolean, or a function of ``ours``) is
    the computation showing it; ``reason`` is what the book finds and why. ``ours`` is
    shown as it is (as for ``finding``: a NaN or infinite number raises ``ValueError``)."""
    _text("quantity", quantity), _text("paper_statement", paper_statement), _text("reason", reason)
    _ours(quantity, ours)
    if not reason:
        raise ValueError(f"{quantity}: a disagreement needs its reason")
    ok = differs(ours) if callable(differs) else differs
    if not isinstance(ok, (bool, np.bool_)):
        raise TypeError(f"{quantity}: differs must be a boolean or return one; got {type(ok).__name__}")
    return Check("differs", quantity, str(paper_statement), ours, "", bool(ok),
                 "differs" if ok else "FAILS (no longer differs)", reason)


def _cell(x):
    if isinstance(x, (bool, np.bool_)):
        return str(bool(x))
    if isinstance(x, (int, np.integer)) and abs(int(x)) >= 10**20:
        return shown(x)  # beyond a float (10**400): by its digits
    if isinstance(x, (int, float, np.integer, np.floating)):
        return f"{float(x):.6g}"
    return str(x)


def tables(checks) -> dict[str, pd.DataFrame]:
    """The checks as one table per kind (kinds without checks are left out)."""
    if isinstance(checks, (str, bytes, Check)) or not hasattr(checks, "__iter__"):
        raise TypeError(f"checks must be a sequence of checks (paper(), finding(), differs()); got {shown(checks)}")
    checks = list(checks)
    bad = [c for c in checks if not isinstance(c, Check)]
    if bad:
        raise TypeError(f"checks must be made by paper(), finding() or differs(); got {shown(bad[0])}")
    columns = {
        "paper": ["quantity", "paper", "ours", "tolerance", "verdict", "reason"],
        "finding": ["quantity", "ours", "tolerance", "verdict"],
        "differs": ["quantity", "paper", "ours", "verdict", "reason"],
    }
    out = {}
    for kind in KINDS:
        rows = [{"quantity": c.quantity, "paper": c.paper, "ours": _cell(c.ours),
                 "tolerance": c.tolerance, "verdict": c.verdict, "reason": c.reason}
                for c in checks if c.kind == kind]
        if rows:
            frame = pd.DataFrame(rows)[columns[kind]]
            if kind == "finding":
                frame = frame.rename(columns={"tolerance": "criterion"})
            if kind == "paper" and not frame["reason"].str.len().any():
                frame = frame.drop(columns="reason")
            out[kind] = frame
    return out


def show(checks) -> None:
    """Display the three kinds of check as three tables, then raise ``CheckError`` if any
    check fails."""
    from IPython.display import Markdown, display

    parts = tables(checks)
    checks = list(checks)
    for kind, frame in parts.items():
        display(Markdown(f"**{KINDS[kind]}**"))
        display(frame.style.hide(axis="index"))
    failed = [c for c in checks if not c.ok]
    if failed:
        raise CheckError("failing checks: " + "; ".join(f"{c.quantity} ({c.verdict}, ours = {_cell(c.ours)})"
                                                         for c in failed))
