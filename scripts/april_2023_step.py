"""The April-2023 step in NCTR patients remaining: local, regional or a reporting change?

Reads ``calibration/data/acute_sitrep_nctr_daily.csv.gz`` (acute discharge SitRep,
Table 2, April 2022 - January 2024: every trust, ICB, region and England) and asks
three questions, each with a number:

1. **Level shift by trust**: NCTR remaining (patients at the end of the day, mean per
   day) in April-September 2023 against the same months of 2022 (same season, so no
   seasonal profile is needed). A trust "steps" when the ratio is at least 1.3.
2. **Regional or national?** The same ratio for each region and England, and the share
   of each region's trusts that step.
3. **A reporting change on 1 April 2023?** For each trust, the jump from the mean of
   17-31 March to the mean of 1-14 April 2023, in units of that trust's typical
   two-week change (the standard deviation of the differences between consecutive
   14-day means over the whole series). A change in definition or collection would
   show as a jump at that date in many trusts at once, and in England's total.

Days not submitted (an NCTR count of 0 or blank) are left out of every mean.

    python scripts/april_2023_step.py [--trusts RKE,RAP] [--csv FILE]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd

DATA = Path(__file__).resolve().parents[1] / "calibration" / "data" / "acute_sitrep_nctr_daily.csv.gz"
STEP = 1.3
ENGLAND = "ENGLAND (Type 1 Trusts)"


def load(path: Path = DATA) -> pd.DataFrame:
    rows = pd.read_csv(path)
    rows["date"] = pd.to_datetime(rows["date"])
    for column in ("n_nctr", "n_discharged", "n_remaining_nctr"):
        rows[column] = pd.to_numeric(rows[column], errors="coerce")
    rows.loc[~(rows["n_nctr"] > 0), ["n_nctr", "n_discharged", "n_remaining_nctr"]] = np.nan
    return rows


def _mean(series: pd.Series, start: str, end: str) -> float:
    return float(series[(series.index >= start) & (series.index <= end)].mean())


def april_jump(series: pd.Series) -> float:
    """(mean 1-14 April 2023 - mean 17-31 March 2023) / sd of consecutive 14-day-mean changes."""
    fortnights = series.resample("14D", origin=pd.Timestamp("2022-04-01")).mean().dropna()
    sd = float(fortnights.diff().std())
    jump = _mean(series, "2023-04-01", "2023-04-14") - _mean(series, "2023-03-17", "2023-03-31")
    return jump / sd if sd > 0 else np.nan


def by_trust(rows: pd.DataFrame) -> pd.DataFrame:
    out = []
    for code, trust in rows[rows["level"] == "trust"].groupby("org_code"):
        remaining = trust.set_index("date")["n_remaining_nctr"].sort_index()
        before, after = _mean(remaining, "2022-04-01", "2022-09-30"), _mean(remaining, "2023-04-01", "2023-09-30")
        nctr = trust.set_index("date")["n_nctr"].sort_index()
        gone = trust.set_index("date")["n_discharged"].sort_index()
        out.append({"org_code": code, "org_name": trust["org_name"].iloc[-1], "region": trust["region"].iloc[-1],
                    "remaining_apr_sep_2022": before, "remaining_apr_sep_2023": after,
                    "ratio": after / before if before > 0 else np.nan,
                    "nctr_ratio": _mean(nctr, "2023-04-01", "2023-09-30") / _mean(nctr, "2022-04-01", "2022-09-30"),
                    "discharged_ratio": _mean(gone, "2023-04-01", "2023-09-30")
                    / _mean(gone, "2022-04-01", "2022-09-30"),
                    "remaining_mar_2023": _mean(remaining, "2023-03-01", "2023-03-31"),
                    "remaining_apr_2023": _mean(remaining, "2023-04-01", "2023-04-30"),
                    "april_jump_sd": april_jump(remaining)})
    table = pd.DataFrame(out)
    table["steps"] = table["ratio"] >= STEP
    return table


def by_region(rows: pd.DataFrame, trusts: pd.DataFrame) -> pd.DataFrame:
    national = rows[rows["level"] == "national"]
    out = []
    for name, area in national.groupby("org_name"):
        remaining = area.set_index("date")["n_remaining_nctr"].sort_index()
        mine = trusts if name == ENGLAND else trusts[trusts["region"] == name]
        out.append({"area": name, "trusts": len(mine), "trusts_stepping": int(mine["steps"].sum()),
                    "ratio": _mean(remaining, "2023-04-01", "2023-09-30") / _mean(remaining, "2022-04-01",
                                                                                    "2022-09-30"),
                    "april_jump_sd": april_jump(remaining),
                    "median_trust_april_jump_sd": float(mine["april_jump_sd"].median())})
    return pd.DataFrame(out).sort_values("area")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trusts", default="RKE,RAP", help="trusts to show in full (comma-separated codes)")
    parser.add_argument("--csv", type=Path, default=None, help="write the per-trust table here")
    args = parser.parse_args()
    rows = load()
    trusts = by_trust(rows)
    regions = by_region(rows, trusts)
    pd.set_option("display.width", 200)
    print("Regions and England: NCTR remaining, Apr-Sep 2023 / Apr-Sep 2022; the 1 April 2023 jump in sd units")
    print(regions.round(2).to_string(index=False))
    shown = trusts[trusts["org_code"].isin(args.trusts.split(","))]
    print("\nNamed trusts:")
    print(shown.drop(columns="org_name").round(2).to_string(index=False))
    jumps = trusts["april_jump_sd"].dropna()
    print(f"\n{int(trusts['steps'].sum())} of {len(trusts)} trusts step (ratio >= {STEP}); median ratio "
          f"{trusts['ratio'].median():.2f}; trusts with a 1 April jump above 2 sd: {int((jumps > 2).sum())}, "
          f"below -2 sd: {int((jumps < -2).sum())} (of {len(jumps)}; about {0.05 * len(jumps):.0f} expected by "
          "chance in all)")
    stepping = trusts[trusts["steps"]].sort_values("ratio", ascending=False)
    print("\nTrusts that step:")
    print(stepping[["org_code", "region", "remaining_apr_sep_2022", "remaining_apr_sep_2023", "ratio",
                    "nctr_ratio", "discharged_ratio", "april_jump_sd"]].round(2).to_string(index=False))
    if args.csv:
        trusts.to_csv(args.csv, index=False)


if __name__ == "__main__":
    main()
