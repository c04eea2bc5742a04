"""The paper's figures on the paper's own axes, computed from its laws (Eqs. 1, 8, 9, 69 and
Table 6 of Busbridge et al., arXiv 2502.08606v2).

The book's chapters show most figure families on axes chosen for teaching (student loss
against teacher loss, say). The functions here produce the data of the paper's own
versions, one function per figure family:

* ``fixed_m_teachers`` (Fig. 4): students at fixed tokens per parameter M_S distilled
  from teachers trained at M_T = 20, against teacher size, with each curve's best teacher;
* ``student_isoflops`` (Figs. 2 and 39a): fixed-M teachers, students at fixed student
  compute C_S = 3 F(N_S) D_S, against student size, with each profile's minimum;
* ``teacher_isoflops`` (Figs. 3a and 39b): a fixed-M student, teachers at fixed teacher
  compute C_T = 3 F(N_T) D_T, against teacher size, with each profile's minimum;
* ``fixed_m_teacher_contours`` (Fig. 6): L_S - L~_S over student size and tokens for each
  fixed-M teacher;
* ``fixed_compute_teacher_grid`` (Fig. 16): at a total budget with teacher inference
  charged (Eq. 27), the student loss over teacher size and teacher loss;
* ``allocation_shares`` and ``allocation_jumps`` (Figs. 23, 26 and the teacher sizes of
  Figs. 21-22): read from the stored compute-optimal sweep ``data/recipes/sweep.csv``;
  ``teacher_inference_profile`` is the objective behind those jumps.

Model sizes are the non-embedding N of Table 13; every law evaluation takes the
coefficients as keywords (the paper's Table 6 by default).
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType

import numpy as np
import pandas as pd
from scipy.optimize import minimize_scalar

from analysis._checks import (array_in_range, choice, frame, in_range, positive_interval, shown,
                              values_in_range)
from analysis.flops import forward_flops_per_token
from analysis.laws import (PAPER_DISTILLATION, PAPER_SUPERVISED, _distillation, _supervised, distilled_loss,
                           supervised_loss)

__all__ = [
    "TABLE13_N",
    "FIXED_M_TEACHERS",
    "ISOFLOP_STUDENTS",
    "ISOFLOP_BUDGETS",
    "fixed_m_teacher_loss",
    "Profiles",
    "fixed_m_teachers",
    "student_isoflops",
    "teacher_isoflops",
    "fixed_m_teacher_contours",
    "fixed_compute_teacher_grid",
    "allocation_shares",
    "allocation_jumps",
    "teacher_inference_profile",
]

#: Non-embedding parameters N of the Table 13 models the paper's figures name.
TABLE13_N = MappingProxyType({
    "143M": 0.1434e9, "198M": 0.1983e9, "546M": 0.546e9, "975M": 0.9755e9, "1.82B": 1.821e9,
    "2.72B": 2.718e9, "4.82B": 4.823e9, "7.75B": 7.747e9,
})
#: The six fixed-M teachers of protocol 1 (§4.2, Figs. 2, 6, 38a).
FIXED_M_TEACHERS = ("546M", "975M", "1.82B", "2.72B", "4.82B", "7.75B")
#: The four fixed-M students of protocol 2 (§4.2, Figs. 3, 38b).
ISOFLOP_STUDENTS = ("198M", "546M", "975M", "1.82B")
#: The IsoFLOP budgets of protocols 1 and 2 (FLOPs).
ISOFLOP_BUDGETS = (3e19, 1e20, 3e20, 1e21)


#: The ranges the figures' arguments are checked against: sizes in the recipes' box
#: (parameters), token counts, budgets (FLOPs) and tokens per parameter.
SIZES, TOKENS, BUDGETS, PER_PARAM = (1e6, 1e17), (1.0, 1e20), (1.0, 1e40), (1e-3, 1e6)


def _size(name_or_n, arg: str = "N") -> float:
    if isinstance(name_or_n, str):
        if name_or_n not in TABLE13_N:
            raise ValueError(f"{arg} must hold model names among {', '.join(TABLE13_N)} or sizes; "
                             f"got {shown(name_or_n)}")
        return TABLE13_N[name_or_n]
    return in_range(arg, name_or_n, *SIZES)


def _sizes(arg: str, values) -> list:
    """``values``: a non-empty sequence of Table 13 names or sizes in ``SIZES``."""
    if isinstance(values, (str, bytes)) or np.ndim(values) != 1 or len(values) == 0:
        raise ValueError(f"{arg} must be a non-empty sequence of model names ({', '.join(TABLE13_N)}) "
                         f"or sizes; got {shown(values)}")
    return [(v, _size(v, arg)) for v in values]


def _grid(arg: str, value, default, lo_hi):
    return default if value is None else values_in_range(arg, value, *lo_hi)


def fixed_m_teacher_loss(N_T, M_T: float = 20.0, *, supervised=PAPER_SUPERVISED):
    """L_T = L(N_T, M_T N_T): the loss of a teacher trained at M_T tokens per parameter."""
    _supervised("supervised", supervised)
    N_T = array_in_range("N_T", N_T, *SIZES)
    return supervised_loss(N_T, in_range("M_T", M_T, *PER_PARAM) * N_T, supervised)


@dataclass(frozen=True)
class Profiles:
    """Curves of one figure: ``curves`` has one row per (curve, x) with columns ``curve``,
    ``x`` (the swept size), ``student_loss`` and what else the figure needs; ``minima``
    one row per curve with the continuous minimiser ``x_star`` and ``student_loss_star``,
    and ``on_edge`` set where the minimiser lies on the swept range's boundary."""

    curves: pd.DataFrame
    minima: pd.DataFrame


