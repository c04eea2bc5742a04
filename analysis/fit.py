"""Fitting scaling laws to runs: the supervised law (Eq. 1), its gamma = 1 form
(Chinchilla) and the distillation law (Eq. 8).

The paper (Busbridge et al., arXiv 2502.08606v2, App. F) fits both laws by
minimising a summed Huber loss (delta = 1e-4) of residuals in log space with
L-BFGS-B started from every point of a grid: 9,600 starts for the supervised
law and 216,000 for the distillation law.  This module does the same, fast:

1. **screen** -- the objective is evaluated at every grid start at once
   (numpy, vectorised over starts x runs, in chunks);
2. **batched descent** -- the ``n_batched`` best starts (plus ``n_random``
   others drawn at random with a fixed seed, for diversity) take
   ``n_steps`` projected-Adam steps together, with the analytic gradient;
3. **polish** -- the ``n_polish`` best *distinct* points after step 2 get a short
   ``scipy.optimize.minimize(method="L-BFGS-B")`` run (``short_iter`` iterations,
   analytic gradient); the ``n_final`` best distinct results are then polished to
   convergence, and the best converged point wins.  (With ``n_final >= n_polish``
   every candidate is polished to convergence directly.)

This is *not* the naive "L-BFGS-B from each of the 216,000 starts" loop: it
drops starts whose neighbourhood looks poor early.  ``benchmarks/bench_fit.py``
checks that it reaches the same optimum as the naive loop (which it runs on a
random subset of starts) and prints the speed ratio.  The settings of the three
stages are a ``Search`` (``DEFAULT_SEARCH``, ``DISTILLATION_SEARCH``).

Laws are specifications.  A ``Law`` declares its parameter names, their lower
bounds, its default start grid, Huber delta and search, how it reads its runs
(``prepare``), its log-space prediction with the analytic gradient (``predict``)
and the coefficients object a parameter vector stands for (``coefficients``).
``SUPERVISED``, ``CHINCHILLA`` and ``DISTILLATION`` are the three the book uses;
``fit(law, ...)`` fits any of them, and a law variant is one more specification
(a subclass, or an instance with other parameters, bounds or grid).  Parameters
are always looked up by name.

Holding coefficients fixed.  ``law.holding({"B": 1e4, "beta": 0.3})`` is the law
with those coefficients (named as in ``analysis.laws``, in their own units) moved
out of the optimiser's parameters into ``fixed``: every stage (screen, descent,
polish) then varies only the others, and the grid loses their axes.  ``fit(law,
fixed=...)`` and the ``fit_*`` functions' ``fixed=`` do the same for one fit; this
refits one coefficient, or a pair, with the rest held at a published set.

Objective.  For run i with observed loss ``L_i`` and prediction ``L^_i`` the
residual is ``r_i = log L^_i - log L_i`` (``residual="log"``, the default), the
standard Chinchilla/Besiroglu choice: a relative error, comparable across the
loss range.  Eqs. 45 and 50 of the paper print ``log L^_i - L_i`` (a
log-prediction minus a *linear* loss); ``residual="printed"`` implements that
literally, so the chapter can show that its optimum is not a fit to the data.

Parameters are in log space where the paper puts them: ``log A, log B, log E``
(supervised) and ``log A', log B', log d1`` (distillation); the exponents and
``c0, c1, f1`` are linear.  Bounds keep the law defined: exponents and ``f1``
stay positive, ``c0, c1`` non-negative.

Diagnostics.  A converged optimiser is not a good fit.  Every ``FitResult`` carries
``diagnostics``, a tuple of ``Diagnostic`` (a ``code`` and a sentence), and ``fit``
(with the ``fit_*`` functions) issues each one as a ``FitWarning``:

* ``"few-points"``: no more distinct design points (rows of the law's inputs) than
  free parameters; the optimum is then not determined by the data;
* ``"at-bound"``: a bounded parameter (an exponent, ``f1``, ``c0``, ``c1``) ended
  within ``BOUND_TOLERANCE`` of its lower bound;
* ``"no-floor"``: the irreducible loss ``E`` was driven below ``FLOOR_FRACTION`` of
  the smallest observed loss (a pure power law fitted with a floor);
* ``"ambiguous"``: another converged optimum whose objective is within
  ``AMBIGUITY_RTOL`` of the best has coefficients that differ by more than
  ``AMBIGUITY_DISTANCE`` (max-abs, in the optimiser's coordinates);
* ``"inexpressible"``: runs the law cannot express whatever its coefficients, for
  the distillation law a student better than its teacher (``L_S < L_T``; Eq. 8 gives
  ``L_S >= L_T``), which is also what swapped columns look like.

``FitResult.ok`` is True when there is none.  ``evaluate`` computes the same
diagnostics without warning (a stored fit warned when it was made).

Threads.  During a search (``fit``, ``bootstrap``, ``profile_objective``) BLAS is
limited to one thread, because the many tiny BLAS calls of L-BFGS-B are an order of
magnitude slower threaded.  The limit is process-wide while it lasts (BLAS has one
thread pool); it is taken by the first of overlapping calls, in any thread, and the
previous limits are restored when the last one returns, so no call leaves it changed.

Stored fits.  ``evaluate`` rebuilds a ``FitResult`` at a given parameter vector
without a search (a fit stored in ``data/`` by a script is loaded this way, and
its residuals, profile and bootstrap are then exactly those of the original).
"""

from __future__ import annotations

import functools
import math
import numbers
import threading
import warnings
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Mapping

import numpy as np
from scipy.optimize import minimize
from threadpoolctl import threadpool_limits

from analysis._checks import _float_array, array_in_range, in_range, instance, integer, shown, values_in_range
from analysis.laws import (
    PAPER_SUPERVISED,
    DistillationCoefficients,
    SupervisedCoefficients,
    log_supervised_loss,
)

__all__ = [
    "Search",
    "FitWarning",
    "Diagnostic",
    "BOUND_TOLERANCE",
    "FLOOR_FRACTION",
    "AMBIGUITY_RTOL",
    "AMBIGUITY_DISTANCE",
    "DEFAULT_SEARCH",
    "DISTILLATION_SEARCH",
    "Law",
    "SupervisedLaw",
    "DistillationLaw",
    "SUPERVISED",
    "CHINCHILLA",
    "DISTILLATION",
    "PAPER_SUPERVISED_GRID",
    "PAPER_DISTILLATION_GRID",
    "CHINCHILLA_GRID",
    "SUPERVISED_PARAMS",
    "CHINCHILLA_PARAMS",
    "DISTILLATION_PARAMS",
    "Problem",
    "FitResult",
    "BootstrapResult",
    "fit",
    "fit_supervised",
    "fit_chinchilla",
    "fit_distillation",
    "evaluate",
    "bootstrap",
    "profile_objective",
    "objective_and_gradient",
    "grid_starts",
    "huber",
]

#: App. F.1: 5 x 5 x 6 x 4 x 4 x 4 = 9,600 starts.
PAPER_SUPERVISED_GRID = MappingProxyType({
    "log_A": (0.0, 5.0, 10.0, 15.0, 20.0),
    "log_B": (0.0, 5.0, 10.0, 15.0, 20.0),
    "log_E": (-1.0, -0.5, 0.0, 0.5, 1.0, 1.5),
    "alpha": (0.0, 0.5, 1.0, 1.5),
    "beta": (0.0, 0.5, 1.0, 1.5),
    "gamma": (0.0, 0.5, 1.0, 1.5),
})

