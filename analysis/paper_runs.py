"""The paper's own runs: Eq. 8 against the 354 distillation runs of its Fig. 1.

Busbridge et al. (arXiv 2502.08606v2) released no runs; Li et al. 2026 read 354 of the
697 distillation runs off the paper's Fig. 1 (``analysis.data.load_fig1_points``). This
module holds what the chapter "The paper's own runs" computes from them:

* **data checks** (``dominance_pairs``, ``repeats``, ``budget_ratios``, ``quanta``,
  ``students_beating_teachers``): the orderings that must hold between runs, repeated
  inputs, the precision of each column;
* **errors of a coefficient set** on the runs (``relative_errors``, ``error_summary``);
* **the refit** (``fit_points`` with the paper's 216,000-start grid and ``FIT_SEARCH``)
  and the **diagnosis** (``refit_subset``: one coefficient, or a pair, refitted with the
  rest held at Table 6);
* the **combinations** of coefficients the runs determine (``COMBINATIONS``);
* the **best teacher** of each student group, in the data and under a law
  (``best_teachers``);
* the **conclusions** of the Recipes chapters as declarations (``CONCLUSIONS``), each
  evaluated under any distillation coefficients (``evaluate_conclusions``).

The supervised law stays at Table 6 throughout, as in the paper's own fit (App. F.2):
the runs carry no supervised losses to test it with.
"""

from __future__ import annotations

import itertools
import math
import warnings
from dataclasses import dataclass, replace
from types import MappingProxyType
from typing import Callable

import numpy as np
import pandas as pd

from analysis import fit as F
from analysis._checks import _float_array, choice, declaration, frame, instance, integer, positive_array, shown
from analysis import recipes as R
from analysis.flops import Scenario
from analysis.laws import (
    PAPER_DISTILLATION,
    PAPER_SUPERVISED,
    DistillationCoefficients,
    SupervisedCoefficients,
    distilled_loss,
    supervised_loss,
    supervised_loss_infinite_data,
)

__all__ = [
    "COEFFICIENT_NAMES",
    "FIT_SEARCH",
    "EXTRAPOLATION_THRESHOLD",
    "COMBINATIONS",
    "Conclusion",
    "CONCLUSIONS",
    "dominance_pairs",
    "repeats",
    "budget_ratios",
    "quanta",
    "students_beating_teachers",
    "relative_errors",
    "error_summary",
    "fit_points",
    "evaluate_points",
    "refit_subset",
    "subset_refits",
    "best_teachers",
    "evaluate_conclusions",
]

#: The coefficients of Eq. 8 in the order of ``DistillationCoefficients``.
COEFFICIENT_NAMES = ("A", "B", "alpha", "beta", "gamma", "c0", "c1", "f1", "d1")
_LOG_COEFFICIENTS = ("A", "B", "d1")  # searched in log space (App. F.2)

#: Search of the stored refit: four times the distillation law's default number of
#: descended starts and every distinct candidate polished to convergence (the default
#: search stops at a point of the same valley with a slightly higher objective; see the
#: chapter).
FIT_SEARCH = replace(F.DISTILLATION_SEARCH, n_batched=8192, n_random=2048, n_polish=64, n_final=64)

#: The paper's Fig. 1 fits on the runs with L_S above 2.3 nats and extrapolates to the rest.
EXTRAPOLATION_THRESHOLD = 2.3


def _columns(points: pd.DataFrame, extra=()):
    """The runs' N_S, D_S, L_T, L_S after checking ``points`` is a frame of runs
    (``analysis.data.load_fig1_points``) with those columns (and ``extra``), finite and positive."""
    frame("points", points, ("N_S", "D_S", "L_T", "L_S", *extra))
    return tuple(positive_array(f"points[{shown(c)}]", points[c].to_numpy(float)) for c in ("N_S", "D_S", "L_T", "L_S"))


# ------------------------------------------------------------------------ data checks


