"""Charts comparing options with a baseline, from a comparison.csv.

comparison.csv has one row per option x metric with columns ``option, metric,
baseline, option_value, difference, ci_low, ci_high`` (the CI is for ``difference``).
Metric ``bed_days_saved`` is positive when the option saves bed days; for a cost
metric (default ``commissioning_and_spot_cost_gbp``: block contracts paid used or not,
plus spot-purchased occupied days, GBP) ``difference`` is option minus baseline, so
positive means the option costs more to commission. Acute bed days avoided are never
counted as money here: they release cash only if beds close.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.ticker import FuncFormatter

from d2asim.report import style
from d2asim.report.data import read_csv

COMPARISON_COLUMNS = ("option", "metric", "baseline", "option_value", "difference", "ci_low", "ci_high")
SAVED_METRIC = "bed_days_saved"  # bed days, positive = saved
COST_METRIC = "commissioning_and_spot_cost_gbp"  # GBP, difference = option - baseline


def read_comparison(path: Path) -> pd.DataFrame:
    """Read and check a comparison.csv; raise ScenarioError for a missing file or column."""
    frame = read_csv(path, COMPARISON_COLUMNS)
    frame["option"] = frame["option"].astype(str)
    return frame


def _metric(comparison: pd.DataFrame, metric: str) -> pd.DataFrame:
    rows = comparison[comparison["metric"] == metric].set_index("option")
    return rows[["difference", "ci_low", "ci_high"]].astype(float)


def _thousands(x: float, _pos: object = None) -> str:
    return f"{x:,.0f}"


def _gbp(x: float, _pos: object = None) -> str:
    sign = "-" if x < 0 else ""
    x = abs(x)
    if x >= 1e6:
        return f"{sign}£{x / 1e6:,.1f}m"
    return f"{sign}£{x / 1e3:,.0f}k" if x >= 1e4 else f"{sign}£{x:,.0f}"


def _include_zero(ax: Axes, share: float = 0.08) -> None:
    """Widen both axes so that zero lies inside with a margin: every quadrant label
    then sits in its own quadrant."""
    for get, set_ in ((ax.get_xlim, ax.set_xlim), (ax.get_ylim, ax.set_ylim)):
        lo, hi = get()
        span = (max(hi, 0.0) - min(lo, 0.0)) or 1.0
        set_(min(lo, -share * span), max(hi, share * span))


def bed_days_saved_chart(comparison: pd.DataFrame, charts_dir: Path, footer: str = "",
                         metric: str = SAVED_METRIC, stem: str = "bed_days_saved") -> Path | None:
    """Horizontal bars of bed days saved per option (largest at the top) with 95% CI
    error bars and a zero line. Returns the PNG path, or None if ``metric`` is absent."""
    data = _metric(comparison, metric).sort_values("difference")
    if data.empty:
        return None
    y = np.arange(len(data))
    saves = data["difference"].to_numpy() >= 0
    with style.chart(footer, height_in=1.9 + 0.42 * len(data)) as (fig, (ax,)):
        bars = ax.barh(y, data["difference"], height=0.6, color=np.where(saves, style.BLUE, style.VERMILLION),
                       edgecolor="white")
        for bar, saving in zip(bars, saves, strict=True):  # hatch options that add bed days (greyscale)
            bar.set_hatch("" if saving else "////")
        err = np.vstack([data["difference"] - data["ci_low"], data["ci_high"] - data["difference"]])
        ax.errorbar(data["difference"], y, xerr=np.abs(err), fmt="none", ecolor=style.BLACK,
                    elinewidth=1.2, capsize=4)
        ax.axvline(0, color=style.BLACK, linewidth=1.0)
        span = float(max(data["ci_high"].max(), 0) - min(data["ci_low"].min(), 0)) or 1.0
        for yi, (d, lo, hi) in zip(y, data.itertuples(index=False), strict=True):
            right = d >= 0
            ax.annotate(f"{d:,.0f}", xy=(hi if right else lo, yi), xytext=(5 if right else -5, 0),
                        textcoords="offset points", ha="left" if right else "right", va="center", fontsize=9)
        left, right = min(data["ci_low"].min(), 0), max(data["ci_high"].max(), 0)
        ax.set_xlim(left - (0.12 if left < 0 else 0.02) * span, right + (0.12 if right > 0 else 0.02) * span)
        ax.set_yticks(y, list(data.index))
        ax.xaxis.set_major_formatter(FuncFormatter(_thousands))
        ax.grid(axis="x", visible=True)
        ax.grid(axis="y", visible=False)
        ax.set_xlabel("Bed days saved against the baseline (bed days; error bars: 95% CI)")
        ax.set_title("Bed days saved by each option")
        return style.save(fig, charts_dir, stem)["png"]


def cost_vs_bed_days_chart(comparison: pd.DataFrame, charts_dir: Path, footer: str = "",
                           cost_metric: str = COST_METRIC, saved_metric: str = SAVED_METRIC,
                           stem: str = "cost_vs_bed_days") -> Path | None:
    """Scatter of the extra cost of commissioned and spot-purchased care (GBP, option -
    baseline) against acute bed days saved, one point per option with 95% CI error bars
    on both axes. None if either metric is absent."""
    saved, cost = _metric(comparison, saved_metric), _metric(comparison, cost_metric)
    both = saved.merge(cost, left_index=True, right_index=True, suffixes=("_saved", "_cost"))
    if both.empty:
        return None
    with style.chart(footer, height_in=5.6) as (fig, (ax,)):
        ax.axhline(0, color=style.GREY, linewidth=0.9)
        ax.axvline(0, color=style.GREY, linewidth=0.9)
        markers = ("o", "s", "^", "D", "v", "P", "X", "*")
        for i, (_option, r) in enumerate(both.iterrows()):
            xerr = [[r["difference_saved"] - r["ci_low_saved"]], [r["ci_high_saved"] - r["difference_saved"]]]
            yerr = [[r["difference_cost"] - r["ci_low_cost"]], [r["ci_high_cost"] - r["difference_cost"]]]
            look = style.series_style(i)
            ax.errorbar(r["difference_saved"], r["difference_cost"], xerr=np.abs(xerr), yerr=np.abs(yerr),
                        fmt=markers[i % len(markers)], color=look["color"], markersize=8, capsize=3,
                        elinewidth=1.0, markeredgecolor=style.BLACK, markeredgewidth=0.6, zorder=3)
        ax.margins(x=0.15, y=0.15)
        _include_zero(ax)
        for x, y, ha, va, text in ((0.99, 0.02, "right", "bottom", "saves bed days, costs less to commission"),
                                   (0.99, 0.98, "right", "top", "saves bed days, costs more to commission"),
                                   (0.01, 0.98, "left", "top", "adds bed days, costs more to commission"),
                                   (0.01, 0.02, "left", "bottom", "adds bed days, costs less to commission")):
            ax.text(x, y, text, transform=ax.transAxes, ha=ha, va=va, fontsize=8, color=style.GREY,
                    style="italic")
        ax.yaxis.set_major_formatter(FuncFormatter(_gbp))
        ax.xaxis.set_major_formatter(FuncFormatter(_thousands))
        ax.grid(axis="x", visible=True)
        ax.set_xlabel("Acute bed days saved against the baseline (bed days; not cash unless beds close)")
        ax.set_ylabel("Extra cost of commissioned and spot-purchased care\n(GBP; block places paid used or not)")
        ax.set_title("What each option costs to commission against the acute bed days it saves")
        style.place_labels(ax, list(both["difference_saved"]), list(both["difference_cost"]),
                           [str(o) for o in both.index])
        return style.save(fig, charts_dir, stem)["png"]
