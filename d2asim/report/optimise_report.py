"""The report of a ``d2asim optimise`` folder: the chosen mix in plain words, the
mixes it cannot be told apart from, the cost-objective frontier chart (95% CIs as
error bars, the budget line) and how the answer was reached.

Every number comes from optimise.csv, frontier.csv and best.json; the variables'
words from the base scenario.yaml. Writes charts/frontier.png and .svg, report.md
and report.html into the folder.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pandas as pd
import yaml
from matplotlib.ticker import FuncFormatter

from d2asim.report import style
from d2asim.report.captions import Caption
from d2asim.report.charts import in_sentence, service_label
from d2asim.report.content import CHARTS_DIR
from d2asim.report.document import Code, Document, Figure, Heading, Para, Table, render_html, render_markdown
from d2asim.report.owned import report_files, write_text
from d2asim.scenario.errors import ScenarioError


def money(x: float) -> str:
    """'£3.0m', '£450k', '£900'."""
    if abs(x) >= 1e6:
        return f"£{x / 1e6:,.1f}m"
    if abs(x) >= 1e4:
        return f"£{x / 1e3:,.0f}k"
    return f"£{x:,.0f}"


def _num(x: float) -> str:
    return f"{x:,.0f}" if abs(x) >= 100 else f"{x:,.1f}" if abs(x) >= 10 else f"{x:,.2f}"


def variable_words(field: str, value: Any, scenario: dict[str, Any] | None) -> str:
    """'78 P1 reablement places' for services.p1.capacity = 78; else 'field = value'."""
    m = re.fullmatch(r"services\.([^.]+)\.capacity(?:\.base)?", field)
    if m and scenario is not None:
        spec = (scenario.get("services") or {}).get(m.group(1)) or {}
        unit = ("visits a day" if spec.get("capacity_unit") == "visits_per_day"
                else "beds" if spec.get("setting", "bed") == "bed" else "places")
        return f"{value:g} {unit} of {label_in_sentence(scenario, service_label(scenario, m.group(1)))}"
    return f"{field} = {value:g}"


def label_in_sentence(scenario: dict[str, Any], label: str) -> str:
    """A service label mid-sentence: lower-case first letter ('bedded intermediate care'),
    unless it begins with the name of one of the scenario's boroughs or trusts ('Haringey
    reablement') or is an acronym."""
    places = {str(name).lower() for block in ("boroughs", "trusts") for name in scenario.get(block) or {}}
    first = label.split(" ", 1)[0].lower()
    return label if first in places else in_sentence(label)


def _mix_words(variables: dict[str, Any], scenario: dict[str, Any] | None) -> str:
    parts = [variable_words(f, v, scenario) for f, v in variables.items()]
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]


def _ci(obj: dict[str, float]) -> str:
    return f"{_num(obj['mean'])} (95% CI {_num(obj['ci_low'])} to {_num(obj['ci_high'])})"


