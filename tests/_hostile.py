"""Valid example calls of the package's public functions, hostile values to put in their
arguments, and the sweep that puts them there (for tests/test_reliability.py).

``python -m tests._hostile`` lists every public callable of every ``analysis`` module and
says which the sweep reaches, which are exempt (and why) and which are missing; the test
``test_every_public_callable_is_swept_or_exempt`` fails on a missing one.
"""

import contextlib
import functools
import inspect
import os
import random
import warnings
from pathlib import Path

import numpy as np

from analysis import designs, flops, laws, minimise, objective, recipes
from analysis import fit as F

ROOT = Path(__file__).resolve().parents[1]
_Z = np.array([[1.0, 2.0, 0.5]])
_P = np.array([[0.5, 0.3, 0.2]])
_LOG_P = np.log(_P)
_TINY = F.Search(n_batched=4, n_random=0, n_steps=2, n_polish=1, n_final=1, short_iter=50, maxiter=500)
#: A search that converges where _TINY's 500 iterations do not (a held coefficient, Eq. 8 on real runs).
_SMALL = F.Search(n_batched=4, n_random=0, n_steps=2, n_polish=1, n_final=1, short_iter=150, maxiter=3000)
_N = np.geomspace(1e8, 1e10, 8)
_D = 20 * _N * np.geomspace(0.5, 4, 8)
_L = np.asarray(laws.supervised_loss(_N, _D))
_GRID = {"log_A": (5.0,), "log_B": (5.0,), "log_E": (0.0,), "alpha": (0.3,), "beta": (0.3,), "gamma": (0.5,)}

#: name -> (function, positional args, keyword args): calls that succeed.
CALLS = {
    "laws.supervised_loss": (laws.supervised_loss, (1e9, 2e10), {}),
    "laws.log_supervised_loss": (laws.log_supervised_loss, (1e9, 2e10), {}),
    "laws.supervised_loss_infinite_data": (laws.supervised_loss_infinite_data, (1e9,), {}),
    "laws.distilled_loss": (laws.distilled_loss, (1e9, 2e10, 2.3), {}),
    "laws.log_distilled_loss": (laws.log_distilled_loss, (1e9, 2e10, 2.3), {}),
    "laws.capacity_gap_factor": (laws.capacity_gap_factor, (2.3, 2.5), {}),
    "laws.log_capacity_gap_factor": (laws.log_capacity_gap_factor, (2.3, 2.5), {}),
    "flops.forward_flops_per_token": (flops.forward_flops_per_token, (1e9,), {}),
    "flops.two_n_rule": (flops.two_n_rule, (1e9,), {}),
    "flops.supervised_flops": (flops.supervised_flops, (1e9, 2e10), {}),
    "flops.distillation_flops": (flops.distillation_flops, (1e9, 2e10, 7e9, 1e12, "teacher-inference"), {}),
    "flops.distillation_flops_split": (flops.distillation_flops_split,
                                       (1e9, 2e10, 7e9, 1e12, "teacher-inference"), {}),
    "flops.fixed_aspect_shape": (flops.fixed_aspect_shape, (1e9,), {}),
    "flops.non_embedding_params": (flops.non_embedding_params, (24, 2048, 5632), {}),
    "flops.rounded_d_ff": (flops.rounded_d_ff, (2048,), {}),
    "recipes.optimal_teacher_loss": (recipes.optimal_teacher_loss, (1e9, 2e10), {}),
    "recipes.supervised_compute_optimal": (recipes.supervised_compute_optimal, (1e21,), {}),
    "recipes.compute_optimal_teacher": (recipes.compute_optimal_teacher, (2.3,), {}),
    "recipes.compute_optimal_distillation": (recipes.compute_optimal_distillation,
                                             (1e9, 1e21, "teacher-inference"), {}),
    "recipes.distillation_sweep": (recipes.distillation_sweep, (1e9, 1e21, "best-case"), {}),
    "recipes.minimal_compute": (recipes.minimal_compute, (1e9, "teacher-inference"), {}),
    "recipes.crossover_compute": (recipes.crossover_compute, (1e9, "teacher-pretraining", (1e20, 1e22)),
                                  {"points_per_decade": 2, "tol": 0.0}),
    "recipes.find_crossover": (recipes.find_crossover, (1e9, "teacher-pretraining", (1e20, 1e22)),
                               {"points_per_decade": 2, "tol": 0.0}),
    "recipes.efficiency_ratio": (recipes.efficiency_ratio, (5e8, 2.6, "teacher-inference"), {}),
    "recipes.distillation_compute_for_loss": (recipes.distillation_compute_for_loss,
                                              (5e8, 2.6, "teacher-inference"), {}),
    "recipes.supervised_tokens_for_loss": (recipes.supervised_tokens_for_loss, (3e9, 2.5), {}),
    "recipes.decide": (recipes.decide, (1e9, 1e21, True, 1), {"margin": 1e-3}),
    "objective.softmax": (objective.softmax, (_Z,), {"temperature": 1.0}),
    "objective.log_softmax": (objective.log_softmax, (_Z,), {"temperature": 1.0}),
    "objective.next_token_loss": (objective.next_token_loss, (_Z, np.array([1])), {}),
    "objective.z_loss": (objective.z_loss, (_Z,), {}),
    "objective.distillation_loss": (objective.distillation_loss, (_Z, _Z[:, ::-1]), {"temperature": 1.0}),
    "objective.distillation_gradient": (objective.distillation_gradient, (_Z, _Z[:, ::-1]),
                                        {"temperature": 1.0}),
    "objective.entropy": (objective.entropy, (_LOG_P,), {}),
    "objective.forward_kl": (objective.forward_kl, (_LOG_P, _LOG_P[:, ::-1]), {}),
    "objective.reverse_kl": (objective.reverse_kl, (_LOG_P, _LOG_P[:, ::-1]), {}),
    "objective.truncate_top_k": (objective.truncate_top_k, (_P, 2), {}),
    "objective.truncate_top_p": (objective.truncate_top_p, (_P, 0.7), {}),
    "designs.supervised_design": (designs.supervised_design, (), {"sigma": 0.005, "seed": 0}),
    "designs.distillation_design": (designs.distillation_design, (), {"sigma": 0.005, "seed": 0}),
    "fit.fit_supervised": (F.fit_supervised, (_N, _D, _L), {"grid": _GRID, "search": _TINY, "delta": 1e-4}),
    "fit.huber": (F.huber, (np.array([0.1, -2.0]), 1e-4), {}),
    "minimise.minimise_1d": (minimise.minimise_1d, (lambda x, rows: (x - 0.3) ** 2, 1, 0.0, 1.0),
                             {"n_coarse": 8, "n_starts": 1, "tol": 1e-4}),
}

