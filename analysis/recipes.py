"""Compute-optimal recipes of Busbridge et al. (arXiv 2502.08606v2), §5 and App. D.

* ``optimal_teacher_loss``: the teacher cross-entropy L_T* that minimises the
  student's loss at a fixed student size and token budget (§5.2, Fig. 7);
* ``supervised_compute_optimal``: the supervised compute-optimal model size and
  tokens at a budget C = 3 F(N) D (the paper's Chinchilla-style baseline);
* ``compute_optimal_distillation``: Eq. 10 / Eq. 28, the best student tokens,
  teacher size and teacher tokens under a total budget (Eq. 9) in one of the four
  scenarios of Table 2, with N_T, D_S, D_T in a box (the paper's [1e6, 1e17],
  App. D.4.1, by default);
* ``crossover_compute`` and ``efficiency_ratio``: when supervised training of the
  same student is at least as good, and what distillation costs relative to it
  (App. D.5, Figs. 33-34).

Coefficients and box. Every public recipe takes the keyword-only arguments
``supervised`` (a ``SupervisedCoefficients``, Eq. 1), ``distillation`` (a
``DistillationCoefficients``, Eq. 8) and ``bounds`` (the (low, high) box for N_T,
D_S, D_T; N_S must lie in it too). They default to the paper's Table 6 and
``BOUNDS``, so that laws fitted to other runs (say, small models) can be solved
in a box that fits them. A recipe that does not use one of them (the supervised
ones ignore ``distillation``) still validates it, so one set of keywords can be
passed to every recipe.

How the optimum is found. Every budget is treated as "FLOPs <= C": the student's
loss falls with D_S, so the budget binds unless D_S sits at its upper bound (then
spending less is the only feasible choice; the paper's equality constraint has no
solution there). Given the teacher (N_T, D_T), the best D_S is therefore the
largest one the budget allows, which leaves a two-variable problem in
(log N_T, log D_T). It is solved for many problems at once by a coarse grid over
the whole box followed by repeated zooming (a 7 x 7 grid whose spacing shrinks
threefold per step), started from the best few coarse points. This is a
derivative-free polish that cannot leave the bounds and is tested against a dense
brute-force search (tests/test_recipes.py) to 1e-4 nats.
"""

from __future__ import annotations

import functools
import math
import numbers
from dataclasses import dataclass, field, fields
from types import MappingProxyType
from typing import Mapping

import numpy as np

from analysis._checks import array_in_range, in_range, positive_interval
from analysis.flops import Scenario, distillation_flops_split, forward_flops_per_token
from analysis.laws import (
    PAPER_DISTILLATION,
    PAPER_SUPERVISED,
    DistillationCoefficients,
    SupervisedCoefficients,
    log_distilled_loss,
    supervised_loss,
    supervised_loss_infinite_data,
)

__all__ = [
    "BOUNDS",
    "TeacherChoice",
    "SupervisedOptimum",
    "DistillationRecipe",
    "Efficiency",
    "optimal_teacher_loss",
    "supervised_compute_optimal",
    "compute_optimal_teacher",
    "compute_optimal_distillation",
    "distillation_sweep",
    "minimal_compute",
    "crossover_compute",
    "efficiency_ratio",
    "supervised_tokens_for_loss",
]

#: Bounds on N_T, D_S and D_T used by the paper's solver (App. D.4.1): [1M, 100P].
BOUNDS = (1e6, 1e17)
#: Default range of budgets searched by ``crossover_compute`` (the paper's plots
#: run over 1e20-1e26; the issue asks for 1e18-1e27).
DEFAULT_COMPUTE_RANGE = (1e18, 1e27)


# ------------------------------------------------------------ coefficients and box

@dataclass(frozen=True)
class _Law:
    """The two laws' coefficients and the box [lo, hi] for N_T, D_S, D_T (and N_S)
    that one recipe is solved with; built and checked by ``_law``. Hashable, so
    tables that depend only on it can be cached."""

    supervised: SupervisedCoefficients
    distillation: DistillationCoefficients
    lo: float
    hi: float
    log_lo: float = field(init=False)
    log_hi: float = field(init=False)

    def __post_init__(self):
        object.__setattr__(self, "log_lo", math.log(self.lo))
        object.__setattr__(self, "log_hi", math.log(self.hi))


def _check_coefficients(name: str, value, kind: type) -> None:
    """``value`` must be a ``kind`` whose fields are real scalars (the classes
    accept arrays, which the solver cannot use)."""
    if not isinstance(value, kind):
        raise TypeError(f"{name} must be a {kind.__name__} (analysis.laws); "
                        f"got {type(value).__name__}")
    for f in fields(value):
        v = getattr(value, f.name)
        if not isinstance(v, numbers.Real):
            raise TypeError(f"{name}.{f.name} must be a real number; got {v!r}")


