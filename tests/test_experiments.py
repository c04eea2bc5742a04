"""CPU tests of the replication's training stack on a tiny corpus made on the fly:
corpus build (near-duplicates, split by unit, tokenizer, manifest, packing), supervised
training and distillation (alone and as a group sharing the teacher's forward pass),
evaluation (KL, ECE, per-source loss), the plan's protocols,
the learning-rate rule, the sweep runner (idempotency, sharding, resume, row schema) and a
whole GPU block rehearsed on the CPU."""

import csv
import json
import math
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from experiments import corpus as corpusmod
from experiments import lr_rule
from experiments import plan as planmod
from experiments.family import SHAPES, architecture, by_name, family, nearest_architecture
from experiments.model import Transformer, count_non_embedding
from experiments.schema import RUN_COLUMNS, SHARE_COLUMNS
from experiments.sweep import in_shard, parse_shard
from experiments.train import (GroupTargets, RunConfig, batch_seqs_for, config_dict, copy_ce, copy_windows, ece, lr_factor, train_group,
                               train_run)

ROOT = Path(__file__).resolve().parents[1]
WORDS = ("the model learns a law of scaling from small runs and the teacher gives its "
         "distribution to the student who trains on tokens data loss compute budget").split()
N_CTX, VOCAB = 32, 300


def make_documents(n_docs=400, seed=0):
    """Docs of a tiny Markov language, in 40 units of two sources."""
    rng = np.random.default_rng(seed)
    docs = []
    for i in range(n_docs):
        w = int(rng.integers(len(WORDS)))
        out = []
        for _ in range(int(rng.integers(40, 120))):
            out.append(WORDS[w] if rng.random() < 0.8 else str(int(rng.integers(1000))))
            w = (w + 1) % len(WORDS) if rng.random() < 0.8 else int(rng.integers(len(WORDS)))
        text = f"doc {i}: " + " ".join(out) + "."
        docs.append(corpusmod.Doc("src-a" if i % 2 else "src-b", f"pkg{i % 7}", f"dir{i % 40}/f{i}.txt", text))
    return docs


@pytest.fixture(scope="module")
def tiny_corpus(tmp_path_factory):
    out = tmp_path_factory.mktemp("corpus")
    docs = make_documents()
    near = corpusmod.Doc("src-a", "pkg0", "dir0/copy.txt", docs[10].text + " and one more line.")
    m = corpusmod.build_from_documents(docs + [near], out, inputs=[], stats={"src-a": {}, "src-b": {}},
                                       vocab_size=VOCAB, sample_bytes=10**6, log=None)
    return out, m


def test_corpus_splits_are_disjoint_and_described(tiny_corpus):
    out, m = tiny_corpus
    assert set(m["tokens"]) == {"teacher", "student", "validation"}
    assert sum(o.get("documents", 0) for k, o in m["outputs"].items()) == m["documents"]
    for s in ("teacher", "student", "validation"):
        ids = corpusmod.load_split(out, s)
        assert ids.dtype == np.uint16 and ids.size == m["tokens"][s]
        assert ids.max() < VOCAB
    assert m["corpus_sha256"] == corpusmod.corpus_sha256(m)
    src, names = corpusmod.load_validation_sources(out)
    assert src.size == m["tokens"]["validation"] and set(names) == {"src-a", "src-b"}
    # the near-copy of a document (all its shingles inside a longer one) was dropped
    assert m["sources"]["src-a"]["near_duplicates"] + m["sources"]["src-b"]["near_duplicates"] >= 1
    assert m["documents"] == 400
    # no document crosses splits with its unit's siblings; the audit measured every pair
    assert set(m["overlap"]["pairs"]) == {f"{a}->{b}" for a in m["tokens"] for b in m["tokens"] if a != b}


def test_near_dedup_drops_contained_documents_only():
    a = corpusmod.Doc("s", "p", "x/a.txt", " ".join(f"w{i}" for i in range(400)))
    b = corpusmod.Doc("s", "p", "x/b.txt", " ".join(f"w{i}" for i in range(50, 350)))  # inside a
    c = corpusmod.Doc("s", "p", "x/c.txt", " ".join(f"v{i}" for i in range(300)))  # new text
    kept, stats = corpusmod.near_dedup([b, c, a], log=None)
    assert {d.path for d in kept} == {"x/a.txt", "x/c.txt"} and stats["near_duplicates"] == {"s": 1}


def test_shingles_and_containment():
    h = corpusmod.shingles("a b c d e f g h i j")
    assert h.dtype == np.uint64 and h.size == 3  # 10 words, 8-word shingles
    assert corpusmod.shingles("short text").size == 1
    ref = np.sort(h)
    docs = [corpusmod.Doc("s", "p", "d", "a b c d e f g h i j"), corpusmod.Doc("s", "p", "e", "z y x w v u t s r q")]
    assert list(corpusmod.containment([corpusmod.shingles(d.text) for d in docs], ref)) == [1.0, 0.0]


def test_split_by_unit_is_stable_and_fractioned():
    units = [f"pkg:dir{i}" for i in range(20000)]
    splits = [corpusmod.split_of_unit(u) for u in units]
    assert splits == [corpusmod.split_of_unit(u) for u in units]
    share = splits.count("validation") / len(units)
    assert abs(share - corpusmod.VAL_FRACTION) < 0.004
    assert abs(splits.count("teacher") - splits.count("student")) / len(units) < 0.03


def test_pack_and_partial_unpack(tiny_corpus, tmp_path):
    out, m = tiny_corpus
    parts = corpusmod.pack(out, tmp_path / "carry", part_bytes=20_000)
    assert len(parts) >= 3 and all(p.stat().st_size <= 20_000 for p in parts)
    first = corpusmod.unpack(parts[:1], tmp_path / "u1")
    assert "teacher" not in first["present"] and "student" not in first["present"]
    whole = corpusmod.unpack(parts, tmp_path / "u2")
    assert set(whole["present"]) >= {"teacher", "student", "validation"}
    for s in ("teacher", "student", "validation"):
        assert np.array_equal(corpusmod.load_split(tmp_path / "u2", s), corpusmod.load_split(out, s))
    bad = tmp_path / "bad" / "corpus.tar.0"
    bad.parent.mkdir()
    data = bytearray(parts[0].read_bytes())
    data[-100] ^= 0xFF  # inside the validation split
    bad.write_bytes(bytes(data) + b"".join(p.read_bytes() for p in parts[1:2]))
    with pytest.raises(ValueError, match="SHA-256|corpus_sha256"):
        corpusmod.unpack([bad], tmp_path / "u3")
    with pytest.raises(ValueError, match="without gaps"):
        corpusmod.unpack(parts[1:2], tmp_path / "u4")


