"""Start a replication from today's position instead of empty.

Stays already in progress are length-biased (long stays are more likely to be
caught in progress) and the observation point is uniform within them, so their
remaining times come from the equilibrium residual distribution, not the stay
distribution itself (see ``Distribution.residual``).
"""

from __future__ import annotations

from typing import Protocol

import numpy as np

from d2asim.model.log import ACUTE
from d2asim.model.patients import Patient, PatientFactory
from d2asim.model.pool import Pool
from d2asim.model.runtime import PathwayPlan, ServiceRuntime
from d2asim.model.streams import Streams
from d2asim.scenario.schema import PATHWAYS, InitialState
from d2asim.system.registry import SystemRegistry


class Model(Protocol):
    """What placing the initial patients needs of the model (:class:`d2asim.model.engine.DischargeModel`)."""

    registry: SystemRegistry
    streams: Streams
    factories: list[dict[str, PatientFactory]]
    plans: list[list[PathwayPlan]]
    services: dict[str, ServiceRuntime]

    @property
    def beds(self) -> Pool[Patient]: ...

    def arrive(self, p: Patient) -> None: ...

    def ask_for_place(self, p: Patient) -> None: ...

    def start_service(self, p: Patient, service: ServiceRuntime, stay: float, outcome_u: float) -> None: ...


def seed_initial_state(model: Model, state: InitialState) -> None:
    """Place the initial patients at time 0: discharge-ready queue first (they hold
    beds), then patients under treatment, people in services, then the admission
    queue. In the single-site form every patient comes from its one site; in the
    system form (services only) each person in a service is given a site that sends
    patients to it, drawn in proportion to the sites' admissions per day."""
    factory = model.factories[0]["initial"]
    rng = model.streams.rng("initial.residual")
    for pathway, count in state.nctr_waiting.items():
        for _ in range(count):
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
            model.ask_for_place(p)
    for _ in range(state.acute_occupied):
        p = factory.new()
        dist = factory.ttr_dist(factory.band_names[p.band], PATHWAYS[p.pathway])
        p.time_to_ready = float(dist.residual(rng, 1)[0])
        p.arrival = 0.0
        model.arrive(p)
    for name, count in state.services_occupied.items():
        _fill_service(model, name, count, rng)
    for _ in range(state.admission_queue):
        model.arrive(factory.new())


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
    weights = np.array([model.registry.sites[site].streams["non_elective"].per_day for site, _ in routes]) + 1e-12
    picks = rng.choice(len(routes), size=count, p=weights / weights.sum()) if len(routes) > 1 else [0] * count
    for stay, k in zip(stays.tolist(), picks, strict=True):
        site, pathway = routes[int(k)]
        p = model.factories[site]["initial"].new()
        p.pathway = pathway
        service.pool.busy += 1
        model.start_service(p, service, stay, service.draw_outcome())
