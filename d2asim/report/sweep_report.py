"""The sweep report of a ``d2asim sweep`` folder: delayed bed days and the DTOC rate
(and the target's metric) against the swept field with 95% CI bands, the target, and
the smallest swept value meeting it by the mean and by the whole CI.

Every number comes from sweep.csv (one row per point: ``<metric>_mean``, ``_ci_low``,
``_ci_high``, the t-based 95% CI over replications); the points' values from run.json.
Writes report.html, report.md, headline.csv (point x metric: raw values and the text
shown), target.csv and charts/sweep.png into the folder.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.ticker import FuncFormatter

from d2asim.metrics.registry import describe, fmt_row
from d2asim.report import style
from d2asim.report.captions import Caption, num
from d2asim.report.charts import service_label
from d2asim.report.content import CHARTS_DIR
from d2asim.report.document import Code, Document, Figure, Heading, Para, Table, render_html, render_markdown
from d2asim.report.multi import MultiRun, load_multi
from d2asim.report.owned import write_csv, write_text
from d2asim.report.target import DEFAULT_TARGET
from d2asim.report.warnings import summary_warnings
from d2asim.scenario.errors import ScenarioError

DTOC = "dtoc_rate_per_100k_adults"
PANELS = ("delayed_bed_days", DTOC)  # drawn when sweep.csv has them
# cost_total_gbp stays in sweep.csv only: it counts occupied days, so it cannot price extra capacity
TABLE_METRICS = ("delayed_bed_days", DTOC, "admission_wait_mean_hours")
@dataclass(frozen=True)
class Answer:
    """Smallest swept value of the first field meeting the target, per line."""

    line: str  # '' for a one-field sweep, else e.g. 'services.p3.capacity = 47'
    by_mean: Any  # None: not met at any swept value
    by_ci: Any


@dataclass(frozen=True)
class Sweep:
    """A sweep folder's table in plotting order: ``rows`` has one row per point with
    the fields' values (from run.json), ``x`` (position on the axis) and ``line``."""

    multi: MultiRun
    fields: list[str]
    rows: pd.DataFrame
    numeric: bool  # first field numeric: x is its value, else its position

    @property
    def field(self) -> str:
        return self.fields[0]

    @property
    def base_name(self) -> str:
        return re.sub(r"(\[[^\]]*\])+$", "", str(self.multi.summaries[0]["scenario"]))

    def lines(self) -> list[tuple[str, pd.DataFrame]]:
        return [(str(k), g.sort_values("x")) for k, g in self.rows.groupby("line", sort=False)]

    def line_title(self) -> str:
        """Legend title naming the other fields, e.g. 'P3 ... capacity (services.p3.capacity)'."""
        others = self.fields[1:]
        unit = self.unit_of(others[0]) if len(others) == 1 else ""
        return ", ".join(others) + (f" ({unit})" if unit else "")

    def line_phrase(self, line: str) -> str:
        """'services.p3.capacity = 47' for the line of value 47."""
        return f"{', '.join(self.fields[1:])} = {line}"

    def line_labels(self) -> list[str]:
        return [line for line, _ in self.lines()]

    def value_text(self, value: Any) -> str:
        if value is None:
            return "unlimited" if self.field.endswith(".capacity") else "none"
        unit = self.unit
        return f"{value:g}{' ' + unit if unit else ''}" if isinstance(value, (int, float)) else str(value)

    @property
    def unit(self) -> str:
        return self.unit_of(self.field)

    def unit_of(self, field: str) -> str:
        m = re.fullmatch(r"services\.([^.]+)\.capacity", field)
        if not m:
            return ""
        spec = (self.multi.scenarios[0].get("services") or {}).get(m.group(1)) or {}
        if spec.get("capacity_unit") == "visits_per_day":
            return "visits a day"
        return "beds" if spec.get("setting") == "bed" else "places"

    def field_label(self, field: str | None = None) -> str:
        field = field or self.field
        m = re.fullmatch(r"services\.([^.]+)\.capacity", field)
        if m:
            return f"{service_label(self.multi.scenarios[0], m.group(1))} capacity"
        return field


def _text(v: Any) -> str:
    return "none" if v is None else f"{v:g}" if isinstance(v, float) else str(v)


def _thousands(x: float, _pos: object = None) -> str:
    return f"{x:,.0f}"


