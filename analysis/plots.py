"""One figure style for the whole book, applied only where it is asked for.

* ``PALETTE``: seaborn's "colorblind" palette (after Okabe & Ito), safe for the
  common forms of colour-vision deficiency;
* ``book_style()``: a context manager that applies the book's rcParams (seaborn's
  "whitegrid" theme with opaque white figure and axes backgrounds and dark text, so a
  figure stays readable when the site is switched to its dark theme) inside its block
  and restores the previous ones after; ``use_book_style()`` applies the same
  rcParams for good, for a session that asks for it;
* ``figure()``: a context manager for one figure of a chapter: it creates the
  figure in the book's style, yields ``(fig, axes)``, then shows it (inside a Jupyter
  kernel) and closes it, so a cell with a caption in its metadata (``mystnb: figure:``)
  gets exactly one image; before showing it, it drops the minor ticks that draw nothing
  (same pixels, a faster render);
* ``new_figure``: ``plt.subplots`` with a constrained layout and the book's sizes;
* ``scenario_colors``: one fixed colour per compute scenario, the same in every chapter;
* ``AXIS_LABELS`` and ``label_axes``: the book's axis labels, each with its unit;
* ``format_log_axis`` and ``si_format``: log axes ticked at powers of ten and
  labelled with readable magnitudes ("100M", "1B", "1e21").

Importing this module changes nothing in matplotlib (no backend, no rcParams):
scripts and tests choose their backend themselves, and a Jupyter kernel keeps its
inline backend, which turns a figure into the PNG the page shows. Drawing a figure
does not import seaborn either: its theme is written out in ``_SEABORN_WHITEGRID``.
"""

from __future__ import annotations

import functools
import math
from contextlib import contextmanager
from types import MappingProxyType

import matplotlib as mpl
import matplotlib.pyplot as plt
import matplotlib.ticker as mticker
from matplotlib.colors import to_rgb

from analysis._checks import in_range, instance, integer, shown

__all__ = [
    "PALETTE",
    "AXIS_LABELS",
    "book_style",
    "use_book_style",
    "figure",
    "scenario_colors",
    "new_figure",
    "label_axes",
    "format_log_axis",
    "si_format",
]

#: seaborn's "colorblind" palette (``seaborn.color_palette("colorblind")``), as RGB tuples.
PALETTE = tuple(to_rgb(c) for c in ("#0173B2", "#DE8F05", "#029E73", "#D55E00", "#CC78BC",
                                     "#CA9161", "#FBAFE4", "#949494", "#ECE133", "#56B4E9"))

#: The book's axis labels, each naming the quantity, its symbol and its unit.
AXIS_LABELS = MappingProxyType({
    "N": "non-embedding parameters $N$",
    "N_S": "student non-embedding parameters $N_S$",
    "N_T": "teacher non-embedding parameters $N_T$",
    "D": "training tokens $D$",
    "D_S": "distillation tokens $D_S$",
    "D_T": "teacher training tokens $D_T$",
    "L": "validation loss $L$ (nats/token)",
    "L_S": "student loss $L_S$ (nats/token)",
    "L_T": "teacher loss $L_T$ (nats/token)",
    "C": "compute $C$ (FLOPs)",
    "F": "forward cost $F(N)$ (FLOPs/token)",
    "M": "tokens per parameter $M = D/N$",
})

