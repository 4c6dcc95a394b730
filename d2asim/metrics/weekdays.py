"""The weekend's cost: delayed bed days by the weekday the patient became ready to leave.

A delay in an acute bed belongs to the episode's discharge-ready time (the board
round that confirmed it); a delay in a service counted as DTOC begins when the
service episode ended, which is when the person was ready to move on.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from d2asim.model.log import ACUTE_PLACE, EventLog
from d2asim.scenario.schema import WEEKDAYS

KEY_SPAN = 1e5  # days: every simulated time is below this, so pid x KEY_SPAN + time orders (pid, time)


def ready_times(log: EventLog, dtoc: dict[str, np.ndarray]) -> np.ndarray:
    """For each DTOC delay segment, the time (days) its patient became ready."""
    acute = log.table("acute")
    has_ready = ~np.isnan(acute["ready"])
    keys = acute["patient"][has_ready] * KEY_SPAN + acute["ready"][has_ready]
    order = np.argsort(keys, kind="stable")
    keys, ready = keys[order], acute["ready"][has_ready][order]
    in_acute = dtoc["place"] == ACUTE_PLACE
    out = dtoc["start"].astype(float).copy()  # non-acute: the wait starts when the episode ends
    seg_keys = dtoc["patient"][in_acute] * KEY_SPAN + dtoc["start"][in_acute]
    at = np.searchsorted(keys, seg_keys, side="right") - 1  # this patient's latest readiness at or before
    out[in_acute] = ready[np.clip(at, 0, None)] if ready.size else out[in_acute]
    return out


def delayed_by_ready_weekday(
    log: EventLog, dtoc: dict[str, np.ndarray], integrals: Callable[[np.ndarray], np.ndarray], first_weekday: int
) -> dict[str, float]:
    """``delayed_bed_days_by_ready_weekday.<Mon..Sun>``: delayed bed days within one
    reported period by the weekday of discharge readiness; ``integrals`` is
    :func:`d2asim.metrics.intervals.selected_integrals` of the segments over that period
    (its edges sorted once for the seven weekdays)."""
    weekday = (first_weekday + np.floor(ready_times(log, dtoc)).astype(int)) % 7
    return {f"delayed_bed_days_by_ready_weekday.{name}": float(integrals(weekday == i)[0])
            for i, name in enumerate(WEEKDAYS)}  # fmt: skip
