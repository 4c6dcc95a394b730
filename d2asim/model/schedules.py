"""Dated capacity changes during a run: one scheduled call per change, no per-event checks.

A change sets the pool's capacity at midnight of its date. Lowering it below the
people in it evicts nobody: they stay until their stay ends, and new starts wait
until occupancy is below the new level (:meth:`d2asim.model.pool.Pool.set_capacity`).
Raising it grants places to those waiting at once. Arrival-rate schedules are read
when the arrivals are drawn (:func:`d2asim.model.calendar.daily_rates`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from d2asim.scenario.names import PATHWAYS
from d2asim.scenario.schedule import changes_after

if TYPE_CHECKING:
    from d2asim.model.engine import DischargeModel


def install_schedules(model: DischargeModel) -> None:
    """Schedule every dated change of each trust's acute and escalation beds, service
    places, assessment team sizes and on-ward wait multipliers of ``model``'s scenario."""
    sc = model.scenario
    start, horizon = model.start_date, model.horizon
    targets: list[tuple[Any, Callable[[Any], None]]] = []
    for trust in model.trusts:
        targets.append((trust.acute.beds, trust.set_core_beds))
        if trust.acute.escalation is not None:
            targets.append((trust.acute.escalation.beds, trust.set_escalation_beds))
    for service in model.services.values():
        targets.append((service.spec.capacity, _setter(service.pool.set_capacity, service.spec.places_for)))
    for name, team in sc.assessment_teams.items():
        targets.append((team.concurrent_assessments, model.teams[name].set_capacity))
    for site, plans in zip(model.registry.sites, model.plans, strict=True):
        settings = model.registry.boroughs[site.borough].settings
        for pathway, plan in zip(PATHWAYS, plans, strict=True):
            targets.append((settings[pathway].assessment.delay_scale, _cell_setter(plan.delay_scale)))
    for value, apply in targets:
        for day, new in changes_after(value, start, horizon):
            model.after(day, _call(apply, new), None)


def _setter(set_capacity: Callable[[float], None], places_for: Callable[[Any], float]) -> Callable[[Any], None]:
    return lambda capacity: set_capacity(places_for(capacity))


def _cell_setter(cell: list[float]) -> Callable[[Any], None]:
    def set_cell(value: Any) -> None:
        cell[0] = float(value)

    return set_cell


def _call(apply: Callable[[Any], None], value: Any) -> Callable[[object], None]:
    return lambda _: apply(value)
