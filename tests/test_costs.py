"""Costs a board can cite: block contracts, spot purchase, acute bed days, net cost and
cost per bed day saved (d2asim/metrics/costs.py, comparison rows)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from helpers import build, exponential, scenario_dict

from d2asim.experiments.compare import compare
from d2asim.metrics.costs import ratio_interval
from d2asim.scenario.errors import ScenarioError
from d2asim.scenario.loader import validate_mapping

BLOCK_PRICE = 125.0  # GBP per place per day
SPOT_PRICE = 60.0  # GBP per occupied day
BED_DAY = 345.0


def _costed(p1_places: int, duration_days: int = 120) -> dict:
    return scenario_dict(
        per_day=8, beds=80, ttr=exponential(4), duration_days=duration_days, warmup_days=20,
        shares={"P0": 0.6, "P1": 0.4, "P2": 0.0, "P3": 0.0},
        settings={"P1": {"service": "p1", "assessment": {"mode": "d2a"}}},
        services={
            "p1": {"capacity": p1_places, "duration_days": exponential(8), "cost_per_place_per_day_gbp": BLOCK_PRICE,
                   "outcomes": {"home": 0.8, "home_care": 0.2}},
            "home_care": {"capacity": None, "duration_days": exponential(30), "cost_per_day_gbp": SPOT_PRICE},
        },
        acute={"beds": 80, "time_to_discharge_ready_days": {p: exponential(4) for p in ("P0", "P1", "P2", "P3")},
               "bed_day_cost_gbp": BED_DAY},
    )


def test_twenty_more_places_cost_exactly_twenty_times_price_times_days() -> None:
    base, option = build(_costed(20)), build({**_costed(40), "name": "p1_plus20"})
    table, runs = compare(base, [option], replications=3, seed=11)
    days = base.run.duration_days
    row = table[table["metric"] == "commissioning_cost_gbp"].iloc[0]
    assert row["difference"] == pytest.approx(20 * BLOCK_PRICE * days, rel=1e-12)
    assert row["ci_low"] == pytest.approx(row["ci_high"], rel=1e-12)  # deterministic: no spread
    assert row["baseline"] == pytest.approx(20 * BLOCK_PRICE * days, rel=1e-12)
    for run in runs:
        metrics = run.metrics_table()
        spot = metrics["service_bed_days.home_care"] * SPOT_PRICE
        assert np.allclose(metrics["spot_cost_gbp"], spot)  # p1 is on a block contract only
        assert np.allclose(metrics["acute_bed_days_cost_gbp"], metrics["acute_bed_days"] * BED_DAY)
        assert np.allclose(metrics["net_cost_gbp"], metrics["commissioning_cost_gbp"] + metrics["spot_cost_gbp"]
                           + metrics["acute_bed_days_cost_gbp"])


def test_net_cost_difference_is_commissioning_plus_spot_minus_value_of_bed_days_avoided() -> None:
    base, option = build(_costed(20)), build({**_costed(40), "name": "p1_plus20"})
    table, _ = compare(base, [option], replications=4, seed=3)
    d = table.set_index("metric")["difference"]
    avoided_value = d["bed_days_saved"] * BED_DAY
    assert d["net_cost_gbp"] == pytest.approx(d["commissioning_cost_gbp"] + d["spot_cost_gbp"] - avoided_value)
    per = table.set_index("metric").loc["cost_per_bed_day_saved_gbp"]
    expected = (d["commissioning_cost_gbp"] + d["spot_cost_gbp"]) / d["bed_days_saved"]
    assert per["option_value"] == pytest.approx(expected) and per["baseline"] == 0


def test_fieller_interval_matches_the_delta_method_when_saving_is_precise() -> None:
    rng = np.random.default_rng(1)
    saved = rng.normal(1000, 10, 200)
    cost = 150 * saved + rng.normal(0, 500, 200)
    ci = ratio_interval(cost, saved)
    se = np.sqrt(np.var(cost - ci["mean"] * saved, ddof=1) / 200) / saved.mean()
    assert ci["mean"] == pytest.approx(cost.mean() / saved.mean())
    assert ci["ci_high"] - ci["ci_low"] == pytest.approx(2 * 1.972 * se, rel=0.01)
    assert ci["ci_low"] < 150 < ci["ci_high"]


def test_cost_per_bed_day_not_estimable_when_saving_includes_zero() -> None:
    ci = ratio_interval(np.array([100.0, 120.0, 90.0]), np.array([5.0, -4.0, 2.0]))
    assert math.isnan(ci["ci_low"]) and math.isnan(ci["ci_high"])
    assert math.isnan(ratio_interval(np.array([1.0, 2.0]), np.array([-1.0, -2.0]))["mean"])


def test_block_price_needs_finite_places() -> None:
    data = _costed(20)
    data["services"]["home_care"]["cost_per_place_per_day_gbp"] = 10
    with pytest.raises(ScenarioError) as err:
        validate_mapping(data, "s.yaml")
    assert "services.home_care" in str(err.value) and "finite capacity" in str(err.value)
