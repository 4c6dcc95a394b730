"""Simulation-based calibration: choose scenario inputs so simulated monthly series match
the observed ones.

Objective (dimensionless): ``sum_t w_t * mean_m rho((S_tm - O_tm) / s_t) / sum_t w_t``
over targets ``t`` and fit-period months ``m``, where ``O_tm`` is the observed mean per
day of month ``m``, ``S_tm`` the simulated one averaged over replications and ``rho`` the
square (``loss: squared``) or Huber's function (``loss: huber``: the square up to
``huber_delta``, linear beyond, so that a few aberrant months do not dominate).

``s_t`` (``optimiser.error_scale``) is each target's **noise** by default: the
month-to-month standard deviation of its observed fit-period series,
``sqrt(mean((O_t,m+1 - O_tm)^2) / 2)`` (the von Neumann estimate, which a slow trend or a
single step barely inflates), floored at 1% of the series' mean. A month's error then
counts in units of how much that series moves by itself, so a smooth stock such as
occupancy (noise of a few beds on a mean of hundreds) weighs as much as a noisy small
flow. ``error_scale: mean`` divides by ``|mean_m O_tm|`` instead (relative errors).

**Stability.** Occupancy is capped at the beds, so a fit whose admission queue grows
without limit can still match occupancy and NCTR. Every evaluation also records the
admission queue and the waits in acute beds for P1-P3 places, over the fit period **and
the days after it** (``optimiser.stability_days``; default: to the test period's end, or
a year), on the scenario's own inputs for those days (bed base, calendar): the loss
reads the fit months only, so no observation after them is used. A point where any
replication's daily admission queue **grows** (the run-wide test
:func:`d2asim.metrics.stability.is_growing`: last third of the period at least 10
patients and twice the first third, the middle between) or ends high (mean over the
last 30 days above 5% of the beds: a queue already at the cliff from the start does not
grow), or whose wait for a place grows (a long steady wait is allowed), is **unstable**
(:func:`unstable_queues`) and its objective gets a penalty of ``100 + 1000 x (largest
last-30-day queue) / beds``, so the search moves away from it (one replication in a few
blowing up is how a system at the cliff edge shows). :meth:`Evaluator.ranked` lists the
best points without a penalty, from which the caller keeps the best whose final rerun
(more replications) is stable.

Every evaluation simulates the same replication numbers with the same seed (common
random numbers), so the surface is deterministic: two nearby inputs see the same patients.

Search: the start point and a scrambled Sobol design over the bounds
(``scipy.stats.qmc``), then a bounded ``scipy.optimize.minimize`` (Nelder-Mead or
Powell) from the best point, on inputs scaled to [0, 1]; whole-number inputs (beds,
places) are rounded before simulating, and results are cached per rounded input.
"""

from __future__ import annotations

import copy
import datetime as dt
import math
import warnings
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy.optimize import Bounds, minimize
from scipy.stats import qmc

from d2asim.calibration.config import CalibrationConfig
from d2asim.experiments.executor import stop_workers
from d2asim.experiments.orphans import watch_parent
from d2asim.metrics.intervals import count_in, interval_integrals
from d2asim.metrics.stability import is_growing, queue_trend
from d2asim.model.engine import DischargeModel
from d2asim.model.log import ACUTE_PLACE, EventLog
from d2asim.scenario.loader import deep_merge, scenario_to_dict, validate_mapping
from d2asim.scenario.schedule import value_on
from d2asim.scenario.schema import Acute, Scenario
from d2asim.system.registry import registry_of

_KEY = 1e5  # patient * _KEY + time (days) orders acute episodes by patient, then admission


@dataclass(frozen=True)
class ModelSpec:
    """One model quantity to record per simulated day (see ``config.MODEL_QUANTITIES``)."""

    name: str
    model: str
    at_hour: float | None = None
    min_los_days: float | None = None
    trust: int | None = None  # a system's trust (registry code): count its episodes only (None: every trust)


