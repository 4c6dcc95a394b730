"""Count the CPU instructions (and, optionally, simulated cache misses) of one warm
replication in valgrind: a measure that a busy machine cannot disturb.

    python benchmarks/count.py CASE [--days N] [--cache]

CASE is one of

* ``engine``: ``DischargeModel.run`` of the reference flow (seed 1, replication 0);
* ``replication``: ``run_replication`` of the reference flow;
* ``system-engine``: ``DischargeModel.run`` of the 5x8 system case;
* ``size-matched-engine``: ``DischargeModel.run`` of one trust the system's size (the
  reference flow times 5): the cost of so large a simulation without the system;
* ``system``: ``run_replication`` of the 5x8 system case;
* ``system-metrics``: the system's own daily series and metrics (its log made first);
* ``place-metrics``: ``place_metrics`` of the system's 13 places (its log made first).

``--days N`` shortens the reported period to N days (the warm-up stays); ``--cache``
also simulates the caches, with this machine's 2 MB L2 as the last level
(``--LL=2097152,16,64``: misses there are what the system case pays for), and prints
D1 and last-level data misses. Only the measured call is counted: the case is run once
to warm up, then once more inside ``eval``, and valgrind collects only within
``builtin_eval``. Needs ``valgrind`` (Debian: ``apt-get install valgrind``); a
replication runs about 50 times slower under it (several minutes with ``--cache``).
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

CASES = ("engine", "replication", "system-engine", "size-matched-engine", "system", "system-metrics", "place-metrics")
L2 = "--LL=2097152,16,64"  # size, associativity, line size of this machine's L2 (lscpu: 2 MB a core)


def measured_call(case: str, days: int | None) -> Callable[[], Any]:
    """The call whose cost is counted (its inputs made beforehand)."""
    from benchmarks.d2asim_flow import scenario
    from benchmarks.flow import REFERENCE
    from benchmarks.system_flow import system_scenario
    from d2asim.metrics.replication import replication_metrics
    from d2asim.metrics.series import daily_series, reported_columns
    from d2asim.model.engine import DischargeModel, sim_start_date
    from d2asim.runner import place_metrics, run_replication
    from d2asim.scenario.loader import with_overrides

    if case == "size-matched-engine":
        sc = scenario(REFERENCE.scaled(5))
    else:
        sc = scenario() if case in ("engine", "replication") else system_scenario()
    if days is not None:
        sc = with_overrides(sc, {"run.duration_days": days}, f"{case} cut to {days} days")
    if case in ("engine", "system-engine", "size-matched-engine"):
        return lambda: DischargeModel(sc, 1, 0).run()
    if case in ("replication", "system"):
        return lambda: run_replication(sc, 1, 0)
    log = DischargeModel(sc, 1, 0).run()
    start = sim_start_date(sc)
    if case == "system-metrics":
        return lambda: replication_metrics(log, sc, reported_columns(daily_series(log, sc, start)))
    metrics = replication_metrics(log, sc, reported_columns(daily_series(log, sc, start)))
    return lambda: place_metrics(log, sc, metrics)


def counted(case: str, days: int | None) -> None:
    """Run inside valgrind: warm up, then the counted call (inside ``eval``)."""
    call = measured_call(case, days)
    call()
    eval("call()", {"call": call})


def count(case: str, days: int | None, cache: bool) -> dict[str, int]:
    """Run ``case`` under callgrind and read its counts from valgrind's summary."""
    with tempfile.TemporaryDirectory(prefix="d2asim-count-") as tmp:
        cmd = ["valgrind", "--tool=callgrind", "--toggle-collect=builtin_eval", f"--callgrind-out-file={tmp}/out",
               *(["--cache-sim=yes", L2] if cache else []),
               sys.executable, __file__, "--counted", case, *(["--days", str(days)] if days else [])]  # fmt: skip
        try:
            done = subprocess.run(cmd, capture_output=True, text=True, check=False)
        except FileNotFoundError:
            sys.exit("valgrind not found: install it (Debian: apt-get install valgrind)")
    if done.returncode != 0:
        sys.exit(f"valgrind run failed ({done.returncode}):\n{done.stderr[-2000:]}")
    patterns = {"instructions": r"Collected : (\d+)", "d1_misses": r"D1  misses:\s+([\d,]+)",
                "last_level_data_misses": r"LLd misses:\s+([\d,]+)"}  # fmt: skip
    out = {}
    for key, pattern in patterns.items():
        found = re.search(pattern, done.stderr)
        if found:
            out[key] = int(found.group(1).replace(",", ""))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("case", choices=CASES)
    ap.add_argument("--days", type=int, help="reported days (default: the case's own)")
    ap.add_argument("--cache", action="store_true", help="also simulate the caches (L2 as the last level)")
    ap.add_argument("--counted", action="store_true", help=argparse.SUPPRESS)  # the run inside valgrind
    args = ap.parse_args()
    if args.counted:
        counted(args.case, args.days)
        return
    counts = count(args.case, args.days, args.cache)
    days = f", {args.days} reported days" if args.days else ""
    print(f"{args.case}{days}: " + ", ".join(f"{k.replace('_', ' ')} {v:,}" for k, v in counts.items()))


if __name__ == "__main__":
    main()
