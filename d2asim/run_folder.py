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

A folder that exists and is not empty is never written into. A run claims its folder
by creating ``.d2asim-claim`` exclusively (an atomic step of the file system), so two
runs started together with the same ``--out`` can never share one.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import re
from pathlib import Path
from typing import Any

import yaml

from d2asim.metrics.replication import WAITS_NOTE
from d2asim.runner import RunResult
from d2asim.scenario.errors import ScenarioError
from d2asim.scenario.loader import scenario_to_dict
from d2asim.summary import series_spread, summarise
from d2asim.system.registry import registry_of
from d2asim.version import __version__

OUTPUTS = Path("outputs")


CLAIM = ".d2asim-claim"
MAX_NAME = 80  # characters of a folder name made from a scenario name
_RESERVED = {"CON", "PRN", "AUX", "NUL", *(f"COM{i}" for i in range(1, 10)), *(f"LPT{i}" for i in range(1, 10))}


def safe_name(name: str) -> str:
    """A folder name made from a scenario name: letters, digits, ``_ . -`` only, no
    leading dot (so never ``..`` or hidden), at most :data:`MAX_NAME` characters, and
    never a name Windows reserves (``CON``, ``NUL``, ``COM1`` ...)."""
    text = re.sub(r"[^A-Za-z0-9_.-]+", "_", name)[:MAX_NAME].strip("_.-") or "scenario"
    return f"_{text}" if text.split(".")[0].upper() in _RESERVED else text


def new_run_dir(name: str, out: Path | None, now: dt.datetime | None = None) -> Path:
    """Create, claim and return a fresh run folder: ``out`` (which must not exist or be
    empty) or ``outputs/<safe name>-<timestamp>``. Problems are one-line ScenarioErrors."""
    if out is not None:
        _make_folder(out, "--out")
        if any(p.name != CLAIM for p in out.iterdir()):
            raise ScenarioError([f"{out}: --out: folder exists and is not empty; choose a new folder"])
        _claim(out)
        return out
    stamp = (now or dt.datetime.now()).strftime("%Y%m%d-%H%M%S")
    _make_folder(OUTPUTS, "output folder")
    base = OUTPUTS / f"{safe_name(name)}-{stamp}"
    candidate, n = base, 1
    while True:
        try:
            candidate.mkdir()
        except FileExistsError:
            n += 1
            candidate = base.with_name(f"{base.name}-{n}")
            continue
        except OSError as exc:
            raise ScenarioError([f"{candidate}: cannot create the run folder ({exc.strerror or exc})"]) from None
        _claim(candidate)
        return candidate


def _make_folder(folder: Path, what: str) -> None:
    try:
        for parent in (folder, *folder.parents):
            if parent.exists() and not parent.is_dir():
                raise ScenarioError([f"{folder}: {what}: {parent} is a file, not a folder; choose a new folder"])
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ScenarioError([f"{folder}: {what}: cannot create the folder ({exc.strerror or exc})"]) from None


def _claim(folder: Path) -> None:
    """Create ``folder/.d2asim-claim`` exclusively; another run holding it is refused."""
    try:
        handle = os.open(folder / CLAIM, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    except FileExistsError:
        raise ScenarioError([f"{folder}: --out: another run has claimed this folder; choose a new folder"]) from None
    except OSError as exc:
        raise ScenarioError([f"{folder}: --out: cannot write into the folder ({exc.strerror or exc})"]) from None
    with os.fdopen(handle, "w") as claim:
        claim.write("this folder belongs to one d2asim run\n")


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
        "warnings": result.warnings(),
        "waits": WAITS_NOTE,
        "metrics": summarise(result.metrics_table(), result.ceilings()),
        **by_place(result),
    }


def by_place(result: RunResult) -> dict[str, dict[str, Any]]:
    """``by_trust`` and ``by_borough``: place name -> summarised metrics."""
    out: dict[str, dict[str, Any]] = {"by_trust": {}, "by_borough": {}}
    for scope in result.scopes():
        kind, _, name = scope.partition(":")
        out[f"by_{kind}"][name] = summarise(result.metrics_table(scope), result.ceilings(scope))
    return out


def write_run(result: RunResult, folder: Path, extra: dict[str, Any] | None = None) -> None:
    """Write every run-folder file into ``folder`` (summary.json last: its presence
    marks a complete run)."""
    scenario_file = folder / "scenario.yaml"
    if not scenario_file.exists():
        scenario_file.write_text(yaml.safe_dump(scenario_to_dict(result.scenario), sort_keys=False, allow_unicode=True))
    result.metrics_table().to_csv(folder / "replications.csv", float_format="%.6g")
    result.summary().to_csv(folder / "metrics.csv", float_format="%.6g")
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
