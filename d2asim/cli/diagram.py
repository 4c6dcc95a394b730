"""``d2asim diagram``: the drawing of a modelled system (matplotlib loads only here)."""

from __future__ import annotations

from pathlib import Path

import click

from d2asim.cli.common import reports_bad_input


@click.command()
@click.argument("source", type=click.Path(path_type=Path))
@click.option("--out", "out", type=click.Path(path_type=Path), default=Path("."), show_default=True,
              help="folder for NAME_diagram.png and NAME_diagram.svg (existing files are never overwritten)")
@reports_bad_input
def diagram(source: Path, out: Path) -> None:
    """Draw the modelled system of SOURCE (a scenario file, or a run folder to add the
    simulated means): trusts, boroughs, services and the expected daily flows between
    them, as PNG and SVG."""
    from d2asim.report.diagram import write_diagram

    paths = write_diagram(source, out)
    click.echo(f"Diagram: {paths['png']} and {paths['svg']}")
