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
from collections.abc import Mapping

import numpy as np

from d2asim.metrics.costs import bed_days_by_trust, capacity_column, cost_metrics
from d2asim.metrics.intervals import rows_by_code, selected_integrals
from d2asim.metrics.scope import Scope, in_rate, system_scope
from d2asim.metrics.series import attribution_positions, dtoc_segments
from d2asim.metrics.weekdays import delayed_by_ready_weekday
from d2asim.metrics.whereabouts import at_home
from d2asim.model.log import ACUTE_PLACE, EventLog
from d2asim.scenario.schedule import max_value, min_value
from d2asim.scenario.schema import ORGS, PATHWAYS, REASON_CODES, Acute, Scenario
from d2asim.system.registry import SystemRegistry, registry_of

DELAY_BANDS = (("0", 0, 0), ("1", 1, 1), ("2-3", 2, 3), ("4-6", 4, 6), ("7-13", 7, 13), ("14-20", 14, 20),
               ("21+", 21, math.inf))  # fmt: skip
PER_100K = 100_000.0
FOLLOW_UP_DAYS = 91.0  # ASCOF 2B: at home 91 days after discharge into reablement
DAYS_PER_YEAR = 365.25
BED_SHARE_KEYS = ("acute_occupancy_pct", "pct_days_occupancy_above_92", "pct_days_occupancy_above_95")
"""Metrics that need a scope's beds (none for a borough: its residents use several trusts)."""
POPULATION_KEYS = ("dtoc_rate_per_100k_adults", "care_home_admissions_65plus_per_100k_per_year")
"""Metrics that need a scope's population (none for a trust)."""
WAITS_NOTE = ("waits include the people still waiting at the end of the period, counted with their wait "
              "so far (censored at the end)")


def whole_log_metrics(system: dict[str, float], scope: Scope) -> dict[str, float]:
    """The metrics of a scope that holds every row of the log (the one trust, or the
    one borough of a system without out-of-area admissions): the system's, less those
    whose denominator the scope lacks. Equal to ``replication_metrics`` on that scope."""
    drop = (BED_SHARE_KEYS if not scope.beds else ()) + (POPULATION_KEYS if not scope.adults_18plus else ())
    return {k: v for k, v in system.items() if k not in drop}


def replication_metrics(
    log: EventLog, scenario: Scenario, reported: Mapping[str, np.ndarray], scope: Scope | None = None
) -> dict[str, float]:
    """All scalar metrics of one replication (reported period only), for the whole
    system or one ``scope`` (``log`` then holds that scope's rows only). ``reported``:
    the scope's daily columns on the reported days (:func:`reported_columns` of a daily
    frame, or :func:`reported_part` of :func:`scope_columns`)."""
    registry = registry_of(scenario)
    scope = scope or system_scope(registry)
    window = (float(scenario.run.warmup_days), log.horizon)
    out: dict[str, float] = {}
    out.update(_occupancy(reported, scope))
    out.update(_admission_waits(log, window))
    out.update(_discharges(log, window))
    out.update(_delays(log, scenario, scope, window))
    out.update(_services(log, registry, reported, window))
    out.update(_outcomes(log, registry, scope, window))
    out.update(cost_metrics(out, registry, reported, bed_days_by_trust(log, registry, window)))
    return out


def metric_ceiling(metric: str, scenario: Scenario) -> float:
    """The largest value a metric can take: 100 for percentages (a ``pct`` part in the
    key), except acute occupancy, which counts escalation beds against the core beds."""
    if metric == "acute_occupancy_pct":  # the largest share any trust can reach
        return max(_pct((min_value(t.acute.beds) + _escalation(t.acute)) / min_value(t.acute.beds))
                   for t in registry_of(scenario).trusts)  # fmt: skip
    words = metric.partition(".")[0].split("_")
    return 100.0 if "pct" in words else math.inf


def _escalation(acute: Acute) -> float:
    return max_value(acute.escalation.beds) if acute.escalation is not None else 0


def _pct(x: float) -> float:
    return 100.0 * x


def _occupancy(reported: Mapping[str, np.ndarray], scope: Scope) -> dict[str, float]:
    """Acute occupancy; against the core beds in force each day (``acute_beds``) unless
    the scope holds no beds of its own (a borough: its residents use several trusts)."""
    occ = reported["acute_occupied"]
    out = {"acute_bed_days": float(occ.sum()), "acute_occupancy_mean": float(occ.mean())}
    pct, above_92, above_95 = BED_SHARE_KEYS
    beds = reported["acute_beds"] if scope.beds else None
    if beds is not None:
        out[pct] = _pct(occ.mean() / beds.mean())
    out["acute_occupancy_p95"] = float(np.percentile(occ, 95))
    if beds is not None:
        out[above_92] = _pct(float(np.mean(occ > 0.92 * beds)))
        out[above_95] = _pct(float(np.mean(occ > 0.95 * beds)))
    out["admission_queue_mean"] = float(reported["admission_queue"].mean())
    return out


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