#: Values no numerical argument accepts (or accepts only with a clear error).
HOSTILE = (float("nan"), float("inf"), -float("inf"), -1.0, 0.0, "3", True, 10**400, [], None,
           np.ones((2, 3)), -(10**400), 1e308, 5e-324)


# ------------------------------------------------- the book's analysis modules (issue 15, part 2)

#: Values for the arguments that name a file, a folder or a stored table (the sweep adds an
#: absolute path under its scratch folder that names nothing, and a file and a folder of the
#: wrong kind in it).
HOSTILE_PATHS = ("", "no_such_name", "../../etc/passwd")


#: Slots whose documented answer for a hostile value is not finite: a count of math.inf
#: students, a converter's value passed through as it is.
FREE_SLOTS = {("many_students.shared", "n"), ("glue.plain", "value"), ("flops.SharedTeacher", "students")}
#: Calls whose valid answer holds NaN by design: failed bootstrap resamples, cells of
#: Fig. 16 no teacher in the box reaches, a target loss no recipe in the box reaches, the
#: teacher columns of a supervised run.
EXTRA_DOCUMENTED_NAN = {"replication.load_fits", "paper_figures.fixed_compute_teacher_grid",
                        "capacity_gap.run_supervised"}
FREE_NAN = EXTRA_DOCUMENTED_NAN | {"recipes.distillation_compute_for_loss"}


@functools.cache
def extra_calls() -> dict:
    """Valid example calls of the public functions of the book's analysis modules
    (name -> (function, positional args, keyword args)). Built on demand: some read the
    stored runs and fits."""
    from analysis import capacity_gap as CG
    from analysis import checks as K
    from analysis import explorer as E
    from analysis import glue as G
    from analysis import many_students as M
    from analysis import paper_figures as PF
    from analysis import paper_runs as PR
    from analysis import replication as R
    from analysis import robustness as RB
    from analysis import stored as S
    from analysis.data import load_fig1_points

    points = load_fig1_points()
    table = R.load_runs()
    noise = R.seed_noise(table)
    fits = R.load_fits(table)
    sweep = recipes.distillation_sweep(np.geomspace(1e8, 1e10, 3)[:, None], np.geomspace(1e20, 1e26, 7),
                                       "teacher-inference")
    sweep = {k: np.ravel(v) for k, v in sweep.items()}
    import pandas as pd
    sweep = pd.DataFrame(sweep).assign(scenario="teacher-inference")
    zs, zt = np.array([[1.0, 2.0, 0.5]]), np.array([[0.5, 2.0, 1.0]])
    kern_alpha = np.linspace(0.5, 1.5, 4)
    return {
        # recipes, added after the first sweep
        "recipes.given_teacher_recipe": (recipes.given_teacher_recipe,
                                         (7.75e9, float(laws.supervised_loss(7.75e9, 155e9)), 2e10, 1e22),
                                         {"max_student": 1e9}),
        "recipes.break_even_students": (recipes.break_even_students, (5e10, 1e20), {"max_students": 64}),
        # objective
        "objective.student_objective": (objective.student_objective, (zs, zt, np.array([1])),
                                        {"lam": 0.5, "temperature": 2.0, "z_weight": 1e-4}),
        # replication
        "replication.configuration_id": (R.configuration_id, ("p3-s1",), {}),
        "replication.load_runs": (R.load_runs, (R.DEFAULT_DIRECTORY,), {}),
        "replication.load_graph_check": (R.load_graph_check, (R.DEFAULT_DIRECTORY / "graph_check.json",), {}),
        "replication.load_manifest": (R.load_manifest, (table,), {}),
        "replication.run_summary": (R.run_summary, (table,), {}),
        "replication.sweep_summary": (R.sweep_summary, (table,), {}),
        "replication.seed_noise": (R.seed_noise, (table,), {"min_seeds": 3}),
        "replication.fit_folder": (R.fit_folder, (table,), {}),
        "replication.load_fits": (R.load_fits, (table,), {}),
        "replication.supervised_fit": (R.supervised_fit, (table, fits, noise), {}),
        "replication.fit_summary": (R.fit_summary, (table, fits, noise), {"long_tokens": 2e7, "well_ratio": 1.5}),
        "replication.identifiability": (R.identifiability, (table, fits), {"flat": 1.1}),
        "replication.capacity_gap": (R.capacity_gap, (table, noise), {"min_teachers": 3}),
        "replication.small_budget_advantage": (R.small_budget_advantage, (table,), {"min_tokens": 3}),
        "replication.student_beats_teacher": (R.student_beats_teacher, (table, fits, noise), {}),
        "replication.calibration": (R.calibration, (table,), {"min_teachers": 3}),
        # paper_runs
        "paper_runs.dominance_pairs": (PR.dominance_pairs, (points,), {}),
        "paper_runs.repeats": (PR.repeats, (points,), {}),
        "paper_runs.budget_ratios": (PR.budget_ratios, (points,), {}),
        "paper_runs.quanta": (PR.quanta, (points,), {}),
        "paper_runs.students_beating_teachers": (PR.students_beating_teachers, (points,), {}),
        "paper_runs.relative_errors": (PR.relative_errors, (points,), {}),
        "paper_runs.error_summary": (PR.error_summary, (points, PR.relative_errors(points)), {}),
        "paper_runs.evaluate_points": (PR.evaluate_points, (points, laws.PAPER_DISTILLATION), {}),
        "paper_runs.best_teachers": (PR.best_teachers, (points,), {"min_teachers": 8}),
        "paper_runs.evaluate_conclusions": (PR.evaluate_conclusions, (laws.PAPER_DISTILLATION,), {}),
        # stored
        "stored.load_fits": (S.load_fits, (), {}),
        "stored.stored_coefficients": (S.stored_coefficients, ("sup_synth",), {}),
        "stored.load_bootstrap": (S.load_bootstrap, ("sup_synth",), {}),
        "stored.load_recovery_noise": (S.load_recovery_noise, (), {}),
        "stored.distinct_optima": (S.distinct_optima, ("dist_synth",), {}),
        "stored.load_fig1": (S.load_fig1, ("fits",), {}),
        "stored.load_fig1_provenance": (S.load_fig1_provenance, (), {}),
        "stored.fig1_coefficients": (S.fig1_coefficients, (next(iter(S.load_fig1("fits").index)),), {}),
        "stored.capacity_gap_combination": (S.capacity_gap_combination, ({"c1": 522.6, "f1": 0.09, "d1": 1.315},),
                                            {}),
        # capacity_gap
        "capacity_gap.kernel_teacher": (CG.kernel_teacher, (kern_alpha, 2, 5.0), {}),
        "capacity_gap.kernel_student": (CG.kernel_student, (kern_alpha, 2, 3, 5.0, 4.5), {}),
        "capacity_gap.kernel_errors": (CG.kernel_errors, (kern_alpha, 2, 3, 5.0, 4.5), {}),
        "capacity_gap.mlp_parameter_count": (CG.mlp_parameter_count, (16, 32, 8), {}),
        "capacity_gap.init_mlp": (CG.init_mlp, (16, 32, 8, np.random.default_rng(0)), {}),
        # paper_figures
        "paper_figures.fixed_m_teacher_loss": (PF.fixed_m_teacher_loss, (1e9,), {"M_T": 20.0}),
        "paper_figures.fixed_m_teachers": (PF.fixed_m_teachers, (("143M",), (20, 40), np.geomspace(1e8, 1e10, 5)),
                                           {"teacher_m": 20.0}),
        "paper_figures.student_isoflops": (PF.student_isoflops, (("975M",), (1e20,), np.geomspace(1e8, 1e9, 5)),
                                           {"teacher_m": 20.0}),
        "paper_figures.teacher_isoflops": (PF.teacher_isoflops, (("1.82B",), (1e21,), np.geomspace(1e8, 1e10, 5)),
                                           {"student_m": 20.0}),
        "paper_figures.fixed_compute_teacher_grid": (PF.fixed_compute_teacher_grid,
                                                     (1e9, 1e22, np.array([1e9, 1e11]), np.array([1.6, 2.4])),
                                                     {"teacher_token_bound": 1e17}),
        "paper_figures.allocation_shares": (PF.allocation_shares, (sweep, "teacher-inference"),
                                            {"compute_range": (1e20, 1e26)}),
        "paper_figures.allocation_jumps": (PF.allocation_jumps, (PF.allocation_shares(sweep, "teacher-inference"),),
                                           {"min_decades": 0.25}),
        "paper_figures.teacher_inference_profile": (PF.teacher_inference_profile,
                                                    (1e9, 1e22, np.geomspace(1e8, 1e11, 9)),
                                                    {"teacher_tokens": 1e17}),
        # many_students
        "many_students.shared": (M.shared, (4,), {"shared_logits": False}),
        "many_students.break_even_table": (M.break_even_table, ((5e10,), (1e20,)), {"margin": 1e-3}),
        "many_students.crossover_table": (M.crossover_table, ((1e9,), (1, 4), (1e20, 1e23)), {"margin": 1e-3}),
        "many_students.gain_sweep": (M.gain_sweep, ((1e9,), (1, 4), np.geomspace(1e20, 1e22, 3)), {}),
        # explorer
        "explorer.law_coefficients": (E.law_coefficients, (recipes.PAPER_SETTING,), {}),
        "explorer.eq8_curve": (E.eq8_curve, (1e9, 2e10), {}),
        "explorer.stored_recipe_grid": (E.stored_recipe_grid, (), {"path": E.GRID_PATH}),
        # robustness
        "robustness.draws": (RB.draws, ("rounding", 2, 0), {}),
        "robustness.load_draws": (RB.load_draws, (), {}),
        "robustness.share_holding": (RB.share_holding, (RB.load_draws(), "below-floor", "rounding"), {}),
        "robustness.setting_of": (RB.setting_of, (RB.load_draws().iloc[0],), {}),
        # checks
        "checks.paper": (K.paper, ("alpha", 0.5, 0.5001), {"printed": "0.500"}),
        "checks.finding": (K.finding, ("x", 1.0, True, "> 0"), {}),
        "checks.differs": (K.differs, ("x", "the paper says 2", 1.0, True, "ours is 1"), {}),
        "checks.half_unit": (K.half_unit, ("0.513",), {}),
        "checks.tables": (K.tables, ([K.finding("x", 1.0, True, "> 0")],), {}),
        # glue
        "glue.glue": (G.glue, ("hostile-test", 1.0), {}),
        "glue.glue_fields": (G.glue_fields, ("hostile-test", {"a": 1.0}), {}),
        "glue.claim": (G.claim, ("hostile-test", 1.0, True, "one is positive"), {}),
        "glue.plain": (G.plain, (np.float64(1.0),), {}),
        **_completion_calls(table, fits, noise, points),
    }


