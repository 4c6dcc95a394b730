"""Small helpers shared by the statistical and structural tests.

Scenarios are built as plain dicts and validated with
:func:`d2asim.scenario.loader.validate_mapping`, exactly as a YAML file would be.
Confidence intervals are t-based over independent replications (or paired /
Welch intervals of differences); exact queueing formulas are closed forms.
"""

from __future__ import annotations

import copy
import importlib.util
import math
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
from scipy import stats

from d2asim.metrics.replication import replication_metrics
from d2asim.metrics.series import daily_series, reported_columns
from d2asim.model.engine import DischargeModel, sim_start_date
from d2asim.model.log import EventLog
from d2asim.scenario.loader import validate_mapping
from d2asim.scenario.schema import Scenario

PATHWAYS = ("P0", "P1", "P2", "P3")


# ----------------------------------------------------------------- distributions
def exponential(mean: float) -> dict[str, Any]:
    return {"type": "exponential", "mean": mean}


def fixed(value: float) -> dict[str, Any]:
    return {"type": "fixed", "value": value}


def lognormal(mean: float, sd: float) -> dict[str, Any]:
    return {"type": "lognormal", "mean": mean, "sd": sd}


# -------------------------------------------------------------------- scenarios
MIXED_SHARES = {"P0": 0.6, "P1": 0.25, "P2": 0.1, "P3": 0.05}


def mixed_ttr() -> dict[str, dict[str, Any]]:
    """Time to discharge ready by pathway for the mixed multi-stage test networks."""
    return {"P0": lognormal(4.0, 3.5), "P1": lognormal(6.0, 5.0), "P2": lognormal(7.0, 5.0), "P3": lognormal(8.0, 6.0)}

def scenario_dict(
    *,
    per_day: float,
    beds: int,
    ttr: dict[str, Any] | dict[str, dict[str, Any]],
    shares: dict[str, float] | None = None,
    settings: dict[str, Any] | None = None,
    services: dict[str, Any] | None = None,
    warmup_days: int = 30,
    duration_days: int = 365,
    name: str = "test",
    **extra: Any,
) -> dict[str, Any]:
    """A scenario mapping. ``ttr`` is one distribution for every pathway, or a
    mapping by pathway. Pathways without a service in ``settings`` go home."""
    if set(ttr) <= set(PATHWAYS) and ttr:
        ttr_map = dict(ttr)
    else:
        ttr_map = {p: ttr for p in PATHWAYS}
    base_settings = {p: {"service": None} for p in PATHWAYS}
    for p, s in (settings or {}).items():
        base_settings[p] = s
    data: dict[str, Any] = {
        "name": name,
        "run": {"warmup_days": warmup_days, "duration_days": duration_days},
        "arrivals": {"non_elective": {"per_day": per_day}},
        "acute": {"beds": beds, "time_to_discharge_ready_days": ttr_map},
        "pathways": {
            "shares": shares or {"P0": 1.0, "P1": 0.0, "P2": 0.0, "P3": 0.0},
            "settings": base_settings,
        },
        "services": services or {},
    }
    data.update(extra)
    return data


def p1_only_scenario(name: str, duration_days: int, warmup_days: int, p1_capacity: int = 39) -> dict[str, Any]:
    """Every admission goes to P1 (6 a day x 6 days = 36 places offered), P1 starts
    near full: the small calibration test network, fitted from its own series."""
    return {
        "name": name,
        "run": {"start_date": "2022-04-01", "warmup_days": warmup_days, "duration_days": duration_days, "seed": 5},
        "arrivals": {"non_elective": {"per_day": 6}},
        "acute": {"beds": 400, "time_to_discharge_ready_days": {p: lognormal(5, 5) for p in PATHWAYS}},
        "pathways": {"shares": {"P0": 0.0, "P1": 1.0, "P2": 0.0, "P3": 0.0},
                     "settings": {"P1": {"service": "p1", "assessment": {"mode": "d2a"}},
                                  "P2": {"service": None}, "P3": {"service": None}}},
        "services": {"p1": {"capacity": p1_capacity, "duration_days": {"type": "gamma", "mean": 6, "sd": 2}}},
        "initial_state": {"services_occupied": {"p1": 35}},
    }


def build(data: dict[str, Any]) -> Scenario:
    return validate_mapping(copy.deepcopy(data), "test")


def modified(data: dict[str, Any], edit: Callable[[dict[str, Any]], None]) -> Scenario:
    """A validated copy of ``data`` after ``edit`` mutates a deep copy of it."""
    new = copy.deepcopy(data)
    edit(new)
    return build(new)


# ------------------------------------------------------------------------- runs
def simulate(
    scenario: Scenario, seed: int, replication: int, before_run: Callable[[DischargeModel], None] | None = None
) -> tuple[DischargeModel, EventLog, Any, dict[str, float]]:
    """One replication, keeping the model and its event log (the same calls as
    :func:`d2asim.runner.run_replication`)."""
    model = DischargeModel(scenario, seed, replication)
    if before_run is not None:
        before_run(model)
    log = model.run()
    daily = daily_series(log, scenario, sim_start_date(scenario))
    return model, log, daily, replication_metrics(log, scenario, reported_columns(daily))


def reported_window(scenario: Scenario) -> tuple[float, float]:
    w0 = float(scenario.run.warmup_days)
    return w0, w0 + float(scenario.run.duration_days)


