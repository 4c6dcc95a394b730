"""Daily and monthly time series of one replication (stocks as time averages).

Daily values cover the whole simulation, warm-up included (``reported`` marks
the reported period), so warm-up can be judged from them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

from d2asim.metrics.costs import capacity_column
from d2asim.metrics.intervals import DayCounts, DayIntervals, interval_integrals, positions
from d2asim.metrics.scope import SYSTEM, Scope, scope_groups, system_scope
from d2asim.model.log import ACUTE_PLACE, EventLog
from d2asim.scenario.schedule import daily_values
from d2asim.scenario.schema import ORGS, PATHWAYS, REASON_CODES, Scenario
from d2asim.system.registry import SystemRegistry, registry_of


def dtoc_segments(log: EventLog, scenario: Scenario) -> dict[str, np.ndarray]:
    """Delay segments that count as DTOC: all in acute beds, plus those in services
    marked ``counts_as_dtoc`` (non-acute delays)."""
    d = log.table("delays")
    keep = (d["place"] == ACUTE_PLACE) | np.isin(d["place"], registry_of(scenario).dtoc_places())
    return {k: v[keep] for k, v in d.items()}


def delay_attribution(dtoc: dict[str, np.ndarray], scenario: Scenario) -> tuple[np.ndarray, np.ndarray]:
    """Reason code and responsible organisation of each delay segment: by what was
    waited for (the borough's ``delay_reasons``, else the system's, else the service
    kind's default), with a pathway's own ``assessment.delay_reason`` taking
    precedence for assessment delays."""
    reason, org = attribution_positions(dtoc, scenario)
    return np.array(REASON_CODES)[reason], np.array(ORGS)[org]


def attribution_positions(dtoc: dict[str, np.ndarray], scenario: Scenario) -> tuple[np.ndarray, np.ndarray]:
    """:func:`delay_attribution` as positions in ``REASON_CODES`` and ``ORGS``."""
    reason, org = registry_of(scenario).reason_positions
    index = (dtoc["borough"].astype(int), dtoc["cause"].astype(int), dtoc["pathway"].astype(int))
    return reason[index], org[index]


def reported_days(daily: pd.DataFrame) -> pd.DataFrame:
    """The rows of a daily frame marked ``reported``: a slice when they are its last
    rows (as :func:`daily_series` makes them), not a copy."""
    mask = daily["reported"].to_numpy()
    first = int(mask.argmax()) if mask.any() else len(mask)
    return daily.iloc[first:] if mask[first:].all() else daily[mask]


def service_places(scenario: Scenario, sim_start: dt.date, n_days: int) -> dict[str, np.ndarray]:
    """Each finite service's places in force on each simulated day (dated schedules),
    by its daily column (``<service>_capacity``)."""
    out = {}
    for service in registry_of(scenario).services:
        spec = service.spec
        if spec.capacity is not None:
            values, day_value = np.unique(daily_values(spec.capacity, sim_start, n_days), return_inverse=True)
            out[capacity_column(service.name)] = np.array([spec.places_for(c) for c in values], dtype=float)[day_value]
    return out


def daily_series(
    log: EventLog, scenario: Scenario, sim_start: dt.date, places: Mapping[str, np.ndarray] | None = None
) -> pd.DataFrame:
    """One row per simulated day of the whole system: time-average stocks, daily flows,
    the core acute beds and each finite service's places in force that day (``places``:
    :func:`service_places`, computed when not given). See :func:`scope_columns`."""
    registry = registry_of(scenario)
    return daily_frame(scope_columns(log, scenario, sim_start, [system_scope(registry)], places)[SYSTEM], scenario,
                       sim_start)  # fmt: skip


def daily_frame(columns: Mapping[str, np.ndarray], scenario: Scenario, sim_start: dt.date) -> pd.DataFrame:
    """A daily frame (``date``, ``day``, ``reported``, then ``columns``) from one
    scope's :func:`scope_columns`."""
    n_days = len(next(iter(columns.values())))
    day = np.arange(n_days)
    first = {"date": pd.date_range(sim_start, periods=n_days, freq="D"), "day": day,
             "reported": day >= scenario.run.warmup_days}  # fmt: skip
    return pd.DataFrame({**first, **columns})  # one frame built at once (inserting columns copies it)


