"""Valid example calls of the package's public numerical functions, and hostile values
to put in their arguments (for tests/test_reliability.py)."""

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
