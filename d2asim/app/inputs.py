"""The app's inputs, apart from Streamlit: loading bundled or uploaded scenarios
safely, the form's fields (from the schema), the changes against the baseline and
the option file that states them.

Safety (the limits are stated on the app's home page):

* an upload is at most :data:`MAX_UPLOAD_BYTES` and its files are written, under
  plain names, into the session's own folder next to copies of the bundled
  scenarios, and nowhere else;
* an uploaded scenario may only ``extends:`` a bundled scenario or another file
  uploaded with it, and its ``csv:`` paths likewise: anything naming another place
  (``/``, ``\\``, ``..``) is refused before a file is read, so no other file of the
  machine is read, and errors never show its contents;
* a run may ask for at most :data:`MAX_REPLICATIONS` replications and
  :data:`MAX_SIMULATED_DAYS` simulated days (warm-up + reported period), and an
  optimisation at most :data:`MAX_OPTIMISE_TRIALS` mixes.
"""

from __future__ import annotations

import os
import posixpath
import re
import shutil
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from d2asim.scenario.errors import ScenarioError, format_validation_error
from d2asim.scenario.fields import FieldDoc, field_doc
from d2asim.scenario.loader import deep_merge, load_scenario, read_yaml, scenario_to_dict, validate_mapping
from d2asim.scenario.schema import Scenario
from d2asim.scenario.workbook import cell_text, flatten

MAX_UPLOAD_BYTES = 2_000_000
MAX_FILES = 20
MAX_REPLICATIONS = 50
MAX_SIMULATED_DAYS = 1_100
MAX_SWEEP_POINTS = 12
MAX_OPTIMISE_TRIALS = 40  # distinct mixes an optimise job simulates in its search
BUNDLED = Path(__file__).resolve().parents[2] / "scenarios"
SCENARIO_SUFFIXES = (".yaml", ".yml", ".xlsx")
FORM = "form"  # the source named in the form's error lines
WORKSPACE_VARIABLE = "D2ASIM_APP_WORKSPACE"  # set by ``d2asim app``: a folder removed when the server stops
_PLAIN_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


def bundled_scenarios() -> list[str]:
    """The bundled scenarios, as paths relative to ``scenarios/`` (``baseline.yaml``,
    ``ncl/baseline.yaml``, ...): the only names besides uploads an upload may name."""
    return sorted(p.relative_to(BUNDLED).as_posix() for p in BUNDLED.rglob("*.yaml"))


def plain_name(name: str) -> bool:
    """A file name with no folder part, not hidden and no '..'."""
    return bool(_PLAIN_NAME.match(name)) and ".." not in name


@dataclass(frozen=True)
class Loaded:
    """A loaded scenario: its resolved mapping, the file an option would ``extends:``
    and the name shown."""

    scenario: Scenario
    data: dict[str, Any]
    file_name: str


def new_folder(prefix: str) -> Path:
    """A new private folder for a browser session or the server's runs, inside the
    server's workspace (deleted when ``d2asim app`` stops) or, without one (tests,
    ``streamlit run`` by hand), in the system's temporary folder."""
    return Path(tempfile.mkdtemp(prefix=prefix, dir=os.environ.get(WORKSPACE_VARIABLE) or None))


def prepare_workspace(folder: Path) -> None:
    """The session's folder holds copies of the bundled scenarios, so uploads can
    extend them by name."""
    folder.mkdir(parents=True, exist_ok=True)
    for name in bundled_scenarios():
        target = folder / name
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(BUNDLED / name, target)


def load_bundled(folder: Path, name: str) -> Loaded:
    if name not in bundled_scenarios():
        raise ScenarioError([f"{name}: not a bundled scenario (allowed: {', '.join(bundled_scenarios())})"])
    prepare_workspace(folder)
    return _load(folder, name)


def load_upload(folder: Path, files: Mapping[str, bytes], main: str) -> Loaded:
    """Write the uploaded ``files`` (name -> bytes) into ``folder`` and load ``main``
    among them; a ScenarioError (lines naming the uploaded file, never a server path)
    for anything unsafe or invalid."""
    problems = []
    if len(files) > MAX_FILES:
        problems.append(f"upload: at most {MAX_FILES} files at once (got {len(files)})")
    for name, content in files.items():
        if not plain_name(name) or not name.lower().endswith((*SCENARIO_SUFFIXES, ".csv")):
            problems.append(f"{name}: not a scenario (.yaml, .yml, .xlsx) or .csv file name")
        elif len(content) > MAX_UPLOAD_BYTES:
            problems.append(f"{name}: {len(content):,} bytes; uploads are limited to {MAX_UPLOAD_BYTES:,} bytes")
        elif name in bundled_scenarios():
            problems.append(f"{name}: has the name of a bundled scenario; rename it")
    if problems:
        raise ScenarioError(problems)
    prepare_workspace(folder)
    for name, content in files.items():
        (folder / name).write_bytes(content)
    allowed = set(files) | set(bundled_scenarios())
    for name in files:
        if name.lower().endswith((".yaml", ".yml")):
            _check_references(folder, name, allowed)
    return _load(folder, main)