def test_sources_declarations_are_well_formed():
    names = [s.name for s in corpusmod.SOURCES]
    assert len(names) == len(set(names))
    pins = corpusmod._pypi_pins()
    assert len(pins) == len(set(pins)) and all("==" in p for p in pins)
    for s in corpusmod.SOURCES:
        assert s.kind in ("deb", "wheel")
        assert all("=" in p for p in s.packages)
    rust = next(s for s in corpusmod.SOURCES if s.name == "rust")
    assert rust.keeps("usr/share/doc/rust-doc/html/book/ch01-00-getting-started.html")
    assert not rust.keeps("usr/share/doc/rust-doc/html/book/print.html")
    assert not rust.keeps("usr/share/doc/rust-doc/html/core/option/index.html")


def test_family_counts_and_shapes():
    archs = family()
    Ns = [a.non_embedding_params for a in archs]
    assert Ns == sorted(Ns) and len(archs) == len(SHAPES)
    for a in archs:
        assert a.d_model % a.d_head == 0 and a.d_head == 64 and a.d_ff % 64 == 0
        assert 0 < a.embedding_share < 1
        m = Transformer(a)
        assert count_non_embedding(m) == a.non_embedding_params
        assert sum(p.numel() for p in m.parameters()) == a.total_params
    assert by_name("L4d256") == architecture(4, 256)
    assert nearest_architecture(3e6).name == "L4d256"
    with pytest.raises(ValueError, match="d_model"):
        architecture(2, 100)
    with pytest.raises(ValueError, match="name"):
        by_name("4x256")


def test_batch_rule_gives_1000_steps_at_twenty_tokens_per_parameter():
    for a in family():
        b = batch_seqs_for(a)
        assert b == planmod.batch_seqs(a) >= 2
        steps = 20 * a.non_embedding_params / (b * a.n_ctx)
        assert steps >= 1000 or b == 2


def test_lr_schedule():
    steps, warm = 100, 10
    f = [lr_factor(s, steps, warm) for s in range(steps)]
    assert f[0] == pytest.approx(0.1) and f[warm - 1] == pytest.approx(1.0)
    assert f[-1] == pytest.approx(1e-3) and all(a >= b for a, b in zip(f[warm:], f[warm + 1:]))


def test_ece_perfectly_calibrated_and_overconfident():
    rng = np.random.default_rng(0)
    conf = rng.uniform(0, 1, 200_000)
    hit = rng.uniform(0, 1, conf.size) < conf
    assert ece(conf, hit) < 0.01
    assert ece(np.full(1000, 0.9), np.zeros(1000)) == pytest.approx(0.9)


def test_chunks_cover_an_epoch_before_repeating():
    from experiments.train import Chunks
    c = Chunks(torch.arange(1000), 10, seed=0)
    seen = torch.cat([c.next(7, "cpu")[:, 0] for _ in range(14)])  # 98 = 99 windows - 1
    assert c.next(64, "cpu").shape == (64, 11)
    assert len(set(seen.tolist())) == 98 and c.tokens_per_epoch == 990


def _splits(out):
    return {s: torch.from_numpy(corpusmod.load_split(out, s).astype(np.int32))
            for s in ("teacher", "student", "validation")}


class _Copier(torch.nn.Module):
    """Predicts the token n_ctx // 2 places back with near certainty: a perfect copier."""

    def __init__(self, lag: int, vocab: int):
        super().__init__()
        self.lag, self.vocab = lag, vocab

    def forward(self, x):
        nxt = torch.roll(x, self.lag - 1, dims=1)  # position t predicts x[t + 1 - lag], the copy
        return 50.0 * torch.nn.functional.one_hot(nxt, self.vocab).float()


def test_copy_probe_separates_copying_from_guessing():
    w = copy_windows(N_CTX, VOCAB, n=6, seed=3)
    half = N_CTX // 2
    assert w.shape == (6, N_CTX + 1) and torch.equal(w[:, half:2 * half], w[:, :half])
    assert torch.equal(w, copy_windows(N_CTX, VOCAB, n=6, seed=3))  # seeded
    torch.manual_seed(0)
    untrained = copy_ce(Transformer(architecture(1, 64, N_CTX, VOCAB)), w, "cpu")
    assert abs(untrained - math.log(VOCAB)) < 1.0  # guessing: about log(vocab)
    assert copy_ce(_Copier(half, VOCAB), w, "cpu") < 1e-6  # copying: about zero
    with pytest.raises(ValueError, match="n_ctx"):
        copy_windows(2, VOCAB)


def test_supervised_and_distilled_losses_fall(tiny_corpus):
    torch.set_num_threads(1)
    out, _ = tiny_corpus
    d = _splits(out)
    src, names = corpusmod.load_validation_sources(out)
    cfg = RunConfig("t", n_layers=1, d_model=64, tokens=256 * 40, batch_seqs=8, n_ctx=N_CTX, n_vocab=VOCAB,
                    eval_tokens=2048)
    row, teacher = train_run(cfg, d["teacher"], d["validation"], val_sources=torch.from_numpy(src.astype(np.int64)),
                             source_names=names)
    losses = [float(x.split(":")[1]) for x in row["val_curve"].split(";")]
    assert losses[-1] < losses[0] < math.log(VOCAB)
    assert row["steps"] == 40 and row["tokens"] == 256 * 40 and row["objective"] == "supervised"
    copies = [p.split(":") for p in row["copy_curve"].split(";")]
    assert [t for t, _ in copies] == [p.split(":")[0] for p in row["val_curve"].split(";")]
    assert all(0 < float(v) < math.inf for _, v in copies)  # a trained model can do worse than guessing
    by_source = dict(kv.split(":") for kv in row["val_ce_by_source"].split(";"))
    assert set(by_source) <= set(names) and all(0 < float(v) < math.log(VOCAB) for v in by_source.values())
    scfg = RunConfig("s", n_layers=1, d_model=64, tokens=256 * 40, batch_seqs=8, split="student", n_ctx=N_CTX,
                     n_vocab=VOCAB, eval_tokens=2048, teacher_run_id="t", seed=1)
    srow, _ = train_run(scfg, d["student"], d["validation"], teacher=teacher)
    s_losses = [float(x.split(":")[1]) for x in srow["val_curve"].split(";")]
    assert s_losses[-1] < s_losses[0]
    assert srow["objective"] == "distillation" and srow["kl_to_teacher"] >= 0
    assert 0 <= srow["ece"] <= 1 and 0 <= srow["ece_vs_teacher"] <= 1
    row2, _ = train_run(cfg, d["teacher"], d["validation"])  # deterministic
    assert row2["val_ce"] == row["val_ce"]


#: Columns of a row that measure time rather than training.
TIMINGS = ("wall_s", "tokens_per_s", "model_flops_per_s")


