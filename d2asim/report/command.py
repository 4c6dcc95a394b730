"""``d2asim report RUN_DIR``: the click command (register it in d2asim.cli with
``main.add_command(report_command)``).

Heavy imports (matplotlib, pandas) happen only when the command runs, and nothing
here imports d2asim.cli, so the CLI can import this module at top level.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from d2asim.report import DEFAULT_TARGET
from d2asim.scenario.errors import ScenarioError

EXIT_BAD_INPUT = 2  # same as d2asim.cli.EXIT_BAD_INPUT


@click.command("report")
@click.argument("run_dir", type=click.Path(path_type=Path))
@click.option("--target", type=float, default=DEFAULT_TARGET, show_default=True,
              help="DTOC rate target, delayed patients per day per 100,000 adults (2017 BCF: 9.4)")
def report_command(run_dir: Path, target: float) -> None:
    """Write report.html, report.md, charts/ and table CSVs into the run folder RUN_DIR."""
    from d2asim.report.build import build_report

    try:
        written = build_report(run_dir, target)
    except ScenarioError as exc:
        for line in exc.lines:
            click.echo(f"error: {line}", err=True)
        sys.exit(EXIT_BAD_INPUT)
    click.echo(f"Report: {written['html']}")
    click.echo(f"Also: {written['markdown'].name}, headline.csv, inputs.csv, "
               f"{sum(1 for k in written if k not in ('html', 'markdown', 'headline', 'inputs'))} charts in charts/")
