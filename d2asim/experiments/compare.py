"""Compare options with a baseline on common random numbers (paired differences).

Replication r of every scenario uses the same seed and stream names, so it sees
the same patients; the difference option - baseline is taken replication by
replication and its t-interval is far narrower than that of independent runs.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence

import numpy as np
import pandas as pd

from d2asim.metrics.costs import ratio_interval
from d2asim.runner import Executor, ReplicationResult, RunResult, Store, Task, execute
from d2asim.scenario.schema import Scenario
from d2asim.summary import mean_ci

BED_DAYS_SAVED = "bed_days_saved"
COST_PER_BED_DAY_SAVED = "cost_per_bed_day_saved_gbp"  # extra commissioning + spot cost / bed days saved
PAID = "commissioning_and_spot_cost_gbp"


def run_scenarios(
    scenarios: Sequence[Scenario],
    replications: int,
    seed: int,
    executor: Executor | None = None,
    stores: Sequence[Store] | None = None,
) -> list[RunResult]:
    """Replications ``0..n-1`` of each scenario with the same seed, as one pool of
    tasks; with ``stores`` (one per scenario) finished replications are kept and reused."""
    done: dict[Hashable, ReplicationResult] = {}
    if stores is not None:
        done = {(i, r): res for i, store in enumerate(stores) for r, res in store.load_all().items()}
    tasks = [
        Task((i, r), s, seed, r) for i, s in enumerate(scenarios) for r in range(replications) if (i, r) not in done
    ]

    def save(key: Hashable, result: ReplicationResult) -> None:
        if stores is not None:
            stores[key[0]].save(result)  # type: ignore[index]

    done.update(execute(tasks, executor, save))
    return [
        RunResult(scenario=s, seed=seed, replications=[done[(i, r)] for r in range(replications)])
        for i, s in enumerate(scenarios)
    ]


def paired_differences(baseline: RunResult, option: RunResult) -> pd.DataFrame:
    """One row per metric present in both: baseline mean, option mean, mean of the
    paired difference (option - baseline) and its 95% CI, plus ``bed_days_saved``
    (baseline acute bed days - option acute bed days: positive means saved) and
    ``cost_per_bed_day_saved_gbp`` (extra commissioning + spot cost / bed days saved,
    ratio of the means with Fieller's CI; NaN when bed days saved are not
    distinguishable from zero). Both rows have baseline 0."""
    base = baseline.metrics_table()
    other = option.metrics_table()
    rows = []
    for metric in [c for c in base.columns if c in other.columns]:
        diff = other[metric].to_numpy() - base[metric].to_numpy()
        rows.append(_row(metric, base[metric].to_numpy(), other[metric].to_numpy(), diff))
    saved = base["acute_bed_days"].to_numpy() - other["acute_bed_days"].to_numpy()
    rows.insert(0, _row(BED_DAYS_SAVED, np.zeros_like(saved), saved, saved))
    if PAID in base.columns and PAID in other.columns:
        extra = other[PAID].to_numpy() - base[PAID].to_numpy()
        ratio = ratio_interval(extra, saved)
        rows.append({"metric": COST_PER_BED_DAY_SAVED, "baseline": 0.0, "option_value": ratio["mean"],
                     "difference": ratio["mean"], "ci_low": ratio["ci_low"], "ci_high": ratio["ci_high"],
                     "distinguishable": bool(ratio["ci_low"] > 0 or ratio["ci_high"] < 0)})
    return pd.DataFrame(rows)


def _row(metric: str, base: np.ndarray, other: np.ndarray, diff: np.ndarray) -> dict[str, object]:
    ci = mean_ci(diff)
    return {
        "metric": metric,
        "baseline": float(np.nanmean(base)) if base.size else np.nan,
        "option_value": float(np.nanmean(other)) if other.size else np.nan,
        "difference": ci["mean"],
        "ci_low": ci["ci_low"],
        "ci_high": ci["ci_high"],
        "distinguishable": bool(ci["ci_low"] > 0 or ci["ci_high"] < 0),
    }


def compare(
    baseline: Scenario,
    options: Sequence[Scenario],
    replications: int,
    seed: int,
    executor: Executor | None = None,
    stores: Sequence[Store] | None = None,
) -> tuple[pd.DataFrame, list[RunResult]]:
    """``comparison`` table (one row per option x metric: option, metric, baseline,
    option_value, difference, ci_low, ci_high, distinguishable) and every run
    (baseline first). ``stores``: one checkpoint store per scenario, baseline first."""
    runs = run_scenarios([baseline, *options], replications, seed, executor, stores)
    frames = [paired_differences(runs[0], run).assign(option=run.scenario.name) for run in runs[1:]]
    table = pd.concat(frames, ignore_index=True)
    columns = ["option", "metric", "baseline", "option_value", "difference", "ci_low", "ci_high", "distinguishable"]
    return table[columns], runs