def _students(**knobs):
    """Three students of teacher "t" of different sizes, batches, steps, lambdas and rates."""
    shapes = [(1, 64, 4, 30, 1.0, 0.01), (2, 64, 6, 15, 0.5, 0.02), (1, 128, 3, 37, 1.0, 0.01)]
    return [RunConfig(f"s{i}", n_layers=L, d_model=d, tokens=N_CTX * b * steps, batch_seqs=b, split="student",
                      seed=1, teacher_run_id="t", distill_lambda=lam, peak_lr=lr, n_ctx=N_CTX, n_vocab=VOCAB,
                      eval_tokens=2048, **knobs)
            for i, (L, d, b, steps, lam, lr) in enumerate(shapes)]


def test_grouped_students_train_as_alone(tiny_corpus):
    """Students trained together on one teacher forward pass per window get the rows they
    get alone, bit for bit, though their batches (4, 6, 3 windows) cut the shared stream
    of windows at different places."""
    torch.set_num_threads(1)
    out, _ = tiny_corpus
    d = _splits(out)
    src, names = corpusmod.load_validation_sources(out)
    sources = torch.from_numpy(src.astype(np.int64))
    tcfg = RunConfig("t", n_layers=1, d_model=64, tokens=256 * 20, batch_seqs=8, n_ctx=N_CTX, n_vocab=VOCAB,
                     eval_tokens=2048)
    _, teacher = train_run(tcfg, d["teacher"], d["validation"])
    cfgs = _students(distill_tau=2.0, distill_topk=8)
    alone = [train_run(c, d["student"], d["validation"], teacher=teacher, val_sources=sources,
                       source_names=names)[0] for c in cfgs]
    together = train_group(cfgs, d["student"], d["validation"], teacher=teacher, val_sources=sources,
                           source_names=names)
    assert [r["run_id"] for r, _ in together] == ["s0", "s1", "s2"]
    assert [r["steps"] for r in alone] == [30, 15, 37]
    for a, (g, model) in zip(alone, together):
        assert {k: v for k, v in a.items() if k not in TIMINGS} == \
            {k: v for k, v in g.items() if k in a and k not in TIMINGS}
        assert g["teacher_shared_by"] == 3 and g["share_group"] == "s0" and isinstance(model, Transformer)
    rows = [g for g, _ in together]
    assert sum(r["wall_s"] for r in rows) == pytest.approx(rows[0]["group_wall_s"])
    assert len({round(r["model_flops_per_s"]) for r in rows}) == 1  # the group's rate


def test_group_targets_in_eager_are_the_teachers_targets():
    """A group's teacher targets (GroupTargets) in eager mode are targets_of's, for a full
    block and for the stream's shorter last block; the fast modes need a CUDA device (the
    device's sharing check compares them with runs alone)."""
    from experiments.train import targets_of
    teacher = Transformer(architecture(1, 64, N_CTX, VOCAB)).eval()
    cfg = _students(distill_tau=2.0, distill_topk=8)[0]
    targets = GroupTargets(teacher, cfg, "cpu", "eager", block=4)
    x = torch.randint(0, VOCAB, (4, N_CTX), generator=torch.Generator().manual_seed(0))
    for w in (x, x[:3]):
        got = targets(w)
        assert got.shape == (w.shape[0], N_CTX, VOCAB)
        assert torch.equal(got, targets_of(teacher, w, cfg, "cpu"))
    for mode in ("graph", "compile"):
        with pytest.raises(ValueError, match=f"mode '{mode}' needs a CUDA device"):
            GroupTargets(teacher, cfg, "cpu", mode, block=4)
    with pytest.raises(ValueError, match="mode must be one of"):
        GroupTargets(teacher, cfg, "cpu", "fast", block=4)
    with pytest.raises(ValueError, match="block must be a positive number of windows, got 0"):
        GroupTargets(teacher, cfg, "cpu", "eager", block=0)


def test_sharing_check_passes_where_a_group_trains_as_alone(tiny_corpus):
    """The device's sharing check (experiments.graph_check.sharing_check), on the CPU in eager
    mode: a group's students match themselves alone, so the mode is fit for sharing; a
    tolerance below zero fails it (the verdict is computed, not assumed)."""
    from experiments.graph_check import sharing_check
    torch.set_num_threads(1)
    out, _ = tiny_corpus
    d = _splits(out)
    tcfg = RunConfig("t", n_layers=1, d_model=64, tokens=256 * 20, batch_seqs=8, n_ctx=N_CTX, n_vocab=VOCAB,
                     eval_tokens=2048)
    _, teacher = train_run(tcfg, d["teacher"], d["validation"])
    group = (((1, 64), N_CTX * 4 * 12), ((2, 64), N_CTX * 4 * 9))
    knobs = dict(batch_seqs=4, n_ctx=N_CTX, n_vocab=VOCAB, eval_tokens=2048)
    got = sharing_check(teacher, d["teacher"], d["validation"], "cpu", modes=("eager",), group=group, **knobs)
    assert got["fit_for_sharing"] == {"eager": True}
    assert [r["abs_diff"] for r in got["group_results"]] == [0.0, 0.0]
    assert all(r["wall_ratio"] > 0 for r in got["group_results"])
    strict = sharing_check(teacher, d["teacher"], d["validation"], "cpu", modes=("eager",), group=group,
                           tol=-1.0, **knobs)
    assert strict["fit_for_sharing"] == {"eager": False}


def test_sharing_only_check_keeps_the_earlier_verdict(tmp_path, monkeypatch):
    """``graph_check --sharing-only`` (a block whose group code changed since its modes were
    checked): the earlier check's verdict on the step modes is kept, only the sharing check
    runs (here on the CPU, eager, at a tiny size), and an earlier check made on other
    software is refused."""
    import functools
    from experiments import graph_check
    monkeypatch.setattr(graph_check, "CONFIGS", (((1, 64), N_CTX * 4 * 10),))
    monkeypatch.setattr(graph_check, "GROUP", (((1, 64), N_CTX * 4 * 6), ((2, 64), N_CTX * 4 * 5)))
    monkeypatch.setattr(graph_check, "RunConfig", functools.partial(RunConfig, batch_seqs=4, n_ctx=N_CTX,
                                                                     n_vocab=VOCAB, eval_tokens=2048))
    rng = np.random.default_rng(0)
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for split, n in (("teacher", 20_000), ("validation", 8_000)):
        np.save(corpus / f"{split}.npy", rng.integers(0, VOCAB, n).astype(np.uint16))
    earlier = tmp_path / "earlier.json"
    earlier.write_text(json.dumps({"fit_for_sweep": {"graph": True, "compile": True}, "results": [{"mode": "graph"}],
                                   "torch": torch.__version__, "gpu": "cpu"}))
    out = tmp_path / "check.json"
    graph_check.main(["--corpus", str(corpus), "--out", str(out), "--device", "cpu", "--sharing-only", str(earlier)])
    got = json.loads(out.read_text())
    assert got["fit_for_sweep"] == {"graph": True, "compile": True} and got["results"] == [{"mode": "graph"}]
    assert got["modes_from"] == str(earlier) and got["fit_for_sharing"] == {"eager": True}
    assert [r["size"] for r in got["group_results"]] == ["L1d64", "L2d64"]
    earlier.write_text(json.dumps({"fit_for_sweep": {}, "results": [], "torch": "0.0", "gpu": "cpu"}))
    with pytest.raises(SystemExit, match="was checked on torch 0.0"):
        graph_check.main(["--corpus", str(corpus), "--out", str(out), "--device", "cpu", "--sharing-only",
                          str(earlier)])