def dominance_pairs(points: pd.DataFrame) -> pd.DataFrame:
    """Every pair of runs with the same teacher loss where run ``j`` has at least the
    student size and the tokens of run ``i`` (and more of one), both students above their
    teacher. Such a student must not end worse: ``excess = L_S[j] - L_S[i]`` > 0 is a
    violation. Students below their teacher are left out: there more tokens bring the
    student back up to the teacher (the paper's App. E.4)."""
    n, d, t, s = _columns(points)
    i, j = np.meshgrid(np.arange(n.size), np.arange(n.size), indexing="ij")
    keep = ((t[i] == t[j]) & (n[j] >= n[i]) & (d[j] >= d[i]) & ((n[j] > n[i]) | (d[j] > d[i]))
            & (s[i] > t[i]) & (s[j] > t[j]))
    i, j = i[keep], j[keep]
    label = points["size_label"].to_numpy() if "size_label" in points else n
    return pd.DataFrame({
        "row_i": points.index.to_numpy()[i], "row_j": points.index.to_numpy()[j],
        "L_T": t[i], "size_i": label[i], "D_S_i": d[i], "L_S_i": s[i],
        "size_j": label[j], "D_S_j": d[j], "L_S_j": s[j], "excess": s[j] - s[i],
    })


def repeats(points: pd.DataFrame) -> pd.DataFrame:
    """Groups of runs with identical (N_S, D_S, L_T): their count and the spread of L_S
    (nats), the closest thing to a replicate the table holds."""
    _columns(points)
    g = points.groupby(["N_S", "D_S", "L_T"])["L_S"]
    out = g.agg(runs="count", spread=lambda x: float(x.max() - x.min()))
    return out[out["runs"] > 1].reset_index()


def budget_ratios(points: pd.DataFrame) -> pd.DataFrame:
    """Per student size: its distillation budgets and D_S / N_total (Table 13's total
    parameter count), the tokens per parameter in the convention the digitised budgets
    follow most closely."""
    _columns(points, ("size_label", "N_S_total"))
    rows = []
    for label, grp in points.groupby("size_label", sort=False):
        n_total = float(grp["N_S_total"].iloc[0])
        for d in sorted(grp["D_S"].unique()):
            rows.append({"size_label": label, "N_S": float(grp["N_S"].iloc[0]), "D_S": d,
                         "runs": int((grp["D_S"] == d).sum()), "D_S / N_total": d / n_total,
                         "D_S / N_S": d / float(grp["N_S"].iloc[0])})
    return pd.DataFrame(rows).sort_values(["N_S", "D_S"]).reset_index(drop=True)


def _quantum(values: np.ndarray) -> float:
    """The largest power of ten of which every value is an integer multiple."""
    values = np.asarray(values, dtype=float)
    for k in range(15, -10, -1):
        q = 10.0 ** k
        if np.all(np.round(values / q) >= 1) and np.all(np.abs(values / q - np.round(values / q)) < 1e-6):
            return q
    return 0.0


def quanta(points: pd.DataFrame) -> pd.DataFrame:
    """Per digitised column: its step (the largest power of ten every value is a multiple
    of), the number of distinct values, and the largest relative half-step (the worst
    rounding a value can carry)."""
    _columns(points)
    rows = []
    for col in ("D_S", "L_T", "L_S"):
        v = points[col].to_numpy(float)
        q = _quantum(v)
        rows.append({"column": col, "step": q, "distinct values": int(np.unique(v).size),
                     "smallest value": float(v.min()), "largest relative half-step": 0.5 * q / v.min()})
    return pd.DataFrame(rows).set_index("column")


def students_beating_teachers(points: pd.DataFrame) -> pd.DataFrame:
    """Runs whose student ends below its teacher (L_S < L_T). Eq. 8 gives L_S >= L_T for any
    coefficients, so it misses each of them by at least log(L_T / L_S) in log-loss."""
    n, d, t, s = _columns(points)
    below = s < t
    out = points.loc[below].copy()
    out["least |log error| of Eq. 8"] = np.log(t[below] / s[below])
    return out


# ------------------------------------------------------------------ errors of a law


