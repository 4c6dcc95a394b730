"""Calibration from aggregate series: config errors, bad rows, parameter recovery,
backtest metrics and the ``d2asim calibrate`` command.

The recovery test simulates "observed" series from a small scenario with a known P1
capacity (one replication, its own seed: the data are one noisy realisation, as real
data are), fits the capacity back through the whole command, and accepts the fit
within a tolerance derived from the same model: three standard deviations of the
observed fit-period mean, divided by the slope of that mean per place, plus one place
for rounding.
"""

from __future__ import annotations

import copy
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml
from click.testing import CliRunner
from helpers import p1_only_scenario

from d2asim.calibration.aggregates import check_enough, load_observed
from d2asim.calibration.backtest import band, discrepancy_sd, monthly_scores, score
from d2asim.calibration.command import calibrate
from d2asim.calibration.config import load_config
from d2asim.calibration.simfit import ModelSpec, Simulator, scale_distribution
from d2asim.cli import main
from d2asim.scenario.distributions import Lognormal
from d2asim.scenario.errors import ScenarioError
from d2asim.scenario.loader import load_scenario, validate_mapping

TRUE_CAPACITY = 39
SCENARIO: dict[str, Any] = p1_only_scenario("small", duration_days=365, warmup_days=30, p1_capacity=TRUE_CAPACITY)
CONFIG: dict[str, Any] = {
    "trust": "TEST",
    "base_scenario": "small.yaml",
    "data": {"daily": {"file": "daily.csv", "date_column": "day", "frequency": "daily", "filter": {"org": "{trust}"},
                       "columns": {"nctr_remaining": "nctr"}},
             "monthly": {"file": "monthly.csv", "date_column": "month", "date_format": "%Y-%m",
                         "frequency": "monthly", "values": "total", "columns": {"p1_discharges": ["p1a", "p1b"]}}},
    "fit_period": {"start": "2022-04", "end": "2022-12"},
    "test_period": {"start": "2023-01", "end": "2023-03"},
    "targets": {"nctr_remaining": {"model": "nctr", "at_hour": 23.99, "weight": 2},
                "p1_discharges": {"model": "discharges_P1"}},
    "parameters": {"services.p1.capacity": {"bounds": [35, 56], "integer": True, "start": 50}},  # 35 start in p1
    "optimiser": {"design_points": 6, "max_evaluations": 20, "replications": 3, "final_replications": 6,
                  "refits": 0, "seed": 11},
}
SPECS = (ModelSpec("nctr_remaining", "nctr", 23.99), ModelSpec("p1_discharges", "discharges_P1"))


def _simulate(capacity: int, seed: int, replications: int, days: int = 365) -> list[pd.DataFrame]:
    data = copy.deepcopy(SCENARIO)
    data["services"]["p1"]["capacity"] = capacity
    data["run"]["duration_days"] = days
    with Simulator(SPECS, 1) as sim:
        return sim.run([(validate_mapping(data, "test"), seed, range(replications))])[0]