def _plain(x: float, _pos: object = None) -> str:
    return f"{x:g}"


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def load_sweep(folder: Path) -> Sweep:
    multi = load_multi(folder, "sweep")
    points: list[dict[str, Any]] = multi.request["points"]
    fields = list(points[0]) if points else []
    table = multi.table
    if not fields or len(table) != len(points) or "point" not in table.columns:
        raise ScenarioError([f"{folder / 'sweep.csv'}: expected one row per point of run.json ({len(points)})"])
    table = table.set_index("point").loc[range(len(points))].reset_index()
    values = [p[fields[0]] for p in points]
    numeric = all(_is_number(v) for v in values)
    order = {v: i for i, v in enumerate(dict.fromkeys(map(repr, values)))}
    rows = table.drop(columns=[f for f in fields if f in table.columns])
    for f in fields:
        rows[f] = pd.Series([p[f] for p in points], dtype=object)
    rows["x"] = [float(v) for v in values] if numeric else [float(order[repr(v)]) for v in values]
    rows["line"] = [", ".join(_text(p[f]) for f in fields[1:]) for p in points]
    return Sweep(multi, fields, rows, numeric)


def parse_target(text: str | float | None, sweep: Sweep) -> Any:
    """The sweep's Target: ``METRIC<=VALUE`` (or >=, <, >), a number (a DTOC rate
    target), or None: the DTOC rate target of 9.4 when the sweep has the DTOC rate."""
    from d2asim.experiments.capacity import Target

    if text is None:
        return Target(DTOC, "<=", DEFAULT_TARGET) if f"{DTOC}_mean" in sweep.rows.columns else None
    try:
        target = Target(DTOC, "<=", float(text))
    except ValueError:
        target = Target.parse(str(text))
    if f"{target.metric}_mean" not in sweep.rows.columns:
        known = ", ".join(c[:-5] for c in sweep.rows.columns if c.endswith("_mean"))
        raise ScenarioError([f"--target: metric {target.metric!r} is not in sweep.csv (it has: {known})"])
    return target


def answers(sweep: Sweep, target: Any) -> list[Answer]:
    """Per line: the smallest swept value (in axis order) whose mean meets the target,
    and the smallest whose whole 95% CI does."""
    out = []
    m = target.metric
    for line, rows in sweep.lines():
        found: dict[bool, Any] = {False: None, True: None}
        for _, r in rows.iterrows():
            ci = {"mean": r[f"{m}_mean"], "ci_low": r[f"{m}_ci_low"], "ci_high": r[f"{m}_ci_high"]}
            for whole in (False, True):
                if found[whole] is None and target.met(ci, whole):
                    found[whole] = r[sweep.field]
        out.append(Answer(line, found[False], found[True]))
    return out


# ------------------------------------------------------------------------ chart
def _target_words(target: Any) -> str:
    label = describe(target.metric).label
    sign = {"<=": "≤", ">=": "≥", "<": "<", ">": ">"}[target.op]
    return f"{label} {sign} {target.value:g}"


