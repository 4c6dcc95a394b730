"""House style for every d2asim chart.

Colours are the Okabe-Ito colour-blind-safe palette; every series also differs by
line style or hatching so charts stay readable when printed in greyscale. Figures
are drawn with the object-oriented API (no pyplot, no global backend) and saved
as PNG (``DPI`` dots per inch) and SVG.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import matplotlib as mpl
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.layout_engine import ConstrainedLayoutEngine

from d2asim.report.owned import writing

DPI = 200  # PNG resolution, dots per inch
WIDTH_IN = 9.0  # figure width, inches
HEIGHT_IN = 4.8  # default figure height, inches
FOOTER_IN = 0.32  # strip kept free for the footer, inches

# Okabe & Ito (2008) colour-blind-safe palette.
BLACK, ORANGE, SKY, GREEN = "#000000", "#E69F00", "#56B4E9", "#009E73"
YELLOW, BLUE, VERMILLION, PURPLE = "#F0E442", "#0072B2", "#D55E00", "#CC79A7"
GREY = "#666666"

SERIES_COLOURS: tuple[str, ...] = (BLUE, ORANGE, GREEN, VERMILLION, PURPLE, SKY, BLACK, YELLOW)
LINE_STYLES: tuple[Any, ...] = ("-", "--", "-.", ":", (0, (6, 2, 1, 2, 1, 2)), (0, (1, 1)), (0, (8, 3)), "-")
HATCHES: tuple[str, ...] = ("", "////", "xxxx", "....", "\\\\\\\\", "++++", "oo", "----")

# Fixed styles so the same pathway / organisation looks the same in every chart.
PATHWAY_STYLE: dict[str, tuple[str, str]] = {  # colour, hatch
    "P0": (SKY, "...."),
    "P1": (BLUE, ""),
    "P2": (ORANGE, "////"),
    "P3": (VERMILLION, "xxxx"),
}
ORG_STYLE: dict[str, tuple[str, str, str]] = {  # colour, hatch, label
    "nhs": (BLUE, "", "NHS"),
    "social_care": (ORANGE, "////", "Social care"),
    "both": (PURPLE, "xxxx", "NHS and social care"),
}

RC: Any = {  # matplotlib rcParams (typed Any: the stubs want literal keys)
    "font.family": "DejaVu Sans",
    "font.size": 10,
    "axes.titlesize": 12,
    "axes.titleweight": "bold",
    "axes.titlelocation": "left",
    "axes.labelsize": 10,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "axes.grid.axis": "y",
    "axes.axisbelow": True,
    "grid.color": "#d9d9d9",
    "grid.linewidth": 0.6,
    "legend.fontsize": 9,
    "legend.frameon": False,
    "hatch.linewidth": 0.6,
    "hatch.color": "#333333",
    "lines.linewidth": 1.8,
    "xtick.labelsize": 9,
    "ytick.labelsize": 9,
    "svg.hashsalt": "d2asim",  # deterministic SVG ids
}


def series_style(i: int) -> dict[str, Any]:
    """Colour and line style of the ``i``-th line series."""
    return {"color": SERIES_COLOURS[i % len(SERIES_COLOURS)], "linestyle": LINE_STYLES[i % len(LINE_STYLES)]}


def bar_style(i: int) -> dict[str, Any]:
    """Colour and hatching of the ``i``-th stacked-bar series."""
    return {"color": SERIES_COLOURS[i % len(SERIES_COLOURS)], "hatch": HATCHES[i % len(HATCHES)]}


@contextmanager
def chart(footer: str, nrows: int = 1, height_in: float = HEIGHT_IN, sharex: bool = False, ncols: int = 1,
          sharey: bool = False) -> Iterator[tuple[Figure, list[Axes]]]:
    """A house-style figure with ``nrows`` x ``ncols`` axes (listed row by row) and
    ``footer`` in a strip at the bottom."""
    with mpl.rc_context(RC):
        strip = FOOTER_IN / height_in
        engine = ConstrainedLayoutEngine(rect=(0.0, strip, 1.0, 1.0 - strip), h_pad=0.06, w_pad=0.08)
        fig = Figure(figsize=(WIDTH_IN, height_in), layout=engine)
        axes = fig.subplots(nrows, ncols, sharex=sharex, sharey=sharey, squeeze=False).ravel().tolist()
        _footer(fig, footer, strip)
        yield fig, axes


def _footer(fig: Figure, footer: str, strip: float) -> None:
    fig.text(0.008, strip * 0.35, footer, fontsize=8, color=GREY, ha="left", va="bottom")


def plain_figure(footer: str, width_in: float, height_in: float) -> tuple[Figure, Axes]:
    """A figure of ``width_in`` x ``height_in`` inches with ``footer`` at the bottom and
    one axes without axis lines covering all of it (for diagrams drawn in inches; call
    inside ``mpl.rc_context(RC)``)."""
    fig = Figure(figsize=(width_in, height_in))
    ax = fig.add_axes((0.0, 0.0, 1.0, 1.0))
    ax.set_axis_off()
    _footer(fig, footer, FOOTER_IN / height_in)
    return fig, ax


def save(fig: Figure, folder: Path, stem: str, text_as_text: bool = False) -> dict[str, Path]:
    """Save ``fig`` as ``folder/stem.png`` (``DPI``) and ``folder/stem.svg``; return both
    paths. ``text_as_text``: the SVG keeps text as text elements (searchable), not paths."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = {"png": folder / f"{stem}.png", "svg": folder / f"{stem}.svg"}
    with mpl.rc_context({**RC, "svg.fonttype": "none" if text_as_text else "path"}):
        with writing(paths["png"]):
            fig.savefig(paths["png"], dpi=DPI, facecolor="white", metadata={"Software": None})
        with writing(paths["svg"]):
            fig.savefig(paths["svg"], facecolor="white", metadata={"Date": None, "Creator": None})
    return paths


