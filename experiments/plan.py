"""The run plan of the replication (version 2): each protocol declared once.

A protocol is one :class:`Protocol`: a name, one sentence for the book's design table,
its place in the order of a GPU block, and a function from the :class:`Setting` (the
half's size and the learning rates) to its runs. :data:`PROTOCOLS` lists them; the plan
command and the set-up chapter's design table both read that list. Runs that occur in
several protocols appear once, with every protocol in their ``protocol`` field (joined by
'+'). No run is planned past :data:`MAX_EPOCHS` passes over its half, and every run that
enters a fit takes at least :data:`experiments.train.MIN_STEPS` optimiser steps (the
learning-rate sweep's short runs are the exception, and are reported apart).

Within a block, runs go by priority (a protocol's ``order``, so that a block cut short
leaves whole protocols), then by cost, largest first (the long runs start early).

``python -m experiments.plan --block experiments/blocks/NAME.json --half-tokens T --out plan.csv
[--throughput data/replication/throughput.csv]`` writes the plan of a block and prints its
model FLOPs and expected GPU minutes.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

from experiments.family import Architecture, architecture, family

MAX_EPOCHS = 4.0
MIN_STEPS = 1000  # the same as experiments.train.MIN_STEPS (torch-free here)
LADDER_M = 20
#: Sizes of the fixed-M ladder: 0.11M to 21.8M non-embedding parameters (2.3 decades); the
#: two larger sizes of the family serve the largest IsoFLOP profile.
LADDER_SIZES = ("L2d64", "L2d128", "L3d128", "L3d192", "L4d192", "L4d256", "L5d256", "L5d320",
                "L6d384", "L7d448", "L7d512")
#: Training compute C = 3 F(N) D of each IsoFLOP profile (FLOPs).
ISOFLOP_BUDGETS = (1.5e15, 4e15, 1e16, 2e16)
#: Peak learning rates of the sweep (simple muP: the rate at width 128).
LR_GRID = (2.5e-3, 5e-3, 1e-2, 2e-2, 4e-2)
#: The sweep's sizes (smallest, middle, largest of the ladder) and tokens per parameter.
LR_SWEEP = (("L2d64", (2, 20)), ("L5d256", (2, 20)), ("L7d512", (2,)))
#: Configurations (size, M) that get seeds 1 and 2 besides seed 0.
SEED_CONFIGS = (("L2d64", 20), ("L2d128", 20), ("L3d192", 20), ("L4d256", 20), ("L5d320", 20),
                ("L6d384", 20), ("L3d128", 20), ("L7d512", 20))
EXTRA_SEEDS = (1, 2)
#: Student sizes whose student-half twins (M = 20) part 2's protocols 2 and 4 will need.
TWIN_STUDENTS = ("L2d128", "L3d192", "L4d256", "L5d320", "L6d384")
DEFAULT_LR = 1e-2

FIELDS = ["run_id", "protocol", "priority", "n_layers", "d_model", "tokens", "split", "seed",
          "teacher_run_id", "distill_lambda", "distill_tau", "distill_topk", "lr", "batch_seqs",
          "cost_flops"]


def arch_of(name: str) -> Architecture:
    from experiments.family import by_name
    return by_name(name)


def batch_seqs(arch: Architecture) -> int:
    """Sequences per step of a size (the rule of :func:`experiments.train.batch_seqs_for`,
    repeated here without torch)."""
    d20 = 20 * arch.non_embedding_params
    b_opt = 0.292 * (3.0 * arch.forward_flops_per_token * d20) ** 0.3271 / arch.n_ctx
    return max(2, int(min(round(b_opt), math.floor(d20 / (MIN_STEPS * arch.n_ctx)))))


def steps_of(arch: Architecture, tokens: int) -> int:
    return max(1, round(tokens / (batch_seqs(arch) * arch.n_ctx)))


def supervised_id(arch: Architecture, tokens: int, split: str, seed: int = 0, lr: float | None = None) -> str:
    knob = f"-lr{lr:g}" if lr is not None else ""
    return f"s-{arch.name}-D{tokens}-{split[0]}-s{seed}{knob}"


def distill_id(teacher: str, arch: Architecture, tokens: int, seed: int = 0, lam=1.0, tau=1.0, topk=0) -> str:
    knobs = "" if (lam, tau, topk) == (1.0, 1.0, 0) else f"-l{lam}-t{tau}-k{topk}"
    return f"d-{teacher}--{arch.name}-D{tokens}-s{seed}{knobs}"


def without_rerun(run_id: str) -> str:
    """The run id with every rerun suffix (``-r1``, ...) removed."""
    return re.sub(r"-r\d+(?=--|$)", "", run_id)


def m_tokens(arch: Architecture, M: float) -> int:
    return int(round(M * arch.non_embedding_params))


def isoflop_tokens(arch: Architecture, C: float) -> int:
    return int(round(C / (3.0 * arch.forward_flops_per_token)))


@dataclass(frozen=True)
class Setting:
    """What a plan depends on: the size of a training half, the peak learning rate of each
    size (by name; missing sizes get ``default_lr``) and the finished runs that lack the
    copying probe (``unprobed``: their ids; the ``probe`` protocol trains them again)."""

    half_tokens: int
    lr: dict = field(default_factory=dict)
    default_lr: float = DEFAULT_LR
    unprobed: frozenset = frozenset()

    def lr_of(self, arch: Architecture) -> float:
        return float(self.lr.get(arch.name, self.default_lr))

    @property
    def max_tokens(self) -> float:
        return MAX_EPOCHS * self.half_tokens * 0.995  # margin: an epoch is whole 513-token windows


def supervised(s: Setting, arch: Architecture, tokens: int, split: str = "teacher", seed: int = 0,
               lr: float | None = None, min_steps: int = MIN_STEPS) -> dict | None:
    """A supervised run, or None if it would exceed MAX_EPOCHS or take fewer than
    ``min_steps`` steps."""
    if tokens > s.max_tokens or steps_of(arch, tokens) < min_steps:
        return None
    return {"run_id": supervised_id(arch, tokens, split, seed, lr), "n_layers": arch.n_layers,
            "d_model": arch.d_model, "tokens": tokens, "split": split, "seed": seed,
            "teacher_run_id": "", "distill_lambda": 1.0, "distill_tau": 1.0, "distill_topk": 0,
            "lr": s.lr_of(arch) if lr is None else lr, "batch_seqs": batch_seqs(arch),
            "cost_flops": 3.0 * arch.forward_flops_per_token * tokens}


def lr_sweep_runs(s: Setting) -> Iterable[dict]:
    for name, Ms in LR_SWEEP:
        a = arch_of(name)
        for M in Ms:
            for lr in LR_GRID:
                yield supervised(s, a, m_tokens(a, M), lr=lr, min_steps=1)


def ladder_runs(s: Setting) -> Iterable[dict]:
    for name in LADDER_SIZES:
        a = arch_of(name)
        yield supervised(s, a, m_tokens(a, LADDER_M))


def isoflop_runs(C: float) -> Callable[[Setting], Iterable[dict]]:
    def runs(s: Setting) -> Iterable[dict]:
        for a in family():
            yield supervised(s, a, isoflop_tokens(a, C))
    return runs


def seed_runs(s: Setting) -> Iterable[dict]:
    for name, M in SEED_CONFIGS:
        a = arch_of(name)
        for seed in EXTRA_SEEDS:
            yield supervised(s, a, m_tokens(a, M), seed=seed)


def twin_runs(s: Setting) -> Iterable[dict]:
    for name in TWIN_STUDENTS:
        a = arch_of(name)
        yield supervised(s, a, m_tokens(a, LADDER_M), split="student")


def probe_reruns(s: Setting) -> Iterable[dict]:
    """The supervised protocols' finished runs that lack the copying probe, trained again
    (same configuration and seed) under the id with suffix ``-r1``."""
    runs = {}
    for make in (ladder_runs, *(isoflop_runs(C) for C in ISOFLOP_BUDGETS), seed_runs, twin_runs):
        for r in make(s):
            if r is not None and r["run_id"] in s.unprobed:
                runs[r["run_id"]] = {**r, "run_id": r["run_id"] + "-r1"}
    yield from runs.values()


def unprobed(runs_csv: Path) -> frozenset:
    """The ids of the runs of a run table that record no copying probe (``copy_curve``)."""
    with open(runs_csv, newline="") as f:
        return frozenset(r["run_id"] for r in csv.DictReader(f) if not r.get("copy_curve"))


# -- part 2: distillation ------------------------------------------------------------------
#
# A distillation names its teacher by the part-1 run it repeats (``teacher_run_id`` in a
# protocol's rows, and the teacher's part in the run id), so that ids stay the same from
# block to block and finished runs drop out of later plans. Checkpoints do not outlive a
# GPU machine, so every block trains its teachers again (same configuration and seed, id
# suffix ``teacher_suffix``; :func:`block_plan`) and its rows name that retrained run. The
# retrained teacher of group g (in the block's order) has priority 2 (P + g), after the P
# protocols of the block, and its students and their twins that priority + 1: a block cut short leaves
# whole groups, and a worker waiting for a teacher trains twins meanwhile.

#: Fixed-M teachers (M = 20 on the teacher half) of protocol 1: five sizes, 3.2M-21.8M.
FIXED_M_TEACHERS = ("L4d256", "L5d256", "L5d320", "L6d384", "L7d512")
#: Protocol 1's student budgets C = 3 F(N_S) D_S in FLOPs (the teacher's cost is not counted,
#: as in the paper's IsoFLOP students).
STUDENT_BUDGETS = (5e14, 1.5e15, 4e15)
#: Student sizes per budget of protocol 1: the largest sizes that fit the student half.
ISOFLOP_STUDENTS = 5
#: Protocol 2: the IsoFLOP profiles of part 1 whose every run teaches, and the teachers of the
#: largest profile (its measured minimum, L6d384, and the sizes either side: retraining all
#: seven of its runs would cost 1.4e17 FLOPs, more than half a block).
ISOFLOP_TEACHER_BUDGETS = (1.5e15, 4e15, 1e16)
ISOFLOP_2E16_TEACHERS = ("L5d320", "L6d384", "L7d448")
#: Protocol 2's students (M = 20): 0.11M-4.0M non-embedding parameters, 1.57 decades.
ISOFLOP_TEACHER_STUDENTS = ("L2d64", "L2d128", "L3d192", "L4d256", "L5d256")
#: Protocol 3: teachers at M = 20 across the ladder, students at M = 20 ... 320.
FIXED_M_RANGE_TEACHERS = ("L2d128", "L3d192", "L4d256", "L5d320", "L6d384", "L7d512")
FIXED_M_STUDENTS = ("L2d128", "L3d192", "L4d256")
STUDENT_M = (20, 40, 80, 160, 320)
#: Protocol 4: groups of part-1 runs (size, tokens) of about equal validation loss (measured
#: in part 1: 1.886, 2.03, 2.19 and 2.35 nats; tests/test_replication_data.py checks the
#: spread against the table) and students at M = 20.
EQUAL_LOSS_GROUPS = (
    (("L7d448", 149188463), ("L6d384", 212451840), ("L5d320", 351380222)),
    (("L6d384", 111497875), ("L4d256", 285607224), ("L5d320", 120915200)),
    (("L5d320", 70276044), ("L4d256", 114242890), ("L4d192", 178358418)),
    (("L4d256", 64281600), ("L3d128", 367976073)),
)
EQUAL_LOSS_STUDENTS = ("L3d192", "L4d256", "L5d320")
#: Protocol 5: seeds 1 and 2 of twenty distillations where the strong students and the
#: extrapolation targets are: protocol 1's two strongest teachers at its largest budget
#: (10), protocol 3's largest student from the L5d320 and L7d512 teachers at M = 20, 40, 80
#: (6; M = 160 would cost 9e16 FLOPs a seed pair) and protocol 4's largest student from the
#: first teacher of each group (4).
DISTILL_SEEDS = (1, 2)


def teacher_of(name: str, tokens: int) -> str:
    """The id of the part-1 run (teacher half, seed 0) that a distillation's teacher repeats."""
    return supervised_id(arch_of(name), tokens, "teacher")


