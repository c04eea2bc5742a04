"""The fits stored in ``data/fits/``: which runs each used, and how to read them back.

``scripts/make_fits.py`` computes them (minutes: grid searches, 4,096-resample
bootstraps, profiles) and writes

* ``fits.csv``: one row per fit (``FIT_SPECS`` names them), its coefficients,
  objective and search counts;
* ``bootstrap_<name>.csv``: row i is resample i of that fit, NaN where its polish
  failed;
* ``optima_<name>.csv``: the distinct converged optima of a fit's final polishes;
* ``profile_<param>.csv``: the objective with one parameter held at each value.

The chapters read them here; ``tests/test_fit.py`` recomputes one fit and the first
resamples of its bootstrap and compares. ``fit_specs()`` is the single source of
truth for which runs each stored fit uses (a new stored fit is one entry there).

The refits of Eq. 8 to the paper's own Fig. 1 runs (``scripts/make_fig1_fits.py``,
read by book/paper_runs.md) live beside them as ``fig1_<table>.csv`` with
``fig1_provenance.json``: ``fig1_fit_specs()`` declares their runs and searches,
``load_fig1(table)`` reads a table, ``fig1_coefficients(name)`` and
``fig1_stored_fit(name)`` give a stored refit back as coefficients or as a
``FitResult`` at exactly the stored point; ``tests/test_paper_runs.py`` recomputes a
sample.
"""

from __future__ import annotations

from pathlib import Path
from collections.abc import Mapping

import numpy as np
import pandas as pd

from analysis import fit as F
from analysis._checks import choice, existing_path, frame, positive_array, shown
from analysis.designs import distillation_design, supervised_design
from analysis.laws import DistillationCoefficients, SupervisedCoefficients

__all__ = [
    "FITS_DIR",
    "SIGMA",
    "SEED",
    "PROFILE_VALUES",
    "synthetic_runs",
    "fit_specs",
    "load_fits",
    "stored_coefficients",
    "load_bootstrap",
    "load_optima",
    "load_profile",
    "recovery_table",
    "capacity_gap_combination",
    "RECOVERY_SIGMAS",
    "recovery_at_noise",
    "load_recovery_noise",
    "distinct_optima",
    "FIG1_SEED",
    "FIG1_NEAR_EQUAL",
    "FIG1_TABLES",
    "fig1_fit_specs",
    "load_fig1",
    "load_fig1_provenance",
    "fig1_coefficients",
    "fig1_stored_fit",
]

FITS_DIR = Path(__file__).resolve().parents[1] / "data" / "fits"
#: Noise (standard deviation of the log-loss) of the synthetic runs.
SIGMA = 0.005
#: Seed of the synthetic runs and of every bootstrap.
SEED = 0
#: Values at which the profiles of the synthetic distillation fit are stored.
PROFILE_VALUES = {
    "c1": [0.5, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0, 200.0, 350.0, 522.6, 800.0, 1500.0, 5000.0],
    "f1": [0.03, 0.05, 0.07, 0.08, 0.09, 0.1, 0.11, 0.13, 0.2],
    "log_d1": list(np.log([0.9, 1.0, 1.05, 1.1, 1.15, 1.2, 1.25, 1.3, 1.315, 1.35, 1.4, 1.5])),
}
_DISTILLATION_COLUMNS = ("A", "B", "alpha", "beta", "gamma", "c0", "c1", "f1", "d1")
_SUPERVISED_COLUMNS = ("E", "A", "B", "alpha", "beta", "gamma")


def synthetic_runs() -> tuple[pd.DataFrame, pd.DataFrame]:
    """(supervised, distillation): the synthetic runs of every stored synthetic fit
    (``analysis.designs`` at noise ``SIGMA`` and seed ``SEED``)."""
    return supervised_design(sigma=SIGMA, seed=SEED), distillation_design(sigma=SIGMA, seed=SEED)


def fit_specs() -> dict:
    """name -> (description, callable returning a ``FitResult``) of every stored fit."""
    from analysis.data import load_chinchilla, load_gadre, load_olmo_ladder

    sup, dis = synthetic_runs()
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


def _folder(folder) -> Path:
    """``folder`` (default ``FITS_DIR``) after checking it names an existing folder."""
    return FITS_DIR if folder is None else existing_path("folder", folder, folder=True)


