"""The set-up of the small-scale replication, version 2: its corpus, model family, throughput,
learning-rate sweep, seed noise, half-to-half agreement and the supervised law on its runs.

Reads the run table and the files beside it in ``data/replication/`` (``runs.csv``,
``corpus_manifest.json``, ``throughput.csv``, ``graph_check.json``, ``lr_choice.json``; see that
folder's README) and returns small frozen result objects whose fields the chapter "A small-scale
replication: set-up" glues and asserts. Nothing here trains; it imports the torch-free parts of
``experiments`` (the family, the plan's protocols and the learning-rate rule) so that the book
reads the same declarations the GPU runs used. The supervised law's fits (a grid of starts
each, ten seconds together) are stored in ``data/fits/replication/setup_supervised.csv`` by
``scripts/make_replication_setup_fits.py`` and read back at exactly the stored coefficients;
a run table that no longer matches them is an error that names the script.
"""

from __future__ import annotations

import hashlib
import json
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from analysis._checks import choice, existing_path, frame, in_range, instance, integer, shown, values_in_range
from analysis.fit import SUPERVISED, BootstrapResult, FitWarning, bootstrap, evaluate, fit_supervised
from analysis.laws import supervised_loss

DIRECTORY = Path(__file__).resolve().parents[1] / "data" / "replication"
#: Version 1's sweep rate (model FLOP/s per GPU, data/replication/v1/README.md), the baseline of
#: issue 18's target of five times more.
V1_FLOPS_PER_GPU_S = 2.8e13
#: A run "enters a fit" with at least this many optimiser steps (experiments.train.MIN_STEPS).
MIN_STEPS = 1000
#: The stored fits of the supervised law (scripts/make_replication_setup_fits.py).
FITS = Path(__file__).resolve().parents[1] / "data" / "fits" / "replication" / "setup_supervised.csv"
#: The bootstrap of the fit rule's fit (``store_rule_bootstrap``): one row per resample.
BOOTSTRAP = FITS.parent / "setup_rule_bootstrap.csv"
#: Resamples and seed of that bootstrap.
BOOTSTRAP_RESAMPLES, BOOTSTRAP_SEED = 1000, 0
#: The token cuts the chapter fits at: all runs; those past block a's drop (50M, a cut chosen
#: after seeing the curves, as the chapter says); and the exercise's other cuts (30M, 100M).
FIT_CUTS = (0.0, 30e6, 50e6, 100e6)
#: The cuts also fitted by the fit rule fixed before block c ran (only the runs whose copying
#: probe falls below ln(vocabulary): ``copy_probe(...).fit_excluded`` leaves out the rest),
#: stored beside the plain ones.
FIT_CUTS_COPYING = (0.0,)


def _text(column: pd.Series) -> pd.Series:
    """A text column with missing values as "" (an all-empty column reads back as floats)."""
    return column.map(lambda v: v if isinstance(v, str) else "")


def _file(directory, name: str) -> Path:
    """``directory / name`` after checking ``directory`` is an existing folder holding ``name``."""
    folder = existing_path("directory", directory, folder=True)
    if not (folder / name).is_file():
        raise ValueError(f"directory must hold {name} (the replication's data live in data/replication/); "
                         f"{shown(str(folder))} has none")
    return folder / name


def _csv(directory: Path, name: str) -> pd.DataFrame:
    return pd.read_csv(_file(directory, name))


def _json(directory, name: str) -> dict:
    return json.loads(_file(directory, name).read_text())


def _iterable(name: str, value):
    try:
        return list(value)
    except TypeError:
        raise TypeError(f"{name} must be a sequence; got {shown(value)}") from None


def _runs(s):
    return instance("s", s, SetupRuns, " (analysis.replication_setup.load)")


def _min_tokens(min_tokens) -> float:
    return in_range("min_tokens", min_tokens, 0.0, 1e15)


@dataclass(frozen=True)
class SetupRuns:
    """The version-2 run table split by what each run is for. ``sweep``: the learning-rate
    sweep; ``supervised``: every other run; ``ladder``, ``isoflop`` (with its ``budget``),
    ``seeds`` (configurations trained with more than one seed, all their seeds), ``twins``
    (student-half runs with their teacher-half run of the same configuration and seed);
    ``reruns``: runs trained again under the id with suffix ``-r1`` (the ``probe`` protocol),
    beside the first run (``val_ce_first``, ``val_ce_rerun``, ``relative_diff``). A rerun
    replaces its first run in every table but ``runs`` (every row of ``runs.csv``) and takes
    its protocols: it records the copying probe, the first run does not."""

    directory: Path
    runs: pd.DataFrame
    sweep: pd.DataFrame
    supervised: pd.DataFrame
    ladder: pd.DataFrame
    isoflop: pd.DataFrame
    seeds: pd.DataFrame
    twins: pd.DataFrame
    reruns: pd.DataFrame = None


def _part2(tags) -> bool:
    """Whether protocol tags name a part-2 protocol (experiments.plan.PART2_PREFIX)."""
    from experiments.plan import PART2_PREFIX

    return any(t.startswith(PART2_PREFIX) for t in tags)


