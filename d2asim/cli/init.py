"""``d2asim init --trust CODE --out FILE``: a first scenario for any English acute trust."""

from __future__ import annotations

from pathlib import Path

import click

from d2asim.cli.common import reports_bad_input
from d2asim.scenario.errors import ScenarioError


@click.command("init")
@click.option("--trust", "code", default=None, help="NHS trust code, e.g. RKE (see --list-trusts)")
@click.option("--borough", "boroughs", multiple=True, help="council served (name or ONS code); repeat for several")
@click.option("--out", type=click.Path(path_type=Path), default=None, help="scenario file to write (never replaced)")
@click.option("--period", default=None, metavar="START:END",
              help="months the figures are averaged over, e.g. 2022-04:2023-03 [default: the trust's last 12 "
                   "months of Table 4 data]")
@click.option("--name", default=None, help="scenario name [default: the --out file's stem]")
@click.option("--list-trusts", is_flag=True, help="list the trust codes, names and regions, and exit")
@click.option("--list-boroughs", is_flag=True, help="list the councils (ONS code, name, region), and exit")
@reports_bad_input
def init_command(code: str | None, boroughs: tuple[str, ...], out: Path | None, period: str | None,
                 name: str | None, list_trusts: bool, list_boroughs: bool) -> None:
    """Write a first scenario for trust CODE from the bundled national SitRep extracts
    (calibration/data): beds, admissions by Little's law, NCTR, pathway flows,
    downstream capacities from the offered load, populations; every figure commented."""
    from d2asim.calibration import trust_data as td
    from d2asim.calibration.init_scenario import scenario_text, write_scenario

    if list_trusts:
        for row in td.trust_directory().itertuples():
            click.echo(f"{row.code}\t{row.name}\t{row.region}")
        return
    if list_boroughs:
        for row in td.council_directory().itertuples():
            click.echo(f"{row.Code}\t{row.LA_name}\t{row.region_name}")
        return
    if code is None or out is None:
        raise ScenarioError(["init: give --trust CODE and --out FILE (or --list-trusts / --list-boroughs)"])
    code = code.strip().upper()
    start, end = td.parse_period(period) if period else td.latest_complete_period(code)
    if out.exists():
        raise ScenarioError([f"{out}: --out: file exists; choose another name (init never overwrites)"])
    trust = td.load_trust(code, start, end)
    councils = td.load_boroughs(list(boroughs))
    write_scenario(out, scenario_text(trust, councils, name or out.stem))
    click.echo(f"{out}: first scenario for {trust.name} ({code}), months {start}..{end}; "
               f"check it with `d2asim validate {out}`")