_SUPERVISED = re.compile(r"^s-(L\d+d\d+)-D(\d+)-(t|s)-s(\d+)$")
#: A block's suffix of the teachers it trains again (``teacher_suffix``): "-p2" and letters or digits.
TEACHER_SUFFIX = re.compile(r"-p2[a-z0-9]+$")
#: The prefix of part 2's protocol names (and of TEACHERS_PROTOCOL).
PART2_PREFIX = "p2-"


def part1_teacher(run_id: str) -> str:
    """The part-1 run id that a (retrained) teacher id repeats: the id less a block's suffix."""
    return TEACHER_SUFFIX.sub("", run_id)


def parse_teacher(run_id: str) -> tuple[Architecture, int]:
    """(architecture, tokens) of a teacher id (a part-1 run id, teacher half, seed 0, or that
    id with a block's suffix)."""
    m = _SUPERVISED.match(part1_teacher(run_id))
    if not m or m.group(3) != "t" or m.group(4) != "0":
        raise ValueError(f"teacher id must name a teacher-half seed-0 supervised run, got {run_id!r}")
    return arch_of(m.group(1)), int(m.group(2))


def teacher_forward_flops(r: dict) -> float:
    """The teacher's forward FLOPs over a run's tokens (0 for a supervised run)."""
    return parse_teacher(r["teacher_run_id"])[0].forward_flops_per_token * r["tokens"] if r["teacher_run_id"] else 0.0


