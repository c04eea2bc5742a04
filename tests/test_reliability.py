"""Issue 15 (reliability): every failure mode of the README's table, one test each, and
property-based tests over the public numerical functions and the command line's
argument space: no uncaught exception, no non-finite output, a clear error naming the
argument, exit status by kind of error and one line on stderr."""

from __future__ import annotations

import io
import json
import math
import os
import shutil
import subprocess
import sys
import threading
import warnings
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from threadpoolctl import threadpool_info

from analysis import cli, recipes
from analysis._checks import positive_array
from analysis import data as data_mod
from analysis import fit as F
from analysis.data import DataError
from analysis.laws import PAPER_DISTILLATION, PAPER_SUPERVISED, distilled_loss, supervised_loss
from tests._hostile import CALLS, EXEMPT, HOSTILE, public_callables, sweep_calls, sweep_failures

ROOT = Path(__file__).resolve().parents[1]
TINY = F.Search(n_batched=64, n_random=0, n_steps=20, n_polish=4, n_final=4, short_iter=50, maxiter=500)


def _codes(result):
    return {d.code for d in result.diagnostics}


def _supervised_theta(c=PAPER_SUPERVISED, **over):
    d = {"log_A": math.log(c.A), "log_B": math.log(c.B), "log_E": math.log(c.E), "alpha": c.alpha,
         "beta": c.beta, "gamma": c.gamma}
    return {**d, **over}


def _distillation_theta(c=PAPER_DISTILLATION):
    return {"log_A": math.log(c.A), "log_B": math.log(c.B), "alpha": c.alpha, "beta": c.beta,
            "gamma": c.gamma, "c0": c.c0, "c1": c.c1, "f1": c.f1, "log_d1": math.log(c.d1)}


N = np.geomspace(1e8, 1e10, 12)
D = 20 * N * np.geomspace(0.5, 8, 12)[np.random.default_rng(0).permutation(12)]
L = np.asarray(supervised_loss(N, D))


# ------------------------------------------------------------------ 1. fit diagnostics

def test_a_good_fit_has_no_diagnostic():
    res = F.evaluate(F.SUPERVISED, _supervised_theta(), N=N, D=D, loss=L)
    assert res.ok and res.diagnostics == ()


def test_parameter_on_its_bound_is_flagged():
    res = F.evaluate(F.SUPERVISED, _supervised_theta(alpha=5e-5), N=N, D=D, loss=L)
    assert "at-bound" in _codes(res) and "alpha" in str(res.diagnostics[0])


def test_copies_of_one_run_warn_few_points_and_ambiguous():
    with pytest.warns(F.FitWarning) as caught:
        res = F.fit_supervised(np.full(71, 1e9), np.full(71, 2e10), np.full(71, 2.5), search=TINY)
    assert {"few-points", "ambiguous"} <= _codes(res)
    assert {str(w.message).split(": ")[1] for w in caught} == _codes(res)


def test_pure_power_law_warns_no_floor():
    loss = 400 * N ** -0.3 + 1000 * D ** -0.3
    with pytest.warns(F.FitWarning) as caught:
        res = F.fit_supervised(N, D, loss, search=TINY)
    assert "no-floor" in _codes(res) and any("no-floor" in str(w.message) for w in caught)
    assert res.coefficients.E < 0.01 * loss.min()


def test_near_equal_optima_far_apart_are_flagged():
    res = F.evaluate(F.SUPERVISED, _supervised_theta(), N=N, D=D, loss=L)
    other = np.asarray(list(_supervised_theta(log_A=math.log(PAPER_SUPERVISED.A) + 1).values()))
    diags = F._diagnostics(res.problem, res.theta, ((0.0, res.theta), (0.0, other)))
    assert [d.code for d in diags] == ["ambiguous"]


def test_students_beating_teachers_cannot_be_expressed():
    ns, ds = np.geomspace(1e8, 1e10, 12), np.geomspace(1e10, 1e12, 12)
    lt = np.linspace(2.2, 2.6, 12)
    ls = np.asarray(distilled_loss(ns, ds, lt))
    good = F.evaluate(F.DISTILLATION, _distillation_theta(), N_S=ns, D_S=ds, L_T=lt, L_S=ls)
    assert good.ok
    swapped = F.evaluate(F.DISTILLATION, _distillation_theta(), N_S=ns, D_S=ds, L_T=ls, L_S=lt)
    assert "inexpressible" in _codes(swapped)
    grid = {k: (v,) for k, v in _distillation_theta().items()}
    with pytest.warns(F.FitWarning, match="inexpressible"):
        F.fit_distillation(ns, ds, ls, lt, grid=grid, search=TINY)


@pytest.mark.parametrize("kw", [{"n_polish": 0}, {"n_steps": -3}, {"seed": -1}, {"lr": float("nan")},
                                {"maxiter": 2.5}, {"n_final": True}])
def test_search_options_are_checked(kw):
    with pytest.raises(ValueError, match=f"Search.{next(iter(kw))}"):
        F.Search(**kw)


@pytest.mark.parametrize("kw,name", [({"n_resamples": 1}, "n_resamples"), ({"seed": -1}, "seed"),
                                     ({"level": 1.0}, "level"), ({"maxiter": 0}, "maxiter")])
def test_bootstrap_options_are_checked(kw, name):
    res = F.evaluate(F.SUPERVISED, _supervised_theta(), N=N, D=D, loss=L)
    with pytest.raises(ValueError, match=name):
        F.bootstrap(res, **kw)


@pytest.mark.parametrize("delta", [float("nan"), -1.0, 0.0, "1e-4"])
def test_delta_is_checked(delta):
    with pytest.raises(ValueError, match="delta"):
        F.fit_supervised(N, D, L, delta=delta, search=TINY)


