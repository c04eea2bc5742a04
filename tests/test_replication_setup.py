"""analysis.replication_setup on a small synthetic run table with known answers, and on the
committed version-2 data."""

import dataclasses
import json

import numpy as np
import pandas as pd
import pytest

from analysis import replication_setup as S
from analysis.laws import PAPER_SUPERVISED, supervised_loss
from experiments.family import by_name

NAMES = ("L2d128", "L3d192", "L4d256", "L5d320", "L6d384", "L7d448", "L7d512")


def _row(name, tokens, seed=0, split="teacher", protocol="ladder", loss=None, t0=0.0, wall=10.0):
    a = by_name(name)
    loss = float(supervised_loss(a.non_embedding_params, tokens, PAPER_SUPERVISED)) if loss is None else loss
    return {"run_id": f"s-{name}-D{tokens}-{split[0]}-s{seed}", "protocol": protocol, "split": split,
            "N": a.non_embedding_params, "n_layers": a.n_layers, "d_model": a.d_model, "tokens": tokens,
            "seed": seed, "val_ce": loss, "total_flops": 3 * a.forward_flops_per_token * tokens,
            "wall_s": wall, "finished_utc": pd.Timestamp(1.8e9 + t0 + wall, unit="s").strftime("%Y-%m-%dT%H:%M:%SZ"),
            "val_curve": f"{tokens // 2}:{loss + 0.5:.4f};{tokens}:{loss:.4f}", "lr": 0.01,
            "git_rev": "abc1234", "copy_curve": ""}


@pytest.fixture()
def synthetic(tmp_path):
    rows = []
    for i, name in enumerate(NAMES):  # an exact supervised law at two lengths each
        N = by_name(name).non_embedding_params
        rows += [_row(name, int(20 * N), t0=10 * i), _row(name, int(80 * N), protocol="isoflop-1e16", t0=10 * i)]
    base = rows[0]["val_ce"]
    rows += [_row("L2d128", int(20 * by_name("L2d128").non_embedding_params), seed=s, loss=base * (1 + d))
             for s, d in ((1, 0.01), (2, -0.01))]  # relative sd of 1%
    rows.append(_row("L2d128", int(20 * by_name("L2d128").non_embedding_params), split="student",
                     protocol="twins", loss=base * 1.05))  # a twin 5% off: more than 2 sd
    rows.append(_row("L2d128", 1000, protocol="lr-sweep"))
    pd.DataFrame(rows).to_csv(tmp_path / "runs.csv", index=False)
    return tmp_path


def test_seed_noise_and_half_gate(synthetic):
    s = S.load(synthetic)
    assert len(s.sweep) == 1 and len(s.twins) == 1
    noise = S.seed_noise(s)
    assert noise.configurations == 1 and noise.pooled == pytest.approx(np.std([1, 1.01, 0.99], ddof=1), rel=1e-6)
    gate = S.half_gate(s, noise)
    assert gate.verdict == "does not hold" and gate.largest_gap == pytest.approx(0.05, rel=1e-6)


def test_supervised_fit_recovers_an_exact_law(synthetic, tmp_path):
    s = S.load(synthetic)
    f = S.supervised_fit(s, S.seed_noise(s), stored=None)
    assert f.runs == 2 * len(NAMES) and f.rms < 1e-3
    with pytest.raises(ValueError, match="fewer than"):
        S.supervised_fit(s, S.seed_noise(s), min_tokens=1e12, stored=None)
    # stored and read back: the same coefficients and residuals
    S.store_supervised_fits(s, tmp_path / "fits.csv", cuts=(0.0,))
    back = S.supervised_fit(s, S.seed_noise(s), stored=tmp_path / "fits.csv")
    assert back.rms == pytest.approx(f.rms, rel=1e-9, abs=1e-12) and back.coefficients.E == pytest.approx(f.coefficients.E)
    with pytest.raises(ValueError, match="not a stored cut"):
        S.supervised_fit(s, S.seed_noise(s), min_tokens=1.0, stored=tmp_path / "fits.csv")


def test_stored_fit_refuses_other_runs(synthetic, tmp_path):
    s = S.load(synthetic)
    S.store_supervised_fits(s, tmp_path / "fits.csv", cuts=(0.0,))
    sup = s.supervised.copy()
    sup.loc[sup.index[0], "val_ce"] += 0.01
    other = dataclasses.replace(s, supervised=sup)
    with pytest.raises(ValueError, match="make_replication_setup_fits"):
        S.supervised_fit(other, S.seed_noise(s), stored=tmp_path / "fits.csv")


