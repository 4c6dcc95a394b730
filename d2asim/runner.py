"""Run replications of a scenario and collect their metrics and series."""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
import pandas as pd

from d2asim.metrics.replication import metric_ceiling, replication_metrics, whole_log_metrics
from d2asim.metrics.scope import SYSTEM, Scope, place_scopes, scoped_logs, system_scope
from d2asim.metrics.series import daily_frame, monthly_delays, monthly_series, reported_part, scope_columns
from d2asim.metrics.stability import growth_warnings
from d2asim.model.engine import DischargeModel, sim_start_date
from d2asim.model.log import EventLog
from d2asim.scenario.schema import Scenario
from d2asim.summary import mean_ci, summary_frame
from d2asim.system.registry import SystemRegistry, registry_of

TRUST_DAILY_COLUMNS = ("acute_occupied", "admission_queue", "delayed_acute", "admissions", "discharges")
"""Columns daily.csv repeats per trust (as ``<trust>_<column>``) when a system has several."""


@dataclass(frozen=True)
class ReplicationResult:
    replication: int
    metrics: dict[str, float]
    daily: pd.DataFrame
    monthly: pd.DataFrame
    monthly_delays: pd.DataFrame
    by_place: dict[str, dict[str, float]] = field(default_factory=dict)  # "trust:NAME"/"borough:NAME" -> metrics


def run_replication(scenario: Scenario, seed: int, replication: int) -> ReplicationResult:
    """Simulate one replication (its random streams depend on seed and replication only)."""
    log = DischargeModel(scenario, seed, replication).run()
    start = sim_start_date(scenario)
    registry = registry_of(scenario)
    system = system_scope(registry)
    columns = scope_columns(log, scenario, start, [system, *own_row_scopes(registry)])  # one pass for every place
    daily = daily_frame(columns[SYSTEM], scenario, start)
    metrics = replication_metrics(log, scenario, reported_part(columns[SYSTEM], scenario))
    by_place = place_metrics(log, scenario, metrics, columns)
    trust_columns = {f"{t.name}_{c}": columns[f"trust:{t.name}"][c] for t in registry.trusts
                     if f"trust:{t.name}" in columns for c in TRUST_DAILY_COLUMNS}  # fmt: skip
    if trust_columns:
        daily = pd.concat([daily, pd.DataFrame(trust_columns, index=daily.index)], axis=1)
    return ReplicationResult(
        replication=replication,
        metrics=metrics,
        daily=daily,
        monthly=monthly_series(daily, scenario),
        monthly_delays=monthly_delays(log, scenario, start),
        by_place=by_place,
    )


def own_row_scopes(registry: SystemRegistry) -> list[Scope]:
    """The trusts and modelled boroughs whose metrics need their own rows: all but a
    lone trust or borough (which holds every row and takes the system's metrics)."""
    return [s for s in place_scopes(registry)
            if len(registry.trusts if s.column == "trust" else registry.boroughs) > 1]  # fmt: skip


def place_metrics(
    log: EventLog, scenario: Scenario, system: dict[str, float],
    columns: Mapping[str, Mapping[str, np.ndarray]] | None = None,
) -> dict[str, dict[str, float]]:
    """Metrics of each trust and modelled borough by scope key (a scope holding every
    row, such as the one trust of a single-trust system, takes the ``system``
    metrics). ``columns``: the daily columns of :func:`own_row_scopes` by scope key
    (:func:`scope_columns`), computed when not given."""
    registry = registry_of(scenario)
    parts = own_row_scopes(registry)
    if columns is None:
        columns = scope_columns(log, scenario, sim_start_date(scenario), parts)
    logs = scoped_logs(log, parts)
    metrics = {}
    for scope in place_scopes(registry):
        if scope.key in logs:
            reported = reported_part(columns[scope.key], scenario)
            metrics[scope.key] = replication_metrics(logs[scope.key], scenario, reported, scope)
        else:
            metrics[scope.key] = whole_log_metrics(system, scope)
    return metrics


