"""Does ``d2asim optimise`` find what an exhaustive grid finds, for less?

A small case where the grid is affordable: a 6-admissions-a-day trust whose P1 and P2
services are bought on block contracts (P1 6-16 places at £100 a place a day, P2 4-12
at £150), a budget of £850,000 a year (51 of the 99 mixes fit) and the objective
delayed bed days. The *truth* is every mix within budget run with many replications
(seed 999, not used by the optimiser). For each optimiser seed, the optimiser's
choice counts as a success when its true mean is within ``delta`` of the true best.
Its replications (every mix it simulated, its selection stage and the scenario's
own mix) are compared with the grid the same user would run: every mix within budget
at the same ``--reps``.

    python -m benchmarks.optimise_vs_grid --seeds 20 --workers 2

prints the rate and the replication ratio (and writes them as JSON with ``--json``).
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from d2asim.experiments.compare import run_scenarios
from d2asim.experiments.executor import Backend
from d2asim.experiments.optimise_space import Request, annual_commissioning_cost, parse_vary
from d2asim.experiments.sweep import grid_points, point_scenarios
from d2asim.scenario.loader import validate_mapping
from d2asim.scenario.schema import Scenario
from d2asim.service import plan_optimise, run_optimise

VARY = ("services.p1.capacity=6:16", "services.p2.capacity=4:12")
BUDGET = 850_000.0
OBJECTIVE = "delayed_bed_days"
TRUTH_SEED = 999


def case() -> Scenario:
    """The small case (120 reported days after 20 of warm-up)."""
    lognormal = {"type": "lognormal"}
    ttr = {**lognormal, "mean": 4.0, "sd": 3.0}
    return validate_mapping({
        "name": "grid_case",
        "run": {"warmup_days": 20, "duration_days": 120},
        "arrivals": {"non_elective": {"per_day": 6.0}},
        "acute": {"beds": 60, "time_to_discharge_ready_days": {p: ttr for p in ("P0", "P1", "P2", "P3")}},
        "pathways": {"shares": {"P0": 0.5, "P1": 0.3, "P2": 0.2, "P3": 0.0},
                     "settings": {"P1": {"service": "p1"}, "P2": {"service": "p2"}, "P3": {"service": None}}},
        "services": {
            "p1": {"capacity": 10, "duration_days": {**lognormal, "mean": 6.0, "sd": 4.0},
                   "cost_per_place_per_day_gbp": 100},
            "p2": {"capacity": 8, "duration_days": {**lognormal, "mean": 5.0, "sd": 3.0},
                   "cost_per_place_per_day_gbp": 150},
        },
    }, "benchmarks.optimise_vs_grid")


def truth(base: Scenario, reps: int, backend: Backend) -> dict[tuple[int, ...], float]:
    """Mean objective of every mix within budget, ``reps`` replications at TRUTH_SEED."""
    variables = parse_vary(list(VARY), base)
    points = grid_points({v.field: v.grid() for v in variables})
    scenarios = point_scenarios(base, points, "grid")
    keep = [(p, s) for p, s in zip(points, scenarios, strict=True) if annual_commissioning_cost(s) <= BUDGET]
    runs = run_scenarios([s for _, s in keep], reps, TRUTH_SEED, backend)
    return {tuple(p.values()): float(r.metrics_table()[OBJECTIVE].mean()) for (p, _), r in zip(keep, runs, strict=True)}


def optimiser_choice(base: Scenario, seed: int, n0: int, trials: int, delta: float, backend: Backend,
                     top: int = 3, max_reps: int | None = None,
                     fill_budget: bool = False) -> tuple[tuple[int, ...], int]:
    """The mix chosen with ``seed`` and the replications it took."""
    request = Request(parse_vary(list(VARY), base), BUDGET, OBJECTIVE, False, [], n0, seed, trials, batch=2,
                      delta=delta, top=top, max_reps=max_reps, fill_budget=fill_budget)
    with tempfile.TemporaryDirectory() as tmp:
        folder = plan_optimise(base, request, Path(tmp) / "run", "grid_case")
        _, best = run_optimise(folder, backend, report=False)
    return tuple(best["chosen"]["variables"].values()), int(best["replications_used_with_current"])


def measure(seeds: int, truth_reps: int, n0: int, trials: int, delta_share: float, workers: int,
            first_seed: int = 1, truth_file: Path | None = None, fill_budget: bool = False) -> dict[str, Any]:
    """The within-delta rate and the replication ratio over ``seeds`` optimiser seeds
    (``truth_file``: the truth's means are read from it if it exists, else written there)."""
    base = case()
    backend = Backend(workers, progress=False)
    if truth_file is not None and truth_file.exists():
        saved = json.loads(truth_file.read_text())
        assert saved["replications"] == truth_reps, f"{truth_file} holds a truth of {saved['replications']} reps"
        means = {tuple(k): v for k, v in saved["means"]}
    else:
        means = truth(base, truth_reps, backend)
        if truth_file is not None:
            truth_file.write_text(json.dumps({"replications": truth_reps, "means": [[list(k), v] for k, v in
                                                                                     means.items()]}) + "\n")
    best = min(means.values())
    delta = delta_share * best
    rows = []
    for seed in range(first_seed, first_seed + seeds):
        chosen, used = optimiser_choice(base, seed, n0, trials, delta, backend, max_reps=2 * n0,
                                        fill_budget=fill_budget)
        rows.append({"seed": seed, "chosen": chosen, "true_mean": means[chosen], "gap": means[chosen] - best,
                     "within_delta": bool(means[chosen] - best <= delta), "replications": used})
    grid_reps = len(means) * n0
    used = np.array([r["replications"] for r in rows])
    return {"mixes_within_budget": len(means), "truth_replications_per_mix": truth_reps, "true_best": best,
            "true_best_mix": min(means, key=lambda k: means[k]), "delta": delta, "delta_share": delta_share,
            "n0": n0, "trials": trials, "fill_budget": fill_budget, "grid_replications": grid_reps,
            "within_delta_rate": float(np.mean([r["within_delta"] for r in rows])),
            "replications_mean": float(used.mean()), "replications_max": int(used.max()),
            "replication_ratio_max": float(used.max() / grid_reps), "seeds": rows}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--truth-reps", type=int, default=20)
    parser.add_argument("--reps", type=int, default=4, help="n0: replications of each mix (and of the grid)")
    parser.add_argument("--trials", type=int, default=8)
    parser.add_argument("--delta-share", type=float, default=0.05, help="delta as a share of the true best")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--truth-file", type=Path, default=None, help="cache of the truth's means (JSON)")
    parser.add_argument("--fill-budget", action="store_true", help="as d2asim optimise --fill-budget")
    args = parser.parse_args()
    out = measure(args.seeds, args.truth_reps, args.reps, args.trials, args.delta_share, args.workers,
                  truth_file=args.truth_file, fill_budget=args.fill_budget)
    for row in out["seeds"]:
        print(f"seed {row['seed']:3d}: chose {row['chosen']} true mean {row['true_mean']:8.1f} gap "
              f"{row['gap']:7.1f} {'within' if row['within_delta'] else 'OUTSIDE'} delta, {row['replications']} reps")
    print(f"true best {out['true_best']:.1f} at {out['true_best_mix']}; delta {out['delta']:.1f} "
          f"({out['delta_share']:.0%}); within delta in {out['within_delta_rate']:.0%} of {len(out['seeds'])} seeds; "
          f"replications: mean {out['replications_mean']:.1f}, max {out['replications_max']} of the grid's "
          f"{out['grid_replications']} (ratio {out['replication_ratio_max']:.2f})")
    if args.json is not None:
        args.json.write_text(json.dumps(out, indent=2, default=str) + "\n")


if __name__ == "__main__":
    main()
