"""Execution time of the book's chapters, as ``make book`` executes them.

Run from the repository root:

    PYTHONPATH=$PWD python benchmarks/bench_build.py [--repeats 3] [--save DIR] [CHAPTER ...]

Every notebook chapter of ``_toc.yml`` (or the ones named) is read with jupytext and
executed the way myst-nb's ``execute_notebooks: force`` does it: jupyter-cache's
``single_nb_execution`` with the chapter's folder as working directory and the
timeout of ``_config.yml``. The time is the one myst-nb reports ("Executed notebook
in ... seconds"), kernel start included; the HTML writing of Sphinx is not counted.

Prints, per chapter, every repeat and the median; then the total of each repeat and
its median (the figure the README quotes), and the load average before and after:
the machine is shared, so quote medians and the load with them. ``--save DIR``
writes the executed notebooks of the last repeat to ``DIR/<chapter>.ipynb`` (for
``scripts/glued_values.py``); ``--json FILE`` writes the timings.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
from pathlib import Path

import jupytext
import nbformat
import yaml
from jupyter_cache.executors.utils import single_nb_execution

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from analysis.toc import is_notebook, toc_chapters  # noqa: E402


def execute(path: Path, timeout: int, allow_errors: bool = False):
    """(seconds, executed notebook, error or None) of one chapter; raises if a cell
    fails, unless ``allow_errors`` (then every cell runs and the first error is returned)."""
    nb = jupytext.read(path)
    result = single_nb_execution(nb, cwd=str(path.parent), timeout=timeout,
                                 allow_errors=allow_errors, record_timing=True)
    if result.err is not None:
        raise RuntimeError(f"{path.name} failed:\n{result.exc_string}")
    errors = [o for c in result.nb.cells for o in c.get("outputs", []) if o.get("output_type") == "error"]
    return result.time, result.nb, (f"{errors[0].ename}: {errors[0].evalue}"[:300] if errors else None)


def cell_seconds(nb) -> list[tuple[float, int]]:
    """(seconds, index) of every code cell, from the timing nbclient records."""
    from datetime import datetime

    out = []
    for i, cell in enumerate(nb.cells):
        t = cell.get("metadata", {}).get("execution", {})
        if "iopub.execute_input" in t and "shell.execute_reply" in t:
            start, end = (datetime.fromisoformat(t[k].replace("Z", "+00:00"))
                          for k in ("iopub.execute_input", "shell.execute_reply"))
            out.append(((end - start).total_seconds(), i))
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("chapters", nargs="*", help="chapter stems (default: every notebook in _toc.yml)")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--save", type=Path, help="folder for the executed notebooks of the last repeat")
    ap.add_argument("--json", type=Path, help="file for the timings (JSON)")
    ap.add_argument("--allow-errors", action="store_true",
                    help="run every cell of a failing chapter and report its error (exit status 1)")
    ap.add_argument("--slowest-cells", type=int, default=0, metavar="K",
                    help="also print the K slowest cells of each chapter (last repeat)")
    args = ap.parse_args(argv)
    timeout = int(yaml.safe_load((ROOT / "_config.yml").read_text())["execute"]["timeout"])
    paths = [p for p in toc_chapters(ROOT) if is_notebook(p)]
    if args.chapters:
        known = {p.stem: p for p in paths}
        unknown = sorted(set(args.chapters) - set(known))
        if unknown:
            ap.error(f"unknown chapters {unknown}; choose from {sorted(known)}")
        paths = [known[c] for c in args.chapters]
    load_before = os.getloadavg()
    print(f"load average before: {load_before[0]:.2f} {load_before[1]:.2f} {load_before[2]:.2f} "
          f"on {os.cpu_count()} cores (shared machine)", flush=True)
    times = {p.stem: [] for p in paths}
    errors, slow = {}, {}
    for k in range(args.repeats):
        for p in paths:
            seconds, nb, error = execute(p, timeout, args.allow_errors)
            times[p.stem].append(seconds)
            print(f"  repeat {k + 1}: {p.stem:32s} {seconds:7.1f} s" + (f"  ERROR {error}" if error else ""),
                  flush=True)
            if error:
                errors[p.stem] = error
            slow[p.stem] = sorted(cell_seconds(nb), reverse=True)[:args.slowest_cells]
            if args.save and k == args.repeats - 1:
                args.save.mkdir(parents=True, exist_ok=True)
                nbformat.write(nb, args.save / f"{p.stem}.ipynb")
    totals = [sum(t[k] for t in times.values()) for k in range(args.repeats)]
    load_after = os.getloadavg()
    print(f"\n{'chapter':32s} {'median (s)':>10s}  repeats (s)")
    for stem, t in times.items():
        print(f"{stem:32s} {statistics.median(t):10.1f}  {', '.join(f'{x:.1f}' for x in t)}")
    print(f"{'total':32s} {statistics.median(totals):10.1f}  {', '.join(f'{x:.1f}' for x in totals)}")
    print(f"slowest chapter (median): {max(times, key=lambda s: statistics.median(times[s]))}")
    print(f"load average after: {load_after[0]:.2f} {load_after[1]:.2f} {load_after[2]:.2f}")
    for stem, cells in slow.items():
        if cells:
            print(f"slowest cells of {stem} (last repeat): "
                  + ", ".join(f"cell {i} {s:.1f} s" for s, i in cells))
    for stem, error in errors.items():
        print(f"FAILED {stem}: {error}")
    if args.json:
        args.json.write_text(json.dumps({
            "repeats": args.repeats, "seconds": times, "totals": totals,
            "median_total": statistics.median(totals),
            "median": {s: statistics.median(t) for s, t in times.items()},
            "load_before": load_before, "load_after": load_after, "errors": errors}, indent=1))
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
