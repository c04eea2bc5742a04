"""The command line through the real interpreter: ``python -m analysis ...``."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from analysis.cli import parse_size
from analysis.recipes import compute_optimal_distillation

ROOT = Path(__file__).resolve().parents[1]


def run(*args):
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.run([sys.executable, "-m", "analysis", *args], capture_output=True, text=True,
                          env=env, cwd=ROOT, timeout=120)


@pytest.mark.parametrize("text,value", [("3B", 3e9), ("500M", 5e8), ("20T", 2e13), ("1e22", 1e22),
                                        ("1.5k", 1.5e3), ("3000000000", 3e9), ("100P", 1e17)])
def test_parse_size(text, value):
    assert parse_size(text) == pytest.approx(value)


def test_recipe_table_and_json_agree_with_library():
    out = run("recipe", "--student", "3e9", "--compute", "1e22", "--scenario", "teacher-inference")
    assert out.returncode == 0, out.stderr
    assert "teacher tokens D_T" in out.stdout and "1e+17" in out.stdout
    js = run("recipe", "--student", "3B", "--compute", "1e22", "--scenario", "teacher-inference", "--json")
    assert js.returncode == 0, js.stderr
    data = json.loads(js.stdout)
    ref = compute_optimal_distillation(3e9, 1e22, "teacher-inference")
    assert data["student_loss"] == pytest.approx(ref.student_loss)
    assert data["scenario"] == "teacher-inference"
    assert f"{ref.student_loss:.4f}" in out.stdout


def test_scenario_spellings():
    a = run("recipe", "--student", "1B", "--compute", "1e21", "--scenario",
            "teacher-pretraining-and-inference", "--json")
    b = run("recipe", "--student", "1B", "--compute", "1e21", "--scenario",
            "teacher-pretraining+inference", "--json")
    assert a.returncode == 0 and b.returncode == 0
    assert json.loads(a.stdout) == json.loads(b.stdout)


def test_loss_subcommands():
    sup = run("loss", "supervised", "--params", "1B", "--tokens", "20B", "--json")
    assert sup.returncode == 0, sup.stderr
    assert json.loads(sup.stdout)["loss"] == pytest.approx(2.3747, abs=1e-4)
    dist = run("loss", "distilled", "--student", "1B", "--tokens", "20B", "--teacher-loss", "2.3")
    assert dist.returncode == 0 and "student loss L_S" in dist.stdout
    by_size = run("loss", "distilled", "--student", "1B", "--tokens", "20B",
                  "--teacher-params", "7B", "--teacher-tokens", "1T", "--json")
    assert by_size.returncode == 0
    assert json.loads(by_size.stdout)["teacher_loss"] < 2.3


def test_teacher_crossover_efficiency():
    t = run("teacher", "--student", "1B", "--tokens", "20B", "--json")
    assert t.returncode == 0 and json.loads(t.stdout)["teacher_loss"] > 1.2
    e = run("efficiency", "--student", "500M", "--target-loss", "2.4", "--scenario",
            "teacher-pretraining+inference", "--json")
    assert e.returncode == 0, e.stderr
    assert json.loads(e.stdout)["compute_ratio"] > 1
    c = run("crossover", "--student", "1B", "--scenario", "teacher-inference", "--min-compute", "1e20",
            "--max-compute", "1e24")
    assert c.returncode == 0 and "teacher-inference" in c.stdout


def test_decide_agrees_with_the_library():
    from analysis.recipes import decide

    out = run("decide", "--student", "1B", "--compute", "1e21", "--teacher-exists", "--json")
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    ref = decide(1e9, 1e21, True)
    assert data["scenario"] == "teacher-inference" and data["route"] == ref.route
    assert data["gain"] == pytest.approx(ref.gain)
    table = run("decide", "--student", "1B", "--compute", "1e21", "--students-per-teacher", "3")
    assert table.returncode == 0 and "Teacher pretraining" in table.stdout and "route" in table.stdout


def test_recipe_with_many_students_agrees_with_the_library():
    from analysis.flops import Scenario
    from analysis.recipes import compute_optimal_distillation

    out = run("recipe", "--student", "1B", "--compute", "1e21", "--students", "100", "--json")
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    ref = compute_optimal_distillation(1e9, 1e21, Scenario.TEACHER_PRETRAINING_AND_INFERENCE.shared_by(100))
    assert data["scenario"] == "teacher-pretraining+inference/100"
    assert data["student_loss"] == pytest.approx(ref.student_loss)
    same = run("recipe", "--student", "1B", "--compute", "1e21", "--scenario", "teacher-pretraining+inference/100",
               "--json")
    assert json.loads(same.stdout)["student_loss"] == data["student_loss"]
    limit = json.loads(run("recipe", "--student", "1B", "--compute", "1e21", "--students", "inf", "--json").stdout)
    exists = json.loads(run("recipe", "--student", "1B", "--compute", "1e21", "--json").stdout)
    assert limit["student_loss"] == exists["student_loss"]  # n = inf is teacher inference


def test_break_even_agrees_with_the_library():
    from analysis.recipes import break_even_students

    out = run("break-even", "--student", "1B", "--compute", "1e21", "--json")
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["students"] == break_even_students(1e9, 1e21).students
    never = run("break-even", "--student", "1B", "--compute", "1e24")
    assert never.returncode == 0 and "none" in never.stdout
    edge = run("break-even", "--student", "10B", "--compute", "1e23", "--max-students", "64")
    assert edge.returncode == 0 and "beyond the search" in edge.stdout


@pytest.mark.parametrize("args,needle", [
    (("recipe", "--student", "1B", "--compute", "1e21", "--students", "0"), "invalid number of students"),
    (("recipe", "--student", "1B", "--compute", "1e21", "--students", "3", "--scenario", "teacher-inference"),
     "does not charge it"),
    (("decide", "--student", "1B", "--compute", "1e21", "--students-per-teacher", "0"), "invalid count"),
    (("recipe", "--student", "3X", "--compute", "1e22"), "invalid size"),
    (("recipe", "--student", "3B", "--compute", "1e22", "--scenario", "lunch"), "scenario must be one of"),
    (("recipe", "--student", "3B", "--compute", "1e12"), "minimal cost"),
    (("recipe", "--student", "1e20", "--compute", "1e22"), "N_S must be"),
    (("loss", "distilled", "--student", "1B", "--tokens", "20B"), "either --teacher-loss"),
    (("loss", "supervised", "--params", "-1", "--tokens", "1B"), "invalid size"),
    (("efficiency", "--student", "1B", "--target-loss", "1.0"), "target_loss"),
    (("nonsense",), "invalid choice"),
    (("teacher", "--student", "1B", "--tokens", "20B", "--coefficients", "table7"), "invalid choice"),
])
def test_errors_exit_nonzero_with_message(args, needle):
    out = run(*args)
    assert out.returncode == 2
    assert needle in out.stderr
    assert "Traceback" not in out.stderr


def test_coefficient_sets_reach_the_library():
    from analysis.laws import FIG1_REFIT_DISTILLATION as REFIT, PAPER_SUPERVISED, distilled_loss
    from analysis.recipes import Setting, optimal_teacher_loss

    args = ("recipe", "--student", "1B", "--compute", "1e21", "--json")
    paper, refit = (json.loads(run(*args, *extra).stdout) for extra in ((), ("--coefficients", "fig1-refit")))
    ref = compute_optimal_distillation(1e9, 1e21, "teacher-inference", setting=Setting(distillation=REFIT))
    assert (paper["coefficients"], refit["coefficients"]) == ("paper", "fig1-refit")
    assert refit["student_loss"] == pytest.approx(ref.student_loss)
    assert paper["student_loss"] != pytest.approx(ref.student_loss, abs=1e-4)
    loss = json.loads(run("loss", "distilled", "--student", "1B", "--tokens", "20B", "--teacher-loss", "2.3",
                          "--coefficients", "fig1-refit", "--json").stdout)
    assert loss["student_loss"] == pytest.approx(float(distilled_loss(1e9, 2e10, 2.3, REFIT, PAPER_SUPERVISED)))
    teacher = run("teacher", "--student", "1B", "--tokens", "20B", "--coefficients", "fig1-refit")
    best = optimal_teacher_loss(1e9, 2e10, setting=Setting(distillation=REFIT))
    assert teacher.returncode == 0 and f"{best.teacher_loss:.4f}" in teacher.stdout
    assert "fig1-refit" in teacher.stdout


def test_fig1_errors_by_student():
    table = run("fig1")
    assert table.returncode == 0, table.stderr
    assert "all runs (354 runs)" in table.stdout and "143M (43 runs)" in table.stdout
    refit = json.loads(run("fig1", "--coefficients", "fig1-refit", "--json").stdout)
    assert refit["labels"] == "corrected" and refit["groups"]["all runs"]["max |error|"] < 0.01
    digitised = json.loads(run("fig1", "--digitised", "--json").stdout)
    assert digitised["groups"]["7.75B"]["max |error|"] > 0.01


def test_help():
    out = run("--help")
    assert out.returncode == 0 and "recipe" in out.stdout and "3B" in out.stdout
    out = run("recipe", "--help")
    assert out.returncode == 0 and "--scenario" in out.stdout


def test_given_teacher_agrees_with_the_library():
    from analysis.laws import supervised_loss
    from analysis.recipes import given_teacher_recipe

    out = run("given-teacher", "--teacher-params", "7.75B", "--teacher-tokens", "155B", "--max-tokens", "20B",
              "--compute", "1e22", "--max-student", "1B", "--json")
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    ref = given_teacher_recipe(7.75e9, float(supervised_loss(7.75e9, 155e9)), 2e10, 1e22, max_student=1e9)
    assert data["student_loss"] == pytest.approx(ref.student_loss) and data["size_binds"] is True
    table = run("given-teacher", "--teacher-params", "7.75B", "--teacher-loss", "2.0", "--max-tokens", "20B",
                "--compute", "1e22")
    assert table.returncode == 0 and "binding limits" in table.stdout
    both = run("given-teacher", "--teacher-params", "7.75B", "--max-tokens", "20B", "--compute", "1e22")
    assert both.returncode == 2 and "either --teacher-loss or --teacher-tokens" in both.stderr


def test_crossover_and_efficiency_take_students():
    import math

    from analysis.flops import Scenario
    from analysis.recipes import crossover_compute, efficiency_ratio

    out = run("crossover", "--student", "1B", "--students", "16", "--min-compute", "1e19", "--max-compute", "1e24",
              "--json")
    assert out.returncode == 0, out.stderr
    got = json.loads(out.stdout)["crossover_compute"]["teacher-pretraining+inference/16"]
    shared = Scenario.TEACHER_PRETRAINING_AND_INFERENCE.shared_by(16)
    assert got == pytest.approx(crossover_compute(1e9, shared, (1e19, 1e24)))
    eff = json.loads(run("efficiency", "--student", "10B", "--target-loss", "2.2", "--students", "inf",
                         "--json").stdout)
    ref = efficiency_ratio(1e10, 2.2, Scenario.TEACHER_INFERENCE)
    assert eff["compute_ratio"] == pytest.approx(ref.compute_ratio) and not math.isnan(eff["compute_ratio"])