def _entered(context_manager):
    """A call of ``context_manager(...)`` that enters and leaves it (what the sweep calls)."""
    @functools.wraps(context_manager)
    def call(*args, **kwargs):
        with context_manager(*args, **kwargs) as value:
            return value
    return call


def _completion_calls(table, fits, noise, points) -> dict:
    """The public callables the first two rounds of the sweep left out (issue 15's completion)."""
    import atexit
    import dataclasses
    import shutil
    import tempfile

    import pandas as pd
    from matplotlib.figure import Figure

    from analysis import capacity_gap as CG
    from analysis import checks as K
    from analysis import cli
    from analysis import data as DA
    from analysis import explorer as E
    from analysis import flops as FL
    from analysis import many_students as M
    from analysis import paper_figures as PF
    from analysis import paper_map as PM
    from analysis import paper_runs as PR
    from analysis import plots as PL
    from analysis import replication as R
    from analysis import replication_setup as RS
    from analysis import robustness as RB
    from analysis import stored as S
    from analysis import toc
    from experiments.family import family
    from experiments.v1 import P4_GROUPS

    # the MLP of App. C on a task of 8 classes, trained for two steps of 64 samples
    task = CG.MappingTask(num_classes=8, strength=2.0)
    tiny = CG.TrainingSettings(lr=3e-3, batch=64, warmup=0.05, min_samples=128, samples_per_param=1e-3,
                               beta1=0.9, beta2=0.999, eps=1e-8)
    mlp_sweep = CG.MLPSweep(task=task, settings=tiny, student_widths=(8,), teacher_widths=(8, 16),
                            data_teacher_width=8, data_teacher_samples=(128, 256), trials=1, eval_inputs=64,
                            eval_seed=1)
    x, p_star, labels = task.sample(np.random.default_rng(0), 16)
    params = CG.init_mlp(task.input_dim, 8, task.num_classes, np.random.default_rng(0))
    model = CG.train_mlp(task, 8, 0, samples=128, settings=tiny)
    mlp_runs = pd.read_csv(Path(CG.__file__).resolve().parents[1] / "data" / "capacity_gap" / "mlp_runs.csv")
    # fits of the supervised law on eight runs, with the tiny search of CALLS
    sup_fit = F.fit_supervised(_N, _D, _L, grid=_GRID, search=_TINY)
    ns, ds = np.geomspace(1e8, 1e10, 12), np.geomspace(1e10, 1e12, 12)
    lt = np.linspace(2.2, 2.6, 12)
    ls = np.asarray(laws.distilled_loss(ns, ds, lt))
    dist_grid = {"log_A": (7.7,), "log_B": (10.1,), "alpha": (0.32,), "beta": (0.64,), "gamma": (0.76,),
                 "c0": (2.5,), "c1": (520.0,), "f1": (0.09,), "log_d1": (0.27,)}
    chin_grid = {k: v for k, v in _GRID.items() if k != "gamma"}
    # the abstract's claim on a crossover table and gain sweep of known verdict (tests/test_many_students.py)
    claim_sizes, claim_budgets = [1e9, 3e9, 1e10], np.logspace(18, 27, 19)
    claim_cross = pd.DataFrame({"student_params": claim_sizes, "students": 4,
                                "crossover_compute": [1e20 * (n / 1e9) ** 1.5 for n in claim_sizes]})
    claim_sweep = pd.DataFrame([{"student_params": n, "students": 4, "compute": c,
                                 "gain": 0.01 if c < 1e20 * (n / 1e9) ** 1.5 else -0.01}
                                for n in claim_sizes for c in claim_budgets])
    fig1_small = points.iloc[::12]
    axes = Figure().subplots()
    setup = RS.load()
    setup_noise = RS.seed_noise(setup)
    from analysis import replication_distill as RD
    from tests.test_replication_distill import synthetic

    distill_table, distill_groups = synthetic()
    distill = RD.from_table(distill_table)
    distill_noise = RD.seed_noise(distill)
    from analysis.laws import PAPER_DISTILLATION as _c
    from tests.test_replication_distill import _eq8_world

    eq8_world = _eq8_world().iloc[::4]
    loto_world = _eq8_world().query("teacher in ('t0', 't3', 't7')").iloc[::2]
    distill_grid = {"log_A": (np.log(_c.A),), "log_B": (np.log(_c.B),), "alpha": (_c.alpha,), "beta": (_c.beta,),
                    "gamma": (_c.gamma,), "c0": (_c.c0,), "c1": (_c.c1,), "f1": (_c.f1,), "log_d1": (np.log(_c.d1),)}
    distill_fit = RD.fit_eq8(eq8_world, grid=distill_grid, search=_SMALL)
    scratch = Path(tempfile.mkdtemp(prefix="hostile-"))
    distill_dir = scratch / "distill"
    distill_dir.mkdir(exist_ok=True)
    distill_table.to_csv(distill_dir / "runs.csv", index=False)
    atexit.register(shutil.rmtree, scratch, ignore_errors=True)
    stored_setup = scratch / "setup_supervised.csv"
    RS.store_supervised_fits(setup, stored_setup, cuts=(0.0,))
    stored_boot = scratch / "setup_rule_bootstrap.csv"
    RS.store_rule_bootstrap(setup, stored_boot, n_resamples=4, stored=stored_setup)
    grid = E.recipe_grid()
    draws = RB.load_draws()
    c = laws.PAPER_SUPERVISED
    truth = {**c.as_dict(), "gamma*alpha": c.gamma * c.alpha}
    return {
        # capacity_gap: the MLP experiments and the stored sweep's bands
        "capacity_gap.MappingTask": (CG.MappingTask, (), {"num_classes": 8, "strength": 2.0}),
        "capacity_gap.TrainingSettings": (CG.TrainingSettings, (), dataclasses.asdict(tiny)),
        "capacity_gap.MLPSweep": (CG.MLPSweep, (), {f.name: getattr(mlp_sweep, f.name)
                                                  for f in dataclasses.fields(mlp_sweep)}),
        "capacity_gap.mlp_logits": (CG.mlp_logits, (params, x), {}),
        "capacity_gap.loss_and_gradients": (CG.loss_and_gradients, (params, x, np.eye(8)[labels]), {}),
        "capacity_gap.train_mlp": (CG.train_mlp, (task, 8, 0), {"teacher": model, "samples": 128,
                                                                 "settings": tiny}),
        "capacity_gap.evaluate_mlp": (CG.evaluate_mlp, (model, x, p_star), {"teacher": model}),
        "capacity_gap.run_supervised": (CG.run_supervised, (mlp_sweep, 0), {"widths": (8,)}),
        "capacity_gap.run_teacher_group": (CG.run_teacher_group, (mlp_sweep, "width", 0, 8, None),
                                           {"widths": (8,)}),
        "capacity_gap.sweep_bands": (CG.sweep_bands, (mlp_runs, "width"), {}),
        "capacity_gap.gap_summary": (CG.gap_summary, (mlp_runs, "data"), {}),
        "capacity_gap.paired_bands": (CG.paired_bands, (mlp_runs, "width"), {}),
        # checks
        "checks.show": (K.show, ([K.finding("x", 1.0, True, "> 0")],), {}),
        # cli
        "cli.parse_size": (cli.parse_size, ("3B",), {}),
        "cli.parse_scenario": (cli.parse_scenario, ("teacher-inference",), {}),
        "cli.build_parser": (cli.build_parser, (), {}),
        "cli.main": (cli.main, (["loss", "supervised", "--params", "1B", "--tokens", "20B"],), {}),
        # data
        "data.data_path": (DA.data_path, ("olmo",), {"download": False}),
        "data.load_chinchilla": (DA.load_chinchilla, (), {"drop_highest": 5, "path": None}),
        "data.load_gadre": (DA.load_gadre, (), {"dataset": "rpj", "loss_column": "loss_c4_val", "path": None}),
        "data.load_olmo_ladder": (DA.load_olmo_ladder, (), {"loss_column": "loss_c4_en", "path": None}),
        "data.load_fig1_points": (DA.load_fig1_points, (), {"corrected": True, "path": None}),
        # explorer
        "explorer.scenarios": (E.scenarios, (), {}),
        "explorer.recipe_grid": (E.recipe_grid, (recipes.PAPER_SETTING,), {}),
        "explorer.explorer_layout": (E.explorer_layout, (recipes.PAPER_SETTING, grid), {}),
        "explorer.explorer_html": (E.explorer_html, (recipes.PAPER_SETTING, grid), {}),
        # fit
        "fit.Search": (F.Search, (), dataclasses.asdict(_TINY)),
        "fit.Law": (F.Law, ("custom", F.SUPERVISED.parameters, F.SUPERVISED.lower, F.SUPERVISED.grid),
                    {"delta": 1e-4, "search": _TINY, "fixed": {}}),
        "fit.SupervisedLaw": (F.SupervisedLaw, ("supervised", F.SUPERVISED.parameters, F.SUPERVISED.lower,
                                                F.SUPERVISED.grid), {"delta": 1e-4, "search": _TINY, "fixed": {}}),
        "fit.DistillationLaw": (F.DistillationLaw, ("distillation", F.DISTILLATION.parameters,
                                                    F.DISTILLATION.lower, F.DISTILLATION.grid),
                                {"delta": 1e-4, "search": _TINY, "fixed": {}}),
        "fit.TwinDistillationLaw": (F.TwinDistillationLaw, ("distillation-twins", F.DISTILLATION.parameters,
                                                            F.DISTILLATION.lower, F.DISTILLATION.grid),
                                    {"delta": 1e-4, "search": _TINY, "fixed": {}}),
        "fit.grid_starts": (F.grid_starts, (_GRID,), {}),
        "fit.fit": (F.fit, (F.SUPERVISED,), {"grid": _GRID, "delta": 1e-4, "residual": "log", "search": _SMALL,
                                             "fixed": {"gamma": 0.452}, "N": _N, "D": _D, "loss": _L}),
        "fit.fit_chinchilla": (F.fit_chinchilla, (_N, _D, _L), {"grid": chin_grid, "delta": 1e-3,
                                                               "residual": "log", "search": _TINY, "fixed": None}),
        "fit.fit_distillation": (F.fit_distillation, (ns, ds, lt, ls),
                                 {"supervised": laws.PAPER_SUPERVISED, "grid": dist_grid, "delta": 1e-4,
                                  "residual": "log", "search": _TINY, "fixed": None}),
        "fit.evaluate": (F.evaluate, (F.SUPERVISED, sup_fit.parameters()),
                         {"delta": 1e-4, "residual": "log", "N": _N, "D": _D, "loss": _L}),
        "fit.objective_and_gradient": (F.objective_and_gradient, (sup_fit.problem, sup_fit.theta),
                                       {"weights": np.ones(8)}),
        "fit.bootstrap": (F.bootstrap, (sup_fit,), {"n_resamples": 2, "level": 0.9, "seed": 0, "maxiter": 50}),
        "fit.profile_objective": (F.profile_objective, (sup_fit, "alpha", [0.3, 0.35]),
                                  {"maxiter": 50, "continuation": True}),
        # flops
        "flops.sigma_coefficients": (FL.sigma_coefficients, (128, 12.0), {}),
        "flops.architecture_forward_flops": (FL.architecture_forward_flops, (24, 2048),
                                             {"n_ctx": 4096, "n_vocab": 32768, "N": 1.2e9, "omega": 12.0}),
        "flops.detailed_forward_flops": (FL.detailed_forward_flops, (24, 2048, 5632),
                                         {"n_ctx": 4096, "n_vocab": 32768, "d_head": 128, "g_size": 1,
                                          "n_ffn": 3}),
        "flops.paper_table13": (FL.paper_table13, (), {}),
        "flops.CostModel": (FL.CostModel, (), {"n_ctx": 4096, "n_vocab": 32768, "aspect_ratio": 128,
                                              "omega": 12.0}),
        "flops.SharedTeacher": (FL.SharedTeacher, (FL.Scenario.TEACHER_PRETRAINING, 4), {"shared_logits": False}),
        # laws
        "laws.SupervisedCoefficients": (laws.SupervisedCoefficients, (), laws.PAPER_SUPERVISED.as_dict()),
        "laws.DistillationCoefficients": (laws.DistillationCoefficients, (), laws.PAPER_DISTILLATION.as_dict()),
        # many_students
        "many_students.abstract_claim": (M.abstract_claim, (claim_cross, claim_sweep),
                                         {"counts": (4,), "min_sizes": 3, "solver_tol": 1e-4,
                                          "residual_decades": 0.3, "compute_range": (1e18, 1e27)}),
        # paper_figures
        "paper_figures.fixed_m_teacher_contours": (PF.fixed_m_teacher_contours,
                                                   (("546M",), np.geomspace(1e8, 1e9, 3),
                                                    np.geomspace(1e9, 1e11, 3), 20.0),
                                                   {"supervised": laws.PAPER_SUPERVISED,
                                                    "distillation": laws.PAPER_DISTILLATION}),
        # paper_map
        "paper_map.paper_items": (PM.paper_items, (), {}),
        "paper_map.load_map": (PM.load_map, (PM.MAP_PATH,), {}),
        "paper_map.book_labels": (PM.book_labels, (ROOT / "book",), {}),
        "paper_map.missing_labels": (PM.missing_labels, (PM.load_map(), {"fig-x"}), {}),
        "paper_map.map_markdown": (PM.map_markdown, (PM.load_map(),), {}),
        # paper_runs: refits of Eq. 8 to every twelfth Fig. 1 run, with the tiny search
        "paper_runs.fit_points": (PR.fit_points, (fig1_small,), {"fixed": {"c0": 2.549}, "grid": dist_grid,
                                                                 "search": _SMALL}),
        "paper_runs.refit_subset": (PR.refit_subset, (fig1_small, ("B",), laws.PAPER_DISTILLATION, _TINY), {}),
        "paper_runs.subset_refits": (PR.subset_refits, (fig1_small, 1, laws.PAPER_DISTILLATION), {}),
        "paper_runs.Conclusion": (PR.Conclusion, ("k", "ref", "a statement", "a quantity", "> 0",
                                                  lambda c: c.c0, lambda v: v > 0), {}),
        # plots
        "plots.book_style": (_entered(PL.book_style), (), {}),
        "plots.use_book_style": (PL.use_book_style, (), {}),
        "plots.scenario_colors": (PL.scenario_colors, (), {}),
        "plots.new_figure": (PL.new_figure, (1, 1, 7.0, 4.2, "constrained"), {}),
        "plots.figure": (_entered(PL.figure), (1, 1, 7.0, 4.2, "constrained"), {}),
        "plots.label_axes": (PL.label_axes, (axes, "N", "L"), {}),
        "plots.si_format": (PL.si_format, (1.5e8, "count"), {}),
        "plots.format_log_axis": (PL.format_log_axis, (axes, "x", "count"), {}),
        # recipes
        "recipes.Setting": (recipes.Setting, (), {f.name: getattr(recipes.PAPER_SETTING, f.name)
                                                  for f in dataclasses.fields(recipes.Setting)}),
        # replication: the fits with the tiny search (fit_laws), saved into the sweep's folder
        "replication.isoflop_minima": (R.isoflop_minima, (table.isoflop,), {}),
        "replication.fit_laws": (R.fit_laws, (table,), {"cut": 3.3, "other_cuts": (), "early_sessions": (1, 2),
                                                        "n_resamples": 2, "seed": 0, "search": _SMALL}),
        "replication.save_fits": (R.save_fits, (fits, "saved-fits"), {}),
        "replication.load_fits": (R.load_fits, (table,), {"folder": R.fit_folder(table)}),
        "replication.extrapolation": (R.extrapolation, (table, fits.supervised.coefficients, noise),
                                      {"cut": fits.cut, "fit": fits.weak}),
        "replication.teacher_loss_only": (R.teacher_loss_only, (table, fits, noise, P4_GROUPS), {"tag": "p4"}),
        "replication.recipe_comparison": (R.recipe_comparison, (table, fits),
                                          {"box": (1e5, 1e12), "m_range": (1.0, 1e5), "ours_sizes": (1e5, 1e6),
                                           "paper_sizes": (1e9, 3e9)}),
        "replication.corpus_summary": (R.corpus_summary, (R.load_manifest(table),), {}),
        "replication.family_flops": (R.family_flops, ([dataclasses.asdict(a) for a in family()],),
                                     {"n_ctx": 512, "n_vocab": 8192, "aspect_ratio": 32}),
        "replication.throughput_summary": (R.throughput_summary,
                                           (pd.read_csv(R.DEFAULT_DIRECTORY / "throughput.csv"),),
                                           {"up_to_layers": 8, "speedup_layers": 9, "speedup_batch": 64}),
        # replication_setup: version 2's set-up, its stored fit rewritten into a scratch folder
        "replication_setup.load": (RS.load, (RS.DIRECTORY,), {}),
        "replication_setup.corpus": (RS.corpus, (RS.DIRECTORY,), {}),
        "replication_setup.family_table": (RS.family_table, (RS.DIRECTORY,), {}),
        "replication_setup.throughput": (RS.throughput, (RS.DIRECTORY, 790e12), {}),
        "replication_setup.sweep_rate": (RS.sweep_rate, (setup, "5a09468"), {}),
        "replication_setup.sweep_rates": (RS.sweep_rates, (setup,), {}),
        "replication_setup.block_rate": (RS.block_rate, (pd.read_csv(RS.DIRECTORY / "runs.csv"), "24f5cd5"), {}),
        "replication_setup.copy_probe": (RS.copy_probe, (setup,), {"drop": 0.5, "vocab": 8192}),
        "replication_setup.source_gain": (RS.source_gain, (setup, "s-L3d192-D78207900-t-s0",
                                                           "s-L3d192-D208554401-t-s0"), {}),
        "replication_setup.lr_sweep": (RS.lr_sweep, (setup,), {}),
        "replication_setup.seed_noise": (RS.seed_noise, (setup,), {}),
        "replication_setup.half_gate": (RS.half_gate, (setup, setup_noise), {}),
        "replication_setup.fresh_supervised_fit": (RS.fresh_supervised_fit, (setup, 0.0), {}),
        "replication_setup.store_supervised_fits": (RS.store_supervised_fits, (setup, "setup.csv", (0.0,)), {}),
        "replication_setup.supervised_fit": (RS.supervised_fit, (setup, setup_noise, 0.0),
                                             {"stored": stored_setup}),
        "replication_setup.store_rule_bootstrap": (RS.store_rule_bootstrap, (setup, "boot.csv"),
                                                   {"n_resamples": 4, "seed": 0, "stored": stored_setup}),
        "replication_setup.rule_bootstrap": (RS.rule_bootstrap, (setup,),
                                             {"level": 0.9, "stored": stored_boot, "fits": stored_setup}),
        "replication_setup.curve": (RS.curve, (setup.runs.iloc[0],), {}),
        "replication_setup.status": (RS.status, (setup,), {}),
        # replication_distill: part 2's claims on the synthetic world of tests/test_replication_distill.py
        "replication_distill.holm": (RD.holm, ([0.01, 0.2, 0.04],), {}),
        "replication_distill.DistillRuns": (RD.DistillRuns, (distill.distilled, distill.twins, distill.teachers, ()),
                                            {}),
        "replication_distill.Noise": (RD.Noise, (distill_noise.student, distill_noise.teacher, 3), {}),
        "replication_distill.ClaimResult": (RD.ClaimResult, ("a", {"a": "holds"}, {"pairs": 3}, pd.DataFrame({"x": [1]})),
                                            {}),
        "replication_distill.from_table": (RD.from_table, (distill_table,), {}),
        "replication_distill.load": (RD.load, (distill_dir,), {}),
        "replication_distill.design": (RD.design, (RD.DIRECTORY,), {}),
        "replication_distill.seed_noise": (RD.seed_noise, (distill,), {"neighbours": 3}),
        "replication_distill.teacher_loss_only": (RD.teacher_loss_only, (distill, distill_noise, distill_groups),
                                                  {"alpha": 0.05, "equivalence": 0.02}),
        "replication_distill.capacity_gap": (RD.capacity_gap, (distill, distill_noise),
                                             {"min_teachers": 4, "alpha": 0.05}),
        "replication_distill.small_budget_advantage": (RD.small_budget_advantage, (distill, distill_noise),
                                                       {"alpha": 0.05, "min_budgets": 3}),
        "replication_distill.student_beats_teacher": (RD.student_beats_teacher, (distill, distill_noise),
                                                      {"alpha": 0.05}),
        "replication_distill.calibration": (RD.calibration, (distill,),
                                            {"min_teachers": 4, "limit": 0.02, "share": 0.8}),
        "replication_distill.eq8_data": (RD.eq8_data, (distill.distilled, laws.PAPER_SUPERVISED), {}),
        "replication_distill.fit_eq8": (RD.fit_eq8, (eq8_world,),
                                        {"grid": distill_grid, "search": _SMALL}),
        "replication_distill.predict_eq8": (RD.predict_eq8, (distill_fit, eq8_world), {}),
        "replication_distill.ratio_baseline": (RD.ratio_baseline, (distill.distilled,), {}),
        "replication_distill.predict_ratio_baseline": (RD.predict_ratio_baseline,
                                                       ((0.0, -0.1, 0.2), distill.distilled), {}),
        "replication_distill.strong_students": (RD.strong_students, (distill,), {"share": 0.2}),
        "replication_distill.held_out_errors": (RD.held_out_errors, (distill.distilled,
                                                                     {"twin": np.log(distill.distilled.twin_loss)}),
                                                {}),
        "replication_distill.leave_one_teacher_out": (RD.leave_one_teacher_out,
                                                      (loto_world,),
                                                      {"grid": distill_grid, "search": _SMALL}),
        "replication_distill.supervised_misfit": (RD.supervised_misfit, (distill, laws.PAPER_SUPERVISED), {}),
        "replication_distill.teacher_line_scatter": (RD.teacher_line_scatter, (distill, 10.0), {"min_teachers": 3}),
        # robustness: two findings, one draw
        "robustness.evaluate": (RB.evaluate, (recipes.PAPER_SETTING, RB.FINDINGS[:2]), {}),
        "robustness.run": (RB.run, ("rounding", 1, 0, RB.FINDINGS[:2]), {}),
        "robustness.summary": (RB.summary, (draws, RB.FINDINGS[:2]), {}),
        "robustness.Finding": (RB.Finding, ("k", "ref", "a statement", "a quantity", "> 0",
                                            lambda s: s.distillation.c0, lambda v: v > 0), {}),
        # stored
        "stored.synthetic_runs": (S.synthetic_runs, (), {}),
        "stored.fit_specs": (S.fit_specs, (), {}),
        "stored.load_optima": (S.load_optima, ("dist_synth",), {"folder": S.FITS_DIR}),
        "stored.load_profile": (S.load_profile, ("c1",), {"folder": S.FITS_DIR}),
        "stored.recovery_table": (S.recovery_table, ("sup_synth", truth),
                                  {"extra": {"gamma*alpha": lambda c: c["gamma"] * c["alpha"]
                                             if isinstance(c, pd.DataFrame) else c.gamma * c.alpha},
                                   "folder": S.FITS_DIR}),
        "stored.recovery_at_noise": (S.recovery_at_noise, ("supervised", 0.0003), {}),
        "stored.fig1_fit_specs": (S.fig1_fit_specs, (), {}),
        "stored.fig1_stored_fit": (S.fig1_stored_fit, ("fig1_refit",), {"folder": S.FITS_DIR}),
        # toc
        "toc.toc_chapters": (toc.toc_chapters, (ROOT,), {}),
        "toc.is_notebook": (toc.is_notebook, (ROOT / "book" / "introduction.md",), {}),
    }


