"""The map from every figure and table of the paper (arXiv 2502.08606v2) to the book.

One data file, ``data/paper_map.csv``, has a row per item of the paper (Figs. 1-54 and
Tables 1-13, v2 numbering) with what it shows, its status, where the book computes it (one
or more MyST labels, separated by ";") and a note (for items the book cannot reproduce,
why). ``load_map`` reads and validates it: every item exactly once, a known status, a
label for every item the book computes, a reason for every one it cannot. ``book_labels``
collects the labels the book defines, so a test (and the map page, built with
``nitpicky``) fails on a link to a label that does not exist. ``map_markdown`` renders the
table the appendix page shows.
"""

from __future__ import annotations

import re
from pathlib import Path
from types import MappingProxyType

import pandas as pd

from analysis._checks import existing_path, frame, shown

__all__ = ["N_FIGURES", "N_TABLES", "STATUSES", "MAP_PATH", "paper_items", "load_map", "book_labels",
           "missing_labels", "map_markdown"]

#: The paper's v2 has 54 numbered figures and 13 tables.
N_FIGURES = 54
N_TABLES = 13

#: Each status and what it means on the map page.
STATUSES = MappingProxyType({
    "computed": "the book computes it, on the paper's own axes or as the paper's own table",
    "other axes": "the book computes the same quantities, shown on other axes or for a subset",
    "restated": "notation or a comparison of studies: the book states it where it is used",
    "not reproducible": "needs the paper's runs or evaluations, which are not public",
})

MAP_PATH = Path(__file__).resolve().parents[1] / "data" / "paper_map.csv"
COLUMNS = ("item", "shows", "status", "where", "note")
_LABEL = re.compile(r"^[a-z0-9][a-z0-9-]*$")


def paper_items() -> list[str]:
    """Every figure and table of the paper, in order: "Fig. 1" ... "Fig. 54", "Table 1" ..."""
    return [f"Fig. {i}" for i in range(1, N_FIGURES + 1)] + [f"Table {i}" for i in range(1, N_TABLES + 1)]


def load_map(path: Path = MAP_PATH) -> pd.DataFrame:
    """Read and validate the map; raises ``ValueError`` naming the offending item."""
    path = existing_path("path", path)
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError):
        raise ValueError(f"path must name the map's CSV file (columns {', '.join(COLUMNS)}); "
                         f"{shown(str(path))} is not a readable CSV") from None
    if tuple(frame.columns) != COLUMNS:
        raise ValueError(f"path {path} must have the columns {', '.join(COLUMNS)}; got {list(frame.columns)}")
    items = frame["item"].tolist()
    expected = paper_items()
    duplicated = sorted({i for i in items if items.count(i) > 1})
    missing = [i for i in expected if i not in items]
    unknown = [i for i in items if i not in expected]
    if duplicated or missing or unknown:
        raise ValueError(f"{path}: duplicated rows {duplicated}, missing rows {missing}, unknown items {unknown}")
    for row in frame.itertuples():
        if row.status not in STATUSES:
            raise ValueError(f"{row.item}: status must be one of {', '.join(STATUSES)}; got {shown(row.status)}")
        if not row.shows.strip():
            raise ValueError(f"{row.item}: 'shows' must say what the item shows")
        labels = [s.strip() for s in row.where.split(";") if s.strip()]
        if row.status != "not reproducible" and not labels:
            raise ValueError(f"{row.item}: status {shown(row.status)} needs at least one label in 'where'")
        if row.status == "not reproducible" and not row.note.strip():
            raise ValueError(f"{row.item}: a 'not reproducible' item needs the reason in 'note'")
        bad = [label for label in labels if not _LABEL.match(label)]
        if bad:
            raise ValueError(f"{row.item}: labels must be lower-case MyST targets; got {bad}")
    order = {item: k for k, item in enumerate(expected)}
    return frame.sort_values("item", key=lambda s: s.map(order)).reset_index(drop=True)


_TARGETS = (
    re.compile(r"^\(([A-Za-z0-9_-]+)\)=\s*$", re.M),          # (label)= section targets
    re.compile(r"^:name:\s*([A-Za-z0-9_-]+)\s*$", re.M),      # directive names (figures)
    re.compile(r"^:label:\s*([A-Za-z0-9_-]+)\s*$", re.M),     # exercises
    re.compile(r"^\s+name:\s*([A-Za-z0-9_-]+)\s*$", re.M),    # mystnb figure metadata
)


def book_labels(book_dir: Path) -> set[str]:
    """Every MyST label the book's pages define."""
    book_dir = existing_path("book_dir", book_dir, folder=True)
    pages = sorted(book_dir.glob("*.md"))
    if not pages:
        raise ValueError(f"book_dir must be the book's folder of .md pages; {shown(str(book_dir))} has none")
    found: set[str] = set()
    for page in pages:
        text = page.read_text(encoding="utf-8")
        for pattern in _TARGETS:
            found.update(pattern.findall(text))
    return found


def missing_labels(frame: pd.DataFrame, labels: set[str]) -> dict[str, list[str]]:
    """Per item, the labels of its 'where' column that the book does not define."""
    _map_frame(frame)
    if isinstance(labels, (str, bytes)) or not isinstance(labels, (set, frozenset, list, tuple)) \
            or not all(isinstance(label, str) for label in labels):
        raise TypeError(f"labels must be a set of label names (book_labels); got {shown(labels)}")
    out = {}
    for row in frame.itertuples():
        absent = [s.strip() for s in row.where.split(";") if s.strip() and s.strip() not in labels]
        if absent:
            out[row.item] = absent
    return out


def _map_frame(value) -> pd.DataFrame:
    """``value`` after checking it is the map (``load_map``'s frame, one row per item)."""
    return frame("frame", value, COLUMNS)


def _cell(text: str) -> str:
    return " ".join(text.split()) or "–"


def _link(label: str) -> str:
    """A figure label (``fig-...``) as "book Fig. n", any other label as its title."""
    if label.startswith("fig-"):
        return f"{{numref}}`book Fig. %s <{label}>`"
    return f"{{ref}}`{label}`"


def map_markdown(frame: pd.DataFrame) -> str:
    """The map as a MyST list-table: item, what it shows, status, where (links), note."""
    frame = _map_frame(frame)
    lines = [":::{list-table}", ":header-rows: 1", ":widths: 9 33 12 20 26", "",
             "* - Item", "  - What it shows", "  - Status", "  - Where in the book", "  - Note"]
    for row in frame.itertuples():
        links = ", ".join(_link(label.strip()) for label in row.where.split(";") if label.strip())
        lines += [f"* - {row.item}", f"  - {_cell(row.shows)}", f"  - {row.status}", f"  - {links or '–'}",
                  f"  - {_cell(row.note)}"]
    lines.append(":::")
    return "\n".join(lines)
