"""Each switchable model feature does what the scenario says (read from the event log)."""

from __future__ import annotations

import datetime as dt

import numpy as np
from helpers import build, exponential, fixed, lognormal, scenario_dict, simulate, t_interval

from d2asim.metrics.series import delay_attribution, dtoc_segments
from d2asim.model.engine import sim_start_date


def _p1_scenario(assessment: dict, **extra: object) -> dict:
    return scenario_dict(
        per_day=10.0, beds=200, ttr=fixed(2.0), shares={"P0": 0.5, "P1": 0.5, "P2": 0.0, "P3": 0.0},
        settings={"P1": {"service": "p1", "assessment": assessment}},
        services={"p1": {"duration_days": fixed(5.0)}}, warmup_days=10, duration_days=60, **extra,
    )


def _p1_stays(data: dict) -> np.ndarray:
    _, log, _, _ = simulate(build(data), 1, 0)
    services = log.table("services")
    done = np.isfinite(services["leave"])
    return (services["end"] - services["start"])[done]


def test_d2a_assessment_overlaps_the_stay_by_default() -> None:
    short = _p1_stays(_p1_scenario({"mode": "d2a", "delay_days": fixed(3.0)}))
    long = _p1_stays(_p1_scenario({"mode": "d2a", "delay_days": fixed(7.0)}))
    extend = _p1_stays(_p1_scenario({"mode": "d2a", "delay_days": fixed(3.0), "d2a_stay": "extend"}))
    on_ward = _p1_stays(_p1_scenario({"mode": "on_ward", "delay_days": fixed(3.0)}))
    assert np.allclose(short, 5.0)  # max(5, 3)
    assert np.allclose(long, 7.0)  # max(5, 7)
    assert np.allclose(extend, 8.0)  # 5 + 3
    assert np.allclose(on_ward, 5.0)  # assessed on the ward, not in the service


def test_discharge_ready_only_inside_its_window() -> None:
    window = {"days": ["Mon", "Tue", "Wed", "Thu", "Fri"], "start_hour": 8, "end_hour": 12}
    data = _p1_scenario({"mode": "d2a"})
    data["acute"]["time_to_discharge_ready_days"] = {p: lognormal(3.0, 2.0) for p in ("P0", "P1", "P2", "P3")}
    data["acute"]["discharge_ready_window"] = window
    data["acute"]["death_probability"] = 0.1
    scenario = build(data)
    _, log, _, _ = simulate(scenario, 2, 0)
    acute = log.table("acute")
    ready = acute["ready"][np.isfinite(acute["ready"])]
    hours = (ready % 1.0) * 24
    weekday = (sim_start_date(scenario).weekday() + np.floor(ready).astype(int)) % 7
    assert ready.size > 300
    assert ((hours >= 8 - 1e-9) & (hours < 12)).all() and (weekday < 5).all()
    died = acute["died"] == 1
    death_hours = ((acute["leave"][died] % 1.0) * 24)
    assert died.sum() > 20 and (death_hours >= 12).any()  # deaths are not moved into the window


def test_pathway_assessment_delay_reason_overrides_the_default() -> None:
    data = _p1_scenario({"mode": "on_ward", "delay_days": fixed(3.0)})
    data["pathways"]["settings"]["P0"] = {"assessment": {"mode": "on_ward", "delay_days": fixed(0.5),
                                                         "delay_reason": {"reason": "G", "org": "nhs"}}}
    scenario = build(data)
    _, log, _, metrics = simulate(scenario, 3, 0)
    dtoc = dtoc_segments(log, scenario)
    reason, org = delay_attribution(dtoc, scenario)
    p0 = dtoc["pathway"] == 0
    assert (reason[p0] == "G").all() and (org[p0] == "nhs").all()
    assert (reason[~p0] == "A").all()  # P1 keeps the default for assessment
    assert metrics["delayed_bed_days_by_reason.G"] > 0


def test_initial_state_removes_the_start_up_transient() -> None:
    """Started with the steady-state numbers in beds and services (remaining stays
    from the length-biased residual), the first fortnight's occupancy matches the
    long-run mean; started empty it is far below it."""
    data = scenario_dict(
        per_day=20.0, beds=400, ttr=lognormal(6.0, 5.0), shares={"P0": 0.7, "P1": 0.3, "P2": 0.0, "P3": 0.0},
        settings={"P1": {"service": "p1"}}, services={"p1": {"duration_days": lognormal(20.0, 15.0)}},
        warmup_days=0, duration_days=200,
    )
    seeded = dict(data, initial_state={"acute_occupied": 120, "services_occupied": {"p1": 120}})
    first, later, empty_first = [], [], []
    for rep in range(8):
        _, _, daily, _ = simulate(build(seeded), 5, rep)
        first.append(daily["acute_occupied"].iloc[:14].mean())
        later.append(daily["acute_occupied"].iloc[60:].mean())
        p1_first = daily["p1_occupied"].iloc[:14].mean()
        assert abs(p1_first - 120) < 25
        _, _, empty, _ = simulate(build(data), 5, rep)
        empty_first.append(empty["acute_occupied"].iloc[:14].mean())
    _, lo, hi = t_interval(np.subtract(first, later), 0.99)
    assert lo < 0 < hi  # no transient: first fortnight = long run (lambda x E[stay] = 120)
    assert max(empty_first) < 100


