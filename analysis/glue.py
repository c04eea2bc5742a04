"""Numbers for a chapter's prose: the book's one wrapper around myst-nb's glue.

A chapter computes a result with a function of ``analysis`` and hands its numbers to
the prose, where ``{glue:text}`name:.2f``` formats them:

* ``glue(name, value)`` glues one value (numpy scalars become Python numbers, so the
  format specifications of ``{glue:text}`` apply to them);
* ``glue_fields(prefix, result)`` glues the fields of a result object (a dataclass or
  a mapping) as ``<prefix>-<field>``, underscores written as hyphens; ``fields``
  selects them. A dataclass field declared with ``metadata=NOT_GLUED`` (a number the
  checks use but the prose does not) is left out unless ``fields`` names it.

* ``claim(name, value, holds, statement)`` is the guard of a qualitative sentence: it
  asserts ``holds`` (a boolean, or a function of ``value``) and glues ``value`` under
  ``name``, so the number the sentence quotes and the check that keeps the sentence true
  come from one place. A claim that stops holding raises ``ClaimError`` quoting the
  sentence, and the build fails.

Nothing is displayed in the cell: a glued value appears only where the prose uses it.
"""

from __future__ import annotations

import dataclasses
import math
import numbers
from collections.abc import Iterable, Mapping

import numpy as np

from analysis._checks import shown

__all__ = ["glue", "glue_fields", "claim", "ClaimError", "plain", "NOT_GLUED"]

#: Field metadata of a result's scalar that ``glue_fields`` leaves out by default.
NOT_GLUED = {"glue": False}


def plain(value):
    """``value`` with numpy scalars (and 0-d arrays) turned into Python numbers."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray) and value.ndim == 0:
        return value.item()
    return value


def glue(name: str, value) -> None:
    """Glue ``value`` under ``name`` for the prose, without displaying it. A number that
    is NaN or infinite is refused (``ValueError``): the prose would print "nan"."""
    from myst_nb import glue as _glue

    if not isinstance(name, str) or not name.strip():
        raise TypeError(f"name must be a non-empty string; got {shown(name)}")
    value = plain(value)
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        try:
            finite = math.isfinite(value)
        except OverflowError:  # an integer beyond a float
            finite = True
        if not finite:
            raise ValueError(f"value must be finite to be glued as {shown(name)}; got {shown(value)}")
    _glue(name, value, display=False)


def _items(result) -> tuple[dict, set]:
    """(field -> value, the fields declared NOT_GLUED)."""
    if dataclasses.is_dataclass(result) and not isinstance(result, type):
        fields = dataclasses.fields(result)
        return ({f.name: getattr(result, f.name) for f in fields},
                {f.name for f in fields if f.metadata.get("glue", True) is False})
    if isinstance(result, Mapping):
        return dict(result), set()
    raise TypeError(f"result must be a dataclass instance or a mapping; got {type(result).__name__}")


def glue_fields(prefix: str, result, fields: Iterable[str] | None = None) -> None:
    """Glue each field of ``result`` as ``f"{prefix}-{field}"`` (underscores become
    hyphens). ``fields`` names the ones to glue (default: every scalar field, that is
    numbers, strings and booleans, not declared ``NOT_GLUED``); an unknown name raises
    ``ValueError``."""
    if not isinstance(prefix, str) or not prefix.strip():
        raise TypeError(f"prefix must be a non-empty string; got {shown(prefix)}")
    items, hidden = _items(result)
    if fields is None:
        fields = [k for k, v in items.items()
                  if k not in hidden and isinstance(plain(v), (int, float, str, bool))]
    elif isinstance(fields, (str, bytes)) or not isinstance(fields, Iterable):
        raise TypeError(f"fields must be None or a sequence of field names; got {shown(fields)}")
    for key in fields:
        if not isinstance(key, str) or key not in items:
            raise ValueError(f"fields: {shown(key)} is not a field of {type(result).__name__}; "
                             f"fields: {', '.join(items)}")
        glue(f"{prefix}-{key.replace('_', '-')}", items[key])


class ClaimError(AssertionError):
    """A sentence of the prose that its computation no longer supports."""


def claim(name: str | None, value, holds, statement: str):
    """Guard the sentence ``statement`` and glue the number it quotes.

    ``holds`` is a boolean or a function of ``value`` returning one; when it is false,
    ``ClaimError`` names the sentence and the value. ``value`` is glued under ``name``
    (``None``: nothing is glued, for a sentence that quotes no number). Returns ``value``
    so the claim can stand where the value is computed."""
    if not isinstance(statement, str) or not statement.strip():
        raise ValueError("statement must be the sentence the claim guards (a non-empty string)")
    ok = holds(value) if callable(holds) else holds
    if not isinstance(ok, (bool, np.bool_)):
        raise TypeError(f"holds must be a boolean or return one; got {type(ok).__name__}")
    if not ok:
        raise ClaimError(f"the prose says {shown(statement)}, but {name or 'the value'} = {shown(plain(value))}")
    if name is not None:
        glue(name, value)
    return value
