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
not settled: no warm-up within the run can be trusted for it. The trend test uses
the replications: each one's second-half change, with a t-interval across them.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from d2asim.runner import Executor, run_replications
from d2asim.scenario.loader import with_overrides
from d2asim.scenario.schema import Scenario
from d2asim.summary import mean_ci

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


def stock_columns(scenario: Scenario) -> list[str]:
    """daily.csv columns that are stocks: acute occupancy, the admission queue, and each
    service's occupancy and queue."""
    services = [f"{n}_{kind}" for n in scenario.services for kind in ("occupied", "waiting")]
    return ["acute_occupied", "admission_queue", *services]


def judge_stocks(daily: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """One row per stock, from the per-replication daily table (``replication``, ``day``
    and the stock columns): MSER-5 truncation of the mean series (days), the level after
    it, each replication's change over the second half (straight-line fit, the stock's
    units) with its t-interval across replications, whether the stock settled and why
    not. A stock has not settled if MSER-5 cut the most it may (half the series) or the
    second-half change is distinguishable from zero. Slowest first."""
    mean = daily.groupby("day")[columns].mean()
    n = len(mean)
    second_half = daily[daily["day"] >= n // 2]
    limit = (n // BATCH_DAYS) // 2 * BATCH_DAYS
    rows = []
    for column in columns:
        series = mean[column].to_numpy(dtype=float)
        cut = mser5(series)
        changes = second_half.groupby("replication")[column].apply(_change).to_numpy()
        ci = mean_ci(changes)
        drifting = bool(ci["ci_low"] > 0 or ci["ci_high"] < 0)
        why = ("MSER-5 cut the most it may (half the series): still moving" if cut >= limit else
               f"second half still {'rises' if ci['mean'] > 0 else 'falls'} by {abs(ci['mean']):.1f} "
               f"(95% CI {ci['ci_low']:.1f} to {ci['ci_high']:.1f} across replications)" if drifting else "")
        rows.append({"stock": column, "truncation_days": cut, "level_after": float(series[cut:].mean()),
                     "day0": float(series[0]), "second_half_change": ci["mean"],
                     "change_ci_low": ci["ci_low"], "change_ci_high": ci["ci_high"],
                     "settled": not why, "why_not": why})
    frame = pd.DataFrame(rows)
    frame = frame.sort_values(["settled", "truncation_days"], ascending=[True, False], kind="stable")
    return frame.reset_index(drop=True)


def _change(values: pd.Series) -> float:
    """Change over a series by its least-squares line (slope x length)."""
    y = values.to_numpy(dtype=float)
    return float(np.polyfit(np.arange(y.size), y, 1)[0] * y.size) if y.size > 1 else 0.0


def warmup_runs(
    scenario: Scenario, replications: int, seed: int, days: int, executor: Executor | None = None,
    empty: bool = False,
) -> pd.DataFrame:
    """Per-replication daily table of ``days`` run with no warm-up, from the scenario's
    initial state (or empty when ``empty``)."""
    overrides: dict[str, object] = {"run.warmup_days": 0, "run.duration_days": days}
    if empty:
        overrides["initial_state"] = None
    return run_replications(with_overrides(scenario, overrides), replications, seed, executor).daily_table()


def suggest_warmup(
    scenario: Scenario, replications: int, seed: int, days: int, executor: Executor | None = None,
    empty: bool = False,
) -> tuple[int, pd.DataFrame]:
    """Run ``days`` with no warm-up (see :func:`warmup_runs`); return the longest MSER-5
    truncation over every stock (days, rounded up to whole weeks) and the mean daily
    series (one column per stock and ``delayed_dtoc``, by ``day``)."""
    daily = warmup_runs(scenario, replications, seed, days, executor, empty)
    return suggestion(daily, stock_columns(scenario)), daily.groupby("day")[
        [*stock_columns(scenario), "delayed_dtoc"]].mean().reset_index()


def suggestion(daily: pd.DataFrame, columns: list[str]) -> int:
    """The longest MSER-5 truncation of the stocks' mean series, rounded up to whole weeks."""
    mean = daily.groupby("day")[columns].mean()
    cut = max(mser5(mean[c].to_numpy()) for c in columns)
    return int(math.ceil(cut / 7) * 7)