def relative_errors(points: pd.DataFrame, distillation: DistillationCoefficients = PAPER_DISTILLATION,
                    supervised=PAPER_SUPERVISED) -> np.ndarray:
    """Predicted over observed student loss, minus one, for every run."""
    n, d, t, s = _columns(points)
    instance("distillation", distillation, DistillationCoefficients, " (analysis.laws)")
    instance("supervised", supervised, SupervisedCoefficients, " (analysis.laws)")
    return np.asarray(distilled_loss(n, d, t, distillation, supervised), dtype=float) / s - 1


def error_summary(points: pd.DataFrame, errors, by: str | None = "size_label") -> pd.DataFrame:
    """Runs, mean error, mean and largest |error|, RMS and the share of runs within 1%,
    per value of column ``by`` (sorted by student size) and over all runs."""
    _columns(points)
    if by is not None:
        choice("by", by, points.columns)
    errors = _float_array("errors", errors, "one finite number per run")
    if errors.shape != (len(points),) or not np.all(np.isfinite(errors)):
        raise ValueError(f"errors must hold one finite number per run of points ({len(points)}); "
                         f"got shape {errors.shape}")
    e = pd.Series(errors, index=points.index)

    def stats(x):
        return pd.Series({"runs": int(x.size), "mean": x.mean(), "mean |error|": x.abs().mean(),
                          "RMS": float(np.sqrt((x ** 2).mean())), "max |error|": x.abs().max(),
                          "within 1%": float((x.abs() <= 0.01).mean())})

    parts = []
    if by is not None:
        order = points.groupby(by)["N_S"].first().sort_values().index
        parts = [stats(e[points[by] == key]).rename(key) for key in order]
    parts.append(stats(e).rename("all runs"))
    return pd.DataFrame(parts)


# ------------------------------------------------------------------ refit and diagnosis


def fit_points(points: pd.DataFrame, *, fixed=None, grid=F.PAPER_DISTILLATION_GRID,
               search: F.Search = FIT_SEARCH) -> F.FitResult:
    """Eq. 8 fitted to ``points`` by the paper's procedure (App. F.2: Huber, delta = 1e-4,
    log residuals, grid + L-BFGS-B) with the supervised law at Table 6 and ``search``;
    ``fixed`` ({coefficient: value}) holds coefficients (``analysis.fit.Law.holding``)."""
    n, d, t, s = _columns(points)
    instance("search", search, F.Search, " (analysis.fit)")
    with warnings.catch_warnings():
        # Fig. 1 holds students that beat their teachers, which Eq. 8 cannot express: known,
        # counted by ``students_beating_teachers`` and discussed in the chapter, so not warned
        # here on every refit; the diagnostic stays in the result's ``diagnostics``.
        warnings.filterwarnings("ignore", message=r".*inexpressible", category=F.FitWarning)
        return F.fit_distillation(n, d, t, s, supervised=PAPER_SUPERVISED, grid=grid, fixed=fixed,
                                  search=search)


def evaluate_points(points: pd.DataFrame, coefficients: DistillationCoefficients) -> F.FitResult:
    """The ``FitResult`` of Eq. 8 at ``coefficients`` on ``points`` without a search (the
    problem of ``fit_points``: Table 6's supervised law, delta = 1e-4, log residuals), for
    stored refits, whose bootstrap and profiles then start from exactly the stored point."""
    n, d, t, s = _columns(points)
    c = instance("coefficients", coefficients, DistillationCoefficients, " (analysis.laws)").as_dict()
    theta = {f"log_{k}" if k in _LOG_COEFFICIENTS else k: float(np.log(c[k])) if k in _LOG_COEFFICIENTS else c[k]
             for k in COEFFICIENT_NAMES}
    return F.evaluate(F.DISTILLATION, theta, N_S=n, D_S=d, L_T=t, L_S=s, supervised=PAPER_SUPERVISED)


def _optimiser_value(name: str, value: float) -> float:
    return math.log(value) if name in _LOG_COEFFICIENTS else float(value)


