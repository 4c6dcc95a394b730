"""``d2asim init``'s calendar: board-round shares from a trust's weekday discharges, the
rounds' added delay, and the month profile and growth of admissions."""

from __future__ import annotations

import dataclasses
import datetime as dt
import math

import numpy as np
import pandas as pd
import pytest
import yaml
from scipy import stats

from d2asim.calibration import init_calendar as ic
from d2asim.calibration.init_scenario import scenario_text, trust_calendar
from d2asim.calibration.trust_data import load_trust
from d2asim.model.engine import DischargeModel, sim_start_date
from d2asim.runner import run_replications
from d2asim.scenario.loader import validate_mapping, with_overrides
from d2asim.scenario.schema import Scenario

RKE_2023 = (0.130, 0.155, 0.160, 0.174, 0.202, 0.106, 0.073)  # baseline.yaml's header [disch]


def _scenario(trust: object) -> Scenario:
    return validate_mapping(yaml.safe_load(scenario_text(trust, [], "t")), "t")  # type: ignore[arg-type]


def test_the_recurrence_gives_the_baselines_formula_values() -> None:
    # baseline.yaml: "X_Mon = 0.25 and p = s_d / X_d: Mon 0.52, Tue 0.59, Wed 0.64, Thu 0.74, Fri 1,
    # Sat 0.74, Sun 0.40" with 1/7 of the week's treatment ends reaching each day's round.
    confirms, made = ic.confirms_for(RKE_2023, (1 / 7,) * 7)
    assert confirms == pytest.approx((0.52, 0.59, 0.64, 0.74, 1.0, 0.74, 0.40), abs=0.01)
    assert made == pytest.approx(np.asarray(RKE_2023) / sum(RKE_2023), abs=0.002)


def test_a_shape_the_friday_recurrence_cannot_make_binds_on_its_own_day() -> None:
    # Saturday above 1/7: with Friday = 1 Saturday would need p > 1; the least backlog puts 1 on Saturday.
    shares = (0.10, 0.13, 0.15, 0.16, 0.17, 0.18, 0.11)
    confirms, made = ic.confirms_for(shares, ic.round_inflow())
    assert max(confirms) == confirms[5] == 1.0 and min(confirms) > 0
    assert made == pytest.approx(shares, abs=0.002)


def test_the_rounds_added_delay_by_hand() -> None:
    # Every round confirms: treatment ends spread evenly wait for the next opening. By weekday
    # (hours): Mon-Fri (8 x 4 + 12 x 14) / 24, Sat (8 x 4 + 14 x 16) / 24, Sun (9 x 4.5 + 14 x 15) / 24.
    by_hand = (5 * (8 * 4 + 12 * 14) + (8 * 4 + 14 * 16) + (9 * 4.5 + 14 * 15)) / 24 / 7 / 24
    assert ic.board_round_delay((1.0,) * 7) == pytest.approx(by_hand, abs=1e-4)
    # The baseline's confirms: 0.94 d by its header's Monte Carlo.
    assert ic.board_round_delay((0.48, 0.57, 0.61, 0.72, 1.0, 0.72, 0.39)) == pytest.approx(0.94, abs=0.01)
    assert sum(ic.round_inflow()) == pytest.approx(1.0)
    assert ic.round_inflow()[0] == pytest.approx(26 / 168) and ic.round_inflow()[5] == pytest.approx(22 / 168)


@pytest.mark.parametrize("code", ["RKE", "RAP"])
def test_init_reproduces_the_trusts_weekday_discharge_shares(code: str) -> None:
    """Each weekday's simulated share of the week's discharges (4 replications of 364 days,
    fixed seed) is within 1.96 standard errors of the observed mean weekly share (its t
    interval over the full weeks, and the replications' spread)."""
    trust = load_trust(code, "2022-04", "2023-03")
    w = trust_calendar(trust).weekdays
    assert w.shares is not None and w.ci is not None and w.weeks >= 40
    scenario = with_overrides(_scenario(trust), {"run.warmup_days": 91, "run.duration_days": 364})
    daily = run_replications(scenario, 4, 20230401).daily_table()
    daily = daily[daily["reported"]]
    per = daily.groupby(["replication", daily["date"].dt.day_of_week])["discharges"].sum().unstack()
    simulated = per.div(per.sum(axis=1), axis=0)
    t = float(stats.t.ppf(0.975, w.weeks - 1))
    for day in range(7):
        low, high = w.ci[day]
        se_obs = (high - low) / 2 / t
        se_sim = simulated[day].std(ddof=1) / math.sqrt(len(simulated))
        gap = abs(simulated[day].mean() - w.shares[day])
        assert gap <= 1.96 * math.hypot(se_obs, se_sim), (code, day, simulated[day].mean(), w.shares[day])