def best_text(best: dict[str, Any], scenario: dict[str, Any] | None = None) -> str:
    """The answer in plain words (the terminal and the report's findings)."""
    objective = best["objective"]
    label, unit = objective["label"], objective["unit"]
    chosen = best.get("chosen")
    budget = money(best["budget_gbp_per_year"])
    if chosen is None:
        return f"Budget {budget} a year: {best.get('why', 'no mix chosen')}."
    shown_unit = f" {unit}" if unit and unit.lower() not in label.lower() else ""
    lines = [f"For {money(chosen['cost_gbp_per_year'])} a year (budget {budget}), "
             f"{_mix_words(chosen['variables'], scenario)}: {in_sentence(label)} {_ci(chosen['objective'])}"
             f"{shown_unit}, over {chosen['replications']} replications."]
    change = best.get("change_vs_current")
    current = best.get("current")
    if change and current and change.get("current_mean") and chosen["mix"] != "current":
        lo, hi = change["ci_low_pct"], change["ci_high_pct"]
        if lo > 0 or hi < 0:
            verb = "cut" if hi < 0 else "raise"
            a, b = sorted((abs(lo), abs(hi)))
            what = f"{verb} {in_sentence(label)} by {abs(change['difference_pct']):.0f}% (95% CI {a:.0f}% to {b:.0f}%)"
        else:
            what = (f"change {in_sentence(label)} by {change['difference_pct']:+.0f}% (95% CI {lo:+.0f}% to "
                    f"{hi:+.0f}%: not distinguishable from no change)")
        lines.append(f"Against the scenario's own mix ({money(current['cost_gbp_per_year'])} a year) that would "
                     f"{what}, paired on {change['replications']} common replications.")
    elif chosen["mix"] == "current":
        lines.append("That is the scenario's own mix: no other mix simulated within budget did better.")
    sel = best["selection"]
    others = [m for m in sel["indistinguishable"] if m["mix"] != chosen["mix"]]
    delta = f"{_num(sel['delta'])}{' ' + unit if unit else ''}"
    if sel["separated"] or not others:
        lines.append(f"It is better than the other {len(sel['candidates']) - 1} best mixes by more than the "
                     f"indifference zone of {delta} with probability at least {1 - sel['alpha']:.0%} (KN selection"
                     f"; {_p_best(sel, chosen['mix'])}).")
    else:
        words = "; ".join(f"{_mix_words(m['variables'], scenario)} at {money(m['cost_gbp_per_year'])} "
                          f"({_ci(m['objective'])})" for m in others)
        n = len(others)
        lines.append(f"{'This other mix is' if n == 1 else f'These {n} other mixes are'} statistically as good "
                     f"(not separated within {delta} after {sel['replications_per_candidate_at_stop']} "
                     f"replications each): {words}. {_p_best(sel, chosen['mix'], first=True)}.")
    essential = best.get("economically_essential_delay")
    if essential:
        lo, least = essential["cost_minimising"], essential["least_delay"]
        extra = essential["extra_total_cost_of_least_delay_gbp_per_year"]
        delay = _ci(lo["delayed_acute_bed_days_per_year"])
        if least["mix"] == lo["mix"]:
            lines.append(f"Economically essential delay: the cost-minimising mix, with {delay} delayed acute bed "
                         "days a year, is also the least-delay mix simulated.")
        else:
            lines.append(f"Economically essential delay: the cost-minimising mix still has {delay} delayed acute "
                         f"bed days a year; the least-delay mix simulated ({_mix_words(least['variables'], scenario)}"
                         f", {_ci(least['delayed_acute_bed_days_per_year'])} a year) costs {money(extra['mean'])} a "
                         f"year more in total (95% CI {money(extra['ci_low'])} to {money(extra['ci_high'])}).")
    return "\n".join(lines)


def frontier_chart(folder: Path, best: dict[str, Any], table: pd.DataFrame, frontier: pd.DataFrame,
                   footer: str) -> Path:
    """Every simulated mix (grey), the frontier (line), the chosen mix, the budget line;
    95% CIs as error bars."""
    label, unit = best["objective"]["label"], best["objective"]["unit"]
    with style.chart(footer) as (fig, axes):
        ax = axes[0]
        others = table

        def bars(rows: pd.DataFrame, prefix: str = "") -> list[Any]:
            mean = rows[f"{prefix or 'objective_'}mean"].to_numpy(dtype=float)
            return [mean - rows[f"{prefix}ci_low"].to_numpy(dtype=float),
                    rows[f"{prefix}ci_high"].to_numpy(dtype=float) - mean]

        feasible = others[others["feasible"].astype(bool)] if len(others) else others
        if len(feasible):
            ax.errorbar(feasible["cost_gbp_per_year"] / 1e6, feasible["common_mean"], yerr=bars(feasible, "common_"),
                        fmt="o", color=style.GREY, alpha=0.55, markersize=4, capsize=2, linewidth=0.8,
                        label="Mixes simulated (mean, 95% CI)")
        infeasible = others[~others["feasible"].astype(bool)] if len(others) else others
        if len(infeasible):
            ax.errorbar(infeasible["cost_gbp_per_year"] / 1e6, infeasible["common_mean"],
                        yerr=bars(infeasible, "common_"),
                        fmt="x", color=style.VERMILLION, alpha=0.6, markersize=5, capsize=2, linewidth=0.8,
                        label="Mixes missing a constraint")
        if len(frontier):
            ax.errorbar(frontier["cost_gbp_per_year"] / 1e6, frontier["objective_mean"], yerr=bars(frontier),
                        fmt="-o", color=style.BLUE, markersize=5, capsize=3, label="Frontier: best mean for the money")
        chosen = best.get("chosen")
        if chosen is not None:
            row = table[table["mix"] == chosen["mix"]]
            ax.errorbar(row["cost_gbp_per_year"] / 1e6, row["common_mean"], yerr=bars(row, "common_"), fmt="D",
                        color=style.ORANGE, markersize=9, capsize=4, markeredgecolor=style.BLACK,
                        label="Chosen mix", zorder=5)
        ax.axvline(best["budget_gbp_per_year"] / 1e6, color=style.VERMILLION, linestyle="--", linewidth=1.4,
                   label=f"Budget {money(best['budget_gbp_per_year'])} a year")
        ax.set_xlabel("Commissioning cost of the mix (£ million a year)")
        ax.set_ylabel(f"{label}\n({unit})" if unit else label)
        ax.yaxis.set_major_formatter(FuncFormatter(lambda x, _p: f"{x:,.0f}" if abs(x) >= 100 else f"{x:g}"))
        ax.set_title(f"{label} against what the mix costs")
        ax.legend(loc="best")
        return style.save(fig, folder / CHARTS_DIR, "frontier")["png"]


