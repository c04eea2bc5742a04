"""The distillation objective of Busbridge et al. (arXiv 2502.08606v2), §3 and App. G, in numpy.

For student logits ``z_S`` and teacher logits ``z_T`` over a vocabulary of size V (last
axis), a label ``y`` and ``sigma`` the softmax:

* next-token loss (Eq. 4):   L_NTP = -log sigma_y(z_S);
* Z-loss (Eq. 5):            L_Z   = (log sum_a exp z_S,a)^2;
* distillation loss (Eq. 6): L_KD  = -tau^2 sum_a sigma_a(z_T / tau) log sigma_a(z_S / tau),
  which is tau^2 [KL(p_T^tau || p_S^tau) + H(p_T^tau)]: the forward KL plus the teacher's
  entropy, a constant for the student;
* student objective (Eq. 7): L = (1 - lambda) L_NTP + lambda L_KD + lambda_Z L_Z;
* truncated teachers (App. G.4): the teacher's top-k tokens, or its smallest set of
  tokens with probability at least p (top-p), renormalised.

Every function works in log space (no overflow for large logits), broadcasts over leading
axes and checks its knobs: ``lam`` in [0, 1], ``temperature`` > 0, ``k`` in [1, V],
``top_p`` in (0, 1].
"""

from __future__ import annotations

import numpy as np

from analysis._checks import _float_array, broadcast, in_range, shown

__all__ = [
    "PAPER_LAMBDA",
    "PAPER_TEMPERATURE",
    "PAPER_Z_WEIGHT",
    "log_softmax",
    "softmax",
    "next_token_loss",
    "z_loss",
    "distillation_loss",
    "distillation_gradient",
    "student_objective",
    "entropy",
    "forward_kl",
    "reverse_kl",
    "truncate_top_k",
    "truncate_top_p",
]


#: The knobs of every run behind the paper's scaling laws: pure distillation at temperature 1
#: (§4.1, App. G.1-G.2) with a Z-loss weight of 1e-4 (App. I).
PAPER_LAMBDA = 1.0
PAPER_TEMPERATURE = 1.0
PAPER_Z_WEIGHT = 1e-4


def _logits(name: str, z) -> np.ndarray:
    arr = _float_array(name, z, "finite logits with a vocabulary axis of size >= 2 (last axis)")
    if arr.ndim == 0 or arr.shape[-1] < 2 or not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be finite logits with a vocabulary axis of size >= 2 (last axis); "
                         f"got shape {arr.shape}")
    return arr


def _temperature(temperature) -> float:
    """Temperatures in [1e-3, 1e3]: beyond them z / tau over- or underflows for ordinary logits."""
    return in_range("temperature", temperature, 1e-3, 1e3)


def _log_probabilities(name: str, log_p) -> np.ndarray:
    """Log-probabilities: a vocabulary axis of size >= 2 (last axis), no NaN, none above 0
    (-inf, a probability of 0, is allowed)."""
    arr = _float_array(name, log_p, "log-probabilities (<= 0, last axis the vocabulary)")
    if arr.ndim == 0 or arr.shape[-1] < 2 or np.any(np.isnan(arr)) or np.any(arr > 1e-9):
        raise ValueError(f"{name} must be log-probabilities (<= 0, no NaN) with a vocabulary axis of "
                         f"size >= 2 (last axis); got shape {arr.shape}")
    return arr


def log_softmax(z, temperature: float = 1.0) -> np.ndarray:
    """log sigma(z / temperature) over the last axis."""
    u = _logits("z", z) / _temperature(temperature)
    u = u - u.max(axis=-1, keepdims=True)
    return u - np.log(np.exp(u).sum(axis=-1, keepdims=True))


def softmax(z, temperature: float = 1.0) -> np.ndarray:
    """sigma(z / temperature) over the last axis."""
    return np.exp(log_softmax(z, temperature))


def _labels(label, z: np.ndarray) -> np.ndarray:
    y = np.asarray(label)
    vocab = z.shape[-1]
    if not np.issubdtype(y.dtype, np.integer) or np.any(y < 0) or np.any(y >= vocab):
        raise ValueError(f"label must be integer token ids in [0, {vocab - 1}]; got {shown(label)}")
    return y


def next_token_loss(z_student, label) -> np.ndarray:
    """Eq. 4: -log sigma_y(z_S), one value per position."""
    z = _logits("z_student", z_student)
    y = _labels(label, z)
    return -np.take_along_axis(log_softmax(z), y[..., None], axis=-1)[..., 0]


def z_loss(z_student) -> np.ndarray:
    """Eq. 5: the squared log-partition function, (log sum_a exp z_a)^2."""
    z = _logits("z_student", z_student)
    top = z.max(axis=-1)
    return (top + np.log(np.exp(z - top[..., None]).sum(axis=-1))) ** 2


def entropy(log_p) -> np.ndarray:
    """H(p) = -sum_a p_a log p_a from log-probabilities (terms with p_a = 0 count as 0)."""
    log_p = _log_probabilities("log_p", log_p)
    p = np.exp(log_p)
    with np.errstate(invalid="ignore"):
        return -np.where(p > 0, p * log_p, 0.0).sum(axis=-1)


