"""Synthetic run designs shaped like the paper's experiments (App. E, §4.2).

The paper released no run-level data, so the fitting chapter and the benchmark
draw runs from the paper's own fitted laws (Table 6) at the (N, D) points of
its protocols, with multiplicative noise on the loss:

* ``supervised_design``: 11 fixed-M (M = D/N = 20) runs, 6 runs at 512B tokens and
  4 IsoFLOP profiles at 3e19, 1e20, 3e20, 1e21 FLOPs (C = 3 F(N) D, Eq. 70) of up to
  14 Table-13 sizes with 2 <= M <= 500 (12 fit at 3e19): 71 runs (the paper: 73);
* ``distillation_design``: the paper's protocols (§4.2, App. E): fixed-M teachers
  with IsoFLOP students, IsoFLOP teachers with fixed-M students, and fixed-M
  teachers with fixed-M students: 698 runs (the paper fitted 697).

Model sizes are the non-embedding counts of Table 13.  Every number here is a
*design choice of this book* made to resemble the paper; the paper does not list
its runs.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis._checks import in_range, integer
from analysis.flops import forward_flops_per_token
from analysis.laws import (
    PAPER_DISTILLATION,
    PAPER_SUPERVISED,
    DistillationCoefficients,
    SupervisedCoefficients,
    _distillation,
    _supervised,
    distilled_loss,
    supervised_loss,
)

__all__ = ["TABLE13_N", "ISOFLOP_BUDGETS", "supervised_design", "distillation_design"]

#: Non-embedding parameters of the Table 13 model family.
TABLE13_N = np.array([
    0.1028, 0.1434, 0.1983, 0.2657, 0.3398, 0.4348, 0.546, 0.6636, 0.8096, 0.9755, 1.147,
    1.355, 1.586, 1.821, 2.102, 2.41, 2.718, 3.082, 3.478, 3.87, 4.329, 4.823, 5.309, 5.873,
    6.476, 7.066, 7.747, 8.47, 9.173, 10.05, 10.84, 11.66, 12.61]) * 1e9

#: The IsoFLOP budgets of the paper (FLOPs).
ISOFLOP_BUDGETS = (3e19, 1e20, 3e20, 1e21)


def _nearest(sizes_b):
    """Table 13 sizes nearest to the given sizes in billions."""
    idx = [int(np.argmin(np.abs(np.log(TABLE13_N / (s * 1e9))))) for s in sizes_b]
    return TABLE13_N[idx]


def _isoflop_sizes(C, n_points, m_range=(2.0, 500.0)):
    """``n_points`` Table 13 sizes along an IsoFLOP profile at budget C, spread evenly
    in log N among those with tokens-per-parameter in ``m_range``."""
    D = C / (3.0 * forward_flops_per_token(TABLE13_N))
    M = D / TABLE13_N
    ok = np.flatnonzero((M >= m_range[0]) & (M <= m_range[1]))
    pick = np.unique(np.round(np.linspace(ok[0], ok[-1], n_points)).astype(int))
    return TABLE13_N[pick], D[pick]


def _noisy(loss, sigma, rng):
    return loss * np.exp(sigma * rng.standard_normal(np.shape(loss)))


def supervised_design(sigma: float = 0.005, seed: int = 0,
                      coef: SupervisedCoefficients = PAPER_SUPERVISED) -> pd.DataFrame:
    """71 supervised runs (columns protocol, N, D, C, loss_true, loss) with
    log-normal noise of standard deviation ``sigma`` on the loss."""
    sigma = in_range("sigma", sigma, 0.0, 1.0)
    _supervised("coef", coef)
    rng = np.random.default_rng(integer("seed", seed, 0, 2**63 - 1))
    rows = []
    fixed = _nearest([0.103, 0.143, 0.198, 0.34, 0.546, 0.975, 1.82, 2.72, 4.82, 7.75, 12.6])
    rows += [("fixed-M", n, 20.0 * n) for n in fixed]
    rows += [("512B tokens", n, 512e9) for n in _nearest([0.143, 0.198, 0.546, 0.975, 1.82, 2.72])]
    for C in ISOFLOP_BUDGETS:
        Ns, Ds = _isoflop_sizes(C, 14)
        rows += [(f"IsoFLOP {C:.0e}", n, d) for n, d in zip(Ns, Ds)]
    df = pd.DataFrame(rows, columns=["protocol", "N", "D"])
    df["C"] = 3.0 * forward_flops_per_token(df["N"].to_numpy()) * df["D"].to_numpy()
    df["loss_true"] = supervised_loss(df["N"].to_numpy(), df["D"].to_numpy(), coef)
    df["loss"] = _noisy(df["loss_true"].to_numpy(), sigma, rng)
    return df


def distillation_design(sigma: float = 0.005, seed: int = 0,
                        coef: DistillationCoefficients = PAPER_DISTILLATION,
                        supervised: SupervisedCoefficients = PAPER_SUPERVISED) -> pd.DataFrame:
    """698 distillation runs (columns protocol, N_T, D_T, N_S, D_S, L_T_true, L_T,
    L_S_true, L_S).  The teacher's loss is a *measured* supervised loss (noisy);
    the student's true loss uses the measured teacher loss, as the paper's fit does."""
    sigma = in_range("sigma", sigma, 0.0, 1.0)
    _distillation("coef", coef), _supervised("supervised", supervised)
    rng = np.random.default_rng(integer("seed", seed, 0, 2**63 - 1))
    rows = []
    # 1. fixed-M teachers, IsoFLOP students (6 x 4 x 12 = 288)
    teachers = _nearest([0.546, 0.975, 1.82, 2.72, 4.82, 7.75])
    for nt in teachers:
        for C in ISOFLOP_BUDGETS:
            Ns, Ds = _isoflop_sizes(C, 12)
            rows += [("fixed-M teacher / IsoFLOP student", nt, 20 * nt, n, d) for n, d in zip(Ns, Ds)]
    # 2. IsoFLOP teachers, fixed-M students (4 x 10 x 4 = 160)
    students = _nearest([0.198, 0.546, 0.975, 1.82])
    for C in ISOFLOP_BUDGETS:
        Nt, Dt = _isoflop_sizes(C, 10)
        for nt, dt in zip(Nt, Dt):
            rows += [("IsoFLOP teacher / fixed-M student", nt, dt, n, 20 * n) for n in students]
    # 3. fixed-M teachers, fixed-M students (10 x 5 x 5 = 250)
    teachers3 = _nearest([0.198, 0.34, 0.546, 0.975, 1.82, 2.72, 4.82, 7.75, 10.05, 12.6])
    students3 = _nearest([0.103, 0.143, 0.198, 0.34, 0.546])
    for nt in teachers3:
        for ns in students3:
            rows += [("fixed-M teacher / fixed-M student", nt, 20 * nt, ns, m * ns)
                     for m in (20, 40, 80, 160, 320)]
    df = pd.DataFrame(rows, columns=["protocol", "N_T", "D_T", "N_S", "D_S"])
    df["L_T_true"] = supervised_loss(df["N_T"].to_numpy(), df["D_T"].to_numpy(), supervised)
    # one measured loss per distinct teacher
    teach = df[["N_T", "D_T"]].drop_duplicates().reset_index(drop=True)
    teach["L_T"] = _noisy(supervised_loss(teach["N_T"].to_numpy(), teach["D_T"].to_numpy(),
                                          supervised), sigma, rng)
    df = df.merge(teach, on=["N_T", "D_T"], how="left")
    df["L_S_true"] = distilled_loss(df["N_S"].to_numpy(), df["D_S"].to_numpy(),
                                    df["L_T"].to_numpy(), coef, supervised)
    df["L_S"] = _noisy(df["L_S_true"].to_numpy(), sigma, rng)
    return df
