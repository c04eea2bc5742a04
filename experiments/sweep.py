"""Sweep runner: executes a plan idempotently on every visible GPU, resumable.

    python -m experiments.sweep run --plan-dir P --corpus C --results R
        [--workers-per-gpu k] [--deadline UNIX_TIME] [--mode eager|graph|compile] [--shard i/n]
        [--share-teacher [--group-max K]]

Every ``*.csv`` in the plan directory is a plan (:mod:`experiments.plan`). ``run`` starts
``k`` worker processes per visible GPU (one on the CPU if there is none); with several per
GPU, start CUDA MPS first so that their kernels run concurrently. A worker claims a run by
creating ``R/claims/<run_id>`` exclusively, so no run is done twice; a run whose
``R/rows/<run_id>.json`` exists is skipped, which makes the sweep idempotent and lets it
resume (claims without a row are cleared at start). Runs go by the plan's priority, then
largest cost first; with a deadline, a worker skips a run that its measured rate says would
not finish in time. ``--shard i/n`` keeps the runs whose id hashes to i modulo n, to split
one plan over machines. A distillation waits until its teacher's checkpoint exists, and no
worker starts a teacher while as many teachers as there are workers per GPU have students
left (so that teachers do not run ahead of their students);
supervised runs on the teacher half save theirs in ``R/ckpt`` when ``--save-teachers`` is
given. Each finished run appends one row to ``R/runs.csv``.

With ``--share-teacher [--group-max K]``, a worker that claims a distillation also claims up
to K - 1 other runnable runs of the same priority that can share its teacher's forward
pass (:func:`share_key`: same teacher, seed, split, temperature, top-k, context and step
mode) and trains them together (:func:`experiments.train.train_group`); their rows carry
``teacher_shared_by``, ``share_group`` and ``group_wall_s`` (the table's header then ends
with :data:`experiments.schema.SHARE_COLUMNS`, so one results folder takes sweeps of one
kind only). A group fails as a whole: every member is recorded as failed.
"""

from __future__ import annotations

import argparse
import csv
import fcntl
import hashlib
import json
import os
import subprocess
import sys
import time
import traceback
from pathlib import Path

import numpy as np
import torch

from experiments import plan as planmod
from experiments.corpus import corpus_sha256, load_split, load_validation_sources
from experiments.family import architecture, by_name
from experiments.model import Transformer
from experiments.schema import RUN_COLUMNS, SHARE_COLUMNS
from experiments.train import MODES, SHARED_FIELDS, RunConfig, train_group, train_run


def git_rev() -> str:
    env = os.environ.get("REPLICATION_GIT_REV")
    if env:
        return env
    try:
        return subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True,
                              check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def in_shard(run_id: str, shard: tuple[int, int]) -> bool:
    i, n = shard
    return int(hashlib.sha256(run_id.encode()).hexdigest()[:8], 16) % n == i


def parse_shard(s: str) -> tuple[int, int]:
    try:
        i, n = (int(x) for x in s.split("/"))
    except ValueError:
        raise ValueError(f"shard must look like 'i/n', got {s!r}") from None
    if not (n >= 1 and 0 <= i < n):
        raise ValueError(f"shard i/n needs 0 <= i < n, got {s!r}")
    return i, n


