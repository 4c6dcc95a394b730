"""The calibration report: ``report.md`` and house-style charts (``charts/*.png`` and SVG).

One chart per target: the observed monthly means (per day) against the simulated mean
and the 5-95% band across replications of each month's mean, with the fit and test
periods marked; targets observed daily get a second, day-by-day chart.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib.dates as mdates
import pandas as pd
from matplotlib.axes import Axes

from d2asim.report import style
from d2asim.report.markdown import md_table

CHARTS_DIR = "charts"


def footer(document: dict[str, Any]) -> str:
    opt = document["optimiser"]
    return (f"Calibration {document['name']} · trust {document['trust']} · {opt['final_replications']} "
            f"replications · seed {opt['seed']} · d2asim {document['d2asim_version']} · run {document['created'][:10]}")


def _describe(target: dict[str, Any]) -> str:
    """How a model quantity is measured, in words."""
    if target.get("at_hour") is not None:
        hour = target["at_hour"]
        how = f"count at {int(hour):02d}:{int(round(hour % 1 * 60)) % 60:02d} each day"
    elif target["model"].startswith(("admissions", "discharges", "deaths")):
        how = "events a day"
    else:
        how = "time average over each day"
    if target.get("min_los_days") is not None:
        how += f", stays of {target['min_los_days']:g}+ days only"
    return f"`{target['model']}` ({how})"


def _y_range(ax: Axes, rows: pd.DataFrame) -> None:
    """From zero, unless every value sits high above it (beds occupied): then zoom in,
    leaving room at the bottom for the legend."""
    values = pd.concat([rows["sim_p5"], rows["sim_p95"], rows["observed"]]).dropna()
    low, high = float(values.min()), float(values.max())
    if low > 0.6 * high:
        pad = high - low or 1.0
        ax.set_ylim(low - 0.35 * pad, high + 0.08 * pad)
    else:
        ax.set_ylim(bottom=0)


def _mark_periods(ax: Axes, document: dict[str, Any], to_x: Any) -> None:
    """Shade the test period and label both periods at the top of the axes."""
    fit, test = document["fit_period"], document["test_period"]
    ax.axvspan(to_x(fit["start"], False), to_x(fit["end"], True), color=style.SKY, alpha=0.08, linewidth=0)
    ax.text(to_x(fit["start"], False), 1.0, " fit period", transform=ax.get_xaxis_transform(), fontsize=8,
            color=style.GREY, va="top")
    if test:
        ax.axvspan(to_x(test["start"], False), to_x(test["end"], True), color=style.ORANGE, alpha=0.10, linewidth=0)
        ax.text(to_x(test["start"], False), 1.0, " test period (not seen by the fit)",
                transform=ax.get_xaxis_transform(), fontsize=8, color=style.GREY, va="top")


def monthly_chart(rows: pd.DataFrame, target: str, document: dict[str, Any], charts_dir: Path) -> str:
    """Observed vs simulated monthly means of one target; returns the chart's stem."""
    months = rows["month"].tolist()
    x = list(range(len(months)))

    def to_x(month: str, end: bool) -> float:
        inside = [i for i, m in enumerate(months) if (m <= month if end else m >= month)]
        return (max(inside) + 0.5) if end and inside else (min(inside) - 0.5 if inside else 0.0)

    look = style.series_style(0)
    with style.chart(footer(document)) as (fig, (ax,)):
        _mark_periods(ax, document, to_x)
        ax.fill_between(x, rows["sim_p5"], rows["sim_p95"], color=look["color"], alpha=0.22, linewidth=0,
                        label="Simulated: 5-95% of replications")
        ax.plot(x, rows["sim_mean"], label="Simulated: mean", **look)
        ax.plot(x, rows["observed"], color=style.BLACK, linestyle="none", marker="o", markersize=4,
                label="Observed")
        label = document["targets"][target].get("label") or target
        ax.set_title(f"{label}: observed and simulated, monthly means")
        ax.set_ylabel("per day")
        _y_range(ax, rows)
        style.month_ticks(ax, months)
        ax.legend(loc="lower left", ncols=3)
        style.save(fig, charts_dir, f"{target}_monthly")
    return f"{target}_monthly"


