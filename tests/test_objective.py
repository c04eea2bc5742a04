"""Tests of analysis.objective (Eqs. 4-7 and the truncations of App. G.4): identities,
gradients against finite differences, truncations against brute force, and agreement
with the replication trainer's own implementation (experiments/train.py)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from analysis.objective import (
    distillation_gradient,
    distillation_loss,
    entropy,
    forward_kl,
    log_softmax,
    next_token_loss,
    reverse_kl,
    softmax,
    student_objective,
    truncate_top_k,
    truncate_top_p,
    z_loss,
)

RNG = np.random.default_rng(0)


def naive_log_softmax(z, tau=1.0):
    e = np.exp(z / tau)
    return np.log(e / e.sum(-1, keepdims=True))


def test_log_softmax_matches_naive_and_stays_finite():
    z = RNG.normal(size=(5, 7)) * 3
    assert np.allclose(log_softmax(z, 0.7), naive_log_softmax(z, 0.7))
    big = np.array([1e4, 0.0, -1e4])
    assert np.all(np.isfinite(log_softmax(big[:2]))) and np.isclose(softmax(big).sum(), 1.0)
    assert np.isfinite(z_loss(big)) and np.isclose(z_loss(big), 1e8)


def test_next_token_loss_and_z_loss():
    z = RNG.normal(size=(4, 6))
    y = np.array([0, 5, 2, 2])
    assert np.allclose(next_token_loss(z, y), -naive_log_softmax(z)[np.arange(4), y])
    assert np.allclose(z_loss(z), np.log(np.exp(z).sum(-1)) ** 2)
    assert np.isclose(float(z_loss(np.zeros(4))), np.log(4) ** 2)


@pytest.mark.parametrize("tau", [0.5, 1.0, 3.0])
def test_distillation_loss_is_tau_squared_kl_plus_teacher_entropy(tau):
    zt, zs = RNG.normal(size=(3, 9)), RNG.normal(size=(3, 9))
    lt, ls = log_softmax(zt, tau), log_softmax(zs, tau)
    assert np.allclose(distillation_loss(zt, zs, tau), tau**2 * (forward_kl(lt, ls) + entropy(lt)))
    # a student equal to its teacher pays only the teacher's entropy
    assert np.allclose(distillation_loss(zt, zt, tau), tau**2 * entropy(lt))


@pytest.mark.parametrize("tau", [0.5, 1.0, 4.0])
def test_distillation_gradient_matches_finite_differences(tau):
    zt, zs = RNG.normal(size=6), RNG.normal(size=6)
    h = 1e-6
    numeric = np.array([(distillation_loss(zt, zs + h * e, tau) - distillation_loss(zt, zs - h * e, tau)) / (2 * h)
                        for e in np.eye(6)])
    assert np.allclose(distillation_gradient(zt, zs, tau), numeric, atol=1e-7)


def test_student_objective_mixes_its_terms():
    zs, zt, y = RNG.normal(size=(2, 5)), RNG.normal(size=(2, 5)), np.array([1, 3])
    pure = student_objective(zs, zt, y, lam=1.0)
    assert np.allclose(pure["total"], pure["kd"])
    sup = student_objective(zs, zt, y, lam=0.0, z_weight=1e-4)
    assert np.allclose(sup["total"], sup["ntp"] + 1e-4 * sup["z"])
    mix = student_objective(zs, zt, y, lam=0.3, temperature=2.0)
    assert np.allclose(mix["total"], 0.7 * mix["ntp"] + 0.3 * mix["kd"])


@pytest.mark.parametrize("bad", [dict(lam=1.5), dict(lam=-0.1), dict(temperature=0.0), dict(z_weight=-1.0)])
def test_student_objective_rejects_bad_knobs(bad):
    with pytest.raises(ValueError):
        student_objective(np.zeros(3), np.zeros(3), 0, **bad)


def test_bad_inputs_name_the_argument():
    with pytest.raises(ValueError, match="label"):
        next_token_loss(np.zeros(3), 3)
    with pytest.raises(ValueError, match="z_teacher"):
        distillation_loss(np.array([np.nan, 0.0]), np.zeros(2))
    with pytest.raises(ValueError, match="k must be"):
        truncate_top_k(np.full(4, 0.25), 5)
    with pytest.raises(ValueError, match="top_p"):
        truncate_top_p(np.full(4, 0.25), 1.2)


def test_top_k_keeps_the_k_largest_renormalised():
    p = softmax(RNG.normal(size=(3, 10)) * 2)
    for k in (1, 3, 10):
        t = truncate_top_k(p, k)
        assert np.allclose(t.sum(-1), 1.0) and np.all((t > 0).sum(-1) == k)
        kept_min = np.where(t > 0, p, np.inf).min(-1)
        dropped_max = np.where(t == 0, p, -np.inf).max(-1)
        assert np.all(kept_min >= dropped_max)
        assert np.allclose(t[t > 0], (p / np.where(t > 0, p, 0).sum(-1, keepdims=True))[t > 0])
    assert np.allclose(truncate_top_k(p, 10), p)


def test_top_p_is_the_smallest_set_reaching_p_brute_force():
    for _ in range(20):
        p = softmax(RNG.normal(size=6) * 1.5)
        for top_p in (0.3, 0.6, 0.9, 1.0):
            t = truncate_top_p(p, top_p)
            sizes = [s for s in range(1, 7)
                     if any(p[list(c)].sum() >= top_p - 1e-12 for c in itertools.combinations(range(6), s))]
            assert (t > 0).sum() == min(sizes)
            assert p[t > 0].sum() >= top_p - 1e-12 and np.isclose(t.sum(), 1.0)


def test_reverse_kl_is_the_swapped_forward_kl_and_kl_is_infinite_off_support():
    lp, lq = log_softmax(RNG.normal(size=5)), log_softmax(RNG.normal(size=5))
    assert np.isclose(reverse_kl(lp, lq), forward_kl(lq, lp)) and forward_kl(lp, lp) == pytest.approx(0.0)
    with np.errstate(divide="ignore"):
        truncated = np.log(truncate_top_k(np.exp(lp), 2))
    assert np.isinf(forward_kl(lp, truncated)) and np.isfinite(forward_kl(truncated, lp))


# --- the replication trainer computes the same objective ------------------------------------

torch = pytest.importorskip("torch")


@pytest.mark.parametrize("tau, topk", [(1.0, 0), (2.0, 0), (1.0, 3), (0.5, 5)])
def test_trainer_targets_and_kl_match(tau, topk):
    from experiments.train import kl_from_logprobs, teacher_targets

    zt, zs = RNG.normal(size=(4, 11)) * 2, RNG.normal(size=(4, 11))
    t_logp = teacher_targets(torch.tensor(zt, dtype=torch.float64), tau, topk).double().numpy()
    ours = softmax(zt, tau) if not topk else truncate_top_k(softmax(zt, tau), topk)
    assert np.allclose(np.exp(t_logp), ours, atol=1e-12)
    s_logp = log_softmax(zs, tau)
    kl = kl_from_logprobs(torch.tensor(t_logp), torch.tensor(s_logp)).numpy()
    with np.errstate(divide="ignore"):
        assert np.allclose(kl, forward_kl(np.log(ours), s_logp))
    # the trainer's lam tau^2 KL + (1 - lam) CE is Eq. 7 minus a constant for the student
    y, lam = np.array([0, 4, 7, 10]), 0.6
    trainer = (1 - lam) * next_token_loss(zs, y) + lam * tau**2 * kl
    eq7 = student_objective(zs, zt, y, lam=lam, temperature=tau)["total"]
    if not topk:
        assert np.allclose(eq7 - trainer, lam * tau**2 * entropy(log_softmax(zt, tau)))


def _run_config(**knobs):
    """A RunConfig with the given distillation knobs; its other required fields get dummy values."""
    import dataclasses

    from experiments.train import RunConfig

    required = {f.name: ("t" if f.name == "run_id" else 64) for f in dataclasses.fields(RunConfig)
                if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING}
    return RunConfig(**required, **knobs)


def test_trainer_defaults_are_the_papers_knobs():
    import dataclasses

    from experiments.train import Z_LOSS, RunConfig

    from analysis.objective import PAPER_LAMBDA, PAPER_TEMPERATURE, PAPER_Z_WEIGHT

    defaults = {f.name: f.default for f in dataclasses.fields(RunConfig)}
    assert (defaults["distill_lambda"], defaults["distill_tau"], defaults["distill_topk"]) == (
        PAPER_LAMBDA, PAPER_TEMPERATURE, 0)
    assert Z_LOSS == PAPER_Z_WEIGHT


@pytest.mark.parametrize("lam, tau", [(1.0, 1.0), (0.6, 2.0), (0.0, 1.0)])
def test_trainer_loss_is_eq7_minus_the_teacher_entropy(lam, tau):
    from experiments.train import Z_LOSS, make_loss_fn

    zs, zt = RNG.normal(size=(2, 3, 7)), RNG.normal(size=(2, 3, 7)) * 2
    y = RNG.integers(0, 7, size=(2, 3))
    student = lambda x: torch.tensor(zs, dtype=torch.float32)  # noqa: E731 (fixed logits stand in for models)
    teacher = lambda x: torch.tensor(zt, dtype=torch.float32)  # noqa: E731
    loss, ce = make_loss_fn(student, _run_config(distill_lambda=lam, distill_tau=tau), "cpu", teacher)(
        None, torch.tensor(y))
    eq7 = student_objective(zs, zt, y, lam=lam, temperature=tau, z_weight=Z_LOSS)
    constant = lam * tau**2 * entropy(log_softmax(zt, tau))
    assert float(loss) == pytest.approx(float((eq7["total"] - constant).mean()), abs=1e-5)
    assert float(ce) == pytest.approx(float(eq7["ntp"].mean()), abs=1e-5)