def append_row(path: Path, row: dict, columns=RUN_COLUMNS) -> None:
    """Append one row to a CSV with ``columns``, writing the header if the file is new;
    a file lock keeps concurrent workers' rows whole."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a", newline="") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            if f.tell() == 0:
                csv.writer(f).writerow(columns)
            csv.DictWriter(f, fieldnames=columns, extrasaction="ignore").writerow(row)
            f.flush()
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def table_columns(results: Path, share_teacher: bool) -> list[str]:
    """The columns a sweep writes to ``results/runs.csv``: RUN_COLUMNS, then SHARE_COLUMNS if
    it shares teachers. Raises ValueError if an existing table there has other columns."""
    columns = RUN_COLUMNS + SHARE_COLUMNS if share_teacher else RUN_COLUMNS
    path = results / "runs.csv"
    if path.exists() and path.stat().st_size:
        with open(path, newline="") as f:
            header = next(csv.reader(f), [])
        if header != columns:
            raise ValueError(f"{path} was written {'without' if share_teacher else 'with'} --share-teacher (its "
                             f"columns differ from this sweep's); use another results folder")
    return columns


def load_rows(results: Path) -> dict[str, dict]:
    out = {}
    for p in (results / "rows").glob("*.json"):
        try:
            r = json.loads(p.read_text())
        except (OSError, json.JSONDecodeError):
            continue
        out[r["run_id"]] = r
    return out


class Worker:
    def __init__(self, args, device: str, name: str):
        self.args, self.device, self.name = args, device, name
        self.R = Path(args.results)
        self.columns = table_columns(self.R, args.share_teacher)
        for sub in ("rows", "claims", "ckpt", "failed", "logs"):
            (self.R / sub).mkdir(parents=True, exist_ok=True)
        self.logf = open(self.R / "logs" / f"{name}.log", "a")
        self.shard = parse_shard(args.shard)
        manifest = json.loads((Path(args.corpus) / "manifest.json").read_text())
        self.corpus_sha = manifest.get("corpus_sha256") or corpus_sha256(manifest)
        self.data: dict[str, torch.Tensor] = {}
        if self.split("validation") is None:
            raise FileNotFoundError(f"{args.corpus} holds no validation split")
        try:
            src, self.source_names = load_validation_sources(args.corpus)
            self.val_sources = torch.from_numpy(src.astype(np.int64))
        except (OSError, KeyError):
            self.val_sources, self.source_names = None, []
        self.gpu = torch.cuda.get_device_name(0) if device.startswith("cuda") else "cpu"
        self.rev = git_rev()
        self.teachers: dict[str, Transformer] = {}
        self.rate: dict[str, list[float]] = {}  # model FLOP/s of this worker's finished runs, by size
        self.measured = {m: measured_rates(args.throughput, m) for m in {args.mode, "graph"}} \
            if args.throughput else {}

    def split(self, name: str) -> torch.Tensor | None:
        """A split's tokens on the device, or None while it has not arrived (a corpus
        carried in parts; see experiments.corpus.unpack)."""
        if name not in self.data:
            if not (Path(self.args.corpus) / f"{name}.npy").exists():
                return None
            self.data[name] = torch.from_numpy(load_split(self.args.corpus, name).astype(np.int32)).to(self.device)
        return self.data[name]

    def log(self, msg: str) -> None:
        self.logf.write(f"{time.strftime('%H:%M:%S')} {msg}\n")
        self.logf.flush()

    def plans(self) -> list[dict]:
        runs = {}
        for p in sorted(Path(self.args.plan_dir).glob("*.csv")):
            for r in planmod.read_plan(p):
                runs.setdefault(r["run_id"], r)
        return [r for r in runs.values() if in_shard(r["run_id"], self.shard)]

    def next_run(self):
        """The next runnable runs, claimed (by priority, then cost, largest first): one run
        or, sharing teachers, a distillation and up to ``--group-max`` - 1 more of the same
        priority that can share its teacher's forward pass; or "wait", or None."""
        rows = load_rows(self.R)
        waiting = False
        failed = {p.name for p in (self.R / "failed").glob("*")}
        claimed = {p.name for p in (self.R / "claims").iterdir()}
        busy = len(claimed - set(rows) - failed)  # runs in progress on the other workers
        plans = self.plans()
        taught = {}  # teacher id -> its students' ids
        for r in plans:
            if r["teacher_run_id"]:
                taught.setdefault(r["teacher_run_id"], []).append(r["run_id"])
        open_teachers = sum(1 for t, students in taught.items() if (t in rows or t in claimed) and t not in failed
                            and any(s not in rows and s not in failed for s in students))
        group = []
        for r in sorted(plans, key=lambda r: (r["priority"], -r["cost_flops"], r["run_id"])):
            if group and r["priority"] != group[0]["priority"]:
                break
            if group and self.share_key(r) != self.share_key(group[0]):
                continue
            rid = r["run_id"]
            if rid in rows or rid in claimed or rid in failed:
                continue
            if not (Path(self.args.corpus) / f"{r['split']}.npy").exists():
                waiting = True
                continue
            if rid in taught and open_teachers >= max(1, self.args.workers_per_gpu):
                waiting = True  # as many teachers as workers await their students: train those first
                continue
            t = r["teacher_run_id"]
            if t:
                if t in failed:
                    continue
                if not (self.R / "ckpt" / f"{t}.pt").exists():
                    waiting = True
                    continue
            if not self.in_time(group + [r], busy, rows.get(t) if t else None):
                continue
            try:
                fd = os.open(self.R / "claims" / rid, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
                os.write(fd, self.name.encode())
                os.close(fd)
            except FileExistsError:
                continue
            group.append(r)
            if not (self.args.share_teacher and t) or len(group) >= self.args.group_max:
                break
        return group or ("wait" if waiting else None)

    def share_key(self, r: dict) -> tuple:
        """What runs trained together must share (experiments.train.SHARED_FIELDS) and the
        step mode; supervised runs share with none."""
        if not r["teacher_run_id"]:
            return (r["run_id"],)
        cfg = self.config(r)
        return tuple(getattr(cfg, f) for f in SHARED_FIELDS) + (step_mode(r, self.args.mode, self.args.graph_below),)

    def in_time(self, runs: list[dict], busy: int = 0, teacher_row: dict | None = None) -> bool:
        """Whether ``runs`` (one run, or a group of one teacher's students) end before the
        deadline at their expected rates (:meth:`expected_rate`, with ``busy`` other runs on
        the GPU): the students' training (their ``cost_flops`` less the teacher's forward pass)
        one after another, and the teacher's forward pass (its size from ``teacher_row``, the
        teacher's row) over the longest student's tokens if they share it, over each
        student's if not; true without a deadline or a rate."""
        if not self.args.deadline:
            return True
        rate = {}

        def of(arch):
            key = (arch.n_layers, arch.d_model)
            if key not in rate:
                rate[key] = self.expected_rate({"n_layers": arch.n_layers, "d_model": arch.d_model}, busy)
            return rate[key]

        archs = [architecture(r["n_layers"], r["d_model"]) for r in runs]
        if min(of(a) for a in archs) <= 0:
            return True
        forward = [0.0] * len(runs)  # the teacher's forward FLOPs in each run's cost (experiments.plan.distillation)
        if teacher_row and teacher_row.get("n_layers"):
            ta = architecture(int(teacher_row["n_layers"]), int(teacher_row["d_model"]))
            forward = [ta.forward_flops_per_token * r["tokens"] for r in runs]
            if of(ta) <= 0:
                return True
        seconds = sum((r["cost_flops"] - f) / of(a) for a, r, f in zip(archs, runs, forward))
        if any(forward):
            seconds += (max(forward) if self.args.share_teacher else sum(forward)) / of(ta)
        return time.time() + seconds <= self.args.deadline

    def expected_rate(self, r: dict, busy: int = 0) -> float:
        """Model FLOP/s this worker should reach on a run of ``r``'s size: its own median on
        finished runs of that size, else the benchmark's rate (this mode, the nearest
        measured size) shared with the ``busy`` runs in progress on the other workers of the
        GPU, else ``--rate-hint``; 0 if none is known (then no deadline check)."""
        name = f"L{r['n_layers']}d{r['d_model']}"
        if self.rate.get(name):
            return float(np.median(self.rate[name]))
        measured = self.measured.get(step_mode(r, self.args.mode, self.args.graph_below), {})
        if measured:  # the benchmark's rate of the nearest measured size
            n = architecture(r["n_layers"], r["d_model"]).non_embedding_params
            near = min(measured, key=lambda k: abs(np.log(by_name(k).non_embedding_params / n)))
            return measured[near] / min(max(1, self.args.workers_per_gpu), 1 + busy)
        return self.args.rate_hint

    def teacher(self, run_id: str) -> Transformer:
        if run_id not in self.teachers:
            if len(self.teachers) >= 3:
                self.teachers.pop(next(iter(self.teachers)))
            ck = torch.load(self.R / "ckpt" / f"{run_id}.pt", map_location=self.device, weights_only=False)
            m = Transformer(architecture(ck["n_layers"], ck["d_model"], ck["n_ctx"], ck["n_vocab"])).to(self.device)
            m.load_state_dict(ck["state_dict"])
            m.eval()
            m.requires_grad_(False)
            self.teachers[run_id] = m
        return self.teachers[run_id]

    def config(self, r: dict) -> RunConfig:
        return RunConfig(run_id=r["run_id"], n_layers=r["n_layers"], d_model=r["d_model"], tokens=r["tokens"],
                         split=r["split"], seed=r["seed"], protocol=r["protocol"],
                         teacher_run_id=r["teacher_run_id"], distill_lambda=r["distill_lambda"],
                         distill_tau=r["distill_tau"], distill_topk=r["distill_topk"], peak_lr=r["lr"],
                         batch_seqs=r["batch_seqs"], n_vocab=int(self.args.vocab), n_ctx=self.args.n_ctx,
                         eval_tokens=self.args.eval_tokens)

    def execute(self, group: list[dict]) -> None:
        """Train the claimed runs (one, or a group of one teacher's students) and store
        their rows."""
        cfgs = [self.config(r) for r in group]
        t = group[0]["teacher_run_id"]
        teacher = self.teacher(t) if t else None
        self.log(f"start {' '.join(r['run_id'] for r in group)}")
        how = dict(device=self.device, teacher=teacher, mode=step_mode(group[0], self.args.mode, self.args.graph_below),
                   log=self.log, val_sources=self.val_sources, source_names=self.source_names)
        data = self.split(group[0]["split"]), self.split("validation")
        if self.args.share_teacher and teacher is not None:
            trained = train_group(cfgs, *data, **how)
        else:
            trained = [train_run(cfgs[0], *data, **how)]
        trow = load_rows(self.R).get(t, {}) if t else {}
        for r, cfg, (row, model) in zip(group, cfgs, trained):
            if teacher is not None:
                row.update(teacher_tokens=trow.get("tokens", ""), teacher_loss=trow.get("val_ce", ""),
                           teacher_ece=trow.get("ece", ""))
            self.store(r, cfg, row, model)
        del trained
        if self.device.startswith("cuda"):
            torch.cuda.empty_cache()  # other workers on this GPU may need the memory

    def store(self, r: dict, cfg: RunConfig, row: dict, model) -> None:
        rid = r["run_id"]
        row.update(corpus_sha256=self.corpus_sha, git_rev=self.rev, gpu=self.gpu,
                   finished_utc=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))
        if self.args.save_teachers and r["split"] == "teacher" and not r["teacher_run_id"]:
            tmp = self.R / "ckpt" / f"{rid}.pt.tmp"
            torch.save({"n_layers": cfg.n_layers, "d_model": cfg.d_model, "n_ctx": cfg.n_ctx,
                        "n_vocab": cfg.n_vocab, "state_dict": model.state_dict()}, tmp)
            tmp.replace(self.R / "ckpt" / f"{rid}.pt")
        tmp = self.R / "rows" / f"{rid}.json.tmp"
        tmp.write_text(json.dumps(row))
        tmp.replace(self.R / "rows" / f"{rid}.json")
        append_row(self.R / "runs.csv", row, self.columns)
        if row.get("teacher_shared_by", 1) == 1:  # a group's rate is not a run's alone (the deadline's)
            self.rate.setdefault(f"L{r['n_layers']}d{r['d_model']}", []).append(r["cost_flops"] / max(row["wall_s"], 1e-3))
        self.log(f"done {rid} val_ce {row['val_ce']:.4f} wall {row['wall_s']:.1f}s "
                 f"{row['model_flops_per_s']:.3g} model FLOP/s")

    def loop(self) -> int:
        n = 0
        while True:
            if self.args.deadline and time.time() > self.args.deadline:
                self.log("deadline reached")
                return n
            group = self.next_run()
            if group is None:
                self.log("nothing left")
                return n
            if group == "wait":
                time.sleep(2.0)
                continue
            try:
                self.execute(group)
                n += len(group)
            except Exception:  # record and go on with the next run
                for r in group:
                    (self.R / "failed" / r["run_id"]).write_text(traceback.format_exc())
                self.log(f"FAILED {' '.join(r['run_id'] for r in group)}\n{traceback.format_exc()}")
                if self.device.startswith("cuda"):
                    torch.cuda.empty_cache()


