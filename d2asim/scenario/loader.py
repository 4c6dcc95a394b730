"""Read scenario YAML files: ``extends`` chains, CSV-backed distributions, validation.

Every problem is reported as one line ``FILE: FIELD.PATH: what is wrong (allowed ...)``
through :class:`ScenarioError`; the CLI prints those lines and exits with code 2.

Hostile files are refused early, in bounded time and memory: a scenario file is at
most ``MAX_FILE_BYTES`` (1 MiB) and a CSV (durations, schedules) ``MAX_CSV_BYTES`` (20 MB);
YAML is nested at most ``MAX_DEPTH`` (32) levels; aliases (``*name``) may add at most
``MAX_ALIAS_NODES`` (10,000) values when expanded, so a "billion laughs" file fails at
once; a recursive alias and a key that is a list or mapping are errors. At most
``MAX_ERROR_LINES`` (50) problems are printed, then "... and N more problems".
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from d2asim.scenario.errors import ScenarioError, validation_error
from d2asim.scenario.schedule import read_schedule_csv
from d2asim.scenario.schema import Scenario

MAX_FILE_BYTES = 1_048_576
MAX_CSV_BYTES = 20_000_000
MAX_DEPTH = 32
MAX_ALIAS_NODES = 10_000


class YAMLLimitError(yaml.composer.ComposerError):
    """A YAML file over one of the loader's limits (not a syntax error)."""


try:  # libyaml's event parser is about 5 times faster than PyYAML's own
    from yaml._yaml import CParser as _Parser

    _PARSER: tuple[type, ...] = (_Parser,)
except ImportError:  # pragma: no cover - PyYAML built without libyaml
    _PARSER = (yaml.reader.Reader, yaml.scanner.Scanner, yaml.parser.Parser)


class _SafeLoader(*_PARSER, yaml.composer.Composer, yaml.constructor.SafeConstructor,  # type: ignore[misc]
                  yaml.resolver.Resolver):
    """A safe loader (no Python objects) on libyaml's parser with PyYAML's own composer,
    so that the composer can enforce the limits below. Invalid dates (``2025-13-01``) are
    syntax errors with a line and column; plain PyYAML raises a bare ``ValueError``."""

    get_single_node = yaml.composer.Composer.get_single_node  # not libyaml's: it bypasses compose_node
    compose_document = yaml.composer.Composer.compose_document
    check_node = yaml.composer.Composer.check_node
    get_node = yaml.composer.Composer.get_node

    def construct_yaml_timestamp(self, node: yaml.ScalarNode) -> Any:
        try:
            return super().construct_yaml_timestamp(node)
        except ValueError as exc:
            raise yaml.constructor.ConstructorError(
                None, None, f"invalid date {node.value!r} ({exc})", node.start_mark
            ) from None


    def __init__(self, stream: str) -> None:
        for base in _PARSER:
            base.__init__(self, stream)  # type: ignore[misc]
        yaml.composer.Composer.__init__(self)
        yaml.constructor.SafeConstructor.__init__(self)
        yaml.resolver.Resolver.__init__(self)
        self._depth = 0
        self._sizes: dict[int, int] = {}  # id(node) -> values in it, aliases expanded
        self._alias_nodes = 0

    def compose_node(self, parent: yaml.Node | None, index: int) -> yaml.Node | None:
        """Compose one node, enforcing ``MAX_DEPTH`` (before recursing deeper) and
        ``MAX_ALIAS_NODES`` (from the size of each alias's target, known once composed)."""
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            target = self.anchors.get(event.anchor)
            if target is not None:
                size = self._sizes.get(id(target))
                if size is None:
                    raise YAMLLimitError(None, None, f"alias *{event.anchor} is inside the node it names "
                                         "(recursive alias)", event.start_mark)
                self._alias_nodes += size
                if self._alias_nodes > MAX_ALIAS_NODES:
                    raise YAMLLimitError(None, None, f"aliases expand to more than {MAX_ALIAS_NODES:,} values "
                                         "(limit)", event.start_mark)
            return yaml.composer.Composer.compose_node(self, parent, index)
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                raise YAMLLimitError(None, None, f"nested more than {MAX_DEPTH} levels deep (limit)",
                                     self.peek_event().start_mark)
            node = yaml.composer.Composer.compose_node(self, parent, index)
        finally:
            self._depth -= 1
        if node is not None:
            self._sizes[id(node)] = 1 + sum(self._sizes.get(id(child), 1) for child in _children(node))
        return node

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        """Reject a key given twice in one mapping (PyYAML silently keeps the last), and
        a key that is not a plain value (a list or mapping cannot name a field)."""
        seen: set[Any] = set()
        for key_node, _ in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                kind = "list" if isinstance(key_node, yaml.SequenceNode) else "mapping"
                raise yaml.constructor.ConstructorError(
                    None, None, f"a key must be a plain name or number, not a {kind}", key_node.start_mark
                )
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key!r}", key_node.start_mark
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


