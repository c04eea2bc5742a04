"""Compute-optimal recipes of Busbridge et al. (arXiv 2502.08606v2), §5 and App. D.

* ``optimal_teacher_loss``: the teacher cross-entropy L_T* that minimises the
  student's loss at a fixed student size and token budget (§5.2, Fig. 7);
* ``supervised_compute_optimal``: the supervised compute-optimal model size and
  tokens at a budget C = 3 F(N) D (the paper's Chinchilla-style baseline);
* ``compute_optimal_distillation``: Eq. 10 / Eq. 28, the best student tokens,
  teacher size and teacher tokens under a total budget (Eq. 9) in one of the four
  scenarios of Table 2, with N_T, D_S, D_T in a box (the paper's [1e6, 1e17],
  App. D.4.1, by default);
* ``crossover_compute``, ``efficiency_ratio`` and ``distillation_compute_for_loss``:
  when supervised training of the same student is at least as good, and what
  distillation costs relative to it (App. D.5, Figs. 33-34);
* ``decide``: the book's reading of these recipes for one practitioner (which
  scenario applies, distil or train supervised), also ``python -m analysis decide``;
* ``break_even_students``: with a teacher trained for n students
  (``analysis.flops.SharedTeacher``), the smallest n from which distillation beats
  supervised training of the student.

The setting. Every public recipe takes one keyword-only ``setting``, a ``Setting``:
the supervised coefficients (Eq. 1), the distillation coefficients (Eq. 8), the box
``bounds`` = (low, high) for N_T, D_S, D_T (N_S must lie in it too) and the cost
model F(N) (``analysis.flops.CostModel``). The default ``PAPER_SETTING`` is the
paper's: Table 6, ``BOUNDS`` and Eq. 69; laws fitted to other runs (say, small
models) are solved with ``Setting(supervised=..., distillation=..., bounds=...)``.

How the optimum is found. Every budget is treated as "FLOPs <= C": the student's
loss falls with D_S, so the budget binds unless D_S sits at its upper bound (then
spending less is the only feasible choice; the paper's equality constraint has no
solution there). Given the teacher (N_T, D_T), the best D_S is therefore the
largest one the budget allows, which leaves a problem in (N_T, D_T). Each scenario
reduces it further, read from its shares of the teacher's costs (``delta_logits``,
``delta_pretraining`` of Eq. 9), so a new scenario is one declaration:

* no teacher cost (best case): D_S = C / 3F(N_S) and only L_T matters, a 1-D search
  over L_T; the teacher reported is the compute-optimal one reaching L_T*;
* logits only (teacher inference): D_T costs nothing, so the teacher trains to the
  upper bound unless it is the smallest one; two 1-D searches;
* pretraining only: any teacher is dominated by the compute-optimal teacher of equal
  loss, a 1-D search over the teacher's training compute;
* both: nested 1-D searches, over N_T outside and D_T inside.

Answers on an edge. A recipe says when its answer is not an interior optimum of the law:
``DistillationRecipe.at_bounds`` names the variables (N_T, D_S, D_T, or L_T in the best
case) that ended on an edge of the box, ``budget_spent`` is the share of the budget the
recipe uses (below 1 when D_S sits at its upper bound), ``extrapolated`` names the
sizes and token counts more than ``EXTRAPOLATION_FACTOR`` outside the range of the
runs the law was fitted on (``Setting.fitted``), and ``notes`` puts all of it in
sentences. ``TeacherChoice`` (``at_bound``, ``extrapolated``, ``notes``) does the same
for the best teacher, ``Efficiency`` (``at_bounds``, ``extrapolated``, ``notes``) for the
recipe behind ``efficiency_ratio``, and ``find_crossover`` tells a crossover inside the range from "supervised is already
at least as good at its lower end" and "distillation still wins at its upper end".

Every 1-D search is ``analysis.minimise.minimise_1d`` (a coarse grid, then
golden-section or grid-zoom polishing), which cannot leave the bounds; the optima
are tested against a dense brute-force search over the box (tests/test_recipes.py)
to 1e-4 nats.
"""

from __future__ import annotations

import functools
import math
import numbers
from dataclasses import dataclass, field, fields
from types import MappingProxyType
from typing import Mapping

import numpy as np

from analysis._checks import (array_in_range, broadcast, in_range, integer, positive_array, positive_interval,
                              shown)
from analysis.flops import PAPER_COST, CostModel, CostScenario, Scenario, distillation_flops_split
from analysis.laws import (
    PAPER_DISTILLATION,
    PAPER_SUPERVISED,
    DistillationCoefficients,
    SupervisedCoefficients,
    log_distilled_loss,
    supervised_loss,
    supervised_loss_infinite_data,
)
from analysis.minimise import minimise_1d

__all__ = [
    "BOUNDS",
    "DEFAULT_COMPUTE_RANGE",
    "Setting",
    "PAPER_SETTING",
    "TeacherChoice",
    "SupervisedOptimum",
    "DistillationRecipe",
    "Efficiency",
    "Decision",
    "Crossover",
    "PAPER_FITTED_RANGE",
    "EXTRAPOLATION_FACTOR",
    "find_crossover",
    "optimal_teacher_loss",
    "supervised_compute_optimal",
    "compute_optimal_teacher",
    "compute_optimal_distillation",
    "distillation_sweep",
    "minimal_compute",
    "crossover_compute",
    "efficiency_ratio",
    "distillation_compute_for_loss",
    "supervised_tokens_for_loss",
    "decide",
    "DECISION_MARGIN",
    "BreakEven",
    "break_even_students",
    "GivenTeacherRecipe",
    "given_teacher_recipe",
]

#: Bounds on N_T, D_S and D_T used by the paper's solver (App. D.4.1): [1M, 100P].
BOUNDS = (1e6, 1e17)
#: Default range of budgets searched by ``crossover_compute`` (the paper's plots
#: run over 1e20-1e26; the book searches 1e18-1e27).
DEFAULT_COMPUTE_RANGE = (1e18, 1e27)
#: The range of the runs Table 6 was fitted on: ((parameters), (tokens)). Parameters:
#: "143M-12.6B" (§4 of arXiv 2502.08606v2); tokens: from 20 x 143M (the smallest
#: run, M = 20) to the 512B of the longest runs.
PAPER_FITTED_RANGE = ((1.43e8, 1.26e10), (2.86e9, 5.12e11))
#: A size or token count more than this factor outside the fitted range is "extrapolated".
EXTRAPOLATION_FACTOR = 10.0


# ------------------------------------------------------------------ the setting

def _check_coefficients(name: str, value, kind: type) -> None:
    """``value`` must be a ``kind`` whose fields are real scalars (the classes
    accept arrays, which the solver cannot use)."""
    if not isinstance(value, kind):
        raise TypeError(f"{name} must be a {kind.__name__} (analysis.laws); "
                        f"got {type(value).__name__}")
    for f in fields(value):
        v = getattr(value, f.name)
        if not isinstance(v, numbers.Real):
            raise TypeError(f"{name}.{f.name} must be a real number; got {shown(v)}")


