"""Compute accounting of Busbridge et al. (arXiv 2502.08606v2), §5 and App. H.

* ``forward_flops_per_token``: F(N), Eq. 69, forward FLOPs per token of a
  fixed-aspect-ratio model with attention and vocabulary included;
* ``architecture_forward_flops``: the per-architecture count it approximates
  (Eq. 59: ``2N + 2 n_layers n_ctx d_model + 2 n_vocab d_model``);
* ``detailed_forward_flops`` and ``non_embedding_params``: the full "Ours (Total)"
  counts of Tables 9 and 11, small terms included;
* ``Scenario`` and ``distillation_flops``: the four compute scenarios of Table 2
  (one declaration each) and the total cost of Eq. 9;
* ``SharedTeacher`` (``Scenario.shared_by(n)``): a scenario whose teacher is shared by
  ``n`` students, each paying 1/n of the teacher's pretraining (and of its logits
  when the students read one stored copy); n = 1 is the scenario itself, n = inf
  drops the shared costs (pretraining + inference becomes teacher inference);
* ``CostModel``: F(N) with its architecture constants, the cost model a recipe's
  ``analysis.recipes.Setting`` carries;
* ``rounded_d_ff`` and ``PAPER_TABLE13``: the model family of App. I / Table 13 (the
  paper's printed values, kept here as comparison targets only).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import Enum
from typing import NamedTuple, Protocol, runtime_checkable

import numpy as np

from analysis._checks import array_in_range, in_range, positive_array, shown

#: Largest size, token count or shape parameter accepted (every product of FLOPs stays finite).
_MAX = 1e50
#: The range of an architecture constant (aspect ratio, omega, rho_ffn, a rounding multiple,
#: d_head, g_size, n_ffn): wide, but narrow enough that no ratio of them overflows.
_CONSTANT = (1e-6, 1e6)

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
    "rounded_d_ff",
    "Table13Row",
    "PAPER_TABLE13",
    "paper_table13",
    "Scenario",
    "CostScenario",
    "SharedTeacher",
    "CostModel",
    "PAPER_COST",
    "supervised_flops",
    "distillation_flops",
    "distillation_flops_split",
]

#: Sequence length of every run in the paper (App. I).
DEFAULT_N_CTX = 4096
#: Vocabulary size. The paper prints 32168 (App. G.4) and 32768 (Fig. 54). With
#: 32768, ``non_embedding_params + n_vocab d_model`` reproduces Table 13's N_total
#: column to its printed digits (32 of 33 rows; the last sits on a rounding
#: boundary), and Eq. 59 its "2N+sigma" column (33 of 33); 32168 misses most rows.
#: See book/counting_flops.md.
DEFAULT_N_VOCAB = 32768
#: Fixed aspect ratio d_model / n_layers (App. I).
DEFAULT_ASPECT_RATIO = 128
#: omega = 2 + 2/g_size + n_ffn * rho_ffn = 2 + 2 + 3 * 8/3 = 12 (Eq. 60).
DEFAULT_OMEGA = 12.0


def sigma_coefficients(aspect_ratio: float = DEFAULT_ASPECT_RATIO,
                       omega: float = DEFAULT_OMEGA) -> tuple[float, float]:
    """(sigma_1, sigma_2) of Eq. 69: ((rho omega^2)^(-1/3), (rho / omega)^(1/3))."""
    rho = in_range("aspect_ratio", aspect_ratio, *_CONSTANT)
    om = in_range("omega", omega, *_CONSTANT)
    return (rho * om**2) ** (-1.0 / 3.0), (rho / om) ** (1.0 / 3.0)


def forward_flops_per_token(N, n_ctx: float = DEFAULT_N_CTX, n_vocab: float = DEFAULT_N_VOCAB,
                            aspect_ratio: float = DEFAULT_ASPECT_RATIO,
                            omega: float = DEFAULT_OMEGA):
    """F(N) of Eq. 69: ``2N (1 + sigma1 n_ctx / N^(1/3) + sigma2 n_vocab / N^(2/3))``.

    ``N`` is the non-embedding parameter count. The two correction terms are the
    causal attention (logits and values) and the output projection onto the
    vocabulary of a model with ``d_model / n_layers = aspect_ratio``.
    """
    N = positive_array("N", N, upper=_MAX)
    return _forward(N, *_forward_constants(n_ctx, n_vocab, aspect_ratio, omega))


def _forward_constants(n_ctx, n_vocab, aspect_ratio, omega) -> tuple:
    """The checked constants of Eq. 69: (n_ctx, n_vocab, sigma_1, sigma_2)."""
    n_ctx = positive_array("n_ctx", n_ctx, upper=_MAX)
    n_vocab = positive_array("n_vocab", n_vocab, upper=_MAX)
    return (n_ctx, n_vocab, *sigma_coefficients(aspect_ratio, omega))


def _forward(N, n_ctx, n_vocab, s1, s2):
    """Eq. 69 on a checked ``N`` and checked constants."""
    cube_root = np.cbrt(N)
    return 2.0 * N * (1.0 + s1 * n_ctx / cube_root + s2 * n_vocab / cube_root**2)


def two_n_rule(N):
    """The common approximation F(N) = 2N (so training costs C = 6ND)."""
    return 2.0 * positive_array("N", N, upper=_MAX)


def fixed_aspect_shape(N, aspect_ratio: float = DEFAULT_ASPECT_RATIO,
                       omega: float = DEFAULT_OMEGA):
    """Continuous (n_layers, d_model) of a model with N = n_layers d_model^2 omega
    and d_model / n_layers = aspect_ratio (Eq. 64)."""
    N = positive_array("N", N, upper=_MAX)
    rho = in_range("aspect_ratio", aspect_ratio, *_CONSTANT)
    om = in_range("omega", omega, *_CONSTANT)
    return np.cbrt(N / (rho**2 * om)), np.cbrt(N * rho / om)


def rounded_d_ff(d_model, rho_ffn: float = 8.0 / 3.0, multiple: int = 128):
    """Feed-forward width of the paper's models: ``rho_ffn d_model`` rounded *up*
    to a multiple of ``multiple``. With the defaults this gives every d_ff printed
    in Table 13 from its d_model (checked in tests/test_flops.py)."""
    d_model = positive_array("d_model", d_model, upper=_MAX)
    rho = in_range("rho_ffn", rho_ffn, *_CONSTANT)
    m = in_range("multiple", multiple, *_CONSTANT)
    # the small slack keeps exact multiples (e.g. 8/3 * 1536 = 4096) from
    # rounding up one step through floating-point error
    return np.ceil(rho * d_model / m - 1e-9) * m


def architecture_forward_flops(n_layers, d_model, n_ctx=DEFAULT_N_CTX, n_vocab=DEFAULT_N_VOCAB,
                               N=None, omega: float = DEFAULT_OMEGA):
    """Eq. 59: ``2N + 2 n_layers n_ctx d_model + 2 n_vocab d_model``.

    ``N`` defaults to ``n_layers d_model^2 omega`` (Eq. 57); pass the exact
    non-embedding count of a concrete architecture to use it instead.
    """
    n_layers = positive_array("n_layers", n_layers, upper=_MAX)
    d_model = positive_array("d_model", d_model, upper=_MAX)
    n_ctx = positive_array("n_ctx", n_ctx, upper=_MAX)
    n_vocab = positive_array("n_vocab", n_vocab, upper=_MAX)
    if N is None:
        N = n_layers * d_model**2 * in_range("omega", omega, *_CONSTANT)
    N = positive_array("N", N, upper=_MAX)
    return 2.0 * N + 2.0 * n_layers * n_ctx * d_model + 2.0 * n_vocab * d_model


def non_embedding_params(n_layers, d_model, d_ff, d_head=128, g_size=1, n_ffn=3):
    """Table 9, "Ours (Total)" without the embedding: per layer the attention
    projections, the QK-norm scales (2 d_head) and the pre-attention norm
    (d_model), the gated MLP and its pre-norm (d_model); plus the output norm."""
    n_layers = positive_array("n_layers", n_layers, upper=_MAX)
    d_model = positive_array("d_model", d_model, upper=_MAX)
    d_ff = positive_array("d_ff", d_ff, upper=_MAX)
    d_head = array_in_range("d_head", d_head, *_CONSTANT)
    g_size = array_in_range("g_size", g_size, *_CONSTANT)
    n_ffn = array_in_range("n_ffn", n_ffn, *_CONSTANT)
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
    n_layers = positive_array("n_layers", n_layers, upper=_MAX)
    d_model = positive_array("d_model", d_model, upper=_MAX)
    d_ff = positive_array("d_ff", d_ff, upper=_MAX)
    n_ctx = positive_array("n_ctx", n_ctx, upper=_MAX)
    n_vocab = positive_array("n_vocab", n_vocab, upper=_MAX)
    d_head = array_in_range("d_head", d_head, *_CONSTANT)
    g_size = array_in_range("g_size", g_size, *_CONSTANT)
    n_ffn = array_in_range("n_ffn", n_ffn, *_CONSTANT)
    n_heads = d_model / d_head
    attention = (4.0 + 4.0 / g_size) * d_model**2 + 2.0 * n_ctx * d_model + 2.5 * n_heads * n_ctx
    mlp = 2.0 * n_ffn * d_model * d_ff
    return 2.0 * d_model + n_layers * (attention + mlp) + 2.0 * n_vocab * d_model


class Scenario(Enum):
    """The four compute scenarios of Table 2: which teacher costs are paid.

    Each member is one declaration ``(delta_logits, delta_pretraining, label)``: the
    indicators of Eq. 9 (the share of each teacher cost charged to the student) and
    the name Table 2 gives it. The recipes read only these attributes (and ``slug``),
    so any object that has them (see ``CostScenario``) is a scenario too.
    """

    BEST_CASE = (0, 0, "Best case (fully amortised teacher)")
    TEACHER_INFERENCE = (1, 0, "Teacher inference")
    TEACHER_PRETRAINING = (0, 1, "Teacher pretraining")
    TEACHER_PRETRAINING_AND_INFERENCE = (1, 1, "Teacher pretraining + inference")

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
        return self.value[2]

    @property
    def slug(self) -> str:
        """Command-line spelling, e.g. ``teacher-inference``."""
        return self.name.lower().replace("_and_", "+").replace("_", "-")

    def shared_by(self, students, *, shared_logits: bool = False) -> "SharedTeacher":
        """This scenario with its teacher shared by ``students`` students (a number
        >= 1, or ``math.inf``): see ``SharedTeacher``."""
        return SharedTeacher(self, students, shared_logits=shared_logits)

    @classmethod
    def parse(cls, value) -> "Scenario | CostScenario":
        """Accept a ``Scenario``, its name (any case) or its slug, a shared-teacher
        slug (``teacher-pretraining+inference/8``, ``.../8/shared-logits``, ``.../inf``),
        or any other ``CostScenario`` (returned unchanged)."""
        if isinstance(value, cls):
            return value
        if isinstance(value, str) and "/" in value:
            return SharedTeacher.parse(value)
        if isinstance(value, str):
            key = value.strip().upper().replace("-", "_").replace("+", "_AND_")
            for member in cls:
                if key == member.name:
                    return member
        elif isinstance(value, CostScenario):
            for name in ("delta_logits", "delta_pretraining"):
                share = getattr(value, name)
                if not (isinstance(share, (int, float)) and 0 <= share <= 1):
                    raise ValueError(f"scenario.{name} must be a number in [0, 1]; got {shown(share)}")
            return value
        allowed = ", ".join(m.slug for m in cls)
        raise ValueError(f"scenario must be one of {allowed}; got {shown(value)}")


@dataclass(frozen=True)
class SharedTeacher:
    """A scenario of Table 2 whose teacher serves ``students`` students of the same
    recipe, each charged an equal share of the teacher's costs:

    * pretraining: ``delta_pretraining = base.delta_pretraining / students``;
    * logits: each student distils on its own tokens and pays its own logits
      (``delta_logits = base.delta_logits``), unless ``shared_logits``: the students
      distil on the same tokens and read one stored copy, ``base.delta_logits / students``.

    ``students`` is a number >= 1 (non-integers are allowed so that a break-even
    count can be bracketed) or ``math.inf``. n = 1 charges exactly what ``base``
    charges; n = inf charges nothing that is shared, so that pretraining + inference
    becomes teacher inference (or the best case with shared logits) and teacher
    pretraining becomes the best case. The recipes read only the two shares, so this
    one declaration is all they need (tests/test_recipes.py checks both limits).
    """

    base: Scenario
    students: float = 1
    shared_logits: bool = False

    def __post_init__(self):
        try:
            object.__setattr__(self, "base", Scenario.parse(self.base))
        except ValueError:
            raise ValueError(f"base must be one of the four Table 2 scenarios "
                             f"({', '.join(m.slug for m in Scenario)}); got {shown(self.base)}") from None
        if not isinstance(self.base, Scenario):
            raise ValueError(f"base must be one of the four Table 2 scenarios; got {shown(self.base)}")
        n = self.students
        if isinstance(n, bool) or not isinstance(n, (int, float, np.integer, np.floating)) \
                or (isinstance(n, (int, np.integer)) and abs(n) > 10**300) or math.isnan(n) or n < 1:
            raise ValueError(f"students must be a number >= 1 (or math.inf; an integer at most 1e300); "
                             f"got {shown(n)}")
        object.__setattr__(self, "students", float(n) if not isinstance(n, int) else n)
        if not isinstance(self.shared_logits, (bool, np.bool_)):
            raise ValueError(f"shared_logits must be True or False; got {shown(self.shared_logits)}")

    @property
    def delta_pretraining(self) -> float:
        """The student's share of the teacher's pretraining, base share / n."""
        return self.base.delta_pretraining / self.students

    @property
    def delta_logits(self) -> float:
        """The student's share of the teacher's logits on its tokens."""
        if self.shared_logits:
            return self.base.delta_logits / self.students
        return float(self.base.delta_logits)

    @property
    def slug(self) -> str:
        """``<base slug>/<n>`` (``/shared-logits`` appended when the logits are shared)."""
        n = "inf" if math.isinf(self.students) else f"{self.students:g}"
        return f"{self.base.slug}/{n}" + ("/shared-logits" if self.shared_logits else "")

    @property
    def label(self) -> str:
        n = "infinitely many" if math.isinf(self.students) else f"{self.students:g}"
        noun = "student" if self.students == 1 else "students"
        tail = ", logits shared" if self.shared_logits else ""
        return f"{self.base.label}, teacher shared by {n} {noun}{tail}"

    @classmethod
    def parse(cls, text: str) -> "SharedTeacher":
        """Read a slug written by ``slug``: ``<base slug>/<n>[/shared-logits]``."""
        parts = [p.strip() for p in str(text).split("/")]
        message = (f"shared-teacher scenario must read <scenario>/<students>[/shared-logits], "
                   f"e.g. teacher-pretraining+inference/8; got {shown(text)}")
        if len(parts) not in (2, 3) or (len(parts) == 3 and parts[2].lower() != "shared-logits"):
            raise ValueError(message)
        try:
            n = float(parts[1])
        except ValueError:
            raise ValueError(message) from None
        n = int(n) if math.isfinite(n) and n == int(n) else n
        return cls(Scenario.parse(parts[0]), n, shared_logits=len(parts) == 3)


@runtime_checkable
class CostScenario(Protocol):
    """What the FLOP accounting and the recipes need of a scenario: the shares of the
    teacher's logits (``delta_logits``) and pretraining (``delta_pretraining``) that the
    student pays (each in [0, 1]), and a ``slug`` and ``label`` for tables."""

    delta_logits: float
    delta_pretraining: float
    slug: str
    label: str


@dataclass(frozen=True)
class CostModel:
    """The forward cost per token F(N) of Eq. 69 with its architecture constants
    (sequence length, vocabulary, aspect ratio d_model / n_layers and omega of Eq. 60).
    The defaults are the paper's; ``forward(N)`` is ``forward_flops_per_token``."""

    n_ctx: float = DEFAULT_N_CTX
    n_vocab: float = DEFAULT_N_VOCAB
    aspect_ratio: float = DEFAULT_ASPECT_RATIO
    omega: float = DEFAULT_OMEGA

    def __post_init__(self):
        for name in ("n_ctx", "n_vocab", "aspect_ratio", "omega"):
            positive_array(name, getattr(self, name))

    def forward(self, N):
        """F(N), forward FLOPs per token (Eq. 69), the same as ``forward_flops_per_token``.
        The recipes' solvers call it thousands of times per solve, so the checked constants
        are kept after the first call."""
        N = positive_array("N", N, upper=_MAX)
        constants = self.__dict__.get("_constants")
        if constants is None:
            constants = _forward_constants(self.n_ctx, self.n_vocab, self.aspect_ratio, self.omega)
            object.__setattr__(self, "_constants", constants)  # a cache, not a field
        return _forward(N, *constants)

    def as_kwargs(self) -> dict:
        """The constants as keyword arguments of ``forward_flops_per_token``."""
        return {"n_ctx": self.n_ctx, "n_vocab": self.n_vocab, "aspect_ratio": self.aspect_ratio,
                "omega": self.omega}


