"""Is a queue growing without bound? A check of every replication's queues.

The queues are the admission queue (patients waiting for an acute bed) and each
service's waiting list (people waiting for a place), as daily time averages over
the reported period. A queue **grows** in a replication when, comparing the mean
of the last third of the reported period with the mean of the first third,

* the last third is at least ``GROWTH_MIN_PATIENTS`` (10) people longer, and at
  least ``GROWTH_MIN_RATIO`` (2) times as long, and
* the middle third lies between them (the growth is sustained, not one spike).

A stable queue fluctuates around a level, so its thirds have about the same mean;
a queue whose arrivals exceed what its capacity can serve rises steadily (by
arrivals minus capacity per day), so its last third is far above its first. The
evidence kept for each flagged replication is the three means, the queue on the
last day and the least-squares slope (people per day). One warning per stage lists
the replications affected.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from d2asim.metrics.series import reported_days

GROWTH_MIN_PATIENTS = 10.0
GROWTH_MIN_RATIO = 2.0
TEST = ("mean queue over the last third of the reported period at least 10 people and 2 times above the "
        "first third's, with the middle third between them")


def queues(daily: pd.DataFrame) -> dict[str, str]:
    """Stage name -> daily column of its queue (``admission_queue``, ``services.p1``...)."""
    stages = {"admission_queue": "admission_queue"} if "admission_queue" in daily else {}
    stages.update({f"services.{c.removesuffix('_waiting')}": c for c in daily.columns if c.endswith("_waiting")})
    return stages


def queue_trend(values: np.ndarray) -> dict[str, float]:
    """Means of the three thirds, the last value and the slope (per day) of a daily queue."""
    thirds = np.array_split(np.asarray(values, dtype=float), 3)
    days = np.arange(len(values), dtype=float)
    slope = float(np.polyfit(days, values, 1)[0]) if len(values) > 1 else 0.0
    first, middle, last = (float(t.mean()) if t.size else 0.0 for t in thirds)
    return {"first_third_mean": first, "middle_third_mean": middle, "last_third_mean": last,
            "at_end": float(values[-1]) if len(values) else 0.0, "slope_per_day": slope}


def is_growing(trend: dict[str, float], margin: float = 1.0) -> bool:
    """The growth test of the module docstring; ``margin`` < 1 makes it stricter (a rise of
    ``margin`` x 10 people and 1 + ``margin`` x (2 - 1) times the first third fails)."""
    first, middle, last = trend["first_third_mean"], trend["middle_third_mean"], trend["last_third_mean"]
    return (last - first >= margin * GROWTH_MIN_PATIENTS and last >= (1 + margin * (GROWTH_MIN_RATIO - 1)) * first
            and first <= middle <= last)


def growth_warnings(dailies: Sequence[tuple[int, pd.DataFrame]]) -> list[dict[str, Any]]:
    """One warning per stage whose queue grows in any replication (``dailies``: the
    replication number and its daily series, ``reported`` marking the reported days)."""
    flagged: dict[str, list[tuple[int, dict[str, float]]]] = {}
    for replication, daily in dailies:
        reported = reported_days(daily)
        for stage, column in queues(reported).items():
            trend = queue_trend(reported[column].to_numpy())
            if is_growing(trend):
                flagged.setdefault(stage, []).append((replication, trend))
    return [_warning(stage, hits, len(dailies)) for stage, hits in flagged.items()]


def _warning(stage: str, hits: list[tuple[int, dict[str, float]]], replications: int) -> dict[str, Any]:
    def mean_of(key: str) -> float:
        return float(np.mean([trend[key] for _, trend in hits]))

    what = "the admission queue" if stage == "admission_queue" else f"the waiting list of {stage}"
    message = (f"{what} grew over the reported period in {len(hits)} of {replications} replications "
               f"(mean queue {mean_of('first_third_mean'):,.1f} in the first third, "
               f"{mean_of('last_third_mean'):,.1f} in the last; {mean_of('slope_per_day'):+,.2f} a day): "
               "capacity there may not keep up with demand, and results may depend on the run length "
               "(see rho in the load table of `d2asim validate`)")
    return {"stage": stage, "kind": "queue_growing", "message": message,
            "replications_affected": [r for r, _ in hits], "replications": replications,
            "queue_first_third_mean": mean_of("first_third_mean"),
            "queue_middle_third_mean": mean_of("middle_third_mean"),
            "queue_last_third_mean": mean_of("last_third_mean"),
            "queue_at_end": mean_of("at_end"), "slope_per_day": mean_of("slope_per_day"), "test": TEST}


def warning_lines(warnings: Iterable[dict[str, Any]], scenario: str | None = None) -> list[str]:
    """``warning: ...`` lines for the terminal and the top of reports."""
    prefix = f"scenario {scenario!r}: " if scenario else ""
    return [f"warning: {prefix}{w['message']}" for w in warnings]
