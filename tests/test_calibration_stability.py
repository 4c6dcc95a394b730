"""The calibration's stability check: an admission queue that grows or ends high, and a
wait for a P1-P3 place that grows, make a point unstable (and penalised); a long but
steady wait for a place does not."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from d2asim.calibration.backtest import stability, verdict
from d2asim.calibration.simfit import QUEUE, WAITING_CHECKS, stability_penalty, unstable_queues

DAYS = 360
BEDS = 400


def frame(queue: np.ndarray | None = None, **waits: np.ndarray) -> pd.DataFrame:
    index = pd.date_range("2022-04-01", periods=DAYS, freq="D")
    data = {QUEUE: np.zeros(DAYS) if queue is None else queue}
    for name in WAITING_CHECKS:
        data[name] = waits.get(name.removesuffix("_check"), np.full(DAYS, 3.0))
    return pd.DataFrame(data, index=index)


def test_a_growing_wait_for_a_place_is_unstable_and_a_long_steady_one_is_not() -> None:
    growing = np.linspace(2.0, 40.0, DAYS)
    steady = 25.0 + 2.0 * np.sin(np.arange(DAYS) / 9.0)
    assert unstable_queues(frame(waiting_p2=growing), BEDS) == {"waiting_p2_check": growing[-30:].mean()}
    assert unstable_queues(frame(waiting_p2=steady), BEDS) == {}
    first, last = dt.date(2022, 4, 1), dt.date(2023, 3, 26)
    assert stability_penalty([frame(waiting_p2=steady)], first, last, BEDS) == 0.0
    penalty = stability_penalty([frame(waiting_p2=steady), frame(waiting_p2=growing)], first, last, BEDS)
    assert penalty == 100 + 1000 * growing[-30:].mean() / BEDS


def test_the_admission_queue_rule_is_unchanged() -> None:
    high = np.full(DAYS, 0.06 * BEDS)  # at the cliff from the start: does not grow, ends above 5% of the beds
    assert set(unstable_queues(frame(queue=high), BEDS)) == {QUEUE}
    assert unstable_queues(frame(queue=np.full(DAYS, 0.04 * BEDS)), BEDS) == {}


def test_the_rerun_check_names_the_failing_queues_in_the_verdict() -> None:
    growing = np.linspace(2.0, 40.0, DAYS)
    checked = stability([frame(), frame(waiting_p1=growing)], BEDS)
    assert not checked["stable"] and checked["replications_unstable"] == 1
    assert checked["replications_failing_by_queue"] == {"admission_queue": 0, "waiting_p1": 1,
                                                        "waiting_p2": 0, "waiting_p3": 0}
    document = {"stability": checked, "simulated_drift": {}, "backtest": {}, "targets": {}}
    assert "the fitted scenario's queues grow (waiting p1)" in verdict(document)["sentence"]
