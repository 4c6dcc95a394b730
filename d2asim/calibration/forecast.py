"""``d2asim forecast --trust CODE --origin DATE --horizon 14``: a forecast from the census.

The model starts on the origin day from the trust's position at the end of the day
before (the engine's ``initial_state``; stays in progress get length-biased residual
times):

- **NCTR queue by pathway**: the SitRep's NCTR remaining that evening; the Table 5
  counts of LoS 14+ patients waiting for P1, P2 and P3 (latest month at or before the
  last complete month before the origin, ``known_month``) are put on those pathways,
  the rest on P0;
- **patients under treatment** = beds occupied (the UEC SitRep's monthly mean for the
  last complete month before the origin; no daily series is published) minus the NCTR
  queue; any beyond the scenario's beds plus escalation beds on the origin start in the
  admission queue;
- **service caseloads** (none is published): a service with patients waiting for it in
  the census is full (they would not wait otherwise); the others start at the scenario's
  ``initial_state`` (``init``: the offered load, flow x mean episode). Services without a
  capacity limit (permanent care homes) start empty: within the horizon their residents
  only leave, which affects nothing else.

The scenario is ``--scenario FILE`` (e.g. a calibrated one) or ``d2asim init``'s from the
12 complete months before the origin (the last 12 with Table 4 data, if the origin is
later), with the NCTR level of the 28 days before the origin (``Census.nctr_level``) in
place of the 12 months' mean: init sizes P0's multi-day waits to it, so the forecast relaxes towards the
recent level, not last year's (the trusts' NCTR rose by a half to a double in 2023).
Series (per day; percentiles across replications):

``nctr``         NCTR patients remaining at 23:59 (the SitRep's "remaining")
``discharges``   NCTR patients discharged that day: each replication's discharges thinned
                 (binomially) by the trust's recorded share (observed NCTR discharges / the
                 scenario's discharges a day, over the 28 days before the origin), since the
                 SitRep counts only discharges recorded as NCTR (about half at RKE); a share
                 above 1 scales instead
``occupancy``    adult G&A beds occupied at 08:00
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from d2asim.calibration import trust_data as td
from d2asim.calibration.simfit import ModelSpec, Simulator, set_paths
from d2asim.model.calendar import DAYS_PER_YEAR
from d2asim.scenario.errors import ScenarioError
from d2asim.scenario.loader import scenario_to_dict, validate_mapping
from d2asim.scenario.schedule import value_on
from d2asim.scenario.schema import Scenario

SPECS = (ModelSpec("nctr", "nctr", 23.99), ModelSpec("discharges", "discharges"),
         ModelSpec("occupancy", "acute_occupied", 8.0))
SERIES = ("nctr", "discharges", "occupancy")
COLUMNS = ["date", "series", "mean", "p10", "p90", "p5", "p95"]
LOOKBACK_DAYS = 28


@dataclass(frozen=True)
class Census:
    """A trust's position at the end of the day before ``origin`` (patients)."""

    code: str
    origin: dt.date
    nctr_remaining: int
    occupied: int
    waiting: dict[str, int]  # NCTR queue by pathway (P0 the rest)
    recorded_discharges: float  # observed NCTR discharges a day, last 28 days
    history: pd.DataFrame  # observed daily nctr (remaining) and discharges, up to the day before the origin

    @property
    def nctr_level(self) -> float:
        """Mean NCTR remaining at 23:59 over the ``LOOKBACK_DAYS`` before the origin (patients)."""
        recent = self.history[self.history.index >= pd.Timestamp(self.origin) - pd.Timedelta(days=LOOKBACK_DAYS)]
        return float(recent["nctr"].mean())


def observed_daily(code: str, data_dir: Path = td.DATA_DIR) -> pd.DataFrame:
    """Daily NCTR remaining (``nctr``) and NCTR discharged (``discharges``) of a trust, all dates."""
    frame = td.daily_series(code, data_dir)
    return pd.DataFrame({"nctr": frame["nctr"] - frame["discharged"], "discharges": frame["discharged"]})