def _fit_mean(frame: pd.DataFrame) -> float:
    return float(frame.loc[:"2022-12-31", "nctr_remaining"].mean())


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder with the small scenario, synthetic observed CSVs (one realisation with
    the true capacity, seed 999) and a calibration config."""
    folder = tmp_path_factory.mktemp("calibration")
    (folder / "small.yaml").write_text(yaml.safe_dump(SCENARIO))
    (truth,) = _simulate(TRUE_CAPACITY, seed=999, replications=1)
    daily = pd.DataFrame({"org": "TEST", "day": truth.index.strftime("%Y-%m-%d"), "nctr": truth["nctr_remaining"]})
    pd.concat([daily, daily.assign(org="OTHER")]).to_csv(folder / "daily.csv", index=False)
    months = truth["p1_discharges"].groupby(truth.index.strftime("%Y-%m")).sum()
    pd.DataFrame({"month": months.index, "p1a": months.to_numpy() - 1, "p1b": 1}).to_csv(
        folder / "monthly.csv", index=False)
    (folder / "cal.yaml").write_text(yaml.safe_dump(CONFIG))
    return folder


# ------------------------------------------------------------------ config
@pytest.mark.parametrize(("edit", "expected"), [
    (lambda c: c.update(targetz={}), "cal.yaml: targetz: unknown key (allowed: name, trust,"),
    (lambda c: c["targets"]["nctr_remaining"].update(model="beds"), "cal.yaml: targets.nctr_remaining.model: got"),
    (lambda c: c["fit_period"].update(start="2022-13"), "cal.yaml: fit_period.start: must be a month YYYY-MM"),
    (lambda c: c["targets"]["nctr_remaining"].update(observed="nope"),
     "cal.yaml: targets.nctr_remaining.observed: unknown series 'nope' (allowed: nctr_remaining, p1_discharges)"),
    (lambda c: c["targets"]["p1_discharges"].update(at_hour=8),
     "cal.yaml: targets.p1_discharges: a flow a day (discharges_P1) takes no at_hour"),
    (lambda c: c["parameters"]["services.p1.capacity"].update(bounds=[50, 40]),
     "cal.yaml: parameters.services.p1.capacity.bounds: must be [low, high] with low < high (got [50.0, 40.0])"),
    (lambda c: c.update(test_period={"start": "2022-06", "end": "2022-09"}),
     "cal.yaml: test_period: must start after fit_period ends (2022-12)"),
])
def test_config_errors_are_one_line(tmp_path: Path, edit: Any, expected: str) -> None:
    config = copy.deepcopy(CONFIG)
    edit(config)
    (tmp_path / "cal.yaml").write_text(yaml.safe_dump(config))
    with pytest.raises(ScenarioError) as info:
        load_config(tmp_path / "cal.yaml")
    assert len(info.value.lines) == 1 and "\n" not in info.value.lines[0]
    assert expected in info.value.lines[0].replace(str(tmp_path) + "/", "")


def test_cli_reports_bad_config_with_exit_2(tmp_path: Path) -> None:
    config = copy.deepcopy(CONFIG)
    config["data"]["daily"]["columns"] = {"nctr_remaining": "no_such_column"}
    (tmp_path / "cal.yaml").write_text(yaml.safe_dump(config))
    (tmp_path / "small.yaml").write_text(yaml.safe_dump(SCENARIO))
    (tmp_path / "daily.csv").write_text("org,day,nctr\nTEST,2022-04-01,3\n")
    (tmp_path / "monthly.csv").write_text("month,p1a,p1b\n2022-04,1,2\n")
    result = CliRunner().invoke(main, ["calibrate", str(tmp_path / "cal.yaml"), "--run-dir", str(tmp_path / "r")])
    assert result.exit_code == 2, result.output
    assert result.output.count("\n") == 1 and "Traceback" not in result.output
    assert "data.daily.columns.nctr_remaining: 'no_such_column' is not a column of daily.csv" in result.output


# ---------------------------------------------------------------- bad rows
BAD_CSV = """org,day,nctr
OTHER,2022-04-01,5
TEST,,5
TEST,2022-04-31,5
TEST,2022-04-01,5
TEST,2022-04-01,6
TEST,2022-04-02,
TEST,2022-04-03,n/a
TEST,2022-04-04,-1
TEST,2022-04-05,0
TEST,2021-01-01,5
TEST,2022-04-06,7
"""


def test_bad_rows_are_counted_by_reason(tmp_path: Path) -> None:
    config = copy.deepcopy(CONFIG)
    config["data"] = {"daily": {**CONFIG["data"]["daily"], "zero_is_missing": True}}
    config["targets"] = {"nctr_remaining": CONFIG["targets"]["nctr_remaining"]}
    (tmp_path / "cal.yaml").write_text(yaml.safe_dump(config))
    (tmp_path / "daily.csv").write_text(BAD_CSV)
    observed = load_observed(load_config(tmp_path / "cal.yaml"), tmp_path / "cal.yaml")
    assert observed.bad_rows == {"daily.csv": {"missing_date": 1, "unparseable_date": 1, "duplicate_date": 1,
                                               "missing_value": 1, "unparseable_value": 1, "negative_value": 1,
                                               "zero_as_missing": 1,
                                               "missing_day": 365 - 6}}  # dated rows for 6 of the periods' days
    assert observed.rows["daily.csv"] == {"read": 11, "filtered_out": 1, "outside_periods": 1, "used": 2}
    assert observed.series["nctr_remaining"].to_dict() == {pd.Timestamp("2022-04-01"): 5.0,
                                                           pd.Timestamp("2022-04-06"): 7.0}
    with pytest.raises(ScenarioError) as info:  # April has 2 valid days, 10 needed: one clear line
        check_enough(load_config(tmp_path / "cal.yaml"), observed, tmp_path / "cal.yaml")
    (line,) = info.value.lines
    assert ("targets.nctr_remaining: only 0 valid month(s) of 'nctr_remaining' in fit_period 2022-04..2022-12 "
            "(need 6; a month needs 10 valid days") in line
    assert "daily.csv missing_date 1" in line


def test_monthly_totals_become_per_day_and_sums_skip_blank_cells(tmp_path: Path) -> None:
    (tmp_path / "cal.yaml").write_text(yaml.safe_dump(CONFIG))
    (tmp_path / "daily.csv").write_text("org,day,nctr\nTEST,2022-04-01,3\n")
    (tmp_path / "monthly.csv").write_text("month,p1a,p1b\n2022-04,30,\n2022-05,31,31\n2022-06,,\n")
    observed = load_observed(load_config(tmp_path / "cal.yaml"), tmp_path / "cal.yaml")
    assert observed.series["p1_discharges"].to_dict() == {"2022-04": 1.0, "2022-05": 2.0}
    assert observed.bad_rows["monthly.csv"] == {"missing_value": 1, "missing_month": 12 - 3}


def test_scaled_distribution_scales_the_mean() -> None:
    for spec in ({"type": "lognormal", "mean": 4.0, "sd": 3.0}, {"type": "lognormal", "median": 3.0, "mean": 5.0},
                 {"type": "lognormal", "mu": 1.0, "sigma": 0.5}):
        scaled = Lognormal.model_validate(scale_distribution(spec, 1.5))
        assert scaled.mean() == pytest.approx(1.5 * Lognormal.model_validate(spec).mean(), rel=1e-5)


# ---------------------------------------------------------------- backtest
def test_backtest_metrics_by_hand() -> None:
    observed = pd.Series([10.0, 12.0, 15.0, np.nan], index=["a", "b", "c", "d"])
    sim = pd.DataFrame({"sim_mean": 11.0, "sim_p5": 9.0, "sim_p10": 10.5, "sim_p90": 12.5, "sim_p95": 13.0},
                       index=["a", "b", "c", "d"])
    got = score(observed, sim, naive=10.0, others={"last": pd.Series(12.0, index=sim.index),
                                                   "gappy": pd.Series([1.0, np.nan, 1.0, 1.0], index=sim.index)})
    assert got.pop("naive") == pytest.approx({"fit_mean": 7 / 3, "last": 5 / 3})  # "gappy" lacks month b
    assert got.pop("best_naive") == "last"
    assert got == pytest.approx({"mae": 2.0, "bias": -4 / 3, "coverage_90": 2 / 3, "coverage_80": 1 / 3, "n": 3,
                                 "naive_mae": 7 / 3, "best_naive_mae": 5 / 3, "mase": 2.0 / (5 / 3)})
    table = pd.DataFrame([[0.0, 10.0, 20.0], [5.0, 5.0, 5.0]])
    # mean, p5, p10, p90, p95 (linear interpolation)
    assert band(table).loc[0].tolist() == pytest.approx([10.0, 1.0, 2.0, 18.0, 19.0])
    ensemble = pd.DataFrame([[0.0, 40.0], [5.0, 5.0]])
    assert band(table, ensemble).loc[0].tolist() == pytest.approx([10.0, 2.0, 4.0, 36.0, 38.0])


def test_the_model_discrepancy_is_the_fit_error_beyond_the_members_own_spread() -> None:
    months = [f"2022-{m:02d}" for m in range(1, 13)]
    level = pd.Series(50.0, index=months)
    members = pd.DataFrame({0: level - 2, 1: level, 2: level + 2})  # variance 4 across members
    observed = level + np.sqrt(13.0) * np.tile([1.0, -1.0], 6)  # mean squared error 13
    assert discrepancy_sd(observed, members, members) == pytest.approx(3.0)  # sqrt(13 - 4)
    assert discrepancy_sd(level + 1.0, members, members) == 0.0  # the spread explains it all
    assert discrepancy_sd(observed.iloc[:2], members, members) == 0.0  # too few months to say
    one = pd.DataFrame({0: level})
    widened = band(one, one, discrepancy_sd=3.0).iloc[0]
    # a single member spread by N(0, 3^2) on a 100-point quantile grid: within 3% of +-1.645 x 3
    assert widened["sim_mean"] == 50.0 and widened["sim_p95"] - 50 == pytest.approx(3 * 1.645, rel=0.03)
    assert 50 - widened["sim_p5"] == pytest.approx(widened["sim_p95"] - 50)
    assert widened["sim_p90"] - 50 == pytest.approx(3 * 1.2816, rel=0.03)


def test_monthly_scores_score_every_naive_forecast(tmp_path: Path) -> None:
    (tmp_path / "cal.yaml").write_text(yaml.safe_dump(CONFIG))
    config = load_config(tmp_path / "cal.yaml")
    months = ["2022-01", "2022-02", "2022-11", "2022-12", "2023-01", "2023-02"]
    table = pd.DataFrame({"target": "nctr_remaining", "month": months,
                          "period": ["-", "-", "fit", "fit", "test", "test"],
                          "observed": [7.0, 2.0, 4.0, 6.0, 8.0, 3.0], "sim_mean": 5.0, "sim_p5": 4.0,
                          "sim_p10": 4.5, "sim_p90": 6.5, "sim_p95": 7.0})
    got = monthly_scores(config, table)["backtest"]["nctr_remaining"]
    # fit mean 5: |8-5|, |3-5| -> 2.5; last month 6: 2, 3 -> 2.5; a year before (7, 2): 1, 1 -> 1.
    assert got["naive"] == pytest.approx({"fit_mean": 2.5, "last_month": 2.5, "same_month_last_year": 1.0})
    assert (got["best_naive"], got["best_naive_mae"], got["mase"]) == ("same_month_last_year", 1.0, 2.5)
    assert got["mae"] == got["naive_mae"] == 2.5 and got["coverage_90"] == 0.0 and got["coverage_80"] == 0.0
    assert monthly_scores(config, table)["fit"]["nctr_remaining"]["coverage_90"] == 1.0

    # A flat model anchored at the last fit month (6) is the last_month forecast itself.
    flat = monthly_scores(config, table)["backtest_anchored"]["nctr_remaining"]
    assert (flat["anchor_month"], flat["offset"]) == ("2022-12", -1.0)
    assert flat["mae"] == got["naive"]["last_month"] and flat["mase"] == 2.5


def test_the_anchored_backtest_keeps_the_models_changes_and_drops_its_level_error(tmp_path: Path) -> None:
    (tmp_path / "cal.yaml").write_text(yaml.safe_dump(CONFIG))
    config = load_config(tmp_path / "cal.yaml")
    observed = [7.0, 2.0, 4.0, 6.0, 8.0, 3.0]
    table = pd.DataFrame({"target": "nctr_remaining", "month": ["2022-01", "2022-02", "2022-11", "2022-12",
                                                                "2023-01", "2023-02"],
                          "period": ["-", "-", "fit", "fit", "test", "test"], "observed": observed})
    sim = pd.Series(observed) + 3.0  # every month's change right, the level 3 too high
    table = table.assign(sim_mean=sim, sim_p5=sim - 1, sim_p10=sim - 0.5, sim_p90=sim + 0.5, sim_p95=sim + 1)
    scores = monthly_scores(config, table)
    assert scores["backtest"]["nctr_remaining"]["mae"] == 3.0
    assert scores["backtest"]["nctr_remaining"]["coverage_90"] == 0.0
    anchored = scores["backtest_anchored"]["nctr_remaining"]
    assert (anchored["offset"], anchored["mae"], anchored["bias"], anchored["mase"]) == (3.0, 0.0, 0.0, 0.0)
    assert anchored["coverage_90"] == anchored["coverage_80"] == 1.0

# -------------------------------------------------- recovery and the command
def test_calibrate_recovers_a_known_capacity_and_never_overwrites(project: Path) -> None:
    out = project / "scenarios" / "fitted.yaml"
    folder, doc = calibrate(project / "cal.yaml", scenario_out=out, run_dir=project / "run", workers=1)
    fitted = doc["parameters"]["services.p1.capacity"]["value"]
    # Tolerance from the model itself: noise of one realisation's fit-period mean / slope.
    at_truth = [_fit_mean(f) for f in _simulate(TRUE_CAPACITY, seed=500, replications=16, days=275)]
    low = np.mean([_fit_mean(f) for f in _simulate(TRUE_CAPACITY - 2, seed=500, replications=16, days=275)])
    high = np.mean([_fit_mean(f) for f in _simulate(TRUE_CAPACITY + 2, seed=500, replications=16, days=275)])
    slope = abs(high - low) / 4.0  # waiting patients per place (common random numbers)
    tolerance = math.ceil(3.0 * float(np.std(at_truth, ddof=1)) / slope) + 1  # about 5 places
    assert tolerance <= 8, f"the target barely informs the capacity (tolerance {tolerance})"
    assert abs(fitted - TRUE_CAPACITY) <= tolerance, (fitted, tolerance)
    assert doc["objective"]["found"] <= doc["objective"]["start"]
    for metric in ("nctr_remaining", "p1_discharges"):
        assert set(doc["backtest"][metric]) >= {"mae", "bias", "naive_mae", "coverage_90", "best_naive_mae", "mase",
                                                "coverage_80"}
    for name in ("calibration.json", "report.md", "series_monthly.csv", "scenario.yaml",
                 "charts/nctr_remaining_monthly.png", "charts/nctr_remaining_daily.png"):
        assert (folder / name).is_file(), name
    # The scenario validates, extends the base relative to its own folder, states only the fit.
    scenario = load_scenario(out)
    assert scenario.services["p1"].capacity == fitted
    body = yaml.safe_load(out.read_text())
    assert body["extends"] == "../small.yaml"
    assert set(body) == {"name", "extends", "description", "services"}
    assert out.read_text().startswith("# Calibrated by `d2asim calibrate")
    # Never overwrites: the scenario file, nor a non-empty run folder.
    before = out.read_text()
    runner = CliRunner()
    result = runner.invoke(main, ["calibrate", str(project / "cal.yaml"), "--out", str(out)])
    assert result.exit_code == 2 and "file exists" in result.output and out.read_text() == before
    result = runner.invoke(main, ["calibrate", str(project / "cal.yaml"), "--run-dir", str(folder)])
    assert result.exit_code == 2 and "not empty" in result.output


def test_spells_section_fits_the_base_before_the_aggregates(project: Path, tmp_path: Path) -> None:
    """A ``spells:`` section is fitted first (d2asim.calibration.fitting) and its dotted
    overrides replace the base's values; the aggregate fit then starts from them."""
    fitting = pytest.importorskip("d2asim.calibration.fitting")
    from d2asim.calibration.command import prepare
    from d2asim.calibration.synthetic import synthetic_spells

    data = copy.deepcopy(SCENARIO)
    data["arrivals"]["non_elective"]["per_day"] = 9.0
    spells, _ = synthetic_spells(validate_mapping(data, "spells truth"), seed=3)
    spells.to_csv(tmp_path / "spells.csv", index=False)
    for name in ("small.yaml", "daily.csv", "monthly.csv"):
        (tmp_path / name).write_text((project / name).read_text())
    config = {**CONFIG, "spells": {"spells": "spells.csv"}}
    (tmp_path / "cal.yaml").write_text(yaml.safe_dump(config))
    _, _, base, fixed = prepare(tmp_path / "cal.yaml")
    assert fitting.fit_spells is not None
    fitted_rate = fixed["arrivals.non_elective.per_day"]
    assert base.arrivals.non_elective.per_day == fitted_rate != SCENARIO["arrivals"]["non_elective"]["per_day"]
    assert base.acute.time_to_discharge_ready_days["P1"].model_dump(by_alias=True, exclude_none=True) == \
        fixed["acute.time_to_discharge_ready_days.P1"]  # replaced, not merged into the base's


