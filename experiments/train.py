"""Supervised training and distillation of one model of the family, with evaluation.

One call of :func:`train_run` trains a model for a fixed number of tokens on one half
of the corpus and evaluates it on the whole validation split: cross-entropy against the
data (overall and per source), KL(teacher || student) when a teacher is given, top-1
accuracy and the expected calibration error with 21 equal-width bins (the paper's App. E.8,
Eq. 38), against the data and against the teacher's top-1 prediction. At every point of the
loss curve it also measures in-context copying (:func:`copy_windows`, :func:`copy_ce`): the
loss on the second copy of a repeated block of random tokens, which falls from about
log(vocab) to near zero when a model learns to copy from its context (the induction heads of
Olsson et al. 2022), so that a sudden drop of the validation loss can be tied to it or not.

The recipe (the set-up chapter validates it): AdamW (beta 0.9/0.95, eps 1e-8), simple muP
(:meth:`Transformer.param_groups`) around a peak learning rate that the learning-rate
sweep chooses, a linear warm-up over :data:`WARMUP_STEPS` steps then cosine decay to
1/1000 of the peak, decoupled weight decay 1e-4, z-loss 1e-4, global gradient clipping at
1.0, bf16 autocast on the GPU. The batch is fixed per model size (:func:`batch_seqs_for`).
Distillation: loss = lambda tau^2 KL(p_T^tau || p_S^tau) + (1 - lambda) CE, the teacher's
full distribution (or its top-k, renormalised) at temperature tau.

Three ways to run a step (``mode``): ``eager`` PyTorch; ``graph``, the whole step captured
once as a CUDA graph and replayed (:class:`GraphedStep`); ``compile``, the forward pass and
loss compiled with ``torch.compile``. They train the same model (``experiments.graph_check``
compares them on the GPU). One model's training (model, optimiser, loss, schedule, curves, row)
is one :class:`_Trainee`, whose objective is :func:`student_loss_fn`.

:func:`train_group` trains several students of one teacher that see the same windows
together: the teacher's forward pass, half of a distillation step's FLOPs, then runs once per
window for all of them, and each student trains exactly as it would alone.
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass

import numpy as np
import torch
import torch.nn.functional as F

from experiments.family import N_CTX, N_VOCAB, Architecture, architecture
from experiments.model import Transformer

PEAK_LR = 1e-2
WEIGHT_DECAY = 1e-4
Z_LOSS = 1e-4
GRAD_CLIP = 1.0
WARMUP_STEPS = 100
MIN_LR_RATIO = 1e-3
ECE_BINS = 21
#: Runs that enter a fit take at least this many optimiser steps.
MIN_STEPS = 1000
MODES = ("eager", "graph", "compile")
#: Validation tokens of the loss curve's intermediate points, windows spread evenly over the
#: split (the final point uses all of it).
CURVE_EVAL_TOKENS = 262_144
#: Sequences of the in-context copying probe (:func:`copy_windows`).
COPY_SEQUENCES = 32
#: Seed of the copying probe's random tokens (one probe for every run).
COPY_SEED = 20_250_211


def batch_seqs_for(arch: Architecture, min_steps: int = MIN_STEPS) -> int:
    """Sequences per optimiser step, fixed per model size.

    DeepSeek LLM's compute-optimal batch (Bi et al. 2024, Eq. 1: B = 0.292 C^0.3271 tokens)
    at the size's compute for 20 tokens per parameter, capped so that the 20-tokens-per-
    parameter run takes at least ``min_steps`` steps; at least 2 sequences."""
    d20 = 20 * arch.non_embedding_params
    c20 = 3.0 * arch.forward_flops_per_token * d20
    b_opt = 0.292 * c20 ** 0.3271 / arch.n_ctx
    cap = d20 / (min_steps * arch.n_ctx)
    return max(2, int(min(round(b_opt), math.floor(cap))))


@dataclass
class RunConfig:
    """What one run trains: shape, tokens, data half, seed, learning rate and the
    distillation knobs."""

    run_id: str
    n_layers: int
    d_model: int
    tokens: int
    split: str = "teacher"  # which half of the corpus: "teacher" or "student"
    seed: int = 0
    protocol: str = "supervised"
    teacher_run_id: str = ""
    distill_lambda: float = 1.0
    distill_tau: float = 1.0
    distill_topk: int = 0  # 0 = full distribution
    peak_lr: float = PEAK_LR
    batch_seqs: int = 0  # 0 = batch_seqs_for(architecture)
    warmup_steps: int = WARMUP_STEPS
    n_ctx: int = N_CTX
    n_vocab: int = N_VOCAB
    eval_tokens: int = 0  # 0 = the whole validation split
    n_evals: int = 8  # validation points during training (the last is the final one)

    def __post_init__(self):
        if self.split not in ("teacher", "student"):
            raise ValueError(f"split must be 'teacher' or 'student', got {self.split!r}")
        if self.tokens <= 0:
            raise ValueError(f"tokens must be positive, got {self.tokens!r}")
        if not 0.0 <= self.distill_lambda <= 1.0:
            raise ValueError(f"distill_lambda must lie in [0, 1], got {self.distill_lambda!r}")
        if self.distill_tau <= 0:
            raise ValueError(f"distill_tau must be positive, got {self.distill_tau!r}")
        if self.distill_topk < 0:
            raise ValueError(f"distill_topk must be >= 0, got {self.distill_topk!r}")
        if not (self.peak_lr > 0 and math.isfinite(self.peak_lr)):
            raise ValueError(f"peak_lr must be positive and finite, got {self.peak_lr!r}")

    @property
    def arch(self) -> Architecture:
        return architecture(self.n_layers, self.d_model, self.n_ctx, self.n_vocab)


def lr_factor(step: int, steps: int, warmup: int) -> float:
    """Linear warm-up to 1, then cosine from 1 to MIN_LR_RATIO at the last step."""
    if step < warmup:
        return (step + 1) / warmup
    p = (step - warmup) / max(steps - warmup - 1, 1)
    return MIN_LR_RATIO + (1.0 - MIN_LR_RATIO) * 0.5 * (1.0 + math.cos(math.pi * min(p, 1.0)))


class Chunks:
    """Consecutive windows of one split (n_ctx inputs and the n_ctx next tokens as
    targets, so neighbours share one token), visited in a random
    order that is redrawn every epoch from the run's seed."""

    def __init__(self, tokens: torch.Tensor, n_ctx: int, seed: int):
        n = (tokens.numel() - 1) // n_ctx
        if n < 1:
            raise ValueError(f"the split holds {tokens.numel()} tokens, fewer than one window of {n_ctx + 1}")
        self.tokens, self.n_ctx, self.n = tokens, n_ctx, n
        self.gen = torch.Generator().manual_seed(seed)
        self.order = torch.randperm(n, generator=self.gen)
        self.pos = 0
        self.offsets = torch.arange(n_ctx + 1)
        self.tokens_per_epoch = n * n_ctx

    def next(self, batch: int, device) -> torch.Tensor:
        idx, have = [], 0
        while have < batch:
            if self.pos >= self.n:
                self.order = torch.randperm(self.n, generator=self.gen)
                self.pos = 0
            take = min(batch - have, self.n - self.pos)
            have += take
            idx.append(self.order[self.pos:self.pos + take])
            self.pos += take
        starts = torch.cat(idx) * self.n_ctx
        rows = starts[:, None] + self.offsets[None, :]
        return self.tokens[rows.to(self.tokens.device)].to(device, non_blocking=True).long()


