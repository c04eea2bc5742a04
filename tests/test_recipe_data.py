"""The stored sweeps in data/recipes/ (scripts/make_recipe_data.py) match a fresh
computation on a few points, so the chapters that read them stay honest."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.recipes import crossover_compute, distillation_sweep, efficiency_ratio

DATA = Path(__file__).resolve().parents[1] / "data" / "recipes"


def test_sweep_rows_recompute():
    sweep = pd.read_csv(DATA / "sweep.csv")
    assert len(sweep) == 8 * 4 * 91
    rows = sweep.iloc[np.linspace(0, len(sweep) - 1, 9).astype(int)]
    for r in rows.itertuples():
        fresh = distillation_sweep(r.student_params, r.compute, r.scenario)
        assert fresh["student_loss"].item() == pytest.approx(r.student_loss, abs=1e-8)
        assert fresh["teacher_params"].item() == pytest.approx(r.teacher_params, rel=1e-3)


def test_crossover_row_recomputes():
    cross = pd.read_csv(DATA / "crossover.csv")
    r = cross[(cross.scenario == "teacher-inference") & np.isclose(cross.student_params, 1e9)].iloc[0]
    assert crossover_compute(1e9, "teacher-inference") == pytest.approx(r.crossover_compute, rel=1e-6)


def test_efficiency_row_recomputes():
    eff = pd.read_csv(DATA / "efficiency.csv")
    r = eff[(eff.kind == "D.5") & (eff.scenario == "teacher-inference") & np.isclose(eff.student_params, 1e10)].iloc[0]
    e = efficiency_ratio(1e10, 2.2, "teacher-inference")
    assert e.compute_ratio == pytest.approx(r.compute_ratio, rel=1e-3)
    assert e.token_ratio == pytest.approx(r.token_ratio, rel=1e-3)


def test_many_students_tables_recompute():
    import math

    from analysis.many_students import shared
    from analysis.recipes import DECISION_MARGIN, break_even_students

    be = pd.read_csv(DATA / "students_break_even.csv")
    assert len(be) == 8 * 7
    for r in be.iloc[[9, 20, 43]].itertuples():
        b = break_even_students(r.student_params, r.compute)
        assert (b.students == r.students) or (math.isinf(b.students) and math.isinf(r.students))
    cross = pd.read_csv(DATA / "students_crossover.csv")
    r = cross[(cross.students == 64) & np.isclose(cross.student_params, 3e9)].iloc[0]
    fresh = crossover_compute(3e9, shared(64), tol=DECISION_MARGIN)
    assert fresh == pytest.approx(r.crossover_compute, rel=1e-6)
    sweep = pd.read_csv(DATA / "students_sweep.csv")
    s = sweep[(sweep.students == 16) & np.isclose(sweep.student_params, 1e9)].iloc[40]
    out = distillation_sweep(1e9, s.compute, shared(16))
    assert (out["supervised_loss"] - out["student_loss"]).item() == pytest.approx(s.gain, abs=1e-8)


def test_explorer_grid_recomputes():
    """data/recipes/explorer_grid.json, which the explorer page shows, is recipe_grid() of the
    paper's setting: every row recomputed (the losses to 1e-8 nats, the rest to 0.1%)."""
    from analysis import explorer

    stored, fresh = explorer.stored_recipe_grid(), explorer.recipe_grid()
    key = lambda r: (r["scenario"], r["students"], r["student"], r["compute"], r["feasible"])  # noqa: E731
    assert [key(r) for r in stored] == [key(r) for r in fresh]
    for s, f in zip(stored, fresh):
        assert s.keys() == f.keys(), key(f)
        for name, value in f.items():
            if isinstance(value, float):
                tol = {"abs": 1e-8} if name.endswith("_loss") else {"rel": 1e-3}
                assert s[name] == pytest.approx(value, **tol), (key(f), name)


def test_a_stale_explorer_grid_says_so(tmp_path):
    import json

    from analysis import explorer

    rows = explorer.stored_recipe_grid()
    (tmp_path / "grid.json").write_text(json.dumps(rows[:-1]))
    with pytest.raises(ValueError, match="path .* does not hold one recipe per choice of the page"):
        explorer.stored_recipe_grid(tmp_path / "grid.json")
    (tmp_path / "other.json").write_text(json.dumps({"rows": rows}))
    with pytest.raises(ValueError, match="path must name a JSON list of explorer recipes"):
        explorer.stored_recipe_grid(tmp_path / "other.json")

