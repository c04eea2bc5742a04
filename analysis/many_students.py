"""Many students per teacher: the tables behind the abstract's claim and its verdict.

The abstract of Busbridge et al. (arXiv 2502.08606v2) says that "when many students are
to be distilled, or a teacher already exists, distillation outperforms supervised
pretraining until a compute level which grows predictably with student size". With a
teacher trained for n students (``analysis.flops.SharedTeacher``: each pays 1/n of the
pretraining and its own logits; n = inf is a teacher that already exists) this module
computes

* ``break_even_table``: the break-even number of students (``break_even_students``)
  per student size and budget;
* ``crossover_table``: the crossover compute (``crossover_compute``) per student size
  and number of students;
* ``gain_sweep``: supervised minus distilled loss on a grid of budgets, per size and n;
* ``abstract_claim``: the claim tested on those tables, with the verdict rule in its
  docstring.

The tables take a minute on two cores, so ``scripts/make_recipe_data.py`` stores them in
``data/recipes/`` (``students_*.csv``) and the chapter loads them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from analysis.flops import Scenario
from analysis._checks import frame, in_range, integer, positive_interval, shown, values_in_range
from analysis.recipes import (
    DECISION_MARGIN,
    DEFAULT_COMPUTE_RANGE,
    PAPER_SETTING,
    Setting,
    break_even_students,
    crossover_compute,
    _check_students,
    _setting,
    distillation_sweep,
)

__all__ = [
    "PAPER_STUDENTS",
    "STUDENT_COUNTS",
    "BREAK_EVEN_BUDGETS",
    "shared",
    "break_even_table",
    "crossover_table",
    "gain_sweep",
    "ClaimVerdict",
    "abstract_claim",
]

#: The student sizes of the paper's Figs. 17-34 (App. D.4).
PAPER_STUDENTS = (300e6, 500e6, 1e9, 3e9, 5e9, 10e9, 30e9, 50e9)
#: Numbers of students sharing one teacher (inf: the teacher already exists).
STUDENT_COUNTS = (1, 4, 16, 64, 256, 1024, math.inf)
#: Budgets per student of the break-even table: the paper's plotted range 1e20-1e26.
BREAK_EVEN_BUDGETS = tuple(10.0 ** k for k in range(20, 27))


def shared(n, *, shared_logits: bool = False):
    """Teacher pretraining + inference with the teacher shared by ``n`` students."""
    _check_students("n", n)
    return Scenario.TEACHER_PRETRAINING_AND_INFERENCE.shared_by(n, shared_logits=shared_logits)


def _counts(counts) -> list:
    """``counts`` after checking it is a non-empty sequence of integers >= 1 or ``math.inf``."""
    if isinstance(counts, (str, bytes)) or np.ndim(counts) != 1 or len(counts) == 0:
        raise ValueError(f"counts must be a non-empty sequence of integers >= 1 or math.inf; got {shown(counts)}")
    for n in counts:
        _check_students("counts", n)
    return list(counts)


def break_even_table(students=PAPER_STUDENTS, budgets=BREAK_EVEN_BUDGETS, *, margin=DECISION_MARGIN,
                     setting: Setting = PAPER_SETTING) -> pd.DataFrame:
    """One row per (student size, budget per student): the break-even number of students
    (``inf`` where none), the gains with one, the break-even number and infinitely many
    students, whether the answer lies beyond the search, and the student's tokens per
    parameter D_S / N_S at the break-even n (or with infinitely many students)."""
    setting = _setting(setting)
    students = values_in_range("students", students, setting.lo, setting.hi)
    budgets = values_in_range("budgets", budgets, 1.0, 1e40)
    rows = []
    for n_s in students:
        for c in budgets:
            b = break_even_students(n_s, c, margin=margin, setting=setting)
            d_s = distillation_sweep(n_s, c, b.scenario, setting=setting)["student_tokens"].item()
            rows.append({"student_params": n_s, "compute": c, "students": b.students, "gain": b.gain,
                         "gain_one": b.gain_one, "gain_limit": b.gain_limit,
                         "beyond_search": b.beyond_search, "tokens_per_param": d_s / n_s})
    return pd.DataFrame(rows)


def crossover_table(students=PAPER_STUDENTS, counts=STUDENT_COUNTS, compute_range=DEFAULT_COMPUTE_RANGE, *,
                    margin=DECISION_MARGIN, setting: Setting = PAPER_SETTING) -> pd.DataFrame:
    """One row per (student size, number of students n): ``crossover_compute`` over
    ``compute_range`` with ``tol=margin``, the smallest budget from which distillation
    never beats supervised training by more than ``margin`` nats/token (the margin of
    ``decide`` and ``break_even_students``; its lower end: distillation never wins by
    that much; ``inf``: it still does at the upper end)."""
    setting = _setting(setting)
    students = values_in_range("students", students, setting.lo, setting.hi)
    counts = _counts(counts)
    margin = in_range("margin", margin, 0.0, 1.0)
    return pd.DataFrame([{"student_params": n_s, "students": n,
                          "crossover_compute": crossover_compute(n_s, shared(n), compute_range, tol=margin,
                                                                 setting=setting)}
                         for n_s in students for n in counts])


def gain_sweep(students=PAPER_STUDENTS, counts=STUDENT_COUNTS, budgets=np.logspace(18, 27, 91), *,
               setting: Setting = PAPER_SETTING) -> pd.DataFrame:
    """Supervised minus compute-optimal distilled loss (nats/token, > 0: distillation
    wins) and the student's tokens per parameter, per (size, n, budget)."""
    setting = _setting(setting)
    ns, cc = np.meshgrid(values_in_range("students", students, setting.lo, setting.hi),
                         values_in_range("budgets", budgets, 1.0, 1e40), indexing="ij")
    counts = _counts(counts)
    frames = []
    for n in counts:
        out = distillation_sweep(ns, cc, shared(n), setting=setting)
        frames.append(pd.DataFrame({
            "student_params": ns.ravel(), "students": n, "compute": cc.ravel(),
            "gain": (out["supervised_loss"] - out["student_loss"]).ravel(),
            "tokens_per_param": (out["student_tokens"] / ns).ravel()}))
    return pd.concat(frames, ignore_index=True)