#: App. F.2: 5 x 5 x 3 x 3 x 3 x 4 x 4 x 4 x 5 = 216,000 starts.
PAPER_DISTILLATION_GRID = MappingProxyType({
    "log_A": (0.0, 5.0, 10.0, 15.0, 20.0),
    "log_B": (0.0, 5.0, 10.0, 15.0, 20.0),
    "alpha": (0.0, 0.5, 1.0),
    "beta": (0.0, 0.5, 1.0),
    "gamma": (0.0, 0.5, 1.0),
    "c0": (0.0, 0.5, 1.0, 1.5),
    "c1": (0.0, 0.5, 1.0, 1.5),
    "f1": (0.0, 0.5, 1.0, 1.5),
    "log_d1": (-1.0, -0.5, 0.0, 0.5, 1.0),
})

#: Hoffmann et al. 2022 / Besiroglu et al. 2024 initialisation grid:
#: 6 x 6 x 5 x 5 x 5 = 4,500 starts.
CHINCHILLA_GRID = MappingProxyType({
    "log_A": (0.0, 5.0, 10.0, 15.0, 20.0, 25.0),
    "log_B": (0.0, 5.0, 10.0, 15.0, 20.0, 25.0),
    "log_E": (-1.0, -0.5, 0.0, 0.5, 1.0),
    "alpha": (0.0, 0.5, 1.0, 1.5, 2.0),
    "beta": (0.0, 0.5, 1.0, 1.5, 2.0),
})

#: Exponents strictly positive (the laws' dataclasses demand it; grid values of 0 are
#: moved onto the bound).
_POSITIVE_FLOOR = 1e-6
_CHUNK_ELEMENTS = 1_500_000  # starts x runs per vectorised block (~12 MB per array)

#: A bounded parameter within this distance of its lower bound is "at-bound" (an
#: exponent of 0.01 means no scaling over any range of sizes the book meets).
BOUND_TOLERANCE = 1e-2
#: An irreducible loss E below this fraction of the smallest observed loss is "no-floor".
FLOOR_FRACTION = 0.01
#: Converged optima within this relative objective of the best ...
AMBIGUITY_RTOL = 0.01
#: ... whose parameters differ by more than this (max-abs, optimiser's coordinates: 0.1 in
#: a log coefficient is 10%) make the fit "ambiguous".
AMBIGUITY_DISTANCE = 0.1


class FitWarning(UserWarning):
    """A fit converged but is plainly not trustworthy (see ``Diagnostic``)."""


@dataclass(frozen=True)
class Diagnostic:
    """One reason not to trust a fit: ``code`` (``"few-points"``, ``"at-bound"``,
    ``"no-floor"``, ``"ambiguous"`` or ``"inexpressible"``; the module docstring says
    when each applies) and ``message``, a sentence with the numbers."""

    code: str
    message: str

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"


@dataclass(frozen=True)
class Search:
    """Settings of the three stages of the grid search (module docstring):
    ``n_batched`` best and ``n_random`` random starts descended by ``n_steps``
    projected-Adam steps at learning rate ``lr``; ``n_polish`` distinct candidates
    polished by ``short_iter`` L-BFGS-B iterations, the ``n_final`` best of them to
    convergence (at most ``maxiter`` iterations); ``seed`` draws the random starts.
    Tuned with benchmarks/bench_fit.py."""

    n_batched: int = 512
    n_random: int = 128
    n_steps: int = 60
    lr: float = 0.1
    n_polish: int = 8
    n_final: int = 8
    short_iter: int = 150
    seed: int = 0
    maxiter: int = 3000

    def __post_init__(self):
        for name, lo in (("n_batched", 1), ("n_random", 0), ("n_steps", 0), ("n_polish", 1),
                         ("n_final", 1), ("short_iter", 1), ("seed", 0), ("maxiter", 1)):
            integer(f"Search.{name}", getattr(self, name), lo, 2**32 - 1 if name == "seed" else 10**7)
        in_range("Search.lr", self.lr, 1e-12, 1e3)


#: The search of the supervised laws.
DEFAULT_SEARCH = Search()
#: The distillation law's: more candidates (its 216,000-start grid has more basins).
DISTILLATION_SEARCH = Search(n_batched=2048, n_random=512, n_polish=24, n_final=4)


# ----------------------------------------------------------------------------- laws


def _lse2(u, v, need_weight=True):
    """log(e^u + e^v) and the weight e^u / (e^u + e^v), sharing one exp.

    ``np.log(1 + e)`` (e in (0, 1]) instead of ``log1p``: numpy vectorises it, and
    its absolute error (~1e-16) is all that matters when added to max(u, v).
    """
    d = u - v
    e = np.exp(-np.abs(d))
    out = np.maximum(u, v) + np.log(1.0 + e)
    if not need_weight:
        return out, None
    inv = 1.0 / (1.0 + e)
    return out, np.where(d >= 0, inv, e * inv)


def _check_positive_data(**arrays) -> dict:
    out = {}
    sizes = set()
    for name, value in arrays.items():
        arr = _float_array(name, value, "finite numbers > 0").ravel()
        if arr.size == 0:
            raise ValueError(f"{name} must not be empty")
        bad = ~np.isfinite(arr) | (arr <= 0)
        if bad.any():
            raise ValueError(f"{name} must be finite and > 0; entry {int(np.flatnonzero(bad)[0])} "
                             f"is {shown(arr[bad][0])}")
        out[name] = arr
        sizes.add(arr.size)
    if len(sizes) != 1:
        raise ValueError(f"{', '.join(arrays)} must have the same length; got "
                         f"{[a.size for a in out.values()]}")
    return out


def grid_starts(grid) -> tuple[tuple, np.ndarray]:
    """Cartesian product of a grid mapping name -> values, as (names, (S, p) array)."""
    if not isinstance(grid, Mapping) or not grid:
        raise ValueError(f"grid must be a non-empty mapping of parameter name -> values; got {shown(grid)}")
    names = tuple(grid)
    try:
        values = [_float_array(f"grid[{shown(k)}]", grid[k], "a sequence of finite numbers") for k in names]
    except ValueError as exc:
        raise ValueError(f"grid: every entry must be a non-empty sequence of finite numbers ({exc})") from None
    if any(v.ndim != 1 or v.size == 0 or not np.all(np.isfinite(v)) for v in values):
        raise ValueError("grid: every entry must be a non-empty sequence of finite numbers")
    mesh = np.stack(np.meshgrid(*values, indexing="ij"), axis=-1).reshape(-1, len(names))
    return names, mesh


def _check_grid(grid, expected: tuple) -> np.ndarray:
    names, starts = grid_starts(grid)
    if set(names) != set(expected):
        raise ValueError(f"grid: keys must be exactly {expected}; got {names}")
    order = [names.index(k) for k in expected]
    return starts[:, order]