def distillation(s: Setting, teacher: str, arch: Architecture, tokens: int, seed: int = 0) -> dict | None:
    """A distillation on the student half (lambda 1, tau 1, full distribution) from the teacher
    of part-1 id ``teacher``, or None if it would exceed MAX_EPOCHS or take fewer than
    MIN_STEPS steps. ``cost_flops`` counts the student's training and the teacher's forward
    pass on the student's tokens."""
    if tokens > s.max_tokens or steps_of(arch, tokens) < MIN_STEPS:
        return None
    t_arch, t_tokens = parse_teacher(teacher)
    return {"run_id": distill_id(f"{t_arch.name}-D{t_tokens}", arch, tokens, seed), "n_layers": arch.n_layers,
            "d_model": arch.d_model, "tokens": tokens, "split": "student", "seed": seed,
            "teacher_run_id": teacher, "distill_lambda": 1.0, "distill_tau": 1.0, "distill_topk": 0,
            "lr": s.lr_of(arch), "batch_seqs": batch_seqs(arch),
            "cost_flops": (3.0 * arch.forward_flops_per_token + t_arch.forward_flops_per_token) * tokens}


def isoflop_students(s: Setting, C: float) -> list[Architecture]:
    """The ISOFLOP_STUDENTS largest sizes whose run at budget ``C`` fits the student half."""
    fit = [a for a in family() if distillation(s, teacher_of("L2d64", m_tokens(arch_of("L2d64"), 20)),
                                               a, isoflop_tokens(a, C)) is not None]
    return sorted(fit, key=lambda a: a.non_embedding_params)[-ISOFLOP_STUDENTS:]