def _law(supervised, distillation, bounds) -> _Law:
    """Validate the keyword arguments shared by the public recipes."""
    _check_coefficients("supervised", supervised, SupervisedCoefficients)
    _check_coefficients("distillation", distillation, DistillationCoefficients)
    lo, hi = positive_interval("bounds", bounds)
    return _Law(supervised, distillation, lo, hi)


#: The paper's setting: what every recipe uses by default.
_PAPER_LAW = _Law(PAPER_SUPERVISED, PAPER_DISTILLATION, *BOUNDS)


# ------------------------------------------------------------------ vectorised core

_INVPHI = (math.sqrt(5.0) - 1.0) / 2.0
#: Batches of at most this many (problem, start) pairs are polished by grid
#: zooming (fewer sequential numpy passes), larger ones by golden section.
_SMALL_BATCH = 64


def _minimise_1d(objective, P, lower, upper, *, n_coarse=24, n_starts=2, tol=1e-5):
    """Minimise P one-dimensional problems at once on [lower, upper].

    ``objective(x, rows)`` evaluates points x of shape (R, M) for the problems
    ``rows`` (an index array of length R) and returns values (R, M) (``inf`` where
    infeasible). A coarse grid of ``n_coarse`` points locates up to ``n_starts``
    local minima per problem; each is polished on the two grid cells around it
    until the bracket is narrower than ``tol``: by golden-section search (one
    evaluation per problem and iteration) for large batches, by 9-point grid
    zooming (fewer iterations) for small ones. Returns (x, f), the
    best point found and its value, for every problem.
    """
    lower = np.broadcast_to(np.asarray(lower, dtype=float), (P,))
    upper = np.broadcast_to(np.asarray(upper, dtype=float), (P,))
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
    if rep.size <= _SMALL_BATCH:
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


def _student_tokens(N_S, C, scenario: Scenario, N_T, D_T):
    """Largest D_S the budget allows (Eq. 27 with the teacher's pretraining
    subtracted), *before* applying the bounds; may be <= 0 when infeasible."""
    f_s = forward_flops_per_token(N_S)
    f_t = forward_flops_per_token(N_T)
    remaining = C - scenario.delta_pretraining * 3.0 * f_t * D_T
    return remaining / (3.0 * f_s + scenario.delta_logits * f_t)


def _log_student_loss(ns, d_s, l_t, law: _Law):
    """log L_S(N_S, D_S, L_T) of Eq. 8 with the law's coefficients."""
    return log_distilled_loss(ns, d_s, l_t, law.distillation, law.supervised)


def _loss_given_teacher(ns, cc, scenario, log_nt, log_dt, law: _Law):
    """Student loss with the largest D_S the budget allows, ``inf`` where even
    D_S at its lower bound does not fit; arguments broadcast."""
    n_t, d_t = np.exp(log_nt), np.exp(log_dt)
    d_s = _student_tokens(ns, cc, scenario, n_t, d_t)
    feasible = d_s >= law.lo * (1 - 1e-12)
    d_s = np.clip(d_s, law.lo, law.hi)
    val = np.exp(_log_student_loss(ns, d_s, supervised_loss(n_t, d_t, law.supervised), law))
    return np.where(feasible, val, np.inf)


def _max_log_teacher_params(ns, cc, scenario, law: _Law):
    """Largest log N_T whose cheapest use (logits and/or pretraining on the
    lower-bound number of tokens) still leaves the student the lower-bound number
    of tokens; bisection on the monotone F(N). Returns log_lo where no teacher
    fits (callers see inf losses)."""
    per_token = scenario.delta_logits + 3.0 * scenario.delta_pretraining
    spare = cc - 3.0 * forward_flops_per_token(ns) * law.lo
    if per_token == 0:
        return np.full(np.shape(ns), law.log_hi)
    a = np.full(np.shape(ns), law.log_lo)
    b = np.full(np.shape(ns), law.log_hi)
    fits_hi = per_token * forward_flops_per_token(math.exp(law.log_hi)) * law.lo <= spare
    for _ in range(60):
        m = 0.5 * (a + b)
        fits = per_token * forward_flops_per_token(np.exp(m)) * law.lo <= spare
        a = np.where(fits, m, a)
        b = np.where(fits, b, m)
    return np.where(fits_hi, law.log_hi, a)


