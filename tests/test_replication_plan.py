"""Part 2 of the replication: the committed plan is what experiments.plan computes,
and runs.csv / not_run.csv account for every planned run exactly once."""

import csv
import json
import re
from pathlib import Path

import pytest

from experiments import plan as planmod

REPL = Path(__file__).resolve().parents[1] / "data" / "replication" / "v1"


def _read(name):
    with open(REPL / name, newline="") as f:
        return list(csv.DictReader(f))


@pytest.fixture(scope="module")
def runs():
    return _read("runs.csv")


@pytest.fixture(scope="module")
def part1(runs):
    """Session 1's run ids (no run of it replayed CUDA graphs)."""
    return {r["run_id"] for r in runs if r["cuda_graph"] == "False"}


@pytest.fixture(scope="module")
def before_session3(runs):
    """Sessions 1 and 2's run ids (session 3's ids all carry ``-r2``)."""
    return {r["run_id"] for r in runs if not re.search(r"-r2(--|$)", r["run_id"])}


@pytest.fixture(scope="module")
def half_tokens():
    tokens = json.loads((REPL / "corpus_manifest.json").read_text())["tokens"]
    return min(tokens["teacher"], tokens["student"])


def test_committed_part2_plan_is_recomputed(part1, half_tokens):
    plan = planmod.part2_plan(half_tokens, part1)
    committed = {r["run_id"]: r for r in _read("plan_part2.csv")}
    assert set(plan.runs) == set(committed)
    for rid, r in plan.runs.items():
        assert int(committed[rid]["priority"]) == r["priority"]
        assert int(committed[rid]["tokens"]) == r["tokens"]


def test_part2_never_repeats_a_run_and_retrains_its_teachers(part1, half_tokens):
    plan = planmod.part2_plan(half_tokens, part1)
    assert not part1 & set(plan.runs)
    for r in plan.runs.values():
        if r["teacher_run_id"]:
            assert r["teacher_run_id"].endswith("-r1") and r["teacher_run_id"] in plan.runs
            twin = planmod.supervised_id(r["n_layers"], r["tokens"], "student", r["seed"])
            assert twin in plan.runs or twin in part1


def test_committed_second_part2_plan_is_recomputed(before_session3, half_tokens):
    """Session 3's plan: what sessions 1 and 2 left, teachers retrained under ``-r2``,
    ordered by ``cheapest_first``."""
    plan = planmod.cheapest_first(planmod.part2_plan(half_tokens, before_session3, rerun=2))
    committed = {r["run_id"]: r for r in _read("plan_part2_r2.csv")}
    assert set(plan.runs) == set(committed)
    for rid, r in plan.runs.items():
        assert int(committed[rid]["priority"]) == r["priority"]


def test_every_planned_run_is_either_made_or_listed_as_not_run(runs):
    made = {r["run_id"] for r in runs}
    planned = {r["run_id"] for r in _read("plan_part2_r2.csv")}
    not_run = {r["run_id"] for r in _read("not_run.csv")}
    assert not_run == planned - made
    assert not not_run & made
    # session 2's plan: every run made, or planned again (retrained teacher) in session 3
    again = {planmod.without_rerun(i) for i in planned}
    for rid in {r["run_id"] for r in _read("plan_part2.csv")} - made:
        assert planmod.without_rerun(rid) in again


def test_protocol4_groups_hold_teachers_of_different_size():
    for group in planmod.P4_GROUPS:
        sizes = sorted(L for L, _ in group)
        assert len(group) >= 2 and sizes[0] < sizes[-1]


def test_part2_priority_orders_protocols():
    assert planmod.part2_priority(["p2"], 5, 2) == 1
    assert planmod.part2_priority(["p2"], 5, 4) == 4
    assert planmod.part2_priority(["p3"], 5, 3) == 2
    assert planmod.part2_priority(["p3"], 9, 3) == 7
    assert planmod.part2_priority(["p2", "isoflop-3e15"], 6, 2) == 6


def test_next_session_plan_runs_exactly_what_is_left(runs, half_tokens):
    """A later session (rerun=3: sessions 2 and 3 kept no checkpoints either) plans the
    distillations listed in not_run.csv, no more, and retrains their teachers."""
    plan = planmod.part2_plan(half_tokens, {r["run_id"] for r in runs}, rerun=3)
    students = {planmod.without_rerun(i) for i, r in plan.runs.items() if r["teacher_run_id"]}
    left = {planmod.without_rerun(r["run_id"]) for r in _read("not_run.csv") if r["teacher_run_id"]}
    assert students == left
    teachers = {r["teacher_run_id"] for r in plan.runs.values() if r["teacher_run_id"]}
    assert all(t.endswith("-r3") and t in plan.runs for t in teachers)


def test_without_rerun_strips_teacher_and_run_suffixes():
    assert planmod.without_rerun("d-s-L3-D6652800-t-s0-r1--L2-D2016000-s0") == "d-s-L3-D6652800-t-s0--L2-D2016000-s0"
    assert planmod.without_rerun("s-L3-D6652800-t-s0-r12") == "s-L3-D6652800-t-s0"
    assert planmod.without_rerun("s-L3-D6652800-s-s1") == "s-L3-D6652800-s-s1"


def test_cheapest_first_keeps_the_runs_and_puts_protocol_2_and_teachers_first(before_session3, half_tokens):
    plain = planmod.part2_plan(half_tokens, before_session3, rerun=2)
    plan = planmod.cheapest_first(planmod.part2_plan(half_tokens, before_session3, rerun=2))
    assert set(plan.runs) == set(plain.runs)
    students = [r for r in plan.runs.values() if r["teacher_run_id"]]
    p2 = [r for r in students if "p2" in r["protocol"].split("+")]
    others = [r for r in students if "p2" not in r["protocol"].split("+")]
    assert p2 and others
    assert max(r["priority"] for r in p2) < min(r["priority"] for r in others)
    for r in students:
        assert plan.runs[r["teacher_run_id"]]["priority"] < r["priority"]
    # after protocol 2, each step takes the least marginal cost among what is left
    scheduled = {r["teacher_run_id"] for r in p2}
    for r in sorted(others, key=lambda r: r["priority"]):
        def marginal(x):
            t = x["teacher_run_id"]
            return x["cost_flops"] + (0.0 if t in scheduled else plan.runs[t]["cost_flops"])
        left = [x for x in others if x["priority"] >= r["priority"]]
        assert marginal(r) == min(marginal(x) for x in left)
        scheduled.add(r["teacher_run_id"])


def test_cheapest_first_on_the_tiny_plan_orders_teachers_before_students():
    plan = planmod.cheapest_first(planmod.tiny_plan(10**6), first=())
    for r in plan.runs.values():
        if r["teacher_run_id"]:
            assert plan.runs[r["teacher_run_id"]]["priority"] < r["priority"]