def fixed_m_isoflop_students(s: Setting) -> Iterable[dict]:
    for t in FIXED_M_TEACHERS:
        teacher = teacher_of(t, m_tokens(arch_of(t), LADDER_M))
        for C in STUDENT_BUDGETS:
            for a in isoflop_students(s, C):
                yield distillation(s, teacher, a, isoflop_tokens(a, C))


def isoflop_teachers(s: Setting) -> list[str]:
    """Protocol 2's teachers: part 1's IsoFLOP runs (every one of ISOFLOP_TEACHER_BUDGETS'
    profiles, ISOFLOP_2E16_TEACHERS of the 2e16 profile)."""
    out = []
    for C in ISOFLOP_BUDGETS:
        for r in isoflop_runs(C)(s):
            if r is not None and (C in ISOFLOP_TEACHER_BUDGETS or
                                  (C == 2e16 and f"L{r['n_layers']}d{r['d_model']}" in ISOFLOP_2E16_TEACHERS)):
                out.append(r["run_id"])
    return out


def isoflop_teacher_students(s: Setting) -> Iterable[dict]:
    for teacher in isoflop_teachers(s):
        for name in ISOFLOP_TEACHER_STUDENTS:
            a = arch_of(name)
            yield distillation(s, teacher, a, m_tokens(a, LADDER_M))


def fixed_m_students(s: Setting) -> Iterable[dict]:
    for t in FIXED_M_RANGE_TEACHERS:
        teacher = teacher_of(t, m_tokens(arch_of(t), LADDER_M))
        for name in FIXED_M_STUDENTS:
            a = arch_of(name)
            for M in STUDENT_M:
                yield distillation(s, teacher, a, m_tokens(a, M))


def equal_loss_students(s: Setting) -> Iterable[dict]:
    for group in EQUAL_LOSS_GROUPS:
        for t, tokens in group:
            for name in EQUAL_LOSS_STUDENTS:
                a = arch_of(name)
                yield distillation(s, teacher_of(t, tokens), a, m_tokens(a, LADDER_M))