def test_written_overrides_replace_distributions_through_extends(tmp_path: Path) -> None:
    """The loader deep-merges ``extends``; a fitted {mean, sd} lognormal written over a
    {median, mean} one gets ``median: null`` so that it replaces rather than mixes."""
    from d2asim.calibration.command import merge_patch

    base = copy.deepcopy(SCENARIO)
    base["acute"]["time_to_discharge_ready_days"]["P1"] = {"type": "lognormal", "median": 3, "mean": 5}
    (tmp_path / "base.yaml").write_text(yaml.safe_dump(base))
    new = {"type": "lognormal", "mean": 6.0, "sd": 4.0}
    patch = merge_patch(base, {"acute.time_to_discharge_ready_days.P1": new, "services.p1.capacity": 41})
    (tmp_path / "fitted.yaml").write_text(yaml.safe_dump({"name": "fitted", "extends": "base.yaml", **patch}))
    fitted = load_scenario(tmp_path / "fitted.yaml")
    assert fitted.acute.time_to_discharge_ready_days["P1"].model_dump(by_alias=True, exclude_none=True) == new
    assert fitted.services["p1"].capacity == 41


def test_model_series_snapshots_by_hand() -> None:
    """Counts at an hour, LoS filters and flows on a hand-made event log (days from 0)."""
    from d2asim.calibration.simfit import model_series
    from d2asim.model.log import ACUTE_PLACE, EventLog
    from d2asim.system.registry import registry_of

    data = copy.deepcopy(SCENARIO)
    data["run"].update(warmup_days=0, duration_days=3)
    scenario = validate_mapping(data, "test")
    inf, nan = math.inf, math.nan
    log = EventLog(
        acute=[(1, 0, 0, 1, 0.0, 0.1, 1.2, 2.5, 0, 0, 0),   # P1: admitted 0.1, ready 1.2, left 2.5
               (2, 0, 0, 0, 0.4, 0.5, nan, 1.9, 1, 0, 0),   # died on day 1
               (3, 0, 0, 0, 2.2, nan, nan, inf, 0, 0, 0)],  # still waiting for a bed
        delays=[(1, ACUTE_PLACE, registry_of(scenario).service("p1").cause, 1, 1.2, 2.5, 0, 0)], horizon=3.0)
    specs = [ModelSpec("occ8", "acute_occupied", 8), ModelSpec("nctr", "nctr", 23.99),
             ModelSpec("w1_los15", "waiting_p1", 23.99, 1.5), ModelSpec("w1_los2", "waiting_p1", 23.99, 2.0),
             ModelSpec("queue", "admission_queue", 23.99), ModelSpec("p1", "discharges_P1"),
             ModelSpec("deaths", "deaths_in_hospital"), ModelSpec("occ", "acute_occupied")]
    got = model_series(log, scenario, specs)
    assert got["occ8"].tolist() == [1, 2, 1]
    assert got["nctr"].tolist() == [0, 1, 0]
    assert got["w1_los15"].tolist() == [0, 1, 0] and got["w1_los2"].tolist() == [0, 0, 0]
    assert got["queue"].tolist() == [0, 0, 1]
    assert got["p1"].tolist() == [0, 0, 1] and got["deaths"].tolist() == [0, 1, 0]
    assert got["occ"].tolist() == pytest.approx([0.9 + 0.5, 1.0 + 0.9, 0.5])  # time averages


def test_model_series_time_averages_equal_the_engine_daily_series() -> None:
    from d2asim.calibration.simfit import model_series
    from d2asim.metrics.series import daily_series
    from d2asim.model.engine import DischargeModel, sim_start_date

    scenario = validate_mapping(copy.deepcopy(SCENARIO), "test")
    log = DischargeModel(scenario, 1, 0).run()
    daily = daily_series(log, scenario, sim_start_date(scenario)).set_index("date")
    daily = daily[daily["reported"]]
    ours = model_series(log, scenario, [ModelSpec("nctr", "nctr"), ModelSpec("occ", "acute_occupied"),
                                        ModelSpec("w", "waiting_p1"), ModelSpec("d", "discharges")])
    for mine, theirs in (("nctr", "delayed_acute"), ("occ", "acute_occupied"), ("w", "p1_waiting"),
                         ("d", "discharges")):
        assert ours[mine].to_numpy() == pytest.approx(daily[theirs].to_numpy(), abs=1e-9), mine
