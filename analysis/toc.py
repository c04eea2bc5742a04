"""The book's table of contents, read from ``_toc.yml``.

One reader of the TOC for everything that must agree with it: the nbval collector in
``conftest.py`` (which chapters run as tests), the browser tests (which pages load) and
``scripts/site_stats.py`` (what the built site counts).
"""

from __future__ import annotations

from pathlib import Path

import yaml

from analysis._checks import existing_path, shown

__all__ = ["toc_chapters", "is_notebook"]


def toc_chapters(root: Path) -> list[Path]:
    """Paths of the ``.md`` pages listed in ``root/_toc.yml`` (any nesting), in TOC order."""
    root = existing_path("root", root, folder=True)
    if not (root / "_toc.yml").is_file():
        raise ValueError(f"root must be the book's folder holding _toc.yml; {shown(str(root))} has none")
    toc = yaml.safe_load((root / "_toc.yml").read_text(encoding="utf-8"))
    found: list[Path] = []

    def walk(node):
        if isinstance(node, dict):
            for key in ("root", "file"):
                if key in node:
                    found.append(Path(root) / f"{node[key]}.md")
            for value in node.values():
                if isinstance(value, (list, dict)):
                    walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(toc)
    return found


def is_notebook(path: Path) -> bool:
    """A MyST page is an executable notebook when its front matter declares a kernelspec."""
    path = existing_path("path", path)
    try:
        head = path.read_text(encoding="utf-8")[:600]
    except UnicodeDecodeError:
        raise ValueError(f"path must name a text page (UTF-8); got {shown(str(path))}") from None
    return head.startswith("---") and "kernelspec:" in head