def census(code: str, origin: dt.date, data_dir: Path = td.DATA_DIR,
           daily: pd.DataFrame | None = None) -> Census:
    """The trust's position on the evening before ``origin`` (the last submitted day within a week)."""
    td.latest_complete_period(code, data_dir)  # an unknown trust: one line naming --list-trusts
    daily = observed_daily(code, data_dir) if daily is None else daily
    before = daily[daily.index < pd.Timestamp(origin)].dropna()
    recent = before[before.index >= pd.Timestamp(origin) - pd.Timedelta(days=7)]
    if recent.empty:
        raise ScenarioError([f"--origin: {code} submitted no NCTR counts in the week before {origin} "
                             f"({td.NCTR_FILE} covers 2022-04-01..2025-08-31)"])
    remaining = int(round(float(recent["nctr"].iloc[-1])))
    month = known_month(origin)
    trust = td.load_trust(code, *_table4_window(code, month, data_dir), data_dir)
    published = td.beds_occupied(code, month, data_dir)  # also after Table 4 ends (the window's months)
    occupied = int(round(published if published is not None else trust.occupied))
    table5 = td.latest_waiting(code, month, data_dir)
    waiting = {p: int(round(v)) for p, v in table5.items()}
    scale = min(1.0, remaining / max(1, sum(waiting.values())))
    waiting = {p: int(v * scale) for p, v in waiting.items()}
    waiting = {"P0": remaining - sum(waiting.values()), **waiting}
    last = before[before.index > pd.Timestamp(origin) - pd.Timedelta(days=LOOKBACK_DAYS + 1)]
    return Census(code, origin, remaining, occupied, waiting, float(last["discharges"].mean()), before)


def known_month(origin: dt.date) -> str:
    """The last complete month before ``origin`` (YYYY-MM): the monthly series (beds occupied,
    Table 4 flows, Table 5 waits) of the origin's own month include days after it."""
    return str(pd.Period(origin, freq="M") - 1)


def _table4_window(code: str, month: str, data_dir: Path) -> tuple[str, str]:
    """The 12 months to ``month`` if Table 4 covers them, else the trust's last 12 with Table 4."""
    last_start, last_end = td.latest_complete_period(code, data_dir)
    if month > last_end:
        return last_start, last_end
    return str(pd.Period(month, freq="M") - 11), month


def base_scenario(code: str, origin: dt.date, data_dir: Path = td.DATA_DIR,
                  nctr_level: float | None = None) -> Scenario:
    """``d2asim init``'s scenario from the 12 months before the origin; with ``nctr_level``
    (patients remaining at 23:59), init sizes P0's multi-day waits to that level instead of
    the 12 months' mean."""
    from d2asim.calibration.init_scenario import scenario_text

    month = known_month(origin)
    trust = td.load_trust(code, *_table4_window(code, month, data_dir), data_dir)
    if nctr_level is not None and np.isfinite(nctr_level):
        trust = replace(trust, nctr_remaining=float(nctr_level))
    return validate_mapping(yaml.safe_load(scenario_text(trust, [], f"{code.lower()}_forecast")), "<init>")


def start_from(scenario: Scenario, state: Census, horizon: int) -> Scenario:
    """``scenario`` starting on the origin from the census, for ``horizon`` days, no warm-up."""
    given = dict(scenario.initial_state.services_occupied) if scenario.initial_state else {}
    _, acute, pathways = scenario.single_site()
    service_of: dict[str, str | None] = {p: s.service for p, s in pathways.settings.items()}
    services = {}
    for name, service in scenario.services.items():
        if service.capacity is None:
            continue
        places = int(value_on(service.capacity, state.origin))
        waiting = sum(n for p, n in state.waiting.items() if service_of[p] == name)
        services[name] = places if waiting > 0 else min(given.get(name, 0), places)
    # The census may count more patients than the model's beds hold (the month's mean beds
    # occupied against the beds in force on the origin): the rest start in the admission queue.
    escalation = acute.escalation
    capacity = int(value_on(acute.beds, state.origin)) + (
        int(value_on(escalation.beds, state.origin)) if escalation is not None else 0)
    treated = max(0, state.occupied - state.nctr_remaining)
    in_beds = max(0, min(treated, capacity - state.nctr_remaining))
    overrides: dict[str, Any] = {
        **_rebased_growth(scenario, state.origin),
        "run.start_date": state.origin, "run.warmup_days": 0, "run.duration_days": horizon,
        "initial_state": {"acute_occupied": in_beds, "admission_queue": treated - in_beds,
                          "nctr_waiting": state.waiting, "services_occupied": services}}
    return validate_mapping(set_paths(scenario_to_dict(scenario), overrides), "<forecast>")


def _growth_since_start(scenario: Scenario, on: dt.date) -> float:
    """(1 + growth_per_year) ** years from the scenario's run.start_date to ``on`` (one
    rate for every age band; 1 when the growth is by band)."""
    growth = scenario.single_site()[0].non_elective.growth_per_year
    if isinstance(growth, dict) or not growth:
        return 1.0
    return float((1 + growth) ** ((on - scenario.run.start_date).days / DAYS_PER_YEAR))


