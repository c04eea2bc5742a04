"""Wall time of k students of one teacher trained alone (experiments.train.train_run, one
after another) and together (train_group, one teacher forward pass per window), for
k = 1, 2, 4, 8.

Run: PYTHONPATH=$PWD python benchmarks/bench_share_teacher.py [--repeats 3] [--devices cpu cuda]

Tiny configuration on the CPU (one thread): a teacher L2d128 and students L1d64 with
batches 4, 6 and 8 windows in turn, 40 steps each, context 64, vocabulary 512. On CUDA
(where available): a teacher L4d256 and students L2d64 and L2d128 at the sweep's batches,
context 512, vocabulary 8192, 300 steps of eager mode. The teacher is untrained (the time
does not depend on its weights) and the tokens are uniform. Each student's time includes
its evaluations (curve points and the final one, whose teacher forward pass is not shared),
as a sweep's run does. Prints, per k, the median (and min/max) of the repeats for both ways
and their ratio (alone / together: above 1, sharing is faster), and the 1-minute load
average before and after (the machine may be shared).
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from dataclasses import dataclass

import torch

from experiments.family import architecture
from experiments.model import Transformer
from experiments.train import RunConfig, batch_seqs_for, train_group, train_run

KS = (1, 2, 4, 8)


@dataclass(frozen=True)
class Setting:
    teacher: tuple  # (n_layers, d_model)
    students: tuple  # (n_layers, d_model, batch_seqs; 0 = the sweep's batch), taken in turn
    steps: int
    n_ctx: int
    n_vocab: int
    eval_tokens: int


SETTINGS = {
    "cpu": Setting(teacher=(2, 128), students=((1, 64, 4), (1, 64, 6), (1, 64, 8)), steps=40, n_ctx=64,
                   n_vocab=512, eval_tokens=2048),
    "cuda": Setting(teacher=(4, 256), students=((2, 64, 0), (2, 128, 0)), steps=300, n_ctx=512, n_vocab=8192,
                    eval_tokens=65_536),
}


def students(s: Setting, k: int) -> list[RunConfig]:
    out = []
    for i in range(k):
        L, d, b = s.students[i % len(s.students)]
        b = b or batch_seqs_for(architecture(L, d, s.n_ctx, s.n_vocab))
        out.append(RunConfig(f"s{i}", n_layers=L, d_model=d, tokens=s.steps * b * s.n_ctx, batch_seqs=b,
                             split="student", teacher_run_id="t", n_ctx=s.n_ctx, n_vocab=s.n_vocab,
                             eval_tokens=s.eval_tokens, n_evals=4))
    return out


def timed(fn) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--devices", nargs="+", default=["cpu"] + (["cuda"] if torch.cuda.is_available() else []))
    args = parser.parse_args()
    torch.set_num_threads(1)
    print(f"load average before: {os.getloadavg()[0]:.2f} (1 min), cpus: {os.cpu_count()}, torch {torch.__version__}")
    for device in args.devices:
        s = SETTINGS[device]
        gen = torch.Generator().manual_seed(0)
        train = torch.randint(0, s.n_vocab, (s.n_ctx * 4096,), generator=gen, dtype=torch.int32).to(device)
        val = torch.randint(0, s.n_vocab, (s.eval_tokens + 1,), generator=gen, dtype=torch.int32).to(device)
        torch.manual_seed(0)
        teacher = Transformer(architecture(*s.teacher, s.n_ctx, s.n_vocab)).to(device).eval().requires_grad_(False)
        name = torch.cuda.get_device_name(0) if device == "cuda" else "cpu, 1 thread"
        print(f"\n{device} ({name}): teacher L{s.teacher[0]}d{s.teacher[1]}, students "
              f"{', '.join(f'L{c.n_layers}d{c.d_model}/b{c.batch_seqs}' for c in students(s, len(s.students)))}, "
              f"{s.steps} steps, context {s.n_ctx}, vocabulary {s.n_vocab}")
        train_group(students(s, 1), train, val, device, teacher)  # warm-up (allocator, kernels)
        for k in KS:
            cfgs = students(s, k)
            alone, together = [], []
            for _ in range(args.repeats):
                alone.append(timed(lambda: [train_run(c, train, val, device, teacher) for c in cfgs]))
                together.append(timed(lambda: train_group(cfgs, train, val, device, teacher)))
            a, g = statistics.median(alone), statistics.median(together)
            print(f"  k={k}: alone {a:7.2f} s (min {min(alone):.2f}, max {max(alone):.2f})  "
                  f"together {g:7.2f} s (min {min(together):.2f}, max {max(together):.2f})  "
                  f"alone/together {a / g:.2f}x")
    print(f"\nload average after: {os.getloadavg()[0]:.2f} (1 min)")


if __name__ == "__main__":
    main()