def scope_columns(
    log: EventLog, scenario: Scenario, sim_start: dt.date, scopes: Sequence[Scope],
    places: Mapping[str, np.ndarray] | None = None,
) -> dict[str, dict[str, np.ndarray]]:
    """The daily columns of each scope (by key) over every simulated day: beds
    occupied, the admission queue, delayed beds (acute, DTOC, DTOC of modelled
    boroughs' residents), each service's places occupied and people waiting (time
    averages); admissions, discharges and deaths (counts); the core acute beds of the
    scope's trusts (every trust for the system and a borough) and each finite service's
    places. The log's intervals are prepared once for every scope (:class:`DayIntervals`):
    each scope's values are those of its rows alone, bit for bit."""
    if not scopes:
        return {}
    registry = registry_of(scenario)
    n_days = int(log.horizon)
    acute, delays, services = log.table("acute"), log.table("delays"), log.table("services")
    dtoc = dtoc_segments(log, scenario)
    modelled = [b.code for b in registry.modelled_boroughs]  # out-of-area patients count in no rate
    stay = DayIntervals(acute["admit"], np.where(np.isnan(acute["admit"]), np.nan, acute["leave"]), 0.0, n_days)
    queue = DayIntervals(acute["arrival"], _first_finite(acute["admit"], acute["leave"]), 0.0, n_days)
    delayed, delayed_dtoc = (DayIntervals(t["start"], t["end"], 0.0, n_days) for t in (delays, dtoc))
    occupying = DayIntervals(services["start"], services["leave"], 0.0, n_days)
    admitted, left = DayCounts(acute["admit"], 0.0, n_days), DayCounts(acute["leave"], 0.0, n_days)
    in_acute_bed = delays["place"] == ACUTE_PLACE
    resident = np.isin(dtoc["borough"], modelled)
    died = acute["died"] == 1
    n_services = len(registry.services)
    service_of = positions(services["service"], [s.code for s in registry.services])
    cause_of = positions(delays["cause"], [s.cause for s in registry.services])
    every_trust = _core_beds(registry, range(len(registry.trusts)), sim_start, n_days)
    places = service_places(scenario, sim_start, n_days) if places is None else places
    out = {}
    for kind in dict.fromkeys(s.column for s in scopes):  # scopes of one kind are read from one column
        mine = [s for s in scopes if s.column == kind]
        n = len(mine)
        in_acute, in_delays, in_dtoc, in_services = (scope_groups(t, mine) for t in (acute, delays, dtoc, services))
        stocks = {
            "acute_occupied": stay.by(in_acute, n),
            "admission_queue": queue.by(in_acute, n),
            "delayed_acute": delayed.by(np.where(in_acute_bed, in_delays, -1), n),
            "delayed_dtoc": delayed_dtoc.by(in_dtoc, n),
            "delayed_dtoc_residents": delayed_dtoc.by(np.where(resident, in_dtoc, -1), n),
        }
        flows = {
            "admissions": admitted.by(in_acute, n),
            "discharges": left.by(np.where(died, -1, in_acute), n),
            "deaths_in_hospital": left.by(np.where(died, in_acute, -1), n),
        }
        occupied = occupying.by(_cells(in_services, service_of, n_services), n * n_services)
        waiting = delayed.by(_cells(in_delays, cause_of, n_services), n * n_services)
        for g, scope in enumerate(mine):
            beds = _core_beds(registry, [scope.code], sim_start, n_days) if kind == "trust" else every_trust
            cols = {**{name: values[g] for name, values in stocks.items()}, "acute_beds": beds,
                    **{name: values[g] for name, values in flows.items()}}  # fmt: skip
            for k, service in enumerate(registry.services):
                cols[f"{service.name}_occupied"] = occupied[g * n_services + k]
                cols[f"{service.name}_waiting"] = waiting[g * n_services + k]
                capacity = capacity_column(service.name)
                if capacity in places:
                    cols[capacity] = places[capacity]
            out[scope.key] = cols
    return {scope.key: out[scope.key] for scope in scopes}


def reported_part(columns: Mapping[str, np.ndarray], scenario: Scenario) -> dict[str, np.ndarray]:
    """Each of :func:`scope_columns`' columns on the reported days only (views)."""
    first = int(scenario.run.warmup_days)
    return {name: values[first:] for name, values in columns.items()}


