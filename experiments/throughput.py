"""Training throughput of the model family on one GPU: tokens/s and model FLOPs
utilisation (MFU) against a peak bf16 rate.

    python -m experiments.throughput --layers 2 4 9 --batch-seqs 8 64 --out t.csv [--compile]

For each depth and batch it times ``--steps`` supervised training steps after
``--warmup`` steps (CUDA-synchronised wall clock), on random token ids (the speed of
a dense transformer step does not depend on the ids). MFU counts the model FLOPs of
:mod:`analysis.flops` (3 F(N) per trained token; attention over the full context,
as in Eq. 59) over the measured time, against ``--peak`` FLOP/s (790e12: the bf16
dense matrix rate measured on an H200 of this workplace).
"""

from __future__ import annotations

import argparse
import csv
import time

import torch
import torch.nn.functional as F

from experiments.model import N_CTX, N_VOCAB, Transformer, architecture
from experiments.train import GRAD_CLIP, PEAK_LR, WEIGHT_DECAY, Z_LOSS, _autocast

FIELDS = ["n_layers", "d_model", "N", "batch_seqs", "batch_tokens", "compiled", "step_ms",
          "tokens_per_s", "model_tflops", "mfu", "gpu"]


def measure(L: int, batch_seqs: int, device: str, steps: int, warmup: int, compile_model: bool,
            peak: float, n_ctx: int = N_CTX, n_vocab: int = N_VOCAB) -> dict:
    arch = architecture(L, n_ctx, n_vocab)
    torch.manual_seed(0)
    model = Transformer(arch).to(device)
    fwd = torch.compile(model) if compile_model else model
    is_cuda = device.startswith("cuda")
    opt = torch.optim.AdamW(model.param_groups(PEAK_LR, WEIGHT_DECAY), betas=(0.9, 0.95),
                            **({"fused": True} if is_cuda else {}))
    x = torch.randint(0, n_vocab, (batch_seqs, n_ctx + 1), device=device)

    def step():
        with _autocast(device):
            logits = fwd(x[:, :-1])
        logits = logits.float()
        lse = torch.logsumexp(logits, -1)
        loss = F.cross_entropy(logits.reshape(-1, n_vocab), x[:, 1:].reshape(-1)) + Z_LOSS * (lse ** 2).mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), GRAD_CLIP)
        opt.step()

    for _ in range(warmup):
        step()
    if is_cuda:
        torch.cuda.synchronize()
    t = time.perf_counter()
    for _ in range(steps):
        step()
    if is_cuda:
        torch.cuda.synchronize()
    dt = (time.perf_counter() - t) / steps
    tokens = batch_seqs * n_ctx
    flops = 3.0 * arch.forward_flops_per_token * tokens / dt
    return {"n_layers": L, "d_model": arch.d_model, "N": arch.non_embedding_params,
            "batch_seqs": batch_seqs, "batch_tokens": tokens, "compiled": compile_model,
            "step_ms": dt * 1e3, "tokens_per_s": tokens / dt, "model_tflops": flops / 1e12,
            "mfu": flops / peak,
            "gpu": torch.cuda.get_device_name(0) if is_cuda else "cpu"}


def main(argv=None):
    ap = argparse.ArgumentParser(description="training throughput per model size")
    ap.add_argument("--layers", type=int, nargs="+", required=True)
    ap.add_argument("--batch-seqs", type=int, nargs="+", default=[64])
    ap.add_argument("--steps", type=int, default=30)
    ap.add_argument("--warmup", type=int, default=10)
    ap.add_argument("--compile", action="store_true")
    ap.add_argument("--peak", type=float, default=790e12)
    ap.add_argument("--n-ctx", type=int, default=N_CTX)
    ap.add_argument("--out", required=True)
    a = ap.parse_args(argv)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    with open(a.out, "a", newline="") as f:
        w = csv.DictWriter(f, fieldnames=FIELDS)
        if f.tell() == 0:
            w.writeheader()
        for L in a.layers:
            for b in a.batch_seqs:
                try:
                    r = measure(L, b, device, a.steps, a.warmup, a.compile, a.peak, a.n_ctx)
                except torch.OutOfMemoryError:
                    continue
                w.writerow(r)
                f.flush()
                print(f"L={L} B={b} compiled={a.compile} {r['step_ms']:.2f} ms "
                      f"{r['tokens_per_s']:.3g} tok/s MFU {r['mfu']:.3f}", flush=True)


if __name__ == "__main__":
    main()
