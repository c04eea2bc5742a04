"""Part 2 of the small-scale replication (version 2): the distillations, their supervised
twins, the seed noise where each comparison is made, and the paper's claims judged by rules
fixed before part 2's runs were looked at.

Reads ``data/replication/runs.csv`` (see that folder's README). A *distillation* is a row of
objective "distillation"; its *twin* is the supervised run of the same size, tokens and seed on
the student half; its *teacher* is named by the part-1 run it repeats (``teacher_run_id``
without the block's suffix ``-p2...``: each GPU block trains its teachers again, and every
distillation row carries the loss of the teacher it actually learnt from, ``teacher_loss``).

**The rules (fixed before the first part-2 block ran; the git history dates them).** Losses
are compared in logs. ``gap`` = ln L_twin - ln L_S (positive: the distilled student is
better than its twin). The seed noise of a quantity at a point (N_S, D_S) is the root mean
square of its standard deviation over seeds at the :data:`NEIGHBOURS` seeded configurations
nearest in (ln N_S, ln D_S) (three seeds each: 2 x NEIGHBOURS degrees of freedom, so tests
use Student's t with that many). Each claim's comparisons are one family, controlled by Holm's
step-down method at :data:`ALPHA`.

(a) *Only the teacher's loss matters* (protocol 4: teachers of about equal loss, different
    sizes). For every pair of teachers of one group and one student (seed 0): d = ln L_S,i -
    ln L_S,j, noise sqrt(2) sigma_S. "does not hold" if some pair differs after Holm by more
    than its teachers' losses differ (|d| > |ln L_T,i - ln L_T,j|: a student's loss moves less
    than its teacher's across these runs, so the teachers' losses cannot explain it); "holds" if
    no pair differs and every pair's 90% interval lies inside +-:data:`EQUIVALENCE`; else
    "cannot tell".
(b) *The capacity gap*: per student configuration (seed 0) with at least
    :data:`MIN_TEACHERS` teachers, the best teacher (lowest L_S) is inside the range of teacher
    losses and both ends are worse than it (one-sided, noise sqrt(2) sigma_S, the larger p of
    the two ends); "holds" if two or more configurations show it after Holm, "does not hold"
    if no configuration has its best teacher inside the range, else "cannot tell". Where the
    minimum lies: L_T* (the vertex of a parabola in ln L_T through the best teacher and its
    neighbours) over the student's twin loss.
(c) *Distillation wins at small budgets, supervised catches up, and the crossover grows with
    student size* (protocol 3: a teacher and a student at M = 20 ... 320). Per series whose
    teacher is better than the student's twin at the smallest M: "wins small" if gap > 0 at
    the smallest M, "catches up" if the gap at the largest M is below that at the smallest
    (noise sqrt(2) sigma_gap), both one-sided with Holm over the series. (c1) "holds" if at
    least half the series show both, "does not hold" if none does, else "cannot tell". (c2)
    The crossover (the gap's first sign change, interpolated in ln D_S): the slope of
    ln D_cross on ln N_S within teachers (those with crossovers at two or more student sizes),
    tested by its residuals (one-sided t): "holds" if it rises at ALPHA, "does not hold" if it
    falls at ALPHA, else "cannot tell".
(d) *A student can beat its teacher*: margin ln L_T - ln L_S, noise sqrt(sigma_S^2 +
    sigma_T^2) (sigma_T from part 1's seeded teacher-half configurations); "holds" if some
    margin is positive after Holm over the positive margins, "cannot tell" if some margin is
    positive but none survives, "does not hold" if none is positive.
(e) *Calibration* (App. E.8): (e1) teachers are calibrated: every teacher's ECE below
    :data:`ECE_LIMIT`; (e2) students distilled on the full distribution are calibrated: every
    student's ECE below ECE_LIMIT; (e3) the KL to the teacher grows with the teacher's
    strength: in at least :data:`KL_SHARE` of the student configurations with MIN_TEACHERS or
    more teachers, the rank correlation of KL with L_T is negative. Each "holds" or "does not
    hold".
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from analysis._checks import existing_path, frame, in_range, instance, integer, shown, values_in_range
from experiments.plan import EQUAL_LOSS_GROUPS, part1_teacher, teacher_of, without_rerun

DIRECTORY = Path(__file__).resolve().parents[1] / "data" / "replication"
#: Family-wise error rate of each claim's comparisons (Holm).
ALPHA = 0.05
#: Seeded configurations whose spread gives the noise at a point.
NEIGHBOURS = 3
#: Claim (a): teachers of equal loss are interchangeable if their students agree within 2%.
EQUIVALENCE = 0.02
#: Claims (b), (e3): a student configuration needs this many teachers.
MIN_TEACHERS = 4
#: Claim (e): an expected calibration error (21 bins) below 2% is "calibrated" (the paper's
#: teachers: 0.4-0.6%).
ECE_LIMIT = 0.02
#: Claim (e3): the share of student configurations whose KL must grow with teacher strength.
KL_SHARE = 0.8
VERDICTS = ("holds", "does not hold", "cannot tell")
#: Claim (a)'s teacher groups as part-1 run ids (protocol 4's ``experiments.plan.EQUAL_LOSS_GROUPS``).
EQUAL_LOSS_TEACHERS = tuple(tuple(teacher_of(name, tokens) for name, tokens in g) for g in EQUAL_LOSS_GROUPS)
COLUMNS = ("run_id", "protocol", "objective", "split", "N", "n_layers", "d_model", "tokens", "seed",
           "teacher_run_id", "teacher_N", "teacher_loss", "teacher_ece", "val_ce", "kl_to_teacher", "ece")


def holm(p) -> np.ndarray:
    """Holm's step-down adjusted p-values of ``p`` (a 1-D array of values in [0, 1]): reject
    hypothesis i at family-wise level alpha iff its adjusted value is at most alpha."""
    p = values_in_range("p", p, 0.0, 1.0)
    if p.ndim != 1:
        raise ValueError(f"p must be a 1-D array of values in [0, 1]; got {shown(p)}")
    order = np.argsort(p, kind="stable")
    m = len(p)
    adjusted = np.maximum.accumulate(np.minimum(1.0, (m - np.arange(m)) * p[order]))
    out = np.empty(m)
    out[order] = adjusted
    return out


@dataclass(frozen=True)
class DistillRuns:
    """Part 2's runs. ``distilled``: one row per distillation whose twin exists, with
    ``teacher`` (the part-1 id), ``twin_loss``, ``twin_ece``, ``gap`` and ``tags``;
    ``twins``: the supervised student-half runs (a rerun ``-r1`` in place of its first run); ``teachers``: the teacher-half supervised
    runs (part 1's and the retrained ones) by id; ``missing_twins``: distillations left out
    because their twin has not run."""

    distilled: pd.DataFrame = field(repr=False)
    twins: pd.DataFrame = field(repr=False)
    teachers: pd.DataFrame = field(repr=False)
    missing_twins: tuple = ()

    def __post_init__(self):
        frame("distilled", self.distilled, COLUMNS + ("teacher", "twin_loss", "twin_ece", "gap", "tags"))
        frame("twins", self.twins, ("N", "tokens", "seed", "val_ce"))
        frame("teachers", self.teachers, ("N", "tokens", "seed", "val_ce", "ece"))
        if not isinstance(self.missing_twins, tuple) or not all(isinstance(r, str) for r in self.missing_twins):
            raise TypeError(f"missing_twins must be a tuple of run ids; got {shown(self.missing_twins)}")


def from_table(table: pd.DataFrame) -> DistillRuns:
    """Split a run table (the columns :data:`COLUMNS` at least) into :class:`DistillRuns`."""
    frame("table", table, COLUMNS)
    t = table.copy()
    t["tags"] = t.protocol.astype(str).str.split("+")
    dist = t[t.objective == "distillation"].copy()
    if dist.empty:
        raise ValueError("table must hold distillations (rows of objective 'distillation'); it has none")
    sup = t[t.objective == "supervised"]
    twins = sup[sup.split == "student"]
    # a run trained again with the copying probe (id suffix -r1) replaces its first run, as in part 1
    base = twins.run_id.astype(str).map(without_rerun)
    twins = twins[~twins.run_id.isin(set(base[base != twins.run_id]))]
    teachers = sup[sup.split == "teacher"].set_index("run_id")
    dist["teacher"] = dist.teacher_run_id.astype(str).map(part1_teacher)
    key = ["n_layers", "d_model", "tokens", "seed"]
    dup = twins.duplicated(key, keep=False)
    if dup.any():
        raise ValueError(f"table has several twins of one configuration: {sorted(twins.run_id[dup])[:4]}")
    merged = dist.merge(twins[key + ["val_ce", "ece", "run_id"]].rename(
        columns={"val_ce": "twin_loss", "ece": "twin_ece", "run_id": "twin_id"}), on=key, how="left")
    missing = tuple(sorted(merged.run_id[merged.twin_loss.isna()]))
    merged = merged[merged.twin_loss.notna()].reset_index(drop=True)
    merged["gap"] = np.log(merged.twin_loss) - np.log(merged.val_ce)
    return DistillRuns(merged, twins.reset_index(drop=True), teachers, missing)


def load(directory: str | Path = DIRECTORY) -> DistillRuns:
    """Part 2's runs of the run table in ``directory`` (:func:`from_table`)."""
    folder = existing_path("directory", directory, folder=True)
    if not (folder / "runs.csv").is_file():
        raise ValueError(f"directory must hold runs.csv (the replication's data live in data/replication/); "
                         f"{shown(str(folder))} has none")
    return from_table(pd.read_csv(folder / "runs.csv"))


def design(directory: str | Path = DIRECTORY) -> pd.DataFrame:
    """Part 2's design against what has run: per protocol of ``experiments.plan`` (planned in
    the setting the blocks plan with: the corpus manifest's smaller half and ``lr_choice.json``),
    its ``what``, the distillations ``planned`` and ``run`` (in ``runs.csv``), their twins
    planned and run, and the teachers and student sizes of the planned distillations; a last
    row ``all`` counts each run once."""
    import json

    from experiments import plan as P

    folder = existing_path("directory", directory, folder=True)
    for name in ("runs.csv", "corpus_manifest.json", "lr_choice.json"):
        if not (folder / name).is_file():
            raise ValueError(f"directory must hold {name} (the replication's data live in data/replication/); "
                             f"{shown(str(folder))} has none")
    tokens = json.loads((folder / "corpus_manifest.json").read_text())["tokens"]
    half = min(tokens["teacher"], tokens["student"])
    setting = P.Setting(half, json.loads((folder / "lr_choice.json").read_text())["lr"])
    done = set(pd.read_csv(folder / "runs.csv", usecols=["run_id"]).run_id)
    rows, every, twins_all = [], {}, {}
    for name, protocol in P.PROTOCOLS.items():
        if protocol.part != 2:
            continue
        runs = [r for r in protocol.runs(setting) if r is not None]
        twins = {t["run_id"]: t for t in (P.twin_of(setting, r) for r in runs)}
        every.update({r["run_id"]: r for r in runs})
        twins_all.update(twins)
        rows.append({"protocol": name, "what": protocol.what, "planned": len(runs),
                     "run": sum(r["run_id"] in done for r in runs), "twins_planned": len(twins),
                     "twins_run": sum(t in done for t in twins),
                     "teachers": len({r["teacher_run_id"] for r in runs}),
                     "student_sizes": len({(r["n_layers"], r["d_model"]) for r in runs})})
    rows.append({"protocol": "all", "what": "every part-2 distillation once", "planned": len(every),
                 "run": sum(k in done for k in every), "twins_planned": len(twins_all),
                 "twins_run": sum(t in done for t in twins_all),
                 "teachers": len({r["teacher_run_id"] for r in every.values()}),
                 "student_sizes": len({(r["n_layers"], r["d_model"]) for r in every.values()})})
    return pd.DataFrame(rows).set_index("protocol")


@dataclass(frozen=True)
class Noise:
    """Seed spreads: ``student`` (sd over seeds of ln L_S and of the gap, per distilled
    configuration with three or more seeds and their twins) and ``teacher`` (sd of ln L over
    seeds of part 1's teacher-half configurations), each with columns N, tokens, sd[, sd_gap]."""

    student: pd.DataFrame = field(repr=False)
    teacher: pd.DataFrame = field(repr=False)
    neighbours: int = NEIGHBOURS

    def __post_init__(self):
        frame("student", self.student, ("N", "tokens", "sd", "sd_gap"))
        frame("teacher", self.teacher, ("N", "tokens", "sd"))
        integer("neighbours", self.neighbours, 1, max(1, min(len(self.student), len(self.teacher))))

    @property
    def dof(self) -> int:
        """Degrees of freedom of a noise estimate (two per neighbour: three seeds each)."""
        return 2 * self.neighbours

    def at(self, N, D, what: str = "sd") -> np.ndarray:
        """The noise ``what`` ("sd", "sd_gap" or "teacher") at students (or, for "teacher",
        teachers) of sizes ``N`` and tokens ``D``: the RMS over the nearest seeded configurations."""
        ref = self.teacher if what == "teacher" else self.student
        col = "sd" if what == "teacher" else what
        if col not in ref:
            raise ValueError(f"what must be 'sd', 'sd_gap' or 'teacher'; got {shown(what)}")
        x = np.column_stack([np.log(np.asarray(N, float)).ravel(), np.log(np.asarray(D, float)).ravel()])
        y = np.column_stack([np.log(ref.N.to_numpy(float)), np.log(ref.tokens.to_numpy(float))])
        dist = np.linalg.norm(x[:, None, :] - y[None, :, :], axis=2)
        near = np.argsort(dist, axis=1, kind="stable")[:, :self.neighbours]
        v = ref[col].to_numpy(float)[near]
        return np.sqrt(np.mean(v ** 2, axis=1))


def seed_noise(runs: DistillRuns, neighbours: int = NEIGHBOURS) -> Noise:
    """The seed spreads of part 2 (distillations with their twins) and of part 1's teachers."""
    instance("runs", runs, DistillRuns)
    neighbours = integer("neighbours", neighbours, 1)
    d = runs.distilled.assign(lnL=np.log(runs.distilled.val_ce))
    g = d.groupby(["teacher", "N", "tokens"]).agg(seeds=("seed", "nunique"), sd=("lnL", "std"),
                                                  sd_gap=("gap", "std")).reset_index()
    student = g[g.seeds >= 3].reset_index(drop=True)
    t = runs.teachers.assign(lnL=np.log(runs.teachers.val_ce))
    t = t[t.index.map(part1_teacher) == t.index]  # part 1's runs, not the retrained teachers
    tg = t.groupby(["N", "tokens"]).agg(seeds=("seed", "nunique"), sd=("lnL", "std")).reset_index()
    teacher = tg[tg.seeds >= 3].reset_index(drop=True)
    for name, f in (("distilled configurations", student), ("teacher configurations", teacher)):
        if not len(f):
            raise ValueError(f"runs must hold {name} with three seeds to measure the seed noise; these have none")
        if len(f) < neighbours:
            raise ValueError(f"neighbours must be an integer in [1, {len(f)}] for these runs (only {len(f)} "
                             f"{name} have three seeds); got {shown(neighbours)}")
    return Noise(student, teacher, neighbours)


@dataclass(frozen=True)
class ClaimResult:
    """A claim judged by its rule (module docstring): ``claim`` (its letter), ``verdicts``
    (each sub-claim's verdict, one of :data:`VERDICTS`, by name: "a", or "c1" and "c2"),
    ``values`` (the numbers the chapter quotes, by name) and ``table`` (the comparisons the
    verdicts rest on, one row each)."""

    claim: str
    verdicts: dict
    values: dict
    table: pd.DataFrame = field(repr=False)

    def __post_init__(self):
        if not isinstance(self.claim, str) or not self.claim:
            raise TypeError(f"claim must be a claim's letter (a non-empty string); got {shown(self.claim)}")
        if not isinstance(self.verdicts, dict) or not self.verdicts or \
                not all(isinstance(k, str) and v in VERDICTS for k, v in self.verdicts.items()):
            raise ValueError(f"verdicts must map names to one of {VERDICTS}; got {shown(self.verdicts)}")
        if not isinstance(self.values, dict) or not all(isinstance(k, str) for k in self.values):
            raise TypeError(f"values must map names (strings) to numbers; got {shown(self.values)}")
        for k, v in self.values.items():
            if isinstance(v, bool) or not isinstance(v, (int, float, np.integer, np.floating)):
                raise TypeError(f"values must map names to numbers; {k!r} is {shown(v)}")
        instance("table", self.table, pd.DataFrame)


def _tag(tag) -> str:
    if not isinstance(tag, str) or not tag:
        raise TypeError(f"tag must be a protocol tag (a non-empty string); got {shown(tag)}")
    return tag


def _groups(groups) -> dict:
    """Teacher id -> group index, after checking ``groups`` is a non-empty sequence of
    non-empty sequences of teacher ids (strings)."""
    message = f"groups must be a non-empty sequence of groups of teacher ids (strings); got {shown(groups)}"
    if isinstance(groups, (str, bytes)) or not isinstance(groups, (list, tuple)) or not groups:
        raise TypeError(message)
    member = {}
    for k, grp in enumerate(groups):
        if isinstance(grp, (str, bytes)) or not isinstance(grp, (list, tuple)) or not grp:
            raise TypeError(message)
        for tid in grp:
            if not isinstance(tid, str):
                raise TypeError(message)
            member[tid] = k
    return member


def _p_two(z, dof) -> np.ndarray:
    return 2 * stats.t.sf(np.abs(z), dof)


def _p_one(z, dof) -> np.ndarray:
    return stats.t.sf(z, dof)


def teacher_loss_only(runs: DistillRuns, noise: Noise, groups=EQUAL_LOSS_TEACHERS, *, tag: str = "p2-equal-loss",
                      alpha: float = ALPHA, equivalence: float = EQUIVALENCE) -> ClaimResult:
    """``groups``: the teacher groups (part-1 run ids; protocol 4's, :data:`EQUAL_LOSS_TEACHERS`, by default)."""
    instance("runs", runs, DistillRuns), instance("noise", noise, Noise)
    alpha, equivalence = in_range("alpha", alpha, 1e-6, 0.5), in_range("equivalence", equivalence, 1e-6, 1.0)
    member, tag = _groups(groups), _tag(tag)
    d = runs.distilled
    d = d[d.tags.apply(lambda t: tag in t) & (d.seed == 0) & d.teacher.isin(member)]
    if d.empty:
        raise ValueError(f"no seed-0 distillation tagged {shown(tag)} learnt from a teacher of groups")
    d = d.assign(group=d.teacher.map(member))
    rows = []
    for (k, n, tokens), c in d.groupby(["group", "N", "tokens"]):
        c = c.sort_values("teacher_N").reset_index(drop=True)
        for i in range(len(c)):
            for j in range(i + 1, len(c)):
                a, b = c.iloc[j], c.iloc[i]  # a: the larger teacher
                rows.append(dict(group=k, N_S=n, D_S=tokens, teacher_large=a.teacher, teacher_small=b.teacher,
                                 d=math.log(a.val_ce / b.val_ce), d_teacher=math.log(a.teacher_loss / b.teacher_loss)))
    pairs = pd.DataFrame(rows)
    if pairs.empty:
        raise ValueError("no group has two teachers with a student of one size: claim (a) has no pair to compare")
    pairs["noise"] = math.sqrt(2) * noise.at(pairs.N_S, pairs.D_S)
    pairs["p"] = _p_two(pairs.d / pairs.noise, noise.dof)
    pairs["p_holm"] = holm(pairs.p.to_numpy())
    pairs["differs"] = (pairs.p_holm <= alpha) & (pairs.d.abs() > pairs.d_teacher.abs())
    half = stats.t.ppf(0.95, noise.dof) * pairs.noise
    pairs["equivalent"] = (pairs.d.abs() + half) < equivalence
    verdict = ("does not hold" if pairs.differs.any() else
               "holds" if (pairs.p_holm > alpha).all() and pairs.equivalent.all() else "cannot tell")
    return ClaimResult("a", {"a": verdict}, {
        "groups": int(pairs.group.nunique()), "pairs": len(pairs), "differ": int(pairs.differs.sum()),
        "equivalent": int(pairs.equivalent.sum()), "max_abs": float(pairs.d.abs().max()),
        "larger_better": float((pairs.d < 0).mean())}, pairs)


def _vertex(x: np.ndarray, y: np.ndarray, k: int) -> float:
    """The vertex of the parabola through points k - 1, k, k + 1 (x sorted), kept inside
    [x[k-1], x[k+1]]; x[k] at an end, where two of the points share x, or if it opens down."""
    if k == 0 or k == len(x) - 1:
        return float(x[k])
    (x0, x1, x2), (y0, y1, y2) = x[k - 1:k + 2], y[k - 1:k + 2]
    denom = (x0 - x1) * (x0 - x2) * (x1 - x2)
    if abs(denom) < 1e-12:
        return float(x1)
    a = (x2 * (y1 - y0) + x1 * (y0 - y2) + x0 * (y2 - y1)) / denom
    b = (x2 ** 2 * (y0 - y1) + x1 ** 2 * (y2 - y0) + x0 ** 2 * (y1 - y2)) / denom
    return float(np.clip(-b / (2 * a), x0, x2)) if a > 0 else float(x1)


def capacity_gap(runs: DistillRuns, noise: Noise, *, min_teachers: int = MIN_TEACHERS,
                 alpha: float = ALPHA) -> ClaimResult:
    instance("runs", runs, DistillRuns), instance("noise", noise, Noise)
    min_teachers = integer("min_teachers", min_teachers, 3)
    alpha = in_range("alpha", alpha, 1e-6, 0.5)
    rows = []
    d0 = runs.distilled[runs.distilled.seed == 0]
    for (n, tokens), c in d0.groupby(["N", "tokens"]):
        c = c.drop_duplicates("teacher").sort_values("teacher_loss")
        if len(c) < min_teachers:
            continue
        lnS, lnT = np.log(c.val_ce.to_numpy()), np.log(c.teacher_loss.to_numpy())
        k = int(np.argmin(lnS))
        sigma = math.sqrt(2) * float(noise.at([n], [tokens])[0])
        worse = min(lnS[0], lnS[-1]) - lnS[k]
        p = float(_p_one(worse / sigma, noise.dof)) if 0 < k < len(c) - 1 else 1.0
        star = math.exp(_vertex(lnT, lnS, k))
        rows.append(dict(N_S=n, D_S=tokens, teachers=len(c), best_teacher=c.teacher.iloc[k],
                         best_L_T=c.teacher_loss.iloc[k], L_T_star=star, twin_loss=c.twin_loss.iloc[0],
                         interior=0 < k < len(c) - 1, worse=worse, p=p))
    configs = pd.DataFrame(rows)
    if configs.empty:
        most = int(d0.groupby(["N", "tokens"]).teacher.nunique().max())
        raise ValueError(f"min_teachers must be an integer in [3, {most}] for these runs (no student "
                         f"configuration has more teachers); got {shown(min_teachers)}")
    configs["p_holm"] = holm(configs.p.to_numpy())
    configs["resolved"] = configs.interior & (configs.p_holm <= alpha)
    configs["ratio"] = configs.L_T_star / configs.twin_loss
    u = configs[configs.resolved]
    verdict = ("holds" if len(u) >= 2 else "does not hold" if not configs.interior.any() else "cannot tell")
    values = {"configs": len(configs), "interior": int(configs.interior.sum()), "resolved": len(u)}
    if len(u):  # where the minimum lies, over the resolved Us
        values.update(ratio_med=float(u.ratio.median()), ratio_min=float(u.ratio.min()), ratio_max=float(u.ratio.max()))
    return ClaimResult("b", {"b": verdict}, values, configs)


def teacher_line_scatter(runs: DistillRuns, max_teacher_loss: float, *,
                         min_teachers: int = MIN_TEACHERS) -> pd.DataFrame:
    """How far one student's losses scatter from a smooth dependence on its teacher's loss: per
    student configuration (seed 0) with ``min_teachers`` or more teachers of loss below
    ``max_teacher_loss`` (nats), the residual standard deviation (two degrees of freedom spent)
    of ln L_S about its least-squares line in ln L_T. Not a rule of the module docstring: a
    diagnostic for the seed noise the rules borrow, since a scatter far above it means either
    that something besides L_T moves the student or that the noise there is larger."""
    instance("runs", runs, DistillRuns)
    max_teacher_loss = in_range("max_teacher_loss", max_teacher_loss, 0.0, 20.0)
    min_teachers = integer("min_teachers", min_teachers, 3)
    d0 = runs.distilled[(runs.distilled.seed == 0) & (runs.distilled.teacher_loss < max_teacher_loss)]
    rows = []
    for (n, tokens), c in d0.groupby(["N", "tokens"]):
        c = c.drop_duplicates("teacher")
        if len(c) < min_teachers:
            continue
        x, y = np.log(c.teacher_loss.to_numpy(float)), np.log(c.val_ce.to_numpy(float))
        residuals = y - np.polyval(np.polyfit(x, y, 1), x)
        rows.append(dict(N_S=n, D_S=tokens, teachers=len(c), sd=float(np.sqrt(np.sum(residuals ** 2) / (len(c) - 2)))))
    if not rows:
        raise ValueError(f"max_teacher_loss and min_teachers must leave min_teachers or more teachers below "
                         f"max_teacher_loss for some student configuration; got max_teacher_loss "
                         f"{shown(max_teacher_loss)}, min_teachers {shown(min_teachers)}")
    return pd.DataFrame(rows)


def _crossing(lnD: np.ndarray, gap: np.ndarray) -> float:
    s = np.sign(gap)
    idx = np.where((s[:-1] > 0) & (s[1:] <= 0))[0]
    if not len(idx):
        return float("nan")
    i = idx[0]
    return float(math.exp(lnD[i] - gap[i] * (lnD[i + 1] - lnD[i]) / (gap[i + 1] - gap[i])))


def small_budget_advantage(runs: DistillRuns, noise: Noise, *, tag: str = "p2-fixed-m-students",
                           alpha: float = ALPHA, min_budgets: int = 3) -> ClaimResult:
    instance("runs", runs, DistillRuns), instance("noise", noise, Noise)
    alpha = in_range("alpha", alpha, 1e-6, 0.5)
    min_budgets, tag = integer("min_budgets", min_budgets, 2), _tag(tag)
    d = runs.distilled
    d = d[d.tags.apply(lambda t: tag in t) & (d.seed == 0)]
    rows = []
    for (teacher, n), c in d.groupby(["teacher", "N"]):
        c = c.sort_values("tokens")
        if len(c) < min_budgets or not c.teacher_loss.iloc[0] < c.twin_loss.iloc[0]:
            continue
        lnD, gap = np.log(c.tokens.to_numpy(float)), c.gap.to_numpy()
        sg = noise.at([n], [c.tokens.iloc[0]], "sd_gap")[0]
        sl = noise.at([n], [c.tokens.iloc[-1]], "sd_gap")[0]
        rows.append(dict(teacher=teacher, L_T=c.teacher_loss.iloc[0], N_S=n, budgets=len(c),
                         gap_small=gap[0], gap_large=gap[-1],
                         p_small=float(_p_one(gap[0] / sg, noise.dof)),
                         p_catch=float(_p_one((gap[0] - gap[-1]) / math.hypot(sg, sl), noise.dof)),
                         D_cross=_crossing(lnD, gap)))
    series = pd.DataFrame(rows)
    if series.empty:
        most = int(d.groupby(["teacher", "N"]).size().max()) if len(d) else 0
        if min_budgets > most:
            raise ValueError(f"min_budgets must be an integer in [2, {max(most, 2)}] for these runs (no series "
                             f"tagged {shown(tag)} has more budgets); got {shown(min_budgets)}")
        raise ValueError(f"tag {shown(tag)}: no series of {min_budgets} or more budgets has a teacher better "
                         "than the student's twin")
    series["p_small_holm"] = holm(series.p_small.to_numpy())
    series["p_catch_holm"] = holm(series.p_catch.to_numpy())
    series["both"] = (series.p_small_holm <= alpha) & (series.p_catch_holm <= alpha)
    both = int(series.both.sum())
    c1 = "holds" if both >= len(series) / 2 else ("does not hold" if both == 0 else "cannot tell")
    slope, p_rise, p_fall, n_teachers = _crossover_trend(series)
    c2 = ("holds" if p_rise <= alpha else "does not hold" if p_fall <= alpha else "cannot tell")
    values = {"series": len(series), "both": both, "crossings": int(series.D_cross.notna().sum()),
              "trend_teachers": n_teachers}
    if n_teachers:
        values.update(trend_slope=slope, trend_p_rise=p_rise, trend_p_fall=p_fall)
    return ClaimResult("c", {"c1": c1, "c2": c2}, values, series)


def _crossover_trend(series: pd.DataFrame) -> tuple[float, float, float, int]:
    """Slope of ln D_cross on ln N_S within teachers (those with crossovers at two or more
    sizes), and its one-sided p-values for a rise and for a fall (residual t-test)."""
    c = series[series.D_cross.notna()]
    c = c[c.groupby("teacher").N_S.transform("nunique") >= 2]
    n_teachers = int(c.teacher.nunique())
    dof = len(c) - n_teachers - 1
    if n_teachers == 0 or dof < 1:
        return float("nan"), 1.0, 1.0, n_teachers
    x = np.log(c.N_S) - np.log(c.N_S).groupby(c.teacher).transform("mean")
    y = np.log(c.D_cross) - np.log(c.D_cross).groupby(c.teacher).transform("mean")
    slope = float((x * y).sum() / (x * x).sum())
    resid = y - slope * x
    se = math.sqrt(float((resid ** 2).sum()) / dof / float((x * x).sum()))
    t = slope / se if se > 0 else math.copysign(math.inf, slope)
    return slope, float(stats.t.sf(t, dof)), float(stats.t.cdf(t, dof)), n_teachers


def student_beats_teacher(runs: DistillRuns, noise: Noise, *, alpha: float = ALPHA) -> ClaimResult:
    instance("runs", runs, DistillRuns), instance("noise", noise, Noise)
    alpha = in_range("alpha", alpha, 1e-6, 0.5)
    d = runs.distilled.assign(margin=np.log(runs.distilled.teacher_loss) - np.log(runs.distilled.val_ce))
    beats = d[d.margin > 0].copy()
    if len(beats):
        t = runs.teachers.reindex(beats.teacher)
        if t.N.isna().any():
            raise ValueError(f"runs lacks the part-1 rows of teachers {sorted(set(beats.teacher[t.N.isna().to_numpy()]))[:3]}")
        sigma = np.hypot(noise.at(beats.N, beats.tokens), noise.at(t.N, t.tokens, "teacher"))
        beats["p"] = _p_one(beats.margin.to_numpy() / sigma, noise.dof)
        beats["p_holm"] = holm(beats.p.to_numpy())
    else:
        beats = beats.assign(p=[], p_holm=[])
    significant = int((beats.p_holm <= alpha).sum())
    verdict = "holds" if significant else ("cannot tell" if len(beats) else "does not hold")
    return ClaimResult("d", {"d": verdict}, {"positive": len(beats), "significant": significant,
                                             "max_margin": float(d.margin.max())}, beats)


def calibration(runs: DistillRuns, *, min_teachers: int = MIN_TEACHERS, limit: float = ECE_LIMIT,
                share: float = KL_SHARE) -> ClaimResult:
    instance("runs", runs, DistillRuns)
    min_teachers = integer("min_teachers", min_teachers, 3)
    limit, share = in_range("limit", limit, 1e-6, 1.0), in_range("share", share, 0.0, 1.0)
    d = runs.distilled
    used = runs.teachers[runs.teachers.index.isin(d.teacher_run_id)]
    rho = [stats.spearmanr(c.teacher_loss, c.kl_to_teacher).statistic
           for _, c in d[d.seed == 0].groupby(["N", "tokens"]) if c.teacher.nunique() >= min_teachers]
    rho = np.array([r for r in rho if np.isfinite(r)])
    if not len(rho):
        most = int(d[d.seed == 0].groupby(["N", "tokens"]).teacher.nunique().max())
        raise ValueError(f"min_teachers must be an integer in [3, {most}] for these runs (no student "
                         f"configuration has more teachers); got {shown(min_teachers)}")
    kl_share = float((rho < 0).mean())
    verdicts = {"e1": "holds" if used.ece.max() < limit else "does not hold",
                "e2": "holds" if d.ece.max() < limit else "does not hold",
                "e3": "holds" if kl_share >= share else "does not hold"}
    values = {"teacher_ece_max": float(used.ece.max()), "student_ece_med": float(d.ece.median()),
              "student_ece_max": float(d.ece.max()), "twin_ece_med": float(d.twin_ece.median()),
              "kl_configs": len(rho), "kl_share": kl_share}
    return ClaimResult("e", verdicts, values, pd.DataFrame({"kl_rho": rho}))


# -- Eq. 8 fitted, extrapolated and against simple baselines -------------------------------
#
# Rules fixed with the claims' (before any part-2 run was looked at): the *strong students*
# of an extrapolation (Figs. 1 and 5b: fit on the weaker students, predict the stronger) are
# the STRONG_SHARE of distillations with the lowest student loss; a model is judged by the
# RMS of its log residuals on the runs it did not see. The baselines need no law: the
# *twin* baseline predicts L_S = L_twin (distillation changes nothing), and the *ratio* curve
# ln(L_S / L_twin) = a + b x + c x^2 with x = ln(L_T / L_twin) (three parameters, least
# squares) predicts any student from its twin and its teacher.

#: Share of the distillations held out as the strong students of an extrapolation.
STRONG_SHARE = 0.2


def eq8_data(frame_: pd.DataFrame, supervised=None) -> dict:
    """Eq. 8's data (``analysis.fit``'s names) from distillation rows (``DistillRuns.distilled``
    or part of it): with ``supervised`` (``SupervisedCoefficients``) the student's supervised
    loss comes from that law; without, from the measured twins (``L_tilde``)."""
    from analysis.laws import SupervisedCoefficients

    frame("frame_", frame_, ("N", "tokens", "teacher_loss", "val_ce", "twin_loss"))
    data = {"N_S": frame_.N.to_numpy(float), "D_S": frame_.tokens.to_numpy(float),
            "L_T": frame_.teacher_loss.to_numpy(float), "L_S": frame_.val_ce.to_numpy(float)}
    if supervised is None:
        data["L_tilde"] = frame_.twin_loss.to_numpy(float)
    else:
        instance("supervised", supervised, SupervisedCoefficients, " (analysis.laws)")
        data["supervised"] = supervised
    return data


def _eq8_law(supervised):
    from analysis import fit as F

    return F.DISTILLATION if supervised is not None else F.DISTILLATION_TWINS


def fit_eq8(frame_: pd.DataFrame, supervised=None, *, grid=None, search=None):
    """Eq. 8 fitted (``analysis.fit.fit``, the paper's grid and search unless given) to the
    distillation rows ``frame_``: with measured twins, or with ``supervised`` inside."""
    from analysis import fit as F

    return F.fit(_eq8_law(supervised), grid=grid, search=search, **eq8_data(frame_, supervised))


def predict_eq8(result, frame_: pd.DataFrame, supervised=None) -> np.ndarray:
    """ln L_S that a fit of :func:`fit_eq8` (a ``FitResult``) predicts for the rows ``frame_``."""
    from analysis import fit as F

    instance("result", result, F.FitResult, " (analysis.fit)")
    law = _eq8_law(supervised)
    if tuple(result.parameter_names) != law.parameters:
        raise ValueError(f"result must be a fit of Eq. 8 (parameters {law.parameters}); got {result.parameter_names}")
    x, _ = law.prepare(**eq8_data(frame_, supervised))
    y, _ = law.predict(np.asarray(result.theta, float)[None, :], x, False)
    return y[0]


def ratio_baseline(frame_: pd.DataFrame) -> np.ndarray:
    """The ratio curve's coefficients (a, b, c), least squares on the rows ``frame_``."""
    frame("frame_", frame_, ("teacher_loss", "val_ce", "twin_loss"))
    x = np.log(frame_.teacher_loss.to_numpy(float) / frame_.twin_loss.to_numpy(float))
    y = np.log(frame_.val_ce.to_numpy(float) / frame_.twin_loss.to_numpy(float))
    if len(np.unique(np.round(x, 12))) < 3:
        raise ValueError(f"frame_ must hold students of three or more distinct teacher-to-twin ratios to fit "
                         f"the ratio curve; got {len(np.unique(np.round(x, 12)))}")
    return np.polyfit(x, y, 2)[::-1].copy()


def predict_ratio_baseline(coef, frame_: pd.DataFrame) -> np.ndarray:
    """ln L_S that the ratio curve of coefficients ``coef`` (a, b, c) predicts for ``frame_``."""
    coef = values_in_range("coef", coef, -1e6, 1e6)
    if coef.shape != (3,):
        raise ValueError(f"coef must be three finite numbers (a, b, c); got {shown(coef)}")
    frame("frame_", frame_, ("teacher_loss", "twin_loss"))
    lt = np.log(frame_.twin_loss.to_numpy(float))
    x = np.log(frame_.teacher_loss.to_numpy(float)) - lt
    return lt + coef[0] + coef[1] * x + coef[2] * x * x


def strong_students(runs: DistillRuns, share: float = STRONG_SHARE) -> np.ndarray:
    """The mask of the held-out strong students: the ``share`` of distillations with the lowest loss."""
    instance("runs", runs, DistillRuns)
    share = in_range("share", share, 0.01, 0.5)
    loss = runs.distilled.val_ce.to_numpy(float)
    return loss <= np.quantile(loss, share)


def held_out_errors(frame_: pd.DataFrame, predictions: dict) -> pd.DataFrame:
    """Per model (``predictions``: name -> predicted ln L_S for the rows ``frame_``), the RMS
    and the largest absolute log residual, and the mean (bias), on those rows."""
    frame("frame_", frame_, ("val_ce",))
    if not isinstance(predictions, dict) or not predictions:
        raise TypeError(f"predictions must map model names to arrays of predicted ln L_S; got {shown(predictions)}")
    truth = np.log(frame_.val_ce.to_numpy(float))
    rows = []
    for name, pred in predictions.items():
        pred = np.asarray(pred, dtype=float)
        if pred.shape != truth.shape or not np.all(np.isfinite(pred)):
            raise ValueError(f"predictions[{name!r}] must hold {truth.size} finite values; got {shown(pred)}")
        r = pred - truth
        rows.append({"model": name, "rms": float(np.sqrt(np.mean(r * r))), "max_abs": float(np.abs(r).max()),
                     "bias": float(r.mean()), "runs": int(r.size)})
    return pd.DataFrame(rows).set_index("model")


def leave_one_teacher_out(frame_: pd.DataFrame, supervised=None, *, grid=None, search=None) -> pd.DataFrame:
    """Per teacher (``teacher`` column) of the distillation rows ``frame_``: Eq. 8
    (:func:`fit_eq8`, with ``supervised`` inside or the measured twins) and the ratio curve
    fitted to the other teachers' students, and the RMS log error of each, and of the twin
    baseline, on this teacher's students; one row per teacher (``students``, ``eq8``,
    ``ratio``, ``twin``)."""
    import warnings

    frame("frame_", frame_, ("teacher", "N", "tokens", "teacher_loss", "val_ce", "twin_loss"))
    teachers = frame_.teacher.unique()
    if len(teachers) < 3:
        raise ValueError(f"frame_ must hold students of three or more teachers to leave one out; got {len(teachers)}")
    rows = []
    for t in teachers:
        held, rest = frame_[frame_.teacher == t], frame_[frame_.teacher != t]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # a fit's diagnostics belong to the fit on every teacher
            fit = fit_eq8(rest, supervised, grid=grid, search=search)
        errors = held_out_errors(held, {"eq8": predict_eq8(fit, held, supervised),
                                        "ratio": predict_ratio_baseline(ratio_baseline(rest), held),
                                        "twin": np.log(held.twin_loss.to_numpy(float))})
        rows.append({"teacher": t, "students": len(held), **errors.rms.to_dict()})
    return pd.DataFrame(rows).set_index("teacher")


def supervised_misfit(runs: DistillRuns, supervised) -> pd.DataFrame:
    """How far a supervised law (``SupervisedCoefficients``) is from the measured seed-0 twins
    of the distillations in ``runs``, per student configuration: ``error`` = ln L(N, D) -
    ln L_twin, and ``copies``: whether the twin's copying probe (its ``copy_curve``) ends below
    ln(vocabulary), the set-up chapter's test of having learned to copy (False where the twin
    records no probe)."""
    from analysis.laws import SupervisedCoefficients, supervised_loss

    instance("runs", runs, DistillRuns)
    instance("supervised", supervised, SupervisedCoefficients, " (analysis.laws)")
    used = runs.distilled[runs.distilled.seed == 0][["N", "tokens"]].drop_duplicates()
    t = runs.twins[runs.twins.seed == 0].merge(used, on=["N", "tokens"]).sort_values(["N", "tokens"])
    law = np.log(supervised_loss(t.N.to_numpy(float), t.tokens.to_numpy(float), supervised))
    from analysis.replication_setup import curve

    probe = t.get("copy_curve", pd.Series("", index=t.index))
    final = [curve(row, "copy_curve").val_ce.iloc[-1] if isinstance(c, str) and c else math.inf
             for (_, row), c in zip(t.iterrows(), probe)]
    vocab = t.vocab.to_numpy(float) if "vocab" in t else np.full(len(t), np.nan)
    return pd.DataFrame({"N": t.N.to_numpy(), "tokens": t.tokens.to_numpy(), "twin_loss": t.val_ce.to_numpy(),
                         "error": law - np.log(t.val_ce.to_numpy(float)),
                         "copies": np.asarray(final) < np.log(vocab)})
