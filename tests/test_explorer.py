"""analysis.explorer: the data of the explorer page agree with analysis.laws and
analysis.recipes, and the page's HTML loads nothing from the internet. (The page's
JavaScript is checked in Chromium by tests/browser/test_explorer.py.)"""

from __future__ import annotations

import json
import re

import numpy as np
import pytest

from analysis import explorer
from analysis.flops import Scenario
from analysis.laws import PAPER_DISTILLATION, PAPER_SUPERVISED, distilled_loss, supervised_loss
from analysis.recipes import compute_optimal_distillation, minimal_compute


@pytest.fixture(scope="module")
def grid():
    return explorer.recipe_grid()


def test_law_coefficients_are_table_6():
    coef = explorer.law_coefficients()
    assert coef == {"supervised": PAPER_SUPERVISED.as_dict(),
                    "distillation": PAPER_DISTILLATION.as_dict()}
    assert json.loads(json.dumps(coef)) == coef  # exported to JavaScript without rounding


def test_grid_covers_every_choice_once(grid):
    keys = [(r["scenario"], r["students"], r["student"], r["compute"]) for r in grid]
    assert len(set(keys)) == len(keys)
    per_choice = len(explorer.STUDENTS) * len(explorer.BUDGETS)
    shared = [s for s in Scenario if s.delta_pretraining]
    assert len(grid) == per_choice * (len(Scenario) - len(shared)
                                      + len(shared) * len(explorer.STUDENT_COUNTS))
    for row in grid:
        member = Scenario.parse(row["scenario"])
        assert (row["students"] == "any") == (not member.delta_pretraining)


@pytest.mark.parametrize("index", [0, 57, 200, 401, 555, -1])
def test_grid_rows_are_the_recipes(grid, index):
    row = grid[index]
    member = Scenario.parse(row["scenario"])
    scenario = (member.shared_by(explorer.STUDENT_COUNTS[row["students"]])
                if member.delta_pretraining else member)
    n_s = explorer.STUDENTS[row["student"]]
    assert row["minimal_compute"] == minimal_compute(n_s, scenario)
    assert row["feasible"] == (row["compute"] >= row["minimal_compute"])
    recipe = compute_optimal_distillation(n_s, row["compute"], scenario)
    for key in ("student_loss", "student_tokens", "teacher_params", "teacher_tokens",
                "teacher_loss", "supervised_loss"):
        assert row[key] == pytest.approx(getattr(recipe, key), rel=1e-12), key
    for key, value in recipe.compute_split.items():
        assert row[key] == pytest.approx(value, rel=1e-12), key


def test_infinitely_many_students_is_teacher_inference(grid):
    rows = {(r["scenario"], r["students"], r["student"], r["compute"]): r for r in grid}
    for student in explorer.STUDENTS:
        for c in explorer.BUDGETS[::4]:
            shared = rows[("teacher-pretraining+inference", "∞", student, c)]
            alone = rows[("teacher-inference", "any", student, c)]
            assert shared["student_loss"] == pytest.approx(alone["student_loss"], rel=1e-9)


def test_eq8_curve_is_analysis_laws():
    c = explorer.eq8_curve(1e9, 2e10)
    lo, hi, n = explorer.TEACHER_LOSS_RANGE
    assert c["teacher_loss"][0] == lo and c["teacher_loss"][-1] == hi and len(c["teacher_loss"]) == n
    np.testing.assert_array_equal(c["student_loss"], distilled_loss(1e9, 2e10, c["teacher_loss"]))
    assert c["supervised_loss"] == float(supervised_loss(1e9, 2e10))


def test_html_is_self_contained(grid):
    html = explorer.explorer_html(recipes=grid)
    assert not re.search(r"<(script|link)[^>]+(src|href)=[\"']?(https?:)?//", html)
    assert "Bokeh" in html and "distilledLoss" in html
    assert len(html) < 4_000_000  # BokehJS (plots and widgets) and the recipes, inline