#: seaborn's theme as the book applies it, ``seaborn.set_theme(context="notebook",
#: style="whitegrid")`` of seaborn 0.13: written out, because importing seaborn (and the
#: scipy.stats it loads) took about half a second of every page with a figure.
#: tests/test_plots.py checks it against seaborn itself. Left out: seaborn's default
#: colormap "rocket", which exists only once seaborn is imported (every figure of the
#: book names its colormap, so an image without one gets matplotlib's default).
_SEABORN_WHITEGRID = MappingProxyType({
    # seaborn.plotting_context("notebook")
    "axes.linewidth": 1.25, "grid.linewidth": 1, "lines.linewidth": 1.5, "lines.markersize": 6,
    "patch.linewidth": 1, "xtick.major.width": 1.25, "ytick.major.width": 1.25,
    "xtick.minor.width": 1, "ytick.minor.width": 1, "xtick.major.size": 6, "ytick.major.size": 6,
    "xtick.minor.size": 4, "ytick.minor.size": 4, "font.size": 12, "axes.labelsize": 12,
    "axes.titlesize": 12, "xtick.labelsize": 11, "ytick.labelsize": 11, "legend.fontsize": 11,
    "legend.title_fontsize": 12,
    # seaborn.axes_style("whitegrid", rc={"font.family": "sans-serif"}), less "image.cmap"
    "figure.facecolor": "white", "axes.labelcolor": ".15", "xtick.direction": "out",
    "ytick.direction": "out", "xtick.color": ".15", "ytick.color": ".15", "axes.axisbelow": True,
    "grid.linestyle": "-", "text.color": ".15", "font.family": "sans-serif",
    "font.sans-serif": ["Arial", "DejaVu Sans", "Liberation Sans", "Bitstream Vera Sans", "sans-serif"],
    "lines.solid_capstyle": "round", "patch.edgecolor": "w", "patch.force_edgecolor": True,
    "xtick.top": False, "ytick.right": False, "axes.grid": True, "axes.facecolor": "white",
    "axes.edgecolor": ".8", "grid.color": ".8", "axes.spines.left": True, "axes.spines.bottom": True,
    "axes.spines.right": True, "axes.spines.top": True, "xtick.bottom": False, "ytick.left": False,
})

#: What the book changes on top of seaborn's theme: opaque white backgrounds, dark text.
_STYLE = {
    "figure.facecolor": "white",
    "figure.edgecolor": "white",
    "axes.facecolor": "white",
    "savefig.facecolor": "white",
    "savefig.edgecolor": "white",
    "savefig.transparent": False,
    "text.color": "#222222",
    "axes.labelcolor": "#222222",
    "xtick.color": "#222222",
    "ytick.color": "#222222",
    "figure.dpi": 110,
    "savefig.dpi": 110,
    "figure.figsize": (7.0, 4.2),
    "axes.titlesize": "medium",
    "legend.fontsize": "small",
    "legend.framealpha": 1.0,
    "legend.facecolor": "white",
}


@functools.cache
def _book_rc() -> MappingProxyType:
    """The rcParams of the book's style: what ``seaborn.set_theme(context="notebook",
    style="whitegrid", palette=PALETTE)`` sets (``_SEABORN_WHITEGRID`` and the palette as
    the colour cycle), then ``_STYLE``."""
    from cycler import cycler

    rc = dict(_SEABORN_WHITEGRID)
    rc["font.sans-serif"] = list(rc["font.sans-serif"])
    rc["axes.prop_cycle"] = cycler("color", list(PALETTE))
    rc.update(_STYLE)
    return MappingProxyType(rc)


@contextmanager
def book_style():
    """Apply the book's figure style inside the ``with`` block; the previous rcParams
    are restored when it ends (also on error)."""
    with mpl.rc_context(dict(_book_rc())):
        yield


def use_book_style() -> None:
    """Apply the book's figure style to every later figure of this process (changes
    matplotlib's global rcParams; ``book_style()`` is the scoped form)."""
    mpl.rcParams.update(_book_rc())


def scenario_colors() -> dict[str, tuple]:
    """A fixed colour per compute scenario (by ``Scenario.name``) and for supervised."""
    names = ["SUPERVISED", "BEST_CASE", "TEACHER_INFERENCE", "TEACHER_PRETRAINING",
             "TEACHER_PRETRAINING_AND_INFERENCE"]
    return {name: PALETTE[i] for i, name in enumerate(names)}