@dataclass(frozen=True)
class Setting:
    """What a recipe is solved with: the supervised law's coefficients (Eq. 1), the
    distillation law's (Eq. 8), the box ``bounds`` = (low, high) for N_T, D_S, D_T
    (and N_S), the cost model F(N) of Eq. 9, and ``fitted``, the range of the runs the
    laws were fitted on, ((params low, high), (tokens low, high)), against which a recipe
    reports extrapolation (``None``: no check; the default is the paper's). Checked on construction (a wrong
    type raises ``TypeError``, a bad box ``ValueError``, each naming the argument);
    frozen and hashable, so tables that depend only on it are cached."""

    supervised: SupervisedCoefficients = PAPER_SUPERVISED
    distillation: DistillationCoefficients = PAPER_DISTILLATION
    bounds: tuple[float, float] = BOUNDS
    cost: CostModel = PAPER_COST
    fitted: tuple | None = PAPER_FITTED_RANGE

    def __post_init__(self):
        _check_coefficients("supervised", self.supervised, SupervisedCoefficients)
        _check_coefficients("distillation", self.distillation, DistillationCoefficients)
        object.__setattr__(self, "bounds", positive_interval("bounds", self.bounds))
        if not isinstance(self.cost, CostModel):
            raise TypeError(f"cost must be a CostModel (analysis.flops); got {type(self.cost).__name__}")
        if self.fitted is not None:
            if isinstance(self.fitted, (str, bytes)) or np.shape(self.fitted) != (2, 2):
                raise ValueError("fitted must be None or ((params low, high), (tokens low, high)); "
                                 f"got {shown(self.fitted)}")
            object.__setattr__(self, "fitted", (positive_interval("fitted[0] (parameters)", self.fitted[0]),
                                                positive_interval("fitted[1] (tokens)", self.fitted[1])))

    def extrapolated(self, **values) -> tuple:
        """The names among ``values`` ({name: (kind, value)}, kind "params" or "tokens";
        a value may be an array) that lie (anywhere) more than ``EXTRAPOLATION_FACTOR``
        outside ``fitted``."""
        if self.fitted is None:
            return ()
        out = []
        for name, (kind, value) in values.items():
            lo, hi = self.fitted[0] if kind == "params" else self.fitted[1]
            v = np.asarray(value, dtype=float)
            if np.any(v < lo / EXTRAPOLATION_FACTOR) or np.any(v > hi * EXTRAPOLATION_FACTOR):
                out.append(name)
        return tuple(out)

    @property
    def lo(self) -> float:
        return self.bounds[0]

    @property
    def hi(self) -> float:
        return self.bounds[1]

    @property
    def log_lo(self) -> float:
        return math.log(self.bounds[0])

    @property
    def log_hi(self) -> float:
        return math.log(self.bounds[1])


#: The paper's setting (Table 6, the box of App. D.4.1, F(N) of Eq. 69): every recipe's default.
PAPER_SETTING = Setting()


def _setting(setting) -> Setting:
    if not isinstance(setting, Setting):
        raise TypeError(f"setting must be a Setting (analysis.recipes); got {type(setting).__name__}")
    return setting


# ------------------------------------------------------------------ vectorised core

def _charges(scenario: CostScenario) -> tuple[bool, bool]:
    """(logits charged, pretraining charged): what decides how a problem is reduced."""
    return scenario.delta_logits > 0, scenario.delta_pretraining > 0


def _student_tokens(N_S, C, scenario: CostScenario, N_T, D_T, setting: Setting):
    """Largest D_S the budget allows (Eq. 27 with the teacher's pretraining
    subtracted), *before* applying the bounds; may be <= 0 when infeasible."""
    f_s = setting.cost.forward(N_S)
    f_t = setting.cost.forward(N_T)
    remaining = C - scenario.delta_pretraining * 3.0 * f_t * D_T
    return remaining / (3.0 * f_s + scenario.delta_logits * f_t)


def _log_student_loss(ns, d_s, l_t, setting: Setting):
    """log L_S(N_S, D_S, L_T) of Eq. 8 with the setting's coefficients."""
    return log_distilled_loss(ns, d_s, l_t, setting.distillation, setting.supervised)


def _loss_given_teacher(ns, cc, scenario, log_nt, log_dt, setting: Setting):
    """Student loss with the largest D_S the budget allows, ``inf`` where even
    D_S at its lower bound does not fit; arguments broadcast."""
    n_t, d_t = np.exp(log_nt), np.exp(log_dt)
    d_s = _student_tokens(ns, cc, scenario, n_t, d_t, setting)
    feasible = d_s >= setting.lo * (1 - 1e-12)
    d_s = np.clip(d_s, setting.lo, setting.hi)
    val = np.exp(_log_student_loss(ns, d_s, supervised_loss(n_t, d_t, setting.supervised), setting))
    return np.where(feasible, val, np.inf)


def _max_log_teacher_params(ns, cc, scenario, setting: Setting):
    """Largest log N_T whose cheapest use (logits and/or pretraining on the
    lower-bound number of tokens) still leaves the student the lower-bound number
    of tokens; bisection on the monotone F(N). Returns log_lo where no teacher
    fits (callers see inf losses)."""
    per_token = scenario.delta_logits + 3.0 * scenario.delta_pretraining
    spare = cc - 3.0 * setting.cost.forward(ns) * setting.lo
    if per_token == 0:
        return np.full(np.shape(ns), setting.log_hi)
    a = np.full(np.shape(ns), setting.log_lo)
    b = np.full(np.shape(ns), setting.log_hi)
    fits_hi = per_token * setting.cost.forward(math.exp(setting.log_hi)) * setting.lo <= spare
    for _ in range(60):
        m = 0.5 * (a + b)
        fits = per_token * setting.cost.forward(np.exp(m)) * setting.lo <= spare
        a = np.where(fits, m, a)
        b = np.where(fits, b, m)
    return np.where(fits_hi, setting.log_hi, a)


def _best_teacher_tokens(ns, cc, scenario, log_nt, setting: Setting, *, n_coarse=24):
    """For each (N_S, C, N_T): the best log D_T and the loss (inner problem of
    the pretraining scenarios)."""
    f_t = setting.cost.forward(np.exp(log_nt))
    room = cc - (3.0 * setting.cost.forward(ns) + scenario.delta_logits * f_t) * setting.lo
    with np.errstate(divide="ignore", invalid="ignore"):
        upper = np.log(np.maximum(room, 1e-300) / (scenario.delta_pretraining * 3.0 * f_t))
    upper = np.clip(upper, setting.log_lo, setting.log_hi)

    def inner(y, rows):
        return _loss_given_teacher(ns[rows][:, None], cc[rows][:, None], scenario,
                                   log_nt[rows][:, None], y, setting)

    return minimise_1d(inner, ns.size, setting.log_lo, upper, n_coarse=n_coarse, n_starts=2, tol=1e-4)


