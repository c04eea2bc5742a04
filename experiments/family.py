"""The model family of the small-scale replication (version 2): the paper's transformer,
scaled down (shapes and counts only; torch-free, so the book can read it).

Decoder-only, pre-normalisation with RMSNorm, QK-norm, rotary position embeddings,
gated MLP (SwiGLU, ratio 8/3), multi-head attention (g_size = 1), untied input and
output embeddings. The paper fixes d_model / n_layers = 128 at 100M+ parameters
(App. I); at 0.1M-40M parameters that would give one to four layers, so the family is a
declared list of shapes (:data:`SHAPES`) with aspect ratios d_model / n_layers from 32
to 64 and a head dimension of 64 (the matrix units of a GPU want 64 or more). A size is
named by its shape, ``L{n_layers}d{d_model}``.

``architecture(n_layers, d_model)`` gives the shape, its exact non-embedding parameter
count, the embeddings' share of all parameters and its forward FLOPs per token with the
accounting of :mod:`analysis.flops` (Eq. 59: ``2N + 2 n_layers n_ctx d_model +
2 n_vocab d_model``).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

from analysis.flops import architecture_forward_flops

#: Dimension of each attention head.
D_HEAD = 64
#: Sequence length of every run.
N_CTX = 512
#: Vocabulary of the byte-level BPE tokenizer.
N_VOCAB = 8192
#: Base frequency of the rotary embedding (10k suits a 512-token context).
ROPE_BASE = 10_000.0
#: Width at which the peak learning rate applies unchanged (simple muP).
BASE_WIDTH = 128
#: (n_layers, d_model) of every size, smallest first: 0.11M to 36M non-embedding parameters.
SHAPES = ((2, 64), (2, 128), (3, 128), (3, 192), (4, 192), (4, 256), (5, 256), (5, 320), (6, 384),
          (7, 448), (7, 512), (8, 512), (9, 576))


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

    @property
    def name(self) -> str:
        return f"L{self.n_layers}d{self.d_model}"

    @property
    def embedding_share(self) -> float:
        """Share of all parameters in the input embedding and the output projection."""
        return 1.0 - self.non_embedding_params / self.total_params

    def as_dict(self) -> dict:
        return asdict(self)


def architecture(n_layers: int, d_model: int, n_ctx: int = N_CTX, n_vocab: int = N_VOCAB,
                 d_head: int = D_HEAD) -> Architecture:
    """The model of ``n_layers`` layers of width ``d_model`` (a multiple of ``d_head``):
    ``d_model / d_head`` heads, MLP width 8/3 d_model rounded to a multiple of 64."""
    if not (isinstance(n_layers, int) and 1 <= n_layers <= 64):
        raise ValueError(f"n_layers must be an integer in [1, 64], got {n_layers!r}")
    if not (isinstance(d_head, int) and 8 <= d_head <= 256):
        raise ValueError(f"d_head must be an integer in [8, 256], got {d_head!r}")
    if not (isinstance(d_model, int) and d_head <= d_model <= 8192 and d_model % d_head == 0):
        raise ValueError(f"d_model must be a multiple of d_head={d_head} in [{d_head}, 8192], got {d_model!r}")
    if not (16 <= n_ctx <= 65536):
        raise ValueError(f"n_ctx must lie in [16, 65536], got {n_ctx!r}")
    if not (16 <= n_vocab <= 65536):
        raise ValueError(f"n_vocab must lie in [16, 65536], got {n_vocab!r}")
    n_heads = d_model // d_head
    d_ff = _round_to(8.0 * d_model / 3.0, 64)
    # Per layer: q, k, v, o projections; QK-norm gains (2 d_head); gated MLP (3 d d_ff);
    # two RMSNorm gains (2 d). Plus the final RMSNorm. The output projection is
    # counted as an embedding (the paper's convention, Table 9).
    per_layer = 4 * d_model * d_model + 2 * d_head + 3 * d_model * d_ff + 2 * d_model
    n_non_emb = n_layers * per_layer + d_model
    total = n_non_emb + 2 * n_vocab * d_model
    flops = float(architecture_forward_flops(n_layers, d_model, n_ctx, n_vocab, N=n_non_emb))
    return Architecture(n_layers, d_model, n_heads, d_head, d_ff, n_ctx, n_vocab,
                        n_non_emb, total, flops)


def family(n_ctx: int = N_CTX, n_vocab: int = N_VOCAB) -> list[Architecture]:
    """Every size of :data:`SHAPES`."""
    return [architecture(L, d, n_ctx, n_vocab) for L, d in SHAPES]


def by_name(name: str, n_ctx: int = N_CTX, n_vocab: int = N_VOCAB) -> Architecture:
    """The architecture named ``L{n_layers}d{d_model}``."""
    try:
        L, d = name[1:].split("d")
        return architecture(int(L), int(d), n_ctx, n_vocab)
    except (ValueError, IndexError):
        raise ValueError(f"name must look like 'L4d256', got {name!r}") from None


def nearest_architecture(target_N: float) -> Architecture:
    """The family member whose non-embedding count is nearest to ``target_N`` in log."""
    if not (target_N > 0 and math.isfinite(target_N)):
        raise ValueError(f"target_N must be a positive finite number, got {target_N!r}")
    return min(family(), key=lambda a: abs(math.log(a.non_embedding_params / target_N)))