def sweep_chart(sweep: Sweep, charts_dir: Path, footer: str, target: Any, found: list[Answer]) -> Path:
    """Mean and 95% CI band of each panel metric against the first swept field, one
    line per combination of the other fields; the target and the values meeting it."""
    panels = [m for m in PANELS if f"{m}_mean" in sweep.rows.columns]
    if target is not None and target.metric not in panels:
        panels.append(target.metric)
    lines = sweep.lines()
    many = len(lines) > 1
    with style.chart(footer, nrows=len(panels), height_in=1.5 + 2.7 * len(panels), sharex=True) as (fig, axes):
        for ax, metric in zip(axes, panels, strict=True):
            label, unit = describe(metric).label, describe(metric).unit
            top = 0.0
            for i, (line, rows) in enumerate(lines):
                look = style.series_style(i)
                x = rows["x"].to_numpy(dtype=float)
                mean, lo, hi = (rows[f"{metric}_{s}"].to_numpy(dtype=float) for s in ("mean", "ci_low", "ci_high"))
                ax.fill_between(x, lo, hi, color=look["color"], alpha=0.14 if many else 0.22, linewidth=0,
                                label=None if many else "95% CI of the mean")
                ax.plot(x, mean, marker="o", markersize=5, label=line if many else "Mean over replications",
                        **look)
                top = max(top, float(np.nanmax(hi)))
            if target is not None and metric == target.metric:
                ax.axhline(target.value, color=style.VERMILLION, linestyle="--", linewidth=1.4,
                           label=f"Target: {_target_words(target)}")
                top = max(top, target.value)
                if many:
                    _mark_lines(ax, sweep, lines, metric, found)
                    if all(a.by_mean is None for a in found):
                        ax.text(0.99, 0.97, "Target not met at any swept value", transform=ax.transAxes,
                                ha="right", va="top", fontsize=9, color=style.VERMILLION, fontweight="bold")
            ax.set_ylim(0, top * 1.15 or 1.0)
            ax.yaxis.set_major_formatter(FuncFormatter(_thousands if top >= 1000 else _plain))
            ax.set_ylabel(f"{label}\n({unit})" if unit else label)
            ax.set_title(f"{label} over the {sweep.multi.period['duration_days']}-day period"
                         if metric == "delayed_bed_days" else label, fontsize=10.5)
            if ax is axes[0]:
                ax.legend(loc="best", ncols=1 if not many else min(len(lines), 4),
                          title=sweep.line_title() if many else None)
            else:  # the lines are in the first panel's legend; here only the target and its marks
                handles, labels = ax.get_legend_handles_labels()
                series = {*sweep.line_labels(), "Mean over replications", "95% CI of the mean"}
                keep = [(h, t) for h, t in zip(handles, labels, strict=True) if t not in series]
                if keep:
                    ax.legend(*zip(*keep, strict=True), loc="best")
        if target is not None and not many:
            _mark_values(axes, sweep, found[0], panels.index(target.metric))
        what = sweep.field_label() if sweep.field_label() != sweep.field else sweep.field
        fig.suptitle(f"Delays against {what[:1].lower() + what[1:] if what[1:2].islower() else what}",
                     x=0.01, ha="left", fontsize=12, fontweight="bold")
        _x_axis(axes[-1], sweep)
        return style.save(fig, charts_dir, "sweep")["png"]


def _x_axis(ax: Any, sweep: Sweep) -> None:
    first = sweep.rows.drop_duplicates("x").sort_values("x")
    if sweep.numeric:
        if len(first) <= 15:
            ax.set_xticks(first["x"], [f"{v:g}" for v in first[sweep.field]])
    else:
        ax.set_xticks(first["x"], [sweep.value_text(v) if v is None else _text(v) for v in first[sweep.field]])
    unit = sweep.unit
    ax.set_xlabel(f"{sweep.field_label()}{' (' + unit + ')' if unit else ''} — {sweep.field}"
                  if sweep.field_label() != sweep.field else sweep.field)


def _mark_values(axes: list[Any], sweep: Sweep, answer: Answer, target_panel: int) -> None:
    """One line: vertical guides at the smallest value meeting the target by the mean
    (dotted) and by the whole 95% CI (dashed), labelled in the target's panel."""
    x_of = dict(zip(map(repr, sweep.rows[sweep.field]), sweep.rows["x"], strict=True))
    ax = axes[target_panel]
    if answer.by_mean is None:
        ax.text(0.99, 0.97, "Target not met at any swept value", transform=ax.transAxes, ha="right", va="top",
                fontsize=9, color=style.VERMILLION, fontweight="bold")
        return
    marks = [(answer.by_mean, ":", "mean meets the target")]
    if answer.by_ci is None:
        ax.annotate("whole 95% CI: not met at any swept value", xy=(1.0, 1.0), xycoords="axes fraction",
                    xytext=(-4, -18), textcoords="offset points", ha="right", va="top", fontsize=8.5,
                    bbox={"boxstyle": "round,pad=0.15", "facecolor": "white", "edgecolor": "none", "alpha": 0.85})
    elif answer.by_ci == answer.by_mean:
        marks = [(answer.by_mean, "--", "mean and whole 95% CI meet the target")]
    else:
        marks.append((answer.by_ci, "--", "whole 95% CI meets the target"))
    for k, (value, dash, words) in enumerate(marks):
        x = x_of[repr(value)]
        for a in axes:
            a.axvline(x, color=style.BLACK, linestyle=dash, linewidth=1.1)
        lo, hi = ax.get_xlim()
        right = (x - lo) / ((hi - lo) or 1.0) > 0.6  # label to the left of lines near the right edge
        ax.annotate(f"{words}: {sweep.value_text(value)}", xy=(x, 1.0), xycoords=ax.get_xaxis_transform(),
                    xytext=(-4 if right else 4, -3 - 15 * k), textcoords="offset points",
                    ha="right" if right else "left", va="top", fontsize=8.5,
                    bbox={"boxstyle": "round,pad=0.15", "facecolor": "white", "edgecolor": "none", "alpha": 0.85})


