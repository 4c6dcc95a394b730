"""Where a metric is read: the whole system, one trust or one borough.

A trust's scope is its patients: their acute episodes there and the delays and
service episodes that follow them (a readmission returns to the same trust). A
borough's scope is its residents, in any trust or service. Metrics of a scope are the
same functions applied to the event log filtered to the scope's rows, with the
scope's denominators (beds, population).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from d2asim.metrics.intervals import positions, stable_order
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
    return scoped_logs(log, [scope])[scope.key]


def scoped_logs(log: EventLog, scopes: list[Scope]) -> dict[str, EventLog]:
    """The log's rows of each scope, by scope key, in their order in the log. Each
    table is sorted once by a scope column (stable), so that a scope's rows are one
    slice of it; a table without the column is the whole table."""
    by_code: dict[tuple[str, str], tuple[np.ndarray, np.ndarray]] = {}  # (column, table) -> sorted rows, codes
    out = {}
    for scope in scopes:
        if scope.column is None:
            out[scope.key] = log
            continue
        blocks = {}
        for name, columns in TABLE_COLUMNS.items():
            data = log.block(name)
            if scope.column not in columns:
                blocks[name] = data
                continue
            if (scope.column, name) not in by_code:
                codes = data[:, columns.index(scope.column)]
                order = stable_order(codes)
                by_code[scope.column, name] = data[order], codes[order]
            rows, codes = by_code[scope.column, name]
            lo = int(np.searchsorted(codes, scope.code, side="left"))
            hi = int(np.searchsorted(codes, scope.code, side="right"))
            blocks[name] = rows[lo:hi]
        out[scope.key] = EventLog.of_blocks(log.horizon, blocks)
    return out


def scope_groups(table: dict[str, np.ndarray], scopes: Sequence[Scope]) -> np.ndarray:
    """Each row's position in ``scopes`` (scopes of one kind, read from one column),
    -1 for a row in none of them; every row is in a lone scope without a column (the
    system)."""
    n = next(iter(table.values())).size if table else 0
    column = scopes[0].column
    if column is None:
        return np.zeros(n, dtype=np.int64)
    return positions(table[column], [scope.code for scope in scopes])


def in_rate(table: dict[str, np.ndarray], scope: Scope) -> np.ndarray:
    """Rows of a log table whose patients count in the scope's population rates."""
    return np.isin(table["borough"], scope.rate_boroughs)
