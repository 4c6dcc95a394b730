"""Summaries across replications: mean with a t-based 95% confidence interval."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
from scipy.special import stdtrit

CONFIDENCE = 0.95


def mean_ci(
    values: np.ndarray | pd.Series, confidence: float = CONFIDENCE, floor: float | None = None,
    ceiling: float = math.inf,
) -> dict[str, float]:
    """Mean and t-based confidence interval of replication values (equal for one value).

    ``floor``: the least value the quantity can take (0 for counts, bed days, waits);
    ``ceiling``: the largest (100 for most percentages); the interval is clipped to
    them. Differences between scenarios have neither."""
    x = np.asarray(values, dtype=float)
    x = x[~np.isnan(x)]
    if x.size == 0:
        return {"mean": math.nan, "ci_low": math.nan, "ci_high": math.nan}
    mean = float(x.mean())
    if x.size == 1:
        return {"mean": mean, "ci_low": mean, "ci_high": mean}
    half = float(stdtrit(x.size - 1, 0.5 + confidence / 2) * x.std(ddof=1) / math.sqrt(x.size))
    low = mean - half if floor is None else max(mean - half, floor)
    return {"mean": mean, "ci_low": low, "ci_high": min(mean + half, ceiling)}


def summarise(table: pd.DataFrame, ceilings: Mapping[str, float] | None = None) -> dict[str, Any]:
    """Nested ``{metric: {mean, ci_low, ci_high}}``; ``a.b`` keys become ``{a: {b: ...}}``.
    Every run metric (counts, days, %, GBP, rates) is non-negative: CIs floor at 0, and
    stop at the metric's ``ceilings`` entry (100 for percentages)."""
    out: dict[str, Any] = {}
    for column in table.columns:
        entry = mean_ci(table[column].to_numpy(), floor=0.0, ceiling=(ceilings or {}).get(column, math.inf))
        head, _, tail = column.partition(".")
        if tail:
            out.setdefault(head, {})[tail] = entry
        else:
            out[head] = entry
    return out


def summary_frame(table: pd.DataFrame, ceilings: Mapping[str, float] | None = None) -> pd.DataFrame:
    """One row per metric: mean, ci_low, ci_high (clipped as in :func:`summarise`), p5,
    p95 across replications."""
    rows = []
    for column in table.columns:
        values = table[column].to_numpy(dtype=float)
        ceiling = (ceilings or {}).get(column, math.inf)
        rows.append({"metric": column, **mean_ci(values, floor=0.0, ceiling=ceiling),
                     "p5": float(np.nanpercentile(values, 5)), "p95": float(np.nanpercentile(values, 95))})
    return pd.DataFrame(rows).set_index("metric")


def series_spread(daily: pd.DataFrame, keys: tuple[str, ...] = ("day", "date", "reported")) -> pd.DataFrame:
    """Per day: mean, p5 and p95 across replications of every daily column
    (``<column>_mean``, ``<column>_p5``, ``<column>_p95``)."""
    values = [c for c in daily.columns if c not in (*keys, "replication")]
    grouped = daily.groupby(list(keys), sort=True)[values]
    mean = grouped.mean().add_suffix("_mean")
    p5 = grouped.quantile(0.05).add_suffix("_p5")
    p95 = grouped.quantile(0.95).add_suffix("_p95")
    ordered = [f"{c}_{s}" for c in values for s in ("mean", "p5", "p95")]
    return pd.concat([mean, p5, p95], axis=1)[ordered].reset_index()
