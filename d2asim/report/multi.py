"""Read a comparison or sweep folder (README "The run folder": one run folder per
scenario plus run.json and comparison.csv / sweep.csv) for reporting.

``folder_kind`` tells a run folder from a comparison or a sweep by run.json's
``kind``. Problems are raised as ScenarioError lines ``PATH: what is wrong``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from d2asim.experiments.compare import system_rows
from d2asim.report.data import _read_scenario, _read_summary, _run_date
from d2asim.scenario.errors import ScenarioError

MULTI_KINDS = {"compare": "comparison.csv", "sweep": "sweep.csv"}  # run.json kind -> its table
REQUEST_KEYS = ("seed", "replications", "subfolders")


def folder_kind(folder: Path) -> str:
    """``compare`` or ``sweep`` for a folder whose run.json says so, else ``run``."""
    request = folder / "run.json"
    if not folder.is_dir() or not request.is_file():
        return "run"
    try:
        doc = json.loads(request.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ScenarioError([f"{request}: not valid JSON ({exc})"]) from None
    kind = doc.get("kind") if isinstance(doc, dict) else None
    return kind if kind in MULTI_KINDS else "run"


@dataclass(frozen=True)
class MultiRun:
    """A comparison (baseline first) or a sweep (points in order): the request, the
    table (comparison.csv / sweep.csv as written), and each sub-folder's resolved
    scenario and summary.json."""

    folder: Path
    kind: str
    request: dict[str, Any]
    table: pd.DataFrame
    scenarios: list[dict[str, Any]]
    summaries: list[dict[str, Any]]
    run_date: str

    @property
    def subfolders(self) -> list[str]:
        return [str(s) for s in self.request["subfolders"]]

    @property
    def seed(self) -> int:
        return int(self.request["seed"])

    @property
    def replications(self) -> int:
        return int(self.request["replications"])

    @property
    def version(self) -> str:
        return str(self.request.get("d2asim_version") or self.summaries[0].get("d2asim_version", "?"))

    @property
    def period(self) -> dict[str, Any]:
        return dict(self.summaries[0]["period"])

    def provenance(self) -> str:
        """'10 replications · seed 1 · d2asim 0.1.0 · run 2025-06-01'."""
        return (f"{self.replications} replications · seed {self.seed} · d2asim {self.version} · "
                f"run {self.run_date}")


def load_multi(folder: Path, kind: str) -> MultiRun:
    """Read and check a comparison or sweep folder; ScenarioError names the first problem."""
    request_file = folder / "run.json"
    request = json.loads(request_file.read_text(encoding="utf-8"))
    missing = [k for k in REQUEST_KEYS if k not in request]
    if missing:
        raise ScenarioError([f"{request_file}: missing key(s) {', '.join(missing)}"])
    if kind == "sweep" and "points" not in request:
        raise ScenarioError([f"{request_file}: missing key points (a sweep records each point's values)"])
    table_file = folder / MULTI_KINDS[kind]
    if not table_file.is_file():
        raise ScenarioError([f"{table_file}: file not found (unfinished? finish it with "
                             f"d2asim {kind} --resume {folder})"])
    try:
        table = system_rows(pd.read_csv(table_file))  # reports show the whole system
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise ScenarioError([f"{table_file}: cannot read CSV ({str(exc).splitlines()[0]})"]) from None
    scenarios, summaries = [], []
    for sub in request["subfolders"]:
        summaries.append(_read_summary(folder / sub / "summary.json"))
        scenarios.append(_read_scenario(folder / sub / "scenario.yaml"))
    return MultiRun(folder=folder, kind=kind, request=request, table=table, scenarios=scenarios,
                    summaries=summaries, run_date=_run_date(summaries[0], folder / request["subfolders"][0]
                                                            / "summary.json"))


def flatten(node: Any, prefix: str = "") -> dict[str, Any]:
    """``{"a": {"b": 1}}`` -> ``{"a.b": 1}`` (lists and scalars are leaves)."""
    if isinstance(node, dict) and node:
        out: dict[str, Any] = {}
        for key, value in node.items():
            out.update(flatten(value, f"{prefix}{key}."))
        return out
    return {prefix[:-1]: node}


def _short(value: Any, width: int = 40) -> str:
    if value is None:
        text = "none"
    elif isinstance(value, float) and value.is_integer():
        text = f"{value:g}"
    elif isinstance(value, (list, dict)):
        text = json.dumps(value)
    else:
        text = str(value)
    return text if len(text) <= width else text[: width - 1] + "…"


def scenario_changes(base: dict[str, Any], other: dict[str, Any], limit: int = 6,
                     ignore: tuple[str, ...] = ("name", "description", "sweep", "extends")) -> list[str]:
    """Fields of the resolved scenario ``other`` that differ from ``base``, as
    ``field: old → new`` (at most ``limit``, then '… and N more')."""
    a, b = flatten(base), flatten(other)
    keys = [k for k in dict.fromkeys([*a, *b]) if k.split(".")[0] not in ignore and a.get(k) != b.get(k)]
    lines = [f"{k}: {_short(a.get(k))} → {_short(b.get(k))}" for k in keys[:limit]]
    if len(keys) > limit:
        lines.append(f"… and {len(keys) - limit} more")
    return lines
