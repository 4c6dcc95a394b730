"""``--reps auto``: add replications until a metric's confidence interval is tight enough.

Replications are added in fixed batches (not one per free worker), so where the
run stops depends only on the seed, never on the number of workers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from d2asim.runner import Executor, RunResult, Store, run_replications
from d2asim.scenario.errors import ScenarioError
from d2asim.scenario.schema import Scenario
from d2asim.summary import mean_ci

FIRST_BATCH = 10
BATCH = 10


@dataclass(frozen=True)
class PrecisionRule:
    """Stop when the 95% CI half-width of ``metric`` is at most ``relative`` x |mean|
    (e.g. 0.02 = within 2% of the mean), or at ``max_reps`` replications."""

    metric: str = "delayed_bed_days"
    relative: float = 0.02
    max_reps: int = 200

    def relative_half_width(self, result: RunResult) -> float:
        table = result.metrics_table()
        if self.metric not in table.columns:
            known = ", ".join(c for c in table.columns if "." not in c)
            raise ScenarioError([f"--precision-metric: unknown metric {self.metric!r} (allowed: {known})"])
        ci = mean_ci(table[self.metric].to_numpy())
        if ci["mean"] == 0:
            return 0.0 if ci["ci_high"] == ci["ci_low"] else math.inf
        return (ci["ci_high"] - ci["ci_low"]) / 2 / abs(ci["mean"])


def replicate_until_precise(
    scenario: Scenario, seed: int, rule: PrecisionRule, executor: Executor | None = None, store: Store | None = None
) -> tuple[RunResult, float]:
    """Run batches of replications until ``rule`` is met; returns the result and the
    achieved relative half-width."""
    n = min(FIRST_BATCH, rule.max_reps)
    while True:
        result = run_replications(scenario, n, seed, executor, store)
        achieved = rule.relative_half_width(result)
        if achieved <= rule.relative or n >= rule.max_reps:
            return result, achieved
        n = min(n + BATCH, rule.max_reps)
