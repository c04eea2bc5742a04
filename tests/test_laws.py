"""Tests of analysis.laws: the supervised law (Eq. 1) and the distillation law (Eq. 8).

The paper's coefficients (Table 6) are checked against the ratios the paper prints,
the laws against a naive (linear-space) evaluation, and the three properties the
paper designed Eq. 8 to have (§4.3) are checked as limits and as a U-shape.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analysis.laws import (
    PAPER_DISTILLATION,
    PAPER_DISTILLATION_INTERVALS,
    PAPER_RATIOS,
    PAPER_SUPERVISED,
    PAPER_SUPERVISED_INTERVALS,
    DistillationCoefficients,
    SupervisedCoefficients,
    capacity_gap_factor,
    distilled_loss,
    log_capacity_gap_factor,
    log_distilled_loss,
    log_supervised_loss,
    supervised_loss,
    supervised_loss_infinite_data,
)

# log-uniform sizes and token counts over the range the book uses (1e6..1e17)
log_size = st.floats(min_value=np.log(1e6), max_value=np.log(1e17))
teacher_loss = st.floats(min_value=1.0, max_value=10.0)


def naive_supervised(N, D, c=PAPER_SUPERVISED):
    return c.E + (c.A / N**c.alpha + c.B / D**c.beta) ** c.gamma


def naive_distilled(N, D, L_T, c=PAPER_DISTILLATION, s=PAPER_SUPERVISED):
    tilde = naive_supervised(N, D, s)
    gap = (1 + (L_T / (tilde * c.d1)) ** (1 / c.f1)) ** (-c.c1 * c.f1)
    return L_T + L_T ** (-c.c0) * gap * (c.A / N**c.alpha + c.B / D**c.beta) ** c.gamma


# --- coefficients -------------------------------------------------------------

def test_table6_values():
    assert PAPER_SUPERVISED.as_dict() == dict(E=1.220, A=3355.0, B=18186.0, alpha=0.408,
                                              beta=0.431, gamma=0.452)
    assert (PAPER_DISTILLATION.c0, PAPER_DISTILLATION.c1, PAPER_DISTILLATION.f1,
            PAPER_DISTILLATION.d1) == (2.549, 522.6, 0.090, 1.315)


@pytest.mark.parametrize("coef, intervals", [(PAPER_SUPERVISED, PAPER_SUPERVISED_INTERVALS),
                                             (PAPER_DISTILLATION, PAPER_DISTILLATION_INTERVALS)])
def test_point_estimates_inside_their_90pc_intervals(coef, intervals):
    for name, value in coef.as_dict().items():
        lo, hi = intervals[name]
        assert lo <= value <= hi, name


@pytest.mark.parametrize("coef, key", [(PAPER_SUPERVISED, "supervised"),
                                       (PAPER_DISTILLATION, "distillation")])
def test_ratios_a_b_match_table6(coef, key):
    # Table 6 prints a, b to three decimals; from the rounded coefficients they
    # agree to within 0.001 (the paper's values look truncated, not rounded).
    assert coef.a == pytest.approx(PAPER_RATIOS[key]["a"], abs=1.0e-3)
    assert coef.b == pytest.approx(PAPER_RATIOS[key]["b"], abs=1.0e-3)
    assert coef.a + coef.b == pytest.approx(1.0)


def test_coefficients_are_validated():
    with pytest.raises(ValueError, match="alpha"):
        dataclasses.replace(PAPER_SUPERVISED, alpha=-0.1)
    with pytest.raises(ValueError, match="E"):
        dataclasses.replace(PAPER_SUPERVISED, E=float("nan"))
    with pytest.raises(ValueError, match="c0"):
        dataclasses.replace(PAPER_DISTILLATION, c0=-1.0)
    with pytest.raises(ValueError, match="d1"):
        dataclasses.replace(PAPER_DISTILLATION, d1=0.0)


def test_coefficients_are_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        PAPER_SUPERVISED.E = 1.0  # type: ignore[misc]


# --- supervised law -------------------------------------------------------------

@pytest.mark.parametrize("N, D", [(1e8, 2e9), (1e9, 2e10), (7.75e9, 1.55e11), (1e6, 1e17)])
def test_supervised_matches_naive_formula(N, D):
    assert float(supervised_loss(N, D)) == pytest.approx(naive_supervised(N, D), rel=1e-12)


def test_supervised_known_value():
    # hand evaluation of Eq. 1 at N = 1e9, D = 2e10 with Table 6
    inner = 3355.0 / 1e9**0.408 + 18186.0 / 2e10**0.431
    assert float(supervised_loss(1e9, 2e10)) == pytest.approx(1.220 + inner**0.452, rel=1e-12)


def test_gamma_one_is_chinchilla_form():
    chin = SupervisedCoefficients(E=1.69, A=406.4, B=410.7, alpha=0.34, beta=0.28, gamma=1.0)
    N, D = 7e10, 1.4e12
    assert float(supervised_loss(N, D, chin)) == pytest.approx(
        1.69 + 406.4 / N**0.34 + 410.7 / D**0.28, rel=1e-12)


@settings(max_examples=200, deadline=None)
@given(log_size, log_size, st.floats(min_value=1.01, max_value=100.0))
def test_supervised_decreases_in_N_and_D(log_n, log_d, factor):
    N, D = np.exp(log_n), np.exp(log_d)
    base = float(supervised_loss(N, D))
    assert float(supervised_loss(N * factor, D)) < base
    assert float(supervised_loss(N, D * factor)) < base


@settings(max_examples=200, deadline=None)
@given(log_size, log_size)
def test_supervised_bounded_by_floors(log_n, log_d):
    N, D = np.exp(log_n), np.exp(log_d)
    loss = float(supervised_loss(N, D))
    floor = float(supervised_loss_infinite_data(N))
    assert PAPER_SUPERVISED.E < floor < loss
    assert np.isfinite(loss)


def test_infinite_data_limit():
    N = np.geomspace(1e6, 1e12, 7)
    assert np.allclose(supervised_loss(N, 1e60), supervised_loss_infinite_data(N), rtol=1e-12)


def test_supervised_broadcasts():
    N = np.geomspace(1e6, 1e17, 3)[:, None]
    D = np.geomspace(1e6, 1e17, 4)[None, :]
    out = supervised_loss(N, D)
    assert out.shape == (3, 4)
    assert np.allclose(out, naive_supervised(N, D), rtol=1e-12)
    assert np.ndim(supervised_loss(1e9, 2e10)) == 0


def test_supervised_finite_far_outside_the_range():
    big = np.array([1e6, 1e17, 1e30, 1e100, 1e300])
    out = supervised_loss(big[:, None], big[None, :])
    assert np.all(np.isfinite(out))
    # at huge N and D the loss is the irreducible E
    assert float(out[-1, -1]) == pytest.approx(PAPER_SUPERVISED.E, rel=1e-12)
    assert np.all(np.isfinite(log_supervised_loss(1e-300, 1e-300)))


# --- distillation law ------------------------------------------------------------

@pytest.mark.parametrize("N, D, L_T", [(1.98e8, 3.96e9, 2.5), (5.46e8, 1.1e10, 2.2),
                                       (1.82e9, 3.6e10, 1.9), (1e6, 1e17, 5.0)])
def test_distilled_matches_naive_formula(N, D, L_T):
    assert float(distilled_loss(N, D, L_T)) == pytest.approx(naive_distilled(N, D, L_T), rel=1e-12)


def test_property1_infinitely_capable_student_reaches_teacher():
    """§4.3 property 1: N_S, D_S -> inf gives L_S -> L_T."""
    scales = np.geomspace(1e8, 1e60, 14)
    for L_T in (1.5, 2.0, 3.0):
        gaps = distilled_loss(scales, 20 * scales, L_T) - L_T
        assert np.all(gaps >= 0)  # exactly 0 once the excess underflows L_T's ulp
        assert gaps[0] > 1e-3
        assert np.all(np.diff(gaps) <= 0)  # shrinking towards L_T
        assert gaps[-1] < 1e-9


def test_property2_infinitely_bad_teacher_gives_student_at_teacher():
    """§4.3 property 2: L_T -> inf gives L_S -> L_T (absolutely, not just relatively)."""
    L_T = np.array([1e1, 1e2, 1e3, 1e6])
    excess = distilled_loss(5.46e8, 1.1e10, L_T) - L_T
    assert np.all(excess >= 0)
    assert np.all(np.diff(excess) <= 0)
    assert excess[-1] < 1e-12


@pytest.mark.parametrize("N_S", [1.98e8, 5.46e8, 9.75e8, 1.82e9])
def test_property3_capacity_gap_u_shape(N_S):
    """§4.3 property 3: at fixed student, L_S(L_T) has an interior minimum."""
    L_T = np.linspace(1.3, 4.0, 2000)
    L_S = distilled_loss(N_S, 20 * N_S, L_T)
    i = int(np.argmin(L_S))
    assert 0 < i < len(L_T) - 1
    assert np.all(np.diff(L_S[:i + 1]) <= 0) and np.all(np.diff(L_S[i:]) >= 0)


@settings(max_examples=300, deadline=None)
@given(log_size, log_size, teacher_loss)
def test_student_never_beats_teacher(log_n, log_d, L_T):
    """The second term of Eq. 8 is a product of positive factors, so L_S > L_T."""
    L_S = float(distilled_loss(np.exp(log_n), np.exp(log_d), L_T))
    assert np.isfinite(L_S)
    assert L_S >= L_T
    assert float(log_distilled_loss(np.exp(log_n), np.exp(log_d), L_T)) >= np.log(L_T)


@settings(max_examples=200, deadline=None)
@given(log_size, log_size, teacher_loss)
def test_log_and_linear_agree(log_n, log_d, L_T):
    N, D = np.exp(log_n), np.exp(log_d)
    assert float(np.log(distilled_loss(N, D, L_T))) == pytest.approx(
        float(log_distilled_loss(N, D, L_T)), rel=1e-12, abs=1e-12)


def test_capacity_gap_factor_shape():
    tilde = 2.0
    x = np.geomspace(0.5, 2.0, 401)  # x = L_T / (d1 L~_S)
    L_T = x * PAPER_DISTILLATION.d1 * tilde
    factor = capacity_gap_factor(L_T, tilde)
    assert np.all((factor > 0) & (factor <= 1))
    assert np.all(np.diff(factor) < 0)
    # at the break x = 1 the factor is 2**(-c1 f1)
    mid = float(capacity_gap_factor(PAPER_DISTILLATION.d1 * tilde, tilde))
    c = PAPER_DISTILLATION
    assert mid == pytest.approx(2.0 ** (-c.c1 * c.f1), rel=1e-10)
    # far above the break it falls like x**-c1; far below it is ~1
    assert float(log_capacity_gap_factor(10 * c.d1 * tilde, tilde)) == pytest.approx(
        -c.c1 * np.log(10.0), rel=1e-3)
    assert float(capacity_gap_factor(0.5 * c.d1 * tilde, tilde)) > 0.97
    assert float(capacity_gap_factor(0.3 * c.d1 * tilde, tilde)) > 0.999


def test_distilled_broadcasts():
    N = np.geomspace(1e6, 1e17, 3)[:, None]
    D = np.geomspace(1e6, 1e17, 4)[None, :]
    L_T = np.array([1.5, 2.5])[:, None, None]
    out = distilled_loss(N, D, L_T)
    assert out.shape == (2, 3, 4)
    assert np.all(np.isfinite(out))
    assert np.allclose(out, naive_distilled(N, D, L_T), rtol=1e-10)
    assert capacity_gap_factor(L_T, np.ones((1, 5))).shape == (2, 1, 5)


def test_distilled_finite_far_outside_the_range():
    big = np.array([1e6, 1e17, 1e40, 1e300])
    for L_T in (1e-6, 0.5, 2.0, 1e6, 1e300):
        out = distilled_loss(big[:, None], big[None, :], L_T)
        assert np.all(np.isfinite(out)), L_T
        assert np.all(out >= L_T)


def test_distilled_uses_supervised_coefficients():
    """L~_S comes from the supervised law passed in, so changing it changes L_S."""
    other = dataclasses.replace(PAPER_SUPERVISED, E=1.0)
    a = float(distilled_loss(5.46e8, 1.1e10, 2.4))
    b = float(distilled_loss(5.46e8, 1.1e10, 2.4, supervised=other))
    assert a != b


# --- bad input ----------------------------------------------------------------

BAD_VALUES = [0.0, -1.0, float("nan"), float("inf"), -np.inf, "ten", []]


@pytest.mark.parametrize("bad", BAD_VALUES)
@pytest.mark.parametrize("func, args, name", [
    (supervised_loss, ("X", 2e10), "N"),
    (supervised_loss, (1e9, "X"), "D"),
    (log_supervised_loss, ("X", 2e10), "N"),
    (supervised_loss_infinite_data, ("X",), "N"),
    (distilled_loss, ("X", 2e10, 2.0), "N_S"),
    (distilled_loss, (1e9, "X", 2.0), "D_S"),
    (distilled_loss, (1e9, 2e10, "X"), "L_T"),
    (log_distilled_loss, (1e9, 2e10, "X"), "L_T"),
    (capacity_gap_factor, ("X", 2.0), "L_T"),
    (capacity_gap_factor, (2.0, "X"), "L_tilde_S"),
])
def test_bad_input_names_the_argument(func, args, name, bad):
    args = tuple(bad if a == "X" else a for a in args)
    with pytest.raises(ValueError, match=rf"^{name} must"):
        func(*args)


def test_bad_value_inside_an_array_is_caught():
    with pytest.raises(ValueError, match=r"^D must .*got -5\.0$"):
        supervised_loss([1e9, 2e9], [2e10, -5.0])
    with pytest.raises(ValueError, match=r"^L_T must be finite and in the open interval \(0, inf\)"):
        distilled_loss(1e9, 2e10, np.array([2.0, 0.0]))