def test_committed_supervised_fits_match_a_fresh_fit():
    """data/fits/replication/setup_supervised.csv (scripts/make_replication_setup_fits.py)
    against a fit made now at the first cut."""
    s = S.load()
    stored = S.supervised_fit(s, S.seed_noise(s))
    fresh = S.fresh_supervised_fit(s, S.FIT_CUTS[0])
    assert stored.fit.objective == pytest.approx(fresh.objective, rel=1e-6)
    np.testing.assert_allclose(stored.fit.theta, fresh.theta, rtol=1e-5)


def test_sweep_rate_counts_wall_time_from_first_start_to_last_end(synthetic):
    s = S.load(synthetic)
    r = S.sweep_rate(s)
    assert r.wall_s == pytest.approx(70.0) and r.flops == pytest.approx(s.runs.total_flops.sum())


def test_sweep_rate_is_per_machine(synthetic):
    s = S.load(synthetic)
    runs = s.runs.copy()
    runs.loc[runs.index[:2], "git_rev"] = "other"
    two = dataclasses.replace(s, runs=runs)
    with pytest.raises(ValueError, match="git_rev=None.*2 revisions"):
        S.sweep_rate(two)
    with pytest.raises(ValueError, match="names no run"):
        S.sweep_rate(two, "nowhere")
    table = S.sweep_rates(two)
    assert table.runs.sum() == len(runs) and table.loc["other", "runs"] == 2
    assert table.flops.sum() == pytest.approx(runs.total_flops.sum())


def _probe_runs(s, curves):
    runs = s.runs.iloc[:len(curves)].copy()
    runs["val_curve"] = [v for v, _ in curves]
    runs["copy_curve"] = [c for _, c in curves]
    rest = s.runs.iloc[len(curves):].assign(copy_curve="")
    return dataclasses.replace(s, runs=pd.concat([runs, rest]))


def test_copy_probe_finds_coinciding_drops_and_onsets(synthetic):
    s = _probe_runs(S.load(synthetic), [
        ("10:4.0;20:3.9;30:3.0;40:2.9", "10:12;20:11.9;30:8.0;40:7.5"),   # sudden, same interval, copies at 30
        ("10:4.0;20:3.2;30:3.1;40:3.0", "10:12;20:11.9;30:11.8;40:10.0"),  # sudden, probe falls later, never copies
        ("10:3.0;20:2.9;30:2.8;40:2.7", "10:12;20:12.0;30:12.1;40:12.2"),  # no sudden drop
    ])
    p = S.copy_probe(s)
    assert (p.runs, p.sudden, p.sudden_same, p.copying) == (3, 2, 1, 1)
    assert p.onset_min == p.onset_max == 30 and len(p.not_copying) == 2
    row = p.table.set_index("run_id").loc[s.runs.run_id.iloc[0]]
    assert row["val drop at (M)"] == "0-0" and row["val drop"] == pytest.approx(0.9)
    with pytest.raises(ValueError, match="drop must"):
        S.copy_probe(s, drop=float("nan"))
    with pytest.raises(ValueError, match="vocab must"):
        S.copy_probe(s, vocab=1)
    with pytest.raises(ValueError, match="no run records"):
        S.copy_probe(dataclasses.replace(s, runs=s.runs.assign(copy_curve="")))


def test_curve_reads_the_probe_column_and_refuses_others():
    run = pd.Series({"run_id": "r", "val_curve": "10:3.5", "copy_curve": "10:9.5"})
    assert list(S.curve(run, "copy_curve").val_ce) == [9.5]
    with pytest.raises(ValueError, match="column must"):
        S.curve(run, "tokens")
    with pytest.raises(ValueError, match="has no copy_curve"):
        S.curve(pd.Series({"run_id": "r", "copy_curve": float("nan")}), "copy_curve")


def test_curve_parses_the_val_curve_column():
    c = S.curve(pd.Series({"val_curve": "10:3.5;20:3.0"}))
    assert list(c.tokens) == [10, 20] and list(c.val_ce) == [3.5, 3.0]


def test_committed_data_summaries():
    s = S.load()
    corpus = S.corpus()
    assert corpus.documents == json.loads((s.directory / "corpus_manifest.json").read_text())["documents"]
    st = S.status(s)
    assert (st.run <= st.planned).all() and st.run.sum() >= len(s.runs)  # runs in several protocols count in each
    fam = S.family_table()
    assert list(fam.name) == sorted(fam.name, key=lambda n: by_name(n).non_embedding_params)


