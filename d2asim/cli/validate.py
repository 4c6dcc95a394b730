"""``d2asim validate`` and ``d2asim schema`` (quick: no simulation code is imported)."""

from __future__ import annotations

import json
from pathlib import Path

import click

from d2asim.cli.common import reports_bad_input
from d2asim.scenario.load import load_table, overload_warnings, stage_loads, system_stage_loads
from d2asim.scenario.loader import load_scenario, read_scenario_file
from d2asim.scenario.schema import Scenario

#: Keys only a calibration config has (a scenario has neither).
CALIBRATION_KEYS = ("base_scenario", "targets")


@click.command()
@click.argument("scenario_file", type=click.Path(path_type=Path))
@reports_bad_input
def validate(scenario_file: Path) -> None:
    """Check SCENARIO_FILE (and any file it extends) against the schema; a calibration
    config (it names a base_scenario and targets) is checked as `calibrate --dry-run`
    does: its base scenario, data files, months of every target and parameters."""
    if all(key in read_scenario_file(scenario_file)[0] for key in CALIBRATION_KEYS):
        from d2asim.calibration.command import plan

        click.echo(plan(scenario_file).describe())
        return
    scenario = load_scenario(scenario_file)
    click.echo(f"{scenario_file}: ok (scenario {scenario.name!r})")
    loads = system_stage_loads(scenario) if scenario.is_system else stage_loads(scenario)
    click.echo("\nLoad per stage (offered load = arrivals x mean stay; rho = offered load / capacity):")
    for line in load_table(loads):
        click.echo(f"  {line}")
    warnings = overload_warnings(loads)
    for line in warnings:
        click.echo(line)
    if warnings:
        click.echo("(warnings do not stop a run: the exit code is 0; expect queues that grow with the run length)")


@click.command()
def schema() -> None:
    """Print the scenario JSON schema (field names, units, defaults)."""
    click.echo(json.dumps(Scenario.model_json_schema(by_alias=True), indent=2))


@click.command()
@click.argument("scenario_file", type=click.Path(path_type=Path))
@click.option("--out", "out", type=click.Path(path_type=Path), required=True, help="new YAML file (never overwritten)")
@click.option("--trust", default="trust", show_default=True, help="name of the scenario's acute trust")
@click.option("--borough", default="borough", show_default=True, help="name of the scenario's borough")
@reports_bad_input
def migrate(scenario_file: Path, out: Path, trust: str, borough: str) -> None:
    """Write SCENARIO_FILE (single-site form) in the system form (trusts, boroughs,
    admissions) to --out; the new file loads as the same one-trust, one-borough system."""
    import yaml

    from d2asim.scenario.errors import ScenarioError
    from d2asim.scenario.loader import validate_mapping
    from d2asim.scenario.migrate import to_system_form

    if out.exists():
        raise ScenarioError([f"{out}: --out: file exists; choose a new file name"])
    data = to_system_form(load_scenario(scenario_file), trust, borough)
    validate_mapping(data, out)  # the migrated file must load
    header = f"# {scenario_file.name} in the system form (written by d2asim migrate)\n"
    out.write_text(header + yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")
    click.echo(f"{out}: written (trust {trust!r}, borough {borough!r})")