def _tags(runs: pd.DataFrame) -> pd.Series:
    return runs.protocol.str.split("+")


def _with_reruns(runs: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The run table with each first run that has a rerun (``-r1``) replaced by it, and the
    table of the pairs."""
    from experiments.plan import without_rerun

    first_id = runs.run_id.map(without_rerun)
    is_rerun = first_id != runs.run_id
    by_id = runs.set_index("run_id")
    orphans = sorted(set(first_id[is_rerun]) - set(by_id.index))
    if orphans:
        raise ValueError(f"runs.csv: rerun(s) of runs that are not in the table: {', '.join(orphans[:3])}")
    rr = runs[is_rerun].copy()
    rr["protocol"] = [by_id.protocol[f] for f in first_id[is_rerun]]  # the first run's protocols
    pairs = pd.DataFrame({"run_id": rr.run_id, "first_run_id": first_id[is_rerun],
                          "val_ce_first": [by_id.val_ce[f] for f in first_id[is_rerun]],
                          "val_ce_rerun": rr.val_ce}).reset_index(drop=True)
    pairs["relative_diff"] = pairs.val_ce_rerun / pairs.val_ce_first - 1
    kept = runs[~is_rerun & ~runs.run_id.isin(first_id[is_rerun])]
    return pd.concat([kept, rr]).sort_index(), pairs


def load(directory: str | Path = DIRECTORY) -> SetupRuns:
    """The run table of part 1 in ``directory`` split by what each run is for
    (``SetupRuns``); part 2's runs (distillations, their twins and the teachers trained again
    for them: protocols named ``p2-...``) are left out."""
    table = _csv(directory, "runs.csv")
    table = table[~table.protocol.str.split("+").apply(_part2)].reset_index(drop=True)
    table["name"] = "L" + table.n_layers.astype(str) + "d" + table.d_model.astype(str)
    table["M"] = table.tokens / table.N
    runs, reruns = _with_reruns(table)
    tags = _tags(runs)
    sweep = runs[tags.apply(lambda t: "lr-sweep" in t)].copy()
    sup = runs[~runs.index.isin(sweep.index)].copy()
    st = _tags(sup)
    ladder = sup[st.apply(lambda t: "ladder" in t) & (sup.seed == 0)].sort_values("N")
    iso = sup[st.apply(lambda t: any(x.startswith("isoflop-") for x in t))].copy()
    iso["budget"] = [next(float(x[len("isoflop-"):]) for x in t if x.startswith("isoflop-"))
                     for t in _tags(iso)]
    teacher = sup[sup.split == "teacher"]
    counts = teacher.groupby(["N", "tokens"]).seed.transform("nunique")
    seeds = teacher[counts > 1].sort_values(["N", "seed"])
    stu = sup[sup.split == "student"]
    twins = stu.merge(teacher, on=["N", "tokens", "seed"], suffixes=("_student", "_teacher"))
    return SetupRuns(Path(directory).resolve(), table, sweep, sup, ladder, iso.sort_values(["budget", "N"]), seeds,
                     twins, reruns)


# -- corpus ------------------------------------------------------------------------------

@dataclass(frozen=True)
class Corpus:
    """The corpus manifest in numbers (million tokens; shares of characters).

    ``sources``: per source, documents kept, near-duplicates dropped and million tokens in each
    split; ``overlap``: per ordered pair of splits, the share of the first split's characters in
    documents with at least 80% of their 8-word shingles in the second, and the mean share of
    shingles found there (boilerplate); ``val_overlap_max``: the largest validation-to-training
    near-duplicate share; ``sources_without_validation``: sources with no validation text."""

    tokens: float
    teacher: float
    student: float
    validation: float
    documents: int
    near_duplicates: int
    exact_duplicates: int
    inputs: int
    debian_packages: int
    wheels: int
    units_validation: int
    sha: str
    val_overlap_max: float
    halves_overlap_max: float
    sources_without_validation: tuple[str, ...]
    sources: pd.DataFrame
    overlap: pd.DataFrame


def corpus(directory: str | Path = DIRECTORY) -> Corpus:
    """The corpus manifest of ``directory`` in numbers."""
    m = _json(directory, "corpus_manifest.json")
    src = pd.DataFrame({k: {"documents": v["documents"], "near duplicates": v["near_duplicates"],
                            **{f"{s} (M tokens)": v["tokens"].get(s, 0) / 1e6 for s in ("teacher", "student", "validation")}}
                        for k, v in m["sources"].items()}).T.sort_values("teacher (M tokens)", ascending=False)
    ov = pd.DataFrame(m["overlap"]["pairs"]).T
    ov.index.name = "query -> reference"
    val = [ov.loc[f"validation->{h}", "near_duplicate_char_share"] for h in ("teacher", "student")]
    halves = [ov.loc[p, "near_duplicate_char_share"] for p in ("teacher->student", "student->teacher")]
    tok = m["tokens"]
    return Corpus(tokens=m["total_tokens"] / 1e6, teacher=tok["teacher"] / 1e6, student=tok["student"] / 1e6,
                  validation=tok["validation"] / 1e6, documents=m["documents"],
                  near_duplicates=int(sum(v["near_duplicates"] for v in m["sources"].values())),
                  exact_duplicates=int(sum(v["exact_duplicates"] for v in m["sources"].values())),
                  inputs=len(m["inputs"]), debian_packages=sum(i["file"].endswith(".deb") for i in m["inputs"]),
                  wheels=sum(i["file"].endswith(".whl") for i in m["inputs"]),
                  units_validation=m["units"]["validation"], sha=m["corpus_sha256"][:16],
                  val_overlap_max=float(max(val)), halves_overlap_max=float(max(halves)),
                  sources_without_validation=tuple(sorted(src.index[src["validation (M tokens)"] == 0])),
                  sources=src, overlap=ov[["near_duplicate_char_share", "mean_shingle_containment"]])


# -- family and throughput ---------------------------------------------------------------

def family_table(directory: str | Path = DIRECTORY) -> pd.DataFrame:
    """One row per size: shape, both parameter counts, the embeddings' share, forward FLOPs per
    token, the batch (sequences) and the peak learning rate the plan gives it."""
    from experiments.family import family
    from experiments.plan import batch_seqs

    lr = _json(directory, "lr_choice.json")["lr"]
    return pd.DataFrame([{"name": a.name, "n_layers": a.n_layers, "d_model": a.d_model, "n_heads": a.n_heads,
                          "N (M)": a.non_embedding_params / 1e6, "total (M)": a.total_params / 1e6,
                          "embedding share": a.embedding_share, "F (MFLOP/token)": a.forward_flops_per_token / 1e6,
                          "batch (seqs)": batch_seqs(a), "peak LR": lr[a.name]} for a in family()])


@dataclass(frozen=True)
class Throughput:
    """The benchmark (``throughput.csv``): ``table``, MFU per size (rows) and step mode (columns);
    ``compile_mfu_20m``: the compiled step's MFU at the largest size of at least 20M
    non-embedding parameters it measured (``compile_20m_name``); ``compile_over_graph``: the
    compiled step's speed over the CUDA-graph step's (min, max) at the sizes both measured where
    compiling is faster, from ``compile_faster_from`` (the smallest such size) up;
    ``compile_slower``: the sizes where it is slower, and the lowest ratio there
    (``compile_slower_ratio``, NaN if none); ``eager_over_graph_max``: eager PyTorch's speed over
    the graph step's at most, where both were measured."""

    table: pd.DataFrame
    compile_mfu_20m: float
    compile_20m_name: str
    graph_mfu_min: float
    graph_mfu_max: float
    compile_over_graph_min: float
    compile_over_graph_max: float
    compile_faster_from: str
    compile_slower: tuple
    compile_slower_ratio: float
    eager_over_graph_max: float
    peak_tflops: float


