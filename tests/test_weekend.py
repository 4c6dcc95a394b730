"""The weekend: board-round and discharge windows that differ by weekday, services that
limit starts per day by weekday, and delayed bed days by weekday of readiness."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from helpers import build, exponential, fixed, scenario_dict, simulate, t_interval

from d2asim.model.calendar import OpenWindow
from d2asim.runner import run_replications
from d2asim.scenario.errors import ScenarioError
from d2asim.scenario.loader import load_scenario, validate_mapping, with_overrides
from d2asim.scenario.schema import WEEKDAYS, Window

MONDAY = dt.date(2023, 4, 3)
WEEKDAY_ROUND = {"days": ["Mon", "Tue", "Wed", "Thu", "Fri"], "start_hour": 8, "end_hour": 12}
WEEKEND_ROUND = {"days": ["Sat", "Sun"], "start_hour": 10, "end_hour": 11}


def test_a_list_of_windows_is_open_when_any_is() -> None:
    w = OpenWindow((Window(**WEEKDAY_ROUND), Window(**WEEKEND_ROUND)), first_weekday=0)  # day 0 = Monday
    assert w.next_open(0.0) == pytest.approx(8 / 24)  # Monday 00:00 -> 08:00
    assert w.next_open(0.4) == pytest.approx(0.4)  # Monday 09:36 is inside
    assert w.next_open(4.6) == pytest.approx(5 + 10 / 24)  # Friday 14:24 -> Saturday 10:00
    assert w.next_open(5 + 10.5 / 24) == pytest.approx(5 + 10.5 / 24)  # Saturday 10:30 is inside
    assert w.next_open(6 + 11.5 / 24) == pytest.approx(7 + 8 / 24)  # Sunday 11:30 -> Monday 08:00
    single = OpenWindow(Window(**WEEKDAY_ROUND), 0)  # the old single-window form is unchanged
    assert single.next_open(4.6) == pytest.approx(7 + 8 / 24)


def _ward(ready_window: object, **service: object) -> dict:
    data = scenario_dict(per_day=30, beds=400, ttr=exponential(3), shares={"P0": 0.8, "P1": 0.2, "P2": 0, "P3": 0},
                         settings={"P1": {"service": "p1", "assessment": {"mode": "d2a"}}},
                         services={"p1": {"capacity": None, "duration_days": fixed(5), **service}},
                         warmup_days=0, duration_days=28 * 6)
    data["run"]["start_date"] = MONDAY.isoformat()
    data["acute"]["discharge_ready_window"] = ready_window
    data["acute"]["discharge_window"] = {"start_hour": 8, "end_hour": 20}
    return data


def _by_weekday(dates: np.ndarray, counts: np.ndarray) -> np.ndarray:
    weekday = np.array([d.weekday() for d in dates])
    return np.array([counts[weekday == i].sum() for i in range(7)])


def test_weekday_board_rounds_shape_discharges_by_weekday() -> None:
    weekdays_only = build(_ward([WEEKDAY_ROUND]))
    _, log, daily, metrics = simulate(weekdays_only, 4, 0)
    per_weekday = _by_weekday(daily["date"].dt.date.to_numpy(), daily["discharges"].to_numpy())
    # no board round at the weekend: nobody becomes ready then, so P0 (same day) cannot leave
    acute = log.table("acute")
    ready_days = (np.floor(acute["ready"][~np.isnan(acute["ready"])]).astype(int)) % 7
    assert not np.isin(ready_days, [5, 6]).any()
    assert per_weekday[5] < 0.25 * per_weekday[1] and per_weekday[6] < 0.25 * per_weekday[1]
    assert per_weekday[0] > 1.5 * per_weekday[2]  # Monday clears the weekend's patients
    # Monday's board round confirms the weekend's treatment ends: no delayed day is Sat/Sun-ready
    assert metrics["delayed_bed_days_by_ready_weekday.Sat"] == 0 == metrics["delayed_bed_days_by_ready_weekday.Sun"]
    with_weekend = build(_ward([WEEKDAY_ROUND, WEEKEND_ROUND]))
    _, _, daily2, _ = simulate(with_weekend, 4, 0)
    per_weekday2 = _by_weekday(daily2["date"].dt.date.to_numpy(), daily2["discharges"].to_numpy())
    assert per_weekday2[5] > 0.6 * per_weekday2[2] and per_weekday2[0] < 1.3 * per_weekday2[2]


def test_weekday_only_starts_cost_delayed_days_for_friday_and_saturday_readiness() -> None:
    scenario = build(_ward({"start_hour": 8, "end_hour": 12}, max_starts_per_day={"Sat": 0, "Sun": 0}))
    _, log, _, metrics = simulate(scenario, 2, 0)
    starts = log.table("services")["start"]
    starts = starts[np.isfinite(starts)]  # no initial state: every start is a new one
    assert not np.isin(np.floor(starts).astype(int) % 7, [5, 6]).any()  # day 0 is a Monday
    by_day = {d: metrics[f"delayed_bed_days_by_ready_weekday.{d}"] for d in WEEKDAYS}
    assert by_day["Sat"] > 3 * by_day["Tue"] and by_day["Sun"] > 2 * by_day["Tue"]
    assert sum(by_day.values()) == pytest.approx(metrics["delayed_bed_days"])


def test_starts_per_day_are_capped_and_first_come_first_served() -> None:
    scenario = build(_ward({"start_hour": 8, "end_hour": 12}, max_starts_per_day={"Mon": 3, "Sat": 1, "Sun": 1}))
    _, log, _, _ = simulate(scenario, 2, 0)
    services = log.table("services")
    started = np.isfinite(services["start"])
    day = np.floor(services["start"][started]).astype(int)
    counts = np.bincount(day)
    weekday = np.arange(counts.size) % 7
    assert counts[weekday == 0].max() <= 3 and counts[(weekday == 5) | (weekday == 6)].max() <= 1
    assert counts[weekday == 2].max() > 5  # Wednesday has no limit (about 6 a day arrive)
    order = np.argsort(services["request"][started], kind="stable")
    assert (np.diff(services["start"][started][order]) >= -1e-9).all()  # nobody overtakes


@pytest.mark.parametrize(("limit", "message"), [(0, "no day allows a start"),
                                                ({d: 0 for d in WEEKDAYS}, "no day allows a start"),
                                                ({"Sat": -1}, "greater than or equal to 0")])
def test_bad_start_limits(limit: object, message: str) -> None:
    with pytest.raises(ScenarioError) as err:
        validate_mapping(_ward({"start_hour": 8, "end_hour": 12}, max_starts_per_day=limit), "s.yaml")
    assert message in str(err.value) and "services.p1.max_starts_per_day" in str(err.value)


def test_board_round_confirms_a_share_and_the_rest_wait_for_the_next_days_round() -> None:
    """Treatment ends at 10:00 (day 0 Monday, fixed 2-day stays from admissions at
    08:00-12:00 windows): a share p = 0.5 confirmed at each weekday round gives
    geometric waits, 1/2 on the day, 1/4 the next day...; Friday (p = 1) confirms
    everyone; at weekends (p = 0) nobody."""
    data = _ward(WEEKDAY_ROUND)
    data["acute"]["time_to_discharge_ready_days"] = {p: fixed(2.0) for p in ("P0", "P1", "P2", "P3")}
    data["acute"]["death_probability"] = 0.0
    data["acute"]["board_round_confirms"] = {"Mon": 0.5, "Tue": 0.5, "Wed": 0.5, "Thu": 0.5, "Sat": 0, "Sun": 0}
    _, log, _, _ = simulate(build(data), 3, 0)
    acute = log.table("acute")
    done = np.isfinite(acute["ready"])
    admit, ready = acute["admit"][done], acute["ready"][done]
    ended = admit + 2.0
    first_round = np.array([OpenWindow(Window(**WEEKDAY_ROUND), 0).next_open(t) for t in ended])
    extra = np.floor(ready).astype(int) - np.floor(first_round).astype(int)
    weekday = np.floor(first_round).astype(int) % 7
    ready_weekday = np.floor(ready).astype(int) % 7
    assert not np.isin(ready_weekday, [5, 6]).any()  # p = 0 at weekends
    assert (extra[weekday == 4] == 0).all()  # Friday confirms everyone
    monday = extra[weekday == 0]  # Mon, Tue, Wed, Thu rounds at 0.5: geometric, 1 day a step
    n = monday.size
    assert n > 2000
    for k, p in ((0, 0.5), (1, 0.25), (2, 0.125)):
        half = 3.29 * np.sqrt(p * (1 - p) / n)  # 99.9% binomial interval
        assert abs(np.mean(monday == k) - p) < half, (k, np.mean(monday == k), p)
    assert (monday <= 4).all()  # by Friday everyone is confirmed


@pytest.mark.parametrize(("confirms", "message"), [({"Sat": 1.5}, "between 0 and 1"), (0, "no board round"),
                                                   ({d: 0 for d in WEEKDAYS}, "no board round")])
def test_bad_board_round_confirms(confirms: object, message: str) -> None:
    data = _ward(WEEKDAY_ROUND)
    data["acute"]["board_round_confirms"] = confirms
    with pytest.raises(ScenarioError) as err:
        validate_mapping(data, "s.yaml")
    assert message in str(err.value) and "acute.board_round_confirms" in str(err.value)


def test_board_round_confirms_zero_on_every_round_day_is_refused() -> None:
    data = _ward(WEEKDAY_ROUND)  # rounds Mon-Fri only
    data["acute"]["board_round_confirms"] = {d: 0 for d in WEEKDAYS[:5]}
    with pytest.raises(ScenarioError) as err:
        validate_mapping(data, "s.yaml")
    assert "no weekday with a board round" in str(err.value) and "s.yaml" in str(err.value)


ROOT = Path(__file__).resolve().parents[1]


def _observed_weekly_shares() -> pd.DataFrame:
    """RKE 2023 discharges (all, by day): each full Monday-Sunday week's share by weekday."""
    data = pd.read_csv(ROOT / "calibration" / "data" / "trust_discharged_daily_2022_2025_rke.csv", parse_dates=["date"])
    year = data[(data["date"] >= "2023-01-02") & (data["date"] < "2024-01-01")]
    week = (year["date"] - pd.Timestamp("2023-01-02")).dt.days // 7
    table = year.assign(week=week, wd=year["date"].dt.day_of_week).pivot_table(
        index="week", columns="wd", values="discharged_total")
    table = table[table.notna().all(axis=1) & (table.sum(axis=1) > 0)]  # full weeks with data
    return table.div(table.sum(axis=1), axis=0)