@pytest.mark.parametrize("field, value", [("teacher_run_id", "other"), ("seed", 2), ("split", "teacher"),
                                          ("distill_tau", 2.0), ("distill_topk", 5), ("n_ctx", 16)])
def test_a_group_refuses_students_that_cannot_share(field, value):
    cfgs = _students()
    cfgs[1] = RunConfig(**{**config_dict(cfgs[1]), field: value})
    tokens = torch.randint(0, VOCAB, (4096,), dtype=torch.int32)
    teacher = Transformer(architecture(1, 64, N_CTX, VOCAB))
    with pytest.raises(ValueError, match=f"cfgs: .*share {field}"):
        train_group(cfgs, tokens, tokens, teacher=teacher)


def test_a_group_needs_a_named_teacher_and_distinct_students():
    tokens = torch.randint(0, VOCAB, (4096,), dtype=torch.int32)
    teacher = Transformer(architecture(1, 64, N_CTX, VOCAB))
    with pytest.raises(ValueError, match="teacher must be given"):
        train_group(_students(), tokens, tokens)
    with pytest.raises(ValueError, match="at least one"):
        train_group([], tokens, tokens, teacher=teacher)
    with pytest.raises(ValueError, match="teacher_run_id is empty"):
        train_group([RunConfig(**{**config_dict(c), "teacher_run_id": ""}) for c in _students()], tokens, tokens,
                    teacher=teacher)
    with pytest.raises(ValueError, match="distinct"):
        train_group(_students()[:1] * 2, tokens, tokens, teacher=teacher)


def test_fast_modes_need_a_gpu():
    cfg = RunConfig(run_id="g", n_layers=1, d_model=64, tokens=256 * 4, batch_seqs=8, n_ctx=32, n_vocab=300)
    tokens = torch.randint(0, 300, (4096,), dtype=torch.int32)
    for mode in ("graph", "compile"):
        with pytest.raises(ValueError, match="CUDA"):
            train_run(cfg, tokens, tokens, "cpu", mode=mode)
    with pytest.raises(ValueError, match="mode"):
        train_run(cfg, tokens, tokens, "cpu", mode="fast")


def test_protocols_meet_the_design():
    s = planmod.Setting(half_tokens=140_000_000)
    ladder = planmod.block_plan(["ladder"], s).rows()
    Ns = [architecture(r["n_layers"], r["d_model"]).non_embedding_params for r in ladder]
    assert len(ladder) >= 10 and math.log10(max(Ns) / min(Ns)) >= 2 and max(Ns) >= 20e6
    for C in planmod.ISOFLOP_BUDGETS:
        prof = planmod.block_plan([planmod._budget_tag(C)], s).rows()
        assert len(prof) >= 6, C
        for r in prof:
            a = architecture(r["n_layers"], r["d_model"])
            assert 3 * a.forward_flops_per_token * r["tokens"] == pytest.approx(C, rel=1e-6)
    everything = planmod.block_plan([n for n, p in planmod.PROTOCOLS.items() if p.part == 1], s).rows()
    for r in everything:
        a = architecture(r["n_layers"], r["d_model"])
        assert r["tokens"] <= 4 * s.half_tokens
        if "lr-sweep" not in r["protocol"]:
            assert planmod.steps_of(a, r["tokens"]) >= planmod.MIN_STEPS
    seeds = [r for r in everything if r["seed"] > 0]
    configs = {(r["n_layers"], r["d_model"], r["tokens"]) for r in seeds}
    assert len(configs) >= 8 and max(Ns) in {architecture(L, d).non_embedding_params for L, d, _ in configs}
    assert len({r["run_id"] for r in everything}) == len(everything)


def test_block_plan_order_and_done():
    s = planmod.Setting(half_tokens=140_000_000, lr={"L2d64": 0.02})
    rows = planmod.block_plan(["isoflop-1.5e15", "ladder"], s).rows()
    prios = [r["priority"] for r in rows]
    assert prios == sorted(prios)
    first = [r for r in rows if r["priority"] == 0]
    assert [r["cost_flops"] for r in first] == sorted((r["cost_flops"] for r in first), reverse=True)
    assert {r["lr"] for r in rows if r["n_layers"] == 2 and r["d_model"] == 64} == {0.02}
    done = {rows[0]["run_id"]}
    assert rows[0]["run_id"] not in {r["run_id"] for r in planmod.block_plan(["isoflop-1.5e15", "ladder"], s, done).rows()}
    with pytest.raises(ValueError, match="unknown protocol"):
        planmod.block_plan(["nope"], s)


def test_block_configs_name_known_protocols():
    for p in (ROOT / "experiments" / "blocks").glob("*.json"):
        b = planmod.read_block(p)
        assert all(x in planmod.PROTOCOLS for x in b.get("first", []))


def test_block_config_with_an_unknown_key_is_an_error(tmp_path):
    cfg = json.loads((ROOT / "experiments" / "blocks" / "v2-part1-c.json").read_text())
    (tmp_path / "b.json").write_text(json.dumps({**cfg, "graph_bellow": 1}))
    with pytest.raises(ValueError, match="unknown keys \\['graph_bellow'\\]"):
        planmod.read_block(tmp_path / "b.json")


def test_step_mode_replays_graphs_for_small_models_in_a_compiled_sweep():
    from experiments.sweep import step_mode

    small, large = {"n_layers": 2, "d_model": 128}, {"n_layers": 5, "d_model": 320}
    assert step_mode(small, "compile", 1e6) == "graph" and step_mode(large, "compile", 1e6) == "compile"
    assert step_mode(small, "compile", 0) == "compile"
    assert step_mode(small, "eager", 1e6) == "eager"  # a sweep whose fast modes failed the check stays eager