def _check_references(folder: Path, name: str, allowed: set[str]) -> None:
    """Refuse ``extends:`` and ``csv:`` that name a file outside the upload and the
    bundled scenarios (checked before any such file is read)."""
    data = _shown(folder, lambda: read_yaml(folder / name))
    problems = []
    parent = data.get("extends")
    if parent is not None and (not isinstance(parent, str) or parent not in allowed):
        problems.append(f"{name}: extends: may only name a bundled scenario or a file uploaded with it "
                        f"(allowed: {', '.join(sorted(allowed - {name}))})")
    for where, value in _csv_paths(data):
        if not isinstance(value, str) or not plain_name(value) or value not in allowed:
            problems.append(f"{name}: {where}: may only name a .csv file uploaded with the scenario")
    if problems:
        raise ScenarioError(problems)


def _csv_paths(node: Any, where: str = "") -> Iterator[tuple[str, Any]]:
    if isinstance(node, dict):
        for key, value in node.items():
            here = f"{where}.{key}".lstrip(".")
            if key == "csv":
                yield here, value
            else:
                yield from _csv_paths(value, here)
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _csv_paths(value, f"{where}.{i}")


def _shown(folder: Path, work: Any) -> Any:
    """Run ``work``; a ScenarioError's lines name files without the session folder."""
    try:
        return work()
    except ScenarioError as exc:
        prefix = str(folder.resolve()) + "/"
        raise ScenarioError([line.replace(prefix, "").replace(str(folder) + "/", "") for line in exc.lines]) from None


def _load(folder: Path, name: str) -> Loaded:
    scenario = _shown(folder, lambda: load_scenario(folder / name))
    return Loaded(scenario, scenario_to_dict(scenario), name)


# ----------------------------------------------------------------------- form
@dataclass(frozen=True)
class Field:
    """One input of the form: its dotted ``path``, the baseline ``value`` and the schema's doc."""

    path: str
    value: Any
    doc: FieldDoc

    @property
    def block(self) -> str:
        """The scenario block it belongs to ('scenario' for a top-level field)."""
        return self.path.split(".")[0] if "." in self.path else "scenario"

    @property
    def widget(self) -> str:
        """'number', 'whole', 'choice', 'toggle', 'text' or 'yaml' (a list or mapping)."""
        if isinstance(self.value, bool):
            return "toggle"
        if self.doc.allowed and not isinstance(self.value, (list, dict)):
            return "choice"
        if isinstance(self.value, int):
            return "whole"
        if isinstance(self.value, float):
            return "number"
        return "yaml" if isinstance(self.value, (list, dict)) else "text"

    def help(self) -> str:
        return f"{self.doc.description} — {self.doc.hint()}".strip(" —")


def form_fields(data: Mapping[str, Any]) -> list[Field]:
    """Every input of a resolved scenario, one per leaf, with the schema's doc."""
    out = []
    for path, value in flatten(data):
        tag = _tag_at(data, path)
        doc = field_doc(Scenario, list(path), tag) or FieldDoc("", "", (), False, None)
        out.append(Field(".".join(path), value, doc))
    return out


def _tag_at(data: Mapping[str, Any], path: tuple[str, ...]) -> str | None:
    node: Any = data
    for part in path[:-1]:
        node = node.get(part) if isinstance(node, Mapping) else None
    return node.get("type") if isinstance(node, Mapping) else None


LEVER_PARTS = frozenset({"capacity", "beds", "concurrent_assessments", "per_day", "by_trust", "growth_per_year"})


def is_lever(field: Field) -> bool:
    """The key levers shown first: capacities, beds and assessment teams, arrivals per
    day (by trust too) and their growth, with their dated schedules (``base`` and
    ``changes`` under any of these), and the assessment mode (D2A on/off) per pathway
    and borough."""
    return bool(LEVER_PARTS.intersection(field.path.split("."))) or "d2a" in field.doc.allowed


def parse_text(field: Field, text: str) -> Any:
    """A text box's value: YAML for lists and mappings (a ScenarioError naming the field
    when it cannot be read), else the text itself."""
    if field.widget != "yaml":
        return text
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ScenarioError([f"{FORM}: {field.path}: cannot read the list or mapping "
                             f"({getattr(exc, 'problem', None) or 'YAML syntax'})"]) from None