def test_escalation_beds_open_only_when_core_beds_are_nearly_full() -> None:
    data = scenario_dict(per_day=20.0, beds=110, ttr=exponential(5.0), warmup_days=20, duration_days=200,
                         acute={"beds": 110, "time_to_discharge_ready_days": {p: exponential(5.0) for p in
                                                                               ("P0", "P1", "P2", "P3")},
                                "escalation": {"beds": 15, "open_at_occupancy": 0.95}})
    model, log, daily, _ = simulate(build(data), 4, 0)
    checks = log.table("escalation_open")
    assert 0 < checks["open"].mean() < 1
    assert daily["acute_occupied"].max() > 110  # escalation beds were used
    assert model.beds.capacity in (110, 125)


def test_day_of_week_and_month_multipliers_shape_arrivals() -> None:
    dow = (1.4, 1.2, 1.0, 1.0, 1.0, 0.7, 0.7)
    data = scenario_dict(per_day=30.0, beds=1000, ttr=fixed(1.0), warmup_days=0, duration_days=364,
                         arrivals={"non_elective": {"per_day": 30.0, "day_of_week": list(dow)}})
    scenario = build(data)
    _, log, _, _ = simulate(scenario, 6, 0)
    arrival = log.table("acute")["arrival"]
    start = sim_start_date(scenario)
    weekday = (start.weekday() + np.floor(arrival).astype(int)) % 7
    counts = np.bincount(weekday, minlength=7) / 52.0
    expected = 30.0 * np.array(dow)
    z = (counts - expected) / np.sqrt(expected / 52.0)  # Poisson counts over 52 weeks
    assert np.all(np.abs(z) < 3.5)
    assert start == dt.date(2025, 4, 1)


def test_pathway_shares_by_age_band() -> None:
    data = scenario_dict(per_day=40.0, beds=1000, ttr=fixed(1.0), warmup_days=0, duration_days=100,
                         age_bands=[{"name": "young", "min_age": 18, "share": 0.5},
                                    {"name": "old", "min_age": 85, "share": 0.5}])
    data["pathways"]["shares_by_age_band"] = {"old": {"P0": 0.2, "P1": 0.8, "P2": 0.0, "P3": 0.0}}
    _, log, _, _ = simulate(build(data), 7, 0)
    acute = log.table("acute")
    old = acute["band"] == 1
    share_p1_old = np.mean(acute["pathway"][old] == 1)
    n = old.sum()
    assert abs(share_p1_old - 0.8) < 3.29 * np.sqrt(0.8 * 0.2 / n)
    assert np.all(acute["pathway"][~old] == 0)


def test_batch_draws_equal_one_at_a_time_draws() -> None:
    """The vectorised arrival batch gives each patient exactly the attributes that
    patient-by-patient drawing from the same named streams gives."""
    from d2asim.model.patients import EPISODE_FIELDS, Patient, PatientFactory
    from d2asim.model.streams import Streams

    data = scenario_dict(per_day=5.0, beds=50, ttr={"P0": lognormal(3, 2), "P1": lognormal(6, 4),
                                                     "P2": exponential(8), "P3": fixed(9)},
                         shares={"P0": 0.4, "P1": 0.3, "P2": 0.2, "P3": 0.1},
                         settings={"P1": {"service": "p1", "assessment": {"mode": "d2a", "delay_days": fixed(2)}},
                                   "P2": {"service": "p1"}},
                         services={"p1": {"duration_days": lognormal(10, 5)}},
                         age_bands=[{"name": "a", "min_age": 18, "share": 0.6},
                                    {"name": "b", "min_age": 65, "share": 0.4}],
                         acute={"beds": 50, "death_probability": {"b": 0.2},
                                "time_to_discharge_ready_days": {p: lognormal(4, 3) for p in ("P0", "P1", "P2", "P3")},
                                "time_to_discharge_ready_by_age_band": {"b": {"P1": lognormal(9, 6)}}})
    scenario = build(data)
    counter = iter(range(1, 10_000))
    one = PatientFactory(scenario, Streams(3, 1), 0, "x", lambda: next(counter))
    batch = PatientFactory(scenario, Streams(3, 1), 0, "x", lambda: next(counter))
    rows = batch.episodes(batch.draw(2000))
    for i in range(2000):
        a, b = one.new(), Patient(0, *rows[i])
        assert [getattr(a, f) for f in EPISODE_FIELDS] == [getattr(b, f) for f in EPISODE_FIELDS]
