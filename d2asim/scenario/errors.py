"""Turn validation failures into one plain line per problem: ``FILE: FIELD.PATH: message``."""

from __future__ import annotations

import typing
from typing import Any

from pydantic import BaseModel, ValidationError

from d2asim.scenario.distributions import DISTRIBUTION_TYPES


class ScenarioError(Exception):
    """A scenario (or other input file) is invalid; ``lines`` holds one message per problem."""

    def __init__(self, lines: list[str]) -> None:
        super().__init__("\n".join(lines))
        self.lines = lines


_DIST_TAGS = set(DISTRIBUTION_TYPES)


def format_validation_error(exc: ValidationError, source: str, root: type[BaseModel]) -> list[str]:
    """One line per pydantic error, with the field path in the user's own words."""
    lines = []
    for err in exc.errors(include_url=False):
        loc = [str(p) for p in err["loc"] if str(p) not in _DIST_TAGS and not str(p).startswith("function-")]
        message = _message(err, root, err["loc"])
        path = ".".join(loc)
        lines.append(f"{source}: {path}: {message}" if path else f"{source}: {message}")
    return lines


def _message(err: Any, root: type[BaseModel], loc: tuple[Any, ...]) -> str:
    kind = err["type"]
    msg = str(err["msg"])
    if kind == "extra_forbidden":
        allowed = _allowed_keys(root, loc[:-1])
        return "unknown key" + (f" (allowed: {', '.join(allowed)})" if allowed else "")
    if kind == "union_tag_invalid":
        return f"unknown distribution type {err['input'].get('type')!r} (allowed: {', '.join(DISTRIBUTION_TYPES)})"
    if kind == "union_tag_not_found":
        return f"a distribution needs a type (allowed: {', '.join(DISTRIBUTION_TYPES)})"
    if kind == "literal_error":
        return f"got {err['input']!r}; allowed: {err['ctx']['expected']}"
    if kind == "missing":
        return "required field is missing"
    if msg.startswith("Value error, "):
        msg = msg[len("Value error, ") :]
    if "input" in err and kind.endswith(("_type", "_parsing", "greater_than_equal", "greater_than", "less_than_equal", "less_than")):
        msg = f"{msg} (got {err['input']!r})"
    return msg


def _allowed_keys(root: type[BaseModel], loc: tuple[Any, ...]) -> list[str]:
    """Field names accepted at ``loc`` (empty when the location is not a model)."""
    node: Any = root
    for part in loc:
        node = _step(node, str(part))
        if node is None:
            return []
    model = _as_model(node)
    if model is None:
        return []
    return [f.alias or name for name, f in model.model_fields.items()]


def _step(node: Any, part: str) -> Any:
    model = _as_model(node)
    if model is not None:
        if part in model.model_fields:
            return model.model_fields[part].annotation
        for field in model.model_fields.values():
            if field.alias == part:
                return field.annotation
        return None
    args = typing.get_args(node)
    origin = typing.get_origin(node)
    if origin is dict and len(args) == 2:
        return args[1]
    if origin is tuple and args:
        return args[0]
    for arg in args:  # unions, Annotated: pick the member named by a tag or the first model
        model_arg = _as_model(arg)
        if model_arg is not None:
            tag = model_arg.model_fields.get("type")
            if tag is not None and part in typing.get_args(tag.annotation):
                return arg
    for arg in args:
        if _as_model(arg) is not None or typing.get_origin(arg) in (dict, tuple):
            return _step(arg, part)
    return None


def _as_model(node: Any) -> type[BaseModel] | None:
    if isinstance(node, type) and issubclass(node, BaseModel):
        return node
    for arg in typing.get_args(node):
        if typing.get_origin(arg) is None and isinstance(arg, type) and issubclass(arg, BaseModel):
            if len([a for a in typing.get_args(node) if a is not type(None)]) == 1:
                return arg
    return None
