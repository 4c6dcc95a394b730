"""Start a replication from today's position instead of empty.

Stays already in progress are length-biased (long stays are more likely to be
caught in progress) and the observation point is uniform within them, so their
remaining times come from the equilibrium residual distribution, not the stay
distribution itself (see ``Distribution.residual``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from d2asim.model.log import ACUTE
from d2asim.scenario.schema import PATHWAYS, InitialState

if TYPE_CHECKING:
    from d2asim.model.engine import DischargeModel


def seed_initial_state(model: DischargeModel, state: InitialState) -> None:
    """Place the initial patients at time 0: people in services first, then the
    discharge-ready patients (they hold beds, and ask for a place once the services are
    filled, so they wait when those are full), patients under treatment, then the
    admission queue."""
    factory = model.factories["initial"]
    rng = model.streams.rng("initial.residual")
    scenario = model.scenario
    for name, count in state.services_occupied.items():
        service = model.services[name]
        pathway = next((i for i, pw in enumerate(PATHWAYS) if model.pathways[i].service is service), 0)
        stays = service.spec.duration_days.residual(rng, count)
        for stay in stays.tolist():
            p = factory.new()
            p.pathway = pathway
            service.pool.busy += 1
            model.start_service(p, service, stay, service.draw_outcome())
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
        dist = factory.ttr_dist(scenario, factory.band_names[p.band], PATHWAYS[p.pathway])
        p.time_to_ready = float(dist.residual(rng, 1)[0])
        p.arrival = 0.0
        model.arrive(p)
    for _ in range(state.admission_queue):
        model.arrive(factory.new())