#: The admission queue (time average), recorded at every evaluation for the stability check.
QUEUE = "admission_queue_check"
#: The waits in acute beds for each P1-P3 service (time averages), checked for growth too.
WAITING_CHECKS = {f"{model}_check": model for model in ("waiting_p1", "waiting_p2", "waiting_p3")}
UNSTABLE_QUEUE_SHARE = 0.05  # of the beds: the last 30 days' mean admission queue
LAST_DAYS = 30
#: The search's stability test is this much stricter than the rerun's (half the rise, 1.5 x
#: not 2 x, 2.5% of the beds): a point at the cliff's edge fails in one replication in
#: several, and the search simulates few of them.
SEARCH_MARGIN = 0.5
DEFAULT_STABILITY_DAYS = 365  # simulated after a fit period without a test period, for the stability check
NOISE_FLOOR = 0.01  # of the series' mean


def specs_from(config: CalibrationConfig, trust: int | None = None) -> tuple[ModelSpec, ...]:
    """The targets' model quantities, and the admission queue and the waits for places
    for the stability check (``trust``: of that trust of a system only)."""
    return tuple(ModelSpec(n, t.model, t.at_hour, t.min_los_days, trust) for n, t in config.targets.items()) + (
        ModelSpec(QUEUE, "admission_queue", trust=trust),
        *(ModelSpec(name, model, trust=trust) for name, model in WAITING_CHECKS.items()))


def queue_unstable(daily_queue: np.ndarray, beds: int, margin: float = 1.0) -> bool:
    """An admission queue (daily time averages, patients) that grows (the run-wide test)
    or whose last 30 days average above 5% of the beds (``margin`` < 1: stricter, both
    thresholds scaled by it; see :func:`d2asim.metrics.stability.is_growing`)."""
    values = np.asarray(daily_queue, dtype=float)
    return (is_growing(queue_trend(values), margin)
            or float(values[-LAST_DAYS:].mean()) > margin * UNSTABLE_QUEUE_SHARE * beds)


def unstable_queues(frame: pd.DataFrame, beds: int, margin: float = 1.0) -> dict[str, float]:
    """The queues of one replication's daily series that fail the stability check, each
    with its last-30-day mean: the admission queue (:func:`queue_unstable`) and any wait
    for a P1-P3 place that grows (a long but steady wait is allowed)."""
    failing = {}
    for name in (QUEUE, *WAITING_CHECKS):
        if name not in frame:
            continue
        values = frame[name].to_numpy(dtype=float)
        if values.size and (queue_unstable(values, beds, margin) if name == QUEUE
                            else is_growing(queue_trend(values), margin)):
            failing[name] = float(values[-LAST_DAYS:].mean())
    return failing


def stability_penalty(frames: Sequence[pd.DataFrame], first: dt.date, last: dt.date, beds: int,
                      margin: float = 1.0) -> float:
    """0 when every replication's queues between ``first`` and ``last`` are stable
    (:func:`unstable_queues` with ``margin``), else ``100 + 1000 x (largest last-30-day
    mean of a failing queue) / beds``."""
    worst = None
    for frame in frames:
        failing = unstable_queues(frame.loc[pd.Timestamp(first):pd.Timestamp(last)], beds, margin)
        if failing:
            worst = max(worst or 0.0, *failing.values())
    return 0.0 if worst is None else 100 + 1000 * worst / beds


def noise_scale(monthly: pd.Series) -> float:
    """Month-to-month noise of a monthly series (von Neumann), floored at 1% of its mean."""
    values = monthly.dropna().to_numpy(dtype=float)
    level = float(np.abs(values).mean()) if values.size else 1.0
    noise = float(np.sqrt(np.mean(np.diff(values) ** 2) / 2)) if values.size > 1 else 0.0
    return max(noise, NOISE_FLOOR * level) or 1.0


# ------------------------------------------------------------------ model series
Table = dict[str, np.ndarray]


def _tables(log: EventLog, trust: int | None) -> tuple[Table, Table]:
    """The acute and delay tables, of one trust's episodes when ``trust`` is given."""
    acute, delays = log.table("acute"), log.table("delays")
    if trust is None:
        return acute, delays
    return ({c: v[acute["trust"] == trust] for c, v in acute.items()},
            {c: v[delays["trust"] == trust] for c, v in delays.items()})


