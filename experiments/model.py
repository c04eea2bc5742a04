"""The model family of the small-scale replication: the paper's transformer, scaled down.

Decoder-only, pre-normalisation with RMSNorm, QK-norm, rotary position embeddings,
gated MLP (SwiGLU, ratio 8/3), multi-head attention (g_size = 1), untied input and
output embeddings. The paper fixes d_model / n_layers = 128 for models of 100M+
parameters (App. I); at 0.1M-10M parameters that would give one or two layers, so we
fix the aspect ratio at 32 and the head dimension at 32: ``d_model = 32 n_layers``
and ``n_heads = n_layers``. One integer, the depth, names a size.

``architecture(n_layers)`` gives the shape, its exact non-embedding parameter count
and its forward FLOPs per token with the accounting of :mod:`analysis.flops`
(Eq. 59: ``2N + 2 n_layers n_ctx d_model + 2 n_vocab d_model``).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F

from analysis.flops import architecture_forward_flops

#: d_model / n_layers of every model (the paper uses 128 at 100M+ parameters).
ASPECT_RATIO = 32
#: Dimension of each attention head.
D_HEAD = 32
#: Sequence length of every run.
N_CTX = 512
#: Vocabulary of the byte-level BPE tokenizer.
N_VOCAB = 8192
#: Base frequency of the rotary embedding (10k suits a 512-token context).
ROPE_BASE = 10_000.0
#: Width at which the peak learning rate applies unchanged (simple muP).
BASE_WIDTH = 128


def _round_to(x: float, m: int) -> int:
    return max(m, int(m * round(x / m)))


@dataclass(frozen=True)
class Architecture:
    """Shape of one model of the family, with its exact counts."""

    n_layers: int
    d_model: int
    n_heads: int
    d_head: int
    d_ff: int
    n_ctx: int
    n_vocab: int
    non_embedding_params: int
    total_params: int
    forward_flops_per_token: float

    def as_dict(self) -> dict:
        return asdict(self)


def architecture(n_layers: int, n_ctx: int = N_CTX, n_vocab: int = N_VOCAB) -> Architecture:
    """The family member of depth ``n_layers`` (1..64): width 32 n_layers,
    head dimension 32, MLP width 8/3 d_model rounded to a multiple of 16."""
    if not (isinstance(n_layers, (int,)) and 1 <= n_layers <= 64):
        raise ValueError(f"n_layers must be an integer in [1, 64], got {n_layers!r}")
    if not (16 <= n_ctx <= 65536):
        raise ValueError(f"n_ctx must lie in [16, 65536], got {n_ctx!r}")
    if not (16 <= n_vocab <= 65536):
        raise ValueError(f"n_vocab must lie in [16, 65536], got {n_vocab!r}")
    d_model = ASPECT_RATIO * n_layers
    n_heads = d_model // D_HEAD
    d_ff = _round_to(8.0 * d_model / 3.0, 16)
    # Per layer: q, k, v, o projections; QK-norm gains (2 d_head); gated MLP (3 d d_ff);
    # two RMSNorm gains (2 d). Plus the final RMSNorm. The output projection is
    # counted as an embedding (the paper's convention, Table 9).
    per_layer = 4 * d_model * d_model + 2 * D_HEAD + 3 * d_model * d_ff + 2 * d_model
    n_non_emb = n_layers * per_layer + d_model
    total = n_non_emb + 2 * n_vocab * d_model
    flops = float(architecture_forward_flops(n_layers, d_model, n_ctx, n_vocab, N=n_non_emb))
    return Architecture(n_layers, d_model, n_heads, D_HEAD, d_ff, n_ctx, n_vocab,
                        n_non_emb, total, flops)


def nearest_architecture(target_N: float, max_layers: int = 16) -> Architecture:
    """The family member whose non-embedding count is nearest to ``target_N`` in log."""
    if not (target_N > 0 and math.isfinite(target_N)):
        raise ValueError(f"target_N must be a positive finite number, got {target_N!r}")
    best = min(range(1, max_layers + 1),
               key=lambda L: abs(math.log(architecture(L).non_embedding_params / target_N)))
    return architecture(best)


def _rope_tables(n_ctx: int, d_head: int, device=None):
    inv = 1.0 / (ROPE_BASE ** (torch.arange(0, d_head, 2, dtype=torch.float32, device=device) / d_head))
    t = torch.arange(n_ctx, dtype=torch.float32, device=device)
    freqs = torch.outer(t, inv)
    return torch.cos(freqs), torch.sin(freqs)


def _apply_rope(x, cos, sin):
    # x: (B, H, T, Dh); rotate pairs (first half, second half).
    d = x.shape[-1] // 2
    x1, x2 = x[..., :d], x[..., d:]
    c = cos[: x.shape[-2]].to(x.dtype)
    s = sin[: x.shape[-2]].to(x.dtype)
    return torch.cat([x1 * c - x2 * s, x1 * s + x2 * c], dim=-1)


class Block(nn.Module):
    def __init__(self, arch: Architecture):
        super().__init__()
        d, h = arch.d_model, arch.n_heads
        self.h, self.dh = h, arch.d_head
        self.norm1 = nn.RMSNorm(d, eps=1e-6)
        self.qkv = nn.Linear(d, 3 * d, bias=False)
        self.proj = nn.Linear(d, d, bias=False)
        self.q_norm = nn.RMSNorm(arch.d_head, eps=1e-6)
        self.k_norm = nn.RMSNorm(arch.d_head, eps=1e-6)
        self.norm2 = nn.RMSNorm(d, eps=1e-6)
        self.gate_up = nn.Linear(d, 2 * arch.d_ff, bias=False)
        self.down = nn.Linear(arch.d_ff, d, bias=False)

    def forward(self, x, cos, sin):
        B, T, D = x.shape
        q, k, v = self.qkv(self.norm1(x)).view(B, T, 3, self.h, self.dh).permute(2, 0, 3, 1, 4)
        q = _apply_rope(self.q_norm(q), cos, sin)
        k = _apply_rope(self.k_norm(k), cos, sin)
        a = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        x = x + self.proj(a.transpose(1, 2).reshape(B, T, D))
        g, u = self.gate_up(self.norm2(x)).chunk(2, dim=-1)
        return x + self.down(F.silu(g) * u)


class Transformer(nn.Module):
    """Decoder-only transformer of :func:`architecture`; returns logits (B, T, V)."""

    def __init__(self, arch: Architecture):
        super().__init__()
        self.arch = arch
        self.embed = nn.Embedding(arch.n_vocab, arch.d_model)
        self.blocks = nn.ModuleList(Block(arch) for _ in range(arch.n_layers))
        self.norm = nn.RMSNorm(arch.d_model, eps=1e-6)
        self.head = nn.Linear(arch.d_model, arch.n_vocab, bias=False)
        cos, sin = _rope_tables(arch.n_ctx, arch.d_head)
        self.register_buffer("cos", cos, persistent=False)
        self.register_buffer("sin", sin, persistent=False)
        self.reset_parameters()

    def reset_parameters(self):
        """Simple muP initialisation: embeddings N(0, 1), every matrix N(0, 1/fan_in)."""
        nn.init.normal_(self.embed.weight, std=1.0)
        for m in self.modules():
            if isinstance(m, nn.Linear):
                nn.init.normal_(m.weight, std=m.in_features ** -0.5)
            elif isinstance(m, nn.RMSNorm):
                nn.init.ones_(m.weight)

    def forward(self, idx):
        x = self.embed(idx)
        for b in self.blocks:
            x = b(x, self.cos, self.sin)
        return self.head(self.norm(x))

    def param_groups(self, peak_lr: float, weight_decay: float):
        """Simple muP: matrices inside the blocks and the read-out get the peak LR times
        BASE_WIDTH / d_model; embeddings and norm gains the peak LR. Weight decay is
        decoupled from the LR (Wortsman et al. 2024): AdamW multiplies it by the
        scheduled LR, so we divide by the group's peak LR. Norm gains are not decayed."""
        width_mult = BASE_WIDTH / self.arch.d_model
        hidden, emb, gains = [], [], []
        for name, p in self.named_parameters():
            if p.ndim == 2 and name != "embed.weight":
                hidden.append(p)
            elif name == "embed.weight":
                emb.append(p)
            else:
                gains.append(p)
        lr_h = peak_lr * width_mult
        return [
            {"params": hidden, "lr": lr_h, "peak_lr": lr_h, "weight_decay": weight_decay / lr_h},
            {"params": emb, "lr": peak_lr, "peak_lr": peak_lr, "weight_decay": weight_decay / peak_lr},
            {"params": gains, "lr": peak_lr, "peak_lr": peak_lr, "weight_decay": 0.0},
        ]


def count_non_embedding(model: Transformer) -> int:
    """Parameters outside the input embedding and the output projection."""
    return sum(p.numel() for n, p in model.named_parameters() if n not in ("embed.weight", "head.weight"))
