"""Does CUDA-graph replay train the same model as eager PyTorch, and how much faster?

    python -m experiments.graph_check --corpus C --out graph_check.json

Trains a few small configurations of the family twice from the same seed on the
student half, eagerly and with :class:`experiments.train._GraphedStep`, the second
also as a distilled student of the first; writes both validation losses, both
throughputs and a verdict: graphs are used by the sweep only if every pair of
losses agrees within ``--tol`` nats (the kernels are the same, so only the order of
floating-point reductions may differ) and no run fails.
"""

from __future__ import annotations

import argparse
import json
import traceback

import numpy as np
import torch

from experiments.corpus import load_split
from experiments.train import RunConfig, train_run

CONFIGS = ((3, 2_000_000), (7, 8_000_000))  # (depth, tokens): batches 8 and 16


def main(argv=None):
    ap = argparse.ArgumentParser(description="check CUDA-graph training against eager")
    ap.add_argument("--corpus", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--tol", type=float, default=0.02)
    a = ap.parse_args(argv)
    device = "cuda"
    data = {s: torch.from_numpy(load_split(a.corpus, s).astype(np.int32)).to(device)
            for s in ("student", "validation")}
    results, ok = [], True
    for L, tokens in CONFIGS:
        teacher = None  # the eager supervised model of this size teaches the distilled pair
        for distill in (False, True):
            pair = {}
            for graph in (False, True):
                cfg = RunConfig(run_id=f"check-L{L}-{'d' if distill else 's'}", n_layers=L, tokens=tokens,
                                split="student", teacher_run_id="teacher" if distill else "")
                try:
                    row, model = train_run(cfg, data["student"], data["validation"], device,
                                           teacher=teacher if distill else None,
                                           cuda_graph=graph)
                except Exception:
                    ok = False
                    results.append({"L": L, "distill": distill, "graph": graph, "error": traceback.format_exc()})
                    print(results[-1]["error"], flush=True)
                    continue
                pair[graph] = row
                if not distill and not graph:
                    teacher = model.eval().requires_grad_(False)
                print(f"L={L} distill={distill} graph={graph} val_ce={row['val_ce']:.4f} "
                      f"{row['tokens_per_s']:.3g} tok/s", flush=True)
            if distill and teacher is None:
                continue
            if False in pair and True in pair:
                d = abs(pair[True]["val_ce"] - pair[False]["val_ce"])
                ok = ok and d <= a.tol
                results.append({"L": L, "distill": distill, "tokens": tokens,
                                "val_ce_eager": pair[False]["val_ce"], "val_ce_graph": pair[True]["val_ce"],
                                "abs_diff": d, "tok_s_eager": pair[False]["tokens_per_s"],
                                "tok_s_graph": pair[True]["tokens_per_s"],
                                "speedup": pair[True]["tokens_per_s"] / pair[False]["tokens_per_s"]})
    verdict = {"use_cuda_graph": bool(ok), "tol": a.tol, "results": results,
               "torch": torch.__version__, "gpu": torch.cuda.get_device_name(0)}
    with open(a.out, "w") as f:
        json.dump(verdict, f, indent=1)
    print("use_cuda_graph", ok, flush=True)


if __name__ == "__main__":
    main()
