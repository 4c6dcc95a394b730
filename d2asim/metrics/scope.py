"""Where a metric is read: the whole system, one trust or one borough.

A trust's scope is its patients: their acute episodes there and the delays and
service episodes that follow them (a readmission returns to the same trust). A
borough's scope is its residents, in any trust or service. Metrics of a scope are the
same functions applied to the event log filtered to the scope's rows, with the
scope's denominators (beds, population).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from d2asim.model.log import TABLE_COLUMNS, EventLog
from d2asim.scenario.schedule import base_value
from d2asim.system.registry import SystemRegistry

SYSTEM = "system"


@dataclass(frozen=True)
class Scope:
    """``key``: ``system``, ``trust:NAME`` or ``borough:NAME``; ``column``/``code``
    select the log rows (None: every row)."""

    key: str
    column: str | None
    code: int
    beds: int | None  # core acute beds at the start (None: not a bed-holding scope, no occupancy percentages)
    adults_18plus: int | None  # denominators of the per-100,000 rates (None: no rate)
    aged_65plus: int | None
    rate_boroughs: tuple[int, ...]  # boroughs whose residents count in the rates

    @property
    def name(self) -> str:
        return self.key.partition(":")[2]


def system_scope(registry: SystemRegistry) -> Scope:
    """The whole system: every row; beds of every trust; rates over the modelled
    boroughs (out-of-area patients count in the trusts, not in any rate)."""
    beds = sum(base_value(t.acute.beds) for t in registry.trusts)
    modelled = tuple(b.code for b in registry.modelled_boroughs)
    return Scope(SYSTEM, None, -1, beds, registry.adults_18plus(), registry.aged_65plus(), modelled)


def place_scopes(registry: SystemRegistry) -> list[Scope]:
    """One scope per trust, then one per modelled borough."""
    scopes = [Scope(f"trust:{t.name}", "trust", t.code, base_value(t.acute.beds), None, None, ())
              for t in registry.trusts]  # fmt: skip
    for b in registry.modelled_boroughs:
        pop = b.population
        key = f"borough:{b.name}"
        scopes.append(Scope(key, "borough", b.code, None, pop.adults_18plus, pop.aged_65plus, (b.code,)))
    return scopes


def scoped_log(log: EventLog, scope: Scope) -> EventLog:
    """The log's rows that belong to ``scope`` (the log itself for the system)."""
    if scope.column is None:
        return log
    out = EventLog(horizon=log.horizon)
    for name in TABLE_COLUMNS:
        table = log.table(name)
        if scope.column in table:
            keep = table[scope.column] == scope.code
            out._tables[name] = {k: v[keep] for k, v in table.items()}
        else:
            out._tables[name] = table
    return out


def in_rate(table: dict[str, np.ndarray], scope: Scope) -> np.ndarray:
    """Rows of a log table whose patients count in the scope's population rates."""
    return np.isin(table["borough"], scope.rate_boroughs)
