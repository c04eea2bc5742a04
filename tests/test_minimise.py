"""analysis.minimise.minimise_1d against dense grids, on both of its polishing paths."""

import numpy as np
import pytest

from analysis.minimise import SMALL_BATCH, minimise_1d


def _objective(centres, widths):
    """Problems with two minima each: a wide shallow one and a narrow deep one."""
    def f(x, rows):
        c, w = centres[rows][:, None], widths[rows][:, None]
        return -np.exp(-((x - c) / w) ** 2) - 0.5 * np.exp(-((x + 1.0) / 0.5) ** 2)
    return f


@pytest.mark.parametrize("P", [3, SMALL_BATCH + 1], ids=["grid-zoom", "golden-section"])
def test_finds_the_global_minimum_of_each_problem(P):
    rng = np.random.default_rng(0)
    centres = rng.uniform(0.5, 2.5, P)
    widths = rng.uniform(0.1, 0.3, P)
    f = _objective(centres, widths)
    x, fx = minimise_1d(f, P, -3.0, 3.0, n_coarse=48, n_starts=3, tol=1e-7)
    dense = np.linspace(-3.0, 3.0, 600001)
    ref = f(np.broadcast_to(dense, (P, dense.size)), np.arange(P))
    assert np.all(fx <= ref.min(axis=1) + 1e-9)
    np.testing.assert_allclose(x, dense[ref.argmin(axis=1)], atol=2e-5)
    np.testing.assert_allclose(x, centres, atol=1e-3)  # the deep minimum, not the shallow one


def test_stays_inside_per_problem_bounds_and_handles_infeasible_points():
    lower, upper = np.array([0.0, 1.0]), np.array([0.5, 4.0])

    def f(x, rows):
        val = (x - 2.0) ** 2
        return np.where(x > 3.5, np.inf, val)  # infeasible beyond 3.5

    x, fx = minimise_1d(f, 2, lower, upper)
    assert x[0] == pytest.approx(0.5, abs=1e-5) and x[1] == pytest.approx(2.0, abs=1e-5)
    assert np.all((x >= lower) & (x <= upper)) and np.all(np.isfinite(fx))
