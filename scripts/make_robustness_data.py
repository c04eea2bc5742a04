"""Recompute the book's contested findings under coefficients drawn within Table 6's
printed rounding and within its 90% intervals, and write data/robustness/draws.csv
(one row per draw: its coefficients and every finding's value) and provenance.json
(draws, seeds, the median seconds per draw, the machine's load).

The study is declared once, as analysis.robustness.STUDY (draws and seed per kind) and
analysis.robustness.FINDINGS. The chapter "How robust are the findings?" and
tests/test_robustness.py recompute some rows and compare.

Run: PYTHONPATH=$PWD OMP_NUM_THREADS=1 python scripts/make_robustness_data.py
     (about 2 s per draw on one core: some 15 minutes for the 400 draws)
"""

from __future__ import annotations

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
    parts, seconds = [], []
    t0 = time.time()
    for kind, (n, seed) in Rb.STUDY.items():
        for k, setting in enumerate(Rb.draws(kind, n, seed)):
            t = time.perf_counter()
            values = Rb.evaluate(setting)["value"].to_dict()
            seconds.append(time.perf_counter() - t)
            row = {"kind": kind, "draw": k}
            row.update({f"sup_{c}": v for c, v in setting.supervised.as_dict().items()})
            row.update({f"dist_{c}": v for c, v in setting.distillation.as_dict().items()})
            row.update(values)
            parts.append(row)
        print(f"{kind}: {n} draws, {time.time() - t0:.0f} s", flush=True)
    OUT.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(parts).to_csv(OUT / "draws.csv", index=False, float_format="%.17g")
    (OUT / "provenance.json").write_text(json.dumps({
        "script": "scripts/make_robustness_data.py",
        "study": {k: {"draws": n, "seed": s} for k, (n, s) in Rb.STUDY.items()},
        "findings": [f.key for f in Rb.FINDINGS],
        "median_seconds_per_draw": float(np.median(seconds)),
        "total_seconds": round(time.time() - t0, 1),
        "load_average": os.getloadavg()[0],
        "python": platform.python_version(),
    }, indent=2) + "\n")
    print(f"wrote {len(parts)} draws in {time.time() - t0:.0f} s")


if __name__ == "__main__":
    main()