def test_lr_rule():
    def rows(opt_by_size):
        out = []
        for name, opt in opt_by_size.items():
            a = by_name(name)
            for lr in planmod.LR_GRID:
                out.append({"protocol": "lr-sweep", "n_layers": a.n_layers, "d_model": a.d_model,
                            "N": a.non_embedding_params, "tokens": 20 * a.non_embedding_params, "lr": lr,
                            "val_ce": 3.0 + 0.1 * (math.log2(lr) - math.log2(opt)) ** 2})
        return out
    c = lr_rule.choose(rows({"L2d64": 0.01, "L5d256": 0.012, "L7d512": 0.009}))
    assert c["optima"]["L2d64@M20"]["lr"] == pytest.approx(0.01, rel=1e-6)
    assert "transfer" in c["rule"] and len(set(c["lr"].values())) == 1
    c = lr_rule.choose(rows({"L2d64": 0.025, "L5d256": 0.01, "L7d512": 0.004}))
    assert "no transfer" in c["rule"] and c["lr"]["L2d64"] == pytest.approx(0.025, rel=1e-6)
    assert c["lr"]["L9d576"] == pytest.approx(0.004, rel=1e-6)
    assert lr_rule.vertex([1, 2, 4], [1.0, 2.0, 3.0]) == (1.0, True)


def test_shards_partition():
    ids = [f"r{i}" for i in range(100)]
    parts = [[i for i in ids if in_shard(i, (k, 3))] for k in range(3)]
    assert sorted(sum(parts, [])) == sorted(ids)
    with pytest.raises(ValueError, match="shard"):
        parse_shard("3/3")


def _tiny_plan_rows():
    base = dict(distill_lambda=1.0, distill_tau=1.0, distill_topk=0, lr=0.01, batch_seqs=8, cost_flops=1e6, seed=0)
    t = dict(run_id="t1", protocol="ladder", priority=0, n_layers=1, d_model=64, tokens=256 * 12, split="teacher",
             teacher_run_id="", **base)
    s = dict(run_id="d-t1--s", protocol="p", priority=1, n_layers=1, d_model=64, tokens=256 * 12, split="student",
             teacher_run_id="t1", **base)
    w = dict(run_id="twin", protocol="p-twin", priority=1, n_layers=1, d_model=64, tokens=256 * 12,
             split="student", teacher_run_id="", **base)
    return [t, s, w]


