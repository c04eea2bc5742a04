"""Tests of analysis.data: the three public tables and the loaders' failure modes."""

from __future__ import annotations

import hashlib
import io
import shutil

import numpy as np
import pandas as pd
import pytest

from analysis import data as data_mod
from analysis.data import DataError, data_path, load_chinchilla, load_gadre, load_olmo_ladder


def test_chinchilla_loads_and_is_pinned():
    df = load_chinchilla()
    assert len(df) == 245
    assert list(df.columns[:4]) == ["N", "D", "loss", "C"]
    np.testing.assert_allclose(df["C"], 6 * df["N"] * df["D"], rtol=1e-12)
    assert (df["loss"] > 0).all()
    dropped = load_chinchilla(drop_highest=5)
    assert len(dropped) == 240
    assert dropped["loss"].max() <= df["loss"].nlargest(6).iloc[-1]
    digest = hashlib.sha256(data_path("chinchilla").read_bytes()).hexdigest()
    assert digest == data_mod.TABLES["chinchilla"].sha256


def test_gadre_loads():
    df = load_gadre()
    assert len(df) == 104
    assert set(df["dataset"]) == {"c4_original", "rpj", "rw_original"}
    np.testing.assert_allclose(df["M"], 20 * df["multiplier"])
    assert (df["N"] == df["params_no_embed"]).all()
    assert len(load_gadre(dataset="rw_original")) == 35
    other = load_gadre(loss_column="loss_val_tok_mult/paloma_ptb")
    assert not np.allclose(other["loss"], df["loss"])
    with pytest.raises(ValueError, match="dataset"):
        load_gadre(dataset="pile")
    with pytest.raises(ValueError, match="loss_column"):
        load_gadre(loss_column="nope")


def test_olmo_loads():
    df = load_olmo_ladder()
    assert len(df) == 30
    assert set(df["size_label"]) == {"190M", "370M", "760M", "1B", "3B"}
    assert (df["loss"] == df["loss_c4_en"]).all()
    assert (df["size_label"] == "3B").sum() == 6  # five multipliers plus one rerun


def test_env_var_directory_takes_precedence_and_checksum_is_checked(tmp_path, monkeypatch):
    src = data_path("olmo")
    shutil.copy(src, tmp_path / src.name)
    monkeypatch.setenv("DSL_DATA_DIR", str(tmp_path))
    assert data_path("olmo") == tmp_path / src.name
    # corrupt one byte: checksum error
    text = (tmp_path / src.name).read_text().replace("3.74747896194458", "3.74747896194459")
    (tmp_path / src.name).write_text(text)
    with pytest.raises(DataError, match="checksum mismatch"):
        load_olmo_ladder()


def test_derived_table_missing_says_local_copy_only(tmp_path, monkeypatch):
    monkeypatch.delenv("DSL_DATA_DIR", raising=False)
    monkeypatch.setattr(data_mod, "_repo_root", lambda: tmp_path / "repo")
    with pytest.raises(DataError, match="only from a local copy"):
        load_gadre()
    with pytest.raises(ValueError, match="name must be one of"):
        data_path("pile")


class _FakeResponse(io.BytesIO):
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def test_chinchilla_download_fallback(tmp_path, monkeypatch):
    good = data_path("chinchilla").read_bytes()
    monkeypatch.delenv("DSL_DATA_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setattr(data_mod, "_repo_root", lambda: tmp_path / "repo")
    calls = []

    def fake_urlopen(url, timeout):
        calls.append(url)
        return _FakeResponse(payload)

    monkeypatch.setattr(data_mod.urllib.request, "urlopen", fake_urlopen)
    payload = good[:-10] + b"0000000000"
    with pytest.raises(DataError, match="checksum mismatch"):
        data_path("chinchilla")
    assert not (tmp_path / "cache" / "distillation-scaling-book" / data_mod.TABLES["chinchilla"].filename).exists()
    payload = good
    path = data_path("chinchilla")
    assert path.parent == tmp_path / "cache" / "distillation-scaling-book"
    assert "92258837425e1b5f2851d624287f0120583a3d0e" in calls[0]
    assert len(load_chinchilla()) == 245
    with pytest.raises(DataError, match="not found locally"):
        path.unlink()
        monkeypatch.setattr(data_mod.urllib.request, "urlopen",
                            lambda url, timeout: (_ for _ in ()).throw(OSError("offline")))
        data_path("chinchilla")


@pytest.mark.parametrize("mutate, match", [
    (lambda df: df.drop(columns=["loss_c4_en"]), "missing required columns"),
    (lambda df: df.assign(D="many"), "must be numeric"),
    (lambda df: df.assign(N=-df["N"]), "finite and > 0"),
])
def test_schema_errors(tmp_path, mutate, match):
    df = pd.read_csv(data_path("olmo"))
    bad = tmp_path / "bad.csv"
    mutate(df).to_csv(bad, index=False)
    with pytest.raises(DataError, match=match):
        load_olmo_ladder(path=bad)


def test_unreadable_and_missing_file(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_bytes(b"")
    with pytest.raises(DataError, match="not a readable CSV"):
        load_chinchilla(path=bad)
    with pytest.raises(DataError, match="does not exist"):
        load_chinchilla(path=tmp_path / "nope.csv")
