"""A batched one-dimensional minimiser: many bounded problems solved at once.

The recipes (``analysis.recipes``) reduce every compute-optimal problem to one or two
nested one-dimensional searches; ``minimise_1d`` solves a whole batch of them with
numpy, vectorised over the problems:

1. a coarse grid of ``n_coarse`` points on each problem's interval, where up to
   ``n_starts`` local minima are kept (a global search: the objective need not be
   unimodal);
2. each kept minimum is polished on the two grid cells around it until its bracket is
   narrower than ``tol``: by golden-section search (one evaluation per problem and
   iteration) for large batches, by 9-point grid zooming (a bracket four times
   narrower per step, fewer sequential numpy passes) for batches of at most
   ``SMALL_BATCH`` (problem, start) pairs.

It never leaves ``[lower, upper]``; an objective returns ``inf`` where a point is
infeasible. tests/test_minimise.py checks it against dense grids.
"""

from __future__ import annotations

import math

import numpy as np

from analysis._checks import array_in_range, broadcast, in_range, integer, shown

__all__ = ["minimise_1d", "SMALL_BATCH"]

_INVPHI = (math.sqrt(5.0) - 1.0) / 2.0
#: Batches of at most this many (problem, start) pairs are polished by grid
#: zooming (fewer sequential numpy passes), larger ones by golden section.
SMALL_BATCH = 64


def minimise_1d(objective, P, lower, upper, *, n_coarse=24, n_starts=2, tol=1e-5):
    """Minimise P one-dimensional problems at once on [lower, upper].

    ``objective(x, rows)`` evaluates points x of shape (R, M) for the problems
    ``rows`` (an index array of length R) and returns values (R, M) (``inf`` where
    infeasible). A coarse grid of ``n_coarse`` points locates up to ``n_starts``
    local minima per problem; each is polished on the two grid cells around it
    until the bracket is narrower than ``tol``: by golden-section search (one
    evaluation per problem and iteration) for large batches, by 9-point grid
    zooming (fewer iterations) for small ones. Returns (x, f), the
    best point found and its value, for every problem. ``P``, ``n_coarse`` (>= 2) and
    ``n_starts`` are integers, ``tol`` > 0 and ``lower <= upper`` finite, else
    ``ValueError`` naming the argument.
    """
    if not callable(objective):
        raise TypeError(f"objective must be callable; got {type(objective).__name__}")
    P = integer("P", P, 1, 10**9)
    n_coarse = integer("n_coarse", n_coarse, 2, 10**6)
    n_starts = integer("n_starts", n_starts, 1, 10**3)
    tol = in_range("tol", tol, 1e-12, 1e6)
    lower = array_in_range("lower", lower, -1e300, 1e300)
    upper = array_in_range("upper", upper, -1e300, 1e300)
    lower, upper = broadcast(lower=lower, upper=upper)
    if np.any(lower > upper):
        raise ValueError(f"lower must not exceed upper; got {shown(lower.max())} > {shown(upper.min())}")
    try:
        lower = np.broadcast_to(lower, (P,))
        upper = np.broadcast_to(upper, (P,))
    except ValueError:
        raise ValueError(f"lower and upper must be scalars or hold P={P} values; got shape "
                         f"{np.shape(lower)}") from None
    t = np.linspace(0.0, 1.0, n_coarse)
    grid = lower[:, None] + (upper - lower)[:, None] * t[None, :]
    rows = np.arange(P)
    vals = objective(grid, rows)
    padded = np.pad(vals, ((0, 0), (1, 1)), constant_values=np.inf)
    local = (vals <= padded[:, :-2]) & (vals <= padded[:, 2:])
    ranked = np.where(local, vals, np.inf)
    K = min(n_starts, n_coarse)
    idx = np.argsort(ranked, axis=1, kind="stable")[:, :K]  # (P, K)
    rep = np.repeat(rows, K)
    centre = grid[rep, idx.ravel()]
    h = ((upper - lower) / (n_coarse - 1))[rep]
    a = np.maximum(centre - h, lower[rep])
    b = np.minimum(centre + h, upper[rep])
    best_x = centre.copy()
    best_f = vals[rep, idx.ravel()].copy()
    if rep.size <= SMALL_BATCH:
        # Few problems: Python overhead dominates, so take fewer, wider steps
        # (9 points per step, bracket shrinks fourfold) instead of golden section.
        t9 = np.linspace(0.0, 1.0, 9)
        while float(np.max(b - a)) > tol:
            pts = a[:, None] + (b - a)[:, None] * t9[None, :]
            vals9 = objective(pts, rep)
            k = np.argmin(vals9, axis=1)
            f = vals9[np.arange(rep.size), k]
            better = f < best_f
            best_x = np.where(better, pts[np.arange(rep.size), k], best_x)
            best_f = np.where(better, f, best_f)
            a = pts[np.arange(rep.size), np.maximum(k - 1, 0)]
            b = pts[np.arange(rep.size), np.minimum(k + 1, 8)]
        best_x = best_x.reshape(P, K)
        best_f = best_f.reshape(P, K)
        j = np.argmin(best_f, axis=1)
        return best_x[rows, j], best_f[rows, j]
    c = b - _INVPHI * (b - a)
    d = a + _INVPHI * (b - a)
    fc = objective(c[:, None], rep)[:, 0]
    fd = objective(d[:, None], rep)[:, 0]
    width = float(np.max(b - a)) if b.size else 0.0
    n_iter = max(1, int(math.ceil(math.log(max(width, tol) / tol) / -math.log(_INVPHI))))
    for _ in range(n_iter):
        left = fc < fd  # minimum in [a, d]
        b = np.where(left, d, b)
        a = np.where(left, a, c)
        keep = np.where(left, c, d)
        fkeep = np.where(left, fc, fd)
        new = np.where(left, b - _INVPHI * (b - a), a + _INVPHI * (b - a))
        fnew = objective(new[:, None], rep)[:, 0]
        c = np.where(left, new, keep)
        fc = np.where(left, fnew, fkeep)
        d = np.where(left, keep, new)
        fd = np.where(left, fkeep, fnew)
    for x, f in ((c, fc), (d, fd)):
        better = f < best_f
        best_x = np.where(better, x, best_x)
        best_f = np.where(better, f, best_f)
    best_x = best_x.reshape(P, K)
    best_f = best_f.reshape(P, K)
    j = np.argmin(best_f, axis=1)
    return best_x[rows, j], best_f[rows, j]
