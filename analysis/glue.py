"""Numbers for a chapter's prose: the book's one wrapper around myst-nb's glue.

A chapter computes a result with a function of ``analysis`` and hands its numbers to
the prose, where ``{glue:text}`name:.2f``` formats them:

* ``glue(name, value)`` glues one value (numpy scalars become Python numbers, so the
  format specifications of ``{glue:text}`` apply to them);
* ``glue_fields(prefix, result)`` glues the fields of a result object (a dataclass or
  a mapping) as ``<prefix>-<field>``, underscores written as hyphens; ``fields``
  selects and orders them.

Nothing is displayed in the cell: a glued value appears only where the prose uses it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping

import numpy as np

__all__ = ["glue", "glue_fields", "plain"]


def plain(value):
    """``value`` with numpy scalars (and 0-d arrays) turned into Python numbers."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray) and value.ndim == 0:
        return value.item()
    return value


def glue(name: str, value) -> None:
    """Glue ``value`` under ``name`` for the prose, without displaying it."""
    from myst_nb import glue as _glue

    _glue(name, plain(value), display=False)


def _items(result) -> dict:
    if dataclasses.is_dataclass(result) and not isinstance(result, type):
        return {f.name: getattr(result, f.name) for f in dataclasses.fields(result)}
    if isinstance(result, Mapping):
        return dict(result)
    raise TypeError(f"result must be a dataclass instance or a mapping; got {type(result).__name__}")


def glue_fields(prefix: str, result, fields: Iterable[str] | None = None) -> None:
    """Glue each field of ``result`` as ``f"{prefix}-{field}"`` (underscores become
    hyphens). ``fields`` names the ones to glue (default: every scalar field: numbers,
    strings and booleans); an unknown name raises ``KeyError``."""
    items = _items(result)
    if fields is None:
        fields = [k for k, v in items.items()
                  if isinstance(plain(v), (int, float, str, bool))]
    for key in fields:
        if key not in items:
            raise KeyError(f"{key!r} is not a field of {type(result).__name__}; "
                           f"fields: {', '.join(items)}")
        glue(f"{prefix}-{key.replace('_', '-')}", items[key])
