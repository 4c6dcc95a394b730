"""What the engine holds for each trust, service and pathway during one run."""

from __future__ import annotations

import math
from typing import NamedTuple

from d2asim.model.calendar import OpenWindow
from d2asim.model.patients import Patient, cumulative
from d2asim.model.pool import Pool
from d2asim.model.streams import Streams
from d2asim.system.registry import CARE_HOME_KINDS, REABLEMENT_KINDS, ServiceEntry, SystemRegistry, TrustEntry


class TrustRuntime:
    """An acute trust during a run: its bed pool (one for every borough's patients)
    and its discharge and board-round calendars."""

    def __init__(self, entry: TrustEntry, first_weekday: int) -> None:
        self.code = entry.code
        self.name = entry.name
        self.acute = entry.acute
        self.beds: Pool[Patient] = Pool(entry.acute.beds)
        self.discharge_window = OpenWindow(entry.acute.discharge_window, first_weekday)
        self.ready_window = OpenWindow(entry.acute.discharge_ready_window, first_weekday)


class ServiceRuntime:
    """A downstream service during a run: its pool (shared by every borough that uses
    it), calendar, stays, and outcomes (terminal, or on to the next service)."""

    def __init__(self, entry: ServiceEntry, streams: Streams, first_weekday: int) -> None:
        spec = entry.spec
        self.index = entry.code
        self.name = entry.name
        self.spec = spec
        self.entry = entry
        self.pool: Pool[Patient] = Pool(spec.places())
        self.window = OpenWindow(spec.start_calendar, first_weekday)
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
