"""Headline metrics of one replication over the reported period.

Keys are flat; a dot separates a metric from its breakdown
(``delayed_bed_days_by_pathway.P1``). Units: bed days, beds, hours, %, GBP,
per 100,000 population. Waits (``admission_wait_*``, ``service_wait_mean_days``)
count the people still waiting at the end with their wait so far (censored at the
horizon), so an overloaded queue can never show a short or zero wait.
"""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pandas as pd

from d2asim.metrics.costs import capacity_column, cost_metrics
from d2asim.metrics.intervals import interval_integrals
from d2asim.metrics.series import delay_attribution, dtoc_segments
from d2asim.metrics.weekdays import delayed_by_ready_weekday
from d2asim.metrics.whereabouts import at_home
from d2asim.model.log import ACUTE_PLACE, EventLog
from d2asim.scenario.schedule import max_value, min_value
from d2asim.scenario.schema import DELAY_CAUSES, ORGS, PATHWAYS, REASON_CODES, SERVICE_NAMES, Scenario

DELAY_BANDS = (("0", 0, 0), ("1", 1, 1), ("2-3", 2, 3), ("4-6", 4, 6), ("7-13", 7, 13), ("14-20", 14, 20),
               ("21+", 21, math.inf))  # fmt: skip
PER_100K = 100_000.0
FOLLOW_UP_DAYS = 91.0  # ASCOF 2B: at home 91 days after discharge into reablement
DAYS_PER_YEAR = 365.25
WAITS_NOTE = ("waits include the people still waiting at the end of the period, counted with their wait "
              "so far (censored at the end)")


def replication_metrics(log: EventLog, scenario: Scenario, daily: pd.DataFrame) -> dict[str, float]:
    """All scalar metrics of one replication (reported period only)."""
    window = (float(scenario.run.warmup_days), log.horizon)
    reported = daily[daily["reported"]]
    out: dict[str, float] = {}
    out.update(_occupancy(reported))
    out.update(_admission_waits(log, window))
    out.update(_discharges(log, window))
    out.update(_delays(log, scenario, window))
    out.update(_services(log, scenario, reported, window))
    out.update(_outcomes(log, scenario, window))
    out.update(cost_metrics(out, scenario, reported))
    return out


def metric_ceiling(metric: str, scenario: Scenario) -> float:
    """The largest value a metric can take: 100 for percentages (a ``pct`` part in the
    key), except acute occupancy, which counts escalation beds against the core beds."""
    if metric == "acute_occupancy_pct":
        escalation = max_value(scenario.acute.escalation.beds) if scenario.acute.escalation is not None else 0
        core = min_value(scenario.acute.beds)
        return _pct((core + escalation) / core)
    words = metric.partition(".")[0].split("_")
    return 100.0 if "pct" in words else math.inf


def _pct(x: float) -> float:
    return 100.0 * x


def _occupancy(reported: pd.DataFrame) -> dict[str, float]:
    occ = reported["acute_occupied"].to_numpy()
    beds = reported["acute_beds"].to_numpy()  # core beds in force each day
    return {
        "acute_bed_days": float(occ.sum()),
        "acute_occupancy_mean": float(occ.mean()),
        "acute_occupancy_pct": _pct(occ.mean() / beds.mean()),
        "acute_occupancy_p95": float(np.percentile(occ, 95)),
        "pct_days_occupancy_above_92": _pct(float(np.mean(occ > 0.92 * beds))),
        "pct_days_occupancy_above_95": _pct(float(np.mean(occ > 0.95 * beds))),
        "admission_queue_mean": float(reported["admission_queue"].mean()),
    }


def _admission_waits(log: EventLog, window: tuple[float, float]) -> dict[str, float]:
    acute = log.table("acute")
    arrived = (acute["arrival"] >= window[0]) & (acute["arrival"] < window[1])
    admitted = arrived & ~np.isnan(acute["admit"])
    waits_h = 24.0 * (acute["admit"][admitted] - acute["arrival"][admitted])
    censored_h = 24.0 * (window[1] - acute["arrival"][arrived & np.isnan(acute["admit"])])
    all_h = np.concatenate([waits_h, censored_h])
    return {
        "admissions": float(np.sum((acute["admit"] >= window[0]) & (acute["admit"] < window[1]))),
        # waits of patients still waiting at the end are counted up to the horizon (censored)
        "admission_wait_mean_hours": float(all_h.mean()) if all_h.size else 0.0,
        "admission_wait_p95_hours": float(np.percentile(all_h, 95)) if all_h.size else 0.0,
        "admissions_waiting_over_4h": float(np.sum(all_h > 4.0)),
        "admissions_waiting_over_12h": float(np.sum(all_h > 12.0)),
        "still_waiting_for_bed_at_end": float(censored_h.size),
    }


def _discharged_in(log: EventLog, window: tuple[float, float]) -> dict[str, np.ndarray]:
    acute = log.table("acute")
    keep = (acute["leave"] >= window[0]) & (acute["leave"] < window[1])
    return {k: v[keep] for k, v in acute.items()}


