"""The ``d2asim`` command line."""

from __future__ import annotations

import click

from d2asim import __version__
from d2asim.cli.experiments import (
    capacity_needed_command,
    compare_command,
    sweep_command,
    warmup_command,
)
from d2asim.cli.run import run, schema, validate


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="d2asim")
def main() -> None:
    """Simulate hospital discharge pathways (acute beds, D2A pathways 0-3, community services)."""


for command in (run, validate, schema, compare_command, sweep_command, capacity_needed_command, warmup_command):
    main.add_command(command)