def reported_columns(daily: pd.DataFrame) -> dict[str, np.ndarray]:
    """The numeric columns of a daily frame on its reported days, as arrays."""
    reported = reported_days(daily)
    return {c: reported[c].to_numpy() for c in reported.columns if c not in ("date", "day", "reported")}


def _core_beds(registry: SystemRegistry, trusts: Iterable[int], sim_start: dt.date, n_days: int) -> np.ndarray:
    """The core acute beds in force each day, summed over ``trusts``."""
    return sum((daily_values(registry.trusts[t].acute.beds, sim_start, n_days) for t in trusts), np.zeros(n_days))


def _cells(group: np.ndarray, position: np.ndarray, width: int) -> np.ndarray:
    """Row-major cell ``group * width + position`` of each row, -1 when either is -1."""
    return np.where((group >= 0) & (position >= 0), group * width + position, -1)


def monthly_delays(log: EventLog, scenario: Scenario, sim_start: dt.date) -> pd.DataFrame:
    """Delayed (DTOC) bed days per calendar month of the reported period, by
    pathway, reason code, responsible organisation, borough of residence and trust
    (long format; a patient's delays in services count for the trust they came from)."""
    first = pd.Timestamp(scenario.run.start_date)
    last = first + pd.Timedelta(days=scenario.run.duration_days)
    months = pd.date_range(first.to_period("M").to_timestamp(), last, freq="MS")
    edges = sorted({first, *[m for m in months if first < m < last], last})
    bounds = np.array([(e - pd.Timestamp(sim_start)).days for e in edges], dtype=float)
    labels = [e.strftime("%Y-%m") for e in edges[:-1]]
    dtoc = dtoc_segments(log, scenario)
    reason, org = delay_attribution(dtoc, scenario)
    registry = registry_of(scenario)
    boroughs = np.array([b.name for b in registry.boroughs], dtype=object)
    trusts = np.array([t.name for t in registry.trusts], dtype=object)
    groups = {"pathway": np.array(PATHWAYS)[dtoc["pathway"].astype(int)], "reason": reason, "org": org,
              "borough": boroughs[dtoc["borough"].astype(int)].astype(str),
              "trust": trusts[dtoc["trust"].astype(int)].astype(str)}  # fmt: skip
    rows = []
    for dimension, values in groups.items():
        for value in sorted(set(values.tolist())):
            keep = values == value
            days = interval_integrals(dtoc["start"][keep], dtoc["end"][keep], bounds)
            rows += [(m, dimension, value, d) for m, d in zip(labels, days, strict=True)]
    frame = pd.DataFrame(rows, columns=["month", "dimension", "value", "delayed_bed_days"])
    return frame


def _first_finite(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.where(np.isnan(a), b, a)


def monthly_series(daily: pd.DataFrame, scenario: Scenario) -> pd.DataFrame:
    """Reported days grouped by calendar month: mean stocks (beds), summed flows and
    delayed bed days, and the DTOC rate per 100,000 adults: the modelled boroughs'
    residents' delays over their adults (out-of-area patients' delays count in
    ``dtoc_beds_per_day``, not in the rate, as in ``summary.json``)."""
    reported = reported_days(daily)
    month = reported["date"].dt.strftime("%Y-%m")
    grouped = reported.groupby(month)
    frame = pd.DataFrame({
        "days": grouped.size(),
        "acute_occupancy_mean": grouped["acute_occupied"].mean(),
        "admission_queue_mean": grouped["admission_queue"].mean(),
        "admissions": grouped["admissions"].sum(),
        "discharges": grouped["discharges"].sum(),
        "delayed_bed_days": grouped["delayed_dtoc"].sum(),
        "dtoc_beds_per_day": grouped["delayed_dtoc"].mean(),
        "dtoc_residents_per_day": grouped["delayed_dtoc_residents"].mean(),
        "acute_beds_mean": grouped["acute_beds"].mean(),
    })
    for column in [c for c in reported.columns if c.endswith("_capacity")]:  # places in force (schedules)
        frame[f"{column}_mean"] = grouped[column].mean()
    adults = registry_of(scenario).adults_18plus()
    if adults:
        frame["dtoc_rate_per_100k_adults"] = frame["dtoc_residents_per_day"] / adults * 100_000
    return frame.rename_axis("month").reset_index()