# ------------------------------------------------------------------ 2. global state

def _blas_threads():
    return [(i["filepath"], i["num_threads"]) for i in threadpool_info() if i["user_api"] == "blas"]


def test_overlapping_fits_in_threads_restore_the_blas_threads():
    before = _blas_threads()
    errors = []

    def one():
        try:
            F.fit_supervised(N, D, L, search=TINY)
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=one) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and _blas_threads() == before
    assert F._BLAS_STATE == {"depth": 0, "limiter": None}


# ------------------------------------------------------------------ 3. the command line

def _main(*argv):
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        rc = cli.main(list(argv))
    return rc, out.getvalue(), err.getvalue()


def _strict_json(text):
    def no_constant(name):
        raise ValueError(f"non-standard JSON constant {name}")
    return json.loads(text, parse_constant=no_constant)


def _run(*args, **kw):
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.run([sys.executable, "-m", "analysis", *args], env=env, cwd=ROOT, timeout=120, **kw)


def test_broken_pipe_exits_quietly_with_141():
    read, write = os.pipe()
    os.close(read)
    try:
        out = _run("recipe", "--student", "1B", "--compute", "1e21", stdout=write, stderr=subprocess.PIPE)
    finally:
        os.close(write)
    assert out.returncode == 141 and out.stderr == b""


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
def test_full_disk_is_one_line_and_74():
    with open("/dev/full", "w") as full:
        out = _run("recipe", "--student", "1B", "--compute", "1e21", stdout=full, stderr=subprocess.PIPE,
                   text=True)
    assert out.returncode == 74
    assert out.stderr.count("\n") == 1 and "No space left on device" in out.stderr


def test_ctrl_c_is_one_line_and_130(monkeypatch):
    def interrupted(args):
        raise KeyboardInterrupt
    monkeypatch.setattr(cli, "cmd_recipe", interrupted)
    rc, out, err = _main("recipe", "--student", "1B", "--compute", "1e21")
    assert rc == 130 and err == "python -m analysis recipe: interrupted\n"


