"""The space of ``d2asim optimise``: the decision variables (:class:`Variable`,
:func:`parse_vary`), a mix's exact annual commissioning cost (budget), the objective's
and constraints' metrics (``METRIC[@SCOPE]``, ``total_cost``) and the request as asked,
checked before anything runs (see :mod:`d2asim.experiments.optimise`)."""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from d2asim.experiments.capacity import Target
from d2asim.experiments.sweep import point_scenarios
from d2asim.metrics.registry import METRICS, describe, is_family
from d2asim.runner import RunResult
from d2asim.scenario.errors import ScenarioError
from d2asim.scenario.fields import value_at
from d2asim.scenario.loader import scenario_to_dict
from d2asim.scenario.schedule import daily_values
from d2asim.scenario.schema import Scenario
from d2asim.system.registry import registry_of

YEAR_DAYS = 365.25
TOTAL_COST = "total_cost"  # commissioning + delayed acute bed days, GBP a year
MIX_WORDS = "the optimise mix"  # how a bad mix is named in errors


# ------------------------------------------------------------------ variables
@dataclass(frozen=True)
class Variable:
    """A decision variable: ``field`` (dotted path) from ``low`` to ``high`` in
    ``step``s (None: continuous); ``integer`` when the scenario field is whole."""

    field: str
    low: float
    high: float
    step: float | None
    integer: bool

    def suggest(self, trial: Any) -> int | float:
        if self.integer:
            whole = int(self.step or 1)
            top = int(self.low) + whole * ((int(self.high) - int(self.low)) // whole)
            return int(trial.suggest_int(self.field, int(self.low), top, step=whole))
        if self.step is None:
            return float(trial.suggest_float(self.field, self.low, self.high))
        high = self.low + self.step * math.floor((self.high - self.low) / self.step + 1e-9)
        return float(trial.suggest_float(self.field, self.low, high, step=self.step))

    def holds(self, value: Any) -> bool:
        """Whether ``value`` is one of this variable's values (in range, on a step)."""
        if not isinstance(value, (int, float)) or not self.low - 1e-9 <= value <= self.high + 1e-9:
            return False
        if self.step is None and not self.integer:
            return True
        k = (value - self.low) / (self.step or 1)
        return abs(k - round(k)) < 1e-9

    def grid(self) -> list[int | float]:
        """Every value (for a stepped or whole variable): LO, LO+STEP, ... <= HI."""
        step = self.step or 1
        n = math.floor((self.high - self.low) / step + 1e-9)
        values = [self.low + i * step for i in range(n + 1)]
        return [int(round(v)) for v in values] if self.integer else [float(v) for v in values]

    def corners(self) -> tuple[int | float, int | float]:
        values = self.grid() if self.integer or self.step else [self.low, self.high]
        return values[0], values[-1]


def parse_vary(expressions: Sequence[str], base: Scenario) -> list[Variable]:
    """``["services.p1.capacity=60:120:5"]`` -> variables, checked against ``base``
    (the field must hold a number; whole-number fields take whole bounds and steps)."""
    if not expressions:
        raise ScenarioError(["--vary: give at least one FIELD=LO:HI[:STEP]"])
    data = scenario_to_dict(base)
    out: list[Variable] = []
    for expr in expressions:
        name, sep, spec = expr.partition("=")
        name = name.strip()
        parts = spec.split(":")
        if not sep or not name or len(parts) not in (2, 3):
            raise ScenarioError([f"--vary: expected FIELD=LO:HI[:STEP] (got {expr!r})"])
        try:
            numbers = [float(p) for p in parts]
        except ValueError:
            raise ScenarioError([f"--vary {name}: LO, HI and STEP must be numbers (got {spec!r})"]) from None
        current = value_at(data, name)
        if isinstance(current, dict) and "base" in current:
            raise ScenarioError([f"--vary {name}: a dated schedule; vary {name}.base (the dated changes are kept)"])
        if not isinstance(current, (int, float)) or isinstance(current, bool):
            raise ScenarioError([f"--vary {name}: not a numeric field of the scenario (dotted path as in sweep "
                                 f"--set, e.g. services.NAME.capacity; unlimited or absent fields cannot be varied)"])
        low, high = numbers[0], numbers[1]
        step = numbers[2] if len(parts) == 3 else None
        if not all(math.isfinite(x) for x in numbers) or low > high:
            raise ScenarioError([f"--vary {name}: LO must be at most HI (got {spec!r})"])
        if step is not None and step <= 0:
            raise ScenarioError([f"--vary {name}: STEP must be positive (got {parts[2]!r})"])
        integer = isinstance(current, int)
        if integer and not all(x.is_integer() for x in numbers):
            raise ScenarioError([f"--vary {name}: a whole-number field: LO, HI and STEP must be whole (got {spec!r})"])
        if name in {v.field for v in out}:
            raise ScenarioError([f"--vary {name}: given twice"])
        out.append(Variable(name, low, high, step, integer))
    return out


# ----------------------------------------------------------------------- cost
def annual_commissioning_cost(scenario: Scenario) -> float:
    """The mix's commissioning cost, GBP a year (see the module docstring)."""
    days = scenario.run.duration_days
    total = 0.0
    for service in registry_of(scenario).services:
        spec = service.spec
        if spec.cost_per_place_per_day_gbp > 0:
            places = daily_values(spec.capacity, scenario.run.start_date, days)
            total += float(sum(spec.places_for(c) for c in places)) * spec.cost_per_place_per_day_gbp
    return total * YEAR_DAYS / days


# -------------------------------------------------------------------- metrics
def check_metric(key: str, flag: str, scenario: Scenario) -> None:
    """``METRIC`` or ``METRIC@SCOPE`` (``trust:NAME``, ``borough:NAME``): a known metric
    (a family needs its member, e.g. ``service_wait_mean_days.p1``) and a place of the scenario."""
    metric, _, scope = key.partition("@")
    head, _, member = metric.partition(".")
    if metric == TOTAL_COST:
        if scope:
            raise ScenarioError([f"{flag}: {TOTAL_COST} is the whole system's; it takes no @SCOPE"])
        return
    if head not in METRICS or bool(member) != is_family(head):
        raise ScenarioError([f"{flag}: unknown metric {metric!r} (a summary.json metric such as delayed_bed_days, "
                             f"dtoc_rate_per_100k_adults, admission_wait_mean_hours, or {TOTAL_COST})"])
    if scope:
        registry = registry_of(scenario)
        places = [f"trust:{t.name}" for t in registry.trusts] + [f"borough:{b.name}" for b in
                                                                 registry.modelled_boroughs]
        if scope not in places:
            raise ScenarioError([f"{flag}: unknown scope {scope!r} (this scenario has: {', '.join(places)})"])


def metric_values(run: RunResult, key: str, flag: str = "--objective") -> np.ndarray:
    """One value per replication of ``key`` (``METRIC[@SCOPE]`` or ``total_cost``)."""
    if key == TOTAL_COST:
        return total_cost_values(run)
    metric, _, scope = key.partition("@")
    table = run.metrics_table(scope or None)
    if metric not in table.columns:
        raise ScenarioError([f"{flag}: this scenario does not produce metric {metric!r}"])
    return table[metric].to_numpy(dtype=float)


def total_cost_values(run: RunResult) -> np.ndarray:
    """Commissioning cost + delayed acute bed days at each trust's delayed bed-day
    cost, GBP a year (the reported period scaled by 365.25 / duration), per replication."""
    scenario = run.scenario
    cost = run.metrics_table()["commissioning_cost_gbp"].to_numpy(dtype=float)
    for trust in registry_of(scenario).trusts:
        delayed = run.metrics_table(f"trust:{trust.name}")["delayed_bed_days_acute"].to_numpy(dtype=float)
        cost = cost + delayed * trust.delayed_bed_day_cost_gbp
    return cost * YEAR_DAYS / scenario.run.duration_days


def metric_words(key: str) -> tuple[str, str]:
    """(label, unit) of an objective or constraint key."""
    if key == TOTAL_COST:
        return "Total cost (commissioning + delayed acute bed days)", "GBP a year"
    metric, _, scope = key.partition("@")
    m = describe(metric)
    return (f"{m.label}, {scope.partition(':')[2]}" if scope else m.label), m.unit


_CONSTRAINT = re.compile(r"\s*([\w.]+(?:@[\w:-]+)?)\s*(<=|>=|<|>)\s*([-+0-9.eE]+)\s*")


def parse_constraint(text: str, scenario: Scenario) -> Target:
    """``METRIC[@SCOPE]<=VALUE`` (or <, >=, >)."""
    match = _CONSTRAINT.fullmatch(text)
    if not match:
        raise ScenarioError([f"--constraint: expected METRIC<=VALUE (or <, >=, >), got {text!r}"])
    try:
        value = float(match.group(3))
    except ValueError:
        raise ScenarioError([f"--constraint: {match.group(3)!r} is not a number"]) from None
    check_metric(match.group(1), "--constraint", scenario)
    return Target(match.group(1), match.group(2), value)


# ------------------------------------------------------------------- request
@dataclass(frozen=True)
class Request:
    """What ``d2asim optimise`` was asked (all of run.json but the bookkeeping)."""

    variables: list[Variable]
    budget_gbp_per_year: float
    objective: str
    maximise: bool
    constraints: list[str]
    replications: int  # n0: replications of every mix in the search
    seed: int
    trials: int  # distinct mixes simulated in the search
    batch: int = 4  # mixes proposed and simulated together
    delta: float | None = None  # indifference zone (None: 1% of the best search mean)
    top: int = 5  # candidates in the selection stage
    max_reps: int | None = None  # replication cap per candidate (None: 5 x replications)
    fill_budget: bool = False  # top each proposal up to the budget (more of a variable never worse)

    @property
    def cap(self) -> int:
        return self.max_reps or 5 * self.replications

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["variables"] = [asdict(v) for v in self.variables]
        return out

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> Request:
        fields = {k: doc[k] for k in cls.__dataclass_fields__ if k in doc}
        fields["variables"] = [Variable(**v) for v in doc["variables"]]
        return cls(**fields)


def check_request(request: Request, base: Scenario) -> list[Target]:
    """Bad input before anything runs (one line each): metrics, replications, the
    budget below the cheapest mix; returns the parsed constraints."""
    check_metric(request.objective, "--objective", base)
    constraints = [parse_constraint(c, base) for c in request.constraints]
    if request.replications < 2:
        raise ScenarioError(["--reps: the selection stage needs at least 2 replications of every mix"])
    if request.cap < request.replications:
        raise ScenarioError([f"--max-reps: must be at least --reps ({request.replications})"])
    if request.delta is not None and not request.delta > 0:
        raise ScenarioError([f"--delta: must be positive (got {request.delta:g})"])
    cheapest = min(annual_commissioning_cost(s) for s in corner_scenarios(base, request.variables))
    if request.budget_gbp_per_year < cheapest:
        raise ScenarioError([f"--budget-gbp-per-year: £{request.budget_gbp_per_year:,.0f} is below the cheapest mix "
                             f"in the ranges (£{cheapest:,.0f} a year); raise the budget or lower LO"])
    return constraints


def corner_points(variables: Sequence[Variable]) -> list[dict[str, int | float]]:
    """Every corner of the ranges (the cheapest mix is one of them when the cost rises
    or falls with each variable, as it does with places)."""
    return [dict(zip([v.field for v in variables], combo, strict=True))
            for combo in itertools.product(*(v.corners() for v in variables))]


def corner_scenarios(base: Scenario, variables: Sequence[Variable]) -> list[Scenario]:
    return point_scenarios(base, corner_points(variables), "--vary", MIX_WORDS)


def unpriced(base: Scenario, variables: Sequence[Variable]) -> list[str]:
    """Variables whose range does not change the cost (no block price: the budget cannot see them)."""
    low = {v.field: v.corners()[0] for v in variables}
    out = []
    for v in variables:
        a, b = point_scenarios(base, [low, {**low, v.field: v.corners()[1]}], "--vary", MIX_WORDS)
        if annual_commissioning_cost(a) == annual_commissioning_cost(b):
            out.append(v.field)
    return out