def throughput(directory: str | Path = DIRECTORY, peak: float = 790e12) -> Throughput:
    """The benchmark of ``directory``; ``peak``: the GPU's peak FLOP/s the MFU is measured against."""
    peak = in_range("peak", peak, 1e9, 1e18)
    tp = _csv(directory, "throughput.csv")
    tab = tp.pivot_table(index=["N", "name"], columns="mode", values="mfu").reset_index("N").sort_values("N")
    big = tp[(tp["mode"] == "compile") & (tp.N >= 20e6)].sort_values("N")
    both = tab.dropna(subset=["compile", "graph"])
    ratio = both["compile"] / both["graph"]
    faster, slower = ratio[ratio >= 1], ratio[ratio < 1]
    eager = tab.dropna(subset=["eager", "graph"])
    graph = tab["graph"].dropna()
    return Throughput(table=tab, compile_mfu_20m=float(big.mfu.iloc[-1]), compile_20m_name=str(big.name.iloc[-1]),
                      graph_mfu_min=float(graph.min()), graph_mfu_max=float(graph.max()),
                      compile_over_graph_min=float(faster.min()), compile_over_graph_max=float(faster.max()),
                      compile_faster_from=str(both.loc[faster.index].N.idxmin()), compile_slower=tuple(slower.index),
                      compile_slower_ratio=float(slower.min()) if len(slower) else float("nan"),
                      eager_over_graph_max=float((eager["eager"] / eager["graph"]).max()), peak_tflops=peak / 1e12)


@dataclass(frozen=True)
class SweepRate:
    """Model FLOPs of one machine's runs over its sweep's wall time (first start to last end):
    the whole GPU's rate, its ratio to version 1's and its MFU against ``peak``. A sharing
    group's teacher forward pass ran once for the group (its longest student's tokens), so
    ``teacher_forward_flops`` counts it once, not once per student as the rows'
    ``teacher_inference_flops`` (a per-student cost) do; ``with_teacher_per_gpu_s`` and
    ``mfu_with_teacher`` add it. ``worker_s``: the wall times of the runs trained alone and
    of the groups (each once), so ``worker_s / (workers * wall_s)`` is the workers' busy share."""

    git_rev: str
    runs: int
    flops: float
    wall_s: float
    flops_per_gpu_s: float
    over_v1: float
    mfu: float
    teacher_forward_flops: float
    with_teacher_per_gpu_s: float
    mfu_with_teacher: float
    worker_s: float