def _mark_lines(ax: Any, sweep: Sweep, lines: list[tuple[str, pd.DataFrame]], metric: str,
                found: list[Answer]) -> None:
    """Several lines: on each line, a ring where the mean first meets the target and a
    diamond where the whole 95% CI first does."""
    labelled: set[str] = set()
    for i, ((_, rows), answer) in enumerate(zip(lines, found, strict=True)):
        colour = style.series_style(i)["color"]
        by_value = {repr(v): r for v, (_, r) in zip(rows[sweep.field], rows.iterrows(), strict=True)}
        for value, marker, size, words in ((answer.by_mean, "o", 16, "smallest value: mean meets target"),
                                           (answer.by_ci, "D", 10, "smallest value: whole 95% CI meets target")):
            if value is None:
                continue
            r = by_value[repr(value)]
            ax.plot(r["x"], r[f"{metric}_mean"], marker=marker, markersize=size, markerfacecolor="none",
                    markeredgecolor=colour, markeredgewidth=2.0, linestyle="none",
                    label=None if words in labelled else words)
            labelled.add(words)


# --------------------------------------------------------------------- captions
def _range_text(sweep: Sweep, rows: pd.DataFrame, metric: str) -> str:
    first, last = rows.iloc[0], rows.iloc[-1]
    a, b = first[f"{metric}_mean"], last[f"{metric}_mean"]
    d = 0 if max(abs(a), abs(b)) >= 100 else 1
    verb = "fell" if b < a else "rose" if b > a else "stayed"
    return (f"{verb} from {num(a, d)} (95% CI {num(first[f'{metric}_ci_low'], d)}–"
            f"{num(first[f'{metric}_ci_high'], d)}) "
            f"at {sweep.value_text(first[sweep.field])} to {num(b, d)} (95% CI {num(last[f'{metric}_ci_low'], d)}–"
            f"{num(last[f'{metric}_ci_high'], d)}) at {sweep.value_text(last[sweep.field])}")


def target_sentence(sweep: Sweep, target: Any, found: list[Answer]) -> str:
    words = _target_words(target)
    if len(found) == 1:
        a = found[0]
        if a.by_mean is None:
            rows = sweep.lines()[0][1]
            m = rows[f"{target.metric}_mean"]
            means = m.to_numpy(dtype=float)
            best = int(np.nanargmin(means) if target.op in ("<=", "<") else np.nanargmax(means))
            return (f"no swept value met the target ({words}; best mean {num(means[best], 1)} at "
                    f"{sweep.value_text(rows[sweep.field].iloc[best])})")
        ci = (f"its whole 95% CI from {sweep.value_text(a.by_ci)}" if a.by_ci is not None
              else "its whole 95% CI at none of the values swept")
        return f"the target ({words}) was met by the mean from {sweep.value_text(a.by_mean)} and by {ci}"
    def since(value: Any) -> str:
        return f"from {sweep.value_text(value)}" if value is not None else "at no swept value"

    parts = [f"mean {since(a.by_mean)} and the whole CI {since(a.by_ci)} with {sweep.line_phrase(a.line)}"
             for a in found]
    return f"the target ({words}) was met by the {'; '.join(parts)}"


def sweep_caption(sweep: Sweep, target: Any, found: list[Answer]) -> Caption:
    lines = sweep.lines()
    if len(lines) == 1:
        finding = "Delayed bed days " + _range_text(sweep, lines[0][1], "delayed_bed_days")
    else:
        finding = "; ".join(f"{'With' if i == 0 else 'with'} {sweep.line_phrase(line)}, delayed bed days "
                            f"{_range_text(sweep, rows, 'delayed_bed_days')}" for i, (line, rows) in enumerate(lines))
    if target is not None:
        finding += "; " + target_sentence(sweep, target, found)
    note = (f"Lines: mean of {sweep.multi.replications} replications at each swept value (points; values in "
            "between were not simulated); bands: 95% t-interval of that mean.")
    if target is not None and len(lines) == 1:
        note += " Vertical lines: smallest value whose mean (dotted) or whole CI (dashed) meets the target."
    elif target is not None:
        note += " Rings: smallest value whose mean meets the target; diamonds: whose whole CI does."
    return Caption(finding + ".", note)