def _best_teacher_tokens(ns, cc, scenario, log_nt, law: _Law, *, n_coarse=24):
    """For each (N_S, C, N_T): the best log D_T and the loss (inner problem of
    the pretraining scenarios)."""
    f_t = forward_flops_per_token(np.exp(log_nt))
    room = cc - (3.0 * forward_flops_per_token(ns) + scenario.delta_logits * f_t) * law.lo
    with np.errstate(divide="ignore", invalid="ignore"):
        upper = np.log(np.maximum(room, 1e-300) / (3.0 * f_t))
    upper = np.clip(upper, law.log_lo, law.log_hi)

    def inner(y, rows):
        return _loss_given_teacher(ns[rows][:, None], cc[rows][:, None], scenario,
                                   log_nt[rows][:, None], y, law)

    return _minimise_1d(inner, ns.size, law.log_lo, upper, n_coarse=n_coarse, n_starts=2, tol=1e-4)


def _solve_batch(N_S: np.ndarray, C: np.ndarray, scenario: Scenario, law: _Law):
    """Optimal (N_T, D_T, D_S, L_S) for arrays of (N_S, C); no input checks.

    The problem is reduced before it is searched (see the module docstring):
    best case: D_S = C / 3F(N_S), only L_T matters (1-D in L_T; the teacher is
    then the compute-optimal one reaching L_T*); teacher inference: D_T costs
    nothing, so the teacher sits at D_T = hi unless it is the smallest
    (N_T = lo) teacher, two 1-D searches; pretraining scenarios: 1-D over N_T
    of the best loss over D_T (nested 1-D searches).
    """
    ns = np.asarray(N_S, dtype=float).ravel()
    cc = np.asarray(C, dtype=float).ravel()
    P = ns.size
    lo, hi, log_lo, log_hi = law.lo, law.hi, law.log_lo, law.log_hi
    if scenario is Scenario.BEST_CASE:
        d_s = np.clip(cc / (3.0 * forward_flops_per_token(ns)), lo, hi)
        lt_lo, lt_hi = _teacher_loss_range(law)

        def objective(x, rows):
            return np.exp(_log_student_loss(ns[rows][:, None], d_s[rows][:, None], np.exp(x), law))

        x, f = _minimise_1d(objective, P, math.log(lt_lo), math.log(lt_hi), n_coarse=48, n_starts=3)
        n_t, d_t = _compute_optimal_teacher_batch(np.exp(x), law)
        return n_t, d_t, d_s, f

    nt_max = _max_log_teacher_params(ns, cc, scenario, law)
    if scenario is Scenario.TEACHER_INFERENCE:
        def big_data(x, rows):
            return _loss_given_teacher(ns[rows][:, None], cc[rows][:, None], scenario, x, log_hi, law)

        def small_model(y, rows):
            return _loss_given_teacher(ns[rows][:, None], cc[rows][:, None], scenario, log_lo, y, law)

        xa, fa = _minimise_1d(big_data, P, log_lo, nt_max, n_coarse=32, n_starts=3)
        yb, fb = _minimise_1d(small_model, P, log_lo, log_hi, n_coarse=32, n_starts=3)
        use_a = fa <= fb
        log_nt = np.where(use_a, xa, log_lo)
        log_dt = np.where(use_a, log_hi, yb)
        f = np.where(use_a, fa, fb)
    elif scenario is Scenario.TEACHER_PRETRAINING:
        # Only the teacher's training compute C_T = 3 F(N_T) D_T is charged, and the
        # student's loss depends on the teacher only through L_T, so any teacher is
        # dominated by the compute-optimal one of equal loss: search log C_T, with
        # L_T = L*(C_T) from a table of the supervised compute-optimal frontier.
        log_c, log_n, loss = _supervised_frontier(law)
        f_s3 = 3.0 * forward_flops_per_token(ns)
        upper = np.log(np.maximum(cc - f_s3 * lo, 1e-300))
        upper = np.clip(upper, log_c[0], log_c[-1])

        def objective(u, rows):
            d_s = (cc[rows][:, None] - np.exp(u)) / f_s3[rows][:, None]
            feasible = d_s >= lo * (1 - 1e-12)
            l_t = np.interp(u, log_c, loss)
            val = np.exp(_log_student_loss(ns[rows][:, None], np.clip(d_s, lo, hi), l_t, law))
            return np.where(feasible, val, np.inf)

        u, _ = _minimise_1d(objective, P, log_c[0], upper, n_coarse=48, n_starts=3)
        n_t, d_t, _ = _supervised_optimum_batch(np.exp(u), law)
        d_s = np.clip(_student_tokens(ns, cc, scenario, n_t, d_t), lo, hi)
        f = np.exp(_log_student_loss(ns, d_s, supervised_loss(n_t, d_t, law.supervised), law))
        return n_t, d_t, d_s, f
    else:
        def outer(x, rows):
            R, M = x.shape
            r_in = np.repeat(rows, M)
            _, f_in = _best_teacher_tokens(ns[r_in], cc[r_in], scenario, x.ravel(), law)
            return f_in.reshape(R, M)

        log_nt, f = _minimise_1d(outer, P, log_lo, nt_max, n_coarse=24, n_starts=2, tol=1e-4)
        log_dt, f2 = _best_teacher_tokens(ns, cc, scenario, log_nt, law)
        f = np.minimum(f, f2)
    n_t, d_t = np.exp(log_nt), np.exp(log_dt)
    d_s = np.clip(_student_tokens(ns, cc, scenario, n_t, d_t), lo, hi)
    return n_t, d_t, d_s, f


