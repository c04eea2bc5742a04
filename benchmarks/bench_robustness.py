"""Speed of analysis.robustness: one draw (every contested finding recomputed under one
perturbed Table 6), per finding and in all, and what the chapter "How robust are the
findings?" spends at build time (loading the stored draws and recomputing two of them).

Run: PYTHONPATH=$PWD python benchmarks/bench_robustness.py [--repeats 5]
Prints medians (and min/max) of wall-clock seconds, the share of each finding, the
projected time of the stored study (analysis.robustness.STUDY) on one core, and the
1-minute load average (the machine is shared: medians absorb some of the noise, not all).
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

from analysis import robustness as Rb


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    print(f"load average before: {os.getloadavg()[0]:.2f} (1 min), cpus: {os.cpu_count()}")
    settings = Rb.draws("rounding", args.repeats, 0)
    per = {f.key: [] for f in Rb.FINDINGS}
    totals = []
    for s in settings:
        t_all = time.perf_counter()
        for f in Rb.FINDINGS:
            t = time.perf_counter()
            f.compute(s)
            per[f.key].append(time.perf_counter() - t)
        totals.append(time.perf_counter() - t_all)
    med = statistics.median(totals)
    print(f"one draw, all {len(Rb.FINDINGS)} findings: median {med:.2f} s "
          f"(min {min(totals):.2f}, max {max(totals):.2f}, {args.repeats} draws)")
    for key, ts in sorted(per.items(), key=lambda kv: -statistics.median(kv[1])):
        m = statistics.median(ts)
        print(f"  {key:24s} median {m:6.3f} s  ({m / med:5.1%} of a draw)")
    n = sum(n for n, _ in Rb.STUDY.values())
    print(f"stored study: {n} draws, projected {n * med / 60:.1f} min on one core")
    t = time.perf_counter()
    table = Rb.load_draws()
    for _, row in table.groupby("kind").head(1).iterrows():
        Rb.evaluate(Rb.setting_of(row))
    print(f"chapter at build time (load + recompute 2 draws): {time.perf_counter() - t:.2f} s")
    print(f"load average after: {os.getloadavg()[0]:.2f} (1 min)")


if __name__ == "__main__":
    main()
