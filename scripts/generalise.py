"""Init + calibrate + backtest over many trusts (and fit/test windows), one table.

For each trust and each ``FIT/TEST`` window (rolling origins): ``d2asim calibrate
--trust CODE --fit FIT --test TEST`` (``--budget``: small, quick or full), then one row per
backtest series: MAE, the best naive forecast and its MAE, MASE, 80% and 90% coverage,
the same forecast anchored at the origin (``backtest_anchored``: MAE, MASE, 90% coverage),
the model's MAE over each naive forecast's (``mase_fit_mean``, ``mase_last_month``,
``mase_same_month_last_year``), plus the run's stability (``rerun_rank``: which search
point the fit kept, 0 the best, more when the better ones' reruns were unstable) and
verdict. Writes ``OUT/generalisation.csv`` and ``OUT/generalisation.md`` and keeps every
run folder under ``OUT/``; ``--from-folders`` rebuilds the table from those folders
without simulating.

    python scripts/generalise.py --out outputs/generalise \\
        --trusts RKE,RAP,RTH,... --windows 2022-04:2023-03/2023-04:2024-01
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import pandas as pd

from d2asim.calibration.command import calibrate_trust
from d2asim.calibration.trust_data import load_trust
from d2asim.scenario.errors import ScenarioError

SERIES = ("nctr_remaining", "acute_occupancy", "discharges_P1", "discharges_P2", "discharges_P3")
#: Search budgets: ``quick`` is ``calibrate --quick``; ``small`` is smaller still (for many trusts on
#: a busy machine: the Sobol design and a short local search); ``full`` the default settings.
SMALL = {"design_points": 6, "max_evaluations": 14, "replications": 1, "final_replications": 6, "refits": 0,
         "curvature_replications": 1, "parameter_draws": 6, "draw_replications": 1}


NAIVE = ("fit_mean", "last_month", "same_month_last_year")


def folder_of(out: Path, code: str, fit: str) -> Path:
    return out / f"{code}-{fit.replace(':', '_')}"


def run_one(code: str, fit: str, test: str, out: Path, budget: str, workers: int) -> list[dict[str, object]]:
    _, doc = calibrate_trust(code, fit, test, [], None, folder_of(out, code, fit), workers, budget == "quick", False,
                             lambda _m: None, False, SMALL if budget == "small" else None)
    return rows_of(doc, code, fit, test)


def rows_of(doc: dict[str, Any], code: str, fit: str, test: str) -> list[dict[str, object]]:
    """One row per backtest series of ``SERIES`` in a calibration.json document; the
    ``mase_*`` columns are the model's MAE over each naive forecast's (None: not scored),
    ``seconds`` the calibration's run time (``run_seconds``: wall, init excluded)."""
    first, last = fit.split(":")
    trust = load_trust(code, first, last)
    rows = []
    for series, m in doc["backtest"].items():
        if not m.get("n") or series not in SERIES:
            continue
        anchored = doc["backtest_anchored"].get(series, {})  # none when the last fit month has no simulated mean
        naive = m.get("naive", {})
        rows.append({"trust": code, "region": trust.region.title(), "beds": round(trust.beds), "fit": fit,
                     "test": test, "series": series, "months": m["n"], "mae": m["mae"], "bias": m["bias"],
                     "best_naive": m["best_naive"], "best_naive_mae": m["best_naive_mae"], "mase": m["mase"],
                     "coverage_80": m["coverage_80"], "coverage_90": m["coverage_90"],
                     "anchored_mae": anchored.get("mae"), "anchored_mase": anchored.get("mase"),
                     "anchored_coverage_90": anchored.get("coverage_90"),
                     "stable": doc["stability"]["stable"], "rerun_rank": doc["stability"].get("chosen_rank", 0),
                     "fit_for_planning": doc["verdict"]["fit_for_planning"],
                     "seconds": round(doc["run_seconds"]),
                     **{f"mase_{k}": m["mae"] / naive[k] if naive.get(k) else None for k in NAIVE}})
    return rows


