"""The claims of part 2 (analysis.replication_distill) on synthetic run tables whose truth
is known: a student's gain over its twin peaks at an interior teacher strength (a capacity
gap), falls with tokens and crosses zero later for larger students, depends on the teacher
only through its loss (or, in a variant, on its size too), and weak teachers are beaten."""

import math

import numpy as np
import pandas as pd
import pytest

from analysis import replication_distill as RD
from tests.test_replication_data import PART2_BLOCKS

SIZES = (1e6, 2e6, 4e6)
MS = (20, 40, 80, 160, 320)
SD = 0.003


def _sup(N, D):
    return 1.6 + 40 * N ** -0.3 + 400 * D ** -0.3


def _row(**kw):
    base = dict(protocol="x", objective="supervised", split="student", teacher_run_id="", teacher_N=np.nan,
                teacher_loss=np.nan, teacher_ece=np.nan, kl_to_teacher=np.nan, ece=0.004)
    base.update(kw)
    base["n_layers"], base["d_model"] = int(base["N"] // 1000), 64
    return base


def _partner_tokens(L, N):
    """Tokens at which size N reaches loss L under _sup."""
    return (400 / (L - 1.6 - 40 * N ** -0.3)) ** (1 / 0.3)


def synthetic(size_effect=0.0, seed=0):
    """Teachers k (ids s-L{k}d64-D...-t-s0, seeds 0-2 on the teacher half), their retrained
    copies (-p2a), students of SIZES at MS distilled from every teacher (seeds 0-2 at a few
    configurations) and their twins. Two groups of equal-loss teachers (a size-20M teacher and
    a smaller one trained longer); ``size_effect``: extra log loss of the students of each
    group's larger teacher (claim (a) then fails). Returns (table, groups)."""
    rng = np.random.default_rng(seed)
    teachers = [(k, N, 20 * N) for k, N in enumerate((0.5e6, 1e6, 3e6, 8e6, 20e6, 50e6))]
    teachers += [(10, 3e6, _partner_tokens(_sup(8e6, 160e6), 3e6)), (11, 8e6, _partner_tokens(_sup(20e6, 400e6), 8e6))]
    rows, losses = [], {}
    for k, N, D in teachers:
        L = _sup(N, D)
        tid = f"s-L{k}d64-D{int(D)}-t-s0"
        losses[tid] = (L, N)
        for s in (0, 1, 2):
            rows.append(_row(run_id=tid.replace("-s0", f"-s{s}"), split="teacher", N=N, tokens=int(D), seed=s,
                             val_ce=L * math.exp(rng.normal(0, SD))))
        rows.append(_row(run_id=tid + "-p2a", protocol="p2-teachers", split="teacher", N=N, tokens=int(D), seed=0,
                         val_ce=L))
    big = {tid for tid, (L, N) in losses.items() if tid.startswith(("s-L3d64", "s-L4d64"))}
    for N in SIZES:
        crossover = 60 * N / 1e6  # tokens per parameter where the gain reaches zero
        for M in MS:
            D = int(M * N)
            Ls = _sup(N, D)
            for s in (0, 1, 2):
                rows.append(_row(run_id=f"s-{N:g}-{D}-s{s}", N=N, tokens=D, seed=s, val_ce=Ls * math.exp(rng.normal(0, SD))))
            for tid, (LT, NT) in losses.items():
                x = math.log(Ls / LT)
                g = (0.5 * x - 1.0 * x * x) * (1 - math.log(M / 20) / math.log(crossover / 20))
                extra = size_effect if tid in big else 0.0
                for s in ((0, 1, 2) if M in (20, 40) and N == 4e6 else (0,)):
                    rows.append(_row(run_id=f"d-{tid}--{N:g}-{D}-s{s}", protocol="p2-fixed-m-students+p2-equal-loss",
                                     objective="distillation", N=N, tokens=D, seed=s, teacher_run_id=tid + "-p2a",
                                     teacher_N=NT, teacher_loss=LT, teacher_ece=0.005, kl_to_teacher=0.1 + 0.5 * x,
                                     val_ce=Ls * math.exp(-g + extra + rng.normal(0, SD))))
    ids = {k: tid for tid in losses for k in range(12) if tid.startswith(f"s-L{k}d64-")}
    return pd.DataFrame(rows), [[ids[3], ids[10]], [ids[4], ids[11]]]


@pytest.fixture(scope="module")
def honest():
    table, groups = synthetic()
    runs = RD.from_table(table)
    return runs, RD.seed_noise(runs), groups


def test_runs_pair_each_distillation_with_its_twin(honest):
    runs, noise, _ = honest
    d = runs.distilled
    assert not runs.missing_twins and len(d) == 3 * 5 * 8 + 2 * 2 * 8
    assert (d.teacher + "-p2a" == d.teacher_run_id).all()
    assert np.allclose(d.gap, np.log(d.twin_loss / d.val_ce))
    assert len(noise.student) == 16 and noise.dof == 6
    assert noise.at([4e6], [80e6])[0] == pytest.approx(SD, rel=0.6)  # three seeds: a rough estimate


def test_claims_on_a_world_where_they_hold(honest):
    runs, noise, groups = honest
    a = RD.teacher_loss_only(runs, noise, groups)
    assert a.verdicts == {"a": "holds"} and a.values["differ"] == 0 and a.values["pairs"] == 2 * 3 * 5
    b = RD.capacity_gap(runs, noise)
    assert b.verdicts == {"b": "holds"} and b.values["resolved"] >= 2 and b.values["interior"] >= 2
    assert 0.5 < b.values["ratio_min"] <= b.values["ratio_med"] <= b.values["ratio_max"] < 1.0
    c = RD.small_budget_advantage(runs, noise)
    assert c.verdicts == {"c1": "holds", "c2": "holds"} and c.values["trend_slope"] > 0
    d = RD.student_beats_teacher(runs, noise)
    assert d.verdicts == {"d": "holds"} and d.values["significant"] >= 1 and (d.table.margin > 0).all()
    e = RD.calibration(runs)
    assert e.verdicts == {"e1": "holds", "e2": "holds", "e3": "holds"} and e.values["kl_share"] == 1.0


def test_claim_a_fails_where_the_teachers_size_matters():
    table, groups = synthetic(size_effect=0.03)
    runs = RD.from_table(table)
    a = RD.teacher_loss_only(runs, RD.seed_noise(runs), groups)
    assert a.verdicts == {"a": "does not hold"} and a.values["differ"] >= 1


def test_a_world_without_a_gap_or_a_catch_up():
    table, _ = synthetic()
    d = table.objective == "distillation"
    twin = table[~d & (table.split == "student")].set_index(["N", "tokens", "seed"]).val_ce
    # every student 3% better than its twin, whatever the teacher and the tokens
    table.loc[d, "val_ce"] = [twin[(n, t, s)] * math.exp(-0.03) for n, t, s in
                              zip(table.N[d], table.tokens[d], table.seed[d])]
    runs = RD.from_table(table)
    noise_free = RD.Noise(RD.seed_noise(RD.from_table(synthetic()[0])).student, RD.seed_noise(runs).teacher)
    c = RD.small_budget_advantage(runs, noise_free)
    assert c.verdicts == {"c1": "does not hold", "c2": "cannot tell"} and c.values["crossings"] == 0


def test_bad_inputs_are_named():
    table, groups = synthetic()
    with pytest.raises(ValueError, match="distillations"):
        RD.from_table(table[table.objective != "distillation"])
    runs = RD.from_table(table)
    with pytest.raises(ValueError, match="neighbours"):
        RD.seed_noise(runs, neighbours=99)
    noise = RD.seed_noise(runs)
    with pytest.raises(ValueError, match="min_teachers"):
        RD.capacity_gap(runs, noise, min_teachers=50)
    with pytest.raises(ValueError, match="what must be"):
        noise.at([1e6], [1e7], "nope")
    with pytest.raises(TypeError):
        RD.calibration(table)


def test_holm_matches_the_definition():
    p = np.array([0.01, 0.04, 0.03, 0.5])
    assert RD.holm(p) == pytest.approx([0.04, 0.09, 0.09, 0.5])
    with pytest.raises(ValueError, match="p must be"):
        RD.holm([0.2, 1.5])


def _eq8_world(sigma=0.0):
    """Distillations whose losses follow Eq. 8 (the paper's coefficients) with twins on the
    paper's supervised law; students of six sizes at three budgets from eight teachers."""
    from analysis.laws import PAPER_DISTILLATION, distilled_loss, supervised_loss

    rng = np.random.default_rng(1)
    rows = []
    for N in np.geomspace(1e8, 3e9, 6):
        for M in (20, 80, 320):
            D = M * N
            Lt = float(supervised_loss(N, D))
            for k, LT in enumerate(np.linspace(1.9, 3.2, 8)):
                L = float(distilled_loss(N, D, LT, PAPER_DISTILLATION)) * math.exp(rng.normal(0, sigma))
                rows.append(dict(N=N, tokens=D, teacher_loss=LT, val_ce=L, twin_loss=Lt, teacher=f"t{k}"))
    return pd.DataFrame(rows)


def test_eq8_with_twins_fits_its_own_world_and_the_baselines_predict():
    import dataclasses

    from analysis import fit as F
    from analysis.laws import PAPER_DISTILLATION as c

    world = _eq8_world()
    centre = {"log_A": np.log(c.A), "log_B": np.log(c.B), "alpha": c.alpha, "beta": c.beta,
              "gamma": c.gamma, "c0": c.c0, "c1": c.c1, "f1": c.f1, "log_d1": np.log(c.d1)}
    grid = {k: (v * 0.9, v, v * 1.1) if k in ("c0", "log_d1") else (v,) for k, v in centre.items()}
    r = RD.fit_eq8(world, grid=grid, search=dataclasses.replace(F.DISTILLATION_SEARCH, n_polish=2))
    assert np.max(np.abs(r.residuals)) < 1e-4
    pred = RD.predict_eq8(r, world)
    assert np.allclose(pred, np.log(world.val_ce), atol=1e-4)
    coef = RD.ratio_baseline(world)
    errors = RD.held_out_errors(world, {"eq8": pred, "ratio": RD.predict_ratio_baseline(coef, world),
                                        "twin": np.log(world.twin_loss)})
    assert errors.loc["eq8", "rms"] < 1e-4 < errors.loc["ratio", "rms"] < errors.loc["twin", "rms"]
    with pytest.raises(ValueError, match="three or more distinct"):
        RD.ratio_baseline(world.iloc[:2])
    with pytest.raises(ValueError, match="predictions"):
        RD.held_out_errors(world, {"bad": np.zeros(3)})


def test_strong_students_are_the_lowest_losses(honest):
    runs, _, _ = honest
    m = RD.strong_students(runs, 0.2)
    assert 0.15 < m.mean() <= 0.25
    assert runs.distilled.val_ce[m].max() <= runs.distilled.val_ce[~m].min()


def test_the_real_table_pairs_every_distillation_with_one_twin():
    """Every distillation has its twin, except where the block that ran it reached its deadline
    first: the twin is in that block's plan and has not run (block p2d2 left one, L2d128 at 54M
    tokens; block p2e, cut, left seed 2 of L4d256 at 129M; block p2e3 left L2d128 at 15M and 30M)."""
    runs = RD.load()
    table = pd.read_csv(RD.DIRECTORY / "runs.csv").set_index("run_id")
    for run_id in runs.missing_twins:
        row = table.loc[run_id]
        student, seed = run_id.split("--")[1].rsplit("-s", 1)
        twin = f"s-{student}-s-s{seed}"
        tag = {rev: tag for tag, _, rev in PART2_BLOCKS}[row.git_rev]
        assert twin in set(pd.read_csv(RD.DIRECTORY / f"plan_{tag}_main.csv").run_id) and twin not in table.index
    assert len(runs.missing_twins) <= 4 and len(runs.distilled) >= 24
    assert runs.distilled.run_id.is_unique and (runs.distilled.teacher_run_id.str.contains("-p2")).all()


def test_design_counts_what_the_planner_leaves(tmp_path):
    """RD.design on the real run table: what it counts as planned and not run is what
    experiments.plan.part2_totals leaves to run (each teacher trained once), and a folder
    without the run table is named."""
    import json

    from experiments import plan as P

    table = RD.design()
    tokens = json.loads((RD.DIRECTORY / "corpus_manifest.json").read_text())["tokens"]
    setting = P.Setting(min(tokens["teacher"], tokens["student"]),
                        json.loads((RD.DIRECTORY / "lr_choice.json").read_text())["lr"])
    done = set(pd.read_csv(RD.DIRECTORY / "runs.csv").run_id)
    left = P.part2_totals(setting, done)
    total = table.loc["all"]
    assert total.planned - total.run == left["distillations"] and total.twins_planned - total.twins_run == left["twins"]
    assert set(table.index) == {n for n, p in P.PROTOCOLS.items() if p.part == 2} | {"all"}
    assert (table.run <= table.planned).all() and total.planned <= table.planned.drop("all").sum()
    with pytest.raises(ValueError, match="must hold runs.csv"):
        RD.design(tmp_path)


def test_equal_loss_teachers_are_protocol_4s_part1_runs():
    from experiments import plan as P

    assert len(RD.EQUAL_LOSS_TEACHERS) == len(P.EQUAL_LOSS_GROUPS)
    assert all(P.parse_teacher(t) for g in RD.EQUAL_LOSS_TEACHERS for t in g)
    assert RD.EQUAL_LOSS_TEACHERS[0][0] == P.teacher_of(*P.EQUAL_LOSS_GROUPS[0][0])


def test_leave_one_teacher_out_recovers_its_own_world():
    """On students that follow Eq. 8 exactly, Eq. 8 fitted without a teacher predicts that
    teacher's students; the ratio curve (no size dependence) and the twin do worse."""
    import dataclasses

    from analysis import fit as F
    from analysis.laws import PAPER_DISTILLATION as c, PAPER_SUPERVISED

    world = _eq8_world()
    centre = {"log_A": np.log(c.A), "log_B": np.log(c.B), "alpha": c.alpha, "beta": c.beta,
              "gamma": c.gamma, "c0": c.c0, "c1": c.c1, "f1": c.f1, "log_d1": np.log(c.d1)}
    grid = {k: (v * 0.9, v, v * 1.1) if k == "c0" else (v,) for k, v in centre.items()}
    search = dataclasses.replace(F.DISTILLATION_SEARCH, n_polish=1)
    table = RD.leave_one_teacher_out(world[world.teacher.isin(["t0", "t3", "t7"])], grid=grid, search=search)
    assert list(table.index) == ["t0", "t3", "t7"] and (table.students == 18).all()
    assert (table.eq8 < 1e-3).all() and (table.eq8 < table.ratio).all() and (table.eq8 < table.twin).all()
    with pytest.raises(ValueError, match="three or more teachers"):
        RD.leave_one_teacher_out(world[world.teacher.isin(["t0", "t1"])])


def test_supervised_misfit_compares_a_law_with_the_twins(honest):
    """A law's error against the seed-0 twins, one row per distilled configuration, with
    whether each twin copies (no probe recorded: it does not)."""
    from analysis.laws import PAPER_SUPERVISED, supervised_loss

    runs, _, _ = honest
    misfit = RD.supervised_misfit(runs, PAPER_SUPERVISED)
    configs = runs.distilled[runs.distilled.seed == 0][["N", "tokens"]].drop_duplicates()
    assert len(misfit) == len(configs) and not misfit.copies.any()
    row = misfit.iloc[0]
    assert row.error == pytest.approx(math.log(supervised_loss(row.N, row.tokens, PAPER_SUPERVISED) / row.twin_loss))
    with pytest.raises(TypeError, match="supervised"):
        RD.supervised_misfit(runs, "paper")


def test_teacher_line_scatter_measures_the_noise_about_a_line():
    table, _ = synthetic()
    d = (table.objective == "distillation").to_numpy()
    rng = np.random.default_rng(1)
    line = 0.4 + 0.5 * np.log(table.teacher_loss[d].to_numpy(float))
    for sd, expected in ((0.0, 0.0), (0.01, 0.01)):
        table.loc[d, "val_ce"] = np.exp(line + rng.normal(0, sd, d.sum()))
        scatter = RD.teacher_line_scatter(RD.from_table(table), max_teacher_loss=10.0)
        assert len(scatter) == len(SIZES) * len(MS) and (scatter.teachers == 8).all()
        # the pooled residual SD (6 degrees of freedom a configuration, 15 configurations) within 20%
        assert math.sqrt(np.mean(scatter.sd ** 2)) == pytest.approx(expected, rel=0.2, abs=1e-9)
    strong = RD.teacher_line_scatter(RD.from_table(table), max_teacher_loss=3.5, min_teachers=3)
    assert (strong.teachers < 8).all()
    with pytest.raises(ValueError, match="max_teacher_loss"):
        RD.teacher_line_scatter(RD.from_table(table), max_teacher_loss=0.5)
