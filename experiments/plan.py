"""The run plan of the replication: which models, on which half, for how many tokens.

``base_plan(half_tokens)`` lists every run of issue 5 (supervised teachers: fixed-M
ladder and IsoFLOP profiles; a pilot distillation) and of issue 7's protocols 1, 2, 3
and 5, each distilled student with its supervised twin (same size, same tokens, the
student half). Protocol 4 (teachers of equal loss) needs the teachers' measured losses,
so ``protocol4_plan(rows)`` makes it once the supervised runs are done. Runs that occur
in several protocols appear once, with every protocol in their ``protocol`` field
(joined by '+'). No run is planned past ``MAX_EPOCHS`` passes over its half.

Part 2 (``part2_plan``) runs what part 1 left: its teachers are retrained (part 1 kept
no checkpoints) under ids ending in ``-r1``, protocol 4 uses teachers chosen in advance
from part 1's measured losses (``P4_GROUPS``), and runs already in ``runs.csv`` are
left out.

``python -m experiments.plan base --half-tokens T --out plan.csv`` writes the plan
(``part2 --done runs.csv`` for part 2).
"""

from __future__ import annotations

import argparse
import csv
import math
import re
from pathlib import Path

from experiments.family import architecture

MAX_EPOCHS = 4.0
LADDER_M = 20
LADDER_LAYERS = range(2, 10)  # 0.10M .. 8.96M non-embedding parameters
ISOFLOP_BUDGETS = (1e14, 3e14, 1e15, 3e15)  # student training FLOPs, 3 F(N) D
P1_TEACHERS = (3, 5, 7, 9)
P1_BUDGETS = (3e13, 1e14, 3e14)
P1_STUDENTS = (2, 3, 4, 5, 6)
P1_EXTRA_BUDGET, P1_EXTRA_STUDENTS = 1e15, (3, 4, 5, 6, 7)  # last priority: uses time left over
P2_STUDENTS = (2, 3, 4)
P3_STUDENTS = {2: (20, 40, 80, 160, 320), 3: (20, 40, 80, 160, 320), 4: (20, 40, 80), 5: (20, 40)}
P4_STUDENTS = (2, 3, 4)
PILOT_TEACHER, PILOT_STUDENTS = 7, (2, 3, 4, 5, 6)
SEED_SUPERVISED = (2, 3, 4, 5, 6)  # ladder configs repeated with seeds 1 and 2
SEED_DISTILLED = ((6, 2, 20), (6, 3, 20), (6, 3, 80), (6, 5, 20), (6, 2, 160))  # (teacher L, student L, M)
EXTRA_SEEDS = (1, 2)

FIELDS = ["run_id", "protocol", "priority", "n_layers", "tokens", "split", "seed",
          "teacher_run_id", "distill_lambda", "distill_tau", "distill_topk", "cost_flops"]


def supervised_id(L: int, tokens: int, split: str, seed: int = 0, rerun: int = 0) -> str:
    """``rerun`` > 0 marks a retraining of the same configuration (same seed)."""
    return f"s-L{L}-D{tokens}-{split[0]}-s{seed}" + (f"-r{rerun}" if rerun else "")


def without_rerun(run_id: str) -> str:
    """The run id with every rerun suffix removed: a retrained teacher, and a student of
    it, count as the configuration they repeat."""
    return re.sub(r"-r\d+(?=--|$)", "", run_id)


def distill_id(teacher: str, L: int, tokens: int, seed: int = 0, lam=1.0, tau=1.0, topk=0) -> str:
    knobs = "" if (lam, tau, topk) == (1.0, 1.0, 0) else f"-l{lam}-t{tau}-k{topk}"
    return f"d-{teacher}--L{L}-D{tokens}-s{seed}{knobs}"


def ladder_tokens(L: int, M: float = LADDER_M) -> int:
    return int(round(M * architecture(L).non_embedding_params))