def sweep_rate(s: SetupRuns, git_rev: str | None = None, peak: float = 790e12) -> SweepRate:
    """:func:`block_rate` of part 1's runs (``s.runs``)."""
    return block_rate(_runs(s).runs, git_rev, peak)


def block_rate(table: pd.DataFrame, git_rev: str | None = None, peak: float = 790e12) -> SweepRate:
    """The sweep rate of the runs of one machine in a run table (rows of ``runs.csv``, part
    2's included), named by the ``git_rev`` its runs record (each block's machine ran one
    revision: ``data/replication/README.md``). Without ``git_rev`` the table must hold one
    revision only: a wall time across machines would count the hours between sessions.
    ``peak``: the GPU's FLOP/s the MFU is measured against."""
    frame("table", table, ("git_rev", "finished_utc", "wall_s", "total_flops"))
    peak = in_range("peak", peak, 1e9, 1e18)
    rev = _text(table.git_rev)
    revs = sorted(rev.unique())
    if git_rev is None:
        if len(revs) != 1:
            raise ValueError(f"git_rev=None but the runs come from {len(revs)} revisions ({', '.join(revs)}): name one")
        git_rev = revs[0]
    if not isinstance(git_rev, str):
        raise TypeError(f"git_rev must be a string (a revision of the run table); got {shown(git_rev)}")
    runs = table[rev == git_rev]
    if runs.empty:
        raise ValueError(f"git_rev={shown(git_rev)} names no run; the revisions are {', '.join(revs)}")
    group = _text(runs["share_group"]) if "share_group" in runs else pd.Series("", index=runs.index)
    alone = group == ""
    wall = runs.wall_s.where(alone, runs.get("group_wall_s"))  # a group member started with its group
    t = pd.to_datetime(runs.finished_utc)
    end = (t - t.min()).dt.total_seconds()
    start = end - wall
    span = float(end.max() - start.min())
    fl = float(runs.total_flops.sum())
    forward = pd.to_numeric(runs.get("teacher_inference_flops", pd.Series(0.0, index=runs.index)),
                            errors="coerce").fillna(0.0)
    teacher = float(forward[alone].sum() + forward[~alone].groupby(group[~alone]).max().sum())
    worker = float(runs.wall_s[alone].sum() + wall[~alone].groupby(group[~alone]).first().sum())
    return SweepRate(git_rev, len(runs), fl, span, fl / span, fl / span / V1_FLOPS_PER_GPU_S, fl / span / peak,
                     teacher, (fl + teacher) / span, (fl + teacher) / span / peak, worker)


def sweep_rates(s: SetupRuns, peak: float = 790e12) -> pd.DataFrame:
    """:func:`sweep_rate` of every machine (revision) in the run table, in order of its first run."""
    first = _runs(s).runs.groupby(_text(s.runs.git_rev)).finished_utc.min().sort_values()
    return pd.DataFrame([vars(sweep_rate(s, rev, peak)) for rev in first.index]).set_index("git_rev")


# -- recipe --------------------------------------------------------------------------------

@dataclass(frozen=True)
class LRSweep:
    """The learning-rate sweep: ``points`` (size, tokens per parameter, peak LR, final loss);
    ``optima`` from ``lr_choice.json`` (recomputed by the test suite from the runs); the rule's
    outcome; ``spread``: largest over smallest of the sizes' optima; ``edge``: whether any
    optimum sits on the grid's edge; ``short_over_long``: the short run's optimum over the long
    run's at the sizes swept at both."""

    points: pd.DataFrame
    optima: pd.DataFrame
    rule: str
    spread: float
    transfer: bool
    edge: bool
    short_over_long: dict
    lr_min: float
    lr_max: float


def lr_sweep(s: SetupRuns) -> LRSweep:
    choice = _json(_runs(s).directory, "lr_choice.json")
    pts = s.sweep.assign(M=s.sweep.M.round().astype(int))[["name", "N", "M", "lr", "val_ce", "steps"]]
    opt = pd.DataFrame(choice["optima"]).T
    opt.index.name = "size@M"
    lr = list(choice["lr"].values())
    return LRSweep(points=pts.sort_values(["N", "M", "lr"]), optima=opt, rule=choice["rule"],
                   spread=float(choice["spread"]), transfer=choice["rule"].startswith("muP transfer"),
                   edge=bool(opt.on_edge.astype(bool).any()), short_over_long=choice["short_over_long"],
                   lr_min=float(min(lr)), lr_max=float(max(lr)))


# -- noise and halves ---------------------------------------------------------------------

@dataclass(frozen=True)
class SeedNoise:
    """Relative standard deviation of the final loss over seeds, per configuration trained with
    several seeds (``table``), and pooled (root mean square); ``largest_N``: the largest size
    among them."""

    table: pd.DataFrame
    pooled: float
    smallest: float
    largest: float
    configurations: int
    largest_N: float


