"""Run the book's MyST-Markdown chapters as notebooks under nbval.

``pytest --nbval-lax book`` collects every chapter listed in ``_toc.yml`` that
carries a jupytext header, converts it to a notebook in memory with jupytext and
executes it cell by cell with nbval: a cell that raises (for example a failing
reproduction check) fails the test run.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent


def toc_chapters(root: Path = ROOT) -> list[Path]:
    """Paths of the chapter files listed in ``_toc.yml`` (any nesting), in order."""
    toc = yaml.safe_load((root / "_toc.yml").read_text())
    found: list[Path] = []

    def walk(node):
        if isinstance(node, dict):
            for key in ("root", "file"):
                if key in node:
                    found.append(root / f"{node[key]}.md")
            for value in node.values():
                if isinstance(value, (list, dict)):
                    walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(toc)
    return found


def is_notebook(path: Path) -> bool:
    """A MyST page is a notebook when its front matter declares a kernelspec."""
    head = path.read_text(encoding="utf-8")[:600]
    return head.startswith("---") and "kernelspec:" in head


def pytest_collect_file(file_path, parent):
    option = parent.config.option
    if not (getattr(option, "nbval", False) or getattr(option, "nbval_lax", False)):
        return None
    if file_path.suffix != ".md" or file_path.resolve() not in {p.resolve() for p in toc_chapters()}:
        return None
    if not is_notebook(file_path):
        return None
    from nbval.plugin import IPyNbFile

    class MystNotebook(IPyNbFile):
        """nbval's collector, reading the notebook from MyST Markdown via jupytext."""

        def collect(self):
            import jupytext
            import nbformat

            original = nbformat.read

            def read_myst(path, as_version=4):
                nbformat.read = original  # patch only the one read nbval makes
                return jupytext.read(path)

            nbformat.read = read_myst
            try:
                yield from super().collect()
            finally:
                nbformat.read = original

    return MystNotebook.from_parent(parent, path=file_path)


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return ROOT
