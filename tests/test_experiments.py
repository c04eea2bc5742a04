"""CPU tests of the replication's training stack on a tiny corpus made on the fly:
corpus build (split, tokenizer, manifest), supervised training, distillation,
evaluation (KL, ECE) and the sweep runner (idempotency, sharding, resume, row schema)."""

import csv
import json
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from experiments import corpus as corpusmod
from experiments import plan as planmod
from experiments.model import architecture, nearest_architecture, Transformer, count_non_embedding
from experiments.sweep import RUN_COLUMNS, in_shard, parse_shard, sanity
from experiments.train import RunConfig, batch_tokens_for, ece, lr_factor, train_run

ROOT = Path(__file__).resolve().parents[1]
WORDS = ("the model learns a law of scaling from small runs and the teacher gives its "
         "distribution to the student who trains on tokens data loss compute budget").split()
N_CTX, VOCAB = 32, 300


def make_documents(n_docs=400, seed=0):
    rng = np.random.default_rng(seed)
    docs = {}
    for i in range(n_docs):
        # a tiny Markov language: each word mostly followed by the next in WORDS
        w = int(rng.integers(len(WORDS)))
        out = []
        for _ in range(int(rng.integers(40, 120))):
            out.append(WORDS[w])
            w = (w + 1) % len(WORDS) if rng.random() < 0.8 else int(rng.integers(len(WORDS)))
        text = f"doc {i}: " + " ".join(out) + "."
        docs[corpusmod.sha256_bytes(text.encode())] = ("synthetic", text)
    return docs


@pytest.fixture(scope="module")
def tiny_corpus(tmp_path_factory):
    out = tmp_path_factory.mktemp("corpus")
    docs = make_documents()
    m = corpusmod.build_from_documents(docs, out, inputs=[], per_source={"synthetic": 1},
                                       vocab_size=VOCAB, sample_bytes=10**6)
    return out, m


def test_corpus_splits_are_disjoint_and_described(tiny_corpus):
    out, m = tiny_corpus
    assert set(m["tokens"]) == {"teacher", "student", "validation"}
    assert sum(o.get("documents", 0) for o in m["outputs"].values()) == m["documents"]
    for s in ("teacher", "student", "validation"):
        ids = corpusmod.load_split(out, s)
        assert ids.dtype == np.uint16 and ids.size == m["tokens"][s]
        assert ids.max() < VOCAB
        assert corpusmod.sha256_file(out / f"{s}.npy.xz") == m["outputs"][f"{s}.npy.xz"]["sha256"]
    assert m["corpus_sha256"] == corpusmod.corpus_sha256(m)
    # the split of a document depends on its content only
    h = next(iter(make_documents(1)))
    assert corpusmod.split_of(h) == corpusmod.split_of(h)
    with pytest.raises(ValueError, match="name"):
        corpusmod.load_split(out, "train")


def test_html_to_text():
    assert corpusmod.html_to_text("<p>a &amp; b</p><script>x()</script>") == "a & b"


def test_architecture_counts_match_the_module():
    for L in (1, 2, 5):
        a = architecture(L)
        assert a.d_model == 32 * L and a.n_heads == L
        m = Transformer(a)
        assert count_non_embedding(m) == a.non_embedding_params
        assert sum(p.numel() for p in m.parameters()) == a.total_params
    assert nearest_architecture(architecture(4).non_embedding_params).n_layers == 4
    with pytest.raises(ValueError, match="n_layers"):
        architecture(0)


def test_schedule_batch_and_ece():
    assert lr_factor(0, 100, 5) == pytest.approx(0.2)
    assert lr_factor(99, 100, 5) == pytest.approx(1e-3)
    assert batch_tokens_for(10**6) == 8 * 512 and batch_tokens_for(10**10) == 64 * 512
    assert batch_tokens_for(8 * 512 * 1000) == 8 * 512 and batch_tokens_for(32 * 512 * 1000) == 32 * 512
    # perfectly calibrated bins give ECE 0; always-wrong confident predictions give ~conf
    assert ece(np.full(10, 0.3), np.array([1, 1, 1, 0, 0, 0, 0, 0, 0, 0])) == pytest.approx(0.0)
    assert ece(np.full(4, 0.99), np.zeros(4)) == pytest.approx(0.99)
    with pytest.raises(ValueError):
        RunConfig("x", 1, 100, split="train")


def test_chunks_give_whole_batches_and_epochs():
    from experiments.train import Chunks
    c = Chunks(torch.arange(1000), 10, seed=0)
    seen = torch.cat([c.next(7, "cpu")[:, 0] for _ in range(14)])  # 98 = 99 windows - 1
    assert c.next(64, "cpu").shape == (64, 11)
    assert len(set(seen.tolist())) == 98 and c.tokens_per_epoch == 990


def _splits(out):
    return {s: torch.from_numpy(corpusmod.load_split(out, s).astype(np.int32))
            for s in ("teacher", "student", "validation")}


