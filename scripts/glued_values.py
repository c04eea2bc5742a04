"""Every value a chapter glues into its prose, read from executed notebooks.

    python scripts/glued_values.py dump DIR [--out FILE]   # DIR: executed .ipynb files
    python scripts/glued_values.py compare BEFORE.json AFTER.json

``dump`` reads the executed notebooks in DIR (``benchmarks/bench_build.py --save DIR``
writes them; ``make book`` writes them to ``_build/jupyter_execute/book``, with the glue
outputs moved to ``<chapter>.glue.json`` beside each, which is read too) and writes
``{chapter: {name: value}}`` as JSON: the ``text/plain`` form that ``{glue:text}``
formats for a value, ``sha256:<digest>`` of the PNG for a figure, glued or shown by a
cell whose metadata name it (``mystnb: figure: name:``), so that figures compare by
name across the two ways of captioning them.
``compare`` prints how many names the two dumps share, how many values are identical,
every value that differs and every name that only one of them has; it exits 1 if
any value differs or any name is missing.

A refactoring that must not change a number of the book uses it as: dump before the
change, dump after, compare.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import sys
from pathlib import Path

import nbformat

GLUE_PREFIX = "application/papermill.record/"


def _png_digest(data: str) -> str:
    return "sha256:" + hashlib.sha256(base64.b64decode(data)).hexdigest()


def glued(nb) -> dict[str, str]:
    """name -> text (or PNG digest) of every glue output and named figure cell of an
    executed notebook."""
    out = {}
    for cell in nb.cells:
        name = cell.get("metadata", {}).get("mystnb", {}).get("figure", {}).get("name")
        images = [o["data"]["image/png"] for o in cell.get("outputs", []) if "image/png" in o.get("data", {})]
        if name and images:
            out[name] = _png_digest(images[0])
        for output in cell.get("outputs", []):
            name = output.get("metadata", {}).get("scrapbook", {}).get("name")
            if name is None:
                continue
            data = {k.removeprefix(GLUE_PREFIX): v for k, v in output.get("data", {}).items()}
            if "image/png" in data:
                out[name] = _png_digest(data["image/png"])
            else:
                out[name] = data.get("text/plain", "")
    return out


def dump(folder: Path) -> dict[str, dict[str, str]]:
    files = sorted(Path(folder).glob("*.ipynb"))
    if not files:
        raise SystemExit(f"no executed notebooks (*.ipynb) in {folder}")
    out = {}
    for f in files:
        values = glued(nbformat.read(f, as_version=4))
        side = f.with_suffix(".glue.json")  # myst-nb's build keeps the glue outputs here
        if side.is_file():
            nb = nbformat.v4.new_notebook()
            nb.cells = [nbformat.v4.new_code_cell()]
            nb.cells[0].outputs = [nbformat.from_dict(o) for o in json.loads(side.read_text()).values()]
            values.update(glued(nb))
        out[f.stem] = values
    return out


def compare(before: dict, after: dict) -> int:
    flat_b = {(c, n): v for c, vals in before.items() for n, v in vals.items()}
    flat_a = {(c, n): v for c, vals in after.items() for n, v in vals.items()}
    shared = sorted(set(flat_b) & set(flat_a))
    differ = [k for k in shared if flat_b[k] != flat_a[k]]
    figures = [k for k in shared if flat_b[k].startswith("sha256:")]
    print(f"names: {len(flat_b)} before, {len(flat_a)} after, {len(shared)} in both "
          f"({len(figures)} figures, {len(shared) - len(figures)} values)")
    print(f"identical: {len(shared) - len(differ)} of {len(shared)}")
    for k in differ:
        print(f"  differs  {k[0]}:{k[1]}: {flat_b[k]!r} -> {flat_a[k]!r}")
    for k in sorted(set(flat_b) - set(flat_a)):
        print(f"  only before  {k[0]}:{k[1]} = {flat_b[k]!r}")
    for k in sorted(set(flat_a) - set(flat_b)):
        print(f"  only after   {k[0]}:{k[1]} = {flat_a[k]!r}")
    return 1 if differ or set(flat_b) != set(flat_a) else 0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="command", required=True)
    d = sub.add_parser("dump", help="glued values of executed notebooks, as JSON")
    d.add_argument("folder", type=Path)
    d.add_argument("--out", type=Path)
    c = sub.add_parser("compare", help="compare two dumps")
    c.add_argument("before", type=Path)
    c.add_argument("after", type=Path)
    args = ap.parse_args(argv)
    if args.command == "dump":
        text = json.dumps(dump(args.folder), indent=1, sort_keys=True)
        if args.out:
            args.out.write_text(text + "\n")
        else:
            print(text)
        return 0
    return compare(json.loads(args.before.read_text()), json.loads(args.after.read_text()))


if __name__ == "__main__":
    sys.exit(main())
