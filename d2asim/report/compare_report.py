"""The comparison report of a ``d2asim compare`` folder: each option's key paired
differences with 95% CIs (the numbers of comparison.csv), bed days saved and cost
charts, and the baseline's own run report (charts embedded, files in its sub-folder).

Writes report.html, report.md, headline.csv (the differences table: the raw
comparison.csv values and the text shown), scenarios.csv and charts/ into the folder.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from d2asim.experiments.compare import SYSTEM_SCOPE
from d2asim.metrics.registry import COMPARE_KEYS, describe, fmt_row
from d2asim.metrics.replication import WAITS_NOTE
from d2asim.report.captions import Caption, num
from d2asim.report.compare import (
    COMPARISON_COLUMNS,
    _gbp,
    bed_days_saved_chart,
    cost_vs_bed_days_chart,
    read_comparison,
)
from d2asim.report.content import CHARTS_DIR
from d2asim.report.data import read_csv
from d2asim.report.document import Code, Document, Figure, Heading, Para, Table, render_html, render_markdown
from d2asim.report.multi import MultiRun, load_multi, scenario_changes
from d2asim.report.owned import write_csv, write_text
from d2asim.report.run_report import build_run
from d2asim.report.target import DEFAULT_TARGET
from d2asim.report.warnings import summary_warnings

SAVED, COST, DTOC = "bed_days_saved", "commissioning_and_spot_cost_gbp", "dtoc_rate_per_100k_adults"
PER_BED_DAY = "cost_per_bed_day_saved_gbp"


@dataclass(frozen=True)
class DiffRow:
    """One option x metric of comparison.csv (raw values) and the text shown for it."""

    option: str
    metric: str
    label: str
    unit: str
    baseline: float | None
    option_value: float | None
    difference: float
    ci_low: float
    ci_high: float
    distinguishable: bool
    baseline_text: str
    option_text: str
    difference_text: str
    ci_text: str
    distinguishable_text: str


def diff_rows(comparison: pd.DataFrame) -> list[DiffRow]:
    """The key differences of every option, options in file order, metrics in COMPARE_KEYS order."""
    rows = []
    for option, part in comparison.groupby("option", sort=False):
        by_metric = part.set_index("metric")
        for key in COMPARE_KEYS:
            if key not in by_metric.index:
                continue
            r, m = by_metric.loc[key], describe(key)
            # bed days saved and cost per bed day saved have no levels (comparison.csv holds 0 and the value)
            base = None if key in (SAVED, PER_BED_DAY) else float(r["baseline"])
            value = None if key in (SAVED, PER_BED_DAY) else float(r["option_value"])
            lo, hi = float(r["ci_low"]), float(r["ci_high"])
            dist = bool(r["distinguishable"]) if "distinguishable" in r.index else bool(lo > 0 or hi < 0)
            diff = float(r["difference"])
            texts = fmt_row([base, value, diff, lo, hi], m.decimals, signed=[False, False, True, True, True])
            rows.append(DiffRow(str(option), key, m.label, m.unit, base, value, diff, lo, hi, dist,
                                texts[0], texts[1], texts[2], f"{texts[3]} to {texts[4]}", "yes" if dist else "no"))
    return rows


def diff_table(rows: list[DiffRow]) -> Table:
    shown, classes, last = [], [], None
    for r in rows:
        first = r.option != last
        last = r.option
        shown.append([r.option if first else "", r.label, r.baseline_text, r.option_text, r.difference_text,
                      r.ci_text, r.distinguishable_text])
        classes.append("first" if first else "")
    return Table(["Option", "Result", "Baseline", "Option", "Difference", "95% CI",
                  "Distinguishable from zero"], shown, numeric={2, 3, 4, 5}, css="diff",
                 keys=[f"{r.option}|{r.metric}" for r in rows], classes=classes,
                 cell_classes={0: "option", 6: "text"})


SCOPE_METRICS = ("bed_days_saved", "delayed_bed_days", "dtoc_rate_per_100k_adults")  # shown per trust and borough


def scope_rows(full: pd.DataFrame) -> list[tuple[str, DiffRow]]:
    """(scope, row) for each option x trust or borough x SCOPE_METRICS of comparison.csv
    (``scope`` ``trust:NAME`` or ``borough:NAME``), options in file order, then scopes."""
    if "scope" not in full.columns:
        return []
    found = []
    for scope in dict.fromkeys(full["scope"]):
        if scope == SYSTEM_SCOPE:
            continue
        part = full[(full["scope"] == scope) & full["metric"].isin(SCOPE_METRICS)]
        found += [(str(scope), r) for r in diff_rows(part)]
    order = {o: i for i, o in enumerate(dict.fromkeys(full["option"].astype(str)))}
    return sorted(found, key=lambda sr: order[sr[1].option])  # stable: scopes keep file order


def scope_table(rows: list[tuple[str, DiffRow]]) -> Table:
    shown, classes, last = [], [], None
    for scope, r in rows:
        first = r.option != last
        last = r.option
        kind, _, place = scope.partition(":")
        shown.append([r.option if first else "", f"{place} ({kind})", r.label, r.baseline_text, r.option_text,
                      r.difference_text, r.ci_text, r.distinguishable_text])
        classes.append("first" if first else "")
    return Table(["Option", "Trust or borough", "Result", "Baseline", "Option", "Difference", "95% CI",
                  "Distinguishable from zero"], shown, numeric={3, 4, 5, 6}, css="diff scopes",
                 keys=[f"{r.option}|{scope}|{r.metric}" for scope, r in rows], classes=classes,
                 cell_classes={0: "option", 7: "text"})


# ----------------------------------------------------------------------- captions
def _ci(d: float, lo: float, hi: float, money: bool = False) -> str:
    if money:
        return f"{_gbp(d)} (95% CI {_gbp(lo)} to {_gbp(hi)})"
    decimals = 0 if abs(d) >= 100 else 1
    return f"{num(d, decimals)} (95% CI {num(lo, decimals)} to {num(hi, decimals)})"


def _names(names: list[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def _of(frame: pd.DataFrame, metric: str) -> pd.DataFrame:
    return frame[frame["metric"] == metric].set_index("option")


def saved_caption(comparison: pd.DataFrame, days: int, reps: int) -> Caption:
    saved = _of(comparison, SAVED)
    n = len(saved)
    best = str(saved["difference"].idxmax())  # options are named by strings
    b = saved.loc[best]
    if b["difference"] > 0:
        finding = (f"{best} saved the most acute bed days: {_ci(b['difference'], b['ci_low'], b['ci_high'])} "
                   f"over the {days}-day period, about {num(b['difference'] / days, 1)} beds a day")
    else:
        finding = (f"No option saved acute bed days; {best} added the fewest, "
                   f"{_ci(-b['difference'], -b['ci_high'], -b['ci_low'])} over the {days}-day period")
    up = [str(o) for o, r in saved.iterrows() if r["ci_low"] > 0]
    down = [str(o) for o, r in saved.iterrows() if r["ci_high"] < 0]
    unclear = [o for o in saved.index if o not in up and o not in down]
    parts = [f"{'all' if len(up) == n and n > 1 else len(up)} {'' if len(up) == n else f'of {n} '}option"
             f"{'s' if n > 1 else ''} saved bed days distinguishable from zero"]
    if down:
        parts.append(f"{_names(down)} added bed days")
    if unclear:
        parts.append(f"for {_names(unclear)} the 95% CI includes zero")
    finding += "; " + "; ".join(parts) + "."
    note = (f"Bars: mean of {reps} paired differences (baseline minus option acute bed days, common random "
            "numbers), largest at the top; error bars: 95% CI; line: zero.")
    return Caption(finding, note)


def cost_caption(comparison: pd.DataFrame, reps: int, bed_day_value: str) -> Caption:
    """What each option costs to commission (block contracts and spot purchases) per acute
    bed day saved. Never "cheaper" from occupied days: acute bed days avoided are stated as a
    value that is cash-releasing only if beds close."""
    saved, cost, per = _of(comparison, SAVED), _of(comparison, COST), _of(comparison, PER_BED_DAY)
    parts = []
    for name, r in saved.iterrows():
        option = str(name)
        c = cost.loc[option]
        spend = (f"{'costs' if c['difference'] >= 0 else 'spends'} {_gbp(abs(c['difference']))} "
                 f"{'more' if c['difference'] >= 0 else 'less'} on commissioned and spot-purchased care "
                 f"(95% CI {_gbp(c['ci_low'])} to {_gbp(c['ci_high'])})")
        if r["ci_low"] <= 0:
            parts.append(f"{option} {spend}; its bed days saved are not distinguishable from zero")
            continue
        text = f"{option} {spend} for {num(r['difference'], 0)} acute bed days saved"
        p = per.loc[option] if option in per.index and c["difference"] > 0 else None
        if p is not None and not math.isnan(p["ci_low"]):
            text += f", {_gbp(p['difference'])} a bed day (95% CI {_gbp(p['ci_low'])} to {_gbp(p['ci_high'])})"
        parts.append(text)
    finding = "; ".join(parts) + "."
    note = (f"Points: means of {reps} paired differences; bars: 95% CIs. Cost counts block-contract places "
            "for every day they are commissioned, used or not, plus spot-purchased occupied days. Acute bed days "
            f"avoided are not counted as money: valued at {bed_day_value}, they release cash only if beds close.")
    return Caption(finding, note)  # may start with an option's name: not capitalised


def dtoc_finding(comparison: pd.DataFrame) -> str | None:
    rates = _of(comparison, DTOC)
    if rates.empty:
        return None
    best = str(rates["difference"].idxmin())
    r = rates.loc[best]
    if r["difference"] >= 0:
        return f"No option lowered the DTOC rate (baseline {num(r['baseline'], 1)} per 100,000 adults)."
    return (f"The DTOC rate fell most with {best}: from {num(r['baseline'], 1)} to {num(r['option_value'], 1)} "
            "delayed patients a day per 100,000 adults, a change of "
            f"{_ci(r['difference'], r['ci_low'], r['ci_high'])}.")


# --------------------------------------------------------------------- document
def _scenario_rows(multi: MultiRun) -> list[dict[str, Any]]:
    base = multi.scenarios[0]
    rows = []
    for i, (sub, scenario, summary) in enumerate(zip(multi.subfolders, multi.scenarios, multi.summaries,
                                                     strict=True)):
        changes = scenario_changes(base, scenario) if i else []
        rows.append({"role": "baseline" if i == 0 else "option", "scenario": summary["scenario"],
                     "subfolder": sub, "description": " ".join(str(scenario.get("description") or "").split()),
                     "changes": "; ".join(changes) if i else "(the baseline)"})
    return rows


def _method(multi: MultiRun, n_options: int, target: float) -> list[str]:
    p = multi.period
    return [
        f"Every scenario was run {multi.replications} times (replications) with seed {multi.seed}, each for "
        f"{p['warmup_days']} warm-up days (not reported) and then {p['duration_days']} reported days from "
        f"{p['start_date']}. Replication r of every scenario uses the same random numbers (common random "
        "numbers): the same patients arrive with the same needs and stays, so the differences come from the "
        "options rather than from chance.",
        "A difference is option minus baseline, taken replication by replication; its 95% confidence interval "
        f"is the t-interval of those {multi.replications} paired differences. Acute bed days saved = baseline "
        "acute bed days minus option acute bed days (positive: fewer bed days). A difference is "
        "distinguishable from zero when its 95% CI does not include zero.",
        ("With one replication there is no confidence interval: the interval shown is the single paired "
         "difference, and 'distinguishable from zero' means only that it is not zero. "
         if multi.replications < 2 else "")
        + "The intervals show random variation in the simulation only, not uncertainty in the inputs. "
        f"{n_options} options and {len(COMPARE_KEYS)} results are shown without adjustment for multiple "
        "comparisons, so an interval that only just excludes zero is weak evidence.",
        f"Waits for a bed or a place: {WAITS_NOTE}, so an overloaded option cannot show a short wait; a "
        "queue that grew over the reported period in any scenario is flagged at the top of this report.",
        "Delayed bed days are the days between a patient being ready to leave and leaving the bed; the DTOC rate "
        "is delayed patients per day per 100,000 adults aged 18+ (ASCOF 2C"
        + (f"; the baseline charts show the target {target:g}" if target != DEFAULT_TARGET else
           f"; the baseline charts show the 2017 Better Care Fund expectation of {DEFAULT_TARGET:g}") + ").",
        "Commissioning cost is what block contracts pay: commissioned places x the price per place per day x "
        "the days they are commissioned, used or not. Spot-purchase cost is occupied days x the price per "
        "occupied day. Acute bed days are valued at the scenario's cost of a bed day (delayed days at their own "
        "rate if set); that value is cash-releasing only if beds close, so it is stated separately and never "
        "counted as a saving in the commissioning cost. Net cost = commissioning + spot - value of acute bed "
        "days avoided; cost per bed day saved = extra commissioning and spot cost / acute bed days saved "
        "(ratio of the means, Fieller's 95% CI; not given when the bed days saved are not distinguishable "
        "from zero).",
    ]


def bed_day_value(scenario: dict[str, Any]) -> str:
    """'£345 a bed day (£346 a delayed bed day)' from a resolved scenario."""
    acute = scenario.get("acute") or {}
    cost, delayed = acute.get("bed_day_cost_gbp") or 0, acute.get("delayed_bed_day_cost_gbp")
    text = f"£{cost:,.0f} a bed day"
    return text + (f" (£{delayed:,.0f} a delayed bed day)" if delayed is not None and delayed != cost else "")


def comparison_document(multi: MultiRun, comparison: pd.DataFrame, rows: list[DiffRow], target: float,
                        baseline: Any, charts: dict[str, Path | None],
                        places: list[tuple[str, DiffRow]] | None = None) -> Document:
    """``baseline``: the assembled run report of the baseline sub-folder; ``places``:
    the per-trust and per-borough rows (:func:`scope_rows`)."""
    base_name = multi.summaries[0]["scenario"]
    options = list(dict.fromkeys(comparison["option"]))
    days = int(multi.period["duration_days"])
    reps = multi.replications
    blocks: list[Any] = [Heading("1. What was compared")]
    scen = _scenario_rows(multi)
    blocks.append(Para(f"Baseline scenario `{base_name}` and {len(options)} option{'s' if len(options) > 1 else ''}; "
                       f"{reps} replications each, seed "
                       f"{multi.seed}, {days} reported days from {multi.period['start_date']}."))
    blocks.append(Table(["Scenario", "Description", "Differs from the baseline in"],
                        [[r["scenario"], r["description"],
                          r["changes"]] for r in scen], css="inputs", keys=[r["scenario"] for r in scen]))
    blocks.append(Heading("2. Key results: differences from the baseline"))
    blocks.append(Para(f"Mean over {reps} replications of option minus baseline (bed days saved: baseline minus "
                       "option), with the paired 95% confidence interval; all from `comparison.csv`."))
    blocks.append(diff_table(rows))
    if places:
        blocks.append(Para("By trust (its own patients) and by borough (its residents, in any trust or service), "
                           "from the rows of `comparison.csv` with that `scope`:"))
        blocks.append(scope_table(places))
    blocks.append(Heading("3. Charts"))
    findings: list[str] = []
    if charts.get("bed_days_saved"):
        cap = saved_caption(comparison, days, reps)
        findings.append(cap.finding)
        blocks.append(Figure(charts["bed_days_saved"], f"{CHARTS_DIR}/bed_days_saved.png",  # type: ignore[arg-type]
                             "Horizontal bar chart of acute bed days saved by each option with 95% CI error bars",
                             cap, "bed_days_saved"))
    dtoc = dtoc_finding(comparison)
    if dtoc:
        findings.append(dtoc)
    if charts.get("cost_vs_bed_days"):
        cap = cost_caption(comparison, reps, bed_day_value(multi.scenarios[0]))
        findings.append(cap.finding)
        blocks.append(Figure(charts["cost_vs_bed_days"], f"{CHARTS_DIR}/cost_vs_bed_days.png",  # type: ignore[arg-type]
                             "Scatter chart of the extra commissioning and spot cost against acute bed days saved, "
                             "one point per option",
                             cap, "cost_vs_bed_days"))
    else:
        blocks.append(Para("Not shown: cost against bed days saved (the scenarios set no service prices: "
                           "`services.*.cost_per_place_per_day_gbp`, `services.*.cost_per_day_gbp`).", note=True))
    sub = multi.subfolders[0]
    blocks.append(Heading(f"4. The baseline in detail: {base_name}"))
    blocks.append(Para(f"The baseline's own run report is in the sub-folder `{sub}/` (`report.html`, `report.md`); "
                       "its headline results and charts follow. Any option's run report: "
                       "`d2asim report OPTION_FOLDER` from this folder.", note=True))
    blocks.append(Table(["Result", "Mean", "95% CI", "Unit"],
                        [[r.label.strip(), r.mean_text, r.ci_text, r.unit] for r in baseline.headline],
                        numeric={1, 2}, css="headline", keys=[r.metric for r in baseline.headline]))
    for chart in baseline.charts:
        blocks.append(Figure(chart.png, f"{sub}/{CHARTS_DIR}/{chart.stem}.png", chart.alt, chart.caption,
                             f"baseline-{chart.stem}"))
    blocks += [Para(f"Not shown: {note}", note=True) for note in baseline.skipped]
    blocks.append(Heading("5. Method and assumptions"))
    blocks += [Para(p) for p in _method(multi, len(options), target)]
    blocks.append(Heading("6. How to reproduce"))
    blocks.append(Para("From this folder (each sub-folder holds its resolved `scenario.yaml`, every default "
                       "filled in; the first file is the baseline):"))
    blocks.append(Code(reproduce_command(multi)))
    rebuild = "d2asim report ." + (f" --target {target:g}" if target != DEFAULT_TARGET else "")
    blocks.append(Para(f"The same files and seed give identical results. To rebuild this report, run `{rebuild}` "
                       "in this folder."))
    footer = chart_footer(multi, len(options))
    return Document(title=f"{len(options)} options compared with {base_name}",
                    meta=f"{len(options)} options · {multi.provenance()}", findings=findings, blocks=blocks,
                    footer=footer, warnings=summary_warnings(multi.summaries, named=True))


def reproduce_command(multi: MultiRun) -> str:
    """``d2asim compare`` on the sub-folders' scenario files, one file a line."""
    files = " \\\n  ".join(f"{s}/scenario.yaml" for s in multi.subfolders)
    return f"d2asim compare {files} \\\n  --reps {multi.replications} --seed {multi.seed}"