def _solve_batch(N_S: np.ndarray, C: np.ndarray, scenario: CostScenario, setting: Setting):
    """Optimal (N_T, D_T, D_S, L_S) for arrays of (N_S, C); no input checks.

    The problem is reduced by what the scenario charges (see the module docstring):
    nothing: D_S = C / 3F(N_S), only L_T matters (1-D in L_T; the teacher is then
    the compute-optimal one reaching L_T*); logits only: D_T costs nothing, so the
    teacher sits at D_T = hi unless it is the smallest (N_T = lo) teacher, two 1-D
    searches; pretraining only: 1-D over the teacher's training compute along the
    supervised frontier; both: 1-D over N_T of the best loss over D_T (nested).
    """
    ns = np.asarray(N_S, dtype=float).ravel()
    cc = np.asarray(C, dtype=float).ravel()
    P = ns.size
    lo, hi, log_lo, log_hi = setting.lo, setting.hi, setting.log_lo, setting.log_hi
    logits, pretraining = _charges(scenario)
    if not (logits or pretraining):
        d_s = np.clip(cc / (3.0 * setting.cost.forward(ns)), lo, hi)
        lt_lo, lt_hi = _teacher_loss_range(setting)

        def objective(x, rows):
            return np.exp(_log_student_loss(ns[rows][:, None], d_s[rows][:, None], np.exp(x), setting))

        x, f = minimise_1d(objective, P, math.log(lt_lo), math.log(lt_hi), n_coarse=48, n_starts=3)
        n_t, d_t = _compute_optimal_teacher_batch(np.exp(x), setting)
        return n_t, d_t, d_s, f

    nt_max = _max_log_teacher_params(ns, cc, scenario, setting)
    if not pretraining:
        def big_data(x, rows):
            return _loss_given_teacher(ns[rows][:, None], cc[rows][:, None], scenario, x, log_hi, setting)

        def small_model(y, rows):
            return _loss_given_teacher(ns[rows][:, None], cc[rows][:, None], scenario, log_lo, y, setting)

        xa, fa = minimise_1d(big_data, P, log_lo, nt_max, n_coarse=32, n_starts=3)
        yb, fb = minimise_1d(small_model, P, log_lo, log_hi, n_coarse=32, n_starts=3)
        use_a = fa <= fb
        log_nt = np.where(use_a, xa, log_lo)
        log_dt = np.where(use_a, log_hi, yb)
        f = np.where(use_a, fa, fb)
    elif not logits:
        # Only (a share of) the teacher's training compute C_T = 3 F(N_T) D_T is
        # charged, and the student's loss depends on the teacher only through L_T, so
        # any teacher is dominated by the compute-optimal one of equal loss: search
        # log C_T, with L_T = L*(C_T) from a table of the supervised frontier.
        share = scenario.delta_pretraining
        log_c, log_n, loss = _supervised_frontier(setting)
        f_s3 = 3.0 * setting.cost.forward(ns)
        upper = np.log(np.maximum(cc - f_s3 * lo, 1e-300) / share)
        upper = np.clip(upper, log_c[0], log_c[-1])

        def objective(u, rows):
            d_s = (cc[rows][:, None] - share * np.exp(u)) / f_s3[rows][:, None]
            feasible = d_s >= lo * (1 - 1e-12)
            l_t = np.interp(u, log_c, loss)
            val = np.exp(_log_student_loss(ns[rows][:, None], np.clip(d_s, lo, hi), l_t, setting))
            return np.where(feasible, val, np.inf)

        u, _ = minimise_1d(objective, P, log_c[0], upper, n_coarse=48, n_starts=3)
        n_t, d_t, _ = _supervised_optimum_batch(np.exp(u), setting)
        d_s = np.clip(_student_tokens(ns, cc, scenario, n_t, d_t, setting), lo, hi)
        f = np.exp(_log_student_loss(ns, d_s, supervised_loss(n_t, d_t, setting.supervised), setting))
        return n_t, d_t, d_s, f
    else:
        def outer(x, rows):
            R, M = x.shape
            r_in = np.repeat(rows, M)
            _, f_in = _best_teacher_tokens(ns[r_in], cc[r_in], scenario, x.ravel(), setting)
            return f_in.reshape(R, M)

        log_nt, f = minimise_1d(outer, P, log_lo, nt_max, n_coarse=24, n_starts=2, tol=1e-4)
        log_dt, f2 = _best_teacher_tokens(ns, cc, scenario, log_nt, setting)
        f = np.minimum(f, f2)
    n_t, d_t = np.exp(log_nt), np.exp(log_dt)
    d_s = np.clip(_student_tokens(ns, cc, scenario, n_t, d_t, setting), lo, hi)
    return n_t, d_t, d_s, f


def _minimal_compute(N_S: float, scenario: CostScenario, setting: Setting) -> float:
    """``minimal_compute`` without input checks."""
    parts = distillation_flops_split(N_S, setting.lo, setting.lo, setting.lo, scenario, **setting.cost.as_kwargs())
    return float(sum(parts.values()))


def minimal_compute(N_S, scenario, *, setting: Setting = PAPER_SETTING) -> float:
    """Smallest budget with a feasible recipe: the student trained on ``bounds[0]``
    tokens and, where the scenario charges them, the logits and pretraining of a
    ``bounds[0]``-parameter teacher trained on ``bounds[0]`` tokens (the lower
    bounds of App. D.4.1). Only ``setting.bounds`` and its cost model matter here."""
    setting = _setting(setting)
    scenario = Scenario.parse(scenario)
    N_S = in_range("N_S", N_S, setting.lo, setting.hi)
    return _minimal_compute(N_S, scenario, setting)


def _check_budget(N_S: float, C: float, scenario: CostScenario, setting: Setting) -> None:
    student_min = 3.0 * float(setting.cost.forward(N_S)) * setting.lo
    if C < student_min:
        raise ValueError(
            f"C={C:.3g} FLOPs is below the student's minimal cost {student_min:.3g} "
            f"(N_S={N_S:.3g} trained on the lower bound of {setting.lo:.3g} tokens)")
    need = _minimal_compute(N_S, scenario, setting)
    if C < need * (1 - 1e-12):
        raise ValueError(
            f"C={C:.3g} FLOPs is too small for scenario {shown(scenario.slug)}: the cheapest "
            f"recipe (student on {setting.lo:.3g} tokens plus the logits/pretraining of a "
            f"{setting.lo:.3g}-parameter teacher trained on {setting.lo:.3g} tokens) costs {need:.3g} FLOPs")


# ------------------------------------------------------------------ teacher choice

@dataclass(frozen=True)
class TeacherChoice:
    """Result of ``optimal_teacher_loss``: the best teacher cross-entropy and the
    student loss it gives (floats, or arrays for array input); ``at_bound`` is True
    (elementwise) where L_T* lies on an end of the searched teacher-loss range, so
    that the true optimum may lie beyond it; ``extrapolated`` names N_S and D_S where
    they (any element) lie more than ``EXTRAPOLATION_FACTOR`` outside the range the law
    was fitted on (``Setting.fitted``); ``notes`` says both in sentences."""

    teacher_loss: float | np.ndarray
    student_loss: float | np.ndarray
    at_bound: bool | np.ndarray = False
    extrapolated: tuple = ()

    @property
    def notes(self) -> tuple:
        """Sentences saying where the answer is not an interior optimum of the fitted law."""
        out = []
        if np.any(self.at_bound):
            out.append("L_T* is on an end of the searched teacher losses; the optimum of the law "
                       "may lie beyond it")
        if self.extrapolated:
            out.append(f"far outside the range the law was fitted on (more than "
                       f"{EXTRAPOLATION_FACTOR:g}x): {', '.join(self.extrapolated)}")
        return tuple(out)


def _teacher_loss_range(setting: Setting):
    """Teacher losses reachable with N_T, D_T in the bounds: [L(hi, hi), L(lo, lo)]."""
    return (float(supervised_loss(setting.hi, setting.hi, setting.supervised)),
            float(supervised_loss(setting.lo, setting.lo, setting.supervised)))


def optimal_teacher_loss(N_S, D_S, teacher_loss_range=None, *, setting: Setting = PAPER_SETTING) -> TeacherChoice:
    """L_T* = argmin_{L_T} L_S(N_S, D_S, L_T) of §5.2 (Fig. 7) and the student loss
    it gives. Broadcasts over arrays of ``N_S`` and ``D_S`` (each in ``setting.bounds``).

    L_T is searched over ``teacher_loss_range`` (default: the losses a teacher with
    N_T, D_T in ``setting.bounds`` can reach, [L(hi, hi), L(lo, lo)]; with the paper's
    defaults ~ [1.269, 7.54]), so this is exactly the best-case scenario of the
    compute-optimal problem.
    """
    setting = _setting(setting)
    ns = array_in_range("N_S", N_S, setting.lo, setting.hi)
    ds = array_in_range("D_S", D_S, setting.lo, setting.hi)
    if teacher_loss_range is None:
        lo, hi = _teacher_loss_range(setting)
    else:
        lo, hi = positive_interval("teacher_loss_range", teacher_loss_range)
    ns_b, ds_b = broadcast(N_S=ns, D_S=ds)
    shape = ns_b.shape
    ns_f, ds_f = ns_b.ravel(), ds_b.ravel()

    def objective(x, rows):
        return np.exp(_log_student_loss(ns_f[rows][:, None], ds_f[rows][:, None], np.exp(x), setting))

    x, f = minimise_1d(objective, ns_f.size, math.log(lo), math.log(hi), n_coarse=48, n_starts=3)
    lt = np.exp(x).reshape(shape)
    ls = f.reshape(shape)
    edge = _on_edge(np.log(lt), math.log(lo), math.log(hi))
    far = setting.extrapolated(N_S=("params", ns_b), D_S=("tokens", ds_b))
    if shape == ():
        return TeacherChoice(float(lt), float(ls), bool(edge), far)
    return TeacherChoice(lt, ls, edge, far)


def _on_edge(x, lo, hi, tol=1e-6):
    """Where ``x`` (log scale) is within ``tol`` of ``lo`` or ``hi``."""
    return (np.abs(x - lo) <= tol) | (np.abs(x - hi) <= tol)


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


