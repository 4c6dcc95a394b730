"""Small multiples of a system-form run, one panel per trust or per borough, on shared
axes so places compare at a glance: acute occupancy per trust (daily.csv
``<trust>_acute_occupied``), the monthly DTOC rate per borough (monthly_delays.csv
borough rows over the borough's adults 18+) and delayed bed days by reason per borough
(summary.json ``by_borough``). Each function saves PNG and SVG under ``charts_dir``
and returns the PNG path, or ``None`` when the run has nothing to draw.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from d2asim.report import style
from d2asim.report.captions import entry
from d2asim.report.charts import capacity_steps, occupancy_panel
from d2asim.report.data import RunData, across_replications
from d2asim.report.delay_charts import ORG_ORDER, REASON_WORDS, months, reason_orgs

PER_100K = 100_000
PANEL_IN = 2.5  # height of one row of panels, inches


def trusts(run: RunData) -> dict[str, dict[str, Any]]:
    """The run's trusts by name (their resolved ``acute`` blocks)."""
    return dict(run.scenario.get("trusts") or {})


def rate_boroughs(run: RunData) -> dict[str, int]:
    """Boroughs with an adult (18+) population, by name: the denominators of their DTOC rates."""
    found = {}
    for name, borough in (run.scenario.get("boroughs") or {}).items():
        adults = (borough.get("population") or {}).get("adults_18plus")
        if adults:
            found[name] = int(adults)
    return found


def _grid(n: int) -> tuple[int, int]:
    """Rows and columns of panels for ``n`` places (two columns from three places)."""
    cols = 1 if n <= 2 else 2
    return math.ceil(n / cols), cols


def trust_occupancy_chart(run: RunData, charts_dir: Path) -> Path | None:
    """Per trust: acute beds occupied per day (mean, 95% band) against its capacity."""
    places = trusts(run)
    if not places:
        return None
    with style.chart(run.footer(), nrows=len(places), height_in=0.9 + PANEL_IN * len(places),
                     sharex=True) as (fig, axes):  # fmt: skip
        for i, (ax, (name, acute)) in enumerate(zip(axes, places.items(), strict=True)):
            band = across_replications(run.daily, "date", f"{name}_acute_occupied")
            column = f"{name}_acute_beds"
            occupancy_panel(ax, band, float(acute["beds"]), float((acute.get("escalation") or {}).get("beds") or 0),
                            capacity_steps(run.daily, column), column, legend=i == 0)
            ax.set_title(f"{name}: {int(acute['beds']):,} core beds", fontsize=10)
            ax.set_ylabel("Beds occupied")
            ax.tick_params(labelbottom=True)
        axes[-1].set_xlabel("Date")
        fig.suptitle("How full were the acute beds of each trust?", x=0.01, ha="left", fontweight="bold")
        return style.save(fig, charts_dir, "acute_occupancy_by_trust")["png"]


def borough_monthly_rates(run: RunData) -> dict[str, pd.DataFrame]:
    """Per borough: the monthly DTOC rate (delayed bed days of its residents in acute
    beds and DTOC-counted services / days in the month / adults 18+ x 100,000) as mean
    and 95% CI over replications (``month``, ``mean``, ``low``, ``high``, ``days``)."""
    delays = run.monthly_delays[run.monthly_delays["dimension"] == "borough"]
    days = run.monthly.groupby("month")["days"].first()
    full = pd.MultiIndex.from_product([run.replication_ids, months(run)], names=["replication", "month"])
    out = {}
    for name, adults in rate_boroughs(run).items():
        mine = delays[delays["value"] == name].groupby(["replication", "month"])["delayed_bed_days"].sum()
        frame = mine.reindex(full, fill_value=0.0).rename("delayed").reset_index()
        frame["rate"] = frame["delayed"] / frame["month"].map(days) / adults * PER_100K
        band = across_replications(frame, "month", "rate")
        band["days"] = band["month"].map(days).to_numpy()
        out[name] = band
    return out