def _stored(arg: str, name, prefix: str, folder) -> str:
    """``name`` after checking it is one of the names stored as ``<prefix>_<name>.csv``
    in ``folder`` (``TypeError`` for a non-string, ``ValueError`` listing the stored ones)."""
    if not isinstance(name, str):
        raise TypeError(f"{arg} must be a string naming a stored table; got {shown(name)}")
    names = sorted(p.name[len(prefix) + 1:-4] for p in _folder(folder).glob(f"{prefix}_*.csv"))
    if not names and folder is not None:
        raise ValueError(f"folder must hold the stored {prefix} tables ({prefix}_<name>.csv); "
                         f"{shown(str(folder))} has none")
    if name not in names:
        where = "" if folder is None else f" of folder {shown(str(folder))}"
        raise ValueError(f"{arg} must be one of the stored {prefix} tables{where} ({', '.join(names)}); "
                         f"got {shown(name)}")
    return name


def _path(name: str, folder: Path | None, script: str) -> Path:
    """``folder / name`` (default folder ``FITS_DIR``): a folder given that lacks the file is
    a ``ValueError`` naming ``folder``; the project's own missing file says which script makes it."""
    path = _folder(folder) / name
    if not path.is_file():
        if folder is not None:
            raise ValueError(f"folder must hold {name} (made by {script}); {shown(str(folder))} has none")
        raise FileNotFoundError(f"{path} does not exist; run {script}")
    return path


def _read(name: str, folder: Path | None, script: str = "scripts/make_fits.py") -> pd.DataFrame:
    return pd.read_csv(_path(name, folder, script))


def load_fits(folder: Path | None = None) -> pd.DataFrame:
    """``fits.csv``, indexed by fit name."""
    return _read("fits.csv", folder).set_index("name")


def stored_coefficients(name: str, fits: pd.DataFrame | None = None):
    """The stored fit ``name`` as a coefficients object of ``analysis.laws``."""
    fits = load_fits() if fits is None else frame("fits", fits, ("kind",))
    if not isinstance(name, str):
        raise TypeError(f"name must be a string naming a stored fit; got {shown(name)}")
    if name not in fits.index:
        raise ValueError(f"name must be a stored fit; no stored fit {shown(name)}; stored: {', '.join(fits.index)}")
    r = fits.loc[name]
    if r["kind"] == "distillation":
        return DistillationCoefficients(**{k: float(r[k]) for k in _DISTILLATION_COLUMNS})
    return SupervisedCoefficients(**{k: float(r[k]) for k in _SUPERVISED_COLUMNS})


def load_bootstrap(name: str, folder: Path | None = None) -> pd.DataFrame:
    """``bootstrap_<name>.csv``: one row per resample (NaN: failed), one column per coefficient."""
    return _read(f"bootstrap_{_stored('name', name, 'bootstrap', folder)}.csv", folder)


def load_optima(name: str, folder: Path | None = None) -> pd.DataFrame:
    """``optima_<name>.csv``: the distinct converged optima of a fit, best first."""
    return _read(f"optima_{_stored('name', name, 'optima', folder)}.csv", folder)


def load_profile(param: str, folder: Path | None = None) -> pd.DataFrame:
    """``profile_<param>.csv``: columns ``param`` and ``objective`` (summed Huber loss)."""
    return _read(f"profile_{_stored('param', param, 'profile', folder)}.csv", folder)


def recovery_table(name: str, truth, extra=None, folder: Path | None = None) -> tuple[pd.DataFrame, int]:
    """Each coefficient of the stored fit ``name`` against the ``truth`` (a mapping) that
    generated its synthetic runs, with the 5% and 95% quantiles of its stored bootstrap.
    ``extra`` maps derived quantities to a function of a coefficients object or of the
    bootstrap frame. Returns (table, number of resamples that converged)."""
    boot = load_bootstrap(name, folder)
    fit = stored_coefficients(name, load_fits(folder))
    if not isinstance(truth, Mapping) or not truth or not all(
            isinstance(k, str) and isinstance(v, (int, float, np.number)) and not isinstance(v, bool)
            and np.isfinite(v) for k, v in truth.items()):
        raise TypeError(f"truth must be a non-empty mapping of coefficient name -> finite number; got {shown(truth)}")
    if extra is not None and (not isinstance(extra, Mapping) or not all(
            isinstance(k, str) and callable(f) for k, f in extra.items())):
        raise TypeError(f"extra must be None or a mapping of name -> function of a coefficients object or "
                        f"of the bootstrap frame; got {shown(extra)}")
    extra = dict(extra or {})
    unknown = [k for k in list(truth) + list(extra) if not (hasattr(fit, k) or k in extra)]
    if unknown:
        raise ValueError(f"truth must name coefficients of the fit {name!r} ({', '.join(fit.as_dict())}) or "
                         f"quantities of extra; got {shown(unknown)}")
    rows = []
    for k in list(truth) + list(extra):
        t = truth.get(k, np.nan)
        est = getattr(fit, k) if hasattr(fit, k) else extra[k](fit)
        col = boot[k] if k in boot else extra[k](boot)
        lo, hi = np.nanquantile(col, [0.05, 0.95])
        rows.append({"coefficient": k, "truth": t, "fit": est, "5%": lo, "95%": hi,
                     "rel. error": est / t - 1, "truth inside": lo <= t <= hi})
    return pd.DataFrame(rows).set_index("coefficient"), int(boot[boot.columns[1]].notna().sum())


