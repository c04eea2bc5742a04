"""How robust the book's contested findings are to the precision of Table 6.

Table 6 prints each coefficient to three or four significant digits and gives a 90%
bootstrap interval for each. The findings that the book reports against the paper rest on
small margins, so each one is declared here as a computation on a ``Setting``
(``FINDINGS``), and recomputed under coefficients drawn

* ``"rounding"``: every coefficient of both laws independently and uniformly within half a
  unit of its last printed digit (``PRINTED``), the values the paper could have rounded to
  the printed ones;
* ``"interval"``: every coefficient independently and uniformly within its printed 90%
  interval (``analysis.laws.PAPER_SUPERVISED_INTERVALS`` and
  ``PAPER_DISTILLATION_INTERVALS``). The bootstrap's joint distribution is not published,
  so this box ignores the correlations between coefficients: a stress test, not a
  posterior.

``draws(kind, n, seed)`` returns the coefficient sets, ``evaluate(setting)`` every
finding's value and verdict, ``run(kind, n, seed)`` one row per draw. The book reads the
stored draws of ``scripts/make_robustness_data.py`` (``data/robustness/``, ``load_draws``);
a test and the chapter recompute some of them.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from types import MappingProxyType

import numpy as np
import pandas as pd

from analysis import recipes as R
from analysis._checks import choice, declaration, existing_path, frame, instance, integer, shown
from analysis.checks import half_unit
from analysis.flops import Scenario
from analysis.laws import (PAPER_DISTILLATION, PAPER_DISTILLATION_INTERVALS, PAPER_SUPERVISED,
                           PAPER_SUPERVISED_INTERVALS, supervised_loss, supervised_loss_infinite_data)

__all__ = ["PRINTED", "Finding", "FINDINGS", "KINDS", "STUDY", "draws", "evaluate", "run", "setting_of", "summary", "load_draws", "share_holding", "DATA_DIR"]

#: Table 6's coefficients as printed (App. F.3), (law, coefficient) -> text.
PRINTED = MappingProxyType({
    ("supervised", "E"): "1.220", ("supervised", "A"): "3355", ("supervised", "B"): "18186",
    ("supervised", "alpha"): "0.408", ("supervised", "beta"): "0.431", ("supervised", "gamma"): "0.452",
    ("distillation", "A"): "2243", ("distillation", "B"): "24181", ("distillation", "alpha"): "0.321",
    ("distillation", "beta"): "0.637", ("distillation", "gamma"): "0.764", ("distillation", "c0"): "2.549",
    ("distillation", "c1"): "522.6", ("distillation", "f1"): "0.090", ("distillation", "d1"): "1.315",
})

KINDS = ("rounding", "interval")

#: The stored study (scripts/make_robustness_data.py): draws per kind and the seed of each.
STUDY = MappingProxyType({"rounding": (100, 14), "interval": (100, 15)})


@dataclass(frozen=True)
class Finding:
    """A contested finding: ``compute`` maps a ``Setting`` to ``quantity``; ``holds`` says
    whether the finding (``statement``) holds for that value; ``ref`` is the section."""

    key: str
    ref: str
    statement: str
    quantity: str
    criterion: str
    compute: Callable[[R.Setting], float]
    holds: Callable[[float], bool]

    def __post_init__(self):
        declaration(self, ("key", "ref", "statement", "quantity", "criterion"), ("compute", "holds"))


def _findings(findings) -> tuple:
    """``findings`` after checking it is a non-empty sequence of ``Finding``s with distinct keys."""
    if isinstance(findings, (str, bytes)) or not isinstance(findings, (tuple, list)) or not findings \
            or not all(isinstance(f, Finding) for f in findings) \
            or len({f.key for f in findings}) != len(findings):
        raise TypeError(f"findings must be a non-empty sequence of Findings with distinct keys "
                        f"(analysis.robustness.FINDINGS); got {shown(findings)}")
    return tuple(findings)


def _infinite_data_gaps(s: R.Setting) -> np.ndarray:
    """Eq. 37 over Eq. 35 minus 1 at 13 sizes over 100M-100B (D_S = 1e40: no data term)."""
    n = np.geomspace(1e8, 1e11, 13)
    wide = replace(s, bounds=(1e6, 1e41))
    star = R.optimal_teacher_loss(n, 1e40, setting=wide)
    return star.student_loss / supervised_loss_infinite_data(n, s.supervised) - 1


def _below_floor(s):
    return float(np.min(_infinite_data_gaps(s)))


def _lt_rise_30b(s):
    return float(R.optimal_teacher_loss(30e9, 16e12, setting=s).teacher_loss
                 - R.optimal_teacher_loss(30e9, 250e9, setting=s).teacher_loss)


def _pretraining_gain(n_list, c_list):
    def gain(s):
        n, c = np.meshgrid(n_list, c_list, indexing="ij")
        out = R.distillation_sweep(n, c, Scenario.TEACHER_PRETRAINING, setting=s)
        return float(np.max(out["supervised_loss"] - out["student_loss"]))
    return gain


def _d5_ratio(n_s, target):
    def ratio(s):
        try:
            return R.efficiency_ratio(n_s, target, Scenario.TEACHER_PRETRAINING_AND_INFERENCE,
                                      setting=s).compute_ratio
        except ValueError:  # unreachable under these coefficients
            return math.nan
    return ratio


_SMALL_N, _LARGE_N = [3e8, 5e8, 1e9, 3e9], [1e10, 3e10, 5e10]
_SMALL_C, _LARGE_C = [1e20, 1e21], [1e25, 1e26]


def _table3(row):
    """The criteria of the compute-optimal chapter's Table 3: positive exactly when the row
    holds (shares of pretraining + inference, averaged over the row's sizes and budgets)."""
    n_list, c_list = {"ss": (_SMALL_N, _SMALL_C), "sl": (_SMALL_N, _LARGE_C),
                      "ls": (_LARGE_N, _SMALL_C), "ll": (_LARGE_N, _LARGE_C)}[row]

    def score(s):
        n, c = np.meshgrid(n_list, c_list, indexing="ij")
        out = R.distillation_sweep(n, c, Scenario.TEACHER_PRETRAINING_AND_INFERENCE, setting=s)
        parts = np.stack([out["student_training"], out["teacher_logits"], out["teacher_pretraining"]])
        st, lg, pre = (parts / parts.sum(axis=0)).reshape(3, -1).mean(axis=1)
        if row == "ss":
            return float(pre - max(st, lg))
        if row == "sl":
            return float(min(0.2 - abs(st - lg), 0.5 * min(st, lg) - pre))
        if row == "ls":
            return float(st - max(lg, pre))
        return float(0.35 - (max(st, lg, pre) - min(st, lg, pre)))
    return score


def _log10_crossover(n_s, scenario):
    def f(s):
        c = R.crossover_compute(n_s, scenario, setting=s)
        return math.log10(c) if math.isfinite(c) else math.inf
    return f


def _crossover_growth(s):
    small = R.crossover_compute(1e9, Scenario.TEACHER_INFERENCE, setting=s)
    large = R.crossover_compute(1e10, Scenario.TEACHER_INFERENCE, setting=s)
    return math.log10(large / small) if math.isfinite(small) and math.isfinite(large) else math.nan


def _best_case_sign_300m(s):
    out = R.distillation_sweep(np.array([3e8]), 1e26, Scenario.BEST_CASE, setting=s)
    return float(out["student_loss"][0] - out["supervised_loss"][0])


_pos = lambda v: bool(np.isfinite(v) and v > 0)  # noqa: E731

#: The contested findings, in the order of the chapters that state them.
FINDINGS: tuple[Finding, ...] = (
    Finding("below-floor", "distillation-law-infinite-data",
            "Fig. 40: the best distilled student at infinite data ends below the supervised floor "
            "at some size in 100M-100B", "min over 13 sizes of Eq. 37 / Eq. 35 - 1", "< 0",
            _below_floor, lambda v: v < 0),
    Finding("lt-rises-30b", "choosing-a-teacher-vs-size",
            "Fig. 15: the best teacher loss of a 30B student rises from 250B to 16T tokens",
            "L_T*(16T) - L_T*(250B) (nats)", "> 0", _lt_rise_30b, _pos),
    Finding("pretraining-wins-large", "when-to-distil-pretraining",
            "Teacher pretraining beats supervised training for large students at small budgets "
            "(10B-50B at 1e20 FLOPs)", "largest supervised minus distilled loss (nats)", "> 1e-4",
            _pretraining_gain([1e10, 3e10, 5e10], [1e20]), lambda v: v > 1e-4),
    Finding("pretraining-wins-300m", "when-to-distil-pretraining",
            "Teacher pretraining beats supervised training for the 300M student near 1e22 FLOPs",
            "largest supervised minus distilled loss, 1e21-1e23 (nats)", "> 1e-4",
            _pretraining_gain([3e8], np.geomspace(1e21, 1e23, 9)), lambda v: v > 1e-4),
    Finding("d5-500m", "when-to-distil-d5",
            "App. D.5: pretraining + inference costs more compute than supervised (500M, L_S = 2.4; "
            "the paper says 3/4)", "compute ratio", "> 1", _d5_ratio(5e8, 2.4),
            lambda v: bool(np.isfinite(v) and v > 1)),
    Finding("d5-10b", "when-to-distil-d5",
            "App. D.5: pretraining + inference costs more compute than supervised (10B, L_S = 2.2; "
            "the paper says 1/2)", "compute ratio", "> 1", _d5_ratio(1e10, 2.2),
            lambda v: bool(np.isfinite(v) and v > 1)),
    Finding("table3-ss", "compute-optimal-table3", "Table 3, small student, small compute: "
            "mostly teacher pretraining", "pretraining share minus the larger other", "> 0",
            _table3("ss"), _pos),
    Finding("table3-sl", "compute-optimal-table3", "Table 3, small student, large compute: "
            "student training and logits even, little pretraining", "margin of the weaker criterion",
            "> 0", _table3("sl"), _pos),
    Finding("table3-ls-fails", "compute-optimal-table3", "Table 3, large student, small compute: "
            "the law does not give 'mostly student training'", "student share minus the larger other",
            "<= 0", _table3("ls"), lambda v: v <= 0),
    Finding("table3-ll", "compute-optimal-table3", "Table 3, large student, large compute: "
            "roughly equal thirds", "0.35 minus the spread of the shares", "> 0", _table3("ll"), _pos),
    Finding("crossover-1b", "when-to-distil-crossover",
            "The teacher-inference crossover of a 1B student lies between 1e21 and 1e22 FLOPs",
            "log10 crossover compute (FLOPs)", "in [21, 22)", _log10_crossover(1e9, Scenario.TEACHER_INFERENCE),
            lambda v: 21 <= v < 22),
    Finding("crossover-grows", "when-to-distil-crossover",
            "The teacher-inference crossover grows with student size (1B to 10B)",
            "log10 of the 10B crossover over the 1B one", "> 0", _crossover_growth, _pos),
    Finding("best-case-300m-below", "when-to-distil-crossover",
            "At 1e26 FLOPs supervised training of a 300M student ends below best-case distillation",
            "best-case minus supervised loss (nats)", "> 0", _best_case_sign_300m, _pos),
)


def _coefficients(values: dict):
    sup = replace(PAPER_SUPERVISED, **{k: v for (law, k), v in values.items() if law == "supervised"})
    dist = replace(PAPER_DISTILLATION, **{k: v for (law, k), v in values.items() if law == "distillation"})
    return sup, dist


def _box(kind: str, key) -> tuple[float, float]:
    law, name = key
    if kind == "rounding":
        centre, h = float(PRINTED[key]), half_unit(PRINTED[key])
        return centre - h, centre + h
    return (PAPER_SUPERVISED_INTERVALS if law == "supervised" else PAPER_DISTILLATION_INTERVALS)[name]


def draws(kind: str, n: int, seed: int) -> list[R.Setting]:
    """``n`` settings with coefficients drawn uniformly and independently in the ``kind`` box
    ("rounding" or "interval"), from ``numpy.random.default_rng(seed)``."""
    choice("kind", kind, KINDS)
    n = integer("n", n, 1, 10**6)
    rng = np.random.default_rng(integer("seed", seed, 0))
    keys = list(PRINTED)
    lo, hi = np.array([[_box(kind, k)[i] for k in keys] for i in (0, 1)])
    u = rng.uniform(size=(int(n), len(keys)))
    out = []
    for row in lo + u * (hi - lo):
        sup, dist = _coefficients(dict(zip(keys, row)))
        out.append(R.Setting(supervised=sup, distillation=dist))
    return out


def evaluate(setting: R.Setting = R.PAPER_SETTING, findings=FINDINGS) -> pd.DataFrame:
    """Each finding's value and whether it holds under ``setting``."""
    instance("setting", setting, R.Setting, " (analysis.recipes)")
    findings = _findings(findings)
    rows = [{"key": f.key, "value": float(f.compute(setting))} for f in findings]
    out = pd.DataFrame(rows).set_index("key")
    out["holds"] = [bool(f.holds(v)) for f, v in zip(findings, out["value"])]
    return out


def run(kind: str, n: int, seed: int, findings=FINDINGS) -> pd.DataFrame:
    """One row per draw: the drawn coefficients (``sup_<name>``, ``dist_<name>``) and each
    finding's value."""
    findings = _findings(findings)
    rows = []
    for k, s in enumerate(draws(kind, n, seed)):
        row = {"kind": kind, "draw": k}
        row.update({f"sup_{name}": v for name, v in s.supervised.as_dict().items()})
        row.update({f"dist_{name}": v for name, v in s.distillation.as_dict().items()})
        row.update(evaluate(s, findings)["value"].to_dict())
        rows.append(row)
    return pd.DataFrame(rows)


def setting_of(row) -> R.Setting:
    """The ``Setting`` of one stored draw (a row of ``run``)."""
    names = [f"sup_{k}" for k in PAPER_SUPERVISED.as_dict()] + [f"dist_{k}" for k in PAPER_DISTILLATION.as_dict()]
    if not isinstance(row, (pd.Series, dict)):
        raise TypeError(f"row must be a row of the stored draws (a pandas Series); got {type(row).__name__}")
    missing = [k for k in names if k not in row]
    if missing:
        raise ValueError(f"row must hold the coefficients {', '.join(names)}; missing {', '.join(missing)}")
    sup = replace(PAPER_SUPERVISED, **{k: float(row[f"sup_{k}"]) for k in PAPER_SUPERVISED.as_dict()})
    dist = replace(PAPER_DISTILLATION, **{k: float(row[f"dist_{k}"]) for k in PAPER_DISTILLATION.as_dict()})
    return R.Setting(supervised=sup, distillation=dist)


def summary(table: pd.DataFrame, findings=FINDINGS) -> pd.DataFrame:
    """Per finding and kind of draw: the value at Table 6 as printed, the share of draws in
    which the finding holds, and the 5th and 95th percentiles of its finite values (a
    crossover beyond the searched range is infinite, a ratio of two such NaN)."""
    findings = _findings(findings)
    frame("table", table, ("kind", *(f.key for f in findings)))
    central = evaluate(R.PAPER_SETTING, findings)
    rows = []
    for f in findings:
        row = {"key": f.key, "finding": f.statement, "quantity": f.quantity, "criterion": f.criterion,
               "Table 6": central.loc[f.key, "value"], "holds at Table 6": bool(central.loc[f.key, "holds"])}
        for kind, part in table.groupby("kind"):
            v = part[f.key].to_numpy(float)
            row[f"{kind}: share holding"] = float(np.mean([f.holds(x) for x in v]))
            finite = v[np.isfinite(v)]
            row[f"{kind}: 5%"] = float(np.percentile(finite, 5)) if finite.size else math.nan
            row[f"{kind}: 95%"] = float(np.percentile(finite, 95)) if finite.size else math.nan
            row[f"{kind}: draws"] = int(v.size)
        rows.append(row)
    return pd.DataFrame(rows).set_index("key")


DATA_DIR = Path(__file__).resolve().parents[1] / "data" / "robustness"


def load_draws(folder: Path | None = None) -> pd.DataFrame:
    """The stored study (``data/robustness/draws_<kind>.csv``): one row per draw of ``run``,
    every kind."""
    folder = DATA_DIR if folder is None else existing_path("folder", folder, folder=True)
    missing = [f"draws_{kind}.csv" for kind in KINDS if not (folder / f"draws_{kind}.csv").is_file()]
    if missing:
        raise ValueError(f"folder must hold {', '.join(missing)} (scripts/make_robustness_data.py); "
                         f"{shown(str(folder))} has none")
    return pd.concat([pd.read_csv(folder / f"draws_{kind}.csv") for kind in KINDS], ignore_index=True)


def share_holding(table: pd.DataFrame, key: str, kind: str) -> float:
    """The share of the stored draws of ``kind`` in which finding ``key`` holds."""
    frame("table", table, ("kind",))
    choice("key", key, [f.key for f in FINDINGS])
    finding = next(f for f in FINDINGS if f.key == key)
    if key not in table.columns:
        raise ValueError(f"table must have a column for the finding {shown(key)} (analysis.robustness.load_draws)")
    choice("kind", kind, KINDS)
    values = table.loc[table["kind"] == kind, key].to_numpy(float)
    if values.size == 0:
        raise ValueError(f"no stored draws of kind {shown(kind)}")
    return float(np.mean([finding.holds(v) for v in values]))