def _minimal_compute(N_S: float, scenario: Scenario, law: _Law) -> float:
    """``minimal_compute`` without input checks."""
    parts = distillation_flops_split(N_S, law.lo, law.lo, law.lo, scenario)
    return float(sum(parts.values()))


def minimal_compute(N_S, scenario, *, supervised=PAPER_SUPERVISED,
                    distillation=PAPER_DISTILLATION, bounds=BOUNDS) -> float:
    """Smallest budget with a feasible recipe: the student trained on ``bounds[0]``
    tokens and, where the scenario charges them, the logits and pretraining of a
    ``bounds[0]``-parameter teacher trained on ``bounds[0]`` tokens (the lower
    bounds of App. D.4.1). Only ``bounds`` matters here."""
    law = _law(supervised, distillation, bounds)
    scenario = Scenario.parse(scenario)
    N_S = in_range("N_S", N_S, law.lo, law.hi)
    return _minimal_compute(N_S, scenario, law)


def _check_budget(N_S: float, C: float, scenario: Scenario, law: _Law) -> None:
    student_min = 3.0 * float(forward_flops_per_token(N_S)) * law.lo
    if C < student_min:
        raise ValueError(
            f"C={C:.3g} FLOPs is below the student's minimal cost {student_min:.3g} "
            f"(N_S={N_S:.3g} trained on the lower bound of {law.lo:.3g} tokens)")
    need = _minimal_compute(N_S, scenario, law)
    if C < need * (1 - 1e-12):
        raise ValueError(
            f"C={C:.3g} FLOPs is too small for scenario {scenario.slug!r}: the cheapest "
            f"recipe (student on {law.lo:.3g} tokens plus the logits/pretraining of a "
            f"{law.lo:.3g}-parameter teacher trained on {law.lo:.3g} tokens) costs {need:.3g} FLOPs")


# ------------------------------------------------------------------ teacher choice

@dataclass(frozen=True)
class TeacherChoice:
    """Result of ``optimal_teacher_loss``: the best teacher cross-entropy and the
    student loss it gives (floats, or arrays for array input)."""

    teacher_loss: float | np.ndarray
    student_loss: float | np.ndarray


def _teacher_loss_range(law: _Law):
    """Teacher losses reachable with N_T, D_T in the bounds: [L(hi, hi), L(lo, lo)]."""
    return (float(supervised_loss(law.hi, law.hi, law.supervised)),
            float(supervised_loss(law.lo, law.lo, law.supervised)))


def optimal_teacher_loss(N_S, D_S, teacher_loss_range=None, *, supervised=PAPER_SUPERVISED,
                         distillation=PAPER_DISTILLATION, bounds=BOUNDS) -> TeacherChoice:
    """L_T* = argmin_{L_T} L_S(N_S, D_S, L_T) of §5.2 (Fig. 7) and the student loss
    it gives. Broadcasts over arrays of ``N_S`` and ``D_S`` (each in ``bounds``).

    L_T is searched over ``teacher_loss_range`` (default: the losses a teacher with
    N_T, D_T in ``bounds`` can reach, [L(hi, hi), L(lo, lo)]; with the paper's
    defaults ~ [1.269, 7.54]), so this is exactly the best-case scenario of the
    compute-optimal problem.
    """
    law = _law(supervised, distillation, bounds)
    ns = array_in_range("N_S", N_S, law.lo, law.hi)
    ds = array_in_range("D_S", D_S, law.lo, law.hi)
    if teacher_loss_range is None:
        lo, hi = _teacher_loss_range(law)
    else:
        lo, hi = positive_interval("teacher_loss_range", teacher_loss_range)
    ns_b, ds_b = np.broadcast_arrays(ns, ds)
    shape = ns_b.shape
    ns_f, ds_f = ns_b.ravel(), ds_b.ravel()

    def objective(x, rows):
        return np.exp(_log_student_loss(ns_f[rows][:, None], ds_f[rows][:, None], np.exp(x), law))

    x, f = _minimise_1d(objective, ns_f.size, math.log(lo), math.log(hi), n_coarse=48, n_starts=3)
    lt = np.exp(x).reshape(shape)
    ls = f.reshape(shape)
    if shape == ():
        return TeacherChoice(float(lt), float(ls))
    return TeacherChoice(lt, ls)


# ---------------------------------------------------------- supervised optimum

