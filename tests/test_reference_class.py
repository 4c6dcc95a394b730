"""The level-change term of the predictive bands: the reference class of every trust
(d2asim.calibration.reference_class) and how it widens the bands after the fit period
(d2asim.calibration.backtest.level_sd)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from d2asim.calibration.backtest import band, level_sd, month_middles, spread_sd
from d2asim.calibration.config import Period
from d2asim.calibration.reference_class import MIN_TRUSTS, level_change_sd, trust_level_changes
from d2asim.calibration.trust_config import trust_inputs
from d2asim.calibration.trust_data import months_between

FIT = months_between("2022-04", "2023-03")


def _rates(changes: list[float]) -> pd.DataFrame:
    """Trusts whose rate is 1 for 6 months, then exp(change) for 6 (one column each)."""
    return pd.DataFrame({f"T{i}": [1.0] * 6 + [math.exp(c)] * 6 for i, c in enumerate(changes)}, index=FIT)


def test_level_change_sd_is_the_robust_spread_of_half_year_log_changes() -> None:
    changes = [0.3 + 0.1 * k for k in range(-5, 6)]  # 11 trusts around a common +0.3: |deviations| 0..0.5
    # median |deviation| is 0.3 (0, .1, .1, .2, .2, .3, .3, .4, .4, .5, .5), times 1.4826
    assert level_change_sd(_rates(changes), FIT) == pytest.approx(1.4826 * 0.3)
    merged = changes[:-1] + [3.0]  # one trust doubling its size many times over moves it by one rank only
    assert level_change_sd(_rates(merged), FIT) == pytest.approx(1.4826 * 0.3)
    longer = [str(pd.Period("2021-04", freq="M") + i) for i in range(12)] + FIT
    assert level_change_sd(_rates(changes).reindex(longer).fillna(7.0), longer) == pytest.approx(1.4826 * 0.3)
    gappy = _rates(changes)
    gappy.iloc[2, :2] = np.nan  # two trusts miss a month: left out, 9 < MIN_TRUSTS remain
    assert MIN_TRUSTS == 10 and level_change_sd(gappy, FIT) is None
    assert level_change_sd(_rates(changes), FIT[:11]) is None  # fewer than 12 fit months


def test_the_national_reference_class_and_calibrate_trusts_config() -> None:
    got = trust_level_changes(FIT)
    # NCTR per bed moves far more than occupancy per bed between half years
    assert 0.08 < got["nctr_remaining"] < 0.3 and 0.005 < got["acute_occupancy"] < 0.05
    _, config = trust_inputs("RKE", ("2022-04", "2023-03"), ("2023-04", "2024-03"), [])
    assert {t: config["targets"][t].get("level_change_sd") for t in ("nctr_remaining", "acute_occupancy",
                                                                     "discharges_P1")} == {**got, "discharges_P1": None}


def test_level_sd_is_a_random_walk_from_the_fit_periods_centre() -> None:
    fit = Period(start="2022-04", end="2023-03")
    months = pd.Index(["2022-05", "2023-03", "2023-04", "2024-03"])
    got = level_sd(0.2, fit, month_middles(months))
    centre = pd.Timestamp("2022-04-01") + (pd.Timestamp("2023-03-31") - pd.Timestamp("2022-04-01")) / 2
    months_from_centre = (pd.Timestamp("2023-04-15") - centre).days / (365.25 / 12)  # about 6.5
    assert got[:2].tolist() == [0.0, 0.0]  # fit months: the discrepancy alone
    assert got[2] == pytest.approx(0.2 * math.sqrt(months_from_centre / 6)) and 6.3 < months_from_centre < 6.7
    a_year_on = (pd.Timestamp("2024-03-15") - centre).days / (365.25 / 12)  # about 17.5
    assert got[3] == pytest.approx(0.2 * math.sqrt(a_year_on / 6)) and 17.3 < a_year_on < 17.7
    assert level_sd(None, fit, month_middles(months)).tolist() == [0.0] * 4
    days = pd.date_range("2023-03-30", periods=3)
    assert (level_sd(0.2, fit, days) > 0).tolist() == [False, False, True]  # from the first test day


def test_the_band_widens_by_the_level_change_in_quadrature() -> None:
    table = pd.DataFrame({0: [100.0, 100.0], 1: [100.0, 100.0]}, index=["2023-03", "2023-04"])
    sd = spread_sd(table, 3.0, np.array([0.0, 0.04]))
    assert sd.tolist() == pytest.approx([3.0, 5.0])  # sqrt(3^2 + (100 x 0.04)^2)
    got = band(table, table, sd)
    assert got.loc["2023-03", "sim_p95"] - 100 == pytest.approx(3 * 1.645, rel=0.03)
    assert got.loc["2023-04", "sim_p95"] - 100 == pytest.approx(5 * 1.645, rel=0.03)
    assert got["sim_mean"].tolist() == [100.0, 100.0]


def test_series_table_widens_only_the_months_after_the_fit() -> None:
    from d2asim.calibration.aggregates import Observed
    from d2asim.calibration.backtest import series_table
    from d2asim.calibration.config import CalibrationConfig

    months = months_between("2022-04", "2023-06")
    config = CalibrationConfig.model_validate({
        "trust": "T", "base_scenario": "b.yaml", "data": {"m": {"file": "m.csv", "date_column": "month",
                                                                "frequency": "monthly",
                                                  "columns": {"stock": "x", "flow": "y"}}},
        "fit_period": {"start": "2022-04", "end": "2023-03"}, "test_period": {"start": "2023-04", "end": "2023-06"},
        "targets": {"stock": {"model": "nctr", "level_change_sd": 0.1}, "flow": {"model": "discharges_P1"}},
        "parameters": {"services.p1.capacity": {"bounds": [1, 2]}}})
    observed = Observed(series={"stock": pd.Series(50.0, index=months), "flow": pd.Series(5.0, index=months)},
                        frequency={"stock": "monthly", "flow": "monthly"})
    simulated = {"stock": pd.DataFrame({0: 49.0, 1: 51.0}, index=months),
                 "flow": pd.DataFrame({0: 4.9, 1: 5.1}, index=months)}
    table = series_table(config, observed, simulated).set_index(["target", "month"])
    width = table["sim_p95"] - table["sim_p5"]
    # fit months: the two replications (each on the grid with sd 0: 100 copies of 49 and of 51)
    assert width["stock"][:"2023-03"].tolist() == pytest.approx([2.0] * 12)
    # +-1.645 sd, sd = 0.1 x 50 x sqrt(months from the centre / 6) (level_sd with 1 is the square root)
    expected = 2 * 1.645 * 0.1 * 50 * level_sd(1.0, config.fit_period, month_middles(pd.Index(["2023-04"])))[0]
    assert width["stock"]["2023-04"] == pytest.approx(expected, rel=0.05)
    assert width["stock"].is_monotonic_increasing
    assert width["flow"].tolist() == pytest.approx([0.18] * 15)  # no spread at all: 5.1 - 4.9, interpolated


def test_the_chart_note_says_what_spreads_the_band() -> None:
    from d2asim.report.calibration_report import chart_caption

    document = {"targets": {"nctr_remaining": {"label": "NCTR"}, "flow": {}}, "optimiser": {"final_replications": 8},
                "predictive_bands": {"members": 12, "level_change_sd": {"nctr_remaining": 0.1439}},
                "fit_period": {"start": "2022-04", "end": "2023-03"}}
    nctr, flow = (chart_caption(t, "monthly", document).note for t in ("nctr_remaining", "flow"))
    assert ("5–95% of the 12 members of the predictive ensemble's monthly means (replications and parameter "
            "draws), each spread by the model discrepancy and, after the fit period, by how far trusts' levels move "
            "(relative sd 14.4% a half year)") in nctr
    assert "each spread by the model discrepancy; orange shading" in flow
