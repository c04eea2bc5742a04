"""Regenerate the stored fits, bootstraps and profiles used by book/fitting_laws.md.

Run from the repository root:

    PYTHONPATH=$PWD python scripts/make_fits.py            # everything
    PYTHONPATH=$PWD python scripts/make_fits.py --only fits

Writes data/fits/fits.csv (one row per fit), data/fits/bootstrap_<name>.csv (row i =
resample i, NaN where a polish failed) and data/fits/profile_<param>.csv; which runs
each fit uses is declared in analysis.stored.fit_specs, which also reads the files
back.  Every random draw is seeded, so a rerun on the same machine reproduces the
files; tests/test_fit.py recomputes a fit and the first resamples and compares.

Resample counts default to the paper's 4,096 (Table 6); each resample is one
warm-started L-BFGS-B polish.  The whole script takes about 10-20 minutes on the
shared 2-core machine; ``--resamples-supervised`` / ``--resamples-distillation``
lower the counts for a quick look.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd

from analysis import fit as F
from analysis.stored import FITS_DIR as OUT
from analysis.stored import PROFILE_VALUES, SEED, fit_specs

COEFS = ["E", "A", "B", "alpha", "beta", "gamma", "c0", "c1", "f1", "d1"]


def row(name, desc, res, seconds):
    c = res.coefficients.as_dict()
    out = {"name": name, "description": desc, "kind": res.problem.kind,
           "residual": res.problem.residual, "delta": res.problem.delta, "n_runs": res.problem.n,
           "objective": res.objective, "n_starts": res.n_starts, "n_polished": res.n_polished,
           "n_converged": res.n_converged, "seconds": round(seconds, 2)}
    out.update({k: c.get(k, np.nan) for k in COEFS})
    return out


def run_fits(names=None):
    specs = fit_specs()
    rows, results = [], {}
    for name, (desc, fn) in specs.items():
        if names and name not in names:
            continue
        t0 = time.perf_counter()
        res = fn()
        rows.append(row(name, desc, res, time.perf_counter() - t0))
        results[name] = res
        print(f"{name}: objective {res.objective:.4e} in {rows[-1]['seconds']} s", flush=True)
    return pd.DataFrame(rows), results


def save_optima(name, res):
    """The distinct converged optima of a fit's final polishes, best first."""
    rows = []
    for f, x in res.optima:
        c = res.problem.law.coefficients(x).as_dict()
        rows.append({"objective": f, **c})
    pd.DataFrame(rows).to_csv(OUT / f"optima_{name}.csv", index=False)


def save_bootstrap(name, res, n, seed=SEED):
    t0 = time.perf_counter()
    b = F.bootstrap(res, n_resamples=n, seed=seed)
    df = pd.DataFrame(b.samples, columns=b.names)
    df.insert(0, "resample", np.arange(n))
    df.to_csv(OUT / f"bootstrap_{name}.csv", index=False)
    print(f"bootstrap {name}: {n} resamples, {b.n_failed} failed, "
          f"{time.perf_counter() - t0:.0f} s", flush=True)


def save_profile(res, name):
    t0 = time.perf_counter()
    vals = PROFILE_VALUES[name]
    prof = F.profile_objective(res, name, vals)
    pd.DataFrame({name: vals, "objective": prof}).to_csv(OUT / f"profile_{name}.csv", index=False)
    print(f"profile {name}: {time.perf_counter() - t0:.0f} s", flush=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--only", choices=["fits", "bootstraps", "profiles"], default=None)
    ap.add_argument("--resamples-supervised", type=int, default=4096)
    ap.add_argument("--resamples-distillation", type=int, default=4096)
    args = ap.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    fits, results = run_fits()
    if args.only in (None, "fits"):
        fits.to_csv(OUT / "fits.csv", index=False)
        save_optima("dist_synth", results["dist_synth"])
    if args.only in (None, "profiles"):
        for p in ("c1", "f1", "log_d1"):
            save_profile(results["dist_synth"], p)
    if args.only in (None, "bootstraps"):
        save_bootstrap("sup_synth", results["sup_synth"], args.resamples_supervised)
        save_bootstrap("chin_epoch", results["chin_epoch"], args.resamples_supervised)
        save_bootstrap("dist_synth", results["dist_synth"], args.resamples_distillation)


if __name__ == "__main__":
    main()