def _intervals(a: Table, d: Table, spec: ModelSpec, scenario: Scenario) -> tuple[np.ndarray, np.ndarray]:
    """[start, end) days of every episode counted by a stock, with the LoS condition."""
    admitted = ~np.isnan(a["admit"])
    if spec.model == "admission_queue":
        return a["arrival"], np.where(admitted, a["admit"], a["leave"])
    if spec.model == "acute_occupied":
        start, end, admit = a["admit"][admitted], a["leave"][admitted], a["admit"][admitted]
    elif spec.model == "nctr":
        ready = admitted & ~np.isnan(a["ready"])
        start, end, admit = a["ready"][ready], a["leave"][ready], a["admit"][ready]
    else:  # waiting_p1/p2/p3: discharge-ready in an acute bed, waiting for the service of pathway P1/P2/P3
        mine = (d["place"] == ACUTE_PLACE) & np.isin(d["cause"], _pathway_causes(scenario, spec.model))
        start, end = d["start"][mine], d["end"][mine]
        admit = _episode_admit(a, d["patient"][mine], start)
    if spec.min_los_days is not None:
        start = np.maximum(start, admit + spec.min_los_days)
    return start, end


WAITING_PATHWAY = {"waiting_p1": 1, "waiting_p2": 2, "waiting_p3": 3}  # model quantity -> index into PATHWAYS


def _pathway_causes(scenario: Scenario, model: str) -> list[int]:
    """Delay-cause codes of waiting for the service(s) a pathway leads to, in any borough."""
    registry = registry_of(scenario)
    services = (registry.pathway_service(b.code, WAITING_PATHWAY[model]) for b in registry.boroughs)
    return sorted({s.cause for s in services if s is not None})


def _episode_admit(acute: dict[str, np.ndarray], patient: np.ndarray, at: np.ndarray) -> np.ndarray:
    """Admission time of the acute episode each (patient, time) falls in."""
    admit = np.nan_to_num(acute["admit"], nan=np.inf)
    keys = acute["patient"] * _KEY + admit
    order = np.argsort(keys, kind="stable")
    i = np.clip(np.searchsorted(keys[order], patient * _KEY + at, side="right") - 1, 0, None)
    found = order[i] if order.size else np.zeros(0, dtype=int)
    same = acute["patient"][found] == patient if order.size else np.zeros(0, dtype=bool)
    return np.where(same, admit[found], at)


def _open_at(start: np.ndarray, end: np.ndarray, times: np.ndarray) -> np.ndarray:
    """Number of intervals [start, end) open at each time."""
    keep = ~np.isnan(start) & (end > start)
    s, e = np.sort(start[keep]), np.sort(end[keep])
    return (np.searchsorted(s, times, side="right") - np.searchsorted(e, times, side="right")).astype(float)


def _flow_times(a: Table, model: str) -> np.ndarray:
    if model == "admissions":
        return a["admit"][~np.isnan(a["admit"])]
    if model == "deaths_in_hospital":
        return a["leave"][a["died"] == 1]
    alive = a["died"] == 0
    if model == "discharges":
        return a["leave"][alive]
    return a["leave"][alive & (a["pathway"] == int(model[-1]))]


def model_series(log: EventLog, scenario: Scenario, specs: Sequence[ModelSpec]) -> pd.DataFrame:
    """One row per reported day (index: date), one column per spec, per day units."""
    first, days = scenario.run.warmup_days, scenario.run.duration_days
    bounds = np.arange(first, first + days + 1, dtype=float)
    cols: dict[str, np.ndarray] = {}
    tables = {trust: _tables(log, trust) for trust in {spec.trust for spec in specs}}
    for spec in specs:
        a, d = tables[spec.trust]
        if spec.model.startswith(("admissions", "discharges", "deaths")):
            cols[spec.name] = count_in(_flow_times(a, spec.model), bounds).astype(float)
            continue
        start, end = _intervals(a, d, spec, scenario)
        if spec.at_hour is None:
            cols[spec.name] = interval_integrals(start, end, bounds)
        else:
            cols[spec.name] = _open_at(start, end, bounds[:-1] + spec.at_hour / 24.0)
    index = pd.date_range(scenario.run.start_date, periods=days, freq="D")
    return pd.DataFrame(cols, index=index)


def simulate_one(job: tuple[Any, Scenario, int, int, tuple[ModelSpec, ...]]) -> tuple[Any, int, pd.DataFrame]:
    """Run one replication and return its daily model series (module level: picklable)."""
    key, scenario, seed, replication, specs = job
    log = DischargeModel(scenario, seed, replication).run()
    return key, replication, model_series(log, scenario, specs)