def test_supervised_and_distilled_losses_fall(tiny_corpus):
    torch.set_num_threads(1)
    out, _ = tiny_corpus
    d = _splits(out)
    cfg = RunConfig("t", n_layers=1, tokens=256 * 40, n_ctx=N_CTX, n_vocab=VOCAB, eval_tokens=2048)
    row, teacher = train_run(cfg, d["teacher"], d["validation"])
    losses = [float(x.split(":")[1]) for x in row["val_curve"].split(";")]
    assert losses[-1] < losses[0] < math.log(VOCAB)
    assert row["steps"] == 40 and row["tokens"] == 256 * 40 and row["objective"] == "supervised"
    scfg = RunConfig("s", n_layers=1, tokens=256 * 40, split="student", n_ctx=N_CTX, n_vocab=VOCAB,
                     eval_tokens=2048, teacher_run_id="t", seed=1)
    srow, _ = train_run(scfg, d["student"], d["validation"], teacher=teacher)
    s_losses = [float(x.split(":")[1]) for x in srow["val_curve"].split(";")]
    assert s_losses[-1] < s_losses[0]
    assert srow["objective"] == "distillation" and srow["kl_to_teacher"] >= 0
    assert 0 <= srow["ece"] <= 1 and 0 <= srow["ece_vs_teacher"] <= 1
    # deterministic: the same config gives the same numbers
    row2, _ = train_run(cfg, d["teacher"], d["validation"])
    assert row2["val_ce"] == row["val_ce"]


def test_plan_respects_epochs_and_dedupes():
    p = planmod.base_plan(half_tokens=46_000_000)
    rows = p.rows()
    assert len({r["run_id"] for r in rows}) == len(rows)
    assert all(r["tokens"] <= 4 * 46_000_000 for r in rows)
    distilled = [r for r in rows if r["teacher_run_id"]]
    twins = {(r["n_layers"], r["tokens"], r["seed"]) for r in rows
             if not r["teacher_run_id"] and r["split"] == "student"}
    assert all((r["n_layers"], r["tokens"], r["seed"]) in twins for r in distilled)
    ladder = [r for r in rows if "ladder" in r["protocol"].split("+")]
    assert len(ladder) >= 8
    Ns = [architecture(r["n_layers"]).non_embedding_params for r in ladder]
    assert math.log10(max(Ns) / min(Ns)) >= 1.5
    for tag in ("isoflop-1e14", "isoflop-3e14", "isoflop-1e15"):
        assert sum(tag in r["protocol"].split("+") for r in rows) >= 6


def test_shards_partition():
    ids = [f"r{i}" for i in range(100)]
    parts = [[i for i in ids if in_shard(i, (k, 3))] for k in range(3)]
    assert sorted(sum(parts, [])) == sorted(ids)
    with pytest.raises(ValueError, match="shard"):
        parse_shard("3/3")


def test_sanity_check():
    rows = {f"a{i}": {"N": 10**i, "val_ce": 5.0 - 0.3 * i, "vocab": 8192} for i in range(1, 5)}
    assert sanity(rows, list(rows))["ok"]
    rows["a4"]["val_ce"] = 6.0
    assert not sanity(rows, list(rows))["ok"]
    assert not sanity(rows, list(rows) + ["missing"])["ready"]
    assert sanity(rows, list(rows) + ["missing"], min_runs=4)["ready"]


def test_sweep_end_to_end(tiny_corpus, tmp_path):
    out, m = tiny_corpus
    plan_dir = tmp_path / "plans"
    plan_dir.mkdir()
    p = planmod.tiny_plan(half_tokens=10**9)
    planmod.write_plan(p, plan_dir / "base.csv")
    results = tmp_path / "results"
    cmd = [sys.executable, "-m", "experiments.sweep", "run", "--plan-dir", str(plan_dir),
           "--corpus", str(out), "--results", str(results), "--vocab", str(VOCAB),
           "--n-ctx", str(N_CTX), "--eval-tokens", "1024", "--no-p4",
           "--sanity-min-drop", "0"]
    env = dict(os.environ, PYTHONPATH=str(ROOT), REPLICATION_GIT_REV="test", CUDA_VISIBLE_DEVICES="")
    subprocess.run(cmd, check=True, env=env, timeout=600)
    with open(results / "runs.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0].keys()) == RUN_COLUMNS
    assert len(rows) == len(p.runs)  # 2 teachers, 2 students, 2 twins (one shared size)
    by_id = {r["run_id"]: r for r in rows}
    for r in rows:
        assert r["corpus_sha256"] == m["corpus_sha256"] and r["git_rev"] == "test"
        assert float(r["val_ce"]) < math.log(VOCAB) and float(r["epochs"]) > 0
        if r["objective"] == "distillation":
            assert r["teacher_loss"] == by_id[r["teacher_run_id"]]["val_ce"]
            assert float(r["kl_to_teacher"]) >= 0
    assert json.loads((results / "sanity.json").read_text())["ready"]
    # idempotent: a second run does nothing; resume clears stale claims
    (results / "claims" / "stale").write_text("x")
    subprocess.run(cmd, check=True, env=env, timeout=600)
    with open(results / "runs.csv", newline="") as f:
        assert len(list(csv.DictReader(f))) == len(rows)
    assert not (results / "claims" / "stale").exists()


def test_cuda_graph_needs_a_gpu_and_no_compile():
    cfg = RunConfig(run_id="g", n_layers=1, tokens=256 * 4, n_ctx=32, n_vocab=300)
    tokens = torch.randint(0, 300, (4096,), dtype=torch.int32)
    with pytest.raises(ValueError, match="cuda_graph"):
        train_run(cfg, tokens, tokens, "cpu", cuda_graph=True)


def test_sanity_passes_a_plan_without_ladder():
    assert sanity({}, []) == {"ready": True, "ok": True, "ladder_losses": [], "ladder_N": []}
