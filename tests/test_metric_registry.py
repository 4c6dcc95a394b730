"""The metric registry names every metric a run writes, and every view reads it."""

from __future__ import annotations

import pytest

from d2asim.metrics.registry import COMPARE_KEYS, METRICS, RUN_BREAKDOWNS, RUN_HEADLINE, SWEEP_KEYS, describe, fmt
from d2asim.run_folder import summary_document
from d2asim.runner import run_replications
from d2asim.scenario.loader import load_scenario


@pytest.fixture(scope="module")
def summary_metrics() -> dict:
    scenario = load_scenario("scenarios/baseline.yaml", {"run.duration_days": 40, "run.warmup_days": 10})
    return summary_document(run_replications(scenario, 2, 3))["metrics"]


def test_every_summary_metric_is_in_the_registry(summary_metrics: dict) -> None:
    assert set(summary_metrics) - set(METRICS) == set()
    for key, entry in summary_metrics.items():
        if "mean" not in entry:  # a family: one entry per member
            member = next(iter(entry))
            assert member in describe(f"{key}.{member}").label


def test_views_only_name_registered_metrics() -> None:
    for key in (*RUN_HEADLINE, *RUN_BREAKDOWNS, *COMPARE_KEYS, *SWEEP_KEYS):
        assert key in METRICS, key
    assert all(METRICS[k].can_be_negative is False for k in RUN_HEADLINE)
    assert METRICS["bed_days_saved"].can_be_negative


def test_text_uses_the_metric_decimals() -> None:
    assert describe("cost_total_gbp").text(28_512_345.6) == "28,512,346"
    assert describe("acute_occupancy_pct").text(97.84) == "97.8"
    assert describe("bed_days_saved").text(1234.4, signed=True) == "+1,234"
    assert describe("service_utilisation_pct.p1").label == "Utilisation, p1"
    assert describe("not_a_metric").label == "not_a_metric"
    assert fmt(-0.001, 1, signed=True) == "0.0" and fmt(None, 1) == "–"
    assert describe("cost_total_gbp").excel_format() == "#,##0"
    assert describe("acute_occupancy_pct").excel_format() == "#,##0.0"