def forward_kl(log_p, log_q) -> np.ndarray:
    """KL(p || q) = sum_a p_a (log p_a - log q_a), summing where p_a > 0 (inf where q_a = 0 < p_a)."""
    log_p, log_q = broadcast(log_p=_log_probabilities("log_p", log_p),
                             log_q=_log_probabilities("log_q", log_q))
    p = np.exp(log_p)
    with np.errstate(invalid="ignore"):
        terms = np.where(p > 0, p * (log_p - log_q), 0.0)
    return terms.sum(axis=-1)


def reverse_kl(log_p, log_q) -> np.ndarray:
    """KL(q || p): the reverse divergence of App. G.5 (p the teacher, q the student)."""
    log_p, log_q = _log_probabilities("log_p", log_p), _log_probabilities("log_q", log_q)
    return forward_kl(log_q, log_p)


def distillation_loss(z_teacher, z_student, temperature: float = 1.0) -> np.ndarray:
    """Eq. 6: -tau^2 sum_a sigma_a(z_T / tau) log sigma_a(z_S / tau)."""
    tau = _temperature(temperature)
    z_t, z_s = broadcast(z_teacher=_logits("z_teacher", z_teacher), z_student=_logits("z_student", z_student))
    log_t = log_softmax(z_t, tau)
    log_s = log_softmax(z_s, tau)
    return -tau**2 * (np.exp(log_t) * log_s).sum(axis=-1)


def distillation_gradient(z_teacher, z_student, temperature: float = 1.0) -> np.ndarray:
    """dL_KD / dz_S = tau (sigma(z_S / tau) - sigma(z_T / tau)): the tau^2 of Eq. 6 makes the
    gradient scale like tau, not 1/tau (Hinton et al. 2015)."""
    tau = _temperature(temperature)
    z_t, z_s = broadcast(z_teacher=_logits("z_teacher", z_teacher), z_student=_logits("z_student", z_student))
    return tau * (softmax(z_s, tau) - softmax(z_t, tau))


def student_objective(z_student, z_teacher, label, *, lam: float = 1.0, temperature: float = 1.0,
                      z_weight: float = 0.0) -> dict[str, np.ndarray]:
    """Eq. 7 and its parts: ``ntp`` (Eq. 4), ``kd`` (Eq. 6), ``z`` (Eq. 5) and ``total`` =
    (1 - lam) ntp + lam kd + z_weight z. The paper's scaling-law runs use lam = 1, tau = 1
    and z_weight = 1e-4 (§4.1, App. I)."""
    lam = in_range("lam", lam, 0.0, 1.0)
    z_weight = in_range("z_weight", z_weight, 0.0, 1e6)
    ntp = next_token_loss(z_student, label)
    kd = distillation_loss(z_teacher, z_student, temperature)
    z = z_loss(z_student)
    return {"ntp": ntp, "kd": kd, "z": z, "total": (1.0 - lam) * ntp + lam * kd + z_weight * z}


def _probabilities(name: str, p) -> np.ndarray:
    arr = _float_array(name, p, "probability vectors (non-negative, summing to 1 on the last axis)")
    if (arr.ndim == 0 or arr.shape[-1] < 2 or not np.all(np.isfinite(arr)) or np.any(arr < 0)
            or not np.allclose(arr.sum(axis=-1), 1.0, atol=1e-9)):
        raise ValueError(f"{name} must be probability vectors (non-negative, summing to 1 on the last axis)")
    return arr


def truncate_top_k(p, k: int) -> np.ndarray:
    """The ``k`` most probable tokens of ``p``, renormalised (App. G.4, Eq. 55); ties are
    broken by token index, as a stable sort does."""
    p = _probabilities("p", p)
    vocab = p.shape[-1]
    if isinstance(k, (bool, np.bool_)) or not isinstance(k, (int, np.integer)) or not 1 <= k <= vocab:
        raise ValueError(f"k must be an integer in [1, {vocab}]; got {shown(k)}")
    order = np.argsort(-p, axis=-1, kind="stable")
    keep = np.zeros(p.shape, dtype=bool)
    np.put_along_axis(keep, order[..., :k], True, axis=-1)
    kept = np.where(keep, p, 0.0)
    return kept / kept.sum(axis=-1, keepdims=True)


def truncate_top_p(p, top_p: float) -> np.ndarray:
    """The smallest set of most probable tokens whose probability reaches ``top_p``,
    renormalised (App. G.4, Eq. 56; the nucleus of Holtzman et al. 2020)."""
    p = _probabilities("p", p)
    top_p = in_range("top_p", top_p, 0.0, 1.0)
    if top_p == 0.0:
        raise ValueError("top_p must be in (0, 1]; got 0.0")
    order = np.argsort(-p, axis=-1, kind="stable")
    sorted_p = np.take_along_axis(p, order, axis=-1)
    mass_before = np.cumsum(sorted_p, axis=-1) - sorted_p  # mass of the more probable tokens
    keep_sorted = mass_before < top_p - 1e-12
    keep_sorted[..., 0] = True  # the most probable token is always kept (a tiny top_p)
    keep = np.zeros(p.shape, dtype=bool)
    np.put_along_axis(keep, order, keep_sorted, axis=-1)
    kept = np.where(keep, p, 0.0)
    return kept / kept.sum(axis=-1, keepdims=True)
