"""How far a trust's level moves in half a year, from every other trust: the reference
class behind the level-change term of the predictive bands.

A model fitted to a year matches that year's level; the test year's level moves (NCTR
remaining's test-year mean differs from its fit-year mean by a median 17% across the
generalisation windows), and the fit months alone cannot say how far. Every other
English trust's series over the same months can: ``level_change_sd`` is the robust
spread across trusts (1.4826 x the median absolute deviation from the median, so a
merger or a reporting change does not set it) of log(mean of the last 6 fit months /
mean of the 6 months before them), per bed available, so that a bed base the model
follows is not counted as a level change. It uses the fit months only: no look ahead.

:func:`d2asim.calibration.backtest.level_sd` turns it into a random walk of the level
from the fit period's centre: ``level_change_sd * sqrt(months from the centre / 6)``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from d2asim.calibration import trust_data as td

HALF_YEAR = 6  # months in each half of the comparison
MIN_TRUSTS = 10  # fewer trusts with both halves: no reference class
MAD_TO_SD = 1.4826  # the median absolute deviation of a normal sample, in standard deviations

#: calibrate --trust's targets with a national series: observed series name
NATIONAL_SERIES = {"nctr_remaining": "nctr_remaining", "acute_occupancy": "beds_occupied"}


def level_change_sd(rates: pd.DataFrame, fit_months: list[str]) -> float | None:
    """Robust sd across trusts (columns of ``rates``, ``YYYY-MM`` rows) of the log ratio
    of the last ``HALF_YEAR`` fit months' mean to the previous ``HALF_YEAR`` months' mean
    (a trust needs every one of those months); None with fewer than 12 fit months or
    fewer than ``MIN_TRUSTS`` trusts."""
    if len(fit_months) < 2 * HALF_YEAR:
        return None
    window = rates.reindex(fit_months[-2 * HALF_YEAR:])
    window = window.loc[:, window.notna().all() & (window > 0).all()]
    if window.shape[1] < MIN_TRUSTS:
        return None
    change = np.log(window.iloc[HALF_YEAR:].mean() / window.iloc[:HALF_YEAR].mean())
    return float(MAD_TO_SD * (change - change.median()).abs().median())


def trust_level_changes(fit_months: list[str], data_dir: Path = td.DATA_DIR) -> dict[str, float]:
    """``level_change_sd`` of each target in ``NATIONAL_SERIES`` over ``fit_months``,
    per bed available, from every trust in the national extracts (targets without one
    are left out)."""
    national = td.national_monthly(data_dir)
    out = {}
    for target, series in NATIONAL_SERIES.items():
        sd = level_change_sd(national[series] / national["beds_available"], fit_months)
        if sd is not None:
            out[target] = round(sd, 4)
    return out
