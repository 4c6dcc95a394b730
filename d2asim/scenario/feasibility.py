"""Cross-field checks that a valid-looking scenario can actually run.

Each check raises ``ValueError("FIELD.PATH: what is wrong")``; the error formatter
moves the leading field path into the error line. Limits are in
:mod:`d2asim.scenario.limits`.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from d2asim.scenario.limits import MAX_ARRIVALS_PER_DAY, MAX_ARRIVALS_PER_REPLICATION
from d2asim.scenario.schedule import max_value, value_on

if TYPE_CHECKING:
    from d2asim.scenario.names import Pathway
    from d2asim.scenario.schema import ArrivalStream, PathwaySettings, Scenario


def resolved_pathways(
    scenario: Scenario,
) -> list[tuple[str, list[dict[Pathway, float]], dict[Pathway, PathwaySettings]]]:
    """(where the settings are written, every share table, settings by pathway) of the
    single-site pathways, or of each borough and out-of-area origin over the system's."""
    system = scenario.pathways
    if scenario.trusts is None:
        assert system is not None
        return [("pathways.settings", [system.shares, *system.shares_by_age_band.values()], dict(system.settings))]
    out = []
    places = [(f"boroughs.{n}", b.pathways) for n, b in (scenario.boroughs or {}).items()]
    places += [(f"out_of_area.{n}", o.pathways) for n, o in (scenario.out_of_area or {}).items()]
    for where, own in places:
        shares = own.shares if own.shares is not None else (system.shares if system else {})
        by_band = own.shares_by_age_band if own.shares_by_age_band is not None else (
            system.shares_by_age_band if system else {})
        settings = {**(system.settings if system else {}), **own.settings}
        out.append((f"{where}.pathways.settings", [shares, *by_band.values()], settings))
    return out


def _largest(values: tuple[float, ...] | None) -> float:
    return max(values) if values else 1.0


def _mean(values: tuple[float, ...] | None) -> float:
    return sum(values) / len(values) if values else 1.0


def check_peak_rate(stream: ArrivalStream) -> None:
    """The busiest calendar day of a stream is at most ``MAX_ARRIVALS_PER_DAY``."""
    peak = max_value(stream.per_day) * _largest(stream.day_of_week) * _largest(stream.month_of_year)
    if peak > MAX_ARRIVALS_PER_DAY:
        raise ValueError(f"per_day: the busiest day has {peak:,.6g} admissions (per_day x largest day_of_week "
                         f"x largest month_of_year multiplier), above the limit of {MAX_ARRIVALS_PER_DAY:,.0f} a day")


def arrival_streams(scenario: Scenario) -> list[ArrivalStream]:
    """Every admission stream: the single-site arrivals, or each borough's admissions to
    each trust and each trust's out-of-area admissions."""
    if scenario.arrivals is not None:
        return [s for s in (scenario.arrivals.non_elective, scenario.arrivals.elective) if s is not None]
    streams: list[ArrivalStream] = []
    for admissions in (scenario.admissions or {}).values():
        for stream in (admissions.non_elective, admissions.elective):
            if stream is not None:
                streams += [stream.at_trust(trust) for trust in stream.rates()]
    for out in (scenario.out_of_area or {}).values():
        streams += [s for s in (out.non_elective, out.elective) if s is not None]
    return streams


def expected_arrivals(scenario: Scenario) -> float:
    """Expected admissions of one replication, warm-up included (all streams)."""
    days = scenario.run.warmup_days + scenario.run.duration_days
    streams = arrival_streams(scenario)
    years = days / 365.25  # growth bounded by its value at the horizon (an upper bound)
    return sum(max_value(s.per_day) * max(1.0, (1.0 + _fastest(s.growth_per_year)) ** years)
               * _mean(s.day_of_week) * _mean(s.month_of_year) for s in streams) * days


def _fastest(growth: float | dict[str, float]) -> float:
    return max(growth.values(), default=0.0) if isinstance(growth, dict) else growth


def check_feasible(scenario: Scenario) -> None:
    """A bounded run, an initial state that fits, and places wherever people are sent."""
    total = expected_arrivals(scenario)
    if total > MAX_ARRIVALS_PER_REPLICATION:
        raise ValueError(f"arrivals: about {total:,.0f} admissions expected in one replication (warm-up "
                         f"included), above the limit of {MAX_ARRIVALS_PER_REPLICATION:,}; shorten "
                         "run.duration_days or run.warmup_days, or lower per_day")
    _check_initial_state(scenario)
    _check_places_for_flows(scenario)


def _check_initial_state(scenario: Scenario) -> None:
    state = scenario.initial_state
    if state is None:
        return
    start = scenario.run.start_date - dt.timedelta(days=scenario.run.warmup_days)  # when the state is placed
    trusts = list((scenario.trusts or {}).values())
    acute = scenario.acute or (trusts[0] if len(trusts) == 1 else None)
    if acute is not None:  # the system form places patients in acute beds only with one trust
        esc = acute.escalation
        beds = value_on(acute.beds, start) + (value_on(esc.beds, start) if esc is not None else 0)
        in_beds = state.acute_occupied + sum(state.nctr_waiting.values())
        if in_beds > beds:
            raise ValueError(f"initial_state: {in_beds:,} patients in acute beds (acute_occupied + nctr_waiting) "
                             f"but acute.beds plus escalation beds are {beds:,}")
    for name, count in state.services_occupied.items():
        service = scenario.services.get(name)
        if service is None:
            raise ValueError(f"initial_state.services_occupied.{name}: needs a services.{name} block")
        places = service.places_for(value_on(service.capacity, start))
        if count > places:
            raise ValueError(f"initial_state.services_occupied.{name}: {count:,} people but services.{name} "
                             f"has {places:,} places at the start")


def _check_places_for_flows(scenario: Scenario) -> None:
    """No pathway or outcome with a share above 0 may lead to a service without places."""
    for where, shares, settings_of in resolved_pathways(scenario):
        for pathway, settings in settings_of.items():
            service = scenario.services.get(settings.service) if settings.service else None
            used = max(s.get(pathway, 0.0) for s in shares)
            if service is not None and used > 0 and service.places_for(max_value(service.capacity)) == 0:
                raise ValueError(f"{where}.{pathway}.service: services.{settings.service} has no places "
                                 f"(capacity {service.capacity}) but a share {used:g} of patients is sent "
                                 "there, who would never leave hospital")
    for name, service in scenario.services.items():
        for outcome, share in service.outcomes.items():
            target = scenario.services.get(outcome)
            if target is not None and share > 0 and target.places_for(max_value(target.capacity)) == 0:
                raise ValueError(f"services.{name}.outcomes.{outcome}: services.{outcome} has no places "
                                 f"(capacity {target.capacity}) but a share {share:g} of people is sent there")
