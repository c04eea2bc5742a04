"""Benchmark of analysis.fit against the naive per-start L-BFGS-B loop.

Run from the repository root:  PYTHONPATH=$PWD python benchmarks/bench_fit.py

For the supervised law (9,600 starts, 73-run synthetic design) and the
distillation law (216,000 starts, 698-run synthetic design), it prints

* the wall time of the full grid fit (median of ``--repeats`` runs);
* the naive loop -- ``scipy.optimize.minimize(method="L-BFGS-B")`` with
  finite-difference gradients, one start at a time, same objective, bounds and
  tolerances -- timed on a random subset of grid starts, and its per-start mean
  extrapolated to the whole grid (an estimate, not a measurement of the full loop);
* the speed ratio (extrapolated naive time / our median time);
* the optimum of both: the best objective of the naive subset, the naive method
  restarted at our optimum (it should not find a lower point there), and ours
  (Eq. 45/50 units: summed Huber loss).

The machine is shared (2 cores, other jobs running): the load average is printed
with the figures; medians absorb some of the noise, not all of it.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import numpy as np
from scipy.optimize import minimize
from threadpoolctl import threadpool_limits

from analysis import fit as F
from analysis.designs import distillation_design, supervised_design
from analysis.laws import PAPER_SUPERVISED


def naive(prob, x0):
    """One naive start: L-BFGS-B without a gradient (finite differences)."""
    fun = lambda x: F._batch_objective(prob, x[None, :], need_grad=False)[0]  # noqa: E731
    return minimize(fun, x0, method="L-BFGS-B", bounds=prob.bounds,
                    options={"maxiter": 3000, "ftol": 1e-13, "gtol": 1e-9, "maxcor": 20})


def bench(label, fit_fn, prob_fn, grid, names, repeats, n_naive, seed):
    print(f"\n=== {label} ===")
    times, result = [], None
    for _ in range(repeats):
        t0 = time.perf_counter()
        result = fit_fn()
        times.append(time.perf_counter() - t0)
    med = statistics.median(times)
    print(f"grid starts: {result.n_starts}, runs: {result.problem.n}")
    print(f"ours: times {[round(t, 2) for t in times]} s, median {med:.2f} s "
          f"(polished {result.n_polished}, converged {result.n_converged})")
    prob = result.problem
    starts = np.maximum(F._check_grid(grid, names), prob.lower)
    rng = np.random.default_rng(seed)
    pick = rng.choice(starts.shape[0], size=n_naive, replace=False)
    t0 = time.perf_counter()
    with threadpool_limits(limits=1, user_api="blas"):
        runs = [naive(prob, starts[i]) for i in pick]
    t_naive = time.perf_counter() - t0
    per_start = t_naive / n_naive
    full = per_start * result.n_starts
    ok = [r for r in runs if r.success]
    best_naive = min(r.fun for r in ok) if ok else np.inf
    to_paper = prob.delta * prob.n
    with threadpool_limits(limits=1, user_api="blas"):
        from_opt = naive(prob, result.theta)
    print(f"naive: {n_naive} random starts in {t_naive:.1f} s ({per_start:.3f} s/start, "
          f"{len(ok)} converged); extrapolated to {result.n_starts} starts: {full:.0f} s "
          f"= {full / 3600:.2f} h")
    print(f"speed ratio (naive extrapolated / ours median): {full / med:.0f}x")
    print(f"objective (summed Huber): ours {result.objective:.9e}; naive best of subset "
          f"{best_naive * to_paper:.9e}; naive restarted at our optimum {from_opt.fun * to_paper:.9e}")
    print(f"relative gap, naive subset best vs ours: {(best_naive * to_paper - result.objective) / result.objective:+.2e}")
    print("ours:  ", {k: round(float(v), 4) for k, v in result.coefficients.as_dict().items()})
    win_naive = min(ok, key=lambda r: r.fun) if ok else None
    if win_naive is not None:
        print("naive: ", {k: round(float(v), 4) for k, v in prob.law.coefficients(win_naive.x).as_dict().items()})
    print("naive restarted at our optimum:", {k: round(float(v), 4) for k, v in
                                              prob.law.coefficients(from_opt.x).as_dict().items()})
    print(f"distinct converged optima of ours: {[f'{f:.6e}' for f, _ in result.optima]}")
    return med, full


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--naive-supervised", type=int, default=48)
    ap.add_argument("--naive-distillation", type=int, default=12)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--skip-distillation", action="store_true")
    args = ap.parse_args()
    print(f"load average at start: {os.getloadavg()} on {os.cpu_count()} cores (shared machine)")
    s = supervised_design(seed=args.seed)
    bench("supervised law, paper grid (App. F.1)",
          lambda: F.fit_supervised(s.N, s.D, s.loss), None, F.PAPER_SUPERVISED_GRID,
          F.SUPERVISED_PARAMS, args.repeats, args.naive_supervised, args.seed)
    if not args.skip_distillation:
        d = distillation_design(seed=args.seed)
        bench("distillation law, paper grid (App. F.2)",
              lambda: F.fit_distillation(d.N_S, d.D_S, d.L_T, d.L_S, supervised=PAPER_SUPERVISED),
              None, F.PAPER_DISTILLATION_GRID, F.DISTILLATION_PARAMS, args.repeats,
              args.naive_distillation, args.seed)
    print(f"\nload average at end: {os.getloadavg()}")


if __name__ == "__main__":
    main()
