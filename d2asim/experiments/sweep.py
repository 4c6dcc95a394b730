"""Capacity (or any field) sweeps: a grid of scenario variants, one row per point."""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from d2asim.experiments.compare import SYSTEM_SCOPE, run_scenarios
from d2asim.metrics.registry import SWEEP_KEYS
from d2asim.runner import Executor, RunResult, Store
from d2asim.scenario.errors import ScenarioError
from d2asim.scenario.loader import with_overrides
from d2asim.scenario.schema import Scenario


def parse_set(expressions: Sequence[str]) -> dict[str, list[Any]]:
    """``["services.p1.capacity=80,100"]`` -> ``{"services.p1.capacity": [80, 100]}``."""
    grid: dict[str, list[Any]] = {}
    for expr in expressions:
        field, sep, values = expr.partition("=")
        if not sep or not field or not values:
            raise ScenarioError([f"--set: expected FIELD=V1,V2,... (got {expr!r})"])
        grid[field.strip()] = [_scalar(v.strip()) for v in values.split(",")]
    return grid


def _scalar(text: str) -> Any:
    for cast in (int, float):
        try:
            return cast(text)
        except ValueError:
            pass
    return {"null": None, "true": True, "false": False}.get(text.lower(), text)


def grid_points(grid: Mapping[str, Sequence[Any]]) -> list[dict[str, Any]]:
    """Every combination of the grid's values, in the order given (first field slowest)."""
    fields = list(grid)
    return [dict(zip(fields, combo, strict=True)) for combo in itertools.product(*(grid[f] for f in fields))]


def point_scenarios(base: Scenario, points: Sequence[Mapping[str, Any]], source: str,
                    what: str = "sweep point {i}") -> list[Scenario]:
    """A validated scenario per point (bad values name the field and the point: ``what``
    with ``{i}`` its number)."""
    out = []
    for i, point in enumerate(points):
        label = ", ".join(f"{k}={v}" for k, v in point.items())
        where = f"{source} ({what.format(i=i)}: {label})"
        out.append(with_overrides(base, {**point, "name": f"{base.name}[{label}]"}, where))
    return out


def sweep_table(points: Sequence[Mapping[str, Any]], runs: Sequence[RunResult],
                metrics: Sequence[str] = SWEEP_KEYS) -> pd.DataFrame:
    """One row per point and scope: the swept values, then
    ``<metric>_mean/_ci_low/_ci_high``, then ``scope`` (``system``; for a scenario in
    the system form also each ``trust:NAME`` and ``borough:NAME``)."""
    rows = []
    for i, (point, run) in enumerate(zip(points, runs, strict=True)):
        places = run.scopes() if run.scenario.is_system else []
        for scope in [None, *places]:
            table = run.metrics_table(scope)
            row: dict[str, Any] = {"point": i, **point}
            for metric in metrics:
                if metric in table.columns:
                    ci = run.interval(metric, scope)
                    row.update({f"{metric}_mean": ci["mean"], f"{metric}_ci_low": ci["ci_low"],
                                f"{metric}_ci_high": ci["ci_high"]})
            rows.append({**row, "scope": scope or SYSTEM_SCOPE})
    return pd.DataFrame(rows)


def sweep(
    base: Scenario,
    grid: Mapping[str, Sequence[Any]],
    replications: int,
    seed: int,
    executor: Executor | None = None,
    stores: Sequence[Store] | None = None,
    source: str = "<sweep>",
) -> tuple[pd.DataFrame, list[RunResult]]:
    """Run every grid point on common random numbers; the table and the runs."""
    points = grid_points(grid)
    runs = run_scenarios(point_scenarios(base, points, source), replications, seed, executor, stores)
    return sweep_table(points, runs), runs