@dataclass(frozen=True)
class SupervisedOptimum:
    """Supervised compute-optimal model at budget ``compute`` (C = 3 F(N) D)."""

    compute: float
    params: float
    tokens: float
    loss: float

    @property
    def tokens_per_param(self) -> float:
        return self.tokens / self.params


def _supervised_objective(C, law: _Law):
    def objective(x, rows):
        n = np.exp(x)
        d = C[rows][:, None] / (3.0 * forward_flops_per_token(n))
        feasible = (d >= law.lo * (1 - 1e-12)) & (d <= law.hi * (1 + 1e-12))
        val = supervised_loss(n, np.clip(d, law.lo, law.hi), law.supervised)
        return np.where(feasible, val, np.inf)

    return objective


def _supervised_optimum_batch(C, law: _Law):
    C = np.asarray(C, dtype=float).ravel()
    x, f = _minimise_1d(_supervised_objective(C, law), C.size, law.log_lo, law.log_hi,
                        n_coarse=48, n_starts=3)
    n = np.exp(x)
    return n, C / (3.0 * forward_flops_per_token(n)), f


def _supervised_compute_range(law: _Law):
    """Budgets with a supervised model in the box: [3 F(lo) lo, 3 F(hi) hi]."""
    return (3.0 * float(forward_flops_per_token(law.lo)) * law.lo,
            3.0 * float(forward_flops_per_token(law.hi)) * law.hi)


@functools.lru_cache(maxsize=16)
def _supervised_frontier(law: _Law, n=4001):
    """Table (log C, log N*, L*) of the supervised compute-optimal frontier with
    N, D in the bounds, over ``_supervised_compute_range`` (built once per law;
    with the paper's law, linear interpolation in log C errs by < 1e-6 nats)."""
    c = np.geomspace(*_supervised_compute_range(law), n)
    n_opt, _, loss = _supervised_optimum_batch(c, law)
    return np.log(c), np.log(n_opt), loss


def supervised_compute_optimal(C, *, supervised=PAPER_SUPERVISED, distillation=PAPER_DISTILLATION,
                               bounds=BOUNDS) -> SupervisedOptimum:
    """The model size N* and tokens D* minimising L(N, D) (Eq. 1) s.t.
    3 F(N) D = C (F from Eq. 69), with N and D in ``bounds``.

    ``C`` must lie in [3 F(lo) lo, 3 F(hi) hi]; ~ [5.9e13, 3.0e34] FLOPs for the
    default [1e6, 1e17]. ``distillation`` is unused.
    """
    law = _law(supervised, distillation, bounds)
    C = in_range("C", C, *_supervised_compute_range(law))
    n, d, f = _supervised_optimum_batch(np.array([C]), law)
    return SupervisedOptimum(compute=C, params=float(n[0]), tokens=float(d[0]), loss=float(f[0]))


def _compute_optimal_teacher_batch(L_T, law: _Law):
    """For each teacher loss, the (N, D) minimising F(N) D s.t. L(N, D) = L_T
    (App. D.4.3), with N, D in the bounds; D solved from Eq. 1."""
    L_T = np.asarray(L_T, dtype=float).ravel()
    c = law.supervised
    log_lo, log_hi = law.log_lo, law.log_hi
    target = np.power(np.maximum(L_T - c.E, 1e-300), 1.0 / c.gamma)  # A N^-a + B D^-b

    def tokens(log_n, rows):
        rest = target[rows][:, None] - c.A * np.exp(-c.alpha * log_n)
        with np.errstate(divide="ignore", invalid="ignore"):
            log_d = (math.log(c.B) - np.log(rest)) / c.beta
        return np.where(rest > 0, log_d, np.inf)

    def objective(log_n, rows):
        log_d = tokens(log_n, rows)
        ok = (log_d >= log_lo - 1e-9) & (log_d <= log_hi + 1e-9)
        cost = np.log(forward_flops_per_token(np.exp(log_n))) + np.where(ok, log_d, 0.0)
        return np.where(ok, cost, np.inf)

    log_n, _ = _minimise_1d(objective, L_T.size, log_lo, log_hi, n_coarse=64, n_starts=2, tol=1e-7)
    log_d = tokens(log_n[:, None], np.arange(L_T.size))[:, 0]
    return np.exp(log_n), np.exp(np.clip(log_d, log_lo, log_hi))


def compute_optimal_teacher(teacher_loss, *, supervised=PAPER_SUPERVISED,
                            distillation=PAPER_DISTILLATION, bounds=BOUNDS) -> tuple[float, float]:
    """(N_T, D_T) of the cheapest supervised teacher reaching ``teacher_loss``:
    min F(N) D s.t. L(N, D) = L_T (App. D.4.3), with N, D in ``bounds``.
    ``distillation`` is unused."""
    law = _law(supervised, distillation, bounds)
    L_T = in_range("teacher_loss", teacher_loss, *_teacher_loss_range(law))
    n, d = _compute_optimal_teacher_batch(np.array([L_T]), law)
    return float(n[0]), float(d[0])


