"""Turn validation failures into one plain line per problem: ``FILE: FIELD.PATH: message``."""

from __future__ import annotations

import datetime as dt
import re
import reprlib
import types
import typing
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ValidationError

from d2asim.scenario.distributions import DISTRIBUTION_TYPES

MAX_ERROR_LINES = 50  # problems shown; the rest are counted in one last line
_MAX_LOCATED = 20 * MAX_ERROR_LINES


class ScenarioError(Exception):
    """A scenario (or other input file) is invalid; ``lines`` holds one message per problem
    (at most ``MAX_ERROR_LINES``, then ``... and N more problems``; ``more`` adds problems
    counted but not formatted)."""

    def __init__(self, lines: list[str], more: int = 0) -> None:
        hidden = max(len(lines) - MAX_ERROR_LINES, 0) + more
        lines = lines[:MAX_ERROR_LINES] + ([f"... and {hidden:,} more problems"] if hidden else [])
        super().__init__("\n".join(lines))
        self.lines = lines


class _Shown(reprlib.Repr):
    """Short reprs, dates as written in YAML (``9999-12-01``)."""

    def __init__(self) -> None:
        super().__init__()
        self.maxlevel, self.maxdict, self.maxlist, self.maxtuple = 3, 8, 8, 8
        self.maxstring, self.maxother, self.maxlong = 80, 80, 40

    def repr_date(self, value: dt.date, level: int) -> str:
        return value.isoformat()


_SHOWN = _Shown()


def shown(value: Any) -> str:
    """``repr(value)`` cut to a readable length (a huge input never makes a huge line)."""
    return _SHOWN.repr(value)


_DIST_TAGS = set(DISTRIBUTION_TYPES)
_KEY = "[key]"
_TYPE_MISMATCH = re.compile(r"(_type|_parsing)$")
_LEADING_PATH = re.compile(r"^([A-Za-z_][\w]*(?:\.[\w]+)*)(?::\s+|\s+)(.*)$", re.S)


@dataclass
class _Located:
    """One pydantic error, with its location in the user's own words."""

    err: Any
    parts: list[str]  # user-visible path (union member labels and tags removed)
    node: Any  # the declared type at the error location (None when unknown)
    parent: Any  # the declared type holding the last path part (for unknown keys)
    union_at: int | None  # len(parts) where the outermost plain union's member label was dropped
    union_members: tuple[Any, ...]

    @property
    def union_mismatch(self) -> bool:
        """A union member rejected the whole value for its type: noise if another member fits."""
        return (
            self.union_at is not None
            and len(self.parts) == self.union_at
            and bool(_TYPE_MISMATCH.search(self.err["type"]))
        )


Source = str | Callable[[list[str]], str]


def validation_error(exc: ValidationError, source: Source, root: type[BaseModel]) -> ScenarioError:
    """A :class:`ScenarioError` of :func:`format_validation_error`'s lines, counting the
    errors left unworded."""
    return ScenarioError(format_validation_error(exc, source, root), more=max(exc.error_count() - _MAX_LOCATED, 0))


def format_validation_error(exc: ValidationError, source: Source, root: type[BaseModel]) -> list[str]:
    """One line per pydantic error, with the field path in the user's own words.

    ``source`` names the file, or maps a field path to the file that set it (for
    scenarios that ``extends`` another).

    Errors from the members of a plain union (``float | dict[str, float]``) are
    folded into one line: the member that matched the value's shape, or "expected
    a number or a mapping" when none did. Only the first ``_MAX_LOCATED`` errors are
    worded; the rest are counted (a file of 100,000 unknown keys stays quick).
    """
    located = [_locate(err, root) for err in exc.errors(include_url=False)[:_MAX_LOCATED]]
    groups: dict[tuple[Any, ...], list[_Located]] = {}  # one group per plain union, in order
    for i, item in enumerate(located):
        key = (i,) if item.union_at is None else (None, item.union_at, *item.parts[: item.union_at])
        groups.setdefault(key, []).append(item)
    lines: list[str] = []
    for group in groups.values():
        item = group[0]
        if item.union_at is None:
            lines.append(_line(source, item))
            continue
        real = [other for other in group if not other.union_mismatch]
        if real:
            lines.extend(_line(source, r) for r in real)
        else:
            kinds = list(dict.fromkeys(_describe(m) for m in item.union_members))
            wanted = " or ".join(kinds) if len(kinds) < 3 else f"{', '.join(kinds[:-1])} or {kinds[-1]}"
            prefix = item.parts[: item.union_at]
            lines.append(_join(source, prefix, f"expected {wanted} (got {shown(item.err['input'])})"))
    return lines


