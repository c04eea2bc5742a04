"""How much does sharing a teacher's forward pass save at part 2's sizes?

    python -m experiments.share_bench --teacher L7d512 --group graph L2d64 L2d128 L3d128 \
        --group compile L3d192 L4d256 --tokens 16000000 --out share_bench.csv

For each group (a step mode and student sizes), trains the students of one teacher alone
(:func:`experiments.train.train_run`) and as one group (:func:`experiments.train.train_group`,
the teacher's forward pass once per window) on uniformly random token ids, and writes per
group the wall times and their ratio. The teacher is an untrained model of its size (its
forward pass costs the same as a trained one's); the losses mean nothing here, only the
times do (:mod:`experiments.graph_check` checks that a group trains the same students).
Runs on the CPU in eager mode with ``--device cpu`` (tiny sizes, for a test).
"""

from __future__ import annotations

import argparse
import csv
import time

import torch

from experiments.family import architecture, by_name
from experiments.model import Transformer
from experiments.train import MODES, RunConfig, train_group, train_run

FIELDS = ["mode", "teacher", "students", "tokens", "alone_wall_s", "group_wall_s", "group_over_alone",
          "student_flops", "teacher_forward_flops", "gpu"]


def bench(teacher_name: str, students: list[str], mode: str, tokens: int, device: str, seed: int = 0,
          **cfg_knobs) -> dict:
    """One group's row of :data:`FIELDS` (wall times in seconds)."""
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    if not students:
        raise ValueError("students must name at least one size")
    g = torch.Generator().manual_seed(seed)
    n_vocab = cfg_knobs.get("n_vocab", by_name(teacher_name).n_vocab)
    n_ctx = cfg_knobs.get("n_ctx", by_name(teacher_name).n_ctx)
    train = torch.randint(0, n_vocab, (max(4 * tokens, 64 * n_ctx),), generator=g, dtype=torch.int32).to(device)
    # graph replay captures its step on one batch of validation windows: hold more than any batch
    val = torch.randint(0, n_vocab, (512 * n_ctx + 1,), generator=g, dtype=torch.int32).to(device)
    ta = by_name(teacher_name)
    arch = architecture(ta.n_layers, ta.d_model, n_ctx, n_vocab)
    torch.manual_seed(seed)
    teacher = Transformer(arch).to(device).eval().requires_grad_(False)
    cfgs = [RunConfig(run_id=f"bench-{s}", n_layers=by_name(s).n_layers, d_model=by_name(s).d_model,
                      tokens=tokens, teacher_run_id="teacher", n_evals=1, **cfg_knobs) for s in students]
    t0 = time.time()
    alone = [train_run(c, train, val, device, teacher=teacher, mode=mode)[0] for c in cfgs]
    alone_wall = time.time() - t0
    t0 = time.time()
    train_group(cfgs, train, val, device, teacher=teacher, mode=mode)
    group_wall = time.time() - t0
    return {"mode": mode, "teacher": teacher_name, "students": " ".join(students), "tokens": tokens,
            "alone_wall_s": alone_wall, "group_wall_s": group_wall, "group_over_alone": group_wall / alone_wall,
            "student_flops": sum(3.0 * by_name(s).forward_flops_per_token * r["tokens"] for s, r in zip(students, alone)),
            "teacher_forward_flops": ta.forward_flops_per_token * sum(r["tokens"] for r in alone),
            "gpu": torch.cuda.get_device_name(0) if torch.device(device).type == "cuda" else "cpu"}


def main(argv=None):
    ap = argparse.ArgumentParser(description="time students of one teacher alone and as one group")
    ap.add_argument("--teacher", required=True, help="a size such as L7d512")
    ap.add_argument("--group", nargs="+", action="append", required=True, metavar="MODE SIZE",
                    help="a step mode, then student sizes (repeatable)")
    ap.add_argument("--tokens", type=int, default=16_000_000, help="tokens per student")
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--out", required=True)
    a = ap.parse_args(argv)
    rows = []
    for mode, *students in a.group:
        rows.append(bench(a.teacher, students, mode, a.tokens, a.device))
        r = rows[-1]
        print(f"{mode} {r['students']}: alone {r['alone_wall_s']:.1f} s, group {r['group_wall_s']:.1f} s "
              f"(x{r['group_over_alone']:.2f})", flush=True)
    with open(a.out, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=FIELDS)
        w.writeheader()
        w.writerows(rows)


if __name__ == "__main__":
    main()