def refit_subset(points: pd.DataFrame, free, start: DistillationCoefficients = PAPER_DISTILLATION,
                 search: F.Search = FIT_SEARCH) -> F.FitResult:
    """Refit only the coefficients named in ``free``, the others held at ``start``
    (Table 6 by default). The starts are the paper's grid values of the free coefficients
    plus their value in ``start``."""
    message = f"free must name one or more of {', '.join(COEFFICIENT_NAMES)} (a sequence); got {shown(free)}"
    if isinstance(free, (str, bytes)) or np.ndim(free) != 1:
        raise ValueError(message)
    free = tuple(free)
    if not free or not all(isinstance(k, str) and k in COEFFICIENT_NAMES for k in free):
        raise ValueError(message)
    values = instance("start", start, DistillationCoefficients, " (analysis.laws)").as_dict()
    grid = {}
    for name in COEFFICIENT_NAMES:
        key = f"log_{name}" if name in _LOG_COEFFICIENTS else name
        own = _optimiser_value(name, values[name])
        grid[key] = tuple(sorted(set(F.PAPER_DISTILLATION_GRID[key]) | {own})) if name in free else (own,)
    fixed = {k: v for k, v in values.items() if k not in free}
    return fit_points(points, fixed=fixed, grid=grid, search=search)


def subset_refits(points: pd.DataFrame, size: int, start: DistillationCoefficients = PAPER_DISTILLATION
                  ) -> pd.DataFrame:
    """``refit_subset`` for every subset of ``size`` coefficients: the mean |log error|
    it reaches and the refitted values beside ``start``'s, best first."""
    _columns(points)
    size = integer("size", size, 1, len(COEFFICIENT_NAMES) - 1)
    instance("start", start, DistillationCoefficients, " (analysis.laws)")
    rows = []
    for free in itertools.combinations(COEFFICIENT_NAMES, size):
        res = refit_subset(points, free, start)
        got = res.coefficients.as_dict()
        row = {"free": " + ".join(free), "mean |log error|": float(np.mean(np.abs(res.residuals)))}
        for k, name in enumerate(free, 1):
            row[f"coefficient {k}"] = name
            row[f"refitted {k}"] = got[name]
            row[f"Table 6 {k}"] = getattr(start, name)
        rows.append(row)
    return pd.DataFrame(rows).sort_values("mean |log error|").reset_index(drop=True)


def _get(c, k):
    return c[k] if isinstance(c, (pd.DataFrame, pd.Series, dict)) else getattr(c, k)


#: Combinations of Eq. 8's coefficients, each a function of a coefficient set (a
#: ``DistillationCoefficients``, a dict, or a DataFrame with one column per coefficient).
#: The power term (A'/N^alpha' + B'/D^beta')^gamma' falls with N like N^-(gamma' alpha')
#: where the size term dominates, and with D like D^-(gamma' beta') where the data term
#: does; below the capacity-gap break its factor is exp(-K (L_T / L~_S)^(1/f1)).
COMBINATIONS = MappingProxyType({
    "gamma' alpha'": lambda c: _get(c, "gamma") * _get(c, "alpha"),
    "gamma' beta'": lambda c: _get(c, "gamma") * _get(c, "beta"),
    "c0": lambda c: _get(c, "c0"),
    "f1": lambda c: _get(c, "f1"),
    "K = c1 f1 d1^(-1/f1)": lambda c: _get(c, "c1") * _get(c, "f1") * _get(c, "d1") ** (-1 / _get(c, "f1")),
})


# ------------------------------------------------------------------- best teachers


def best_teachers(points: pd.DataFrame, distillation: DistillationCoefficients = PAPER_DISTILLATION,
                  min_teachers: int = 8) -> pd.DataFrame:
    """For every (student, budget) group with at least ``min_teachers`` teachers: the teacher
    with the lowest student loss in the data, the one of the same teachers the law picks
    and what that pick costs in the data (``regret``, nats), and the law's unrestricted
    best teacher loss L_T* (``analysis.recipes.optimal_teacher_loss``)."""
    _columns(points)
    instance("distillation", distillation, DistillationCoefficients, " (analysis.laws)")
    min_teachers = integer("min_teachers", min_teachers, 2)
    rows = []
    for (n_s, d_s), grp in points.groupby(["N_S", "D_S"]):
        if grp["L_T"].nunique() < min_teachers:
            continue
        t = grp["L_T"].to_numpy(float)
        s = grp["L_S"].to_numpy(float)
        pred = np.asarray(distilled_loss(n_s, d_s, t, distillation), dtype=float)
        k_data, k_law = int(np.argmin(s)), int(np.argmin(pred))
        star = R.optimal_teacher_loss(n_s, d_s, setting=_setting(distillation))
        rows.append({"size_label": grp["size_label"].iloc[0], "N_S": n_s, "D_S": d_s,
                     "teachers": int(t.size), "best L_T (data)": t[k_data], "best L_S (data)": s[k_data],
                     "law's pick L_T": t[k_law], "L_S at law's pick (data)": s[k_law],
                     "regret": s[k_law] - s[k_data], "L_T* (law)": star.teacher_loss,
                     "L_S* (law)": star.student_loss})
    return pd.DataFrame(rows)