_SafeLoader.add_constructor("tag:yaml.org,2002:timestamp", _SafeLoader.construct_yaml_timestamp)


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


def _check_size(path: Path, limit: int, where: str = "") -> None:
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise ScenarioError([f"{where or path}: cannot read {path} ({exc.strerror or exc})"]) from None
    if size > limit:
        raise ScenarioError([f"{where or path}: {path.name} is {size:,} bytes, above the limit of {limit:,} bytes"])


def read_yaml(path: Path) -> dict[str, Any]:
    """Parse one YAML mapping, turning I/O and syntax problems into :class:`ScenarioError`."""
    if not path.is_file():
        raise ScenarioError([f"{path}: file not found"])
    _check_size(path, MAX_FILE_BYTES)
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=_SafeLoader)  # noqa: S506 (safe)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        kind = "YAML file too large or too deep" if isinstance(exc, YAMLLimitError) else "YAML syntax error"
        raise ScenarioError([f"{path}: {kind}{where}: {problem}"]) from None
    except UnicodeDecodeError:
        raise ScenarioError([f"{path}: not a UTF-8 text file"]) from None
    except OSError as exc:
        raise ScenarioError([f"{path}: cannot read file ({exc.strerror or exc})"]) from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ScenarioError([f"{path}: the top level must be a mapping of fields (got {type(data).__name__})"])
    return data


def replaces_whole(value: Any) -> bool:
    """A mapping that gives its ``type`` (a distribution) replaces an inherited one whole:
    ``{type: fixed, value: 3}`` over a lognormal must not keep the lognormal's fields."""
    return isinstance(value, Mapping) and "type" in value


def deep_merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """Merge ``override`` into ``base``: mappings merge key by key, anything else (and a
    mapping with a ``type``, see :func:`replaces_whole`) replaces."""
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping) and not replaces_whole(value):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


Layer = tuple[Path, dict[str, Any], Callable[[list[str]], str]]  # file, its own data, where a field was set


def read_scenario_file(path: Path, shown: str | None = None) -> tuple[dict[str, Any], Callable[[list[str]], str]]:
    """The mapping of one scenario file, YAML or an Excel workbook (``.xlsx``, see
    :mod:`d2asim.scenario.workbook`), and a function naming where a field was set:
    the file (``shown``, default ``path``), or for a workbook its sheet and cell."""
    name = shown or str(path)
    if path.suffix.lower() != ".xlsx":
        return read_yaml(path), lambda _parts: name
    if not path.is_file():
        raise ScenarioError([f"{path}: file not found"])
    from d2asim.scenario.workbook import cell_source, read_workbook

    data, cells = read_workbook(path, name)
    return data, cell_source(cells, name)


def _resolve_extends(path: Path, chain: tuple[Path, ...], layers: list[Layer]) -> dict[str, Any]:
    """The file merged over everything it extends; ``layers`` collects each file's
    own data, the file itself first and its bases after (the file as the user named it)."""
    shown = None if chain else str(path)
    path = path.resolve()
    if path in chain:
        cycle = " -> ".join(p.name for p in (*chain, path))
        raise ScenarioError([f"{chain[-1]}: extends: cycle {cycle}"])
    raw, where = read_scenario_file(path, shown)
    data = _attach_csv_values(raw, path)
    layers.append((path, data, where))
    parent = data.get("extends")
    if parent is None:
        return data
    if not isinstance(parent, str):
        raise ScenarioError([f"{path}: extends: must be a file name (got {parent!r})"])
    if not (path.parent / parent).is_file():
        raise ScenarioError([f"{path}: extends: file not found: {path.parent / parent}"])
    base = _resolve_extends(path.parent / parent, (*chain, path), layers)
    base.pop("name", None)
    return deep_merge(base, data)


def _attach_csv_values(node: Any, path: Path, where: str = "") -> Any:
    """Fill ``values`` of every ``{type: empirical, csv: F, column: C}`` from the CSV."""
    if isinstance(node, list):
        return [_attach_csv_values(v, path, f"{where}.{i}") for i, v in enumerate(node)]
    if not isinstance(node, dict):
        return node
    out = {k: _attach_csv_values(v, path, f"{where}.{k}".lstrip(".")) for k, v in node.items()}
    if out.get("type") == "empirical" and out.get("csv") is not None and out.get("values") is None:
        out["values"] = _read_csv_column(path, where, str(out["csv"]), out.get("column"))
        out["csv"] = str((path.parent / str(out["csv"])).resolve())
    elif "type" not in out and isinstance(out.get("csv"), str) and "changes" not in out:
        out = _attach_schedule_csv(out, path, where)
    return out


