"""One GPU block of the replication, driven by its configuration file.

    python -m experiments.block call experiments/blocks/NAME.json --sleep S

A block is a configuration (``experiments/blocks/*.json``) and this one program. The
device machine takes one command of at most ten minutes at a time and keeps files only
while it is held, so a block is a chain of calls of ``call``, each carrying one more part of
the packed corpus (``.carry/partK/corpus.tar.K``, :func:`experiments.corpus.pack`). Every
call

1. unpacks the parts that have arrived (each file verified against the manifest);
2. on the first call: records the GPU and software, starts the CUDA MPS daemon and runs the
   throughput benchmark of the block (``benchmark``: sizes per step mode);
3. once the teacher half is there: starts the block's driver in the background (a new
   process session, so it outlives the call), which checks the fast step modes against
   eager (:mod:`experiments.graph_check`) and picks the fastest mode that passes, runs the
   learning-rate sweep if the block has one and applies :mod:`experiments.lr_rule`, writes
   the plan of the block's protocols and runs the sweep until the block's deadline
   (``session_seconds`` after the first call, less a margin for the last copy);
4. sleeps up to ``--sleep`` seconds, copying the results so far to ``$OUT``.

Everything the block produces lies in the work folder (``--work``); ``$OUT`` gets the run
table, the plan, the benchmark, the checks, the learning-rate choice and a log.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from experiments import corpus as corpusmod
from experiments import plan as planmod

MARGIN_S = 75  # the last call copies the results this long before the block's end


def sh(cmd: str, log: Path) -> int:
    with open(log, "a") as f:
        f.write(f"$ {cmd}\n")
        f.flush()
        return subprocess.run(cmd, shell=True, stdout=f, stderr=subprocess.STDOUT).returncode


def python(args: list[str], log: Path, timeout: float | None = None) -> int:
    with open(log, "a") as f:
        f.write(f"$ python {' '.join(args)}\n")
        f.flush()
        try:
            return subprocess.run([sys.executable, *args], stdout=f, stderr=subprocess.STDOUT,
                                  timeout=timeout).returncode
        except subprocess.TimeoutExpired:
            f.write("timed out\n")
            return 124


class Block:
    def __init__(self, config: Path, work: Path, carry: Path, tiny: bool = False):
        self.config_path = config
        self.cfg = planmod.read_block(config)
        self.W, self.carry, self.tiny = work, carry, tiny
        self.corpus = work / "corpus"
        self.log = work / "block.log"
        for d in (self.W, self.corpus, work / "done", work / "plans", work / "results"):
            d.mkdir(parents=True, exist_ok=True)

    def done(self, stage: str) -> bool:
        return (self.W / "done" / stage).exists()

    def mark(self, stage: str, text: str = "") -> None:
        (self.W / "done" / stage).write_text(text or time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))

    @property
    def t0(self) -> float:
        return float((self.W / "done" / "start").read_text())

    def deadline(self) -> float:
        return self.t0 + self.cfg["session_seconds"] - MARGIN_S

    def sweep_args(self) -> list[str]:
        extra = ["--n-ctx", "32", "--vocab", "300", "--eval-tokens", "1024"] if self.tiny else []
        return ["--corpus", str(self.corpus), *extra]

    # -- stages of a call -----------------------------------------------------------------

    def unpack(self) -> list[str]:
        parts = sorted(self.carry.glob("part*/corpus.tar.*"), key=lambda p: int(p.suffix[1:]))
        m = corpusmod.unpack(parts, self.corpus)
        (self.W / "present").write_text(" ".join(m["present"]))
        return m["present"]

    def first_call(self) -> None:
        if self.done("start"):
            return
        (self.W / "done" / "start").write_text(str(time.time()))
        sh("nvidia-smi --query-gpu=name,memory.total,clocks.max.sm,driver_version --format=csv", self.log)
        python(["-c", "import torch, tokenizers; print('torch', torch.__version__, 'cuda', torch.version.cuda, "
                "'gpus', torch.cuda.device_count())"], self.log)
        if self.cfg.get("mps") and not self.tiny:
            sh("nvidia-cuda-mps-control -d && sleep 1 && echo get_server_list | nvidia-cuda-mps-control", self.log)
        if self.cfg.get("throughput_from") and not (self.W / "throughput.csv").exists():
            shutil.copy(self.cfg["throughput_from"], self.W / "throughput.csv")  # this block's rows append
        bench = self.cfg.get("benchmark") or {}
        for mode, sizes in bench.items():
            if sizes and not self.tiny:
                python(["-m", "experiments.throughput", "--sizes", *sizes, "--modes", mode,
                        "--out", str(self.W / "throughput.csv")], self.log, timeout=400)
        self.mark("benchmark")

    def start_driver(self, present: list[str]) -> None:
        if self.done("driver") or "teacher" not in present:
            return
        self.mark("driver")
        cmd = [sys.executable, "-m", "experiments.block", "drive", str(self.config_path),
               "--work", str(self.W), "--carry", str(self.carry)] + (["--tiny"] if self.tiny else [])
        with open(self.W / "driver.log", "a") as f:
            subprocess.Popen(cmd, stdout=f, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                             start_new_session=True)

    def collect(self, out: Path) -> None:
        out.mkdir(parents=True, exist_ok=True)
        for name in ("results/runs.csv", "throughput.csv", "graph_check.json", "lr_choice.json",
                     "plans/lr-sweep.csv", "plans/main.csv"):
            p = self.W / name
            if p.exists():
                shutil.copy(p, out / p.name)
        with open(out / "block.log", "w") as f:
            for p in [self.log, self.W / "driver.log", *sorted((self.W / "results" / "logs").glob("*.log"))]:
                if p.exists():
                    lines = p.read_text(errors="replace").splitlines()
                    f.write(f"== {p.name}\n" + "\n".join(lines[-60:]) + "\n")
            for p in sorted((self.W / "results" / "failed").glob("*")) if (self.W / "results" / "failed").exists() else []:
                f.write(f"== failed {p.name}\n" + p.read_text()[-1500:] + "\n")

    def call(self, sleep: float, out: Path) -> None:
        present = self.unpack()
        self.first_call()
        self.start_driver(present)
        end = min(time.time() + sleep, self.t0 + self.cfg["session_seconds"] - 20)
        while True:
            self.collect(out)
            if time.time() >= end or self.done("finished"):
                break
            time.sleep(15)
            present = self.unpack()  # nothing new arrives mid-call, but the driver may wait on it
        self.collect(out)
        summary(self.W / "results" / "runs.csv")

    # -- the driver (background) ----------------------------------------------------------

    def sweep(self, plan_name: str, rows: list[dict], deadline: float, mode: str) -> None:
        pdir = self.W / "plans" / plan_name
        pdir.mkdir(parents=True, exist_ok=True)
        plan = planmod.Plan()
        for r in rows:
            plan.add({k: v for k, v in r.items() if k not in ("protocol", "priority")}, r["protocol"], r["priority"])
        planmod.write_plan(plan, pdir / "plan.csv")
        shutil.copy(pdir / "plan.csv", self.W / "plans" / f"{plan_name}.csv")
        python(["-m", "experiments.sweep", "run", "--plan-dir", str(pdir), *self.sweep_args(),
                "--results", str(self.W / "results"), "--workers-per-gpu", str(self.cfg["workers_per_gpu"]),
                "--deadline", str(deadline), "--mode", mode, "--throughput", str(self.throughput()),
                "--graph-below", str(self.cfg.get("graph_below", 0))]
               + (["--save-teachers"] if self.cfg.get("save_teachers") else [])
               + (["--share-teacher", "--group-max", str(self.cfg.get("group_max", 4))] if self.sharing(mode) else []),
               self.log)

    def sharing(self, mode: str) -> bool:
        """Whether the sweep trains students of one teacher as groups: the block asks for it
        (``share_teacher``) and the sharing check passed for the step modes the sweep uses
        (this block's graph_check.json, a whole check or only the sharing check where the block
        asks for ``recheck_sharing``, else the one named by ``checked_by``; a CPU
        rehearsal trains eager, where the tests check that a group trains as its students
        alone)."""
        if not self.cfg.get("share_teacher"):
            return False
        if self.tiny:
            return True
        check = self.W / "graph_check.json"
        if not check.exists() and self.cfg.get("recheck_sharing"):
            return False  # the block's own sharing check did not finish: the earlier one no longer applies
        if not check.exists() and self.cfg.get("checked_by"):
            check = Path(self.cfg["checked_by"])
        try:
            fit = json.loads(check.read_text())["fit_for_sharing"]
        except (OSError, KeyError, json.JSONDecodeError):
            return False
        modes = {mode, "graph"} if mode == "compile" and self.cfg.get("graph_below") else {mode}
        return all(fit.get(m) for m in modes)

    def throughput(self) -> Path:
        """The benchmark rows (an earlier block's, named by ``throughput_from``, then this
        block's own)."""
        return self.W / "throughput.csv"

    def drive(self) -> None:
        mode = "eager"
        if self.cfg.get("mode") and not self.tiny and same_software(self.cfg.get("checked_by")):
            mode = self.cfg["mode"]  # checked on this software by an earlier block
            if self.cfg.get("recheck_sharing") and self.cfg.get("share_teacher"):
                # the group code changed since that check: this block checks sharing again
                python(["-m", "experiments.graph_check", "--corpus", str(self.corpus), "--sharing-only",
                        str(self.cfg["checked_by"]), "--out", str(self.W / "graph_check.json")], self.log,
                       timeout=600)
        elif not self.tiny and self.cfg.get("check_modes", True):
            python(["-m", "experiments.graph_check", "--corpus", str(self.corpus),
                    "--out", str(self.W / "graph_check.json")], self.log, timeout=600)
            try:
                fit = json.loads((self.W / "graph_check.json").read_text())["fit_for_sweep"]
            except (OSError, KeyError, json.JSONDecodeError):
                fit = {}
            mode = fastest_mode(self.W / "throughput.csv", [m for m, ok in fit.items() if ok])
        (self.W / "mode").write_text(mode)
        half = min(split_tokens(self.corpus))
        lr: dict = {}
        if self.cfg.get("lr_from"):
            lr = json.loads(Path(self.cfg["lr_from"]).read_text())["lr"]
        if "lr-sweep" in self.cfg.get("first", []):
            rows = planmod.block_plan(["lr-sweep"], planmod.Setting(half)).rows() if not self.tiny \
                else tiny_rows(["lr-sweep"])
            self.sweep("lr-sweep", rows, self.deadline(), mode)
            from experiments.lr_rule import choose
            with open(self.W / "results" / "runs.csv", newline="") as f:
                choice = choose(list(csv.DictReader(f)))
            (self.W / "lr_choice.json").write_text(json.dumps(choice, indent=1))
            lr = choice["lr"]
        done, without_probe = set(), frozenset()
        if self.cfg.get("done_from") and Path(self.cfg["done_from"]).exists():
            with open(self.cfg["done_from"], newline="") as f:
                done = {r["run_id"] for r in csv.DictReader(f)}
            without_probe = planmod.unprobed(Path(self.cfg["done_from"]))
        rows = planmod.plan_of_block(self.cfg, planmod.Setting(half, lr, unprobed=without_probe), done).rows() \
            if not self.tiny else tiny_rows(self.cfg["protocols"])
        self.sweep("main", rows, self.deadline(), mode)
        self.mark("finished")


def same_software(checked_by: str | None) -> bool:
    """Whether this machine's torch and GPU are those of an earlier graph check (a
    graph_check.json), so that its verdict on the step modes carries over."""
    if not checked_by or not Path(checked_by).exists():
        return False
    import torch
    check = json.loads(Path(checked_by).read_text())
    return torch.cuda.is_available() and check.get("torch") == torch.__version__ \
        and check.get("gpu") == torch.cuda.get_device_name(0)


def split_tokens(corpus: Path) -> list[int]:
    m = json.loads((corpus / "manifest.json").read_text())
    return [m["tokens"]["teacher"], m["tokens"]["student"]]


def fastest_mode(throughput: Path, allowed: list[str]) -> str:
    """The allowed step mode with the most model FLOP/s summed over the benchmark's sizes
    that every allowed mode measured; eager if none is allowed."""
    if not allowed or not throughput.exists():
        return "eager"
    with open(throughput, newline="") as f:
        rows = [r for r in csv.DictReader(f) if int(r.get("batch_tokens", 0)) > 0]
    by_mode: dict[str, dict[str, float]] = {}
    for r in rows:
        if r["mode"] in allowed:
            by_mode.setdefault(r["mode"], {})[r["name"]] = float(r["model_flops_per_s"])
    if not by_mode:
        return "eager"
    common = set.intersection(*(set(v) for v in by_mode.values()))
    if not common:
        return max(by_mode, key=lambda m: max(by_mode[m].values()))
    return max(by_mode, key=lambda m: sum(by_mode[m][n] for n in common))


def tiny_rows(protocols: list[str]) -> list[dict]:
    """A CPU rehearsal's plan (n_ctx 32, vocab 300): two runs of the smallest shape per
    protocol; for a distillation protocol, a teacher, two students of it that can share its
    forward pass (one of them larger) and a twin, with the priorities of :func:`experiments.plan.block_plan`."""
    rows = []
    base = {"seed": 0, "teacher_run_id": "", "distill_lambda": 1.0, "distill_tau": 1.0, "distill_topk": 0,
            "lr": 1e-2, "batch_seqs": 8, "cost_flops": 1e6, "n_layers": 1, "d_model": 64, "tokens": 32 * 8 * 12}
    for k, name in enumerate(protocols):
        if planmod.PROTOCOLS[name].part == 2:
            first = 2 * (len(protocols) + k)
            teacher = f"tiny-{name}-teacher"
            rows += [{**base, "run_id": teacher, "protocol": planmod.TEACHERS_PROTOCOL, "priority": first,
                      "split": "teacher", "n_layers": 2}]
            rows += [{**base, "run_id": f"d-tiny-{name}-{j}", "protocol": name, "priority": first + 1,
                      "split": "student", "teacher_run_id": teacher, "d_model": d} for j, d in enumerate((64, 128))]
            rows.append({**base, "run_id": f"tiny-{name}-twin", "protocol": name, "priority": first + 1,
                         "split": "student"})
            continue
        for j, lr in enumerate((1e-2, 2e-2, 4e-2) if name == "lr-sweep" else (1e-2,)):
            rows.append({**base, "run_id": f"tiny-{name}-{j}", "protocol": name, "priority": k, "lr": lr,
                         "split": "student" if name == "twins" else "teacher"})
    return rows


def summary(runs: Path) -> None:
    if not runs.exists():
        print("no runs yet")
        return
    with open(runs, newline="") as f:
        rows = list(csv.DictReader(f))
    flops = sum(float(r["total_flops"]) for r in rows)
    print(f"{len(rows)} runs, {flops:.3e} model FLOPs")
    for r in rows[-12:]:
        print(f"  {r['run_id']}: val_ce {float(r['val_ce']):.4f}, {float(r['model_flops_per_s']) / 1e12:.1f} "
              f"TFLOP/s, {float(r['wall_s']):.0f} s")


#: Log lines left out of a stored block log: PyTorch's warning repeated at every compiled
#: RMSNorm (and the source line it quotes), hundreds of identical lines a run.
NOISE = ("Mismatch dtype", "return node.target")


def ingest(config: Path, results: Path, tag: str, header: str) -> dict:
    """Store what a block's calls copied back (``results``, the device's ``$OUT``) beside
    the run table the block started from (its ``done_from``): append the runs not in the
    table yet (each checked against the committed corpus manifest), store the block's
    plan as ``plan_<tag>_main.csv`` (an existing one must be the same plan), the step-mode
    and sharing check it ran on the device (``graph_check.json``, from ``recheck_sharing``)
    as ``graph_check_<tag>.json``, and append its log, under ``header``, to
    ``block_<tag>.log`` without :data:`NOISE`. Returns the counts."""
    cfg = planmod.read_block(config)
    if not cfg.get("done_from"):
        raise ValueError(f"config {config} names no done_from run table to ingest into")
    if not tag.isalnum():
        raise ValueError(f"tag must be letters and digits (it names files), got {tag!r}")
    table = Path(cfg["done_from"])
    data = table.parent
    sha = json.loads((data / "corpus_manifest.json").read_text())["corpus_sha256"]
    with open(table, newline="") as f:
        reader = csv.DictReader(f)
        columns, have = reader.fieldnames, {r["run_id"] for r in reader}
    new_path = results / "runs.csv"
    with open(new_path, newline="") as f:
        new = [r for r in csv.DictReader(f) if r["run_id"] not in have] if new_path.exists() else []
    for r in new:
        if r["corpus_sha256"] != sha:
            raise ValueError(f"run {r['run_id']} names corpus {r['corpus_sha256']}, not the manifest's {sha}")
        if set(r) - set(columns):
            raise ValueError(f"run {r['run_id']} has columns the table lacks: {sorted(set(r) - set(columns))}")
    with open(table, "a", newline="") as f:
        csv.DictWriter(f, fieldnames=columns, restval="").writerows(new)
    plan = results / "main.csv"
    stored = data / f"plan_{tag}_main.csv"
    if plan.exists():
        if stored.exists() and stored.read_bytes() != plan.read_bytes():
            raise ValueError(f"{stored} exists and holds another plan than {plan}")
        shutil.copy(plan, stored)
    check = results / "graph_check.json"
    if check.exists():
        shutil.copy(check, data / f"graph_check_{tag}.json")
    log = results / "block.log"
    lines = [ln for ln in log.read_text(errors="replace").splitlines() if not any(n in ln for n in NOISE)] \
        if log.exists() else []
    with open(data / f"block_{tag}.log", "a") as f:
        f.write(f"# {header}\n" + "".join(ln + "\n" for ln in lines))
    return {"runs_added": len(new), "runs_in_table": len(have) + len(new), "log_lines": len(lines)}


def main(argv=None):
    ap = argparse.ArgumentParser(description="run one GPU block of the replication, or store what it copied back")
    ap.add_argument("cmd", choices=["call", "drive", "ingest"])
    ap.add_argument("config", type=Path)
    ap.add_argument("--work", type=Path, default=Path("/root/replication"))
    ap.add_argument("--carry", type=Path, default=Path(".carry"))
    ap.add_argument("--sleep", type=float, default=0.0)
    ap.add_argument("--tiny", action="store_true", help="a CPU rehearsal (tiny models, n_ctx 32, vocab 300)")
    ap.add_argument("--results", type=Path, help="ingest: the folder a call copied back")
    ap.add_argument("--tag", help="ingest: the block's letter in the stored file names (plan_<tag>_main.csv)")
    ap.add_argument("--header", default="", help="ingest: the heading of this machine's log")
    a = ap.parse_args(argv)
    if a.cmd == "ingest":
        if a.results is None or a.tag is None:
            ap.error("ingest needs --results and --tag")
        print(json.dumps(ingest(a.config, a.results, a.tag, a.header or f"block {a.tag}")))
        return
    block = Block(a.config, a.work, a.carry, a.tiny)
    if a.cmd == "call":
        block.call(a.sleep, Path(os.environ.get("OUT", "/tmp/out")))
    else:
        block.drive()


if __name__ == "__main__":
    main()