def _supervised_objective(C, setting: Setting):
    def objective(x, rows):
        n = np.exp(x)
        d = C[rows][:, None] / (3.0 * setting.cost.forward(n))
        feasible = (d >= setting.lo * (1 - 1e-12)) & (d <= setting.hi * (1 + 1e-12))
        val = supervised_loss(n, np.clip(d, setting.lo, setting.hi), setting.supervised)
        return np.where(feasible, val, np.inf)

    return objective


def _supervised_optimum_batch(C, setting: Setting):
    C = np.asarray(C, dtype=float).ravel()
    x, f = minimise_1d(_supervised_objective(C, setting), C.size, setting.log_lo, setting.log_hi,
                        n_coarse=48, n_starts=3)
    n = np.exp(x)
    return n, C / (3.0 * setting.cost.forward(n)), f


def _supervised_compute_range(setting: Setting):
    """Budgets with a supervised model in the box: [3 F(lo) lo, 3 F(hi) hi]."""
    return (3.0 * float(setting.cost.forward(setting.lo)) * setting.lo,
            3.0 * float(setting.cost.forward(setting.hi)) * setting.hi)


@functools.lru_cache(maxsize=16)
def _supervised_frontier(setting: Setting, n=4001):
    """Table (log C, log N*, L*) of the supervised compute-optimal frontier with
    N, D in the bounds, over ``_supervised_compute_range`` (built once per setting;
    with the paper's setting, linear interpolation in log C errs by < 1e-6 nats)."""
    c = np.geomspace(*_supervised_compute_range(setting), n)
    n_opt, _, loss = _supervised_optimum_batch(c, setting)
    return np.log(c), np.log(n_opt), loss


def supervised_compute_optimal(C, *, setting: Setting = PAPER_SETTING) -> SupervisedOptimum:
    """The model size N* and tokens D* minimising L(N, D) (Eq. 1) s.t.
    3 F(N) D = C (F from Eq. 69), with N and D in ``bounds``.

    ``C`` must lie in [3 F(lo) lo, 3 F(hi) hi]; ~ [5.9e13, 3.0e34] FLOPs for the
    default [1e6, 1e17]. ``distillation`` is unused.
    """
    setting = _setting(setting)
    C = in_range("C", C, *_supervised_compute_range(setting))
    n, d, f = _supervised_optimum_batch(np.array([C]), setting)
    return SupervisedOptimum(compute=C, params=float(n[0]), tokens=float(d[0]), loss=float(f[0]))


def _compute_optimal_teacher_batch(L_T, setting: Setting):
    """For each teacher loss, the (N, D) minimising F(N) D s.t. L(N, D) = L_T
    (App. D.4.3), with N, D in the bounds; D solved from Eq. 1."""
    L_T = np.asarray(L_T, dtype=float).ravel()
    c = setting.supervised
    log_lo, log_hi = setting.log_lo, setting.log_hi
    target = np.power(np.maximum(L_T - c.E, 1e-300), 1.0 / c.gamma)  # A N^-a + B D^-b

    def tokens(log_n, rows):
        rest = target[rows][:, None] - c.A * np.exp(-c.alpha * log_n)
        with np.errstate(divide="ignore", invalid="ignore"):
            log_d = (math.log(c.B) - np.log(rest)) / c.beta
        return np.where(rest > 0, log_d, np.inf)

    def objective(log_n, rows):
        log_d = tokens(log_n, rows)
        ok = (log_d >= log_lo - 1e-9) & (log_d <= log_hi + 1e-9)
        cost = np.log(setting.cost.forward(np.exp(log_n))) + np.where(ok, log_d, 0.0)
        return np.where(ok, cost, np.inf)

    log_n, _ = minimise_1d(objective, L_T.size, log_lo, log_hi, n_coarse=64, n_starts=2, tol=1e-7)
    log_d = tokens(log_n[:, None], np.arange(L_T.size))[:, 0]
    return np.exp(log_n), np.exp(np.clip(log_d, log_lo, log_hi))


def compute_optimal_teacher(teacher_loss, *, setting: Setting = PAPER_SETTING) -> tuple[float, float]:
    """(N_T, D_T) of the cheapest supervised teacher reaching ``teacher_loss``:
    min F(N) D s.t. L(N, D) = L_T (App. D.4.3), with N, D in ``bounds``.
    ``distillation`` is unused."""
    setting = _setting(setting)
    L_T = in_range("teacher_loss", teacher_loss, *_teacher_loss_range(setting))
    n, d = _compute_optimal_teacher_batch(np.array([L_T]), setting)
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

    scenario: CostScenario
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
    at_bounds: tuple = ()
    extrapolated: tuple = ()

    @property
    def compute_used(self) -> float:
        return float(sum(self.compute_split.values()))

    @property
    def budget_spent(self) -> float:
        """Share of the budget the recipe uses (1 unless D_S sits at its upper bound)."""
        return self.compute_used / self.compute

    @property
    def notes(self) -> tuple:
        """Sentences saying where the answer is not an interior optimum of the fitted law."""
        out = []
        if self.at_bounds:
            out.append(f"on the edge of the search box: {', '.join(self.at_bounds)}; the optimum "
                       f"of the law may lie beyond it")
        if self.budget_spent < 1 - 1e-6:
            out.append(f"spends {self.budget_spent:.2%} of the budget ({self.compute_used:.4g} of "
                       f"{self.compute:.4g} FLOPs): D_S is at its upper bound")
        if self.extrapolated:
            out.append(f"far outside the range the law was fitted on (more than "
                       f"{EXTRAPOLATION_FACTOR:g}x): {', '.join(self.extrapolated)}")
        return tuple(out)

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
            "budget_spent": self.budget_spent,
            "at_bounds": list(self.at_bounds),
            "extrapolated": list(self.extrapolated),
            "notes": list(self.notes),
        }


def _sweep(ns_f: np.ndarray, cc_f: np.ndarray, scenario: CostScenario, setting: Setting) -> dict[str, np.ndarray]:
    """The recipe fields (flat arrays) for checked flat arrays of (N_S, C)."""
    for n_s in np.unique(ns_f):
        _check_budget(float(n_s), float(cc_f[ns_f == n_s].min()), scenario, setting)
    n_t, d_t, d_s, loss = _solve_batch(ns_f, cc_f, scenario, setting)
    l_t = supervised_loss(n_t, d_t, setting.supervised)
    if not any(_charges(scenario)):
        n_t, d_t = _compute_optimal_teacher_batch(l_t, setting)
    split = distillation_flops_split(ns_f, d_s, n_t, d_t, scenario, **setting.cost.as_kwargs())
    d_sup = cc_f / (3.0 * setting.cost.forward(ns_f))
    return {
        "student_params": ns_f, "compute": cc_f, "student_loss": loss, "student_tokens": d_s,
        "teacher_params": n_t, "teacher_tokens": d_t, "teacher_loss": l_t,
        "student_training": split["student_training"] * np.ones_like(cc_f),
        "teacher_logits": split["teacher_logits"] * np.ones_like(cc_f),
        "teacher_pretraining": split["teacher_pretraining"] * np.ones_like(cc_f),
        "supervised_loss": supervised_loss(ns_f, d_sup, setting.supervised), "supervised_tokens": d_sup,
    }


def distillation_sweep(N_S, C, scenario, *, setting: Setting = PAPER_SETTING) -> dict[str, np.ndarray]:
    """Vectorised ``compute_optimal_distillation`` over broadcast arrays of
    ``N_S`` and ``C`` (for figures and benchmarks). Returns a dict of arrays with
    the DistillationRecipe field names (the split as three arrays).
    Raises ValueError if any problem is infeasible."""
    setting = _setting(setting)
    scenario = Scenario.parse(scenario)
    ns = array_in_range("N_S", N_S, setting.lo, setting.hi)
    cc = array_in_range("C", C, 1.0, 1e40)
    ns_b, cc_b = broadcast(N_S=ns, C=cc)
    shape = ns_b.shape
    out = _sweep(ns_b.ravel().copy(), cc_b.ravel().copy(), scenario, setting)
    return {k: np.asarray(v, dtype=float).reshape(shape) for k, v in out.items()}