def daily_chart(rows: pd.DataFrame, target: str, document: dict[str, Any], charts_dir: Path) -> str:
    """Observed vs simulated day by day (targets observed daily)."""
    dates = pd.to_datetime(rows["date"])

    def to_x(month: str, end: bool) -> pd.Timestamp:
        first = pd.Timestamp(month + "-01")
        return first + pd.offsets.MonthEnd(1) if end else first

    look = style.series_style(0)
    with style.chart(footer(document)) as (fig, (ax,)):
        _mark_periods(ax, document, to_x)
        ax.fill_between(dates, rows["sim_p5"], rows["sim_p95"], color=look["color"], alpha=0.22, linewidth=0,
                        label="Simulated: 5-95% of replications")
        ax.plot(dates, rows["sim_mean"], label="Simulated: mean", **{**look, "linewidth": 1.0})
        ax.plot(dates, rows["observed"], color=style.BLACK, linestyle="none", marker=".", markersize=2.5,
                label="Observed")
        label = document["targets"][target].get("label") or target
        ax.set_title(f"{label}: observed and simulated, each day")
        ax.set_ylabel("per day")
        _y_range(ax, rows)
        locator = mdates.AutoDateLocator(minticks=4, maxticks=13)
        ax.xaxis.set_major_locator(locator)
        ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator, show_offset=False))
        ax.legend(loc="lower left", ncols=3)
        style.save(fig, charts_dir, f"{target}_daily")
    return f"{target}_daily"


def _f(value: Any, digits: int = 3) -> str:
    return "–" if value is None else f"{value:.{digits}g}"


def _data_md(document: dict[str, Any]) -> str:
    rows = []
    for file, info in document["data"].items():
        r, bad = info["rows"], document["bad_rows"].get(file, {})
        rows.append([file, ", ".join(info["series"]), info["frequency"], str(r.get("read", "")),
                     str(r.get("filtered_out", "")), str(r.get("outside_periods", "")), str(r.get("used", "")),
                     ", ".join(f"{k} {v}" for k, v in bad.items()) or "none"])
    for name, bad in document["bad_rows"].items():
        if name.startswith("derived:"):
            rows.append([name, "", "", "", "", "", "", ", ".join(f"{k} {v}" for k, v in bad.items())])
    return md_table(["File", "Series", "Frequency", "Rows read", "Other organisations", "Outside periods",
                     "Used", "Bad rows by reason"], rows, right={3, 4, 5, 6})


def _parameters_md(document: dict[str, Any]) -> str:
    rows = [[name, p["label"], _f(p["start"], 4), _f(p["value"], 4), _f(p["se"]), _f(p["se_curvature"]),
             _f(p["refit_sd"]), f"{p['ci90'][0]:.4g} – {p['ci90'][1]:.4g}",
             f"{p['bounds'][0]:g} – {p['bounds'][1]:g}", "yes" if p["identified"] else "weakly"]
            for name, p in document["parameters"].items()]
    return md_table(["Parameter", "What it is", "Start", "Fitted", "SE", "SE (curvature)", "SD (refits)",
                     "90% interval", "Bounds", "Identified"], rows, right={2, 3, 4, 5, 6})


def _scores_md(scores: dict[str, Any], naive: bool, unit: str = "Months") -> str:
    header = ["Target", unit, "MAE", *(["Naive MAE"] if naive else []), "Bias (sim − obs)", "90% band coverage"]
    rows = [[t, str(m["n"]), _f(m.get("mae")), *([_f(m.get("naive_mae"))] if naive else []), _f(m.get("bias")),
             f"{m['coverage_90']:.0%}" if "coverage_90" in m else "–"] for t, m in scores.items()]
    return md_table(header, rows, right=set(range(1, len(header))))