#: The paper's cost model: F(N) of Eq. 69 at n_ctx = 4096, n_vocab = 32768, rho = 128.
PAPER_COST = CostModel()


def supervised_flops(N, D, **flops_kwargs):
    """Training cost 3 F(N) D of a supervised run (forward plus a backward pass
    costing twice the forward, Eq. 70)."""
    return 3.0 * forward_flops_per_token(N, **flops_kwargs) * positive_array("D", D, upper=_MAX)


def distillation_flops_split(N_S, D_S, N_T, D_T, scenario, **flops_kwargs):
    """The three terms of Eq. 9 as a dict: ``student_training`` = 3 F(N_S) D_S,
    ``teacher_logits`` = delta_lgt F(N_T) D_S, ``teacher_pretraining`` =
    delta_pre 3 F(N_T) D_T."""
    scenario = Scenario.parse(scenario)
    D_S = positive_array("D_S", D_S, upper=_MAX)
    D_T = positive_array("D_T", D_T, upper=_MAX)
    f_student = forward_flops_per_token(positive_array("N_S", N_S, upper=_MAX), **flops_kwargs)
    f_teacher = forward_flops_per_token(positive_array("N_T", N_T, upper=_MAX), **flops_kwargs)
    return {
        "student_training": 3.0 * f_student * D_S,
        "teacher_logits": scenario.delta_logits * f_teacher * D_S,
        "teacher_pretraining": scenario.delta_pretraining * 3.0 * f_teacher * D_T,
    }


