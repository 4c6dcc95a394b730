"""The notebook API returns DataFrames and agrees with the underlying functions."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import yaml
from helpers import build, lognormal, scenario_dict

import d2asim
from d2asim.scenario.loader import scenario_to_dict


def _scenario_file(tmp_path: Path) -> Path:
    data = scenario_dict(per_day=8.0, beds=60, ttr=lognormal(4.0, 3.0), shares={"P0": 0.7, "P1": 0.3, "P2": 0, "P3": 0},
                         settings={"P1": {"service": "p1"}}, services={"p1": {"capacity": 14,
                                                                               "duration_days": lognormal(5, 3)}},
                         warmup_days=10, duration_days=60, population={"adults_18plus": 100_000})
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(scenario_to_dict(build(data))))
    return path


def test_api_functions_return_dataframes(tmp_path: Path) -> None:
    path = _scenario_file(tmp_path)
    result = d2asim.run_replications(path, replications=3, seed=2)
    summary = result.summary()
    assert isinstance(summary, pd.DataFrame) and {"mean", "ci_low", "ci_high"} <= set(summary.columns)
    assert summary.loc["delayed_bed_days", "mean"] == result.metrics_table()["delayed_bed_days"].mean()
    option = d2asim.load_scenario(path, overrides={"services.p1.capacity": 20, "name": "more"})
    table = d2asim.compare(path, [option], replications=3, seed=2)
    assert set(table.option) == {"more"} and "bed_days_saved" in set(table.metric)
    grid = d2asim.sweep(path, {"services.p1.capacity": [12, 20]}, replications=2, seed=2, workers=2)
    assert list(grid["services.p1.capacity"]) == [12, 20]
    answer, tried = d2asim.capacity_needed(path, "p1", "dtoc_beds_per_day<=0.5", replications=2, seed=2)
    assert isinstance(tried, pd.DataFrame) and answer["service"] == "p1"
    days, series = d2asim.suggest_warmup(path, replications=2, seed=2, days=60)
    assert days % 7 == 0 and len(series) == 60
