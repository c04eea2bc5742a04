"""The transformer of the small-scale replication in PyTorch (shapes: :mod:`experiments.family`).

Decoder-only, pre-normalisation with RMSNorm, QK-norm, rotary position embeddings,
gated MLP (SwiGLU, ratio 8/3), multi-head attention, untied embeddings, simple muP.
"""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from experiments.family import BASE_WIDTH, ROPE_BASE, Architecture


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
        # under autocast the norms may return float32: attention wants one dtype
        q = _apply_rope(self.q_norm(q), cos, sin).to(v.dtype)
        k = _apply_rope(self.k_norm(k), cos, sin).to(v.dtype)
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