def test_a_fit_less_some_runs_is_stored_and_read_back(synthetic, tmp_path):
    s = S.load(synthetic)
    one = (s.supervised.run_id.iloc[0],)
    fresh = S.supervised_fit(s, S.seed_noise(s), exclude=one, stored=None)
    assert fresh.runs == 2 * len(NAMES) - 1
    # every run records the probe; the first never copies, so the fit rule leaves it out
    s = _probe_runs(s, [(v, "10:12;20:12.5" if i == 0 else "10:12;20:8.0") for i, v in enumerate(s.runs.val_curve)])
    probe = S.copy_probe(s)
    assert probe.fit_excluded == (s.runs.run_id.iloc[0],) == probe.not_copying
    S.store_supervised_fits(s, tmp_path / "fits.csv", cuts=(0.0,), copying_cuts=(0.0,))
    back = S.supervised_fit(s, S.seed_noise(s), exclude=probe.fit_excluded, stored=tmp_path / "fits.csv")
    assert back.runs == 2 * len(NAMES) - 1
    unprobed = S.copy_probe(_probe_runs(s, [(s.runs.val_curve.iloc[0], "10:12;20:8.0")]))  # only one run has it
    assert s.runs.run_id.iloc[0] not in unprobed.fit_excluded and len(unprobed.fit_excluded) == 2 * len(NAMES) - 1
    with pytest.raises(ValueError, match="not a stored cut"):
        S.supervised_fit(s, S.seed_noise(s), exclude=(s.supervised.run_id.iloc[1],), stored=tmp_path / "fits.csv")
    with pytest.raises(ValueError, match="not among the supervised runs"):
        S.supervised_fit(s, S.seed_noise(s), exclude=("nope",), stored=None)


def test_rule_bootstrap_is_stored_read_back_and_tied_to_its_runs(synthetic, tmp_path):
    s = S.load(synthetic)
    s = _probe_runs(s, [(v, "10:12;20:12.5" if i == 0 else "10:12;20:8.0") for i, v in enumerate(s.runs.val_curve)])
    fits, boot = tmp_path / "fits.csv", tmp_path / "boot.csv"
    S.store_supervised_fits(s, fits, cuts=(0.0,), copying_cuts=(0.0,))
    table = S.store_rule_bootstrap(s, boot, n_resamples=20, seed=3, stored=fits)
    assert len(table) == 20 and set(table.seed) == {3}
    b = S.rule_bootstrap(s, stored=boot, fits=fits, level=0.8)
    assert b.level == 0.8 and b.samples.shape[0] == 20
    lo, hi = b.intervals["alpha"]
    assert lo <= hi
    # runs on an exact law: every resample keeps the stored optimum (any subset fits exactly)
    stored_alpha = pd.read_csv(fits, keep_default_na=False).query("excluded != ''").alpha.iloc[0]
    assert np.nanmax(np.abs(b.samples[:, list(b.names).index("alpha")] - stored_alpha)) < 1e-4
    changed = dataclasses.replace(s, runs=s.runs.assign(val_ce=s.runs.val_ce * 1.01),
                                  supervised=s.supervised.assign(val_ce=s.supervised.val_ce * 1.01))
    with pytest.raises(ValueError, match="other runs"):
        S.rule_bootstrap(changed, stored=boot, fits=fits)
    with pytest.raises(ValueError, match="n_resamples must"):
        S.store_rule_bootstrap(s, boot, n_resamples=1, stored=fits)
    with pytest.raises(ValueError, match="level must"):
        S.rule_bootstrap(s, stored=boot, fits=fits, level=1.0)
    with pytest.raises(ValueError, match="not one"):
        S.rule_bootstrap(s, stored=fits, fits=fits)


def test_source_gain_compares_two_runs_per_source(synthetic):
    s = S.load(synthetic)
    runs = s.runs.copy()
    runs["val_ce_by_source"] = ""
    runs.loc[runs.index[0], "val_ce_by_source"] = "code:3.0;docs:4.0"
    runs.loc[runs.index[1], "val_ce_by_source"] = "code:2.5;docs:3.0"
    s = dataclasses.replace(s, runs=runs)
    g = S.source_gain(s, runs.run_id.iloc[0], runs.run_id.iloc[1])
    assert list(g.index) == ["docs", "code"] and g.gain.tolist() == pytest.approx([1.0, 0.5])
    with pytest.raises(ValueError, match="longer='x'"):
        S.source_gain(s, runs.run_id.iloc[0], "x")
    with pytest.raises(ValueError, match="has no val_ce_by_source"):
        S.source_gain(s, runs.run_id.iloc[0], runs.run_id.iloc[2])


