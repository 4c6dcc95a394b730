"""Offered load per stage, from the scenario alone (no simulation): is it stable?

For each stage (acute beds, each downstream service, each assessment team):

* arrivals per day: external admissions (calendar multipliers averaged over the
  year) plus readmissions, split by age band, death in hospital and pathway shares,
  and passed on along the service outcomes (p1 -> home_care -> care_home ...);
* mean stay (days): time to discharge ready plus an on-ward assessment for acute
  beds; the service episode as the engine draws it (with a d2a assessment
  overlapping or extending it, cut at ``max_duration_days``) for services; the
  assessment for teams. Means of capped or combined stays are estimated from
  ``DRAWS`` draws with a fixed seed, so the table is the same at every call;
* offered load = arrivals x mean stay (beds or places busy on average, Little's law)
  and utilisation rho = offered load / capacity.

rho >= 1 means the stage cannot keep up: its queue grows for as long as the run
lasts. Waits for a place are left out of the acute stay (they are the consequence of
a full service, not load offered to the beds), so rho is a lower bound upstream.
Dated schedules are read on ``run.start_date`` (growth is left out): the load of the
first reported day.

A scenario in the system form gets one row per trust's beds, per service and per
assessment team (:func:`system_stage_loads`), from the expected flows of
:mod:`d2asim.system.flows`; there a D2A assessment that overlaps or extends a service
episode is left out of the service's stay, so its rho is a lower bound.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from d2asim.scenario.distributions import Distribution
from d2asim.scenario.names import PATHWAYS, Pathway
from d2asim.scenario.schedule import value_on
from d2asim.scenario.schema import Scenario, Service
from d2asim.system.flows import expected_flows
from d2asim.system.registry import registry_of

DRAWS = 20_000
SEED = 0
_ITERATIONS = 200  # fixed-point passes for readmissions and service-to-service flows


@dataclass(frozen=True)
class StageLoad:
    stage: str
    arrivals_per_day: float
    mean_stay_days: float
    capacity: float  # beds or places (math.inf: unlimited)

    @property
    def offered_load(self) -> float:
        return self.arrivals_per_day * self.mean_stay_days

    @property
    def rho(self) -> float:
        if math.isinf(self.capacity):
            return 0.0
        return math.inf if self.capacity == 0 and self.offered_load > 0 else self.offered_load / max(self.capacity, 1)


def _mean(dist: Distribution | None, cap: float = math.inf) -> float:
    if dist is None:
        return 0.0
    if math.isinf(cap):
        return dist.mean()
    return float(np.minimum(_draws(dist), cap).mean())


def _draws(dist: Distribution) -> np.ndarray:
    return dist.sample(np.random.default_rng(SEED), DRAWS)


def _calendar_mean(values: tuple[float, ...] | None) -> float:
    return sum(values) / len(values) if values else 1.0


class _Flows:
    """Patients per day through each (age band, pathway) and into each service."""

    def __init__(self, scenario: Scenario) -> None:
        self.sc = scenario
        arrivals, self.acute, self.pathways = scenario.single_site()
        streams = [s for s in (arrivals.non_elective, arrivals.elective) if s is not None]
        at = scenario.run.start_date
        self.external = sum(value_on(s.per_day, at) * _calendar_mean(s.day_of_week) * _calendar_mean(s.month_of_year)
                            for s in streams)
        self.admissions = self.external
        self.services = dict.fromkeys(scenario.services, 0.0)
        for _ in range(_ITERATIONS):
            self.services = self._service_arrivals()
            readmitted = sum(self.services[name] * service.outcomes.get("readmission", 0.0)
                             for name, service in scenario.services.items())
            self.admissions = self.external + readmitted

    def band_pathway(self) -> list[tuple[str, Pathway, float, float]]:
        """(band, pathway, admissions per day, share dying in hospital)."""
        out: list[tuple[str, Pathway, float, float]] = []
        for band in self.sc.age_bands:
            shares = self.pathways.shares_by_age_band.get(band.name, self.pathways.shares)
            death = self.acute.death_probability
            dies = death.get(band.name, 0.0) if isinstance(death, dict) else death
            out += [(band.name, p, self.admissions * band.share * shares.get(p, 0.0), dies) for p in PATHWAYS]
        return out

    def ready(self, pathway: str) -> float:
        return sum(rate * (1 - dies) for _, p, rate, dies in self.band_pathway() if p == pathway)

    def _service_arrivals(self) -> dict[str, float]:
        sc = self.sc
        into = dict.fromkeys(sc.services, 0.0)
        for pathway, settings in self.pathways.settings.items():
            if settings.service in into:
                into[settings.service] += self.ready(pathway)
        for name, service in sc.services.items():
            for outcome, share in service.outcomes.items():
                if outcome in into:
                    into[outcome] += self.services[name] * share
        return into


def stage_loads(scenario: Scenario) -> list[StageLoad]:
    """The offered load of every stage, acute beds first."""
    flows = _Flows(scenario)
    return [_acute(scenario, flows), *(_service(scenario, flows, n, s) for n, s in scenario.services.items()),
            *_teams(scenario, flows)]


def _acute(sc: Scenario, flows: _Flows) -> StageLoad:
    bed_days = 0.0
    acute = flows.acute
    for band, pathway, rate, dies in flows.band_pathway():
        ttr = acute.time_to_discharge_ready_by_age_band.get(band, {}).get(pathway)
        ttr = ttr or acute.time_to_discharge_ready_days[pathway]
        assessment = flows.pathways.settings[pathway].assessment
        on_ward = _mean(assessment.delay_days) if assessment.mode == "on_ward" else 0.0
        bed_days += rate * (ttr.mean() + (1 - dies) * on_ward)
    at = sc.run.start_date
    escalation = value_on(acute.escalation.beds, at) if acute.escalation is not None else 0
    rate = flows.admissions
    return StageLoad("acute beds", rate, bed_days / rate if rate else 0.0, value_on(acute.beds, at) + escalation)


def _service(sc: Scenario, flows: _Flows, name: str, service: Service) -> StageLoad:
    cap = service.max_duration_days or math.inf
    episode = _draws(service.duration_days)
    place_days, from_pathways = 0.0, 0.0
    for pathway, settings in flows.pathways.settings.items():
        if settings.service != name:
            continue
        rate = flows.ready(pathway)
        from_pathways += rate
        assessment = settings.assessment
        stay = episode
        if assessment.mode == "d2a" and assessment.delay_days is not None:
            a = _draws(assessment.delay_days)
            stay = episode + a if assessment.d2a_stay == "extend" else np.maximum(episode, a)
        place_days += rate * float(np.minimum(stay, cap).mean())
    total = flows.services[name]
    place_days += (total - from_pathways) * _mean(service.duration_days, cap)
    return StageLoad(f"services.{name}", total, place_days / total if total else _mean(service.duration_days, cap),
                     service.places_for(value_on(service.capacity, sc.run.start_date)))


def _teams(sc: Scenario, flows: _Flows) -> list[StageLoad]:
    out = []
    for team_name, team in sc.assessment_teams.items():
        rate, busy = 0.0, 0.0
        for pathway, settings in flows.pathways.settings.items():
            if settings.assessment.team == team_name:
                rate += flows.ready(pathway)
                busy += flows.ready(pathway) * _mean(settings.assessment.delay_days)
        out.append(StageLoad(f"assessment_teams.{team_name}", rate, busy / rate if rate else 0.0,
                             value_on(team.concurrent_assessments, sc.run.start_date)))
    return out


def system_stage_loads(scenario: Scenario) -> list[StageLoad]:
    """The offered load of each trust's beds, each service and each assessment team of a
    scenario in the system form (trusts first)."""
    registry, flows, at = registry_of(scenario), expected_flows(scenario), scenario.run.start_date
    bed_days = dict.fromkeys(range(len(registry.trusts)), 0.0)
    team_rate = dict.fromkeys(scenario.assessment_teams, 0.0)
    team_busy = dict.fromkeys(scenario.assessment_teams, 0.0)
    for site in registry.sites:
        trust, borough = registry.trusts[site.trust], registry.boroughs[site.borough]
        admissions = flows.admissions.get((borough.name, trust.name), 0.0)
        death = trust.acute.death_probability
        for band in scenario.age_bands:
            dies = death.get(band.name, 0.0) if isinstance(death, dict) else death
            shares = borough.shares_by_age_band.get(band.name, borough.shares)
            for pathway in PATHWAYS:
                rate = admissions * band.share * shares.get(pathway, 0.0)
                if rate == 0:
                    continue
                ttr = trust.acute.time_to_discharge_ready_by_age_band.get(band.name, {}).get(pathway)
                ttr = ttr or trust.acute.time_to_discharge_ready_days[pathway]
                assessment = borough.settings[pathway].assessment
                on_ward = _mean(assessment.delay_days) if assessment.mode == "on_ward" else 0.0
                bed_days[trust.code] += rate * (ttr.mean() + (1 - dies) * on_ward)
                if assessment.team is not None and on_ward > 0:
                    team_rate[assessment.team] += rate * (1 - dies)
                    team_busy[assessment.team] += rate * (1 - dies) * on_ward
    loads = []
    for trust in registry.trusts:
        rate = sum(v for (_, name), v in flows.admissions.items() if name == trust.name)
        acute = trust.acute
        escalation = value_on(acute.escalation.beds, at) if acute.escalation is not None else 0
        loads.append(StageLoad(f"trusts.{trust.name} beds", rate, bed_days[trust.code] / rate if rate else 0.0,
                               value_on(acute.beds, at) + escalation))
    for service in registry.services:
        spec = service.spec
        loads.append(StageLoad(f"services.{service.name}", flows.service_starts(service.name),
                               _mean(spec.duration_days, spec.max_duration_days or math.inf),
                               spec.places_for(value_on(spec.capacity, at))))
    for name, team in scenario.assessment_teams.items():
        rate = team_rate[name]
        loads.append(StageLoad(f"assessment_teams.{name}", rate, team_busy[name] / rate if rate else 0.0,
                               value_on(team.concurrent_assessments, at)))
    return loads


def load_table(loads: list[StageLoad]) -> list[str]:
    """The load table as fixed-width lines."""
    header = ("stage", "arrivals/day", "mean stay (days)", "offered load", "capacity", "rho")
    rows = [(s.stage, f"{s.arrivals_per_day:,.2f}", f"{s.mean_stay_days:,.2f}", f"{s.offered_load:,.1f}",
             "unlimited" if math.isinf(s.capacity) else f"{s.capacity:,.0f}",
             "-" if math.isinf(s.capacity) else f"{s.rho:.2f}") for s in loads]
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]

    def line(cells: tuple[str, ...]) -> str:
        return "  ".join([cells[0].ljust(widths[0]), *(c.rjust(w) for c, w in zip(cells[1:], widths[1:], strict=True))])

    return [line(header), line(tuple("-" * w for w in widths)), *(line(r) for r in rows)]


def overload_warnings(loads: list[StageLoad]) -> list[str]:
    """One line per stage with rho >= 1."""
    return [f"warning: {s.stage}: offered load {s.offered_load:,.1f} >= capacity {s.capacity:,.0f} "
            f"(rho {s.rho:.2f}): its queue will grow for as long as the run lasts" for s in loads if s.rho >= 1]