def distillation_flops(N_S, D_S, N_T, D_T, scenario, **flops_kwargs):
    """Total FLOPs of Eq. 9 for one of the four scenarios."""
    parts = distillation_flops_split(N_S, D_S, N_T, D_T, scenario, **flops_kwargs)
    return parts["student_training"] + parts["teacher_logits"] + parts["teacher_pretraining"]


class Table13Row(NamedTuple):
    """One row of the paper's Table 13 as printed (App. I). Sizes in billions,
    ``C_fwd``, ``two_n`` and ``two_n_sigma`` in GFLOPs per token at n_ctx = 4096."""

    name: str
    N: float
    N_total: float
    n_layers: int
    d_model: int
    d_ff: int
    C_fwd: float
    two_n: float
    two_n_sigma: float


#: Table 13 of the paper, typed from the PDF: comparison targets only, never
#: inputs to a law. Note the 10B row: its printed d_ff (12672) follows the
#: rounding rule, yet its N, N_total, C_fwd, 2N and 2N+sigma need d_ff = 12800.
PAPER_TABLE13: tuple[Table13Row, ...] = tuple(Table13Row(*row) for row in (
    ("103M", 0.1028, 0.1363, 8, 1024, 2816, 0.3411, 0.2056, 0.3398),
    ("143M", 0.1434, 0.1811, 9, 1152, 3072, 0.4487, 0.2867, 0.4471),
    ("198M", 0.1983, 0.2402, 10, 1280, 3456, 0.587, 0.3965, 0.5853),
    ("266M", 0.2657, 0.3118, 11, 1408, 3840, 0.7524, 0.5314, 0.7505),
    ("340M", 0.3398, 0.3901, 12, 1536, 4096, 0.9333, 0.6796, 0.9312),
    ("435M", 0.4348, 0.4893, 13, 1664, 4480, 1.158, 0.8695, 1.156),
    ("546M", 0.546, 0.6047, 14, 1792, 4864, 1.417, 1.092, 1.415),
    ("664M", 0.6636, 0.7265, 15, 1920, 5120, 1.692, 1.327, 1.689),
    ("810M", 0.8096, 0.8767, 16, 2048, 5504, 2.025, 1.619, 2.022),
    ("975M", 0.9755, 1.047, 17, 2176, 5888, 2.4, 1.951, 2.397),
    ("1.15B", 1.147, 1.222, 18, 2304, 6144, 2.787, 2.293, 2.784),
    ("1.35B", 1.355, 1.434, 19, 2432, 6528, 3.25, 2.709, 3.247),
    ("1.59B", 1.586, 1.67, 20, 2560, 6912, 3.763, 3.172, 3.759),
    ("1.82B", 1.821, 1.909, 21, 2688, 7168, 4.284, 3.642, 4.28),
    ("2.1B", 2.102, 2.194, 22, 2816, 7552, 4.899, 4.203, 4.895),
    ("2.41B", 2.41, 2.506, 23, 2944, 7936, 5.571, 4.819, 5.567),
    ("2.72B", 2.718, 2.819, 24, 3072, 8192, 6.246, 5.436, 6.241),
    ("3.08B", 3.082, 3.187, 25, 3200, 8576, 7.034, 6.165, 7.03),
    ("3.48B", 3.478, 3.587, 26, 3328, 8960, 7.887, 6.956, 7.883),
    ("3.87B", 3.87, 3.983, 27, 3456, 9216, 8.736, 7.74, 8.731),
    ("4.33B", 4.329, 4.446, 28, 3584, 9600, 9.72, 8.658, 9.715),
    ("4.82B", 4.823, 4.944, 29, 3712, 9984, 10.78, 9.646, 10.77),
    ("5.31B", 5.309, 5.434, 30, 3840, 10240, 11.82, 10.62, 11.81),
    ("5.87B", 5.873, 6.003, 31, 3968, 10624, 13.02, 11.75, 13.01),
    ("6.48B", 6.476, 6.611, 32, 4096, 11008, 14.3, 12.95, 14.29),
    ("7.07B", 7.066, 7.204, 33, 4224, 11264, 15.56, 14.13, 15.55),
    ("7.75B", 7.747, 7.889, 34, 4352, 11648, 17.0, 15.49, 16.99),
    ("8.47B", 8.47, 8.617, 35, 4480, 12032, 18.52, 16.94, 18.52),
    ("9.17B", 9.173, 9.324, 36, 4608, 12288, 20.01, 18.35, 20.01),
    ("10B", 10.05, 10.2, 37, 4736, 12672, 21.85, 20.1, 21.84),
    ("10.8B", 10.84, 11.0, 38, 4864, 13056, 23.51, 21.67, 23.5),
    ("11.7B", 11.66, 11.83, 39, 4992, 13312, 25.26, 23.33, 25.25),
    ("12.6B", 12.61, 12.78, 40, 5120, 13696, 27.24, 25.22, 27.23),
))


def paper_table13():
    """``PAPER_TABLE13`` as a pandas DataFrame (one row per model, printed values)."""
    import pandas as pd

    return pd.DataFrame([row._asdict() for row in PAPER_TABLE13])
