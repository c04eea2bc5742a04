"""The figure style: palette, opaque backgrounds, labels with units, log axes."""

from __future__ import annotations

import io

import matplotlib.pyplot as plt
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from matplotlib.colors import to_rgba

from analysis.plots import (AXIS_LABELS, PALETTE, book_style, figure, format_log_axis, label_axes,
                            new_figure, scenario_colors, si_format, use_book_style)


def test_palette_is_seaborn_colorblind():
    import seaborn as sns

    assert list(PALETTE) == list(sns.color_palette("colorblind"))
    assert len(set(PALETTE)) == len(PALETTE) >= 8


def test_scenario_colors_are_distinct_and_cover_every_scenario():
    from analysis.flops import Scenario

    colors = scenario_colors()
    assert set(colors) == {"SUPERVISED"} | {s.name for s in Scenario}
    assert len(set(colors.values())) == len(colors)


def test_book_figure_has_opaque_white_background_in_saved_png():
    buf = io.BytesIO()
    with figure() as (fig, ax):
        ax.plot([1, 2], [1, 2])
        fig.savefig(buf, format="png")
    assert not plt.fignum_exists(fig.number), "figure() closes its figure"
    buf.seek(0)
    image = plt.imread(buf)
    assert image.shape[2] in (3, 4)
    if image.shape[2] == 4:
        assert np.all(image[..., 3] == 1.0), "figure must be opaque for the dark theme"
    assert np.allclose(image[0, 0, :3], 1.0), "corner pixel must be the white background"


def test_book_style_sets_opaque_faces_and_restores_the_rcparams():
    before = dict(plt.rcParams)
    with book_style():
        for key in ("figure.facecolor", "axes.facecolor", "savefig.facecolor"):
            assert to_rgba(plt.rcParams[key])[3] == 1.0
        assert plt.rcParams["savefig.transparent"] is False
        assert plt.rcParams["axes.grid"] is True
    assert dict(plt.rcParams) == before


def test_use_book_style_is_seaborn_whitegrid_plus_the_book_overrides():
    """The style is what the book applied with seaborn.set_theme before it became scoped,
    less seaborn's default colormap (registered only when seaborn is imported)."""
    import seaborn as sns

    from analysis.plots import _STYLE

    with plt.rc_context():
        default_cmap = plt.rcParams["image.cmap"]
        sns.set_theme(context="notebook", style="whitegrid", palette=list(PALETTE))
        assert plt.rcParams["image.cmap"] == "rocket"
        plt.rcParams.update(_STYLE)
        plt.rcParams["image.cmap"] = default_cmap
        reference = dict(plt.rcParams)
    with plt.rc_context():
        use_book_style()
        assert dict(plt.rcParams) == reference


def test_the_written_out_theme_is_seaborns():
    """_SEABORN_WHITEGRID is exactly what seaborn's notebook context and whitegrid style set."""
    import seaborn as sns

    from analysis.plots import _SEABORN_WHITEGRID

    theme = dict(sns.plotting_context("notebook"))
    theme.update(sns.axes_style("whitegrid", rc={"font.family": "sans-serif"}))
    assert theme.pop("image.cmap") == "rocket"
    assert dict(_SEABORN_WHITEGRID) == theme


_NO_SIDE_EFFECTS = """
import json, sys
import matplotlib
before = dict(matplotlib.rcParams)
from analysis.plots import figure, new_figure
fig, ax = new_figure()
with figure() as (f, a):
    a.plot([1, 2])
print(json.dumps([dict(matplotlib.rcParams) == before, "seaborn" in sys.modules]))
"""


def test_importing_and_drawing_change_no_global_state():
    """Importing analysis.plots and making book figures leave the backend and rcParams alone."""
    import json
    import os
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-c", _NO_SIDE_EFFECTS], capture_output=True, text=True,
                         timeout=120, env={**os.environ, "MPLBACKEND": "Agg"})
    assert out.returncode == 0, out.stderr
    same_rc, seaborn_loaded = json.loads(out.stdout)
    assert same_rc
    assert not seaborn_loaded, "drawing a book figure must not import seaborn (half a second a page)"


def test_importing_the_plots_module_does_not_import_seaborn():
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-c", "import sys, analysis.plots; print('seaborn' in sys.modules)"],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"


def test_new_figure_grid_shape():
    fig, axes = new_figure(ncols=2, nrows=3)
    assert axes.shape == (3, 2)
    assert fig.get_layout_engine() is not None  # constrained by default
    plt.close(fig)


def test_figure_with_a_manual_layout_has_no_layout_engine():
    with figure(ncols=3, nrows=2, layout=None) as (fig, axes):
        assert axes.shape == (2, 3) and fig.get_layout_engine() is None


def test_figure_closes_its_figure_on_error():
    with pytest.raises(RuntimeError, match="inside"):
        with figure() as (fig, ax):
            raise RuntimeError("inside")
    assert not plt.fignum_exists(fig.number)


def test_every_axis_label_has_a_unit_or_is_a_ratio():
    for key, text in AXIS_LABELS.items():
        assert "(" in text or "=" in text or "parameters" in text or "tokens" in text, key