def _discharges(log: EventLog, window: tuple[float, float]) -> dict[str, float]:
    left = _discharged_in(log, window)
    alive = left["died"] == 0
    out = {"deaths_in_hospital": float(np.sum(~alive)), "discharges": float(np.sum(alive))}
    delay = left["leave"][alive] - left["ready"][alive]
    calendar_days = np.floor(left["leave"][alive]) - np.floor(left["ready"][alive])
    pathway = left["pathway"][alive]
    n = max(int(alive.sum()), 1)
    out["pct_discharges_delayed"] = _pct(float(np.sum(calendar_days >= 1)) / n)
    for label, lo, hi in DELAY_BANDS:
        out[f"delay_band_pct.{label}"] = _pct(float(np.sum((calendar_days >= lo) & (calendar_days <= hi))) / n)
    for i, p in enumerate(PATHWAYS):
        mine = delay[pathway == i]
        out[f"discharges_by_pathway.{p}"] = float(mine.size)
        out[f"delay_mean_days_by_pathway.{p}"] = float(mine.mean()) if mine.size else 0.0
        out[f"delay_p90_days_by_pathway.{p}"] = float(np.percentile(mine, 90)) if mine.size else 0.0
    return out


def _delays(log: EventLog, scenario: Scenario, window: tuple[float, float]) -> dict[str, float]:
    dtoc = dtoc_segments(log, scenario)
    bounds = np.array(window)
    days = float(window[1] - window[0])

    def total(keep: np.ndarray) -> float:
        return float(interval_integrals(dtoc["start"][keep], dtoc["end"][keep], bounds)[0])

    everything = np.ones(dtoc["start"].size, dtype=bool)
    delayed = total(everything)
    acute_only = total(dtoc["place"] == ACUTE_PLACE)
    out = {
        "delayed_bed_days": delayed,
        "delayed_bed_days_acute": acute_only,
        "delayed_bed_days_non_acute": delayed - acute_only,
        "dtoc_beds_per_day": delayed / days,
    }
    adults = scenario.population.adults_18plus
    if adults:
        out["dtoc_rate_per_100k_adults"] = delayed / days / adults * PER_100K
    reason, org_of = delay_attribution(dtoc, scenario)
    for i, p in enumerate(PATHWAYS):
        out[f"delayed_bed_days_by_pathway.{p}"] = total(dtoc["pathway"] == i)
    for code in REASON_CODES:
        if code in reason or code in _configured_reasons(scenario):
            out[f"delayed_bed_days_by_reason.{code}"] = total(reason == code)
    for org in ORGS:
        out[f"delayed_bed_days_by_org.{org}"] = total(org_of == org)
    first = scenario.run.start_date - dt.timedelta(days=scenario.run.warmup_days)
    out.update(delayed_by_ready_weekday(log, dtoc, bounds, first.weekday()))
    return out


def _configured_reasons(scenario: Scenario) -> set[str]:
    """Reason codes a scenario can produce (reported even when a replication has none)."""
    own = [s.assessment.delay_reason for s in scenario.pathways.settings.values()]
    return {a.reason for a in scenario.delay_reasons.values()} | {a.reason for a in own if a is not None}


def _services(
    log: EventLog, scenario: Scenario, reported: pd.DataFrame, window: tuple[float, float]
) -> dict[str, float]:
    services = log.table("services")
    delays = log.table("delays")
    out: dict[str, float] = {}
    for name in scenario.services:
        occupied = reported[f"{name}_occupied"].to_numpy()
        column = reported.get(capacity_column(name))
        places = math.inf if column is None else float(column.mean())  # mean places in force
        mine = services["service"] == SERVICE_NAMES.index(name)
        started = mine & (services["start"] >= window[0]) & (services["start"] < window[1])
        # people still waiting at the end: their wait so far (censored at the horizon)
        waiting = (delays["cause"] == DELAY_CAUSES.index(name)) & (delays["end"] >= log.horizon)
        censored = log.horizon - delays["start"][waiting]
        waits = np.concatenate([services["start"][started] - services["request"][started], censored])
        out[f"service_occupancy_mean.{name}"] = float(occupied.mean())
        out[f"service_bed_days.{name}"] = float(occupied.sum())
        if math.isfinite(places) and places > 0:
            out[f"service_utilisation_pct.{name}"] = _pct(float(occupied.mean()) / places)
        out[f"service_waiting_mean.{name}"] = float(reported[f"{name}_waiting"].mean())
        out[f"service_wait_mean_days.{name}"] = float(waits.mean()) if waits.size else 0.0
        out[f"service_starts.{name}"] = float(started.sum())
        out[f"service_still_waiting_at_end.{name}"] = float(censored.size)
    return out


def _outcomes(log: EventLog, scenario: Scenario, window: tuple[float, float]) -> dict[str, float]:
    out: dict[str, float] = {}
    discharges = log.table("reablement_discharges")
    follow_up = discharges["discharged"] + FOLLOW_UP_DAYS
    older = (discharges["aged_65plus"] == 1) & (discharges["discharged"] >= window[0]) & (follow_up < log.horizon)
    if older.any():
        home = at_home(log, discharges["patient"][older], follow_up[older])
        out["pct_65plus_at_home_91_days_after_reablement"] = _pct(float(home.mean()))
    homes = log.table("care_home_admissions")
    older_admitted = (homes["aged_65plus"] == 1) & (homes["time"] >= window[0]) & (homes["time"] < window[1])
    out["care_home_admissions_65plus"] = float(older_admitted.sum())
    pop65 = scenario.population.aged_65plus
    if pop65:
        years = (window[1] - window[0]) / DAYS_PER_YEAR
        out["care_home_admissions_65plus_per_100k_per_year"] = float(older_admitted.sum()) / years / pop65 * PER_100K
    return out
