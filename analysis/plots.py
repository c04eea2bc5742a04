"""One figure style for the whole book.

Colour-blind-safe palette (seaborn's "colorblind", after Okabe & Ito), opaque
white backgrounds so figures stay readable in the site's dark theme, and a
helper for log-scaled axes with units.
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import seaborn as sns  # noqa: E402

__all__ = ["PALETTE", "use_book_style", "scenario_colors", "new_figure"]

PALETTE = sns.color_palette("colorblind")


def use_book_style() -> None:
    """Apply the book's seaborn theme with opaque figure and axes backgrounds."""
    sns.set_theme(context="notebook", style="whitegrid", palette=PALETTE)
    plt.rcParams.update({
        "figure.facecolor": "white",
        "axes.facecolor": "white",
        "savefig.facecolor": "white",
        "savefig.transparent": False,
        "figure.dpi": 110,
        "savefig.dpi": 110,
        "figure.figsize": (7.0, 4.2),
        "axes.titlesize": "medium",
        "legend.fontsize": "small",
        "legend.framealpha": 1.0,
    })


def scenario_colors() -> dict[str, tuple]:
    """A fixed colour per compute scenario (by ``Scenario.name``) and for supervised."""
    names = ["SUPERVISED", "BEST_CASE", "TEACHER_INFERENCE", "TEACHER_PRETRAINING",
             "TEACHER_PRETRAINING_AND_INFERENCE"]
    return {name: PALETTE[i] for i, name in enumerate(names)}


def new_figure(ncols: int = 1, nrows: int = 1, width: float = 7.0, height: float = 4.2, **kwargs):
    """``plt.subplots`` with the book's style applied and a constrained layout."""
    use_book_style()
    return plt.subplots(nrows, ncols, figsize=(width, height), layout="constrained", **kwargs)
