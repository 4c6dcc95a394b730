"""Read a run folder (see README "The run folder") for reporting.

Problems are raised as :class:`~d2asim.scenario.errors.ScenarioError`, one line each,
``PATH: what is wrong``, so the CLI can print them and exit 2.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from d2asim.scenario.errors import ScenarioError
from d2asim.scenario.schedule import base_value
from d2asim.scenario.schema import Scenario
from d2asim.summary import mean_ci

SUMMARY_KEYS = ("scenario", "seed", "replications", "d2asim_version", "period", "metrics")
CSV_COLUMNS = {
    "daily.csv": ("replication", "date", "day", "reported", "acute_occupied"),
    "monthly.csv": ("replication", "month", "days", "delayed_bed_days"),
    "monthly_delays.csv": ("replication", "month", "dimension", "value", "delayed_bed_days"),
}


@dataclass(frozen=True)
class RunData:
    """The parts of a run folder the report uses.

    ``daily`` holds reported days only (warm-up dropped); stocks are people or beds
    (time averages over the day). ``monthly`` and ``monthly_delays`` are as written:
    one row per replication x month; delayed bed days in bed days.
    """

    folder: Path
    summary: dict[str, Any]
    scenario: dict[str, Any]
    daily: pd.DataFrame
    monthly: pd.DataFrame
    monthly_delays: pd.DataFrame
    run_date: str  # ISO date the run was made

    @property
    def metrics(self) -> dict[str, Any]:
        return self.summary["metrics"]

    @property
    def replication_ids(self) -> list[int]:
        return sorted(int(r) for r in self.daily["replication"].unique())

    def footer(self) -> str:
        """The provenance line printed under every chart."""
        s = self.summary
        return (f"Scenario {s['scenario']} · {s['replications']} replications · seed {s['seed']} · "
                f"d2asim {s['d2asim_version']} · run {self.run_date}")


def load_run(folder: Path) -> RunData:
    """Read and check a run folder; raise ScenarioError naming the first problem found."""
    if not folder.exists():
        raise ScenarioError([f"{folder}: run folder not found"])
    if not folder.is_dir():
        raise ScenarioError([f"{folder}: not a folder (expected a run folder from d2asim run)"])
    summary = _read_summary(folder / "summary.json")
    scenario = _read_scenario(folder / "scenario.yaml")
    tables = {name: read_csv(folder / name, columns) for name, columns in CSV_COLUMNS.items()}
    daily = tables["daily.csv"]
    daily["date"] = pd.to_datetime(daily["date"])
    daily["reported"] = daily["reported"].astype(str).str.lower().isin(("true", "1"))
    daily = daily[daily["reported"]].reset_index(drop=True)
    if daily.empty:
        raise ScenarioError([f"{folder / 'daily.csv'}: no reported days (all rows are warm-up)"])
    for name in ("monthly.csv", "monthly_delays.csv"):
        tables[name]["month"] = tables[name]["month"].astype(str)
    return RunData(folder=folder, summary=summary, scenario=scenario, daily=daily,
                   monthly=tables["monthly.csv"], monthly_delays=tables["monthly_delays.csv"],
                   run_date=_run_date(summary, folder / "summary.json"))


def run_scenario(run: RunData) -> Scenario:
    """The validated scenario of a run folder (its saved, resolved scenario.yaml);
    ScenarioError if it does not load under this version's schema."""
    from d2asim.scenario.loader import validate_mapping

    return validate_mapping(dict(run.scenario), run.folder / "scenario.yaml")


def _read_summary(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise ScenarioError([f"{path}: file not found (not a d2asim run folder?)"])
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ScenarioError([f"{path}: not valid JSON ({exc})"]) from None
    if not isinstance(doc, dict):
        raise ScenarioError([f"{path}: expected a JSON object"])
    missing = [k for k in SUMMARY_KEYS if k not in doc]
    if missing:
        raise ScenarioError([f"{path}: missing key(s) {', '.join(missing)}"])
    if not isinstance(doc["metrics"], dict) or not isinstance(doc["period"], dict):
        raise ScenarioError([f"{path}: 'metrics' and 'period' must be objects"])
    return doc


def _read_scenario(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise ScenarioError([f"{path}: file not found (not a d2asim run folder?)"])
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise ScenarioError([f"{path}: cannot read YAML ({str(exc).splitlines()[0]})"]) from None
    blocks = acute_blocks(data) if isinstance(data, dict) else {}
    if not blocks or any("beds" not in a for a in blocks.values()):
        raise ScenarioError([f"{path}: not a resolved scenario (needs acute.beds, or trusts with beds)"])
    return data


def acute_blocks(scenario: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The acute block of each trust of a resolved scenario mapping, by trust name
    (``{"": acute}`` in the single-site form)."""
    trusts = scenario.get("trusts")
    if isinstance(trusts, dict):
        return {name: t for name, t in trusts.items() if isinstance(t, dict)}
    acute = scenario.get("acute")
    return {"": acute} if isinstance(acute, dict) else {}


def system_beds(scenario: dict[str, Any]) -> tuple[int, int]:
    """Core and escalation acute beds of the whole system (summed over trusts)."""
    blocks = acute_blocks(scenario).values()
    return (sum(int(base_value(a["beds"])) for a in blocks),
            sum(int(base_value((a.get("escalation") or {}).get("beds") or 0)) for a in blocks))  # fmt: skip


def read_csv(path: Path, columns: tuple[str, ...]) -> pd.DataFrame:
    """Read a run-folder CSV; one-line ScenarioError for a missing file, bad CSV or missing column."""
    if not path.is_file():
        raise ScenarioError([f"{path}: file not found (not a d2asim run folder?)"])
    try:
        frame = pd.read_csv(path)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise ScenarioError([f"{path}: cannot read CSV ({str(exc).splitlines()[0]})"]) from None
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ScenarioError([f"{path}: missing column(s) {', '.join(missing)}"])
    return frame


def _run_date(summary: dict[str, Any], path: Path) -> str:
    """``created`` from summary.json if present, else the date summary.json was written."""
    created = summary.get("created")
    if isinstance(created, str) and len(created) >= 10:
        return created[:10]
    return dt.date.fromtimestamp(path.stat().st_mtime).isoformat()


def across_replications(frame: pd.DataFrame, key: str, column: str, floor: float | None = 0.0) -> pd.DataFrame:
    """Per ``key`` (e.g. date): mean of ``column`` over replications and its t-based
    95% confidence interval (``low``, ``high``), floored at ``floor`` (0: beds, people
    and rates cannot be negative) — the same method as summary.json."""
    rows = [{key: k, **mean_ci(g[column].to_numpy(), floor=floor)} for k, g in frame.groupby(key, sort=True)]
    out = pd.DataFrame(rows).rename(columns={"ci_low": "low", "ci_high": "high"})
    return out


def mean_by_category(frame: pd.DataFrame, dimension: str, replications: list[int],
                     months: list[str]) -> pd.DataFrame:
    """monthly_delays.csv rows of one ``dimension`` as a months x values table of mean
    delayed bed days over replications (a value absent in a replication counts as 0)."""
    part = frame[frame["dimension"] == dimension]
    wide = part.pivot_table(index=["replication", "month"], columns="value",
                            values="delayed_bed_days", aggfunc="sum", fill_value=0.0)
    full = pd.MultiIndex.from_product([replications, months], names=["replication", "month"])
    wide = wide.reindex(full, fill_value=0.0)
    return wide.groupby(level="month").mean().reindex(months)