def isoflop_tokens(L: int, C: float) -> int:
    return int(round(C / (3.0 * architecture(L).forward_flops_per_token)))


class Plan:
    """Runs keyed by id; adding a run twice merges its protocols and keeps the best priority."""

    def __init__(self, half_tokens: int, done: set[str] | None = None):
        self.max_tokens = MAX_EPOCHS * half_tokens * 0.995  # margin: an epoch is whole 513-token windows
        self.runs: dict[str, dict] = {}
        self.skipped: list[str] = []
        # configurations already run (ids without rerun suffixes): never planned again
        self.done = {without_rerun(i) for i in (done or set())}

    def _add(self, run: dict, retrain: bool = False) -> str | None:
        """``retrain``: plan the run even if its configuration is done (a lost teacher)."""
        if not retrain and without_rerun(run["run_id"]) in self.done:
            return run["run_id"]
        if run["tokens"] > self.max_tokens:
            self.skipped.append(f"{run['run_id']} ({run['tokens']} tokens > {MAX_EPOCHS} epochs)")
            return None
        old = self.runs.get(run["run_id"])
        if old:
            tags = old["protocol"].split("+")
            if run["protocol"] not in tags:
                old["protocol"] = "+".join(tags + [run["protocol"]])
            old["priority"] = min(old["priority"], run["priority"])
        else:
            self.runs[run["run_id"]] = run
        return run["run_id"]

    def supervised(self, L, tokens, split, protocol, priority, seed=0, rerun=0):
        cost = 3.0 * architecture(L).forward_flops_per_token * tokens
        return self._add({"run_id": supervised_id(L, tokens, split, seed, rerun), "protocol": protocol,
                          "priority": priority, "n_layers": L, "tokens": tokens, "split": split,
                          "seed": seed, "teacher_run_id": "", "distill_lambda": 1.0,
                          "distill_tau": 1.0, "distill_topk": 0, "cost_flops": cost},
                         retrain=rerun > 0)

    def distilled(self, teacher_id, teacher_L, L, tokens, protocol, priority, seed=0, twin=True):
        if teacher_id is None:
            return None
        cost = (3.0 * architecture(L).forward_flops_per_token
                + architecture(teacher_L).forward_flops_per_token) * tokens
        rid = self._add({"run_id": distill_id(teacher_id, L, tokens, seed), "protocol": protocol,
                         "priority": priority, "n_layers": L, "tokens": tokens, "split": "student",
                         "seed": seed, "teacher_run_id": teacher_id, "distill_lambda": 1.0,
                         "distill_tau": 1.0, "distill_topk": 0, "cost_flops": cost})
        if rid and twin:
            self.supervised(L, tokens, "student", protocol + "-twin", priority, seed)
        return rid

    def rows(self):
        return sorted(self.runs.values(), key=lambda r: (r["priority"], -r["cost_flops"], r["run_id"]))


def ladder_id(L):
    return supervised_id(L, ladder_tokens(L), "teacher")


