"""Simulated weekday discharge shares of ``d2asim init``'s scenario against the trust's
observed ones (docs/calibration.md, "Any trust in one command").

    python scripts/init_weekdays.py [--period 2022-04:2023-03] [--trusts RKE,RAP,RTH,RAL]

For each trust: init's scenario for the period, 4 replications of 364 days after 91 days
of warm-up (seed 20230401); prints the observed shares (NCTR discharges a day, days
submitted), the simulated minus the observed, and whether each simulated share is in the
observed 95% t-interval over the full weeks.
"""

from __future__ import annotations

import argparse

import yaml

from d2asim.calibration.init_scenario import scenario_text, trust_calendar
from d2asim.calibration.trust_data import load_trust, parse_period
from d2asim.runner import run_replications
from d2asim.scenario.loader import validate_mapping, with_overrides


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--period", default="2022-04:2023-03")
    parser.add_argument("--trusts", default="RKE,RAP,RTH,RAL")
    args = parser.parse_args()
    start, end = parse_period(args.period)
    print("| trust | observed | simulated − observed | in the observed 95% CI |\n| --- | --- | --- | --- |")
    for code in args.trusts.split(","):
        trust = load_trust(code, start, end)
        w = trust_calendar(trust).weekdays
        if w.shares is None or w.ci is None:
            print(f"| {code} | {w.note} | | |")
            continue
        scenario = validate_mapping(yaml.safe_load(scenario_text(trust, [], "weekdays")), "weekdays")
        scenario = with_overrides(scenario, {"run.warmup_days": 91, "run.duration_days": 364})
        daily = run_replications(scenario, 4, 20230401).daily_table()
        daily = daily[daily["reported"]]
        per = daily.groupby(["replication", daily["date"].dt.day_of_week])["discharges"].sum().unstack()
        simulated = per.div(per.sum(axis=1), axis=0).mean()
        inside = sum(lo <= s <= hi for s, (lo, hi) in zip(simulated, w.ci, strict=True))
        observed = " ".join(f"{v:.3f}".lstrip("0") for v in w.shares)
        gaps = " ".join(f"{s - o:+.3f}".replace("0.", ".").replace("-", "−")
                        for s, o in zip(simulated, w.shares, strict=True))
        print(f"| {code} | {observed} | {gaps} | {inside} of 7 |")


if __name__ == "__main__":
    main()
