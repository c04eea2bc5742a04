"""Rerun the synthetic parameter-recovery study of the chapter "Fitting the laws" at the
noise real runs show as well as at the chapter's pessimistic 0.5%, and write
data/fits/recovery_noise.csv: per law and noise level, the coefficients the paper's grid
search recovers, the objective at that optimum, and the objective at the true (Table 6)
coefficients that generated the runs, on the same runs.

The noise levels are declared once, as analysis.stored.RECOVERY_SIGMAS; the designs are
analysis.designs at seed analysis.stored.SEED. tests/test_recovery_noise.py checks a row.

Run: PYTHONPATH=$PWD OMP_NUM_THREADS=1 python scripts/make_recovery_noise.py
"""

from __future__ import annotations

import time

import pandas as pd

from analysis import stored as S

OUT = S.FITS_DIR / "recovery_noise.csv"


def main() -> None:
    rows = []
    t0 = time.time()
    for sigma in S.RECOVERY_SIGMAS:
        for law in ("supervised", "distillation"):
            rows.append(S.recovery_at_noise(law, sigma))
            print(f"{law} at sigma={sigma}: {time.time() - t0:.0f} s", flush=True)
    pd.DataFrame(rows).to_csv(OUT, index=False, float_format="%.17g")
    print(f"wrote {len(rows)} rows to {OUT} in {time.time() - t0:.0f} s")


if __name__ == "__main__":
    main()
