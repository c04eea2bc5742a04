"""Do the fast step modes train the same model as eager PyTorch, and how much faster?

    python -m experiments.graph_check --corpus C --out graph_check.json [--tol 0.02]

Trains a few short configurations of the family from the same seed on the teacher half in
every mode of :data:`experiments.train.MODES` (CUDA-graph replay and ``torch.compile``
besides eager), and, for each configuration, a distilled student of the eager model in
eager and graph mode. Writes every validation loss and throughput and a verdict per mode:
a mode is fit for the sweep only if each of its losses agrees with eager's within ``--tol``
nats (the arithmetic is the same up to the order of floating-point reductions and, for
``compile``, fused kernels) and none of its runs fails.
"""

from __future__ import annotations

import argparse
import json
import traceback

import numpy as np
import torch

from experiments.corpus import load_split
from experiments.train import MODES, RunConfig, train_run

#: (size, tokens): short runs at a small and a middle size.
CONFIGS = (((2, 128), 4_000_000), ((5, 320), 12_000_000))


def main(argv=None):
    ap = argparse.ArgumentParser(description="check the fast step modes against eager")
    ap.add_argument("--corpus", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--tol", type=float, default=0.02)
    a = ap.parse_args(argv)
    device = "cuda"
    data = {s: torch.from_numpy(load_split(a.corpus, s).astype(np.int32)).to(device)
            for s in ("teacher", "validation")}
    val = data["validation"][: 262_144 + 1]
    results, failed = [], set()
    for (L, d), tokens in CONFIGS:
        teacher = None
        for distill, modes in ((False, MODES), (True, ("eager", "graph"))):
            if distill and teacher is None:
                continue
            got = {}
            for mode in modes:
                cfg = RunConfig(run_id=f"check-L{L}d{d}-{'d' if distill else 's'}", n_layers=L, d_model=d,
                                tokens=tokens, split="teacher", teacher_run_id="teacher" if distill else "")
                try:
                    row, model = train_run(cfg, data["teacher"], val, device,
                                           teacher=teacher if distill else None, mode=mode)
                except Exception:
                    failed.add(mode)
                    results.append({"size": f"L{L}d{d}", "distill": distill, "mode": mode,
                                    "error": traceback.format_exc()[-2000:]})
                    print(results[-1]["error"], flush=True)
                    continue
                got[mode] = row
                if not distill and mode == "eager":
                    teacher = model.eval().requires_grad_(False)
                print(f"L{L}d{d} distill={distill} {mode}: val_ce={row['val_ce']:.4f} "
                      f"{row['model_flops_per_s'] / 1e12:.1f} TFLOP/s ({row['wall_s']:.1f} s)", flush=True)
            for mode, row in got.items():
                if mode != "eager" and "eager" in got:
                    results.append({"size": f"L{L}d{d}", "distill": distill, "mode": mode, "tokens": tokens,
                                    "val_ce_eager": got["eager"]["val_ce"], "val_ce": row["val_ce"],
                                    "abs_diff": abs(row["val_ce"] - got["eager"]["val_ce"]),
                                    "speedup": got["eager"]["wall_s"] / row["wall_s"]})
    verdict = {}
    for mode in MODES[1:]:
        diffs = [r["abs_diff"] for r in results if r.get("mode") == mode and "abs_diff" in r]
        verdict[mode] = bool(diffs) and mode not in failed and max(diffs) <= a.tol
    out = {"fit_for_sweep": verdict, "tol": a.tol, "results": results,
           "torch": torch.__version__, "gpu": torch.cuda.get_device_name(0)}
    with open(a.out, "w") as f:
        json.dump(out, f, indent=1)
    print("fit for the sweep:", verdict, flush=True)


if __name__ == "__main__":
    main()