def compute_optimal_distillation(N_S, C, scenario, *, setting: Setting = PAPER_SETTING) -> DistillationRecipe:
    """Eq. 10: the student tokens D_S*, teacher size N_T* and teacher tokens D_T*
    minimising the student loss L_S(N_S, D_S, L(N_T, D_T)) (Eqs. 1, 8) subject to
    the scenario's FLOPs (Eq. 9) <= C, with N_T, D_S, D_T in ``setting.bounds``.

    ``N_S`` in ``setting.bounds`` (parameters); ``C`` in FLOPs, at least
    ``minimal_compute(N_S, scenario, setting=setting)``; ``scenario`` a Scenario, its
    slug or any ``analysis.flops.CostScenario``.
    """
    setting = _setting(setting)
    scenario = Scenario.parse(scenario)
    N_S = in_range("N_S", N_S, setting.lo, setting.hi)
    C = in_range("C", C, 1.0, 1e40)
    r = _sweep(np.array([N_S]), np.array([C]), scenario, setting)
    split = {k: float(r[k][0]) for k in ("student_training", "teacher_logits", "teacher_pretraining")}
    first = {k: float(r[k][0]) for k in r}
    return DistillationRecipe(
        scenario=scenario, student_params=N_S, compute=C,
        student_loss=float(r["student_loss"][0]), student_tokens=float(r["student_tokens"][0]),
        teacher_params=float(r["teacher_params"][0]), teacher_tokens=float(r["teacher_tokens"][0]),
        teacher_loss=float(r["teacher_loss"][0]), compute_split=MappingProxyType(split),
        supervised_loss=float(r["supervised_loss"][0]),
        supervised_tokens=float(r["supervised_tokens"][0]),
        at_bounds=_recipe_edges(first, scenario, setting),
        extrapolated=setting.extrapolated(
            N_S=("params", N_S), N_T=("params", first["teacher_params"]),
            D_S=("tokens", first["student_tokens"]), D_T=("tokens", first["teacher_tokens"])),
    )


def _recipe_edges(r: Mapping, scenario: CostScenario, setting: Setting) -> tuple:
    """The recipe's variables on an edge of the box: "L_T" in the best case (only the
    teacher's loss is chosen there), else N_T, D_S, D_T at ``setting.bounds``."""
    if not any(_charges(scenario)):
        lt_lo, lt_hi = _teacher_loss_range(setting)
        out = ["L_T"] if _on_edge(math.log(r["teacher_loss"]), math.log(lt_lo), math.log(lt_hi), 1e-4) else []
        if _on_edge(math.log(r["student_tokens"]), setting.log_lo, setting.log_hi, 1e-4):
            out.append("D_S")
        return tuple(out)
    names = {"N_T": "teacher_params", "D_S": "student_tokens", "D_T": "teacher_tokens"}
    return tuple(k for k, v in names.items()
                 if _on_edge(math.log(r[v]), setting.log_lo, setting.log_hi, 1e-4))


# ---------------------------------------------------------------- when to distil

@dataclass(frozen=True)
class Crossover:
    """Result of ``find_crossover``: ``compute`` is the budget from which supervised
    training is at least as good, and ``status`` says what it means:

    * ``"inside"``: distillation wins below ``compute`` and supervised from it on;
    * ``"at-or-below-lower-end"``: supervised is already at least as good at the lower
      end of ``compute_range`` (``compute`` is that end; the crossing, if any, is below);
    * ``"above-upper-end"``: distillation still wins at the upper end (``compute`` is
      ``math.inf``).
    """

    compute: float
    status: str
    compute_range: tuple

    @property
    def note(self) -> str:
        lo, hi = self.compute_range
        return {"inside": f"crossover at {self.compute:.4g} FLOPs",
                "at-or-below-lower-end": f"supervised is already at least as good at the lower end "
                                         f"{lo:.4g} FLOPs (the crossover, if any, is below it)",
                "above-upper-end": f"distillation still wins at the upper end {hi:.4g} FLOPs "
                                   f"(no crossover in range)"}[self.status]


def crossover_compute(N_S, scenario, compute_range=DEFAULT_COMPUTE_RANGE, *, points_per_decade=8,
                      tol=0.0, setting: Setting = PAPER_SETTING) -> float:
    """The budget from which supervised training of the student is at least as
    good as compute-optimal distillation: the smallest C in ``compute_range`` such
    that L_sup(C) <= L_dist*(C) + tol at every larger C of the search grid
    (refined by bisection in log C). Returns the lower end of the range if
    supervised is never worse there, and ``math.inf`` if distillation still wins at
    its upper end (``find_crossover`` tells these apart from a crossing inside).
    ``compute_range`` defaults to the paper's scale; choose one that fits another
    setting's box. ``points_per_decade``: an integer in [1, 1000]; ``tol``: nats/token
    in [0, 1]."""
    return find_crossover(N_S, scenario, compute_range, points_per_decade=points_per_decade,
                          tol=tol, setting=setting).compute


def find_crossover(N_S, scenario, compute_range=DEFAULT_COMPUTE_RANGE, *, points_per_decade=8,
                   tol=0.0, setting: Setting = PAPER_SETTING) -> Crossover:
    """``crossover_compute`` with what its answer means (a ``Crossover``)."""
    setting = _setting(setting)
    scenario = Scenario.parse(scenario)
    N_S = in_range("N_S", N_S, setting.lo, setting.hi)
    lo, hi = positive_interval("compute_range", compute_range)
    if hi > 1e40:
        raise ValueError(f"compute_range must lie in (0, 1e40] FLOPs; got {shown(compute_range)}")
    points_per_decade = integer("points_per_decade", points_per_decade, 1, 1000)
    tol = in_range("tol", tol, 0.0, 1.0)
    _check_budget(N_S, lo, scenario, setting)
    n = max(2, int(round(math.log10(hi / lo) * points_per_decade)) + 1)
    grid = np.geomspace(lo, hi, n)

    def gap(cs):
        cs = np.atleast_1d(cs)
        _, _, _, l_dist = _solve_batch(np.full(cs.shape, N_S), cs, scenario, setting)
        l_sup = supervised_loss(N_S, cs / (3.0 * setting.cost.forward(N_S)), setting.supervised)
        return l_sup - l_dist  # <= tol: supervised at least as good

    g = gap(grid)
    ok = g <= tol
    if not ok[-1]:
        return Crossover(math.inf, "above-upper-end", (lo, hi))
    if ok.all():
        return Crossover(lo, "at-or-below-lower-end", (lo, hi))
    last_bad = int(np.flatnonzero(~ok)[-1])
    a, b = math.log(grid[last_bad]), math.log(grid[last_bad + 1])
    for _ in range(3):  # grid bisection: 3 rounds of 32 points, one batch each
        pts = np.linspace(a, b, 33)[1:-1]
        good = gap(np.exp(pts)) <= tol
        bad_idx = np.flatnonzero(~good)
        k = int(bad_idx[-1]) + 1 if bad_idx.size else 0
        a, b = (pts[k - 1] if k > 0 else a), (pts[k] if k < pts.size else b)
    return Crossover(math.exp(b), "inside", (lo, hi))


def _supervised_tokens_for_loss(ns, target_loss, c: SupervisedCoefficients):
    """Eq. 1 solved for D; NaN where ``target_loss`` is at or below the floor."""
    rest = np.power(np.asarray(target_loss, dtype=float) - c.E, 1.0 / c.gamma) - c.A * ns ** (-c.alpha)
    return np.power(c.B / rest, 1.0 / c.beta)