def _line(source: Source, item: _Located) -> str:
    parts, message = _message(item)
    return _join(source, parts, message)


def _join(source: Source, parts: list[str], message: str) -> str:
    where = source(parts) if callable(source) else source
    path = ".".join(parts)
    return f"{where}: {path}: {message}" if path else f"{where}: {message}"


def _message(item: _Located) -> tuple[list[str], str]:
    err, parts = item.err, list(item.parts)
    kind = err["type"]
    msg = str(err["msg"])
    if kind == "extra_forbidden":
        allowed = _allowed_keys(item.parent)
        return parts, "unknown key" + (f" (allowed: {', '.join(allowed)})" if allowed else "")
    if kind == "union_tag_invalid":
        given = err["input"].get("type")
        return parts, f"unknown distribution type {given!r} (allowed: {', '.join(DISTRIBUTION_TYPES)})"
    if kind == "union_tag_not_found":
        return parts, f"a distribution needs a type (allowed: {', '.join(DISTRIBUTION_TYPES)})"
    if kind == "literal_error" and err["loc"] and err["loc"][-1] == _KEY:
        return parts, f"unknown key (allowed: {_plain_choices(err['ctx']['expected'])})"
    if kind == "literal_error":
        return parts, f"got {shown(err['input'])}; allowed: {err['ctx']['expected']}"
    if kind == "missing":
        return parts, "required field is missing"
    if kind in ("tuple_type", "list_type"):
        return parts, f"should be a list (got {shown(err['input'])})"
    if kind in ("dict_type", "model_type", "model_attributes_type"):
        return parts, f"should be a mapping of fields (got {shown(err['input'])})"
    if msg.startswith("Value error, "):
        msg = msg[len("Value error, ") :]
        if _as_model(item.node) is not None:  # a model-level check naming its own field
            parts, msg = _field_from_message(item.node, parts, msg)
    bounds = ("greater_than_equal", "greater_than", "less_than_equal", "less_than")
    if "input" in err and kind.endswith(("_type", "_parsing", *bounds)):
        msg = f"{msg} (got {shown(err['input'])})"
    return parts, msg


def _field_from_message(model_node: Any, parts: list[str], msg: str) -> tuple[list[str], str]:
    """Move a leading field name into the path: ``day_of_week needs 7 ...`` at
    ``arrivals.non_elective`` -> ``arrivals.non_elective.day_of_week: needs 7 ...``."""
    match = _LEADING_PATH.match(msg)
    if match is None:
        return parts, msg
    dotted, rest = match.groups()
    first = dotted.split(".")[0]
    if first not in _allowed_keys(model_node) or not rest:
        return parts, msg
    return [*parts, *dotted.split(".")], rest


def _plain_choices(expected: str) -> str:
    return ", ".join(re.findall(r"'([^']*)'", expected)) or expected


