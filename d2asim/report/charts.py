"""Time-series charts of one run: acute occupancy, DTOC rate, downstream queues.

Each function draws one chart from a :class:`RunData`, saves PNG and SVG under
``charts_dir`` and returns the PNG path (``None`` when the run has no data for it).
Bands are the per-day (or per-month) t-based 95% confidence interval of the mean
across replications.
"""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import matplotlib.dates as mdates
import numpy as np
import pandas as pd
from matplotlib.axes import Axes

from d2asim.metrics.costs import capacity_column
from d2asim.report import style
from d2asim.report.data import RunData, across_replications, system_beds

OCCUPANCY_LINES = (0.92, 0.95)  # reference occupancy levels, share of core beds
KIND_WORDS = {"reablement": "reablement", "home_based_intermediate_care": "home-based intermediate care",
              "bedded_intermediate_care": "bedded intermediate care",
              "care_home_assessment_bed": "care home placement", "long_term_home_care": "long-term home care",
              "permanent_care_home": "permanent care home"}  # fmt: skip


def _date_axis(ax: Axes) -> None:
    locator = mdates.AutoDateLocator(minticks=4, maxticks=13)
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator, show_offset=False))
    ax.margins(x=0.01)


def _mean_band(ax: Axes, band: pd.DataFrame, x: str, label: str, i: int = 0) -> None:
    look = style.series_style(i)
    ax.fill_between(band[x], band["low"], band["high"], color=look["color"], alpha=0.22, linewidth=0,
                    label=f"{label}: 95% CI of the mean")
    ax.plot(band[x], band["mean"], label=f"{label}: mean", **look)


def occupancy_panel(ax: Axes, band: pd.DataFrame, beds: float, escalation: float,
                    steps: pd.DataFrame | None = None, column: str = "acute_beds", legend: bool = True) -> None:
    """Acute beds occupied per day (``band``: mean and 95% CI by date) against the core
    ``beds`` (or their dated changes, ``steps[column]``) and ``escalation`` beds, with the
    92% and 95% lines."""
    _mean_band(ax, band, "date", "Beds occupied")
    if steps is None:
        ax.axhline(beds, color=style.BLACK, linewidth=1.4, linestyle="-")
        style.end_label(ax, beds, f"Capacity ({beds:,.0f})")
    else:
        ax.step(steps["date"], steps[column], where="post", color=style.BLACK, linewidth=1.4,
                label="Core beds (dated changes)")
        mark_changes(ax, steps, column)
        beds = float(steps[column].max())
    extra = float(escalation)
    core = None if steps is None else steps[column]  # lines follow the core beds in force
    last = beds if core is None else float(core.iloc[-1])  # labelled at the right-hand end
    if extra:
        _level(ax, steps, core, 1.0, extra, beds, style.GREY, (0, (6, 2, 1, 2)), 1.0)
        style.end_label(ax, last + extra, f"With escalation ({last + extra:,.0f})", style.GREY)
    for share, dash, above in zip(OCCUPANCY_LINES, ("--", ":"), (False, True), strict=True):
        _level(ax, steps, core, share, 0.0, beds, style.VERMILLION, dash, 1.1)
        style.end_label(ax, share * last, f"{share:.0%} full ({share * last:,.0f})", style.VERMILLION, above)
    low = min(float(band["low"].min()), 0.85 * beds)
    high = max(float(band["high"].max()), beds + extra)
    ax.set_ylim(low - 0.07 * beds, high + 0.04 * beds)  # room for the legend
    _date_axis(ax)
    if legend:
        ax.legend(loc="lower left", ncols=2)


def occupancy_chart(run: RunData, charts_dir: Path) -> Path:
    """Acute G&A beds occupied per day (beds): mean, 95% band, capacity, 92% and 95% lines."""
    core, escalation = system_beds(run.scenario)
    band = across_replications(run.daily, "date", "acute_occupied")
    with style.chart(run.footer()) as (fig, (ax,)):
        occupancy_panel(ax, band, float(core), float(escalation), capacity_steps(run.daily, "acute_beds"))
        ax.set_ylabel("Acute beds occupied (beds, daily average)")
        ax.set_xlabel("Date")
        ax.set_title("How full were the acute beds?")
        return style.save(fig, charts_dir, "acute_occupancy")["png"]


def _level(ax: Axes, steps: pd.DataFrame | None, core: pd.Series | None, share: float, extra: float,
           beds: float, color: str, dash: Any, width: float) -> None:
    """A reference line at share x core beds + extra: flat, or stepping with dated changes."""
    if core is None:
        ax.axhline(share * beds + extra, color=color, linewidth=width, linestyle=dash)
    else:
        ax.step(steps["date"], share * core + extra, where="post", color=color, linewidth=width,  # type: ignore[index]
                linestyle=dash)


def capacity_steps(daily: pd.DataFrame, column: str) -> pd.DataFrame | None:
    """``date`` and ``column`` per day when the capacity in ``column`` changes during
    the run (None when it is constant or absent)."""
    if column not in daily.columns:
        return None
    per_day = daily.drop_duplicates("date")[["date", column]]
    return per_day if per_day[column].nunique() > 1 else None