def seeded_configs(s: Setting) -> list[dict]:
    """The twenty seed-0 distillations that protocol 5 repeats (see DISTILL_SEEDS)."""
    out = []
    for t in FIXED_M_TEACHERS[-2:]:
        teacher = teacher_of(t, m_tokens(arch_of(t), LADDER_M))
        out += [distillation(s, teacher, a, isoflop_tokens(a, STUDENT_BUDGETS[-1]))
                for a in isoflop_students(s, STUDENT_BUDGETS[-1])]
    for t in ("L5d320", "L7d512"):
        a = arch_of(FIXED_M_STUDENTS[-1])
        out += [distillation(s, teacher_of(t, m_tokens(arch_of(t), LADDER_M)), a, m_tokens(a, M)) for M in STUDENT_M[:3]]
    for group in EQUAL_LOSS_GROUPS:
        a = arch_of(EQUAL_LOSS_STUDENTS[-1])
        out.append(distillation(s, teacher_of(*group[0]), a, m_tokens(a, LADDER_M)))
    return [r for r in out if r is not None]


def seed_distillations(s: Setting) -> Iterable[dict]:
    for r in seeded_configs(s):
        a = architecture(r["n_layers"], r["d_model"])
        for seed in DISTILL_SEEDS:
            yield distillation(s, r["teacher_run_id"], a, r["tokens"], seed)


def twin_of(s: Setting, run: dict) -> dict:
    """A distillation's supervised twin: same size, tokens and seed on the student half."""
    return supervised(s, architecture(run["n_layers"], run["d_model"]), run["tokens"], "student", run["seed"])


@dataclass(frozen=True)
class Protocol:
    """One protocol of the replication: its runs, and one sentence for the design table."""

    name: str
    what: str
    runs: Callable[[Setting], Iterable[dict]]
    part: int = 1  # of the replication: 1 supervised, 2 distillation


def _budget_tag(C: float) -> str:
    return "isoflop-" + f"{C:.2g}".replace("e+", "e")


PROTOCOLS: dict[str, Protocol] = {p.name: p for p in (
    Protocol("lr-sweep", "peak learning rate x5 (factor 2 apart) at the smallest, a middle and the largest "
             "ladder size, 2 and 20 tokens per parameter (short runs: reported apart)", lr_sweep_runs),
    Protocol("ladder", f"{len(LADDER_SIZES)} sizes at M = {LADDER_M} tokens per parameter, teacher half", ladder_runs),
    *(Protocol(_budget_tag(C), f"IsoFLOP profile at C = {C:.0e} FLOPs: every size with at least "
               f"{MIN_STEPS} steps and at most {MAX_EPOCHS:g} epochs", isoflop_runs(C))
      for C in ISOFLOP_BUDGETS),
    Protocol("seeds", "seeds 1 and 2 of eight ladder configurations, the largest included", seed_runs),
    Protocol("twins", "student-half twins (M = 20) of the student sizes part 2 distils", twin_runs),
    Protocol("probe", "the supervised protocols' finished runs that lack the copying probe, trained "
             "again with it (id suffix -r1)", probe_reruns),
    Protocol("p2-fixed-m-teachers", f"fixed-M teachers / IsoFLOP students: {len(FIXED_M_TEACHERS)} teachers at "
             f"M = {LADDER_M} x {len(STUDENT_BUDGETS)} student budgets x the {ISOFLOP_STUDENTS} largest students "
             "that fit each", fixed_m_isoflop_students, part=2),
    Protocol("p2-isoflop-teachers", "IsoFLOP teachers / fixed-M students: every IsoFLOP run of part 1 at 1.5e15, "
             f"4e15 and 1e16 and three at 2e16 x {len(ISOFLOP_TEACHER_STUDENTS)} students at M = {LADDER_M}",
             isoflop_teacher_students, part=2),
    Protocol("p2-fixed-m-students", f"fixed-M teachers / fixed-M students: {len(FIXED_M_RANGE_TEACHERS)} teachers "
             f"at M = {LADDER_M} x {len(FIXED_M_STUDENTS)} students at M = {min(STUDENT_M)} ... {max(STUDENT_M)} "
             "(where the student half allows)", fixed_m_students, part=2),
    Protocol("p2-equal-loss", f"teacher-loss equivalence: {len(EQUAL_LOSS_GROUPS)} groups of part-1 runs of about "
             f"equal loss and different (N_T, D_T) x {len(EQUAL_LOSS_STUDENTS)} students at M = {LADDER_M}",
             equal_loss_students, part=2),
    Protocol("p2-seeds", f"seeds 1 and 2 of twenty distillations (the strong students and the extrapolation "
             "targets)", seed_distillations, part=2),
)}
#: The protocol of the teachers each part-2 block trains again (not a protocol of its own:
#: :func:`block_plan` adds them).
TEACHERS_PROTOCOL = PART2_PREFIX + "teachers"