def _read(folder: Path) -> tuple[dict[str, Any], dict[str, Any], pd.DataFrame, pd.DataFrame, dict[str, Any]]:
    try:
        request = json.loads((folder / "run.json").read_text(encoding="utf-8"))
        best = json.loads((folder / "best.json").read_text(encoding="utf-8"))
        table = pd.read_csv(folder / "optimise.csv")
        frontier = pd.read_csv(folder / "frontier.csv")
        scenario = yaml.safe_load((folder / "scenario.yaml").read_text(encoding="utf-8"))
    except (OSError, ValueError, pd.errors.ParserError, yaml.YAMLError) as exc:
        raise ScenarioError([f"{folder}: not a finished optimise folder ({type(exc).__name__}: "
                             f"{str(exc).splitlines()[0][:100]}); finish it with d2asim optimise --resume {folder}"]
                            ) from None
    return request, best, table, frontier, scenario


def build_optimise_report(folder: Path) -> dict[str, Path]:
    """Write charts/frontier.png/.svg, report.md and report.html into ``folder``."""
    folder = Path(folder)
    with report_files(folder):
        request, best, table, frontier, scenario = _read(folder)
        req = request["request"]
        footer = (f"Scenario {scenario.get('name', '?')} · {req['replications']} replications a mix in the search · "
                  f"seed {request['seed']} · d2asim {request['d2asim_version']}")
        chart = frontier_chart(folder, best, table, frontier, footer)
        doc = _document(request, best, table, frontier, scenario, chart, footer)
        written = {"frontier": chart, "markdown": folder / "report.md", "html": folder / "report.html"}
        write_text(written["markdown"], render_markdown(doc))
        write_text(written["html"], render_html(doc))
        return written


