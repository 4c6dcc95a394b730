"""Start a replication from today's position instead of empty.

Stays already in progress are length-biased (long stays are more likely to be
caught in progress) and the observation point is uniform within them, so their
remaining times come from the equilibrium residual distribution, not the stay
distribution itself (see ``Distribution.residual``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Protocol

import numpy as np

from d2asim.model.log import ACUTE
from d2asim.model.patients import Patient, PatientFactory, pick
from d2asim.model.pool import Pool
from d2asim.model.runtime import PathwayPlan, ServiceRuntime
from d2asim.model.streams import Streams
from d2asim.scenario.schedule import value_on
from d2asim.scenario.schema import PATHWAYS, InitialState
from d2asim.system.registry import SystemRegistry


class Model(Protocol):
    """What placing the initial patients needs of the model (:class:`d2asim.model.engine.DischargeModel`)."""

    registry: SystemRegistry
    streams: Streams
    factories: list[dict[str, PatientFactory]]
    plans: list[list[PathwayPlan]]
    services: dict[str, ServiceRuntime]
    start_date: dt.date  # the simulation's first day (warm-up included)

    @property
    def beds(self) -> Pool[Patient]: ...

    def arrive(self, p: Patient) -> None: ...

    def ask_for_place(self, p: Patient) -> None: ...

    def wait_on_ward(self, p: Patient, plan: PathwayPlan) -> None: ...

    def start_service(self, p: Patient, service: ServiceRuntime, stay: float, outcome_u: float) -> None: ...


def seed_initial_state(model: Model, state: InitialState) -> None:
    """Place the initial patients at time 0: people in services first, then the
    discharge-ready patients (they hold beds, and ask for a place once the services are
    filled, so they wait when those are full; on a pathway with no service they are
    part-way through the on-ward wait), patients under treatment, then the
    admission queue. In the single-site form every patient comes from its one site. In
    the system form (one trust when anyone is placed in acute beds) each patient is given
    a site, drawn in proportion to the sites' admissions per day: for a person in a
    service, among the sites that send patients to it."""
    rng = model.streams.rng("initial.residual")
    site_of = _site_drawer(model)
    for name, count in state.services_occupied.items():
        _fill_service(model, name, count, rng)
    for pathway, count in state.nctr_waiting.items():
        for _ in range(count):
            site = site_of()
            factory = model.factories[site]["initial"]
            p = factory.new()
            p.pathway = PATHWAYS.index(pathway)
            # the factory drew the service stay and assessment time for the pathway it
            # picked from the shares; redraw them for the pathway the patient is on
            stay, assess = factory.first_stay[p.pathway], factory.assessment[p.pathway]
            p.first_stay_days = stay() if stay is not None else 0.0
            p.assessment_days = assess() if assess is not None else 0.0
            p.arrival = p.admit = p.ready = 0.0
            p.location = ACUTE
            model.beds.busy += 1
            plan, wait = model.plans[site][p.pathway], factory.settings[pathway].assessment.delay_days
            if plan.service is None and plan.on_ward and wait is not None:
                # no place to wait for: the patient is part-way through the on-ward wait,
                # so what is left of it is that wait's residual (length-biased) time
                p.assessment_days = float(wait.residual(rng, 1)[0])
                model.wait_on_ward(p, plan)
            else:
                model.ask_for_place(p)
    for _ in range(state.acute_occupied):
        factory = model.factories[site_of()]["initial"]
        p = factory.new()
        dist = factory.ttr_dist(factory.band_names[p.band], PATHWAYS[p.pathway])
        p.time_to_ready = float(dist.residual(rng, 1)[0])
        p.arrival = 0.0
        model.arrive(p)
    for _ in range(state.admission_queue):
        model.arrive(model.factories[site_of()]["initial"].new())


def _site_drawer(model: Model) -> Callable[[], int]:
    """Draws the site of a patient placed in the acute beds (always 0 with one site)."""
    sites = model.registry.sites
    if len(sites) == 1:
        return lambda: 0
    weights = np.array([value_on(s.streams["non_elective"].per_day, model.start_date) for s in sites],
                       dtype=float) + 1e-12
    cum = np.cumsum(weights / weights.sum()).tolist()
    draw = model.streams.uniform("initial.acute.site")
    return lambda: pick(cum, draw())


def _fill_service(model: Model, name: str, count: int, rng: np.random.Generator) -> None:
    service = model.services[name]
    if not model.registry.single_site:
        rng = model.streams.rng(f"initial.{name}.residual")
    first_pathway: dict[int, int] = {}  # site -> first pathway into the service there
    for site, plans in enumerate(model.plans):
        for pathway, plan in enumerate(plans):
            if plan.service is service:
                first_pathway.setdefault(site, pathway)
    routes = list(first_pathway.items()) or [(0, 0)]
    stays = service.spec.duration_days.residual(rng, count)
    weights = np.array([value_on(model.registry.sites[site].streams["non_elective"].per_day, model.start_date)
                        for site, _ in routes], dtype=float) + 1e-12
    picks = rng.choice(len(routes), size=count, p=weights / weights.sum()) if len(routes) > 1 else [0] * count
    for stay, k in zip(stays.tolist(), picks, strict=True):
        site, pathway = routes[int(k)]
        p = model.factories[site]["initial"].new()
        p.pathway = pathway
        service.pool.busy += 1
        model.start_service(p, service, stay, service.draw_outcome())
