"""The best capacity mix for a budget: a search over numeric scenario fields under a
hard budget on the annual commissioning cost, then ranking and selection.

1. **Budget.** A mix's cost is its annual commissioning cost, computed exactly from
   its scenario before anything is simulated (:func:`annual_commissioning_cost`): for
   every service with a block price, the places in force on each reported day
   (following dated schedules) x ``cost_per_place_per_day_gbp``, summed over the
   reported period and scaled to a year of 365.25 days. It is the ``commissioning_cost_gbp``
   metric of a run x 365.25 / ``run.duration_days``. A mix over budget is never simulated.
2. **Search.** Optuna's TPE sampler (seeded; integer, stepped and continuous
   distributions; the budget and metric constraints as Optuna constraints) proposes
   mixes in fixed-size batches through the ask/tell interface; every mix runs
   replications ``0..n0-1`` with the same seed (common random numbers), so any two
   mixes are compared on the same patients. The batch size never depends on the
   number of workers, so the answer does not either.
3. **Selection.** Among the best ``top`` feasible mixes, the KN procedure
   (:mod:`d2asim.experiments.selection`) adds replications (the same indices for
   every candidate) until one is better than the rest by the indifference zone
   ``delta``, or reports the set it cannot separate within ``max_reps``.

A constraint ``METRIC<=V`` (or ``<``, ``>=``, ``>``) is met when the metric's whole
95% CI is on the right side of ``V`` (for ``<=``, its upper end is at most ``V``).
Every replication is a checkpoint in ``mix-NNN/checkpoints``: rerunning the same
request on the folder replays the search (TPE is deterministic given its seed and
the same results) and only simulates what is missing.
"""

from __future__ import annotations

import itertools
import json
import math
import re
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from d2asim import __version__
from d2asim.experiments.capacity import Target
from d2asim.experiments.checkpoint import (
    CheckpointStore,
    read_request,
    read_scenario,
    scenario_digest,
    write_scenario,
)
from d2asim.experiments.selection import KN, default_delta, probability_best
from d2asim.experiments.sweep import point_scenarios
from d2asim.metrics.registry import METRICS, describe, is_family
from d2asim.runner import Executor, ReplicationResult, RunResult, Task, execute
from d2asim.scenario.errors import ScenarioError
from d2asim.scenario.loader import scenario_to_dict
from d2asim.scenario.schedule import daily_values
from d2asim.scenario.schema import Scenario
from d2asim.summary import mean_ci
from d2asim.system.registry import registry_of

YEAR_DAYS = 365.25
TOTAL_COST = "total_cost"  # commissioning + delayed acute bed days, GBP a year
ALWAYS_TRACKED = ("delayed_bed_days", "delayed_bed_days_acute")
COST_CONVENTION = ("annual commissioning cost: for each service with a block price, places in force on each "
                   "reported day (dated schedules followed) x cost_per_place_per_day_gbp, summed over the "
                   "reported period, x 365.25 / run.duration_days")
KN_ALPHA = 0.05


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
        current = _field_value(data, name)
        if isinstance(current, dict) and "base" in current:
            raise ScenarioError([f"--vary {name}: a dated schedule; vary {name}.base (the dated changes are kept)"])
        if not isinstance(current, (int, float)) or isinstance(current, bool):
            raise ScenarioError([f"--vary {name}: not a numeric field of the scenario (dotted path as in sweep "
                                 f"--set, e.g. services.p1.capacity; unlimited or absent fields cannot be varied)"])
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


def _field_value(data: Any, dotted: str) -> Any:
    for key in dotted.split("."):
        if not isinstance(data, dict) or key not in data:
            return None
        data = data[key]
    return data


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
    return point_scenarios(base, corner_points(variables), "--vary")


def unpriced(base: Scenario, variables: Sequence[Variable]) -> list[str]:
    """Variables whose range does not change the cost (no block price: the budget cannot see them)."""
    low = {v.field: v.corners()[0] for v in variables}
    out = []
    for v in variables:
        a, b = point_scenarios(base, [low, {**low, v.field: v.corners()[1]}], "--vary")
        if annual_commissioning_cost(a) == annual_commissioning_cost(b):
            out.append(v.field)
    return out


