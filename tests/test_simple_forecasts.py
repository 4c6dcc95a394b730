"""scripts/simple_forecasts.py: its arithmetic by hand, and the numbers docs/calibration.md
quotes for every trust and rolling origin of the national extracts (forecasts against the
best naive one, and the coverage of bands with and without the level change)."""

from __future__ import annotations

from types import ModuleType

import numpy as np
import pandas as pd
import pytest
from helpers import load_script


@pytest.fixture(scope="module")
def script() -> ModuleType:
    return load_script("simple_forecasts")


def _months(n: int) -> list[str]:
    return [str(pd.Period("2022-04", freq="M") + i) for i in range(n)]


def test_scores_by_hand(script: ModuleType) -> None:
    months = _months(24)
    fit, test = months[:12], months[12:]
    values = [10.0] * 9 + [16.0, 16.0, 16.0] + [20.0] * 12  # a level step in the fit's last quarter
    series, beds = pd.Series(values, index=months), pd.Series(100.0, index=months)
    s = script.scores(series, beds, fit, test)
    assert s["fit_mean"] == pytest.approx(20 - 11.5)  # fit mean (90 + 48) / 12 = 11.5
    assert s["last_month"] == pytest.approx(4.0)
    assert s["same_month_last_year"] == pytest.approx((9 * 10 + 3 * 4) / 12)
    assert s["best_naive"] == pytest.approx(4.0)
    assert (s["last_3"], s["last_6"]) == pytest.approx((4.0, 20 - 13.0))
    assert s["naive_mean"] == pytest.approx(np.mean(np.abs(20 - (11.5 + 16 + series[fit].to_numpy()) / 3)))
    assert s["rate_x_beds"] == pytest.approx(s["fit_mean"])  # constant beds: the rate is the fit mean


def test_rolling_windows_skip_gaps_and_bedless_months(script: ModuleType) -> None:
    months = _months(26)
    series, beds = pd.Series(1.0, index=months), pd.Series(10.0, index=months)
    assert [(f[0], t[-1]) for f, t in script.rolling_windows(series, beds)] == [
        ("2022-04", "2024-03"), ("2022-05", "2024-04"), ("2022-06", "2024-05")]
    series.iloc[1] = np.nan  # 2022-05 missing: only the window after it is left
    beds.iloc[25] = 0.0  # no beds in 2024-05
    assert [f[0] for f, _ in script.rolling_windows(series, beds)] == []
    whole = pd.Series(1.0, index=months)
    gapped = whole.drop(months[1])  # 2022-05 absent from the index: 24 rows from 2022-04 are not 24 months
    assert [f[0] for f, _ in script.rolling_windows(gapped, whole)] == ["2022-06"]

def test_every_trust_numbers_the_docs_quote(script: ModuleType) -> None:
    table = script.every_trust()
    nctr = table[table["series"] == "nctr_remaining"]
    occupancy = table[table["series"] == "acute_occupancy"]
    assert (len(nctr), nctr["trust"].nunique(), len(occupancy), occupancy["trust"].nunique()) == (1942, 116, 2348, 131)
    assert (nctr["best"] == "last_month").mean() == pytest.approx(0.53, abs=0.005)
    beats = {k: float((nctr[k] < 1).mean()) for k in script.FORECASTS}
    assert beats == pytest.approx({"last_3": 0.27, "last_6": 0.26, "naive_mean": 0.14, "rate_x_beds": 0.30}, abs=0.005)
    assert float((occupancy["rate_x_beds"] < 1).mean()) == pytest.approx(0.77, abs=0.005)
    # the level change of calibrate's bands: normal bands around rate x beds, mean coverage
    coverage = {(name, level, kind): float(group[f"coverage_{level}_{kind}"].mean())
                for name, group in table.groupby("series") for level in (90, 80) for kind in ("without", "with")}
    assert coverage == pytest.approx({
        ("nctr_remaining", 90, "without"): 0.63, ("nctr_remaining", 90, "with"): 0.89,
        ("nctr_remaining", 80, "without"): 0.52, ("nctr_remaining", 80, "with"): 0.81,
        ("acute_occupancy", 90, "without"): 0.73, ("acute_occupancy", 90, "with"): 0.93,
        ("acute_occupancy", 80, "without"): 0.62, ("acute_occupancy", 80, "with"): 0.86}, abs=0.005)
