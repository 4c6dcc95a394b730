"""A fingerprint of d2asim's results, to check that a speed change leaves them byte-identical.

    python benchmarks/fingerprint.py [--days N] [--reps R]

Runs ``run_replication`` on the reference flow, the 5x8 system case and four shipped
scenarios (``baseline``, ``d2a``, NCL ``baseline`` and ``haringey_d2a``), each shortened
to ``N`` reported days (default 120), replications ``0..R-1`` (default 2), plus one
full-length replication of the reference flow and of the system; prints one SHA-256 per
case over every metric, per-place metric, daily, monthly and monthly-delays table (the
bytes of each value) and one over all of them. Compare the last line before and after.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
from pathlib import Path

import numpy as np
import pandas as pd

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.d2asim_flow import scenario as reference_scenario
from benchmarks.system_flow import system_scenario
from d2asim.runner import ReplicationResult, run_replication
from d2asim.scenario.loader import load_scenario, with_overrides
from d2asim.scenario.schema import Scenario

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = ("scenarios/baseline.yaml", "scenarios/d2a.yaml", "scenarios/ncl/baseline.yaml",
             "scenarios/ncl/haringey_d2a.yaml")  # fmt: skip


def _frame(h: hashlib._Hash, frame: pd.DataFrame) -> None:
    h.update(repr(list(frame.columns)).encode())
    h.update(repr(list(frame.index)).encode())
    for column in frame.columns:
        values = frame[column].to_numpy()
        numeric = values.dtype.kind in "biuf"
        h.update(np.ascontiguousarray(values).tobytes() if numeric else repr(values.tolist()).encode())


def _metrics(h: hashlib._Hash, metrics: dict[str, float]) -> None:
    for key in sorted(metrics):
        h.update(key.encode())
        h.update(np.float64(metrics[key]).tobytes())


def digest(result: ReplicationResult) -> str:
    """SHA-256 of one replication's metrics, per-place metrics and tables."""
    h = hashlib.sha256()
    _metrics(h, result.metrics)
    for scope in sorted(result.by_place):
        h.update(scope.encode())
        _metrics(h, result.by_place[scope])
    for frame in (result.daily, result.monthly, result.monthly_delays):
        _frame(h, frame)
    return h.hexdigest()


def cases(days: int) -> list[tuple[str, Scenario]]:
    """(label, scenario) of every case, shortened to ``days`` reported days."""
    full = [("reference", reference_scenario()), ("system", system_scenario())]
    shipped = [(name, load_scenario(ROOT / name)) for name in SCENARIOS]
    short = [(f"{label}@{days}d", with_overrides(sc, {"run.duration_days": days}, label))
             for label, sc in [*full, *shipped]]  # fmt: skip
    return short + [(f"{label}@full", sc) for label, sc in full]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--days", type=int, default=120)
    ap.add_argument("--reps", type=int, default=2)
    args = ap.parse_args()
    total = hashlib.sha256()
    for label, sc in cases(args.days):
        reps = range(args.reps) if label.endswith("d") else range(1)
        for rep in reps:
            d = digest(run_replication(sc, 1, rep))
            total.update(d.encode())
            print(f"{label:32} rep {rep}  {d[:16]}", flush=True)
    print(f"all  {total.hexdigest()}")


if __name__ == "__main__":
    main()