def _minimise_log(fun, lo: float, hi: float) -> tuple[float, float, bool]:
    """Minimise the vectorised ``fun`` over [lo, hi] in log space: a grid, then a bounded
    polish between the grid neighbours of the best point."""
    u = np.linspace(np.log(lo), np.log(hi), 401)
    vals = fun(np.exp(u))
    i = int(np.argmin(vals))
    a, b = u[max(i - 1, 0)], u[min(i + 1, len(u) - 1)]
    res = minimize_scalar(lambda v: float(fun(np.array([np.exp(v)]))[0]), bounds=(a, b), method="bounded",
                          options={"xatol": 1e-9})
    if res.fun <= vals[i]:
        x, f = float(np.exp(res.x)), float(res.fun)
    else:
        x, f = float(np.exp(u[i])), float(vals[i])
    on_edge = bool(abs(np.log(x / lo)) < 1e-3 or abs(np.log(x / hi)) < 1e-3)
    return x, f, on_edge


def _profiles(curves: dict, x_grid, loss_of, extra_of=None) -> Profiles:
    rows, minima = [], []
    lo, hi = float(np.min(x_grid)), float(np.max(x_grid))
    for label, params in curves.items():
        loss = loss_of(x_grid, **params)
        frame = {"curve": label, "x": x_grid, "student_loss": loss}
        if extra_of is not None:
            frame.update(extra_of(x_grid, **params))
        rows.append(pd.DataFrame(frame))
        x_star, f_star, edge = _minimise_log(lambda x: loss_of(x, **params), lo, hi)
        minima.append({"curve": label, **params, "x_star": x_star, "student_loss_star": f_star,
                       "on_edge": edge})
    return Profiles(pd.concat(rows, ignore_index=True), pd.DataFrame(minima))


def fixed_m_teachers(students=("143M", "198M"), student_m=(20, 40, 80, 160, 320),
                     teacher_params=None, teacher_m: float = 20.0, *, supervised=PAPER_SUPERVISED,
                     distillation=PAPER_DISTILLATION) -> Profiles:
    """Fig. 4: L_S of students at D_S = M_S N_S against the size of a teacher trained at
    ``teacher_m`` tokens per parameter (default axis 300M-14B, as in the figure)."""
    _supervised("supervised", supervised), _distillation("distillation", distillation)
    grid = _grid("teacher_params", teacher_params, np.geomspace(3e8, 1.4e10, 121), SIZES)
    teacher_m = in_range("teacher_m", teacher_m, *PER_PARAM)
    curves = {f"{s}, M_S={m:g}": {"N_S": n, "M_S": float(m)} for s, n in _sizes("students", students)
              for m in values_in_range("student_m", student_m, *PER_PARAM)}

    def loss_of(n_t, N_S, M_S):
        return distilled_loss(N_S, M_S * N_S, fixed_m_teacher_loss(n_t, teacher_m, supervised=supervised),
                              distillation, supervised)

    def extra_of(n_t, N_S, M_S):
        return {"teacher_loss": fixed_m_teacher_loss(n_t, teacher_m, supervised=supervised),
                "supervised_loss": np.full(n_t.shape, float(supervised_loss(N_S, M_S * N_S, supervised)))}

    out = _profiles(curves, grid, loss_of, extra_of)
    minima = out.minima.assign(teacher_loss_star=fixed_m_teacher_loss(
        out.minima.x_star.to_numpy(), teacher_m, supervised=supervised))
    minima["supervised_loss"] = supervised_loss(minima.N_S.to_numpy(), (minima.M_S * minima.N_S).to_numpy(),
                                                supervised)
    return Profiles(out.curves, minima)


