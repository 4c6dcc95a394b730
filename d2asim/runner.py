"""Run replications of a scenario and collect their metrics and series."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from d2asim.metrics.replication import replication_metrics
from d2asim.metrics.series import daily_series, monthly_delays, monthly_series
from d2asim.model.engine import DischargeModel, sim_start_date
from d2asim.scenario.schema import Scenario


@dataclass(frozen=True)
class ReplicationResult:
    replication: int
    metrics: dict[str, float]
    daily: pd.DataFrame
    monthly: pd.DataFrame
    monthly_delays: pd.DataFrame


def run_replication(scenario: Scenario, seed: int, replication: int) -> ReplicationResult:
    """Simulate one replication (its random streams depend on seed and replication only)."""
    log = DischargeModel(scenario, seed, replication).run()
    start = sim_start_date(scenario)
    daily = daily_series(log, scenario, start)
    return ReplicationResult(
        replication=replication,
        metrics=replication_metrics(log, scenario, daily),
        daily=daily,
        monthly=monthly_series(daily, scenario),
        monthly_delays=monthly_delays(log, scenario, start),
    )


@dataclass(frozen=True)
class RunResult:
    """Replications of one scenario: tidy tables for analysis and output."""

    scenario: Scenario
    seed: int
    replications: list[ReplicationResult]

    def metrics_table(self) -> pd.DataFrame:
        """One row per replication, one column per metric."""
        rows = [{"replication": r.replication, **r.metrics} for r in self.replications]
        return pd.DataFrame(rows).set_index("replication").sort_index()

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


def run_replications(scenario: Scenario, replications: int, seed: int) -> RunResult:
    """Run replications 0..n-1 in order."""
    results = [run_replication(scenario, seed, r) for r in range(replications)]
    return RunResult(scenario=scenario, seed=seed, replications=results)
