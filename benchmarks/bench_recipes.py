"""Speed of analysis.recipes on the paper's Fig. 17 sweep.

8 student sizes {300M, 500M, 1B, 3B, 5B, 10B, 30B, 50B} x 4 scenarios x 61
budgets from 1e20 to 1e26 FLOPs (1952 compute-optimal problems), solved with the
vectorised ``distillation_sweep`` (one call per scenario) and, for comparison,
with one ``compute_optimal_distillation`` call per problem on a subset.
Target: the whole sweep in <= 10 s on the 2-core development machine.

Run: PYTHONPATH=$PWD python benchmarks/bench_recipes.py [--repeats 5]
Prints medians (and min/max) of wall-clock seconds and the 1-minute load average.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import numpy as np

from analysis.flops import Scenario
from analysis.recipes import compute_optimal_distillation, distillation_sweep

STUDENTS = np.array([300e6, 500e6, 1e9, 3e9, 5e9, 10e9, 30e9, 50e9])
BUDGETS = np.logspace(20, 26, 61)


def sweep() -> dict:
    ns, cc = np.meshgrid(STUDENTS, BUDGETS, indexing="ij")
    return {sc: distillation_sweep(ns, cc, sc) for sc in Scenario}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    print(f"load average before: {os.getloadavg()[0]:.2f} (1 min), cpus: {os.cpu_count()}")
    times, per_scenario = [], {sc: [] for sc in Scenario}
    for _ in range(args.repeats):
        t0 = time.perf_counter()
        ns, cc = np.meshgrid(STUDENTS, BUDGETS, indexing="ij")
        for sc in Scenario:
            t1 = time.perf_counter()
            distillation_sweep(ns, cc, sc)
            per_scenario[sc].append(time.perf_counter() - t1)
        times.append(time.perf_counter() - t0)
    n = STUDENTS.size * BUDGETS.size * len(Scenario)
    print(f"Fig. 17 sweep, {n} problems: median {statistics.median(times):.2f} s "
          f"(min {min(times):.2f}, max {max(times):.2f}, {args.repeats} repeats; target <= 10 s)")
    for sc in Scenario:
        print(f"  {sc.slug:32s} median {statistics.median(per_scenario[sc]):.3f} s")
    # scalar API, one call per problem, on a subset
    subset = [(ns_, c_, sc) for ns_ in STUDENTS[::3] for c_ in BUDGETS[::12] for sc in Scenario]
    t0 = time.perf_counter()
    for ns_, c_, sc in subset:
        compute_optimal_distillation(ns_, c_, sc)
    dt = time.perf_counter() - t0
    print(f"scalar compute_optimal_distillation: {1e3 * dt / len(subset):.1f} ms per call "
          f"({len(subset)} calls)")
    print(f"load average after: {os.getloadavg()[0]:.2f} (1 min)")


if __name__ == "__main__":
    main()
