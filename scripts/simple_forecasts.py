"""How simple forecasts made at the origin fare against the backtest's best naive forecast.

The backtest scores a model against the **best** of three naive forecasts of each test
year (fit-period mean, last fit month, same month a year before), and that best one is
chosen on the test months themselves: no forecaster could know it at the origin. This
script asks how hard that is, with forecasts that use only what is known at the origin
(the fit months, and the test months' bed base, which a trust plans):

- ``last_3`` / ``last_6``: the mean of the last 3 / 6 fit months;
- ``naive_mean``: the mean of the three naive forecasts (a forecast combination);
- ``rate_x_beds``: the fit months' mean of series / beds available, times each test
  month's beds available (occupancy: the hospital fills the beds it has).

For each trust, window and series (NCTR remaining, adult G&A beds occupied) it prints
each forecast's MAE over the best naive forecast's (below 1: better), and how many
windows each beats it in. ``--all`` does so for every trust in the national extracts
and every rolling origin with 12 complete fit months and 12 complete test months
(monthly means of at least ``MIN_DAYS`` valid days), and prints only the counts, which
naive forecast was best how often, and the coverage of normal bands around
``rate_x_beds`` with and without the level change of ``calibrate``'s bands
(:mod:`d2asim.calibration.reference_class`). Data: the bundled national extracts
(``calibration/data``).

    python scripts/simple_forecasts.py [--trusts RKE,RAP] [--windows FIT/TEST,...]
    python scripts/simple_forecasts.py --all
"""

from __future__ import annotations

import argparse
from collections.abc import Iterator

import numpy as np
import pandas as pd

from d2asim.calibration import trust_data as td
from d2asim.calibration.backtest import Z90, level_sd, month_middles
from d2asim.calibration.config import Period
from d2asim.calibration.reference_class import NATIONAL_SERIES, level_change_sd

TRUSTS = "RKE,R1F,RCD,RA9,RJC,RQW,RFF,RJR,RAP,RHW,RH5,RWG"  # scripts/generalise.py's twelve
WINDOWS = "2022-04:2023-03/2023-04:2024-03,2022-10:2023-09/2023-10:2024-09"
SERIES = ("nctr_remaining", "acute_occupancy")
FORECASTS = ("last_3", "last_6", "naive_mean", "rate_x_beds")
NAIVE = ("fit_mean", "last_month", "same_month_last_year")
MIN_DAYS = 10  # calibrate's default min_days_per_month
YEAR = 12  # months in a fit and in a test period with --all
Z80 = 1.2816  # two-sided 80% normal quantile


def national_series() -> dict[str, pd.DataFrame]:
    """Monthly means (``YYYY-MM`` rows, trust codes in columns) of ``SERIES`` and ``beds``
    (adult G&A beds available), from :func:`trust_data.national_monthly`."""
    national = td.national_monthly(min_days=MIN_DAYS)
    return {**{name: national[NATIONAL_SERIES[name]] for name in SERIES}, "beds": national["beds_available"]}


def scores(series: pd.Series, beds: pd.Series, fit: list[str], test: list[str]) -> dict[str, float]:
    """MAE of every naive and simple forecast over the test months, and the best naive's."""
    seen, observed = series.reindex(fit).dropna(), series.reindex(test)
    year_before = series.reindex([str(pd.Period(m) - 12) for m in test]).to_numpy()
    rate = float((series.reindex(fit) / beds.reindex(fit)).mean())

    def mae(forecast: np.ndarray | float) -> float:
        return float(np.nanmean(np.abs(observed.to_numpy() - forecast)))

    naive_forecasts: dict[str, np.ndarray | float] = {
        "fit_mean": float(seen.mean()), "last_month": float(seen.iloc[-1]), "same_month_last_year": year_before}
    naive = {name: mae(forecast) for name, forecast in naive_forecasts.items()}
    return {**naive, "best_naive": min(naive.values()), "last_3": mae(float(seen.iloc[-3:].mean())),
            "last_6": mae(float(seen.iloc[-6:].mean())),
            "naive_mean": mae(np.mean([np.broadcast_to(f, len(test)) for f in naive_forecasts.values()], axis=0)),
            "rate_x_beds": mae(rate * beds.reindex(test).to_numpy())}


def rolling_windows(series: pd.Series, beds: pd.Series) -> Iterator[tuple[list[str], list[str]]]:
    """Every (fit, test) pair of ``YEAR`` consecutive months each, the test right after the
    fit, where the series has every fit and test month and the 12 months before the test
    (same month last year), and the trust has adult G&A beds in every month."""
    known = series.notna() & (beds.reindex(series.index) > 0)
    months = list(series.index)
    for end in range(YEAR, len(months) - YEAR + 1):
        fit, test = months[end - YEAR:end], months[end:end + YEAR]
        if td.months_between(fit[0], test[-1]) == fit + test and known.reindex(fit + test).all():
            yield fit, test


