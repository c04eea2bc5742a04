"""The small-scale replication: one run table, its seed noise, its fits and its claims.

The project trains its own teachers, students and supervised baselines
(``experiments/``) and stores them as run tables with the columns of
``experiments/schema.py`` (``data/replication/v1/runs.csv`` is the first version). This
module reads any such table and computes what the replication chapters discuss; each
chapter is narrative on top of it.

* ``load_runs(directory)`` reads ``runs.csv`` (and ``not_run.csv`` if present) and
  decides once what every later step relies on: protocol ``tags``, which runs
  ``rerun`` an earlier configuration (ids with a ``-r<k>`` suffix, the rule of
  ``experiments.v1.without_rerun``), the ``configuration`` a run repeats, and the GPU ``session``
  (git revision, numbered by its first finished run). The ``RunTable`` it returns
  derives the frames the analyses share: teacher-half supervised runs, the first
  training of each, supervised twins, distilled runs joined to their twins, teachers.
* ``seed_noise`` is the seed-to-seed spread every comparison is judged against.
* ``fit_laws`` fits Eq. 1 and Eq. 8 to a table (and refits on subsets, bootstraps and
  profiles); ``scripts/make_replication_fits.py`` stores the result next to the
  other fits (``data/fits/replication-<version>/``) and ``load_fits`` reads it back
  exactly (``analysis.fit.evaluate``), so a chapter does not refit at every build.
* one function per claim of the paper (``teacher_loss_only``, ``capacity_gap``,
  ``small_budget_advantage``, ``student_beats_teacher``, ``calibration``, and
  ``extrapolation`` of the fitted law) returns a small frozen result: the numbers,
  the frames behind its figure, and a verdict ("holds", "does not hold" or "cannot
  tell") by a rule stated in its docstring. Scalar fields are named so that
  ``analysis.glue.glue_fields(prefix, result)`` gives the chapter's glue names.

Nothing here trains a model, downloads anything or depends on ``experiments``: a table
with the schema's columns is all it needs, so a later version of the replication
reuses it by pointing ``load_runs`` at another directory.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np
import pandas as pd

from analysis._checks import (existing_path, frame, in_range, instance, integer, positive_array,
                              positive_interval, shown, values_in_range)
from analysis.glue import NOT_GLUED

__all__ = [
    "DEFAULT_DIRECTORY", "REQUIRED_COLUMNS", "VERDICTS", "configuration_id", "RunTable", "load_runs",
    "load_graph_check", "load_manifest",
    # what was run
    "RunSummary", "run_summary", "Sweep", "sweep_summary", "CorpusSummary", "corpus_summary",
    "FamilyFlops", "family_flops", "Throughput", "throughput_summary",
    # noise and profiles
    "SeedNoise", "seed_noise", "IsoFLOPMinima", "isoflop_minima",
    # fits
    "FITS_ROOT", "FIT_SELECTIONS", "PROFILE_FACTORS", "PROFILED", "ReplicationFits", "fit_folder", "fit_laws",
    "save_fits", "load_fits", "SupervisedFit", "supervised_fit", "FitSummary", "fit_summary",
    "Identifiability", "identifiability", "Extrapolation", "extrapolation",
    # claims
    "TeacherLossOnly", "teacher_loss_only", "CapacityGap", "capacity_gap", "SmallBudgetAdvantage",
    "small_budget_advantage", "StudentBeatsTeacher", "student_beats_teacher", "Calibration", "calibration",
    "RecipeComparison", "recipe_comparison",
]

#: The first version of the replication's runs (superseded; see its README).
DEFAULT_DIRECTORY = Path(__file__).resolve().parents[1] / "data" / "replication" / "v1"

#: Columns of experiments/schema.py that this module reads.
REQUIRED_COLUMNS = (
    "run_id", "protocol", "objective", "split", "N", "n_layers", "tokens", "epochs",
    "teacher_run_id", "teacher_N", "teacher_tokens", "teacher_loss", "teacher_ece",
    "val_ce", "kl_to_teacher", "ece", "ece_vs_teacher", "steps", "seed", "git_rev",
    "wall_s", "finished_utc",
)

#: The three verdicts a claim can get.
VERDICTS = ("holds", "does not hold", "cannot tell")

_RERUN = re.compile(r"-r\d+(?=--|$)")


def _table(table):
    return instance("table", table, RunTable, " (analysis.replication.load_runs)")


def _fits(fits):
    return instance("fits", fits, ReplicationFits, " (analysis.replication.load_fits)")


def _noise(noise):
    return instance("noise", noise, SeedNoise, " (analysis.replication.seed_noise)")


def _sequence(name: str, value):
    if isinstance(value, (str, bytes)) or not isinstance(value, Sequence):
        raise TypeError(f"{name} must be a sequence of strings; got {shown(value)}")
    return value


def configuration_id(run_id: str) -> str:
    """The run id with every rerun suffix (``-r1``, ``-r2``: a retraining with the same
    configuration and seed, in a later session) removed: a retrained teacher, and a
    student of it, count as the configuration they repeat."""
    if not isinstance(run_id, str) or not run_id:
        raise TypeError(f"run_id must be a run id (a non-empty string); got {shown(run_id)}")
    return _RERUN.sub("", run_id)


def _read_csv(path: Path, what: str) -> pd.DataFrame:
    if not path.is_file():
        raise FileNotFoundError(f"{what}: {path} does not exist")
    return pd.read_csv(path)


@dataclass(frozen=True, eq=False)
class RunTable:
    """A run table with the columns every analysis relies on added once.

    ``runs`` has, besides the schema's columns, ``tags`` (the protocol split at "+"),
    ``rerun`` (the id carries a rerun suffix), ``configuration`` (the id without it)
    and ``session`` (1, 2, ... by each git revision's first finished run).
    ``not_run`` lists planned runs that were not made (or is ``None``).
    """

    runs: pd.DataFrame
    not_run: pd.DataFrame | None = None
    directory: Path | None = None

    def in_sessions(self, *sessions: int) -> "RunTable":
        """The runs of the given sessions only (the derived frames follow)."""
        known = sorted(self.runs.session.unique())
        unknown = [s for s in sessions if s not in known]
        if unknown or not sessions:
            raise ValueError(f"sessions must be among {known}; got {list(sessions)}")
        return RunTable(self.runs[self.runs.session.isin(sessions)], self.not_run, self.directory)

    @cached_property
    def sessions(self) -> list[int]:
        return sorted(int(s) for s in self.runs.session.unique())

    @cached_property
    def supervised(self) -> pd.DataFrame:
        """Supervised runs on the teacher half (the teachers and the supervised law's runs)."""
        r = self.runs
        return r[(r.objective == "supervised") & (r.split == "teacher")]

    @cached_property
    def first_supervised(self) -> pd.DataFrame:
        """The first training (no rerun) with seed 0 of each teacher-half supervised
        configuration: the runs of the supervised fit."""
        sup = self.supervised
        return sup[(sup.seed == 0) & ~sup.rerun].drop_duplicates("run_id")

    @cached_property
    def ladder(self) -> pd.DataFrame:
        """The fixed-M ladder (tag ``ladder``) among ``first_supervised``, by size."""
        s = self.first_supervised
        return s[s.tags.apply(lambda t: "ladder" in t)].sort_values("N")

    @cached_property
    def isoflop(self) -> pd.DataFrame:
        """The IsoFLOP profiles (tags ``isoflop-<C>``) among ``first_supervised``, with
        their training budget ``budget`` (FLOPs)."""
        s = self.first_supervised
        iso = s[s.tags.apply(lambda t: any(x.startswith("isoflop") for x in t))].copy()
        iso["budget"] = iso.tags.apply(
            lambda t: next(float(x.split("-")[1]) for x in t if x.startswith("isoflop")))
        return iso

    @cached_property
    def twins(self) -> pd.DataFrame:
        """Supervised runs on the student half, one per (N, tokens, seed): each distilled
        student's twin."""
        r = self.runs
        return r[(r.objective == "supervised") & (r.split == "student")].drop_duplicates(["N", "tokens", "seed"])

    @cached_property
    def distilled(self) -> pd.DataFrame:
        """Distillation runs with their twin's loss and ECE (``twin_loss``, ``twin_ece``),
        ``gain`` = twin loss - student loss (> 0: distillation beats supervised) and the
        teacher's configuration ``teacher_cfg``. Raises if a student has no twin."""
        r = self.runs
        twins = self.twins[["N", "tokens", "seed", "val_ce", "ece"]].rename(
            columns={"val_ce": "twin_loss", "ece": "twin_ece"})
        dist = r[r.objective == "distillation"].merge(twins, on=["N", "tokens", "seed"], how="left",
                                                      validate="many_to_one")
        if dist.twin_loss.isna().any():
            missing = dist[dist.twin_loss.isna()].run_id.tolist()
            raise ValueError(f"distilled runs without a supervised twin: {missing[:5]}")
        dist["gain"] = dist.twin_loss - dist.val_ce
        dist["teacher_cfg"] = dist.teacher_run_id.map(configuration_id)
        return dist

    @cached_property
    def distilled_seed0(self) -> pd.DataFrame:
        """``distilled`` with seed 0: one run per (teacher, student, tokens), for comparisons
        across teachers."""
        return self.distilled[self.distilled.seed == 0]

    @cached_property
    def teachers(self) -> pd.DataFrame:
        """One row per teacher run that taught: ``N_T``, ``D_T``, ``L_T``, ``ece_T`` and its
        number of ``students``, by size."""
        return (self.distilled.groupby("teacher_run_id")
                .agg(N_T=("teacher_N", "first"), D_T=("teacher_tokens", "first"), L_T=("teacher_loss", "first"),
                     ece_T=("teacher_ece", "first"), students=("run_id", "size"))
                .sort_values("N_T"))

    @cached_property
    def retrained(self) -> pd.DataFrame:
        """Teacher-half supervised reruns with seed 0, each with ``cfg`` (the configuration
        it repeats)."""
        sup = self.supervised
        return sup[sup.rerun & (sup.seed == 0)].assign(cfg=lambda d: d.run_id.map(configuration_id))

    @cached_property
    def retraining_difference(self) -> pd.Series:
        """|L(retrained) / L(first training) - 1| for every retrained configuration that
        has a first training in the table."""
        first = self.first_supervised[["run_id", "val_ce"]].rename(columns={"run_id": "cfg", "val_ce": "first"})
        pairs = self.retrained.merge(first, on="cfg")
        return (pairs.val_ce / pairs["first"] - 1).abs()


def load_runs(directory: str | Path = DEFAULT_DIRECTORY) -> RunTable:
    """The run table in ``directory`` (``runs.csv``; ``not_run.csv`` if present), checked
    for the columns this module reads, with tags, reruns, configurations and sessions."""
    directory = existing_path("directory", directory, folder=True)
    if not (directory / "runs.csv").is_file():
        raise ValueError(f"directory must be a folder holding runs.csv; {directory} has none")
    runs = _read_csv(directory / "runs.csv", "run table")
    missing = [c for c in REQUIRED_COLUMNS if c not in runs.columns]
    if missing:
        raise ValueError(f"{directory / 'runs.csv'}: missing columns {missing} (schema: experiments/schema.py)")
    runs["tags"] = runs["protocol"].str.split("+")
    runs["configuration"] = runs.run_id.map(configuration_id)
    runs["rerun"] = runs.configuration != runs.run_id
    first_finish = runs.groupby("git_rev").finished_utc.min().sort_values()
    runs["session"] = runs.git_rev.map({rev: k + 1 for k, rev in enumerate(first_finish.index)})
    not_run = None
    if (directory / "not_run.csv").is_file():
        not_run = pd.read_csv(directory / "not_run.csv")
        not_run["tags"] = not_run["protocol"].str.split("+")
    return RunTable(runs, not_run, directory)


def load_graph_check(path: str | Path) -> pd.DataFrame:
    """The results of a CUDA-graph check (``experiments.graph_check``'s JSON) as a frame:
    one row per model, with ``abs_diff`` (eager vs graph validation loss) and ``speedup``."""
    path = existing_path("path", path)
    try:
        return pd.DataFrame(json.loads(path.read_text())["results"])
    except (json.JSONDecodeError, UnicodeDecodeError, KeyError, TypeError) as exc:
        raise ValueError(f"path must name a graph-check JSON file with a 'results' list; "
                         f"{path} is not one ({type(exc).__name__})") from None


# ---------------------------------------------------------------- what was run


@dataclass(frozen=True)
class RunSummary:
    """Counts of a run table. ``n_*``: runs, distillations, teacher configurations,
    student sizes, twins, planned distillations not run, retrained teachers;
    ``rerun_median`` and ``rerun_max``: how far a retrained teacher's loss lies from its
    first training's (relative). ``sessions``: per session, its distillations,
    retrained teachers and worker-hours. ``protocols``: per protocol tag, the
    distillations made and those planned but not run."""

    n_runs: int
    n_dist: int
    n_teachers: int
    n_students: int
    n_twins: int
    n_not_run: int
    n_reruns: int
    rerun_median: float
    rerun_max: float
    sessions: pd.DataFrame = field(repr=False)
    protocols: pd.DataFrame = field(repr=False)


def run_summary(table: RunTable, protocols: Sequence[str] = ("pilot", "p1", "p2", "p3", "p4", "p5-seeds")
                ) -> RunSummary:
    """What was run and what was not, by session and by protocol."""
    _table(table)
    if isinstance(protocols, str) or not all(isinstance(p, str) for p in _sequence("protocols", protocols)):
        raise TypeError(f"protocols must be a sequence of protocol tags (strings); got {shown(protocols)}")
    runs, dist = table.runs, table.distilled
    made = dist.explode("tags").groupby("tags").size()
    not_run = table.not_run
    if not_run is not None:
        planned = not_run[not_run.teacher_run_id.notna()]
        planned_not = planned.explode("tags").groupby("tags").size()
        n_not_run = int(planned.shape[0])
    else:
        planned_not, n_not_run = pd.Series(dtype=int), 0
    reruns = table.retrained
    sessions = pd.DataFrame({
        "distilled": [int((dist.session == k).sum()) for k in table.sessions],
        "retrained teachers": [int((reruns.session == k).sum()) for k in table.sessions],
        "worker-hours": [float(runs[runs.session == k].wall_s.sum() / 3600) for k in table.sessions],
    }, index=pd.Index(table.sessions, name="session"))
    per_protocol = pd.DataFrame({
        "distilled runs made": [int(made.get(p, 0)) for p in protocols],
        "planned, not run": [int(planned_not.get(p, 0)) for p in protocols],
    }, index=pd.Index(list(protocols), name="protocol"))
    difference = table.retraining_difference
    return RunSummary(
        n_runs=len(runs), n_dist=len(dist), n_teachers=dist.teacher_cfg.nunique(), n_students=dist.N.nunique(),
        n_twins=len(table.twins), n_not_run=n_not_run, n_reruns=len(reruns),
        rerun_median=float(difference.median()), rerun_max=float(difference.max()),
        sessions=sessions, protocols=per_protocol)


# ---------------------------------------------------------------- seed noise


@dataclass(frozen=True)
class SeedNoise:
    """Seed-to-seed spread of the loss. ``spread``: one row per configuration trained
    with three or more seeds (``std``, ``mean``, ``count``, ``relative std``); ``rel``:
    the median relative standard deviation (sigma_seed), ``rel_sup`` and ``rel_dist``
    the same over the supervised and the distilled configurations, ``max`` the largest
    and ``n`` the number of configurations."""

    rel: float
    n: int
    max: float
    rel_sup: float
    rel_dist: float
    spread: pd.DataFrame = field(repr=False)


def seed_noise(table: RunTable, *, objectives: Sequence[str] = ("supervised", "distillation"),
               halves: Sequence[str] = ("teacher", "student"), min_seeds: int = 3) -> SeedNoise:
    """The seed noise of the configurations trained with at least ``min_seeds`` seeds.

    One run per seed: reruns are left out (a retrained teacher repeats a seed, it does
    not add one), and so is every repeat of a distillation from a retrained teacher.
    Supervised configurations are (data half, depth, tokens), restricted to ``halves``;
    distilled ones (teacher configuration, depth, tokens).
    """
    _table(table)
    min_seeds = integer("min_seeds", min_seeds, 2)
    for name, value, allowed in (("objectives", objectives, ("supervised", "distillation")),
                                 ("halves", halves, ("teacher", "student"))):
        if not all(isinstance(v, str) for v in _sequence(name, value)):
            raise TypeError(f"{name} must be a sequence of strings; got {shown(value)}")
        if not value or not set(value) <= set(allowed):
            raise ValueError(f"{name} must name one or both of {', '.join(allowed)}; got {shown(value)}")
    frames = []
    if "supervised" in objectives:
        sup = table.runs[(table.runs.objective == "supervised") & ~table.runs.rerun
                         & table.runs.split.isin(halves)]
        frames.append(sup.groupby(["split", "n_layers", "tokens"]).val_ce.agg(["std", "mean", "count"])
                      .reset_index().rename(columns={"split": "data half or teacher"})
                      .assign(objective="supervised"))
    if "distillation" in objectives and len(table.distilled):
        once = table.distilled.drop_duplicates(["teacher_cfg", "n_layers", "tokens", "seed"])
        frames.append(once.groupby(["teacher_cfg", "n_layers", "tokens"]).val_ce.agg(["std", "mean", "count"])
                      .reset_index().rename(columns={"teacher_cfg": "data half or teacher"})
                      .assign(objective="distilled"))
    if not frames:
        raise ValueError(f"objectives must name 'supervised' or, for a table with distilled runs, "
                         f"'distillation'; got {shown(objectives)}")
    spread = pd.concat(frames)
    most = int(spread["count"].max()) if len(spread) else 0
    spread = spread[spread["count"] >= min_seeds].set_index(
        ["objective", "data half or teacher", "n_layers", "tokens"]).sort_index()
    if spread.empty:
        raise ValueError(f"min_seeds must be an integer in [2, {most}] for this table (no configuration "
                         f"was trained with more seeds); got {shown(min_seeds)}")
    spread["relative std"] = spread["std"] / spread["mean"]
    by = spread["relative std"].groupby(level="objective").median()
    return SeedNoise(rel=float(spread["relative std"].median()), n=len(spread),
                     max=float(spread["relative std"].max()),
                     rel_sup=float(by.get("supervised", math.nan)), rel_dist=float(by.get("distilled", math.nan)),
                     spread=spread)


# ---------------------------------------------------------------- IsoFLOP profiles


@dataclass(frozen=True)
class IsoFLOPMinima:
    """Minima of the IsoFLOP profiles: ``minima`` (C, N_star, L_star) per budget, from a
    parabola in log N through the five points nearest each profile's lowest run
    (``parabolas``: budget -> (coefficients of the parabola, its log N range));
    ``slope`` = d log N* / d log C fitted over the budgets (the exponent a)."""

    slope: float
    minima: pd.DataFrame = field(repr=False)
    parabolas: Mapping = field(repr=False)


def isoflop_minima(iso: pd.DataFrame) -> IsoFLOPMinima:
    """``iso``: runs with columns ``budget``, ``N``, ``val_ce`` (``RunTable.isoflop``), at
    least three sizes at each of at least two budgets."""
    frame("iso", iso, ("budget", "N", "val_ce"))
    for column in ("budget", "N", "val_ce"):
        positive_array(f"iso[{column!r}]", iso[column].to_numpy(float))
    sizes = iso.groupby("budget").N.nunique()
    if len(sizes) < 2 or sizes.min() < 3:
        raise ValueError(f"iso must hold at least 3 sizes at each of at least 2 budgets; got "
                         f"{', '.join(f'{n} at {c:g}' for c, n in sizes.items())}")
    rows, parabolas = [], {}
    for C in sorted(iso.budget.unique()):
        g = iso[iso.budget == C].sort_values("N")
        x = np.log(g.N.to_numpy(float))
        k = int(np.argmin(g.val_ce.to_numpy()))
        lo, hi = max(0, k - 2), min(len(g), k + 3)
        coef = np.polyfit(x[lo:hi], g.val_ce.to_numpy()[lo:hi], 2)
        n_star = math.exp(-coef[1] / (2 * coef[0])) if coef[0] > 0 else float(g.N.iloc[k])
        rows.append((C, n_star, float(np.polyval(coef, math.log(n_star)))))
        parabolas[C] = (coef, (x[lo], x[hi - 1]))
    minima = pd.DataFrame(rows, columns=["C", "N_star", "L_star"])
    slope = np.polyfit(np.log(minima.C), np.log(minima.N_star), 1)[0]
    return IsoFLOPMinima(slope=float(slope), minima=minima, parabolas=parabolas)


# ---------------------------------------------------------------- fits

#: Where ``scripts/make_replication_fits.py`` stores the fits of a run table.
FITS_ROOT = Path(__file__).resolve().parents[1] / "data" / "fits"
#: The fits of ``fit_laws``: name -> (law, which runs).
FIT_SELECTIONS = {
    "supervised": "first training with seed 0 of every teacher-half supervised configuration",
    "distillation": "every distilled run",
    "early": "the distilled runs of every session but the last",
    "weak": "the distilled runs whose student loss is at least the cut",
}
#: Factors (of the fitted value) at which the capacity-gap coefficients are profiled.
PROFILE_FACTORS = np.exp(np.linspace(np.log(0.25), np.log(4.0), 9))
#: The capacity-gap coefficients profiled, in the optimiser's coordinates.
PROFILED = ("c0", "c1", "f1", "log_d1")


@dataclass(frozen=True)
class ReplicationFits:
    """The laws fitted to one run table (``FIT_SELECTIONS`` says on which runs):
    ``supervised`` (Eq. 1; its coefficients are held fixed inside Eq. 8),
    ``distillation`` (Eq. 8), ``early`` (Eq. 8 on all sessions but the last), ``weak``
    (Eq. 8 on the students with L_S >= ``cut``; ``other_cuts`` holds the same fit at
    other cuts, by cut), a ``bootstrap`` of the distillation fit and ``profiles`` of its
    capacity-gap coefficients (columns parameter, factor, value, objective)."""

    supervised: object
    distillation: object
    early: object
    weak: object
    bootstrap: object
    profiles: pd.DataFrame
    cut: float
    early_sessions: tuple
    other_cuts: Mapping = field(default_factory=dict)

    def weak_at(self, cut: float):
        """The stored fit on the students with L_S >= ``cut``, or None if none was stored."""
        return self.weak if cut == self.cut else self.other_cuts.get(float(cut))


def fit_folder(table: RunTable) -> Path:
    """Where the fits of a run table are stored: ``data/fits/replication-<version>`` for a
    table in ``data/replication/<version>`` (``replication-v1``), ``data/fits/replication``
    for one directly in ``data/replication``."""
    if _table(table).directory is None:
        raise ValueError("the run table has no directory: pass folder= explicitly")
    name = Path(table.directory).name
    return FITS_ROOT / ("replication" if name == "replication" else f"replication-{name}")


def _fit_inputs(table: RunTable, name: str, supervised=None, cut: float = 3.0,
                early_sessions: tuple | None = None) -> dict:
    """The keyword arguments of the fit ``name`` (``FIT_SELECTIONS``)."""
    if name == "supervised":
        s = table.first_supervised
        return dict(N=s.N.to_numpy(float), D=s.tokens.to_numpy(float), loss=s.val_ce.to_numpy(float))
    d = table.distilled
    if name == "early":
        d = d[d.session.isin(early_sessions)]
    elif name == "weak":
        d = d[d.val_ce.to_numpy(float) >= cut]
    elif name != "distillation":
        raise ValueError(f"name must be one of {list(FIT_SELECTIONS)}; got {shown(name)}")
    return dict(N_S=d.N.to_numpy(float), D_S=d.tokens.to_numpy(float), L_T=d.teacher_loss.to_numpy(float),
                L_S=d.val_ce.to_numpy(float), supervised=supervised)


def _early_sessions(table: RunTable, early_sessions) -> tuple:
    if early_sessions is None:
        if len(table.sessions) < 2:
            raise ValueError("an early fit needs at least two sessions")
        return tuple(table.sessions[:-1])
    if isinstance(early_sessions, (str, bytes)) or not isinstance(early_sessions, Sequence) or not early_sessions:
        raise TypeError(f"early_sessions must be None or a non-empty sequence of session numbers "
                        f"({', '.join(map(str, table.sessions))}); got {shown(early_sessions)}")
    sessions = tuple(integer("early_sessions", s, 1) for s in early_sessions)
    if not set(sessions) <= set(table.sessions) or set(sessions) == set(table.sessions):
        raise ValueError(f"early_sessions must name some but not all of the table's sessions "
                         f"({', '.join(map(str, table.sessions))}); got {shown(early_sessions)}")
    return sessions


def _cut(name: str, value) -> float:
    """A student-loss cut (nats/token), checked against the table's losses' range."""
    return in_range(name, value, 1e-3, 100.0)


def fit_laws(table: RunTable, *, cut: float = 3.0, other_cuts: Sequence[float] = (),
             early_sessions: Sequence[int] | None = None, n_resamples: int = 64, seed: int = 0,
             search=None) -> ReplicationFits:
    """Fit Eq. 1 and Eq. 8 to the table by the paper's procedure (``analysis.fit``):
    the four fits of ``FIT_SELECTIONS``, a percentile bootstrap of the distillation fit
    (``n_resamples`` resamples, fewer than the paper's 4096) and profiles of ``PROFILED``
    at ``PROFILE_FACTORS`` times their fitted values. ``search`` (an ``analysis.fit.Search``)
    replaces every fit's search (``None``: each law's own). A minute or more: the chapters
    read the stored result (``load_fits``). Every argument is checked before the first fit."""
    from analysis import fit as F

    _table(table)
    cut = _cut("cut", cut)
    if isinstance(other_cuts, (str, bytes)) or not isinstance(other_cuts, Sequence):
        raise TypeError(f"other_cuts must be a sequence of student-loss cuts; got {shown(other_cuts)}")
    other_cuts = tuple(_cut("other_cuts", c) for c in other_cuts)
    early_sessions = _early_sessions(table, early_sessions)
    n_resamples = integer("n_resamples", n_resamples, 2, 10**7)
    seed = integer("seed", seed, 0, 2**32 - 1)
    if search is not None:
        instance("search", search, F.Search, " (analysis.fit)")
    sup = F.fit(F.SUPERVISED, search=search, **_fit_inputs(table, "supervised"))
    coef = sup.coefficients
    fits = {name: F.fit(F.DISTILLATION, search=search, **_fit_inputs(table, name, coef, cut, early_sessions))
            for name in ("distillation", "early", "weak")}
    dist = fits["distillation"]
    boot = F.bootstrap(dist, n_resamples=n_resamples, seed=seed)
    rows = []
    for name in PROFILED:
        centre = dist.theta[dist.parameter_names.index(name)]
        values = centre + np.log(PROFILE_FACTORS) if name.startswith("log_") else centre * PROFILE_FACTORS
        for factor, value, objective in zip(PROFILE_FACTORS, values, F.profile_objective(dist, name, values)):
            rows.append((name, factor, value, objective))
    profiles = pd.DataFrame(rows, columns=["parameter", "factor", "value", "objective"])
    others = {c: F.fit(F.DISTILLATION, search=search, **_fit_inputs(table, "weak", coef, c)) for c in other_cuts}
    return ReplicationFits(sup, dist, fits["early"], fits["weak"], boot, profiles, cut, early_sessions, others)


def save_fits(fits: ReplicationFits, folder: str | Path) -> None:
    """Write ``fits.csv`` (one row per fit: its parameter vector, objective and the
    settings of the selection), ``bootstrap.csv`` and ``profiles.csv`` to ``folder`` (made if
    missing; its parent must exist)."""
    from os import PathLike

    _fits(fits)
    if not isinstance(folder, (str, PathLike)) or isinstance(folder, bool) or str(folder) == "":
        raise TypeError(f"folder must be a path (a non-empty string or pathlib.Path); got {shown(folder)}")
    folder = Path(folder)
    if not folder.parent.is_dir() or (folder.exists() and not folder.is_dir()):
        raise ValueError(f"folder must be a folder whose parent exists; got {shown(str(folder))}")
    folder.mkdir(exist_ok=True)
    rows = []
    named = [(name, getattr(fits, name), fits.cut) for name in FIT_SELECTIONS]
    named += [(f"weak-{c:g}", r, c) for c, r in fits.other_cuts.items()]
    for name, r, cut in named:
        rows.append({"name": name, "law": r.problem.law.name, "runs": FIT_SELECTIONS[name.split("-")[0]],
                     "n_runs": r.problem.n, "objective": r.objective, "cut": cut,
                     "early_sessions": " ".join(map(str, fits.early_sessions)), **r.parameters()})
    pd.DataFrame(rows).to_csv(folder / "fits.csv", index=False)
    b = fits.bootstrap
    boot = pd.DataFrame(b.samples, columns=b.names)
    boot.insert(0, "resample", np.arange(len(boot)))
    boot.to_csv(folder / "bootstrap.csv", index=False)
    pd.DataFrame({"seed": [b.seed], "level": [b.level]}).to_csv(folder / "bootstrap_settings.csv", index=False)
    fits.profiles.to_csv(folder / "profiles.csv", index=False)


def load_fits(table: RunTable, folder: str | Path | None = None) -> ReplicationFits:
    """The stored fits of ``table`` (default folder: ``fit_folder(table)``), rebuilt on the
    table's runs with ``analysis.fit.evaluate``: residuals, objectives and profiles are
    exactly those of ``fit_laws``. Raises if the stored fits do not belong to these runs
    (another number of runs or another objective): rerun
    ``scripts/make_replication_fits.py``."""
    from analysis import fit as F

    _table(table)
    if folder is None:
        folder = fit_folder(table)
    else:
        folder = existing_path("folder", folder, folder=True)
        missing = [f for f in ("fits.csv", "bootstrap.csv", "bootstrap_settings.csv", "profiles.csv")
                   if not (folder / f).is_file()]
        if missing:
            raise ValueError(f"folder must hold the files of save_fits; {shown(str(folder))} has no "
                             f"{', '.join(missing)}")
    stored = _read_csv(folder / "fits.csv", "stored replication fits").set_index("name")
    cut = float(stored.loc["weak", "cut"])
    early_sessions = tuple(int(s) for s in str(stored.loc["early", "early_sessions"]).split())
    results = {}
    for name in stored.index:
        row = stored.loc[name]
        law = F.SUPERVISED if name == "supervised" else F.DISTILLATION
        coef = results["supervised"].coefficients if name != "supervised" else None
        inputs = _fit_inputs(table, name.split("-")[0], coef, float(row["cut"]), early_sessions)
        r = F.evaluate(law, {k: float(row[k]) for k in law.parameters}, **inputs)
        if r.problem.n != int(row["n_runs"]) or not math.isclose(r.objective, float(row["objective"]), rel_tol=1e-9):
            raise ValueError(f"{folder / 'fits.csv'}: the stored {name} fit ({int(row['n_runs'])} runs, objective "
                             f"{float(row['objective']):.6g}) does not match these runs ({r.problem.n} runs, "
                             f"objective {r.objective:.6g}); run scripts/make_replication_fits.py")
        results[name] = r
    boot = _read_csv(folder / "bootstrap.csv", "stored bootstrap").drop(columns="resample")
    settings = _read_csv(folder / "bootstrap_settings.csv", "stored bootstrap settings").iloc[0]
    bootstrap = F.BootstrapResult.from_samples(tuple(boot.columns), boot.to_numpy(float),
                                               float(settings["level"]), int(settings["seed"]))
    profiles = _read_csv(folder / "profiles.csv", "stored profiles")
    others = {float(stored.loc[n, "cut"]): r for n, r in results.items() if n.startswith("weak-")}
    return ReplicationFits(results["supervised"], results["distillation"], results["early"], results["weak"],
                           bootstrap, profiles, cut, early_sessions, others)


def _with_ab(coef) -> dict:
    return coef.as_dict() | {"a": coef.a, "b": coef.b}


#: The coefficients of Eq. 8 in the order of Table 6 (a and b derived).
DISTILLATION_COEFFICIENTS = ("A", "B", "alpha", "beta", "gamma", "c0", "c1", "f1", "d1", "a", "b")
#: The coefficients of Eq. 8 that shape the law (not its scales A, B).
SHAPE_COEFFICIENTS = ("alpha", "beta", "gamma", "c0", "c1", "f1", "d1")
_SYMBOLS = {"A": "A′", "B": "B′", "alpha": "α′", "beta": "β′", "gamma": "γ′", "c0": "c₀", "c1": "c₁", "f1": "f₁",
            "d1": "d₁", "a": "a′", "b": "b′"}


@dataclass(frozen=True)
class FitSummary:
    """How the distillation fit describes the runs. ``fit_rms``: RMS log residual;
    ``rms_over_seed``: that over sigma_seed; ``n_long``, ``long_share``: the runs of more
    than ``long_tokens`` million tokens and their share of the squared residuals;
    ``past_break``: share of runs with L_T > d1 L~_S; ``boot_n``, ``boot_failed``:
    resamples and failed ones; ``well_list``: coefficients whose 90% interval spans
    less than a factor ``well_ratio``; ``n_dist_early`` and ``early_rms_new``,
    ``early_rms_all``: the early fit's runs and its RMS error on the later runs and on
    all; ``max_move``, ``max_move_name``: the largest factor by which a shape
    coefficient differs between the two fits; ``narrowest_interval``,
    ``narrowest_name``: the bootstrap interval spanning the smallest factor (high / low);
    ``early_inside``: every coefficient of the early fit lies inside the bootstrap
    interval of the full fit. ``coefficients``: the table of both fits against the
    paper's; ``moves``: the factor of each shape coefficient."""

    fit_rms: float
    rms_over_seed: float
    n_long: int
    long_tokens: float
    long_share: float
    past_break: float
    boot_n: int
    boot_failed: int
    sup_alpha: float
    sup_beta: float
    well_list: str
    n_dist_early: int
    early_rms_new: float
    early_rms_new_over_seed: float
    early_rms_all: float
    max_move: float
    max_move_name: str
    narrowest_interval: float
    narrowest_name: str
    early_inside: bool = field(metadata=NOT_GLUED)
    coefficients: pd.DataFrame = field(repr=False)
    moves: Mapping = field(repr=False)


def fit_summary(table: RunTable, fits: ReplicationFits, noise: SeedNoise, *, long_tokens: float = 20e6,
                well_ratio: float = 1.5) -> FitSummary:
    """Residuals, identification and stability of the distillation fit."""
    from analysis.laws import PAPER_DISTILLATION, distilled_loss, supervised_loss

    _table(table), _fits(fits), _noise(noise)
    long_tokens = in_range("long_tokens", long_tokens, 1.0, 1e17)
    well_ratio = in_range("well_ratio", well_ratio, 1.0, 1e6)
    dist = table.distilled
    N_S, D_S = dist.N.to_numpy(float), dist.tokens.to_numpy(float)
    L_T, L_S = dist.teacher_loss.to_numpy(float), dist.val_ce.to_numpy(float)
    ours, sup, early_coef = fits.distillation.coefficients, fits.supervised.coefficients, fits.early.coefficients
    boot = fits.bootstrap
    paper_row, ours_row, early_row = _with_ab(PAPER_DISTILLATION), _with_ab(ours), _with_ab(early_coef)
    names = DISTILLATION_COEFFICIENTS
    coef = pd.DataFrame({
        "paper (Table 6)": [paper_row[k] for k in names],
        "ours": [float(ours_row[k]) for k in names],
        "ours 5%": [boot.intervals[k][0] for k in names],
        "ours 95%": [boot.intervals[k][1] for k in names],
        "ours, sessions " + "-".join(map(str, fits.early_sessions)): [float(early_row[k]) for k in names],
    }, index=list(names))
    coef["interval high / low"] = coef["ours 95%"] / coef["ours 5%"]
    coef["identified"] = np.where(coef["interval high / low"] < well_ratio, "well", "weakly")
    residuals = fits.distillation.residuals
    rms = float(np.sqrt(np.mean(residuals**2)))
    long_runs = D_S > long_tokens
    early = dist.session.isin(fits.early_sessions).to_numpy()
    early_err = np.log(L_S / distilled_loss(N_S, D_S, L_T, early_coef, sup))
    moves = {k: max(ours_row[k] / early_row[k], early_row[k] / ours_row[k]) for k in SHAPE_COEFFICIENTS}
    max_move_name = max(moves, key=moves.get)
    rms_new = float(np.sqrt(np.mean(early_err[~early] ** 2)))
    well = [k for k in names if coef.loc[k, "identified"] == "well"]
    early_col = coef.columns[4]
    narrowest = coef["interval high / low"].idxmin()
    return FitSummary(
        fit_rms=rms, rms_over_seed=rms / noise.rel, n_long=int(long_runs.sum()), long_tokens=long_tokens / 1e6,
        long_share=float((residuals[long_runs] ** 2).sum() / (residuals ** 2).sum()),
        past_break=float(np.mean(L_T > ours.d1 * supervised_loss(N_S, D_S, sup))),
        boot_n=int(boot.samples.shape[0]), boot_failed=boot.n_failed, sup_alpha=sup.alpha, sup_beta=sup.beta,
        well_list=", ".join(well) if well else "none", n_dist_early=int(early.sum()), early_rms_new=rms_new,
        early_rms_new_over_seed=rms_new / noise.rel, early_rms_all=float(np.sqrt(np.mean(early_err ** 2))),
        max_move=float(moves[max_move_name]), max_move_name=_SYMBOLS[max_move_name],
        narrowest_interval=float(coef.loc[narrowest, "interval high / low"]), narrowest_name=_SYMBOLS[narrowest],
        early_inside=bool(((coef[early_col] >= coef["ours 5%"]) & (coef[early_col] <= coef["ours 95%"])).all()),
        coefficients=coef, moves=moves)


# ---------------------------------------------------------------- what the design identifies


def _spearman(x, y) -> float:
    from scipy.stats import spearmanr

    return float(spearmanr(x, y).statistic)


@dataclass(frozen=True)
class Identifiability:
    """What the design separates and what the fit pins down. ``rho_teacher``: rank
    correlation of the teachers' log size and loss (``rho_teacher_part1``: the first
    trainings alone); ``teacher_M``: median teacher tokens per parameter;
    ``median_teachers_per_student``: teachers per student configuration. Profiles:
    ``prof_c0`` ... ``prof_d1`` = the objective, relative to the fit's, when the
    coefficient is moved by the largest factor in its cheaper direction;
    ``prof_lowest`` the lowest point of any profile; ``prof_flat_list`` the coefficients
    whose move costs less than a factor ``flat`` (``prof_n_flat`` of them).
    ``profiles``: symbol -> the relative objective at each factor."""

    rho_teacher: float
    rho_teacher_part1: float
    teacher_M: float
    median_teachers_per_student: float
    prof_lowest: float
    prof_c0: float
    prof_c1: float
    prof_f1: float
    prof_d1: float
    prof_flat_list: str
    prof_n_flat: int
    profiles: Mapping = field(repr=False)


_PROFILE_LABELS = {"c0": "$c_0$", "c1": "$c_1$", "f1": "$f_1$", "log_d1": "$d_1$"}


def identifiability(table: RunTable, fits: ReplicationFits, *, flat: float = 1.10) -> Identifiability:
    """The teachers' spread in size and loss, and the profiles of the capacity-gap
    coefficients (a fourfold move costing less than 10% of the objective: not determined)."""
    _table(table), _fits(fits)
    flat = in_range("flat", flat, 1.0, 1e6)
    teachers = table.teachers
    first = teachers[teachers.index.map(configuration_id) == teachers.index]
    per_student = table.distilled.groupby(["N", "tokens"]).teacher_run_id.nunique()
    profiles = {_PROFILE_LABELS[name]: g.objective.to_numpy(float) / fits.distillation.objective
                for name, g in fits.profiles.groupby("parameter", sort=False)}
    rise = {k: float(min(v[0], v[-1])) for k, v in profiles.items()}
    flat_list = [k for k, v in rise.items() if v < flat]
    return Identifiability(
        rho_teacher=_spearman(np.log(teachers.N_T), teachers.L_T),
        rho_teacher_part1=_spearman(np.log(first.N_T), first.L_T),
        teacher_M=float((teachers.D_T / teachers.N_T).median()),
        median_teachers_per_student=float(per_student.median()),
        prof_lowest=float(min(v.min() for v in profiles.values())),
        prof_c0=rise["$c_0$"], prof_c1=rise["$c_1$"], prof_f1=rise["$f_1$"], prof_d1=rise["$d_1$"],
        prof_flat_list=", ".join(flat_list) if flat_list else "none", prof_n_flat=len(flat_list),
        profiles=profiles)


# ---------------------------------------------------------------- extrapolation


@dataclass(frozen=True)
class Extrapolation:
    """Eq. 8 fitted on the students with L_S >= ``cut`` (``n_weak`` runs, RMS relative
    error ``in_rms``) and evaluated on the ``n_strong`` better ones: median, largest and
    mean signed relative error ``ex_median``, ``ex_max``, ``ex_bias``; ``ex_over_seed`` =
    ex_median / sigma_seed; ``x_verdict``: "within seed noise" if that is at most 2, else
    "worse than seed noise". ``predicted``, ``relative_error`` and ``fitted`` (mask) per run."""

    cut: float
    n_weak: int
    n_strong: int
    in_rms: float
    ex_median: float
    ex_max: float
    ex_bias: float
    ex_over_seed: float
    x_verdict: str
    predicted: np.ndarray = field(repr=False)
    relative_error: np.ndarray = field(repr=False)
    fitted: np.ndarray = field(repr=False)


def extrapolation(table: RunTable, supervised, noise: SeedNoise, *, cut: float = 3.0, fit=None) -> Extrapolation:
    """Fit on the weaker students, predict the stronger (the paper's Figs. 1 and 5b).
    ``fit``: the stored fit of ``fit_laws`` at this cut; without it, Eq. 8 is fitted
    here (seconds)."""
    from analysis import fit as F
    from analysis.laws import DistillationCoefficients, _supervised, distilled_loss

    _table(table), _supervised("supervised", supervised), _noise(noise)
    cut = _cut("cut", cut)
    if fit is not None and not isinstance(getattr(fit, "coefficients", None), DistillationCoefficients):
        raise TypeError(f"fit must be None or a fit of Eq. 8 (ReplicationFits.weak_at: a FitResult with "
                        f"DistillationCoefficients); got {shown(fit)}")
    dist = table.distilled
    N_S, D_S = dist.N.to_numpy(float), dist.tokens.to_numpy(float)
    L_T, L_S = dist.teacher_loss.to_numpy(float), dist.val_ce.to_numpy(float)
    weak = L_S >= cut
    if weak.sum() < 2 or (~weak).sum() < 1:
        raise ValueError(f"cut must leave students on both sides (losses {L_S.min():.3g} to {L_S.max():.3g}); "
                         f"got {shown(cut)}")
    if fit is None:
        fit = F.fit(F.DISTILLATION, **_fit_inputs(table, "weak", supervised, cut))
    predicted = distilled_loss(N_S, D_S, L_T, fit.coefficients, supervised)
    err = predicted / L_S - 1
    ex_median = float(np.median(np.abs(err[~weak])))
    over = ex_median / noise.rel
    return Extrapolation(
        cut=cut, n_weak=int(weak.sum()), n_strong=int((~weak).sum()), in_rms=float(np.sqrt(np.mean(err[weak] ** 2))),
        ex_median=ex_median, ex_max=float(np.max(np.abs(err[~weak]))), ex_bias=float(np.mean(err[~weak])),
        ex_over_seed=over, x_verdict="within seed noise" if over <= 2 else "worse than seed noise",
        predicted=predicted, relative_error=err, fitted=weak)


# ---------------------------------------------------------------- the claims


def _verdict_text_a(verdict: str) -> str:
    return {
        "does not hold": "for weak teachers, two teachers of the same high loss are not "
                         "interchangeable: the smaller, longer-trained one teaches better",
        "cannot tell": "the weak groups lean one way in every comparison (the smaller, "
                       "longer-trained teacher teaches better), but not every difference exceeds "
                       "twice the seed noise, and the rule asks for a group resolved at every student size",
        "holds": "no comparison is resolved"}[verdict]


def _judge_a(resolved: pd.Series, groups: pd.Series) -> str:
    """'does not hold' if some group differs at every student size, 'holds' if no comparison does."""
    if resolved.groupby(groups).all().any():
        return "does not hold"
    return "cannot tell" if resolved.any() else "holds"


def _fmt_list(values) -> str:
    return ", ".join(f"{x:.2f}" for x in values)


@dataclass(frozen=True)
class TeacherLossOnly:
    """Claim (a), "only the teacher's loss matters" (Fig. 3b), on teachers of equal loss
    and different size (protocol 4). A *comparison* is one group and one student size;
    its students differ by ``beyond_law`` = the range of their log residuals against
    Eq. 8 (which sees the teacher only through L_T), *resolved* if above 2 sigma_seed.
    ``a_verdict``: "does not hold" if some group is resolved at every student size,
    "holds" if no comparison is, else "cannot tell"; ``a_verdict_early`` the same with
    the early fit's residuals. ``cells``: the comparisons; ``runs``: the protocol-4 runs
    with their ``group`` and residuals ``resid`` and ``resid_early``."""

    a_groups: int
    a_cells: int
    a_resolved: int
    a_violating: int
    a_violating_LT: str
    a_clean_LT: str
    a_lean_LT: str
    a_teacher_spread_max: float
    a_max_beyond: float
    a_longest_best: int
    a_viol_cells: int
    a_verdict: str
    a_verdict_text: str
    a_verdict_early: str = field(metadata=NOT_GLUED)
    cells: pd.DataFrame = field(repr=False)
    runs: pd.DataFrame = field(repr=False)
    groups: pd.DataFrame = field(repr=False)

    @property
    def lean_are_weakest(self) -> bool:
        """The groups with a resolved comparison are all weaker than the others."""
        g = self.groups
        lean = g[g.any_resolved]
        return bool(len(lean)) and bool(lean.L_T.min() > g[~g.any_resolved].L_T.max())

    @property
    def longest_trained_always_best(self) -> bool:
        """In the groups with a resolved comparison, the best student always learnt from
        the teacher trained on the most tokens per parameter."""
        return self.a_viol_cells > 0 and self.a_longest_best == self.a_viol_cells


def _design(design) -> None:
    """Check ``design`` is a non-empty sequence of groups, each a non-empty sequence of
    (depth, planned tokens) pairs of positive integers (``experiments.v1.P4_GROUPS``)."""
    message = ("design must be a non-empty sequence of groups of (depth, planned tokens) pairs of positive "
               f"integers (experiments.v1.P4_GROUPS); got {shown(design)}")
    if isinstance(design, (str, bytes)) or not isinstance(design, Sequence) or not design:
        raise ValueError(message)
    for group in design:
        if isinstance(group, (str, bytes)) or not isinstance(group, Sequence) or not group:
            raise ValueError(message)
        for pair in group:
            if isinstance(pair, (str, bytes)) or not isinstance(pair, Sequence) or len(pair) != 2:
                raise ValueError(message)
            integer("design (depth)", pair[0], 1), integer("design (planned tokens)", pair[1], 1)


def _design_group(design, depth, tokens, rel_tol=0.01):
    """The (1-based) group of ``design`` that plans a teacher of this depth and about these
    tokens (a run trains a whole number of batches, so its tokens differ slightly from
    the plan's), or None."""
    if pd.isna(depth):
        return None
    for gi, group in enumerate(design, start=1):
        for L, planned in group:
            if int(depth) == L and abs(tokens / planned - 1) < rel_tol:
                return gi
    return None


def teacher_loss_only(table: RunTable, fits: ReplicationFits, noise: SeedNoise,
                      design: Sequence[Sequence[tuple[int, int]]], *, tag: str = "p4") -> TeacherLossOnly:
    """``design``: the groups of teachers of equal loss, each a list of (depth, planned
    tokens) of its teachers (``experiments.v1.P4_GROUPS`` for version 1); runs tagged ``tag``."""
    from analysis.laws import distilled_loss

    _table(table), _fits(fits), _noise(noise)
    _design(design)
    if not isinstance(tag, str) or not tag:
        raise TypeError(f"tag must be a protocol tag (a non-empty string); got {shown(tag)}")
    dist = table.distilled
    N_S, D_S, L_T = dist.N.to_numpy(float), dist.tokens.to_numpy(float), dist.teacher_loss.to_numpy(float)
    sup = fits.supervised.coefficients
    law = distilled_loss(N_S, D_S, L_T, fits.distillation.coefficients, sup)
    law_early = distilled_loss(N_S, D_S, L_T, fits.early.coefficients, sup)
    on = dist.tags.apply(lambda t: tag in t).to_numpy()
    p4 = dist[on].copy()
    p4["resid"] = np.log(p4.val_ce / law[on])
    p4["resid_early"] = np.log(p4.val_ce / law_early[on])
    depth = table.runs.set_index("run_id").n_layers
    p4["group"] = [_design_group(design, L, t) for L, t in zip(p4.teacher_run_id.map(depth), p4.teacher_tokens)]
    cells = []
    for (gi, n), c in p4.groupby(["group", "N"]):
        if c.teacher_cfg.nunique() < 2:
            continue
        best = c.loc[c.val_ce.idxmin()]
        cells.append(dict(group=int(gi), L_T=c.teacher_loss.mean(), N_S=n, teachers=len(c),
                          teacher_spread=(c.teacher_loss.max() - c.teacher_loss.min()) / c.teacher_loss.mean(),
                          student_spread=(c.val_ce.max() - c.val_ce.min()) / c.val_ce.mean(),
                          beyond_law=float(c.resid.max() - c.resid.min()),
                          beyond_law_early=float(c.resid_early.max() - c.resid_early.min()),
                          best_teacher_N=best.teacher_N,
                          best_is_longest_trained=bool(best.teacher_tokens / best.teacher_N
                                                       == (c.teacher_tokens / c.teacher_N).max())))
    cells = pd.DataFrame(cells)
    if cells.empty:
        raise ValueError(f"no group of the design has two teachers with runs tagged {shown(tag)}")
    cells["resolved"] = cells.beyond_law > 2 * noise.rel
    by_group = cells.groupby("group").agg(L_T=("L_T", "mean"), teacher_spread=("teacher_spread", "max"),
                                          resolved=("resolved", "all"), any_resolved=("resolved", "any"))
    verdict = _judge_a(cells.resolved, cells.group)
    lean = by_group[by_group.any_resolved]
    viol_cells = cells[cells.group.isin(lean.index)]
    return TeacherLossOnly(
        a_groups=len(by_group), a_cells=len(cells), a_resolved=int(cells.resolved.sum()),
        a_violating=int(by_group.resolved.sum()), a_violating_LT=_fmt_list(by_group[by_group.resolved].L_T),
        a_clean_LT=_fmt_list(by_group[~by_group.any_resolved].L_T) or "none",
        a_lean_LT=_fmt_list(lean.L_T) or "none",
        a_teacher_spread_max=float(cells.teacher_spread.max()), a_max_beyond=float(cells.beyond_law.max()),
        a_longest_best=int(viol_cells.best_is_longest_trained.sum()), a_viol_cells=len(viol_cells),
        a_verdict=verdict, a_verdict_text=_verdict_text_a(verdict),
        a_verdict_early=_judge_a(cells.beyond_law_early > 2 * noise.rel, cells.group),
        cells=cells, runs=p4, groups=by_group)


@dataclass(frozen=True)
class CapacityGap:
    """Claim (b), the capacity gap (Fig. 4): per student configuration with three or
    more teachers (seed 0), is the best teacher inside the range (``b_interior``) and is
    it more than 2 sigma_seed better than both ends (``b_resolved``, a resolved U)?
    ``b_ratio_*``: the best teacher's loss over the student's twin loss, over the
    resolved Us. ``b_verdict``: "holds" with two or more resolved Us, "cannot tell"
    with an interior best teacher but fewer, else "does not hold". ``gap``: one row per
    configuration."""

    b_groups: int
    b_interior: int
    b_resolved: int
    b_ratio_med: float
    b_ratio_min: float
    b_ratio_max: float
    b_verdict: str
    gap: pd.DataFrame = field(repr=False)


def capacity_gap(table: RunTable, noise: SeedNoise, *, min_teachers: int = 3) -> CapacityGap:
    _table(table), _noise(noise)
    min_teachers = integer("min_teachers", min_teachers, 2)
    rows = []
    for (n, d), g in table.distilled_seed0.groupby(["N", "tokens"]):
        g = g.sort_values("teacher_loss")
        if len(g) < min_teachers:
            continue
        k = int(np.argmin(g.val_ce.to_numpy()))
        interior = 0 < k < len(g) - 1
        best = g.iloc[k]
        depth = min(g.val_ce.iloc[0], g.val_ce.iloc[-1]) / best.val_ce - 1  # rise at both ends
        rows.append(dict(N_S=n, D_S=d, teachers=len(g), best_teacher_N=best.teacher_N,
                         best_L_T=best.teacher_loss, twin=best.twin_loss,
                         best_over_twin=best.teacher_loss / best.twin_loss,
                         interior=interior, resolved=bool(interior and depth > 2 * noise.rel), depth=depth))
    if not rows:
        most = int(table.distilled_seed0.groupby(["N", "tokens"]).size().max())
        raise ValueError(f"min_teachers must be an integer in [2, {most}] for this table (no (student, "
                         f"budget) has more teachers); got {shown(min_teachers)}")
    gap = pd.DataFrame(rows)
    n_interior, n_resolved = int(gap.interior.sum()), int(gap.resolved.sum())
    u = gap[gap.resolved]
    ratio = (lambda f: float(f(u.best_over_twin))) if len(u) else (lambda f: float("nan"))
    return CapacityGap(
        b_groups=len(gap), b_interior=n_interior, b_resolved=n_resolved,
        b_ratio_med=ratio(pd.Series.median), b_ratio_min=ratio(pd.Series.min), b_ratio_max=ratio(pd.Series.max),
        b_verdict="holds" if n_resolved >= 2 else ("cannot tell" if n_interior else "does not hold"), gap=gap)


@dataclass(frozen=True)
class SmallBudgetAdvantage:
    """Claim (c), distillation wins at small token budgets and supervised catches up
    (Fig. 6). A *series* is one teacher and one student size at three or more token
    counts (seed 0); ``c_decreasing`` the share whose advantage over the twin falls with
    tokens (negative rank correlation), ``c_n_cross`` the zero crossings (``crossings``,
    interpolated in log tokens, between ``c_cross_min`` and ``c_cross_max`` million
    tokens, teachers of loss ``c_cross_teachers``). ``c_n_strong_series``: series whose
    teacher is better than ``c_best_crossing_LT``, every teacher with a crossing.
    ``c_win_frac``: share of all runs that beat their twin (``c_strong_win_frac``: of
    those whose teacher is better than the twin). ``c_verdict``: "holds" if at least
    half the series fall and some cross, else "does not hold". ``c_rho_cross``: median
    over the ``c_rho_teachers`` teachers where three or more sizes cross of the rank
    correlation of crossover tokens with size; ``c_growth_verdict`` "holds" above 0.8,
    "does not hold" below -0.8, else "cannot tell"."""

    c_series: int
    c_decreasing: float
    c_n_cross: int
    c_cross_teachers: str
    c_best_crossing_LT: float
    c_n_strong_series: int
    c_win_frac: float
    c_strong_win_frac: float
    c_rho_cross: float
    c_rho_teachers: int
    c_cross_min: float
    c_cross_max: float
    c_verdict: str
    c_growth_verdict: str
    series: pd.DataFrame = field(repr=False)
    crossings: pd.DataFrame = field(repr=False)

    @property
    def strong_stay_positive(self) -> bool:
        """Every series of a teacher better than all crossing ones stays positive."""
        return bool(self.series[self.series.L_T < self.c_best_crossing_LT].wins_large.all())

    @property
    def example_teachers(self) -> tuple:
        """(the teacher with the most crossings, the strongest teacher): the figure's two panels."""
        weak = (self.crossings.teacher.value_counts().index[0] if len(self.crossings)
                else self.series.teacher.iloc[0])
        return weak, self.series.loc[self.series.L_T.idxmin(), "teacher"]


def small_budget_advantage(table: RunTable, *, min_tokens: int = 3) -> SmallBudgetAdvantage:
    _table(table)
    min_tokens = integer("min_tokens", min_tokens, 2)
    dist = table.distilled
    series, crossings = [], []
    for (t_id, n), g in table.distilled_seed0.groupby(["teacher_cfg", "N"]):
        g = g.sort_values("tokens")
        if len(g) < min_tokens:
            continue
        series.append(dict(teacher=t_id, L_T=g.teacher_loss.iloc[0], N_S=n, rho=_spearman(np.log(g.tokens), g.gain),
                           wins_small=bool(g.gain.iloc[0] > 0), wins_large=bool(g.gain.iloc[-1] > 0)))
        s = np.sign(g.gain.to_numpy())
        for i in np.where(s[:-1] * s[1:] < 0)[0]:
            x0, x1 = np.log(g.tokens.iloc[i]), np.log(g.tokens.iloc[i + 1])
            y0, y1 = g.gain.iloc[i], g.gain.iloc[i + 1]
            crossings.append(dict(teacher=t_id, L_T=g.teacher_loss.iloc[0], N_S=n,
                                  D_cross=float(np.exp(x0 - y0 * (x1 - x0) / (y1 - y0)))))
    if not series:
        most = int(table.distilled_seed0.groupby(["teacher_cfg", "N"]).size().max())
        raise ValueError(f"min_tokens must be an integer in [2, {most}] for this table (no (teacher, "
                         f"student) has more budgets); got {shown(min_tokens)}")
    series, crossings = pd.DataFrame(series), pd.DataFrame(crossings)
    decreasing = float((series.rho < 0).mean())
    crossed = len(crossings) > 0
    best_crossing = float(crossings.L_T.min()) if crossed else float("inf")
    rho_by_teacher = ({t: _spearman(c.N_S, c.D_cross) for t, c in crossings.groupby("teacher")
                       if c.N_S.nunique() >= 3} if crossed else {})
    rho = float(np.median(list(rho_by_teacher.values()))) if rho_by_teacher else float("nan")
    strong = dist[dist.teacher_loss < dist.twin_loss]
    return SmallBudgetAdvantage(
        c_series=len(series), c_decreasing=decreasing, c_n_cross=len(crossings),
        c_cross_teachers=_fmt_list(sorted(set(crossings.L_T.round(2)))) if crossed else "none",
        c_best_crossing_LT=best_crossing, c_n_strong_series=len(series[series.L_T < best_crossing]),
        c_win_frac=float((dist.gain > 0).mean()), c_strong_win_frac=float((strong.gain > 0).mean()),
        c_rho_cross=rho, c_rho_teachers=len(rho_by_teacher),
        c_cross_min=float(crossings.D_cross.min() / 1e6) if crossed else float("nan"),
        c_cross_max=float(crossings.D_cross.max() / 1e6) if crossed else float("nan"),
        c_verdict="holds" if (decreasing >= 0.5 and crossed) else "does not hold",
        c_growth_verdict="holds" if rho > 0.8 else ("does not hold" if rho < -0.8 else "cannot tell"),
        series=series, crossings=crossings)


@dataclass(frozen=True)
class StudentBeatsTeacher:
    """Claim (d), a student can beat its teacher (weak-to-strong, App. E.4, E.7):
    ``margin`` = (L_T - L_S) / L_T per run; ``d_n_beat`` students with a positive margin,
    from ``d_n_beat_teachers`` teachers, the weakest ``d_weak_share`` of the
    ``d_n_teacher_cfgs`` teacher configurations (L_T >= ``d_beat_LT_min``). ``d_verdict``:
    "holds" if the largest margin exceeds 2 sigma_seed, "cannot tell" if some student is
    below its teacher within the noise, else "does not hold". ``d_law_min_excess``: the
    smallest L_S - L_T that our fitted Eq. 8 predicts over the runs (positive: Eq. 8
    cannot express a student below its teacher)."""

    d_n_beat: int
    d_max_margin: float
    d_margin_over_seed: float
    d_n_beat_teachers: int
    d_n_teacher_cfgs: int
    d_weak_share: float
    d_beat_LT_min: float
    d_law_min_excess: float
    d_verdict: str
    eq8_cannot: bool = field(metadata=NOT_GLUED)
    margin: pd.Series = field(repr=False)
    beats: pd.DataFrame = field(repr=False)
    law_excess: np.ndarray = field(repr=False)

    @property
    def beats_are_larger(self) -> bool:
        """Every student below its teacher is larger than that teacher."""
        return bool(len(self.beats)) and bool((self.beats.N > self.beats.teacher_N).all())


def student_beats_teacher(table: RunTable, fits: ReplicationFits, noise: SeedNoise) -> StudentBeatsTeacher:
    from analysis.laws import PAPER_DISTILLATION, distilled_loss

    _table(table), _fits(fits), _noise(noise)
    dist = table.distilled
    N_S, D_S, L_T = dist.N.to_numpy(float), dist.tokens.to_numpy(float), dist.teacher_loss.to_numpy(float)
    sup = fits.supervised.coefficients
    margin = (dist.teacher_loss - dist.val_ce) / dist.teacher_loss
    beats = dist[margin > 0]
    teacher_losses = dist.groupby("teacher_cfg").teacher_loss.max()  # one per teacher configuration
    law_excess = distilled_loss(N_S, D_S, L_T, fits.distillation.coefficients, sup) - L_T
    paper_excess = distilled_loss(N_S, D_S, L_T, PAPER_DISTILLATION, sup) - L_T
    # positive in exact arithmetic; with the paper's c1 = 522.6 the factor can underflow to 0 in floats
    eq8_cannot = bool(np.all(law_excess > 0) and np.all(paper_excess >= 0))
    return StudentBeatsTeacher(
        d_n_beat=len(beats), d_max_margin=float(margin.max()), d_margin_over_seed=float(margin.max() / noise.rel),
        d_n_beat_teachers=len(beats.teacher_cfg.unique()), d_n_teacher_cfgs=len(teacher_losses),
        d_weak_share=float((teacher_losses >= beats.teacher_loss.min()).mean()) if len(beats) else 0.0,
        d_beat_LT_min=float(beats.teacher_loss.min()) if len(beats) else float("nan"),
        d_law_min_excess=float(law_excess.min()),
        d_verdict=("holds" if margin.max() > 2 * noise.rel else ("cannot tell" if len(beats) else "does not hold")),
        eq8_cannot=eq8_cannot, margin=margin, beats=beats, law_excess=law_excess)


@dataclass(frozen=True)
class Calibration:
    """Claim (e), calibration and the KL to the teacher (App. E.8, Figs. 37, 44): ECE
    (21 bins) of the teachers and students against the data, of the twins, and of the
    students against their teacher's top-1 choice (median for the strongest and the
    weakest teacher); ``e_kl_frac``: share of the ``e_kl_groups`` student configurations
    with three or more teachers (seed 0) whose KL to the teacher grows as the teacher
    gets stronger. ``e_verdict``: "holds" if every teacher's and student's ECE is below
    5% and at least 80% of the KL correlations are negative."""

    e_teacher_ece_min: float
    e_teacher_ece_max: float
    e_student_ece_med: float
    e_student_ece_max: float
    e_twin_ece_med: float
    e_kl_groups: int
    e_kl_frac: float
    e_kl_rho_med: float
    e_ecet_strong: float
    e_ecet_weak: float
    e_verdict: str


def calibration(table: RunTable, *, min_teachers: int = 3) -> Calibration:
    _table(table)
    min_teachers = integer("min_teachers", min_teachers, 2)
    dist, teachers = table.distilled, table.teachers
    kl_rho = np.array([_spearman(g.teacher_loss, g.kl_to_teacher)
                       for _, g in table.distilled_seed0.groupby(["N", "tokens"]) if len(g) >= min_teachers])
    if kl_rho.size == 0:
        most = int(table.distilled_seed0.groupby(["N", "tokens"]).size().max())
        raise ValueError(f"min_teachers must be an integer in [2, {most}] for this table (no (student, "
                         f"budget) has more teachers); got {shown(min_teachers)}")
    ece_t = dist.groupby("teacher_loss").ece_vs_teacher.median().sort_index()
    holds = teachers.ece_T.max() < 0.05 and dist.ece.max() < 0.05 and (kl_rho < 0).mean() >= 0.8
    return Calibration(
        e_teacher_ece_min=float(teachers.ece_T.min()), e_teacher_ece_max=float(teachers.ece_T.max()),
        e_student_ece_med=float(dist.ece.median()), e_student_ece_max=float(dist.ece.max()),
        e_twin_ece_med=float(dist.twin_ece.median()), e_kl_groups=len(kl_rho), e_kl_frac=float((kl_rho < 0).mean()),
        e_kl_rho_med=float(np.median(kl_rho)), e_ecet_strong=float(ece_t.iloc[0]), e_ecet_weak=float(ece_t.iloc[-1]),
        e_verdict="holds" if holds else "does not hold")


# ---------------------------------------------------------------- recipes from the fitted law


@dataclass(frozen=True)
class RecipeComparison:
    """Two recipes of ``analysis.recipes`` with our fitted law (in ``box``) and the
    paper's. ``r_ratio_*``: the best teacher's loss over the student's supervised loss
    at D_S = 20 N_S (median, ``_lo``, ``_hi`` over sizes); ``r_gain_*``: the best
    teacher's gain 1 - L_S*/L~_S; ``r_recipe_vs_grid``: our recipe against a direct
    minimisation of Eq. 8 on a fine grid (nats). ``r_mx_*``: with a free teacher, the
    student's tokens per parameter at the crossover (``crossover_compute``) searched
    over ``m_range``: ours at our student sizes, the paper's at ``paper_sizes`` (those
    beyond the range listed in ``r_mx_paper_beyond``)."""

    r_recipe_vs_grid: float
    r_ratio_ours: float
    r_ratio_ours_lo: float
    r_ratio_ours_hi: float
    r_ratio_paper: float
    r_ratio_paper_lo: float
    r_ratio_paper_hi: float
    r_gain_ours: float
    r_gain_ours_lo: float
    r_gain_ours_hi: float
    r_gain_paper: float
    r_gain_paper_lo: float
    r_gain_paper_hi: float
    r_mx_ours_lo: float
    r_mx_ours_hi: float
    r_mx_ours_trend: str
    r_mx_paper_lo: float
    r_mx_paper_hi: float
    r_mx_paper_sizes: str
    r_mx_paper_beyond: str
    r_mx_max: float
    curves: Mapping = field(repr=False)

    @property
    def crossovers_inside(self) -> bool:
        c = self.curves
        lo, hi = c["m_range"]
        return bool(np.all((c["m_cross_ours"] > lo * 1.001) & (c["m_cross_ours"] < hi)))

    @property
    def ours_falls(self) -> bool:
        return self.r_mx_ours_trend == "falls"

    @property
    def trends_agree(self) -> bool:
        """Both laws: the best teacher relatively weaker, its gain smaller, as N_S grows."""
        c = self.curves
        return bool(np.all(np.diff(c["ratio_ours"]) > 0) and np.all(np.diff(c["gain_ours"]) < 0)
                    and np.all(np.diff(c["ratio_paper"]) > 0) and np.all(np.diff(c["gain_paper"]) < 0))


def recipe_comparison(table: RunTable, fits: ReplicationFits, *, box=(1e5, 1e12), m_range=(1.0, 1e5),
                      ours_sizes=None, paper_sizes=(1e8, 3e8, 1e9, 3e9, 1e10)) -> RecipeComparison:
    from analysis.laws import PAPER_SUPERVISED, distilled_loss, supervised_loss
    from analysis.recipes import PAPER_SETTING, Setting, crossover_compute, optimal_teacher_loss

    _table(table), _fits(fits)
    box = positive_interval("box", box)
    m_range = positive_interval("m_range", m_range)
    ours, sup = fits.distillation.coefficients, fits.supervised.coefficients
    setting = Setting(supervised=sup, distillation=ours, bounds=box)
    ns_ours = np.geomspace(1e5, 3e6, 12) if ours_sizes is None else values_in_range("ours_sizes", ours_sizes, *box)
    paper_sizes = values_in_range("paper_sizes", paper_sizes, *PAPER_SETTING.bounds)
    ns_paper = np.geomspace(1e8, 1e10, 12)
    choice_ours = optimal_teacher_loss(ns_ours, 20 * ns_ours, setting=setting)
    choice_paper = optimal_teacher_loss(ns_paper, 20 * ns_paper)
    sup_ours = supervised_loss(ns_ours, 20 * ns_ours, sup)
    sup_paper = supervised_loss(ns_paper, 20 * ns_paper, PAPER_SUPERVISED)
    curves = {"ns_ours": ns_ours, "ns_paper": ns_paper, "m_range": tuple(m_range),
              "ratio_ours": choice_ours.teacher_loss / sup_ours, "ratio_paper": choice_paper.teacher_loss / sup_paper,
              "gain_ours": 1 - choice_ours.student_loss / sup_ours,
              "gain_paper": 1 - choice_paper.student_loss / sup_paper}
    lt_grid = np.geomspace(0.5, 8.0, 4001)
    ls_grid = distilled_loss(ns_ours[:, None], 20 * ns_ours[:, None], lt_grid[None, :], ours, sup)

    def tokens_per_param_at_crossover(sizes, s):
        out = []
        for n in sizes:
            per_m = 3 * s.cost.forward(n) * n  # FLOPs of one token per parameter
            out.append(crossover_compute(n, "best-case", (m_range[0] * per_m, m_range[1] * per_m), setting=s) / per_m)
        return np.array(out)

    student_sizes = np.sort(table.distilled.N.unique()).astype(float)
    m_ours = tokens_per_param_at_crossover(student_sizes, setting)
    m_paper = tokens_per_param_at_crossover(paper_sizes, PAPER_SETTING)
    finite = np.isfinite(m_paper)
    if not finite.any():
        raise ValueError(f"paper_sizes must hold a size whose crossover lies inside m_range {shown(m_range)} "
                         f"(tokens per parameter); got {shown(tuple(paper_sizes))}")
    curves.update(student_sizes=student_sizes, paper_sizes=paper_sizes, m_cross_ours=m_ours, m_cross_paper=m_paper)
    c = curves
    return RecipeComparison(
        r_recipe_vs_grid=float(np.max(np.abs(choice_ours.student_loss - ls_grid.min(axis=1)))),
        r_ratio_ours=float(np.median(c["ratio_ours"])), r_ratio_ours_lo=float(c["ratio_ours"].min()),
        r_ratio_ours_hi=float(c["ratio_ours"].max()), r_ratio_paper=float(np.median(c["ratio_paper"])),
        r_ratio_paper_lo=float(c["ratio_paper"].min()), r_ratio_paper_hi=float(c["ratio_paper"].max()),
        r_gain_ours=float(np.median(c["gain_ours"])), r_gain_ours_lo=float(c["gain_ours"].min()),
        r_gain_ours_hi=float(c["gain_ours"].max()), r_gain_paper=float(np.median(c["gain_paper"])),
        r_gain_paper_lo=float(c["gain_paper"].min()), r_gain_paper_hi=float(c["gain_paper"].max()),
        r_mx_ours_lo=float(np.min(m_ours)), r_mx_ours_hi=float(np.max(m_ours)),
        r_mx_ours_trend="falls" if bool(np.all(np.diff(m_ours) < 0)) else "does not fall",
        r_mx_paper_lo=float(np.min(m_paper[finite])), r_mx_paper_hi=float(np.max(m_paper[finite])),
        r_mx_paper_sizes=", ".join(f"{n / 1e9:g}B" for n in paper_sizes[finite]),
        r_mx_paper_beyond=", ".join(f"{n / 1e9:g}B" for n in paper_sizes[~finite]) or "none",
        r_mx_max=float(m_range[1]), curves=curves)


# ---------------------------------------------------------------- the set-up


@dataclass(frozen=True)
class CorpusSummary:
    """A corpus manifest (``corpus_manifest.json``) in numbers: million tokens in all,
    in each half and in the validation split, unique documents, pinned input packages,
    the first 16 hex digits of the corpus checksum, MiB of xz-compressed token ids;
    ``sources``: million characters of text per source."""

    corpus_tokens: float
    corpus_teacher: float
    corpus_student: float
    corpus_val: float
    corpus_docs: int
    corpus_inputs: int
    corpus_sha: str
    corpus_xz: float
    sources: pd.DataFrame = field(repr=False)


def corpus_summary(manifest: Mapping) -> CorpusSummary:
    """``manifest``: a corpus manifest (``load_manifest``)."""
    keys = ("tokens", "chars_per_source", "total_tokens", "documents", "inputs", "corpus_sha256", "outputs")
    if not isinstance(manifest, Mapping) or any(k not in manifest for k in keys):
        raise TypeError(f"manifest must be a corpus manifest (a mapping with {', '.join(keys)}; load_manifest); "
                        f"got {shown(manifest)}")
    tok = manifest["tokens"]
    src = pd.Series(manifest["chars_per_source"]).sort_values(ascending=False) / 1e6
    return CorpusSummary(
        corpus_tokens=manifest["total_tokens"] / 1e6, corpus_teacher=tok["teacher"] / 1e6,
        corpus_student=tok["student"] / 1e6, corpus_val=tok["validation"] / 1e6,
        corpus_docs=manifest["documents"], corpus_inputs=len(manifest["inputs"]),
        corpus_sha=manifest["corpus_sha256"][:16],
        corpus_xz=sum(v.get("bytes", 0) for v in manifest["outputs"].values()) / 2**20,
        sources=src.rename("text (million characters)").to_frame().round(1))


def load_manifest(table: RunTable) -> dict:
    """The corpus manifest next to the run table."""
    _table(table)
    return json.loads((Path(table.directory) / "corpus_manifest.json").read_text())


@dataclass(frozen=True)
class FamilyFlops:
    """Compute of a model family: ``vocab_share_small``/``_large``: the vocabulary's
    share 2 n_vocab d_model / F of the forward FLOPs of the smallest and largest member;
    ``f_over_2n_small``: F / 2N of the smallest; ``eq69_err``: the largest relative gap
    between the closed form F(N) of Eq. 69 and the per-architecture count (Eq. 59).
    ``table``: one row per member."""

    vocab_share_small: float
    vocab_share_large: float
    f_over_2n_small: float
    eq69_err: float
    table: pd.DataFrame = field(repr=False)


def family_flops(architectures: Sequence[Mapping], *, n_ctx: float, n_vocab: float,
                 aspect_ratio: float) -> FamilyFlops:
    """``architectures``: one mapping per member with ``d_model``,
    ``non_embedding_params`` and ``forward_flops_per_token`` (Eq. 59), smallest first."""
    from analysis.flops import forward_flops_per_token

    keys = ("d_model", "non_embedding_params", "forward_flops_per_token")
    if isinstance(architectures, (str, bytes)) or not isinstance(architectures, Sequence) or not architectures \
            or not all(isinstance(a, Mapping) and all(k in a for k in keys) for a in architectures):
        raise TypeError(f"architectures must be a non-empty sequence of mappings with {', '.join(keys)}; "
                        f"got {shown(architectures)}")
    n_ctx, n_vocab = in_range("n_ctx", n_ctx, 1.0, 1e9), in_range("n_vocab", n_vocab, 1.0, 1e9)
    aspect_ratio = in_range("aspect_ratio", aspect_ratio, 1e-6, 1e6)
    fam = pd.DataFrame(list(architectures))
    for k in keys:
        positive_array(f"architectures[{k!r}]", fam[k].to_numpy(float))
    fam["F/2N"] = fam.forward_flops_per_token / (2 * fam.non_embedding_params)
    fam["vocab share of F"] = 2 * n_vocab * fam.d_model / fam.forward_flops_per_token
    fam["F(N), Eq. 69"] = forward_flops_per_token(fam.non_embedding_params.to_numpy(float), n_ctx=n_ctx,
                                                  n_vocab=n_vocab, aspect_ratio=aspect_ratio)
    fam["Eq. 69 / Eq. 59"] = fam["F(N), Eq. 69"] / fam.forward_flops_per_token
    return FamilyFlops(vocab_share_small=float(fam["vocab share of F"].iloc[0]),
                       vocab_share_large=float(fam["vocab share of F"].iloc[-1]),
                       f_over_2n_small=float(fam["F/2N"].iloc[0]),
                       eq69_err=float(np.max(np.abs(fam["Eq. 69 / Eq. 59"] - 1))), table=fam)


@dataclass(frozen=True)
class Throughput:
    """Training throughput (``throughput.csv``): model FLOPs utilisation of the largest
    and the smallest model measured in eager mode (best batch), the step time of the
    smallest, the best MFU among the depths up to ``up_to_layers``, the MFU of the
    largest compiled model, and how much faster ``torch.compile`` makes the
    step of depth ``speedup_layers`` at ``speedup_batch`` sequences."""

    mfu_largest: float
    mfu_largest_L: int
    mfu_largest_N: float
    mfu_smallest: float
    step_ms_smallest: float
    mfu_train_max: float
    mfu_compiled_largest: float
    compiled_largest_L: int
    compile_speedup: float = field(metadata=NOT_GLUED)
    table: pd.DataFrame = field(repr=False)


def throughput_summary(tp: pd.DataFrame, *, up_to_layers: int, speedup_layers: int,
                       speedup_batch: int) -> Throughput:
    """``tp``: the benchmark (``throughput.csv``), eager and compiled rows."""
    frame("tp", tp, ("n_layers", "N", "batch_seqs", "compiled", "step_ms", "tokens_per_s", "model_tflops", "mfu"))
    up_to_layers = integer("up_to_layers", up_to_layers, 1)
    speedup_layers, speedup_batch = integer("speedup_layers", speedup_layers, 1), integer("speedup_batch",
                                                                                        speedup_batch, 1)
    compiled = tp.compiled.astype(bool)
    if compiled.all() or not compiled.any():
        raise ValueError("tp must hold eager and compiled rows (throughput.csv)")
    both = tp[(tp.n_layers == speedup_layers) & (tp.batch_seqs == speedup_batch)].compiled.astype(bool)
    if set(both) != {False, True}:
        pairs = tp.groupby(["n_layers", "batch_seqs"]).compiled.nunique()
        measured = ", ".join(f"({L}, {b})" for (L, b), n in pairs.items() if n == 2)
        raise ValueError(f"speedup_layers, speedup_batch must be a (depth, batch) measured both eager and compiled "
                         f"({measured}); got ({shown(speedup_layers)}, {shown(speedup_batch)})")
    if not (tp.n_layers[~compiled] <= up_to_layers).any():
        raise ValueError(f"up_to_layers must be at least the smallest eager depth ({int(tp.n_layers.min())}); "
                         f"got {shown(up_to_layers)}")
    eager = tp[~tp.compiled.astype(bool)]
    largest = eager[eager.n_layers == eager.n_layers.max()].sort_values("mfu").iloc[-1]
    smallest = eager[eager.n_layers == eager.n_layers.min()].sort_values("mfu").iloc[-1]
    comp = tp[tp.compiled.astype(bool)].sort_values("n_layers")
    pair = tp[(tp.n_layers == speedup_layers) & (tp.batch_seqs == speedup_batch)].set_index("compiled").step_ms
    return Throughput(
        mfu_largest=float(largest.mfu), mfu_largest_L=int(largest.n_layers), mfu_largest_N=largest.N / 1e6,
        mfu_smallest=float(smallest.mfu), step_ms_smallest=float(smallest.step_ms),
        mfu_train_max=float(eager[eager.n_layers <= up_to_layers].mfu.max()),
        mfu_compiled_largest=float(comp.mfu.iloc[-1]), compiled_largest_L=int(comp.n_layers.iloc[-1]),
        compile_speedup=float(pair.loc[False] / pair.loc[True]),
        table=tp[["n_layers", "N", "batch_seqs", "compiled", "step_ms", "tokens_per_s", "model_tflops", "mfu"]])


@dataclass(frozen=True)
class Sweep:
    """A sweep's runs: ``n_runs`` (``n_supervised``, ``n_distilled``), optimiser steps
    per run (``min_steps`` to ``max_steps``), worker-hours, the largest number of passes
    over a data half (``max_epochs``), the ladder's sizes and span in decades of N,
    and the IsoFLOP budgets; ``counts``: runs per protocol tag and objective."""

    n_runs: int
    n_supervised: int
    n_distilled: int
    n_ladder: int
    ladder_decades: float
    n_iso: int
    max_epochs: float
    worker_hours: float
    min_steps: int
    max_steps: int
    counts: pd.DataFrame = field(repr=False)


def sweep_summary(table: RunTable) -> Sweep:
    _table(table)
    runs, ladder = table.runs, table.ladder
    return Sweep(
        n_runs=len(runs), n_supervised=int((runs.objective == "supervised").sum()),
        n_distilled=int((runs.objective == "distillation").sum()), n_ladder=len(ladder),
        ladder_decades=math.log10(ladder.N.max() / ladder.N.min()), n_iso=table.isoflop.budget.nunique(),
        max_epochs=float(runs.epochs.max()), worker_hours=float(runs.wall_s.sum() / 3600),
        min_steps=int(runs.steps.min()), max_steps=int(runs.steps.max()),
        counts=runs.explode("tags").groupby(["tags", "objective"]).size().unstack(fill_value=0))


@dataclass(frozen=True)
class SupervisedFit:
    """The supervised law fitted to ``fit_n`` runs (``fits.supervised``): losses
    ``loss_min`` to ``loss_max`` nats/token, sizes ``nmin`` to ``nmax`` and tokens
    ``dmin`` to ``dmax`` (millions); ``fit_rms``: RMS log residual, ``rms_over_seed`` in
    units of sigma_seed; ``l2_tokens`` (million) and ``l2_steps`` of the smallest ladder
    model; ``coefficients``: ours beside the paper's Table 6."""

    fit_n: int
    loss_min: float
    loss_max: float
    nmin: float
    nmax: float
    dmin: float
    dmax: float
    fit_rms: float
    rms_over_seed: float
    l2_tokens: float
    l2_steps: int
    coefficients: pd.DataFrame = field(repr=False)


def supervised_fit(table: RunTable, fits: ReplicationFits, noise: SeedNoise) -> SupervisedFit:
    from analysis.laws import PAPER_SUPERVISED

    _table(table), _fits(fits), _noise(noise)
    s = table.first_supervised
    N, D, L = s.N.to_numpy(float), s.tokens.to_numpy(float), s.val_ce.to_numpy(float)
    ours, paper = fits.supervised.coefficients, PAPER_SUPERVISED
    rms = float(np.sqrt(np.mean(fits.supervised.residuals ** 2)))
    keys = ["E", "A", "B", "alpha", "beta", "gamma", "a", "b"]
    table_ = pd.DataFrame({"paper (Table 6)": [getattr(paper, k) for k in keys],
                           "ours": [getattr(ours, k) for k in keys]},
                          index=["E", "A", "B", "alpha", "beta", "gamma", "a = beta/(alpha+beta)",
                                 "b = alpha/(alpha+beta)"])
    ladder = table.ladder
    return SupervisedFit(
        fit_n=len(L), loss_min=float(L.min()), loss_max=float(L.max()), nmin=N.min() / 1e6, nmax=N.max() / 1e6,
        dmin=D.min() / 1e6, dmax=D.max() / 1e6, fit_rms=rms, rms_over_seed=rms / noise.rel,
        l2_tokens=float(ladder.tokens.iloc[0]) / 1e6, l2_steps=int(ladder.steps.iloc[0]), coefficients=table_)