def shown_text(value: Any) -> str:
    return str(cell_text(value))


def changes(baseline: Mapping[str, Any], values: Mapping[str, Any]) -> dict[str, Any]:
    """The form values (path -> value) that differ from the baseline's."""
    base = {".".join(p): v for p, v in flatten(baseline)}
    return {path: v for path, v in values.items() if path in base and v != base[path]}


def apply_changes(baseline: Mapping[str, Any], changed: Mapping[str, Any]) -> dict[str, Any]:
    out = yaml.safe_load(yaml.safe_dump(dict(baseline)))  # a deep copy
    for path, value in changed.items():
        node = out
        parts = path.split(".")
        for part in parts[:-1]:
            node = node[part]
        node[parts[-1]] = value
    return out


def validate_edits(baseline: Mapping[str, Any],
                   changed: Mapping[str, Any]) -> tuple[Scenario | None, dict[str, list[str]]]:
    """The edited scenario, or None and the problems by field path ('' for the whole
    scenario), in the words of ``d2asim validate``."""
    data = apply_changes(baseline, changed)
    try:
        return Scenario.model_validate(data), {}
    except ValidationError as exc:
        lines = format_validation_error(exc, FORM, Scenario)
    problems: dict[str, list[str]] = {}
    for line in lines:
        rest = line.removeprefix(f"{FORM}: ")
        path, sep, _message = rest.partition(": ")
        problems.setdefault(path if sep and " " not in path else "", []).append(rest)
    return None, problems


def check_limits(scenario: Scenario, replications: int) -> list[str]:
    """The app's bounds on a run (empty when within them)."""
    problems = []
    days = scenario.run.warmup_days + scenario.run.duration_days
    if days > MAX_SIMULATED_DAYS:
        problems.append(f"run: warm-up + duration is {days:,} simulated days; the app runs at most "
                        f"{MAX_SIMULATED_DAYS:,} (use the command line for longer runs)")
    if not 1 <= replications <= MAX_REPLICATIONS:
        problems.append(f"replications: {replications}; the app runs 1 to {MAX_REPLICATIONS}")
    return problems


def option_layer(name: str) -> dict[str, Any]:
    """What a bundled option changes against the scenario at the root of its
    ``extends:`` chain (its own fields and those of the options between, without
    ``name``, ``extends`` and ``description``), to apply on top of another baseline;
    empty for a root scenario."""
    layers: list[dict[str, Any]] = []
    current: str | None = name
    while current is not None:
        if current not in bundled_scenarios() or len(layers) > len(bundled_scenarios()):
            raise ScenarioError([f"{current}: not a bundled scenario (allowed: {', '.join(bundled_scenarios())})"])
        data = read_yaml(BUNDLED / current)
        layers.append(data)
        parent = data.get("extends")  # relative to the folder of the file that names it
        current = None if parent is None else posixpath.normpath(posixpath.join(posixpath.dirname(current), parent))
    merged: dict[str, Any] = {}
    for data in reversed(layers[:-1]):  # the root itself is the baseline being replaced
        merged = deep_merge(merged, {k: v for k, v in data.items() if k not in ("name", "extends", "description")})
    return merged


def applicable_options(baseline: Scenario, exclude: str) -> list[str]:
    """The bundled options (files with ``extends:``) whose changes make a valid scenario
    on ``baseline``, apart from ``exclude`` (the loaded file): NCL's borough options
    are offered for a system with those boroughs, not for the single-site baseline."""
    out = []
    for name in bundled_scenarios():
        layer = option_layer(name)
        if not layer or name == exclude:
            continue
        try:
            with_option(baseline, layer, Path(name).stem)
        except ScenarioError:
            continue
        out.append(name)
    return out


def with_option(baseline: Scenario, layer: Mapping[str, Any], name: str) -> Scenario:
    """``baseline`` with an option's changes deep-merged in (as ``extends:`` would), renamed."""
    data = deep_merge(scenario_to_dict(baseline), {**layer, "name": name})
    return _shown(Path("."), lambda: validate_mapping(data, name))


def option_file(baseline_file: str, name: str, changed: Mapping[str, Any]) -> str:
    """An option file: ``extends:`` the baseline plus only the changes (nested as the
    loader deep-merges them)."""
    body: dict[str, Any] = {"name": name, "extends": baseline_file}
    for path, value in changed.items():
        if path == "name":
            continue
        node = body
        parts = path.split(".")
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = value
    return yaml.safe_dump(body, sort_keys=False, allow_unicode=True)