class Simulator:
    """Runs batches of (scenario, seed, replications) on ``workers`` processes (kept open)."""

    def __init__(self, specs: tuple[ModelSpec, ...], workers: int = 1) -> None:
        self.specs = specs
        self.pool = ProcessPoolExecutor(max_workers=workers, initializer=watch_parent) if workers > 1 else None
        self.replications_run = 0

    def run(self, jobs: Sequence[tuple[Scenario, int, Sequence[int]]]) -> list[list[pd.DataFrame]]:
        """Daily series of every replication of every job, in order."""
        tasks = [(i, sc, seed, r, self.specs) for i, (sc, seed, reps) in enumerate(jobs) for r in reps]
        done = self.pool.map(simulate_one, tasks, chunksize=1) if self.pool else map(simulate_one, tasks)
        out: list[dict[int, pd.DataFrame]] = [{} for _ in jobs]
        for key, rep, frame in done:
            out[key][rep] = frame
        self.replications_run += len(tasks)
        return [[d[r] for r in sorted(d)] for d in out]

    def close(self, failed: bool = False) -> None:
        """Shut the workers down; after an error, stop them at once (a pool whose task
        could not be sent may never finish a clean shutdown)."""
        if self.pool is None:
            return
        if failed:
            stop_workers(self.pool)
        else:
            self.pool.shutdown(wait=True, cancel_futures=True)

    def __enter__(self) -> Simulator:
        return self

    def __exit__(self, exc_type: object, *exc: object) -> None:
        self.close(failed=exc_type is not None)