# ------------------------------------------------------------------ completeness

def public_callables() -> dict:
    """"module.name" -> object for every public callable of every ``analysis`` module: the
    functions and classes whose name does not start with "_" and that the module defines
    (not those it imports)."""
    import importlib
    import pkgutil

    import analysis

    out = {}
    for info in sorted(pkgutil.iter_modules(analysis.__path__), key=lambda i: i.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"analysis.{info.name}")
        for name, obj in vars(module).items():
            if not name.startswith("_") and callable(obj) and getattr(obj, "__module__", None) == module.__name__:
                out[f"{info.name}.{name}"] = obj
    return out


_RECORD = "a result record: built by the function named, from values it checked; the functions that read one check its type"
_ERROR = "an exception type"
_HANDLER = ("a subcommand's handler, called by cli.main with the namespace argparse parsed and checked; swept "
            "through cli.main and test_command_line_property")

#: Public callables the sweep does not call, each with the reason.
EXEMPT = {
    # exception types
    "checks.CheckError": _ERROR, "cli.UsageError": _ERROR, "cli.OutputError": _ERROR, "data.DataError": _ERROR,
    "fit.FitWarning": _ERROR, "glue.ClaimError": _ERROR,
    # the command line's handlers
    **{f"cli.cmd_{c}": _HANDLER for c in ("recipe", "loss", "teacher", "crossover", "efficiency", "fig1",
                                           "decide", "break_even", "given_teacher")},
    # types that describe rather than compute
    "flops.Scenario": "an Enum: Scenario(value) is Python's lookup by value; the package reads scenarios "
                      "through Scenario.parse, swept in every function's scenario argument",
    "flops.CostScenario": "a typing Protocol (what a scenario object must have); Scenario.parse checks one",
    "flops.Table13Row": "a NamedTuple of Table 13's printed values (flops.PAPER_TABLE13)",
    "data.Table": "the declaration of a pinned table (data.TABLES), read by data_path",
    "data.Correction": "the declaration of a proven digitisation error (data.FIG1_CORRECTIONS)",
    # result records
    **{name: _RECORD for name in (
        "capacity_gap.KernelErrors", "capacity_gap.TrainedMLP", "checks.Check", "fit.Diagnostic", "fit.Problem",
        "fit.FitResult", "fit.BootstrapResult", "many_students.ClaimVerdict", "paper_figures.Profiles",
        "recipes.TeacherChoice", "recipes.SupervisedOptimum", "recipes.DistillationRecipe", "recipes.Crossover",
        "recipes.Efficiency", "recipes.Decision", "recipes.BreakEven", "recipes.GivenTeacherRecipe",
        "replication.RunTable", "replication.RunSummary", "replication.SeedNoise", "replication.IsoFLOPMinima",
        "replication.ReplicationFits", "replication.FitSummary", "replication.Identifiability",
        "replication.Extrapolation", "replication.TeacherLossOnly", "replication.CapacityGap",
        "replication.SmallBudgetAdvantage", "replication.StudentBeatsTeacher", "replication.Calibration",
        "replication.RecipeComparison", "replication.CorpusSummary", "replication.FamilyFlops",
        "replication.Throughput", "replication.Sweep", "replication.SupervisedFit", "replication_setup.SetupRuns",
        "replication_setup.Corpus", "replication_setup.Throughput", "replication_setup.SweepRate",
        "replication_setup.LRSweep", "replication_setup.SeedNoise", "replication_setup.HalfGate",
        "replication_setup.SupervisedFit", "replication_setup.CopyProbe")},
}

