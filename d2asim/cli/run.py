"""``d2asim run``."""

from __future__ import annotations

from pathlib import Path

import click

from d2asim.cli.common import backend_options, keeps_finished_work, parse_reps, reports_bad_input
from d2asim.experiments.executor import Backend
from d2asim.experiments.precision import PrecisionRule
from d2asim.headline import headline_text
from d2asim.report.command import report_option, write_report
from d2asim.scenario.errors import ScenarioError
from d2asim.scenario.loader import load_scenario
from d2asim.service import plan_run, reopen, run_job


@click.command()
@click.argument("scenario_file", type=click.Path(path_type=Path), required=False)
@click.option("--reps", default=None, help="replications, or 'auto' [default: run.replications]")
@click.option("--seed", type=click.IntRange(min=0), default=None, help="master seed [default: run.seed]")
@click.option("--out", type=click.Path(path_type=Path), default=None, help="run folder [default: outputs/NAME-TIME]")
@click.option("--resume", type=click.Path(path_type=Path), default=None, help="finish an interrupted run folder")
@click.option("--precision", type=click.FloatRange(min=0, min_open=True), default=0.02, show_default=True,
              help="with --reps auto: target 95%% CI half-width as a share of the mean")
@click.option("--precision-metric", default="delayed_bed_days", show_default=True,
              help="with --reps auto: the metric whose CI must reach --precision")
@click.option("--max-reps", type=click.IntRange(min=1), default=200, show_default=True,
              help="with --reps auto: stop here even if --precision is not reached")
@report_option
@backend_options
@reports_bad_input
def run(scenario_file: Path | None, reps: str | None, seed: int | None, out: Path | None, resume: Path | None,
        precision: float, precision_metric: str, max_reps: int,
        workers: int | None, dask_address: str | None, quiet: bool, report: bool = False) -> None:
    """Run SCENARIO_FILE and write a run folder (summary.json, daily.csv, ...).

    Every finished replication is saved at once: after an interruption,
    `d2asim run --resume RUN_DIR` completes the run with identical results."""
    if resume is not None:
        job = reopen(resume, "run")
    else:
        if scenario_file is None:
            raise ScenarioError(["run: give a SCENARIO_FILE (or --resume RUN_DIR)"])
        scenario = load_scenario(scenario_file)
        wanted = parse_reps(reps) or scenario.run.replications
        job = plan_run(scenario, wanted, scenario.run.seed if seed is None else seed, out)
    backend = Backend(workers, dask_address, progress=not quiet)
    with keeps_finished_work(job.folder, job.resume_command):
        outcome = run_job(job, backend, PrecisionRule(precision_metric, precision, max_reps))
    click.echo(headline_text(outcome.summary))
    click.echo(f"\nRun folder: {job.folder}")
    if report:
        write_report(job.folder)
