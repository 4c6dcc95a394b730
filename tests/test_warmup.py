"""Warm-up judged on every stock: MSER-5 per stock, the longest sets the suggestion,
stocks still moving are flagged (d2asim/experiments/warmup.py, `d2asim warmup`)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import yaml
from click.testing import CliRunner
from helpers import build, exponential, scenario_dict

from d2asim.cli import main
from d2asim.experiments.warmup import judge_stocks, stock_columns, suggest_warmup, warmup_runs
from d2asim.scenario.loader import scenario_to_dict


def test_each_stock_is_judged_and_the_slowest_comes_first() -> None:
    rng = np.random.default_rng(4)
    days = np.arange(600)
    reps = [pd.DataFrame({
        "replication": r, "day": days,
        "fast": 50 + rng.normal(0, 1, 600) - 30 * np.exp(-days / 10),  # settles in weeks
        "slow": 20 + rng.normal(0, 0.5, 600) - 15 * np.exp(-days / 40),  # settles in months
        "drifting": 5 + 0.05 * days + rng.normal(0, 0.5, 600),  # never settles
    }) for r in range(5)]
    daily = pd.concat(reps, ignore_index=True)
    mean = daily.groupby("day").mean()
    judged = judge_stocks(daily, ["fast", "slow", "drifting"]).set_index("stock")
    assert list(judged.index)[0] == "drifting" and not judged.loc["drifting", "settled"]
    assert "rises" in judged.loc["drifting", "why_not"] or "half the series" in judged.loc["drifting", "why_not"]
    assert judged.loc["fast", "settled"] and judged.loc["slow", "settled"]
    assert 20 <= judged.loc["fast", "truncation_days"] < judged.loc["slow", "truncation_days"] <= 400
    assert judged.loc["slow", "level_after"] == mean["slow"].iloc[judged.loc["slow", "truncation_days"]:].mean()


def _scenario(initial: bool) -> dict:
    data = scenario_dict(per_day=6, beds=60, ttr=exponential(3), shares={"P0": 0.5, "P1": 0.5, "P2": 0, "P3": 0},
                         settings={"P1": {"service": "p1", "assessment": {"mode": "d2a"}}},
                         services={"p1": {"capacity": 40, "duration_days": exponential(10)}},
                         warmup_days=14, duration_days=200)
    if initial:
        data["initial_state"] = {"services_occupied": {"p1": 30}}
    return data


def test_every_stock_is_a_column_and_the_suggestion_is_the_longest() -> None:
    scenario = build(_scenario(initial=False))
    assert stock_columns(scenario) == ["acute_occupied", "admission_queue", "p1_occupied", "p1_waiting"]
    suggested, series = suggest_warmup(scenario, 3, 1, 200)
    judged = judge_stocks(warmup_runs(scenario, 3, 1, 200), stock_columns(scenario))
    assert suggested == int(np.ceil(judged["truncation_days"].max() / 7) * 7) and len(series) == 200
    assert suggested >= 14  # from empty, P1 (30 places in use at 10-day stays) takes weeks to fill


def test_initial_state_is_used_unless_empty_is_asked() -> None:
    scenario = build(_scenario(initial=True))
    _, from_state = suggest_warmup(scenario, 2, 1, 60)
    _, empty = suggest_warmup(scenario, 2, 1, 60, empty=True)
    assert from_state["p1_occupied"].iloc[0] > 25 and empty["p1_occupied"].iloc[0] < 5


def test_cli_names_the_longest_stock_and_lists_every_stock(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(scenario_to_dict(build(_scenario(initial=False)))))
    result = CliRunner().invoke(main, ["warmup", str(path), "--reps", "2", "--days", "120", "--workers", "1",
                                       "--quiet", "--empty"])
    assert result.exit_code == 0, result.output
    assert "Suggested warm-up:" in result.output and "Longest: " in result.output and "started empty" in result.output
    for stock in ("acute_occupied", "admission_queue", "p1_occupied", "p1_waiting"):
        assert f"\n{stock} " in result.output