def base_plan(half_tokens: int) -> Plan:
    p = Plan(half_tokens)
    ladder = {L: p.supervised(L, ladder_tokens(L), "teacher", "ladder", 0) for L in LADDER_LAYERS}
    iso = {}
    for C in ISOFLOP_BUDGETS:
        for L in range(2, 11):
            tokens = isoflop_tokens(L, C)
            # keep sizes with 0.5..1000 tokens per parameter (both arms of the profile)
            M = tokens / architecture(L).non_embedding_params
            if 0.5 <= M <= 1000.0:
                rid = p.supervised(L, tokens, "teacher", "isoflop-" + f"{C:.0e}".replace("+", ""), 0)
                if rid:
                    iso[(C, L)] = rid
    for L in PILOT_STUDENTS:
        p.distilled(ladder.get(PILOT_TEACHER), PILOT_TEACHER, L, ladder_tokens(L), "pilot", 1)
    for L in SEED_SUPERVISED:
        for s in EXTRA_SEEDS:
            p.supervised(L, ladder_tokens(L), "teacher", "p5-seeds", 1, seed=s)
    # Protocol 1: fixed-M teachers, IsoFLOP students.
    for T in P1_TEACHERS:
        for C in P1_BUDGETS:
            for L in P1_STUDENTS:
                p.distilled(ladder.get(T), T, L, isoflop_tokens(L, C), "p1", 2)
    # Protocol 3: fixed-M teachers of every size, fixed-M students at several M.
    for T in LADDER_LAYERS:
        for L, Ms in P3_STUDENTS.items():
            for M in Ms:
                p.distilled(ladder.get(T), T, L, ladder_tokens(L, M), "p3", 3)
    # Protocol 2: IsoFLOP teachers, fixed-M students.
    for (C, T), rid in iso.items():
        for L in P2_STUDENTS:
            p.distilled(rid, T, L, ladder_tokens(L), "p2", 4)
    # Protocol 5: seed noise of distilled students (and their twins).
    for T, L, M in SEED_DISTILLED:
        for s in EXTRA_SEEDS:
            p.distilled(ladder.get(T), T, L, ladder_tokens(L, M), "p5-seeds", 5, seed=s)
    for T in P1_TEACHERS:
        for L in P1_EXTRA_STUDENTS:
            p.distilled(ladder.get(T), T, L, isoflop_tokens(L, P1_EXTRA_BUDGET), "p1", 7)
    return p


def tiny_plan(half_tokens: int) -> Plan:
    """A CPU rehearsal of the sweep (use with n_ctx 32): two teachers of depth 1 and 2,
    a pilot student and a protocol-3 student with their twins, 12-16 steps each."""
    p = Plan(half_tokens)
    t1 = p.supervised(1, 256 * 12, "teacher", "ladder", 0)
    t2 = p.supervised(2, 256 * 12, "teacher", "ladder", 0)
    p.distilled(t2, 2, 1, 256 * 12, "pilot", 1)
    p.distilled(t1, 1, 1, 256 * 16, "p3", 3)
    return p


def protocol4_groups(rows: list[dict], rel_tol: float = 0.01, min_ratio: float = 2.0,
                     max_groups: int = 4) -> list[list[dict]]:
    """Groups of supervised teacher-half runs (seed 0) whose validation losses agree within
    ``rel_tol`` while their sizes differ by at least ``min_ratio``: the teachers of
    protocol 4. Greedy, from the largest size ratio, each run in one group at most."""
    cand = [r for r in rows if r["objective"] == "supervised" and r["split"] == "teacher"
            and int(r["seed"]) == 0 and math.isfinite(float(r["val_ce"]))]
    pairs = []
    for i, a in enumerate(cand):
        for b in cand[i + 1:]:
            la, lb = float(a["val_ce"]), float(b["val_ce"])
            ratio = max(int(a["N"]), int(b["N"])) / min(int(a["N"]), int(b["N"]))
            if abs(la - lb) / min(la, lb) <= rel_tol and ratio >= min_ratio:
                pairs.append((-ratio, abs(la - lb), a["run_id"], b["run_id"], a, b))
    pairs.sort(key=lambda t: t[:4])
    used, groups = set(), []
    for *_, a, b in pairs:
        if a["run_id"] in used or b["run_id"] in used:
            continue
        groups.append([a, b])
        used |= {a["run_id"], b["run_id"]}
        if len(groups) == max_groups:
            break
    return groups


def protocol4_plan(rows: list[dict], half_tokens: int) -> Plan:
    p = Plan(half_tokens)
    for g in protocol4_groups(rows):
        for t in g:
            for L in P4_STUDENTS:
                p.distilled(t["run_id"], int(t["n_layers"]), L, ladder_tokens(L), "p4", 6)
    return p