def write_report(folder: Path, document: dict[str, Any], table: pd.DataFrame) -> Path:
    """Write ``report.md`` and the charts into the calibration run folder."""
    charts_dir = folder / CHARTS_DIR
    daily = pd.read_csv(folder / "series_daily.csv") if (folder / "series_daily.csv").is_file() else None
    figures = []
    for target, rows in table.groupby("target", sort=False):
        figures.append(monthly_chart(rows.reset_index(drop=True), str(target), document, charts_dir))
        if daily is not None:
            mine = daily[daily["target"] == target]
            if mine["observed"].notna().any():
                figures.append(daily_chart(mine.reset_index(drop=True), str(target), document, charts_dir))
    opt, obj = document["optimiser"], document["objective"]
    fit, test = document["fit_period"], document["test_period"]
    targets = [[t, spec.get("observed") or t, _describe(spec), _f(spec["weight"])]
               for t, spec in document["targets"].items()]
    parts = [
        f"# Calibration: {document['trust']} ({document['name']})",
        f"Config `{document['config']}` · base scenario `{document['base_scenario']}` · fit period "
        f"{fit['start']}..{fit['end']}" + (f" · test period {test['start']}..{test['end']}" if test else "")
        + f" · run time {document.get('run_seconds', 0):.0f} s",
        "## 1. Data",
        "Rows of other organisations and rows dated outside the fit and test periods are not errors. "
        "Bad rows are counted once per reason; they are left out, never repaired.",
        _data_md(document),
        "## 2. What is matched",
        "Each target's observed monthly mean per day against the same model quantity, simulated over the same "
        "months. SitRep counts are end-of-day or 08:00 snapshots, so the model is counted at the same hour "
        "rather than averaged over the day.",
        md_table(["Target", "Observed series", "Model quantity", "Weight"], targets, right={3}),
        "## 3. Fit",
        f"Objective ({obj['definition']}): start "
        f"{obj['start']:.4g}, found {obj['found']:.4g} after {opt['evaluations']} evaluations of "
        f"{opt['replications']} replications each (common random numbers, seed {opt['seed']}); "
        f"{obj['final']:.4g} re-simulated with {opt['final_replications']} replications. Search: "
        f"{opt['design_points']} Sobol points, then {opt['method']} (scipy.optimize) for up to "
        f"{opt['max_evaluations']} evaluations" + (" (--quick)." if opt["quick"] else "."),
        _parameters_md(document),
        f"Uncertainty: {document['uncertainty_method']}",
        "Fit period, monthly:",
        _scores_md(document["fit"], naive=False),
    ]
    drifting = [f"{t} ({d['per_year']:+.3g} a year, {d['relative_per_year']:+.0%})"
                for t, d in document.get("simulated_drift", {}).items() if d["warning"]]
    if drifting:
        parts.append("**Warning: the simulated series drift** although every input is constant: "
                     + ", ".join(drifting) + ". The model has not settled: a queue growing without limit (demand above "
                     "capacity) or too short a warm-up. Its level then depends on the length of the run, and a "
                     "backtest can look good or bad for the wrong reason.")
    if document.get("backtest"):
        parts += ["## 4. Backtest", f"The fitted scenario predicts {test['start']}..{test['end']}, which the fit "
                  "did not see. Naive forecast: the fit period's observed mean.",
                  _scores_md(document["backtest"], naive=True)]
        if document.get("backtest_daily"):
            parts += ["Day by day (targets observed daily):",
                      _scores_md(document["backtest_daily"], naive=True, unit="Days")]
    parts.append("## 5. Charts")
    for i, stem in enumerate(figures, start=1):
        parts += [f"![{stem}]({CHARTS_DIR}/{stem}.png)", f"**Figure {i}.** {stem.replace('_', ' ')}."]
    parts.append(f"---\n{footer(document)}")
    path = folder / "report.md"
    path.write_text("\n\n".join(parts) + "\n")
    return path