def step_mode(r: dict, mode: str, graph_below: float) -> str:
    """How run ``r``'s training step runs: ``mode``, except that a compiled sweep replays the
    step of models with fewer than ``graph_below`` non-embedding parameters as a CUDA graph
    (compiling is slower than graph replay for the smallest sizes: data/replication/throughput.csv)."""
    if mode == "compile" and architecture(r["n_layers"], r["d_model"]).non_embedding_params < graph_below:
        return "graph"
    return mode


def measured_rates(path, mode: str) -> dict[str, float]:
    """Model FLOP/s per size name of a throughput table (experiments.throughput) for one
    step mode, at the sweep's batch (batch scale 1)."""
    if not Path(path).exists():
        return {}
    with open(path, newline="") as f:
        rows = [r for r in csv.DictReader(f) if r["mode"] == mode]
    out: dict[str, float] = {}
    for r in rows:
        if int(r["batch_seqs"]) == planmod.batch_seqs(architecture(int(r["n_layers"]), int(r["d_model"]))):
            out[r["name"]] = float(r["model_flops_per_s"])
    return out


def clear_stale_claims(results: Path) -> int:
    rows = {p.name[:-len(".json")] for p in (results / "rows").glob("*.json")}
    n = 0
    for c in (results / "claims").glob("*"):
        if c.name not in rows:
            c.unlink()
            n += 1
    return n


