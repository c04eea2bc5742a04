"""Why a stronger teacher can make a worse student: the two demonstrations of App. C of
Busbridge et al. (arXiv 2502.08606v2), on the CPU.

* Kernel regression with infinite data (App. C.1, Lemmas C.1-C.2, Fig. 10). The target
  is ``f* = sum_i alpha_i phi_i`` over orthonormal basis functions. The teacher is the best
  function in ``span(phi_1..phi_m)`` with norm at most ``T``; the student is the best
  approximation *of the teacher* in ``span(phi_1..phi_n)`` with norm at most ``D``. Both
  problems are projections onto a ball inside a subspace, so they have closed forms:
  project, then shrink onto the ball. ``kernel_teacher``, ``kernel_student`` and the
  vectorised ``kernel_errors`` evaluate them.
* A "mapping problem" for MLPs (in the spirit of App. C.2, Figs. 11-12). The paper gives
  its label rule as code that this book does not reproduce; ``MappingTask`` is our own
  task of the same shape (inputs in {0, 1, 2}, a context of ``num_classes`` entries and a
  one-hot query), with a stochastic label: three lookup rules of increasing difficulty
  each add ``strength`` to one class's logit. Two-hidden-layer ReLU MLPs are trained with
  Adam, a linear warm-up over 5% of the steps, a cosine decay to zero, batches of 512 fresh
  samples and ``max(500 x 512, 20 N)`` samples, as in App. C.2; the learning rate is ours
  (``TrainingSettings``). ``train_mlp`` trains a model on sampled labels or, given a
  teacher, on the teacher's full distribution (pure distillation, lambda = 1, tau = 1, as
  in the paper's runs); ``evaluate_mlp`` returns its cross-entropy against the *true*
  label distribution (nats) and its KL divergence from a teacher.

Everything is numpy; randomness comes only from the integer seeds passed in.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from analysis._checks import choice, frame, in_range, instance, integer, integers, shown

__all__ = [
    "KernelErrors",
    "kernel_teacher",
    "kernel_student",
    "kernel_errors",
    "MappingTask",
    "TrainingSettings",
    "DEFAULT_SETTINGS",
    "TrainedMLP",
    "mlp_parameter_count",
    "init_mlp",
    "mlp_logits",
    "loss_and_gradients",
    "train_mlp",
    "evaluate_mlp",
    "MLPSweep",
    "DEFAULT_SWEEP",
    "RUN_COLUMNS",
    "run_supervised",
    "run_teacher_group",
    "sweep_bands",
    "gap_summary",
    "paired_bands",
]


# ----------------------------------------------------------------- kernel regression

def _coefficients(alpha) -> np.ndarray:
    try:
        arr = np.asarray(alpha, dtype=float)
    except (TypeError, ValueError, OverflowError):
        raise ValueError(f"alpha must be a non-empty 1-D array of finite numbers; got {shown(alpha)}") from None
    if arr.ndim != 1 or arr.size == 0 or not np.all(np.isfinite(arr)) or np.all(arr == 0) \
            or isinstance(alpha, (str, bytes)) or np.max(np.abs(arr)) > 1e150:
        raise ValueError(f"alpha must be a non-empty 1-D array of finite numbers (not all 0, |alpha| <= 1e150); "
                         f"got shape {arr.shape}")
    return arr


def _span(name: str, value, size: int) -> np.ndarray:
    arr = np.asarray(value)
    if not np.issubdtype(arr.dtype, np.integer) or np.any(arr < 1) or np.any(arr > size):
        raise ValueError(f"{name} must be integers in [1, {size}] (the number of basis functions); "
                         f"got {shown(value)}")
    return arr.astype(int)


def _shrink(norm, budget):
    """The factor that brings a vector of length ``norm`` into the ball of radius ``budget``."""
    norm = np.asarray(norm, dtype=float)
    safe = np.where(norm > 0, norm, 1.0)
    return np.where(norm > budget, budget / safe, 1.0)


def kernel_teacher(alpha, m: int, teacher_norm: float) -> np.ndarray:
    """Coefficients of the optimal teacher g* = C(m, T) sum_{i<=m} alpha_i phi_i (App. C.1).

    ``C = 1`` when ``||alpha_{<=m}|| <= T`` and ``T / ||alpha_{<=m}||`` otherwise: the
    projection of f* onto the first ``m`` basis functions, shrunk onto the norm ball."""
    a = _coefficients(alpha)
    m = int(_span("m", m, a.size))
    T = in_range("teacher_norm", teacher_norm, 1e-150, 1e150)
    g = np.zeros_like(a)
    g[:m] = a[:m] * _shrink(np.linalg.norm(a[:m]), T)
    return g


def kernel_student(alpha, m: int, n: int, teacher_norm: float, student_norm: float) -> np.ndarray:
    """Coefficients of the optimal student h* = Q C sum_{i<=min(m,n)} alpha_i phi_i (App. C.1):
    the teacher projected onto the first ``n`` basis functions, shrunk onto the ball of
    radius ``D = student_norm``."""
    a = _coefficients(alpha)
    n = int(_span("n", n, a.size))
    D = in_range("student_norm", student_norm, 1e-150, 1e150)
    g = kernel_teacher(a, m, teacher_norm)
    h = np.zeros_like(a)
    h[:n] = g[:n] * _shrink(np.linalg.norm(g[:n]), D)
    return h


@dataclass(frozen=True)
class KernelErrors:
    """Errors ||g* - f*|| (teacher) and ||h* - f*|| (student) for each teacher span ``m``;
    ``student_reachable`` is the student's error inside its own span, ||P_n (h* - f*)||,
    and ``floor`` the error no student of span ``n`` can avoid, ||f* - P_n f*||."""

    m: np.ndarray
    n: int
    teacher: np.ndarray
    student: np.ndarray
    student_reachable: np.ndarray
    floor: float


def kernel_errors(alpha, m, n: int, teacher_norm: float, student_norm: float) -> KernelErrors:
    """Teacher and student errors of App. C.1 for every teacher span in ``m`` (vectorised;
    the student error is sqrt((CQ - 1)^2 S_k + S_total - S_k) with k = min(m, n) and
    S_j = sum_{i<=j} alpha_i^2)."""
    a = _coefficients(alpha)
    m = _span("m", m, a.size)
    n = int(_span("n", n, a.size))
    T = in_range("teacher_norm", teacher_norm, 1e-150, 1e150)
    D = in_range("student_norm", student_norm, 1e-150, 1e150)
    S = np.concatenate([[0.0], np.cumsum(a**2)])  # S[j] = sum_{i<=j} alpha_i^2
    total = S[-1]
    C = _shrink(np.sqrt(S[m]), T)
    k = np.minimum(m, n)
    Q = _shrink(C * np.sqrt(S[k]), D)
    teacher = np.sqrt((C - 1.0) ** 2 * S[m] + (total - S[m]))
    reachable_sq = (C * Q - 1.0) ** 2 * S[k] + (S[n] - S[k])
    student = np.sqrt(reachable_sq + (total - S[n]))
    return KernelErrors(m=m, n=n, teacher=teacher, student=student,
                        student_reachable=np.sqrt(reachable_sq), floor=float(np.sqrt(total - S[n])))


# ------------------------------------------------------------- the MLP mapping problem

@dataclass(frozen=True)
class MappingTask:
    """Inputs: a context ``c`` in {0, 1, 2}^K and a one-hot query ``q`` in {0..K-1}
    (K = ``num_classes``), concatenated to a vector of length 2K. The label is drawn from
    p*(y | c, q) = softmax(s), where three lookup rules each add ``strength`` to one
    class's logit:

    1. y = (q + c_q) mod K                              (one context entry),
    2. y = (q + 3 c_q + c_{q+1}) mod K                  (two entries, one weighted),
    3. y = (2q + c_{q+2} + 2 c_{q+3}) mod K             (two other entries),

    with context indices taken mod K. A wider network resolves more of the rules; the
    Bayes-optimal cross-entropy is the mean entropy of p*."""

    num_classes: int = 8
    strength: float = 2.0

    def __post_init__(self):
        integer("num_classes", self.num_classes, 4, 1 << 12)
        in_range("strength", self.strength, 0.0, 100.0)

    @property
    def input_dim(self) -> int:
        return 2 * self.num_classes

    def label_distribution(self, context: np.ndarray, query: np.ndarray) -> np.ndarray:
        """p*(y | context, query), shape (n, K)."""
        K = self.num_classes
        rows = np.arange(len(query))
        scores = np.zeros((len(query), K))
        for cls in ((query + context[rows, query]) % K,
                    (query + 3 * context[rows, query] + context[rows, (query + 1) % K]) % K,
                    (2 * query + context[rows, (query + 2) % K] + 2 * context[rows, (query + 3) % K]) % K):
            scores[rows, cls] += self.strength
        scores -= scores.max(axis=1, keepdims=True)
        p = np.exp(scores)
        return p / p.sum(axis=1, keepdims=True)

    def sample(self, rng: np.random.Generator, n: int):
        """``n`` fresh samples: inputs (n, 2K) float32, p* (n, K) and labels drawn from p*."""
        K = self.num_classes
        context = rng.integers(0, 3, size=(n, K))
        query = rng.integers(0, K, size=n)
        x = np.concatenate([context, np.eye(K)[query]], axis=1).astype(np.float32)
        p = self.label_distribution(context, query)
        u = rng.random(n)[:, None]
        labels = np.minimum((np.cumsum(p, axis=1) < u).sum(axis=1), K - 1)
        return x, p, labels

    def bayes_loss(self, p_star: np.ndarray) -> float:
        """Mean entropy of p* (nats): the lowest cross-entropy any model can reach."""
        return float(-(p_star * np.log(p_star)).sum(axis=1).mean())


#: The most samples one MLP trains on (2e10: 40 million batches of 512).
MAX_SAMPLES = 2 * 10**10
#: The widest MLP (2^16 hidden units).
MAX_WIDTH = 1 << 16


@dataclass(frozen=True)
class TrainingSettings:
    """Training recipe of App. C.2 (Adam, 5% linear warm-up then cosine to zero, batches of
    512 fresh samples, ``max(min_samples, samples_per_param x N)`` samples) with our
    learning rate: 3e-3, ten times the paper's 3e-4, because our models are far smaller and
    train for as few as 500 steps."""

    lr: float = 3e-3
    batch: int = 512
    warmup: float = 0.05
    min_samples: int = 500 * 512
    samples_per_param: float = 20.0
    beta1: float = 0.9
    beta2: float = 0.999
    eps: float = 1e-8

    def __post_init__(self):
        in_range("lr", self.lr, 1e-12, 10.0)
        integer("batch", self.batch, 1, 1 << 20)
        in_range("warmup", self.warmup, 0.0, 1.0)
        integer("min_samples", self.min_samples, 1, MAX_SAMPLES)
        in_range("samples_per_param", self.samples_per_param, 0.0, 1e6)
        for name in ("beta1", "beta2"):
            if not in_range(name, getattr(self, name), 0.0, 1.0) < 1.0:
                raise ValueError(f"{name} must be finite and in [0, 1); got {shown(getattr(self, name))}")
        in_range("eps", self.eps, 1e-30, 1.0)

    def samples_for(self, n_params: int) -> int:
        return int(max(self.min_samples, self.samples_per_param * n_params))


DEFAULT_SETTINGS = TrainingSettings()


@dataclass(frozen=True)
class TrainedMLP:
    """A trained MLP: its parameters, width, and the samples and steps it saw."""

    params: dict
    width: int
    samples: int
    steps: int


def mlp_parameter_count(input_dim: int, width: int, output_dim: int) -> int:
    """Weights and biases of a two-hidden-layer MLP of equal widths."""
    input_dim, width, output_dim = (integer(k, v, 1) for k, v in
                                    (("input_dim", input_dim), ("width", width), ("output_dim", output_dim)))
    return input_dim * width + width + width * width + width + width * output_dim + output_dim


def init_mlp(input_dim: int, width: int, output_dim: int, rng: np.random.Generator) -> dict:
    """He-initialised weights (float32) and zero biases of a two-hidden-layer ReLU MLP."""
    input_dim, width, output_dim = (integer(k, v, 1, MAX_WIDTH) for k, v in
                                    (("input_dim", input_dim), ("width", width), ("output_dim", output_dim)))
    instance("rng", rng, np.random.Generator, " (numpy.random.default_rng)")
    params = {}
    for i, (fan_in, fan_out) in enumerate([(input_dim, width), (width, width), (width, output_dim)]):
        params[f"W{i}"] = (rng.standard_normal((fan_in, fan_out)) * np.sqrt(2.0 / fan_in)).astype(np.float32)
        params[f"b{i}"] = np.zeros(fan_out, dtype=np.float32)
    return params


def _forward(params, x):
    h0 = np.maximum(x @ params["W0"] + params["b0"], 0.0)
    h1 = np.maximum(h0 @ params["W1"] + params["b1"], 0.0)
    return h1 @ params["W2"] + params["b2"], h0, h1


def _log_softmax(z):
    z = z - z.max(axis=1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=1, keepdims=True))


def _params(params, name: str = "params") -> dict:
    """``params`` after checking it holds the arrays of ``init_mlp`` (W0, b0, W1, b1, W2, b2)
    with shapes that chain and finite entries."""
    keys = ("W0", "b0", "W1", "b1", "W2", "b2")
    if not isinstance(params, dict) or any(k not in params for k in keys):
        raise TypeError(f"{name} must be a dict of the MLP's arrays {', '.join(keys)} (init_mlp); got {shown(params)}")
    shapes = [np.shape(params[k]) for k in keys]
    chained = all(len(shapes[2 * i]) == 2 and shapes[2 * i + 1] == (shapes[2 * i][1],) for i in range(3)) \
        and shapes[2][0] == shapes[0][1] and shapes[4][0] == shapes[2][1]
    if not chained or not all(np.all(np.isfinite(np.asarray(params[k], dtype=float))) for k in keys):
        raise ValueError(f"{name} must hold finite arrays whose shapes chain (W0 (d, w), b0 (w,), W1 (w, w), ...); "
                         f"got shapes {shapes}")
    return params


def _batch(name: str, value, columns: int, *, probabilities: bool = False) -> np.ndarray:
    """``value`` as an array (its dtype kept: training runs in float32) after checking it is
    2-D with ``columns`` columns and finite entries (in [0, 1] with ``probabilities``)."""
    what = "rows of probabilities" if probabilities else "finite numbers"
    message = f"{name} must be a 2-D array of {what} with {columns} columns"
    if isinstance(value, (str, bytes, bool)):
        raise ValueError(f"{message}; got {shown(value)}")
    try:
        arr = np.asarray(value)
        numbers = np.asarray(arr, dtype=float)
    except (TypeError, ValueError, OverflowError):
        raise ValueError(f"{message}; got {shown(value)}") from None
    arr = arr if arr.dtype.kind == "f" else numbers
    bad = arr.ndim != 2 or arr.shape[1] != columns or arr.shape[0] == 0 or not np.all(np.isfinite(arr)) \
        or (probabilities and (np.any(arr < 0) or np.any(arr > 1)))
    if bad:
        raise ValueError(f"{message}; got {shown(value)}")
    return arr


def mlp_logits(params: dict, x: np.ndarray) -> np.ndarray:
    """Output logits of the MLP for inputs ``x``."""
    params = _params(params)
    return _forward(params, _batch("x", x, np.shape(params["W0"])[0]))[0]


def loss_and_gradients(params: dict, x: np.ndarray, target: np.ndarray):
    """Mean cross-entropy -sum_y target_y log softmax(z)_y over the batch and its gradients.

    ``target`` is a one-hot label (supervised) or the teacher's distribution (distillation
    with lambda = 1 and tau = 1); both share the logit gradient softmax(z) - target."""
    params = _params(params)
    x = _batch("x", x, np.shape(params["W0"])[0])
    target = _batch("target", target, np.shape(params["W2"])[1], probabilities=True)
    if target.shape[0] != x.shape[0]:
        raise ValueError(f"x, target must have the same number of rows; got {x.shape[0]} and {target.shape[0]}")
    return _loss_and_gradients(params, x, target)


def _loss_and_gradients(params, x, target):
    """``loss_and_gradients`` without the checks (the training loop's)."""
    z, h0, h1 = _forward(params, x)
    log_p = _log_softmax(z)
    batch = x.shape[0]
    loss = float(-(target * log_p).sum() / batch)
    g = (np.exp(log_p) - target) / batch
    grads = {"W2": h1.T @ g, "b2": g.sum(axis=0)}
    g1 = (g @ params["W2"].T) * (h1 > 0)
    grads["W1"], grads["b1"] = h0.T @ g1, g1.sum(axis=0)
    g0 = (g1 @ params["W1"].T) * (h0 > 0)
    grads["W0"], grads["b0"] = x.T @ g0, g0.sum(axis=0)
    return loss, grads


def train_mlp(task: MappingTask, width: int, seed: int, *, teacher: TrainedMLP | None = None,
              samples: int | None = None, settings: TrainingSettings = DEFAULT_SETTINGS) -> TrainedMLP:
    """Train an MLP of ``width`` on ``samples`` fresh samples (default: the App. C.2 rule).

    Without ``teacher``, the targets are labels drawn from p*; with one, they are the
    teacher's output distribution on the same inputs. ``seed`` fixes the initialisation
    and the data stream, so two students with one seed see the same inputs."""
    instance("task", task, MappingTask, " (analysis.capacity_gap)")
    instance("settings", settings, TrainingSettings, " (analysis.capacity_gap)")
    width = integer("width", width, 1, MAX_WIDTH)
    rng = np.random.default_rng(integer("seed", seed, 0, 2**63 - 1))
    if teacher is not None:
        instance("teacher", teacher, TrainedMLP, " (train_mlp)")
        if np.shape(_params(teacher.params, "teacher.params")["W0"])[0] != task.input_dim \
                or np.shape(teacher.params["W2"])[1] != task.num_classes:
            raise ValueError(f"teacher must map the task's {task.input_dim} inputs to its {task.num_classes} classes")
    params = init_mlp(task.input_dim, width, task.num_classes, rng)
    n_params = mlp_parameter_count(task.input_dim, width, task.num_classes)
    if samples is None:
        samples = settings.samples_for(n_params)
    else:
        samples = integer("samples", samples, 2 * settings.batch, MAX_SAMPLES)
    steps = samples // settings.batch
    if steps < 2:
        raise ValueError(f"samples must allow at least 2 batches of {settings.batch}; got {samples}")
    n_warm = max(1, int(settings.warmup * steps))
    m = {k: np.zeros_like(v) for k, v in params.items()}
    v = {k: np.zeros_like(p) for k, p in params.items()}
    eye = np.eye(task.num_classes, dtype=np.float32)
    b1, b2 = settings.beta1, settings.beta2
    for t in range(1, steps + 1):
        if t <= n_warm:
            factor = t / n_warm
        else:
            factor = 0.5 * (1.0 + np.cos(np.pi * (t - n_warm) / (steps - n_warm)))
        x, _, labels = task.sample(rng, settings.batch)
        if teacher is None:
            target = eye[labels]
        else:
            target = np.exp(_log_softmax(_forward(teacher.params, x)[0])).astype(np.float32)
        _, grads = _loss_and_gradients(params, x, target)
        step = settings.lr * factor
        for key in params:
            m[key] = b1 * m[key] + (1 - b1) * grads[key]
            v[key] = b2 * v[key] + (1 - b2) * grads[key] ** 2
            m_hat = m[key] / (1 - b1**t)
            v_hat = v[key] / (1 - b2**t)
            params[key] -= (step * m_hat / (np.sqrt(v_hat) + settings.eps)).astype(np.float32)
    return TrainedMLP(params=params, width=int(width), samples=steps * settings.batch, steps=steps)


def evaluate_mlp(model: TrainedMLP, x: np.ndarray, p_star: np.ndarray,
                 teacher: TrainedMLP | None = None) -> dict[str, float]:
    """Cross-entropy of ``model`` against the true label distribution p* on inputs ``x``
    (nats; exact in the labels, so no label noise) and, given a teacher, the mean
    KL(teacher || model)."""
    instance("model", model, TrainedMLP, " (train_mlp)")
    if teacher is not None:
        instance("teacher", teacher, TrainedMLP, " (train_mlp)")
    classes = np.shape(_params(model.params, "model.params")["W2"])[1]
    p_star = _batch("p_star", p_star, classes, probabilities=True)
    if np.shape(x)[:1] != p_star.shape[:1]:
        raise ValueError(f"x, p_star must have the same number of rows; got {shown(np.shape(x))} and {p_star.shape}")
    log_p = _log_softmax(mlp_logits(model.params, x).astype(float))
    out = {"loss": float(-(p_star * log_p).sum(axis=1).mean())}
    if teacher is not None:
        log_t = _log_softmax(mlp_logits(teacher.params, x).astype(float))
        out["kl_to_teacher"] = float((np.exp(log_t) * (log_t - log_p)).sum(axis=1).mean())
    return out


# ------------------------------------------------------------------- the stored sweep

@dataclass(frozen=True)
class MLPSweep:
    """The MLP experiments behind ``data/capacity_gap/mlp_runs.csv``, in one declaration.

    * ``supervised``: each student width trained on sampled labels (the baseline);
    * ``width`` (Fig. 11): teachers of each width in ``teacher_widths``, trained on the
      default budget, each distilled into every student width;
    * ``data`` (Fig. 12): one teacher width trained on each budget in
      ``data_teacher_samples``, distilled into every student width.

    A student's seed depends only on its trial and width, so across teachers (and in the
    supervised baseline) the same student starts from the same weights and sees the same
    inputs: teachers are compared in pairs, not through seed noise."""

    task: MappingTask = MappingTask()
    settings: TrainingSettings = DEFAULT_SETTINGS
    student_widths: tuple = (8, 16, 32)
    teacher_widths: tuple = (8, 16, 32, 64, 128, 256)
    data_teacher_width: int = 128
    data_teacher_samples: tuple = tuple(512 * 2**k for k in range(7, 14))
    trials: int = 4
    eval_inputs: int = 20_000
    eval_seed: int = 12_345

    def __post_init__(self):
        instance("task", self.task, MappingTask, " (analysis.capacity_gap)")
        instance("settings", self.settings, TrainingSettings, " (analysis.capacity_gap)")
        for name in ("student_widths", "teacher_widths"):
            object.__setattr__(self, name, integers(name, getattr(self, name), 1, MAX_WIDTH))
        integer("data_teacher_width", self.data_teacher_width, 1, MAX_WIDTH)
        object.__setattr__(self, "data_teacher_samples", integers(
            "data_teacher_samples", self.data_teacher_samples, 2 * self.settings.batch, MAX_SAMPLES))
        integer("trials", self.trials, 1, 10**4)
        integer("eval_inputs", self.eval_inputs, 1, 10**7)
        integer("eval_seed", self.eval_seed, 0, 2**63 - 1)

    def student_seed(self, trial: int, width: int) -> int:
        return 2_000_000 + 1000 * trial + width

    def teacher_seed(self, experiment: str, trial: int, width: int) -> int:
        base = {"width": 1_000_000, "data": 3_000_000}[experiment]
        return base + 1000 * trial + width

    def evaluation_set(self):
        """The fixed inputs and true label distributions every model is scored on."""
        x, p_star, _ = self.task.sample(np.random.default_rng(self.eval_seed), self.eval_inputs)
        return x, p_star

    def teacher_groups(self) -> list[tuple[str, int, int, int | None]]:
        """(experiment, trial, teacher width, teacher samples or None for the default)."""
        groups = [("width", t, w, None) for t in range(self.trials) for w in self.teacher_widths]
        groups += [("data", t, self.data_teacher_width, s) for t in range(self.trials)
                   for s in self.data_teacher_samples]
        return groups


DEFAULT_SWEEP = MLPSweep()

RUN_COLUMNS = ("experiment", "trial", "teacher_width", "teacher_samples", "teacher_loss",
               "student_width", "student_samples", "student_loss", "kl_to_teacher")


def _sweep_arguments(sweep, trial, widths) -> tuple:
    """(trial, widths) after checking ``sweep`` is an ``MLPSweep``, ``trial`` one of its
    trials and ``widths`` None (its student widths) or a sequence of widths."""
    instance("sweep", sweep, MLPSweep, " (analysis.capacity_gap)")
    trial = integer("trial", trial, 0, sweep.trials - 1)
    return trial, sweep.student_widths if widths is None else integers("widths", widths, 1, MAX_WIDTH)


def run_supervised(sweep: MLPSweep, trial: int, widths=None) -> list[dict]:
    """The supervised baseline of each student width (rows of ``RUN_COLUMNS``)."""
    trial, widths = _sweep_arguments(sweep, trial, widths)
    x, p_star = sweep.evaluation_set()
    rows = []
    for width in widths:
        student = train_mlp(sweep.task, width, sweep.student_seed(trial, width), settings=sweep.settings)
        rows.append({"experiment": "supervised", "trial": trial, "teacher_width": np.nan,
                     "teacher_samples": np.nan, "teacher_loss": np.nan, "student_width": width,
                     "student_samples": student.samples,
                     "student_loss": evaluate_mlp(student, x, p_star)["loss"], "kl_to_teacher": np.nan})
    return rows


def run_teacher_group(sweep: MLPSweep, experiment: str, trial: int, teacher_width: int,
                      teacher_samples: int | None, widths=None) -> list[dict]:
    """Train one teacher and distil it into each student width (rows of ``RUN_COLUMNS``)."""
    trial, widths = _sweep_arguments(sweep, trial, widths)
    choice("experiment", experiment, ("width", "data"))
    teacher_width = integer("teacher_width", teacher_width, 1, MAX_WIDTH)
    if teacher_samples is not None:
        teacher_samples = integer("teacher_samples", teacher_samples, 2 * sweep.settings.batch, MAX_SAMPLES)
    x, p_star = sweep.evaluation_set()
    teacher = train_mlp(sweep.task, teacher_width, sweep.teacher_seed(experiment, trial, teacher_width),
                        samples=teacher_samples, settings=sweep.settings)
    teacher_loss = evaluate_mlp(teacher, x, p_star)["loss"]
    rows = []
    for width in widths:
        student = train_mlp(sweep.task, width, sweep.student_seed(trial, width), teacher=teacher,
                            settings=sweep.settings)
        scores = evaluate_mlp(student, x, p_star, teacher)
        rows.append({"experiment": experiment, "trial": trial, "teacher_width": teacher_width,
                     "teacher_samples": teacher.samples, "teacher_loss": teacher_loss,
                     "student_width": width, "student_samples": student.samples,
                     "student_loss": scores["loss"], "kl_to_teacher": scores["kl_to_teacher"]})
    return rows


# ------------------------------------------------------------- reading the stored sweep

_X = {"width": "teacher_width", "data": "teacher_samples"}


def _runs(runs, experiment):
    """Check ``runs`` is a frame of ``RUN_COLUMNS`` (``data/capacity_gap/mlp_runs.csv``) with
    supervised runs and runs of ``experiment`` ("width" or "data")."""
    frame("runs", runs, RUN_COLUMNS)
    choice("experiment", experiment, _X)
    for kind in ("supervised", experiment):
        if not (runs.experiment == kind).any():
            raise ValueError(f"runs must hold {kind!r} runs (data/capacity_gap/mlp_runs.csv); it has none")


def sweep_bands(runs, experiment: str):
    """Median and 25-75% band over trials of the student loss, per student width and teacher
    (``x`` = teacher width or teacher samples), with the median teacher loss and KL."""
    import pandas as pd

    _runs(runs, experiment)
    rows = runs[runs.experiment == experiment].rename(columns={_X[experiment]: "x"})
    grouped = rows.groupby(["student_width", "x"])
    return pd.DataFrame({
        "q25": grouped.student_loss.quantile(0.25), "median": grouped.student_loss.median(),
        "q75": grouped.student_loss.quantile(0.75), "teacher_loss": grouped.teacher_loss.median(),
        "kl_to_teacher": grouped.kl_to_teacher.median(),
    }).reset_index()


def gap_summary(runs, experiment: str):
    """Per student width: the teacher with the lowest median student loss (``best_x``), the
    strongest teacher swept (``strongest_x``, the largest width or budget), and the paired
    rise L_S(strongest) - L_S(best) in each trial (same student seed, so student noise
    cancels): its median, how many trials rise, and whether the best teacher is interior.
    ``supervised`` is the median supervised loss of the same student."""
    import pandas as pd

    bands = sweep_bands(runs, experiment)
    rows = runs[runs.experiment == experiment].rename(columns={_X[experiment]: "x"})
    sup = runs[runs.experiment == "supervised"].groupby("student_width").student_loss.median()
    out = []
    for width, b in bands.groupby("student_width"):
        best = b.loc[b["median"].idxmin()]
        strongest = b.x.max()
        mine = rows[rows.student_width == width].pivot_table(index="trial", columns="x", values="student_loss")
        rise = mine[strongest] - mine[best.x]
        out.append({"student_width": int(width), "best_x": float(best.x),
                    "best_teacher_loss": float(best.teacher_loss), "best_student_loss": float(best["median"]),
                    "strongest_x": float(strongest),
                    "strongest_teacher_loss": float(b.loc[b.x == strongest, "teacher_loss"].iloc[0]),
                    "rise_median": float(rise.median()), "trials_rising": int((rise > 0).sum()),
                    "trials": int(rise.size), "interior": bool(best.x < strongest),
                    "supervised": float(sup.loc[width])})
    return pd.DataFrame(out)


def paired_bands(runs, experiment: str):
    """Per student width and teacher: the student loss minus the same trial's loss with the
    best teacher (``gap_summary``'s ``best_x``), median and 25-75% band over trials. Pairing
    removes the student's own seed noise, which the teachers share."""
    import pandas as pd

    best = gap_summary(runs, experiment).set_index("student_width").best_x
    rows = runs[runs.experiment == experiment].rename(columns={_X[experiment]: "x"})
    out = []
    for width, g in rows.groupby("student_width"):
        table = g.pivot_table(index="trial", columns="x", values="student_loss")
        diff = table.sub(table[best.loc[width]], axis=0)
        out.append(pd.DataFrame({"student_width": width, "x": diff.columns.to_numpy(dtype=float),
                                 "q25": diff.quantile(0.25).to_numpy(), "median": diff.median().to_numpy(),
                                 "q75": diff.quantile(0.75).to_numpy()}))
    return pd.concat(out, ignore_index=True)
