"""Plans over time: capacities and arrival rates that change on dates, read from the
scenario or a CSV; demand growth; no eviction on a cut (d2asim/scenario/schedule.py,
d2asim/model/schedules.py)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from helpers import build, exponential, fixed, scenario_dict, simulate
from scipy import stats

from d2asim.model.engine import DischargeModel
from d2asim.runner import run_replications
from d2asim.scenario.errors import ScenarioError
from d2asim.scenario.loader import load_scenario, scenario_to_dict, validate_mapping

START = dt.date(2023, 4, 1)


def _p1(capacity: object, per_day: object = 6.0, **arrivals: object) -> dict:
    """All patients go to P1 (d2a, 10-day stays); the run starts on 2023-04-01, no warm-up."""
    data = scenario_dict(per_day=6, beds=200, ttr=exponential(2), shares={"P0": 0, "P1": 1, "P2": 0, "P3": 0},
                         settings={"P1": {"service": "p1", "assessment": {"mode": "d2a"}}},
                         services={"p1": {"capacity": capacity, "duration_days": fixed(10), "max_duration_days": 42}},
                         warmup_days=0, duration_days=180)
    data["run"]["start_date"] = START.isoformat()
    data["arrivals"]["non_elective"] = {"per_day": per_day, **arrivals}
    return data


STEP = {"base": 40, "changes": [{"from": "2023-06-01", "value": 70}, {"from": "2023-08-01", "value": 20}]}


def test_capacity_steps_show_in_daily_capacity_and_occupancy() -> None:
    scenario = build(_p1(STEP))
    _, _, daily, _ = simulate(scenario, 3, 0)
    up, down = (dt.date(2023, 6, 1) - START).days, (dt.date(2023, 8, 1) - START).days
    cap = daily["p1_capacity"].to_numpy()
    assert (cap[:up] == 40).all() and (cap[up:down] == 70).all() and (cap[down:] == 20).all()
    occ = daily["p1_occupied"].to_numpy()
    assert occ[up - 10 : up].max() <= 40 + 1e-9  # full at 40 before the rise (offered load 60)
    assert occ[up - 10 : up].mean() > 39
    assert occ[down - 10 : down].mean() > 55  # after the rise: load 60 fits under 70
    assert occ[down + 15 :].max() <= 20 + 1e-9  # after the cut has drained: never above 20


def test_a_cut_evicts_nobody_and_new_starts_wait_until_below_the_new_level() -> None:
    scenario = build(_p1(STEP))
    _, log, _, _ = simulate(scenario, 3, 0)
    services = log.table("services")
    cut = float((dt.date(2023, 8, 1) - START).days)
    stays = services["leave"] - services["start"]
    finished = np.isfinite(services["leave"])
    assert np.allclose(stays[finished], 10.0)  # nobody's stay was shortened by the cut
    in_service = ((services["start"] < cut) & (services["leave"] > cut)).sum()
    assert in_service > 50  # ~60 people were in when capacity fell to 20
    starts = np.sort(services["start"][(services["start"] >= cut)])
    # occupancy just after the cut is ~60; no one starts until it is below 20, i.e. after
    # the last pre-cut occupant but 19 has left (all stays are 10 days, so within 10 days)
    first_start = starts[0]
    occupants_left = ((services["start"] < cut) & (services["leave"] > first_start)).sum()
    assert occupants_left < 20 and first_start > cut + 5


def test_arrival_rate_schedule_and_growth_in_monthly_admissions() -> None:
    per_day = {"base": 6.0, "changes": [{"from": "2023-07-01", "value": 9.0}]}
    data = _p1(None, per_day=per_day, growth_per_year=0.5)
    data["run"]["duration_days"] = 275
    scenario = build(data)
    result = run_replications(scenario, 20, 5)
    monthly = result.monthly_table()
    admitted = monthly.groupby("month")["admissions"].sum()
    for month, total in admitted.items():
        first = dt.date.fromisoformat(f"{month}-01")
        days = [first + dt.timedelta(days=d) for d in range(31) if (first + dt.timedelta(days=d)).month == first.month]
        days = [d for d in days if START <= d < START + dt.timedelta(days=275)]
        rate = [(9.0 if d >= dt.date(2023, 7, 1) else 6.0) * 1.5 ** ((d - START).days / 365.25) for d in days]
        expected = 20 * sum(rate)  # 20 replications; admissions = arrivals (beds never full)
        low, high = stats.poisson.ppf([0.0005, 0.9995], expected)  # 99.9% each of 9 months
        assert low <= total <= high, (month, total, expected)


def test_schedule_from_csv_relative_to_the_scenario(tmp_path: Path) -> None:
    (tmp_path / "beds.csv").write_text("date,value\n2023-04-01,40\n2023-06-01,70\n2023-08-01,20\n")
    data = _p1({"csv": "beds.csv"})
    (tmp_path / "s.yaml").write_text(yaml.safe_dump(data))
    scenario = load_scenario(tmp_path / "s.yaml")
    capacity = scenario.services["p1"].capacity
    assert capacity.base == 40 and [(c.from_, c.value) for c in capacity.changes][1:] == [
        (dt.date(2023, 6, 1), 70), (dt.date(2023, 8, 1), 20)]
    resolved = scenario_to_dict(scenario)
    assert resolved["services"]["p1"]["capacity"]["changes"][1] == {"from": "2023-06-01", "value": 70}
    assert validate_mapping(resolved, "again") == scenario  # the resolved file stands alone


@pytest.mark.parametrize(("capacity", "message"), [
    ({"base": 40, "changes": [{"from": "2023-08-01", "value": 70}, {"from": "2023-06-01", "value": 20}]},
     "date order"),
    ({"base": 40, "changes": [{"from": "2023-08-01", "value": -1}]}, "greater than or equal to 0"),
    ({"base": 40, "changes": [{"from": "2023-08-01", "value": 7.5}]}, "integer"),
])
def test_bad_schedules_are_one_clear_line(capacity: dict, message: str) -> None:
    with pytest.raises(ScenarioError) as err:
        validate_mapping(_p1(capacity), "s.yaml")
    assert message in str(err.value) and "services.p1.capacity" in str(err.value)


def test_bad_schedule_csv(tmp_path: Path) -> None:
    (tmp_path / "beds.csv").write_text("date,value\n2023-04-01,40\nnot a date,70\n")
    (tmp_path / "s.yaml").write_text(yaml.safe_dump(_p1({"csv": "beds.csv"})))
    with pytest.raises(ScenarioError) as err:
        load_scenario(tmp_path / "s.yaml")
    assert "services.p1.capacity.csv: beds.csv line 3" in str(err.value)


def test_acute_beds_schedule_moves_the_bed_pool() -> None:
    data = scenario_dict(per_day=20, beds=200, ttr=exponential(5), warmup_days=0, duration_days=120)
    data["run"]["start_date"] = START.isoformat()
    data["acute"]["beds"] = {"base": 80, "changes": [{"from": "2023-06-01", "value": 130}]}
    scenario = build(data)
    _, _, daily, metrics = simulate(scenario, 1, 0)
    up = (dt.date(2023, 6, 1) - START).days
    assert (daily["acute_beds"][:up] == 80).all() and (daily["acute_beds"][up:] == 130).all()
    assert daily["acute_occupied"][20:up].max() <= 80 + 1e-9 and daily["admission_queue"][up - 5 : up].mean() > 5
    assert daily["acute_occupied"][up + 20 :].mean() > 90  # load 100 fits under 130
    assert metrics["acute_occupancy_pct"] == pytest.approx(
        100 * daily["acute_occupied"].mean() / daily["acute_beds"].mean())


def test_monthly_table_shows_the_capacity_in_force() -> None:
    result = run_replications(build(_p1(STEP)), 1, 3)
    monthly = result.monthly_table().set_index("month")
    assert monthly.loc["2023-05", "p1_capacity_mean"] == 40 and monthly.loc["2023-06", "p1_capacity_mean"] == 70
    assert monthly.loc["2023-08", "p1_capacity_mean"] == 20 and (monthly["acute_beds_mean"] == 200).all()


def test_growth_by_age_band_moves_the_rate_and_the_age_mix() -> None:
    data = _p1(None, per_day=10.0, growth_per_year={"old": 1.0})  # the old double in a year, the young stay
    data["age_bands"] = [{"name": "young", "min_age": 18, "share": 0.5}, {"name": "old", "min_age": 65, "share": 0.5}]
    data["run"]["duration_days"] = 365
    scenario = build(data)
    logs = [simulate(scenario, 7, r)[1] for r in range(4)]
    bands = np.concatenate([log.table("acute")["band"][log.table("acute")["source"] == 0] for log in logs])
    arrivals = np.concatenate([log.table("acute")["arrival"][log.table("acute")["source"] == 0] for log in logs])
    for first, last in ((0, 30), (335, 365)):
        days = np.arange(first, last)
        old = 4 * 10.0 * 0.5 * (2.0 ** (days / 365.25)).sum()  # 4 replications
        young = 4 * 10.0 * 0.5 * len(days)
        in_window = (arrivals >= first) & (arrivals < last)
        for band, expected in ((1, old), (0, young)):
            low, high = stats.poisson.ppf([0.0005, 0.9995], expected)
            assert low <= np.sum(in_window & (bands == band)) <= high, (first, band, expected)


def test_growth_by_an_unknown_age_band_is_refused() -> None:
    with pytest.raises(ScenarioError, match="growth_per_year: unknown age band 'old'"):
        validate_mapping(_p1(None, growth_per_year={"old": 0.1}), "s.yaml")


def test_occupancy_chart_marks_each_date_of_change() -> None:
    """The report's occupancy panel draws a dotted line and the new value at each date
    the core beds change, and none when they are constant."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from d2asim.report.charts import capacity_steps, occupancy_panel

    dates = pd.date_range("2023-04-01", periods=120, freq="D")
    beds = [200 if d < pd.Timestamp("2023-06-01") else 230 if d < pd.Timestamp("2023-07-15") else 210 for d in dates]
    daily = pd.DataFrame({"date": dates, "acute_beds": beds})
    band = pd.DataFrame({"date": dates, "mean": 190.0, "low": 185.0, "high": 195.0})
    steps = capacity_steps(daily, "acute_beds")
    assert steps is not None
    fig, ax = plt.subplots()
    occupancy_panel(ax, band, 200, 10, steps)
    vertical = sorted(pd.Timestamp(line.get_xdata()[0]).date()
                      for line in ax.lines if line.get_linestyle() == ":" and len(set(line.get_xdata())) == 1)
    assert vertical == [dt.date(2023, 6, 1), dt.date(2023, 7, 15)]
    assert [t.get_text() for t in ax.texts if " from " in t.get_text()] == ["230 from 01 Jun 2023",
                                                                            "210 from 15 Jul 2023"]
    plt.close(fig)
    assert capacity_steps(daily.assign(acute_beds=200), "acute_beds") is None


def test_on_ward_wait_multiplier_steps_on_its_date() -> None:
    """``assessment.delay_scale`` multiplies each on-ward wait by the value in force on
    the day the wait starts: a fixed 1-day P0 wait before 2023-05-01, 3 days from then."""
    data = scenario_dict(per_day=5, beds=400, ttr=fixed(0.5), warmup_days=0, duration_days=60,
                         settings={"P0": {"assessment": {"mode": "on_ward", "delay_days": fixed(1.0), "delay_scale": {
                             "base": 1.0, "changes": [{"from": "2023-05-01", "value": 3.0}]}}}})
    data["run"]["start_date"] = START.isoformat()
    log = DischargeModel(validate_mapping(data, "scaled waits"), 2, 0).run()
    acute = log.table("acute")
    done = np.isfinite(acute["leave"])
    ready, waited = acute["ready"][done], (acute["leave"] - acute["ready"])[done]
    step = (dt.date(2023, 5, 1) - START).days
    np.testing.assert_allclose(waited[ready < step - 1e-9], 1.0)
    np.testing.assert_allclose(waited[ready >= step], 3.0)
    assert (ready < step).sum() > 50 and (ready >= step).sum() > 50
