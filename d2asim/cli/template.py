"""``d2asim template``: the Excel input workbook, empty or filled from a scenario."""

from __future__ import annotations

from pathlib import Path

import click

from d2asim.cli.common import reports_bad_input
from d2asim.scenario.loader import load_scenario, scenario_to_dict
from d2asim.scenario.workbook import write_workbook


@click.command()
@click.argument("workbook", type=click.Path(path_type=Path))
@click.option("--from", "source", type=click.Path(path_type=Path), default=None,
              help="fill it from this scenario (YAML or workbook; what it extends is resolved)")
@reports_bad_input
def template(workbook: Path, source: Path | None) -> None:
    """Write WORKBOOK (.xlsx, a new file): a sheet per block of the scenario, with units
    and allowed values; `d2asim run/validate/compare WORKBOOK` read it back."""
    data = scenario_to_dict(load_scenario(source)) if source is not None else {}
    write_workbook(data, workbook)
    click.echo(f"Workbook: {workbook}" + (f" (filled from {source})" if source else " (empty template)"))