def _delays(log: EventLog, scenario: Scenario, scope: Scope, window: tuple[float, float]) -> dict[str, float]:
    dtoc = dtoc_segments(log, scenario)
    bounds = np.array(window)
    days = float(window[1] - window[0])

    integrals = selected_integrals(dtoc["start"], dtoc["end"], bounds)

    def total(keep: np.ndarray) -> float:
        return float(integrals(keep)[0])

    everything = np.ones(dtoc["start"].size, dtype=bool)
    delayed = total(everything)
    acute_only = total(dtoc["place"] == ACUTE_PLACE)
    out = {
        "delayed_bed_days": delayed,
        "delayed_bed_days_acute": acute_only,
        "delayed_bed_days_non_acute": delayed - acute_only,
        "dtoc_beds_per_day": delayed / days,
    }
    adults = scope.adults_18plus
    if adults:  # residents of the modelled boroughs only (out-of-area patients count for no borough)
        out["dtoc_rate_per_100k_adults"] = total(in_rate(dtoc, scope)) / days / adults * PER_100K
    reason, org_of = attribution_positions(dtoc, scenario)
    configured = _configured_reasons(registry_of(scenario))  # every reason a segment can have
    for i, p in enumerate(PATHWAYS):
        out[f"delayed_bed_days_by_pathway.{p}"] = total(dtoc["pathway"] == i)
    for i, code in enumerate(REASON_CODES):
        if code in configured:
            out[f"delayed_bed_days_by_reason.{code}"] = total(reason == i)
    for i, org in enumerate(ORGS):
        out[f"delayed_bed_days_by_org.{org}"] = total(org_of == i)
    first = scenario.run.start_date - dt.timedelta(days=scenario.run.warmup_days)
    out.update(delayed_by_ready_weekday(log, dtoc, integrals, first.weekday()))
    return out


def _configured_reasons(registry: SystemRegistry) -> set[str]:
    """Reason codes a scenario can produce (reported even when a replication has none)."""
    return set(registry.reason_tables[0].ravel().tolist())


def _services(
    log: EventLog, registry: SystemRegistry, reported: Mapping[str, np.ndarray], window: tuple[float, float]
) -> dict[str, float]:
    services = log.table("services")
    delays = log.table("delays")
    out: dict[str, float] = {}
    in_window = (services["start"] >= window[0]) & (services["start"] < window[1])
    started_by = rows_by_code(services["service"][in_window], [s.code for s in registry.services])
    started_rows = np.flatnonzero(in_window)
    # people still waiting at the end: their wait so far (censored at the horizon)
    open_at_end = np.flatnonzero(delays["end"] >= log.horizon)
    waiting_by = rows_by_code(delays["cause"][open_at_end], [s.cause for s in registry.services])
    for service in registry.services:
        name = service.name
        occupied = reported[f"{name}_occupied"]
        capacity = reported.get(capacity_column(name))
        places = math.inf if capacity is None else float(capacity.mean())  # mean places in force
        started = started_rows[started_by[service.code]]
        censored = log.horizon - delays["start"][open_at_end[waiting_by[service.cause]]]
        waits = np.concatenate([services["start"][started] - services["request"][started], censored])
        out[f"service_occupancy_mean.{name}"] = float(occupied.mean())
        out[f"service_bed_days.{name}"] = float(occupied.sum())
        if math.isfinite(places) and places > 0:
            out[f"service_utilisation_pct.{name}"] = _pct(float(occupied.mean()) / places)
        out[f"service_waiting_mean.{name}"] = float(reported[f"{name}_waiting"].mean())
        out[f"service_wait_mean_days.{name}"] = float(waits.mean()) if waits.size else 0.0
        out[f"service_starts.{name}"] = float(started.size)
        out[f"service_still_waiting_at_end.{name}"] = float(censored.size)
    return out


def _outcomes(log: EventLog, registry: SystemRegistry, scope: Scope, window: tuple[float, float]) -> dict[str, float]:
    """ASCOF 2B (at home 91 days after discharge into a reablement-kind service, 65+)
    and 2A (admissions to a permanent care home, 65+; per 100,000 over the scope's
    modelled boroughs)."""
    out: dict[str, float] = {}
    discharges = log.table("reablement_discharges")
    follow_up = discharges["discharged"] + FOLLOW_UP_DAYS
    older = (discharges["aged_65plus"] == 1) & (discharges["discharged"] >= window[0]) & (follow_up < log.horizon)
    if older.any():
        at_home_services = [s.code for s in registry.services if s.at_home]
        home = at_home(log, discharges["patient"][older], follow_up[older], at_home_services)
        out["pct_65plus_at_home_91_days_after_reablement"] = _pct(float(home.mean()))
    homes = log.table("care_home_admissions")
    older_admitted = (homes["aged_65plus"] == 1) & (homes["time"] >= window[0]) & (homes["time"] < window[1])
    out["care_home_admissions_65plus"] = float(older_admitted.sum())
    pop65 = scope.aged_65plus
    if pop65:
        years = (window[1] - window[0]) / DAYS_PER_YEAR
        residents = float((older_admitted & in_rate(homes, scope)).sum())
        out["care_home_admissions_65plus_per_100k_per_year"] = residents / years / pop65 * PER_100K
    return out