# ------------------------------------------------------------ distillation recipe

@dataclass(frozen=True)
class DistillationRecipe:
    """Compute-optimal distillation of a student of ``student_params`` with budget
    ``compute`` in ``scenario`` (Eq. 10), and the supervised baseline.

    ``compute_split`` holds the three terms of Eq. 9 (``student_training``,
    ``teacher_logits``, ``teacher_pretraining``); their sum is the compute used,
    equal to ``compute`` unless D_S sits at its upper bound. In the best case
    only ``teacher_loss`` is determined; ``teacher_params`` and
    ``teacher_tokens`` are then the supervised compute-optimal teacher reaching it.
    ``supervised_loss`` is the same student trained with supervision on the whole
    budget, D = C / (3 F(N_S)) tokens (``supervised_tokens``).
    """

    scenario: Scenario
    student_params: float
    compute: float
    student_loss: float
    student_tokens: float
    teacher_params: float
    teacher_tokens: float
    teacher_loss: float
    compute_split: Mapping[str, float] = field(repr=False)
    supervised_loss: float
    supervised_tokens: float

    @property
    def compute_used(self) -> float:
        return float(sum(self.compute_split.values()))

    @property
    def compute_shares(self) -> dict[str, float]:
        total = self.compute_used
        return {k: v / total for k, v in self.compute_split.items()}

    @property
    def distillation_wins(self) -> bool:
        """True when the distilled student beats its supervised twin."""
        return self.student_loss < self.supervised_loss

    def as_dict(self) -> dict:
        return {
            "scenario": self.scenario.slug,
            "student_params": self.student_params,
            "compute": self.compute,
            "student_loss": self.student_loss,
            "student_tokens": self.student_tokens,
            "teacher_params": self.teacher_params,
            "teacher_tokens": self.teacher_tokens,
            "teacher_loss": self.teacher_loss,
            "compute_split": dict(self.compute_split),
            "compute_used": self.compute_used,
            "supervised_loss": self.supervised_loss,
            "supervised_tokens": self.supervised_tokens,
        }


def _sweep(ns_f: np.ndarray, cc_f: np.ndarray, scenario: Scenario, law: _Law) -> dict[str, np.ndarray]:
    """The recipe fields (flat arrays) for checked flat arrays of (N_S, C)."""
    for n_s in np.unique(ns_f):
        _check_budget(float(n_s), float(cc_f[ns_f == n_s].min()), scenario, law)
    n_t, d_t, d_s, loss = _solve_batch(ns_f, cc_f, scenario, law)
    l_t = supervised_loss(n_t, d_t, law.supervised)
    if scenario is Scenario.BEST_CASE:
        n_t, d_t = _compute_optimal_teacher_batch(l_t, law)
    split = distillation_flops_split(ns_f, d_s, n_t, d_t, scenario)
    d_sup = cc_f / (3.0 * forward_flops_per_token(ns_f))
    return {
        "student_params": ns_f, "compute": cc_f, "student_loss": loss, "student_tokens": d_s,
        "teacher_params": n_t, "teacher_tokens": d_t, "teacher_loss": l_t,
        "student_training": split["student_training"] * np.ones_like(cc_f),
        "teacher_logits": split["teacher_logits"] * np.ones_like(cc_f),
        "teacher_pretraining": split["teacher_pretraining"] * np.ones_like(cc_f),
        "supervised_loss": supervised_loss(ns_f, d_sup, law.supervised), "supervised_tokens": d_sup,
    }


def distillation_sweep(N_S, C, scenario, *, supervised=PAPER_SUPERVISED,
                       distillation=PAPER_DISTILLATION, bounds=BOUNDS) -> dict[str, np.ndarray]:
    """Vectorised ``compute_optimal_distillation`` over broadcast arrays of
    ``N_S`` and ``C`` (for figures and benchmarks). Returns a dict of arrays with
    the DistillationRecipe field names (the split as three arrays).
    Raises ValueError if any problem is infeasible."""
    law = _law(supervised, distillation, bounds)
    scenario = Scenario.parse(scenario)
    ns = array_in_range("N_S", N_S, law.lo, law.hi)
    cc = array_in_range("C", C, 1.0, 1e40)
    ns_b, cc_b = np.broadcast_arrays(ns, cc)
    shape = ns_b.shape
    out = _sweep(ns_b.ravel().copy(), cc_b.ravel().copy(), scenario, law)
    return {k: np.asarray(v, dtype=float).reshape(shape) for k, v in out.items()}


