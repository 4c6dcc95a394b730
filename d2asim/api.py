"""The Python API for notebooks: what the CLI does, returning pandas DataFrames.

Scenarios may be given as :class:`~d2asim.scenario.schema.Scenario` objects or as
paths to YAML files. ``workers`` > 1 runs replications in local processes;
``dask`` sends them to a Dask scheduler. Results never depend on either. With
``out`` a function also writes the folder the command line writes (through
:mod:`d2asim.service`: byte-identical for the same scenario and seed).

>>> import d2asim
>>> result = d2asim.run_replications("scenarios/baseline.yaml", replications=5, seed=1)  # doctest: +SKIP
>>> result.summary().loc["delayed_bed_days"]                                             # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from d2asim import service
from d2asim.experiments import capacity as _capacity
from d2asim.experiments import compare as _compare
from d2asim.experiments import sweep as _sweep
from d2asim.experiments import warmup as _warmup
from d2asim.experiments.executor import Backend
from d2asim.runner import RunResult
from d2asim.runner import run_replications as _run_replications
from d2asim.scenario.loader import load_scenario
from d2asim.scenario.schema import Scenario

ScenarioLike = Scenario | str | Path


def as_scenario(scenario: ScenarioLike) -> Scenario:
    """A scenario object from an object or a YAML path."""
    return scenario if isinstance(scenario, Scenario) else load_scenario(scenario)


def _backend(workers: int, dask: str | None) -> Backend:
    return Backend(workers=workers, dask_address=dask, progress=False)


def run_replications(
    scenario: ScenarioLike, replications: int | None = None, seed: int | None = None,
    workers: int = 1, dask: str | None = None, out: str | Path | None = None,
) -> RunResult:
    """Replications of one scenario (defaults: the scenario's ``run`` block). The
    result's ``metrics_table()``, ``summary()``, ``daily_table()`` and
    ``monthly_table()`` are DataFrames. ``out``: also write this run folder."""
    sc = as_scenario(scenario)
    reps = replications or sc.run.replications
    seed = sc.run.seed if seed is None else seed
    if out is None:
        return _run_replications(sc, reps, seed, _backend(workers, dask))
    return service.run_job(service.plan_run(sc, reps, seed, Path(out)), _backend(workers, dask)).runs[0]


def compare(
    baseline: ScenarioLike, options: Sequence[ScenarioLike], replications: int | None = None,
    seed: int | None = None, workers: int = 1, dask: str | None = None, out: str | Path | None = None,
) -> pd.DataFrame:
    """Paired comparison on common random numbers: one row per option x scope x metric
    (``option, metric, baseline, option_value, difference, ci_low, ci_high,
    distinguishable, scope``), including ``bed_days_saved``; ``scope`` is ``system``,
    ``trust:NAME`` or ``borough:NAME``. ``out``: also write this comparison folder
    (comparison.csv and a run folder per scenario)."""
    base = as_scenario(baseline)
    others = [as_scenario(o) for o in options]
    reps, seed = replications or base.run.replications, base.run.seed if seed is None else seed
    if out is not None:
        return service.run_job(service.plan_compare(base, others, reps, seed, Path(out)), _backend(workers, dask)).table
    table, _ = _compare.compare(base, others, reps, seed, _backend(workers, dask))
    return table


def sweep(
    scenario: ScenarioLike, grid: Mapping[str, Sequence[Any]], replications: int | None = None,
    seed: int | None = None, workers: int = 1, dask: str | None = None, out: str | Path | None = None,
) -> pd.DataFrame:
    """One row per grid point (e.g. ``{"services.p1.capacity": [80, 100]}``) with
    ``<metric>_mean``, ``_ci_low`` and ``_ci_high`` columns and ``scope`` (``system``;
    a system-form scenario also has a row per trust and borough for each point). ``out``:
    also write this sweep folder (sweep.csv and a run folder per point)."""
    sc = as_scenario(scenario)
    reps, seed = replications or sc.run.replications, sc.run.seed if seed is None else seed
    if out is not None:
        job = service.plan_sweep(sc, grid, reps, seed, Path(out), "<sweep>")
        return service.run_job(job, _backend(workers, dask)).table
    table, _ = _sweep.sweep(sc, grid, reps, seed, _backend(workers, dask))
    return table


def capacity_needed(
    scenario: ScenarioLike, service: str, target: str, replications: int | None = None,
    seed: int | None = None, workers: int = 1, dask: str | None = None,
) -> tuple[dict[str, object], pd.DataFrame]:
    """Smallest capacity of ``service`` meeting ``target`` (e.g.
    ``"dtoc_rate_per_100k_adults<=9.4"``): the answer and every capacity tried."""
    sc = as_scenario(scenario)
    search = _capacity.CapacitySearch(sc, service, _capacity.Target.parse(target), replications or sc.run.replications,
                                      sc.run.seed if seed is None else seed, _backend(workers, dask))
    return _capacity.capacity_needed(search), search.table()


def suggest_warmup(
    scenario: ScenarioLike, replications: int = 10, seed: int | None = None, days: int | None = None,
    workers: int = 1,
) -> tuple[int, pd.DataFrame]:
    """MSER-5 warm-up suggestion (days) and the mean daily series it came from."""
    sc = as_scenario(scenario)
    horizon = days or sc.run.warmup_days + sc.run.duration_days
    return _warmup.suggest_warmup(sc, replications, sc.run.seed if seed is None else seed, horizon,
                                  _backend(workers, None))
