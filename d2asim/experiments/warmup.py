"""Suggest a warm-up period with MSER-5 on the mean daily acute occupancy.

MSER-5 (White 1997): average the series in batches of 5 days; for each candidate
truncation d (up to half the series), compute the squared standard error of the
mean of the batches after d; choose the d that minimises it. The series is the
mean over replications of a run started empty with no warm-up.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from d2asim.runner import Executor, run_replications
from d2asim.scenario.loader import with_overrides
from d2asim.scenario.schema import Scenario

BATCH_DAYS = 5


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


def suggest_warmup(
    scenario: Scenario, replications: int, seed: int, days: int, executor: Executor | None = None
) -> tuple[int, pd.DataFrame]:
    """Run ``days`` from empty with no warm-up; return the MSER-5 truncation (days,
    rounded up to whole weeks) and the mean daily series it was chosen from."""
    empty_start = with_overrides(scenario, {"run.warmup_days": 0, "run.duration_days": days, "initial_state": None})
    result = run_replications(empty_start, replications, seed, executor)
    daily = result.daily_table()
    mean = daily.groupby("day")[["acute_occupied", "delayed_dtoc"]].mean()
    cut = mser5(mean["acute_occupied"].to_numpy())
    return int(math.ceil(cut / 7) * 7), mean.reset_index()
