"""The paper's two scaling laws, evaluated in log space.

* the supervised law, Eq. 1 of Busbridge et al. (arXiv 2502.08606v2):
  ``L(N, D) = E + (A / N**alpha + B / D**beta) ** gamma``;
* the distillation law, Eq. 8:
  ``L_S = L_T + L_T**-c0 * (1 + (L_T / (L~_S d1)) ** (1/f1)) ** (-c1 f1)
  * (A' / N_S**alpha' + B' / D_S**beta') ** gamma'``,
  where ``L~_S = L(N_S, D_S)`` is the student's *supervised* loss from Eq. 1.

Every power is formed as ``exp(k * log x)`` and sums of positive terms with
``numpy.logaddexp`` (the log-sum-exp of App. F, Eqs. 44 and 47-49), so the laws stay
finite and accurate for sizes and token counts from 1e6 to 1e17 and beyond. The
linear-space losses add the (log-space) reducible part to ``E`` or ``L_T`` last, so
``L >= E`` and ``L_S >= L_T`` hold exactly in floating point.
All functions broadcast over numpy arrays and return numpy float arrays
(0-d for scalar input; use ``float()`` to get a Python float).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from types import MappingProxyType

import numpy as np

from analysis._checks import array_in_range, broadcast, instance, positive_array, shown

__all__ = [
    "SupervisedCoefficients",
    "DistillationCoefficients",
    "PAPER_SUPERVISED",
    "PAPER_DISTILLATION",
    "FIG1_REFIT_DISTILLATION",
    "COEFFICIENT_SETS",
    "PAPER_SUPERVISED_INTERVALS",
    "PAPER_DISTILLATION_INTERVALS",
    "PAPER_RATIOS",
    "supervised_loss",
    "log_supervised_loss",
    "supervised_loss_infinite_data",
    "distilled_loss",
    "log_distilled_loss",
    "capacity_gap_factor",
    "log_capacity_gap_factor",
]


class _PowerLawCoefficients:
    """What both coefficient sets share: the power-law exponents alpha and beta.

    ``a = beta / (alpha + beta)`` and ``b = alpha / (alpha + beta)`` are the exponents of
    N* and D* in C when C = 6ND (Table 6 tabulates them for both laws; its caption misprints
    b as beta / (alpha + beta)).
    """

    @property
    def a(self) -> float:
        """Exponent of N* in C under C = 6ND: beta / (alpha + beta)."""
        return self.beta / (self.alpha + self.beta)

    @property
    def b(self) -> float:
        """Exponent of D* in C under C = 6ND: alpha / (alpha + beta)."""
        return self.alpha / (self.alpha + self.beta)

    def as_dict(self) -> dict[str, float]:
        """The coefficients as a plain dict, in field order."""
        return asdict(self)


@dataclass(frozen=True)
class SupervisedCoefficients(_PowerLawCoefficients):
    """Coefficients of the supervised law (Eq. 1).

    ``E`` is the irreducible loss (nats/token); ``A``, ``alpha`` the model-size
    term; ``B``, ``beta`` the data term; ``gamma`` the exponent the paper adds
    on top of the Chinchilla form (``gamma = 1`` recovers Hoffmann et al. 2022).
    """

    E: float
    A: float
    B: float
    alpha: float
    beta: float
    gamma: float = 1.0

    def __post_init__(self):
        for name in ("E", "A", "B", "alpha", "beta", "gamma"):
            positive_array(name, getattr(self, name))


@dataclass(frozen=True)
class DistillationCoefficients(_PowerLawCoefficients):
    """Coefficients of the distillation law (Eq. 8), primes dropped.

    ``A, B, alpha, beta, gamma`` are the paper's A', B', alpha', beta', gamma';
    ``c0`` sets how the student's excess loss scales with the teacher's loss;
    ``c1, f1, d1`` shape the capacity-gap factor (a broken power law whose break
    sits at ``L_T / L~_S = d1`` and whose sharpness is set by ``f1``).
    """

    A: float
    B: float
    alpha: float
    beta: float
    gamma: float
    c0: float
    c1: float
    f1: float
    d1: float

    def __post_init__(self):
        for name in ("A", "B", "alpha", "beta", "gamma", "f1", "d1"):
            positive_array(name, getattr(self, name))
        for name in ("c0", "c1"):
            array_in_range(name, getattr(self, name), 0.0, np.inf)


#: Supervised coefficients of the paper, Table 6 (App. F.3), fitted on 73 runs.
PAPER_SUPERVISED = SupervisedCoefficients(
    E=1.220, A=3355.0, B=18186.0, alpha=0.408, beta=0.431, gamma=0.452
)

#: Distillation coefficients of the paper, Table 6 (App. F.3), fitted on 697 runs.
PAPER_DISTILLATION = DistillationCoefficients(
    A=2243.0, B=24181.0, alpha=0.321, beta=0.637, gamma=0.764,
    c0=2.549, c1=522.6, f1=0.090, d1=1.315,
)

#: Eq. 8 refitted to the paper's own runs: the 354 distillation runs of its Fig. 1 (size
#: labels corrected, analysis.data.FIG1_CORRECTIONS), supervised law at Table 6, the paper's
#: 216,000-start grid. Copied from data/fits/fig1_fits.csv (row fig1_refit), made by scripts/make_fig1_fits.py
#: (provenance in data/fits/fig1_provenance.json; tests/test_paper_runs.py checks the copy).
#: Only some combinations of these coefficients are determined by the runs; see the chapter
#: "The paper's own runs".
FIG1_REFIT_DISTILLATION = DistillationCoefficients(
    A=8945.120372018042, B=10382.617945072929, alpha=0.4024971139256739,
    beta=0.3729152631533803, gamma=0.6908464719001038, c0=2.3454034172583227,
    c1=5206.378363895227, f1=0.10090810049610698, d1=1.7296377680935118,
)

#: Named coefficient sets, (supervised, distillation), for the command line and the chapters.
COEFFICIENT_SETS = MappingProxyType({
    "paper": (PAPER_SUPERVISED, PAPER_DISTILLATION),
    "fig1-refit": (PAPER_SUPERVISED, FIG1_REFIT_DISTILLATION),
})

#: 90% bootstrap intervals (4096 resamples) printed in Table 6.
PAPER_SUPERVISED_INTERVALS = MappingProxyType({
    "E": (1.190, 1.247), "A": (3346.0, 3360.0), "B": (18157.0, 18236.0),
    "alpha": (0.405, 0.411), "beta": (0.428, 0.433), "gamma": (0.442, 0.461),
    "a": (0.513, 0.513), "b": (0.486, 0.486),
})

PAPER_DISTILLATION_INTERVALS = MappingProxyType({
    "A": (2227.0, 2255.0), "B": (24084.0, 24266.0), "alpha": (0.319, 0.324),
    "beta": (0.634, 0.640), "gamma": (0.732, 0.788), "c0": (2.425, 2.615),
    "c1": (522.6, 522.6), "f1": (0.088, 0.093), "d1": (1.302, 1.327),
    "a": (0.662, 0.665), "b": (0.334, 0.337),
})

#: The ratios a, b (supervised) and a', b' (distillation) as printed in Table 6.
PAPER_RATIOS = MappingProxyType({
    "supervised": {"a": 0.513, "b": 0.486},
    "distillation": {"a": 0.664, "b": 0.335},
})


def _supervised(name: str, value) -> "SupervisedCoefficients":
    """``value`` after checking it is a ``SupervisedCoefficients`` (``TypeError`` naming ``name``)."""
    return instance(name, value, SupervisedCoefficients, " (analysis.laws)")


def _distillation(name: str, value) -> "DistillationCoefficients":
    """``value`` after checking it is a ``DistillationCoefficients`` (``TypeError`` naming ``name``)."""
    return instance(name, value, DistillationCoefficients, " (analysis.laws)")


def _log_power_sum(log_n, log_d, A, B, alpha, beta):
    """log(A / N**alpha + B / D**beta) from log N and log D."""
    return np.logaddexp(np.log(A) - alpha * log_n, np.log(B) - beta * log_d)


def _log_supervised_from_logs(log_n, log_d, coef: SupervisedCoefficients):
    """log L(N, D) of Eq. 1 from log N and log D (App. F.1, Eq. 44, with the
    printed typo "log A - alpha N" read as log A - alpha log N)."""
    inner = _log_power_sum(log_n, log_d, coef.A, coef.B, coef.alpha, coef.beta)
    return np.logaddexp(np.log(coef.E), coef.gamma * inner)


def _log_sizes(N, D, n_name="N", d_name="D"):
    """log N and log D after the checks: positive, finite and broadcasting together."""
    n, d = broadcast(**{n_name: positive_array(n_name, N), d_name: positive_array(d_name, D)})
    return np.log(n), np.log(d)


def log_supervised_loss(N, D, coef: SupervisedCoefficients = PAPER_SUPERVISED):
    """Natural log of the supervised loss, Eq. 1 (App. F.1, Eq. 44)."""
    log_n, log_d = _log_sizes(N, D)
    _supervised("coef", coef)
    return _log_supervised_from_logs(log_n, log_d, coef)


def supervised_loss(N, D, coef: SupervisedCoefficients = PAPER_SUPERVISED):
    """Validation cross-entropy (nats/token) of a model with ``N`` non-embedding
    parameters trained with supervision on ``D`` tokens (Eq. 1).

    The reducible part is formed in log space and added to ``E`` in linear
    space, so the result is never below ``E`` by rounding."""
    log_n, log_d = _log_sizes(N, D)
    _supervised("coef", coef)
    inner = _log_power_sum(log_n, log_d, coef.A, coef.B, coef.alpha, coef.beta)
    return coef.E + np.exp(coef.gamma * inner)


def supervised_loss_infinite_data(N, coef: SupervisedCoefficients = PAPER_SUPERVISED):
    """The model-size floor ``L(N, D=inf) = E + (A / N**alpha)**gamma`` (Eq. 35)."""
    log_n = np.log(positive_array("N", N))
    _supervised("coef", coef)
    return coef.E + np.exp(coef.gamma * (np.log(coef.A) - coef.alpha * log_n))


def log_capacity_gap_factor(L_T, L_tilde_S, coef: DistillationCoefficients = PAPER_DISTILLATION):
    """log of ``(1 + (L_T / (L~_S d1)) ** (1/f1)) ** (-c1 f1)`` (App. F.2, Eq. 48)."""
    log_t, log_s = _log_sizes(L_T, L_tilde_S, "L_T", "L_tilde_S")
    _distillation("coef", coef)
    log_ratio = log_t - log_s - np.log(coef.d1)
    return -coef.c1 * coef.f1 * np.logaddexp(0.0, log_ratio / coef.f1)


def capacity_gap_factor(L_T, L_tilde_S, coef: DistillationCoefficients = PAPER_DISTILLATION):
    """The capacity-gap factor of Eq. 8, a number in (0, 1].

    With ``x = L_T / (d1 L~_S)``: the factor is ~1 for x well below 1 (teacher
    strong relative to the student's own capacity) and falls like ``x ** -c1``
    for x above 1.
    """
    return np.exp(log_capacity_gap_factor(L_T, L_tilde_S, coef))


def _log_distilled_excess(N_S, D_S, L_T, coef: DistillationCoefficients,
                          supervised: SupervisedCoefficients):
    """(L_T, log of L_S - L_T): the log of Eq. 8's second term, a sum of logs of
    its three positive factors (App. F.2, Eqs. 47-49)."""
    log_n, log_d = _log_sizes(N_S, D_S, "N_S", "D_S")
    _distillation("coef", coef), _supervised("supervised", supervised)
    L_T = positive_array("L_T", L_T)
    if np.any(L_T < 1e-30):  # L_T**-c0 overflows as L_T -> 0
        raise ValueError(f"L_T must be at least 1e-30 nats/token; got {shown(float(L_T[L_T < 1e-30].flat[0]))}")
    broadcast(N_S=log_n, L_T=L_T)
    log_t = np.log(L_T)
    log_tilde = _log_supervised_from_logs(log_n, log_d, supervised)
    log_gap = -coef.c1 * coef.f1 * np.logaddexp(0.0, (log_t - log_tilde - np.log(coef.d1)) / coef.f1)
    log_power = coef.gamma * _log_power_sum(log_n, log_d, coef.A, coef.B, coef.alpha, coef.beta)
    return L_T, -coef.c0 * log_t + log_gap + log_power


def log_distilled_loss(N_S, D_S, L_T, coef: DistillationCoefficients = PAPER_DISTILLATION,
                       supervised: SupervisedCoefficients = PAPER_SUPERVISED):
    """Natural log of the distilled student's loss, Eq. 8 (App. F.2, Eqs. 47-49)."""
    L_T, log_excess = _log_distilled_excess(N_S, D_S, L_T, coef, supervised)
    return np.logaddexp(np.log(L_T), log_excess)


def distilled_loss(N_S, D_S, L_T, coef: DistillationCoefficients = PAPER_DISTILLATION,
                   supervised: SupervisedCoefficients = PAPER_SUPERVISED):
    """Validation cross-entropy (nats/token, against the data) of a student with
    ``N_S`` non-embedding parameters distilled on ``D_S`` tokens from a teacher
    whose own validation cross-entropy is ``L_T`` (Eq. 8).

    The excess over ``L_T`` is formed in log space and added in linear space, so
    ``L_S >= L_T`` holds exactly, as it does in the law (see the chapter)."""
    L_T, log_excess = _log_distilled_excess(N_S, D_S, L_T, coef, supervised)
    with np.errstate(over="ignore"):
        out = L_T + np.exp(log_excess)
    if not np.all(np.isfinite(out)):
        raise ValueError("L_T is too small for these coefficients: L_S = L_T + L_T**-c0 (...) overflows "
                         "a float (use log_distilled_loss)")
    return out