def from_folder(code: str, fit: str, out: Path) -> list[dict[str, object]]:
    """The rows of an earlier run's folder (``--from-folders``)."""
    path = folder_of(out, code, fit) / "calibration.json"
    if not path.is_file():
        raise ScenarioError([f"{path}: no calibration.json (run without --from-folders first)"])
    doc = json.loads(path.read_text())
    test = doc["test_period"]
    return rows_of(doc, code, fit, f"{test['start']}:{test['end']}")


def markdown(table: pd.DataFrame) -> str:
    lines = ["| trust | region | beds | fit | series | MAE | best naive (MAE) | MASE | 80% cov. | 90% cov. | "
             "anchored MASE (90% cov.) | stable |", "|" + " --- |" * 12]
    for r in table.itertuples():
        lines.append(f"| {r.trust} | {r.region} | {r.beds} | {r.fit} | {r.series} | {r.mae:.3g} | {r.best_naive} "
                     f"({r.best_naive_mae:.3g}) | {r.mase:.2f} | {r.coverage_80:.0%} | {r.coverage_90:.0%} | "
                     f"{r.anchored_mase:.2f} ({r.anchored_coverage_90:.0%}) | {'yes' if r.stable else 'no'} |")
    return "\n".join(lines) + "\n"


def summary(table: pd.DataFrame) -> str:
    """Per series: trusts (windows) where MASE < 1, and the median coverage."""
    lines = []
    for series, rows in table.groupby("series", sort=False):
        lines.append(f"{series}: MASE < 1 in {int((rows['mase'] < 1).sum())} of {len(rows)}; median 90% coverage "
                     f"{rows['coverage_90'].median():.0%}, 80% {rows['coverage_80'].median():.0%}; anchored at the "
                     f"origin: MASE < 1 in {int((rows['anchored_mase'] < 1).sum())}, median 90% coverage "
                     f"{rows['anchored_coverage_90'].median():.0%}")
    runs = table.drop_duplicates(["trust", "fit"])
    lines.append(f"stable reruns: {int(runs['stable'].sum())} of {len(runs)} ({int((runs['rerun_rank'] > 0).sum())} "
                 f"after the search's best point's rerun failed); fit for planning: "
                 f"{int(runs['fit_for_planning'].sum())} of {len(runs)}")
    for series, rows in table.groupby("series", sort=False):
        lines.append(f"{series}: MAE below each naive forecast's: " + ", ".join(
            f"{k} in {int((rows[f'mase_{k}'] < 1).sum())} of {int(rows[f'mase_{k}'].notna().sum())}" for k in NAIVE))
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trusts", required=True, help="comma-separated trust codes")
    parser.add_argument("--windows", default="2022-04:2023-03/2023-04:2024-03",
                        help="FIT/TEST windows, comma-separated (rolling origins)")
    parser.add_argument("--out", type=Path, required=True, help="folder for the table and the run folders")
    parser.add_argument("--budget", choices=("small", "quick", "full"), default="quick",
                        help="search budget (see SMALL; quick = calibrate --quick; full = the defaults)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--from-folders", action="store_true",
                        help="rebuild the table from the run folders already under --out (simulate nothing)")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    rows: list[dict[str, object]] = []
    for code in args.trusts.split(","):
        for window in args.windows.split(","):
            fit, test = window.split("/")
            try:
                rows += (from_folder(code, fit, args.out) if args.from_folders
                         else run_one(code, fit, test, args.out, args.budget, args.workers))
            except ScenarioError as exc:
                print(f"{code} {window}: skipped: {exc.lines[0]}", flush=True)
                continue
            table = pd.DataFrame(rows)
            table.to_csv(args.out / "generalisation.csv", index=False)
            (args.out / "generalisation.md").write_text(markdown(table) + "\n" + summary(table) + "\n")
            print(f"{code} {window}: done ({rows[-1]['seconds']} s)", flush=True)
    print(summary(pd.DataFrame(rows)))


if __name__ == "__main__":
    main()