def test_sigint_in_a_real_process_gives_no_traceback():
    # a command that works until interrupted: it says "ready" on stderr, then sleeps
    code = ("import sys, time\nimport analysis.cli as c\n"
            "def slow(args):\n    sys.stderr.write('ready\\n'); sys.stderr.flush(); time.sleep(60)\n"
            "c.cmd_recipe = slow\n"
            "sys.exit(c.main(['recipe', '--student', '1B', '--compute', '1e21']))\n")
    proc = subprocess.Popen([sys.executable, "-c", code], env=dict(os.environ, PYTHONPATH=str(ROOT)),
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stderr.readline() == "ready\n"
    proc.send_signal(2)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130 and err == "python -m analysis recipe: interrupted\n" and out == ""


def test_errors_name_the_options_typed_and_print_no_usage():
    rc, _, err = _main("recipe", "--student", "1e20", "--compute", "1e22")
    assert rc == 2 and err.startswith("python -m analysis recipe: error: --student must be")
    rc, _, err = _main("recipe", "--student", "1B", "--compute", "1e10")
    assert rc == 2 and "--compute 1e+10 FLOPs" in err and "--student 1e+09" in err
    for argv in (("recipe", "--student", "1e20", "--compute", "1e22"), ("recipe",), ("nonsense",), ()):
        rc, _, err = _main(*argv)
        assert rc == 2 and err.count("\n") == 1 and "usage:" not in err
        assert "N_S" not in err.split("error:")[1].split("(")[0]


def test_version_and_help_with_defaults_and_ranges():
    rc, out, _ = _main("--version")
    assert rc == 0 and out.startswith("python -m analysis ") and out.strip().split()[-1][0].isdigit()
    rc, out, _ = _main("crossover", "--help")
    out = " ".join(out.split())  # argparse wraps lines
    assert rc == 0 and "default: 1e18" in out and "default: 1e27" in out and "[1e6, 1e17]" in out
    rc, out, _ = _main("recipe", "--help")
    out = " ".join(out.split())
    assert "default: teacher-inference" in out and "default: paper" in out


def test_crossover_tells_lower_end_from_a_crossing():
    rc, out, _ = _main("crossover", "--student", "1B", "--scenario", "teacher-pretraining",
                       "--min-compute", "1e20", "--max-compute", "1e22", "--json")
    data = _strict_json(out)
    assert data["crossover_status"] == {"teacher-pretraining": "at-or-below-lower-end"}
    rc, out, _ = _main("crossover", "--student", "1B", "--scenario", "teacher-inference",
                       "--min-compute", "1e20", "--max-compute", "1e23", "--json")
    data = _strict_json(out)
    assert data["crossover_status"] == {"teacher-inference": "inside"}
    assert 1e20 < data["crossover_compute"]["teacher-inference"] < 1e23
    rc, out, _ = _main("crossover", "--student", "1B", "--scenario", "teacher-pretraining",
                       "--min-compute", "1e20", "--max-compute", "1e22")
    assert "<= 1e+20 (supervised already at least as good at --min-compute)" in out


def test_json_never_holds_nan_or_infinity():
    # used to print "student_loss": Infinity with exit status 0
    rc, out, err = _main("loss", "distilled", "--student", "1B", "--tokens", "20B", "--teacher-loss", "1e-300",
                         "--json")
    assert rc == 2 and out == "" and "--teacher-loss must be at least 1e-30 nats/token; got 1e-300" in err
    payload = {"a": float("inf"), "b": [1.0, float("nan")], "c": {"d": 2.0}}
    notes = []
    clean = cli._strict(payload, "", notes)
    assert clean == {"a": None, "b": [1.0, None], "c": {"d": 2.0}} and len(notes) == 2
    json.dumps(clean, allow_nan=False)


SIZES = st.one_of(st.sampled_from(["1", "1e6", "3B", "500M", "1e17", "1e18", "20T", "1e40", "1e400", "0",
                                   "-1", "nan", "inf", "x", "1.5k", "100P", " 7b "]),
                  st.floats(1e5, 1e19).map(lambda v: f"{v:.3g}"))
LOSSES = st.sampled_from(["1e-300", "0.5", "1.3", "2.0", "2.4", "3", "50", "nan", "-1", "x", "1e309"])
SCENARIOS = st.sampled_from(["best-case", "teacher-inference", "teacher-pretraining",
                             "teacher-pretraining+inference", "teacher-pretraining-and-inference", "lunch"])


@st.composite
def command_lines(draw):
    command = draw(st.sampled_from(["recipe", "loss-supervised", "loss-distilled", "teacher", "crossover",
                                    "efficiency", "decide"]))
    argv = {"recipe": ["recipe", "--student", draw(SIZES), "--compute", draw(SIZES), "--scenario",
                       draw(SCENARIOS)],
            "loss-supervised": ["loss", "supervised", "--params", draw(SIZES), "--tokens", draw(SIZES)],
            "loss-distilled": ["loss", "distilled", "--student", draw(SIZES), "--tokens", draw(SIZES),
                               "--teacher-loss", draw(LOSSES)],
            "teacher": ["teacher", "--student", draw(SIZES), "--tokens", draw(SIZES)],
            "crossover": ["crossover", "--student", draw(SIZES), "--scenario", draw(SCENARIOS),
                          "--min-compute", draw(SIZES), "--max-compute", draw(SIZES)],
            "efficiency": ["efficiency", "--student", draw(SIZES), "--target-loss", draw(LOSSES),
                           "--scenario", draw(SCENARIOS)],
            "decide": ["decide", "--student", draw(SIZES), "--compute", draw(SIZES),
                       *draw(st.sampled_from([[], ["--teacher-exists"]])),
                       "--students-per-teacher", draw(st.sampled_from(["1", "3", "0", "x"]))]}[command]
    return argv + draw(st.sampled_from([[], ["--json"], ["--json", "--coefficients", "fig1-refit"]]))


@settings(max_examples=60, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(command_lines())
def test_command_line_property(argv):
    rc, out, err = _main(*argv)
    assert rc in (0, 2), (argv, rc, err)
    if rc == 2:
        assert out == "" and err.count("\n") == 1 and "Traceback" not in err, (argv, err)
        return
    assert "Traceback" not in err and all(line.startswith("python -m analysis: warning:")
                                          for line in err.splitlines()), (argv, err)
    if "--json" in argv:
        _strict_json(out)
    else:
        assert "nan" not in out.lower().split() and "inf" not in out.lower().split()


# ------------------------------------------------------------------ 4. answers on a bound

def test_recipe_on_the_edge_says_so():
    r = recipes.compute_optimal_distillation(1e9, 1e30, "teacher-inference")
    assert "D_S" in r.at_bounds and r.budget_spent < 0.01 and "D_S" in r.extrapolated
    assert len(r.notes) == 3 and r.as_dict()["notes"] == list(r.notes)
    inner = recipes.compute_optimal_distillation(1e9, 1e21, "teacher-pretraining+inference")
    assert inner.at_bounds == () and inner.extrapolated == () and inner.budget_spent == pytest.approx(1)
    assert inner.notes == ()
    rc, out, _ = _main("recipe", "--student", "1B", "--compute", "1e30")
    assert rc == 0 and "FLOPs used (share of budget)" in out and "spends 0.13% of the budget" in out
    quiet = recipes.compute_optimal_distillation(1e9, 1e30, "teacher-inference",
                                                 setting=recipes.Setting(fitted=None))
    assert quiet.extrapolated == ()


def test_teacher_choice_on_the_edge_of_its_range():
    assert not recipes.optimal_teacher_loss(1e9, 2e10).at_bound
    edge = recipes.optimal_teacher_loss(1e9, 2e10, teacher_loss_range=(2.5, 3.0))
    assert edge.at_bound and edge.teacher_loss == pytest.approx(2.5, rel=1e-4)
    arr = recipes.optimal_teacher_loss(np.array([1e9, 2e9]), 2e10, teacher_loss_range=(2.5, 3.0))
    assert arr.at_bound.tolist() == [True, True]
    assert edge.notes and "end of the searched teacher losses" in edge.notes[0]


def test_teacher_choice_and_efficiency_say_when_they_extrapolate():
    inner = recipes.optimal_teacher_loss(1e9, 2e10)
    assert inner.extrapolated == () and inner.notes == ()
    far = recipes.optimal_teacher_loss(np.array([1e9, 1e7]), 2e10)
    assert far.extrapolated == ("N_S",) and "N_S" in far.notes[-1]
    assert recipes.optimal_teacher_loss(1e7, 2e10, setting=recipes.Setting(fitted=None)).extrapolated == ()
    e = recipes.efficiency_ratio(1e7, 4.0, "teacher-inference")
    assert "D_S" in e.at_bounds and {"N_S", "D"} <= set(e.extrapolated) and len(e.notes) == 2
    rc, out, _ = _main("teacher", "--student", "10M", "--tokens", "20B", "--json")
    data = _strict_json(out)
    assert rc == 0 and data["extrapolated"] == ["N_S"] and data["notes"] == list(
        recipes.optimal_teacher_loss(1e7, 2e10).notes)
    rc, out, _ = _main("efficiency", "--student", "10M", "--target-loss", "4", "--json")
    data = _strict_json(out)
    assert rc == 0 and data["at_bounds"] == list(e.at_bounds) and data["notes"] == list(e.notes)
    rc, out, _ = _main("efficiency", "--student", "10M", "--target-loss", "4")
    assert out.count("\nnote ") == 2


def test_find_crossover_status():
    assert recipes.find_crossover(1e9, "teacher-pretraining", (1e20, 1e22)).status == "at-or-below-lower-end"
    never = recipes.find_crossover(1e9, "teacher-inference", (1e20, 1e21))
    assert never.status == "above-upper-end" and math.isinf(never.compute)
    inside = recipes.find_crossover(1e9, "teacher-inference", (1e20, 1e23))
    assert inside.status == "inside" and "crossover at" in inside.note


# ------------------------------------------------------------------ 5. input checks

@pytest.mark.parametrize("call,match", [
    (lambda: recipes.supervised_tokens_for_loss(3e9, 1.0), "target_loss must exceed the model-size floor"),
    (lambda: recipes.crossover_compute(1e9, "teacher-inference", tol=float("nan")), "tol"),
    (lambda: recipes.crossover_compute(1e9, "teacher-inference", points_per_decade=0), "points_per_decade"),
    (lambda: recipes.compute_optimal_distillation(1e9, 10**400, "teacher-inference"), "C must be"),
    (lambda: recipes.supervised_tokens_for_loss(np.ones(2) * 1e9, np.ones(3) * 3), "N_S, target_loss"),
    (lambda: recipes.optimal_teacher_loss(np.ones(2) * 1e9, np.ones(3) * 1e10), "N_S, D_S"),
    (lambda: supervised_loss(np.ones(2) * 1e9, np.ones(3) * 1e10), "N, D must have shapes"),
    (lambda: supervised_loss(10**400, 1e10), "N must be"),
    (lambda: F.SupervisedCoefficients(E="1.2", A=3355., B=18186., alpha=.4, beta=.4, gamma=.45), "E must be"),
    (lambda: F.DistillationCoefficients(A=1, B=1, alpha=1, beta=1, gamma=1, c0="2", c1=1, f1=1, d1=1),
     "c0 must be"),
    (lambda: recipes.decide(1e9, 1e21, True, margin=float("nan")), "margin"),
])
def test_reported_input_defects_raise_value_errors(call, match):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(ValueError, match=match):
            call()


def _finite(x):
    if isinstance(x, (float, np.floating)):
        return bool(np.isfinite(x))
    if isinstance(x, np.ndarray) and x.dtype.kind == "f":
        return bool(np.all(np.isfinite(x)))
    if isinstance(x, (tuple, list)):
        return all(_finite(v) for v in x)
    if isinstance(x, dict):
        return all(_finite(v) for v in x.values())
    if hasattr(x, "__dataclass_fields__"):
        return all(_finite(getattr(x, k)) for k in x.__dataclass_fields__ if k != "problem")
    return True


def _slots(name):
    func, args, kw = CALLS[name]
    import inspect
    params = list(inspect.signature(func).parameters)
    return [(i, params[i]) for i in range(len(args)) if not callable(args[i])] + [(k, k) for k in kw]


#: Functions whose documented answer for some valid input is NaN: a target loss that no
#: recipe in the box reaches.
DOCUMENTED_NAN = {"recipes.distillation_compute_for_loss"}

SLOTS = [(name, slot, pname) for name in CALLS for slot, pname in _slots(name)]


@pytest.mark.parametrize("name", list(CALLS))
def test_the_valid_example_calls_succeed_finitely(name):
    func, args, kw = CALLS[name]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        warnings.simplefilter("ignore", F.FitWarning)
        assert _finite(func(*args, **kw))


@settings(max_examples=300, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(SLOTS), st.sampled_from(HOSTILE))
def test_public_functions_reject_hostile_values_by_name(slot, value):
    name, where, pname = slot
    func, args, kw = CALLS[name]
    args, kw = list(args), dict(kw)
    if isinstance(where, int):
        args[where] = value
    else:
        kw[where] = value
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        warnings.simplefilter("ignore", F.FitWarning)
        try:
            out = func(*args, **kw)
        except (ValueError, TypeError) as exc:
            assert pname in str(exc) or pname == "scenario", (name, pname, value, exc)
            return
    if name in DOCUMENTED_NAN:
        return
    assert _finite(out), (name, pname, value, out)


@pytest.mark.parametrize("name", list(sweep_calls()))
def test_every_argument_of_every_public_function_rejects_hostile_values_by_name(name):
    """Every argument of every swept public callable (``CALLS`` and ``extra_calls``: each of
    the package's public functions and option classes but the exempt ones), given every
    hostile value, bad paths and names, an empty frame and an existing file and folder of
    the wrong kind: a finite answer or a ValueError/TypeError (DataError for a data file)
    naming the argument compactly, never another exception or a warning, and no change
    to global state (numpy, random, matplotlib, working directory, environment, BLAS
    threads). Runs in a scratch folder, where every path of the sweep lies."""
    threads = _blas_threads()
    failures = sweep_failures(name, _finite)
    assert not failures, (name, len(failures), failures[:5])
    assert _blas_threads() == threads, name


def test_every_public_callable_is_swept_or_exempt():
    """The completeness check: every public function and class of every analysis module is
    in the sweep or in ``EXEMPT`` with its reason (a new public function fails here until
    it gets a hostile-value entry), each entry names a public callable and calls it."""
    names, swept = public_callables(), sweep_calls()
    missing = sorted(set(names) - set(swept) - set(EXEMPT))
    assert not missing, f"public callables without a hostile-value entry or an exemption: {missing}"
    assert not set(swept) & set(EXEMPT)
    assert not (set(swept) | set(EXEMPT)) - set(names), "entries naming no public callable"
    for name, (func, _, _) in swept.items():
        assert func is names[name] or getattr(func, "__wrapped__", None) is names[name], name
    assert all(len(reason) > 10 for reason in EXEMPT.values())
    assert len(swept) >= 218 and len(EXEMPT) <= 65  # issue 15: 218 of 283 swept; exemptions only shrink


def _call(call, over):
    """The example call ``call`` of the sweep with the arguments ``over`` replaced (by name)."""
    import inspect
    func, args, kw = sweep_calls()[call]
    bound = inspect.signature(func).bind(*args, **kw)
    bound.arguments.update(over)
    return lambda: func(*bound.args, **bound.kwargs)


# One test per class of defect the sweep found (issue 15, follow-up); the comment gives
# what each call did before.
@pytest.mark.parametrize("name,over,error,match", [
    # a wrong type of object: AttributeError deep inside ('float' object has no attribute 'columns')
    ("paper_runs.dominance_pairs", {"points": float("nan")}, TypeError, "points must be a pandas DataFrame"),
    ("replication.run_summary", {"table": float("nan")}, TypeError, "table must be a RunTable"),
    ("capacity_gap.init_mlp", {"rng": 0}, TypeError, "rng must be a Generator"),
    ("explorer.law_coefficients", {"setting": None}, TypeError, "setting must be a Setting"),
])
def test_wrong_objects_are_type_errors_naming_the_argument(name, over, error, match):
    with pytest.raises(error, match=match):
        _call(name, over)()


@pytest.mark.parametrize("name,over,match", [
    # a number where a sequence belongs: TypeError "'float' object is not iterable"
    ("many_students.break_even_table", {"students": 1e9}, "students must be a non-empty sequence"),
    ("many_students.gain_sweep", {"counts": float("nan")}, "counts must be a non-empty sequence"),
    ("paper_figures.fixed_m_teachers", {"students": "143M"}, "students must be a non-empty sequence"),
    # checked under another name: "D must be numeric ..." for teacher_tokens, "N_S must be" for students
    ("paper_figures.teacher_inference_profile", {"teacher_tokens": "1e17"}, "teacher_tokens must be"),
    ("many_students.crossover_table", {"students": ("1B",)}, "students must be"),
    ("explorer.eq8_curve", {"D_S": np.ones((2, 3))}, "D_S must be"),
    ("paper_figures.allocation_shares", {"compute_range": "1e20"}, "compute_range must be a \\(low, high\\)"),
    ("checks.half_unit", {"printed": "nan"}, "printed must be a finite number"),
])
def test_arguments_checked_under_their_own_name(name, over, match):
    with pytest.raises((ValueError, TypeError), match=match):
        _call(name, over)()


@pytest.mark.parametrize("name,over,match", [
    # a name turned into a file name: FileNotFoundError for optima_/nonexistent/x.csv, OSError for 10**400
    ("stored.distinct_optima", {"name": "../fits/x"}, "name must be one of the stored optima tables"),
    ("stored.load_bootstrap", {"name": 10**400}, "name must be a string"),
    # an unknown name: KeyError
    ("stored.stored_coefficients", {"name": "no_such_fit"}, "name must be a stored fit"),
    ("robustness.share_holding", {"key": "no-such-finding"}, "key must be one of"),
    # a missing file or folder: FileNotFoundError naming no argument; a number: TypeError from pathlib
    ("replication.load_runs", {"directory": "/nonexistent/folder"}, "directory must name an existing folder"),
    ("replication.load_runs", {"directory": float("nan")}, "directory must be a path"),
    ("replication.load_graph_check", {"path": "/nonexistent/x.json"}, "path must name an existing file"),
    ("stored.load_fig1_provenance", {"folder": "/nonexistent/folder"}, "folder must name an existing folder"),
])
def test_bad_names_and_paths_name_the_argument(name, over, match):
    with pytest.raises((ValueError, TypeError), match=match):
        _call(name, over)()


@pytest.mark.parametrize("name,over,match", [
    # OverflowError: int too large to convert to float / cannot convert float infinity to integer
    ("many_students.shared", {"n": 10**400}, "n must be an integer >= 1"),
    ("robustness.draws", {"n": float("inf")}, "n must be an integer"),
    ("checks.paper", {"ours": 10**400}, "ours must be a finite number"),
    # a count so large nothing is left: AttributeError ('DataFrame' object has no attribute 'interior')
    ("replication.capacity_gap", {"min_teachers": 10**400},
     r"min_teachers must be an integer in \[2, \d+\] for this table .*; got an integer of 401 digits \(1e\+400\)"),
    # RuntimeWarning: overflow encountered in multiply / divide
    ("paper_figures.fixed_m_teacher_loss", {"N_T": 1e308}, "N_T must be finite and in"),
    ("objective.student_objective", {"z_weight": 1e308}, "z_weight must be finite and in"),
    ("capacity_gap.kernel_errors", {"teacher_norm": 5e-324}, "teacher_norm must be finite and in"),
])
def test_values_that_overflow_are_refused_by_name(name, over, match):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(ValueError, match=match):
            _call(name, over)()


@pytest.mark.parametrize("name,over,match", [
    # returned or glued NaN silently
    ("glue.claim", {"value": float("nan")}, "value must be finite to be glued"),
    ("capacity_gap.mlp_parameter_count", {"input_dim": float("nan")}, "input_dim must be an integer"),
    ("paper_figures.fixed_compute_teacher_grid", {"compute": 1e308}, "compute must be finite and in"),
    ("checks.finding", {"quantity": float("nan")}, "quantity must be a non-empty string"),
])
def test_non_finite_answers_become_errors(name, over, match):
    with pytest.raises((ValueError, TypeError), match=match):
        _call(name, over)()


# Issue 15's completion: one test per class of defect the sweep found in the functions it
# had left out and in the arguments it had not tried (defaults included); the comment gives
# what each call did before.
@pytest.mark.parametrize("name,over,match", [
    # coefficients objects were read attribute by attribute: AttributeError ('float' object has no attribute 'A')
    ("laws.supervised_loss", {"coef": float("nan")}, "coef must be a SupervisedCoefficients"),
    ("laws.distilled_loss", {"supervised": "Table 6"}, "supervised must be a SupervisedCoefficients"),
    ("designs.distillation_design", {"coef": None}, "coef must be a DistillationCoefficients"),
    ("paper_figures.fixed_m_teacher_contours", {"distillation": {}}, "distillation must be a DistillationCoefficients"),
    ("replication.extrapolation", {"supervised": 1.0}, "supervised must be a SupervisedCoefficients"),
    # run tables, fits, set-ups, frames, axes and starts of the wrong type: AttributeError deep inside
    ("replication.teacher_loss_only", {"fits": None}, "fits must be a ReplicationFits"),
    ("replication_setup.half_gate", {"noise": 0.1}, "noise must be a SeedNoise"),
    ("replication.isoflop_minima", {"iso": float("nan")}, "iso must be a pandas DataFrame"),
    ("robustness.summary", {"table": []}, "table must be a pandas DataFrame"),
    ("paper_map.map_markdown", {"frame": None}, "frame must be a pandas DataFrame"),
    ("plots.label_axes", {"ax": None}, "ax must be a Axes"),
    ("paper_runs.subset_refits", {"start": None}, "start must be a DistillationCoefficients"),
    ("capacity_gap.evaluate_mlp", {"model": {}}, "model must be a TrainedMLP"),
    ("robustness.evaluate", {"setting": None}, "setting must be a Setting"),
])
def test_objects_of_the_wrong_type_are_named(name, over, match):
    with pytest.raises(TypeError, match=match):
        _call(name, over)()


@pytest.mark.parametrize("name,over,error,match", [
    # TypeError from pathlib ("expected str, bytes or os.PathLike object, not float")
    ("replication_setup.load", {"directory": float("nan")}, TypeError, "directory must be a path"),
    ("toc.toc_chapters", {"root": 1.0}, TypeError, "root must be a path"),
    ("data.load_olmo_ladder", {"path": 1.0}, TypeError, "path must be None or a path"),
    # a missing folder or file: FileNotFoundError naming no argument ("3/fig1_fits.csv does not exist")
    ("stored.fig1_stored_fit", {"folder": "/nonexistent/folder"}, ValueError, "folder must name an existing folder"),
    ("paper_map.load_map", {"path": "no_such_name"}, ValueError, "path must name an existing file"),
    ("data.load_chinchilla", {"path": "no_such_name"}, data_mod.DataError, "path 'no_such_name' does not exist"),
    # an existing folder without the files: FileNotFoundError or "name must be one of the stored tables ()"
    ("stored.load_fits", {"folder": ROOT / "book"}, ValueError, "folder must hold fits.csv"),
    ("stored.load_optima", {"folder": ROOT / "book"}, ValueError, "folder must hold the stored optima tables"),
    ("replication.load_fits", {"folder": ROOT / "book"}, ValueError, "folder must hold the files of save_fits"),
    ("robustness.load_draws", {"folder": ROOT / "book"}, ValueError, "folder must hold draws_rounding.csv"),
    ("replication_setup.corpus", {"directory": ROOT / "book"}, ValueError, "directory must hold corpus_manifest.json"),
    # a file of the wrong kind: pandas' ParserError, or read as a run table
    ("replication_setup.supervised_fit", {"stored": str(ROOT / "README.md")}, ValueError,
     "stored must name a table of store_supervised_fits"),
    ("data.load_gadre", {"path": str(ROOT / "README.md")}, data_mod.DataError, "path .*README.md is not a readable CSV"),
])
def test_paths_are_checked_and_named(name, over, error, match):
    with pytest.raises(error, match=match):
        _call(name, over)()


def test_writers_write_only_where_asked(tmp_path, monkeypatch):
    # save_fits made every missing parent (mkdir(parents=True)) and Path("") wrote into the
    # working directory; store_supervised_fits did the same
    monkeypatch.chdir(tmp_path)
    for name, slot in (("replication.save_fits", "folder"), ("replication_setup.store_supervised_fits", "path")):
        for value, match in (("", "be a path"), ("no_such_folder/x", "whose parent exists|in an existing folder"),
                             (1.0, "be a path")):
            with pytest.raises((ValueError, TypeError), match=f"{slot} must .*({match})"):
                _call(name, {slot: value})()
    assert list(tmp_path.iterdir()) == []
    _call("replication.save_fits", {"folder": "copy"})()
    assert sorted(p.name for p in (tmp_path / "copy").iterdir()) == [
        "bootstrap.csv", "bootstrap_settings.csv", "fits.csv", "profiles.csv"]


@pytest.mark.parametrize("name,over,match", [
    # int(1e308) samples: a training loop of ~1e305 steps (the sweep hung here)
    ("capacity_gap.train_mlp", {"samples": 1e308}, "samples must be an integer >= 128"),
    ("capacity_gap.train_mlp", {"samples": 10**400}, "samples must be an integer >= 128 and <= 20000000000"),
    ("capacity_gap.TrainingSettings", {"min_samples": 10**12}, "min_samples must be an integer"),
    ("capacity_gap.MLPSweep", {"trials": 10**9}, "trials must be an integer >= 1 and <= 10000"),
])
def test_unbounded_work_is_refused(name, over, match):
    with pytest.raises(ValueError, match=match):
        _call(name, over)()


@pytest.mark.parametrize("name,over,match", [
    # NaN answers: n_ffn = NaN counted NaN parameters, peak = inf an MFU of 0 and an infinite
    # peak, an empty halves a NaN supervised noise; the declarations accepted anything
    ("flops.non_embedding_params", {"n_ffn": float("nan")}, "n_ffn must be finite and in"),
    ("replication_setup.throughput", {"peak": float("inf")}, "peak must be finite and in"),
    ("replication.seed_noise", {"halves": []}, "halves must name one or both of teacher, student"),
    ("fit.Law", {"name": float("nan")}, "name must be a non-empty string"),
    ("fit.SupervisedLaw", {"delta": -1.0}, "delta must be finite and in"),
    ("robustness.Finding", {"holds": None}, "holds must be a function"),
    ("paper_runs.Conclusion", {"key": ""}, "key must be a non-empty string"),
    # OverflowError: int too large to convert to float
    ("flops.SharedTeacher", {"students": -(10**400)}, "students must be a number >= 1"),
    ("fit.evaluate", {"theta": [10**400] * 6}, "theta must hold 6 finite numbers"),
    ("plots.si_format", {"value": 10**400}, "value must be a finite number > 0"),
    # ZeroDivisionError and overflow warnings from an architecture constant of 5e-324
    ("flops.forward_flops_per_token", {"omega": 5e-324}, "omega must be finite and in"),
    ("flops.detailed_forward_flops", {"g_size": 5e-324}, "g_size must be finite and in"),
    # RuntimeWarning "Mean of empty slice": a cut that leaves no student on one side
    ("replication.extrapolation", {"cut": 0.001}, "cut must leave students on both sides"),
    # numpy's zero-size reduction error: no paper size with a crossover inside m_range
    ("replication.recipe_comparison", {"paper_sizes": (1e8,)}, "paper_sizes must hold a size whose crossover"),
])
def test_non_finite_and_overflowing_values_are_refused(name, over, match):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises((ValueError, TypeError), match=match):
            _call(name, over)()


@pytest.mark.parametrize("name,over,error,match", [
    # "'float' object is not iterable" and the like
    ("fit.fit_supervised", {"fixed": float("nan")}, TypeError, "fixed must be None or a mapping"),
    ("glue.glue_fields", {"fields": 1.0}, TypeError, "fields must be None or a sequence of field names"),
    ("checks.show", {"checks": float("nan")}, TypeError, "checks must be a sequence of checks"),
    ("many_students.abstract_claim", {"counts": float("nan")}, ValueError, "counts must be a non-empty sequence"),
    ("explorer.explorer_html", {"recipes": 1.0}, TypeError, "recipes must be None or recipe_grid"),
    ("replication.teacher_loss_only", {"design": 1.0}, ValueError, "design must be a non-empty sequence of groups"),
    ("paper_runs.refit_subset", {"free": float("nan")}, ValueError, "free must name one or more of"),
    # "The truth value of an array ... is ambiguous", "unhashable type", KeyError
    ("checks.paper", {"relative": np.ones((2, 3))}, ValueError, "relative must be True or False"),
    ("plots.format_log_axis", {"axis": np.ones((2, 3))}, ValueError, "axis must be 'x', 'y' or 'both'"),
    ("stored.recovery_at_noise", {"law": np.ones((2, 3))}, ValueError, "law must be one of supervised, distillation"),
    ("data.load_fig1_points", {"corrected": np.ones((2, 3))}, ValueError, "corrected must be True or False"),
    ("data.data_path", {"name": []}, ValueError, "name must be one of"),
    ("stored.fig1_stored_fit", {"name": "no_such_name"}, ValueError, "name must be one of fig1_refit"),
    ("replication.throughput_summary", {"speedup_layers": 2}, ValueError,
     r"speedup_layers, speedup_batch must be a \(depth, batch\) measured both eager and compiled"),
    ("glue.glue_fields", {"fields": ["nope"]}, ValueError, "fields: 'nope' is not a field"),
    # TypeError from comparing a string: "'>=' not supported between instances of 'int' and 'str'"
    ("many_students.abstract_claim", {"min_sizes": "3"}, ValueError, "min_sizes must be an integer >= 2"),
    ("replication_setup.fresh_supervised_fit", {"min_tokens": "3"}, ValueError, "min_tokens must be finite and in"),
    # argparse's type functions given a number ("invalid size nan"), main given a string or a path
    ("cli.parse_size", {"text": float("nan")}, TypeError, "text must be a string"),
    ("cli.main", {"argv": "recipe"}, TypeError, "argv must be None or a list of strings"),
])
def test_arguments_of_the_wrong_shape_are_named(name, over, error, match):
    with pytest.raises(error, match=match):
        _call(name, over)()


@pytest.mark.parametrize("name,over,match", [
    # checked under another name: "scenario must be ..." for base, "bounds must be ..." for box,
    # "N_S must be ..." for ours_sizes
    ("recipes.break_even_students", {"base": "lunch"}, "base must be a Table 2 scenario"),
    ("flops.SharedTeacher", {"base": "lunch"}, "base must be one of the four Table 2 scenarios"),
    ("replication.recipe_comparison", {"box": float("nan")}, "box must be a \\(low, high\\) pair"),
    ("replication.recipe_comparison", {"ours_sizes": (1e3,)}, "ours_sizes must be finite and in"),
])
def test_arguments_named_under_their_own_name(name, over, match):
    with pytest.raises(ValueError, match=match):
        _call(name, over)()


# ------------------------------------------------------------------ 6. data loaders

def test_data_dir_pointing_nowhere_is_an_error(tmp_path, monkeypatch):
    monkeypatch.setenv("DSL_DATA_DIR", str(tmp_path / "missing"))
    with pytest.raises(DataError, match="is not a directory"):
        data_mod.load_olmo_ladder()
    monkeypatch.setenv("DSL_DATA_DIR", str(tmp_path))
    with pytest.raises(DataError, match="does not hold olmo2_ladder_final_losses.csv"):
        data_mod.load_olmo_ladder()


def test_loss_columns_must_be_losses(tmp_path):
    with pytest.raises(ValueError, match="loss_column must be one of the loss columns"):
        data_mod.load_olmo_ladder(loss_column="N")
    with pytest.raises(ValueError, match="loss_column must be one of the loss columns"):
        data_mod.load_gadre(loss_column="tokens")
    df = pd.read_csv(data_mod.data_path("olmo"))
    df["loss_pile"] = np.nan
    df.to_csv(tmp_path / "olmo.csv", index=False)
    with pytest.raises(DataError, match="'loss_pile' must hold finite losses"):
        data_mod.load_olmo_ladder(loss_column="loss_pile", path=tmp_path / "olmo.csv")


def test_header_only_file_says_no_rows(tmp_path):
    src = data_mod.data_path("olmo")
    (tmp_path / "olmo.csv").write_text(src.read_text().splitlines()[0] + "\n")
    with pytest.raises(DataError, match="has a header but no rows"):
        data_mod.load_olmo_ladder(path=tmp_path / "olmo.csv")


# ------------------------------------------------------------------ 7. compact messages

@pytest.mark.parametrize("value,text", [
    (10**400, "an integer of 401 digits (1e+400)"),
    (-(10**400), "a negative integer of 401 digits (-1e+400)"),
    (12345678901234567890123, "an integer of 23 digits (1.23e+22)"),
    (10**17, "100000000000000000"),
    (np.int64(3), "3"),
    (float("nan"), "nan"), (-float("inf"), "-inf"), (np.float64(1e308), "1e+308"), (5e-324, "5e-324"),
    ("x" * 100, "'" + "x" * 39 + "...' (100 characters)"),
    (np.ones((2, 3)), "[[1.0, 1.0, 1.0], [1.0, 1.0, 1.0]]"),
    (np.ones(1000), "an array of shape (1000,)"),
    ([10**400], "[an integer of 401 digits (1e+400)]"),
    (tuple(range(50)), "(0, 1, 2, 3, 4, 5, ...)"),
    (pd.DataFrame({"a": [1.0, 2.0]}), "a DataFrame of shape (2, 1)"),
    (recipes.PAPER_SETTING, "a Setting"),
])
def test_messages_show_values_compactly(value, text):
    from analysis._checks import shown
    assert shown(value) == text


@pytest.mark.parametrize("call,over,match", [
    # printed all 401 digits: "min_seeds=1000...000 is too many"
    ("replication.seed_noise", {"min_seeds": 10**400}, r"min_seeds must be an integer in \[2, \d+\] for this table"),
    ("replication.small_budget_advantage", {"min_tokens": 10**400},
     r"min_tokens must be an integer in \[2, \d+\] for this table"),
    ("replication.calibration", {"min_teachers": 10**400},
     r"min_teachers must be an integer in \[2, \d+\] for this table"),
    # printed 56 of the digits: "got 1000000000000000000000000000...0000000000000000000000000000"
    ("many_students.shared", {"n": 10**400}, r"n must be an integer >= 1"),
    ("stored.load_bootstrap", {"name": -(10**400)}, "name must be a string"),
])
def test_huge_integers_are_shown_by_their_digits_count(call, over, match):
    with pytest.raises((ValueError, TypeError), match=match) as caught:
        _call(call, over)()
    message = str(caught.value)
    assert "integer of 401 digits" in message and len(message) < 300 and "0" * 21 not in message


def test_a_refused_figure_leaves_no_open_figure():
    # plt.subplots makes the figure before it checks its arguments: figure(ncols=nan) and
    # new_figure(sharex="nonsense") left an open pyplot figure behind
    import matplotlib.pyplot as plt
    from analysis import plots

    before = plt.get_fignums()
    with pytest.raises(ValueError, match="ncols must be an integer >= 1 and <= 50"):
        with plots.figure(ncols=float("nan")):
            pass
    with pytest.raises(ValueError, match="sharex"):
        plots.new_figure(sharex="nonsense")
    assert plt.get_fignums() == before

# ------------------------------------------------------------------ the shared positivity check

@pytest.mark.parametrize("value", [3.0, 7, np.float32(2.5), [1.0, 2e40], np.ones((2, 3)), np.array(5)])
def test_positive_array_returns_the_value_as_floats(value):
    out = positive_array("x", value)
    assert out.dtype == float and np.array_equal(out, np.asarray(value, dtype=float))


@pytest.mark.parametrize("value, upper, message", [
    (0.0, np.inf, "finite and in the open interval (0, inf); got 0.0"),
    (-0.0, np.inf, "got -0.0"), (float("nan"), np.inf, "got nan"), (float("inf"), np.inf, "got inf"),
    (float("-inf"), 1e50, "got -inf"), ([1.0, 1e50], 1e50, "(0, 1e+50); got 1e+50"),
    ([], np.inf, "must not be empty"), ("1", np.inf, "numeric, finite"), (True, np.inf, "numeric, finite"),
])
def test_positive_array_rejects_what_is_not_positive_and_below_upper(value, upper, message):
    """The fast path for valid values must let through exactly what the full check does."""
    with pytest.raises(ValueError, match="^x must") as err:
        positive_array("x", value, upper=upper)
    assert message in str(err.value)
