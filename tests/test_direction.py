"""Direction of effects, with common random numbers.

Each comparison runs two scenarios that differ in one setting with the same seed
and replication numbers, so both see the same patients (arrival times, age bands,
pathways, stays and assessment times are drawn at arrival from named streams).
The paired differences across replications must have a 99% t interval entirely
on the expected side of zero.
"""

from __future__ import annotations

import numpy as np
from helpers import MIXED_SHARES, build, exponential, lognormal, mixed_ttr, scenario_dict, simulate, t_interval

CONF = 0.99
REPS = 10
SEED = 777


def base() -> dict:
    return scenario_dict(
        per_day=20.0,
        beds=135,
        ttr=mixed_ttr(),
        shares=MIXED_SHARES,
        settings={
            "P1": {"service": "p1", "assessment": {"mode": "d2a", "delay_days": exponential(1.0)}},
            "P2": {"service": "p2", "assessment": {"mode": "d2a", "delay_days": exponential(2.0)}},
            "P3": {"service": "p3", "assessment": {"mode": "d2a", "delay_days": exponential(3.0)}},
        },
        services={
            "p1": {"capacity": 35, "duration_days": exponential(6.0)},
            "p2": {"capacity": 26, "duration_days": lognormal(9.0, 6.0)},
            "p3": {"capacity": 22, "duration_days": lognormal(14.0, 10.0)},
        },
        warmup_days=60,
        duration_days=200,
    )


def paired(a: dict, b: dict, metric: str) -> tuple[float, float, float]:
    """99% t interval of metric(a) - metric(b) over replications (same seeds)."""
    sa, sb = build(a), build(b)
    diffs = []
    for rep in range(REPS):
        ma = simulate(sa, SEED, rep)[3]
        mb = simulate(sb, SEED, rep)[3]
        diffs.append(ma[metric] - mb[metric])
    mean, lo, hi = t_interval(diffs, CONF)
    print(f"{metric}: paired difference {mean:.4g} (99% CI {lo:.4g} to {hi:.4g})")
    return mean, lo, hi


def test_more_p1_capacity_fewer_delayed_bed_days() -> None:
    """P1 35 -> 43 places: fewer delayed bed days (and fewer P1 ones)."""
    low = base()
    high = base()
    high["services"]["p1"]["capacity"] = 43
    _, lo, _ = paired(low, high, "delayed_bed_days")
    assert lo > 0
    _, lo, _ = paired(low, high, "delayed_bed_days_by_pathway.P1")
    assert lo > 0


def test_d2a_saves_acute_bed_days_over_on_ward_assessment() -> None:
    """The same patients with their assessment on the ward (keeping the acute bed)
    use more acute bed days than with D2A (assessed in the service)."""
    d2a = base()
    on_ward = base()
    for p in ("P1", "P2", "P3"):
        on_ward["pathways"]["settings"][p]["assessment"]["mode"] = "on_ward"
    _, lo, _ = paired(on_ward, d2a, "acute_bed_days")
    assert lo > 0
    _, lo, _ = paired(on_ward, d2a, "delayed_bed_days_acute")
    assert lo > 0


def test_d2a_saving_equals_assessment_days_when_nothing_else_binds() -> None:
    """With unlimited beds and places and an always-open discharge window, moving
    the assessment onto the ward adds exactly the assessment time to each acute
    stay, so by Little's law the expected extra acute bed days over the reported
    period are lambda x sum_p share_p E[assessment_p] x days (20 x 0.6 x 200 =
    2400); the 99% interval of the paired difference must contain it."""

    def unlimited(mode: str) -> dict:
        data = base()
        data["acute"]["beds"] = 100_000
        for name in data["services"]:
            data["services"][name]["capacity"] = None
        for p in ("P1", "P2", "P3"):
            data["pathways"]["settings"][p]["assessment"]["mode"] = mode
        return data

    exact = 20.0 * (0.25 * 1.0 + 0.1 * 2.0 + 0.05 * 3.0) * 200
    mean, lo, hi = paired(unlimited("on_ward"), unlimited("d2a"), "acute_bed_days")
    assert lo <= exact <= hi
    assert hi - lo < 0.2 * exact


def test_more_acute_beds_shorter_admission_waits() -> None:
    """104 -> 112 acute beds (downstream capacity ample, P1 46 places; mean
    occupancy ~103 when beds are plentiful): shorter mean admission waits."""
    few = base()
    few["services"]["p1"]["capacity"] = 46
    few["acute"]["beds"] = 104
    more = base()
    more["services"]["p1"]["capacity"] = 46
    more["acute"]["beds"] = 112
    _, lo, _ = paired(few, more, "admission_wait_mean_hours")
    assert lo > 0


def test_narrower_discharge_window_more_window_delays() -> None:
    """Discharges only Mon-Fri 10-16 instead of every day 08-20: more delayed bed
    days caused by the discharge window (reason O, which only that cause has)."""
    scenario = build(base())
    assert [c for c, a in scenario.delay_reasons.items() if a.reason == "O"] == ["discharge_window"]
    wide = base()
    wide["acute"]["discharge_window"] = {"start_hour": 8, "end_hour": 20}
    narrow = base()
    narrow["acute"]["discharge_window"] = {
        "days": ["Mon", "Tue", "Wed", "Thu", "Fri"],
        "start_hour": 10,
        "end_hour": 16,
    }
    _, lo, _ = paired(narrow, wide, "delayed_bed_days_by_reason.O")
    assert lo > 0


def test_pairing_reduces_variance() -> None:
    """Common random numbers at work: the paired differences of a small capacity
    change (one more P1 place) vary far less than the metric itself across replications."""
    metric = "acute_bed_days"
    a, b = base(), base()
    b["services"]["p1"]["capacity"] = a["services"]["p1"]["capacity"] + 1
    sa, sb = build(a), build(b)
    xa, xb = [], []
    for rep in range(REPS):
        xa.append(simulate(sa, SEED, rep)[3][metric])
        xb.append(simulate(sb, SEED, rep)[3][metric])
    diff_sd = np.std(np.subtract(xa, xb), ddof=1)
    assert diff_sd < 0.5 * np.std(xa, ddof=1)
