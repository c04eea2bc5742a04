"""Schema of the committed replication runs (data/replication/runs.csv, version 2, and
data/replication/v1/runs.csv, version 1)."""

import csv
import math
from pathlib import Path

import pytest

from experiments.schema import DISTILLATION_ONLY, REQUIRED, RUN_COLUMNS, V1_COLUMNS

DATA = Path(__file__).resolve().parents[1] / "data" / "replication"
TABLES = {"v2": (DATA / "runs.csv", RUN_COLUMNS), "v1": (DATA / "v1" / "runs.csv", V1_COLUMNS)}


@pytest.fixture(scope="module", params=sorted(TABLES))
def rows(request):
    path, columns = TABLES[request.param]
    if not path.exists():
        pytest.fail(f"{path} is missing")
    with open(path, newline="") as f:
        reader = csv.DictReader(f)
        assert reader.fieldnames == columns
        return list(reader)


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