def mark_changes(ax: Axes, steps: pd.DataFrame, column: str) -> None:
    """A dotted vertical line and the new value at each date the capacity changes."""
    for date, value in _changes(steps, column):
        ax.axvline(date, color=style.GREY, linewidth=0.9, linestyle=":")  # type: ignore[arg-type]  # a date axis
        ax.annotate(f"{value:,.0f} from {pd.Timestamp(date):%d %b %Y}", xy=(date, value), xytext=(3, 4),
                    textcoords="offset points", fontsize=8, color=style.GREY)


def _changes(steps: pd.DataFrame, column: str) -> list[tuple[pd.Timestamp, float]]:
    changed = steps[steps[column].diff().fillna(0) != 0]
    return list(zip(pd.to_datetime(changed["date"]), changed[column].astype(float), strict=True))


def monthly_dtoc_rate(run: RunData) -> pd.DataFrame | None:
    """Per month: mean DTOC rate per 100,000 adults over replications with 95% CI."""
    if "dtoc_rate_per_100k_adults" not in run.monthly.columns:
        return None
    return across_replications(run.monthly, "month", "dtoc_rate_per_100k_adults")


def dtoc_rate_chart(run: RunData, charts_dir: Path, target: float) -> Path | None:
    """DTOC beds per 100,000 adults per month (mean, 95% CI error bars) against ``target``."""
    rates = monthly_dtoc_rate(run)
    if rates is None:
        return None
    x = np.arange(len(rates))
    with style.chart(run.footer()) as (fig, (ax,)):
        look = style.series_style(0)
        err = np.vstack([rates["mean"] - rates["low"], rates["high"] - rates["mean"]])
        ax.errorbar(x, rates["mean"], yerr=err, color=look["color"], marker="o", markersize=5,
                    capsize=3, linewidth=1.8, label="Simulated rate: mean and 95% CI")
        ax.axhline(target, color=style.VERMILLION, linestyle="--", linewidth=1.4,
                   label=f"Target: {target:g} per 100,000 adults")
        style.month_ticks(ax, list(rates["month"]))
        top = max(float(rates["high"].max()), target)
        ax.set_ylim(0, top * 1.18)
        ax.set_ylabel("Delayed patients per day\nper 100,000 adults")
        ax.set_xlabel("Month")
        ax.set_title("Delayed transfers of care (DTOC) rate against the target")
        ax.legend(loc="upper left", ncols=2)
        return style.save(fig, charts_dir, "dtoc_rate")["png"]


def waiting_services(run: RunData) -> list[str]:
    """Services with a ``<service>_waiting`` column in daily.csv, in scenario order."""
    names = list((run.scenario.get("services") or {}).keys())
    return [n for n in names if f"{n}_waiting" in run.daily.columns]


def service_label(scenario: dict[str, Any], name: str) -> str:
    """Plain-words name of a service: its label, else the pathway(s) using it and what it is."""
    spec = (scenario.get("services") or {}).get(name, {})
    if spec.get("label"):
        return str(spec["label"])
    settings = (scenario.get("pathways") or {}).get("settings") or {}
    users = [p for p, s in settings.items() if (s or {}).get("service") == name]
    words = KIND_WORDS.get(spec.get("kind") or "", name)
    return f"{'/'.join(users)} {words}" if users else words


def in_sentence(label: str) -> str:
    """Lower-case a label's first letter for use mid-sentence, unless it is an acronym."""
    return label[:1].lower() + label[1:] if label[1:2].islower() else label


def queues_chart(run: RunData, charts_dir: Path) -> Path | None:
    """People waiting for each downstream service per day (people): mean with 95% band."""
    names = waiting_services(run)
    if not names:
        return None
    with style.chart(run.footer(), height_in=5.4) as (fig, (ax,)):
        for i, name in enumerate(names):
            band = across_replications(run.daily, "date", f"{name}_waiting")
            look = style.series_style(i)
            ax.fill_between(band["date"], band["low"], band["high"], color=look["color"], alpha=0.14,
                            linewidth=0)
            label = textwrap.fill(service_label(run.scenario, name), 44)
            ax.plot(band["date"], band["mean"], label=label, **look)
            steps = capacity_steps(run.daily, capacity_column(name))
            if steps is not None:  # dotted lines at the dates the service's places change
                for date, value in _changes(steps, capacity_column(name)):
                    ax.axvline(date, color=look["color"], linewidth=0.9, linestyle=":")  # type: ignore[arg-type]  # dates
                    ax.annotate(f"{name}: {value:,.0f} places", xy=(date, 0), xytext=(3, 3),
                                textcoords="offset points", fontsize=8, color=look["color"], rotation=90)
        ax.set_ylim(bottom=0)
        _date_axis(ax)
        ax.set_ylabel("People waiting (daily average)")
        ax.set_xlabel("Date")
        ax.set_title("People waiting for a place downstream")
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.16), ncols=2 if len(names) > 2 else len(names),
                  title="Waiting for (line: mean over replications; shading: 95% CI of the mean)",
                  title_fontproperties={"size": 9})
        return style.save(fig, charts_dir, "downstream_queues")["png"]
