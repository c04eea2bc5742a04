"""Train the MLP sweep of the chapter "Why is there a capacity gap?" (App. C.2 of the
paper) and write data/capacity_gap/mlp_runs.csv.

The sweep is declared once, as analysis.capacity_gap.DEFAULT_SWEEP: 4 trials of
supervised baselines for students of width 8, 16 and 32; teachers of width 8-256 on the
App. C.2 budget (Fig. 11); a width-128 teacher on 64k-4.2M samples (Fig. 12); every
teacher distilled into every student width. Seeded, numpy only, one BLAS thread is
enough. tests/test_capacity_gap.py recomputes some rows and compares.

Run: PYTHONPATH=$PWD OMP_NUM_THREADS=1 python scripts/make_capacity_gap_data.py
     (about ten minutes on one core)
"""

from __future__ import annotations

import time
from pathlib import Path

import pandas as pd

from analysis.capacity_gap import DEFAULT_SWEEP, RUN_COLUMNS, run_supervised, run_teacher_group

OUT = Path(__file__).resolve().parents[1] / "data" / "capacity_gap" / "mlp_runs.csv"


def main() -> None:
    sweep = DEFAULT_SWEEP
    rows = []
    t0 = time.time()
    for trial in range(sweep.trials):
        rows += run_supervised(sweep, trial)
    for group in sweep.teacher_groups():
        rows += run_teacher_group(sweep, *group)
        print(f"{group}: {time.time() - t0:.0f} s", flush=True)
    frame = pd.DataFrame(rows, columns=list(RUN_COLUMNS))
    for column in ("trial", "teacher_width", "teacher_samples", "student_width", "student_samples"):
        frame[column] = frame[column].astype("Int64")  # counts stay exact integers in the CSV
    OUT.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(OUT, index=False, float_format="%.6g")
    print(f"wrote {len(frame)} rows to {OUT} in {time.time() - t0:.0f} s")


if __name__ == "__main__":
    main()
