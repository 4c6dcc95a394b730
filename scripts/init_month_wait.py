"""Admission waits of ``d2asim init``'s scenario with its month profile and without it
(docs/calibration.md, "the calendar"): the cost of a winter peak on constant beds.

    python scripts/init_month_wait.py [--period 2022-04:2023-03] [--trusts R1F,RTH,RKE]

One replication (seed 1) of 365 days after 180 days of warm-up each way; prints the
largest month multiplier, the mean and 99th-percentile admission wait (hours) of the
patients admitted after the warm-up, and how many arrivals were never admitted.
"""

from __future__ import annotations

import argparse

import numpy as np
import yaml

from d2asim.calibration.init_scenario import scenario_text
from d2asim.calibration.trust_data import load_trust, parse_period
from d2asim.model.engine import DischargeModel
from d2asim.scenario.loader import validate_mapping, with_overrides

WARMUP, DAYS = 180, 365


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--period", default="2022-04:2023-03")
    parser.add_argument("--trusts", default="R1F,RTH,RKE")
    args = parser.parse_args()
    start, end = parse_period(args.period)
    for code in args.trusts.split(","):
        scenario = validate_mapping(yaml.safe_load(scenario_text(load_trust(code, start, end), [], "m")), "m")
        profile = scenario.arrivals.non_elective.month_of_year  # type: ignore[union-attr]
        out = []
        for label, over in (("calendar", {}), ("flat", {"arrivals.non_elective.month_of_year": None})):
            run = with_overrides(scenario, {"run.warmup_days": WARMUP, "run.duration_days": DAYS, **over})
            acute = DischargeModel(run, 1, 0).run().table("acute")
            admitted = ~np.isnan(acute["admit"])
            wait = ((acute["admit"] - acute["arrival"]) * 24)[admitted & (acute["arrival"] > WARMUP)]
            left = int(((acute["arrival"] < WARMUP + DAYS - 1) & ~admitted).sum())
            out.append(f"{label}: wait {wait.mean():.2f} h, p99 {np.percentile(wait, 99):.1f} h, never admitted {left}")
        print(code, "largest multiplier", max(profile) if profile else "none (flat)", "|", " | ".join(out))


if __name__ == "__main__":
    main()