def new_figure(ncols: int = 1, nrows: int = 1, width: float = 7.0, height: float = 4.2,
               layout: str | None = "constrained", **kwargs):
    """``plt.subplots`` with the book's figure size and a constrained layout
    (``layout=None`` for a manual one, ``fig.subplots_adjust``: a figure of a dozen
    panels renders several times faster). It does not apply the style: call it inside
    ``book_style()`` (or use ``figure()``). ``ncols``, ``nrows``: 1-50 panels; ``width``,
    ``height``: 0.5-100 inches; ``layout``: None, "constrained", "compressed" or "tight"."""
    ncols, nrows, width, height, layout = _figure_arguments(ncols, nrows, width, height, layout)
    before = set(plt.get_fignums())
    try:
        return plt.subplots(nrows, ncols, figsize=(width, height), layout=layout, **kwargs)
    except Exception:  # pyplot keeps the figure it made before the error: close it
        for number in set(plt.get_fignums()) - before:
            plt.close(number)
        raise


_LAYOUTS = (None, "constrained", "compressed", "tight")


def _figure_arguments(ncols, nrows, width, height, layout) -> tuple:
    """The arguments of ``new_figure`` and ``figure`` after their checks."""
    if not (layout is None or (isinstance(layout, str) and layout in _LAYOUTS)):
        raise ValueError(f"layout must be one of None, {', '.join(map(repr, _LAYOUTS[1:]))}; got {shown(layout)}")
    return (integer("ncols", ncols, 1, 50), integer("nrows", nrows, 1, 50), in_range("width", width, 0.5, 100.0),
            in_range("height", height, 0.5, 100.0), layout)