# --------------------------------------------------------------------- document
def table_metrics(sweep: Sweep, target: Any) -> list[str]:
    metrics = [m for m in TABLE_METRICS if f"{m}_mean" in sweep.rows.columns]
    if target is not None and target.metric not in metrics:
        metrics.append(target.metric)
    return metrics


def headline_rows(sweep: Sweep, metrics: list[str]) -> list[dict[str, Any]]:
    """headline.csv: one row per point x metric, the sweep.csv values and the text shown."""
    out = []
    for _, r in sweep.rows.iterrows():
        for m in metrics:
            mean, lo, hi = (float(r[f"{m}_{s}"]) for s in ("mean", "ci_low", "ci_high"))
            texts = fmt_row([mean, lo, hi], describe(m).decimals)
            out.append({"point": int(r["point"]), **{f: r[f] for f in sweep.fields}, "metric": m,
                        "mean": mean, "ci_low": lo, "ci_high": hi,
                        "mean_text": texts[0], "ci_text": f"{texts[1]} to {texts[2]}"})
    return out


def results_table(sweep: Sweep, metrics: list[str], shown: list[dict[str, Any]]) -> Table:
    header = [*sweep.fields]
    for m in metrics:
        header += [describe(m).header(), "95% CI"]
    by_point: dict[int, list[str]] = {}
    for row in shown:
        by_point.setdefault(row["point"], []).extend([row["mean_text"], row["ci_text"]])
    rows, keys = [], []
    for _, r in sweep.rows.iterrows():
        rows.append([sweep.value_text(r[f]).split(" ")[0] if f == sweep.field else str(r[f]) for f in sweep.fields]
                    + by_point[int(r["point"])])
        keys.append(str(int(r["point"])))
    return Table(header, rows, numeric=set(range(len(header))), css="headline sweep", keys=keys)


def _set_arg(values: list[Any]) -> str:
    def one(v: Any) -> str:
        return "null" if v is None else str(v).lower() if isinstance(v, bool) else f"{v}"
    return ",".join(one(v) for v in dict.fromkeys(values))


