"""``d2asim compare``, ``sweep``, ``capacity-needed`` and ``warmup``."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click
import pandas as pd

from d2asim.cli.common import backend_options, keeps_finished_work, reports_bad_input, reps_option
from d2asim.experiments.capacity import Target
from d2asim.experiments.compare import system_rows
from d2asim.experiments.executor import Backend
from d2asim.experiments.sweep import parse_set
from d2asim.experiments.warmup import BATCH_DAYS, judge_stocks, stock_columns, suggestion, warmup_runs
from d2asim.headline import comparison_text
from d2asim.metrics.stability import warning_lines
from d2asim.report.command import report_option, write_report
from d2asim.runner import RunResult
from d2asim.scenario.errors import ScenarioError
from d2asim.scenario.loader import load_scenario, scenario_to_dict
from d2asim.service import find_capacity, plan_compare, plan_sweep, reopen, run_job


def echo_warnings(runs: Sequence[RunResult]) -> None:
    """Print the queue-growth warnings of every scenario run (they also top the reports)."""
    for run in runs:
        for line in warning_lines(run.warnings(), run.scenario.name):
            click.echo(line)


@click.command("compare")
@click.argument("baseline", type=click.Path(path_type=Path), required=False)
@click.argument("options", type=click.Path(path_type=Path), nargs=-1)
@reps_option()
@click.option("--seed", type=click.IntRange(min=0), default=None, help="master seed [default: run.seed of baseline]")
@click.option("--out", type=click.Path(path_type=Path), default=None, help="folder [default: outputs/compare-TIME]")
@click.option("--resume", type=click.Path(path_type=Path), default=None, help="finish an interrupted comparison")
@report_option
@backend_options
@reports_bad_input
def compare_command(baseline: Path | None, options: tuple[Path, ...], reps: int | None, seed: int | None,
                    out: Path | None, resume: Path | None, workers: int | None, dask_address: str | None,
                    quiet: bool, report: bool = False) -> None:
    """Compare OPTION scenarios with BASELINE on common random numbers: bed days
    saved and other paired differences with 95% CIs (comparison.csv)."""
    if resume is not None:
        job = reopen(resume, "compare")
    else:
        if baseline is None or not options:
            raise ScenarioError(["compare: give a BASELINE and at least one OPTION scenario file"])
        scenarios = [load_scenario(p) for p in (baseline, *options)]
        job = plan_compare(scenarios[0], scenarios[1:], reps or scenarios[0].run.replications,
                           scenarios[0].run.seed if seed is None else seed, out)
    backend = Backend(workers, dask_address, progress=not quiet)
    with keeps_finished_work(job.folder, job.resume_command):
        outcome = run_job(job, backend)
    echo_warnings(outcome.runs)
    click.echo(comparison_text(outcome.table, int(job.replications), job.seed))
    click.echo(f"\nFolder: {job.folder}")
    if report:
        write_report(job.folder)


@click.command("sweep")
@click.argument("scenario_file", type=click.Path(path_type=Path), required=False)
@click.option("--set", "settings", multiple=True, metavar="FIELD=V1,V2,...",
              help="values of a scenario field; repeat for a grid [default: the file's sweep: block]")
@reps_option()
@click.option("--seed", type=click.IntRange(min=0), default=None, help="master seed [default: run.seed]")
@click.option("--out", type=click.Path(path_type=Path), default=None, help="folder [default: outputs/sweep-TIME]")
@click.option("--resume", type=click.Path(path_type=Path), default=None, help="finish an interrupted sweep")
@report_option
@backend_options
@reports_bad_input
def sweep_command(scenario_file: Path | None, settings: tuple[str, ...], reps: int | None, seed: int | None,
                  out: Path | None, resume: Path | None, workers: int | None, dask_address: str | None,
                  quiet: bool, report: bool = False) -> None:
    """Run SCENARIO_FILE at every point of a grid (e.g. --set services.p1.capacity=80,100,120);
    writes sweep.csv, one row per point with 95% CIs."""
    if resume is not None:
        job = reopen(resume, "sweep")
    else:
        if scenario_file is None:
            raise ScenarioError(["sweep: give a SCENARIO_FILE (or --resume DIR)"])
        base = load_scenario(scenario_file)
        grid: dict[str, Any] = parse_set(settings) if settings else dict(base.sweep or {})
        if not grid:
            raise ScenarioError([f"{scenario_file}: sweep: give --set FIELD=V1,V2 or a sweep: block in the file"])
        job = plan_sweep(base, grid, reps or base.run.replications, base.run.seed if seed is None else seed, out,
                         str(scenario_file))
    backend = Backend(workers, dask_address, progress=not quiet)
    with keeps_finished_work(job.folder, job.resume_command):
        outcome = run_job(job, backend)
    table = system_rows(outcome.table)
    shown = [c for c in table.columns if not c.endswith(("_ci_low", "_ci_high"))][: 2 + len(job.points[0]) + 3]
    echo_warnings(outcome.runs)
    click.echo(table[shown].to_string(index=False, float_format=lambda x: f"{x:,.1f}"))
    click.echo(f"\nFolder: {job.folder}")
    if report:
        write_report(job.folder)


@click.command("capacity-needed")
@click.argument("scenario_file", type=click.Path(path_type=Path))
@click.option("--service", required=True, help="service whose capacity to size (a name under services:)")
@click.option("--target", "target_text", required=True, metavar="METRIC<=VALUE",
              help='service-level target, e.g. "dtoc_rate_per_100k_adults<=9.4"')
@reps_option()
@click.option("--seed", type=click.IntRange(min=0), default=None, help="master seed [default: run.seed]")
@click.option("--out", type=click.Path(path_type=Path), default=None, help="folder [default: outputs/capacity-TIME]")
@backend_options
@reports_bad_input
def capacity_needed_command(scenario_file: Path, service: str, target_text: str, reps: int | None,
                            seed: int | None, out: Path | None, workers: int | None,
                            dask_address: str | None, quiet: bool) -> None:
    """The smallest capacity of SERVICE meeting TARGET (bisection on common random
    numbers), by the mean and by the whole 95% CI, with unlimited capacity for reference."""
    base = load_scenario(scenario_file)
    target = Target.parse(target_text)
    reps = reps or base.run.replications
    seed = base.run.seed if seed is None else seed
    answer, folder = find_capacity(base, service, target, reps, seed, out,
                                   Backend(workers, dask_address, progress=not quiet))
    unlimited = answer["unlimited"]
    click.echo(f"Target: {target}; service {service} (now {answer['current_capacity']} places); "
               f"{reps} replications, seed {seed}")
    click.echo(f"With unlimited capacity: {target.metric} = {unlimited['mean']:.3g} "  # type: ignore[index]
               f"(95% CI {unlimited['ci_low']:.3g} to {unlimited['ci_high']:.3g})")  # type: ignore[index]
    if answer["by_mean"] is None:
        click.echo("Not achievable by this service alone: even unlimited capacity misses the target.")
    else:
        click.echo(f"Smallest capacity whose mean meets the target: {answer['by_mean']}")
        click.echo(f"Smallest capacity whose whole 95% CI meets the target: {answer['by_ci']}")
    click.echo(f"\nEvery capacity tried: {folder / 'capacity_search.csv'}")


@click.command("warmup")
@click.argument("scenario_file", type=click.Path(path_type=Path))
@reps_option("replications [default: 10]")
@click.option("--seed", type=click.IntRange(min=0), default=None, help="master seed [default: run.seed]")
@click.option("--days", type=click.IntRange(min=4 * BATCH_DAYS), default=None,
              help="days to simulate with no warm-up [default: warm-up + duration]")
@click.option("--empty", is_flag=True, help="start empty, ignoring the scenario's initial_state")
@backend_options
@reports_bad_input
def warmup_command(scenario_file: Path, reps: int | None, seed: int | None, days: int | None, empty: bool,
                   workers: int | None, dask_address: str | None, quiet: bool) -> None:
    """Suggest a warm-up period: MSER-5 on every stock (acute occupancy, admission queue,
    each service's occupancy and queue); says which stock needs the longest and why."""
    scenario = load_scenario(scenario_file)
    days = days or scenario.run.warmup_days + scenario.run.duration_days
    reps = reps or 10
    seed = scenario.run.seed if seed is None else seed
    daily = warmup_runs(scenario, reps, seed, days, Backend(workers, dask_address, not quiet), empty)
    columns = stock_columns(scenario)
    click.echo(warmup_text(scenario, judge_stocks(daily, columns), suggestion(daily, columns), reps, days, empty))


def warmup_text(scenario: Any, stocks: pd.DataFrame, suggested: int, reps: int, days: int, empty: bool) -> str:
    """The verdict of ``d2asim warmup``: the suggestion, the stock that sets it and every stock's row."""
    start = "empty" if empty or scenario.initial_state is None else "from the scenario's initial_state"
    longest = stocks.sort_values("truncation_days", ascending=False, kind="stable").iloc[0]
    lines = [
        f"Suggested warm-up: {suggested} days (now {scenario.run.warmup_days}).",
        f"How: {reps} replications started {start} and ran {days} days with no warm-up; each stock's daily mean "
        f"across them was averaged in {BATCH_DAYS}-day batches and MSER-5 chose the truncation that minimises "
        "the standard error of the remaining mean; the suggestion is the longest, rounded up to whole weeks.",
        f"Longest: {longest['stock']}, {longest['truncation_days']} days (day 0: {longest['day0']:.1f}, "
        f"after the cut: {longest['level_after']:.1f}).",
    ]
    unsettled = stocks[~stocks["settled"]]
    if len(unsettled):
        lines.append("Not settled within the run (no warm-up inside it can be trusted for these): "
                     + "; ".join(f"{r.stock}: {r.why_not}" for r in unsettled.itertuples()) + ".")
    header = f"{'stock':24s} {'cut (days)':>10s} {'day 0':>9s} {'after cut':>10s} {'2nd-half change':>16s}  settled"
    lines += ["", header, "-" * len(header)]
    lines += [f"{r.stock:24s} {r.truncation_days:>10d} {r.day0:>9.1f} {r.level_after:>10.1f} "
              f"{r.second_half_change:>+16.1f}  {'yes' if r.settled else 'no'}" for r in stocks.itertuples()]
    return "\n".join(lines)


@click.command("optimise")
@click.argument("scenario_file", type=click.Path(path_type=Path), required=False)
@click.option("--vary", "varies", multiple=True, metavar="FIELD=LO:HI[:STEP]",
              help="a decision variable: a numeric scenario field (dotted path, as sweep --set) and its range; "
                   "repeat for each")
@click.option("--budget-gbp-per-year", "budget", type=float, default=None,
              help="most the mix may cost: annual commissioning cost of the block-priced places, GBP")
@click.option("--objective", default=None, metavar="METRIC[@SCOPE]",
              help="metric to minimise, e.g. delayed_bed_days, dtoc_rate_per_100k_adults@borough:NAME, "
                   "or total_cost (commissioning + delayed acute bed days, GBP a year)")
@click.option("--maximise", is_flag=True, help="maximise the objective instead")
@click.option("--constraint", "constraints", multiple=True, metavar="METRIC<=V",
              help="a metric constraint met by its whole 95% CI (also <, >=, >); repeat for several")
@reps_option("replications of every mix in the search [default: 10]")
@click.option("--seed", type=click.IntRange(min=0), default=None, help="master seed [default: run.seed]")
@click.option("--trials", type=click.IntRange(min=1), default=40, show_default=True,
              help="distinct mixes within budget to simulate in the search")
@click.option("--batch", type=click.IntRange(min=1), default=4, show_default=True,
              help="mixes proposed and simulated together (the answer does not depend on --workers)")
@click.option("--delta", type=float, default=None,
              help="indifference zone in the objective's units [default: 1% of the best search mean]")
@click.option("--top", type=click.IntRange(min=1), default=5, show_default=True,
              help="best mixes of the search taken into the selection stage")
@click.option("--max-reps", type=click.IntRange(min=2), default=None,
              help="replication cap per candidate in the selection stage [default: 5 x --reps]")
@click.option("--fill-budget", is_flag=True,
              help="assume more of any variable never makes the objective worse: top each proposed mix up, one "
                   "step of each variable in turn, until no step fits the budget")
@click.option("--out", type=click.Path(path_type=Path), default=None, help="folder [default: outputs/optimise-TIME]")
@click.option("--resume", type=click.Path(path_type=Path), default=None, help="finish an interrupted optimisation")
@backend_options
@reports_bad_input
def optimise_command(scenario_file: Path | None, varies: tuple[str, ...], budget: float | None,
                     objective: str | None, maximise: bool, constraints: tuple[str, ...], reps: int | None,
                     seed: int | None, trials: int, batch: int, delta: float | None, top: int,
                     max_reps: int | None, fill_budget: bool, out: Path | None, resume: Path | None,
                     workers: int | None, dask_address: str | None, quiet: bool) -> None:
    """The best mix of capacities for a budget: a seeded TPE search (Optuna) on common random
    numbers, then KN ranking and selection; writes optimise.csv, frontier.csv, best.json,
    the frontier chart and report.md/report.html."""
    from d2asim.experiments.optimise_space import Request, parse_vary
    from d2asim.report.optimise_report import best_text
    from d2asim.service import plan_optimise, run_optimise

    if resume is not None:
        folder = resume
        if (folder / "best.json").exists():
            raise ScenarioError([f"{folder}: --resume: this optimisation is already complete (best.json exists)"])
    else:
        if scenario_file is None:
            raise ScenarioError(["optimise: give a SCENARIO_FILE (or --resume DIR)"])
        if budget is None or objective is None:
            raise ScenarioError(["optimise: give --budget-gbp-per-year and --objective"])
        base = load_scenario(scenario_file)
        request = Request(parse_vary(varies, base), budget, objective, maximise, list(constraints), reps or 10,
                          base.run.seed if seed is None else seed, trials, batch, delta, top, max_reps, fill_budget)
        folder = plan_optimise(base, request, out, str(scenario_file))
    backend = Backend(workers, dask_address, progress=False)
    say = (lambda _text: None) if quiet else (lambda text: click.echo(text, err=True))
    with keeps_finished_work(folder, f"d2asim optimise --resume {folder}"):
        opt, best = run_optimise(folder, backend, on_progress=say)
    click.echo(best_text(best, scenario_to_dict(opt.base)))
    click.echo(f"\nFolder: {folder}")