#: Protocol 4's teachers: groups of (depth, tokens) on the teacher half whose losses agree.
#: Each group holds part-1 IsoFLOP runs whose measured losses agree within 0.2%
#: (3.513 and 3.510; 3.717 and 3.715 nats) or lie close (2.277 and 2.314), completed by
#: new sizes whose tokens were interpolated (linearly in log tokens) between the two
#: part-1 runs of that size that bracket the group's loss (3.51, 2.92 and 2.30 nats).
P4_GROUPS = (
    ((3, 13_159_335), (8, 5_277_147), (5, 7_180_000)),
    ((3, 39_478_006), (7, 14_600_000)),
    ((4, 79_730_778), (5, 50_949_702), (8, 34_000_000)),
    ((2, 24_132_765), (5, 5_094_970)),
)
PART2_RERUN = 1


def part2_priority(tags: list[str], teacher_L: int, student_L: int) -> int:
    """Order of part 2: protocols 2 (two smallest students), 4 and 5 first, then the
    rest of protocol 3, the third protocol-2 student, protocol 1's largest budget, and
    last the runs whose teachers are part 1's largest (L9, the 3e15 IsoFLOP profile)."""
    if "p2" in tags and teacher_L >= 9 or "isoflop-3e15" in tags:
        return 6
    if teacher_L >= 9:
        return 7
    if "p2" in tags:
        return 1 if student_L <= 3 else 4
    if "p5-seeds" in tags:
        return 1
    if "p3" in tags:
        return 2 if student_L <= 3 else 3
    return 5


def part2_plan(half_tokens: int, done: set[str], rerun: int = PART2_RERUN) -> Plan:
    """Every distilled run of ``base_plan`` and of protocol 4 (``P4_GROUPS``) whose
    configuration is not in ``done``, with its teacher retrained (id suffix
    ``-r{rerun}``; a later session, whose checkpoints are gone too, passes rerun=2)
    and its twin unless done."""
    base = base_plan(half_tokens)
    p = Plan(half_tokens, done)
    teacher_prio: dict[str, int] = {}
    students = []
    for r in base.rows():
        if not r["teacher_run_id"] or without_rerun(r["run_id"]) in p.done:
            continue
        t = base.runs[r["teacher_run_id"]]
        tags = r["protocol"].split("+") + t["protocol"].split("+")
        prio = part2_priority(tags, t["n_layers"], r["n_layers"])
        students.append((r, t, prio))
        key = (t["n_layers"], t["tokens"])
        teacher_prio[key] = min(teacher_prio.get(key, 99), 0 if prio < 6 else 6)
    for (L, tokens), prio in teacher_prio.items():
        p.supervised(L, tokens, "teacher", "teacher-rerun", prio, rerun=rerun)
    for r, t, prio in students:
        tid = supervised_id(t["n_layers"], t["tokens"], "teacher", rerun=rerun)
        for tag in r["protocol"].split("+"):
            p.distilled(tid, t["n_layers"], r["n_layers"], r["tokens"], tag, prio, seed=r["seed"])
    for group in P4_GROUPS:
        for L, tokens in group:
            tid = supervised_id(L, tokens, "teacher", rerun=rerun)
            needed = [S for S in P4_STUDENTS
                      if without_rerun(distill_id(tid, S, ladder_tokens(S))) not in p.done]
            if needed:
                p.supervised(L, tokens, "teacher", "teacher-rerun", 0, rerun=rerun)
            for S in needed:
                p.distilled(tid, L, S, ladder_tokens(S), "p4", 1)
    return p