#: Calls that change global state on purpose, with the reason.
CHANGES_STATE = {
    "plots.use_book_style": "its purpose: the book's style for every later figure (book_style() is the scoped form)",
    "plots.new_figure": "returns plt.subplots' open figure, which the caller closes",
}

#: Calls whose refusal of a bad string is another documented exception: argparse's
#: ``type=`` functions answer with ArgumentTypeError (argparse prefixes the option's name).
OWN_ERRORS = {"cli.parse_size": ("ArgumentTypeError", "invalid size"),
              "cli.parse_scenario": ("ArgumentTypeError", "scenario must")}



def sweep_calls() -> dict:
    """Every call the hostile sweep makes: ``CALLS`` and ``extra_calls()``."""
    return {**CALLS, **extra_calls()}


def report() -> None:
    """Print how many public callables the sweep reaches, which are exempt and which are missing."""
    names, swept = public_callables(), sweep_calls()
    missing = sorted(set(names) - set(swept) - set(EXEMPT))
    print(f"{len(names)} public callables in analysis: {len(set(names) & set(swept))} swept, "
          f"{len(set(names) & set(EXEMPT))} exempt, {len(missing)} missing")
    for name in missing:
        print(f"  missing: {name}")
    for name in sorted((set(swept) | set(EXEMPT)) - set(names)):
        print(f"  stale entry (no such public callable): {name}")


