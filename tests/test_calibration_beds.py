"""A calibration follows the trust's observed bed base: the monthly beds available
become an ``acute.beds`` schedule, so the fit and its backtest run on the real beds."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import yaml

from d2asim.calibration.aggregates import admissions_schedule, bed_schedule
from d2asim.calibration.command import plan
from d2asim.calibration.simfit import scaled
from d2asim.runner import run_replication
from d2asim.scenario.errors import ScenarioError
from d2asim.scenario.loader import with_overrides
from d2asim.scenario.schedule import Schedule, value_on

ROOT = Path(__file__).resolve().parents[1]
BEDS = ROOT / "calibration" / "data" / "trust_ga_beds_monthly_2022_2025_rke.csv"


def test_bed_schedule_steps_on_the_first_of_each_changed_month() -> None:
    monthly = pd.Series({"2022-05": 224.4, "2022-04": 231.0, "2022-06": 223.6, "2022-07": 239.0})
    assert bed_schedule(monthly) == {"base": 231, "changes": [{"from": "2022-05-01", "value": 224},
                                                              {"from": "2022-07-01", "value": 239}]}


def _config_with_beds(tmp_path: Path, step_month: str, low: float, high: float) -> Path:
    """rke.yaml with absolute paths and an adult bed base of ``low`` before ``step_month``
    and ``high`` from it."""
    beds = pd.read_csv(BEDS)
    month = pd.to_datetime(beds["date"], format="%B %Y")
    beds["adult_general_acute_beds_available"] = [high if m >= pd.Timestamp(step_month) else low for m in month]
    beds.to_csv(tmp_path / "beds.csv", index=False)
    config = yaml.safe_load((ROOT / "calibration" / "rke.yaml").read_text())
    config["base_scenario"] = str(ROOT / "scenarios" / "baseline.yaml")
    config["data"] = {k: {**v, "file": str(ROOT / "calibration" / v["file"])} for k, v in config["data"].items()}
    config["data"]["beds"]["file"] = str(tmp_path / "beds.csv")
    (tmp_path / "cal.yaml").write_text(yaml.safe_dump(config))
    return tmp_path / "cal.yaml"


def test_the_fit_follows_a_step_in_the_observed_bed_base(tmp_path: Path) -> None:
    p = plan(_config_with_beds(tmp_path, "2022-10-01", 200, 260))
    beds = p.base.acute.beds
    assert isinstance(beds, Schedule)
    assert beds.base == 200 and [(str(c.from_), c.value) for c in beds.changes] == [("2022-10-01", 260)]
    assert p.fixed["acute.beds"] == {"base": 200, "changes": [{"from": "2022-10-01", "value": 260}]}
    # the simulated daily capacity (core beds in force) follows it, and so does the bed pool
    scenario = with_overrides(p.problem.scenario(p.problem.start_values()), {"run.warmup_days": 28})
    daily = run_replication(scenario, 1, 0).daily
    daily = daily[daily["reported"]]
    escalation = scenario.acute.escalation.beds
    core = daily["date"].map(lambda d: value_on(beds, d.date()))
    assert set(core) == {200, 260}
    assert (daily["acute_beds"] == core).all()
    before, after = daily[core == 200], daily[core == 260]
    assert before["acute_occupied"].max() <= 200 + escalation < 260  # occupancy held by the smaller base
    assert after["acute_occupied"].mean() > before["acute_occupied"].mean()


def test_a_config_that_fits_or_sets_the_beds_keeps_its_own(tmp_path: Path) -> None:
    path = _config_with_beds(tmp_path, "2022-10-01", 200, 260)
    config = yaml.safe_load(path.read_text())
    config["overrides"] = {**config.get("overrides", {}), "acute.beds": 250}
    path.write_text(yaml.safe_dump(config))
    p = plan(path)
    assert p.base.acute.beds == 250 and p.fixed["acute.beds"] == 250
    config["admissions_follow_beds"] = True  # with no bed base to follow: said so, not ignored
    path.write_text(yaml.safe_dump(config))
    with pytest.raises(ScenarioError) as caught:
        plan(path)
    assert caught.value.lines == [f"{path}: admissions_follow_beds: needs the observed bed base (a beds_available "
                                  "series, and acute.beds neither set in overrides nor fitted)"]


@pytest.mark.parametrize("months", [{}, {"2022-04": float("nan")}])
def test_no_observed_month_is_a_clear_error(months: dict[str, float]) -> None:
    with pytest.raises(ValueError, match="no month with beds available"):
        bed_schedule(pd.Series(months, dtype=float))


def test_admissions_follow_the_bed_base_with_the_fit_months_mean_unchanged() -> None:
    monthly = pd.Series({"2022-05": 220.0, "2022-04": 200.0, "2022-06": 180.0})
    schedule = admissions_schedule(42.0, monthly, pd.Index(["2022-04", "2022-05"]))  # fit months: mean 210 beds
    assert schedule == {"base": 40.0, "changes": [{"from": "2022-05-01", "value": 44.0},
                                                  {"from": "2022-06-01", "value": 36.0}]}
    with pytest.raises(ValueError, match="no fit month with beds available"):
        admissions_schedule(42.0, monthly, pd.Index(["2021-04"]))


def test_a_scale_parameter_multiplies_a_schedule_a_number_or_a_distribution() -> None:
    schedule = {"base": 40.0, "changes": [{"from": "2022-05-01", "value": 44.0}]}
    assert scaled(schedule, 1.5) == {"base": 60.0, "changes": [{"from": "2022-05-01", "value": 66.0}]}
    assert scaled(7, 0.5) == 3.5
    assert scaled({"type": "exponential", "mean": 2.0}, 3.0) == {"type": "exponential", "mean": 6.0}
    with pytest.raises(ValueError, match="is not a number, a schedule or a distribution"):
        scaled(True, 2.0)


def test_with_admissions_following_the_fit_scales_the_schedule_and_occupancy_follows_the_beds(
        tmp_path: Path) -> None:
    path = _config_with_beds(tmp_path, "2022-10-01", 200, 260)
    config = yaml.safe_load(path.read_text())
    config["admissions_follow_beds"] = True
    config["parameters"] = {"admissions_scale": {"scale": ["arrivals.non_elective.per_day"], "bounds": [0.8, 1.3]}}
    path.write_text(yaml.safe_dump(config))
    p = plan(path)
    per_day = p.base.arrivals.non_elective.per_day  # type: ignore[union-attr]
    assert isinstance(per_day, Schedule)
    months = pd.period_range(p.config.fit_period.start, p.config.fit_period.end, freq="M")
    fit_mean = sum(value_on(per_day, m.to_timestamp().date()) for m in months) / len(months)
    baseline = yaml.safe_load((ROOT / "scenarios" / "baseline.yaml").read_text())["arrivals"]["non_elective"]
    assert fit_mean == pytest.approx(baseline["per_day"], abs=1e-3)  # the fit months' mean is the base's
    assert value_on(per_day, pd.Timestamp("2022-11-01").date()) / value_on(per_day, pd.Timestamp(
        "2022-04-01").date()) == pytest.approx(260 / 200, rel=1e-3)
    scaled = p.problem.scenario((1.2,)).arrivals.non_elective.per_day  # type: ignore[union-attr]
    assert value_on(scaled, pd.Timestamp("2022-11-01").date()) == pytest.approx(
        1.2 * value_on(per_day, pd.Timestamp("2022-11-01").date()), abs=1e-5)
    scenario = with_overrides(p.problem.scenario((1.0,)), {"run.warmup_days": 28})
    daily = run_replication(scenario, 1, 0).daily
    daily = daily[daily["reported"]]
    core = daily["date"].map(lambda d: value_on(p.base.acute.beds, d.date()))  # type: ignore[union-attr]
    rate = daily.groupby(core)["acute_occupied"].mean() / pd.Series({200: 200.0, 260: 260.0})
    # the larger bed base is filled too (with admissions fixed this seed gives 0.896 at 260
    # beds against 1.051 at 200, escalation beds included; following them, 0.985 and 0.912)
    assert rate[260] > rate[200]


def test_fitting_admissions_as_one_number_while_they_follow_the_beds_is_a_one_line_error(tmp_path: Path) -> None:
    path = _config_with_beds(tmp_path, "2022-10-01", 200, 260)
    config = yaml.safe_load(path.read_text())
    assert "arrivals.non_elective.per_day" in config["parameters"]  # rke.yaml fits the number itself
    config["admissions_follow_beds"] = True
    path.write_text(yaml.safe_dump(config))
    with pytest.raises(ScenarioError) as caught:
        plan(path)
    assert caught.value.lines == [f"{path}: parameters.arrivals.non_elective.per_day: would replace the admissions "
                                  "schedule that admissions_follow_beds makes with one number; fit a scale of it "
                                  "instead (scale: [arrivals.non_elective.per_day])"]