@dataclass(frozen=True)
class ClaimVerdict:
    """The abstract's claim for one number of students ``students`` (see
    ``abstract_claim``). Sizes (parameters) whose crossover C* lies inside the searched
    range: ``in_range``; above its upper end: ``beyond`` (of which ``beyond_loses`` lose
    to supervised training somewhere below that end and win again at it); at its lower
    end, where distillation never wins: ``never_wins``. ``wins_below``: distillation is
    not worse at any budget below each in-range C* (its smallest gain there,
    ``min_gain_below``); ``grows``: C* increases with size (``decreasing_at``: the sizes
    whose C* is not above the next smaller one's, or that never win); ``slope`` and
    ``max_residual_decades``: the power law C* = k N_S^slope fitted to the in-range sizes
    and its worst miss (decades); ``local_slopes``: d log C* / d log N_S between
    neighbouring in-range sizes; ``holds``: all three parts of the rule."""

    students: float
    in_range: tuple
    beyond: tuple
    beyond_loses: tuple
    never_wins: tuple
    wins_below: bool
    min_gain_below: float
    grows: bool
    decreasing_at: tuple
    slope: float
    max_residual_decades: float
    local_slopes: tuple
    predictable: bool
    holds: bool


def abstract_claim(cross: pd.DataFrame, sweep: pd.DataFrame, *, counts=None, min_sizes: int = 3,
                   solver_tol: float = 1e-4, residual_decades: float = math.log10(2.0),
                   compute_range=DEFAULT_COMPUTE_RANGE) -> list[ClaimVerdict]:
    """The abstract's claim, "distillation outperforms supervised pretraining until a
    compute level which grows predictably with student size", tested for each number of
    students in ``counts`` (default: every n of ``cross``) on a ``crossover_table`` and a
    ``gain_sweep`` over the same sizes.

    Verdict rule, for one n: the claim *holds* when

    1. *outperforms until*: at every budget of the sweep below each in-range crossover
       C*, distillation is not worse than supervised training (gain >= -``solver_tol``,
       the recipes' tested accuracy); a size whose C* lies beyond the range cannot test
       this and is reported in ``beyond`` / ``beyond_loses`` only;
    2. *a compute level that grows with student size*: C* is strictly increasing in N_S
       over the sizes, a C* beyond the range counting as larger than any inside it and one
       at its lower end (distillation never wins) breaking the claim for that size; at
       least ``min_sizes`` sizes in range;
    3. *predictably*: a power law C* = k N_S^slope fitted by least squares in log space
       to the in-range sizes misses none of them by more than ``residual_decades``
       (default a factor of 2).
    """
    frame("cross", cross, ("students", "student_params", "crossover_compute"))
    frame("sweep", sweep, ("students", "student_params", "compute", "gain"))
    min_sizes = integer("min_sizes", min_sizes, 2)
    solver_tol = in_range("solver_tol", solver_tol, 0.0, 1.0)
    residual_decades = in_range("residual_decades", residual_decades, 0.0, 10.0)
    lo, _ = positive_interval("compute_range", compute_range)
    if counts is None:
        counts = list(dict.fromkeys(cross.students))
    else:
        counts = _counts(counts)
        absent = [n for n in counts if not (cross.students == n).any() or not (sweep.students == n).any()]
        if absent:
            raise ValueError(f"counts must be numbers of students of both tables "
                             f"({', '.join(map(str, dict.fromkeys(cross.students)))}); got {shown(absent)}")
    out = []
    for n in counts:
        rows = cross[cross.students == n].sort_values("student_params")
        c = rows.crossover_compute.to_numpy(float)
        sizes = rows.student_params.to_numpy(float)
        at_lo = c <= lo * (1 + 1e-9)
        inf = np.isinf(c)
        inside = ~at_lo & ~inf

        def gains(n_s, below=math.inf):
            s = sweep[(sweep.students == n) & np.isclose(sweep.student_params, n_s) & (sweep.compute < below)]
            return s.gain.to_numpy(float)

        below = [gains(n_s, c_star) for n_s, c_star in zip(sizes[inside], c[inside])]
        min_gain = min((float(g.min()) for g in below if g.size), default=math.nan)
        wins_below = bool(inside.any()) and not (min_gain < -solver_tol)
        beyond_loses = tuple(float(n_s) for n_s in sizes[inf] if (gains(n_s) < -solver_tol).any())
        order = np.where(inf, np.inf, c)
        decreasing = tuple(float(sizes[k + 1]) for k in range(sizes.size - 1)
                           if not order[k + 1] > order[k] and not (inf[k] and inf[k + 1]))
        decreasing += tuple(float(x) for x in sizes[at_lo] if float(x) not in decreasing)
        grows = not decreasing and int(inside.sum()) >= min_sizes
        x, y = np.log10(sizes[inside]), np.log10(c[inside])
        if x.size >= 2:
            slope, icept = np.polyfit(x, y, 1)
            resid = float(np.max(np.abs(y - (slope * x + icept))))
            local = tuple(float(v) for v in np.diff(y) / np.diff(x))
        else:
            slope, resid, local = math.nan, math.nan, ()
        predictable = bool(resid <= residual_decades)
        out.append(ClaimVerdict(
            students=n, in_range=tuple(float(v) for v in sizes[inside]),
            beyond=tuple(float(v) for v in sizes[inf]), beyond_loses=beyond_loses,
            never_wins=tuple(float(v) for v in sizes[at_lo]), wins_below=wins_below,
            min_gain_below=min_gain, grows=grows, decreasing_at=decreasing, slope=float(slope),
            max_residual_decades=resid, local_slopes=local, predictable=predictable,
            holds=bool(wins_below and grows and predictable)))
    return out
