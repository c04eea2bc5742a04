"""Fit the laws to a replication run table and store the fits for its chapters.

Run from the repository root (a few minutes on the shared 2-core machine):

    PYTHONPATH=$PWD python scripts/make_replication_fits.py [--runs data/replication/v1] [--out DIR]

Reads ``runs.csv`` from ``--runs`` (any table with the columns of experiments/schema.py),
computes ``analysis.replication.fit_laws`` (Eq. 1 on the supervised runs; Eq. 8 on all
distilled runs, on all sessions but the last, and on the students with L_S >= the cut
and the other cuts;
a 64-resample bootstrap and profiles of the capacity-gap coefficients) and writes
``fits.csv``, ``bootstrap.csv``, ``bootstrap_settings.csv`` and ``profiles.csv`` to
``--out`` (default ``analysis.replication.fit_folder``: ``data/fits/replication-v1`` for
``data/replication/v1``, ``data/fits/replication`` for ``data/replication``). The chapters
read them with ``analysis.replication.load_fits``, which refuses fits that do not
match the runs; tests/test_replication.py refits the supervised law and two bootstrap
resamples and compares. Deterministic: every random draw is seeded.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from analysis import replication as R


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=Path, default=R.DEFAULT_DIRECTORY, help="folder holding runs.csv")
    ap.add_argument("--out", type=Path, help="output folder (default: analysis.replication.fit_folder of the runs)")
    ap.add_argument("--cut", type=float, default=3.0, help="L_S cut of the extrapolation fit (nats/token)")
    ap.add_argument("--other-cuts", type=float, nargs="*", default=[3.3],
                    help="further cuts at which to store the extrapolation fit (the chapter's exercise uses 3.3)")
    ap.add_argument("--resamples", type=int, default=64, help="bootstrap resamples of the distillation fit")
    args = ap.parse_args(argv)
    table = R.load_runs(args.runs)
    out = args.out or R.fit_folder(table)
    t0 = time.perf_counter()
    fits = R.fit_laws(table, cut=args.cut, other_cuts=args.other_cuts, n_resamples=args.resamples)
    R.save_fits(fits, out)
    for name, r in [*((n, getattr(fits, n)) for n in R.FIT_SELECTIONS),
                    *((f"weak at L_S >= {c:g}", r) for c, r in fits.other_cuts.items())]:
        print(f"{name}: {r.problem.n} runs, objective {r.objective:.6e}")
    print(f"bootstrap: {fits.bootstrap.samples.shape[0]} resamples, {fits.bootstrap.n_failed} failed")
    print(f"wrote {out} in {time.perf_counter() - t0:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