def sweep_document(sweep: Sweep, target: Any, found: list[Answer], chart: Path, target_text: str | None) -> Document:
    multi = sweep.multi
    reps, p = multi.replications, multi.period
    points = multi.request["points"]
    metrics = table_metrics(sweep, target)
    shown = headline_rows(sweep, metrics)
    caption = sweep_caption(sweep, target, found)
    grid = "; ".join(f"`{f}` = {', '.join(_text(v) for v in dict.fromkeys(pt[f] for pt in points))}"
                     + (f" {sweep.unit_of(f)}" if sweep.unit_of(f) else "") for f in sweep.fields)
    blocks: list[Any] = [
        Heading("1. What was swept"),
        Para(f"Scenario `{sweep.base_name}` run at {len(points)} points: {grid}"
             + (" (every combination)" if len(sweep.fields) > 1 else "")
             + f". {reps} replications at each point, seed {multi.seed}, {p['duration_days']} reported days from "
             f"{p['start_date']} after {p['warmup_days']} warm-up days. Each point's run folder is "
             f"`point-NNN/` (in the order of the table below)."),
        Heading("2. Results at each point"),
        Para(f"Means over {reps} replications with 95% confidence intervals, from `sweep.csv`."),
        results_table(sweep, metrics, shown),
    ]
    if target is not None:
        rule = ("smallest swept value whose mean meets the target, and whose whole 95% CI does (for a "
                f"'{target.op}' target: its {'upper' if target.op in ('<=', '<') else 'lower'} end)")
        if len(found) == 1:
            a = found[0]
            blocks.append(Para(f"Target `{target.metric} {target.op} {target.value:g}`"
                               + (" (the 2017 Better Care Fund expectation)" if target_text is None else "")
                               + f": {rule}: by the mean **{_answer_text(sweep, a.by_mean)}**, by the whole CI "
                               f"**{_answer_text(sweep, a.by_ci)}**."))
        else:
            blocks.append(Para(f"Target `{target.metric} {target.op} {target.value:g}`: {rule}, for each value of "
                               f"{', '.join(sweep.fields[1:])}:"))
            blocks.append(Table([", ".join(sweep.fields[1:]), "By the mean", "By the whole 95% CI"],
                                [[a.line,
                                  _answer_text(sweep, a.by_mean), _answer_text(sweep, a.by_ci)] for a in found]))
    blocks += [
        Heading("3. Chart"),
        Figure(chart, f"{CHARTS_DIR}/sweep.png", f"Line chart of delayed bed days and the DTOC rate against "
               f"{sweep.field} with 95% confidence bands", caption, "sweep"),
        *([] if f"{DTOC}_mean" in sweep.rows.columns else
          [Para("Not shown: DTOC rate per 100,000 adults (the scenario has no `population.adults_18plus`).",
                note=True)]),
        Heading("4. Method and assumptions"),
        Para(f"Each point is the scenario with the swept field(s) set to that point's values; all points use seed "
             f"{multi.seed} and replications 0–{reps - 1}, so replication r of every point sees the same "
             "patients (common random numbers) and the curve's shape is not blurred by chance."),
        Para(f"At each point the mean over {reps} replications is shown with its t-based 95% confidence "
             "interval (floored at zero). The intervals show random variation in the simulation only, not "
             "uncertainty in the inputs. Lines join the simulated points; values between them were not run."),
        Para("Delayed bed days are the days between a patient being ready to leave and leaving the bed; the DTOC "
             "rate is delayed patients per day per 100,000 adults aged 18+ (ASCOF 2C). Costs are in `sweep.csv` "
             "but not shown: they count occupied bed and service days only, so they cannot price extra capacity."),
    ]
    if target is not None:
        blocks.append(Para("The value needed by the mean is the first swept value whose mean meets the target; by "
                           "the whole CI, the first whose 95% CI lies entirely on the right side of it. The true "
                           "smallest value may lie between swept values: `d2asim capacity-needed` searches whole "
                           "capacities by bisection."))
    first = multi.subfolders[0]
    sets = " ".join(f"--set {f}={_set_arg([pt[f] for pt in points])}" for f in sweep.fields)
    blocks += [
        Heading("5. How to reproduce"),
        Para(f"From this folder (each point's resolved scenario is saved as `point-NNN/scenario.yaml`; the "
             f"`--set` values replace those of `{first}`):"),
        Code(f"d2asim sweep {first}/scenario.yaml {sets} \\\n  --reps {reps} --seed {multi.seed}"),
        Para("Any single point gives the same numbers on its own, e.g. "
             f"`d2asim run {multi.subfolders[-1]}/scenario.yaml "
             f"--reps {reps} --seed {multi.seed}`. To rebuild this report, run `d2asim report ."
             + (f" --target \"{target.metric}{target.op}{target.value:g}\"" if target_text is not None and target
                else "") + "` in this folder."),
    ]
    findings = [caption.finding]
    what = sweep.field_label() if len(sweep.fields) == 1 else " × ".join(sweep.fields)
    return Document(title=f"Sweep of {what[:1].lower() + what[1:] if what[1:2].islower() else what}: "
                          f"scenario {sweep.base_name}",
                    meta=f"{len(points)} points · {multi.provenance()}", findings=findings, blocks=blocks,
                    footer=chart_footer(sweep), warnings=summary_warnings(multi.summaries, named=True))


def _answer_text(sweep: Sweep, value: Any) -> str:
    return "not met at any swept value" if value is None else sweep.value_text(value)


def chart_footer(sweep: Sweep) -> str:
    return f"Scenario {sweep.base_name}, swept over {' × '.join(sweep.fields)} · {sweep.multi.provenance()}"


def build_sweep_report(folder: Path, target_text: str | float | None = None) -> dict[str, Path]:
    """Write the sweep report into the sweep folder ``folder``; returns the written files."""
    sweep = load_sweep(folder)
    target = parse_target(target_text, sweep)
    found = answers(sweep, target) if target is not None else []
    chart = sweep_chart(sweep, folder / CHARTS_DIR, chart_footer(sweep), target, found)
    doc = sweep_document(sweep, target, found, chart, None if target_text is None else str(target_text))
    written: dict[str, Path] = {"headline": folder / "headline.csv"}
    write_csv(pd.DataFrame(headline_rows(sweep, table_metrics(sweep, target))), written["headline"], index=False)
    if target is not None:
        written["target"] = folder / "target.csv"
        write_csv(pd.DataFrame([{"line": a.line, "metric": target.metric, "op": target.op, "value": target.value,
                                 "smallest_by_mean": a.by_mean, "smallest_by_ci": a.by_ci} for a in found]),
                  written["target"], index=False)
    written["markdown"] = folder / "report.md"
    write_text(written["markdown"], render_markdown(doc))
    written["html"] = folder / "report.html"
    write_text(written["html"], render_html(doc))
    written["sweep"] = chart
    return written
