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

from d2asim import __version__
from d2asim.experiments.checkpoint import CheckpointStore, read_request, read_scenario, scenario_digest, write_scenario
from d2asim.run_folder import write_run
from d2asim.runner import RunResult
from d2asim.scenario.errors import ScenarioError
from d2asim.scenario.schema import Scenario


def start_multi(folder: Path, kind: str, scenarios: Sequence[Scenario], subfolders: Sequence[str],
                seed: int, replications: int, extra: dict[str, Any] | None = None) -> list[CheckpointStore]:
    """Write the request and each scenario before running; return one store each."""
    request = {"kind": kind, "seed": seed, "replications": replications, "d2asim_version": __version__,
               "subfolders": list(subfolders), "scenario_digests": [scenario_digest(s) for s in scenarios],
               **(extra or {})}
    (folder / "run.json").write_text(json.dumps(request, indent=2) + "\n")
    stores = []
    for scenario, sub in zip(scenarios, subfolders, strict=True):
        (folder / sub).mkdir(parents=True, exist_ok=True)
        write_scenario(folder / sub / "scenario.yaml", scenario)
        stores.append(CheckpointStore(folder / sub, scenario, seed))
    return stores


def read_multi(folder: Path, kind: str) -> tuple[dict[str, Any], list[Scenario], list[CheckpointStore]]:
    """Request, scenarios and stores of an interrupted comparison or sweep."""
    request = read_request(folder, {})
    if request.get("kind") != kind:
        raise ScenarioError([f"{folder}: --resume: this folder holds a {request.get('kind', 'run')!r}, not a {kind!r}"])
    required = {"seed": int, "replications": int, "subfolders": list, "scenario_digests": list}
    request = read_request(folder, {**required, **EXTRA_KEYS.get(kind, {})})
    subfolders, digests = request["subfolders"], request["scenario_digests"]
    if len(digests) != len(subfolders) or not all(_is_subfolder_name(s) for s in subfolders):
        raise ScenarioError([f"{folder / 'run.json'}: --resume: subfolders or scenario_digests damaged; "
                             f"this folder cannot be resumed: start a new run"])
    scenarios, stores = [], []
    for sub, digest in zip(subfolders, digests, strict=True):
        scenario = read_scenario(folder / sub / "scenario.yaml", str(digest))
        scenarios.append(scenario)
        stores.append(CheckpointStore(folder / sub, scenario, request["seed"]))
    return request, scenarios, stores


EXTRA_KEYS: dict[str, dict[str, type]] = {"sweep": {"points": list}}


def _is_subfolder_name(name: object) -> bool:
    """A name ``start_multi`` could have written: one path component of safe characters."""
    return isinstance(name, str) and re.fullmatch(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,119}", name) is not None


def finish_multi(folder: Path, runs: Sequence[RunResult], subfolders: Sequence[str]) -> None:
    """Write every sub-folder's run files (summary.json etc.)."""
    for run, sub in zip(runs, subfolders, strict=True):
        write_run(run, folder / sub)
