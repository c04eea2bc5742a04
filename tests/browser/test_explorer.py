"""The explorer page (book/explorer.md) shows what ``analysis`` computes.

In headless Chromium, the tests move the page's sliders and selectors, read the numbers the
page computed or looked up, and compare them with ``analysis.laws`` and ``analysis.recipes``
computed afresh here:

* the Eq. 8 curve, read from the plot's data source at full precision, within a relative
  ``EQ8_RTOL`` of ``analysis.laws.distilled_loss`` (the page evaluates the same log-space
  formula in JavaScript; the two differ only by the last bits of ``Math.log``/``Math.exp``);
* the readout and the recipe table, read as displayed, within their printed precision: four
  decimals (``FIXED_ATOL``), four significant digits (``SCI_RTOL``), percentages to one
  decimal (``PERCENT_ATOL``).
"""

from __future__ import annotations

import math
import re
from urllib.parse import urljoin

import numpy as np
import pytest

from analysis.explorer import STUDENTS, STUDENT_COUNTS
from analysis.flops import Scenario
from analysis.laws import distilled_loss, supervised_loss
from analysis.recipes import compute_optimal_distillation

from .test_site import KNOWN_HARMLESS_ERRORS

PAGE = "book/explorer.html"
EQ8_RTOL = 1e-12
FIXED_ATOL = 0.5e-4 + 1e-12
SCI_RTOL = 0.5e-3 / 1.0 + 1e-12
PERCENT_ATOL = 0.05 + 1e-9


@pytest.fixture(scope="module")
def explorer(browser, base_url):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    # Chromium's own request for /favicon.ico (the site has none) logs a 404 that is no
    # request of the page's; every other failed request is recorded with its URL below
    page.on("console", lambda m: errors.append(m.text) if m.type == "error"
            and not m.location.get("url", "").endswith("/favicon.ico") else None)
    page.on("response", lambda r: errors.append(f"{r.status} {r.url}") if r.status >= 400 else None)
    page.goto(urljoin(base_url, PAGE), wait_until="load")
    page.wait_for_function("window.Bokeh && Bokeh.documents.length > 0", timeout=20000)
    page.wait_for_selector("td[data-key='student_loss']", timeout=20000)
    yield page
    context.close()
    real = [e for e in errors if not any(known in e for known in KNOWN_HARMLESS_ERRORS)]
    assert real == [], f"JavaScript errors while the tests drove the explorer: {real}"


def model(page, name: str) -> str:
    return f"Bokeh.documents[0].get_model_by_name({name!r})"


def set_value(page, name: str, value) -> None:
    page.evaluate(f"v => {{ {model(page, name)}.value = v; }}", value)


def shown(page) -> dict[str, str]:
    """The displayed cells of the readout and the recipe table, by their data-key."""
    cells = page.locator("td[data-key]")
    return {cells.nth(i).get_attribute("data-key"): cells.nth(i).inner_text()
            for i in range(cells.count())}


def number(text: str) -> float:
    return float(re.match(r"\s*(-?[0-9.e+-]+)", text).group(1))


def curve(page) -> tuple[np.ndarray, np.ndarray]:
    data = page.evaluate(f"() => {{ const d = {model(page, 'eq8-curve')}.data;"
                         "return [Array.from(d.teacher_loss), Array.from(d.student_loss)]; }")
    return np.array(data[0]), np.array(data[1])


@pytest.mark.parametrize("log_n, log_d", [(9.0, 10.3), (8.0, 9.0), (10.5, 12.95), (11.0, 13.0),
                                          (8.35, 11.6)])
def test_eq8_curve_and_readout_match_analysis(explorer, log_n, log_d):
    set_value(explorer, "log-student-params", log_n)
    set_value(explorer, "log-student-tokens", log_d)
    n_s, d_s = 10.0**log_n, 10.0**log_d
    l_t, l_s = curve(explorer)
    expected = distilled_loss(n_s, d_s, l_t)
    np.testing.assert_allclose(l_s, expected, rtol=EQ8_RTOL, atol=0)
    cells = shown(explorer)
    sup = float(supervised_loss(n_s, d_s))
    best = int(np.argmin(expected))
    assert abs(number(cells["eq8_supervised_loss"]) - sup) <= FIXED_ATOL
    assert abs(number(cells["eq8_best_teacher_loss"]) - l_t[best]) <= FIXED_ATOL
    assert abs(number(cells["eq8_best_student_loss"]) - expected[best]) <= FIXED_ATOL
    assert abs(number(cells["eq8_best_gain"]) - (sup - expected[best])) <= 2 * FIXED_ATOL
    on_edge = best in (0, len(l_t) - 1)
    assert ("edge of the axis" in cells["eq8_best_teacher_loss"]) == on_edge