def seed_noise(s: SetupRuns) -> SeedNoise:
    g = _runs(s).seeds.groupby(["name", "N", "tokens"]).val_ce.agg(["count", "mean", "std"]).reset_index()
    g["relative sd"] = g["std"] / g["mean"]
    if g.empty:
        raise ValueError("no configuration was trained with more than one seed")
    return SeedNoise(table=g.sort_values("N"), pooled=float(np.sqrt(np.mean(g["relative sd"] ** 2))),
                     smallest=float(g["relative sd"].min()), largest=float(g["relative sd"].max()),
                     configurations=len(g), largest_N=float(g.N.max()))


@dataclass(frozen=True)
class HalfGate:
    """The test gate of the corpus: the same configuration trained on the two halves. ``table``:
    per twin, the student-half loss over the teacher-half loss minus 1; a twin passes when that
    lies within two pooled seed standard deviations; ``verdict`` "holds" when every twin passes,
    "does not hold" when one fails, "cannot tell" with no twin."""

    table: pd.DataFrame
    twins: int
    largest_gap: float
    limit: float
    verdict: str


def half_gate(s: SetupRuns, noise: SeedNoise) -> HalfGate:
    _runs(s), instance("noise", noise, SeedNoise, " (analysis.replication_setup.seed_noise)")
    t = s.twins.assign(gap=s.twins.val_ce_student / s.twins.val_ce_teacher - 1)
    limit = 2 * noise.pooled
    t["within 2 sd"] = t.gap.abs() <= limit
    verdict = "cannot tell" if t.empty else ("holds" if bool(t["within 2 sd"].all()) else "does not hold")
    tab = t[["name_student", "tokens", "seed", "val_ce_teacher", "val_ce_student", "gap", "within 2 sd"]]
    return HalfGate(tab.rename(columns={"name_student": "name"}), len(t),
                    float(t.gap.abs().max()) if len(t) else float("nan"), limit, verdict)


# -- the supervised law -------------------------------------------------------------------

@dataclass(frozen=True)
class SupervisedFit:
    """Eq. 1 fitted (``analysis.fit.fit_supervised``, the paper's grid and Huber loss) to the
    seed-0 teacher-half runs with at least ``min_tokens`` tokens. ``residuals``: per run, the
    law's log-prediction minus the log loss; ``rms``: their root mean square; ``over_noise``:
    that over the pooled seed noise; ``fit``: the FitResult; ``diagnostics``: the codes of
    its ``analysis.fit.Diagnostic``s (a first block's runs may not determine the law: the
    chapter states them, so the fit's ``FitWarning``s are not repeated)."""

    min_tokens: float
    runs: int
    coefficients: object
    rms: float
    over_noise: float
    worst: float
    worst_run: str
    residuals: pd.DataFrame
    fit: object
    diagnostics: tuple = ()


def _fit_candidates(s: SetupRuns) -> pd.DataFrame:
    """The runs a supervised fit may use: the seed-0 teacher-half supervised runs."""
    return s.supervised[(s.supervised.split == "teacher") & (s.supervised.seed == 0)]


def _output_path(path) -> None:
    """Check that ``path`` names a file to write in an existing folder."""
    from os import PathLike

    if not isinstance(path, (str, PathLike)) or isinstance(path, bool) or str(path) == "":
        raise TypeError(f"path must be a path (a non-empty string or pathlib.Path); got {shown(path)}")
    if not Path(path).parent.is_dir() or Path(path).is_dir():
        raise ValueError(f"path must name a file in an existing folder; got {shown(str(path))}")


def _read_table(path, columns, maker: str, **read_csv) -> pd.DataFrame:
    """The CSV at ``path`` if it has ``columns``; otherwise a ValueError saying it is not a
    table of ``maker``."""
    try:
        table = pd.read_csv(path, **read_csv)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError):
        table = None
    if table is None or any(c not in table.columns for c in columns):
        raise ValueError(f"stored must name a table of {maker} (columns {', '.join(columns)}); "
                         f"{shown(str(path))} is not one")
    return table


def _fit_points(s: SetupRuns, min_tokens: float, exclude=()) -> pd.DataFrame:
    if isinstance(exclude, str) or not all(isinstance(e, str) for e in _iterable("exclude", exclude)):
        raise TypeError(f"exclude must be a sequence of run ids; got {shown(exclude)}")
    exclude = tuple(exclude)
    unknown = sorted(set(exclude) - set(s.supervised.run_id))
    if unknown:
        raise ValueError(f"exclude names {len(unknown)} run(s) not among the supervised runs: {', '.join(unknown[:3])}")
    pts = _fit_candidates(s)
    pts = pts[(pts.tokens >= min_tokens) & ~pts.run_id.isin(exclude)]
    if len(pts) < 7:
        raise ValueError(f"min_tokens={min_tokens:g} leaves {len(pts)} runs, fewer than the law's 6 parameters + 1")
    return pts


