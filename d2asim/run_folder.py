"""Write a run folder: the contract other tools read.

``summary.json``  scenario, seed, replications, d2asim_version, period, metrics
                  (each numeric entry ``{mean, ci_low, ci_high}`` over replications),
                  by_trust and by_borough (name -> the same metric objects)
``registry.csv``  the system's code -> name table (kind, code, name, properties)
``scenario.yaml`` the resolved scenario, every default filled in
``replications.csv`` one row per replication, one column per metric
``daily.csv``     one row per replication x simulated day (stocks are time averages)
``daily_summary.csv`` per day: mean, p5 and p95 across replications of each daily column
``monthly.csv``   one row per replication x month: occupancy, flows, delayed bed days, DTOC rate
``monthly_delays.csv`` delayed bed days per month by pathway / reason / org
``metrics.csv``   one row per metric: mean, CI and p5/p95 across replications

A folder that exists and is not empty is never written into.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from pathlib import Path
from typing import Any

import yaml

from d2asim import __version__
from d2asim.runner import RunResult
from d2asim.scenario.errors import ScenarioError
from d2asim.scenario.loader import scenario_to_dict
from d2asim.summary import series_spread, summarise, summary_frame
from d2asim.system.registry import registry_of

OUTPUTS = Path("outputs")


def new_run_dir(name: str, out: Path | None, now: dt.datetime | None = None) -> Path:
    """Create and return a fresh run folder (``outputs/<name>-<timestamp>`` by default)."""
    if out is not None:
        if out.exists() and (not out.is_dir() or any(out.iterdir())):
            raise ScenarioError([f"{out}: --out: folder exists and is not empty; choose a new folder"])
        out.mkdir(parents=True, exist_ok=True)
        return out
    stamp = (now or dt.datetime.now()).strftime("%Y%m%d-%H%M%S")
    base = OUTPUTS / f"{name}-{stamp}"
    candidate, n = base, 1
    while True:
        try:
            candidate.mkdir(parents=True, exist_ok=False)
            return candidate
        except FileExistsError:
            n += 1
            candidate = base.with_name(f"{base.name}-{n}")


def summary_document(result: RunResult, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """The ``summary.json`` content (``extra`` adds run details such as a stopping rule)."""
    return {
        "scenario": result.scenario.name,
        "seed": result.seed,
        "replications": len(result.replications),
        "d2asim_version": __version__,
        "period": {
            "start_date": result.scenario.run.start_date.isoformat(),
            "duration_days": result.scenario.run.duration_days,
            "warmup_days": result.scenario.run.warmup_days,
        },
        **(extra or {}),
        "metrics": summarise(result.metrics_table()),
        **by_place(result),
    }


def by_place(result: RunResult) -> dict[str, dict[str, Any]]:
    """``by_trust`` and ``by_borough``: place name -> summarised metrics."""
    out: dict[str, dict[str, Any]] = {"by_trust": {}, "by_borough": {}}
    for scope in result.scopes():
        kind, _, name = scope.partition(":")
        out[f"by_{kind}"][name] = summarise(result.metrics_table(scope))
    return out


def write_run(result: RunResult, folder: Path, extra: dict[str, Any] | None = None) -> None:
    """Write every run-folder file into ``folder`` (summary.json last: its presence
    marks a complete run)."""
    scenario_file = folder / "scenario.yaml"
    if not scenario_file.exists():
        scenario_file.write_text(yaml.safe_dump(scenario_to_dict(result.scenario), sort_keys=False, allow_unicode=True))
    result.metrics_table().to_csv(folder / "replications.csv", float_format="%.6g")
    summary_frame(result.metrics_table()).to_csv(folder / "metrics.csv", float_format="%.6g")
    daily = result.daily_table()
    daily.to_csv(folder / "daily.csv", index=False, float_format="%.4f")
    series_spread(daily).to_csv(folder / "daily_summary.csv", index=False, float_format="%.4f")
    result.monthly_table().to_csv(folder / "monthly.csv", index=False, float_format="%.4f")
    result.monthly_delays_table().to_csv(folder / "monthly_delays.csv", index=False, float_format="%.4f")
    registry_of(result.scenario).table().to_csv(folder / "registry.csv", index=False)
    doc = summary_document(result, extra)
    (folder / "summary.json").write_text(json.dumps(_finite_or_null(doc), indent=2, allow_nan=False) + "\n")


def _finite_or_null(node: Any) -> Any:
    """JSON has no NaN: undefined values (e.g. no patients on a pathway) become null."""
    if isinstance(node, dict):
        return {k: _finite_or_null(v) for k, v in node.items()}
    if isinstance(node, float) and not math.isfinite(node):
        return None
    return node
