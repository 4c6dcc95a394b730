"""Before/after timing of two commits on the reference flow, side by side.

    python benchmarks/ab.py REV_A REV_B [--what sim full sim10 full10] [--rounds 3]

Checks out both revisions as temporary git worktrees and, round by round, alternates
fresh subprocesses that time one replication of the benchmark flow under each: ``sim``
is ``DischargeModel.run`` (the engine), ``full`` is ``run_replication`` (engine plus
every metric), ``…10`` the x10 flow. Each subprocess warms up once, then takes the
minimum CPU time (``time.process_time``) of several replications; the table shows the
minimum over rounds and B / A. CPU time of alternating runs is what a noisy shared
machine measures best; the main benchmark (``run.py``) reports wall time.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

TIME_ONE = """
import sys, time
sys.path.insert(0, sys.argv[1])
from benchmarks.d2asim_flow import scenario
from benchmarks.flow import REFERENCE, X10
from d2asim.model.engine import DischargeModel
from d2asim.runner import run_replication
what, n = sys.argv[2], int(sys.argv[3])
sc = scenario(X10 if what.endswith("10") else REFERENCE)
once = (lambda: DischargeModel(sc, 1, 0).run()) if what.startswith("sim") else (lambda: run_replication(sc, 1, 0))
once()
times = []
for _ in range(n):
    t = time.process_time()
    once()
    times.append(time.process_time() - t)
print(min(times))
"""


def time_tree(tree: Path, what: str) -> float:
    """Minimum CPU seconds of one replication under ``tree`` (fresh interpreter)."""
    n = "1" if what.endswith("10") else "5"
    out = subprocess.run([sys.executable, "-c", TIME_ONE, str(tree), what, n], capture_output=True, text=True,
                         check=True)  # fmt: skip
    return float(out.stdout)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("rev_a")
    ap.add_argument("rev_b")
    ap.add_argument("--what", nargs="+", default=["sim", "full", "sim10", "full10"],
                    choices=["sim", "full", "sim10", "full10"])  # fmt: skip
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="d2asim-ab-") as tmp:
        trees = []
        for label, rev in (("a", args.rev_a), ("b", args.rev_b)):
            tree = Path(tmp) / label
            subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(tree), rev], check=True,
                           capture_output=True)  # fmt: skip
            trees.append(tree)
        try:
            print(f"{'what':8} {'A ' + args.rev_a:>16} {'B ' + args.rev_b:>16}    B/A")
            for what in args.what:
                best = [float("inf"), float("inf")]
                for _ in range(args.rounds):
                    for k, tree in enumerate(trees):
                        best[k] = min(best[k], time_tree(tree, what))
                print(f"{what:8} {best[0]:16.4f} {best[1]:16.4f}  {best[1] / best[0]:5.3f}", flush=True)
        finally:
            for tree in trees:
                subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(tree)], check=False,
                               capture_output=True)  # fmt: skip


if __name__ == "__main__":
    main()
