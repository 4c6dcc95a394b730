"""``d2asim report RUN_DIR``: the click command (registered lazily in d2asim.cli).

Heavy imports (matplotlib, pandas) happen only when a report is built, and nothing
here imports d2asim.cli, so the CLI can import this module at top level; ``run``,
``compare``, ``sweep`` and ``calibrate`` use :data:`report_option` and :func:`write_report` for ``--report``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from d2asim.report.target import DEFAULT_TARGET
from d2asim.scenario.errors import ScenarioError

EXIT_BAD_INPUT = 2  # same as d2asim.cli.EXIT_BAD_INPUT
MAIN_FILES = ("html", "markdown")


def report_summary(written: dict[str, Path]) -> str:
    """'Report: DIR/report.html' and a line listing the other files written."""
    tables = sorted(p.name for k, p in written.items() if p.suffix in (".csv", ".xlsx"))
    charts = sum(1 for k, p in written.items() if p.suffix == ".png")
    also = [written["markdown"].name, *tables, f"{charts} charts in charts/"]
    lines = [f"Report: {written['html']}", f"Also: {', '.join(also)}"]
    if "baseline_report" in written:
        lines.append(f"Baseline run report: {written['baseline_report']}")
    return "\n".join(lines)


report_option = click.option(
    "--report", is_flag=True,
    help="when finished, also write report.html, report.md, charts/ and table CSVs (as d2asim report DIR)")


def write_report(folder: Path) -> None:
    """``--report``: build the report of a finished run, comparison, sweep or calibration folder and
    say where it is (a ScenarioError propagates to the command's error handling)."""
    from d2asim.report.build import build_any

    click.echo(report_summary(build_any(folder)))


@click.command("report")
@click.argument("run_dir", type=click.Path(path_type=Path))
@click.option("--target", default=None, metavar="VALUE|METRIC<=VALUE",
              help=f"run and compare folders: the DTOC rate target, delayed patients per day per 100,000 adults "
                   f"[default: {DEFAULT_TARGET:g}, the 2017 BCF expectation]; sweep folders: a target such as "
                   f"\"delayed_bed_days<=15000\" to mark the smallest swept value meeting it "
                   f"[default: dtoc_rate_per_100k_adults<={DEFAULT_TARGET:g}]")
def report_command(run_dir: Path, target: str | None) -> None:
    """Write report.html, report.md, charts/ and table CSVs into RUN_DIR: a run folder
    (d2asim run), a comparison folder (d2asim compare), a sweep folder (d2asim sweep)
    or a calibration folder (d2asim calibrate)."""
    from d2asim.report.build import build_any

    try:
        written = build_any(run_dir, target)
    except ScenarioError as exc:
        for line in exc.lines:
            click.echo(f"error: {line}", err=True)
        sys.exit(EXIT_BAD_INPUT)
    click.echo(report_summary(written))
