"""Regenerate the stored fits, bootstraps and profiles used by book/fitting_laws.md.

Run from the repository root:

    PYTHONPATH=$PWD python scripts/make_fits.py            # everything
    PYTHONPATH=$PWD python scripts/make_fits.py --only fits

Writes data/fits/fits.csv (one row per fit), data/fits/bootstrap_<name>.csv (row i =
resample i, NaN where a polish failed) and data/fits/profile_<param>.csv.  Every
random draw is seeded, so a rerun on the same machine reproduces the files;
tests/test_fit.py recomputes a fit and the first resamples and compares.

Resample counts default to the paper's 4,096 (Table 6); each resample is one
warm-started L-BFGS-B polish.  The whole script takes about 10-20 minutes on the
shared 2-core machine; ``--resamples-supervised`` / ``--resamples-distillation``
lower the counts for a quick look.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import pandas as pd

from analysis import fit as F
from analysis.data import load_chinchilla, load_gadre, load_olmo_ladder
from analysis.designs import distillation_design, supervised_design

OUT = Path(__file__).resolve().parents[1] / "data" / "fits"
SIGMA = 0.005          # noise on the log-loss of the synthetic runs
SEED = 0
COEFS = ["E", "A", "B", "alpha", "beta", "gamma", "c0", "c1", "f1", "d1"]


def synthetic():
    return supervised_design(sigma=SIGMA, seed=SEED), distillation_design(sigma=SIGMA, seed=SEED)


def fit_specs():
    """name -> (description, callable returning a FitResult).  The single source of
    truth for which runs each stored fit uses."""
    sup, dis = synthetic()
    chin = load_chinchilla(drop_highest=5)
    olmo = load_olmo_ladder()
    olmo_fit = olmo[olmo["size_label"] != "3B"]
    gadre = load_gadre()
    specs = {
        "sup_synth": ("synthetic supervised, all 73 runs",
                      lambda: F.fit_supervised(sup.N, sup.D, sup.loss)),
        "sup_synth_printed": ("synthetic supervised, printed Eq. 45 objective",
                              lambda: F.fit_supervised(sup.N, sup.D, sup.loss, residual="printed")),
        "sup_synth_extrap": ("synthetic supervised, runs with L >= 2.2",
                             lambda: F.fit_supervised(*(sup[sup.loss >= 2.2][c] for c in ("N", "D", "loss")))),
        "dist_synth": ("synthetic distillation, all runs",
                       lambda: F.fit_distillation(dis.N_S, dis.D_S, dis.L_T, dis.L_S)),
        "dist_synth_extrap": ("synthetic distillation, runs with L_S >= 2.3",
                              lambda: F.fit_distillation(*(dis[dis.L_S >= 2.3][c] for c in ("N_S", "D_S", "L_T", "L_S")))),
        "chin_epoch": ("Chinchilla (Epoch), 240 runs, gamma = 1, delta = 1e-3",
                       lambda: F.fit_chinchilla(chin.N, chin.D, chin.loss)),
        "chin_gamma": ("Chinchilla (Epoch), 240 runs, gamma free, delta = 1e-3",
                       lambda: F.fit_supervised(chin.N, chin.D, chin.loss, delta=1e-3)),
        "olmo_chin": ("OLMo 2 ladder <= 1B, gamma = 1, delta = 1e-3",
                      lambda: F.fit_chinchilla(olmo_fit.N, olmo_fit.D, olmo_fit.loss)),
        "olmo_gamma": ("OLMo 2 ladder <= 1B, gamma free, delta = 1e-3",
                       lambda: F.fit_supervised(olmo_fit.N, olmo_fit.D, olmo_fit.loss, delta=1e-3)),
    }
    for ds in ("c4_original", "rpj", "rw_original"):
        g = gadre[(gadre["dataset"] == ds) & (gadre["N"] < 1e9)]
        specs[f"gadre_{ds}_chin"] = (f"Gadre et al. {ds}, models < 1B, gamma = 1, delta = 1e-3",
                                     lambda g=g: F.fit_chinchilla(g.N, g.D, g.loss))
        specs[f"gadre_{ds}_gamma"] = (f"Gadre et al. {ds}, models < 1B, gamma free, delta = 1e-3",
                                      lambda g=g: F.fit_supervised(g.N, g.D, g.loss, delta=1e-3))
    return specs


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
        c = F._to_coefficients(res.problem, x).as_dict()
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


PROFILE_VALUES = {
    "c1": [0.5, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0, 200.0, 350.0, 522.6, 800.0, 1500.0, 5000.0],
    "f1": [0.03, 0.05, 0.07, 0.08, 0.09, 0.1, 0.11, 0.13, 0.2],
    "log_d1": list(np.log([0.9, 1.0, 1.05, 1.1, 1.15, 1.2, 1.25, 1.3, 1.315, 1.35, 1.4, 1.5])),
}


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