# ----------------------------------------------------------------- evaluation
@dataclass
class Mix:
    """One simulated mix: its values, cost, and each tracked metric's value by replication."""

    number: int  # -1: the scenario's own mix (``current``)
    point: dict[str, int | float]
    cost: float
    scenario: Scenario
    done: dict[int, dict[str, float]] = field(default_factory=dict)  # replication -> metric -> value
    wanted: int = 0  # replications 0..wanted-1 asked for so far (a resumed folder may hold more)
    store: CheckpointStore | None = None
    selected: bool = False  # reached the selection stage

    @property
    def folder(self) -> str:
        return "current" if self.number < 0 else f"mix-{self.number:03d}"

    @property
    def replications(self) -> int:
        return self.wanted

    @property
    def values(self) -> dict[str, np.ndarray]:
        """Each tracked metric over replications ``0..wanted-1``."""
        reps = [self.done[r] for r in range(self.wanted)]
        return {key: np.array([rep[key] for rep in reps]) for key in (reps[0] if reps else {})}

    def interval(self, key: str, first: int | None = None) -> dict[str, float]:
        """Mean and 95% CI over all replications (or the ``first`` ones)."""
        return mean_ci(self.values[key][:first])


@dataclass
class Optimiser:
    """The search and selection of one request inside ``folder``."""

    base: Scenario
    request: Request
    folder: Path
    executor: Executor | None = None
    on_progress: Callable[[str], None] = lambda _text: None
    constraints: list[Target] = field(default_factory=list)
    mixes: dict[tuple[Any, ...], Mix] = field(default_factory=dict)
    current: Mix | None = None
    proposals: int = 0
    over_budget: int = 0
    _costs: dict[tuple[Any, ...], tuple[Scenario, float]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.constraints = check_request(self.request, self.base)

    @property
    def tracked(self) -> list[str]:
        keys = [self.request.objective, *(c.metric for c in self.constraints), *ALWAYS_TRACKED]
        return list(dict.fromkeys(keys))

    def loss(self, values: np.ndarray) -> np.ndarray:
        return -values if self.request.maximise else values

    def feasible(self, mix: Mix) -> bool:
        return mix.cost <= self.request.budget_gbp_per_year and all(
            c.met(mix.interval(c.metric), whole_interval=True) for c in self.constraints)

    def violations(self, mix: Mix) -> dict[str, float]:
        """Optuna constraints (<= 0 met): budget share over, and each constraint's CI
        end beyond its value (relative)."""
        out = {"budget": (mix.cost - self.request.budget_gbp_per_year) / self.request.budget_gbp_per_year}
        for i, c in enumerate(self.constraints):
            ci = mix.interval(c.metric)
            worse = ci["ci_high"] if c.op in ("<=", "<") else ci["ci_low"]
            gap = worse - c.value if c.op in ("<=", "<") else c.value - worse
            out[f"constraint_{i}"] = 0.0 if c.met(ci, whole_interval=True) else max(gap, 1e-12) / max(abs(c.value), 1.0)
        return out

    # ---- simulation
    def _store(self, sub: str, scenario: Scenario) -> CheckpointStore:
        path = self.folder / sub
        saved = path / "scenario.yaml"
        if saved.exists():
            read_scenario(saved, scenario_digest(scenario))  # refuses a folder of another mix
        else:
            path.mkdir(parents=True, exist_ok=True)
            write_scenario(saved, scenario)
        return CheckpointStore(path, scenario, self.request.seed)

    def simulate(self, mixes: Sequence[Mix], replications: int) -> None:
        """Replications ``0..replications-1`` of each mix on common random numbers (those
        already kept in its folder are read back, not run again)."""
        tasks = []
        for mix in mixes:
            if mix.store is None:
                mix.store = self._store(mix.folder, mix.scenario)
                self._absorb(mix, list(mix.store.load_all().values()))
            mix.wanted = max(mix.wanted, replications)
            tasks += [Task((mix.folder, r), mix.scenario, self.request.seed, r)
                      for r in range(replications) if r not in mix.done]
        by_folder = {m.folder: m for m in mixes}

        def save(key: Hashable, result: ReplicationResult) -> None:
            store = by_folder[key[0]].store  # type: ignore[index]
            assert store is not None
            store.save(result)

        results = execute(tasks, self.executor, save)
        for folder, mix in by_folder.items():
            self._absorb(mix, [res for key, res in results.items() if key[0] == folder])  # type: ignore[index]

    def _absorb(self, mix: Mix, results: list[ReplicationResult]) -> None:
        """Keep only the tracked metrics of ``results`` (not the daily tables)."""
        if not results:
            return
        run = RunResult(mix.scenario, self.request.seed, sorted(results, key=lambda r: r.replication))
        values = {k: metric_values(run, k, "--objective" if k == self.request.objective else "--constraint")
                  for k in self.tracked}
        for i, res in enumerate(run.replications):
            mix.done[res.replication] = {k: float(v[i]) for k, v in values.items()}

    # ---- search
    def search(self) -> None:
        """Propose mixes with TPE until ``trials`` distinct mixes within budget are simulated."""
        import optuna

        optuna.logging.set_verbosity(optuna.logging.WARNING)
        req = self.request
        sampler = optuna.samplers.TPESampler(seed=req.seed, constant_liar=True, multivariate=True,
                                             n_startup_trials=max(2, min(10, req.trials // 3)))
        study = optuna.create_study(direction="minimize", sampler=sampler)
        for corner in (dict(zip([v.field for v in req.variables], c, strict=True))
                       for c in zip(*(v.corners() for v in req.variables), strict=True)):
            study.enqueue_trial(corner, skip_if_exists=True)
        data = scenario_to_dict(self.base)
        now = {v.field: _field_value(data, v.field) for v in req.variables}
        self.current = Mix(-1, now, annual_commissioning_cost(self.base), self.base)
        # the scenario's own mix: a candidate too when it is in the space and budget
        mine: tuple[Any, ...] | None = tuple(now.values())
        if self.current.cost > req.budget_gbp_per_year or not all(v.holds(now[v.field]) for v in req.variables):
            mine = None
        else:
            study.enqueue_trial(now, skip_if_exists=True)
            if req.fill_budget and self._filled(now, self.base, self.current.cost)[0] != now:
                mine = None  # it would be topped up: the topped-up mix is the candidate
        max_proposals = 20 * req.trials + 20
        while len(self.mixes) < req.trials and self.proposals < max_proposals:
            asked: list[tuple[Any, tuple[Any, ...]]] = []
            new: list[Mix] = []
            while (len(asked) < req.batch and len(self.mixes) + len(new) < req.trials
                   and self.proposals < max_proposals):
                trial = study.ask()
                self.proposals += 1
                point = {v.field: v.suggest(trial) for v in req.variables}
                scenario, cost = self._costed(point)
                if cost > req.budget_gbp_per_year:
                    self.over_budget += 1
                    trial.set_constraint("budget", (cost - req.budget_gbp_per_year) / req.budget_gbp_per_year)
                    study.tell(trial, state=optuna.trial.TrialState.PRUNED)
                    continue
                if req.fill_budget:
                    point, scenario, cost = self._filled(point, scenario, cost)
                key = tuple(point.values())
                if key in self.mixes:
                    self._tell(study, trial, self.mixes[key])
                    continue
                if key not in {k for _, k in asked} and key != mine:
                    new.append(Mix(len(self.mixes) + len(new), point, cost, scenario))
                asked.append((trial, key))
            self.simulate(([] if self.current.values else [self.current]) + new, req.replications)
            if mine is not None:
                self.mixes.setdefault(mine, self.current)
            for mix in new:
                self.mixes[tuple(mix.point.values())] = mix
            for trial, key in asked:
                self._tell(study, trial, self.mixes[key])
            self.on_progress(f"search: {len(self.mixes)} of {req.trials} mixes simulated "
                             f"({self.over_budget} proposals over budget skipped)")

    def _costed(self, point: dict[str, int | float]) -> tuple[Scenario, float]:
        """The mix's scenario and annual cost (kept: proposals and top-ups repeat)."""
        key = tuple(point.values())
        if key not in self._costs:
            scenario = point_scenarios(self.base, [point], "--vary")[0]
            self._costs[key] = (scenario, annual_commissioning_cost(scenario))
        return self._costs[key]

    def _filled(self, point: dict[str, int | float], scenario: Scenario,
                cost: float) -> tuple[dict[str, int | float], Scenario, float]:
        """``--fill-budget``: add one step of each variable in turn (the order given), while
        it stays within its range and the budget, until no step fits."""
        grown = True
        while grown:
            grown = False
            for v in self.request.variables:
                up = point[v.field] + (v.step or 1)
                if up > v.corners()[1] + 1e-9:
                    continue
                trial_point = {**point, v.field: int(up) if v.integer else float(up)}
                trial_scenario, trial_cost = self._costed(trial_point)
                if trial_cost <= self.request.budget_gbp_per_year:
                    point, scenario, cost, grown = trial_point, trial_scenario, trial_cost, True
        return point, scenario, cost

    def _tell(self, study: Any, trial: Any, mix: Mix) -> None:
        for name, value in self.violations(mix).items():
            trial.set_constraint(name, value)
        study.tell(trial, float(self.loss(mix.values[self.request.objective]).mean()))

    # ---- selection
    def select(self) -> dict[str, Any]:
        """KN among the best ``top`` feasible mixes; the choice and what backs it."""
        req = self.request
        objective = req.objective
        feasible = sorted((m for m in self.mixes.values() if self.feasible(m)),
                          key=lambda m: float(self.loss(m.values[objective]).mean()))
        if not feasible:
            return {"chosen": None, "why": "no simulated mix within budget met the constraints"}
        candidates = feasible[: req.top]
        for m in candidates:
            m.selected = True
        best_mean = float(candidates[0].values[objective].mean())
        delta = req.delta if req.delta is not None else default_delta(best_mean)
        kn = KN(req.replications, delta, KN_ALPHA)
        alive = np.ones(len(candidates), dtype=bool)
        losses = self._losses(candidates)
        alive = kn.screen(losses, alive, req.replications, req.replications)
        limit = max(req.replications, min(req.cap, kn.last_stage(losses)))
        r = req.replications
        step = max(2, req.replications // 2)
        while alive.sum() > 1 and r < limit:
            upto = min(r + step, limit)
            self.simulate([m for m, a in zip(candidates, alive, strict=True) if a], upto)
            losses = self._losses(candidates)
            alive = kn.screen(losses, alive, r + 1, upto)
            r = upto
            self.on_progress(f"selection: {int(alive.sum())} of {len(candidates)} candidates left after {r} "
                             f"replications each")
        survivors = [m for m, a in zip(candidates, alive, strict=True) if a]
        pool = [m for m in survivors if self.feasible(m)] or [m for m in candidates if self.feasible(m)] or survivors
        chosen = min(pool, key=lambda m: float(self.loss(m.values[objective]).mean()))
        common = min(m.replications for m in candidates)
        p_best = probability_best(np.array([self.loss(m.values[objective][:common]) for m in candidates]), req.seed)
        return {"chosen": chosen, "candidates": candidates, "survivors": survivors, "separated": len(survivors) == 1,
                "delta": delta, "delta_rule": "given (--delta)" if req.delta is not None else
                "1% of the best search mean (default)", "probability_best": dict(
                    zip([m.folder for m in candidates], map(float, p_best), strict=True)),
                "common_replications": common, "stopped_at": r,
                "cap_reached": len(survivors) > 1 and r >= req.cap}

    def _losses(self, mixes: Sequence[Mix]) -> np.ndarray:
        width = max(m.replications for m in mixes)
        out = np.full((len(mixes), width), np.nan)
        for i, m in enumerate(mixes):
            v = self.loss(m.values[self.request.objective])
            out[i, : len(v)] = v
        return out

    def replications_used(self) -> int:
        return sum(m.replications for m in self.mixes.values())


# -------------------------------------------------------------------- tables
def optimise_table(opt: Optimiser) -> pd.DataFrame:
    """optimise.csv: one row per simulated mix."""
    rows = []
    for mix in sorted(opt.mixes.values(), key=lambda m: m.number):  # the scenario's own mix (current) first
        ci = mix.interval(opt.request.objective)
        common = mix.interval(opt.request.objective, opt.request.replications)
        row: dict[str, Any] = {"mix": mix.folder, **mix.point, "cost_gbp_per_year": mix.cost,
                               "objective_mean": ci["mean"], "ci_low": ci["ci_low"], "ci_high": ci["ci_high"],
                               "replications": mix.replications, "feasible": opt.feasible(mix),
                               "in_selection": mix.selected, "common_mean": common["mean"],
                               "common_ci_low": common["ci_low"], "common_ci_high": common["ci_high"]}
        for key in opt.tracked:
            if key != opt.request.objective:
                k = mix.interval(key)
                row.update({f"{key}_mean": k["mean"], f"{key}_ci_low": k["ci_low"], f"{key}_ci_high": k["ci_high"]})
        rows.append(row)
    return pd.DataFrame(rows)


def frontier_table(table: pd.DataFrame, fields: Sequence[str], maximise: bool) -> pd.DataFrame:
    """frontier.csv: the feasible mixes no cheaper (or equally cheap) mix beats on the
    mean objective, by cost: cost_gbp_per_year, objective_mean, ci_low, ci_high, the variables.
    Every mix is taken on the replications all mixes have (``common_*`` of optimise.csv:
    the same patients), so a mix given more replications in the selection stage is not
    compared on other patients than the rest."""
    columns = ["cost_gbp_per_year", "objective_mean", "ci_low", "ci_high", *fields]
    ok = table[table["feasible"].astype(bool)] if len(table) else table
    if not len(ok):
        return pd.DataFrame(columns=columns)
    ok = ok.drop(columns=["objective_mean", "ci_low", "ci_high"]).rename(
        columns={"common_mean": "objective_mean", "common_ci_low": "ci_low", "common_ci_high": "ci_high"})
    sign = -1.0 if maximise else 1.0
    ordered = ok.assign(_loss=sign * ok["objective_mean"]).sort_values(["cost_gbp_per_year", "_loss"], kind="stable")
    keep, best = [], math.inf
    for index, row in ordered.iterrows():
        if row["_loss"] < best:
            keep.append(index)
            best = row["_loss"]
    return ordered.loc[keep, columns].reset_index(drop=True)


def mix_summary(opt: Optimiser, mix: Mix) -> dict[str, Any]:
    ci = mix.interval(opt.request.objective)
    return {"mix": mix.folder, "variables": mix.point, "cost_gbp_per_year": mix.cost,
            "objective": {"mean": ci["mean"], "ci_low": ci["ci_low"], "ci_high": ci["ci_high"]},
            "replications": mix.replications, "feasible": opt.feasible(mix)}


def paired_change(opt: Optimiser, mix: Mix, key: str) -> dict[str, float]:
    """Mix - current on the common replications: the mean difference, its 95% CI, and
    both as % of the current mean."""
    assert opt.current is not None
    n = min(len(mix.values[key]), len(opt.current.values[key]))
    diff = mix.values[key][:n] - opt.current.values[key][:n]
    ci = mean_ci(diff)
    ref = float(opt.current.values[key][:n].mean())
    pct = {f"{k}_pct": (100 * v / ref if ref else math.nan) for k, v in ci.items()}
    return {"difference": ci["mean"], "ci_low": ci["ci_low"], "ci_high": ci["ci_high"], "current_mean": ref,
            "replications": n, **{k.replace("mean_pct", "difference_pct"): v for k, v in pct.items()}}


def essential_delay(opt: Optimiser, chosen: Mix) -> dict[str, Any]:
    """``--objective total_cost``: the cost-minimising mix's delayed acute bed days beside
    the least-delay mix's total cost (Wood et al. 2023, the economically essential delay)."""
    delay = "delayed_bed_days_acute"
    ok = [m for m in opt.mixes.values() if opt.feasible(m)]
    least = min(ok, key=lambda m: (float(m.values[delay].mean()), m.cost))
    n = min(chosen.replications, least.replications)
    extra = mean_ci(least.values[TOTAL_COST][:n] - chosen.values[TOTAL_COST][:n])
    scale = YEAR_DAYS / opt.base.run.duration_days
    return {
        "cost_minimising": {**mix_summary(opt, chosen), "delayed_acute_bed_days_per_year":
                            {k: v * scale for k, v in chosen.interval(delay).items()}},
        "least_delay": {**mix_summary(opt, least), "delayed_acute_bed_days_per_year":
                        {k: v * scale for k, v in least.interval(delay).items()}},
        "extra_total_cost_of_least_delay_gbp_per_year": extra,
        "note": "delayed acute bed days of the reported period scaled to a year (x 365.25 / duration); the "
                "least-delay mix is the simulated feasible mix with the fewest",
    }


def best_document(opt: Optimiser, choice: dict[str, Any]) -> dict[str, Any]:
    """best.json."""
    req = opt.request
    label, unit = metric_words(req.objective)
    doc: dict[str, Any] = {
        "objective": {"key": req.objective, "label": label, "unit": unit,
                      "direction": "maximise" if req.maximise else "minimise"},
        "budget_gbp_per_year": req.budget_gbp_per_year, "cost_convention": COST_CONVENTION,
        "constraints": req.constraints,
        "constraint_rule": "met when the whole 95% CI is on the allowed side (for <=, its upper end <= the value)",
        "chosen": None,
    }
    chosen: Mix | None = choice["chosen"]
    if chosen is not None:
        doc["chosen"] = mix_summary(opt, chosen)
        doc["selection"] = {
            "procedure": "KN fully sequential indifference-zone selection (Kim & Nelson 2001) on paired "
                         "common-random-number differences", "alpha": KN_ALPHA,
            "delta": choice["delta"], "delta_rule": choice["delta_rule"],
            "candidates": [m.folder for m in choice["candidates"]], "separated": choice["separated"],
            "indistinguishable": [mix_summary(opt, m) for m in choice["survivors"]],
            "probability_best": choice["probability_best"],
            "common_replications": choice["common_replications"],
            "probability_best_method": f"bootstrap of the {choice['common_replications']} replications common to "
                                       "every candidate, resampled together (4000 draws)",
            "replications_per_candidate_at_stop": choice["stopped_at"], "cap_reached": choice["cap_reached"],
            "replication_cap": req.cap,
        }
        if opt.current is not None:
            doc["current"] = {"cost_gbp_per_year": opt.current.cost,
                              "objective": opt.current.interval(req.objective),
                              "replications": opt.current.replications}
            doc["change_vs_current"] = paired_change(opt, chosen, req.objective)
        if req.objective == TOTAL_COST:
            doc["economically_essential_delay"] = essential_delay(opt, chosen)
    else:
        doc["why"] = choice["why"]
    doc["search"] = {"sampler": "optuna TPE (seeded, multivariate, constant liar)", "trials": req.trials,
                     "mixes_simulated": len(opt.mixes), "proposals": opt.proposals,
                     "over_budget_proposals_not_simulated": opt.over_budget, "batch": req.batch}
    doc["replications_used"] = opt.replications_used()
    outside = opt.current is not None and all(m is not opt.current for m in opt.mixes.values())
    doc["replications_used_with_current"] = opt.replications_used() + (
        opt.current.replications if outside and opt.current is not None else 0)
    doc["unpriced_variables"] = unpriced(opt.base, req.variables)
    return doc


# ------------------------------------------------------------------- folders
REQUEST_FILE = "run.json"
KIND = "optimise"


def start_folder(folder: Path, base: Scenario, request: Request, source: str) -> None:
    """Write run.json and the base scenario before anything runs."""
    write_scenario(folder / "scenario.yaml", base)
    doc = {"kind": KIND, "seed": request.seed, "replications": request.replications,
           "d2asim_version": __version__, "scenario_digest": scenario_digest(base), "source": source,
           "request": request.to_json()}
    (folder / REQUEST_FILE).write_text(json.dumps(doc, indent=2) + "\n")


def read_folder(folder: Path) -> tuple[Scenario, Request]:
    """The base scenario and request of an earlier (possibly interrupted) optimise folder."""
    doc = read_request(folder, {"seed": int, "replications": int, "scenario_digest": str, "request": dict})
    if doc.get("kind") != KIND:
        raise ScenarioError([f"{folder}: --resume: this folder holds a {doc.get('kind', 'run')!r}, not an {KIND!r}"])
    base = read_scenario(folder / "scenario.yaml", doc["scenario_digest"])
    try:
        request = Request.from_json(doc["request"])
    except (KeyError, TypeError, ValueError):
        raise ScenarioError([f"{folder / REQUEST_FILE}: --resume: request damaged; start a new run"]) from None
    return base, request


def write_results(opt: Optimiser, choice: dict[str, Any]) -> dict[str, Any]:
    """optimise.csv, frontier.csv and best.json; returns best.json's content."""
    table = optimise_table(opt)
    table.to_csv(opt.folder / "optimise.csv", index=False, float_format="%.6g")
    fields = [v.field for v in opt.request.variables]
    frontier_table(table, fields, opt.request.maximise).to_csv(opt.folder / "frontier.csv", index=False,
                                                               float_format="%.6g")
    doc = best_document(opt, choice)
    (opt.folder / "best.json").write_text(json.dumps(doc, indent=2, default=_json_default) + "\n")
    return doc


def _json_default(value: Any) -> Any:
    if isinstance(value, (np.integer, np.floating)):
        return value.item()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def optimise(base: Scenario, request: Request, folder: Path, executor: Executor | None = None,
             on_progress: Callable[[str], None] = lambda _text: None) -> tuple[Optimiser, dict[str, Any]]:
    """Search, select and write the result files into ``folder`` (see the module docstring)."""
    opt = Optimiser(base, request, folder, executor, on_progress)
    opt.search()
    choice = opt.select()
    return opt, write_results(opt, choice)


def point_label(point: Mapping[str, Any]) -> str:
    return ", ".join(f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}" for k, v in point.items())