# ------------------------------------------------------------------ the sweep

def global_state() -> dict:
    """What no public function may change behind its caller's back: numpy's error handling and
    print options, both global random generators, matplotlib's rcParams and open figures,
    the working directory and the environment."""
    import matplotlib
    import matplotlib.pyplot as plt

    return {"numpy errors": np.geterr(), "numpy print": np.get_printoptions(),
            "numpy random": hash(np.random.get_state()[1].tobytes()), "random": hash(random.getstate()),
            "rcParams": {k: repr(v) for k, v in matplotlib.rcParams.items()}, "figures": tuple(plt.get_fignums()),
            "cwd": os.getcwd(), "environ": dict(os.environ)}


def _slots(func, args, kw):
    """(parameter name, its default or inspect.Parameter.empty) of every argument ``func``
    accepts by name, and of the keywords of ``kw`` that go to its ``**kwargs``."""
    params = inspect.signature(func).parameters
    named = [(k, p.default) for k, p in params.items() if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]
    return named + [(k, inspect.Parameter.empty) for k in kw if k not in params]


def _is_default(value, default) -> bool:
    """Whether ``value`` is the parameter's default (the same object, an equal number or
    string, or an empty sequence for an empty default)."""
    if value is default:
        return True
    if isinstance(value, (list, tuple)) and isinstance(default, (list, tuple)):
        return len(value) == len(default) == 0
    return type(value) is type(default) and isinstance(value, (int, float, str)) and value == default


