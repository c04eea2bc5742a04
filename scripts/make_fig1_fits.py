"""Fit Eq. 8 to the paper's own runs (Fig. 1) and store what book/paper_runs.md reads.

Run from the repository root (about 5-10 minutes on the shared 2-core machine):

    PYTHONPATH=$PWD python scripts/make_fig1_fits.py [--resamples 4096]

Writes data/fits/:

* fig1_fits.csv        the refits (all 354 corrected runs; the L_S > 2.3 runs; the runs with
                       the size labels as digitised), one row each;
* fig1_optima.csv      the distinct converged optima of the main refit, best first;
* fig1_bootstrap.csv   row i = bootstrap resample i of the main refit (NaN: polish failed);
* fig1_profiles.csv    profiles of the objective in each coefficient (the others re-optimised);
* fig1_subsets.csv     one coefficient, or one pair, refitted with the rest at Table 6;
* fig1_conclusions.csv the Recipes conclusions (analysis.paper_runs.CONCLUSIONS) under
                       Table 6, the refit and every near-equal optimum of the refit;
* fig1_provenance.json script, data checksum, grid, search settings, seeds, versions and
                       the refit's coefficients (analysis.laws.FIG1_REFIT_DISTILLATION is
                       checked against them by tests/test_paper_runs.py).

Which runs and search each refit uses is declared in analysis.stored.fig1_fit_specs, which
also reads the files back. Every random draw is seeded, so a rerun reproduces the files;
tests/test_paper_runs.py recomputes a sample of them.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import platform
import time

import numpy as np
import pandas as pd
import scipy

from analysis import fit as F
from analysis import paper_runs as P
from analysis.data import TABLES
from analysis.laws import PAPER_DISTILLATION, DistillationCoefficients
from analysis.stored import FIG1_NEAR_EQUAL as NEAR_EQUAL
from analysis.stored import FIG1_SEED as SEED
from analysis.stored import FITS_DIR as OUT
from analysis.stored import fig1_fit_specs, fig1_stored_fit


def row(name, desc, res, seconds):
    return {"name": name, "description": desc, "n_runs": res.problem.n, "objective": res.objective,
            "mean_abs_log_error": float(np.mean(np.abs(res.residuals))), "n_starts": res.n_starts,
            "n_polished": res.n_polished, "n_converged": res.n_converged,
            "seconds": round(seconds, 1), **res.coefficients.as_dict()}


def coefficients_of(frame_row) -> DistillationCoefficients:
    return DistillationCoefficients(**{k: float(frame_row[k]) for k in P.COEFFICIENT_NAMES})


#: analysis.fit's default search of the distillation law (cheaper than P.FIT_SEARCH): each
#: profile point's grid fit uses it, as does the stored refit fig1_refit_default_search.
PROFILE_SEARCH = F.DISTILLATION_SEARCH
#: Profile values, as factors of the refitted value of each coefficient.
PROFILE_FACTORS = {
    **{k: (0.5, 0.8, 0.95, 1.0, 1.05, 1.25, 2.0) for k in ("alpha", "beta", "gamma", "c0", "f1")},
    "A": (0.01, 0.1, 0.3, 1.0, 3.0, 10.0, 100.0),
    "B": (0.01, 0.1, 0.3, 1.0, 3.0, 10.0, 100.0),
    "c1": (0.001, 0.01, 0.1, 1.0, 10.0, 100.0),
    "d1": (0.6, 0.8, 0.9, 1.0, 1.1, 1.3, 1.6),
}


def profiles(res, pts, optima: pd.DataFrame) -> pd.DataFrame:
    """Objective with one coefficient held at each of several values around the refit, the
    others re-optimised: the best of a continuation polish (analysis.fit.profile_objective),
    polishes from near-equal optima at the ends of the objective's flat valley (along which a
    single polish barely moves c1) and a new grid search with that coefficient fixed."""
    by_c1 = optima.sort_values("c1").index
    by_gamma = optima.sort_values("gamma").index
    spanning = dict.fromkeys([*by_c1[np.linspace(0, len(by_c1) - 1, 4).round().astype(int)],
                              by_gamma[0], by_gamma[-1]])  # the valley's ends in c1 and in gamma
    starts = [dataclasses.replace(res, theta=np.array(
        [np.log(optima.loc[i, k]) if k in ("A", "B", "d1") else optima.loc[i, k] for k in P.COEFFICIENT_NAMES],
        dtype=float)) for i in spanning]
    rows = []
    best = res.coefficients.as_dict()
    for name, factors in PROFILE_FACTORS.items():
        key = f"log_{name}" if name in ("A", "B", "d1") else name
        values = np.array([best[name] * f for f in factors])
        coords = np.log(values) if key.startswith("log_") else values
        candidates = {"continuation": F.profile_objective(res, key, coords, continuation=True),
                      "valley ends": np.min([F.profile_objective(r, key, coords) for r in starts], axis=0)}
        for i, (f, v) in enumerate(zip(factors, values)):
            found = {by: obj[i] for by, obj in candidates.items()}
            if f != 1.0:
                found["grid search"] = P.fit_points(pts, fixed={name: float(v)}, search=PROFILE_SEARCH).objective
            by = min(found, key=found.get)
            rows.append({"coefficient": name, "factor": f, "value": float(v), "objective": float(found[by]),
                         "by": by})
        print(f"profile {name} done", flush=True)
    return pd.DataFrame(rows)


def conclusions(sets: dict) -> pd.DataFrame:
    frames = []
    for name, coef in sets.items():
        df = P.evaluate_conclusions(coef).reset_index()
        df.insert(0, "coefficients", name)
        frames.append(df)
    return pd.concat(frames, ignore_index=True)


STAGES = ("fits", "bootstrap", "profiles", "subsets", "conclusions")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--resamples", type=int, default=4096)
    ap.add_argument("--only", choices=STAGES, nargs="+", default=list(STAGES),
                    help="stages to run; later stages read the stored fits")
    args = ap.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    timings = {}
    specs = fig1_fit_specs()
    pts = specs["fig1_refit"][1]

    if "fits" in args.only:
        rows = []
        for name, (desc, runs, search) in specs.items():
            t0 = time.perf_counter()
            res = P.fit_points(runs, search=search)
            rows.append(row(name, desc, res, time.perf_counter() - t0))
            print(f"{name}: mean |log error| {rows[-1]['mean_abs_log_error']:.5f}, "
                  f"{rows[-1]['seconds']} s", flush=True)
            if name == "fig1_refit":
                optima = pd.DataFrame([{"objective": f, **res.problem.law.coefficients(x).as_dict()}
                                       for f, x in res.optima])
                optima.to_csv(OUT / "fig1_optima.csv", index=False)
        pd.DataFrame(rows).to_csv(OUT / "fig1_fits.csv", index=False)
    main_fit = fig1_stored_fit("fig1_refit")
    optima = pd.read_csv(OUT / "fig1_optima.csv")

    if "bootstrap" in args.only:
        t0 = time.perf_counter()
        boot = F.bootstrap(main_fit, n_resamples=args.resamples, seed=SEED)
        df = pd.DataFrame(boot.samples, columns=boot.names)
        df.insert(0, "resample", np.arange(args.resamples))
        df.to_csv(OUT / "fig1_bootstrap.csv", index=False)
        timings["bootstrap"] = round(time.perf_counter() - t0, 1)
        print(f"bootstrap: {args.resamples} resamples, {boot.n_failed} failed", flush=True)

    if "profiles" in args.only:
        t0 = time.perf_counter()
        near_optima = optima[optima["objective"] <= optima["objective"].min() * (1 + NEAR_EQUAL)]
        profiles(main_fit, pts, near_optima).to_csv(OUT / "fig1_profiles.csv", index=False)
        timings["profiles"] = round(time.perf_counter() - t0, 1)

    if "subsets" in args.only:
        t0 = time.perf_counter()
        subsets = pd.concat([P.subset_refits(pts, k).assign(size=k) for k in (1, 2)], ignore_index=True)
        subsets.to_csv(OUT / "fig1_subsets.csv", index=False)
        timings["subsets"] = round(time.perf_counter() - t0, 1)

    near = optima[optima["objective"] <= optima["objective"].min() * (1 + NEAR_EQUAL)]
    if "conclusions" in args.only:
        t0 = time.perf_counter()
        sets = {"paper": PAPER_DISTILLATION, "fig1-refit": main_fit.coefficients}
        sets.update({f"optimum {i + 1}": coefficients_of(r) for i, r in near.iterrows()})
        conclusions(sets).to_csv(OUT / "fig1_conclusions.csv", index=False)
        timings["conclusions"] = round(time.perf_counter() - t0, 1)
    print(f"timings (s): {timings}", flush=True)

    boot = pd.read_csv(OUT / "fig1_bootstrap.csv")
    provenance = {
        "script": "scripts/make_fig1_fits.py",
        "data": {"file": TABLES["fig1"].filename, "sha256": TABLES["fig1"].sha256,
                 "corrections": "analysis.data.FIG1_CORRECTIONS"},
        "supervised": "Table 6 (analysis.laws.PAPER_SUPERVISED), held fixed",
        "objective": "Huber, delta = 1e-4, log residuals (App. F.2)",
        "grid": {"name": "analysis.fit.PAPER_DISTILLATION_GRID", "starts": main_fit.n_starts},
        "search": dataclasses.asdict(P.FIT_SEARCH),
        "seed": SEED,
        "bootstrap": {"resamples": int(len(boot)), "seed": SEED, "failed": int(boot["A"].isna().sum())},
        "near_equal_optima": {"within": NEAR_EQUAL, "count": int(len(near))},
        "versions": {"python": platform.python_version(), "numpy": np.__version__,
                     "scipy": scipy.__version__, "pandas": pd.__version__},
        "fig1_refit": {k: float(v) for k, v in main_fit.coefficients.as_dict().items()},
    }
    (OUT / "fig1_provenance.json").write_text(json.dumps(provenance, indent=2) + "\n")


if __name__ == "__main__":
    main()