def _attach_schedule_csv(node: dict[str, Any], path: Path, where: str) -> dict[str, Any]:
    """A schedule ``{csv: F}`` read into ``changes`` (``base``: the first row's value unless given)."""
    csv_path = path.parent / node["csv"]
    if not csv_path.is_file():
        raise ScenarioError([f"{path}: {where}.csv: file not found: {csv_path}"])
    _check_size(csv_path, MAX_CSV_BYTES, f"{path}: {where}.csv")
    problems: list[str] = []
    changes = read_schedule_csv(csv_path, where, problems)
    if not problems and not changes:
        problems.append(f"{where}.csv: {csv_path.name} has no rows")
    if problems:
        raise ScenarioError([f"{path}: {line}" for line in problems])
    return {"base": changes[0]["value"], **node, "changes": changes}


def _read_csv_column(path: Path, where: str, csv_name: str, column: Any) -> list[float]:
    csv_path = path.parent / csv_name
    if not csv_path.is_file():
        raise ScenarioError([f"{path}: {where}.csv: file not found: {csv_path}"])
    _check_size(csv_path, MAX_CSV_BYTES, f"{path}: {where}.csv")
    try:
        with csv_path.open(newline="", encoding="utf-8") as handle:
            reader = csv.DictReader(handle)
            columns = reader.fieldnames or []
            if column not in columns:
                allowed = ", ".join(columns)
                raise ScenarioError(
                    [f"{path}: {where}.column: {column!r} is not a column of {csv_name} (allowed: {allowed})"]
                )
            values, bad = _parse_numbers(row.get(column) for row in reader)
    except UnicodeDecodeError:
        raise ScenarioError([f"{path}: {where}.csv: {csv_path} is not a UTF-8 text file"]) from None
    except (OSError, csv.Error) as exc:
        raise ScenarioError([f"{path}: {where}.csv: cannot read {csv_path} ({exc})"]) from None
    if bad:
        raise ScenarioError([f"{path}: {where}.csv: {bad} value(s) in column {column!r} are not numbers >= 0"])
    return values


def _parse_numbers(cells: Iterable[str | None]) -> tuple[list[float], int]:
    values: list[float] = []
    bad = 0
    for cell in cells:
        try:
            value = float(cell)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            bad += 1
            continue
        if value >= 0:
            values.append(value)
        else:
            bad += 1
    return values, bad


def load_scenario(path: str | Path, overrides: Mapping[str, Any] | None = None) -> Scenario:
    """Load and validate a scenario file (following ``extends``), with optional
    dotted-key ``overrides`` such as ``{"services.p1.capacity": 80}``."""
    path = Path(path)
    layers: list[Layer] = []
    data = _resolve_extends(path, (), layers)
    for dotted, value in (overrides or {}).items():
        data = deep_merge(data, _nest(dotted.split("."), value))
    return validate_mapping(data, _file_that_set(path, layers))


def _file_that_set(path: Path, layers: list[Layer]) -> Callable[[list[str]], str]:
    """Map a field path to the file that set it: the file (of ``path`` and the files
    it extends, ``layers``) that gives the deepest part of that path, the user's own
    file winning ties, so an error inherited from a base file names the base file.
    Below a mapping that a file replaced whole (:func:`replaces_whole`), the files it
    extends set nothing."""

    def depth(data: Any, parts: list[str]) -> tuple[int, int]:
        """Parts of the path found in ``data``, and how many lead to a whole replacement."""
        n, replaced = 0, len(parts)
        for part in parts:
            if not isinstance(data, dict) or part not in data:
                break
            data, n = data[part], n + 1
            if replaces_whole(data):
                replaced = min(replaced, n)
        return n, replaced

    def source(parts: list[str]) -> str:
        best, best_depth, cap = str(path), 0, len(parts)
        for _file, data, where in layers:
            found, replaced = depth(data, parts)
            if min(found, cap) > best_depth:
                best, best_depth = where(parts), min(found, cap)
            cap = min(cap, replaced)
        return best

    return source


def validate_mapping(data: Mapping[str, Any], source: str | Path | Callable[[list[str]], str]) -> Scenario:
    """Validate a plain mapping as a :class:`Scenario`; errors name ``source`` (a file,
    or a function from field path to file)."""
    try:
        return Scenario.model_validate(dict(data))
    except ValidationError as exc:
        where = source if callable(source) else str(source)
        raise validation_error(exc, where, Scenario) from None


def with_overrides(scenario: Scenario, overrides: Mapping[str, Any], source: str = "<overrides>") -> Scenario:
    """A re-validated copy of ``scenario`` with dotted-key ``overrides`` applied."""
    data = scenario_to_dict(scenario)
    for dotted, value in overrides.items():
        data = deep_merge(data, _nest(dotted.split("."), value))
    return validate_mapping(data, source)


def scenario_to_dict(scenario: BaseModel) -> dict[str, Any]:
    """A plain, YAML-safe mapping of a scenario with every default filled in. It is
    self-contained: ``extends`` is already resolved, so it is left out."""
    return scenario.model_dump(mode="json", by_alias=True, exclude_none=True, exclude={"extends"})


def _nest(keys: list[str], value: Any) -> dict[str, Any]:
    return {keys[0]: value} if len(keys) == 1 else {keys[0]: _nest(keys[1:], value)}
