"""Let the single-page HTML build (``make pdf``) render every node the HTML build renders.

Sphinx gives a builder the node handlers registered under its own name and falls back to
those of its format ("html") only when none are registered under the name. sphinx-exercise
registers its nodes for ``singlehtml`` by name, so the singlehtml builder loses every other
extension's HTML handlers (myst-nb's hidden code cells among them) and fails with
"unknown node type". This extension gives ``singlehtml`` the ``html`` handlers it lacks.
"""

from __future__ import annotations


def _inherit_html_handlers(app) -> None:
    if app.builder.name != "singlehtml":
        return
    handlers = app.registry.translation_handlers
    own = handlers.setdefault("singlehtml", {})
    for node, visit_depart in handlers.get("html", {}).items():
        own.setdefault(node, visit_depart)


def setup(app):
    app.connect("builder-inited", _inherit_html_handlers)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