def end_label(ax: Axes, y: float, text: str, colour: str = BLACK, above: bool = True) -> None:
    """Label a horizontal reference line at height ``y`` in the right margin (outside the
    plot area, so it never hides data), just above or just below the line."""
    ax.annotate(text, xy=(1.0, y), xycoords=ax.get_yaxis_transform(), xytext=(4, 1 if above else -1),
                textcoords="offset points", ha="left", va="bottom" if above else "top", fontsize=8,
                color=colour, annotation_clip=False)


def month_ticks(ax: Axes, months: Sequence[str]) -> None:
    """Label bar positions 0..n-1 with months (``YYYY-MM``): 'Apr', and the year on the
    first month and each January; thinned to at most 13 labels."""
    step = int(np.ceil(len(months) / 13)) or 1
    positions = list(range(0, len(months), step))
    labels = []
    for i in positions:
        year, month = months[i].split("-")
        name = _MONTHS[int(month) - 1]
        labels.append(f"{name}\n{year}" if i == 0 or month == "01" else name)
    ax.set_xticks(positions, labels)
    ax.set_xlim(-0.6, len(months) - 0.4)


_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def place_labels(ax: Axes, xs: Sequence[float], ys: Sequence[float], labels: Sequence[str],
                 fontsize: float = 9) -> None:
    """Label points (data coordinates) next to their marker without labels overlapping
    one another or the markers: each label takes the first free spot of a few around
    its point (nearest first), else the least crowded one, with a leader line when far."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.transforms import Bbox

    fig = ax.get_figure(root=True)
    assert isinstance(fig, Figure)
    if not hasattr(fig.canvas, "get_renderer"):
        FigureCanvasAgg(fig)
    with mpl.rc_context(RC):
        fig.draw_without_rendering()  # runs the layout, so positions are final
        renderer = fig.canvas.get_renderer()  # type: ignore[attr-defined]
        scale = fig.dpi / 72.0
        points = [ax.transData.transform((x, y)) for x, y in zip(xs, ys, strict=True)]
        taken = [Bbox.from_bounds(px - 7 * scale, py - 7 * scale, 14 * scale, 14 * scale) for px, py in points]
        frame = ax.get_window_extent(renderer)
        near = [(8, 8), (8, -8), (-8, 8), (-8, -8), (10, 0), (-10, 0), (0, 12), (0, -12)]
        spots = near + [(2.5 * dx, 2.5 * dy) for dx, dy in near] + [(4.5 * dx, 4.5 * dy) for dx, dy in near]

        def cost(box: Bbox) -> float:
            inside = Bbox.intersection(box, frame)
            outside = box.width * box.height - (inside.width * inside.height if inside else 0.0)
            overlap = sum(i.width * i.height for t in taken if (i := Bbox.intersection(box, t)) is not None)
            return overlap + 4 * outside

        for k, ((x, y), label) in enumerate(zip(zip(xs, ys, strict=True), labels, strict=True)):
            best: tuple[float, Any] | None = None
            here = points[k]
            others = [p for j, p in enumerate(points) if j != k]
            if others:  # try the side away from the nearest other point first
                nearest = min(others, key=lambda p: float(np.hypot(*(p - here))))
                away = here - nearest
                ring = sorted(near, key=lambda o: -float(np.dot(o, away) / (np.hypot(*o) or 1.0)))
                spots = ring + [(2.5 * dx, 2.5 * dy) for dx, dy in ring] + [(4.5 * dx, 4.5 * dy) for dx, dy in ring]
            for dx, dy in spots:
                ann = ax.annotate(
                    label, xy=(x, y), xytext=(dx, dy), textcoords="offset points", fontsize=fontsize,
                    ha="left" if dx > 0 else "right" if dx < 0 else "center",
                    va="bottom" if dy > 0 else "top" if dy < 0 else "center",
                    bbox={"boxstyle": "round,pad=0.15", "facecolor": "white", "edgecolor": "none", "alpha": 0.85},
                    arrowprops={"arrowstyle": "-", "color": GREY, "linewidth": 0.7, "shrinkA": 0, "shrinkB": 5})
                ann.set_in_layout(False)
                box = ann.get_window_extent(renderer).expanded(1.04, 1.15)
                score = cost(box)
                if best is None or score < best[0]:
                    if best is not None:
                        best[1].remove()
                    best = (score, ann)
                else:
                    ann.remove()
                if score == 0:
                    break
            assert best is not None
            taken.append(best[1].get_window_extent(renderer).expanded(1.04, 1.15))
