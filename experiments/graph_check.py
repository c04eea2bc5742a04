"""Do the fast step modes train the same model as eager PyTorch, and how much faster?

    python -m experiments.graph_check --corpus C --out graph_check.json [--tol 0.02]

Trains a few short configurations of the family from the same seed on the teacher half in
every mode of :data:`experiments.train.MODES` (CUDA-graph replay and ``torch.compile``
besides eager), and, for each configuration, a distilled student of the eager model in
every mode. Writes every validation loss and throughput and a verdict per mode: a mode is
fit for the sweep only if each of its losses agrees with eager's within ``--tol`` nats (the
arithmetic is the same up to the order of floating-point reductions and, for ``compile``,
fused kernels) and none of its runs fails.

The sharing check (:func:`sharing_check`): the students :data:`GROUP` of the last
configuration's eager model, trained alone (:func:`experiments.train.train_run`) and as one
group that computes the teacher's forward pass once (:func:`experiments.train.train_group`),
in every mode (``--sharing-only CHECK`` runs only this, keeping an earlier check's verdict on
the step modes); a mode is fit for sharing (``fit_for_sharing``) only if every student's loss
in the group agrees with its loss alone within ``--tol`` and nothing fails. It also records
the group's wall time against the students' alone.
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
#: (size, tokens): the students of the sharing check, distilling from the last of CONFIGS.
GROUP = (((2, 128), 4_000_000), ((4, 256), 4_000_000))


def sharing_check(teacher, train, val, device, modes=MODES, group=GROUP, tol=0.02, **cfg_knobs) -> dict:
    """The students ``group`` of ``teacher`` alone and as one group, in each of ``modes``:
    per student and mode the two validation losses and their difference; per mode the group's
    wall time over the sum of the students' alone (``wall_ratio``); ``fit_for_sharing`` per
    mode. ``cfg_knobs`` go to every :class:`RunConfig` (a CPU test's small context)."""
    from experiments.train import train_group
    results, verdict = [], {}
    for mode in modes:
        cfgs = [RunConfig(run_id=f"share-L{L}d{d}", n_layers=L, d_model=d, tokens=tokens, split="teacher",
                          teacher_run_id="teacher", **cfg_knobs) for (L, d), tokens in group]
        try:
            alone = [train_run(c, train, val, device, teacher=teacher, mode=mode)[0] for c in cfgs]
            together = [row for row, _ in train_group(cfgs, train, val, device, teacher=teacher, mode=mode)]
        except Exception:
            results.append({"mode": mode, "error": traceback.format_exc()[-2000:]})
            print(results[-1]["error"], flush=True)
            verdict[mode] = False
            continue
        ratio = together[0]["group_wall_s"] / sum(r["wall_s"] for r in alone)
        for c, a1, g1 in zip(cfgs, alone, together):
            results.append({"size": f"L{c.n_layers}d{c.d_model}", "mode": mode, "tokens": c.tokens,
                            "val_ce_alone": a1["val_ce"], "val_ce_group": g1["val_ce"],
                            "abs_diff": abs(g1["val_ce"] - a1["val_ce"]), "wall_s_alone": a1["wall_s"],
                            "group_wall_s": g1["group_wall_s"], "wall_ratio": ratio})
            print(f"share {mode} L{c.n_layers}d{c.d_model}: alone {a1['val_ce']:.4f} group {g1['val_ce']:.4f} "
                  f"(group wall / alone {ratio:.2f})", flush=True)
        verdict[mode] = max(r["abs_diff"] for r in results if r.get("mode") == mode and "abs_diff" in r) <= tol
    return {"fit_for_sharing": verdict, "group_results": results}


def _device_name(device: str) -> str:
    return torch.cuda.get_device_name(0) if torch.device(device).type == "cuda" else "cpu"


def _config(L: int, d: int, tokens: int, distill: bool) -> RunConfig:
    return RunConfig(run_id=f"check-L{L}d{d}-{'d' if distill else 's'}", n_layers=L, d_model=d, tokens=tokens,
                     split="teacher", teacher_run_id="teacher" if distill else "")


def mode_check(train, val, device, tol: float):
    """Every configuration of :data:`CONFIGS` in every mode, supervised and then distilled
    from its eager model: the verdict per fast mode, the results, and the last
    configuration's eager model (the sharing check's teacher; None if it failed)."""
    results, failed = [], set()
    for (L, d), tokens in CONFIGS:
        teacher = None
        for distill, modes in ((False, MODES), (True, MODES)):
            if distill and teacher is None:
                continue
            got = {}
            for mode in modes:
                try:
                    row, model = train_run(_config(L, d, tokens, distill), train, val, device,
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
        verdict[mode] = bool(diffs) and mode not in failed and max(diffs) <= tol
    return verdict, results, teacher


def main(argv=None):
    ap = argparse.ArgumentParser(description="check the fast step modes against eager")
    ap.add_argument("--corpus", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--tol", type=float, default=0.02)
    ap.add_argument("--sharing-only", metavar="CHECK",
                    help="keep the step modes' verdict of an earlier check (its graph_check.json, same torch and "
                         "GPU) and run only the sharing check, on the eager teacher of the last configuration")
    ap.add_argument("--device", default="cuda", help="cuda (a CPU rehearsal runs the eager paths alone)")
    a = ap.parse_args(argv)
    device = a.device
    data = {s: torch.from_numpy(load_split(a.corpus, s).astype(np.int32)).to(device)
            for s in ("teacher", "validation")}
    val = data["validation"][: 262_144 + 1]
    software = {"torch": torch.__version__, "gpu": _device_name(device)}
    extra = {}
    if a.sharing_only:
        earlier = json.loads(open(a.sharing_only).read())
        if {k: earlier.get(k) for k in software} != software:
            raise SystemExit(f"--sharing-only: {a.sharing_only} was checked on torch {earlier.get('torch')} and "
                             f"{earlier.get('gpu')}, this machine has {software['torch']} and {software['gpu']}")
        verdict, results, extra = earlier["fit_for_sweep"], earlier["results"], {"modes_from": a.sharing_only}
        (L, d), tokens = CONFIGS[-1]
        teacher = train_run(_config(L, d, tokens, False), data["teacher"], val, device,
                            mode="eager")[1].eval().requires_grad_(False)
        modes = MODES[1:] if torch.device(device).type == "cuda" else ("eager",)  # a block uses the fast modes
    else:
        verdict, results, teacher = mode_check(data["teacher"], val, device, a.tol)
        modes = MODES
    sharing = sharing_check(teacher, data["teacher"], val, device, modes=modes, group=GROUP, tol=a.tol) \
        if teacher is not None else {"fit_for_sharing": {m: False for m in MODES}, "group_results": []}
    out = {"fit_for_sweep": verdict, "tol": a.tol, "results": results, **extra, **sharing, **software}
    with open(a.out, "w") as f:
        json.dump(out, f, indent=1)
    print("fit for the sweep:", verdict, "fit for sharing:", sharing["fit_for_sharing"], flush=True)


if __name__ == "__main__":
    main()
