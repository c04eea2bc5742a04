"""analysis.glue: the one glue helper of the chapters."""

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pytest

from analysis import glue as G


@pytest.fixture
def glued(monkeypatch):
    calls = []
    import myst_nb

    monkeypatch.setattr(myst_nb, "glue", lambda name, value, display=True: calls.append((name, value, display)))
    return calls


@dataclass(frozen=True)
class Result:
    n_runs: int
    max_gap: float
    verdict: str
    hidden: float = field(default=1.0, metadata=G.NOT_GLUED)
    table: pd.DataFrame = field(default_factory=pd.DataFrame)


def test_glue_turns_numpy_scalars_into_python_numbers_and_never_displays(glued):
    G.glue("a", np.float64(0.25))
    G.glue("b", np.int64(3))
    G.glue("c", np.array(2.5))
    assert glued == [("a", 0.25, False), ("b", 3, False), ("c", 2.5, False)]
    assert all(type(v) in (float, int) for _, v, _ in glued)


def test_glue_fields_names_scalars_by_prefix_and_skips_frames_and_hidden_fields(glued):
    G.glue_fields("rd", Result(n_runs=np.int64(5), max_gap=0.1, verdict="holds"))
    assert [name for name, _, _ in glued] == ["rd-n-runs", "rd-max-gap", "rd-verdict"]
    glued.clear()
    G.glue_fields("rd", Result(1, 0.1, "x", hidden=2.0), fields=["hidden"])
    assert glued == [("rd-hidden", 2.0, False)]
    glued.clear()
    G.glue_fields("x", {"a_b": 1})
    assert glued == [("x-a-b", 1, False)]


def test_glue_fields_rejects_unknown_fields_and_other_objects(glued):
    with pytest.raises(ValueError, match="fields: 'nope' is not a field of Result"):
        G.glue_fields("rd", Result(1, 0.1, "x"), fields=["nope"])
    with pytest.raises(TypeError, match="dataclass instance or a mapping"):
        G.glue_fields("rd", [1, 2])


def test_claim_glues_the_value_when_the_sentence_holds(glued):
    assert G.claim("x", np.float64(0.5), lambda v: v > 0, "x is positive") == 0.5
    assert glued == [("x", 0.5, False)]


def test_claim_raises_quoting_the_sentence_when_it_fails(glued):
    with pytest.raises(G.ClaimError, match="x is negative"):
        G.claim("x", 0.5, lambda v: v < 0, "x is negative")
    assert glued == []


def test_claim_without_a_name_glues_nothing_and_rejects_non_booleans(glued):
    G.claim(None, 3, True, "three is three")
    assert glued == []
    with pytest.raises(TypeError):
        G.claim("x", 1.0, lambda v: v, "x")
    with pytest.raises(ValueError):
        G.claim("x", 1.0, True, " ")


def test_every_chapter_claim_computes_whether_it_holds():
    """``claim(name, value, True, ...)`` can never fail: a chapter's ``holds`` must be computed
    (a function of the value or an expression), never a literal."""
    import ast
    from pathlib import Path

    import jupytext

    literal = []
    for path in sorted((Path(__file__).resolve().parents[1] / "book").glob("*.md")):
        for cell in jupytext.read(path).cells:
            if cell.cell_type != "code":
                continue
            source = "\n".join(line for line in cell.source.splitlines() if not line.startswith(("%", "!")))
            for node in ast.walk(ast.parse(source)):
                if (isinstance(node, ast.Call) and getattr(node.func, "id", getattr(node.func, "attr", None)) == "claim"
                        and len(node.args) > 2 and isinstance(node.args[2], ast.Constant)):
                    literal.append(f"{path.name}: {ast.get_source_segment(source, node)[:80]}")
    assert not literal, literal