@dataclass(frozen=True)
class RunResult:
    """Replications of one scenario: tidy tables for analysis and output."""

    scenario: Scenario
    seed: int
    replications: list[ReplicationResult]

    def summary(self) -> pd.DataFrame:
        """One row per metric: mean, 95% CI and p5/p95 across replications."""
        return summary_frame(self.metrics_table(), self.ceilings())

    def ceilings(self, scope: str | None = None) -> dict[str, float]:
        """Largest possible value of each metric (confidence intervals stop there)."""
        return {m: metric_ceiling(m, self.scenario) for m in self.metrics_table(scope).columns}

    def interval(self, metric: str, scope: str | None = None) -> dict[str, float]:
        """Mean and 95% CI of one metric across replications (of the system or
        ``scope``), within its range."""
        values = self.metrics_table(scope)[metric].to_numpy()
        return mean_ci(values, floor=0.0, ceiling=metric_ceiling(metric, self.scenario))

    def warnings(self) -> list[dict[str, Any]]:
        """Queues that grew over the reported period (see :mod:`d2asim.metrics.stability`)."""
        return growth_warnings([(r.replication, r.daily) for r in self.replications])

    def metrics_table(self, scope: str | None = None) -> pd.DataFrame:
        """One row per replication, one column per metric (of the whole system, or of
        ``scope``: ``trust:NAME`` or ``borough:NAME``)."""
        rows = [{"replication": r.replication, **(r.metrics if scope is None else r.by_place[scope])}
                for r in self.replications]  # fmt: skip
        return pd.DataFrame(rows).set_index("replication").sort_index()

    def scopes(self) -> list[str]:
        """The place scopes every replication has (``trust:NAME``, then ``borough:NAME``)."""
        keys = [set(r.by_place) for r in self.replications]
        first = list(self.replications[0].by_place) if self.replications else []
        return [k for k in first if all(k in ks for ks in keys)]

    def monthly_table(self) -> pd.DataFrame:
        return self._stack("monthly")

    def monthly_delays_table(self) -> pd.DataFrame:
        return self._stack("monthly_delays")

    def daily_table(self) -> pd.DataFrame:
        return self._stack("daily")

    def _stack(self, attribute: str) -> pd.DataFrame:
        """Concatenate one per-replication table, with a leading replication column."""
        frames = [getattr(r, attribute).assign(replication=r.replication) for r in self.replications]
        table = pd.concat(frames, ignore_index=True)
        return table[["replication", *[c for c in table.columns if c != "replication"]]]


@dataclass(frozen=True)
class Task:
    """One replication of one scenario; ``key`` identifies it in the results."""

    key: Hashable
    scenario: Scenario
    seed: int
    replication: int


def run_task(task: Task) -> tuple[Hashable, ReplicationResult]:
    """Run one task (module-level so process pools and Dask can pickle it)."""
    return task.key, run_replication(task.scenario, task.seed, task.replication)


OnResult = Callable[[Hashable, ReplicationResult], None]


class Executor(Protocol):
    """Runs tasks somewhere (see :class:`d2asim.experiments.executor.Backend`)."""

    def run(self, tasks: Iterable[Task], on_result: OnResult | None = None) -> Mapping[Hashable, ReplicationResult]:
        ...


class Store(Protocol):
    """Keeps finished replications (see :class:`d2asim.experiments.checkpoint.CheckpointStore`)."""

    def save(self, result: ReplicationResult) -> None: ...

    def load_all(self) -> dict[int, ReplicationResult]: ...


def run_replications(
    scenario: Scenario,
    replications: int | Iterable[int],
    seed: int,
    executor: Executor | None = None,
    store: Store | None = None,
) -> RunResult:
    """Run replications ``0..n-1`` (or the given numbers), skipping any already in
    ``store`` and saving each new one there as it finishes. Serial without ``executor``."""
    wanted = range(replications) if isinstance(replications, int) else list(replications)
    done = store.load_all() if store is not None else {}
    tasks = [Task(r, scenario, seed, r) for r in wanted if r not in done]
    save = None if store is None else (lambda _key, result: store.save(result))
    done.update(execute(tasks, executor, save))  # type: ignore[arg-type]
    return RunResult(scenario=scenario, seed=seed, replications=[done[r] for r in sorted(wanted)])


def execute(
    tasks: list[Task], executor: Executor | None = None, on_result: OnResult | None = None
) -> dict[Hashable, ReplicationResult]:
    """Run ``tasks`` on ``executor`` (in this process, in order, when None)."""
    if executor is not None:
        return dict(executor.run(tasks, on_result))
    results = {}
    for task in tasks:
        key, result = run_task(task)
        results[key] = result
        if on_result is not None:
            on_result(key, result)
    return results
