"""Tests of analysis.capacity_gap: the kernel-regression closed forms of App. C.1 against a
constrained optimiser, the shape they imply, the MLP's gradients against finite
differences, and the stored MLP sweep (data/capacity_gap/mlp_runs.csv) against a fresh run
of some of its rows."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.optimize import minimize

from analysis.capacity_gap import (
    DEFAULT_SWEEP,
    RUN_COLUMNS,
    MappingTask,
    init_mlp,
    kernel_errors,
    kernel_student,
    kernel_teacher,
    loss_and_gradients,
    run_supervised,
    run_teacher_group,
    train_mlp,
)

DATA = Path(__file__).resolve().parents[1] / "data" / "capacity_gap" / "mlp_runs.csv"


def constrained_projection(target, span, radius):
    """argmin ||x - target|| over x supported on the first `span` coordinates with
    ||x|| <= radius, by SLSQP (independent of the closed forms)."""
    x0 = np.zeros(span)
    res = minimize(lambda x: np.sum((x - target[:span]) ** 2), x0, jac=lambda x: 2 * (x - target[:span]),
                   constraints=[{"type": "ineq", "fun": lambda x: radius**2 - x @ x,
                                 "jac": lambda x: -2 * x}], method="SLSQP",
                   options={"ftol": 1e-14, "maxiter": 500})
    out = np.zeros_like(target)
    out[:span] = res.x
    return out


@pytest.mark.parametrize("seed", range(6))
def test_kernel_closed_forms_match_a_constrained_optimiser(seed):
    rng = np.random.default_rng(seed)
    alpha = rng.uniform(-1, 1, 12)
    m, n = (int(v) for v in rng.integers(1, 13, 2))
    D = float(rng.uniform(0.3, 1.5))
    T = D + float(rng.uniform(0.0, 1.5))
    g = kernel_teacher(alpha, m, T)
    assert np.allclose(g, constrained_projection(alpha, m, T), atol=1e-6)
    h = kernel_student(alpha, m, n, T, D)
    assert np.allclose(h, constrained_projection(g, n, D), atol=1e-6)
    e = kernel_errors(alpha, np.array([m]), n, T, D)
    assert e.teacher[0] == pytest.approx(np.linalg.norm(g - alpha))
    assert e.student[0] == pytest.approx(np.linalg.norm(h - alpha))
    assert e.student[0] ** 2 == pytest.approx(e.student_reachable[0] ** 2 + e.floor**2)


def test_kernel_u_shape_and_no_gap_without_a_teacher_budget():
    alpha = np.random.default_rng(1).uniform(-1, 1, 300)
    m = np.arange(1, 301)
    for n in (20, 60, 150):
        e = kernel_errors(alpha, m, n, teacher_norm=5.0, student_norm=4.5)
        assert np.all(np.diff(e.teacher) <= 1e-12)                 # a larger span never hurts the teacher
        assert np.all(np.diff(e.student[:n]) <= 1e-12)             # falls up to m = n
        assert np.all(np.diff(e.student[n - 1:]) >= -1e-12)         # then never falls again
        assert e.student[-1] > e.student[n - 1] + 1e-3             # and ends higher: a capacity gap
        free = kernel_errors(alpha, m, n, teacher_norm=1e6, student_norm=4.5)
        assert np.all(np.diff(free.student) <= 1e-12)              # an unconstrained teacher: no gap


@pytest.mark.parametrize("kwargs, match", [(dict(m=0), "m must"), (dict(m=13), "m must"),
                                           (dict(teacher_norm=-1.0), "teacher_norm"),
                                           (dict(student_norm=0.0), "student_norm")])
def test_kernel_bad_input_names_the_argument(kwargs, match):
    args = dict(alpha=np.ones(12), m=3, n=4, teacher_norm=2.0, student_norm=1.0) | kwargs
    with pytest.raises(ValueError, match=match):
        kernel_student(**args)


def test_mapping_task_label_distribution():
    task = MappingTask(num_classes=8, strength=2.0)
    x, p, y = task.sample(np.random.default_rng(0), 50_000)
    assert x.shape == (50_000, 16) and set(np.unique(x[:, :8])) <= {0.0, 1.0, 2.0}
    assert np.allclose(x[:, 8:].sum(1), 1.0) and np.allclose(p.sum(1), 1.0)
    # labels are drawn from p*: the mean of one-hot labels matches the mean of p*
    assert np.allclose(np.bincount(y, minlength=8) / len(y), p.mean(0), atol=0.01)
    # each rule adds `strength` to one logit: with a huge strength p* is uniform over <= 3 classes
    sharp = MappingTask(num_classes=8, strength=50.0).label_distribution(
        np.array([[0, 1, 2, 0, 1, 2, 0, 1]]), np.array([2]))
    # rule 1: (2 + 2) % 8 = 4; rule 2: (2 + 6 + 0) % 8 = 0; rule 3: (4 + 1 + 4) % 8 = 1
    assert np.allclose(sharp[0, [0, 1, 4]], 1 / 3, atol=1e-12)
    with pytest.raises(ValueError, match="num_classes"):
        MappingTask(num_classes=2)


def test_mlp_gradients_match_finite_differences():
    rng = np.random.default_rng(3)
    params = {k: v.astype(np.float64) for k, v in init_mlp(6, 5, 4, rng).items()}
    x = rng.normal(size=(7, 6))
    target = np.exp(rng.normal(size=(7, 4)))
    target /= target.sum(1, keepdims=True)
    _, grads = loss_and_gradients(params, x, target)
    h = 1e-6
    for key, value in params.items():
        for idx in np.ndindex(value.shape):
            plus = {k: v.copy() for k, v in params.items()}
            minus = {k: v.copy() for k, v in params.items()}
            plus[key][idx] += h
            minus[key][idx] -= h
            numeric = (loss_and_gradients(plus, x, target)[0] - loss_and_gradients(minus, x, target)[0]) / (2 * h)
            assert grads[key][idx] == pytest.approx(numeric, abs=1e-6), (key, idx)


def test_training_is_seeded_and_lowers_the_loss():
    task = MappingTask()
    x, p, _ = task.sample(np.random.default_rng(9), 4000)
    a = train_mlp(task, 8, seed=5, samples=40 * 512)
    b = train_mlp(task, 8, seed=5, samples=40 * 512)
    assert all(np.array_equal(a.params[k], b.params[k]) for k in a.params)
    untrained = train_mlp(task, 8, seed=5, samples=2 * 512)
    from analysis.capacity_gap import evaluate_mlp
    assert evaluate_mlp(a, x, p)["loss"] < evaluate_mlp(untrained, x, p)["loss"] - 0.05


# --- the stored sweep -------------------------------------------------------------------------

@pytest.fixture(scope="module")
def runs():
    return pd.read_csv(DATA)


def test_stored_sweep_has_every_run(runs):
    s = DEFAULT_SWEEP
    assert list(runs.columns) == list(RUN_COLUMNS)
    n_students = len(s.student_widths)
    assert (runs.experiment == "supervised").sum() == s.trials * n_students
    assert (runs.experiment == "width").sum() == s.trials * len(s.teacher_widths) * n_students
    assert (runs.experiment == "data").sum() == s.trials * len(s.data_teacher_samples) * n_students
    bayes = s.task.bayes_loss(s.evaluation_set()[1])
    assert runs.student_loss.min() > bayes and runs.teacher_loss.min() > bayes
    assert runs[runs.experiment != "supervised"].kl_to_teacher.min() > 0


def _matches(stored: pd.DataFrame, fresh: list[dict]):
    for row in fresh:
        match = stored[np.isclose(stored.student_width, row["student_width"])]
        assert len(match) == 1
        got = match.iloc[0]
        assert got.student_loss == pytest.approx(row["student_loss"], abs=1e-3)
        if row["experiment"] != "supervised":
            assert got.teacher_loss == pytest.approx(row["teacher_loss"], abs=1e-3)
            assert got.kl_to_teacher == pytest.approx(row["kl_to_teacher"], abs=1e-3)


def test_stored_rows_recompute(runs):
    s = DEFAULT_SWEEP
    _matches(runs[(runs.experiment == "supervised") & (runs.trial == 1)], run_supervised(s, 1, widths=[8]))
    sel = (runs.experiment == "width") & (runs.trial == 2) & (runs.teacher_width == 16)
    _matches(runs[sel], run_teacher_group(s, "width", 2, 16, None, widths=[8]))
    small = min(s.data_teacher_samples)
    sel = (runs.experiment == "data") & (runs.trial == 0) & (runs.teacher_samples == small)
    _matches(runs[sel], run_teacher_group(s, "data", 0, s.data_teacher_width, small, widths=[16]))