def compute_optimal_distillation(N_S, C, scenario, *, supervised=PAPER_SUPERVISED,
                                 distillation=PAPER_DISTILLATION, bounds=BOUNDS) -> DistillationRecipe:
    """Eq. 10: the student tokens D_S*, teacher size N_T* and teacher tokens D_T*
    minimising the student loss L_S(N_S, D_S, L(N_T, D_T)) (Eqs. 1, 8) subject to
    the scenario's FLOPs (Eq. 9) <= C, with N_T, D_S, D_T in ``bounds``.

    ``N_S`` in ``bounds`` (parameters); ``C`` in FLOPs, at least
    ``minimal_compute(N_S, scenario, bounds=bounds)``; ``scenario`` a Scenario or its slug.
    """
    law = _law(supervised, distillation, bounds)
    scenario = Scenario.parse(scenario)
    N_S = in_range("N_S", N_S, law.lo, law.hi)
    C = in_range("C", C, 1.0, 1e40)
    r = _sweep(np.array([N_S]), np.array([C]), scenario, law)
    split = {k: float(r[k][0]) for k in ("student_training", "teacher_logits", "teacher_pretraining")}
    return DistillationRecipe(
        scenario=scenario, student_params=N_S, compute=C,
        student_loss=float(r["student_loss"][0]), student_tokens=float(r["student_tokens"][0]),
        teacher_params=float(r["teacher_params"][0]), teacher_tokens=float(r["teacher_tokens"][0]),
        teacher_loss=float(r["teacher_loss"][0]), compute_split=MappingProxyType(split),
        supervised_loss=float(r["supervised_loss"][0]),
        supervised_tokens=float(r["supervised_tokens"][0]),
    )


# ---------------------------------------------------------------- when to distil

def crossover_compute(N_S, scenario, compute_range=DEFAULT_COMPUTE_RANGE, *, points_per_decade=8,
                      tol=0.0, supervised=PAPER_SUPERVISED, distillation=PAPER_DISTILLATION,
                      bounds=BOUNDS) -> float:
    """The budget from which supervised training of the student is at least as
    good as compute-optimal distillation: the smallest C in ``compute_range`` such
    that L_sup(C) <= L_dist*(C) + tol at every larger C of the search grid
    (refined by bisection in log C). Returns the lower end of the range if
    supervised is never worse there, and ``math.inf`` if distillation still wins at
    its upper end. ``compute_range`` defaults to the paper's scale; choose one
    that fits other ``bounds``."""
    law = _law(supervised, distillation, bounds)
    scenario = Scenario.parse(scenario)
    N_S = in_range("N_S", N_S, law.lo, law.hi)
    lo, hi = positive_interval("compute_range", compute_range)
    _check_budget(N_S, lo, scenario, law)
    n = max(2, int(round(math.log10(hi / lo) * points_per_decade)) + 1)
    grid = np.geomspace(lo, hi, n)

    def gap(cs):
        cs = np.atleast_1d(cs)
        _, _, _, l_dist = _solve_batch(np.full(cs.shape, N_S), cs, scenario, law)
        l_sup = supervised_loss(N_S, cs / (3.0 * forward_flops_per_token(N_S)), law.supervised)
        return l_sup - l_dist  # <= tol: supervised at least as good

    g = gap(grid)
    ok = g <= tol
    if not ok[-1]:
        return math.inf
    if ok.all():
        return lo
    last_bad = int(np.flatnonzero(~ok)[-1])
    a, b = math.log(grid[last_bad]), math.log(grid[last_bad + 1])
    for _ in range(3):  # grid bisection: 3 rounds of 32 points, one batch each
        pts = np.linspace(a, b, 33)[1:-1]
        good = gap(np.exp(pts)) <= tol
        bad_idx = np.flatnonzero(~good)
        k = int(bad_idx[-1]) + 1 if bad_idx.size else 0
        a, b = (pts[k - 1] if k > 0 else a), (pts[k] if k < pts.size else b)
    return math.exp(b)


def _supervised_tokens_for_loss(ns, target_loss, c: SupervisedCoefficients):
    """Eq. 1 solved for D; NaN where ``target_loss`` is at or below the floor."""
    rest = np.power(np.asarray(target_loss, dtype=float) - c.E, 1.0 / c.gamma) - c.A * ns ** (-c.alpha)
    return np.power(c.B / rest, 1.0 / c.beta)


def supervised_tokens_for_loss(N_S, target_loss, *, supervised=PAPER_SUPERVISED,
                               distillation=PAPER_DISTILLATION, bounds=BOUNDS):
    """Tokens D with L(N_S, D) = target_loss (Eq. 1 inverted); ``target_loss``
    must lie above the model-size floor L(N_S, inf) (Eq. 35). Only ``supervised``
    matters here; D is not limited to ``bounds``."""
    law = _law(supervised, distillation, bounds)
    return _supervised_tokens_for_loss(np.asarray(N_S, dtype=float), target_loss, law.supervised)