def launch(args) -> int:
    """Start the worker processes and wait for them."""
    R = Path(args.results)
    (R / "claims").mkdir(parents=True, exist_ok=True)
    (R / "rows").mkdir(parents=True, exist_ok=True)
    cleared = clear_stale_claims(R)
    n_gpu = torch.cuda.device_count()
    slots = [(str(g), k) for g in range(n_gpu) for k in range(args.workers_per_gpu)] or [("", 0)]
    procs = []
    for g, k in slots:
        env = dict(os.environ)
        if g:
            env["CUDA_VISIBLE_DEVICES"] = g
        cmd = [sys.executable, "-m", "experiments.sweep", "worker", "--name", f"w{g or 'cpu'}-{k}"]
        cmd += passthrough(args)
        procs.append(subprocess.Popen(cmd, env=env))
    print(f"cleared {cleared} stale claims; started {len(procs)} workers on {n_gpu} GPUs", flush=True)
    return max(p.wait() for p in procs)


def passthrough(args) -> list[str]:
    out = ["--plan-dir", str(args.plan_dir), "--corpus", str(args.corpus), "--results",
           str(args.results), "--shard", args.shard, "--vocab", str(args.vocab),
           "--eval-tokens", str(args.eval_tokens), "--n-ctx", str(args.n_ctx),
           "--deadline", str(args.deadline or 0), "--mode", args.mode, "--rate-hint", str(args.rate_hint),
           "--workers-per-gpu", str(args.workers_per_gpu), "--graph-below", str(args.graph_below)]
    if args.throughput:
        out += ["--throughput", str(args.throughput)]
    if args.save_teachers:
        out.append("--save-teachers")
    if args.share_teacher:
        out += ["--share-teacher", "--group-max", str(args.group_max)]
    return out


