"""Expected daily flows of a system, worked out from the scenario (no simulation).

People per day over the reported period, in steady state, when every place is
found (capacity limits delay flows but do not change them in the long run):

- admissions of each borough's residents (or out-of-area patients) to each trust:
  the mean of the scenario's daily rates over the reported period (calendar
  multipliers included), plus the readmissions they generate;
- at each trust: deaths in hospital, P0 (and pathways without a service) home, and
  each pathway's flow into the borough's service (age-band shares and death
  probabilities as the patient factory draws them);
- between services: each service's inflow times its outcome shares.

A readmission returns to the same trust as a new episode of the same site (pathway
drawn again), so for each site with external admissions ``a`` and readmission ratio
``r`` (readmissions per admission) the admissions are ``a / (1 - r)``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from d2asim.model.calendar import daily_rates
from d2asim.scenario.errors import ScenarioError
from d2asim.scenario.names import PATHWAYS, TERMINAL_OUTCOMES
from d2asim.scenario.schema import Scenario
from d2asim.system.registry import SiteEntry, SystemRegistry, registry_of

HOME, READMISSION, DEATH = TERMINAL_OUTCOMES


@dataclass
class SystemFlows:
    """Expected people per day. Keys are registry names."""

    admissions: dict[tuple[str, str], float]  # (borough or out-of-area origin, trust) -> admissions incl. readmissions
    readmissions: dict[tuple[str, str], float]  # the part of ``admissions`` that are readmissions
    died_in_hospital: dict[str, float]  # trust -> deaths in an acute bed
    home_from_hospital: dict[str, float]  # trust -> discharges home with no service (P0 and pathways without one)
    discharges: dict[tuple[str, str, str], float]  # (trust, service, pathway) -> discharges into the service
    into_service: dict[tuple[str, str], float]  # (borough or origin, service) -> starts of the borough's residents
    onward: dict[tuple[str, str], float]  # (service, next service) -> moves between services
    exits: dict[tuple[str, str], float] = field(default_factory=dict)  # (service, home|readmission|death)

    def service_starts(self, service: str) -> float:
        """Starts per day of ``service`` (from hospital and from other services)."""
        return sum(v for (_, s), v in self.into_service.items() if s == service)


def _mean_rate(site: SiteEntry, scenario: Scenario) -> float:
    """External admissions per day of one site, averaged over the reported period."""
    run = scenario.run
    return float(sum(daily_rates(stream, run.start_date, run.duration_days).mean() for stream in site.streams.values()))


def _pathway_split(registry: SystemRegistry, site: SiteEntry, scenario: Scenario) -> tuple[float, np.ndarray]:
    """Per admission at a site: the probability of dying in hospital, and of each
    pathway (index into PATHWAYS) among those discharged alive."""
    borough = registry.boroughs[site.borough]
    death = registry.trusts[site.trust].acute.death_probability
    died = 0.0
    pathway = np.zeros(len(PATHWAYS))
    for band in scenario.age_bands:
        p_death = death.get(band.name, 0.0) if isinstance(death, dict) else death
        shares = borough.shares_by_age_band.get(band.name, borough.shares)
        died += band.share * p_death
        pathway += band.share * (1.0 - p_death) * np.array([shares.get(p, 0.0) for p in PATHWAYS])
    return died, pathway


def _transitions(registry: SystemRegistry) -> tuple[np.ndarray, np.ndarray]:
    """Service-to-service shares ``T[s, s']`` and terminal shares ``E[s, k]`` (k: home,
    readmission, death)."""
    n = len(registry.services)
    moves, ends = np.zeros((n, n)), np.zeros((n, len(TERMINAL_OUTCOMES)))
    for s in registry.services:
        for outcome, share in s.spec.outcomes.items():
            if outcome in TERMINAL_OUTCOMES:
                ends[s.code, TERMINAL_OUTCOMES.index(outcome)] += share
            else:
                moves[s.code, registry.code("services", outcome)] += share
    return moves, ends


def expected_flows(scenario: Scenario) -> SystemFlows:
    """The scenario's expected daily flows (see the module docstring). Raises
    ScenarioError when services' outcomes loop forever or readmissions do not die out."""
    registry = registry_of(scenario)
    moves, ends = _transitions(registry)
    n = len(registry.services)
    try:
        visits = np.linalg.inv(np.eye(n) - moves.T)  # starts of each service per start of another
    except np.linalg.LinAlgError:
        raise ScenarioError(["services: outcomes: some services pass everyone on to each other forever "
                             "(no home, readmission or death on the loop)"]) from None
    trusts, boroughs, services = registry.trusts, registry.boroughs, registry.services
    out = SystemFlows({}, {}, {t.name: 0.0 for t in trusts}, {t.name: 0.0 for t in trusts}, {}, {}, {})
    total_starts = np.zeros(n)
    for site in registry.sites:
        trust, borough = trusts[site.trust].name, boroughs[site.borough].name
        died, pathway = _pathway_split(registry, site, scenario)
        first = np.zeros(n)  # first service starts per admission
        home = 0.0
        for k in range(len(PATHWAYS)):
            entry = registry.pathway_service(site.borough, k)
            if entry is None:
                home += pathway[k]
            else:
                first[entry.code] += pathway[k]
        starts = visits @ first  # starts of each service per admission
        ratio = float(starts @ ends[:, TERMINAL_OUTCOMES.index(READMISSION)])
        if ratio >= 1.0 - 1e-12 or not math.isfinite(ratio):
            raise ScenarioError([f"services: outcomes: readmissions of {borough} at {trust} never die out "
                                 f"({ratio:.3g} readmissions per admission)"])
        admissions = _mean_rate(site, scenario) / (1.0 - ratio)
        out.admissions[(borough, trust)] = admissions
        out.readmissions[(borough, trust)] = admissions * ratio
        out.died_in_hospital[trust] += admissions * died
        out.home_from_hospital[trust] += float(admissions * home)
        for k in range(len(PATHWAYS)):
            entry = registry.pathway_service(site.borough, k)
            if entry is not None and pathway[k] > 0:
                route = (trust, entry.name, PATHWAYS[k])
                out.discharges[route] = out.discharges.get(route, 0.0) + float(admissions * pathway[k])
        for s in services:
            if starts[s.code] > 0:
                key = (borough, s.name)
                out.into_service[key] = out.into_service.get(key, 0.0) + float(admissions * starts[s.code])
        total_starts += admissions * starts
    for s in services:
        for t in services:
            if moves[s.code, t.code] > 0:
                out.onward[(s.name, t.name)] = float(total_starts[s.code] * moves[s.code, t.code])
        for k, outcome in enumerate(TERMINAL_OUTCOMES):
            if ends[s.code, k] > 0:
                out.exits[(s.name, outcome)] = float(total_starts[s.code] * ends[s.code, k])
    return out
