"""Tests of analysis.many_students: the abstract's claim on synthetic tables with known
verdicts, and the tables' shapes on a small case."""

import math

import numpy as np
import pandas as pd
import pytest

from analysis.many_students import abstract_claim, break_even_table, crossover_table, gain_sweep, shared

SIZES = [1e9, 3e9, 1e10, 3e10]
BUDGETS = np.logspace(18, 27, 91)


def _tables(crossovers, *, dip=None):
    """A crossover table for one n and a sweep whose gain is +0.01 below each crossover and
    -0.01 above it (``dip``: (size, budget) where a loss is planted below the crossover)."""
    cross = pd.DataFrame({"student_params": SIZES, "students": 4, "crossover_compute": crossovers})
    rows = []
    for n_s, c_star in zip(SIZES, crossovers):
        for c in BUDGETS:
            g = 0.01 if c < c_star else -0.01
            if dip and np.isclose(n_s, dip[0]) and np.isclose(c, dip[1]):
                g = -0.01
            rows.append({"student_params": n_s, "students": 4, "compute": c, "gain": g})
    return cross, pd.DataFrame(rows)


def test_a_power_law_crossover_holds():
    c = [1e20 * (n / 1e9) ** 1.5 for n in SIZES]
    (v,) = abstract_claim(*_tables(c))
    assert v.holds and v.grows and v.wins_below and v.predictable
    assert v.slope == pytest.approx(1.5) and v.max_residual_decades < 1e-9
    assert v.local_slopes == pytest.approx((1.5, 1.5, 1.5))


def test_a_shrinking_crossover_fails_on_growth():
    c = [1e21, 5e20, 1e22, 1e23]
    (v,) = abstract_claim(*_tables(c))
    assert not v.grows and v.decreasing_at == (3e9,) and not v.holds


def test_a_bent_crossover_fails_on_predictability():
    c = [1e20, 1.2e20, 1e22, 1e26]  # local exponents 0.17, 3.8, 7.8
    (v,) = abstract_claim(*_tables(c))
    assert v.grows and not v.predictable and not v.holds and v.max_residual_decades > math.log10(2)


def test_a_loss_below_the_crossover_fails_and_beyond_range_sizes_are_reported():
    c = [1e20, 1e21, 1e22, math.inf]
    (v,) = abstract_claim(*_tables(c, dip=(3e9, BUDGETS[10])))
    assert not v.wins_below and v.min_gain_below == -0.01 and not v.holds
    assert v.beyond == (3e10,) and v.beyond_loses == ()  # its gains are all +0.01
    (w,) = abstract_claim(*_tables([1e18, 1e21, 1e22, 1e23]))
    assert w.never_wins == (1e9,) and 1e9 in w.decreasing_at and not w.grows


def test_the_tables_on_a_small_case():
    be = break_even_table([1e9], [1e21])
    assert be.students.item() == 96 and be.gain.item() > 1e-3
    cross = crossover_table([1e9, 3e9], [16, math.inf], (1e19, 1e24))
    assert len(cross) == 4 and (cross.crossover_compute > 1e19).all()
    sw = gain_sweep([1e9], [1, math.inf], [1e20, 1e24])
    assert len(sw) == 4 and set(sw.students) == {1, math.inf}
    assert shared(8).delta_pretraining == 1 / 8
