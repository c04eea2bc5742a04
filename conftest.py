"""Run the book's MyST-Markdown chapters as notebooks under nbval.

``pytest --nbval-lax book`` collects every chapter listed in ``_toc.yml`` that
carries a jupytext header, converts it to a notebook in memory with jupytext and
executes it cell by cell with nbval: a cell that raises (for example a failing
reproduction check) fails the test run.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import pytest

from analysis.toc import is_notebook, toc_chapters

ROOT = Path(__file__).resolve().parent


@cache
def _toc_chapter_set() -> frozenset[Path]:
    """The chapters listed in _toc.yml, read once per test session."""
    return frozenset(p.resolve() for p in toc_chapters(ROOT))


def pytest_collect_file(file_path, parent):
    option = parent.config.option
    if not (getattr(option, "nbval", False) or getattr(option, "nbval_lax", False)):
        return None
    if file_path.suffix != ".md" or file_path.resolve() not in _toc_chapter_set():
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