def test_a_rerun_replaces_its_first_run_and_is_paired_with_it(synthetic):
    table = pd.read_csv(synthetic / "runs.csv")
    first = table[table.protocol == "ladder"].iloc[0]
    rerun = first.copy()
    rerun["run_id"], rerun["protocol"], rerun["val_ce"] = first.run_id + "-r1", "probe", first.val_ce * 1.002
    rerun["copy_curve"] = "10:9.5;20:8.0"
    pd.concat([table, rerun.to_frame().T]).to_csv(synthetic / "runs.csv", index=False)
    s = S.load(synthetic)
    assert len(s.runs) == len(table) + 1  # every row of runs.csv
    assert first.run_id not in set(s.supervised.run_id) and rerun.run_id in set(s.ladder.run_id)
    assert len(s.reruns) == 1 and s.reruns.relative_diff.iloc[0] == pytest.approx(0.002)
    assert s.supervised.set_index("run_id").protocol[rerun.run_id] == "ladder"
    pd.concat([table, rerun.to_frame().T.assign(run_id="s-nowhere-r1")]).to_csv(synthetic / "runs.csv", index=False)
    with pytest.raises(ValueError, match="rerun.*not in the table"):
        S.load(synthetic)


def test_the_probe_protocol_reruns_only_what_lacks_the_probe():
    from experiments import plan as planmod

    s0 = planmod.Setting(200_000_000)
    ladder = [r for r in planmod.ladder_runs(s0) if r is not None]
    s = planmod.Setting(200_000_000, unprobed=frozenset({ladder[0]["run_id"], "s-other"}))
    rows = planmod.block_plan(["probe"], s).rows()
    assert [r["run_id"] for r in rows] == [ladder[0]["run_id"] + "-r1"]
    assert {k: v for k, v in rows[0].items() if k not in ("run_id", "protocol", "priority")} == \
        {k: v for k, v in ladder[0].items() if k != "run_id"}
    assert planmod.without_rerun(rows[0]["run_id"]) == ladder[0]["run_id"]


def test_throughput_separates_the_sizes_where_compiling_is_slower(tmp_path):
    rows = [("L2d128", 4e5, "graph", 0.024), ("L2d128", 4e5, "compile", 0.015), ("L2d128", 4e5, "eager", 0.013),
            ("L5d320", 6e6, "graph", 0.086), ("L5d320", 6e6, "compile", 0.28),
            ("L7d512", 2.2e7, "graph", 0.146), ("L7d512", 2.2e7, "compile", 0.383)]
    pd.DataFrame(rows, columns=["name", "N", "mode", "mfu"]).to_csv(tmp_path / "throughput.csv", index=False)
    tp = S.throughput(tmp_path)
    assert tp.compile_slower == ("L2d128",) and tp.compile_slower_ratio == pytest.approx(0.015 / 0.024)
    assert tp.compile_faster_from == "L5d320" and tp.compile_over_graph_max == pytest.approx(0.28 / 0.086)
    assert tp.compile_20m_name == "L7d512" and tp.eager_over_graph_max == pytest.approx(0.013 / 0.024)


def test_block_rate_counts_a_shared_teacher_pass_once():
    """A sharing group starts with its group (its ``group_wall_s``), its teacher's forward
    pass counts once (its longest student's), and the workers' time counts the group once."""
    t0 = pd.Timestamp("2026-12-03T10:00:00Z")
    table = pd.DataFrame({
        "run_id": ["alone", "a", "b", "other"], "git_rev": ["r1", "r1", "r1", "r2"],
        "finished_utc": [str(t0 + pd.Timedelta(seconds=s)) for s in (100, 110, 110, 5000)],
        "wall_s": [10.0, 12.0, 20.0, 1.0], "group_wall_s": [np.nan, 30.0, 30.0, np.nan],
        "share_group": [np.nan, "g", "g", np.nan], "total_flops": [1e15, 2e15, 3e15, 7e15],
        "teacher_inference_flops": [np.nan, 5e14, 8e14, np.nan]})
    r = S.block_rate(table, "r1", peak=1e15)
    assert r.runs == 3 and r.wall_s == pytest.approx(30.0)  # the group started at 80 s, the run alone at 90 s
    assert r.flops == pytest.approx(6e15) and r.teacher_forward_flops == pytest.approx(8e14)
    assert r.with_teacher_per_gpu_s == pytest.approx(6.8e15 / 30) and r.mfu == pytest.approx(6e15 / 30 / 1e15)
    assert r.worker_s == pytest.approx(10.0 + 30.0)
    with pytest.raises(ValueError, match="missing total_flops"):
        S.block_rate(table.drop(columns="total_flops"), "r1")
    with pytest.raises(ValueError, match="peak"):
        S.block_rate(table, "r1", peak=0.0)
