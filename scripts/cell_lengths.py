"""Lengths of the code cells of every notebook chapter: median and largest, per chapter.

    python scripts/cell_lengths.py [--root DIR] [--over 40] [--json]

A cell's length is its number of non-blank source lines (comments count: they are
part of what a reader reads). Prints one row per chapter of ``_toc.yml`` (in TOC
order), the book's median over all cells, and every cell longer than ``--over`` lines
with the first line of its source, so a long cell is easy to find.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path

import jupytext

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from analysis.toc import is_notebook, toc_chapters  # noqa: E402


def cell_lengths(path: Path) -> list[tuple[int, str]]:
    """(non-blank lines, first line) of each code cell of a MyST notebook."""
    nb = jupytext.read(path)
    out = []
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        lines = [line for line in cell.source.splitlines() if line.strip()]
        out.append((len(lines), lines[0] if lines else ""))
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--root", type=Path, default=ROOT, help="repository root (default: this checkout)")
    ap.add_argument("--over", type=int, default=40, help="list the cells longer than this")
    ap.add_argument("--json", action="store_true", help="print JSON instead of a table")
    args = ap.parse_args(argv)
    rows, every, long_cells = {}, [], []
    for path in toc_chapters(args.root):
        if not is_notebook(path):
            continue
        cells = cell_lengths(path)
        if not cells:
            continue
        n = [k for k, _ in cells]
        every += n
        rows[path.stem] = {"cells": len(n), "median": statistics.median(n), "max": max(n),
                           f"over_{args.over}": sum(k > args.over for k in n)}
        long_cells += [(path.stem, k, first) for k, first in cells if k > args.over]
    summary = {"cells": len(every), "median": statistics.median(every), "max": max(every),
               f"over_{args.over}": sum(k > args.over for k in every)}
    if args.json:
        print(json.dumps({"chapters": rows, "book": summary,
                          "long_cells": [dict(chapter=c, lines=k, first=f) for c, k, f in long_cells]},
                         indent=1))
        return 0
    print(f"{'chapter':32s} {'cells':>5s} {'median':>7s} {'max':>5s} {'>' + str(args.over):>5s}")
    for stem, r in rows.items():
        print(f"{stem:32s} {r['cells']:5d} {r['median']:7.1f} {r['max']:5d} {r[f'over_{args.over}']:5d}")
    print(f"{'book':32s} {summary['cells']:5d} {summary['median']:7.1f} {summary['max']:5d} "
          f"{summary[f'over_{args.over}']:5d}")
    for stem, k, first in long_cells:
        print(f"  {stem}: {k} lines, starting {first[:60]!r}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