def test_the_month_profile_is_applied_on_the_calendar() -> None:
    """RKE 2022-04..2023-03 has a month profile; each calendar month's simulated external
    admissions (3 replications) are within 3.2 Poisson sd (Bonferroni over 12 months at 5%)
    of per_day x that month's multiplier, and the months follow the multipliers."""
    trust = load_trust("RKE", "2022-04", "2023-03")
    base = _scenario(trust)
    profile = base.arrivals.non_elective.month_of_year  # type: ignore[union-attr]
    assert profile is not None and np.mean(profile) == pytest.approx(1.0, abs=1e-3)
    # A fivefold amplitude makes the check sharp; the calendar is the scenario's own.
    strong = tuple(1 + 5 * (m - 1) for m in profile)
    scenario = with_overrides(base, {"arrivals.non_elective.month_of_year": list(strong),
                                     "run.warmup_days": 45, "run.duration_days": 365})
    per_day = float(scenario.arrivals.non_elective.per_day)  # type: ignore[union-attr, arg-type]
    counts = np.zeros(12)
    for rep in range(3):
        log = DischargeModel(scenario, 20230401, rep).run()
        acute = log.table("acute")
        first = sim_start_date(scenario)
        external = acute["arrival"][acute["source"] == 0]
        months = np.array([(first + dt.timedelta(days=int(t))).month for t in external]) - 1
        counts += np.bincount(months, minlength=12)
    days = pd.date_range(sim_start_date(scenario), periods=45 + 365)
    days_in = np.bincount(days.month - 1, minlength=12)
    expected = 3 * per_day * np.asarray(strong) * days_in
    z = (counts - expected) / np.sqrt(expected)
    assert np.all(np.abs(z) < 3.2), z
    flat = counts.sum() * days_in / days_in.sum()
    assert np.sum((counts - expected) ** 2 / expected) < np.sum((counts - flat) ** 2 / flat)


def _poisson_days(rate: np.ndarray, start: str, seed: int) -> pd.Series:
    rng = np.random.default_rng(seed)
    return pd.Series(rng.poisson(rate).astype(float), index=pd.date_range(start, periods=len(rate)))


def test_season_recovers_a_known_profile_and_growth_and_never_reads_past_the_end() -> None:
    days = pd.date_range("2021-01-01", "2023-12-31")
    month = 1 + 0.08 * np.cos(2 * np.pi * (days.month.to_numpy() - 1) / 12)
    years = (days - days[0]).days.to_numpy() / 365.25
    series = _poisson_days(200 * month * 1.05 ** years, "2021-01-01", 1)
    s = ic.season(series, "2023-12")
    assert s.month_of_year is not None and s.shrink > 0.9
    assert np.asarray(s.month_of_year) == pytest.approx(1 + 0.08 * np.cos(2 * np.pi * np.arange(12) / 12), abs=0.02)
    assert abs(math.log1p(s.growth_per_year) - math.log(1.05)) < 2 * s.trend_se
    later = series.copy()
    later[later.index > "2023-06-30"] = 10_000.0  # days after the end are never read
    assert ic.season(later, "2023-06") == ic.season(series[series.index <= "2023-06-30"], "2023-06")


def test_season_of_pure_noise_is_flat_or_nearly() -> None:
    series = _poisson_days(np.full(730, 50.0), "2022-01-01", 2)
    s = ic.season(series, "2023-12")
    assert s.growth_per_year == 0.0
    assert s.month_of_year is None or max(abs(m - 1) for m in s.month_of_year) < 0.02


def test_bad_daily_data_fall_back_with_a_comment_never_a_crash() -> None:
    trust = load_trust("RKE", "2022-04", "2023-03")
    history = trust.discharged_daily
    no_sundays = history.where(history.index.day_of_week != 6)
    short = history.where(history.index >= "2023-01-01")
    for series, words in [(no_sundays, "too few submitted days for a weekday profile"),
                          (short, "flat months, no growth"),
                          (history.where(history.index < "2000-01-01"), "every round confirms everyone")]:
        text = scenario_text(dataclasses.replace(trust, discharged_daily=series), [], "t")
        assert words in " ".join(line.lstrip("# ") for line in text.splitlines()), words
        scenario = validate_mapping(yaml.safe_load(text), "t")
        assert scenario.arrivals.non_elective.month_of_year is None or words.startswith("too few")
    fallback = trust_calendar(dataclasses.replace(trust, discharged_daily=no_sundays)).weekdays
    assert fallback.confirms == (1.0,) * 7 and fallback.delay_days == pytest.approx(ic.board_round_delay((1.0,) * 7))


def test_the_busiest_month_fits_the_scenarios_beds() -> None:
    """R1F's 2022-23 NCTR discharges peak 16% above the mean in winter; init's constant beds
    (core + escalation) take 5.2% above its mean occupancy, so the profile is scaled to that
    (at +16% the mean admission wait over a year was 14 h against 0.04 h flat)."""
    trust = load_trust("R1F", "2022-04", "2023-03")
    free = ic.season(trust.discharged_daily, "2023-03").month_of_year
    assert free is not None and max(free) > 1.15
    text = scenario_text(trust, [], "t")
    profile = validate_mapping(yaml.safe_load(text), "t").arrivals.non_elective.month_of_year
    assert profile is not None and 1.04 < max(profile) <= 1.0521 and np.mean(profile) == pytest.approx(1, abs=1e-3)
    assert "must fit the 271 core and escalation beds" in " ".join(line.lstrip("# ") for line in text.splitlines())
    # the shape is kept: the same months are above and below the mean
    assert np.array_equal(np.sign(np.asarray(profile) - 1), np.sign(np.asarray(free) - 1))