@dataclass(frozen=True)
class Law:
    """Specification of a law to fit (the base of every law; see the module docstring).

    ``parameters`` names the optimiser's coordinates in order; ``lower`` gives the
    lower bound of those that have one; ``grid`` is the default start grid (one
    tuple of values per parameter), ``delta`` the default Huber delta and ``search``
    the default ``Search``; ``fixed`` holds the law's other parameters at given
    values (the Chinchilla form fixes gamma = 1). A subclass implements ``prepare``,
    ``predict`` and ``coefficients``; ``screen`` may add a faster exact evaluation
    of the grid.
    """

    name: str
    parameters: tuple
    lower: Mapping
    grid: Mapping
    delta: float = 1e-4
    search: Search = DEFAULT_SEARCH
    fixed: Mapping = field(default_factory=lambda: MappingProxyType({}))

    def __post_init__(self):
        if not isinstance(self.name, str) or not self.name:
            raise TypeError(f"name must be a non-empty string; got {shown(self.name)}")
        if isinstance(self.parameters, (str, bytes)) or not isinstance(self.parameters, (tuple, list)) \
                or not self.parameters or not all(isinstance(p, str) and p for p in self.parameters) \
                or len(set(self.parameters)) != len(self.parameters):
            raise TypeError(f"parameters must be a non-empty tuple of distinct parameter names; "
                            f"got {shown(self.parameters)}")
        object.__setattr__(self, "parameters", tuple(self.parameters))
        for name in ("lower", "grid", "fixed"):
            if not isinstance(getattr(self, name), Mapping):
                raise TypeError(f"{name} must be a mapping (parameter name -> value); got {shown(getattr(self, name))}")
        unknown = [k for k in self.lower if k not in self.parameters]
        if unknown or not all(isinstance(v, numbers.Real) and not isinstance(v, bool) and not math.isnan(v)
                              for v in self.lower.values()):
            raise ValueError(f"lower must map parameters ({', '.join(self.parameters)}) to numbers; "
                             f"got {shown(dict(self.lower))}")
        if set(self.grid) != set(self.parameters) or not all(
                np.ndim(v) == 1 and len(v) and not isinstance(v, (str, bytes)) for v in self.grid.values()):
            raise ValueError(f"grid must map each of the parameters ({', '.join(self.parameters)}) to a non-empty "
                             f"sequence of start values; got {shown(dict(self.grid))}")
        in_range("delta", self.delta, 1e-12, 1e3)
        instance("search", self.search, Search, " (analysis.fit)")
        clash = [k for k in self.fixed if k in self.parameters or not isinstance(k, str)]
        if clash or not all(isinstance(v, numbers.Real) and not isinstance(v, bool) and math.isfinite(v)
                            for v in self.fixed.values()):
            raise ValueError(f"fixed must map names that are not in parameters to finite numbers; "
                             f"got {shown(dict(self.fixed))}")

    @functools.cached_property
    def index(self) -> dict[str, int]:
        """Column of each parameter in a parameter vector."""
        return {k: i for i, k in enumerate(self.parameters)}

    def prepare(self, **data) -> tuple[dict, np.ndarray]:
        """(inputs, loss): the arrays ``predict`` reads, from the runs; checks them."""
        raise NotImplementedError

    def predict(self, theta: np.ndarray, x: Mapping, need_grad: bool):
        """Log-predictions ``y`` (S, n) for a batch ``theta`` (S, p), and a function
        mapping ``a = d objective / d y`` (S, n) to the gradient (S, p)."""
        raise NotImplementedError

    def coefficients(self, theta):
        """The coefficients object (``analysis.laws``) that ``theta`` stands for."""
        raise NotImplementedError

    def screen(self, problem: "Problem", starts: np.ndarray):
        """Scaled objective at every start, or ``None`` to use the generic evaluation."""
        return None

    def design_columns(self) -> tuple:
        """The inputs (keys of ``prepare``'s dict) that make a run's design point."""
        return ("log_n", "log_d")

    def diagnose(self, problem: "Problem", theta: np.ndarray) -> list:
        """Law-specific ``Diagnostic``s of a fit at ``theta`` (data it cannot express,
        coefficients it makes meaningless); the generic ones are ``_diagnostics``'."""
        return []

    def columns(self, theta: np.ndarray) -> dict[str, np.ndarray]:
        """Each parameter's column of a batch ``theta`` (S, p) as an (S, 1) array, the
        fixed ones filled with their value."""
        cols = {k: theta[:, i:i + 1] for k, i in self.index.items()}
        for k, value in self.fixed.items():
            cols[k] = np.full((theta.shape[0], 1), float(value))
        return cols

    def values(self, theta) -> dict[str, float]:
        """Every parameter (free and fixed) of one parameter vector, by name."""
        return {**{k: float(v) for k, v in self.fixed.items()},
                **dict(zip(self.parameters, (float(v) for v in theta)))}

    def holding(self, fixed: Mapping) -> "Law":
        """This law with the coefficients of ``fixed`` ({name: value}, names and units of
        the coefficients object of ``analysis.laws``: ``A``, not ``log_A``) held at those
        values: each leaves ``parameters``, ``lower`` and ``grid`` and joins ``fixed``
        (log-space parameters take the value's log). Raises ``ValueError`` for a name
        that is not a free coefficient of this law, a value outside its bounds, or when
        no parameter would stay free."""
        coefficient = {k.removeprefix("log_"): k for k in self.parameters}
        held = {}
        for name, value in dict(fixed).items():
            if name not in coefficient:
                raise ValueError(f"fixed: unknown coefficient {shown(name)}; allowed: {', '.join(coefficient)}")
            key, v = coefficient[name], float(value)
            if key.startswith("log_"):
                if not (np.isfinite(v) and v > 0):
                    raise ValueError(f"fixed[{shown(name)}] must be finite and > 0; got {shown(value)}")
                v = float(np.log(v))
            else:
                lo = self.lower.get(key, -np.inf)
                if not (np.isfinite(v) and v >= lo):
                    raise ValueError(f"fixed[{shown(name)}] must be finite and >= {lo:g}; got {shown(value)}")
            held[key] = v
        if len(held) == len(self.parameters):
            raise ValueError("fixed: at least one coefficient must stay free")
        if not held:
            return self
        return replace(self, parameters=tuple(k for k in self.parameters if k not in held),
                       lower=MappingProxyType({k: v for k, v in self.lower.items() if k not in held}),
                       grid=MappingProxyType({k: v for k, v in self.grid.items() if k not in held}),
                       fixed=MappingProxyType({**self.fixed, **held}))


@dataclass(frozen=True)
class SupervisedLaw(Law):
    """Eq. 1, ``log L = LSE(log E, gamma LSE(log A - alpha log N, log B - beta log D))``
    (App. F.1, Eq. 44), over the parameters log_A, log_B, log_E, alpha, beta, gamma
    (each free or fixed)."""

    def prepare(self, *, N, D, loss) -> tuple[dict, np.ndarray]:
        data = _check_positive_data(N=N, D=D, loss=loss)
        return {"log_n": np.log(data["N"]), "log_d": np.log(data["D"])}, data["loss"]

    def predict(self, theta, x, need_grad=True):
        p = self.columns(theta)
        xn, xd = x["log_n"], x["log_d"]
        la, lb, le, al, be, ga = (p[k] for k in ("log_A", "log_B", "log_E", "alpha", "beta", "gamma"))
        P, w1 = _lse2(la - al * xn, lb - be * xd, need_grad)  # w1: share of the N term
        q = ga * P
        y, wq = _lse2(q, le, need_grad)                       # wq: share of the power term

        def grad(a):
            aq = a * wq
            aq1 = aq * w1
            s_aq, s_aq1 = aq.sum(1), aq1.sum(1)
            g = ga[:, 0]
            parts = {"log_A": lambda: g * s_aq1, "log_B": lambda: g * (s_aq - s_aq1),
                     "log_E": lambda: a.sum(1) - s_aq, "alpha": lambda: -g * (aq1 @ xn),
                     "beta": lambda: -g * (aq @ xd - aq1 @ xd), "gamma": lambda: (aq * P).sum(1)}
            return np.stack([parts[k]() for k in self.parameters], axis=1)

        return y, grad

    def diagnose(self, problem, theta):
        """``no-floor``: E below ``FLOOR_FRACTION`` of the smallest observed loss."""
        d = self.values(theta)
        loss = np.exp(problem.target) if problem.residual == "log" else problem.target
        if "log_E" in self.parameters and d["log_E"] < np.log(FLOOR_FRACTION * float(loss.min())):
            return [Diagnostic("no-floor", f"the irreducible loss E = {np.exp(d['log_E']):.3g} "
                               f"(log E = {d['log_E']:.3g}) is below {FLOOR_FRACTION:g} x the smallest "
                               f"observed loss {float(loss.min()):.4g}: the data show no floor, and E "
                               f"(with the coefficients tied to it) is not determined")]
        return []

    def coefficients(self, theta) -> SupervisedCoefficients:
        d = self.values(theta)
        return SupervisedCoefficients(E=np.exp(d["log_E"]), A=np.exp(d["log_A"]), B=np.exp(d["log_B"]),
                                      alpha=d["alpha"], beta=d["beta"], gamma=d["gamma"])