class Plan:
    """Runs keyed by id; adding a run twice merges its protocols and keeps the first priority."""

    def __init__(self):
        self.runs: dict[str, dict] = {}

    def add(self, run: dict, protocol: str, priority: int) -> None:
        old = self.runs.get(run["run_id"])
        if old:
            tags = old["protocol"].split("+")
            if protocol not in tags:
                old["protocol"] = "+".join(tags + [protocol])
            return
        self.runs[run["run_id"]] = {**run, "protocol": protocol, "priority": priority}

    def rows(self) -> list[dict]:
        return sorted(self.runs.values(), key=lambda r: (r["priority"], -r["cost_flops"], r["run_id"]))


def block_plan(protocols: list[str], setting: Setting, done: set[str] = frozenset(),
               teachers: list[str] | None = None, teacher_suffix: str = "", by_protocol: bool = False) -> Plan:
    """The runs of ``protocols`` (in this order of priority), leaving out ids in ``done``.

    Distillations (part 2) go by teacher group: each teacher that a remaining distillation
    needs (only those of ``teachers``, part-1 run ids in this order, if given) is trained
    again under its id plus ``teacher_suffix`` (``-p2`` and letters or digits) at priority
    2 (len(protocols) + g), and its distillations, each with its twin (:func:`twin_of`), at
    that priority + 1. With ``by_protocol``, a teacher's distillations go by protocol too: the
    teacher of group g at 2 len(protocols) + g (len(protocols) + 1), the runs of its k-th
    protocol at that + 1 + k, so that a block cut short within a teacher's students leaves
    whole protocols of them (students share a teacher's pass only within one priority)."""
    if not isinstance(by_protocol, bool):
        raise TypeError(f"by_protocol must be true or false; got {by_protocol!r}")
    plan = Plan()
    groups: dict[str, list] = {}
    for k, name in enumerate(protocols):
        if name not in PROTOCOLS:
            raise ValueError(f"unknown protocol {name!r}; known: {sorted(PROTOCOLS)}")
        for run in PROTOCOLS[name].runs(setting):
            if run is None or run["run_id"] in done:
                continue
            if run["teacher_run_id"]:
                groups.setdefault(run["teacher_run_id"], []).append((run, name))
            else:
                plan.add(run, name, k)
    if teachers is not None:
        for t in teachers:
            parse_teacher(t)  # a malformed id is an error; a teacher with nothing left to teach drops out
        groups = {t: groups[t] for t in teachers if t in groups}
    if groups and not TEACHER_SUFFIX.fullmatch(teacher_suffix):
        raise ValueError(f"teacher_suffix must be '-p2' and letters or digits (teachers are trained again under "
                         f"their id plus it), got {teacher_suffix!r}")
    for g, (teacher, members) in enumerate(groups.items()):
        t_arch, t_tokens = parse_teacher(teacher)
        retrained = supervised(setting, t_arch, t_tokens, "teacher")
        if retrained is None or retrained["run_id"] != teacher:
            raise ValueError(f"teacher {teacher!r} is not a run part 1 could plan in this setting")
        retrained = {**retrained, "run_id": teacher + teacher_suffix}
        first = 2 * len(protocols) + g * (len(protocols) + 1) if by_protocol else 2 * (len(protocols) + g)
        plan.add(retrained, TEACHERS_PROTOCOL, first)
        for run, name in members:  # in the order of protocols, so a run in several keeps its first
            priority = first + 1 + (protocols.index(name) if by_protocol else 0)
            plan.add({**run, "teacher_run_id": retrained["run_id"]}, name, priority)
            twin = twin_of(setting, run)
            if twin["run_id"] not in done:
                plan.add(twin, name, priority)
    return plan


def plan_of_block(block: dict, setting: Setting, done: set[str] = frozenset()) -> Plan:
    """The plan of a block's configuration (:func:`read_block`): its protocols, and for part
    2 its teachers and their suffix."""
    return block_plan(block["protocols"], setting, done, block.get("teachers"), block.get("teacher_suffix", ""),
                      block.get("by_protocol", False))