def validation_windows(tokens: torch.Tensor, n_ctx: int, max_tokens: int = 0) -> torch.Tensor:
    """Consecutive windows of the validation split (all of them, or up to ``max_tokens``
    predicted tokens)."""
    n = (tokens.numel() - 1) // n_ctx
    if max_tokens:
        n = min(n, max(1, max_tokens // n_ctx))
    starts = torch.arange(n) * n_ctx
    return tokens[(starts[:, None] + torch.arange(n_ctx + 1)[None, :]).to(tokens.device)]


def copy_windows(n_ctx: int, n_vocab: int, n: int = COPY_SEQUENCES, seed: int = COPY_SEED) -> torch.Tensor:
    """The in-context copying probe: ``n`` windows of ``n_ctx + 1`` tokens, each a block of
    ``n_ctx // 2`` tokens drawn uniformly from the vocabulary followed by the same block
    again (cut to the window). Nothing in the data predicts a random token, so a model
    can beat about log(vocab) on the second copy only by copying from its context."""
    if n_ctx < 4 or n_vocab < 2 or n < 1:
        raise ValueError(f"the probe needs n_ctx >= 4, n_vocab >= 2 and n >= 1; got {n_ctx}, {n_vocab}, {n}")
    half = n_ctx // 2
    gen = torch.Generator().manual_seed(seed)
    block = torch.randint(0, n_vocab, (n, half), generator=gen)
    reps = -(-(n_ctx + 1) // half)
    return block.repeat(1, reps)[:, :n_ctx + 1]


@torch.no_grad()
def copy_ce(model, windows: torch.Tensor, device) -> float:
    """Cross-entropy (nats/token) on the tokens of the probe's second copy that copying
    predicts (targets from position ``n_ctx // 2 + 1`` on: the block's first token
    repeats too, but nothing says that the repeat starts there)."""
    n_ctx = windows.shape[1] - 1
    first = n_ctx // 2 + 1
    model.eval()
    w = windows.to(device).long()
    with _autocast(device):
        logits = model(w[:, :-1])
    logp = F.log_softmax(logits.float(), dim=-1)
    y = w[:, 1:]
    nll = -logp.gather(-1, y[..., None])[..., 0]
    model.train()
    return float(nll[:, first - 1:].mean())


def _autocast(device):
    # no weight-cast cache: it would keep tensors from outside a captured CUDA graph
    if torch.device(device).type == "cuda":
        return torch.autocast("cuda", dtype=torch.bfloat16, cache_enabled=False)
    return torch.autocast("cpu", enabled=False)


def teacher_targets(t_logits: torch.Tensor, tau: float, topk: int) -> torch.Tensor:
    """Teacher log-probabilities at temperature tau, optionally truncated to its top-k
    (renormalised, -inf elsewhere)."""
    t = t_logits.float() / tau
    if topk:
        vals, idx = t.topk(topk, dim=-1)
        t = torch.full_like(t, float("-inf")).scatter(-1, idx, vals)
    return F.log_softmax(t, dim=-1)


def kl_from_logprobs(t_logp: torch.Tensor, s_logp: torch.Tensor) -> torch.Tensor:
    """KL(p_T || p_S) per position, summing only where p_T > 0."""
    p = t_logp.exp()
    return torch.where(p > 0, p * (t_logp - s_logp), torch.zeros_like(p)).sum(-1)


def ece(confidence: np.ndarray, correct: np.ndarray, bins: int = ECE_BINS) -> float:
    """Expected calibration error (Eq. 38 of the paper): sum over equal-width bins of
    top-1 confidence of (bin share) x |accuracy - mean confidence|."""
    confidence = np.asarray(confidence, dtype=np.float64)
    correct = np.asarray(correct, dtype=np.float64)
    if confidence.shape != correct.shape or confidence.size == 0:
        raise ValueError("confidence and correct must be non-empty arrays of one shape")
    which = np.clip((confidence * bins).astype(np.int64), 0, bins - 1)
    conf_sum = np.bincount(which, weights=confidence, minlength=bins)
    acc_sum = np.bincount(which, weights=correct, minlength=bins)
    return float(np.abs(acc_sum - conf_sum).sum() / confidence.size)


@torch.no_grad()
def evaluate(model, windows: torch.Tensor, device, teacher=None, batch: int = 64,
             sources: torch.Tensor | None = None, source_names=()) -> dict:
    """Validation cross-entropy (nats/token), top-1 accuracy, ECE vs data and, with a
    teacher, KL(teacher || student) and ECE against the teacher's top-1. ``sources``
    (one source index per target token, shaped like ``windows[:, 1:]``) adds the
    cross-entropy per source, ``val_ce_by_source``."""
    model.eval()
    ce_sum = kl_sum = 0.0
    n_tok = 0
    confs, hits, hits_t = [], [], []
    k = len(source_names)
    src_ce = torch.zeros(k, dtype=torch.float64, device=device)
    src_n = torch.zeros(k, dtype=torch.float64, device=device)
    for i in range(0, windows.shape[0], batch):
        w = windows[i:i + batch].to(device).long()
        x, y = w[:, :-1], w[:, 1:]
        with _autocast(device):
            logits = model(x)
        logp = F.log_softmax(logits.float(), dim=-1)
        nll = F.nll_loss(logp.reshape(-1, logp.shape[-1]), y.reshape(-1), reduction="none")
        ce_sum += nll.sum().item()
        if k:
            s = sources[i:i + batch].to(device).reshape(-1).long()
            src_ce += torch.bincount(s, weights=nll.double(), minlength=k)
            src_n += torch.bincount(s, minlength=k).double()
        conf, pred = logp.max(-1)
        confs.append(conf.exp().flatten().cpu())
        hits.append((pred == y).flatten().cpu())
        if teacher is not None:
            with _autocast(device):
                t_logits = teacher(x)
            t_logp = F.log_softmax(t_logits.float(), dim=-1)
            kl_sum += kl_from_logprobs(t_logp, logp).sum().item()
            hits_t.append((pred == t_logp.argmax(-1)).flatten().cpu())
        n_tok += y.numel()
    model.train()
    confidence = torch.cat(confs).numpy()
    correct = torch.cat(hits).numpy()
    out = {"val_ce": ce_sum / n_tok, "top1_acc": float(correct.mean()),
           "ece": ece(confidence, correct), "eval_tokens": n_tok}
    if k:
        ce_k, n_k = src_ce.cpu().numpy(), src_n.cpu().numpy()
        out["val_ce_by_source"] = {name: round(float(ce_k[j] / n_k[j]), 6)
                                   for j, name in enumerate(source_names) if n_k[j] > 0}
    if teacher is not None:
        agree = torch.cat(hits_t).numpy()
        out.update(kl_to_teacher=kl_sum / n_tok, ece_vs_teacher=ece(confidence, agree),
                   teacher_agreement=float(agree.mean()))
    return out


def optimiser_step(model, opt, loss_fn, w: torch.Tensor, t_logp: torch.Tensor | None = None) -> torch.Tensor:
    """One step on the windows ``w`` (inputs and shifted targets) and, for a student of a
    group, the teacher's log-probabilities ``t_logp`` on them: loss, backward, global
    gradient clipping, AdamW. Returns the cross-entropy (a device tensor)."""
    opt.zero_grad(set_to_none=True)
    loss, ce = loss_fn(w[:, :-1], w[:, 1:], t_logp)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), GRAD_CLIP)
    opt.step()
    return ce


def _warm_up(fn, n: int) -> None:
    """Run ``fn`` ``n`` times on a side stream, as CUDA graph capture needs before it starts."""
    side = torch.cuda.Stream()
    side.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(side):
        for _ in range(n):
            fn()
    torch.cuda.current_stream().wait_stream(side)


class GraphedStep:
    """One optimiser step (forward, backward, clipping, AdamW) captured as a CUDA graph.

    Small models spend most of an eager step launching kernels from Python; replaying
    a graph launches them all at once, with the same kernels and so the same numbers.
    Capture needs a few warm-up steps; they run on a validation batch and are then
    undone (parameters copied back, optimiser moments and step counts zeroed, which is
    exactly a fresh AdamW), so the run trains on the same batches as in eager mode.
    The learning rate lives in a device tensor per parameter group, set before each
    replay. The graph's inputs are the windows and, for a student of a group (whose
    teacher's forward pass runs outside the step), the teacher's log-probabilities
    (``example_targets``); each replay copies them into the captured buffers."""

    def __init__(self, model, opt, loss_fn, example: torch.Tensor, example_targets: torch.Tensor | None = None,
                 warmup_steps: int = 3):
        self.model, self.opt = model, opt
        params = list(model.parameters())
        saved = [p.detach().clone() for p in params]
        for g in opt.param_groups:
            g["lr"] = torch.tensor(float(g["lr"]), dtype=torch.float32, device=example.device)
        self.w = example.clone()
        self.t_logp = None if example_targets is None else example_targets.clone()
        _warm_up(lambda: self._step(loss_fn), warmup_steps)
        self.graph = torch.cuda.CUDAGraph()
        opt.zero_grad(set_to_none=True)
        with torch.cuda.graph(self.graph):
            self.ce = self._step(loss_fn)
        torch.cuda.synchronize()
        with torch.no_grad():
            for p, s in zip(params, saved):
                p.copy_(s)
            for state in opt.state.values():
                for v in state.values():
                    if torch.is_tensor(v):
                        v.zero_()
        torch.cuda.synchronize()

    def _step(self, loss_fn):
        return optimiser_step(self.model, self.opt, loss_fn, self.w, self.t_logp)

    def __call__(self, w: torch.Tensor, lr_factor: float, t_logp: torch.Tensor | None = None) -> torch.Tensor:
        if (t_logp is None) != (self.t_logp is None):
            raise ValueError("t_logp must be given exactly when the graph was captured with example_targets")
        for g in self.opt.param_groups:
            g["lr"].fill_(g["peak_lr"] * lr_factor)
        self.w.copy_(w)
        if t_logp is not None:
            self.t_logp.copy_(t_logp)
        self.graph.replay()
        return self.ce


def targets_of(teacher, x: torch.Tensor, cfg: RunConfig, device) -> torch.Tensor:
    """The teacher's log-probabilities on inputs ``x`` at ``cfg``'s temperature and top-k
    (:func:`teacher_targets`), without gradient."""
    with torch.no_grad(), _autocast(device):
        t_logits = teacher(x)
    return teacher_targets(t_logits, cfg.distill_tau, cfg.distill_topk)


class GroupTargets:
    """A group's teacher targets (:func:`targets_of`) on its blocks of ``block`` windows, in
    the group's step mode, as a run alone has them inside its step: ``eager``; ``compile``,
    the teacher's forward pass and targets compiled for a full block; ``graph``, captured
    once as a CUDA graph on a full block and replayed (the same kernels as eager, so the
    same numbers), each call returning a copy of the graph's output (a group holds up to
    two blocks). A shorter block (the stream's last) runs eagerly, which costs no second
    compilation or capture."""

    def __init__(self, teacher, cfg: RunConfig, device, mode: str, block: int, warmup: int = 3):
        _check_mode(mode, device)
        if block < 1:
            raise ValueError(f"block must be a positive number of windows, got {block}")
        self.block = block
        self.eager = lambda x: targets_of(teacher, x, cfg, device)
        self.fast = None
        if mode == "compile":
            self.fast = torch.compile(self.eager, dynamic=False)
        elif mode == "graph":
            self.x = torch.zeros((block, cfg.n_ctx), dtype=torch.long, device=device)
            _warm_up(lambda: self.eager(self.x), warmup)
            self.graph = torch.cuda.CUDAGraph()
            with torch.cuda.graph(self.graph):
                self.out = self.eager(self.x)
            torch.cuda.synchronize()
            self.fast = self._replay

    def _replay(self, x: torch.Tensor) -> torch.Tensor:
        self.x.copy_(x)
        self.graph.replay()
        return self.out.clone()

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        if self.fast is None or x.shape[0] != self.block:
            return self.eager(x)
        return self.fast(x)


def student_loss_fn(logits: torch.Tensor, y: torch.Tensor, cfg: RunConfig,
                    t_logp: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Training loss and cross-entropy of a model's ``logits`` on targets ``y``: the
    cross-entropy plus the z-loss and, given the teacher's log-probabilities ``t_logp``
    (:func:`targets_of`), lambda tau^2 KL(p_T^tau || p_S^tau) - lambda CE. The one
    definition of the objective, for a run alone and for a student of a group."""
    logits = logits.float()
    lse = torch.logsumexp(logits, dim=-1)
    logp = logits - lse[..., None]
    ce = F.nll_loss(logp.reshape(-1, logp.shape[-1]), y.reshape(-1))
    loss = ce + Z_LOSS * (lse ** 2).mean()
    if t_logp is not None:
        s_logp = F.log_softmax(logits / cfg.distill_tau, dim=-1) if cfg.distill_tau != 1.0 else logp
        kl = kl_from_logprobs(t_logp, s_logp).mean()
        loss = loss + cfg.distill_lambda * cfg.distill_tau ** 2 * kl - cfg.distill_lambda * ce
    return loss, ce


def make_loss_fn(model, cfg: RunConfig, device, teacher=None):
    """The step's loss and cross-entropy as a function of inputs ``x``, targets ``y`` and
    the teacher's log-probabilities ``t_logp``: the model's forward pass, then
    :func:`student_loss_fn`. Given a ``teacher``, the function runs its forward pass
    itself (so that a captured graph or a compiled function holds it, as a run alone
    needs); without one, ``t_logp`` comes from the caller (a group's shared targets) or
    is None (supervised)."""

    def loss_fn(x, y, t_logp=None):
        with _autocast(device):
            logits = model(x)
        if teacher is not None:
            t_logp = targets_of(teacher, x, cfg, device)
        return student_loss_fn(logits, y, cfg, t_logp)

    return loss_fn


def _check_mode(mode: str, device) -> None:
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    if mode != "eager" and torch.device(device).type != "cuda":
        raise ValueError(f"mode {mode!r} needs a CUDA device")


def _synchronize(device) -> None:
    if torch.device(device).type == "cuda":
        torch.cuda.synchronize()


class _Trainee:
    """One model in training and what its row reports: the model, AdamW, the loss, the
    learning-rate schedule, the evaluation points and the two curves (validation loss and
    copying probe). :func:`train_run` feeds one its own windows; :func:`train_group`
    feeds several from one stream, each batch with the teacher's targets computed outside
    the step (``shared``)."""

    def __init__(self, cfg: RunConfig, val_tokens, tokens_per_epoch: int, device, teacher, mode: str, log,
                 val_sources, source_names, shared: bool):
        _check_mode(mode, device)
        self.cfg, self.device, self.teacher, self.mode, self.log = cfg, device, teacher, mode, log
        self.tokens_per_epoch, self.source_names = tokens_per_epoch, source_names
        arch = self.arch = cfg.arch
        is_cuda = torch.device(device).type == "cuda"
        torch.manual_seed(cfg.seed)
        self.model = Transformer(arch).to(device)
        opt_kwargs = {"fused": True} if is_cuda else {}
        if mode == "graph":
            opt_kwargs["capturable"] = True
        self.opt = torch.optim.AdamW(self.model.param_groups(cfg.peak_lr, WEIGHT_DECAY), betas=(0.9, 0.95),
                                     eps=1e-8, **opt_kwargs)
        self.batch = cfg.batch_seqs or batch_seqs_for(arch)
        self.batch_tokens = self.batch * cfg.n_ctx
        self.steps = max(1, round(cfg.tokens / self.batch_tokens))
        self.warmup = max(1, min(cfg.warmup_steps, self.steps // 10))
        self.val_windows = validation_windows(val_tokens, cfg.n_ctx, cfg.eval_tokens)
        self.src_windows = None
        if val_sources is not None and len(source_names):
            n = self.val_windows.shape[0]
            self.src_windows = val_sources[1:1 + n * cfg.n_ctx].reshape(n, cfg.n_ctx)
        # the curve's points use windows spread evenly over the split (it is ordered by source)
        stride = max(1, self.val_windows.shape[0] // max(1, CURVE_EVAL_TOKENS // cfg.n_ctx))
        self.curve_val = self.val_windows[::stride]
        self.eval_at = sorted({max(1, round(self.steps * (k + 1) / cfg.n_evals)) for k in range(cfg.n_evals)})
        self.curve, self.copy_curve = [], []
        self.probe = copy_windows(cfg.n_ctx, cfg.n_vocab)
        if teacher is not None:
            teacher.eval()
        self.loss_fn = make_loss_fn(self.model, cfg, device, None if shared else teacher)
        if mode == "compile":
            self.loss_fn = torch.compile(self.loss_fn)
        self.t0 = time.time()
        self.graphed = None
        if mode == "graph":
            if self.val_windows.shape[0] < self.batch:  # the graph's static input is one batch of them
                raise ValueError(f"mode 'graph' captures its step on {self.batch} validation windows; the "
                                 f"validation split holds {self.val_windows.shape[0]}")
            example = self.val_windows[:self.batch].to(device).long()
            targets = targets_of(teacher, example[:, :-1], cfg, device) if shared else None
            self.graphed = GraphedStep(self.model, self.opt, self.loss_fn, example, targets)
        self.step_no = 0
        self.train_loss = float("nan")

    @property
    def done(self) -> bool:
        return self.step_no >= self.steps

    def step(self, w: torch.Tensor, t_logp: torch.Tensor | None = None) -> None:
        """One optimiser step on the windows ``w``, and a point of the curves where the
        schedule has one."""
        f = lr_factor(self.step_no, self.steps, self.warmup)
        if self.graphed is not None:
            ce = self.graphed(w, f, t_logp)
        else:
            for g in self.opt.param_groups:
                g["lr"] = g["peak_lr"] * f
            ce = optimiser_step(self.model, self.opt, self.loss_fn, w, t_logp)
        self.step_no += 1
        if self.step_no in self.eval_at:
            self.train_loss = ce.item()
            if not math.isfinite(self.train_loss):
                raise FloatingPointError(f"{self.cfg.run_id}: training loss is {self.train_loss} at step {self.step_no}")
            if self.step_no < self.steps:
                r = evaluate(self.model, self.curve_val, self.device)
                self._point(r["val_ce"])
                if self.log:
                    self.log(f"{self.cfg.run_id} step {self.step_no}/{self.steps} train {self.train_loss:.4f} "
                             f"val {r['val_ce']:.4f}")

    def _point(self, val_ce: float) -> None:
        tokens = self.step_no * self.batch_tokens
        self.curve.append(f"{tokens}:{val_ce:.4f}")
        self.copy_curve.append(f"{tokens}:{copy_ce(self.model, self.probe, self.device):.4f}")

    def finish(self) -> None:
        """The final evaluation on the whole validation split (the curves' last point)."""
        self.final = evaluate(self.model, self.val_windows, self.device, teacher=self.teacher,
                              sources=self.src_windows, source_names=self.source_names)
        self._point(self.final["val_ce"])

    @property
    def train_flops(self) -> float:
        return 3.0 * self.arch.forward_flops_per_token * self.steps * self.batch_tokens

    def row(self, train_wall: float, wall: float) -> dict:
        """The run's row; ``train_wall`` (seconds of training) gives the rates, ``wall``
        (training and evaluation) is ``wall_s``."""
        cfg, arch, final, teacher = self.cfg, self.arch, self.final, self.teacher
        tokens = self.steps * self.batch_tokens
        distill = teacher is not None
        return {
            "run_id": cfg.run_id, "protocol": cfg.protocol,
            "objective": "distillation" if distill else "supervised", "split": cfg.split,
            "N": arch.non_embedding_params, "total_params": arch.total_params,
            "n_layers": arch.n_layers, "d_model": arch.d_model, "n_heads": arch.n_heads,
            "d_head": arch.d_head, "d_ff": arch.d_ff, "context": arch.n_ctx, "vocab": arch.n_vocab,
            "tokens": tokens, "epochs": tokens / self.tokens_per_epoch,
            "flops_per_token": arch.forward_flops_per_token,
            "total_flops": 3.0 * arch.forward_flops_per_token * tokens,
            "teacher_run_id": cfg.teacher_run_id if distill else "",
            "teacher_N": teacher.arch.non_embedding_params if distill else "",
            "teacher_inference_flops": teacher.arch.forward_flops_per_token * tokens if distill else "",
            "distill_lambda": cfg.distill_lambda if distill else "",
            "distill_tau": cfg.distill_tau if distill else "",
            "distill_topk": cfg.distill_topk if distill else "",
            "val_ce": final["val_ce"], "kl_to_teacher": final.get("kl_to_teacher", ""),
            "ece": final["ece"], "ece_vs_teacher": final.get("ece_vs_teacher", ""),
            "top1_acc": final["top1_acc"], "teacher_agreement": final.get("teacher_agreement", ""),
            "train_ce_final": self.train_loss, "val_curve": ";".join(self.curve),
            "copy_curve": ";".join(self.copy_curve), "eval_tokens": final["eval_tokens"],
            "val_ce_by_source": ";".join(f"{k}:{v}" for k, v in final.get("val_ce_by_source", {}).items()),
            "lr": cfg.peak_lr, "batch_size": self.batch, "batch_tokens": self.batch_tokens, "steps": self.steps,
            "warmup_steps": self.warmup, "seed": cfg.seed, "tokens_per_s": tokens / train_wall,
            "model_flops_per_s": 3.0 * arch.forward_flops_per_token * tokens / train_wall,
            "wall_s": wall, "compiled": self.mode == "compile", "cuda_graph": self.mode == "graph",
        }


def train_run(cfg: RunConfig, train_tokens: torch.Tensor, val_tokens: torch.Tensor,
              device="cpu", teacher=None, mode: str = "eager", log=None,
              val_sources: torch.Tensor | None = None, source_names=()):
    """Train one model as ``cfg`` says; returns (row dict, trained model).

    ``train_tokens`` and ``val_tokens`` are 1-D integer tensors (any device);
    ``teacher`` is a trained :class:`Transformer` in eval mode or None; ``mode`` is one of
    :data:`MODES` (``graph`` and ``compile`` need a CUDA device); ``val_sources`` gives the
    source index of each validation token (names in ``source_names``). A teacher's forward
    pass runs inside each step, on the run's own batch.
    """
    _check_mode(mode, device)
    chunks = Chunks(train_tokens, cfg.n_ctx, cfg.seed)
    t = _Trainee(cfg, val_tokens, chunks.tokens_per_epoch, device, teacher, mode, log, val_sources,
                 source_names, shared=False)
    for _ in range(t.steps):
        t.step(chunks.next(t.batch, device))
    _synchronize(device)
    train_wall = time.time() - t.t0
    t.finish()
    return t.row(train_wall, time.time() - t.t0), t.model


#: What the students of a group must share: the teacher and its targets (tau, top-k) and
#: the stream of windows (seed, split, context).
SHARED_FIELDS = ("teacher_run_id", "seed", "split", "n_ctx", "distill_tau", "distill_topk")


def check_group(cfgs, teacher) -> None:
    """Raise ValueError unless ``cfgs`` can train as one group under ``teacher``."""
    if not cfgs:
        raise ValueError("cfgs must hold at least one student")
    if teacher is None:
        raise ValueError("teacher must be given: a group's students distil from it")
    for name in SHARED_FIELDS:
        values = sorted({repr(getattr(c, name)) for c in cfgs})
        if len(values) > 1:
            raise ValueError(f"cfgs: the students of a group must share {name} (it fixes the teacher's "
                             f"targets or the order of windows), got {', '.join(values)}")
    if not cfgs[0].teacher_run_id:
        raise ValueError("cfgs: the students of a group must name their teacher (teacher_run_id is empty)")
    ids = [c.run_id for c in cfgs]
    if len(set(ids)) < len(ids):
        raise ValueError(f"cfgs: run ids must be distinct, got {ids}")


def _held_windows(held: list, start: int, n: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Windows ``start`` to ``start + n`` of the stream and their teacher targets, from the
    held blocks (first window's index, windows, targets)."""
    ws, ts = [], []
    for first, w, t_logp in held:
        a, b = max(start - first, 0), min(start + n - first, w.shape[0])
        if a < b:
            ws.append(w[a:b])
            ts.append(t_logp[a:b])
    return (ws[0], ts[0]) if len(ws) == 1 else (torch.cat(ws), torch.cat(ts))


def train_group(cfgs, train_tokens: torch.Tensor, val_tokens: torch.Tensor, device="cpu", teacher=None,
                mode: str = "eager", log=None, val_sources: torch.Tensor | None = None, source_names=()):
    """Train several students of one teacher together, computing the teacher's forward
    pass once per window for all of them; returns [(row, model)] in the order of ``cfgs``.

    The students must share :data:`SHARED_FIELDS` (:func:`check_group`); their sizes,
    batches, token counts, lambdas and learning rates may differ. Students of one seed
    draw the same stream of windows (:class:`Chunks`), a student of batch b taking the
    next b windows at each step. The stream advances in blocks of the largest batch; the
    teacher's targets (:func:`targets_of`) are computed once per block, and each student
    then takes every whole batch the held windows allow, so it trains on exactly the
    windows, with exactly the targets, that it would see alone. On the CPU the rows equal
    :func:`train_run`'s bit for bit (the test checks it); on the GPU, the teacher's bf16
    forward pass runs on another batch than alone, so its targets, and the rows, may
    differ in the last bits (``experiments.graph_check``'s sharing check bounds the
    difference in each mode). The teacher's targets are computed in the group's step mode
    (:class:`GroupTargets`), as a run alone computes them inside its step.

    Memory: every student's model, gradients and AdamW state are held at once, plus at
    most two blocks of teacher targets, 2 x (largest batch) x n_ctx x vocab float32
    values (at n_ctx 512 and vocab 8192, 16 MiB per window).

    Time: ``group_wall_s`` is the group's wall time (all students, training and
    evaluation). Each row's ``wall_s`` and its training time are the group's split by the
    student's share of the group's training FLOPs (3 F(N) D), so the rows' ``wall_s`` sum
    to the group's; ``tokens_per_s`` follows, and ``model_flops_per_s`` is then the group's
    rate, the same for every student (the shared teacher's FLOPs are not counted, as in a
    run alone). ``teacher_shared_by`` is the number of students, ``share_group`` the
    first one's run id.
    """
    cfgs = list(cfgs)
    check_group(cfgs, teacher)
    _check_mode(mode, device)
    chunks = Chunks(train_tokens, cfgs[0].n_ctx, cfgs[0].seed)
    t0 = time.time()
    trainees = [_Trainee(cfg, val_tokens, chunks.tokens_per_epoch, device, teacher, mode, log, val_sources,
                         source_names, shared=True) for cfg in cfgs]
    block = max(t.batch for t in trainees)
    need = max(t.steps * t.batch for t in trainees)  # windows of the stream that some student takes
    targets = GroupTargets(teacher, cfgs[0], device, mode, block)
    held = []  # blocks (first window's index, windows, targets) from the oldest a student still needs
    end = 0
    taken = [0] * len(trainees)  # windows of the stream each student has taken
    while end < need:
        w = chunks.next(min(block, need - end), device)
        held.append((end, w, targets(w[:, :-1])))
        end += w.shape[0]
        for i, t in enumerate(trainees):
            while not t.done and taken[i] + t.batch <= end:
                t.step(*_held_windows(held, taken[i], t.batch))
                taken[i] += t.batch
        oldest = min((taken[i] for i, t in enumerate(trainees) if not t.done), default=end)
        held = [h for h in held if h[0] + h[1].shape[0] > oldest]
    _synchronize(device)
    train_wall = time.time() - t0
    for t in trainees:
        t.finish()
    wall = time.time() - t0
    flops = sum(t.train_flops for t in trainees)
    out = []
    for t in trainees:
        share = t.train_flops / flops
        row = t.row(train_wall * share, wall * share)
        row.update(teacher_shared_by=len(trainees), share_group=cfgs[0].run_id, group_wall_s=wall)
        out.append((row, t.model))
    return out


def config_dict(cfg: RunConfig) -> dict:
    return asdict(cfg)
