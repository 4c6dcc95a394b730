"""Scenarios travel to worker processes by pickle: every bundled scenario, and one with
dated schedules (a calibration's observed bed base), must survive the trip, and a
calibration's simulator must give the same series on two workers as on one."""

from __future__ import annotations

import pickle
from pathlib import Path

import pandas as pd
import pytest

from d2asim.calibration.simfit import ModelSpec, Simulator
from d2asim.scenario.loader import load_scenario, with_overrides
from d2asim.scenario.schema import Scenario

ROOT = Path(__file__).resolve().parents[1]
BUNDLED = sorted((ROOT / "scenarios").rglob("*.yaml"))
SCHEDULES = {
    "run.warmup_days": 0, "run.duration_days": 40,
    "acute.beds": {"base": 230, "changes": [{"from": "2023-04-20", "value": 210}]},
    "services.p1.capacity": {"base": 74, "changes": [{"from": "2023-04-10", "value": 60}]},
    "arrivals.non_elective.per_day": {"base": 46.0, "changes": [{"from": "2023-04-15", "value": 50.5}]},
}


def scheduled() -> Scenario:
    return with_overrides(load_scenario(ROOT / "scenarios" / "baseline.yaml"), SCHEDULES)


@pytest.mark.parametrize("path", BUNDLED, ids=[str(p.relative_to(ROOT / "scenarios")) for p in BUNDLED])
def test_bundled_scenario_survives_pickling(path: Path) -> None:
    scenario = load_scenario(path)
    assert pickle.loads(pickle.dumps(scenario)) == scenario


def test_scheduled_fields_survive_pickling_with_their_values() -> None:
    scenario = scheduled()
    back = pickle.loads(pickle.dumps(scenario))
    assert back == scenario
    assert back.acute.beds.changes[0].value == 210 and isinstance(back.acute.beds.base, int)
    assert back.arrivals.non_elective.per_day.changes[0].value == 50.5


def test_two_workers_give_the_series_of_one() -> None:
    specs = (ModelSpec("occupied", "acute_occupied", at_hour=8), ModelSpec("nctr", "nctr", 23.99))
    jobs = [(scheduled(), 7, [0, 1])]
    with Simulator(specs, 1) as one:
        serial = one.run(jobs)
    with Simulator(specs, 2) as two:
        parallel = two.run(jobs)
    for a, b in zip(serial[0], parallel[0], strict=True):
        pd.testing.assert_frame_equal(a, b)