def test_label_axes_sets_labels_and_rejects_typos():
    fig, ax = new_figure()
    label_axes(ax, "N", "L")
    assert ax.get_xlabel() == AXIS_LABELS["N"]
    assert "nats/token" in ax.get_ylabel()
    with pytest.raises(ValueError, match="x must be one of"):
        label_axes(ax, x="params")
    plt.close(fig)


@pytest.mark.parametrize("value, style, text", [
    (1.5e8, "count", "150M"), (2e9, "count", "2B"), (3e13, "count", "30T"),
    (1e3, "count", "1k"), (12.0, "count", "12"), (1e21, "power", "1e21"),
    (3e19, "power", "3e19"), (1e17, "count", "1e17"), (5e14, "count", "500T"),
])
def test_si_format_examples(value, style, text):
    assert si_format(value, style) == text


@pytest.mark.parametrize("bad", [0.0, -1.0, float("nan"), float("inf")])
def test_si_format_rejects_bad_values(bad):
    with pytest.raises(ValueError, match="value must be"):
        si_format(bad)


def test_si_format_rejects_unknown_style():
    with pytest.raises(ValueError, match="style must be"):
        si_format(1.0, "words")


@given(st.floats(min_value=1e-3, max_value=1e26, allow_nan=False, allow_infinity=False))
def test_si_format_is_total_on_positive_floats(value):
    for style in ("count", "power"):
        text = si_format(value, style)
        assert text and "nan" not in text and "inf" not in text


def test_format_log_axis_sets_log_scale_and_labels():
    fig, ax = new_figure()
    ax.plot([1e8, 1e10], [2.0, 3.0])
    format_log_axis(ax, "x")
    assert ax.get_xscale() == "log" and ax.get_yscale() == "linear"
    fig.canvas.draw()
    labels = [t.get_text() for t in ax.get_xticklabels() if t.get_text()]
    assert "1B" in labels
    format_log_axis(ax, "both", style="power")
    assert ax.get_yscale() == "log"
    with pytest.raises(ValueError, match="axis must be"):
        format_log_axis(ax, "z")
    with pytest.raises(ValueError, match="style must be"):
        format_log_axis(ax, "x", style="words")
    plt.close(fig)


def _log_panels(drop: bool, tweak=None) -> tuple[bytes, list]:
    """PNG (as the inline backend saves it) of a 2x2 log-log figure with shared x axes,
    with or without ``_drop_invisible_minor_ticks``; and its axes' minor locators."""
    from analysis.plots import _drop_invisible_minor_ticks

    with book_style():
        fig, axes = new_figure(ncols=2, nrows=2, sharex=True)
        for k, ax in enumerate(axes.ravel()):
            ax.plot([1e20, 1e26], [1e8 * (k + 1), 1e15], label=f"panel {k}")
            format_log_axis(ax, "x", "power")
            ax.set_yscale("log")
        if tweak:
            tweak(axes)
        if drop:
            _drop_invisible_minor_ticks(fig)
        buf = io.BytesIO()
        fig.savefig(buf, format="png", bbox_inches="tight")
        locators = [(type(ax.xaxis.get_minor_locator()).__name__, type(ax.yaxis.get_minor_locator()).__name__)
                    for ax in axes.ravel()]
        plt.close(fig)
    return buf.getvalue(), locators


def test_invisible_minor_ticks_are_dropped_and_the_png_is_the_same():
    """figure() drops the minor ticks that draw nothing before it shows a figure (a third of
    the rendering of the book's many-panel log-axis figures): the PNG is byte-identical."""
    kept, _ = _log_panels(drop=False)
    dropped, locators = _log_panels(drop=True)
    assert dropped == kept
    assert set(locators) == {("NullLocator", "NullLocator")}


@pytest.mark.parametrize("tweak", [
    lambda axes: axes[1, 1].grid(True, which="minor"),                       # a minor grid line
    lambda axes: axes[1, 1].tick_params(axis="x", which="minor", bottom=True),  # a minor tick mark
    lambda axes: axes[1, 1].set_ylim(2e14, 5e14),                             # labelled minor ticks
])
def test_minor_ticks_that_show_something_are_kept(tweak):
    kept, _ = _log_panels(drop=False, tweak=tweak)
    dropped, locators = _log_panels(drop=True, tweak=tweak)
    assert dropped == kept
    assert "LogLocator" in {name for pair in locators for name in pair}


def test_book_figure_is_one_png_inside_a_kernel(monkeypatch, repo_root):
    """In the book's build the kernel's inline backend must turn a figure into a PNG
    (forcing Agg there would leave only the text "<Figure size ...>" in the page), and
    ``figure()`` must show it exactly once (its caption comes from the cell metadata)."""
    import os

    import nbclient
    import nbformat

    monkeypatch.setenv("PYTHONPATH", f"{repo_root}{os.pathsep}{os.environ.get('PYTHONPATH', '')}")
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(
        "from analysis.plots import figure\n"
        "with figure() as (fig, ax):\n"
        "    ax.plot([1, 2], [3, 4])\n")]
    nbclient.NotebookClient(nb, kernel_name="python3", timeout=120).execute()
    images = [out for out in nb.cells[0].outputs if "image/png" in out.get("data", {})]
    assert len(images) == 1, nb.cells[0].outputs