# ---------------------------------------------------------------------- conclusions


@dataclass(frozen=True)
class Conclusion:
    """One conclusion the Recipes chapters draw, as a computation: ``compute`` maps the
    distillation coefficients (the supervised law and the solver box stay the paper's) to
    ``quantity``; ``holds`` says whether the conclusion ``statement`` holds for that value
    (``criterion`` in words); ``ref`` is the label of the section that states it."""

    key: str
    ref: str
    statement: str
    quantity: str
    criterion: str
    compute: Callable[[DistillationCoefficients], float]
    holds: Callable[[float], bool]

    def __post_init__(self):
        declaration(self, ("key", "ref", "statement", "quantity", "criterion"), ("compute", "holds"))


def _setting(c: DistillationCoefficients) -> R.Setting:
    """The paper's setting (Table 6's supervised law, its box and cost model) with the
    distillation coefficients ``c``."""
    return R.Setting(distillation=c)


def _gain_at_best_teacher(n_s, d_s, c):
    """Supervised loss minus the loss with the best teacher (nats); > 0: distillation wins."""
    return float(supervised_loss(n_s, d_s)) - R.optimal_teacher_loss(n_s, d_s, setting=_setting(c)).student_loss


def _best_teacher_ratio(n_s, d_s, c):
    return R.optimal_teacher_loss(n_s, d_s, setting=_setting(c)).teacher_loss / float(supervised_loss(n_s, d_s))


def _teacher_loss_steps(c):
    n = np.geomspace(1e8, 1e11, 61)
    return float(np.diff(R.optimal_teacher_loss(n, 1e12, setting=_setting(c)).teacher_loss).max())


def _log_crossover_ratio(c):
    small = R.crossover_compute(1e9, Scenario.TEACHER_INFERENCE, setting=_setting(c))
    large = R.crossover_compute(1e10, Scenario.TEACHER_INFERENCE, setting=_setting(c))
    return math.log10(large / small) if math.isfinite(small) and math.isfinite(large) else math.nan


def _best_case_gap_at(c, compute=1e26):
    n = np.array([3e8, 1e9, 3e9, 1e10, 3e10, 5e10])
    out = R.distillation_sweep(n, compute, Scenario.BEST_CASE, setting=_setting(c))
    return float(np.max(np.abs(out["supervised_loss"] - out["student_loss"])))


def _distillation_margin(n_s, compute, scenario, c):
    """Supervised minus compute-optimal distilled loss (nats); > 0: distillation wins."""
    r = R.compute_optimal_distillation(n_s, compute, scenario, setting=_setting(c))
    return r.supervised_loss - r.student_loss


def _pretraining_inference_margin(c):
    n, cc = np.meshgrid([1e9, 1e10], [1e21, 1e23, 1e25], indexing="ij")
    out = R.distillation_sweep(n, cc, Scenario.TEACHER_PRETRAINING_AND_INFERENCE, setting=_setting(c))
    return float(np.min(out["student_loss"] - out["supervised_loss"]))


def _infinite_data_gap(c):
    rows = []
    for n in np.geomspace(1e8, 1e11, 13):
        star = R.optimal_teacher_loss(n, 1e40, setting=R.Setting(distillation=c, bounds=(1e6, 1e41)))
        rows.append(star.student_loss / float(supervised_loss_infinite_data(n)) - 1)
    return float(np.max(np.abs(rows)))


