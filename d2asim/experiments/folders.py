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

from d2asim.experiments.checkpoint import CheckpointStore, read_request, read_scenario, scenario_digest, write_scenario
from d2asim.run_folder import write_run
from d2asim.runner import RunResult
from d2asim.scenario.errors import ScenarioError
from d2asim.scenario.fields import value_at
from d2asim.scenario.loader import scenario_to_dict
from d2asim.scenario.schema import Scenario
from d2asim.version import __version__


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
    if kind == "sweep":
        _check_points(folder, request["points"], scenarios, subfolders)
    return request, scenarios, stores


def _check_points(folder: Path, points: list[Any], scenarios: list[Scenario], subfolders: list[str]) -> None:
    """Each sweep point's values (as written in run.json) are those of its scenario, so
    a resumed sweep never labels a result with another point's values."""
    if len(points) != len(scenarios):
        raise ScenarioError([f"{folder / 'run.json'}: --resume: {len(points)} points for {len(scenarios)} "
                             f"subfolders; this folder cannot be resumed: start a new run"])
    for i, (point, scenario, sub) in enumerate(zip(points, scenarios, subfolders, strict=True)):
        data = scenario_to_dict(scenario)
        if not isinstance(point, dict) or any(
                _is_scalar(v) and value_at(data, str(k), _ABSENT) != v for k, v in point.items()):
            raise ScenarioError([f"{folder / 'run.json'}: --resume: points[{i}] does not match {sub}/scenario.yaml; "
                                 f"this folder cannot be resumed: start a new run"])


def _is_scalar(value: object) -> bool:
    return value is None or isinstance(value, (str, int, float, bool))


_ABSENT = object()


EXTRA_KEYS: dict[str, dict[str, type]] = {"sweep": {"points": list}}


def _is_subfolder_name(name: object) -> bool:
    """A name ``start_multi`` could have written: one path component of safe characters."""
    return isinstance(name, str) and re.fullmatch(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,119}", name) is not None


def finish_multi(folder: Path, runs: Sequence[RunResult], subfolders: Sequence[str]) -> None:
    """Write every sub-folder's run files (summary.json etc.)."""
    for run, sub in zip(runs, subfolders, strict=True):
        write_run(run, folder / sub)
