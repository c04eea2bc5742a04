"""Precompute the recipe sweeps the three "Recipes" chapters read (data/recipes/).

* sweep.csv       compute-optimal distillation for 8 students x 4 scenarios x 91
                  budgets 1e18..1e27 (10 per decade; the paper's Figs. 17-32 use 1e20..1e26)
* crossover.csv   crossover_compute per student and scenario over [1e18, 1e27]
* efficiency.csv  compute and token ratios (Figs. 33-34) per student and scenario on
                  a grid of target losses above the floor L(N_S, inf), plus the App. D.5
                  points (500M, 2.4) and (10B, 2.2)
* students_break_even.csv, students_crossover.csv, students_sweep.csv
                  many students per teacher (analysis.many_students): the break-even
                  number of students per size and budget, the crossover compute per size
                  and number of students, and the gain over a grid of budgets
* explorer_grid.json
                  every recipe the explorer page can show (analysis.explorer.recipe_grid),
                  as JSON so that every float is stored exactly

Deterministic (no randomness). tests/test_recipe_data.py recomputes a few rows.
Run: PYTHONPATH=$PWD python scripts/make_recipe_data.py [--only NAME ...]   (a few minutes on 2 cores)
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import pandas as pd

from analysis import explorer, many_students
from analysis.flops import Scenario, forward_flops_per_token
from analysis.laws import supervised_loss_infinite_data
from analysis.recipes import (
    crossover_compute,
    distillation_compute_for_loss,
    distillation_sweep,
    supervised_tokens_for_loss,
)

OUT = Path(__file__).resolve().parents[1] / "data" / "recipes"
STUDENTS = [300e6, 500e6, 1e9, 3e9, 5e9, 10e9, 30e9, 50e9]
BUDGETS = np.logspace(18, 27, 91)
EXCESS = np.geomspace(0.005, 0.8, 15)  # target = floor + excess (nats)
D5_POINTS = [(500e6, 2.4), (10e9, 2.2)]


def make_sweep() -> pd.DataFrame:
    ns, cc = np.meshgrid(STUDENTS, BUDGETS, indexing="ij")
    frames = []
    for sc in Scenario:
        out = distillation_sweep(ns, cc, sc)
        df = pd.DataFrame({k: v.ravel() for k, v in out.items()})
        df.insert(0, "scenario", sc.slug)
        frames.append(df)
    return pd.concat(frames, ignore_index=True)


def make_crossover() -> pd.DataFrame:
    rows = []
    for n_s in STUDENTS:
        for sc in Scenario:
            rows.append({"scenario": sc.slug, "student_params": n_s,
                         "crossover_compute": crossover_compute(n_s, sc)})
    return pd.DataFrame(rows)


def make_efficiency() -> pd.DataFrame:
    rows = []
    for n_s in STUDENTS:
        floor = float(supervised_loss_infinite_data(n_s))
        targets = list(floor + EXCESS)
        kinds = ["grid"] * len(targets)
        for d5_n, d5_l in D5_POINTS:
            if d5_n == n_s:
                targets.append(d5_l)
                kinds.append("D.5")
        targets = np.array(targets)
        d_sup = supervised_tokens_for_loss(n_s, targets)
        c_sup = 3.0 * float(forward_flops_per_token(n_s)) * d_sup
        for sc in Scenario:
            c_dist, tok = distillation_compute_for_loss(n_s, targets, sc)
            for k in range(targets.size):
                rows.append({"scenario": sc.slug, "student_params": n_s, "kind": kinds[k],
                             "target_loss": targets[k], "floor": floor,
                             "distillation_compute": c_dist[k], "supervised_compute": c_sup[k],
                             "distillation_tokens": tok[k], "supervised_tokens": d_sup[k],
                             "compute_ratio": c_dist[k] / c_sup[k], "token_ratio": tok[k] / d_sup[k]})
    return pd.DataFrame(rows)


TABLES = {
    "sweep": make_sweep, "crossover": make_crossover, "efficiency": make_efficiency,
    "students_break_even": many_students.break_even_table,
    "students_crossover": many_students.crossover_table,
    "students_sweep": lambda: many_students.gain_sweep(budgets=BUDGETS),
}
#: Stored as JSON (a list of records, every float exact), not as a table.
RECORDS = {"explorer_grid": explorer.recipe_grid}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="+", choices=[*TABLES, *RECORDS], help="make only these tables")
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    for name, make in TABLES.items():
        if args.only and name not in args.only:
            continue
        t0 = time.perf_counter()
        df = make()
        df.to_csv(OUT / f"{name}.csv", index=False, float_format="%.10g")
        print(f"{name}.csv: {len(df)} rows in {time.perf_counter() - t0:.1f} s")
    for name, make in RECORDS.items():
        if args.only and name not in args.only:
            continue
        t0 = time.perf_counter()
        records = make()
        lines = ",\n".join(json.dumps(r, ensure_ascii=False, allow_nan=False) for r in records)
        (OUT / f"{name}.json").write_text(f"[\n{lines}\n]\n", encoding="utf-8")  # one record a line
        print(f"{name}.json: {len(records)} records in {time.perf_counter() - t0:.1f} s")


if __name__ == "__main__":
    main()