#: Noise levels (standard deviation of the log-loss) of the recovery study at realistic
#: noise: 0.03% and 0.1% bracket the OLMo 2 ladder's duplicate runs, 0.5% is SIGMA.
RECOVERY_SIGMAS = (0.0003, 0.001, 0.005)


def _theta_of(law, coefficients) -> dict:
    c = coefficients.as_dict()
    return {p: float(np.log(c[p[4:]])) if p.startswith("log_") else float(c[p]) for p in law.parameters}


def recovery_at_noise(law: str, sigma: float) -> dict:
    """One row of the recovery study at noise ``sigma``: the synthetic runs of
    ``analysis.designs`` (seed ``SEED``) for ``law`` ("supervised" or "distillation")
    fitted by the paper's procedure, the coefficients found, the objective there and
    at the true coefficients (Table 6) on the same runs."""
    from analysis.laws import PAPER_DISTILLATION, PAPER_SUPERVISED

    choice("law", law, ("supervised", "distillation"))
    if law == "supervised":
        runs = supervised_design(sigma=sigma, seed=SEED)
        res = F.fit_supervised(runs.N, runs.D, runs.loss)
        truth = F.evaluate(F.SUPERVISED, _theta_of(F.SUPERVISED, PAPER_SUPERVISED),
                           N=runs.N, D=runs.D, loss=runs.loss)
    elif law == "distillation":
        runs = distillation_design(sigma=sigma, seed=SEED)
        res = F.fit_distillation(runs.N_S, runs.D_S, runs.L_T, runs.L_S)
        truth = F.evaluate(F.DISTILLATION, _theta_of(F.DISTILLATION, PAPER_DISTILLATION),
                           N_S=runs.N_S, D_S=runs.D_S, L_T=runs.L_T, L_S=runs.L_S)
    else:
        raise ValueError(f"law must be 'supervised' or 'distillation'; got {shown(law)}")
    row = {"law": law, "sigma": sigma, "runs": len(runs), "objective_found": res.objective,
           "objective_truth": truth.objective, "n_optima": len(res.optima)}
    row.update(res.coefficients.as_dict())
    return row


def load_recovery_noise(folder: Path | None = None) -> pd.DataFrame:
    """``recovery_noise.csv``: one row per (law, noise level) of ``recovery_at_noise``."""
    return _read("recovery_noise.csv", folder)


def capacity_gap_combination(c) -> float:
    """K = c1 f1 d1^(-1/f1): the combination of the capacity-gap coefficients that runs
    below the break determine (``c`` a mapping or a frame with columns c1, f1, d1)."""
    if isinstance(c, pd.DataFrame):
        frame("c", c, ("c1", "f1", "d1"))
        parts = [positive_array(f"c[{shown(k)}]", c[k].to_numpy(float)) for k in ("c1", "f1", "d1")]
    elif isinstance(c, Mapping) or (hasattr(c, "c1") and hasattr(c, "f1") and hasattr(c, "d1")):
        get = c.__getitem__ if isinstance(c, Mapping) else lambda k: getattr(c, k)
        try:
            parts = [positive_array(f"c[{shown(k)}]", get(k)) for k in ("c1", "f1", "d1")]
        except KeyError as exc:
            raise ValueError(f"c must hold c1, f1 and d1; missing {exc}") from None
    else:
        raise TypeError(f"c must be a mapping or a frame with c1, f1, d1; got {type(c).__name__}")
    c1, f1, d1 = parts
    with np.errstate(over="ignore", under="ignore"):
        k = c1 * f1 * np.exp(-np.log(d1) / f1)
    if not np.all(np.isfinite(k)):
        raise ValueError("c gives a K = c1 f1 d1^(-1/f1) that overflows a float")
    if isinstance(c, pd.DataFrame):
        return pd.Series(k, index=c.index)
    return float(k) if np.ndim(k) == 0 else k


