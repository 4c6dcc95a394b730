"""Daily and monthly time series of one replication (stocks as time averages).

Daily values cover the whole simulation, warm-up included (``reported`` marks
the reported period), so warm-up can be judged from them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from d2asim.metrics.costs import capacity_column
from d2asim.metrics.intervals import count_in, interval_integrals, rows_by_code
from d2asim.model.log import ACUTE_PLACE, EventLog
from d2asim.scenario.schedule import daily_values
from d2asim.scenario.schema import PATHWAYS, Scenario
from d2asim.system.registry import registry_of


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
    reason, org = registry_of(scenario).reason_tables
    index = (dtoc["borough"].astype(int), dtoc["cause"].astype(int), dtoc["pathway"].astype(int))
    return reason[index].astype(str), org[index].astype(str)


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
    log: EventLog, scenario: Scenario, sim_start: dt.date, trust_codes: Sequence[int] | None = None,
    places: Mapping[str, np.ndarray] | None = None,
) -> pd.DataFrame:
    """One row per simulated day: time-average stocks, daily flows, and the core acute
    beds (of ``trust_codes``, default every trust) and each finite service's places in
    force that day (``places``: :func:`service_places`, computed when not given)."""
    registry = registry_of(scenario)
    trust_codes = range(len(registry.trusts)) if trust_codes is None else trust_codes
    n_days = int(log.horizon)
    bounds = np.arange(n_days + 1, dtype=float)
    acute = log.table("acute")
    delays = log.table("delays")
    dtoc = dtoc_segments(log, scenario)
    modelled = [b.code for b in registry.modelled_boroughs]  # out-of-area patients count in no rate
    admitted_leave = np.where(np.isnan(acute["admit"]), np.nan, acute["leave"])
    cols: dict[str, np.ndarray] = {
        "acute_occupied": interval_integrals(acute["admit"], admitted_leave, bounds),
        "admission_queue": interval_integrals(acute["arrival"], _first_finite(acute["admit"], acute["leave"]), bounds),
        "delayed_acute": _delayed(delays, bounds, delays["place"] == ACUTE_PLACE),
        "delayed_dtoc": interval_integrals(dtoc["start"], dtoc["end"], bounds),
        "delayed_dtoc_residents": _delayed(dtoc, bounds, np.isin(dtoc["borough"], modelled)),
        "acute_beds": sum((daily_values(registry.trusts[t].acute.beds, sim_start, n_days) for t in trust_codes),
                          np.zeros(n_days)),
        "admissions": count_in(acute["admit"], bounds),
        "discharges": count_in(acute["leave"][acute["died"] == 0], bounds),
        "deaths_in_hospital": count_in(acute["leave"][acute["died"] == 1], bounds),
    }
    services = log.table("services")
    by_service = rows_by_code(services["service"], [s.code for s in registry.services])
    by_cause = rows_by_code(delays["cause"], [s.cause for s in registry.services])
    places = service_places(scenario, sim_start, n_days) if places is None else places
    for service in registry.services:
        name = service.name
        mine = by_service[service.code]
        cols[f"{name}_occupied"] = interval_integrals(services["start"][mine], services["leave"][mine], bounds)
        cols[f"{name}_waiting"] = _delayed(delays, bounds, by_cause[service.cause])
        capacity = capacity_column(name)
        if capacity in places:
            cols[capacity] = places[capacity]
    day = np.arange(n_days)
    first = {"date": pd.date_range(sim_start, periods=n_days, freq="D"), "day": day,
             "reported": day >= scenario.run.warmup_days}  # fmt: skip
    return pd.DataFrame({**first, **cols})  # one frame built at once (inserting columns copies it)


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


def _delayed(delays: dict[str, np.ndarray], bounds: np.ndarray, keep: np.ndarray) -> np.ndarray:
    """Integrals of the delays ``keep`` selects (a mask, or row indices in order)."""
    return interval_integrals(delays["start"][keep], delays["end"][keep], bounds)


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