def cheapest_first(plan: Plan, first: tuple[str, ...] = ("p2",)) -> Plan:
    """Reorder ``plan`` (in place) so that a session cut short by its deadline makes as many
    distillations as it can: the distillations tagged with a protocol in ``first`` and
    their teachers come first (teachers at priority 0, students at 1); then, greedily,
    the distillation of least marginal cost (its own FLOPs, plus its teacher's when that
    teacher is not scheduled yet), each new teacher one priority ahead of its student.
    The runs are unchanged; only their priorities (the sweep's order) are."""
    students = [r for r in plan.runs.values() if r["teacher_run_id"]]
    leading = [r for r in students if set(r["protocol"].split("+")) & set(first)]
    leading_ids = {r["run_id"] for r in leading}
    rest = [r for r in students if r["run_id"] not in leading_ids]
    scheduled: set[str] = set()
    for r in leading:
        r["priority"] = 1
        plan.runs[r["teacher_run_id"]]["priority"] = 0
        scheduled.add(r["teacher_run_id"])

    def marginal(r):
        t = r["teacher_run_id"]
        return (r["cost_flops"] + (0.0 if t in scheduled else plan.runs[t]["cost_flops"]), r["run_id"])

    prio = 2
    while rest:
        best = min(rest, key=marginal)
        rest.remove(best)
        t = best["teacher_run_id"]
        if t not in scheduled:
            plan.runs[t]["priority"] = prio
            scheduled.add(t)
            prio += 1
        best["priority"] = prio
        prio += 1
    for r in plan.runs.values():  # anything else (twins not yet run): after everything
        if not r["teacher_run_id"] and r["run_id"] not in scheduled:
            r["priority"] = prio
    return plan


def write_plan(plan: Plan, path: Path) -> None:
    tmp = Path(str(path) + ".tmp")
    with open(tmp, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=FIELDS)
        w.writeheader()
        for r in plan.rows():
            w.writerow(r)
    tmp.replace(path)


def read_plan(path: Path) -> list[dict]:
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    for r in rows:
        r["priority"] = int(r["priority"])
        r["n_layers"] = int(r["n_layers"])
        r["tokens"] = int(r["tokens"])
        r["seed"] = int(r["seed"])
        r["distill_lambda"] = float(r["distill_lambda"])
        r["distill_tau"] = float(r["distill_tau"])
        r["distill_topk"] = int(r["distill_topk"])
        r["cost_flops"] = float(r["cost_flops"])
    return rows


def summary(plan: Plan) -> dict:
    out = {}
    for r in plan.runs.values():
        for tag in r["protocol"].split("+"):
            out[tag] = out.get(tag, 0) + 1
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description="write the replication's run plan")
    ap.add_argument("what", choices=["base", "part2", "tiny"])
    ap.add_argument("--half-tokens", type=int, required=True)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--done", type=Path, help="runs.csv whose runs part 2 leaves out")
    ap.add_argument("--rerun", type=int, default=PART2_RERUN,
                    help="suffix of the retrained teachers' ids (1 in the first part-2 session)")
    ap.add_argument("--order", choices=["protocol", "cheapest"], default="protocol",
                    help="part2's order: by protocol (part2_priority) or protocol 2 first, "
                         "then cheapest marginal cost first (cheapest_first)")
    a = ap.parse_args(argv)
    if a.what == "part2":
        if a.done is None:
            ap.error("part2 needs --done runs.csv")
        with open(a.done, newline="") as f:
            plan = part2_plan(a.half_tokens, {r["run_id"] for r in csv.DictReader(f)}, a.rerun)
        if a.order == "cheapest":
            cheapest_first(plan)
    else:
        plan = base_plan(a.half_tokens) if a.what == "base" else tiny_plan(a.half_tokens)
    write_plan(plan, a.out)
    rows = plan.rows()
    print(f"{len(rows)} runs, {sum(r['teacher_run_id'] != '' for r in rows)} distilled, "
          f"{sum(r['cost_flops'] for r in rows):.3e} FLOPs, {sum(r['tokens'] for r in rows) / 1e9:.2f}B tokens")
    print(summary(plan))
    for s in plan.skipped:
        print("skipped:", s)


if __name__ == "__main__":
    main()
