"""The bundled NCL system (``scenarios/ncl/``): Haringey's D2A saves acute bed days in
both trusts its residents use, and reaches Islington's residents only through what they
share (the shared beds and places, the Whittington's beds).

Runs are shortened (``SHORT``) to keep the file under a minute; the paired comparisons
use common random numbers (same seed, same patients).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from helpers import t_interval

from d2asim.runner import run_replication, run_replications
from d2asim.scenario.loader import load_scenario, with_overrides
from d2asim.scenario.schema import Scenario

NCL = Path(__file__).resolve().parent.parent / "scenarios" / "ncl"
SHORT = {"run.warmup_days": 150, "run.duration_days": 150}
D2A = {f"boroughs.haringey.pathways.settings.{p}.assessment.mode": "d2a" for p in ("P1", "P2", "P3")}


def scenario(name: str, overrides: dict[str, Any] | None = None) -> Scenario:
    return with_overrides(load_scenario(NCL / name), {**SHORT, **(overrides or {})})


@pytest.mark.slow
def test_haringey_d2a_saves_bed_days_in_its_trusts_and_barely_moves_islington() -> None:
    """Paired on common random numbers, 99% t intervals. Islington's residents share the
    Whittington's beds, the intermediate-care beds and the care-home market with
    Haringey's, so their figures may move, but by little: the whole 99% interval of
    Islington's change lies within 10% of Haringey's saving."""
    reps, seed = 4, 7
    base = run_replications(scenario("baseline.yaml"), reps, seed)
    d2a = run_replications(scenario("haringey_d2a.yaml"), reps, seed)

    def saved(scope: str, metric: str = "acute_bed_days") -> tuple[float, float, float]:
        x, y = base.metrics_table(scope)[metric].to_numpy(), d2a.metrics_table(scope)[metric].to_numpy()
        return t_interval(x - y, 0.99)

    for scope in ("trust:whittington", "trust:north_middlesex", "borough:haringey"):
        mean, lo, hi = saved(scope)
        print(f"{scope}: {mean:.0f} acute bed days saved in 150 days, 99% CI {lo:.0f} to {hi:.0f}")
        assert lo > 0, (scope, mean, lo, hi)
    haringey = saved("borough:haringey")[0]
    for metric in ("acute_bed_days", "delayed_bed_days"):
        mean, lo, hi = saved("borough:islington", metric)
        print(f"borough:islington {metric}: {mean:.1f} saved, 99% CI {lo:.1f} to {hi:.1f} "
              f"({100 * max(abs(lo), abs(hi)) / haringey:.1f}% of Haringey's saving at most)")  # fmt: skip
        assert -0.1 * haringey < lo <= hi < 0.1 * haringey, (metric, mean, lo, hi, haringey)


def separated(overrides: dict[str, Any]) -> Scenario:
    """``split_shared.yaml`` with nothing left that Islington's residents share with
    Haringey's: enough Whittington beds that no one waits for one, and Islington's own
    (unlimited, initially empty) care-home placements instead of the shared sink."""
    own_sink = {
        "services.care_homes.shared_by": ["enfield", "haringey"],  # with its first occupants
        "services.islington_care_homes": {
            "kind": "permanent_care_home", "setting": "bed", "borough": "islington", "capacity": None,
            "duration_days": {"type": "lognormal", "median": 540, "mean": 800}, "outcomes": {"death": 1.0},
        },
        "services.islington_reablement.outcomes": {"care_homes": 0.0, "islington_care_homes": 0.04},
        "services.islington_home_care.outcomes": {"care_homes": 0.0, "islington_care_homes": 0.25},
        "services.islington_intermediate_care_beds.outcomes": {"care_homes": 0.0, "islington_care_homes": 0.10},
        "services.islington_care_home_assessment_beds.outcomes": {"care_homes": 0.0, "islington_care_homes": 0.75},
    }  # fmt: skip
    # The system engine gives people who start in a service that no pathway enters first
    # (home care, care homes) the first site (Islington -> Whittington) as their origin,
    # whoever commissions the service; start those services empty here.
    chained_services = ("islington_home_care", "haringey_home_care", "enfield_home_care", "care_homes")
    chained = {f"initial_state.services_occupied.{name}": 0 for name in chained_services}
    return scenario("split_shared.yaml", {"trusts.whittington.beds": 400, **own_sink, **chained, **overrides})


@pytest.mark.slow
def test_islington_is_exactly_unchanged_by_haringey_d2a_when_nothing_is_shared() -> None:
    """Random streams are named by place, so when Islington's residents share no place
    with Haringey's, Haringey's D2A leaves every Islington figure exactly as it was; with
    the shared beds and places of the baseline it does not."""
    apart, apart_d2a = separated({}), separated(D2A)
    for rep in range(2):
        a, b = run_replication(apart, 3, rep), run_replication(apart_d2a, 3, rep)
        assert a.by_place["borough:islington"] == b.by_place["borough:islington"]
        assert a.by_place["borough:haringey"]["acute_bed_days"] > b.by_place["borough:haringey"]["acute_bed_days"]
        assert a.by_place["trust:whittington"]["admission_wait_mean_hours"] == 0  # no one waited for a bed
    shared, shared_d2a = scenario("baseline.yaml"), scenario("haringey_d2a.yaml")
    a, b = run_replication(shared, 3, 0), run_replication(shared_d2a, 3, 0)
    assert a.by_place["borough:islington"] != b.by_place["borough:islington"]
