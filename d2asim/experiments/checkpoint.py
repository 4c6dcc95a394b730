"""Save each finished replication at once, so an interrupted run keeps its work.

Layout inside a run folder::

    run.json                    what was asked: scenario name, seed, replications, version
    scenario.yaml               the resolved scenario (written before the first replication)
    checkpoints/<point>/rep-NNNNN.pkl   one finished replication each (written atomically)
"""

from __future__ import annotations

import json
import os
import pickle
from pathlib import Path
from typing import Any

import yaml

from d2asim import __version__
from d2asim.runner import ReplicationResult
from d2asim.scenario.errors import ScenarioError
from d2asim.scenario.loader import scenario_to_dict, validate_mapping
from d2asim.scenario.schema import Scenario

CHECKPOINTS = "checkpoints"


class CheckpointStore:
    """Finished replications of one scenario (``point``) inside ``folder``."""

    def __init__(self, folder: Path, point: str = "main") -> None:
        self.dir = folder / CHECKPOINTS / point
        self.dir.mkdir(parents=True, exist_ok=True)

    def _path(self, replication: int) -> Path:
        return self.dir / f"rep-{replication:05d}.pkl"

    def save(self, result: ReplicationResult) -> None:
        path = self._path(result.replication)
        tmp = path.with_suffix(".tmp")
        with tmp.open("wb") as handle:
            pickle.dump(result, handle, protocol=pickle.HIGHEST_PROTOCOL)
            handle.flush()
            os.fsync(handle.fileno())
        tmp.replace(path)

    def load_all(self) -> dict[int, ReplicationResult]:
        """Every replication saved so far, by replication number."""
        done: dict[int, ReplicationResult] = {}
        for path in sorted(self.dir.glob("rep-*.pkl")):
            with path.open("rb") as handle:
                result: ReplicationResult = pickle.load(handle)
            done[result.replication] = result
        return done


def write_run_request(folder: Path, scenario: Scenario, seed: int, replications: int | str) -> None:
    """Record what a run was asked to do, so ``--resume`` can finish it."""
    (folder / "scenario.yaml").write_text(
        yaml.safe_dump(scenario_to_dict(scenario), sort_keys=False, allow_unicode=True)
    )
    request = {"scenario": scenario.name, "seed": seed, "replications": replications, "d2asim_version": __version__}
    (folder / "run.json").write_text(json.dumps(request, indent=2) + "\n")


def read_run_request(folder: Path) -> tuple[Scenario, dict[str, Any]]:
    """The scenario and request of an earlier (possibly interrupted) run."""
    request_file = folder / "run.json"
    if not request_file.is_file():
        raise ScenarioError([f"{folder}: --resume: not a d2asim run folder (no run.json)"])
    if (folder / "summary.json").exists():
        raise ScenarioError([f"{folder}: --resume: this run is already complete (summary.json exists)"])
    request = json.loads(request_file.read_text())
    data = yaml.safe_load((folder / "scenario.yaml").read_text())
    return validate_mapping(data, folder / "scenario.yaml"), request
