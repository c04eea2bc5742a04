"""Version 1 of the replication, frozen: its model family and its run ids, for the chapters
that still read version 1's runs (data/replication/v1/). Version 2's family is
:mod:`experiments.family`; this module goes when no chapter reads version 1.

The model family of version 1: the paper's transformer, scaled down.

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
import re
from dataclasses import asdict, dataclass

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


#: Version 1's protocol-4 teachers: groups of (depth, tokens) on the teacher half whose
#: losses agree (its plan's P4_GROUPS; data/replication/v1/plan_part2.csv runs them).
P4_GROUPS = (
    ((3, 13_159_335), (8, 5_277_147), (5, 7_180_000)),
    ((3, 39_478_006), (7, 14_600_000)),
    ((4, 79_730_778), (5, 50_949_702), (8, 34_000_000)),
    ((2, 24_132_765), (5, 5_094_970)),
)


def supervised_id(L: int, tokens: int, split: str, seed: int = 0, rerun: int = 0) -> str:
    """Version 1's id of a supervised run (``rerun`` > 0: a retraining, same seed)."""
    return f"s-L{L}-D{tokens}-{split[0]}-s{seed}" + (f"-r{rerun}" if rerun else "")


def without_rerun(run_id: str) -> str:
    """The run id with every rerun suffix removed."""
    return re.sub(r"-r\d+(?=--|$)", "", run_id)


def nearest_architecture(target_N: float, max_layers: int = 16) -> Architecture:
    """The family member whose non-embedding count is nearest to ``target_N`` in log."""
    if not (target_N > 0 and math.isfinite(target_N)):
        raise ValueError(f"target_N must be a positive finite number, got {target_N!r}")
    best = min(range(1, max_layers + 1),
               key=lambda L: abs(math.log(architecture(L).non_embedding_params / target_N)))
    return architecture(best)