def test_slider_moves_with_the_keyboard(explorer):
    """A reader's interaction, not a model assignment: the arrow key moves the size slider
    by one step and the curve follows."""
    set_value(explorer, "log-student-params", 9.0)
    set_value(explorer, "log-student-tokens", 10.3)
    handle = explorer.locator(".noUi-handle").first
    handle.focus()
    handle.press("ArrowRight")
    explorer.wait_for_function(f"{model(explorer, 'log-student-params')}.value > 9.0")
    log_n = explorer.evaluate(f"{model(explorer, 'log-student-params')}.value")
    assert log_n == pytest.approx(9.05)
    l_t, l_s = curve(explorer)
    np.testing.assert_allclose(l_s, distilled_loss(10.0**log_n, 10.0**10.3, l_t),
                               rtol=EQ8_RTOL, atol=0)


RECIPES = [
    ("1B", "1e+22", "teacher-pretraining+inference", "1"),
    ("1B", "1e+21", "teacher-pretraining+inference", "64"),
    ("10B", "1e+24", "teacher-pretraining", "∞"),
    ("300M", "1e+20", "best-case", "1"),
    ("3B", "3.16e+23", "teacher-inference", "16"),
    ("10B", "1e+26", "teacher-pretraining+inference", "256"),
]


@pytest.mark.parametrize("student, budget, slug, students", RECIPES)
def test_recipe_table_matches_analysis(explorer, student, budget, slug, students):
    for name, value in (("recipe-student", student), ("recipe-budget", budget),
                        ("recipe-scenario", slug), ("recipe-students", students)):
        set_value(explorer, name, value)
    member = Scenario.parse(slug)
    scenario = member.shared_by(STUDENT_COUNTS[students]) if member.delta_pretraining else member
    recipe = compute_optimal_distillation(STUDENTS[student], float(budget), scenario)
    cells = shown(explorer)
    fixed = {"student_loss": recipe.student_loss, "supervised_loss": recipe.supervised_loss,
             "teacher_loss": recipe.teacher_loss}
    for key, value in fixed.items():
        assert abs(number(cells[key]) - value) <= FIXED_ATOL, (key, cells[key], value)
    assert abs(number(cells["gain"]) - (recipe.supervised_loss - recipe.student_loss)) \
        <= 2 * FIXED_ATOL
    for key in ("student_tokens", "teacher_params", "teacher_tokens"):
        value = getattr(recipe, key)
        assert math.isclose(number(cells[key]), value, rel_tol=SCI_RTOL), (key, cells[key], value)
    for key, share in recipe.compute_shares.items():
        assert abs(number(cells[f"share_{key}"]) - 100 * share) <= PERCENT_ATOL, (key, share)
    disabled = explorer.evaluate(f"{model(explorer, 'recipe-students')}.disabled")
    assert disabled == (not member.delta_pretraining)


def test_recipe_selector_works_from_the_dropdown(explorer):
    """Choosing an option in the rendered <select> (as a reader does) updates the table."""
    set_value(explorer, "recipe-scenario", "teacher-pretraining+inference")
    set_value(explorer, "recipe-student", "1B")
    set_value(explorer, "recipe-budget", "1e+22")
    before = shown(explorer)["student_loss"]
    explorer.locator("select").nth(3).select_option("∞")
    explorer.wait_for_function(f"{model(explorer, 'recipe-students')}.value === '∞'")
    after = shown(explorer)
    recipe = compute_optimal_distillation(1e9, 1e22, Scenario.TEACHER_PRETRAINING_AND_INFERENCE
                                          .shared_by(math.inf))
    assert after["student_loss"] != before
    assert abs(number(after["student_loss"]) - recipe.student_loss) <= FIXED_ATOL
