"""analysis.checks: the three kinds of reproduction check."""

import numpy as np
import pytest

from analysis import checks as K


def test_half_unit_of_the_last_printed_digit():
    assert K.half_unit("0.513") == pytest.approx(5e-4)
    assert K.half_unit("3355") == pytest.approx(0.5)
    assert K.half_unit("522.6") == pytest.approx(0.05)
    assert K.half_unit("1.2e21") == pytest.approx(5e19)
    with pytest.raises(ValueError):
        K.half_unit("about two")


def test_paper_check_uses_the_printed_precision():
    assert K.paper("a", None, 0.5134, printed="0.513").ok
    assert not K.paper("a", None, 0.5136, printed="0.513").ok
    assert K.paper("r", 2.0, 2.02, tolerance=0.011, relative=True, reason="read off a figure").ok
    with pytest.raises(ValueError, match="reason"):
        K.paper("r", 2.0, 2.02, tolerance=0.1)


def test_finding_and_differs_carry_their_verdicts():
    assert K.finding("f", 3.0, lambda v: v > 2, "> 2").verdict == "holds"
    assert not K.finding("f", 1.0, lambda v: v > 2, "> 2").ok
    d = K.differs("d", "falls", 0.1, lambda v: v > 0, "the law rises")
    assert d.ok and d.verdict == "differs"
    assert not K.differs("d", "falls", -0.1, lambda v: v > 0, "the law rises").ok
    with pytest.raises(ValueError):
        K.differs("d", "falls", 0.1, True, "")


def test_tables_split_by_kind_and_show_raises_on_a_failure(monkeypatch):
    import IPython.display

    monkeypatch.setattr(IPython.display, "display", lambda *a, **k: None)
    rows = [K.paper("a", None, 0.5134, printed="0.513"), K.finding("f", 3.0, True, "true"),
            K.differs("d", "falls", 0.1, True, "rises")]
    t = K.tables(rows)
    assert list(t) == ["paper", "finding", "differs"]
    assert t["differs"]["verdict"].tolist() == ["differs"]
    K.show(rows)
    with pytest.raises(K.CheckError, match="bad"):
        K.show(rows + [K.finding("bad", 0.0, False, "never")])
    with pytest.raises(TypeError):
        K.tables([("a", 1, 2)])


def test_an_upper_bound_agrees_with_any_smaller_value():
    assert K.paper("e", 0.01, 0.002, tolerance=0.005, upper=True, reason="'about 1%'").ok
    assert not K.paper("e", 0.01, 0.016, tolerance=0.005, upper=True, reason="'about 1%'").ok


@pytest.mark.parametrize("ours", [float("nan"), float("inf"), -float("inf"), np.float64("nan"),
                                  (0.5, float("nan")), [1.0, float("inf")], np.array([1.0, np.nan])])
def test_findings_and_differences_refuse_non_finite_values(ours):
    # finding and differs showed NaN or inf as "ours" (and a finding whose test ignored
    # its value held); paper refused them, but as "in [-inf, inf]"
    with pytest.raises(ValueError, match="x: ours must be finite"):
        K.finding("x", ours, True, "always")
    with pytest.raises(ValueError, match="x: ours must be finite"):
        K.differs("x", "the paper says 2", ours, True, "ours is 1")
    if np.ndim(ours) == 0:
        with pytest.raises(ValueError, match=r"ours must be a finite number; got -?(nan|inf)"):
            K.paper("x", 2.0, ours, printed="2.0")


def test_checks_keep_texts_booleans_tuples_and_huge_integers():
    assert K.finding("x", "falls", True, "a text").ours == "falls"
    assert K.finding("x", (0.408, 0.431), True, "a pair").ok
    assert K.differs("x", "the paper says it rises", False, True, "it falls").ok
    big = K.finding("x", 10**400, True, "an integer beyond a float")
    assert K.tables([big])["finding"]["ours"].tolist() == ["an integer of 401 digits (1e+400)"]