def _ratios(s: dict[str, float]) -> dict[str, float]:
    return {k: s[k] / s["best_naive"] for k in FORECASTS}


def _counts(table: pd.DataFrame) -> str:
    return "; ".join(f"{k} beats it in {int((table[k] < 1).sum())} of {len(table)} ({(table[k] < 1).mean():.0%}; "
                     f"median ratio {table[k].median():.2f})" for k in FORECASTS)


def band_coverage(series: pd.Series, beds: pd.Series, fit: list[str], test: list[str],
                  level_change_sd: float | None) -> dict[str, float]:
    """Coverage of normal 80% and 90% bands around ``rate_x_beds`` over the test months:
    the fit months' root-mean-square error alone (``*_without``) and with the level change
    of the bands of ``calibrate`` (``*_with``: :func:`backtest.level_sd`, in quadrature)."""
    rate = float((series.reindex(fit) / beds.reindex(fit)).mean())
    error = np.sqrt(np.mean((series.reindex(fit) - rate * beds.reindex(fit)).to_numpy() ** 2))
    forecast = rate * beds.reindex(test).to_numpy()
    level = level_sd(level_change_sd, Period(start=fit[0], end=fit[-1]), month_middles(pd.Index(test)))
    out: dict[str, float] = {}
    for name, sd in (("without", np.full(len(test), error)), ("with", np.hypot(error, forecast * level))):
        z = np.abs(series.reindex(test).to_numpy() - forecast) / np.maximum(sd, 1e-12)
        out |= {f"coverage_90_{name}": float((z <= Z90).mean()), f"coverage_80_{name}": float((z <= Z80).mean())}
    return out


def every_trust() -> pd.DataFrame:
    """``--all``: a row per series, trust and rolling origin of the national extracts, with
    each forecast's MAE over the best naive forecast's, the best naive's name, and the
    coverage of :func:`band_coverage`'s bands."""
    data = national_series()
    rows = []
    for name in SERIES:
        rates = data[name] / data["beds"]
        levels: dict[str, float | None] = {}  # reference_class.level_change_sd by fit window (its last month)
        for code in data[name].columns.intersection(data["beds"].columns):
            series, beds = data[name][code], data["beds"][code]
            for fit, test in rolling_windows(series, beds):
                s = scores(series, beds, fit, test)
                if s["best_naive"] > 0:
                    if fit[-1] not in levels:
                        levels[fit[-1]] = level_change_sd(rates, fit)
                    rows.append({"series": name, "trust": code, "origin": fit[-1],
                                 "best": min(NAIVE, key=lambda k: s[k]), **_ratios(s),
                                 **band_coverage(series, beds, fit, test, levels[fit[-1]])})
    return pd.DataFrame(rows)


def print_every_trust(table: pd.DataFrame) -> None:
    print("MAE of each forecast / MAE of the best naive forecast (chosen on the test months), every trust and "
          f"rolling origin with {YEAR} fit and {YEAR} test months")
    for name, group in table.groupby("series", sort=False):
        best = group["best"].value_counts(normalize=True)
        print(f"{name}: {len(group)} windows, {group['trust'].nunique()} trusts, origins {group['origin'].min()}.."
              f"{group['origin'].max()}; best naive: " + ", ".join(f"{k} {v:.0%}" for k, v in best.items()))
        print(f"  {_counts(group)}")
        print("  bands around rate_x_beds, mean (median) coverage: " + "; ".join(
            f"{level}% {_mean_median(group[f'coverage_{level}_without'])} without the level change, "
            f"{_mean_median(group[f'coverage_{level}_with'])} with it" for level in (90, 80)))


def _mean_median(values: pd.Series) -> str:
    return f"{values.mean():.0%} ({values.median():.0%})"


def listed(trusts: str, windows: str) -> None:
    """The listed trusts and windows, a row each."""
    data = national_series()
    rows = []
    for code in trusts.upper().split(","):
        for window in windows.split(","):
            fit, test = (td.months_between(*p.split(":")) for p in window.split("/"))
            for name in SERIES:
                s = scores(data[name][code], data["beds"][code], fit, test)
                rows.append({"trust": code, "fit": f"{fit[0]}:{fit[-1]}", "series": name,
                             **{k: round(v, 2) for k, v in _ratios(s).items()},
                             "best_naive_mae": round(s["best_naive"], 1)})
    table = pd.DataFrame(rows)
    print("MAE of each forecast / MAE of the best naive forecast (chosen on the test months)")
    print(table.to_string(index=False))
    for name, group in table.groupby("series", sort=False):
        print(f"{name}: {_counts(group)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--trusts", default=TRUSTS)
    parser.add_argument("--windows", default=WINDOWS, help="FIT/TEST,... (months START:END)")
    parser.add_argument("--all", action="store_true", help="every trust and rolling origin (ignores the others)")
    args = parser.parse_args()
    if args.all:
        print_every_trust(every_trust())
    else:
        listed(args.trusts, args.windows)


if __name__ == "__main__":
    main()
