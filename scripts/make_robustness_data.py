"""Recompute the book's contested findings under coefficients drawn within Table 6's
printed rounding and within its 90% intervals, and write data/robustness/draws_<kind>.csv
(one row per draw: its coefficients and every finding's value) and
provenance_<kind>.json (draws, seed, the median seconds per draw, the machine's load).

The study is declared once, as analysis.robustness.STUDY (draws and seed per kind) and
analysis.robustness.FINDINGS. The chapter "How robust are the findings?" and
tests/test_robustness.py recompute some rows and compare.

Run: PYTHONPATH=$PWD OMP_NUM_THREADS=1 python scripts/make_robustness_data.py [--kind KIND]
     (about 2 s per draw on an idle core: some 3.5 minutes per kind; the kinds are
     independent, so two processes can make them side by side)
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

import numpy as np
import pandas as pd

from analysis import robustness as Rb

OUT = Path(__file__).resolve().parents[1] / "data" / "robustness"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kind", choices=Rb.KINDS, action="append",
                        help="the kind(s) of draw to make (default: all)")
    kinds = parser.parse_args().kind or list(Rb.KINDS)
    OUT.mkdir(parents=True, exist_ok=True)
    for kind in kinds:
        n, seed = Rb.STUDY[kind]
        rows, seconds = [], []
        t0 = time.time()
        for k, setting in enumerate(Rb.draws(kind, n, seed)):
            t = time.perf_counter()
            values = Rb.evaluate(setting)["value"].to_dict()
            seconds.append(time.perf_counter() - t)
            row = {"kind": kind, "draw": k}
            row.update({f"sup_{c}": v for c, v in setting.supervised.as_dict().items()})
            row.update({f"dist_{c}": v for c, v in setting.distillation.as_dict().items()})
            row.update(values)
            rows.append(row)
        pd.DataFrame(rows).to_csv(OUT / f"draws_{kind}.csv", index=False, float_format="%.17g")
        (OUT / f"provenance_{kind}.json").write_text(json.dumps({
            "script": "scripts/make_robustness_data.py",
            "kind": kind, "draws": n, "seed": seed,
            "findings": [f.key for f in Rb.FINDINGS],
            "median_seconds_per_draw": round(float(np.median(seconds)), 3),
            "total_seconds": round(time.time() - t0, 1),
            "load_average": round(os.getloadavg()[0], 2),
            "python": platform.python_version(),
        }, indent=2) + "\n")
        print(f"{kind}: wrote {n} draws in {time.time() - t0:.0f} s", flush=True)


if __name__ == "__main__":
    main()
