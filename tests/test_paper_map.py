"""The map from the paper's figures and tables to the book (data/paper_map.csv): every item of
the paper appears once, every status is known, and every link points at a label the book
defines. The validation itself is tested on broken copies of the file."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from analysis.paper_map import (MAP_PATH, N_FIGURES, N_TABLES, STATUSES, book_labels, load_map, map_markdown,
                                missing_labels, paper_items)

ROOT = Path(__file__).resolve().parents[1]


def test_every_figure_and_table_has_one_row():
    frame = load_map()
    assert frame["item"].tolist() == paper_items()
    assert len(frame) == N_FIGURES + N_TABLES == 67
    assert set(frame["status"]) <= set(STATUSES)


def test_every_link_points_at_a_label_of_the_book():
    labels = book_labels(ROOT / "book")
    assert {"distillation-law", "fig-dl-ushape", "ex-distillation-law-1"} <= labels  # the three kinds
    assert missing_labels(load_map(), labels) == {}


def test_the_page_lists_every_item():
    text = map_markdown(load_map())
    for item in paper_items():
        assert f"* - {item}\n" in text
    assert "{numref}`book Fig. %s <fig-dl-ushape>`" in text and "{ref}`notation`" in text


def _broken(tmp_path, edit):
    frame = pd.read_csv(MAP_PATH, dtype=str, keep_default_na=False)
    frame = edit(frame)
    path = tmp_path / "map.csv"
    frame.to_csv(path, index=False)
    return path


@pytest.mark.parametrize("edit, match", [
    (lambda f: f[f["item"] != "Fig. 35"], r"missing rows \['Fig. 35'\]"),
    (lambda f: pd.concat([f, f.iloc[[0]]]), r"duplicated rows \['Fig. 1'\]"),
    (lambda f: f.assign(status=f["status"].where(f["item"] != "Fig. 4", "done")), "Fig. 4: status"),
    (lambda f: f.assign(where=f["where"].where(f["item"] != "Fig. 4", "")), "Fig. 4: status 'computed' needs"),
    (lambda f: f.assign(note=f["note"].where(f["item"] != "Fig. 35", "")), "Fig. 35: a 'not reproducible'"),
    (lambda f: f.assign(where=f["where"].where(f["item"] != "Fig. 4", "Fig_4")), "lower-case MyST"),
])
def test_a_broken_map_fails_with_a_clear_message(tmp_path, edit, match):
    with pytest.raises(ValueError, match=match):
        load_map(_broken(tmp_path, edit))


def test_a_link_to_a_missing_label_is_reported(tmp_path):
    frame = load_map(_broken(tmp_path, lambda f: f.assign(where=f["where"].where(f["item"] != "Fig. 10", "no-such-label"))))
    assert missing_labels(frame, book_labels(ROOT / "book")) == {"Fig. 10": ["no-such-label"]}