def supervised_tokens_for_loss(N_S, target_loss, *, setting: Setting = PAPER_SETTING):
    """Tokens D with L(N_S, D) = target_loss (Eq. 1 inverted); broadcasts over arrays.
    ``N_S`` > 0; ``target_loss`` must lie above the model-size floor L(N_S, inf)
    (Eq. 35), else ``ValueError`` naming it and the floor (no token count reaches it).
    Only ``setting.supervised`` matters here; D is not limited to the box. Where the
    target is so close to the floor that D overflows a float, ``ValueError`` too."""
    setting = _setting(setting)
    ns, target = broadcast(N_S=positive_array("N_S", N_S), target_loss=positive_array("target_loss", target_loss))
    floor = supervised_loss_infinite_data(ns, setting.supervised)
    below = target <= floor
    if np.any(below):
        i = int(np.flatnonzero(below.ravel())[0])
        raise ValueError(f"target_loss must exceed the model-size floor L(N_S, inf) = "
                         f"{float(floor.flat[i]):.6g} of N_S={float(ns.flat[i]):.3g}; got {shown(float(target.flat[i]))}")
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        d = _supervised_tokens_for_loss(ns, target, setting.supervised)
    if not np.all(np.isfinite(d)):
        i = int(np.flatnonzero(~np.isfinite(d).ravel())[0])
        raise ValueError(f"target_loss={shown(float(target.flat[i]))} is too close to the floor "
                         f"{float(floor.flat[i]):.6g} of N_S={float(ns.flat[i]):.3g}: the tokens needed overflow")
    return d


@dataclass(frozen=True)
class Efficiency:
    """Distillation's cost to reach ``target_loss`` relative to supervised
    training of the same student (App. D.5). Tokens follow Eq. 34:
    D_S + delta_pre D_T for distillation, D for supervised.

    ``at_bounds`` names the variables of the distillation recipe at
    ``distillation_compute`` that sit on an edge of the search box (as in
    ``DistillationRecipe.at_bounds``; "C" when the target is met already at the
    smallest feasible budget); ``extrapolated`` names the sizes and token counts (N_S,
    N_T, D_S, D_T, and D for the supervised run) more than ``EXTRAPOLATION_FACTOR``
    outside ``Setting.fitted``; ``notes`` says both in sentences."""

    scenario: CostScenario
    student_params: float
    target_loss: float
    distillation_compute: float
    supervised_compute: float
    distillation_tokens: float
    supervised_tokens: float
    at_bounds: tuple = ()
    extrapolated: tuple = ()

    @property
    def notes(self) -> tuple:
        """Sentences saying where the answer is not an interior optimum of the fitted law."""
        out = []
        if self.at_bounds:
            out.append(f"the distillation recipe is on the edge of the search box: {', '.join(self.at_bounds)}; "
                       f"the optimum of the law may lie beyond it")
        if self.extrapolated:
            out.append(f"far outside the range the law was fitted on (more than "
                       f"{EXTRAPOLATION_FACTOR:g}x): {', '.join(self.extrapolated)}")
        return tuple(out)

    @property
    def compute_ratio(self) -> float:
        return self.distillation_compute / self.supervised_compute

    @property
    def token_ratio(self) -> float:
        return self.distillation_tokens / self.supervised_tokens


def distillation_compute_for_loss(N_S, target_loss, scenario, *, setting: Setting = PAPER_SETTING):
    """(compute, tokens): for each of the ``target_loss`` values (an array), the
    smallest budget C with L_dist*(C) <= target (compute-optimal distillation of a
    student of ``N_S`` parameters) and the tokens of Eq. 34 (D_S + delta_pre D_T) at
    that C; NaN where the target is unreachable with N_T, D_S, D_T in the box.
    ``efficiency_ratio`` is its one-target form with the supervised comparison."""
    setting = _setting(setting)
    scenario = Scenario.parse(scenario)
    N_S = in_range("N_S", N_S, setting.lo, setting.hi)
    targets = array_in_range("target_loss", target_loss, 0.0, 100.0)
    return _distillation_compute_for_loss(N_S, targets, scenario, setting)


def _distillation_compute_for_loss(N_S: float, targets: np.ndarray, scenario: CostScenario,
                                   setting: Setting, rounds=4, points=32):
    """``distillation_compute_for_loss`` without input checks. L_dist* is
    non-increasing in C under the "<= C" budget, so a grid bisection in log C
    (``rounds`` batches of ``points`` budgets per target) brackets the answer to
    ~(1/points)^rounds of the initial log-range."""
    targets = np.asarray(targets, dtype=float).ravel()
    T = targets.size
    c_lo = _minimal_compute(N_S, scenario, setting)
    c_hi = float(sum(distillation_flops_split(N_S, setting.hi, setting.hi, setting.hi, scenario,
                                         **setting.cost.as_kwargs()).values()))
    a = np.full(T, math.log(c_lo))
    b = np.full(T, math.log(c_hi))
    _, _, _, l_lo = _solve_batch(np.array([N_S]), np.array([c_lo]), scenario, setting)
    _, _, _, l_hi = _solve_batch(np.array([N_S]), np.array([c_hi]), scenario, setting)
    reachable = l_hi[0] <= targets
    already = l_lo[0] <= targets
    for _ in range(rounds):
        t = np.linspace(0.0, 1.0, points + 2)[1:-1]
        pts = a[:, None] + (b - a)[:, None] * t[None, :]  # (T, points)
        _, _, _, lm = _solve_batch(np.full(pts.size, N_S), np.exp(pts.ravel()), scenario, setting)
        good = lm.reshape(T, points) <= targets[:, None]
        # first good point (good is monotone in C up to solver noise)
        any_good = good.any(axis=1)
        k = np.where(any_good, np.argmax(good, axis=1), points)
        new_b = np.where(k < points, pts[np.arange(T), np.minimum(k, points - 1)], b)
        new_a = np.where(k > 0, pts[np.arange(T), np.maximum(k - 1, 0)], a)
        a, b = new_a, new_b
    c = np.where(already, c_lo, np.exp(b))
    n_t, d_t, d_s, _ = _solve_batch(np.full(T, N_S), c, scenario, setting)
    tokens = d_s + scenario.delta_pretraining * d_t
    return np.where(reachable, c, np.nan), np.where(reachable, tokens, np.nan)


def efficiency_ratio(N_S, target_loss, scenario, *, setting: Setting = PAPER_SETTING) -> Efficiency:
    """Compute and tokens that compute-optimal distillation needs to bring a
    student of ``N_S`` parameters to ``target_loss``, and those supervised
    training needs (Figs. 33-34). ``target_loss`` must lie above the floor
    L(N_S, inf) and be reachable by distillation within the bounds."""
    setting = _setting(setting)
    scenario = Scenario.parse(scenario)
    N_S = in_range("N_S", N_S, setting.lo, setting.hi)
    floor = float(supervised_loss_infinite_data(N_S, setting.supervised))
    target = in_range("target_loss", target_loss, 0.0, 100.0)
    if target <= floor:
        raise ValueError(f"target_loss must exceed the model-size floor L(N_S, inf) = {floor:.4f} "
                         f"of N_S={N_S:.3g}; got {shown(target_loss)}")
    d_sup = float(supervised_tokens_for_loss(N_S, target, setting=setting))
    c_sup = 3.0 * float(setting.cost.forward(N_S)) * d_sup
    if not math.isfinite(c_sup):
        raise ValueError(f"target_loss={shown(target)} is too close to the floor {floor:.6g} of N_S={N_S:.3g}: "
                         f"the supervised compute to reach it overflows")
    c_dist, tok = _distillation_compute_for_loss(N_S, np.array([target]), scenario, setting)
    if not np.isfinite(c_dist[0]):
        raise ValueError(f"target_loss={target:.4f} is not reachable by distillation of N_S={N_S:.3g} "
                         f"with N_T, D_S, D_T in [{setting.lo:.3g}, {setting.hi:.3g}] ({scenario.slug})")
    c = float(c_dist[0])
    r = {k: float(v[0]) for k, v in _sweep(np.array([N_S]), np.array([c]), scenario, setting).items()}
    edges = _recipe_edges(r, scenario, setting)
    if c <= _minimal_compute(N_S, scenario, setting) * (1 + 1e-9):
        edges = ("C", *edges)
    far = setting.extrapolated(N_S=("params", N_S), N_T=("params", r["teacher_params"]),
                               D_S=("tokens", r["student_tokens"]), D_T=("tokens", r["teacher_tokens"]),
                               D=("tokens", d_sup))
    return Efficiency(scenario=scenario, student_params=N_S, target_loss=target,
                      distillation_compute=c, supervised_compute=c_sup,
                      distillation_tokens=float(tok[0]), supervised_tokens=d_sup,
                      at_bounds=edges, extrapolated=far)


