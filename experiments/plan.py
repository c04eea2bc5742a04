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


@dataclass(frozen=True)
class Protocol:
    """One protocol of the replication: its runs, and one sentence for the design table."""

    name: str
    what: str
    runs: Callable[[Setting], Iterable[dict]]


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
)}


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


def block_plan(protocols: list[str], setting: Setting, done: set[str] = frozenset()) -> Plan:
    """The runs of ``protocols`` (in this order of priority), leaving out ids in ``done``."""
    plan = Plan()
    for k, name in enumerate(protocols):
        if name not in PROTOCOLS:
            raise ValueError(f"unknown protocol {name!r}; known: {sorted(PROTOCOLS)}")
        for run in PROTOCOLS[name].runs(setting):
            if run is not None and run["run_id"] not in done:
                plan.add(run, name, k)
    return plan


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
                        "done_from", "first", "protocols", "save_teachers"})


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


def expected_minutes(rows: list[dict], throughput: list[dict], mode: str) -> float:
    """GPU minutes of the runs at the benchmark's model FLOP/s of each size in step mode
    ``mode`` (the nearest measured size where a size was not measured), one run at a time."""
    rate = {(int(t["n_layers"]), int(t["d_model"])): float(t["model_flops_per_s"])
            for t in throughput if t["mode"] == mode}
    if not rate:
        raise ValueError(f"the throughput table has no rows of mode {mode!r}")
    known = sorted(rate.items(), key=lambda kv: architecture(*kv[0]).non_embedding_params)
    total = 0.0
    for r in rows:
        key = (r["n_layers"], r["d_model"])
        if key in rate:
            v = rate[key]
        else:  # the nearest measured size
            n = architecture(*key).non_embedding_params
            v = min(known, key=lambda kv: abs(math.log(architecture(*kv[0]).non_embedding_params / n)))[1]
        total += r["cost_flops"] / v
    return total / 60.0


def design_table(setting: Setting, protocols: list[str] | None = None) -> list[dict]:
    """One row per protocol (all of :data:`PROTOCOLS` by default): what it runs, how many
    runs, the sizes it spans and its model FLOPs; the book's design table."""
    out = []
    for name in protocols or list(PROTOCOLS):
        rows = [r for r in PROTOCOLS[name].runs(setting) if r is not None]
        Ns = [architecture(r["n_layers"], r["d_model"]).non_embedding_params for r in rows]
        out.append({"protocol": name, "what": PROTOCOLS[name].what, "runs": len(rows),
                    "N_min": min(Ns) if Ns else 0, "N_max": max(Ns) if Ns else 0,
                    "model_flops": sum(r["cost_flops"] for r in rows)})
    return out


def summary(plan: Plan) -> dict:
    out: dict[str, int] = {}
    for r in plan.runs.values():
        for tag in r["protocol"].split("+"):
            out[tag] = out.get(tag, 0) + 1
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description="write the run plan of a GPU block")
    ap.add_argument("--block", type=Path, required=True, help="experiments/blocks/NAME.json")
    ap.add_argument("--half-tokens", type=int, required=True)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--lr", type=Path, help="learning rates per size (data/replication/lr_choice.json)")
    ap.add_argument("--done", type=Path, help="runs.csv whose runs are left out")
    ap.add_argument("--throughput", type=Path, help="throughput.csv for the expected GPU minutes")
    a = ap.parse_args(argv)
    block = read_block(a.block)
    lr = json.loads(a.lr.read_text())["lr"] if a.lr else {}
    done, without_probe = set(), frozenset()
    if a.done and a.done.exists():
        with open(a.done, newline="") as f:
            done = {r["run_id"] for r in csv.DictReader(f)}
        without_probe = unprobed(a.done)
    plan = block_plan(block["protocols"], Setting(a.half_tokens, lr, unprobed=without_probe), done)
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
