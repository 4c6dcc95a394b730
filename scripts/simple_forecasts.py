"""How simple forecasts made at the origin fare against the backtest's best naive forecast.

The backtest scores a model against the **best** of three naive forecasts of each test
year (fit-period mean, last fit month, same month a year before), and that best one is
chosen on the test months themselves: no forecaster could know it at the origin. This
script asks how hard that is, with forecasts that use only what is known at the origin
(the fit months, and the test months' bed base, which a trust plans):

- ``last_3`` / ``last_6``: the mean of the last 3 / 6 fit months;
- ``rate_x_beds``: the fit months' mean of series / beds available, times each test
  month's beds available (occupancy: the hospital fills the beds it has).

For each trust, window and series (NCTR remaining, adult G&A beds occupied) it prints
each forecast's MAE over the best naive forecast's (below 1: better), and how many
windows each beats it in. Data: the bundled national extracts (``calibration/data``).

    python scripts/simple_forecasts.py [--trusts RKE,RAP] [--windows FIT/TEST,...]
"""

from __future__ import annotations

import argparse

import numpy as np
import pandas as pd

from d2asim.calibration import trust_data as td

TRUSTS = "RKE,R1F,RCD,RA9,RJC,RQW,RFF,RJR,RAP,RHW,RH5,RWG"  # scripts/generalise.py's twelve
WINDOWS = "2022-04:2023-03/2023-04:2024-03,2022-10:2023-09/2023-10:2024-09"


def monthly_series(code: str) -> pd.DataFrame:
    """Monthly means (``YYYY-MM`` index): NCTR remaining, beds occupied and available."""
    day = td.daily_series(code)
    remaining = (day["nctr"] - day["discharged"]).resample("MS").mean()
    remaining.index = remaining.index.strftime("%Y-%m")
    beds = pd.read_csv(td.DATA_DIR / td.BEDS_FILE)
    beds = beds[beds["nhs_trust22_code"] == code]
    beds.index = pd.to_datetime(beds["date"], format="%B %Y").dt.strftime("%Y-%m")
    return pd.DataFrame({"nctr_remaining": remaining,
                         "acute_occupancy": beds["adult_general_acute_beds_occupied"],
                         "beds": beds["adult_general_acute_beds_available"]}).sort_index()


def _months(period: str) -> list[str]:
    first, last = period.split(":")
    return td.months_between(first, last)


def scores(series: pd.Series, beds: pd.Series, fit: list[str], test: list[str]) -> dict[str, float]:
    """MAE of every naive and simple forecast over the test months, and the best naive's."""
    seen, observed = series.reindex(fit).dropna(), series.reindex(test)
    year_before = series.reindex([str(pd.Period(m) - 12) for m in test]).to_numpy()
    rate = float((series.reindex(fit) / beds.reindex(fit)).mean())

    def mae(forecast: np.ndarray | float) -> float:
        return float(np.nanmean(np.abs(observed.to_numpy() - forecast)))

    naive = {"fit_mean": mae(float(seen.mean())), "last_month": mae(float(seen.iloc[-1])),
             "same_month_last_year": mae(year_before)}
    return {**naive, "best_naive": min(naive.values()), "last_3": mae(float(seen.iloc[-3:].mean())),
            "last_6": mae(float(seen.iloc[-6:].mean())), "rate_x_beds": mae(rate * beds.reindex(test).to_numpy())}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--trusts", default=TRUSTS)
    parser.add_argument("--windows", default=WINDOWS, help="FIT/TEST,... (months START:END)")
    args = parser.parse_args()
    rows = []
    for code in args.trusts.upper().split(","):
        data = monthly_series(code)
        for window in args.windows.split(","):
            fit, test = (_months(p) for p in window.split("/"))
            for name in ("nctr_remaining", "acute_occupancy"):
                s = scores(data[name], data["beds"], fit, test)
                rows.append({"trust": code, "fit": f"{fit[0]}:{fit[-1]}", "series": name,
                             **{k: round(s[k] / s["best_naive"], 2) for k in ("last_3", "last_6", "rate_x_beds")},
                             "best_naive_mae": round(s["best_naive"], 1)})
    table = pd.DataFrame(rows)
    print("MAE of each forecast / MAE of the best naive forecast (chosen on the test months)")
    print(table.to_string(index=False))
    for name, group in table.groupby("series", sort=False):
        print(f"{name}: " + "; ".join(f"{k} beats it in {int((group[k] < 1).sum())} of {len(group)} "
                                      f"(median {group[k].median():.2f})" for k in ("last_3", "last_6", "rate_x_beds")))


if __name__ == "__main__":
    main()