def student_isoflops(teachers=("975M", "7.75B"), budgets=ISOFLOP_BUDGETS, student_params=None,
                     teacher_m: float = 20.0, *, supervised=PAPER_SUPERVISED,
                     distillation=PAPER_DISTILLATION) -> Profiles:
    """Figs. 2 and 39a: for each fixed-M teacher and student budget C_S, L_S against N_S
    with D_S = C_S / (3 F(N_S)); ``minima.x_star`` is N_S*(C_S)."""
    _supervised("supervised", supervised), _distillation("distillation", distillation)
    grid = _grid("student_params", student_params, np.geomspace(5e7, 2e10, 161), SIZES)
    teacher_m = in_range("teacher_m", teacher_m, *PER_PARAM)
    curves = {f"{t}, C_S={c:.0e}": {"N_T": n, "C_S": float(c)} for t, n in _sizes("teachers", teachers)
              for c in values_in_range("budgets", budgets, *BUDGETS)}

    def loss_of(n_s, N_T, C_S):
        d_s = C_S / (3.0 * forward_flops_per_token(n_s))
        return distilled_loss(n_s, d_s, fixed_m_teacher_loss(N_T, teacher_m, supervised=supervised),
                              distillation, supervised)

    def extra_of(n_s, N_T, C_S):
        return {"student_tokens": C_S / (3.0 * forward_flops_per_token(n_s))}

    return _profiles(curves, grid, loss_of, extra_of)


def teacher_isoflops(students=("1.82B",), budgets=ISOFLOP_BUDGETS, teacher_params=None,
                     student_m: float = 20.0, *, supervised=PAPER_SUPERVISED,
                     distillation=PAPER_DISTILLATION) -> Profiles:
    """Figs. 3a and 39b: for each fixed-M student and teacher budget C_T, L_S against N_T
    with D_T = C_T / (3 F(N_T)); ``minima.x_star`` is N_T*(C_T)."""
    _supervised("supervised", supervised), _distillation("distillation", distillation)
    grid = _grid("teacher_params", teacher_params, np.geomspace(5e7, 2e10, 161), SIZES)
    student_m = in_range("student_m", student_m, *PER_PARAM)
    curves = {f"{s}, C_T={c:.0e}": {"N_S": n, "C_T": float(c)} for s, n in _sizes("students", students)
              for c in values_in_range("budgets", budgets, *BUDGETS)}

    def teacher_loss(n_t, C_T):
        return supervised_loss(n_t, C_T / (3.0 * forward_flops_per_token(n_t)), supervised)

    def loss_of(n_t, N_S, C_T):
        return distilled_loss(N_S, student_m * N_S, teacher_loss(n_t, C_T), distillation, supervised)

    def extra_of(n_t, N_S, C_T):
        return {"teacher_loss": teacher_loss(n_t, C_T)}

    return _profiles(curves, grid, loss_of, extra_of)


def fixed_m_teacher_contours(teachers=FIXED_M_TEACHERS, student_params=None, student_tokens=None,
                             teacher_m: float = 20.0, *, supervised=PAPER_SUPERVISED,
                             distillation=PAPER_DISTILLATION) -> dict[str, dict[str, np.ndarray]]:
    """Fig. 6: for each fixed-M teacher, L_S - L~_S on a grid of student size (default
    100M-10B) and tokens (1B-10T); negative where distillation beats supervised training."""
    _supervised("supervised", supervised), _distillation("distillation", distillation)
    n_s = _grid("student_params", student_params, np.geomspace(1e8, 1e10, 61), SIZES)
    d_s = _grid("student_tokens", student_tokens, np.geomspace(1e9, 1e13, 81), TOKENS)
    teacher_m = in_range("teacher_m", teacher_m, *PER_PARAM)
    teachers = _sizes("teachers", teachers)
    NS, DS = np.meshgrid(n_s, d_s, indexing="ij")
    sup = supervised_loss(NS, DS, supervised)
    out = {}
    for t, n_t in teachers:
        lt = float(fixed_m_teacher_loss(n_t, teacher_m, supervised=supervised))
        out[t] = {"N_S": NS, "D_S": DS, "teacher_loss": lt,
                  "delta": distilled_loss(NS, DS, lt, distillation, supervised) - sup}
    return out


