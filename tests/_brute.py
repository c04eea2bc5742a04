"""Dense brute-force reference for the compute-optimal distillation problem.

Independent of analysis.recipes' solver: a dense grid over (log N_T, log D_T)
in the box (default [1e6, 1e17])^2 with D_S = the budget's remainder (clipped to
the box), followed by a second dense grid of +-2 cells around the best coarse
point. The laws' coefficients default to the paper's, F(N) to Eq. 69; a scenario is
any object with the shares ``delta_logits`` and ``delta_pretraining``.
"""

import numpy as np

from analysis.flops import Scenario, forward_flops_per_token
from analysis.laws import PAPER_DISTILLATION, PAPER_SUPERVISED, distilled_loss, supervised_loss


def _loss(N_S, C, scenario, log_nt, log_dt, sup, dist, lo, hi, flops):
    n_t, d_t = np.exp(log_nt), np.exp(log_dt)
    f_s, f_t = flops(N_S), flops(n_t)
    d_s = (C - scenario.delta_pretraining * 3 * f_t * d_t) / (3 * f_s + scenario.delta_logits * f_t)
    ok = d_s >= lo
    val = distilled_loss(N_S, np.clip(d_s, lo, hi), supervised_loss(n_t, d_t, sup), dist, sup)
    return np.where(ok, val, np.inf)


def brute_force(N_S, C, scenario, n=500, n_fine=121, *, supervised=PAPER_SUPERVISED,
                distillation=PAPER_DISTILLATION, bounds=(1e6, 1e17), flops=forward_flops_per_token):
    if isinstance(scenario, str):
        scenario = Scenario.parse(scenario)
    lo, hi = bounds
    LO, HI = np.log(lo), np.log(hi)
    args = (supervised, distillation, lo, hi, flops)
    axis = np.linspace(LO, HI, n)
    X, Y = np.meshgrid(axis, axis, indexing="ij")
    vals = _loss(N_S, C, scenario, X, Y, *args)
    i, j = np.unravel_index(np.argmin(vals), vals.shape)
    h = axis[1] - axis[0]
    fx = np.clip(np.linspace(axis[i] - 2 * h, axis[i] + 2 * h, n_fine), LO, HI)
    fy = np.clip(np.linspace(axis[j] - 2 * h, axis[j] + 2 * h, n_fine), LO, HI)
    FX, FY = np.meshgrid(fx, fy, indexing="ij")
    fine = _loss(N_S, C, scenario, FX, FY, *args)
    k = np.unravel_index(np.argmin(fine), fine.shape)
    return float(min(fine[k], vals[i, j])), float(np.exp(FX[k])), float(np.exp(FY[k]))
