"""Rolling-origin backtest of ``d2asim forecast``: one forecast per day, scored by horizon.

For every origin day in ``--from``..``--to`` and each trust: the census of the evening
before, ``d2asim init``'s scenario from the 12 months before with the NCTR level of
the last 28 days (as ``d2asim forecast`` makes it), ``--reps`` replications over
``--horizon`` days. Each observed day h = 1..H after the origin is scored against the
forecast mean, against "last value" (the census evening's observed value) and against
"mean of last 4 weeks" (the 28 days before the origin), with the coverage of the 80%
(p10-p90) and 90% (p5-p95) intervals. Only the daily observed series are scored (NCTR
remaining, NCTR discharged); beds occupied are published as monthly means only.

    python scripts/forecast_backtest.py --trusts RKE --from 2023-04-01 --to 2024-03-31 --out FILE.csv
"""

from __future__ import annotations

import argparse
import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd

from d2asim.calibration import forecast as fc
from d2asim.calibration.simfit import Simulator
from d2asim.scenario.errors import ScenarioError

SCORED = ("nctr", "discharges")


def backtest(code: str, first: dt.date, last: dt.date, horizon: int, reps: int, workers: int) -> pd.DataFrame:
    daily = fc.observed_daily(code)
    rows = []
    with Simulator(fc.SPECS, workers) as sim:
        for month_start in pd.date_range(first, last, freq="MS"):
            origins = [d.date() for d in pd.date_range(month_start, min(month_start + pd.offsets.MonthEnd(0),
                                                                        pd.Timestamp(last)))]
            states, jobs, bases = [], [], []
            for origin in origins:
                try:
                    state = fc.census(code, origin, daily=daily)
                except ScenarioError:
                    continue
                scenario = fc.base_scenario(code, origin, nctr_level=state.nctr_level)  # as d2asim forecast
                states.append(state)
                bases.append(fc.discharges_a_day(scenario, origin))
                jobs.append((fc.start_from(scenario, state, horizon), 1, range(reps)))
            for state, base, frames in zip(states, bases, sim.run(jobs), strict=True):
                table = fc.forecast_table(frames, state.recorded_discharges / base, 1)
                last_4_weeks = state.history[state.history.index >= pd.Timestamp(state.origin)
                                             - pd.Timedelta(days=28)]
                for series in SCORED:
                    mine = table[table["series"] == series].reset_index(drop=True)
                    last_value = float(state.history[series].dropna().iloc[-1])
                    mean_4 = float(last_4_weeks[series].mean())
                    for h, row in enumerate(mine.itertuples(), start=1):
                        observed = daily[series].get(pd.Timestamp(row.date), np.nan)
                        if not np.isfinite(observed):
                            continue
                        rows.append({"trust": code, "origin": state.origin, "horizon": h, "series": series,
                                     "observed": observed, "mean": row.mean, "last_value": last_value,
                                     "mean_last_4_weeks": mean_4, "in_80": row.p10 <= observed <= row.p90,
                                     "in_90": row.p5 <= observed <= row.p95})
            print(f"{code} {month_start:%Y-%m}: {len(states)} origins", flush=True)
    return pd.DataFrame(rows)


def by_horizon(scores: pd.DataFrame) -> pd.DataFrame:
    out = []
    for (code, series, h), g in scores.groupby(["trust", "series", "horizon"]):
        out.append({"trust": code, "series": series, "horizon": h, "origins": len(g),
                    "mae_model": (g["mean"] - g["observed"]).abs().mean(),
                    "mae_last_value": (g["last_value"] - g["observed"]).abs().mean(),
                    "mae_mean_last_4_weeks": (g["mean_last_4_weeks"] - g["observed"]).abs().mean(),
                    "bias_model": (g["mean"] - g["observed"]).mean(),
                    "coverage_80": g["in_80"].mean(), "coverage_90": g["in_90"].mean()})
    return pd.DataFrame(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trusts", default="RKE")
    parser.add_argument("--from", dest="first", default="2023-04-01")
    parser.add_argument("--to", dest="last", default="2024-03-31")
    parser.add_argument("--horizon", type=int, default=14)
    parser.add_argument("--reps", type=int, default=10)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--out", type=Path, required=True, help="CSV of the scores by horizon")
    args = parser.parse_args()
    parts = []
    for code in args.trusts.split(","):  # the tables are rewritten after each trust
        parts.append(backtest(code, dt.date.fromisoformat(args.first), dt.date.fromisoformat(args.last),
                              args.horizon, args.reps, args.workers))
        scores = pd.concat(parts)
        scores.to_csv(args.out.with_name(args.out.stem + "_all.csv"), index=False)
        table = by_horizon(scores)
        table.to_csv(args.out, index=False)
    pd.set_option("display.width", 200)
    print(table.round(2).to_string(index=False))


if __name__ == "__main__":
    main()
