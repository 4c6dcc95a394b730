"""The ``d2asim`` command line: ``run``, ``validate``, ``schema``."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Any, TypeVar

import click

from d2asim import __version__
from d2asim.headline import headline_text
from d2asim.run_folder import new_run_dir, summary_document, write_run
from d2asim.runner import run_replications
from d2asim.scenario.errors import ScenarioError
from d2asim.scenario.loader import load_scenario
from d2asim.scenario.schema import Scenario

F = TypeVar("F", bound=Callable[..., Any])
EXIT_BAD_INPUT = 2


def reports_bad_input(func: F) -> F:
    """Print each :class:`ScenarioError` line to stderr and exit 2, never a traceback."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except ScenarioError as exc:
            for line in exc.lines:
                click.echo(f"error: {line}", err=True)
            sys.exit(EXIT_BAD_INPUT)

    return wrapper  # type: ignore[return-value]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="d2asim")
def main() -> None:
    """Simulate hospital discharge pathways (acute beds, D2A pathways 0-3, community services)."""


@main.command()
@click.argument("scenario_file", type=click.Path(path_type=Path))
@reports_bad_input
def validate(scenario_file: Path) -> None:
    """Check SCENARIO_FILE (and any file it extends) against the schema."""
    scenario = load_scenario(scenario_file)
    click.echo(f"{scenario_file}: ok (scenario {scenario.name!r})")


@main.command()
def schema() -> None:
    """Print the scenario JSON schema (field names, units, defaults)."""
    click.echo(json.dumps(Scenario.model_json_schema(by_alias=True), indent=2))


@main.command()
@click.argument("scenario_file", type=click.Path(path_type=Path))
@click.option("--reps", type=click.IntRange(min=1), default=None, help="replications [default: run.replications]")
@click.option("--seed", type=click.IntRange(min=0), default=None, help="master seed [default: run.seed]")
@click.option("--out", type=click.Path(path_type=Path), default=None, help="run folder [default: outputs/NAME-TIME]")
@reports_bad_input
def run(scenario_file: Path, reps: int | None, seed: int | None, out: Path | None) -> None:
    """Run SCENARIO_FILE and write a run folder (summary.json, daily.csv, ...)."""
    scenario = load_scenario(scenario_file)
    reps = reps or scenario.run.replications
    seed = scenario.run.seed if seed is None else seed
    folder = new_run_dir(scenario.name, out)
    result = run_replications(scenario, reps, seed)
    write_run(result, folder)
    click.echo(headline_text(summary_document(result)))
    click.echo(f"\nRun folder: {folder}")
