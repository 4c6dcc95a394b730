"""``d2asim forecast``: a forecast from the census, with the contract's columns.

The census is checked against the data by hand; the forecast's first day must start
from it (the NCTR queue at the origin is the census', less the P0 patients who leave
that morning), and the intervals must nest (p5 <= p10 <= mean-ish <= p90 <= p95)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from d2asim.calibration import forecast as fc
from d2asim.calibration.trust_data import DATA_DIR
from d2asim.cli import main
from d2asim.scenario.schema import Scenario


def test_census_is_the_evening_before_the_origin() -> None:
    state = fc.census("RKE", dt.date(2023, 6, 1))
    nctr = pd.read_csv(DATA_DIR / "trust_nctr_daily_2022_2025_rke.csv", index_col="date")
    gone = pd.read_csv(DATA_DIR / "trust_discharged_daily_2022_2025_rke.csv", index_col="date")
    assert state.nctr_remaining == nctr.loc["2023-05-31", "do_not_meet_criteria_to_reside"] \
        - gone.loc["2023-05-31", "discharged_total"]
    beds = pd.read_csv(DATA_DIR / "trust_ga_beds_monthly_2022_2025_rke.csv", index_col="date")
    assert state.occupied == round(beds.loc["May 2023", "adult_general_acute_beds_occupied"])
    assert sum(state.waiting.values()) == state.nctr_remaining and min(state.waiting.values()) >= 0
    window = gone.loc["2023-05-04":"2023-05-31", "discharged_total"]
    assert state.recorded_discharges == pytest.approx(window[window > 0].mean())


def test_forecast_writes_the_contract_columns_and_a_chart(tmp_path: Path) -> None:
    out = tmp_path / "fc"
    result = CliRunner().invoke(main, ["forecast", "--trust", "rke", "--origin", "2023-06-01", "--horizon", "5",
                                       "--reps", "6", "--workers", "1", "--out", str(out)])
    assert result.exit_code == 0, result.output
    table = pd.read_csv(out / "forecast.csv")
    assert list(table.columns) == ["date", "series", "mean", "p10", "p90", "p5", "p95"]
    assert set(table["series"]) == {"nctr", "discharges", "occupancy"} and len(table) == 15
    assert table["date"].min() == "2023-06-01" and table["date"].max() == "2023-06-05"
    assert (table["p5"] <= table["p10"]).all() and (table["p10"] <= table["p90"]).all()
    assert (table["p90"] <= table["p95"]).all()
    census = json.loads((out / "census.json").read_text())
    first = table[(table["series"] == "nctr") & (table["date"] == "2023-06-01")].iloc[0]
    # P1-P3 waiters stay (their services start full); P0 waiters leave on the first morning.
    assert census["nctr_remaining"] - census["nctr_waiting"]["P0"] - 5 <= first["p95"]
    assert (out / "charts" / "forecast.png").is_file()


@pytest.mark.parametrize(("args", "expected"), [
    (["--trust", "RKE", "--origin", "2023-02-30"], "--origin: must be a date YYYY-MM-DD"),
    (["--trust", "RKE", "--origin", "2021-01-01"], "submitted no NCTR counts in the week before 2021-01-01"),
    (["--trust", "NOPE", "--origin", "2023-06-01"], "--list-trusts"),
])
def test_bad_forecast_input_is_one_line(tmp_path: Path, args: list[str], expected: str) -> None:
    result = CliRunner().invoke(main, ["forecast", *args, "--out", str(tmp_path / "fc")])
    assert result.exit_code == 2 and result.output.count("\n") == 1 and expected in result.output, result.output


def test_a_census_above_the_model_beds_starts_the_rest_in_the_admission_queue() -> None:
    state = fc.census("RKE", dt.date(2023, 6, 1))
    scenario = fc.base_scenario("RKE", dt.date(2023, 6, 1))
    crowded = fc.Census(state.code, state.origin, state.nctr_remaining, 400, state.waiting,
                        state.recorded_discharges, state.history)
    start = fc.start_from(scenario, crowded, 3).initial_state
    beds = scenario.acute.beds + scenario.acute.escalation.beds
    assert start.acute_occupied + sum(start.nctr_waiting.values()) == beds
    assert start.acute_occupied + start.admission_queue == 400 - state.nctr_remaining


def test_the_census_uses_only_months_complete_before_the_origin() -> None:
    # mid-June: June's monthly means (beds occupied, Table 4/5) include days after the origin
    assert fc.known_month(dt.date(2023, 6, 15)) == fc.known_month(dt.date(2023, 6, 1)) == "2023-05"
    state = fc.census("RKE", dt.date(2023, 6, 15))
    beds = pd.read_csv(DATA_DIR / "trust_ga_beds_monthly_2022_2025_rke.csv", index_col="date")
    assert state.occupied == round(beds.loc["May 2023", "adult_general_acute_beds_occupied"])
    # after Table 4 ends (2024-01) the scenario's window is its last 12 months, the census' month is still its own
    late = fc.census("RKE", dt.date(2024, 3, 20))
    assert late.occupied == round(beds.loc["February 2024", "adult_general_acute_beds_occupied"])


def test_the_nctr_level_is_the_mean_remaining_of_the_28_days_before_the_origin() -> None:
    state = fc.census("RKE", dt.date(2023, 6, 1))
    nctr = pd.read_csv(DATA_DIR / "trust_nctr_daily_2022_2025_rke.csv", index_col="date")
    gone = pd.read_csv(DATA_DIR / "trust_discharged_daily_2022_2025_rke.csv", index_col="date")
    remaining = (nctr["do_not_meet_criteria_to_reside"] - gone["discharged_total"]).loc["2023-05-04":"2023-05-31"]
    assert state.nctr_level == pytest.approx(remaining.mean())


def test_the_nctr_level_sizes_the_p0_multi_day_waits() -> None:
    origin = dt.date(2023, 6, 1)

    def multi_day_share(scenario: Scenario) -> float:
        delay = scenario.single_site()[2].settings["P0"].assessment.delay_days
        return float(getattr(delay, "weights", {}).get("multi_day", 0.0))

    plain = multi_day_share(fc.base_scenario("RKE", origin))
    higher = multi_day_share(fc.base_scenario("RKE", origin, nctr_level=fc.census("RKE", origin).nctr_level))
    assert 0 < plain < higher  # RKE's NCTR in May 2023 (~54) is above its 2022-23 mean (~36)


def test_recorded_discharges_are_a_binomial_thinning() -> None:
    model = np.full((2000, 2), 40.0)
    thinned = fc.recorded(model, 0.5, seed=3)
    assert (thinned == fc.recorded(model, 0.5, seed=3)).all()  # same seed, same draws
    # Binomial(40, 0.5): mean 20, variance 10; 4000 draws: SE of the mean 0.05, of the variance ~0.22
    assert abs(thinned.mean() - 20) < 3 * 0.05 and abs(thinned.var(ddof=1) - 10) < 3 * 0.23
    assert (fc.recorded(model, 1.25, seed=3) == 50.0).all()  # a share above 1 scales
