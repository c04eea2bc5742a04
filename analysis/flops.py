"""Compute accounting of Busbridge et al. (arXiv 2502.08606v2), §5 and App. H.

* ``forward_flops_per_token``: F(N), Eq. 69, forward FLOPs per token of a
  fixed-aspect-ratio model with attention and vocabulary included;
* ``architecture_forward_flops``: the per-architecture count it approximates
  (Eq. 59: ``2N + 2 n_layers n_ctx d_model + 2 n_vocab d_model``);
* ``detailed_forward_flops`` and ``non_embedding_params``: the full "Ours (Total)"
  counts of Tables 9 and 11, small terms included;
* ``Scenario`` and ``distillation_flops``: the four compute scenarios of Table 2
  and the total cost of Eq. 9.
"""

from __future__ import annotations

from enum import Enum

import numpy as np

from analysis._checks import positive_array

__all__ = [
    "DEFAULT_N_CTX",
    "DEFAULT_N_VOCAB",
    "DEFAULT_ASPECT_RATIO",
    "DEFAULT_OMEGA",
    "sigma_coefficients",
    "forward_flops_per_token",
    "two_n_rule",
    "architecture_forward_flops",
    "detailed_forward_flops",
    "non_embedding_params",
    "fixed_aspect_shape",
    "Scenario",
    "supervised_flops",
    "distillation_flops",
    "distillation_flops_split",
]

#: Sequence length of every run in the paper (App. I).
DEFAULT_N_CTX = 4096
#: Vocabulary size. The paper prints 32168 (App. G.4) and 32768 (Fig. 54); 32768
#: reproduces Table 13's total-parameter column exactly (see the FLOPs chapter).
DEFAULT_N_VOCAB = 32768
#: Fixed aspect ratio d_model / n_layers (App. I).
DEFAULT_ASPECT_RATIO = 128
#: omega = 2 + 2/g_size + n_ffn * rho_ffn = 2 + 2 + 3 * 8/3 = 12 (Eq. 60).
DEFAULT_OMEGA = 12.0


def sigma_coefficients(aspect_ratio: float = DEFAULT_ASPECT_RATIO,
                       omega: float = DEFAULT_OMEGA) -> tuple[float, float]:
    """(sigma_1, sigma_2) of Eq. 69: ((rho omega^2)^(-1/3), (rho / omega)^(1/3))."""
    rho = float(positive_array("aspect_ratio", aspect_ratio))
    om = float(positive_array("omega", omega))
    return (rho * om**2) ** (-1.0 / 3.0), (rho / om) ** (1.0 / 3.0)


def forward_flops_per_token(N, n_ctx: float = DEFAULT_N_CTX, n_vocab: float = DEFAULT_N_VOCAB,
                            aspect_ratio: float = DEFAULT_ASPECT_RATIO,
                            omega: float = DEFAULT_OMEGA):
    """F(N) of Eq. 69: ``2N (1 + sigma1 n_ctx / N^(1/3) + sigma2 n_vocab / N^(2/3))``.

    ``N`` is the non-embedding parameter count. The two correction terms are the
    causal attention (logits and values) and the output projection onto the
    vocabulary of a model with ``d_model / n_layers = aspect_ratio``.
    """
    N = positive_array("N", N)
    n_ctx = positive_array("n_ctx", n_ctx)
    n_vocab = positive_array("n_vocab", n_vocab)
    s1, s2 = sigma_coefficients(aspect_ratio, omega)
    cube_root = np.cbrt(N)
    return 2.0 * N * (1.0 + s1 * n_ctx / cube_root + s2 * n_vocab / cube_root**2)


def two_n_rule(N):
    """The common approximation F(N) = 2N (so training costs C = 6ND)."""
    return 2.0 * positive_array("N", N)


def fixed_aspect_shape(N, aspect_ratio: float = DEFAULT_ASPECT_RATIO,
                       omega: float = DEFAULT_OMEGA):
    """Continuous (n_layers, d_model) of a model with N = n_layers d_model^2 omega
    and d_model / n_layers = aspect_ratio (Eq. 64)."""
    N = positive_array("N", N)
    rho = float(positive_array("aspect_ratio", aspect_ratio))
    om = float(positive_array("omega", omega))
    return np.cbrt(N / (rho**2 * om)), np.cbrt(N * rho / om)


def architecture_forward_flops(n_layers, d_model, n_ctx=DEFAULT_N_CTX, n_vocab=DEFAULT_N_VOCAB,
                               N=None, omega: float = DEFAULT_OMEGA):
    """Eq. 59: ``2N + 2 n_layers n_ctx d_model + 2 n_vocab d_model``.

    ``N`` defaults to ``n_layers d_model^2 omega`` (Eq. 57); pass the exact
    non-embedding count of a concrete architecture to use it instead.
    """
    n_layers = positive_array("n_layers", n_layers)
    d_model = positive_array("d_model", d_model)
    n_ctx = positive_array("n_ctx", n_ctx)
    n_vocab = positive_array("n_vocab", n_vocab)
    if N is None:
        N = n_layers * d_model**2 * float(positive_array("omega", omega))
    N = positive_array("N", N)
    return 2.0 * N + 2.0 * n_layers * n_ctx * d_model + 2.0 * n_vocab * d_model


