"""Folders of several runs (comparisons, sweeps): one sub-folder per scenario.

``run.json`` records the request (kind, seed, replications, the sub-folders and,
for sweeps, each point's values) so that ``--resume`` can finish the work; each
sub-folder is an ordinary run folder with its own ``checkpoints/``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from d2asim import __version__
from d2asim.experiments.checkpoint import CheckpointStore
from d2asim.run_folder import write_run
from d2asim.runner import RunResult
from d2asim.scenario.errors import ScenarioError
from d2asim.scenario.loader import scenario_to_dict, validate_mapping
from d2asim.scenario.schema import Scenario


def safe_name(name: str) -> str:
    """A file-system-safe folder name for a scenario."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("_") or "scenario"


def start_multi(folder: Path, kind: str, scenarios: Sequence[Scenario], subfolders: Sequence[str],
                seed: int, replications: int, extra: dict[str, Any] | None = None) -> list[CheckpointStore]:
    """Write the request and each scenario before running; return one store each."""
    request = {"kind": kind, "seed": seed, "replications": replications, "d2asim_version": __version__,
               "subfolders": list(subfolders), **(extra or {})}
    (folder / "run.json").write_text(json.dumps(request, indent=2) + "\n")
    stores = []
    for scenario, sub in zip(scenarios, subfolders, strict=True):
        (folder / sub).mkdir(parents=True, exist_ok=True)
        (folder / sub / "scenario.yaml").write_text(
            yaml.safe_dump(scenario_to_dict(scenario), sort_keys=False, allow_unicode=True))
        stores.append(CheckpointStore(folder / sub))
    return stores


def read_multi(folder: Path, kind: str) -> tuple[dict[str, Any], list[Scenario], list[CheckpointStore]]:
    """Request, scenarios and stores of an interrupted comparison or sweep."""
    request_file = folder / "run.json"
    if not request_file.is_file():
        raise ScenarioError([f"{folder}: --resume: not a d2asim run folder (no run.json)"])
    request = json.loads(request_file.read_text())
    if request.get("kind") != kind:
        raise ScenarioError([f"{folder}: --resume: this folder holds a {request.get('kind', 'run')!r}, not a {kind!r}"])
    scenarios, stores = [], []
    for sub in request["subfolders"]:
        path = folder / sub / "scenario.yaml"
        scenarios.append(validate_mapping(yaml.safe_load(path.read_text()), path))
        stores.append(CheckpointStore(folder / sub))
    return request, scenarios, stores


def finish_multi(folder: Path, runs: Sequence[RunResult], subfolders: Sequence[str]) -> None:
    """Write every sub-folder's run files (summary.json etc.)."""
    for run, sub in zip(runs, subfolders, strict=True):
        write_run(run, folder / sub)
