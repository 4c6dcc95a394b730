"""The smallest capacity of one service that meets a service-level target.

Bisection over whole places, every candidate run on common random numbers. Two
answers are given: the capacity at which the *mean* meets the target, and the
(larger) one at which the whole 95% CI does, so the uncertainty is explicit.
"""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Callable
from dataclasses import dataclass, field

import pandas as pd

from d2asim.experiments.compare import run_scenarios
from d2asim.runner import Executor, RunResult
from d2asim.scenario.errors import ScenarioError
from d2asim.scenario.loader import with_overrides
from d2asim.scenario.schedule import base_value
from d2asim.scenario.schema import Scenario

_OPS: dict[str, Callable[[float, float], bool]] = {
    "<=": operator.le, "<": operator.lt, ">=": operator.ge, ">": operator.gt,
}  # fmt: skip
MAX_DOUBLINGS = 12


@dataclass(frozen=True)
class Target:
    """``metric op value``, e.g. ``dtoc_rate_per_100k_adults<=9.4``."""

    metric: str
    op: str
    value: float

    @classmethod
    def parse(cls, text: str) -> Target:
        match = re.fullmatch(r"\s*([\w.]+)\s*(<=|>=|<|>)\s*([-+0-9.eE]+)\s*", text)
        if not match:
            raise ScenarioError([f"--target: expected METRIC<=VALUE (or <, >=, >), got {text!r}"])
        return cls(match.group(1), match.group(2), float(match.group(3)))

    def met(self, ci: dict[str, float], whole_interval: bool) -> bool:
        """Whether the mean (or the whole CI, taking its worse end) meets the target."""
        if whole_interval:
            worse = ci["ci_high"] if self.op in ("<=", "<") else ci["ci_low"]
            return _OPS[self.op](worse, self.value)
        return _OPS[self.op](ci["mean"], self.value)

    def __str__(self) -> str:
        return f"{self.metric} {self.op} {self.value:g}"


@dataclass
class CapacitySearch:
    """Evaluated capacities (cached) for one service and target."""

    base: Scenario
    service: str
    target: Target
    replications: int
    seed: int
    executor: Executor | None = None
    evaluated: dict[float, dict[str, float]] = field(default_factory=dict)

    def evaluate(self, capacity: float | None) -> dict[str, float]:
        key = math.inf if capacity is None else capacity
        if key not in self.evaluated:
            scenario = with_overrides(self.base, {f"services.{self.service}.capacity": capacity,
                                                  "name": f"{self.base.name}[{self.service}={capacity}]"})
            run: RunResult = run_scenarios([scenario], self.replications, self.seed, self.executor)[0]
            table = run.metrics_table()
            if self.target.metric not in table.columns:
                raise ScenarioError([f"--target: unknown metric {self.target.metric!r}"])
            self.evaluated[key] = run.interval(self.target.metric)
        return self.evaluated[key]

    def smallest(self, whole_interval: bool, start: int) -> int | None:
        """Smallest whole capacity meeting the target (None if even doubling fails)."""
        def ok(c: int) -> bool:
            return self.target.met(self.evaluate(c), whole_interval)

        hi = max(start, 1)
        for _ in range(MAX_DOUBLINGS):
            if ok(hi):
                break
            hi *= 2
        else:
            return None
        lo = hi // 2
        while lo > 0 and ok(lo):
            hi, lo = lo, lo // 2
        if lo == 0 and ok(0):
            return 0
        while hi - lo > 1:
            mid = (lo + hi) // 2
            if ok(mid):
                hi = mid
            else:
                lo = mid
        return hi

    def table(self) -> pd.DataFrame:
        rows = [{"capacity": c, **ci, "meets_target_mean": self.target.met(ci, False),
                 "meets_target_ci": self.target.met(ci, True)} for c, ci in sorted(self.evaluated.items())]
        return pd.DataFrame(rows)


def capacity_needed(search: CapacitySearch) -> dict[str, object]:
    """Unlimited-capacity reference, and the smallest capacity by mean and by whole CI."""
    spec = search.base.services.get(search.service)
    if spec is None:
        known = ", ".join(search.base.services) or "none"
        raise ScenarioError([f"--service: no service {search.service!r} in the scenario (defined: {known})"])
    start = base_value(spec.capacity) or 1
    unlimited = search.evaluate(None)
    answer: dict[str, object] = {"target": str(search.target), "service": search.service,
                                 "current_capacity": base_value(spec.capacity), "unlimited": unlimited}
    if not search.target.met(unlimited, False):
        answer.update(by_mean=None, by_ci=None)
        return answer
    answer["by_mean"] = search.smallest(False, start)
    answer["by_ci"] = search.smallest(True, start)
    return answer
