"""``d2asim forecast --trust CODE --origin DATE --horizon 14``: a forecast from the census."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import click

from d2asim.cli.common import reports_bad_input
from d2asim.scenario.errors import ScenarioError


@click.command("forecast")
@click.option("--trust", "code", required=True, help="NHS trust code, e.g. RKE (`d2asim init --list-trusts`)")
@click.option("--origin", required=True, metavar="YYYY-MM-DD",
              help="first forecast day (the census is the evening before)")
@click.option("--horizon", type=click.IntRange(1, 90), default=14, show_default=True, help="days forecast")
@click.option("--scenario", "scenario_file", type=click.Path(path_type=Path), default=None,
              help="scenario to forecast with, e.g. a calibrated one [default: d2asim init's, 12 months to the origin, "
                   "NCTR level of the last 28 days]")
@click.option("--reps", type=click.IntRange(min=2), default=50, show_default=True, help="replications")
@click.option("--seed", type=click.IntRange(min=0), default=1, show_default=True)
@click.option("--workers", type=click.IntRange(min=1), default=None, help="worker processes [default: all cores]")
@click.option("--out", type=click.Path(path_type=Path), default=None,
              help="run folder [default: outputs/forecast-TRUST-ORIGIN-TIME]")
@reports_bad_input
def forecast_command(code: str, origin: str, horizon: int, scenario_file: Path | None, reps: int, seed: int,
                     workers: int | None, out: Path | None) -> None:
    """Forecast NCTR remaining, NCTR discharges and beds occupied for HORIZON days from
    the trust's census on the evening before ORIGIN; writes forecast.csv (date, series,
    mean, p10, p90, p5, p95), census.json and charts/forecast.png."""
    import os

    from d2asim.calibration import forecast as fc
    from d2asim.calibration.simfit import Simulator
    from d2asim.run_folder import new_run_dir
    from d2asim.scenario.loader import load_scenario

    try:
        day = dt.date.fromisoformat(origin)
    except ValueError:
        raise ScenarioError([f"--origin: must be a date YYYY-MM-DD (got {origin!r})"]) from None
    code = code.strip().upper()
    state = fc.census(code, day)
    scenario = load_scenario(scenario_file) if scenario_file \
        else fc.base_scenario(code, day, nctr_level=state.nctr_level)
    with Simulator(fc.SPECS, workers or os.cpu_count() or 1) as sim:
        table = fc.run_forecast(scenario, state, horizon, reps, seed, sim)
    folder = new_run_dir(f"forecast-{code}-{day.isoformat()}", out)
    table.to_csv(folder / "forecast.csv", index=False)
    (folder / "census.json").write_text(json.dumps({
        "trust": code, "origin": day.isoformat(), "horizon_days": horizon, "replications": reps, "seed": seed,
        "scenario": scenario.name, "nctr_remaining": state.nctr_remaining, "occupied": state.occupied,
        "nctr_waiting": state.waiting, "recorded_nctr_discharges_a_day": state.recorded_discharges,
        "nctr_level_last_28_days": state.nctr_level,
        "method": fc.__doc__}, indent=2) + "\n")
    fc.chart(table, state, folder / "charts", f"Forecast {code} from {day} · {reps} replications · seed {seed} · "
             f"scenario {scenario.name}")
    last = table.groupby("series").tail(1)
    click.echo(f"Forecast for {code} from {day} ({horizon} days, {reps} replications, scenario {scenario.name}); "
               f"census: {state.nctr_remaining} NCTR remaining, {state.occupied} beds occupied")
    for row in last.itertuples():
        click.echo(f"  {row.series} on {row.date}: {row.mean:.1f} (80% {row.p10:.1f}-{row.p90:.1f}, "
                   f"90% {row.p5:.1f}-{row.p95:.1f})")
    click.echo(f"Run folder: {folder}")