def _table3_shares(c, n_list, c_list):
    n, cc = np.meshgrid(n_list, c_list, indexing="ij")
    out = R.distillation_sweep(n, cc, Scenario.TEACHER_PRETRAINING_AND_INFERENCE, setting=_setting(c))
    parts = np.stack([out["student_training"], out["teacher_logits"], out["teacher_pretraining"]])
    shares = parts / parts.sum(axis=0)
    return shares.reshape(3, -1).mean(axis=1)  # student training, teacher logits, teacher pretraining


_SMALL_N, _LARGE_N = [3e8, 5e8, 1e9, 3e9], [1e10, 3e10, 5e10]
_SMALL_C, _LARGE_C = [1e20, 1e21], [1e25, 1e26]


def _table3_score(row):
    """Per Table 3 row (the criteria of the compute-optimal chapter): a score that is
    positive exactly when the row holds."""
    def score(c):
        n_list, c_list = {"ss": (_SMALL_N, _SMALL_C), "sl": (_SMALL_N, _LARGE_C),
                          "ls": (_LARGE_N, _SMALL_C), "ll": (_LARGE_N, _LARGE_C)}[row]
        st, lg, pre = _table3_shares(c, n_list, c_list)
        if row == "ss":     # mostly teacher pretraining: its share exceeds the others'
            return float(pre - max(st, lg))
        if row == "sl":     # student ~ logits (within 0.2), pretraining under half of either
            return float(min(0.2 - abs(st - lg), 0.5 * min(st, lg) - pre))
        if row == "ls":     # mostly student training
            return float(st - max(lg, pre))
        return float(0.35 - (max(st, lg, pre) - min(st, lg, pre)))  # roughly equal thirds
    return score


def _d5_ratio(n_s, target):
    def ratio(c):
        try:
            return R.efficiency_ratio(n_s, target, Scenario.TEACHER_PRETRAINING_AND_INFERENCE,
                                      setting=_setting(c)).compute_ratio
        except ValueError:  # unreachable target under these coefficients
            return math.nan
    return ratio


_positive = lambda v: bool(np.isfinite(v) and v > 0)  # noqa: E731