def chart_footer(multi: MultiRun, n_options: int) -> str:
    return f"Scenario {multi.summaries[0]['scenario']} (baseline) vs {n_options} options · {multi.provenance()}"


def build_comparison_report(folder: Path, target: float = DEFAULT_TARGET) -> dict[str, Path]:
    """Write the comparison report into the compare folder ``folder`` (and the baseline's
    run report into its sub-folder). Returns the written files."""
    multi = load_multi(folder, "compare")
    comparison = read_comparison(folder / "comparison.csv")
    options = list(dict.fromkeys(comparison["option"]))
    rows = diff_rows(comparison)
    baseline, _ = build_run(folder / multi.subfolders[0], target)
    out = folder / CHARTS_DIR
    footer = chart_footer(multi, len(options))
    costs = comparison[comparison["metric"] == COST]
    costed = bool(len(costs)) and bool((costs[["baseline", "option_value"]].abs() > 0).any().any())
    charts = {"bed_days_saved": bed_days_saved_chart(comparison, out, footer),
              "cost_vs_bed_days": cost_vs_bed_days_chart(comparison, out, footer) if costed else None}
    places = scope_rows(read_csv(folder / "comparison.csv", COMPARISON_COLUMNS))
    doc = comparison_document(multi, comparison, rows, target, baseline, charts, places)
    written: dict[str, Path] = {"headline": folder / "headline.csv", "scenarios": folder / "scenarios.csv"}
    write_csv(pd.DataFrame([asdict(r) for r in rows]), written["headline"], index=False)
    write_csv(pd.DataFrame(_scenario_rows(multi)), written["scenarios"], index=False)
    if places:
        written["places"] = folder / "places.csv"
        write_csv(pd.DataFrame([{"scope": scope, **asdict(r)} for scope, r in places]), written["places"], index=False)
    written["markdown"] = folder / "report.md"
    write_text(written["markdown"], render_markdown(doc))
    written["html"] = folder / "report.html"
    write_text(written["html"], render_html(doc))
    written.update({stem: png for stem, png in charts.items() if png is not None})
    written["baseline_report"] = folder / multi.subfolders[0] / "report.html"
    return written
