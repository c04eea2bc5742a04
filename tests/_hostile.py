"""Valid example calls of the package's public numerical functions, and hostile values
to put in their arguments (for tests/test_reliability.py)."""

import functools

import numpy as np

from analysis import designs, flops, laws, minimise, objective, recipes
from analysis import fit as F

_Z = np.array([[1.0, 2.0, 0.5]])
_P = np.array([[0.5, 0.3, 0.2]])
_LOG_P = np.log(_P)
_TINY = F.Search(n_batched=4, n_random=0, n_steps=2, n_polish=1, n_final=1, short_iter=50, maxiter=500)
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

#: Values for the arguments that name a file, a folder or a stored table.
HOSTILE_PATHS = ("/nonexistent/folder", "", "no_such_name", "../../etc/passwd")


#: Slots whose documented answer for a hostile value is not finite: a count of math.inf
#: students, a check's or converter's value shown as it is.
FREE_SLOTS = {("many_students.shared", "n"), ("checks.finding", "ours"), ("checks.differs", "ours"),
              ("glue.plain", "value")}
#: Calls whose valid answer holds NaN by design: failed bootstrap resamples, cells of
#: Fig. 16 no teacher in the box reaches.
EXTRA_DOCUMENTED_NAN = {"replication.load_fits", "paper_figures.fixed_compute_teacher_grid"}


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
    }