@pytest.mark.slow
def test_bundled_baseline_discharges_by_weekday_within_the_observed_profile() -> None:
    """Every weekday's simulated share of the week's discharges lies in the 95% t interval
    of RKE's 2023 weekly shares (51 full weeks), so the shape matches too: the Friday
    peak, Monday the lowest weekday, the weekend dip."""
    shares = _observed_weekly_shares()
    assert len(shares) >= 50
    scenario = with_overrides(load_scenario(ROOT / "scenarios" / "baseline.yaml"),
                              {"run.warmup_days": 56, "run.duration_days": 364})  # starts near its long-run level
    daily = run_replications(scenario, 4, 20230401).daily_table()
    daily = daily[daily["reported"]]
    per = daily.groupby(["replication", daily["date"].dt.day_of_week])["discharges"].sum().unstack()
    simulated = per.div(per.sum(axis=1), axis=0).mean()
    for day in range(7):
        _, low, high = t_interval(shares[day].to_numpy(), 0.95)
        assert low <= simulated[day] <= high, (WEEKDAYS[day], simulated[day], low, high)
    assert simulated.idxmax() == 4 and simulated[:5].idxmin() == 0  # Friday peak, Monday trough
    weekend = shares[5] + shares[6]
    _, low, high = t_interval(weekend.to_numpy(), 0.95)
    assert low <= simulated[5] + simulated[6] <= high
