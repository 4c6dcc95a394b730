"""Suggest a warm-up period with MSER-5, judged on every stock of the system.

MSER-5 (White 1997): average the series in batches of 5 days; for each candidate
truncation d (up to half the series), compute the squared standard error of the
mean of the batches after d; choose the d that minimises it. Each series is the
mean over replications of a run with no warm-up, started as the scenario starts
(its ``initial_state``, if any) or empty.

The stocks (daily time averages, people or beds): acute beds occupied, the
admission queue, and each downstream service's occupancy and queue. The suggested
warm-up is the longest truncation over the stocks; a stock whose truncation is at
the MSER limit (half the series) or whose second half still trends is flagged as
not settled: no warm-up within the run can be trusted for it.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from d2asim.runner import Executor, run_replications
from d2asim.scenario.loader import with_overrides
from d2asim.scenario.schema import Scenario

BATCH_DAYS = 5
DRIFT_SHARE = 0.05  # a stock "still drifts" if its second half moves by more than this share of its level


def mser5(series: np.ndarray) -> int:
    """Truncation point in days (a multiple of 5) that minimises the MSER statistic."""
    n_batches = len(series) // BATCH_DAYS
    batches = np.asarray(series[: n_batches * BATCH_DAYS], dtype=float).reshape(n_batches, BATCH_DAYS).mean(axis=1)
    best_d, best = 0, math.inf
    for d in range(n_batches // 2 + 1):
        rest = batches[d:]
        stat = float(np.sum((rest - rest.mean()) ** 2)) / len(rest) ** 2
        if stat < best:
            best_d, best = d, stat
    return best_d * BATCH_DAYS


def stock_columns(scenario: Scenario) -> list[str]:
    """daily.csv columns that are stocks: acute occupancy, the admission queue, and each
    service's occupancy and queue."""
    services = [f"{n}_{kind}" for n in scenario.services for kind in ("occupied", "waiting")]
    return ["acute_occupied", "admission_queue", *services]


def judge_stocks(mean: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """One row per stock: MSER-5 truncation (days), the level after it, the change over
    the second half of the series (a straight-line fit, in the stock's units), whether
    it settled, and why not. Sorted with the stock needing the longest warm-up first."""
    rows = []
    half = len(mean) // 2
    for column in columns:
        series = mean[column].to_numpy(dtype=float)
        cut = mser5(series)
        level = float(series[cut:].mean())
        tail = series[half:]
        drift = float(np.polyfit(np.arange(tail.size), tail, 1)[0] * tail.size) if tail.size > 1 else 0.0
        at_limit = cut >= (len(series) // BATCH_DAYS) // 2 * BATCH_DAYS
        drifting = abs(drift) > DRIFT_SHARE * max(abs(level), 1.0)
        why = ("MSER-5 cut the most it may (half the series): still moving" if at_limit else
               f"second half still {'rises' if drift > 0 else 'falls'} by {abs(drift):.1f}" if drifting else "")
        rows.append({"stock": column, "truncation_days": cut, "level_after": level,
                     "day0": float(series[0]), "second_half_change": drift,
                     "settled": not (at_limit or drifting), "why_not": why})
    frame = pd.DataFrame(rows)
    frame = frame.sort_values(["settled", "truncation_days"], ascending=[True, False], kind="stable")
    return frame.reset_index(drop=True)


def suggest_warmup(
    scenario: Scenario, replications: int, seed: int, days: int, executor: Executor | None = None,
    empty: bool = False,
) -> tuple[int, pd.DataFrame]:
    """Run ``days`` with no warm-up (from empty, or from the scenario's initial state when
    ``empty`` is False); return the longest MSER-5 truncation over every stock (days,
    rounded up to whole weeks) and the mean daily series (one column per stock and
    ``delayed_dtoc``, by ``day``)."""
    overrides: dict[str, object] = {"run.warmup_days": 0, "run.duration_days": days}
    if empty:
        overrides["initial_state"] = None
    start = with_overrides(scenario, overrides)
    result = run_replications(start, replications, seed, executor)
    columns = stock_columns(scenario)
    mean = result.daily_table().groupby("day")[[*columns, "delayed_dtoc"]].mean()
    cut = max(mser5(mean[c].to_numpy()) for c in columns)
    return int(math.ceil(cut / 7) * 7), mean.reset_index()