def _call_with(func, args, kw, name, value):
    if name not in inspect.signature(func).parameters:  # a keyword that goes to **kwargs
        return func(*args, **{**kw, name: value})
    bound = inspect.signature(func).bind_partial(*args, **kw)
    bound.arguments[name] = value
    return func(*bound.args, **bound.kwargs)


def hostile_values(scratch: Path) -> tuple:
    """The values the sweep puts in every argument. Every path among them lies inside
    ``scratch`` (four folders deep, so that "../../etc/passwd" stays inside too): a call
    that writes can harm nothing, whatever it does with a path."""
    import pandas as pd

    return HOSTILE + HOSTILE_PATHS + (str(scratch / "no" / "such" / "folder"), pd.DataFrame(),
                                      str(scratch / "README.md"), scratch / "book")


@contextlib.contextmanager
def _scratch():
    """A fresh folder four levels deep, the working directory while the sweep runs, holding
    a file and a folder of the wrong kind (a copy of the README, and a folder of one page
    that is not a chapter); removed afterwards."""
    import shutil
    import tempfile

    top = Path(tempfile.mkdtemp(prefix="hostile-sweep-"))
    scratch = top / "a" / "b" / "c" / "d"
    (scratch / "book").mkdir(parents=True)
    shutil.copy(ROOT / "README.md", scratch / "README.md")
    shutil.copy(ROOT / "README.md", scratch / "book" / "readme.md")
    cwd = os.getcwd()
    os.chdir(scratch)
    try:
        yield scratch
    finally:
        os.chdir(cwd)
        shutil.rmtree(top, ignore_errors=True)


