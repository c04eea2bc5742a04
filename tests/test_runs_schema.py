"""Schema of the committed replication runs (data/replication/runs.csv, version 2, and
data/replication/v1/runs.csv, version 1)."""

import csv
import math
from pathlib import Path

import pytest

from experiments.schema import DISTILLATION_ONLY, REQUIRED, RUN_COLUMNS, SHARE_COLUMNS, V1_COLUMNS, header_ok

DATA = Path(__file__).resolve().parents[1] / "data" / "replication"
TABLES = {"v2": (DATA / "runs.csv", RUN_COLUMNS), "v1": (DATA / "v1" / "runs.csv", V1_COLUMNS)}


@pytest.fixture(scope="module", params=sorted(TABLES))
def rows(request):
    path, columns = TABLES[request.param]
    if not path.exists():
        pytest.fail(f"{path} is missing")
    with open(path, newline="") as f:
        reader = csv.DictReader(f)
        assert header_ok(reader.fieldnames, columns)
        return list(reader)


def test_share_columns_are_optional():
    assert header_ok(RUN_COLUMNS) and header_ok(RUN_COLUMNS + SHARE_COLUMNS) and header_ok(V1_COLUMNS, V1_COLUMNS)
    assert not header_ok(RUN_COLUMNS[:-1]) and not header_ok(RUN_COLUMNS + SHARE_COLUMNS[:1])
    assert not header_ok(SHARE_COLUMNS + RUN_COLUMNS) and not set(SHARE_COLUMNS) & set(REQUIRED)


def test_rows_are_complete_and_unique(rows):
    assert rows
    ids = [r["run_id"] for r in rows]
    assert len(ids) == len(set(ids))
    required = [c for c in REQUIRED if c in rows[0]]  # version 1 lacks V2_ADDED
    for r in rows:
        for c in required:
            assert r[c] != "", (r["run_id"], c)
        if r["objective"] == "distillation":
            for c in DISTILLATION_ONLY:
                assert r[c] != "", (r["run_id"], c)
        else:
            assert r["objective"] == "supervised" and r["teacher_run_id"] == ""


def test_values_are_in_range(rows):
    by_id = {r["run_id"]: r for r in rows}
    corpus = {r["corpus_sha256"] for r in rows}
    assert len(corpus) == 1 and len(corpus.pop()) == 64
    for r in rows:
        assert r["split"] in ("teacher", "student")
        assert 0 < float(r["val_ce"]) < math.log(int(r["vocab"]))
        assert 0 <= float(r["ece"]) <= 1
        assert 0 < float(r["epochs"]) <= 4.0
        assert int(r["tokens"]) == int(r["steps"]) * int(r["batch_tokens"])
        assert float(r["total_flops"]) == pytest.approx(3 * float(r["flops_per_token"]) * int(r["tokens"]))
        if r["objective"] == "distillation":
            assert r["split"] == "student"
            assert float(r["kl_to_teacher"]) >= 0
            t = by_id[r["teacher_run_id"]]
            assert t["split"] == "teacher" and float(r["teacher_loss"]) == pytest.approx(float(t["val_ce"]))
        if r.get("share_group"):  # a student of a group (experiments.train.train_group)
            group = [g for g in rows if g.get("share_group") == r["share_group"]]
            assert r["objective"] == "distillation" and int(r["teacher_shared_by"]) == len(group)
            assert float(r["group_wall_s"]) == pytest.approx(sum(float(g["wall_s"]) for g in group), rel=1e-6)