# ------------------------------------------------------------------ the decision

@dataclass(frozen=True)
class Decision:
    """What ``decide`` recommends: the ``scenario`` that applies, the ``route``
    ("distil" or "train supervised"), the ``gain`` of the compute-optimal
    distilled student over its supervised twin (nats/token, > 0: distillation is
    better) and the ``recipe`` behind it."""

    scenario: CostScenario
    route: str
    gain: float
    recipe: DistillationRecipe


#: Gains of distillation below this many nats/token do not justify it (``decide``).
DECISION_MARGIN = 1e-3


def _check_students(name: str, value, *, integer: bool = True):
    """An integer >= 1 or ``math.inf`` (any number >= 1 when not ``integer``)."""
    try:
        ok = not isinstance(value, bool) and isinstance(value, numbers.Real) and not math.isnan(value) \
            and value >= 1 and (math.isinf(value) or not integer or float(value).is_integer())
    except OverflowError:  # an integer beyond a float (10**400)
        ok = False
    if not ok:
        raise ValueError(f"{name} must be an integer >= 1 or math.inf; got {shown(value)}")
    return value


def decide(N_S, C, teacher_exists: bool, students_per_teacher: int = 1, *,
           margin: float = DECISION_MARGIN, shared_logits: bool = False,
           setting: Setting = PAPER_SETTING) -> Decision:
    """The book's reading of the recipes ("When to distil"): which scenario applies to
    a practitioner who wants a student of ``N_S`` parameters with ``C`` FLOPs, and
    whether to distil.

    * a teacher exists (or is served anyway): its logits must still be paid,
      teacher inference;
    * no teacher, one student: teacher pretraining + inference;
    * no teacher, and it will teach ``students_per_teacher`` = n > 1 students (an
      integer or ``math.inf``): pretraining + inference with the teacher's
      pretraining shared by the n students (``Scenario.shared_by``); each student
      pays its own logits unless ``shared_logits`` (the students distil on the same
      tokens and read one stored copy of the logits).

    The route is "distil" when the compute-optimal distilled student beats its
    supervised twin by more than ``margin`` nats/token, else "train supervised".
    """
    if not isinstance(teacher_exists, (bool, np.bool_)):
        raise ValueError(f"teacher_exists must be True or False; got {shown(teacher_exists)}")
    _check_students("students_per_teacher", students_per_teacher)
    if not isinstance(shared_logits, (bool, np.bool_)):
        raise ValueError(f"shared_logits must be True or False; got {shown(shared_logits)}")
    margin = in_range("margin", margin, 0.0, 1.0)
    if teacher_exists:
        scenario = Scenario.TEACHER_INFERENCE
    elif students_per_teacher == 1:
        scenario = Scenario.TEACHER_PRETRAINING_AND_INFERENCE
    else:
        scenario = Scenario.TEACHER_PRETRAINING_AND_INFERENCE.shared_by(
            students_per_teacher, shared_logits=shared_logits)
    recipe = compute_optimal_distillation(N_S, C, scenario, setting=setting)
    route = "distil" if recipe.student_loss < recipe.supervised_loss - margin else "train supervised"
    return Decision(scenario=scenario, route=route, gain=recipe.supervised_loss - recipe.student_loss,
                    recipe=recipe)


# ------------------------------------------------------- many students, one teacher

@dataclass(frozen=True)
class BreakEven:
    """Result of ``break_even_students``: the smallest number of students ``students``
    (an int, or ``math.inf`` when no number suffices) from which each of them,
    distilled from a teacher trained for all of them (``base`` shared by n), beats its
    supervised twin by more than ``margin`` nats/token at budget ``compute`` per
    student. ``gain`` is that gain at the break-even n (NaN when there is none),
    ``gain_one`` the gain with one student, ``gain_limit`` with infinitely many (the
    scenario's n = inf limit); ``beyond_search`` is True when the limit wins but no
    n up to ``max_students`` does (the answer lies past the search's edge)."""

    student_params: float
    compute: float
    base: Scenario
    shared_logits: bool
    margin: float
    students: float
    gain: float
    gain_one: float
    gain_limit: float
    max_students: int
    beyond_search: bool

    @property
    def scenario(self) -> CostScenario:
        """The shared-teacher scenario at the break-even n (or the n = inf limit)."""
        return self.base.shared_by(self.students, shared_logits=self.shared_logits)


def _gain(N_S: float, C: float, scenario: CostScenario, setting: Setting) -> float:
    """L_sup(C) - L_dist*(C) for one student and budget; -inf where infeasible."""
    if C < _minimal_compute(N_S, scenario, setting) * (1 - 1e-12):
        return -math.inf
    _, _, _, l_dist = _solve_batch(np.array([N_S]), np.array([C]), scenario, setting)
    l_sup = supervised_loss(N_S, C / (3.0 * float(setting.cost.forward(N_S))), setting.supervised)
    return float(l_sup - l_dist[0])


def break_even_students(N_S, C, *, base=Scenario.TEACHER_PRETRAINING_AND_INFERENCE,
                        shared_logits: bool = False, margin: float = DECISION_MARGIN,
                        max_students: int = 10**9, setting: Setting = PAPER_SETTING) -> BreakEven:
    """The smallest integer n >= 1 such that a student of ``N_S`` parameters, given a
    budget of ``C`` FLOPs *per student* and a teacher trained for n students
    (``base.shared_by(n)``: each pays 1/n of the pretraining and its own logits unless
    ``shared_logits``), beats supervised training of the same student on C by more than
    ``margin`` nats/token.

    The student's loss cannot rise with n (a smaller share enlarges the feasible set),
    so n is found by doubling from 1 and integer bisection, one compute-optimal solve
    per step. ``math.inf`` when even the n = inf limit does not win, or when no n up
    to ``max_students`` does (``beyond_search``). ``base`` must charge pretraining.
    """
    setting = _setting(setting)
    try:
        base = Scenario.parse(base)
    except ValueError:
        base = None if isinstance(base, Scenario) else base
    if not isinstance(base, Scenario) or base.delta_pretraining == 0:
        raise ValueError(f"base must be a Table 2 scenario that charges the teacher's pretraining "
                         f"(teacher-pretraining or teacher-pretraining+inference); got {shown(base)}")
    if not isinstance(shared_logits, (bool, np.bool_)):
        raise ValueError(f"shared_logits must be True or False; got {shown(shared_logits)}")
    N_S = in_range("N_S", N_S, setting.lo, setting.hi)
    C = in_range("C", C, 1.0, 1e40)
    margin = in_range("margin", margin, 0.0, 1.0)
    _check_students("max_students", max_students)
    if math.isinf(max_students):
        raise ValueError("max_students must be finite")
    _check_budget(N_S, C, base.shared_by(math.inf, shared_logits=shared_logits), setting)

    def gain(n):
        return _gain(N_S, C, base.shared_by(n, shared_logits=shared_logits), setting)

    g_one, g_limit = gain(1), gain(math.inf)
    result = functools.partial(BreakEven, student_params=N_S, compute=C, base=base,
                               shared_logits=bool(shared_logits), margin=margin, gain_one=g_one,
                               gain_limit=g_limit, max_students=int(max_students))
    if g_one > margin:
        return result(students=1, gain=g_one, beyond_search=False)
    if g_limit <= margin:
        return result(students=math.inf, gain=math.nan, beyond_search=False)
    lo, hi = 1, 2  # gain(lo) <= margin; find hi with gain(hi) > margin
    g_hi = gain(hi)
    while g_hi <= margin:
        if hi >= max_students:
            return result(students=math.inf, gain=math.nan, beyond_search=True)
        lo, hi = hi, min(2 * hi, int(max_students))
        g_hi = gain(hi)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        g_mid = gain(mid)
        if g_mid > margin:
            hi, g_hi = mid, g_mid
        else:
            lo = mid
    return result(students=hi, gain=g_hi, beyond_search=False)