@dataclass(frozen=True)
class DistillationLaw(Law):
    """Eq. 8 in log space (App. F.2, Eqs. 47-49): ``log L_S = LSE(log L_T, Q)`` with
    ``Q = -c0 log L_T - c1 f1 softplus((log L_T - log L~_S - log d1) / f1)
    + gamma' LSE(log A' - alpha' log N_S, log B' - beta' log D_S)``, where the
    student's supervised loss L~_S comes from fixed supervised coefficients."""

    def prepare(self, *, N_S, D_S, L_T, L_S, supervised=PAPER_SUPERVISED) -> tuple[dict, np.ndarray]:
        data = _check_positive_data(N_S=N_S, D_S=D_S, L_T=L_T, L_S=L_S)
        if not isinstance(supervised, SupervisedCoefficients):
            raise ValueError("supervised must be a SupervisedCoefficients")
        log_tilde = np.asarray(log_supervised_loss(data["N_S"], data["D_S"], supervised), dtype=float)
        x = {"log_n": np.log(data["N_S"]), "log_d": np.log(data["D_S"]), "log_t": np.log(data["L_T"]),
             "log_tilde": log_tilde}
        return x, data["L_S"]

    def predict(self, theta, x, need_grad=True):
        p = self.columns(theta)
        la, lb, al, be, ga = p["log_A"], p["log_B"], p["alpha"], p["beta"], p["gamma"]
        c0, c1, f1, ld = p["c0"], p["c1"], p["f1"], p["log_d1"]
        xn, xd, t = x["log_n"], x["log_d"], x["log_t"]
        P, w1 = _lse2(la - al * xn, lb - be * xd, need_grad)
        z = (t - x["log_tilde"] - ld) / f1
        az = np.abs(z)
        e = np.exp(-az)
        l1 = np.log(1.0 + e)
        sp = np.maximum(z, 0.0) + l1                 # softplus(z)
        Q = (-c1 * f1) * sp
        Q += ga * P
        Q -= c0 * t
        y, wq = _lse2(Q, t, need_grad)               # wq: share of the distillation term
        if not need_grad:
            return y, None
        inv = 1.0 / (1.0 + e)
        sig = np.where(z >= 0, inv, e * inv)         # sigmoid(z)
        h = l1 + az * (e * inv)                      # softplus(z) - z sigmoid(z), stable

        def grad(a):
            aq = a * wq
            aq1 = aq * w1
            s_aq, s_aq1 = aq.sum(1), aq1.sum(1)
            g, C1, F1 = ga[:, 0], c1[:, 0], f1[:, 0]
            parts = {"log_A": lambda: g * s_aq1, "log_B": lambda: g * (s_aq - s_aq1),
                     "alpha": lambda: -g * (aq1 @ xn), "beta": lambda: -g * (aq @ xd - aq1 @ xd),
                     "gamma": lambda: (aq * P).sum(1), "c0": lambda: -(aq @ t),
                     "c1": lambda: -F1 * (aq * sp).sum(1), "f1": lambda: -C1 * (aq * h).sum(1),
                     "log_d1": lambda: C1 * (aq * sig).sum(1)}
            return np.stack([parts[k]() for k in self.parameters], axis=1)

        return y, grad

    def design_columns(self) -> tuple:
        return ("log_n", "log_d", "log_t")

    def diagnose(self, problem, theta):
        """``inexpressible``: students better than their teachers (Eq. 8 gives L_S >= L_T)."""
        loss = np.exp(problem.target) if problem.residual == "log" else problem.target
        teacher = np.exp(problem.inputs["log_t"])
        below = loss < teacher
        if below.any():
            return [Diagnostic("inexpressible", f"{int(below.sum())} of {below.size} runs have a student "
                               f"better than its teacher (L_S < L_T), which Eq. 8 cannot express "
                               f"(it gives L_S >= L_T); if most do, check that the L_T and L_S "
                               f"columns are not swapped")]
        return []

    def coefficients(self, theta) -> DistillationCoefficients:
        d = self.values(theta)
        return DistillationCoefficients(
            A=np.exp(d["log_A"]), B=np.exp(d["log_B"]), alpha=d["alpha"], beta=d["beta"],
            gamma=d["gamma"], c0=d["c0"], c1=d["c1"], f1=d["f1"], d1=np.exp(d["log_d1"]))

    def screen(self, problem, starts):
        """The grid has few distinct (log A', log B', alpha', beta') and (f1, log d1)
        combinations, so the power term and the softplus of the capacity-gap factor
        are computed once per combination and gathered (in float32): exact to
        float32 rounding, and several times cheaper than the generic path. Fixed
        parameters enter as constant columns."""
        col = {k: starts[:, j] for k, j in self.index.items()}
        col.update({k: np.full(starts.shape[0], float(v)) for k, v in self.fixed.items()})
        x = problem.inputs
        f32 = np.float32
        t = x["log_t"].astype(f32)
        target = problem.target.astype(f32)
        up, ip = np.unique(np.stack([col["log_A"], col["log_B"], col["alpha"], col["beta"]], 1), axis=0,
                           return_inverse=True)
        uf, iff = np.unique(np.stack([col["f1"], col["log_d1"]], 1), axis=0, return_inverse=True)
        PP = _lse2(up[:, :1] - up[:, 2:3] * x["log_n"], up[:, 1:2] - up[:, 3:4] * x["log_d"],
                   False)[0].astype(f32)
        SP = np.logaddexp(0.0, (x["log_t"] - x["log_tilde"] - uf[:, 1:2]) / uf[:, :1]).astype(f32)
        coef = np.stack([-(col["c1"] * col["f1"]), col["gamma"], col["c0"]], 1).astype(f32)
        delta = f32(problem.delta)
        n = problem.n
        f = np.empty(starts.shape[0])
        step = max(1, _CHUNK_ELEMENTS // n)
        with np.errstate(over="ignore", under="ignore", invalid="ignore"):
            for s in range(0, starts.shape[0], step):
                c = coef[s:s + step]
                Q = SP[iff[s:s + step]]
                Q *= c[:, :1]
                Q += c[:, 1:2] * PP[ip[s:s + step]]
                Q -= c[:, 2:3] * t
                # y = logaddexp(Q, t); r = y - target; Huber(r) = delta (|r| - delta/2) + (max(delta - |r|, 0))^2 / 2
                r = np.abs(Q - t)
                np.negative(r, out=r)
                np.exp(r, out=r)
                r += 1
                np.log(r, out=r)
                r += np.maximum(Q, t)
                r -= target
                np.abs(r, out=r)
                m = np.maximum(delta - r, 0)
                f[s:s + step] = (delta * (r.sum(1, dtype=np.float64) - 0.5 * delta * n)
                                 + 0.5 * (m * m).sum(1, dtype=np.float64))
        f /= problem.delta * n
        return np.where(np.isfinite(f), f, np.inf)


class TwinDistillationLaw(DistillationLaw):
    """Eq. 8 with the student's supervised loss L~_S inside the capacity-gap factor measured
    (``L_tilde``: the loss of the student's supervised twin, same size, tokens and data)
    instead of computed from fixed supervised coefficients; everything else as
    :class:`DistillationLaw`."""

    def prepare(self, *, N_S, D_S, L_T, L_S, L_tilde) -> tuple[dict, np.ndarray]:
        data = _check_positive_data(N_S=N_S, D_S=D_S, L_T=L_T, L_S=L_S, L_tilde=L_tilde)
        x = {"log_n": np.log(data["N_S"]), "log_d": np.log(data["D_S"]), "log_t": np.log(data["L_T"]),
             "log_tilde": np.log(data["L_tilde"])}
        return x, data["L_S"]


_EXPONENT_FLOORS = {"alpha": _POSITIVE_FLOOR, "beta": _POSITIVE_FLOOR, "gamma": _POSITIVE_FLOOR}

#: Eq. 1 with gamma free, the paper's grid (App. F.1), delta = 1e-4.
SUPERVISED = SupervisedLaw(
    name="supervised", parameters=("log_A", "log_B", "log_E", "alpha", "beta", "gamma"),
    lower=MappingProxyType(dict(_EXPONENT_FLOORS)), grid=PAPER_SUPERVISED_GRID)
#: Hoffmann et al.'s form (gamma = 1) with Besiroglu et al.'s grid and delta = 1e-3.
CHINCHILLA = SupervisedLaw(
    name="chinchilla", parameters=("log_A", "log_B", "log_E", "alpha", "beta"),
    lower=MappingProxyType({"alpha": _POSITIVE_FLOOR, "beta": _POSITIVE_FLOOR}), grid=CHINCHILLA_GRID,
    delta=1e-3, fixed=MappingProxyType({"gamma": 1.0}))
#: Eq. 8, the paper's grid (App. F.2), delta = 1e-4: f1 >= 1e-3, c0 and c1 >= 0.
DISTILLATION = DistillationLaw(
    name="distillation",
    parameters=("log_A", "log_B", "alpha", "beta", "gamma", "c0", "c1", "f1", "log_d1"),
    lower=MappingProxyType({**_EXPONENT_FLOORS, "f1": 1e-3, "c0": 0.0, "c1": 0.0}),
    grid=PAPER_DISTILLATION_GRID, search=DISTILLATION_SEARCH)

#: Eq. 8 with measured twins (the replication's part 2: every distillation has a supervised
#: twin), the paper's grid and settings otherwise.
DISTILLATION_TWINS = TwinDistillationLaw(
    name="distillation-twins", parameters=DISTILLATION.parameters, lower=DISTILLATION.lower,
    grid=PAPER_DISTILLATION_GRID, search=DISTILLATION_SEARCH)

#: Parameter vectors, in the order the optimiser sees them.
SUPERVISED_PARAMS = SUPERVISED.parameters
CHINCHILLA_PARAMS = CHINCHILLA.parameters
DISTILLATION_PARAMS = DISTILLATION.parameters


# ----------------------------------------------------------------------------- problem


@dataclass(frozen=True)
class Problem:
    """Everything the objective needs, fixed for one fit: the ``law``, its
    ``inputs`` (arrays from ``law.prepare``), the ``target`` (log L for
    residual="log", L for "printed"), the Huber ``delta`` and the ``residual`` kind."""

    law: Law
    inputs: Mapping
    target: np.ndarray
    delta: float
    residual: str

    @property
    def names(self) -> tuple:
        return self.law.parameters

    @property
    def kind(self) -> str:
        return self.law.name

    @property
    def n(self) -> int:
        return self.target.size

    @property
    def lower(self) -> np.ndarray:
        return np.array([self.law.lower.get(k, -np.inf) for k in self.names])

    @property
    def bounds(self) -> list:
        return [(None if not np.isfinite(lo) else lo, None) for lo in self.lower]


def _check_settings(delta, residual, n, p):
    in_range("delta", delta, 1e-12, 1e3)
    if not isinstance(residual, str) or residual not in ("log", "printed"):
        raise ValueError(f"residual must be 'log' or 'printed'; got {shown(residual)}")
    if n <= p:
        raise ValueError(f"too few runs: {n} runs for {p} free parameters (need more than {p})")


def _problem(law: Law, delta, residual, data) -> Problem:
    if not isinstance(law, Law):
        raise TypeError(f"law must be a Law (analysis.fit); got {type(law).__name__}")
    delta = law.delta if delta is None else delta
    inputs, loss = law.prepare(**data)
    _check_settings(delta, residual, loss.size, len(law.parameters))
    target = np.log(loss) if residual == "log" else loss
    return Problem(law=law, inputs=MappingProxyType(inputs), target=target, delta=float(delta),
                   residual=residual)


def huber(r, delta: float):
    """Huber_delta(r): r**2 / 2 for |r| <= delta, delta (|r| - delta / 2) beyond."""
    r = _float_array("r", r, "finite residuals")
    if not np.all(np.isfinite(r)):
        raise ValueError("r must be finite residuals")
    delta = in_range("delta", delta, 1e-12, 1e3)
    with np.errstate(over="ignore"):  # r * r of the branch not taken may overflow
        return _huber(r, delta)


def _huber(r, delta):
    """``huber`` without checks (the objective's; its rounding fixes the stored fits)."""
    ar = np.abs(r)
    return np.where(ar <= delta, 0.5 * r * r, delta * (ar - 0.5 * delta))


def _batch_objective(prob: Problem, theta: np.ndarray, weights=None, need_grad=True):
    """Scaled objective ``sum_i w_i Huber(r_i) / (delta sum_i w_i)`` for each row of
    ``theta`` (S, p), chunked over rows; with its gradient when asked.

    The scaling (which does not move the optimum) makes the objective about the
    mean |r| so that optimiser tolerances mean the same for any delta and n.
    """
    theta = np.atleast_2d(np.asarray(theta, dtype=float))
    S, p = theta.shape
    w = np.ones(prob.n) if weights is None else np.asarray(weights, dtype=float)
    scale = 1.0 / (prob.delta * w.sum())
    f = np.empty(S)
    g = np.empty((S, p)) if need_grad else None
    step = max(1, _CHUNK_ELEMENTS // prob.n)
    with np.errstate(over="ignore", under="ignore", invalid="ignore", divide="ignore"):
        for s in range(0, S, step):
            th = theta[s:s + step]
            y, grad = prob.law.predict(th, prob.inputs, need_grad)
            r = y - prob.target
            f[s:s + step] = (_huber(r, prob.delta) @ w) * scale
            if need_grad:
                a = np.clip(r, -prob.delta, prob.delta) * (w * scale)
                g[s:s + step] = grad(a)
    f = np.where(np.isfinite(f), f, np.inf)
    if need_grad:
        g = np.where(np.isfinite(g), g, 0.0)
        return f, g
    return f


def objective_and_gradient(problem: Problem, theta, weights=None):
    """Scaled objective and analytic gradient at one parameter vector (for tests)."""
    instance("problem", problem, Problem, " (a FitResult's problem)")
    theta = _float_array("theta", theta, f"{len(problem.names)} finite numbers")
    if theta.shape != (len(problem.names),) or not np.all(np.isfinite(theta)):
        raise ValueError(f"theta must hold {len(problem.names)} finite numbers ({', '.join(problem.names)}); "
                         f"got {shown(theta)}")
    if weights is not None:
        weights = array_in_range("weights", weights, 0.0, 1e12)
        if weights.shape != (problem.n,) or not weights.sum() > 0:
            raise ValueError(f"weights must be None or {problem.n} numbers >= 0 (one per run), not all 0; "
                             f"got {shown(weights)}")
    return _objective_and_gradient(problem, theta, weights)


def _objective_and_gradient(problem: Problem, theta, weights=None):
    """``objective_and_gradient`` without the checks (the polish calls it thousands of times)."""
    f, g = _batch_objective(problem, np.asarray(theta, dtype=float)[None, :], weights)
    return float(f[0]), g[0]


# ----------------------------------------------------------------------------- results


@dataclass(frozen=True)
class FitResult:
    """Outcome of a grid fit.

    ``coefficients`` is a ``SupervisedCoefficients`` or ``DistillationCoefficients``;
    ``theta`` the optimiser's parameter vector (names in ``parameter_names``);
    ``objective`` the paper's summed Huber loss at the optimum (Eq. 45 / 50 units);
    ``start`` the grid point whose polish won; ``n_starts`` the grid size,
    ``n_polished`` how many reached the L-BFGS-B polish and ``n_converged`` how
    many of those converged; ``messages`` the distinct convergence messages;
    ``optima`` the distinct converged optima (objective, theta), best first;
    ``diagnostics`` the reasons not to trust it (``Diagnostic``; see the module
    docstring), empty when ``ok``.
    (``evaluate`` makes one without a search: no start, zero counts.)
    """

    coefficients: object
    theta: np.ndarray
    parameter_names: tuple
    objective: float
    start: dict
    n_starts: int
    n_polished: int
    n_converged: int
    messages: tuple
    optima: tuple
    problem: Problem = field(repr=False)
    diagnostics: tuple = ()

    @property
    def ok(self) -> bool:
        """True when no diagnostic was raised."""
        return not self.diagnostics

    @property
    def residuals(self) -> np.ndarray:
        """log L^ - log L (or log L^ - L with residual="printed") per run."""
        y, _ = self.problem.law.predict(self.theta[None, :], self.problem.inputs, True)
        return y[0] - self.problem.target

    def parameters(self) -> dict[str, float]:
        """``theta`` by parameter name."""
        return dict(zip(self.parameter_names, map(float, self.theta)))


@dataclass(frozen=True)
class BootstrapResult:
    """Bootstrap of a fit: ``samples`` (n_resamples, k) of the coefficients named in
    ``names`` (derived a, b included; row i is resample i, NaN where its polish did
    not converge), ``intervals`` {name: (low, high)} at ``level`` over the converged
    rows, ``n_failed`` the number of NaN rows."""

    names: tuple
    samples: np.ndarray
    level: float
    seed: int
    n_failed: int
    intervals: dict

    @classmethod
    def from_samples(cls, names, samples, level: float = 0.9, seed: int = 0) -> "BootstrapResult":
        """The result for stored ``samples`` (percentile intervals recomputed)."""
        samples = np.asarray(samples, dtype=float)
        if not (0 < level < 1):
            raise ValueError(f"level must be in the open interval (0, 1); got {shown(level)}")
        failed = int(np.isnan(samples[:, 0]).sum())
        if failed == samples.shape[0]:
            raise RuntimeError("bootstrap: no resample converged")
        q = (1 - level) / 2
        lo, hi = np.nanquantile(samples, [q, 1 - q], axis=0)
        intervals = {k: (float(a), float(b)) for k, a, b in zip(names, lo, hi)}
        return cls(names=tuple(names), samples=samples, level=float(level), seed=int(seed),
                   n_failed=failed, intervals=intervals)


# ----------------------------------------------------------------------------- search


def _screen(prob: Problem, starts: np.ndarray) -> np.ndarray:
    """Scaled objective at every start (no gradient): the law's fast path if it has one."""
    fast = prob.law.screen(prob, starts)
    return _batch_objective(prob, starts, need_grad=False) if fast is None else fast


def _adam(prob, theta, n_steps, lr, weights=None):
    """Projected Adam on every row of ``theta`` together; returns the best point
    each row visited and its objective."""
    lower = prob.lower
    theta = np.maximum(theta, lower)
    m = np.zeros_like(theta)
    v = np.zeros_like(theta)
    best_f = np.full(theta.shape[0], np.inf)
    best = theta.copy()
    b1, b2, eps = 0.9, 0.999, 1e-12
    for k in range(1, n_steps + 1):
        f, g = _batch_objective(prob, theta, weights)
        better = f < best_f
        best_f[better] = f[better]
        best[better] = theta[better]
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        step_lr = lr * 0.5 * (1 + np.cos(np.pi * (k - 1) / n_steps)) + 0.01 * lr
        theta = theta - step_lr * (m / (1 - b1**k)) / (np.sqrt(v / (1 - b2**k)) + eps)
        theta = np.maximum(theta, lower)
    f = _batch_objective(prob, theta, weights, need_grad=False)
    better = f < best_f
    best_f[better] = f[better]
    best[better] = theta[better]
    return best, best_f


def _polish(prob, x0, weights=None, maxiter=2000, bounds=None):
    fun = lambda x: _objective_and_gradient(prob, x, weights)  # noqa: E731
    return minimize(fun, x0, jac=True, method="L-BFGS-B", bounds=bounds or prob.bounds,
                    options={"maxiter": maxiter, "ftol": 1e-13, "gtol": 1e-9, "maxcor": 20})


def _dedupe(points, fvals, rtol=1e-6):
    """Group converged optima whose objectives agree to rtol and whose parameters
    agree to 1e-3; return [(f, x)] best first."""
    out = []
    for i in np.argsort(fvals):
        x, f = points[i], fvals[i]
        if not any(abs(f - g) <= rtol * max(abs(g), 1e-300) and np.allclose(x, y, atol=1e-3, rtol=1e-3)
                   for g, y in out):
            out.append((float(f), np.asarray(x)))
    return out


_BLAS_LOCK = threading.Lock()
_BLAS_STATE = {"depth": 0, "limiter": None}


def _single_blas_thread(func):
    """Run ``func`` with BLAS limited to one thread: the many tiny BLAS calls inside
    L-BFGS-B are an order of magnitude slower with a threaded OpenBLAS. Overlapping
    calls (threads) share one limit, taken by the first and lifted by the last, which
    restores the limits found before the first (so none is left changed)."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        with _BLAS_LOCK:
            if _BLAS_STATE["depth"] == 0:
                _BLAS_STATE["limiter"] = threadpool_limits(limits=1, user_api="blas")
            _BLAS_STATE["depth"] += 1
        try:
            return func(*args, **kwargs)
        finally:
            with _BLAS_LOCK:
                _BLAS_STATE["depth"] -= 1
                if _BLAS_STATE["depth"] == 0:
                    _BLAS_STATE["limiter"].restore_original_limits()
                    _BLAS_STATE["limiter"] = None
    return wrapper


def _distinct_best(points, fvals, k, tol=0.05):
    """Indices of the ``k`` best points, skipping any within ``tol`` (max-abs, in the
    optimiser's coordinates) of one already taken, so that the polish budget goes
    to different basins instead of near-copies of the leader."""
    taken = []
    for i in np.argsort(fvals, kind="stable"):
        if not np.isfinite(fvals[i]):
            break
        if all(np.max(np.abs(points[i] - points[j])) > tol for j in taken):
            taken.append(i)
            if len(taken) == k:
                break
    return np.array(taken, dtype=int)


@_single_blas_thread
def _run_grid(prob: Problem, starts: np.ndarray, search: Search):
    """Screen, batched descent and polish (see module docstring)."""
    S = starts.shape[0]
    starts = np.maximum(starts, prob.lower)
    if S > search.n_batched + search.n_random:
        f0 = _screen(prob, starts)
        order = np.argsort(f0, kind="stable")
        keep = order[:search.n_batched]
        rest = order[search.n_batched:]
        rng = np.random.default_rng(search.seed)
        extra = rng.choice(rest, size=min(search.n_random, rest.size), replace=False)
        idx = np.concatenate([keep, extra])
    else:
        idx = np.arange(S)
    pts, fv = _adam(prob, starts[idx], search.n_steps, search.lr) if search.n_steps > 0 else (
        starts[idx], _batch_objective(prob, starts[idx], need_grad=False))
    order = _distinct_best(pts, fv, search.n_polish)
    if search.n_final < len(order):
        # short L-BFGS-B runs on every candidate, then full polishes of the best few
        short = [_polish(prob, pts[j], maxiter=search.short_iter) for j in order]
        fs = np.array([r.fun if np.isfinite(r.fun) else np.inf for r in short])
        xs = np.array([r.x for r in short])
        keep = _distinct_best(xs, fs, search.n_final)
        candidates = [(idx[order[k]], xs[k]) for k in keep]
    else:
        candidates = [(idx[j], pts[j]) for j in order]
    results = [(i, _polish(prob, x, maxiter=search.maxiter)) for i, x in candidates]
    conv = [(i, r) for i, r in results if r.success and np.isfinite(r.fun)]
    messages = tuple(sorted({str(r.message) for _, r in results}))
    if not conv:
        raise RuntimeError(f"no start converged ({len(results)} polished); L-BFGS-B said: "
                           f"{'; '.join(messages)}")
    fvals = np.array([r.fun for _, r in conv])
    best = int(np.argmin(fvals))
    win_idx, win = conv[best]
    optima = _dedupe([r.x for _, r in conv], fvals)
    return win, starts[win_idx], len(results), len(conv), messages, optima


def _result(prob, theta, start, n_starts, n_pol, n_conv, messages, optima) -> FitResult:
    theta = np.asarray(theta, dtype=float)
    r = prob.law.predict(theta[None, :], prob.inputs, True)[0][0] - prob.target
    paper_obj = float(_huber(r, prob.delta).sum())
    to_paper = prob.delta * prob.n
    optima = tuple((f * to_paper, x) for f, x in optima)
    start = {} if start is None else dict(zip(prob.names, map(float, start)))
    return FitResult(
        coefficients=prob.law.coefficients(theta), theta=theta, parameter_names=prob.names,
        objective=paper_obj, start=start, n_starts=n_starts, n_polished=n_pol, n_converged=n_conv,
        messages=messages, optima=optima, problem=prob,
        diagnostics=tuple(_diagnostics(prob, theta, optima)))


def _diagnostics(prob: Problem, theta: np.ndarray, optima) -> list:
    """The ``Diagnostic``s of a fit at ``theta`` (module docstring)."""
    out = []
    design = np.stack([np.broadcast_to(prob.inputs[k], prob.target.shape)
                       for k in prob.law.design_columns()], axis=1)
    distinct = np.unique(np.round(design, 9), axis=0).shape[0]
    p = len(prob.names)
    if distinct <= p:
        out.append(Diagnostic("few-points", f"{distinct} distinct design points ({prob.n} runs) for "
                              f"{p} free parameters: the data cannot determine the coefficients"))
    for k, name in enumerate(prob.names):
        lo = prob.lower[k]
        if np.isfinite(lo) and theta[k] - lo <= BOUND_TOLERANCE:
            out.append(Diagnostic("at-bound", f"{name} = {theta[k]:.3g} is at (within "
                                  f"{BOUND_TOLERANCE:g} of) its lower bound {lo:g}: the optimum "
                                  f"lies on the edge of the allowed region"))
    out.extend(prob.law.diagnose(prob, theta))
    if optima:
        best = optima[0][0]
        for f, x in optima[1:]:
            gap = float(np.max(np.abs(np.asarray(x) - theta)))
            if f - best <= AMBIGUITY_RTOL * abs(best) + 1e-12 and gap > AMBIGUITY_DISTANCE:
                out.append(Diagnostic("ambiguous", f"another optimum has an objective within "
                                      f"{AMBIGUITY_RTOL:.0%} of the best ({f:.4g} vs {best:.4g}) but "
                                      f"parameters up to {gap:.3g} apart: the data do not pick one"))
                break
    return out


def fit(law: Law, *, grid=None, delta: float | None = None, residual: str = "log",
        search: Search | None = None, fixed: Mapping | None = None, **data) -> FitResult:
    """Fit ``law`` to runs by the grid + L-BFGS-B procedure of App. F.

    ``data`` are the runs in the law's own names (``N, D, loss`` for the supervised
    laws; ``N_S, D_S, L_T, L_S`` and the fixed ``supervised`` coefficients for the
    distillation law). ``grid``, ``delta`` and ``search`` default to the law's
    (``law.grid``, ``law.delta``, ``law.search``); ``residual`` is "log" or "printed".
    ``fixed`` ({coefficient: value}) fits ``law.holding(fixed)``; a ``grid`` given
    with it may keep the axes of the held coefficients, which are then dropped.
    """
    if not isinstance(law, Law):
        raise TypeError(f"law must be a Law (analysis.fit); got {type(law).__name__}")
    if fixed is not None and not isinstance(fixed, Mapping):
        raise TypeError(f"fixed must be None or a mapping of coefficient -> value; got {shown(fixed)}")
    if grid is not None and not isinstance(grid, Mapping):
        raise ValueError(f"grid must be None or a non-empty mapping of parameter name -> values; got {shown(grid)}")
    if fixed:
        free = law.holding(fixed)
        if grid is not None:
            grid = {k: v for k, v in grid.items() if k in free.parameters or k not in law.parameters}
        law = free
    prob = _problem(law, delta, residual, data)
    search = law.search if search is None else search
    if not isinstance(search, Search):
        raise TypeError(f"search must be a Search (analysis.fit); got {type(search).__name__}")
    starts = _check_grid(law.grid if grid is None else grid, law.parameters)
    win, start, n_pol, n_conv, messages, optima = _run_grid(prob, starts, search)
    result = _result(prob, win.x, start, starts.shape[0], n_pol, n_conv, messages, optima)
    for d in result.diagnostics:
        warnings.warn(f"fit of the {law.name} law: {d}", FitWarning, stacklevel=2)
    return result


def fit_supervised(N, D, loss, *, grid=PAPER_SUPERVISED_GRID, delta: float = 1e-4,
                   residual: str = "log", search: Search = DEFAULT_SEARCH, fixed=None) -> FitResult:
    """Fit Eq. 1 (with gamma) to runs (N non-embedding parameters, D tokens, loss in
    nats/token) by the paper's grid + L-BFGS-B procedure (App. F.1); ``fixed``
    ({coefficient: value}, names as in ``SupervisedCoefficients``) holds those
    coefficients (``Law.holding``)."""
    return fit(SUPERVISED, grid=grid, delta=delta, residual=residual, search=search, fixed=fixed,
               N=N, D=D, loss=loss)


def fit_chinchilla(N, D, loss, *, grid=CHINCHILLA_GRID, delta: float = 1e-3,
                   residual: str = "log", search: Search = DEFAULT_SEARCH, fixed=None) -> FitResult:
    """Fit Hoffmann et al.'s form L = E + A/N**alpha + B/D**beta (gamma = 1) with
    Besiroglu et al.'s grid and delta = 1e-3 (their replication protocol); ``fixed``
    as for ``fit_supervised``."""
    return fit(CHINCHILLA, grid=grid, delta=delta, residual=residual, search=search, fixed=fixed,
               N=N, D=D, loss=loss)


def fit_distillation(N_S, D_S, L_T, L_S, *, supervised: SupervisedCoefficients = PAPER_SUPERVISED,
                     grid=PAPER_DISTILLATION_GRID, delta: float = 1e-4, residual: str = "log",
                     search: Search = DISTILLATION_SEARCH, fixed=None) -> FitResult:
    """Fit Eq. 8 to distillation runs (student size N_S, student tokens D_S, the
    teacher's measured loss L_T, the student's loss L_S) by the paper's grid +
    L-BFGS-B procedure (App. F.2).  The student's supervised loss L~_S inside the
    capacity-gap factor comes from ``supervised`` (Eq. 1), held fixed, as in the
    paper.  ``fixed`` ({coefficient: value}, names as in ``DistillationCoefficients``)
    holds some of Eq. 8's coefficients too, for example all but one at Table 6."""
    return fit(DISTILLATION, grid=grid, delta=delta, residual=residual, search=search, fixed=fixed,
               N_S=N_S, D_S=D_S, L_T=L_T, L_S=L_S, supervised=supervised)


def evaluate(law: Law, theta, *, delta: float | None = None, residual: str = "log", **data) -> FitResult:
    """The ``FitResult`` of ``law`` at the parameter vector ``theta`` (a sequence in
    ``law.parameters`` order, or a mapping by name) on the runs ``data``, without a
    search: for fits stored in ``data/``, whose residuals, profiles and bootstraps
    then follow from the stored vector exactly."""
    prob = _problem(law, delta, residual, data)
    if isinstance(theta, Mapping):
        missing = [k for k in law.parameters if k not in theta]
        if missing:
            raise ValueError(f"theta is missing parameters {missing} of law {shown(law.name)}")
        theta = [theta[k] for k in law.parameters]
    message = f"theta must hold {len(law.parameters)} finite numbers ({', '.join(law.parameters)}); got {shown(theta)}"
    try:
        theta = _float_array("theta", theta, "numbers")
    except ValueError:
        raise ValueError(message) from None
    if theta.shape != (len(law.parameters),) or not np.all(np.isfinite(theta)):
        raise ValueError(f"theta must hold {len(law.parameters)} finite numbers "
                         f"({', '.join(law.parameters)}); got {shown(theta)}")
    return _result(prob, theta, None, 0, 0, 0, (), ())


# ----------------------------------------------------------------------------- bootstrap


def _coefficient_row(coef) -> dict:
    d = coef.as_dict()
    d["a"] = coef.a
    d["b"] = coef.b
    return d


@_single_blas_thread
def bootstrap(result: FitResult, *, n_resamples: int = 4096, level: float = 0.9,
              seed: int = 0, maxiter: int = 3000) -> BootstrapResult:
    """Percentile bootstrap over runs (resampled with replacement, as in Besiroglu
    et al. 2024 and the paper's Table 6).

    Each resample is one L-BFGS-B polish (analytic gradient) warm-started from the
    full-data optimum instead of a new grid search: cheap enough for 4,096
    resamples, and it finds the resample's optimum in the basin of the full-data
    fit (a resample whose optimum jumps to another basin is not followed).
    Resampling is done with multinomial weights on the runs, which equals
    duplicating rows.
    """
    if not isinstance(result, FitResult):
        raise TypeError(f"result must be a FitResult (analysis.fit); got {type(result).__name__}")
    n_resamples = integer("n_resamples", n_resamples, 2, 10**7)
    seed = integer("seed", seed, 0, 2**32 - 1)
    maxiter = integer("maxiter", maxiter, 1, 10**7)
    level = in_range("level", level, 0.0, 1.0)
    if not (0 < level < 1):
        raise ValueError(f"level must be in the open interval (0, 1); got {shown(level)}")
    prob = result.problem
    rng = np.random.default_rng(seed)
    names = tuple(_coefficient_row(result.coefficients))
    samples = np.full((int(n_resamples), len(names)), np.nan)
    for i in range(int(n_resamples)):
        w = rng.multinomial(prob.n, np.full(prob.n, 1.0 / prob.n)).astype(float)
        res = _polish(prob, result.theta, weights=w, maxiter=maxiter)
        if res.success and np.all(np.isfinite(res.x)):
            try:
                with np.errstate(over="ignore"):
                    row = _coefficient_row(prob.law.coefficients(res.x))
            except ValueError:  # ran off to a coefficient that overflows (e.g. A = inf): failed
                continue
            samples[i] = [row[k] for k in names]
    return BootstrapResult.from_samples(names, samples, level, seed)


@_single_blas_thread
def profile_objective(result: FitResult, name: str, values, *, maxiter: int = 3000,
                      continuation: bool = False):
    """Profile of the objective in one parameter: for each value, the parameter is
    held there and all others are re-optimised (L-BFGS-B from the fitted optimum).

    With ``continuation=True`` the values are visited outward from the fitted value on
    each side, and each is polished both from the fitted optimum and from the previous
    value's solution, keeping the lower objective: far from the optimum a single polish
    from the optimum can stall in a flat region where the law degenerates.

    Returns an array of the summed Huber loss (Eq. 45/50 units) per value; a flat
    profile means the data do not pin the parameter down.
    """
    if not isinstance(result, FitResult):
        raise TypeError(f"result must be a FitResult (analysis.fit); got {type(result).__name__}")
    maxiter = integer("maxiter", maxiter, 1, 10**7)
    if not isinstance(continuation, (bool, np.bool_)):
        raise ValueError(f"continuation must be True or False; got {shown(continuation)}")
    prob = result.problem
    if not isinstance(name, str):
        raise ValueError(f"name must be one of {prob.names}; got {shown(name)}")
    if name in prob.law.fixed:
        raise ValueError(f"name: {shown(name)} is held fixed in this fit; profile a free parameter")
    if name not in prob.names:
        raise ValueError(f"name must be one of {prob.names}; got {shown(name)}")
    k = prob.names.index(name)
    scalar = np.ndim(values) == 0 and not isinstance(values, (str, bytes))
    vals = values_in_range("values", [values] if scalar else values, prob.lower[k], np.inf)
    for v in vals:
        if not np.isfinite(v) or v < prob.lower[k]:
            raise ValueError(f"values for {name} must be finite and >= {prob.lower[k]}; got {shown(v)}")

    def polish_at(v, x0):
        bounds = list(prob.bounds)
        bounds[k] = (v, v)
        x0 = x0.copy()
        x0[k] = v
        return _polish(prob, x0, maxiter=maxiter, bounds=bounds)

    out = np.empty(vals.size)
    if not continuation:
        for i, v in enumerate(vals):
            out[i] = polish_at(v, result.theta).fun
    else:
        centre = result.theta[k]
        for side in (vals >= centre, vals < centre):
            idx = np.flatnonzero(side)
            previous = result.theta
            for i in idx[np.argsort(np.abs(vals[idx] - centre), kind="stable")]:
                best = min((polish_at(vals[i], x0) for x0 in (result.theta, previous)),
                           key=lambda r: r.fun if np.isfinite(r.fun) else np.inf)
                out[i] = best.fun
                previous = best.x
    return out * prob.delta * prob.n