def write_plan(plan: Plan, path: Path) -> None:
    tmp = Path(str(path) + ".tmp")
    with open(tmp, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=FIELDS)
        w.writeheader()
        for r in plan.rows():
            w.writerow(r)
    tmp.replace(path)


_TYPES = {"priority": int, "n_layers": int, "d_model": int, "tokens": int, "seed": int,
          "distill_lambda": float, "distill_tau": float, "distill_topk": int, "lr": float,
          "batch_seqs": int, "cost_flops": float}


def read_plan(path: Path) -> list[dict]:
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    for r in rows:
        for k, t in _TYPES.items():
            r[k] = t(r[k])
    return rows


#: The keys of a block's configuration (what ``experiments.block`` reads; the rest describes it).
BLOCK_KEYS = frozenset({"name", "what", "usage", "session_seconds", "mps", "workers_per_gpu", "benchmark",
                        "check_modes", "checked_by", "mode", "graph_below", "throughput_from", "lr_from",
                        "done_from", "first", "protocols", "save_teachers", "teachers", "teacher_suffix",
                        "share_teacher", "group_max", "recheck_sharing", "by_protocol"})


def read_block(path: Path) -> dict:
    """A GPU block's configuration (experiments/blocks/*.json); an unknown key (a typo would
    otherwise be ignored) or protocol is an error."""
    block = json.loads(Path(path).read_text())
    keys = sorted(set(block) - BLOCK_KEYS)
    if keys:
        raise ValueError(f"{path}: unknown keys {keys}; known: {sorted(BLOCK_KEYS)}")
    unknown = [p for p in block["protocols"] if p not in PROTOCOLS]
    if unknown:
        raise ValueError(f"{path}: unknown protocols {unknown}; known: {sorted(PROTOCOLS)}")
    return block


def rates_of(throughput: list[dict], mode: str) -> Callable[[Architecture], float]:
    """Model FLOP/s of a size in step mode ``mode`` at the benchmark (the nearest measured
    size where a size was not measured)."""
    rate = {(int(t["n_layers"]), int(t["d_model"])): float(t["model_flops_per_s"])
            for t in throughput if t["mode"] == mode}
    if not rate:
        raise ValueError(f"the throughput table has no rows of mode {mode!r}")

    def of(arch: Architecture) -> float:
        key = (arch.n_layers, arch.d_model)
        if key in rate:
            return rate[key]
        n = arch.non_embedding_params
        return min(rate.items(), key=lambda kv: abs(math.log(architecture(*kv[0]).non_embedding_params / n)))[1]
    return of


def run_seconds(r: dict, rate: Callable[[Architecture], float]) -> float:
    """Seconds of run ``r`` alone: its training, 3 F(N) D, at ``rate`` of its size, and for a
    distillation the teacher's forward pass, F(N_T) D, at ``rate`` of the teacher's size."""
    a = architecture(r["n_layers"], r["d_model"])
    seconds = 3.0 * a.forward_flops_per_token * r["tokens"] / rate(a)
    if r["teacher_run_id"]:
        seconds += teacher_forward_flops(r) / rate(parse_teacher(r["teacher_run_id"])[0])
    return seconds


def expected_minutes(rows: list[dict], throughput: list[dict], mode: str) -> float:
    """GPU minutes of the runs at the benchmark's model FLOP/s of each size in step mode
    ``mode`` (:func:`run_seconds`), one run at a time."""
    rate = rates_of(throughput, mode)
    return sum(run_seconds(r, rate) for r in rows) / 60.0


def design_table(setting: Setting, protocols: list[str] | None = None, part: int = 1) -> list[dict]:
    """One row per protocol (those of ``part`` by default): what it runs, how many runs, the
    sizes it spans, its model FLOPs and, for distillations, how many teachers and the
    teacher forward passes' share of those FLOPs; the design table of the book and of
    ``python -m experiments.plan --design``."""
    out = []
    for name in protocols or [n for n, p in PROTOCOLS.items() if p.part == part]:
        rows = [r for r in PROTOCOLS[name].runs(setting) if r is not None]
        Ns = [architecture(r["n_layers"], r["d_model"]).non_embedding_params for r in rows]
        forward = sum(teacher_forward_flops(r) for r in rows)
        flops = sum(r["cost_flops"] for r in rows)
        out.append({"protocol": name, "what": PROTOCOLS[name].what, "runs": len(rows),
                    "teachers": len({r["teacher_run_id"] for r in rows if r["teacher_run_id"]}),
                    "N_min": min(Ns) if Ns else 0, "N_max": max(Ns) if Ns else 0,
                    "model_flops": flops, "teacher_forward_share": forward / flops if flops else 0.0})
    return out