def borough_dtoc_chart(run: RunData, charts_dir: Path, target: float) -> Path | None:
    """Per borough: DTOC beds per 100,000 adults per month (mean, 95% CI) against ``target``."""
    rates = borough_monthly_rates(run)
    if not rates:
        return None
    rows, cols = _grid(len(rates))
    top = max(max(float(r["high"].max()) for r in rates.values()), target) * 1.18
    with style.chart(run.footer(), nrows=rows, ncols=cols, height_in=0.9 + PANEL_IN * rows, sharex=True,
                     sharey=True) as (fig, axes):  # fmt: skip
        for i, (ax, (name, band)) in enumerate(zip(axes, rates.items(), strict=False)):
            x = np.arange(len(band))
            err = np.vstack([band["mean"] - band["low"], band["high"] - band["mean"]])
            look = style.series_style(0)
            ax.errorbar(x, band["mean"], yerr=err, color=look["color"], marker="o", markersize=4, capsize=2.5,
                        linewidth=1.6, label="Simulated rate: mean and 95% CI")
            ax.axhline(target, color=style.VERMILLION, linestyle="--", linewidth=1.3,
                       label=f"Target: {target:g} per 100,000 adults")
            style.month_ticks(ax, list(band["month"]))
            ax.tick_params(labelbottom=True)
            ax.set_ylim(0, top)
            ax.set_title(name, fontsize=10)
            if i % cols == 0:
                ax.set_ylabel("Delayed patients a day\nper 100,000 adults")
            if i == 0:
                ax.legend(loc="upper left", fontsize=8)
        for ax in axes[len(rates):]:
            ax.set_visible(False)
        fig.suptitle("DTOC rate of each borough's residents, any trust or service", x=0.01, ha="left",
                     fontweight="bold")
        return style.save(fig, charts_dir, "dtoc_rate_by_borough")["png"]


def borough_reasons(run: RunData) -> dict[str, dict[str, dict[str, float]]]:
    """Per borough (summary.json ``by_borough``): reason code -> ``{mean, ci_low, ci_high}``
    of its residents' delayed bed days over the period."""
    out = {}
    for name, metrics in (run.summary.get("by_borough") or {}).items():
        codes = metrics.get("delayed_bed_days_by_reason") or {}
        found = {c: e for c in codes if (e := entry(metrics, f"delayed_bed_days_by_reason.{c}"))}
        out[name] = found
    return out


def borough_reasons_chart(run: RunData, charts_dir: Path) -> Path | None:
    """Per borough: delayed bed days over the period by reason code (mean, 95% CI),
    coloured by the organisation responsible, on one shared scale (bed days)."""
    reasons = borough_reasons(run)
    if not reasons or not any(reasons.values()):
        return None
    orgs = reason_orgs(run)
    rank = {org: i for i, org in enumerate((*ORG_ORDER, "mixed"))}
    codes = sorted({c for r in reasons.values() for c in r}, key=lambda c: (rank.get(orgs.get(c, "mixed"), 9), c))
    rows, cols = _grid(len(reasons))
    with style.chart(run.footer(), nrows=rows, ncols=cols, height_in=0.9 + (0.5 + 0.28 * len(codes)) * rows,
                     sharex=True) as (fig, axes):  # fmt: skip
        y = np.arange(len(codes))
        for i, (ax, (name, found)) in enumerate(zip(axes, reasons.items(), strict=False)):
            means = np.array([found[c]["mean"] if c in found else 0.0 for c in codes])
            low = np.array([found[c]["ci_low"] if c in found else 0.0 for c in codes])
            high = np.array([found[c]["ci_high"] if c in found else 0.0 for c in codes])
            colours = [style.ORG_STYLE.get(orgs.get(c, "mixed"), (style.GREY, "", ""))[0] for c in codes]
            hatches = [style.ORG_STYLE.get(orgs.get(c, "mixed"), (style.GREY, "", ""))[1] for c in codes]
            ax.barh(y, means, color=colours, hatch=hatches, edgecolor="white", linewidth=0.6, height=0.7)
            ax.errorbar(means, y, xerr=np.vstack([means - low, high - means]), fmt="none", ecolor=style.BLACK,
                        capsize=2.5, linewidth=1.0)
            ax.set_yticks(y, [f"{c} {REASON_WORDS.get(c, (c, c))[1]}" for c in codes] if i % cols == 0 else
                          [""] * len(codes))  # fmt: skip
            ax.invert_yaxis()
            ax.grid(axis="x")
            ax.grid(axis="y", visible=False)
            ax.set_title(name, fontsize=10)
            ax.tick_params(labelbottom=True)
            ax.set_xlim(left=0)
        for ax in axes[len(reasons):]:
            ax.set_visible(False)
        for ax in axes[(rows - 1) * cols:]:
            ax.set_xlabel("Delayed bed days over the period")
        handles = [style.ORG_STYLE[o] for o in ORG_ORDER if any(orgs.get(c) == o for c in codes)]
        from matplotlib.patches import Patch

        fig.legend([Patch(facecolor=c, hatch=h, edgecolor="white") for c, h, _ in handles],
                   [label for _, _, label in handles], loc="outside upper right", ncols=len(handles), fontsize=8,
                   title="Bar colour: organisation responsible", title_fontsize=8)
        fig.suptitle("Delayed bed days of each borough's residents, by reason", x=0.01, ha="left",
                     fontweight="bold")
        return style.save(fig, charts_dir, "delays_by_reason_by_borough")["png"]
