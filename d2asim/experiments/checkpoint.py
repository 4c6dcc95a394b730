"""Save each finished replication at once, so an interrupted run keeps its work.

Layout inside a run folder::

    run.json                    what was asked: scenario name, seed, replications, version,
                                scenario_digest (of the resolved scenario)
    scenario.yaml               the resolved scenario (written before the first replication)
    checkpoints/<point>/rep-NNNNN.npz   one finished replication each (written atomically)

A checkpoint holds NumPy arrays only (read with ``allow_pickle=False``, so it cannot run
code) and a JSON header naming the scenario digest, seed, replication and d2asim version
it belongs to. ``load_all`` refuses any file that does not match, with one line naming
the file: moving that file away makes the replication run again.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import re
import zipfile
from pathlib import Path
from typing import Any, BinaryIO, NoReturn

import numpy as np
import pandas as pd
import yaml

from d2asim.runner import ReplicationResult
from d2asim.scenario.errors import ScenarioError
from d2asim.scenario.loader import read_yaml, scenario_to_dict, validate_mapping
from d2asim.scenario.schema import Scenario
from d2asim.version import __version__

CHECKPOINTS = "checkpoints"
FORMAT = "d2asim-checkpoint-1"
HEADER = "header"
SUFFIX = ".npz"
PARTIAL = ".partial"  # a save cut short (e.g. by SIGKILL): never read, replaced by the next save
_NAME = re.compile(r"rep-(\d{5,})\.npz")
_RECOVER = "move the file away and the replication is re-run"


def scenario_digest(scenario: Scenario) -> str:
    """SHA-256 of the resolved scenario (every default filled in), in canonical JSON."""
    text = json.dumps(scenario_to_dict(scenario), sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(text.encode("ascii")).hexdigest()


class CheckpointStore:
    """Finished replications of one scenario (``point``) run with ``seed`` inside ``folder``."""

    def __init__(self, folder: Path, scenario: Scenario, seed: int, point: str = "main") -> None:
        self.dir = folder / CHECKPOINTS / point
        self.dir.mkdir(parents=True, exist_ok=True)
        self.identity = {"format": FORMAT, "scenario_digest": scenario_digest(scenario), "seed": seed,
                         "d2asim_version": __version__}

    def _path(self, replication: int) -> Path:
        return self.dir / f"rep-{replication:05d}{SUFFIX}"

    def save(self, result: ReplicationResult) -> None:
        path = self._path(result.replication)
        tmp = path.with_name(path.name + PARTIAL)
        header, arrays = _encode(result)
        header.update(self.identity, replication=result.replication)
        arrays[HEADER] = np.array(json.dumps(header, allow_nan=True))
        with tmp.open("wb") as handle:
            _write_npz(handle, arrays)
            handle.flush()
            os.fsync(handle.fileno())
        tmp.replace(path)

    def load_all(self) -> dict[int, ReplicationResult]:
        """Every replication saved so far, by replication number; a file that is not a
        checkpoint of this scenario and seed is refused (ScenarioError naming it)."""
        done: dict[int, ReplicationResult] = {}
        for path in sorted(self.dir.iterdir()):
            if path.name.endswith(PARTIAL):
                continue
            match = _NAME.fullmatch(path.name)
            if match is None or not path.is_file():
                _refuse(path, "not a d2asim checkpoint (only rep-NNNNN.npz files belong here; nothing else is read)")
            done[int(match.group(1))] = self._load(path, int(match.group(1)))
        return done

    def _load(self, path: Path, replication: int) -> ReplicationResult:
        if not zipfile.is_zipfile(path):
            _refuse(path, "damaged or not a checkpoint (not a NumPy .npz archive)")
        try:
            with np.load(path, allow_pickle=False) as archive:
                arrays = {name: archive[name] for name in archive.files}
        except (OSError, ValueError, EOFError, zipfile.BadZipFile, KeyError) as exc:
            _refuse(path, f"damaged checkpoint (an array cannot be read: {type(exc).__name__})")
        try:
            header = json.loads(str(arrays.pop(HEADER)))
        except (KeyError, ValueError):
            _refuse(path, "damaged checkpoint (no readable header)")
        if not isinstance(header, dict) or header.get("format") != FORMAT:
            _refuse(path, f"not a {FORMAT} file")
        for key, expected in {**self.identity, "replication": replication}.items():
            if header.get(key) != expected:
                _refuse(path, f"belongs to another run ({key} {header.get(key)!r}, this run has {expected!r})")
        try:
            return _decode(header, arrays)
        except (KeyError, TypeError, ValueError) as exc:
            _refuse(path, f"damaged checkpoint ({type(exc).__name__}: {str(exc)[:80]})")


def _write_npz(handle: BinaryIO, arrays: dict[str, np.ndarray]) -> None:
    """What ``np.savez_compressed`` writes, with fixed member dates so that the same
    replication always gives the same bytes."""
    with zipfile.ZipFile(handle, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, array in arrays.items():
            info = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            with archive.open(info, "w", force_zip64=True) as member:
                np.lib.format.write_array(member, np.asanyarray(array), allow_pickle=False)


def _refuse(path: Path, why: str) -> NoReturn:
    raise ScenarioError([f"{path}: --resume: {why}; {_RECOVER}"])


def _encode(result: ReplicationResult) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """The JSON header (plain fields, and each table's columns and dtypes) and the arrays."""
    header: dict[str, Any] = {"fields": {}, "tables": {}}
    arrays: dict[str, np.ndarray] = {}
    for field in dataclasses.fields(result):
        value = getattr(result, field.name)
        if isinstance(value, pd.DataFrame):
            if not isinstance(value.index, pd.RangeIndex) or value.index.start != 0 or value.index.step != 1:
                raise ValueError(f"checkpoint: table {field.name} must have a default index")
            header["tables"][field.name] = [[str(c), str(value[c].dtype)] for c in value.columns]
            for i, column in enumerate(value.columns):
                arrays[f"{field.name}.{i}"] = _column_array(value[column])
        else:
            header["fields"][field.name] = value
    return header, arrays


def _column_array(column: pd.Series) -> np.ndarray:
    if column.dtype.kind in "biufM":
        return column.to_numpy()
    if column.isna().any():
        raise ValueError(f"checkpoint: column {column.name} has missing text values")
    return np.array(column.astype(object).tolist(), dtype=np.str_)


def _decode(header: dict[str, Any], arrays: dict[str, np.ndarray]) -> ReplicationResult:
    values: dict[str, Any] = dict(header["fields"])
    for name, columns in header["tables"].items():
        data = {column: pd.Series(arrays[f"{name}.{i}"], dtype=dtype) for i, (column, dtype) in enumerate(columns)}
        values[name] = pd.DataFrame(data, columns=[c for c, _ in columns])
    return ReplicationResult(**values)


def write_run_request(folder: Path, scenario: Scenario, seed: int, replications: int | str) -> None:
    """Record what a run was asked to do, so ``--resume`` can finish it."""
    write_scenario(folder / "scenario.yaml", scenario)
    request = {"scenario": scenario.name, "seed": seed, "replications": replications, "d2asim_version": __version__,
               "scenario_digest": scenario_digest(scenario)}
    (folder / "run.json").write_text(json.dumps(request, indent=2) + "\n")


def write_scenario(path: Path, scenario: Scenario) -> None:
    """The resolved scenario as YAML (what ``read_scenario`` reads back)."""
    path.write_text(yaml.safe_dump(scenario_to_dict(scenario), sort_keys=False, allow_unicode=True), encoding="utf-8")


def read_request(folder: Path, required: dict[str, type | tuple[type, ...]]) -> dict[str, Any]:
    """``run.json`` of an earlier run, checked to hold ``required`` keys of the given
    types and this d2asim version (ScenarioError naming the file otherwise)."""
    request_file = folder / "run.json"
    if not request_file.is_file():
        raise ScenarioError([f"{folder}: --resume: not a d2asim run folder (no run.json)"])
    try:
        request = json.loads(request_file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise ScenarioError([f"{request_file}: --resume: unreadable ({type(exc).__name__}); "
                             f"this folder cannot be resumed: start a new run"]) from None
    if not isinstance(request, dict):
        raise ScenarioError([f"{request_file}: --resume: not a run request (expected a JSON object)"])
    for key, kind in {**required, "d2asim_version": str}.items():
        value = request.get(key)
        if not isinstance(value, kind) or isinstance(value, bool):
            raise ScenarioError([f"{request_file}: --resume: {key}: missing or of the wrong type; "
                                 f"this folder cannot be resumed: start a new run"])
    if request["d2asim_version"] != __version__:
        raise ScenarioError([f"{request_file}: --resume: started with d2asim {request['d2asim_version']}, this is "
                             f"{__version__} (results would differ): resume with that version or start a new run"])
    return request


def read_scenario(path: Path, digest: str) -> Scenario:
    """The resolved scenario saved in a run folder, refused unless its digest is ``digest``."""
    scenario = validate_mapping(read_yaml(path), path)
    if scenario_digest(scenario) != digest:
        raise ScenarioError([f"{path}: --resume: changed since the run started (its digest differs from run.json); "
                             f"put the original back, or start a new run with the edited scenario"])
    return scenario


def read_run_request(folder: Path) -> tuple[Scenario, dict[str, Any]]:
    """The scenario and request of an earlier (possibly interrupted) run."""
    request = read_request(folder, {"seed": int, "replications": (int, str), "scenario_digest": str})
    if (folder / "summary.json").exists():
        raise ScenarioError([f"{folder}: --resume: this run is already complete (summary.json exists)"])
    return read_scenario(folder / "scenario.yaml", request["scenario_digest"]), request
