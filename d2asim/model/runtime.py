"""What the engine holds for each trust, service and pathway during one run."""

from __future__ import annotations

import datetime as dt
import math
from typing import NamedTuple

from d2asim.model.calendar import OpenWindow
from d2asim.model.patients import Patient, cumulative
from d2asim.model.pool import Pool
from d2asim.model.start_limits import StartLimit
from d2asim.model.streams import Streams
from d2asim.scenario.schedule import value_on
from d2asim.system.registry import CARE_HOME_KINDS, REABLEMENT_KINDS, ServiceEntry, SystemRegistry, TrustEntry


class TrustRuntime:
    """An acute trust during a run: its bed pool (one for every borough's patients),
    core and escalation beds in force, and its discharge and board-round calendars."""

    def __init__(self, entry: TrustEntry, start_date: dt.date, streams: Streams) -> None:
        acute = entry.acute
        self.code = entry.code
        self.name = entry.name
        self.acute = acute
        self.core_beds = value_on(acute.beds, start_date)
        self.escalation_beds = value_on(acute.escalation.beds, start_date) if acute.escalation else 0
        self.escalation_open = False
        self.beds: Pool[Patient] = Pool(self.core_beds)
        self.discharge_window = OpenWindow(acute.discharge_window, start_date.weekday())
        self.ready_window = OpenWindow(acute.discharge_ready_window, start_date.weekday())
        self.first_weekday = start_date.weekday()
        confirms = acute.confirms_by_weekday()
        self.confirms = None if min(confirms) == 1 else confirms
        self.draw_confirm = streams.uniform(f"{entry.name}.board_round") if self.confirms else None

    def confirmed_ready(self, t: float) -> float:
        """When a patient whose treatment ends at ``t`` (days) is declared discharge
        ready: the next board round (``discharge_ready_window``), or, if that round does
        not confirm them (``board_round_confirms``), a round of a later day."""
        t = self.ready_window.next_open(t)
        confirms, draw = self.confirms, self.draw_confirm
        if confirms is None or draw is None:
            return t
        while draw() >= confirms[(self.first_weekday + math.floor(t)) % 7]:
            t = self.ready_window.next_open(math.floor(t) + 1.0)
        return t

    def set_core_beds(self, beds: int) -> None:
        """A dated change of core beds (escalation beds stay open if they were)."""
        self.core_beds = beds
        self.set_beds()

    def set_escalation_beds(self, beds: int) -> None:
        self.escalation_beds = beds
        self.set_beds()

    def set_beds(self) -> None:
        """Capacity = core beds, plus escalation beds while they are open."""
        self.beds.set_capacity(self.core_beds + (self.escalation_beds if self.escalation_open else 0))


class ServiceRuntime:
    """A downstream service during a run: its pool (shared by every borough that uses
    it), calendar, stays, and outcomes (terminal, or on to the next service)."""

    def __init__(self, entry: ServiceEntry, streams: Streams, start_date: dt.date) -> None:
        spec = entry.spec
        self.index = entry.code
        self.name = entry.name
        self.spec = spec
        self.entry = entry
        self.pool: Pool[Patient] = Pool(spec.places_for(value_on(spec.capacity, start_date)))
        self.window = OpenWindow(spec.start_calendar, start_date.weekday())
        limits = spec.starts_by_weekday()
        self.start_limit = None if spec.max_starts_per_day is None else StartLimit(limits, start_date.weekday())
        self.max_days = spec.max_duration_days or math.inf
        self.draw_stay = streams.sampler(f"{entry.name}.duration", spec.duration_days)
        self.draw_outcome = streams.uniform(f"{entry.name}.outcome")
        self.outcome_cum: list[float] = []  # cumulative shares of the outcomes, in declared order
        self.outcome_codes: list[int] = []  # registry outcome code of each outcome
        self.onward: list[ServiceRuntime | None] = []  # next service of each outcome (None: terminal)
        self.cause = entry.cause
        self.is_reablement = entry.kind in REABLEMENT_KINDS
        self.is_care_home = entry.kind in CARE_HOME_KINDS

    def link(self, registry: SystemRegistry, by_name: dict[str, ServiceRuntime]) -> None:
        """Resolve outcome names to codes and next services (once every service exists);
        outcomes with share 0 that name no service are left out (they are never drawn)."""
        outcomes = self.spec.outcomes
        keys = [k for k in outcomes if k in registry.outcomes or outcomes[k] > 0]
        self.outcome_cum = cumulative(outcomes, tuple(keys))
        self.outcome_codes = [registry.outcome_code(k) for k in keys]
        self.onward = [by_name.get(k) for k in keys]


class PathwayPlan(NamedTuple):
    """How a pathway runs for one site (a borough's patients at one trust): assessment
    on the ward or not, by which team, into which service, whether a D2A assessment
    adds to the service stay, the trust, and the calendars that must all be open to
    leave the acute bed (none if both are always open)."""

    on_ward: bool
    team: Pool[Patient] | None
    service: ServiceRuntime | None
    d2a_extends_stay: bool
    leave_windows: list[OpenWindow]
    trust: TrustRuntime
    start_limit: StartLimit | None
    delay_scale: list[float]  # [the multiplier of on-ward waits in force]: a cell the schedules set