def test_sweep_end_to_end(tiny_corpus, tmp_path):
    out, m = tiny_corpus
    plan_dir = tmp_path / "plans"
    plan_dir.mkdir()
    plan = planmod.Plan()
    for r in _tiny_plan_rows():
        plan.add({k: v for k, v in r.items() if k not in ("protocol", "priority")}, r["protocol"], r["priority"])
    planmod.write_plan(plan, plan_dir / "base.csv")
    results = tmp_path / "results"
    cmd = [sys.executable, "-m", "experiments.sweep", "run", "--plan-dir", str(plan_dir),
           "--corpus", str(out), "--results", str(results), "--vocab", str(VOCAB),
           "--n-ctx", str(N_CTX), "--eval-tokens", "1024", "--save-teachers"]
    env = dict(os.environ, PYTHONPATH=str(ROOT), REPLICATION_GIT_REV="test", CUDA_VISIBLE_DEVICES="")
    subprocess.run(cmd, check=True, env=env, timeout=600)
    with open(results / "runs.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0].keys()) == RUN_COLUMNS
    assert len(rows) == 3
    by_id = {r["run_id"]: r for r in rows}
    for r in rows:
        assert r["corpus_sha256"] == m["corpus_sha256"] and r["git_rev"] == "test"
        assert float(r["val_ce"]) < math.log(VOCAB) and float(r["epochs"]) > 0
        if r["objective"] == "distillation":
            assert r["teacher_loss"] == by_id[r["teacher_run_id"]]["val_ce"]
            assert float(r["kl_to_teacher"]) >= 0
    (results / "claims" / "stale").write_text("x")  # idempotent; resume clears stale claims
    subprocess.run(cmd, check=True, env=env, timeout=600)
    with open(results / "runs.csv", newline="") as f:
        assert len(list(csv.DictReader(f))) == len(rows)
    assert not (results / "claims" / "stale").exists()


def _share_plan_rows():
    """Teacher t1 (done first), three students of it that can share its forward pass (sizes
    and batches differ), one at another temperature and one of a later priority."""
    t = _tiny_plan_rows()[0]
    student = dict(t, protocol="p", priority=1, split="student", teacher_run_id="t1")
    shapes = {"a": (1, 64, 8, 1.0, 1), "b": (1, 128, 4, 1.0, 1), "c": (2, 64, 6, 1.0, 1), "k": (1, 64, 8, 2.0, 1),
              "late": (1, 64, 8, 1.0, 2)}
    return [t] + [dict(student, run_id=rid, n_layers=L, d_model=d, batch_seqs=b, distill_tau=tau, priority=prio,
                       tokens=32 * b * 12) for rid, (L, d, b, tau, prio) in shapes.items()]


def _write_plan(rows, plan_dir):
    plan_dir.mkdir()
    plan = planmod.Plan()
    for r in rows:
        plan.add({k: v for k, v in r.items() if k not in ("protocol", "priority")}, r["protocol"], r["priority"])
    planmod.write_plan(plan, plan_dir / "base.csv")


def test_share_groups_keep_claims_and_priorities(tiny_corpus, tmp_path):
    """A group takes runnable runs that can share, of the first one's priority, claimed
    exclusively, up to --group-max and as many as end before the deadline; a run another
    worker claimed stays out."""
    from experiments.sweep import Worker, parse_args

    out, _ = tiny_corpus
    _write_plan(_share_plan_rows(), tmp_path / "plans")

    def worker(results, *extra):
        for sub in ("rows", "ckpt", "claims"):
            (results / sub).mkdir(parents=True, exist_ok=True)
        (results / "rows" / "t1.json").write_text(json.dumps({"run_id": "t1"}))
        (results / "ckpt" / "t1.pt").write_text("")  # next_run only asks whether it exists
        args = parse_args(["worker", "--plan-dir", str(tmp_path / "plans"), "--corpus", str(out), "--results",
                           str(results), "--vocab", str(VOCAB), "--n-ctx", str(N_CTX), "--share-teacher", *extra])
        return Worker(args, "cpu", "me")

    def ids(group):
        return group if group is None else [r["run_id"] for r in group]

    w = worker(tmp_path / "r1")
    (tmp_path / "r1" / "claims" / "b").write_text("other")
    assert ids(w.next_run()) == ["a", "c"]
    assert (tmp_path / "r1" / "claims" / "c").read_text() == "me"
    assert ids(w.next_run()) == ["k"] and ids(w.next_run()) == ["late"] and w.next_run() is None
    w = worker(tmp_path / "r2", "--group-max", "2")
    assert [ids(w.next_run()) for _ in range(4)] == [["a", "b"], ["c"], ["k"], ["late"]]
    w = worker(tmp_path / "r3", "--deadline", str(time.time() + 100), "--rate-hint", str(1e6 / 60))
    assert ids(w.next_run()) == ["a"]  # a second 60-second student would end past the deadline
    (tmp_path / "r2" / "runs.csv").write_text(",".join(RUN_COLUMNS) + "\n")
    with pytest.raises(ValueError, match="written without --share-teacher"):  # a table of a sweep that did not share
        worker(tmp_path / "r2")


def test_sweep_shares_teachers(tiny_corpus, tmp_path):
    """A sweep with --share-teacher trains the students of one teacher as one group and
    gets the val_ce they get alone; a student at another temperature trains alone."""
    out, _ = tiny_corpus
    rows = [r for r in _share_plan_rows() if r["run_id"] != "late"]
    _write_plan(rows, tmp_path / "plans")
    env = dict(os.environ, PYTHONPATH=str(ROOT), REPLICATION_GIT_REV="test", CUDA_VISIBLE_DEVICES="")

    def sweep(results, *extra):
        cmd = [sys.executable, "-m", "experiments.sweep", "run", "--plan-dir", str(tmp_path / "plans"),
               "--corpus", str(out), "--results", str(results), "--vocab", str(VOCAB), "--n-ctx", str(N_CTX),
               "--eval-tokens", "1024", "--save-teachers", *extra]
        subprocess.run(cmd, check=True, env=env, timeout=600)
        with open(results / "runs.csv", newline="") as f:
            reader = csv.DictReader(f)
            return reader.fieldnames, {r["run_id"]: r for r in reader}

    _, alone = sweep(tmp_path / "alone")
    shared_dir = tmp_path / "shared"  # the same teacher: its checkpoint and row carried over
    for sub in ("rows", "ckpt"):
        (shared_dir / sub).mkdir(parents=True)
    (shared_dir / "rows" / "t1.json").write_bytes((tmp_path / "alone" / "rows" / "t1.json").read_bytes())
    (shared_dir / "ckpt" / "t1.pt").write_bytes((tmp_path / "alone" / "ckpt" / "t1.pt").read_bytes())
    columns, shared = sweep(shared_dir, "--share-teacher")
    assert columns == RUN_COLUMNS + SHARE_COLUMNS and set(shared) == {"a", "b", "c", "k"}
    for rid, r in shared.items():
        assert r["val_ce"] == alone[rid]["val_ce"] and r["val_curve"] == alone[rid]["val_curve"], rid
        assert r["teacher_loss"] == alone["t1"]["val_ce"]
    assert {rid: (r["teacher_shared_by"], r["share_group"]) for rid, r in shared.items()} == \
        {"a": ("3", "a"), "b": ("3", "a"), "c": ("3", "a"), "k": ("1", "k")}


def test_gpu_block_rehearsed_on_the_cpu(tiny_corpus, tmp_path):
    """The chained calls of a block, with the corpus arriving in three parts."""
    out, _ = tiny_corpus
    carry = tmp_path / "carry"
    parts = corpusmod.pack(out, carry, part_bytes=30_000)
    staging = tmp_path / "staging"
    carry.rename(staging)
    carry.mkdir()
    env = dict(os.environ, PYTHONPATH=str(ROOT), REPLICATION_GIT_REV="test", CUDA_VISIBLE_DEVICES="",
               OUT=str(tmp_path / "out"))
    cmd = [sys.executable, "-m", "experiments.block", "call", str(ROOT / "experiments" / "blocks" / "v2-part1-a.json"),
           "--work", str(tmp_path / "work"), "--carry", str(carry), "--tiny"]
    for k in range(len(parts)):
        (staging / f"part{k}").rename(carry / f"part{k}")
        sleep = "120" if k == len(parts) - 1 else "0"
        subprocess.run(cmd + ["--sleep", sleep], check=True, env=env, timeout=600)
    with open(tmp_path / "out" / "runs.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    block = planmod.read_block(ROOT / "experiments" / "blocks" / "v2-part1-a.json")
    assert {r["protocol"] for r in rows} == set(block["protocols"]) | set(block["first"])
    assert json.loads((tmp_path / "out" / "lr_choice.json").read_text())["lr"]


def test_part2_block_rehearsed_on_the_cpu(tiny_corpus, tmp_path):
    """A part-2 block's calls: each protocol's teacher trained first and saved, its two
    students trained as one group sharing its forward pass, and a twin; the table carries
    the share columns."""
    out, _ = tiny_corpus
    carry = tmp_path / "carry"
    corpusmod.pack(out, carry, part_bytes=10 ** 9)
    config = ROOT / "experiments" / "blocks" / "v2-part2-a.json"
    env = dict(os.environ, PYTHONPATH=str(ROOT), REPLICATION_GIT_REV="test", CUDA_VISIBLE_DEVICES="",
               OUT=str(tmp_path / "out"))
    cmd = [sys.executable, "-m", "experiments.block", "call", str(config), "--work", str(tmp_path / "work"),
           "--carry", str(carry), "--tiny", "--sleep", "300"]
    subprocess.run(cmd, check=True, env=env, timeout=600)
    with open(tmp_path / "out" / "runs.csv", newline="") as f:
        reader = csv.DictReader(f)
        assert reader.fieldnames == RUN_COLUMNS + SHARE_COLUMNS
        rows = {r["run_id"]: r for r in reader}
    block = planmod.read_block(config)
    assert {r["protocol"] for r in rows.values()} == set(block["protocols"]) | {planmod.TEACHERS_PROTOCOL}
    for name in block["protocols"]:
        students = [r for r in rows.values() if r["protocol"] == name and r["objective"] == "distillation"]
        assert len(students) == 2 and {r["teacher_shared_by"] for r in students} == {"2"}, name
        teacher = rows[students[0]["teacher_run_id"]]
        assert teacher["protocol"] == planmod.TEACHERS_PROTOCOL and students[0]["teacher_loss"] == teacher["val_ce"]
        assert (tmp_path / "work" / "results" / "ckpt" / f"{teacher['run_id']}.pt").exists()
    assert "--share-teacher" in (tmp_path / "out" / "block.log").read_text()


def _ingest_setup(tmp_path, sha="abc"):
    data, results = tmp_path / "data", tmp_path / "results"
    data.mkdir()
    results.mkdir()
    (data / "corpus_manifest.json").write_text(json.dumps({"corpus_sha256": "abc"}))
    cols = ["run_id", "val_ce", "corpus_sha256"]
    (data / "runs.csv").write_text(",".join(cols) + "\nold,3.0,abc\n")
    (results / "runs.csv").write_text(",".join(cols) + f"\nold,3.0,abc\nnew,2.5,{sha}\n")
    (results / "main.csv").write_text("run_id\nnew\n")
    (results / "block.log").write_text("== w0-0.log\nMismatch dtype noise\ndone new\n")
    cfg = json.loads((ROOT / "experiments" / "blocks" / "v2-part1-c.json").read_text())
    cfg["done_from"] = str(data / "runs.csv")
    (tmp_path / "c.json").write_text(json.dumps(cfg))
    return data, results, tmp_path / "c.json"


def test_ingest_appends_new_runs_plan_and_log(tmp_path):
    from experiments import block as blockmod
    data, results, cfg = _ingest_setup(tmp_path)
    got = blockmod.ingest(cfg, results, "c", "block c, first machine")
    assert got == {"runs_added": 1, "runs_in_table": 2, "log_lines": 2}
    assert [r["run_id"] for r in csv.DictReader(open(data / "runs.csv"))] == ["old", "new"]
    assert (data / "plan_c_main.csv").read_text() == "run_id\nnew\n"
    assert (data / "block_c.log").read_text() == "# block c, first machine\n== w0-0.log\ndone new\n"
    assert not (data / "graph_check_c.json").exists()  # the block ran no check of its own
    (results / "graph_check.json").write_text('{"fit_for_sharing": {"graph": true}}')
    blockmod.ingest(cfg, results, "c", "block c, with its check")
    assert (data / "graph_check_c.json").read_text() == '{"fit_for_sharing": {"graph": true}}'
    again = blockmod.ingest(cfg, results, "c", "block c, second call")  # idempotent for the runs
    assert again["runs_added"] == 0 and again["runs_in_table"] == 2
    (results / "main.csv").write_text("run_id\nother\n")
    with pytest.raises(ValueError, match="another plan"):
        blockmod.ingest(cfg, results, "c", "x")


def test_ingest_refuses_a_run_on_another_corpus_and_a_bad_tag(tmp_path):
    from experiments import block as blockmod
    data, results, cfg = _ingest_setup(tmp_path, sha="zzz")
    with pytest.raises(ValueError, match="names corpus zzz"):
        blockmod.ingest(cfg, results, "c", "x")
    assert len(list(csv.DictReader(open(data / "runs.csv")))) == 1  # nothing appended
    with pytest.raises(ValueError, match="tag must be"):
        blockmod.ingest(cfg, results, "../c", "x")


def test_share_bench_times_a_group_against_its_students_alone():
    """experiments.share_bench on the CPU (eager, tiny context): one row with both wall times,
    the teacher's forward FLOPs counted per student token; a bad mode is named."""
    from experiments.share_bench import bench
    torch.set_num_threads(1)
    row = bench("L2d64", ["L2d64", "L2d128"], "eager", N_CTX * 4 * 6, "cpu", n_ctx=N_CTX, n_vocab=VOCAB,
                batch_seqs=4, eval_tokens=256)
    assert row["alone_wall_s"] > 0 and row["group_wall_s"] > 0
    assert row["group_over_alone"] == pytest.approx(row["group_wall_s"] / row["alone_wall_s"])
    assert row["teacher_forward_flops"] == pytest.approx(by_name("L2d64").forward_flops_per_token * 2 * N_CTX * 4 * 6)
    with pytest.raises(ValueError, match="mode must be one of"):
        bench("L2d64", ["L2d64"], "fast", 1024, "cpu")


PART2 = [n for n, p in planmod.PROTOCOLS.items() if p.part == 2]
HALF = 198_123_305  # the student half of corpus v2 (the smaller half: what the blocks plan with)


def _distillations(s, name):
    return [r for r in planmod.PROTOCOLS[name].runs(s) if r is not None]


def test_part2_protocols_meet_the_issue():
    """Issue 19's design: the five protocols' sizes, budgets, ratios, groups and seeds, every
    run within four epochs of the student half and at least 1000 steps, 300 distillations."""
    s = planmod.Setting(HALF)
    N = lambda r: architecture(r["n_layers"], r["d_model"]).non_embedding_params  # noqa: E731
    p1 = _distillations(s, "p2-fixed-m-teachers")
    per_teacher = {}
    for r in p1:
        a = architecture(r["n_layers"], r["d_model"])
        C = 3 * a.forward_flops_per_token * r["tokens"]
        per_teacher.setdefault(r["teacher_run_id"], {}).setdefault(round(C, -12), set()).add(a.name)
    assert len(per_teacher) >= 5
    assert all(len(b) >= 3 and all(len(v) == 5 for v in b.values()) for b in per_teacher.values())
    p2 = _distillations(s, "p2-isoflop-teachers")
    iso = {r["run_id"] for C in (1.5e15, 4e15, 1e16) for r in planmod.isoflop_runs(C)(s) if r is not None}
    assert iso <= {r["teacher_run_id"] for r in p2}
    Ns = {N(r) for r in p2}
    assert len(Ns) >= 5 and math.log10(max(Ns) / min(Ns)) >= 1.5
    p3 = _distillations(s, "p2-fixed-m-students")
    assert len({N(r) for r in p3}) >= 3
    tN = {planmod.parse_teacher(r["teacher_run_id"])[0].non_embedding_params for r in p3}
    assert min(tN) < 0.4e6 and max(tN) > 20e6
    for name in planmod.FIXED_M_STUDENTS:
        a = planmod.arch_of(name)
        fits = {M for M in planmod.STUDENT_M if planmod.m_tokens(a, M) <= s.max_tokens}
        got = {round(r["tokens"] / a.non_embedding_params) for r in p3 if (r["n_layers"], r["d_model"]) == (a.n_layers, a.d_model)}
        assert got == fits and {20, 40, 80} <= got, name
    assert {320} <= {round(r["tokens"] / N(r)) for r in p3}
    p4 = _distillations(s, "p2-equal-loss")
    assert len(planmod.EQUAL_LOSS_GROUPS) >= 4
    for group in planmod.EQUAL_LOSS_GROUPS:
        ids = {planmod.teacher_of(*t) for t in group}
        assert len({planmod.arch_of(t).non_embedding_params for t, _ in group}) == len(group) >= 2
        students = {N(r) for r in p4 if r["teacher_run_id"] in ids}
        assert len(students) >= 3 and planmod.arch_of(planmod.EQUAL_LOSS_STUDENTS[-1]).non_embedding_params in students
    seeded = planmod.seeded_configs(s)
    everything = {r["run_id"]: r for name in PART2 for r in _distillations(s, name)}
    assert len(seeded) >= 20 and all(r["run_id"] in everything for r in seeded)
    key = lambda r: (r["teacher_run_id"], r["n_layers"], r["d_model"], r["tokens"])  # noqa: E731
    seeds = {}
    for r in everything.values():
        seeds.setdefault(key(r), set()).add(r["seed"])
    assert sum(v == {0, 1, 2} for v in seeds.values()) >= 20
    assert len(everything) >= 300
    for r in everything.values():
        a = architecture(r["n_layers"], r["d_model"])
        assert r["tokens"] <= 4 * HALF and planmod.steps_of(a, r["tokens"]) >= planmod.MIN_STEPS
        assert r["split"] == "student" and r["run_id"].startswith("d-")


def test_part2_block_plan_groups_teachers_with_their_students_and_twins():
    s = planmod.Setting(HALF)
    plan = planmod.block_plan(PART2, s, teacher_suffix="-p2x").rows()
    teachers = [r for r in plan if r["protocol"] == planmod.TEACHERS_PROTOCOL]
    assert all(r["run_id"].endswith("-p2x") and r["split"] == "teacher" and r["priority"] % 2 == 0 for r in teachers)
    prio = {r["run_id"]: r["priority"] for r in teachers}
    ids = {r["run_id"] for r in plan}
    for r in plan:
        if r["teacher_run_id"]:
            assert r["priority"] == prio[r["teacher_run_id"]] + 1
            twin = planmod.twin_of(s, r)
            assert twin["run_id"] in ids
    # a teacher list keeps its order and drops what it does not name; finished runs drop out
    some = [planmod.teacher_of("L5d320", 120915200), planmod.teacher_of("L2d64", 358733584)]
    two = planmod.block_plan(PART2, s, teacher_suffix="-p2b", teachers=some).rows()
    order = [r["run_id"] for r in two if r["protocol"] == planmod.TEACHERS_PROTOCOL]
    assert order == [t + "-p2b" for t in some]
    done = {r["run_id"] for r in two if r["teacher_run_id"] == some[1] + "-p2b"}
    left = planmod.block_plan(PART2, s, done, teachers=some, teacher_suffix="-p2b").rows()
    assert [r["run_id"] for r in left if r["protocol"] == planmod.TEACHERS_PROTOCOL] == [some[0] + "-p2b"]
    with pytest.raises(ValueError, match="teacher_suffix"):
        planmod.block_plan(PART2, s, teachers=some)
    with pytest.raises(ValueError, match="teacher id"):
        planmod.block_plan(PART2, s, teachers=["s-L5d320-D1-s-s0"], teacher_suffix="-p2b")


def test_part2_block_plan_by_protocol_orders_a_teachers_students_by_protocol():
    s = planmod.Setting(HALF)
    plain = planmod.block_plan(PART2, s, teacher_suffix="-p2x").rows()
    ordered = planmod.block_plan(PART2, s, teacher_suffix="-p2x", by_protocol=True).rows()
    assert {r["run_id"]: r["protocol"] for r in plain} == {r["run_id"]: r["protocol"] for r in ordered}
    prio = {r["run_id"]: r["priority"] for r in ordered if r["protocol"] == planmod.TEACHERS_PROTOCOL}
    assert sorted(prio.values()) == list(prio.values()) == [2 * len(PART2) + g * (len(PART2) + 1) for g in range(len(prio))]
    for r in ordered:
        if r["teacher_run_id"]:  # after its teacher, by its first protocol, before the next teacher
            k = PART2.index(r["protocol"].split("+")[0])
            assert r["priority"] == prio[r["teacher_run_id"]] + 1 + k < prio[r["teacher_run_id"]] + len(PART2) + 1
    seeds = [r for r in ordered if r["protocol"].split("+")[0] == PART2[0] and r["teacher_run_id"]]
    later = [q for q in ordered if q["teacher_run_id"] and q["protocol"].split("+")[0] != PART2[0]]
    assert seeds and later and all(r["priority"] < q["priority"] for r in seeds for q in later
                                   if q["teacher_run_id"] == r["teacher_run_id"])
    with pytest.raises(TypeError, match="by_protocol"):
        planmod.block_plan(PART2, s, teacher_suffix="-p2x", by_protocol="yes")


def test_distillation_time_counts_the_teacher_forward_pass():
    s = planmod.Setting(HALF)
    r = planmod.distillation(s, planmod.teacher_of("L7d512", 435985920), planmod.arch_of("L2d128"), 7554560)
    S, T = planmod.arch_of("L2d128"), planmod.arch_of("L7d512")
    assert r["cost_flops"] == pytest.approx((3 * S.forward_flops_per_token + T.forward_flops_per_token) * 7554560)
    rate = lambda a: 1e12 if a.name == "L2d128" else 1e14  # noqa: E731
    assert planmod.run_seconds(r, rate) == pytest.approx(3 * S.forward_flops_per_token * 7554560 / 1e12
                                                         + T.forward_flops_per_token * 7554560 / 1e14)
    assert planmod.distillation(s, r["teacher_run_id"], S, 10 ** 10) is None  # past four epochs


def test_benchmark_rate_is_shared_only_with_the_runs_in_progress(tiny_corpus, tmp_path):
    from experiments.sweep import Worker, parse_args

    out, _ = tiny_corpus
    tp = tmp_path / "tp.csv"
    a = planmod.arch_of("L2d64")
    tp.write_text("name,n_layers,d_model,mode,batch_seqs,model_flops_per_s\n"
                  f"L2d64,2,64,eager,{planmod.batch_seqs(a)},4e12\n")
    (tmp_path / "plans").mkdir()
    args = parse_args(["worker", "--plan-dir", str(tmp_path / "plans"), "--corpus", str(out), "--results",
                       str(tmp_path / "r"), "--vocab", str(VOCAB), "--n-ctx", str(N_CTX), "--throughput", str(tp),
                       "--workers-per-gpu", "4"])
    w = Worker(args, "cpu", "me")
    r = {"n_layers": 2, "d_model": 64}
    assert [w.expected_rate(r, busy) for busy in (0, 1, 3, 7)] == [4e12, 2e12, 1e12, 1e12]


def test_teachers_do_not_run_ahead_of_their_students(tiny_corpus, tmp_path):
    """With as many teachers awaiting their students as workers per GPU, a worker waits (or
    trains a student) instead of starting the next teacher."""
    from experiments.sweep import Worker, parse_args

    out, _ = tiny_corpus
    t1 = _tiny_plan_rows()[0]
    rows = [t1, dict(t1, run_id="s1", priority=1, split="student", teacher_run_id="t1"),
            dict(t1, run_id="t2", priority=2), dict(t1, run_id="s2", priority=3, split="student", teacher_run_id="t2")]
    _write_plan(rows, tmp_path / "plans")

    def worker(results, k):
        for sub in ("rows", "ckpt", "claims"):
            (results / sub).mkdir(parents=True, exist_ok=True)
        (results / "rows" / "t1.json").write_text(json.dumps({"run_id": "t1"}))  # t1 done, its checkpoint not yet
        args = parse_args(["worker", "--plan-dir", str(tmp_path / "plans"), "--corpus", str(out), "--results",
                           str(results), "--vocab", str(VOCAB), "--n-ctx", str(N_CTX), "--workers-per-gpu", str(k)])
        return Worker(args, "cpu", "me")

    assert worker(tmp_path / "one", 1).next_run() == "wait"
    assert [r["run_id"] for r in worker(tmp_path / "two", 2).next_run()] == ["t2"]
