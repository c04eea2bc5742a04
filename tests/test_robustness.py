"""analysis.robustness: the draws stay in their boxes, are seeded, and the stored study
reproduces."""

import numpy as np
import pandas as pd
import pytest

from analysis import recipes as R
from analysis import robustness as Rb


def test_rounding_draws_stay_within_half_a_unit_and_are_seeded():
    a, b = Rb.draws("rounding", 5, 3), Rb.draws("rounding", 5, 3)
    assert a == b
    for s in a:
        for (law, name), text in Rb.PRINTED.items():
            value = getattr(s.supervised if law == "supervised" else s.distillation, name)
            assert abs(value - float(text)) <= Rb.half_unit(text) * (1 + 1e-12)
    assert Rb.draws("rounding", 5, 4) != a


def test_interval_draws_stay_within_the_printed_intervals():
    from analysis.laws import PAPER_DISTILLATION_INTERVALS, PAPER_SUPERVISED_INTERVALS

    for s in Rb.draws("interval", 5, 0):
        for name, (lo, hi) in PAPER_SUPERVISED_INTERVALS.items():
            if name in s.supervised.as_dict():
                assert lo <= getattr(s.supervised, name) <= hi
        for name, (lo, hi) in PAPER_DISTILLATION_INTERVALS.items():
            if name in s.distillation.as_dict():
                assert lo <= getattr(s.distillation, name) <= hi


def test_bad_arguments_name_themselves():
    with pytest.raises(ValueError, match="kind"):
        Rb.draws("bootstrap", 3, 0)
    with pytest.raises(ValueError, match="n must"):
        Rb.draws("rounding", 0, 0)
    with pytest.raises(ValueError, match="key must be one of"):
        Rb.share_holding(pd.DataFrame({"kind": ["rounding"]}), "no-such-finding", "rounding")


def test_every_finding_holds_at_table_6():
    table = Rb.evaluate(R.PAPER_SETTING)
    assert list(table.index) == [f.key for f in Rb.FINDINGS]
    assert table["holds"].all()


def test_a_stored_interval_draw_reproduces():
    stored = Rb.load_draws()
    assert {k: int((stored.kind == k).sum()) for k in Rb.KINDS} == {k: n for k, (n, _) in Rb.STUDY.items()}
    row = stored[stored.kind == "interval"].iloc[7]
    fresh = Rb.evaluate(Rb.setting_of(row))["value"]
    values = row[[f.key for f in Rb.FINDINGS]].astype(float)
    both = np.isfinite(fresh.to_numpy())
    assert (both == np.isfinite(values.to_numpy())).all()
    np.testing.assert_allclose(fresh.to_numpy()[both], values.to_numpy()[both], rtol=0, atol=1e-9)
    # and the drawn coefficients are those of the seeded draw
    assert Rb.setting_of(row) == Rb.draws("interval", 8, Rb.STUDY["interval"][1])[7]


def test_summary_shares_are_the_shares_of_draws_holding():
    stored = Rb.load_draws()
    summary = Rb.summary(stored)
    for key in ("below-floor", "pretraining-wins-300m"):
        for kind in Rb.KINDS:
            assert summary.loc[key, f"{kind}: share holding"] == Rb.share_holding(stored, key, kind)