#: The Recipes part's conclusions, in the order the chapters draw them.
CONCLUSIONS: tuple[Conclusion, ...] = (
    Conclusion("best-teacher-gain", "choosing-a-teacher",
               "A 1B student on 20B tokens gains from its best teacher",
               "supervised loss minus distilled loss at L_T* (nats)", "> 0",
               lambda c: _gain_at_best_teacher(1e9, 20e9, c), _positive),
    Conclusion("best-teacher-falls", "choosing-a-teacher-vs-size",
               "The best teacher loss L_T* falls with student size (1T tokens, 100M-100B)",
               "largest step of L_T* along 61 sizes (nats)", "<= 1e-9",
               _teacher_loss_steps, lambda v: v <= 1e-9),
    Conclusion("best-teacher-tokens", "choosing-a-teacher-vs-size",
               "L_T* depends only weakly on the token budget (1B student, 250B vs 16T tokens)",
               "L_T*(250B) - L_T*(16T) (nats)", "|x| < 0.05",
               lambda c: (R.optimal_teacher_loss(1e9, 250e9, setting=_setting(c)).teacher_loss
                          - R.optimal_teacher_loss(1e9, 16e12, setting=_setting(c)).teacher_loss),
               lambda v: abs(v) < 0.05),
    Conclusion("capacity-gap-ratio", "distillation-law",
               "The best teacher's loss lies a quarter to a third below the student's own "
               "supervised loss (546M at 20 tokens per parameter)",
               "1 - L_T* / L~_S", "0.2 to 0.4",
               lambda c: 1 - _best_teacher_ratio(546e6, 20 * 546e6, c), lambda v: 0.2 <= v <= 0.4),
    Conclusion("smaller-gain-more", "distillation-law",
               "Smaller students gain more from their best teacher (198M vs 1.82B at 20 tokens "
               "per parameter)", "gain of 198M minus gain of 1.82B (nats)", "> 0",
               lambda c: _gain_at_best_teacher(198.3e6, 20 * 198.3e6, c)
               - _gain_at_best_teacher(1.821e9, 20 * 1.821e9, c), _positive),
    Conclusion("best-case-crossover", "when-to-distil-crossover",
               "Even with a free teacher, supervised training catches up at a finite budget "
               "(1B student, up to 1e27 FLOPs)",
               "best-case crossover compute (FLOPs)", "finite",
               lambda c: R.crossover_compute(1e9, Scenario.BEST_CASE, setting=_setting(c)),
               lambda v: bool(np.isfinite(v))),
    Conclusion("crossover-grows", "when-to-distil-crossover",
               "The crossover compute grows with student size (teacher inference, 1B to 10B)",
               "log10 of the 10B crossover over the 1B one", "> 0",
               _log_crossover_ratio, _positive),
    Conclusion("best-case-matches", "compute-optimal-loss",
               "At large compute supervised training matches best-case distillation "
               "(1e26 FLOPs, 300M-50B)", "largest |supervised - best case| (nats)", "< 0.01",
               _best_case_gap_at, lambda v: v < 0.01),
    Conclusion("inference-wins-small", "compute-optimal-loss",
               "With an existing teacher (inference charged), distillation beats supervised at "
               "small budgets (1B, 1e21 FLOPs)", "supervised minus distilled loss (nats)", "> 0",
               lambda c: _distillation_margin(1e9, 1e21, Scenario.TEACHER_INFERENCE, c), _positive),
    Conclusion("train-teacher-lose", "when-to-distil-pretraining",
               "If the teacher is trained for this one student, supervised training is better "
               "(pretraining + inference; 1B and 10B at 1e21-1e25)",
               "smallest distilled minus supervised loss (nats)", "> 0",
               _pretraining_inference_margin, _positive),
    Conclusion("d5-500m", "when-to-distil-d5",
               "App. D.5: pretraining + inference costs more compute than supervised "
               "(500M at L_S = 2.4)", "compute ratio, distillation / supervised", "> 1",
               _d5_ratio(5e8, 2.4), lambda v: bool(np.isfinite(v) and v > 1)),
    Conclusion("d5-10b", "when-to-distil-d5",
               "App. D.5: pretraining + inference costs more compute than supervised "
               "(10B at L_S = 2.2)", "compute ratio, distillation / supervised", "> 1",
               _d5_ratio(1e10, 2.2), lambda v: bool(np.isfinite(v) and v > 1)),
    Conclusion("infinite-data", "distillation-law-infinite-data",
               "With unlimited data the best distilled student matches the supervised floor "
               "(Fig. 40, 100M-100B)", "largest |Eq. 37 / Eq. 35 - 1|", "<= 0.01",
               _infinite_data_gap, lambda v: v <= 0.01),
    Conclusion("table3-small-small", "compute-optimal-table3",
               "Table 3, small student and compute: mostly teacher pretraining",
               "pretraining share minus the larger other share", "> 0",
               _table3_score("ss"), _positive),
    Conclusion("table3-small-large", "compute-optimal-table3",
               "Table 3, small student, large compute: student training and logits even, "
               "little pretraining", "margin of the weaker criterion", "> 0",
               _table3_score("sl"), _positive),
    Conclusion("table3-large-small", "compute-optimal-table3",
               "Table 3, large student, small compute: mostly student training "
               "(the book finds the law disagrees)", "student share minus the larger other share",
               "> 0", _table3_score("ls"), _positive),
    Conclusion("table3-large-large", "compute-optimal-table3",
               "Table 3, large student and compute: roughly equal thirds",
               "0.35 minus the spread of the shares", "> 0", _table3_score("ll"), _positive),
)


def evaluate_conclusions(distillation: DistillationCoefficients) -> pd.DataFrame:
    """Every conclusion's quantity under ``distillation`` (the supervised law and box stay
    the paper's) and whether the conclusion holds for it."""
    instance("distillation", distillation, DistillationCoefficients, " (analysis.laws)")
    rows = []
    for c in CONCLUSIONS:
        value = float(c.compute(distillation))
        rows.append({"key": c.key, "value": value, "holds": bool(c.holds(value))})
    return pd.DataFrame(rows).set_index("key")
