"""A fingerprint of d2asim's results, to check that a speed change leaves them byte-identical.

    python benchmarks/fingerprint.py [--days N] [--reps R]

Runs ``run_replication`` on the reference flow, the 5x8 system case and four shipped
scenarios (``baseline``, ``d2a``, NCL ``baseline`` and ``haringey_d2a``), each shortened
to ``N`` reported days (default 120), replications ``0..R-1`` (default 2), plus one
full-length replication of the reference flow and of the system; prints one SHA-256 per
case over every metric, per-place metric, daily, monthly and monthly-delays table (the
bytes of each value) and one over all of them. Compare the last line before and after.

A change that moves metrics by rounding only (a sum taken in another order) changes the
digest; then compare the values themselves:

    python benchmarks/fingerprint.py --save BEFORE.pkl     (on the old commit)
    python benchmarks/fingerprint.py --save AFTER.pkl      (on the new one)
    python benchmarks/fingerprint.py --compare BEFORE.pkl AFTER.pkl

prints how many metric values differ and the largest relative difference, and whether
every daily, monthly and monthly-delays table is identical (exit 1 if they are not).
"""

from __future__ import annotations

import argparse
import hashlib
import pickle
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


def compare(before: dict[str, ReplicationResult], after: dict[str, ReplicationResult]) -> bool:
    """Print how far ``after``'s metric values are from ``before``'s; True if every table is identical."""
    if before.keys() != after.keys():
        sys.exit("the two files hold different cases (other --days or --reps?)")
    compared = differing = 0
    worst = 0.0
    tables_equal = True
    for key, old in before.items():
        new = after[key]
        if old.by_place.keys() != new.by_place.keys():
            sys.exit(f"{key}: the places differ")
        for a, b in [(old.metrics, new.metrics), *((old.by_place[s], new.by_place[s]) for s in old.by_place)]:
            if a.keys() != b.keys():
                sys.exit(f"{key}: the metrics differ: {sorted(set(a) ^ set(b))}")
            for name, x in a.items():
                compared += 1
                y = b[name]
                if x != y and not (np.isnan(x) and np.isnan(y)):
                    differing += 1
                    worst = max(worst, abs(x - y) / max(abs(x), abs(y)))
        for name in ("daily", "monthly", "monthly_delays"):
            if not getattr(old, name).equals(getattr(new, name)):
                tables_equal = False
                print(f"{key}: {name} differs")
    print(f"metric values compared {compared}, differing {differing}, largest relative difference {worst:.3g}; "
          f"every table identical: {'yes' if tables_equal else 'NO'}")  # fmt: skip
    return tables_equal


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--days", type=int, default=120)
    ap.add_argument("--reps", type=int, default=2)
    ap.add_argument("--save", type=Path, help="also keep every result in this file (pickle)")
    ap.add_argument("--compare", type=Path, nargs=2, metavar=("BEFORE", "AFTER"),
                    help="compare two --save files instead of running")  # fmt: skip
    args = ap.parse_args()
    if args.compare:
        before, after = (pickle.loads(path.read_bytes()) for path in args.compare)
        sys.exit(0 if compare(before, after) else 1)
    total = hashlib.sha256()
    kept: dict[str, ReplicationResult] = {}
    for label, sc in cases(args.days):
        reps = range(args.reps) if label.endswith("d") else range(1)
        for rep in reps:
            result = run_replication(sc, 1, rep)
            kept[f"{label} rep {rep}"] = result
            d = digest(result)
            total.update(d.encode())
            print(f"{label:32} rep {rep}  {d[:16]}", flush=True)
    print(f"all  {total.hexdigest()}")
    if args.save:
        args.save.write_bytes(pickle.dumps(kept))


if __name__ == "__main__":
    main()
