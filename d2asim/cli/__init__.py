"""The ``d2asim`` command line.

Commands are imported only when used, so ``d2asim validate`` starts quickly
(the simulation, pandas and scipy load only for commands that run the model).
"""

from __future__ import annotations

import importlib

import click

from d2asim.version import __version__

COMMANDS = {
    "app": ("d2asim.app.command", "app_command"),
    "run": ("d2asim.cli.run", "run"),
    "validate": ("d2asim.cli.validate", "validate"),
    "schema": ("d2asim.cli.validate", "schema"),
    "migrate": ("d2asim.cli.validate", "migrate"),
    "template": ("d2asim.cli.template", "template"),
    "compare": ("d2asim.cli.experiments", "compare_command"),
    "sweep": ("d2asim.cli.experiments", "sweep_command"),
    "capacity-needed": ("d2asim.cli.experiments", "capacity_needed_command"),
    "warmup": ("d2asim.cli.experiments", "warmup_command"),
    "optimise": ("d2asim.cli.experiments", "optimise_command"),
    "report": ("d2asim.report.command", "report_command"),
    "diagram": ("d2asim.cli.diagram", "diagram"),
    "calibrate": ("d2asim.calibration.command", "calibrate_command"),
    "init": ("d2asim.cli.init", "init_command"),
    "forecast": ("d2asim.cli.forecast", "forecast_command"),
}


class LazyGroup(click.Group):
    """A click group that imports each command's module on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in COMMANDS:
            return None
        module, attribute = COMMANDS[cmd_name]
        command: click.Command = getattr(importlib.import_module(module), attribute)
        return command


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="d2asim")
def main() -> None:
    """Simulate hospital discharge pathways (acute beds, D2A pathways 0-3, community services)."""