def sweep_failures(name: str, finite, errors=(ValueError, TypeError)) -> list:
    """The call ``name`` of ``sweep_calls()`` as given (it must succeed finitely), then each of
    its arguments given every hostile value (but its own default, which is valid by
    definition): the failures, as (argument, value, what happened). A call must give a
    finite answer (``finite``) or raise one of ``errors`` (or a ``DataError``) naming the
    argument, compactly (no run of 21 digits, under 600 characters), without a warning,
    and leave ``global_state()`` as it found it. Runs in a scratch folder (``_scratch``)."""
    func, args, kw = sweep_calls()[name]
    with _scratch() as scratch:
        return _sweep(name, func, args, kw, hostile_values(scratch), finite, errors)


def _sweep(name, func, args, kw, values, finite, errors) -> list:
    from analysis import fit as F
    from analysis.data import DataError

    free = name in FREE_NAN
    failures = []
    attempts = [(None, None, None)] + [(slot, default, value) for slot, default in _slots(func, args, kw)
                                       for value in values if not _is_default(value, default)]
    for slot, default, value in attempts:
        before, rc = global_state(), _rc_copy()
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("error")
                warnings.simplefilter("ignore", F.FitWarning)
                out = func(*args, **kw) if slot is None else _call_with(func, args, kw, slot, value)
        except (*errors, DataError) as exc:
            text = str(exc)
            if slot is None:
                failures.append(("(valid call)", None, f"{type(exc).__name__}: {text[:300]}"))
            elif slot not in text and not (slot == "scenario" and "scenario" in text.lower()):
                failures.append((slot, value, f"unnamed: {type(exc).__name__}: {text[:300]}"))
            elif "0" * 21 in text or len(text) > 600:
                failures.append((slot, value, f"not compact: {text[:300]}"))
            out = None
        except Exception as exc:  # noqa: BLE001
            kind, text = OWN_ERRORS.get(name, (None, None))
            if slot is None or not (type(exc).__name__ == kind and text in str(exc)):
                failures.append((slot or "(valid call)", value, f"{type(exc).__name__}: {str(exc)[:300]}"))
            out = None
        if out is not None and not (finite(out) or (name, slot) in FREE_SLOTS or free):
            failures.append((slot or "(valid call)", value, "non-finite answer"))
        after = global_state()
        changed = [k for k in before if before[k] != after[k]]
        if changed and name not in CHANGES_STATE:
            failures.append((slot or "(valid call)", value, f"changed global state: {', '.join(changed)}"))
        _restore(before, rc)
    return failures


def _rc_copy() -> dict:
    import matplotlib

    return dict(matplotlib.rcParams)


def _restore(state: dict, rc: dict) -> None:
    """Undo what a call exempt in ``CHANGES_STATE`` changed: close the figures it opened,
    restore matplotlib's rcParams."""
    import matplotlib
    import matplotlib.pyplot as plt

    for number in set(plt.get_fignums()) - set(state["figures"]):
        plt.close(number)
    if dict(matplotlib.rcParams) != rc:
        matplotlib.rcParams.update(rc)


if __name__ == "__main__":
    report()
