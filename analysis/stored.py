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
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from analysis import fit as F
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
    "distinct_optima",
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


def _read(name: str, folder: Path | None) -> pd.DataFrame:
    path = Path(folder or FITS_DIR) / name
    if not path.is_file():
        raise FileNotFoundError(f"{path} does not exist; run scripts/make_fits.py")
    return pd.read_csv(path)


def load_fits(folder: Path | None = None) -> pd.DataFrame:
    """``fits.csv``, indexed by fit name."""
    return _read("fits.csv", folder).set_index("name")


def stored_coefficients(name: str, fits: pd.DataFrame | None = None):
    """The stored fit ``name`` as a coefficients object of ``analysis.laws``."""
    fits = load_fits() if fits is None else fits
    if name not in fits.index:
        raise KeyError(f"no stored fit {name!r}; stored: {', '.join(fits.index)}")
    r = fits.loc[name]
    if r["kind"] == "distillation":
        return DistillationCoefficients(**{k: float(r[k]) for k in _DISTILLATION_COLUMNS})
    return SupervisedCoefficients(**{k: float(r[k]) for k in _SUPERVISED_COLUMNS})


def load_bootstrap(name: str, folder: Path | None = None) -> pd.DataFrame:
    """``bootstrap_<name>.csv``: one row per resample (NaN: failed), one column per coefficient."""
    return _read(f"bootstrap_{name}.csv", folder)


def load_optima(name: str, folder: Path | None = None) -> pd.DataFrame:
    """``optima_<name>.csv``: the distinct converged optima of a fit, best first."""
    return _read(f"optima_{name}.csv", folder)


def load_profile(param: str, folder: Path | None = None) -> pd.DataFrame:
    """``profile_<param>.csv``: columns ``param`` and ``objective`` (summed Huber loss)."""
    return _read(f"profile_{param}.csv", folder)


def recovery_table(name: str, truth, extra=None, folder: Path | None = None) -> tuple[pd.DataFrame, int]:
    """Each coefficient of the stored fit ``name`` against the ``truth`` (a mapping) that
    generated its synthetic runs, with the 5% and 95% quantiles of its stored bootstrap.
    ``extra`` maps derived quantities to a function of a coefficients object or of the
    bootstrap frame. Returns (table, number of resamples that converged)."""
    extra = dict(extra or {})
    boot = load_bootstrap(name, folder)
    fit = stored_coefficients(name, load_fits(folder))
    rows = []
    for k in list(truth) + list(extra):
        t = truth.get(k, np.nan)
        est = getattr(fit, k) if hasattr(fit, k) else extra[k](fit)
        col = boot[k] if k in boot else extra[k](boot)
        lo, hi = np.nanquantile(col, [0.05, 0.95])
        rows.append({"coefficient": k, "truth": t, "fit": est, "5%": lo, "95%": hi,
                     "rel. error": est / t - 1, "truth inside": lo <= t <= hi})
    return pd.DataFrame(rows).set_index("coefficient"), int(boot[boot.columns[1]].notna().sum())


def capacity_gap_combination(c) -> float:
    """K = c1 f1 d1^(-1/f1): the combination of the capacity-gap coefficients that runs
    below the break determine (``c`` a mapping or a frame with columns c1, f1, d1)."""
    return c["c1"] * c["f1"] * c["d1"] ** (-1 / c["f1"])


def distinct_optima(name: str = "dist_synth", folder: Path | None = None) -> pd.DataFrame:
    """``optima_<name>.csv`` with each optimum's objective above the best, the effective
    size exponent gamma*alpha and K = c1 f1 d1^(-1/f1)."""
    optima = load_optima(name, folder)
    optima["objective above best"] = optima["objective"] / optima["objective"].min() - 1
    optima["gamma*alpha"] = optima["gamma"] * optima["alpha"]
    optima["K = c1 f1 d1^(-1/f1)"] = capacity_gap_combination(optima)
    return optima