def monthly_by_rep(frames: Sequence[pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """Per target: months (rows, ``YYYY-MM``) x replications (columns) of per-day means."""
    months = pd.DatetimeIndex(frames[0].index).strftime("%Y-%m")
    per_rep = [f.groupby(months).mean() for f in frames]
    return {c: pd.concat([m[c] for m in per_rep], axis=1, keys=range(len(per_rep))) for c in frames[0].columns}


# ---------------------------------------------------------------------- problem
def scale_distribution(dist: dict[str, Any], factor: float) -> dict[str, Any]:
    """A duration distribution (YAML mapping) with every duration multiplied by ``factor``
    (a mixture's components each, its weights kept)."""
    out = dict(dist)
    if out.get("type") == "mixture":
        out["components"] = {k: scale_distribution(v, factor) for k, v in out["components"].items()}
        return out
    for key in ("mean", "sd", "median", "scale", "value"):
        if out.get(key) is not None:
            out[key] = round(float(out[key]) * factor, 6)
    if out.get("mu") is not None:
        out["mu"] = round(float(out["mu"]) + math.log(factor), 6)
    if out.get("values") is not None:
        out["values"] = [round(float(v) * factor, 6) for v in out["values"]]
        out.pop("csv", None), out.pop("column", None)
    return out


def scaled(node: Any, factor: float) -> Any:
    """A distribution, a number or a dated schedule of numbers (or a mapping of them)
    times ``factor``."""
    if isinstance(node, dict) and "type" in node:
        return scale_distribution(node, factor)
    if isinstance(node, bool):
        raise ValueError("is not a number, a schedule or a distribution")
    if isinstance(node, int | float):
        return round(node * factor, 6)
    if isinstance(node, dict) and "changes" in node:
        return {**node, "base": scaled(node["base"], factor),
                "changes": [{**c, "value": scaled(c["value"], factor)} for c in node["changes"]]}
    if isinstance(node, dict):
        return {k: scaled(v, factor) for k, v in node.items()}
    raise ValueError("is not a number, a schedule or a distribution")


def set_paths(data: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    """A copy of ``data`` with each dotted key set to its value, **replacing** what was
    there (a fitted ``{mean, sd}`` lognormal must not merge with a ``{median, mean}`` one)."""
    out = copy.deepcopy(data)
    for dotted, value in overrides.items():
        node = out
        *parents, leaf = dotted.split(".")
        for key in parents:
            if not isinstance(node.get(key), dict):
                node[key] = {}
            node = node[key]
        node[leaf] = copy.deepcopy(value)
    return out


def get_path(data: dict[str, Any], dotted: str) -> Any:
    node: Any = data
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            raise KeyError(dotted)
        node = node[part]
    return node


@dataclass
class Problem:
    """The search space: parameter names, bounds and how a value vector becomes a scenario."""

    config: CalibrationConfig
    base: Scenario
    observed: dict[str, pd.Series]
    names: list[str] = field(init=False)
    low: np.ndarray = field(init=False)
    high: np.ndarray = field(init=False)
    integer: np.ndarray = field(init=False)
    trust_code: int | None = field(init=False)  # the trust fitted, a system's (registry code); None: single-site
    acute: Acute = field(init=False)  # the fitted trust's acute block

    def __post_init__(self) -> None:
        params = self.config.parameters
        self.names = list(params)
        self.low = np.array([params[n].bounds[0] for n in self.names], dtype=float)
        self.high = np.array([params[n].bounds[1] for n in self.names], dtype=float)
        self.integer = np.array([params[n].integer for n in self.names])
        self._base_dict = scenario_to_dict(self.base)
        registry = registry_of(self.base)
        self.trust_code = registry.code("trusts", self.config.trust) if self.base.is_system else None
        self.acute = registry.trusts[self.trust_code or 0].acute
        by_noise = self.config.optimiser.error_scale == "noise"
        self.scales = {t: (noise_scale(o) if by_noise else float(np.abs(o).mean()) or 1.0)
                       for t, o in self.observed.items()}

    def values(self, unit: np.ndarray) -> tuple[float, ...]:
        """Natural-unit values of a point in [0, 1]^p (whole numbers rounded, others to 4 decimals)."""
        x = self.low + np.clip(unit, 0.0, 1.0) * (self.high - self.low)
        return tuple(float(round(v)) if i else round(float(v), 4) for v, i in zip(x, self.integer, strict=True))

    def unit(self, values: Sequence[float]) -> np.ndarray:
        return (np.asarray(values, dtype=float) - self.low) / (self.high - self.low)

    def start_values(self) -> tuple[float, ...]:
        """Each parameter's ``start``, else the base scenario's value (1 for a scale), within bounds."""
        out = []
        for name in self.names:
            p, path = self.config.parameters[name], self.config.parameter_path(name)
            if p.start is not None or path is None:
                out.append(1.0 if p.start is None else p.start)
                continue
            try:
                out.append(float(get_path(self._base_dict, path)))
            except (KeyError, TypeError):  # unset in the base (e.g. unlimited capacity): mid-range
                out.append(float(sum(p.bounds) / 2))
        return self.values(self.unit(out))

    def override(self, name: str, value: float) -> dict[str, Any]:
        """Dotted-key overrides setting one parameter (``KeyError``: no such field;
        ``ValueError``: a scale path that holds no distribution)."""
        p, path = self.config.parameters[name], self.config.parameter_path(name)
        if p.pathway_share is not None and path is not None:  # a share always has a path
            return self._with_p0({path: value})
        if path is not None:
            return {path: int(value) if p.integer else value}
        if p.step is not None:
            return self._stepped(name, value, {})
        out = {}
        for target in p.scale or []:
            try:
                out[target] = scaled(get_path(self._base_dict, target), value)
            except ValueError:
                raise ValueError(f"{target!r} is not a number, a dated schedule, a distribution or a mapping "
                                 "of them") from None
        return out

    def overrides(self, values: Sequence[float]) -> dict[str, Any]:
        """Dotted-key scenario overrides for ``values`` (scaled distributions written out)."""
        out: dict[str, Any] = {}
        steps = []
        for name, value in zip(self.names, values, strict=True):
            if self.config.parameters[name].step is not None:
                steps.append((name, value))  # applied to the other parameters' values
            else:
                out.update(self.override(name, value))
        out = self._with_p0(out) if "pathways.shares.P0" in out else out
        for name, value in steps:
            out.update(self._stepped(name, value, out))
        return out

    def _stepped(self, name: str, factor: float, out: dict[str, Any]) -> dict[str, Any]:
        """Each field of step parameter ``name`` as a schedule: its value (in ``out``, else the
        base's) until the step, ``factor`` times it from the step's date (``ValueError``: a
        field that is not a plain number)."""
        step = self.config.parameters[name].step
        assert step is not None
        stepped = {}
        for target in step.paths:
            value = out[target] if target in out else get_path(self._base_dict, target)
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ValueError(f"{target!r} is not a plain number (a step needs one; got {value!r})")
            after = round(value * factor) if isinstance(value, int) else round(value * factor, 6)
            stepped[target] = {"base": value, "changes": [{"from": step.from_.isoformat(), "value": after}]}
        return stepped

    def _with_p0(self, out: dict[str, Any]) -> dict[str, Any]:
        """``out`` with P0's share set to 1 minus the other pathways' (fitted or the base's)."""
        shares = {**self._base_dict["pathways"]["shares"],
                  **{k.rsplit(".", 1)[1]: v for k, v in out.items() if k.startswith("pathways.shares.")}}
        rest = round(1.0 - sum(v for k, v in shares.items() if k != "P0"), 6)
        if rest < 0:
            raise ValueError(f"pathway shares P1-P3 add up to more than 1 ({1 - rest:g})")
        return {**out, "pathways.shares.P0": rest}

    def scenario(self, values: Sequence[float], days: int | None = None) -> Scenario:
        """The base with ``values`` applied, starting at the fit period (``days`` from then)."""
        fit = self.config.fit_period
        warmup = self.config.optimiser.warmup_days
        run = {"run.start_date": fit.first_day(), "run.duration_days": days or fit.days(),
               "run.warmup_days": self.base.run.warmup_days if warmup is None else warmup}
        return validate_mapping(set_paths(self._base_dict, {**self.overrides(values), **run}), "<calibration>")

    def _rho(self, e: np.ndarray) -> np.ndarray:
        """Squared scaled error, or Huber's: squared up to ``huber_delta``, linear beyond."""
        delta = self.config.optimiser.delta()
        if self.config.optimiser.loss == "squared":
            return e**2
        a = np.abs(e)
        return np.where(a <= delta, e**2, 2 * delta * a - delta**2)

    def loss(self, simulated: dict[str, pd.DataFrame]) -> tuple[float, dict[str, float]]:
        """Objective and each target's weighted share, from months x replications tables."""
        parts, total_w = {}, 0.0
        for name, target in self.config.targets.items():
            obs = self.observed[name]
            sim = simulated[name].mean(axis=1).reindex(obs.index)
            parts[name] = target.weight * float(np.nanmean(self._rho(((sim - obs) / self.scales[name]).to_numpy())))
            total_w += target.weight
        return sum(parts.values()) / total_w, {k: v / total_w for k, v in parts.items()}

    def search_days(self) -> int:
        """Days a search evaluation simulates from the fit period's first day: the fit period,
        then ``optimiser.stability_days`` more (default: to the test period's end, or 365)
        for the stability check, so that a queue that starts to grow after the fit months
        is penalised in the search and not only seen in the rerun."""
        fit, test, extra = self.config.fit_period, self.config.test_period, self.config.optimiser.stability_days
        if extra is None:
            extra = (test.last_day() - fit.last_day()).days if test is not None else DEFAULT_STABILITY_DAYS
        return fit.days() + extra

    def penalty(self, frames: Sequence[pd.DataFrame]) -> float:
        """The stability penalty of a point's replications over all the days they simulate."""
        first = self.config.fit_period.first_day()
        return stability_penalty(frames, first, first + dt.timedelta(days=self.search_days() - 1), self.beds(),
                                 SEARCH_MARGIN)

    def beds(self) -> int:
        """Core acute beds at the start of the fit period (a bed schedule's value then)."""
        return int(value_on(self.acute.beds, self.config.fit_period.first_day()))


def nested(dotted: dict[str, Any]) -> dict[str, Any]:
    """``{"a.b": 1, "a.c": 2}`` -> ``{"a": {"b": 1, "c": 2}}``."""
    out: dict[str, Any] = {}
    for key, value in dotted.items():
        node: Any = value
        for part in reversed(key.split(".")):
            node = {part: node}
        out = deep_merge(out, node)
    return out


# -------------------------------------------------------------------- evaluator
@dataclass
class Evaluator:
    """Objective of a value vector on common random numbers, cached per rounded vector."""

    problem: Problem
    simulator: Simulator
    seed: int
    replications: int
    cache: dict[tuple[float, ...], tuple[float, dict[str, pd.DataFrame]]] = field(default_factory=dict)
    history: list[tuple[tuple[float, ...], float]] = field(default_factory=list)
    penalised: set[tuple[float, ...]] = field(default_factory=set)  # points whose queues failed the stability check

    def many(self, points: Sequence[tuple[float, ...]]) -> list[float]:
        todo = list(dict.fromkeys(p for p in points if p not in self.cache))
        days = self.problem.search_days()
        jobs = [(self.problem.scenario(p, days), self.seed, range(self.replications)) for p in todo]
        for point, frames in zip(todo, self.simulator.run(jobs), strict=True):
            simulated = monthly_by_rep(frames)
            penalty = self.problem.penalty(frames)
            if penalty:
                self.penalised.add(point)
            self.cache[point] = (self.problem.loss(simulated)[0] + penalty, simulated)
            self.history.append((point, self.cache[point][0]))
        return [self.cache[p][0] for p in points]

    def unit_objective(self, unit: np.ndarray) -> float:
        return self.many([self.problem.values(unit)])[0]

    def best(self) -> tuple[tuple[float, ...], float]:
        point = min(self.cache, key=lambda p: self.cache[p][0])
        return point, self.cache[point][0]

    def ranked(self, n: int) -> list[tuple[float, ...]]:
        """The ``n`` best points seen whose objective carries no stability penalty, best first."""
        return sorted((p for p in self.cache if p not in self.penalised), key=lambda p: self.cache[p][0])[:n]


STALL_TOLERANCE = 1e-3  # a relative improvement smaller than this does not reset the patience count


class _Stalled(Exception):
    """The local search made no real progress for ``patience`` evaluations."""


def local_search(evaluator: Evaluator, start: tuple[float, ...], method: str, max_evaluations: int,
                 step: float = 0.1, patience: int | None = None) -> None:
    """Bounded scipy.optimize.minimize on [0, 1]^p from ``start`` (results land in the
    cache); with ``patience``, stop early after that many evaluations in a row without a
    0.1% improvement of the best objective (early stopping: the rest would be wasted)."""
    x0 = evaluator.problem.unit(start)
    record = {"best": math.inf, "since": 0}

    def objective(unit: np.ndarray) -> float:
        value = evaluator.unit_objective(unit)
        if value < record["best"] - STALL_TOLERANCE * abs(record["best"]) or not math.isfinite(record["best"]):
            record["best"], record["since"] = value, 0
        else:
            record["since"] += 1
        if patience is not None and record["since"] >= patience:
            raise _Stalled
        return value

    unit = Bounds(np.zeros(x0.size), np.ones(x0.size))  # the unit cube
    try:
        if method == "nelder-mead":
            simplex = [x0] + [np.where(np.arange(x0.size) == j, x0[j] + (step if x0[j] + step <= 1 else -step), x0)
                              for j in range(x0.size)]
            minimize(objective, x0, method="Nelder-Mead", bounds=unit,
                     options={"maxfev": max_evaluations, "xatol": 1e-3, "fatol": 1e-5,
                              "initial_simplex": np.array(simplex)})
        else:
            minimize(objective, x0, method="Powell", bounds=unit,
                     options={"maxfev": max_evaluations, "xtol": 1e-3, "ftol": 1e-5})
    except _Stalled:
        pass


def search(evaluator: Evaluator, design_points: int, method: str, max_evaluations: int,
           progress: Callable[[str], None] = lambda _m: None,
           patience: int | None = None) -> tuple[tuple[float, ...], float]:
    """Start point + Sobol design, then the local method from the best; the best point seen."""
    problem = evaluator.problem
    points = [problem.start_values()]
    if design_points:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # Sobol balance warning for n not a power of 2
            design = qmc.Sobol(len(problem.names), scramble=True, seed=evaluator.seed).random(design_points)
        points += [problem.values(u) for u in design]
    evaluator.many(points)
    progress(f"design: {len(points)} points, best objective {evaluator.best()[1]:.4g}")
    local_search(evaluator, evaluator.best()[0], method, max_evaluations, patience=patience)
    progress(f"{method}: {len(evaluator.history)} evaluations, best objective {evaluator.best()[1]:.4g}")
    return evaluator.best()
