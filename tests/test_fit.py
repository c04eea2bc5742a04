"""Tests of analysis.fit: analytic gradients, recovery, bad input, bootstrap."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analysis import fit as F
from analysis.designs import distillation_design, supervised_design
from analysis.laws import (
    PAPER_DISTILLATION,
    PAPER_SUPERVISED,
    distilled_loss,
    log_distilled_loss,
    log_supervised_loss,
    supervised_loss,
)

SUP = supervised_design(sigma=0.0)
DIS = distillation_design(sigma=0.0)


LAWS = {"supervised": F.SUPERVISED, "chinchilla": F.CHINCHILLA, "distillation": F.DISTILLATION}


def _data(law):
    if law.name == "distillation":
        return dict(N_S=DIS.N_S, D_S=DIS.D_S, L_T=DIS.L_T, L_S=DIS.L_S, supervised=PAPER_SUPERVISED)
    return dict(N=SUP.N, D=SUP.D, loss=SUP.loss)


def _problem(kind, residual="log", delta=0.05):
    law = LAWS[kind] if isinstance(kind, str) else kind
    return F._problem(law, delta, residual, _data(law))


def _fd_grad(prob, x, h=1e-6):
    return np.array([(F.objective_and_gradient(prob, x + e)[0]
                      - F.objective_and_gradient(prob, x - e)[0]) / (2 * h)
                     for e in np.eye(x.size) * h])


CENTRES = {
    "supervised": np.array([8.1, 9.8, 0.2, 0.41, 0.43, 0.45]),
    "chinchilla": np.array([6.0, 7.5, 0.6, 0.34, 0.28]),
    "distillation": np.array([7.7, 10.1, 0.32, 0.64, 0.76, 2.5, 1.3, 0.5, 0.27]),
}


@pytest.mark.parametrize("kind", ["supervised", "chinchilla", "distillation"])
@pytest.mark.parametrize("residual", ["log", "printed"])
@settings(max_examples=8, deadline=None)
@given(seed=st.integers(0, 10_000))
def test_gradient_matches_finite_differences(kind, residual, seed):
    rng = np.random.default_rng(seed)
    prob = _problem(kind, residual)
    x = CENTRES[kind] + rng.normal(0, 0.05, CENTRES[kind].size)
    _, g = F.objective_and_gradient(prob, x)
    np.testing.assert_allclose(g, _fd_grad(prob, x), rtol=2e-4, atol=1e-7)


def test_gradient_with_weights_and_small_delta():
    prob = _problem("distillation", delta=1e-4)
    x = CENTRES["distillation"]
    w = np.random.default_rng(1).integers(0, 3, prob.n).astype(float)
    _, g = F.objective_and_gradient(prob, x, w)
    num = np.array([(F.objective_and_gradient(prob, x + e, w)[0]
                     - F.objective_and_gradient(prob, x - e, w)[0]) / 2e-7
                    for e in np.eye(x.size) * 1e-7])
    np.testing.assert_allclose(g, num, rtol=1e-3, atol=1e-6)


def test_forward_matches_laws():
    coef = PAPER_DISTILLATION
    theta = np.array([np.log(coef.A), np.log(coef.B), coef.alpha, coef.beta, coef.gamma,
                      coef.c0, coef.c1, coef.f1, np.log(coef.d1)])
    prob = _problem("distillation")
    y, _ = F.DISTILLATION.predict(theta[None, :], prob.inputs, True)
    np.testing.assert_allclose(y[0], log_distilled_loss(DIS.N_S, DIS.D_S, DIS.L_T), rtol=1e-12)
    s = PAPER_SUPERVISED
    theta = np.array([np.log(s.A), np.log(s.B), np.log(s.E), s.alpha, s.beta, s.gamma])
    y, _ = F.SUPERVISED.predict(theta[None, :], _problem("supervised").inputs, True)
    np.testing.assert_allclose(y[0], log_supervised_loss(SUP.N, SUP.D), rtol=1e-12)


def _small_grid(center: dict, names, spread):
    return {k: (center[k] - spread.get(k, 0.0), center[k] + spread.get(k, 0.0)) if k in spread
            else (center[k],) for k in names}


def test_supervised_recovery_noiseless():
    s = PAPER_SUPERVISED
    centre = {"log_A": np.log(s.A), "log_B": np.log(s.B), "log_E": np.log(s.E),
              "alpha": s.alpha, "beta": s.beta, "gamma": s.gamma}
    grid = _small_grid(centre, F.SUPERVISED_PARAMS, {"log_A": 1.0, "alpha": 0.1, "gamma": 0.1})
    r = F.fit_supervised(SUP.N, SUP.D, SUP.loss, grid=grid)
    assert r.n_starts == 8 and r.n_converged >= 1
    got, want = r.coefficients.as_dict(), s.as_dict()
    for k in want:
        assert got[k] == pytest.approx(want[k], rel=2e-3), k
    assert np.max(np.abs(r.residuals)) < 1e-5


def test_chinchilla_recovery_noiseless():
    true = dict(E=1.8172, A=482.01, B=2085.43, alpha=0.3478, beta=0.3658)
    N = np.geomspace(7e7, 1.6e10, 12).repeat(4)
    D = np.tile([2e9, 1e10, 5e10, 2e11], 12) * (1 + 0.1 * np.arange(48) / 48)
    L = true["E"] + true["A"] / N ** true["alpha"] + true["B"] / D ** true["beta"]
    r = F.fit_chinchilla(N, D, L)
    got = r.coefficients.as_dict()
    for k, v in true.items():
        assert got[k] == pytest.approx(v, rel=5e-3), k
    assert got["gamma"] == 1.0


def test_distillation_recovery_noiseless():
    c = PAPER_DISTILLATION
    centre = {"log_A": np.log(c.A), "log_B": np.log(c.B), "alpha": c.alpha, "beta": c.beta,
              "gamma": c.gamma, "c0": c.c0, "c1": c.c1, "f1": c.f1, "log_d1": np.log(c.d1)}
    grid = _small_grid(centre, F.DISTILLATION_PARAMS, {"c0": 0.2, "log_d1": 0.05})
    r = F.fit_distillation(DIS.N_S, DIS.D_S, DIS.L_T, DIS.L_S, grid=grid,
                           search=dataclasses.replace(F.DISTILLATION_SEARCH, n_polish=4))
    assert np.max(np.abs(r.residuals)) < 1e-5
    got = r.coefficients.as_dict()
    for k in ("c0", "f1", "d1"):
        assert got[k] == pytest.approx(getattr(c, k), rel=2e-2), k


def test_distillation_with_measured_twins_recovers_the_law():
    """Eq. 8 with L~_S given as data (the twins' losses) fits noiseless runs made with L~_S
    from the supervised law exactly, and recovers the capacity-gap coefficients."""
    c = PAPER_DISTILLATION
    centre = {"log_A": np.log(c.A), "log_B": np.log(c.B), "alpha": c.alpha, "beta": c.beta,
              "gamma": c.gamma, "c0": c.c0, "c1": c.c1, "f1": c.f1, "log_d1": np.log(c.d1)}
    grid = _small_grid(centre, F.DISTILLATION_PARAMS, {"c0": 0.2, "log_d1": 0.05})
    twins = np.asarray(supervised_loss(DIS.N_S, DIS.D_S))
    r = F.fit(F.DISTILLATION_TWINS, grid=grid, search=dataclasses.replace(F.DISTILLATION_SEARCH, n_polish=4),
              N_S=DIS.N_S, D_S=DIS.D_S, L_T=DIS.L_T, L_S=DIS.L_S, L_tilde=twins)
    assert np.max(np.abs(r.residuals)) < 1e-5
    got = r.coefficients.as_dict()
    for k in ("c0", "f1", "d1"):
        assert got[k] == pytest.approx(getattr(c, k), rel=2e-2), k
    with pytest.raises(ValueError, match="L_tilde"):
        F.fit(F.DISTILLATION_TWINS, grid=grid, N_S=DIS.N_S, D_S=DIS.D_S, L_T=DIS.L_T, L_S=DIS.L_S,
              L_tilde=-twins)


def test_paper_grid_sizes():
    assert F.grid_starts(F.PAPER_SUPERVISED_GRID)[1].shape == (9600, 6)
    assert F.grid_starts(F.PAPER_DISTILLATION_GRID)[1].shape == (216_000, 9)
    assert F.grid_starts(F.CHINCHILLA_GRID)[1].shape == (4500, 5)


TINY = {k: (v[1],) for k, v in F.PAPER_SUPERVISED_GRID.items()}


@pytest.mark.parametrize("bad, match", [
    (dict(N=[1e8] * 5, D=[1e9] * 5, loss=[3.0] * 5), "too few runs"),
    (dict(N=[1e8, np.nan] * 5, D=[1e9] * 10, loss=[3.0] * 10), "N must be finite"),
    (dict(N=[1e8] * 10, D=[1e9] * 9 + [-1], loss=[3.0] * 10), "D must be finite and > 0"),
    (dict(N=[1e8] * 10, D=[1e9] * 10, loss=[3.0] * 9 + [0.0]), "loss must be finite"),
    (dict(N=[1e8] * 10, D=[1e9] * 9, loss=[3.0] * 10), "same length"),
])
def test_bad_data(bad, match):
    with pytest.raises(ValueError, match=match):
        F.fit_supervised(**bad, grid=TINY)


def test_bad_settings():
    args = (SUP.N, SUP.D, SUP.loss)
    with pytest.raises(ValueError, match="delta"):
        F.fit_supervised(*args, delta=0.0, grid=TINY)
    with pytest.raises(ValueError, match="residual"):
        F.fit_supervised(*args, residual="linear", grid=TINY)
    with pytest.raises(ValueError, match="grid"):
        F.fit_supervised(*args, grid={"log_A": (1.0,)})
    with pytest.raises(ValueError, match="too few runs"):
        F.fit_distillation(DIS.N_S[:9], DIS.D_S[:9], DIS.L_T[:9], DIS.L_S[:9])
    with pytest.raises(ValueError, match="supervised"):
        F.fit_distillation(DIS.N_S, DIS.D_S, DIS.L_T, DIS.L_S, supervised={"E": 1})


def test_fixed_coefficients_stay_put_and_the_rest_is_refitted():
    """fixed= holds coefficients through screen, descent and polish; the free ones still
    reach the noiseless truth, and the grid collapses on the fixed ones."""
    s = PAPER_SUPERVISED
    grid = {k: v[1:3] for k, v in F.PAPER_SUPERVISED_GRID.items()}
    fit = F.fit_supervised(SUP.N, SUP.D, SUP.loss, grid=grid,
                           fixed={"gamma": s.gamma, "E": s.E, "A": s.A, "alpha": s.alpha})
    got = fit.coefficients
    assert got.gamma == s.gamma and got.alpha == s.alpha
    assert got.E == pytest.approx(s.E, rel=1e-12) and got.A == pytest.approx(s.A, rel=1e-12)
    assert got.B == pytest.approx(s.B, rel=1e-4) and got.beta == pytest.approx(s.beta, rel=1e-5)
    assert fit.n_starts == 4  # 2 x 2 starts left for log_B and beta
    c = PAPER_DISTILLATION
    held = {k: v for k, v in c.as_dict().items() if k != "c0"}
    dfit = F.fit_distillation(DIS.N_S, DIS.D_S, DIS.L_T, DIS.L_S, fixed=held)
    assert {k: v for k, v in dfit.coefficients.as_dict().items() if k != "c0"} == pytest.approx(held, rel=1e-12)
    assert dfit.coefficients.c0 == pytest.approx(c.c0, rel=1e-5)
    with pytest.raises(ValueError, match="held fixed"):
        F.profile_objective(dfit, "c1", [1.0])


def test_holding_is_a_law_without_the_held_parameters():
    held = F.DISTILLATION.holding({"d1": 0.8, "c0": 2.0})
    assert held.parameters == tuple(k for k in F.DISTILLATION.parameters if k not in ("log_d1", "c0"))
    assert set(held.grid) == set(held.parameters) and "c0" not in held.lower
    assert held.fixed == {"log_d1": pytest.approx(np.log(0.8), abs=0), "c0": 2.0}
    assert F.DISTILLATION.holding({}) is F.DISTILLATION
    with pytest.raises(ValueError, match="unknown coefficient 'gamma'"):
        F.CHINCHILLA.holding({"gamma": 0.9})  # already held by the law itself


def test_fast_screen_with_held_parameters_matches_the_generic_objective():
    """The distillation law's screen reads held parameters as constant columns: it agrees
    with the generic float64 objective to float32 rounding, as without held parameters."""
    law = F.DISTILLATION.holding({"c1": 2.0, "alpha": 0.4})
    prob = _problem(law, delta=1e-4)
    _, starts = F.grid_starts({k: law.grid[k][:2] for k in law.parameters})
    starts = np.maximum(starts, prob.lower)
    fast = law.screen(prob, starts)
    slow = F._batch_objective(prob, starts, need_grad=False)
    np.testing.assert_allclose(fast, slow, rtol=1e-4)


def test_profile_continuation_is_never_worse_than_a_polish_from_the_optimum():
    r = _small_fit()
    values = r.theta[3] * np.array([0.6, 0.8, 1.0, 1.3, 1.7])
    plain = F.profile_objective(r, "alpha", values)
    cont = F.profile_objective(r, "alpha", values, continuation=True)
    assert np.all(cont <= plain) and cont[2] == pytest.approx(r.objective, rel=1e-6)
    assert np.all(np.diff(cont[2:]) > 0) and np.all(np.diff(cont[:3]) < 0)


@pytest.mark.parametrize("fixed, match", [
    ({"delta": 1.0}, "unknown coefficient"),
    ({"A": -1.0}, "must be finite and > 0"),
    ({"alpha": -0.1}, "must be finite and >= "),
    ({k: 1.0 for k in ("E", "A", "B", "alpha", "beta", "gamma")}, "at least one"),
])
def test_bad_fixed(fixed, match):
    with pytest.raises(ValueError, match=match):
        F.fit_supervised(SUP.N, SUP.D, SUP.loss, grid=TINY, fixed=fixed)


def test_no_converged_start_raises():
    with pytest.raises(RuntimeError, match="no start converged"):
        F.fit_supervised(SUP.N, SUP.D, SUP.loss, grid=TINY, search=F.Search(maxiter=1))


def test_printed_objective_runs_and_differs():
    noisy = supervised_design(sigma=0.005, seed=3)
    grid = {k: v[1:3] for k, v in F.PAPER_SUPERVISED_GRID.items()}
    a = F.fit_supervised(noisy.N, noisy.D, noisy.loss, grid=grid)
    b = F.fit_supervised(noisy.N, noisy.D, noisy.loss, grid=grid, residual="printed")
    assert b.problem.residual == "printed"
    # the printed variant fits log L^ to L: its predictions are far from the data
    pred = supervised_loss(noisy.N, noisy.D, b.coefficients)
    assert np.median(np.abs(pred / noisy.loss - 1)) > 0.05
    assert np.median(np.abs(supervised_loss(noisy.N, noisy.D, a.coefficients) / noisy.loss - 1)) < 0.01


def _small_fit():
    noisy = supervised_design(sigma=0.005, seed=1)
    s = PAPER_SUPERVISED
    grid = {"log_A": (np.log(s.A),), "log_B": (np.log(s.B),), "log_E": (np.log(s.E),),
            "alpha": (s.alpha,), "beta": (s.beta,), "gamma": (s.gamma,)}
    return F.fit_supervised(noisy.N, noisy.D, noisy.loss, grid=grid)


def test_bootstrap_is_deterministic():
    r = _small_fit()
    a = F.bootstrap(r, n_resamples=16, seed=7)
    b = F.bootstrap(r, n_resamples=16, seed=7)
    c = F.bootstrap(r, n_resamples=16, seed=8)
    np.testing.assert_array_equal(a.samples, b.samples)
    assert not np.array_equal(a.samples, c.samples)
    assert set(a.intervals) >= {"E", "A", "B", "alpha", "beta", "gamma", "a", "b"}
    lo, hi = a.intervals["alpha"]
    assert lo <= hi
    with pytest.raises(ValueError, match="level"):
        F.bootstrap(r, n_resamples=4, level=1.5)


def test_bootstrap_counts_an_overflowing_resample_as_failed(monkeypatch):
    """A resample whose optimum runs off to log A = 1e4 (A = inf) is a failed resample,
    not an error that ends the bootstrap."""
    r = _small_fit()
    real_polish = F._polish
    calls = {"n": 0}

    def polish(prob, theta, **kw):
        res = real_polish(prob, theta, **kw)
        calls["n"] += 1
        if calls["n"] == 2:
            res.x = res.x.copy()
            res.x[0] = 1e4  # log_A
        return res

    monkeypatch.setattr(F, "_polish", polish)
    b = F.bootstrap(r, n_resamples=4, seed=0)
    assert b.n_failed == 1 and np.isnan(b.samples[1]).all() and np.isfinite(b.samples[0]).all()




def test_profile_objective_at_the_optimum_and_bad_names():
    r = _small_fit()
    at_opt = F.profile_objective(r, "alpha", [r.theta[3]])
    assert at_opt[0] == pytest.approx(r.objective, rel=1e-6)
    away = F.profile_objective(r, "alpha", [r.theta[3] * 1.5])
    assert away[0] > r.objective
    with pytest.raises(ValueError, match="name must be one of"):
        F.profile_objective(r, "c1", [1.0])
    with pytest.raises(ValueError, match="finite"):
        F.profile_objective(r, "alpha", [-1.0])


def test_distinct_best_skips_near_copies():
    pts = np.array([[0.0, 0.0], [0.01, 0.0], [1.0, 1.0], [2.0, 2.0]])
    f = np.array([1.0, 1.1, 1.2, np.inf])
    assert F._distinct_best(pts, f, 3).tolist() == [0, 2]


def test_stored_fits_and_bootstrap_match_fresh_recomputation():
    """The chapter loads data/fits/*.csv made by scripts/make_fits.py: recompute one
    stored fit and the first resamples of its bootstrap and compare."""
    from analysis import stored

    desc, fn = stored.fit_specs()["sup_synth"]
    fresh = fn()
    row = stored.load_fits().loc["sup_synth"]
    assert fresh.objective == pytest.approx(row["objective"], rel=1e-6)
    for k, v in fresh.coefficients.as_dict().items():
        assert v == pytest.approx(row[k], rel=1e-3), k
    assert stored.stored_coefficients("sup_synth").as_dict() == pytest.approx(fresh.coefficients.as_dict(),
                                                                               rel=1e-3)
    boot = F.bootstrap(fresh, n_resamples=3, seed=stored.SEED)
    stored_boot = stored.load_bootstrap("sup_synth")
    for i in range(3):
        np.testing.assert_allclose(boot.samples[i], stored_boot.loc[i, list(boot.names)].to_numpy(float),
                                   rtol=1e-3)
    with pytest.raises(ValueError, match="no stored fit"):
        stored.stored_coefficients("no_such_fit")


# ------------------------------------------------------------ laws as specifications

#: A law variant is one declaration: Eq. 1 with the irreducible loss held at the truth.
FIXED_E = F.SupervisedLaw(name="supervised, E fixed", parameters=("log_A", "log_B", "alpha", "beta", "gamma"),
                          lower={"alpha": 1e-6, "beta": 1e-6, "gamma": 1e-6},
                          grid={k: v for k, v in F.PAPER_SUPERVISED_GRID.items() if k != "log_E"},
                          fixed={"log_E": float(np.log(PAPER_SUPERVISED.E))})


@settings(max_examples=6, deadline=None)
@given(seed=st.integers(0, 10_000))
def test_law_variant_gradient_matches_finite_differences(seed):
    prob = _problem(FIXED_E)
    x = np.array([8.1, 9.8, 0.41, 0.43, 0.45]) + np.random.default_rng(seed).normal(0, 0.05, 5)
    _, g = F.objective_and_gradient(prob, x)
    np.testing.assert_allclose(g, _fd_grad(prob, x), rtol=2e-4, atol=1e-7)


def test_law_variant_fits_and_keeps_its_fixed_parameter():
    s = PAPER_SUPERVISED
    grid = {"log_A": (np.log(s.A) - 0.5, np.log(s.A) + 0.5), "log_B": (np.log(s.B),), "alpha": (s.alpha,),
            "beta": (s.beta,), "gamma": (s.gamma - 0.05, s.gamma + 0.05)}
    r = F.fit(FIXED_E, grid=grid, N=SUP.N, D=SUP.D, loss=SUP.loss)
    assert r.parameter_names == FIXED_E.parameters and r.theta.size == 5
    assert r.coefficients.E == pytest.approx(s.E, rel=1e-12)
    for k, v in s.as_dict().items():
        assert getattr(r.coefficients, k) == pytest.approx(v, rel=2e-3), k
    assert np.max(np.abs(r.residuals)) < 1e-5


def test_parameters_are_looked_up_by_name():
    """A law with its parameters in another order gives the same predictions."""
    shuffled = dataclasses.replace(F.SUPERVISED, parameters=("gamma", "beta", "alpha", "log_E", "log_B", "log_A"))
    s = PAPER_SUPERVISED
    by_name = {"log_A": np.log(s.A), "log_B": np.log(s.B), "log_E": np.log(s.E), "alpha": s.alpha,
               "beta": s.beta, "gamma": s.gamma}
    a = F.evaluate(F.SUPERVISED, by_name, N=SUP.N, D=SUP.D, loss=SUP.loss)
    b = F.evaluate(shuffled, by_name, N=SUP.N, D=SUP.D, loss=SUP.loss)
    np.testing.assert_allclose(a.residuals, b.residuals, rtol=0, atol=1e-15)
    assert a.coefficients == b.coefficients
    prob = _problem(shuffled)
    x = np.array([by_name[k] for k in shuffled.parameters]) + 0.01
    np.testing.assert_allclose(F.objective_and_gradient(prob, x)[1], _fd_grad(prob, x), rtol=2e-4, atol=1e-7)


def test_evaluate_rebuilds_a_fit_exactly():
    r = _small_fit()
    noisy = supervised_design(sigma=0.005, seed=1)
    again = F.evaluate(F.SUPERVISED, r.theta, N=noisy.N, D=noisy.D, loss=noisy.loss)
    assert again.objective == r.objective
    np.testing.assert_array_equal(again.residuals, r.residuals)
    assert again.coefficients == r.coefficients and again.n_starts == 0
    assert F.profile_objective(again, "alpha", [r.theta[3]])[0] == pytest.approx(r.objective, rel=1e-6)
    with pytest.raises(ValueError, match="theta must hold 6 finite numbers"):
        F.evaluate(F.SUPERVISED, r.theta[:5], N=noisy.N, D=noisy.D, loss=noisy.loss)
    with pytest.raises(ValueError, match="missing parameters"):
        F.evaluate(F.SUPERVISED, {"log_A": 1.0}, N=noisy.N, D=noisy.D, loss=noisy.loss)
    with pytest.raises(TypeError, match="law must be a Law"):
        F.fit("supervised", N=noisy.N, D=noisy.D, loss=noisy.loss)
    with pytest.raises(TypeError, match="search must be a Search"):
        F.fit(F.SUPERVISED, search={"n_polish": 2}, N=noisy.N, D=noisy.D, loss=noisy.loss)


def test_bootstrap_result_from_stored_samples_equals_the_original():
    b = F.bootstrap(_small_fit(), n_resamples=8, seed=3)
    again = F.BootstrapResult.from_samples(b.names, b.samples, b.level, b.seed)
    assert again.intervals == b.intervals and again.n_failed == b.n_failed