def distinct_optima(name: str = "dist_synth", folder: Path | None = None) -> pd.DataFrame:
    """``optima_<name>.csv`` with each optimum's objective above the best, the effective
    size exponent gamma*alpha and K = c1 f1 d1^(-1/f1)."""
    optima = load_optima(name, folder)
    optima["objective above best"] = optima["objective"] / optima["objective"].min() - 1
    optima["gamma*alpha"] = optima["gamma"] * optima["alpha"]
    optima["K = c1 f1 d1^(-1/f1)"] = capacity_gap_combination(optima)
    return optima


# --------------------------------------------------- the refits to the paper's Fig. 1 runs

#: Seed of the Fig. 1 refits' bootstrap (the searches draw their random starts with
#: their ``Search``'s seed, also 0).
FIG1_SEED = 0
#: Optima of the Fig. 1 refit whose objective lies within this fraction of the best
#: count as near-equal.
FIG1_NEAR_EQUAL = 0.01
#: The tables ``scripts/make_fig1_fits.py`` writes, ``fig1_<table>.csv``.
FIG1_TABLES = ("fits", "optima", "bootstrap", "profiles", "subsets", "conclusions")
_FIG1_SCRIPT = "scripts/make_fig1_fits.py"


def fig1_fit_specs() -> dict:
    """name -> (description, runs, ``analysis.fit.Search``) of every stored refit of
    ``fig1_fits.csv``: the single source of truth for which runs and search each used."""
    from analysis import paper_runs as P
    from analysis.data import load_fig1_points

    pts = load_fig1_points()
    return {
        "fig1_refit": ("all 354 runs, size labels corrected", pts, P.FIT_SEARCH),
        "fig1_refit_extrap": (f"runs with L_S > {P.EXTRAPOLATION_THRESHOLD} (Fig. 1's fit set)",
                              pts[pts["L_S"] > P.EXTRAPOLATION_THRESHOLD], P.FIT_SEARCH),
        "fig1_refit_digitised": ("all 354 runs, size labels as digitised",
                                 load_fig1_points(corrected=False), P.FIT_SEARCH),
        "fig1_refit_default_search": ("all 354 runs, analysis.fit's default search", pts,
                                      F.DISTILLATION_SEARCH),
    }


def load_fig1(table: str, folder: Path | None = None) -> pd.DataFrame:
    """``fig1_<table>.csv`` for ``table`` in ``FIG1_TABLES``; ``fits`` is indexed by fit name."""
    if not isinstance(table, str) or table not in FIG1_TABLES:
        raise ValueError(f"table must be one of {', '.join(FIG1_TABLES)}; got {shown(table)}")
    frame = _read(f"fig1_{table}.csv", folder, _FIG1_SCRIPT)
    return frame.set_index("name") if table == "fits" else frame


def load_fig1_provenance(folder: Path | None = None) -> dict:
    """``fig1_provenance.json``: script, data checksum, grid, search, seeds, versions."""
    import json

    return json.loads(_path("fig1_provenance.json", folder, _FIG1_SCRIPT).read_text())


def fig1_coefficients(name: str, fits: pd.DataFrame | None = None) -> DistillationCoefficients:
    """The stored Fig. 1 refit ``name`` as distillation coefficients."""
    fits = load_fig1("fits") if fits is None else frame("fits", fits, _DISTILLATION_COLUMNS)
    if not isinstance(name, str):
        raise TypeError(f"name must be a string naming a stored Fig. 1 refit; got {shown(name)}")
    if name not in fits.index:
        raise ValueError(f"name must be a stored Fig. 1 refit; no stored Fig. 1 refit {shown(name)}; "
                         f"stored: {', '.join(fits.index)}")
    return DistillationCoefficients(**{k: float(fits.loc[name, k]) for k in _DISTILLATION_COLUMNS})


def fig1_stored_fit(name: str, folder: Path | None = None) -> F.FitResult:
    """The stored Fig. 1 refit ``name`` as a ``FitResult`` on the runs ``fig1_fit_specs``
    names, at exactly the stored coefficients (``analysis.paper_runs.evaluate_points``),
    with the grid size of its search: bootstraps and profiles start from it."""
    import dataclasses

    from analysis import paper_runs as P

    fits = load_fig1("fits", folder)
    specs = fig1_fit_specs()
    choice("name", name, [k for k in specs if k in fits.index])
    res = P.evaluate_points(specs[name][1], fig1_coefficients(name, fits))
    return dataclasses.replace(res, start=res.parameters(), n_starts=int(fits.loc[name, "n_starts"]))