def part2_totals(setting: Setting, done: set[str] = frozenset()) -> dict:
    """What part 2 still has to run (every part-2 protocol less ``done``), each teacher
    trained once: distillations, twins, teachers and their model FLOPs."""
    rows = block_plan([n for n, p in PROTOCOLS.items() if p.part == 2], setting, done,
                      teacher_suffix="-p2all").rows()
    kinds = {"distillations": [r for r in rows if r["teacher_run_id"]],
             "teachers": [r for r in rows if r["protocol"] == TEACHERS_PROTOCOL]}
    kinds["twins"] = [r for r in rows if not r["teacher_run_id"] and r["protocol"] != TEACHERS_PROTOCOL]
    out = {}
    for k, v in kinds.items():
        out[k] = len(v)
        out[f"{k}_flops"] = sum(r["cost_flops"] for r in v)
    out["teacher_forward_flops"] = sum(teacher_forward_flops(r) for r in kinds["distillations"])
    out["model_flops"] = sum(r["cost_flops"] for r in rows)
    return out


def summary(plan: Plan) -> dict:
    out: dict[str, int] = {}
    for r in plan.runs.values():
        for tag in r["protocol"].split("+"):
            out[tag] = out.get(tag, 0) + 1
    return out


def print_design(setting: Setting, part: int, done: set[str]) -> None:
    for r in design_table(setting, part=part):
        share = f", teacher forward {r['teacher_forward_share']:.0%}" if r["teachers"] else ""
        print(f"{r['protocol']}: {r['runs']} runs, {r['teachers']} teachers, N {r['N_min'] / 1e6:.2f}M-"
              f"{r['N_max'] / 1e6:.2f}M, {r['model_flops']:.2e} model FLOPs{share}\n    {r['what']}")
    if part == 2:
        t = part2_totals(setting, done)
        print(f"left to run: {t['distillations']} distillations ({t['distillations_flops']:.2e} FLOPs, teacher "
              f"forward passes {t['teacher_forward_flops']:.2e} of them), {t['twins']} twins "
              f"({t['twins_flops']:.2e}), {t['teachers']} teachers trained once ({t['teachers_flops']:.2e}): "
              f"{t['model_flops']:.2e} model FLOPs")


def main(argv=None):
    ap = argparse.ArgumentParser(description="write the run plan of a GPU block")
    ap.add_argument("--block", type=Path, help="experiments/blocks/NAME.json")
    ap.add_argument("--half-tokens", type=int, required=True)
    ap.add_argument("--out", type=Path, help="the block's plan (a CSV)")
    ap.add_argument("--design", type=int, choices=(1, 2), help="print the design table of part 1 or 2 instead")
    ap.add_argument("--lr", type=Path, help="learning rates per size (data/replication/lr_choice.json)")
    ap.add_argument("--done", type=Path, help="runs.csv whose runs are left out")
    ap.add_argument("--throughput", type=Path, help="throughput.csv for the expected GPU minutes")
    a = ap.parse_args(argv)
    if a.design is None and (a.block is None or a.out is None):
        ap.error("give --block and --out (a block's plan), or --design 1|2")
    lr = json.loads(a.lr.read_text())["lr"] if a.lr else {}
    done, without_probe = set(), frozenset()
    if a.done and a.done.exists():
        with open(a.done, newline="") as f:
            done = {r["run_id"] for r in csv.DictReader(f)}
        without_probe = unprobed(a.done)
    if a.design:
        print_design(Setting(a.half_tokens, lr, unprobed=without_probe), a.design, done)
        return
    block = read_block(a.block)
    plan = plan_of_block(block, Setting(a.half_tokens, lr, unprobed=without_probe), done)
    write_plan(plan, a.out)
    rows = plan.rows()
    print(f"{len(rows)} runs, {sum(r['cost_flops'] for r in rows):.3e} model FLOPs, "
          f"{sum(r['tokens'] for r in rows) / 1e9:.2f}B tokens")
    print(summary(plan))
    if a.throughput:
        with open(a.throughput, newline="") as f:
            tp = list(csv.DictReader(f))
        mode = block.get("mode", "graph")
        print(f"expected {expected_minutes(rows, tp, mode):.1f} GPU minutes at the measured {mode} throughput, "
              "one run at a time")


if __name__ == "__main__":
    main()
