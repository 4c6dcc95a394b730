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

This module runs the search and the selection; the variables, the cost, the metrics
and the request are :mod:`d2asim.experiments.optimise_space`'s, the result files
:mod:`d2asim.experiments.optimise_results`'.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from d2asim.experiments.capacity import Target
from d2asim.experiments.checkpoint import (
    CheckpointStore,
    read_request,
    read_scenario,
    scenario_digest,
    write_scenario,
)
from d2asim.experiments.optimise_results import write_results
from d2asim.experiments.optimise_space import (
    MIX_WORDS,
    YEAR_DAYS,
    Request,
    annual_commissioning_cost,
    check_request,
    metric_values,
    parse_vary,
)
from d2asim.experiments.selection import KN, default_delta, probability_best
from d2asim.experiments.sweep import point_scenarios
from d2asim.runner import Executor, ReplicationResult, RunResult, Task, execute
from d2asim.scenario.errors import ScenarioError
from d2asim.scenario.fields import value_at
from d2asim.scenario.loader import scenario_to_dict
from d2asim.scenario.schema import Scenario
from d2asim.summary import mean_ci
from d2asim.version import __version__

__all__ = ["YEAR_DAYS", "Mix", "Optimiser", "Request", "annual_commissioning_cost", "check_request", "optimise",
           "parse_vary", "read_folder", "start_folder"]  # d2asim optimise's entry points (tests import them here)
ALWAYS_TRACKED = ("delayed_bed_days", "delayed_bed_days_acute")
KN_ALPHA = 0.05


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
        now = {v.field: value_at(data, v.field) for v in req.variables}
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
            scenario = point_scenarios(self.base, [point], "--vary", MIX_WORDS)[0]
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
                "delta": delta, "alpha": KN_ALPHA, "delta_rule": "given (--delta)" if req.delta is not None else
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



def optimise(base: Scenario, request: Request, folder: Path, executor: Executor | None = None,
             on_progress: Callable[[str], None] = lambda _text: None) -> tuple[Optimiser, dict[str, Any]]:
    """Search, select and write the result files into ``folder`` (see the module docstring)."""
    opt = Optimiser(base, request, folder, executor, on_progress)
    opt.search()
    choice = opt.select()
    return opt, write_results(opt, choice)

