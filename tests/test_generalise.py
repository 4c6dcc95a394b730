"""scripts/generalise.py: a calibration.json document becomes rows (with the model's MAE
over each naive forecast's), the summary counts them, and --from-folders rebuilds them."""

from __future__ import annotations

import json
from pathlib import Path
from types import ModuleType
from typing import Any

import pandas as pd
import pytest
from helpers import load_script

from d2asim.scenario.errors import ScenarioError


@pytest.fixture(scope="module")
def script() -> ModuleType:
    return load_script("generalise")


def _series(mae: float, naive: dict[str, float]) -> dict[str, Any]:
    best = min(naive, key=lambda k: naive[k])
    return {"n": 12, "mae": mae, "bias": -1.0, "naive": naive, "best_naive": best, "best_naive_mae": naive[best],
            "mase": mae / naive[best], "coverage_80": 0.75, "coverage_90": 0.9}


DOC = {"backtest": {"nctr_remaining": _series(6.0, {"fit_mean": 8.0, "last_month": 4.0}),  # no year before
                    "acute_occupancy": _series(3.0, {"fit_mean": 6.0, "last_month": 2.0, "same_month_last_year": 4.0}),
                    "los14_waiting_P1": _series(1.0, {"fit_mean": 2.0}),  # not a generalisation series
                    "discharges_P1": {"n": 0}},  # no test month: no row
       "backtest_anchored": {"nctr_remaining": {"mae": 5.0, "mase": 1.25, "coverage_90": 0.5}},
       "stability": {"stable": True, "chosen_rank": 1}, "verdict": {"fit_for_planning": False},
       "run_seconds": 41.6, "test_period": {"start": "2023-04", "end": "2024-03"}}


def test_rows_and_summary(script: ModuleType) -> None:
    rows = script.rows_of(DOC, "RKE", "2022-04:2023-03", "2023-04:2024-03")
    assert [r["series"] for r in rows] == ["nctr_remaining", "acute_occupancy"]
    nctr, occupancy = rows
    assert (nctr["mase"], nctr["mase_fit_mean"], nctr["mase_last_month"], nctr["mase_same_month_last_year"]) == (
        1.5, 0.75, 1.5, None)
    assert (occupancy["mase_fit_mean"], occupancy["mase_same_month_last_year"]) == (0.5, 0.75)
    assert (nctr["anchored_mase"], occupancy["anchored_mase"], nctr["seconds"], nctr["rerun_rank"]) == (
        1.25, None, 42, 1)
    assert nctr["region"] == "London" and nctr["beds"] > 0
    text = script.summary(pd.DataFrame(rows))
    assert ("nctr_remaining: MAE below each naive forecast's: fit_mean in 1 of 1, last_month in 0 of 1, "
            "same_month_last_year in 0 of 0") in text
    assert "stable reruns: 1 of 1 (1 after the search's best point's rerun failed); fit for planning: 0 of 1" in text


def test_from_folders_rebuilds_the_rows_or_says_what_is_missing(script: ModuleType, tmp_path: Path) -> None:
    folder = script.folder_of(tmp_path, "RKE", "2022-04:2023-03")
    with pytest.raises(ScenarioError, match="RKE-2022-04_2023-03/calibration.json: no calibration.json"):
        script.from_folder("RKE", "2022-04:2023-03", tmp_path)
    folder.mkdir()
    (folder / "calibration.json").write_text(json.dumps(DOC))
    rebuilt = script.from_folder("RKE", "2022-04:2023-03", tmp_path)
    assert rebuilt == script.rows_of(DOC, "RKE", "2022-04:2023-03", "2023-04:2024-03")
