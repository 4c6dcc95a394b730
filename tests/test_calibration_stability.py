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


def test_the_searchs_margin_fails_a_rise_the_reruns_test_lets_pass() -> None:
    rising = np.linspace(4.0, 16.0, DAYS)  # the thirds rise by 8 people (6 -> 14): under the 10 of the rerun
    assert unstable_queues(frame(waiting_p3=rising), BEDS) == {}
    assert set(unstable_queues(frame(waiting_p3=rising), BEDS, margin=0.5)) == {"waiting_p3_check"}
    ending = np.full(DAYS, 0.03 * BEDS)  # 3% of the beds: above the search's 2.5%, under the rerun's 5%
    assert unstable_queues(frame(queue=ending), BEDS) == {}
    assert set(unstable_queues(frame(queue=ending), BEDS, margin=0.5)) == {QUEUE}


class _Points:
    """The search's record of three points: their objectives (the best first)."""

    def __init__(self) -> None:
        self.cache = {(1.0,): (2.0, None), (2.0,): (2.5, None), (3.0,): (3.0, None)}

    def best(self) -> tuple[tuple[float, ...], float]:
        return (1.0,), 2.0

    def ranked(self, n: int) -> list[tuple[float, ...]]:
        return sorted(self.cache, key=lambda p: self.cache[p][0])[:n]


class _Runs:
    """A simulator whose point (2.0,) alone has stable queues; it records the batches asked for."""

    def __init__(self, stable: set[float]) -> None:
        self.stable, self.batches = stable, []

    def run(self, jobs):  # type: ignore[no-untyped-def]
        self.batches.append([scenario for scenario, _seed, _reps in jobs])
        growing = np.linspace(2.0, 40.0, DAYS)
        return [[frame() if point in self.stable else frame(waiting_p2=growing)] for point, in
                (scenario for scenario, _s, _r in jobs)]


class _Problem:
    def scenario(self, values, days):  # type: ignore[no-untyped-def]
        return values  # the simulator stub reads the point itself

    def beds(self) -> int:
        return BEDS


def _options(candidates: int) -> object:
    from d2asim.calibration.config import Optimiser
    return Optimiser(stable_candidates=candidates, final_replications=2)


def test_an_unstable_best_fit_gives_way_to_the_best_stable_search_point() -> None:
    from d2asim.calibration.command import stable_rerun
    runs = _Runs(stable={2.0})
    point, frames, record = stable_rerun(_Problem(), runs, _Points(), _options(3), DAYS, lambda _m: None)
    assert point == (2.0,) and stability(frames, BEDS)["stable"]
    assert runs.batches == [[(1.0,)], [(2.0,), (3.0,)]]  # the best first, then the others in one batch
    assert record == {"candidates_rerun": 3, "chosen_rank": 1, "candidate_objectives": [2.0, 2.5, 3.0]}


def test_a_stable_best_fit_is_kept_without_rerunning_others_and_none_stable_keeps_the_best() -> None:
    from d2asim.calibration.command import stable_rerun
    runs = _Runs(stable={1.0, 2.0})
    point, _frames, record = stable_rerun(_Problem(), runs, _Points(), _options(3), DAYS, lambda _m: None)
    assert point == (1.0,) and runs.batches == [[(1.0,)]] and record["candidates_rerun"] == 1
    runs = _Runs(stable=set())
    point, frames, record = stable_rerun(_Problem(), runs, _Points(), _options(1), DAYS, lambda _m: None)
    assert point == (1.0,) and not stability(frames, BEDS)["stable"]
    assert record == {"candidates_rerun": 2, "chosen_rank": 0, "candidate_objectives": [2.0, 2.5]}


def _document(checked: dict[str, object]) -> dict[str, object]:
    return {"objective": {"start": 3.0, "found": 2.5, "final": 2.4}, "optimiser": {"final_replications": 8},
            "parameters": {}, "stability": checked}


def test_the_report_says_which_search_point_was_kept_and_which_queues_grew() -> None:
    from d2asim.report.calibration_report import findings
    growing = np.linspace(2.0, 40.0, DAYS)
    kept = {**stability([frame()], BEDS), "candidates_rerun": 3, "chosen_rank": 2,
            "candidate_objectives": [2.0, 2.2, 2.5]}
    assert ("the fitted scenario is the search's number 3 (objective 2.5 against 2), the best whose rerun is "
            "stable") in " ".join(findings(_document(kept)))
    failed = {**stability([frame(), frame(waiting_p3=growing)], BEDS), "candidates_rerun": 4, "chosen_rank": 0,
              "candidate_objectives": [2.0, 2.2, 2.5, 2.6]}
    text = " ".join(findings(_document(failed)))
    assert "queues grow (waiting p3 in 1 of 2 replications;" in text
    assert "and so did the next 3 best search points' reruns: the fit is not usable" in text
    assert "search's number" not in " ".join(findings(_document(stability([frame()], BEDS))))