def parse_args(argv=None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description="run a replication plan")
    ap.add_argument("cmd", choices=["run", "worker"])
    ap.add_argument("--plan-dir", required=True)
    ap.add_argument("--corpus", required=True)
    ap.add_argument("--results", required=True)
    ap.add_argument("--shard", default="0/1")
    ap.add_argument("--workers-per-gpu", type=int, default=1)
    ap.add_argument("--deadline", type=float, default=0.0, help="UNIX time after which no run starts")
    ap.add_argument("--throughput", help="throughput.csv: expected rate per size for the deadline check")
    ap.add_argument("--rate-hint", type=float, default=0.0,
                    help="model FLOP/s a worker assumes for the deadline before its first run ends")
    ap.add_argument("--mode", choices=MODES, default="eager", help="how a training step runs")
    ap.add_argument("--graph-below", type=float, default=0.0,
                    help="with --mode compile, models with fewer non-embedding parameters replay a CUDA graph instead")
    ap.add_argument("--save-teachers", action="store_true", help="keep teacher-half checkpoints")
    ap.add_argument("--vocab", type=int, default=8192)
    ap.add_argument("--eval-tokens", type=int, default=0, help="validation tokens (0: all)")
    ap.add_argument("--n-ctx", type=int, default=512)
    ap.add_argument("--share-teacher", action="store_true",
                    help="train students that can share their teacher's forward pass together")
    ap.add_argument("--group-max", type=int, default=8, help="with --share-teacher, students per group at most")
    ap.add_argument("--name", default="w0")
    args = ap.parse_args(argv)
    parse_shard(args.shard)
    if args.group_max < 1:
        ap.error(f"--group-max must be at least 1, got {args.group_max}")
    return args


#: Compiled versions of one function a worker keeps (one per model size and teacher it meets).
RECOMPILE_LIMIT = 256


def main(argv=None):
    args = parse_args(argv)
    if args.cmd == "run":
        sys.exit(launch(args))
    device = "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cpu":
        torch.set_num_threads(max(1, int(os.environ.get("REPLICATION_CPU_THREADS", "1"))))
    # A worker compiles the loss of every model it trains and, in groups, each teacher's
    # targets; past dynamo's default of 8 versions of one function it runs the rest eagerly
    # without saying so in the rows (block p2b hit it). This process is the worker's own.
    torch._dynamo.config.recompile_limit = RECOMPILE_LIMIT
    w = Worker(args, device, args.name)
    n = w.loop()
    print(f"{args.name}: {n} runs", flush=True)


if __name__ == "__main__":
    main()