def non_embedding_params(n_layers, d_model, d_ff, d_head=128, g_size=1, n_ffn=3):
    """Table 9, "Ours (Total)" without the embedding: per layer the attention
    projections, the QK-norm scales (2 d_head) and the pre-attention norm
    (d_model), the gated MLP and its pre-norm (d_model); plus the output norm."""
    n_layers = positive_array("n_layers", n_layers)
    d_model = positive_array("d_model", d_model)
    d_ff = positive_array("d_ff", d_ff)
    d_head = positive_array("d_head", d_head)
    g_size = positive_array("g_size", g_size)
    n_heads = d_model / d_head
    n_kv_heads = n_heads / g_size
    attention = 2.0 * (n_heads + n_kv_heads) * d_head * d_model + 2.0 * d_head + d_model
    mlp = n_ffn * d_model * d_ff + d_model
    return n_layers * (attention + mlp) + d_model


def detailed_forward_flops(n_layers, d_model, d_ff, n_ctx=DEFAULT_N_CTX,
                           n_vocab=DEFAULT_N_VOCAB, d_head=128, g_size=1, n_ffn=3):
    """Table 11, "Ours (Total)": embedding 2 d_model; per layer attention
    (4 + 4/g) d_model^2 + 2 n_ctx d_model + 2.5 n_heads n_ctx and MLP
    2 n_ffn d_model d_ff; logits 2 n_vocab d_model."""
    n_layers = positive_array("n_layers", n_layers)
    d_model = positive_array("d_model", d_model)
    d_ff = positive_array("d_ff", d_ff)
    n_ctx = positive_array("n_ctx", n_ctx)
    n_vocab = positive_array("n_vocab", n_vocab)
    d_head = positive_array("d_head", d_head)
    g_size = positive_array("g_size", g_size)
    n_heads = d_model / d_head
    attention = (4.0 + 4.0 / g_size) * d_model**2 + 2.0 * n_ctx * d_model + 2.5 * n_heads * n_ctx
    mlp = 2.0 * n_ffn * d_model * d_ff
    return 2.0 * d_model + n_layers * (attention + mlp) + 2.0 * n_vocab * d_model


class Scenario(Enum):
    """The four compute scenarios of Table 2: which teacher costs are paid.

    Each member carries ``(delta_logits, delta_pretraining)``, the indicators
    of Eq. 9.
    """

    BEST_CASE = (0, 0)
    TEACHER_INFERENCE = (1, 0)
    TEACHER_PRETRAINING = (0, 1)
    TEACHER_PRETRAINING_AND_INFERENCE = (1, 1)

    @property
    def delta_logits(self) -> int:
        """1 if each student token costs a teacher forward pass."""
        return self.value[0]

    @property
    def delta_pretraining(self) -> int:
        """1 if the teacher's own training (3 F(N_T) D_T) is charged."""
        return self.value[1]

    @property
    def label(self) -> str:
        """Human-readable name, as in the paper's Table 2."""
        return {
            "BEST_CASE": "Best case (fully amortised teacher)",
            "TEACHER_INFERENCE": "Teacher inference",
            "TEACHER_PRETRAINING": "Teacher pretraining",
            "TEACHER_PRETRAINING_AND_INFERENCE": "Teacher pretraining + inference",
        }[self.name]

    @property
    def slug(self) -> str:
        """Command-line spelling, e.g. ``teacher-inference``."""
        return self.name.lower().replace("_and_", "+").replace("_", "-")

    @classmethod
    def parse(cls, value) -> "Scenario":
        """Accept a ``Scenario``, its name (any case) or its slug."""
        if isinstance(value, cls):
            return value
        if isinstance(value, str):
            key = value.strip().upper().replace("-", "_").replace("+", "_AND_")
            for member in cls:
                if key == member.name:
                    return member
        allowed = ", ".join(m.slug for m in cls)
        raise ValueError(f"scenario must be one of {allowed}; got {value!r}")


def supervised_flops(N, D, **flops_kwargs):
    """Training cost 3 F(N) D of a supervised run (forward plus a backward pass
    costing twice the forward, Eq. 70)."""
    return 3.0 * forward_flops_per_token(N, **flops_kwargs) * positive_array("D", D)


def distillation_flops_split(N_S, D_S, N_T, D_T, scenario, **flops_kwargs):
    """The three terms of Eq. 9 as a dict: ``student_training`` = 3 F(N_S) D_S,
    ``teacher_logits`` = delta_lgt F(N_T) D_S, ``teacher_pretraining`` =
    delta_pre 3 F(N_T) D_T."""
    scenario = Scenario.parse(scenario)
    D_S = positive_array("D_S", D_S)
    D_T = positive_array("D_T", D_T)
    f_student = forward_flops_per_token(positive_array("N_S", N_S), **flops_kwargs)
    f_teacher = forward_flops_per_token(positive_array("N_T", N_T), **flops_kwargs)
    return {
        "student_training": 3.0 * f_student * D_S,
        "teacher_logits": scenario.delta_logits * f_teacher * D_S,
        "teacher_pretraining": scenario.delta_pretraining * 3.0 * f_teacher * D_T,
    }


def distillation_flops(N_S, D_S, N_T, D_T, scenario, **flops_kwargs):
    """Total FLOPs of Eq. 9 for one of the four scenarios."""
    parts = distillation_flops_split(N_S, D_S, N_T, D_T, scenario, **flops_kwargs)
    return parts["student_training"] + parts["teacher_logits"] + parts["teacher_pretraining"]