def fixed_compute_teacher_grid(student_params: float, compute: float, teacher_params=None,
                               teacher_losses=None, teacher_token_bound: float = 1e17, *,
                               supervised=PAPER_SUPERVISED, distillation=PAPER_DISTILLATION) -> dict:
    """Fig. 16: with teacher inference charged, D_S = C / (3 F(N_S) + F(N_T)) (Eq. 27), and
    L_S over teacher size N_T (default 1B-1T) and teacher loss L_T (default E..2.5 nats).
    Cells where a teacher of that size cannot reach that loss with ``teacher_token_bound``
    tokens are NaN; ``best_teacher_loss`` is the best reachable L_T for each N_T."""
    _supervised("supervised", supervised), _distillation("distillation", distillation)
    n_s = in_range("student_params", student_params, *SIZES)
    c = in_range("compute", compute, *BUDGETS)
    n_t = _grid("teacher_params", teacher_params, np.geomspace(1e9, 1e12, 91), SIZES)
    l_t = _grid("teacher_losses", teacher_losses, np.linspace(supervised.E + 0.02, 2.5, 400), (1e-3, 100.0))
    teacher_token_bound = in_range("teacher_token_bound", teacher_token_bound, *TOKENS)
    NT, LT = np.meshgrid(n_t, l_t, indexing="ij")
    d_s = c / (3.0 * forward_flops_per_token(n_s) + forward_flops_per_token(NT))
    reachable = supervised_loss(NT, teacher_token_bound, supervised) <= LT
    ls = np.where(reachable, distilled_loss(n_s, d_s, LT, distillation, supervised), np.nan)
    best = np.array([l_t[np.nanargmin(row)] if np.any(np.isfinite(row)) else np.nan for row in ls])
    return {"N_T": NT, "L_T": LT, "student_loss": ls, "student_tokens": d_s, "best_teacher_loss": best}


_PARTS = ("student_training", "teacher_logits", "teacher_pretraining")


def allocation_shares(sweep: pd.DataFrame, scenario: str, compute_range=(1e20, 1e26)) -> pd.DataFrame:
    """Figs. 23 and 26: the shares of Eq. 9's three terms at the optimum, per student and
    budget, from a compute-optimal sweep (``data/recipes/sweep.csv``)."""
    frame("sweep", sweep, ("scenario", "compute", "student_params", "teacher_params", "teacher_tokens",
                           "teacher_loss", *_PARTS))
    scenario = choice("scenario", scenario, sweep.scenario.unique())
    lo, hi = positive_interval("compute_range", compute_range)
    rows = sweep[(sweep.scenario == scenario) & (sweep.compute >= lo * 0.999) & (sweep.compute <= hi * 1.001)]
    if rows.empty:
        raise ValueError(f"no rows for scenario {shown(scenario)} in {compute_range}")
    total = rows[list(_PARTS)].sum(axis=1)
    shares = rows[list(_PARTS)].div(total, axis=0)
    return pd.concat([rows[["student_params", "compute", "teacher_params", "teacher_tokens", "teacher_loss"]],
                      shares], axis=1).reset_index(drop=True)


def allocation_jumps(shares: pd.DataFrame, min_decades: float = 0.25) -> pd.DataFrame:
    """Per student, the largest step of log10 N_T* between neighbouring budgets, and whether
    it exceeds ``min_decades`` (a jump between two optima, not a drift)."""
    frame("shares", shares, ("student_params", "compute", "teacher_params", "teacher_loss", "teacher_logits"))
    min_decades = in_range("min_decades", min_decades, 0.0, 100.0)
    rows = []
    for n_s, g in shares.groupby("student_params"):
        g = g.sort_values("compute")
        step = np.diff(np.log10(g.teacher_params.to_numpy()))
        i = int(np.argmax(np.abs(step)))
        rows.append({"student_params": n_s, "compute_after": float(g.compute.iloc[i + 1]),
                     "log10_step": float(step[i]), "teacher_loss_before": float(g.teacher_loss.iloc[i]),
                     "teacher_loss_after": float(g.teacher_loss.iloc[i + 1]),
                     "logit_share_before": float(g.teacher_logits.iloc[i]),
                     "logit_share_after": float(g.teacher_logits.iloc[i + 1]),
                     "jump": bool(abs(step[i]) > min_decades)})
    return pd.DataFrame(rows)


def teacher_inference_profile(student_params: float, compute: float, teacher_params=None,
                              teacher_tokens: float = 1e17, *, supervised=PAPER_SUPERVISED,
                              distillation=PAPER_DISTILLATION) -> pd.DataFrame:
    """The teacher-inference objective against teacher size: teachers trained on
    ``teacher_tokens`` (the bound their optimum sits on), D_S = C / (3 F(N_S) + F(N_T))
    (Eq. 27). Its flatness explains the jumps of ``allocation_jumps``."""
    _supervised("supervised", supervised), _distillation("distillation", distillation)
    n_s = in_range("student_params", student_params, *SIZES)
    c = in_range("compute", compute, *BUDGETS)
    n_t = _grid("teacher_params", teacher_params, np.geomspace(1e8, 1e11, 4001), SIZES)
    teacher_tokens = in_range("teacher_tokens", teacher_tokens, *TOKENS)
    l_t = supervised_loss(n_t, teacher_tokens, supervised)
    d_s = c / (3.0 * forward_flops_per_token(n_s) + forward_flops_per_token(n_t))
    return pd.DataFrame({"teacher_params": n_t, "teacher_loss": l_t, "student_tokens": d_s,
                         "student_loss": distilled_loss(n_s, d_s, l_t, distillation, supervised)})
