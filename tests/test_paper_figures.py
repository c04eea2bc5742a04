"""Tests of analysis.paper_figures: each figure's curves against a direct evaluation of the laws,
each minimum against a dense grid, and the reading of the stored recipe sweep."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.flops import forward_flops_per_token
from analysis.laws import distilled_loss, supervised_loss
from analysis.paper_figures import (TABLE13_N, allocation_jumps, allocation_shares, fixed_compute_teacher_grid,
                                    fixed_m_teacher_contours, fixed_m_teacher_loss, fixed_m_teachers,
                                    student_isoflops, teacher_isoflops)
from analysis.recipes import supervised_compute_optimal

SWEEP = pd.read_csv(Path(__file__).resolve().parents[1] / "data" / "recipes" / "sweep.csv")


def dense_min(fun, lo, hi, n=200_001):
    x = np.geomspace(lo, hi, n)
    v = fun(x)
    return x[np.argmin(v)], v.min()


def test_fixed_m_teachers_curves_and_minima():
    out = fixed_m_teachers(students=("143M",), student_m=(20, 320), teacher_params=np.geomspace(1e8, 1e13, 50))
    row = out.curves.iloc[7]
    n_s = TABLE13_N["143M"]
    assert row.student_loss == pytest.approx(float(distilled_loss(n_s, 20 * n_s, fixed_m_teacher_loss(row.x))))
    for r in out.minima.itertuples():
        x, f = dense_min(lambda n: distilled_loss(r.N_S, r.M_S * r.N_S, fixed_m_teacher_loss(n)), 1e8, 1e13)
        assert r.student_loss_star == pytest.approx(f, abs=1e-9)
        assert r.x_star == pytest.approx(x, rel=1e-3)
        assert not r.on_edge
    # on the figure's own axis (300M-14B) the 143M, M_S = 20 optimum lies on the edge
    edge = fixed_m_teachers(students=("143M",), student_m=(20,)).minima
    assert bool(edge.on_edge.iloc[0]) and edge.x_star.iloc[0] == pytest.approx(1.4e10)


def test_student_isoflops_spend_the_budget_and_find_the_minimum():
    out = student_isoflops(teachers=("975M",), budgets=(1e20,))
    c = out.curves
    assert np.allclose(3 * forward_flops_per_token(c.x) * c.student_tokens, 1e20)
    lt = fixed_m_teacher_loss(TABLE13_N["975M"])
    x, f = dense_min(lambda n: distilled_loss(n, 1e20 / (3 * forward_flops_per_token(n)), lt), 5e7, 2e10)
    assert out.minima.x_star.iloc[0] == pytest.approx(x, rel=1e-3)


def test_teacher_isoflop_optimum_is_the_supervised_compute_optimal_teacher():
    out = teacher_isoflops(students=("198M", "1.82B"), budgets=(3e19, 1e21))
    for r in out.minima.itertuples():
        assert r.x_star == pytest.approx(supervised_compute_optimal(r.C_T).params, rel=1e-4)
    c = out.curves.iloc[3]
    assert c.teacher_loss == pytest.approx(float(supervised_loss(c.x, 3e19 / (3 * forward_flops_per_token(c.x)))))


def test_fixed_m_contours_change_sign():
    grids = fixed_m_teacher_contours(teachers=("546M", "7.75B"))
    for name, g in grids.items():
        assert g["delta"].min() < 0 < g["delta"].max(), name
        assert g["teacher_loss"] == pytest.approx(float(fixed_m_teacher_loss(TABLE13_N[name])))


def test_fixed_compute_grid_marks_unreachable_teachers():
    g = fixed_compute_teacher_grid(1e9, 1e22, teacher_params=np.array([1e9, 1e11]), teacher_losses=np.array([1.6, 2.4]))
    assert np.isnan(g["student_loss"][0, 0])             # a 1B teacher cannot reach 1.6 nats
    assert np.isfinite(g["student_loss"][1, 1])
    d_s = 1e22 / (3 * forward_flops_per_token(1e9) + forward_flops_per_token(1e11))
    assert g["student_loss"][1, 1] == pytest.approx(float(distilled_loss(1e9, d_s, 2.4)))
    with pytest.raises(ValueError, match="compute"):
        fixed_compute_teacher_grid(1e9, -1.0)


def test_allocation_shares_and_jumps():
    inf = allocation_shares(SWEEP, "teacher-inference")
    parts = inf[["student_training", "teacher_logits", "teacher_pretraining"]].sum(axis=1)
    assert np.allclose(parts, 1.0) and (inf.teacher_pretraining == 0).all()
    # over the whole sweep every student's teacher shrinks abruptly once (300M's jump lies below 1e20)
    jumps = allocation_jumps(allocation_shares(SWEEP, "teacher-inference", compute_range=(1e18, 1e27)))
    assert jumps.jump.all() and (jumps.log10_step < 0).all()
    assert allocation_jumps(inf).jump.sum() == 7
    assert (jumps.teacher_loss_after > jumps.teacher_loss_before).all()
    pre = allocation_jumps(allocation_shares(SWEEP, "teacher-pretraining"))
    assert not pre.jump.any()
    with pytest.raises(ValueError, match="scenario must be one of"):
        allocation_shares(SWEEP, "no-such-scenario")


def test_bad_model_name():
    with pytest.raises(ValueError, match="students must hold model names among"):
        fixed_m_teachers(students=("150M",))


def test_teacher_inference_profile_matches_the_stored_recipe():
    from analysis.paper_figures import teacher_inference_profile

    r = SWEEP[(SWEEP.scenario == "teacher-inference") & np.isclose(SWEEP.student_params, 1e9)
              & np.isclose(SWEEP.compute, 1e22)].iloc[0]
    p = teacher_inference_profile(1e9, 1e22, teacher_params=np.geomspace(1e8, 1e11, 20001))
    best = p.loc[p.student_loss.idxmin()]
    assert best.student_loss == pytest.approx(r.student_loss, abs=1e-6)   # D_T sits at 1e17 (App. D.4.4)
    assert best.teacher_params == pytest.approx(r.teacher_params, rel=2e-3)