def _rebased_growth(scenario: Scenario, origin: dt.date) -> dict[str, Any]:
    """Growth counts from run.start_date, which the forecast moves to the origin: a constant
    per_day is raised by the growth from the scenario's start to the origin, so the level
    on the origin stays the scenario's."""
    per_day = scenario.single_site()[0].non_elective.per_day
    factor = _growth_since_start(scenario, origin)
    if factor == 1.0 or not isinstance(per_day, int | float):
        return {}
    return {"arrivals.non_elective.per_day": float(per_day) * factor}


def discharges_a_day(scenario: Scenario, on: dt.date) -> float:
    """The scenario's discharges a day at equilibrium on ``on``: admissions (per_day x the
    month's multiplier x growth since run.start_date) x survival."""
    arrivals, acute, _ = scenario.single_site()
    deaths = acute.death_probability
    if isinstance(deaths, dict):
        deaths = sum(b.share * deaths.get(b.name, 0.0) for b in scenario.age_bands)
    stream = arrivals.non_elective
    month = 1.0 if stream.month_of_year is None else stream.month_of_year[on.month - 1]
    return float(value_on(stream.per_day, on)) * month * _growth_since_start(scenario, on) * (1 - float(deaths))


def recorded(discharges: np.ndarray, share: float, seed: int) -> np.ndarray:
    """The NCTR discharges the SitRep would record of the model's ``discharges`` (counts):
    each one recorded with probability ``share`` (binomial thinning: the recording adds
    its own day-to-day noise); a share above 1 scales the counts."""
    if share > 1 or not np.isfinite(share):
        return discharges * share
    counts = np.maximum(0, np.rint(discharges)).astype(np.int64)
    return np.random.default_rng(seed).binomial(counts, max(0.0, share)).astype(float)


def forecast_table(frames: list[pd.DataFrame], recorded_share: float, seed: int = 0) -> pd.DataFrame:
    """Long table: date, series, mean, p10, p90, p5, p95 across replications (``seed``:
    the recording of discharges, see ``recorded``)."""
    rows = []
    for series in SERIES:
        values = np.column_stack([f[series].to_numpy(dtype=float) for f in frames])
        if series == "discharges":
            values = recorded(values, recorded_share, seed)
        q = np.percentile(values, [10, 90, 5, 95], axis=1)
        rows.append(pd.DataFrame({"date": pd.DatetimeIndex(frames[0].index).strftime("%Y-%m-%d"), "series": series,
                                  "mean": values.mean(axis=1), "p10": q[0], "p90": q[1], "p5": q[2], "p95": q[3]}))
    return pd.concat(rows, ignore_index=True)[COLUMNS]


def run_forecast(scenario: Scenario, state: Census, horizon: int, replications: int, seed: int,
                 simulator: Simulator) -> pd.DataFrame:
    """The forecast table of ``scenario`` from ``state``."""
    start = start_from(scenario, state, horizon)
    frames = simulator.run([(start, seed, range(replications))])[0]
    expected = discharges_a_day(scenario, state.origin)
    share = state.recorded_discharges / expected if expected > 0 else 1.0
    return forecast_table(frames, share, seed)


def chart(table: pd.DataFrame, state: Census, folder: Path, footer: str) -> Path:
    """One panel per series: the last 28 observed days, the forecast mean and 80%/90% bands."""
    from d2asim.report import style

    labels = {"nctr": "NCTR patients remaining at 23:59", "discharges": "NCTR patients discharged a day",
              "occupancy": "Adult G&A beds occupied at 08:00"}
    history = state.history[state.history.index >= pd.Timestamp(state.origin) - pd.Timedelta(days=LOOKBACK_DAYS)]
    with style.chart(footer, nrows=3, height_in=8.0, sharex=True) as (fig, axes):
        for ax, series in zip(axes, SERIES, strict=True):
            rows = table[table["series"] == series]
            dates = pd.to_datetime(rows["date"])
            look = style.series_style(0)
            ax.fill_between(dates, rows["p5"], rows["p95"], color=look["color"], alpha=0.15, linewidth=0,
                            label="90% interval")
            ax.fill_between(dates, rows["p10"], rows["p90"], color=look["color"], alpha=0.3, linewidth=0,
                            label="80% interval")
            ax.plot(dates, rows["mean"], label="forecast mean", **look)
            if series in history:
                ax.plot(history.index, history[series], color=style.BLACK, marker=".", linestyle="none",
                        markersize=3, label="observed")
            ax.set_title(labels[series], fontsize=9)
        axes[0].legend(loc="upper left", ncols=4, fontsize=7)
        style.save(fig, folder, "forecast")
    return folder / "forecast.png"