@dataclass(frozen=True)
class Efficiency:
    """Distillation's cost to reach ``target_loss`` relative to supervised
    training of the same student (App. D.5). Tokens follow Eq. 34:
    D_S + delta_pre D_T for distillation, D for supervised."""

    scenario: Scenario
    student_params: float
    target_loss: float
    distillation_compute: float
    supervised_compute: float
    distillation_tokens: float
    supervised_tokens: float

    @property
    def compute_ratio(self) -> float:
        return self.distillation_compute / self.supervised_compute

    @property
    def token_ratio(self) -> float:
        return self.distillation_tokens / self.supervised_tokens


def _distillation_compute_for_loss(N_S: float, targets: np.ndarray, scenario: Scenario,
                                   rounds=4, points=32, *, law: _Law = _PAPER_LAW):
    """Smallest C with L_dist*(C) <= target for each target, and the tokens of
    Eq. 34 (D_S + delta_pre D_T) at that C. L_dist* is non-increasing in C under
    the "<= C" budget, so a grid bisection in log C (``rounds`` batches of
    ``points`` budgets per target) brackets the answer to ~(1/points)^rounds of
    the initial log-range. NaN where the target is unreachable within the bounds."""
    targets = np.asarray(targets, dtype=float).ravel()
    T = targets.size
    c_lo = _minimal_compute(N_S, scenario, law)
    c_hi = float(sum(distillation_flops_split(N_S, law.hi, law.hi, law.hi, scenario).values()))
    a = np.full(T, math.log(c_lo))
    b = np.full(T, math.log(c_hi))
    _, _, _, l_lo = _solve_batch(np.array([N_S]), np.array([c_lo]), scenario, law)
    _, _, _, l_hi = _solve_batch(np.array([N_S]), np.array([c_hi]), scenario, law)
    reachable = l_hi[0] <= targets
    already = l_lo[0] <= targets
    for _ in range(rounds):
        t = np.linspace(0.0, 1.0, points + 2)[1:-1]
        pts = a[:, None] + (b - a)[:, None] * t[None, :]  # (T, points)
        _, _, _, lm = _solve_batch(np.full(pts.size, N_S), np.exp(pts.ravel()), scenario, law)
        good = lm.reshape(T, points) <= targets[:, None]
        # first good point (good is monotone in C up to solver noise)
        any_good = good.any(axis=1)
        k = np.where(any_good, np.argmax(good, axis=1), points)
        new_b = np.where(k < points, pts[np.arange(T), np.minimum(k, points - 1)], b)
        new_a = np.where(k > 0, pts[np.arange(T), np.maximum(k - 1, 0)], a)
        a, b = new_a, new_b
    c = np.where(already, c_lo, np.exp(b))
    n_t, d_t, d_s, _ = _solve_batch(np.full(T, N_S), c, scenario, law)
    tokens = d_s + scenario.delta_pretraining * d_t
    return np.where(reachable, c, np.nan), np.where(reachable, tokens, np.nan)


def efficiency_ratio(N_S, target_loss, scenario, *, supervised=PAPER_SUPERVISED,
                     distillation=PAPER_DISTILLATION, bounds=BOUNDS) -> Efficiency:
    """Compute and tokens that compute-optimal distillation needs to bring a
    student of ``N_S`` parameters to ``target_loss``, and those supervised
    training needs (Figs. 33-34). ``target_loss`` must lie above the floor
    L(N_S, inf) and be reachable by distillation within the bounds."""
    law = _law(supervised, distillation, bounds)
    scenario = Scenario.parse(scenario)
    N_S = in_range("N_S", N_S, law.lo, law.hi)
    floor = float(supervised_loss_infinite_data(N_S, law.supervised))
    target = in_range("target_loss", target_loss, 0.0, 100.0)
    if target <= floor:
        raise ValueError(f"target_loss must exceed the model-size floor L(N_S, inf) = {floor:.4f} "
                         f"of N_S={N_S:.3g}; got {target_loss!r}")
    d_sup = float(_supervised_tokens_for_loss(np.asarray(N_S, dtype=float), target, law.supervised))
    c_sup = 3.0 * float(forward_flops_per_token(N_S)) * d_sup
    c_dist, tok = _distillation_compute_for_loss(N_S, np.array([target]), scenario, law=law)
    if not np.isfinite(c_dist[0]):
        raise ValueError(f"target_loss={target:.4f} is not reachable by distillation of N_S={N_S:.3g} "
                         f"with N_T, D_S, D_T in [{law.lo:.3g}, {law.hi:.3g}] ({scenario.slug})")
    return Efficiency(scenario=scenario, student_params=N_S, target_loss=target,
                      distillation_compute=float(c_dist[0]), supervised_compute=c_sup,
                      distillation_tokens=float(tok[0]), supervised_tokens=d_sup)
