"""Step changes: a level shift found in a monthly series, and a ``step`` parameter that
turns fields into dated schedules from the step's date (applied to the fitted values)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from d2asim.calibration.command import plan
from d2asim.calibration.steps import T_MIN, level_shift
from d2asim.scenario.errors import ScenarioError

ROOT = Path(__file__).resolve().parents[1]
MONTHS = [str(m) for m in pd.period_range("2022-04", "2023-03", freq="M")]


def series(values: np.ndarray) -> pd.Series:
    return pd.Series(values, index=MONTHS)


def test_a_clear_step_is_found_at_its_month() -> None:
    noise = np.random.default_rng(4).normal(0, 2.0, 12)
    shift = level_shift(series(np.r_[np.full(7, 35.0), np.full(5, 52.0)] + noise))
    assert shift is not None and shift.month == "2022-11" and shift.t > T_MIN
    assert shift.ratio == pytest.approx(shift.after / shift.before) and 1.3 < shift.ratio < 1.7


def test_noise_alone_or_a_small_shift_is_not_a_step() -> None:
    """Under no step, the largest split statistic exceeds T_MIN in few noise-only series
    (independent normal noise, fixed seeds): at most 10% of 400 (a 5% design rate; 10% is
    its binomial 99.9% upper bound), and a 5% shift is never a step however clean."""
    rng = np.random.default_rng(11)
    found = sum(level_shift(series(40 + rng.normal(0, 3, 12))) is not None for _ in range(400))
    assert found <= 40
    assert level_shift(series(np.r_[np.full(6, 40.0), np.full(6, 42.0)] + rng.normal(0, 0.01, 12))) is None


def _config(tmp_path: Path, step: dict) -> Path:
    config = yaml.safe_load((ROOT / "calibration" / "rke.yaml").read_text())
    config["base_scenario"] = str(ROOT / "scenarios" / "baseline.yaml")
    config["data"] = {k: {**v, "file": str(ROOT / "calibration" / v["file"])} for k, v in config["data"].items()}
    config["parameters"]["wait_step"] = {"step": step, "bounds": [0.5, 3.0]}
    (tmp_path / "cal.yaml").write_text(yaml.safe_dump(config))
    return tmp_path / "cal.yaml"


def test_a_step_parameter_schedules_its_fields_from_the_fitted_values(tmp_path: Path) -> None:
    p = plan(_config(tmp_path, {"from": "2022-10-01", "paths": ["pathways.settings.P0.assessment.delay_scale",
                                                                 "services.p1.capacity"]}))
    values = dict(zip(p.problem.names, p.problem.start_values(), strict=True))
    values["services.p1.capacity"], values["wait_step"] = 80.0, 2.0
    overrides = p.problem.overrides(list(values.values()))
    assert overrides["pathways.settings.P0.assessment.delay_scale"] == {
        "base": 1.0, "changes": [{"from": "2022-10-01", "value": 2.0}]}
    assert overrides["services.p1.capacity"] == {"base": 80, "changes": [{"from": "2022-10-01", "value": 160}]}
    scenario = p.problem.scenario(list(values.values()))
    assert scenario.services["p1"].capacity.changes[0].value == 160


def test_a_step_on_a_field_that_is_not_a_number_is_one_clear_line(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError) as info:
        plan(_config(tmp_path, {"from": "2022-10-01", "paths": ["pathways.settings.P0.assessment.delay_days"]}))
    assert len(info.value.lines) == 1
    assert "parameters.wait_step.step" in info.value.lines[0] and "is not a plain number" in info.value.lines[0]