def _runs_digest(pts: pd.DataFrame) -> str:
    """SHA-256 of the runs a fit rests on (id, N, tokens, loss), so a stored fit is never
    read back onto other runs."""
    text = "\n".join(f"{r.run_id},{int(r.N)},{int(r.tokens)},{float(r.val_ce)!r}"
                      for r in pts.sort_values("run_id").itertuples())
    return hashlib.sha256(text.encode()).hexdigest()


def fresh_supervised_fit(s: SetupRuns, min_tokens: float = 0.0, exclude=()):
    """Eq. 1 fitted now (``fit_supervised``: the paper's grid, Huber loss) to the seed-0
    teacher-half runs with at least ``min_tokens`` tokens, less the run ids in ``exclude``;
    returns the ``FitResult``."""
    pts = _fit_points(_runs(s), _min_tokens(min_tokens), exclude)
    N, D, L = (pts[c].to_numpy(float) for c in ("N", "tokens", "val_ce"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FitWarning)
        return fit_supervised(N, D, L)


def store_supervised_fits(s: SetupRuns, path: str | Path = FITS, cuts=FIT_CUTS,
                          copying_cuts=FIT_CUTS_COPYING) -> pd.DataFrame:
    """Fit at each cut of ``cuts`` (all runs of at least that many tokens) and of
    ``copying_cuts`` (less the runs that the fit rule leaves out, ``copy_probe(s).fit_excluded``,
    when any run records the probe) and write the optima (parameters in ``SUPERVISED``'s order), their
    objective, diagnostics, the excluded runs and the digest of their runs to ``path`` (a file
    whose folder exists); the arguments are checked before the first fit."""
    _runs(s)
    _output_path(path)
    cuts = values_in_range("cuts", cuts, 0.0, 1e15)
    copying_cuts = values_in_range("copying_cuts", copying_cuts, 0.0, 1e15)
    variants = [(cut, ()) for cut in cuts]
    if (_text(s.runs.copy_curve) != "").any():
        variants += [(cut, copy_probe(s).fit_excluded) for cut in copying_cuts]
    for cut, exclude in variants:
        _fit_points(s, cut, exclude)
    rows = []
    for cut, exclude in variants:
        res = fresh_supervised_fit(s, cut, exclude)
        rows.append({"min_tokens": float(cut), "excluded": ";".join(sorted(exclude)), "runs": res.problem.n,
                     **res.parameters(), "objective": res.objective, "n_starts": res.n_starts,
                     "diagnostics": ";".join(d.code for d in res.diagnostics),
                     "runs_sha256": _runs_digest(_fit_points(s, cut, exclude))})
    table = pd.DataFrame(rows)
    table.to_csv(path, index=False, float_format="%.17g")
    return table


def _stored_fit(s: SetupRuns, min_tokens: float, path: Path, exclude=()):
    """The stored fit at ``min_tokens`` less ``exclude`` as a ``FitResult`` at exactly its
    coefficients, and its diagnostic codes."""
    script = "scripts/make_replication_setup_fits.py"
    if not Path(path).exists():
        raise FileNotFoundError(f"{path} is missing: run {script}")
    columns = ("min_tokens", "runs_sha256", "diagnostics", *SUPERVISED.parameters)
    table = _read_table(path, columns, "store_supervised_fits", keep_default_na=False)
    excluded = table.excluded.astype(str) if "excluded" in table else pd.Series("", index=table.index)
    row = table[np.isclose(table.min_tokens.astype(float), min_tokens, rtol=0, atol=0.5)
                & (excluded == ";".join(sorted(exclude)))]
    if len(row) != 1:
        what = f"min_tokens={min_tokens:g}" + (f" less {len(exclude)} run(s)" if exclude else "")
        raise ValueError(f"{what} is not a stored cut ({', '.join(f'{c:g}' for c in table.min_tokens)}); "
                         f"add it to FIT_CUTS or FIT_CUTS_COPYING and run {script}")
    row = row.iloc[0]
    pts = _fit_points(s, min_tokens, exclude)
    if row.runs_sha256 != _runs_digest(pts):
        raise ValueError(f"the stored fit at min_tokens={min_tokens:g} ({path}) was made from other runs "
                         f"than the run table holds now: run {script}")
    N, D, L = (pts[c].to_numpy(float) for c in ("N", "tokens", "val_ce"))
    res = evaluate(SUPERVISED, {k: float(row[k]) for k in SUPERVISED.parameters}, N=N, D=D, loss=L)
    codes = tuple(c for c in str(row.diagnostics).split(";") if c)
    return res, codes


def supervised_fit(s: SetupRuns, noise: SeedNoise, min_tokens: float = 0.0, *, exclude=(),
                   stored: str | Path | None = FITS) -> SupervisedFit:
    """The supervised law on the seed-0 teacher-half runs with at least ``min_tokens``
    tokens, less the run ids in ``exclude``: the fit stored in ``stored`` (default ``FITS``)
    or, with ``stored=None``, a fit made now."""
    _runs(s), instance("noise", noise, SeedNoise, " (analysis.replication_setup.seed_noise)")
    min_tokens = _min_tokens(min_tokens)
    if stored is not None:
        stored = existing_path("stored", stored)
    pts = _fit_points(s, min_tokens, exclude)
    N, D, L = (pts[c].to_numpy(float) for c in ("N", "tokens", "val_ce"))
    if stored is None:
        res = fresh_supervised_fit(s, min_tokens, exclude)
        codes = tuple(d.code for d in res.diagnostics)
    else:
        res, codes = _stored_fit(s, min_tokens, Path(stored), tuple(exclude))
    r = np.log(supervised_loss(N, D, res.coefficients)) - np.log(L)
    tab = pts[["run_id", "name", "N", "tokens", "M", "val_ce"]].assign(residual=r).sort_values("residual")
    i = int(np.argmax(np.abs(r)))
    rms = float(np.sqrt(np.mean(r ** 2)))
    return SupervisedFit(min_tokens, len(pts), res.coefficients, rms, rms / noise.pooled, float(r[i]),
                         str(pts.run_id.iloc[i]), tab, res, codes)


def _rule_fit(s: SetupRuns, stored: Path):
    """The fit rule's stored fit (``FitResult``) and the digest of its runs."""
    exclude = copy_probe(s).fit_excluded
    res, _ = _stored_fit(s, 0.0, stored, exclude)
    return res, _runs_digest(_fit_points(s, 0.0, exclude))


def store_rule_bootstrap(s: SetupRuns, path: str | Path = BOOTSTRAP, *, n_resamples: int = BOOTSTRAP_RESAMPLES,
                         seed: int = BOOTSTRAP_SEED, stored: str | Path = FITS) -> pd.DataFrame:
    """Bootstrap the fit rule's fit (the runs that copy, ``copy_probe(s).fit_excluded`` left
    out; its optimum read from ``stored``) over its runs (``analysis.fit.bootstrap``: runs
    resampled with replacement, each resample polished from the optimum) and write the
    resamples to ``path`` (a file in an existing folder), with the digest of the runs."""
    _runs(s)
    _output_path(path)
    n_resamples = integer("n_resamples", n_resamples, 2, 10**6)
    seed = integer("seed", seed, 0, 2**32 - 1)
    res, digest = _rule_fit(s, Path(existing_path("stored", stored)))
    b = bootstrap(res, n_resamples=n_resamples, seed=seed)
    table = pd.DataFrame(b.samples, columns=b.names).assign(seed=seed, runs_sha256=digest)
    table.to_csv(path, index=False, float_format="%.17g")
    return table


def rule_bootstrap(s: SetupRuns, *, level: float = 0.9, stored: str | Path = BOOTSTRAP,
                   fits: str | Path = FITS) -> BootstrapResult:
    """The stored bootstrap of the fit rule's fit (``store_rule_bootstrap``) with percentile
    intervals at ``level``; an error naming the script when it was made from other runs."""
    _runs(s)
    level = in_range("level", level, 0.0, 1.0)
    if not 0 < level < 1:
        raise ValueError(f"level must be in the open interval (0, 1); got {shown(level)}")
    script = "scripts/make_replication_setup_fits.py"
    path = Path(existing_path("stored", stored))
    table = _read_table(path, ("runs_sha256", "seed", "E", "A", "B", "alpha", "beta", "gamma"), "store_rule_bootstrap")
    _, digest = _rule_fit(s, Path(existing_path("fits", fits)))
    if set(table.runs_sha256) != {digest}:
        raise ValueError(f"the stored bootstrap ({path}) was made from other runs than the fit rule keeps now: run {script}")
    names = [c for c in table.columns if c not in ("seed", "runs_sha256")]
    return BootstrapResult.from_samples(names, table[names].to_numpy(float), level, int(table.seed.iloc[0]))


def curve(run: pd.Series, column: str = "val_curve") -> pd.DataFrame:
    """A run's curve (tokens, loss) from its ``val_curve`` column (validation loss) or its
    ``copy_curve`` column (the copying probe's loss, in column ``val_ce`` too)."""
    column = choice("column", column, ("val_curve", "copy_curve"))
    if not isinstance(run, pd.Series) or column not in run.index:
        raise TypeError(f"run must be a row of the run table (a pandas Series with {column}); got {shown(run)}")
    text = run[column]
    if not isinstance(text, str) or not text:
        raise ValueError(f"run {run.get('run_id', '?')} has no {column}")
    try:
        pts = [p.split(":") for p in text.split(";")]
        return pd.DataFrame({"tokens": [float(a) for a, _ in pts], "val_ce": [float(b) for _, b in pts]})
    except ValueError:
        raise ValueError(f"run must have a {column} of tokens:loss pairs separated by ';'; got "
                         f"{shown(text)}") from None


# -- the copying probe --------------------------------------------------------------------

@dataclass(frozen=True)
class CopyProbe:
    """The copying probe of the runs that record it (``copy_curve``: at each curve point, the
    loss on the second copy of a repeated block of uniformly random tokens,
    ``experiments.train.copy_ce``). Random tokens carry no information but their first copy, so
    a probe loss below ``ln_v`` = ln(vocabulary) is possible only by copying; above it a model
    may still copy a little. ``table``, per run: the largest fall of the validation loss between
    neighbouring curve points and where it lies (tokens, M), the same for the probe, whether
    the two share that interval, the first curve point with the probe below ``ln_v``
    (``onset``, tokens) and the final probe loss. ``sudden``: the runs whose validation loss
    falls by more than ``drop`` nats between neighbouring points; ``sudden_same``: those of
    them whose largest probe fall lies in the same interval. ``fit_excluded``: the runs the
    set-up chapter's fit rule (fixed before block c ran) leaves out of the supervised law's
    fit, the seed-0 teacher-half supervised runs whose probe never falls below ``ln_v`` or that
    record no probe."""

    table: pd.DataFrame
    runs: int
    ln_v: float
    drop: float
    sudden: int
    sudden_same: int
    copying: int
    not_copying: tuple
    onset_min: float
    onset_max: float
    fit_excluded: tuple = ()


def copy_probe(s: SetupRuns, *, drop: float = 0.5, vocab: int = 8192) -> CopyProbe:
    drop = in_range("drop", drop, 1e-6, 100.0)
    vocab = integer("vocab", vocab, 2, 10**7)
    runs = _runs(s).runs[_text(s.runs.copy_curve) != ""]
    if runs.empty:
        raise ValueError("no run records the copying probe (copy_curve)")
    ln_v = float(np.log(vocab))
    rows = []
    for _, r in runs.iterrows():
        v, c = curve(r), curve(r, "copy_curve")
        dv, dc = -v.val_ce.diff().to_numpy()[1:], -c.val_ce.diff().to_numpy()[1:]
        iv, ic = int(np.argmax(dv)), int(np.argmax(dc))
        below = c.tokens[c.val_ce < ln_v]
        rows.append({"run_id": r.run_id, "name": r["name"], "N": r.N, "tokens": r.tokens,
                     "val drop": dv[iv], "val drop at (M)": f"{v.tokens[iv] / 1e6:.0f}-{v.tokens[iv + 1] / 1e6:.0f}",
                     "probe drop": dc[ic], "probe drop at (M)": f"{c.tokens[ic] / 1e6:.0f}-{c.tokens[ic + 1] / 1e6:.0f}",
                     "same interval": iv == ic, "onset": float(below.iloc[0]) if len(below) else np.nan,
                     "final probe": float(c.val_ce.iloc[-1])})
    tab = pd.DataFrame(rows).sort_values(["N", "tokens"]).reset_index(drop=True)
    sudden = tab[tab["val drop"] > drop]
    copying = tab["final probe"] < ln_v
    excluded = tuple(sorted(set(_fit_candidates(s).run_id) - set(tab.run_id[copying])))
    return CopyProbe(tab, len(tab), ln_v, drop, len(sudden), int(sudden["same interval"].sum()),
                     int(copying.sum()), tuple(tab.run_id[~copying]),
                     float(tab.onset.min()), float(tab.onset.max()), excluded)


def status(s: SetupRuns) -> pd.DataFrame:
    """Per protocol of part 1: the runs the blocks planned (``plan_*.csv`` beside the run table,
    the learning-rate sweep included; a run planned by several blocks counts once) and those in
    the run table (part 2's protocols, ``p2-...``, are left out)."""
    from experiments.plan import read_plan

    done = set(_runs(s).runs.run_id)
    planned: dict[str, str] = {}  # a later block re-plans what an earlier one left: count each run once
    for p in sorted(s.directory.glob("plan_*.csv")):
        for r in read_plan(p):
            planned.setdefault(r["run_id"], r["protocol"])
    rows: dict[str, dict] = {}
    for run_id, protocol in planned.items():
        for tag in protocol.split("+"):
            if _part2([tag]):
                continue
            d = rows.setdefault(tag, {"planned": 0, "run": 0})
            d["planned"] += 1
            d["run"] += run_id in done
    out = pd.DataFrame(rows).T
    out["left"] = out.planned - out.run
    out.index.name = "protocol"
    return out


def source_gain(s: SetupRuns, shorter: str, longer: str) -> pd.DataFrame:
    """Per validation source (``val_ce_by_source``): the loss of run ``shorter``, of run
    ``longer`` and the gain from the first to the second (nats), largest gain first."""
    runs = _runs(s).runs.set_index("run_id")
    for arg, rid in (("shorter", shorter), ("longer", longer)):
        if not isinstance(rid, str):
            raise TypeError(f"{arg} must be a run id (a string); got {shown(rid)}")
        if rid not in runs.index:
            raise ValueError(f"{arg}={rid!r} is not a run of the table")

    def parse(rid):
        text = runs.loc[rid, "val_ce_by_source"]
        if not isinstance(text, str) or not text:
            raise ValueError(f"run {rid} has no val_ce_by_source")
        return pd.Series({k: float(v) for k, v in (p.split(":") for p in text.split(";"))})

    a, b = parse(shorter), parse(longer)
    return pd.DataFrame({"shorter": a, "longer": b, "gain": a - b}).dropna().sort_values("gain", ascending=False)

