"""The stored recovery study at realistic noise (data/fits/recovery_noise.csv) reproduces."""

import numpy as np

from analysis import stored as S


def test_a_supervised_row_of_the_recovery_study_reproduces():
    stored = S.load_recovery_noise().set_index(["law", "sigma"])
    assert set(stored.index) == {(law, s) for law in ("supervised", "distillation") for s in S.RECOVERY_SIGMAS}
    fresh = S.recovery_at_noise("supervised", S.RECOVERY_SIGMAS[0])
    row = stored.loc[("supervised", S.RECOVERY_SIGMAS[0])]
    for key in ("objective_found", "objective_truth", "E", "A", "B", "alpha", "beta", "gamma"):
        np.testing.assert_allclose(fresh[key], row[key], rtol=1e-6)


def test_the_objective_at_the_truth_does_not_depend_on_the_search():
    stored = S.load_recovery_noise()
    assert (stored["objective_truth"] > 0).all() and (stored["runs"] > 0).all()
    # more noise, larger objective at the truth (same design and seed)
    for _, part in stored.groupby("law"):
        assert np.all(np.diff(part.sort_values("sigma")["objective_truth"].to_numpy()) > 0)