def _locate(err: Any, root: type[BaseModel]) -> _Located:
    """Walk ``err['loc']`` along the declared types, dropping pydantic's own labels
    (distribution tags, union member names, ``[key]``) from the user's path."""
    node: Any = root
    parent: Any = None
    parts: list[str] = []
    union_at: int | None = None
    members: tuple[Any, ...] = ()
    for raw in err["loc"]:
        part = str(raw)
        if part == _KEY:
            node = _dict_args(node)[0] if _dict_args(node) else None
            continue
        if node is None:  # unknown territory: fall back to filtering obvious labels
            if part not in _DIST_TAGS and not part.startswith("function-"):
                parts.append(part)
            continue
        node = _unwrap(node)
        options = _union_options(node)
        if options:
            tagged = _tagged(options, part)
            if tagged is not None:
                node = tagged
                continue
            if union_at is None:
                union_at, members = len(parts), options
            node = _member_by_label(options, part)
            continue
        parts.append(part)
        parent, node = node, _child(node, part)
    if node is not None:
        node = _unwrap(node)
    return _Located(err, parts, node, parent, union_at, members)


def _unwrap(node: Any) -> Any:
    """Strip ``Annotated`` and ``X | None`` down to the type that matters."""
    while True:
        if typing.get_origin(node) is typing.Annotated:
            node = typing.get_args(node)[0]
            continue
        if _is_union(node):
            rest = [a for a in typing.get_args(node) if a is not type(None)]
            if len(rest) == 1:
                node = rest[0]
                continue
        return node


def _is_union(node: Any) -> bool:
    return typing.get_origin(node) in (typing.Union, types.UnionType)


def _union_options(node: Any) -> tuple[Any, ...]:
    if not _is_union(node):
        return ()
    return tuple(_unwrap(a) for a in typing.get_args(node) if a is not type(None))


def _tagged(options: tuple[Any, ...], part: str) -> Any:
    for option in options:
        if isinstance(option, type) and issubclass(option, BaseModel):
            tag = option.model_fields.get("type")
            if tag is not None and part in typing.get_args(tag.annotation):
                return option
    return None


def _member_by_label(options: tuple[Any, ...], label: str) -> Any:
    """The union member pydantic labelled ``label`` (``float``, ``dict[str,float]``, a class name)."""
    head = re.sub(r"^function-\w+\[[^,]*,\s*", "", label).split("[")[0].rstrip("]")
    for option in options:
        origin = typing.get_origin(option) or option
        if str(getattr(origin, "__name__", "")).split("[")[0] == head:  # a generic model is named 'Name[Args]'
            return option
    return None


def _dict_args(node: Any) -> tuple[Any, ...]:
    node = _unwrap(node)
    args = typing.get_args(node)
    return args if typing.get_origin(node) is dict and len(args) == 2 else ()


def _child(node: Any, part: str) -> Any:
    """The declared type one step below ``node`` at loc ``part``."""
    model = _as_model(node)
    if model is not None:
        for name, field in model.model_fields.items():
            if part in (name, field.alias):
                return field.annotation
        return None
    if _dict_args(node):
        return _dict_args(node)[1]
    origin, args = typing.get_origin(node), typing.get_args(node)
    if origin in (tuple, list) and args:
        if origin is tuple and not (len(args) == 2 and args[1] is Ellipsis) and part.isdigit():
            return args[int(part)] if int(part) < len(args) else None
        return args[0]
    return None


def _allowed_keys(node: Any) -> list[str]:
    """Field names accepted at a model node (empty when it is not a model)."""
    model = _as_model(node)
    if model is None:
        return []
    return [f.alias or name for name, f in model.model_fields.items()]


def _as_model(node: Any) -> type[BaseModel] | None:
    node = _unwrap(node)
    if isinstance(node, type) and issubclass(node, BaseModel):
        return node
    return None


def _describe(node: Any) -> str:
    """Plain words for a union member in 'expected ... or ...'."""
    origin = typing.get_origin(node) or node
    if origin is bool:
        return "true/false"
    if origin in (int, float):
        return "a number"
    if origin is str:
        return "text"
    if origin in (tuple, list):
        return "a list"
    if origin is dict:
        return "a mapping"
    if isinstance(origin, type) and issubclass(origin, BaseModel):
        return "a mapping of fields"
    return str(node)
