"""Training throughput of the model family on one GPU, as the sweep runs it: model FLOP/s
and model FLOPs utilisation (MFU) per size and step mode.

    python -m experiments.throughput --sizes L2d64 L5d256 L8d512 --modes eager graph compile \
        --out throughput.csv [--steps 30] [--warmup 10]

For each size it times ``--steps`` optimiser steps of :func:`experiments.train.optimiser_step`
(the trainer's own loss, clipping and fused AdamW) at the size's batch
(:func:`experiments.train.batch_seqs_for`) after ``--warmup`` steps, with CUDA events, on
random token ids (the speed of a dense transformer step does not depend on the ids), and
reports the median over ``--repeats`` timed blocks. MFU counts the model FLOPs of
:mod:`analysis.flops` (3 F(N) per trained token; attention over the full context, as in
Eq. 59) against ``--peak`` FLOP/s (790e12: the bf16 dense matrix rate measured on an H200 of
this workplace).
"""

from __future__ import annotations

import argparse
import csv
import statistics
import time

import torch

from experiments.family import by_name
from experiments.model import Transformer
from experiments.train import (PEAK_LR, WEIGHT_DECAY, GraphedStep, RunConfig, batch_seqs_for,
                               make_loss_fn, optimiser_step)

FIELDS = ["name", "n_layers", "d_model", "N", "batch_seqs", "batch_tokens", "mode", "step_ms",
          "tokens_per_s", "model_flops_per_s", "mfu", "compile_s", "peak_mem_gib", "gpu"]


def measure(name: str, mode: str, steps: int, warmup: int, repeats: int, peak: float,
            batch_scale: int = 1) -> dict:
    arch = by_name(name)
    device = "cuda"
    torch.manual_seed(0)
    model = Transformer(arch).to(device)
    opt = torch.optim.AdamW(model.param_groups(PEAK_LR, WEIGHT_DECAY), betas=(0.9, 0.95), fused=True,
                            capturable=mode == "graph")
    cfg = RunConfig(run_id="tp", n_layers=arch.n_layers, d_model=arch.d_model, tokens=1)
    loss_fn = make_loss_fn(model, cfg, device)
    if mode == "compile":
        loss_fn = torch.compile(loss_fn)
    B = batch_seqs_for(arch) * batch_scale
    w = torch.randint(0, arch.n_vocab, (B, arch.n_ctx + 1), device=device)
    torch.cuda.reset_peak_memory_stats()
    t0 = time.perf_counter()
    if mode == "graph":
        graphed = GraphedStep(model, opt, loss_fn, w)
        step = lambda: graphed(w, 1.0)  # noqa: E731
    else:
        step = lambda: optimiser_step(model, opt, loss_fn, w)  # noqa: E731
    for _ in range(warmup):
        step()
    torch.cuda.synchronize()
    compile_s = time.perf_counter() - t0
    times = []
    for _ in range(repeats):
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        for _ in range(steps):
            step()
        end.record()
        torch.cuda.synchronize()
        times.append(start.elapsed_time(end) / 1e3 / steps)
    dt = statistics.median(times)
    tokens = B * arch.n_ctx
    flops = 3.0 * arch.forward_flops_per_token * tokens / dt
    return {"name": name, "n_layers": arch.n_layers, "d_model": arch.d_model,
            "N": arch.non_embedding_params, "batch_seqs": B, "batch_tokens": tokens, "mode": mode,
            "step_ms": dt * 1e3, "tokens_per_s": tokens / dt, "model_flops_per_s": flops,
            "mfu": flops / peak, "compile_s": compile_s,
            "peak_mem_gib": torch.cuda.max_memory_allocated() / 2**30,
            "gpu": torch.cuda.get_device_name(0)}


def main(argv=None):
    ap = argparse.ArgumentParser(description="training throughput per model size and step mode")
    ap.add_argument("--sizes", nargs="+", required=True, help="names such as L4d256")
    ap.add_argument("--modes", nargs="+", default=["graph"], choices=["eager", "graph", "compile"])
    ap.add_argument("--batch-scales", nargs="+", type=int, default=[1],
                    help="multiples of the size's batch to time (1: the sweep's batch)")
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--peak", type=float, default=790e12)
    ap.add_argument("--out", required=True)
    a = ap.parse_args(argv)
    if not torch.cuda.is_available():
        raise SystemExit("the throughput benchmark needs a CUDA GPU")
    with open(a.out, "a", newline="") as f:
        w = csv.DictWriter(f, fieldnames=FIELDS)
        if f.tell() == 0:
            w.writeheader()
        for name in a.sizes:
            for mode, scale in [(m, k) for m in a.modes for k in a.batch_scales]:
                try:
                    r = measure(name, mode, a.steps, a.warmup, a.repeats, a.peak, scale)
                except Exception as e:  # a mode that fails on this machine is reported, not fatal
                    print(f"{name} {mode}: FAILED {type(e).__name__}: {str(e)[:300]}", flush=True)
                    continue
                w.writerow(r)
                f.flush()
                print(f"{name} {mode} B={r['batch_seqs']} {r['step_ms']:.2f} ms/step "
                      f"{r['model_flops_per_s'] / 1e12:.1f} TFLOP/s MFU {r['mfu']:.3f} "
                      f"(first steps {r['compile_s']:.1f} s, {r['peak_mem_gib']:.1f} GiB)", flush=True)
                torch.cuda.empty_cache()


if __name__ == "__main__":
    main()