def _document(request: dict[str, Any], best: dict[str, Any], table: pd.DataFrame, frontier: pd.DataFrame,
              scenario: dict[str, Any], chart: Path, footer: str) -> Document:
    req = request["request"]
    fields = [v["field"] for v in req["variables"]]
    label, unit = best["objective"]["label"], best["objective"]["unit"]
    answer = best_text(best, scenario)
    ranges = "; ".join(f"`{v['field']}` {v['low']:g} to {v['high']:g}"
                       + (f" in steps of {v['step']:g}" if v.get("step") else "") for v in req["variables"])
    header = [*fields, "Cost (£ a year)", f"{label} ({unit})" if unit else label, "95% CI"]
    rows = [[*(f"{r[f]:g}" for f in fields), f"{r['cost_gbp_per_year']:,.0f}", _num(r["objective_mean"]),
             f"{_num(r['ci_low'])} to {_num(r['ci_high'])}"] for _, r in frontier.iterrows()]
    caption = Caption(answer.splitlines()[0],
                      f"Points: mean over the first {req['replications']} replications, which every mix has (the "
                      "same patients); bars: 95% t-interval; dashed line: the budget. The frontier joins the "
                      "simulated mixes that no cheaper mix beats on that mean. The text's figures for the chosen "
                      "mix use all its replications.")
    search = best["search"]
    skipped = search["over_budget_proposals_not_simulated"]
    blocks: list[Any] = [
        Heading("1. The answer"),
        *[Para(line) for line in answer.splitlines()],
        Heading("2. The cost–objective frontier"),
        Figure(chart, f"{CHARTS_DIR}/frontier.png", f"Scatter of {label} against commissioning cost per mix, with "
               "95% CI error bars and the budget line", caption, "frontier"),
        Table(header, rows, numeric=set(range(len(header))), css="headline sweep"),
        Heading("3. How it was found"),
        Para(f"Decision variables: {ranges}. Budget: {money(best['budget_gbp_per_year'])} a year, a hard limit on "
             f"the {best['cost_convention']}; a mix over it is never simulated ({skipped} proposals were over "
             "budget and skipped)."),
        Para(f"Search: Optuna's TPE sampler (seed {request['seed']}) proposed mixes in batches of {search['batch']}; "
             f"{search['mixes_simulated']} distinct mixes within budget were simulated with {req['replications']} "
             "replications each, every mix on the same seed and replication numbers (common random numbers), so "
             "differences between mixes are not blurred by chance."),
        Para(f"Selection: the best {len(best['selection']['candidates']) if best.get('selection') else 0} feasible "
             "mixes went through the KN fully sequential procedure (Kim & Nelson 2001) on paired differences, "
             f"adding replications until one beat the rest by the indifference zone δ = "
             f"{_num(best['selection']['delta']) if best.get('selection') else '–'} "
             f"({best['selection']['delta_rule'] if best.get('selection') else ''}), or up to "
             f"{best['selection']['replication_cap'] if best.get('selection') else ''} replications each. "
             f"Constraints: {best['constraint_rule']}. Replications used: {best['replications_used_with_current']} "
             "(including the scenario's own mix)."),
        Para("The intervals show random variation in the simulation only, not uncertainty in the inputs. Every "
             "simulated mix is in `optimise.csv`; the frontier in `frontier.csv`; the choice in `best.json`.",
             note=True),
        Heading("4. How to reproduce"),
        Code(f"d2asim optimise {request.get('source', 'scenario.yaml')} "
             + " ".join(f"--vary {v['field']}={v['low']:g}:{v['high']:g}" + (f":{v['step']:g}" if v.get("step")
                                                                               else "") for v in req["variables"])
             + f" \\\n  --budget-gbp-per-year {req['budget_gbp_per_year']:g} --objective {req['objective']}"
             + (" --maximise" if req["maximise"] else "")
             + "".join(f" --constraint \"{c}\"" for c in req["constraints"])
             + f" --reps {req['replications']} --seed {request['seed']} --trials {req['trials']}"
             + f" --batch {req['batch']} --top {req['top']}"
             + (f" --delta {req['delta']:g}" if req.get("delta") is not None else "")
             + (f" --max-reps {req['max_reps']}" if req.get("max_reps") else "")),
    ]
    return Document(title=f"Best mix for {money(best['budget_gbp_per_year'])} a year: scenario "
                          f"{scenario.get('name', '?')}", meta=footer, findings=answer.splitlines()[:1],
                    blocks=blocks, footer=footer)


FEW_FOR_BOOTSTRAP = 10  # common replications below which a bootstrap probability is flagged as rough


def _p_best(sel: dict[str, Any], mix: str, first: bool = False) -> str:
    """The bootstrap probability that ``mix`` is best, in words; flagged as rough when
    it rests on fewer than :data:`FEW_FOR_BOOTSTRAP` common replications (resampling so
    few overstates certainty)."""
    n = sel["common_replications"]
    share = sel["probability_best"][mix]
    text = f"{'B' if first else 'b'}ootstrap probability that the chosen mix is best {share:.0%} (resampling {n} "
    rough = ": only a rough figure, so few replications overstate certainty" if n < FEW_FOR_BOOTSTRAP else ""
    return f"{text}common replications{rough})"
