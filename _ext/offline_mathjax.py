"""Serve MathJax from the built site instead of a CDN.

Sphinx loads MathJax 3 from cdn.jsdelivr.net by default, so the math of a site opened
offline (or tested in CI without internet) stays raw LaTeX. This extension points
``mathjax_path`` at ``_static/mathjax/tex-mml-chtml.js`` and, after an HTML build, copies
the MathJax 3 files that the CHTML renderer needs from the ``django-static-mathjax``
package (a pinned PyPI copy of MathJax 3.2.2, Apache-2.0) into the build. The speech
engine (``sre``) and the SVG renderers are left out (about 4 MB) because the book does
not use them.
"""

from __future__ import annotations

import shutil
from pathlib import Path

ENTRY = "tex-mml-chtml.js"
COPIED = ["tex-mml-chtml.js", "a11y", "adaptors", "input", "ui", "output/chtml"]


def mathjax_source() -> Path:
    """The ``es5`` folder of the installed MathJax 3 distribution."""
    import mathjax  # provided by django-static-mathjax

    return Path(mathjax.__file__).parent / "static" / "mathjax" / "es5"


def _use_local_path(app, config) -> None:
    config.mathjax_path = f"mathjax/{ENTRY}"


def _copy_mathjax(app, exception) -> None:
    if exception is not None or app.builder.format != "html":
        return
    source = mathjax_source()
    target = Path(app.outdir) / "_static" / "mathjax"
    for name in COPIED:
        src, dst = source / name, target / name
        if src.is_dir():
            shutil.copytree(src, dst, dirs_exist_ok=True)
        else:
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dst)
    shutil.copy2(source.parent / "LICENSE", target / "LICENSE")


def setup(app):
    mathjax_source()  # fail early, with an ImportError naming the package, if it is missing
    app.connect("config-inited", _use_local_path)
    app.connect("build-finished", _copy_mathjax)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