# ------------------------------------------------------------ a real, given teacher

@dataclass(frozen=True)
class GivenTeacherRecipe:
    """Result of ``given_teacher_recipe``: the student size ``student_params`` and tokens
    ``student_tokens`` that minimise the distilled loss ``student_loss`` from a teacher
    that already exists (``teacher_params``, ``teacher_loss``), with at most
    ``max_tokens`` tokens of data and ``compute`` FLOPs (student training plus, when
    ``logits_paid``, the teacher's logits on the student's tokens), the student at most
    ``max_student`` parameters.

    ``data_binds``: the student uses every token there is; ``size_binds``: the student
    sits at ``max_student``; ``ratio_binds``: at the fewest tokens per parameter allowed
    (``min_tokens_per_param``); ``on_edge``: it sits at the box's lower bound (an answer on
    the edge of the search). The baselines: ``twin_loss``, the same student trained with
    supervision on the same data cap and budget (D = min(max_tokens, C / 3F(N_S))), and
    ``supervised_params``, ``supervised_tokens``, ``supervised_loss``, the best
    supervised model under the same cap, budget and size limit. ``gain`` = supervised
    loss - student loss (> 0: distillation beats the best supervised model)."""

    teacher_params: float
    teacher_loss: float
    max_tokens: float
    compute: float
    max_student: float
    logits_paid: bool
    student_params: float
    student_tokens: float
    student_loss: float
    compute_used: float
    data_binds: bool
    size_binds: bool
    ratio_binds: bool
    on_edge: bool
    twin_loss: float
    supervised_params: float
    supervised_tokens: float
    supervised_loss: float

    @property
    def gain(self) -> float:
        return self.supervised_loss - self.student_loss

    @property
    def tokens_per_param(self) -> float:
        return self.student_tokens / self.student_params


#: Fewest tokens per parameter ``given_teacher_recipe`` lets a student (or its supervised
#: baseline) see: below one token per parameter both laws are far outside the runs they
#: were fitted on, and their optima there are artefacts ("When to distil").
MIN_TOKENS_PER_PARAM = 1.0


def given_teacher_recipe(teacher_params, teacher_loss, max_tokens, C, *, max_student=None,
                         logits_paid: bool = True, min_tokens_per_param: float = MIN_TOKENS_PER_PARAM,
                         setting: Setting = PAPER_SETTING) -> GivenTeacherRecipe:
    """The best student for a teacher that already exists: minimise L_S(N_S, D_S, L_T)
    (Eq. 8) over the student size N_S in [``setting.bounds[0]``, ``max_student``], with
    D_S = min(``max_tokens``, C / (3 F(N_S) + F(N_T))) (Eq. 9 with only the logits
    charged; ``logits_paid=False``: logits already stored, D_S = min(max_tokens, C / 3F(N_S))).
    The student loss falls with D_S, so it uses every token the cap and the budget allow,
    which leaves a 1-D search over log N_S (``analysis.minimise.minimise_1d``).

    ``teacher_params`` (N_T, parameters) and ``max_tokens`` in ``setting.bounds``;
    ``teacher_loss`` (L_T, nats/token on the law's data) in the range a teacher in the
    box can reach; ``C`` at least the cost of the smallest student on the lower-bound
    number of tokens; ``max_student`` defaults to the box's upper bound. The teacher's
    own training is sunk and not charged; only L_T matters (the paper, Fig. 3b). The
    supervised baselines solve the same problem with Eq. 1 (no logits). Students (and
    supervised models) see at least ``min_tokens_per_param`` tokens per parameter
    (``ratio_binds``: the optimum sits on that limit), which caps their size at the
    largest N with D(N) >= min_tokens_per_param N."""
    setting = _setting(setting)
    N_T = in_range("teacher_params", teacher_params, setting.lo, setting.hi)
    L_T = in_range("teacher_loss", teacher_loss, *_teacher_loss_range(setting))
    D_max = in_range("max_tokens", max_tokens, setting.lo, setting.hi)
    n_max = setting.hi if max_student is None else in_range("max_student", max_student, setting.lo, setting.hi)
    if not isinstance(logits_paid, (bool, np.bool_)):
        raise ValueError(f"logits_paid must be True or False; got {shown(logits_paid)}")
    f_t = float(setting.cost.forward(N_T)) if logits_paid else 0.0
    need = (3.0 * float(setting.cost.forward(setting.lo)) + f_t) * setting.lo
    m = in_range("min_tokens_per_param", min_tokens_per_param, 0.0, 1e6)
    C = in_range("C", C, need, 1e40)
    if D_max < m * setting.lo:
        raise ValueError(f"max_tokens={D_max:.3g} gives even the smallest student ({setting.lo:.3g} "
                         f"parameters) fewer than min_tokens_per_param={m:g} tokens per parameter")

    def tokens(log_n, per_token_extra):
        d = C / (3.0 * setting.cost.forward(np.exp(log_n)) + per_token_extra)
        return np.minimum(d, D_max)

    def ratio_cap(per_token_extra):
        """Largest log N with tokens(log N) >= m N (bisection; tokens falls, m N rises)."""
        a, b = setting.log_lo, setting.log_hi
        if m == 0 or tokens(b, per_token_extra) >= m * math.exp(b):
            return b
        if tokens(a, per_token_extra) < m * math.exp(a):
            raise ValueError(f"C={C:.3g} FLOPs gives even the smallest student fewer than "
                             f"min_tokens_per_param={m:g} tokens per parameter")
        for _ in range(80):
            mid = 0.5 * (a + b)
            a, b = (mid, b) if tokens(mid, per_token_extra) >= m * math.exp(mid) else (a, mid)
        return a

    log_lo = setting.log_lo
    cap_d, cap_s = ratio_cap(f_t), ratio_cap(0.0)
    log_hi, log_hi_s = min(math.log(n_max), cap_d), min(math.log(n_max), cap_s)

    def distilled(x, rows):
        d = tokens(x, f_t)
        val = np.exp(_log_student_loss(np.exp(x), np.clip(d, setting.lo, setting.hi), L_T, setting))
        return np.where(d >= setting.lo * (1 - 1e-12), val, np.inf)

    def supervised(x, rows):
        d = tokens(x, 0.0)
        val = supervised_loss(np.exp(x), np.clip(d, setting.lo, setting.hi), setting.supervised)
        return np.where(d >= setting.lo * (1 - 1e-12), val, np.inf)

    def solve(objective, upper):
        if upper - log_lo < 1e-12:
            return np.array([log_lo]), objective(np.array([[log_lo]]), None)[0]
        return minimise_1d(objective, 1, log_lo, upper, n_coarse=64, n_starts=3, tol=1e-6)

    x, f = solve(distilled, log_hi)
    xs, fs = solve(supervised, log_hi_s)
    n_s, n_sup = float(np.exp(x[0])), float(np.exp(xs[0]))
    d_s, d_sup = float(tokens(x[0], f_t)), float(tokens(xs[0], 0.0))
    twin = float(supervised_loss(n_s, float(tokens(x[0], 0.0)), setting.supervised))
    near = 1e-3  # in log N: within 0.1% of a bound
    return GivenTeacherRecipe(
        teacher_params=N_T, teacher_loss=L_T, max_tokens=D_max, compute=C, max_student=n_max,
        logits_paid=bool(logits_paid), student_params=n_s, student_tokens=d_s, student_loss=float(f[0]),
        compute_used=(3.0 * float(setting.cost.forward(n_s)) + f_t) * d_s,
        data_binds=bool(d_s >= D_max * (1 - 1e-9)),
        size_binds=bool(max_student is not None and x[0] >= math.log(n_max) - near),
        ratio_binds=bool(cap_d < math.log(n_max) and x[0] >= cap_d - near),
        on_edge=bool(x[0] <= log_lo + near or (max_student is None and x[0] >= setting.log_hi - near)),
        twin_loss=twin, supervised_params=n_sup, supervised_tokens=d_sup, supervised_loss=float(fs[0]))