def _in_kernel() -> bool:
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover (IPython ships with the book's requirements)
        return False
    shell = get_ipython()
    return shell is not None and shell.__class__.__name__ == "ZMQInteractiveShell"


@contextmanager
def figure(ncols: int = 1, nrows: int = 1, width: float = 7.0, height: float = 4.2,
           layout: str | None = "constrained", **kwargs):
    """One figure in the book's style: ``with figure(ncols=2) as (fig, axes): ...``.

    The figure is drawn inside the style; when the block ends it is shown (inside a
    Jupyter kernel, where the chapter's cell metadata give it its caption and label)
    and closed. Outside a kernel nothing is shown: save it inside the block.
    """
    _figure_arguments(ncols, nrows, width, height, layout)
    with book_style():
        fig, axes = new_figure(ncols, nrows, width, height, layout, **kwargs)
        try:
            yield fig, axes
            if _in_kernel():
                from IPython.display import display

                _drop_invisible_minor_ticks(fig)
                display(fig)
        finally:
            plt.close(fig)


def _minor_ticks_draw_nothing(axis) -> bool:
    """True if ``axis``'s minor ticks draw no tick mark, no grid line and no label text."""
    params = axis.get_tick_params(which="minor")
    sides = ("bottom", "top") if axis.axis_name == "x" else ("left", "right")
    if any(params.get(side, True) for side in sides) or params.get("gridOn", True):
        return False
    if not any(params.get(f"label{side}", True) for side in sides):
        return True
    return not any(axis.get_minor_formatter().format_ticks(axis.get_minor_locator()()))


def _drop_invisible_minor_ticks(fig) -> None:
    """Remove the minor ticks of ``fig`` that draw nothing; the figure renders the same,
    pixel for pixel.

    The book's style draws no tick marks and only major grid lines, and log axes label
    only their powers of ten, so the eight minor ticks per decade of a log axis are
    invisible; matplotlib still creates and lays them out, at every draw, which is about a
    third of the rendering time of a many-panel log-axis figure. An axis keeps its minor
    ticks when any of them shows a mark, a grid line or a label, or when an axis sharing
    them does (shared axes share their locators).
    """
    shared = {}
    for ax in fig.axes:
        for axis in (ax.xaxis, ax.yaxis):
            shared.setdefault(id(axis.minor), []).append(axis)
    for group in shared.values():
        if isinstance(group[0].get_minor_locator(), mticker.NullLocator):
            continue
        if all(_minor_ticks_draw_nothing(axis) for axis in group):
            group[0].set_minor_locator(mticker.NullLocator())


def label_axes(ax, x: str | None = None, y: str | None = None) -> None:
    """Label ``ax`` with the book's standard labels: ``label_axes(ax, "N", "L")``.

    ``x`` and ``y`` are keys of ``AXIS_LABELS``; an unknown key raises ``ValueError``
    (so a typo cannot silently produce an axis without a unit).
    """
    from matplotlib.axes import Axes

    instance("ax", ax, Axes, " (matplotlib)")
    for name, key, setter in (("x", x, ax.set_xlabel), ("y", y, ax.set_ylabel)):
        if key is None:
            continue
        if not isinstance(key, str) or key not in AXIS_LABELS:
            allowed = ", ".join(AXIS_LABELS)
            raise ValueError(f"{name} must be one of {allowed}; got {shown(key)}")
        setter(AXIS_LABELS[key])


_SUFFIXES = ((1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "k"))


def si_format(value: float, style: str = "count") -> str:
    """Short text for a positive magnitude.

    ``style="count"`` (parameters, tokens): 1.5e8 -> "150M", 2e9 -> "2B", 3e13 -> "30T",
    and powers of ten from 1e15 on (1e17 -> "1e17");
    ``style="power"`` (FLOPs): 1e21 -> "1e21", 3e19 -> "3e19".
    Raises ``ValueError`` for a non-finite or non-positive value or an unknown style.
    """
    try:
        value = in_range("value", value, -math.inf, math.inf)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"value must be a finite number > 0; got {shown(value)}")
    if not isinstance(style, str) or style not in ("count", "power"):
        raise ValueError(f"style must be 'count' or 'power'; got {shown(style)}")
    if style == "power":
        exponent = math.floor(math.log10(value) + 1e-9)
        mantissa = value / 10**exponent
        text = f"{mantissa:.3g}"
        return f"1e{exponent}" if text == "1" else f"{text}e{exponent}"
    if style != "count":
        raise ValueError(f"style must be 'count' or 'power'; got {shown(style)}")
    if value >= 1e15:  # beyond "999T" a power of ten reads better than a suffix
        return si_format(value, "power")
    for scale, suffix in _SUFFIXES:
        if value >= scale:
            return f"{value / scale:.3g}{suffix}"
    return f"{value:.3g}"


def format_log_axis(ax, axis: str = "x", style: str = "count") -> None:
    """Log-scale ``ax``'s ``axis`` ("x", "y" or "both") with major ticks at powers of
    ten labelled by ``si_format`` and unlabelled minor ticks."""
    from matplotlib.axes import Axes

    instance("ax", ax, Axes, " (matplotlib)")
    if not isinstance(axis, str) or axis not in ("x", "y", "both"):
        raise ValueError(f"axis must be 'x', 'y' or 'both'; got {shown(axis)}")
    if not isinstance(style, str) or style not in ("count", "power"):
        raise ValueError(f"style must be 'count' or 'power'; got {shown(style)}")
    targets = [ax.xaxis, ax.yaxis] if axis == "both" else [getattr(ax, f"{axis}axis")]
    for target in targets:
        (ax.set_xscale if target is ax.xaxis else ax.set_yscale)("log")
        target.set_major_locator(mticker.LogLocator(base=10, numticks=12))
        target.set_major_formatter(mticker.FuncFormatter(
            lambda v, _pos: si_format(v, style) if v > 0 else ""))
        target.set_minor_locator(mticker.LogLocator(base=10, subs=tuple(range(2, 10)), numticks=12))
        target.set_minor_formatter(mticker.NullFormatter())
