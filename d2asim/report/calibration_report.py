"""The calibration report: ``report.md`` (and ``report.html`` for ``d2asim report`` and
``--report``) and house-style charts (``charts/*.png`` and SVG).

One chart per target: the observed monthly means (per day) against the simulated mean
and the 5-95% band across replications of each month's mean, with the fit and test
periods marked; targets observed daily get a second, day-by-day chart. The text is one
:class:`d2asim.report.document.Document`, so report.md and report.html say the same;
every score shown is calibration.json's value to three significant figures.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import matplotlib.dates as mdates
import pandas as pd
from matplotlib.axes import Axes

from d2asim.report import style
from d2asim.report.captions import Caption
from d2asim.report.document import Block, Code, Document, Figure, Heading, Para, Table, render_html, render_markdown
from d2asim.report.owned import report_files, write_text
from d2asim.scenario.errors import ScenarioError

CHARTS_DIR = "charts"
LOSS_WARNING_SHARE = 0.10  # a target missing more than this share of its days or months is flagged


def data_loss_text(loss: dict[str, dict[str, object]]) -> list[str]:
    """One sentence per target whose data loss is above the warning share."""
    lines = []
    for target, entry in loss.items():
        if not entry["warning"]:
            continue
        parts = [f"{entry['months_lost_share']:.0%} of its months ({entry['valid_months']} of {entry['months']} "
                 "valid)"]
        if "days" in entry:
            parts.insert(0, f"{entry['days_lost_share']:.0%} of its days ({entry['valid_days']} of {entry['days']} "
                            "valid)")
        parts_text = " and ".join(parts)
        lines.append(f"{target} has no valid value for {parts_text} in the fit and test periods, more than the "
                     f"{LOSS_WARNING_SHARE:.0%} d2asim accepts without a warning")
    return lines


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
    return f"{target['model']} ({how})"


def _y_range(ax: Axes, rows: pd.DataFrame) -> None:
    """From zero, unless every value sits high above it (beds occupied): then zoom in."""
    values = pd.concat([rows["sim_p5"], rows["sim_p95"], rows["observed"]]).dropna()
    low, high = float(values.min()), float(values.max())
    if low > 0.6 * high:
        pad = high - low or 1.0
        ax.set_ylim(low - 0.08 * pad, high + 0.08 * pad)
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
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.16), ncols=3)
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
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.16), ncols=3)
        style.save(fig, charts_dir, f"{target}_daily")
    return f"{target}_daily"


def _f(value: Any, digits: int = 3) -> str:
    return "–" if value is None else f"{value:.{digits}g}"


def _signed(value: Any) -> str:
    return "–" if value is None else f"{value:+.3g}"


def _pct(value: Any) -> str:
    return "–" if value is None else f"{value:.0%}"


def _period(p: dict[str, Any] | None) -> str:
    return f"{p['start']}..{p['end']}" if p else "none"


def _bad(bad: dict[str, int]) -> str:
    return ", ".join(f"{k} {v}" for k, v in bad.items()) or "none"


def data_table(document: dict[str, Any]) -> Table:
    """Each data file: its series, rows read / of other organisations / outside the periods
    / used, and the bad rows by reason (derived series' bad rows follow)."""
    rows = []
    for file, info in document["data"].items():
        r = info["rows"]
        rows.append([file, ", ".join(info["series"]), info["frequency"], str(r.get("read", "")),
                     str(r.get("filtered_out", "")), str(r.get("outside_periods", "")), str(r.get("used", "")),
                     _bad(document["bad_rows"].get(file, {}))])
    for name, bad in document["bad_rows"].items():
        if name.startswith("derived:"):
            rows.append([name, "", "", "", "", "", "", _bad(bad)])
    return Table(["File", "Series", "Frequency", "Rows read", "Other organisations", "Outside periods",
                  "Used", "Bad rows by reason"], rows, numeric={3, 4, 5, 6}, css="calibration-data",
                 keys=[r[0] for r in rows])


def parameters_table(document: dict[str, Any]) -> Table:
    rows = [[name, p["label"], _f(p["start"], 4), _f(p["value"], 4), _f(p["se"]), _f(p["se_curvature"]),
             _f(p["refit_sd"]), f"{p['ci90'][0]:.4g} – {p['ci90'][1]:.4g}",
             f"{p['bounds'][0]:g} – {p['bounds'][1]:g}", "yes" if p["identified"] else "weakly"]
            for name, p in document["parameters"].items()]
    return Table(["Parameter", "What it is", "Start", "Fitted", "SE", "SE (curvature)", "SD (refits)",
                  "90% interval", "Bounds", "Identified"], rows, numeric={2, 3, 4, 5, 6, 7, 8},
                 css="calibration-parameters", keys=list(document["parameters"]))


NAIVE_COLUMNS = ["Naive MAE (fit mean)", "Best naive", "Best naive MAE", "MASE"]


def scores_table(scores: dict[str, Any], naive: bool, unit: str = "Months", key: str = "") -> Table:
    """Per target: n, MAE, (naive MAEs and MASE), bias, 80% and 90% band coverage, from calibration.json."""
    header = ["Target", unit, "MAE", *(NAIVE_COLUMNS if naive else []), "Bias (sim − obs)", "80% band coverage",
              "90% band coverage"]
    rows = [[t, str(m["n"]), _f(m.get("mae")),
             *([_f(m.get("naive_mae")), str(m.get("best_naive", "–")), _f(m.get("best_naive_mae")),
                _f(m.get("mase"))] if naive else []),
             _f(m.get("bias")), _pct(m.get("coverage_80")), _pct(m.get("coverage_90"))] for t, m in scores.items()]
    return Table(header, rows, numeric=set(range(1, len(header))) - ({4} if naive else set()),
                 css="calibration-scores",
                 keys=[f"{key}:{t}" for t in scores])


def chart_caption(target: str, kind: str, document: dict[str, Any]) -> Caption:
    """The finding of one chart in numbers: the backtest scores (test period), else the
    fit-period scores, of ``target`` for the ``monthly`` or ``daily`` chart."""
    label = document["targets"][target].get("label") or target
    unit = "months" if kind == "monthly" else "days"
    test = (document.get("backtest") if kind == "monthly" else document.get("backtest_daily")) or {}
    m = test.get(target) or {}
    if m.get("n"):
        finding = (f"In the test period ({_period(document['test_period'])}) the simulated {label} had a mean "
                   f"absolute error of {_f(m['mae'])} (naive forecast {_f(m['naive_mae'])}; best naive, "
                   f"{m.get('best_naive', '–')}, {_f(m.get('best_naive_mae'))}: MASE {_f(m.get('mase'))}) and a "
                   f"bias of {_signed(m['bias'])}, and its 90% band covered {_pct(m['coverage_90'])} of {m['n']} "
                   f"{unit}.")
    elif kind == "monthly" and (f := document.get("fit", {}).get(target, {})).get("n"):
        finding = (f"Over the fit period ({_period(document['fit_period'])}) the simulated {label} had a mean "
                   f"absolute error of {_f(f['mae'])} and a bias of {_signed(f['bias'])}, and its 90% band covered "
                   f"{_pct(f['coverage_90'])} of {f['n']} months.")
    else:
        finding = f"Observed and simulated {label}, {'monthly means' if kind == 'monthly' else 'each day'}."
    reps = document["optimiser"]["final_replications"]
    what = "monthly mean per day" if kind == "monthly" else "daily value"
    bands = document.get("predictive_bands", {})
    level = bands.get("level_change_sd", {}).get(target)
    spread = (f" and, after the fit period, by how far trusts' levels move (relative sd {level:.1%} a half year)"
              if level else "")
    note = (f"Points: observed {what}; line: simulated mean of {reps} replications; band: 5–95% of the "
            f"{bands.get('members', reps)} members of the predictive ensemble's "
            f"{'monthly means' if kind == 'monthly' else 'daily values'} (replications and parameter draws), each "
            f"spread by the model discrepancy{spread}; orange shading: the test period.")
    return Caption(finding, note)


def reproduce_command(document: dict[str, Any]) -> str:
    """The ``d2asim calibrate`` command that made the run folder (paths relative to the run folder)."""
    parts = [document.get("command") or f"d2asim calibrate {document['config']}"]
    if document["optimiser"].get("quick"):
        parts.append("--quick")
    if document.get("scenario_out"):
        parts.append(f"--out {document['scenario_out']}")
    return " ".join(parts)


def findings(document: dict[str, Any]) -> list[str]:
    obj, out = document["objective"], []
    if document.get("verdict"):
        out.append(f"**{document['verdict']['sentence']}**")
    out.append(f"The fit lowered the objective from {obj['start']:.4g} to {obj['found']:.4g} "
               f"({obj['final']:.4g} re-simulated with {document['optimiser']['final_replications']} replications).")
    backtest = {t: m for t, m in (document.get("backtest") or {}).items() if m.get("n")}
    if backtest:
        better = [t for t, m in backtest.items() if m["mae"] < m.get("best_naive_mae", m["naive_mae"])]
        covered = [m["coverage_90"] for m in backtest.values() if m.get("coverage_90") is not None]
        text = (f"Backtest {_period(document['test_period'])}: the fitted scenario beat the best naive forecast "
                f"(MASE below 1) for {len(better)} of {len(backtest)} targets")
        if covered:
            text += f"; its 90% band covered {min(covered):.0%}–{max(covered):.0%} of the test months"
        out.append(text + ".")
    weak = [n for n, p in document["parameters"].items() if not p["identified"]]
    if weak:
        out.append(f"Weakly identified by these targets: {', '.join(f'`{n}`' for n in weak)}.")
    lossy = [t for t, d in document.get("data_loss", {}).items() if d["warning"]]
    if lossy:
        out.append(f"**Warning:** {', '.join(lossy)} miss more than {LOSS_WARNING_SHARE:.0%} of their days or months "
                   "(see 1. Data).")
    drifting = [t for t, d in document.get("simulated_drift", {}).items() if d["warning"]]
    if drifting:
        out.append(f"**Warning:** the simulated {', '.join(drifting)} drift although every input is constant "
                   "(see 3. Fit).")
    stable = document.get("stability")
    if stable and not stable["stable"]:
        failing = {name: n for name, n in stable.get("replications_failing_by_queue", {}).items() if n}
        reruns = stable.get("candidates_rerun", 1)
        out.append("**Warning:** the fitted scenario's queues grow ("
                   + ", ".join(f"{name.replace('_', ' ')} in {n} of {stable['replications']} replications"
                               for name, n in failing.items())
                   + f"; admission queue {stable['queue_first_month']:.3g} -> {stable['queue_last_month']:.3g} "
                   "patients)"
                   + (f", and so did the next {reruns - 1} best search points' reruns" if reruns > 1 else "")
                   + ": the fit is not usable as it stands.")
    elif stable and stable.get("chosen_rank"):
        out.append(f"The search's best point{'s' if stable['chosen_rank'] > 1 else ''} failed the stability check "
                   f"on rerun; the fitted scenario is the search's number {stable['chosen_rank'] + 1} (objective "
                   f"{stable['candidate_objectives'][stable['chosen_rank']]:.4g} against "
                   f"{stable['candidate_objectives'][0]:.4g}), the best whose rerun is stable.")
    return out


def calibration_document(document: dict[str, Any], figures: list[tuple[str, Path]]) -> Document:
    """The report of a calibration run folder: ``document`` is calibration.json,
    ``figures`` the chart stems and their PNG files."""
    opt, obj = document["optimiser"], document["objective"]
    fit, test = document["fit_period"], document["test_period"]
    targets = [[t, spec.get("observed") or t, _describe(spec), _f(spec["weight"])]
               for t, spec in document["targets"].items()]
    blocks: list[Block] = [
        Heading("1. Data"),
        Para(f"Trust {document['trust']}; fit period {_period(fit)}, test period {_period(test)}. Rows of other "
             "organisations and rows dated outside the fit and test periods are not errors. Bad rows are counted "
             "once per reason; they are left out, never repaired. Files are relative to the config's folder."),
        data_table(document),
        *[Para(f"**Warning: {text}.**") for text in data_loss_text(document.get("data_loss", {}))],
        Heading("2. What is matched"),
        Para("Each target's observed monthly mean per day against the same model quantity, simulated over the same "
             "months. SitRep counts are end-of-day or 08:00 snapshots, so the model is counted at the same hour "
             "rather than averaged over the day."),
        Table(["Target", "Observed series", "Model quantity", "Weight"], targets, numeric={3},
              keys=list(document["targets"])),
        Heading("3. Fit"),
        Para(f"Objective ({obj['definition']}): start {obj['start']:.4g}, found {obj['found']:.4g} after "
             f"{opt['evaluations']} evaluations of {opt['replications']} replications each (common random "
             f"numbers, seed {opt['seed']}); {obj['final']:.4g} re-simulated with {opt['final_replications']} "
             f"replications. Search: {opt['design_points']} Sobol points, then {opt['method']} (scipy.optimize) "
             f"for up to {opt['max_evaluations']} evaluations" + (" (--quick)." if opt["quick"] else ".")),
        Para("Fitted parameters, with the standard error (SE) and the 90% interval (see 6. Method):"),
        parameters_table(document),
        Para("Fit period, monthly:"),
        scores_table(document["fit"], naive=False, key="fit"),
    ]
    drifting = [f"{t} ({d['per_year']:+.3g} a year, {d['relative_per_year']:+.0%})"
                for t, d in document.get("simulated_drift", {}).items() if d["warning"]]
    if drifting:
        blocks.append(Para("**Warning: the simulated series drift** although every input is constant: "
                           + ", ".join(drifting) + ". The model has not settled: a queue growing without limit "
                           "(demand above capacity) or too short a warm-up. Its level then depends on the length of "
                           "the run, and a backtest can look good or bad for the wrong reason."))
    blocks.append(Heading("4. Backtest"))
    if document.get("backtest"):
        if document.get("verdict"):
            verdict = document["verdict"]
            blocks.append(Para(f"**Verdict.** {verdict['sentence']} (Rule: {verdict['rule']}.)"))
        blocks += [Para(f"The fitted scenario predicts {_period(test)}, which the fit did not see. Naive forecasts: "
                        "the fit period's observed mean (fit_mean), the last observed fit month carried forward "
                        "(last_month) and the value 12 months before (same_month_last_year); day by day also the "
                        "last observed day (last_value) and the mean of the fit period's last 4 weeks "
                        "(mean_last_4_weeks). MASE = MAE / the best naive MAE (below 1: better than every naive "
                        "forecast). Coverage: the share of months whose observed value lies in the 10–90% (80%) or "
                        "5–95% (90%) band of the predictive ensemble."),
                   scores_table(document["backtest"], naive=True, key="backtest")]
        if anchored := {t: m for t, m in document.get("backtest_anchored", {}).items() if m.get("n")}:
            blocks += [Para("Anchored at the origin (an intercept correction, not part of the verdict): the same "
                            "forecast moved by the model's error in the last observed fit month, i.e. that month's "
                            "observed value plus the model's predicted change since then. Below 1, MASE says the "
                            "model knows where the series goes next better than carrying the last month forward."),
                       scores_table(anchored, naive=True, key="backtest_anchored")]
        if document.get("backtest_daily"):
            blocks += [Para("Day by day (targets observed daily):"),
                       scores_table(document["backtest_daily"], naive=True, unit="Days", key="backtest_daily")]
    else:
        blocks.append(Para("No test period: the config sets none, so there is no backtest.", note=True))
    blocks.append(Heading("5. Charts"))
    for stem, png in figures:
        target, _, kind = stem.rpartition("_")
        label = document["targets"][target].get("label") or target
        blocks.append(Figure(png, f"{CHARTS_DIR}/{stem}.png",
                             f"{label}: observed and simulated {'monthly means' if kind == 'monthly' else 'each day'}"
                             ", with the simulated 5–95% band", chart_caption(target, kind, document), stem))
    blocks.append(Heading("6. Method and assumptions"))
    blocks += [
        Para("The base scenario"
             + (f", with the config's fixed overrides ({', '.join(f'`{k}`' for k in document['fixed_overrides'])}),"
                if document.get("fixed_overrides") else "")
             + " is simulated with the parameters set by the search; every other input stays as in "
             f"`{document['base_scenario']}` and is held constant over the fit and test periods (no trend or "
             "seasonality in demand or capacity)."),
        Para("Each target is compared as a monthly mean per day; the objective weights the targets as in section 2 "
             + ("and divides each month's error by the target's month-to-month noise (the von Neumann estimate "
                "sqrt(mean squared month-to-month change / 2) of its observed fit-period series, at least 1% of its "
                "mean), so that a smooth stock such as occupancy counts as much as a noisy flow"
                if document.get("error_scales", {}).get("kind", "noise") == "noise" else
                "and scales each by its observed fit-period mean, so targets of different size count alike")
             + ". A point whose admission queue grows in any replication (the run-wide growth test, or a last-30-day "
             "mean above 5% of the beds) is penalised in the search, and the fitted scenario's rerun over the fit "
             "and test periods is checked the same way."),
        Para(f"Uncertainty: {document['uncertainty_method']}"),
        Para("The backtest scores are of the fitted scenario's mean over the final replications; the bands are the "
             "spread of the predictive ensemble: those replications and replications of parameter vectors drawn "
             "from the fit's normal approximation (the uncertainty above), so they carry parameter uncertainty as "
             "well as run-to-run noise. Coverage near the nominal level means the model's spread matches the "
             "data's."),
    ]
    blocks.append(Heading("7. How to reproduce"))
    blocks.append(Para("From this run folder (every path in this report and in calibration.json is relative to it; "
                       f"the config names the base scenario and the data files; seed {opt['seed']}):"))
    blocks.append(Code(reproduce_command(document)))
    blocks.append(Para("The full record, every number above included, is `calibration.json` in this folder; the "
                       "fitted scenario is `scenario.yaml`. To rebuild this report: `d2asim report .` in this "
                       "folder."))
    meta = (f"Config {document['config']} · base scenario {document['base_scenario']} · fit period {_period(fit)}"
            + (f" · test period {_period(test)}" if test else "")
            + f" · run time {document.get('run_seconds', 0):.0f} s")
    return Document(title=f"Calibration: {document['trust']} ({document['name']})", meta=meta,
                    findings=findings(document), blocks=blocks, footer=footer(document))


def draw_charts(folder: Path, document: dict[str, Any], table: pd.DataFrame) -> list[tuple[str, Path]]:
    """The charts of every target (monthly, and daily for targets observed daily): stems and PNG files."""
    charts_dir = folder / CHARTS_DIR
    daily = pd.read_csv(folder / "series_daily.csv") if (folder / "series_daily.csv").is_file() else None
    stems = []
    for target, rows in table.groupby("target", sort=False):
        stems.append(monthly_chart(rows.reset_index(drop=True), str(target), document, charts_dir))
        if daily is not None:
            mine = daily[daily["target"] == target]
            if mine["observed"].notna().any():
                stems.append(daily_chart(mine.reset_index(drop=True), str(target), document, charts_dir))
    return [(stem, charts_dir / f"{stem}.png") for stem in stems]


def write_report(folder: Path, document: dict[str, Any], table: pd.DataFrame, html: bool = False) -> dict[str, Path]:
    """Draw the charts and write ``report.md`` (and ``report.html`` if ``html``) into the
    calibration run folder; returns the written files (``markdown``, ``html``, chart stems)."""
    with report_files(folder):
        figures = draw_charts(folder, document, table)
        doc = calibration_document(document, figures)
        written: dict[str, Path] = {"markdown": write_text(folder / "report.md", render_markdown(doc))}
        if html:
            written["html"] = write_text(folder / "report.html", render_html(doc))
    written.update(dict(figures))
    return written


def is_calibration_folder(folder: Path) -> bool:
    return (Path(folder) / "calibration.json").is_file()


def build_calibration_report(folder: Path) -> dict[str, Path]:
    """``d2asim report`` of a calibration run folder: report.html, report.md and charts/
    from calibration.json and series_monthly.csv (series_daily.csv if present)."""
    folder = Path(folder)
    source = folder / "calibration.json"
    try:
        document = json.loads(source.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ScenarioError([f"{source}: not valid JSON ({exc})"]) from None
    missing = [k for k in ("trust", "name", "data", "parameters", "fit", "targets", "optimiser", "objective")
               if not isinstance(document, dict) or k not in document]
    if missing:
        raise ScenarioError([f"{source}: missing key(s) {', '.join(missing)} (not a d2asim calibrate record?)"])
    series = folder / "series_monthly.csv"
    if not series.is_file():
        raise ScenarioError([f"{series}: file not found (the calibration run folder is incomplete)"])
    return write_report(folder, document, pd.read_csv(series), html=True)