# -------------------------------------------------------------------- intervals
def t_interval(values: Sequence[float] | np.ndarray, confidence: float) -> tuple[float, float, float]:
    """(mean, low, high): two-sided t interval of the mean of iid values."""
    x = np.asarray(values, dtype=float)
    n = x.size
    assert n >= 2
    mean = float(x.mean())
    half = float(stats.t.ppf(0.5 + confidence / 2.0, n - 1) * x.std(ddof=1) / math.sqrt(n))
    return mean, mean - half, mean + half


def time_average(starts: np.ndarray, ends: np.ndarray, w0: float, w1: float) -> float:
    """Mean number of intervals ``[start, end)`` open during the window ``[w0, w1)``."""
    return float(np.sum(np.clip(ends, w0, w1) - np.clip(starts, w0, w1)) / (w1 - w0))


def assert_same_answers(
    measure: str, ours: Sequence[float], theirs: Sequence[float], confidence: float, max_rel_half: float
) -> None:
    """Two simulators agree on ``measure``: the Welch interval of the difference of their
    replication means contains 0 and its half width is under ``max_rel_half`` of
    ``theirs`` (narrow enough to be a test)."""
    diff, lo, hi = welch_interval(ours, theirs, confidence)
    level = float(np.mean(theirs))
    print(
        f"{measure}: d2asim {np.mean(ours):.4g}, Ciw {level:.4g}, difference {diff:.4g} "
        f"({100 * confidence:.0f}% Welch CI {lo:.4g} to {hi:.4g})"
    )
    assert lo <= 0.0 <= hi
    assert (hi - lo) / 2 < max_rel_half * level, "interval too wide to be a test"


def welch_interval(a: Sequence[float], b: Sequence[float], confidence: float) -> tuple[float, float, float]:
    """(diff, low, high): Welch-Satterthwaite t interval of mean(a) - mean(b)."""
    x, y = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    vx, vy = x.var(ddof=1) / x.size, y.var(ddof=1) / y.size
    se = math.sqrt(vx + vy)
    df = (vx + vy) ** 2 / (vx**2 / (x.size - 1) + vy**2 / (y.size - 1))
    diff = float(x.mean() - y.mean())
    half = float(stats.t.ppf(0.5 + confidence / 2.0, df) * se)
    return diff, diff - half, diff + half


def occupancy_fractions(starts: np.ndarray, ends: np.ndarray, w0: float, w1: float) -> np.ndarray:
    """Fraction of ``[w0, w1)`` during which exactly k intervals ``[start, end)``
    are open, for k = 0, 1, ... (``nan`` starts ignored, ``inf`` ends open)."""
    s = np.asarray(starts, dtype=float)
    e = np.asarray(ends, dtype=float)
    keep = ~np.isnan(s)
    s, e = s[keep], e[keep]
    keep = (s < w1) & (e > w0)
    s, e = np.maximum(s[keep], w0), np.minimum(e[keep], w1)
    times = np.concatenate([[w0], s, e, [w1]])
    steps = np.concatenate([[0], np.ones(s.size, dtype=int), -np.ones(e.size, dtype=int), [0]])
    order = np.argsort(times, kind="stable")
    times, steps = times[order], steps[order]
    level = np.cumsum(steps)
    assert level.min() >= 0
    durations = np.diff(times)
    return np.bincount(level[:-1], weights=durations) / (w1 - w0)


# ------------------------------------------------------------ exact formulas
def erlang_b(c: int, a: float) -> float:
    """Erlang B blocking probability of M/M/c/c with offered load ``a`` erlangs."""
    b = 1.0
    for k in range(1, c + 1):
        b = a * b / (k + a * b)
    return b


def erlang_c(c: int, a: float) -> float:
    """Erlang C probability of waiting in M/M/c (requires a < c)."""
    assert a < c
    b = erlang_b(c, a)
    return c * b / (c - a * (1.0 - b))


def mmc_wq(c: int, lam: float, mu: float) -> float:
    """Mean wait in queue of M/M/c: C(c, a) / (c mu - lam)."""
    return erlang_c(c, lam / mu) / (c * mu - lam)


def metrics_equal(a: dict[str, float], b: dict[str, float]) -> bool:
    """Exact equality of two metrics dicts (nan equal to nan)."""
    if a.keys() != b.keys():
        return False
    for k in a:
        x, y = float(a[k]), float(b[k])
        if not (x == y or (math.isnan(x) and math.isnan(y))):
            return False
    return True


def start_run_with_two_workers(scenario_file: Path, out: Path, reps: int = 120) -> subprocess.Popen[str]:
    """Start ``d2asim run`` (2 workers, seed 4) as a subprocess and return once two
    replications are checkpointed (or after 120 s): the run is then still going, with
    ``reps`` enough to outlast a loaded machine."""
    cmd = [sys.executable, "-m", "d2asim", "run", str(scenario_file), "--reps", str(reps), "--seed", "4", "--quiet",
           "--workers", "2", "--out", str(out)]
    proc = subprocess.Popen(cmd, stderr=subprocess.PIPE, text=True)
    checkpoints = out / "checkpoints" / "main"
    deadline = time.time() + 120
    while time.time() < deadline and len(list(checkpoints.glob("rep-*.npz"))) < 2:
        time.sleep(0.05)
    return proc


def load_script(name: str) -> ModuleType:
    """The module of ``scripts/NAME.py`` (the scripts are not a package)."""
    path = Path(__file__).resolve().parents[1] / "scripts" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module
