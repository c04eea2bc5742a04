"""The learning-rate rule: from the learning-rate sweep's runs to one peak learning rate
per size, by a rule fixed before the sweep ran.

    python -m experiments.lr_rule runs.csv --out lr_choice.json

1. For each swept (size, tokens per parameter), the optimum is the vertex of a parabola
   fitted (least squares) to the final validation loss against log2(peak LR) over the
   grid point of lowest loss and its two neighbours; an optimum at the edge of the grid is
   the edge, flagged ``on_edge``.
2. Each size's optimum is taken at its longest swept run (M = 20 where swept, else the
   short run; the short and long optima of the sizes swept at both say how far that
   carries).
3. If the sizes' optima lie within a factor :data:`TRANSFER_FACTOR` of each other, simple
   muP transfers the learning rate across sizes and every size gets their geometric mean;
   otherwise each size gets the optimum interpolated linearly in log N between the swept
   sizes (held constant beyond them).
"""

from __future__ import annotations

import argparse
import csv
import json
import math
from pathlib import Path

import numpy as np

from experiments.family import family

TRANSFER_FACTOR = 2.0


def vertex(lrs: list[float], losses: list[float]) -> tuple[float, bool]:
    """Optimum LR of one sweep (parabola in log2 LR through the best point and its
    neighbours) and whether it lies on the grid's edge."""
    order = np.argsort(lrs)
    x = np.log2(np.asarray(lrs, dtype=float)[order])
    y = np.asarray(losses, dtype=float)[order]
    if len(x) < 3:
        raise ValueError(f"a sweep needs at least 3 learning rates, got {len(x)}")
    i = int(np.argmin(y))
    if i in (0, len(x) - 1):
        return float(2 ** x[i]), True
    a, b, _ = np.polyfit(x[i - 1:i + 2], y[i - 1:i + 2], 2)
    return float(2 ** (-b / (2 * a))), False


def choose(rows: list[dict]) -> dict:
    """The rule of the module docstring applied to the sweep's rows (run table rows whose
    ``protocol`` contains ``lr-sweep``)."""
    sweeps: dict[tuple[str, int], list[tuple[float, float]]] = {}
    N: dict[str, int] = {}
    for r in rows:
        if "lr-sweep" not in r["protocol"].split("+"):
            continue
        name = f"L{int(r['n_layers'])}d{int(r['d_model'])}"
        M = round(int(r["tokens"]) / int(r["N"]))
        loss = float(r["val_ce"])
        if math.isfinite(loss):
            sweeps.setdefault((name, M), []).append((float(r["lr"]), loss))
        N[name] = int(r["N"])
    if not sweeps:
        raise ValueError("no finite lr-sweep rows")
    optima = {}
    for (name, M), pts in sorted(sweeps.items()):
        lr, edge = vertex([p[0] for p in pts], [p[1] for p in pts])
        optima[f"{name}@M{M}"] = {"lr": lr, "on_edge": edge, "points": len(pts)}
    per_size = {}
    for name in N:
        Ms = sorted(M for (n, M) in sweeps if n == name)
        per_size[name] = optima[f"{name}@M{Ms[-1]}"]["lr"]
    short_long = {name: optima[f"{name}@M{min(M for (n, M) in sweeps if n == name)}"]["lr"] / per_size[name]
                  for name in N if len({M for (n, M) in sweeps if n == name}) > 1}
    spread = max(per_size.values()) / min(per_size.values())
    sizes = family()
    if spread <= TRANSFER_FACTOR:
        base = float(np.exp(np.mean(np.log(list(per_size.values())))))
        lr = {a.name: base for a in sizes}
        how = f"muP transfer: the optima lie within x{spread:.2f} <= x{TRANSFER_FACTOR:g}; geometric mean"
    else:
        xs = sorted(per_size, key=N.get)
        logN = np.log([N[n] for n in xs])
        logLR = np.log([per_size[n] for n in xs])
        lr = {a.name: float(np.exp(np.interp(np.log(a.non_embedding_params), logN, logLR))) for a in sizes}
        how = f"no transfer: the optima spread x{spread:.2f} > x{TRANSFER_FACTOR:g}; interpolated in log N"
    return {"rule": how, "optima": optima, "per_size": per_size, "short_over_long": short_long,
            "spread": spread, "lr": lr}


def main(argv=None):
    ap = argparse.ArgumentParser(description="choose the learning rate per size from the sweep")
    ap.add_argument("runs", type=Path)
    ap.add_argument("--out", type=Path, required=True)
    a = ap.parse_args(argv)
    with open(a.runs, newline="") as f:
        choice = choose(list(csv.DictReader(f)))
    a.out.write_text(json.dumps(choice, indent=1))
    print(choice["rule"])
    for k, v in choice["optima"].items():
        print(f"  {k}: {v['lr']:.4g}{' (on the grid edge)' if v['on_edge'] else ''}")


if __name__ == "__main__":
    main()
