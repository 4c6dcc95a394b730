"""What the scenario schema says about a field, found by walking the pydantic models:
its description, the kind of value (with bounds), the allowed values and its default.

The Excel template (:mod:`d2asim.scenario.workbook`) and the app's forms are generated
from this, so they follow the schema as it changes instead of a list of fields.
"""

from __future__ import annotations

import datetime as dt
import types
import typing
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from annotated_types import Ge, Gt, Le, Lt
from pydantic import BaseModel
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined


@dataclass(frozen=True)
class FieldDoc:
    """One schema field: ``kind`` in words ('whole number ≥ 0', 'one of', 'list of
    numbers'...), ``allowed`` values of a closed choice, ``default`` (None: none)."""

    description: str
    kind: str
    allowed: tuple[str, ...]
    required: bool
    default: Any

    def hint(self) -> str:
        """Kind and allowed values in one phrase, for a header or a help text."""
        allowed = f": {', '.join(self.allowed)}" if self.allowed else ""
        return f"{self.kind}{allowed}" + ("; required" if self.required else "")


def _strip_optional(annotation: Any) -> Any:
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        return args[0] if len(args) == 1 else typing.Union[tuple(args)]  # noqa: UP007 (built from a tuple)
    return annotation


def _unwrap(annotation: Any) -> tuple[Any, list[Any]]:
    """(bare type, constraint metadata) of an ``Annotated``/Optional annotation."""
    annotation = _strip_optional(annotation)
    metadata: list[Any] = []
    while typing.get_origin(annotation) is typing.Annotated:
        annotation, *extra = typing.get_args(annotation)
        metadata += extra
        annotation = _strip_optional(annotation)
    return annotation, metadata


def models_in(annotation: Any) -> list[type[BaseModel]]:
    """The pydantic models a (union) annotation can hold, e.g. every distribution."""
    bare, _ = _unwrap(annotation)
    if isinstance(bare, type) and issubclass(bare, BaseModel):
        return [bare]
    if typing.get_origin(bare) in (typing.Union, types.UnionType):
        return [m for a in typing.get_args(bare) for m in models_in(a)]
    return []


def _bounds(metadata: list[Any]) -> str:
    words = []
    for m in metadata:
        for cls, sign, attr in ((Ge, "≥", "ge"), (Gt, ">", "gt"), (Le, "≤", "le"), (Lt, "<", "lt")):
            if isinstance(m, cls):
                words.append(f"{sign} {getattr(m, attr):g}")
        for attr, sign in (("ge", "≥"), ("gt", ">"), ("le", "≤"), ("lt", "<")):
            if not isinstance(m, (Ge, Gt, Le, Lt)) and getattr(m, attr, None) is not None:
                words.append(f"{sign} {getattr(m, attr):g}")
    return (" " + " and ".join(words)) if words else ""


def describe_annotation(annotation: Any, metadata: Sequence[Any] = ()) -> tuple[str, tuple[str, ...]]:
    """(kind in words, allowed values) of a type annotation."""
    bare, inner = _unwrap(annotation)
    bounds = _bounds([*inner, *metadata])
    origin = typing.get_origin(bare)
    if origin is typing.Literal:
        return "one of", tuple(str(a) for a in typing.get_args(bare))
    if bare is bool:
        return "true or false", ()
    if bare is int:
        return f"whole number{bounds}", ()
    if bare is float:
        return f"number{bounds}", ()
    if bare is str:
        return "text", ()
    if bare is dt.date:
        return "date (YYYY-MM-DD)", ()
    if origin in (tuple, list):
        item, allowed = describe_annotation(typing.get_args(bare)[0])
        return f"list of {item if item.startswith(('number', 'whole', 'one of', 'text')) else 'values'}", allowed
    if origin is dict:
        key, allowed = describe_annotation(typing.get_args(bare)[0])
        return "mapping" + (" by key" if key != "one of" else ""), allowed
    models = models_in(bare)
    if len(models) > 1:
        return "one of the forms (type)", tuple(_tag(m) for m in models)
    if models:
        return "block", ()
    if origin in (typing.Union, types.UnionType):
        return " or ".join(describe_annotation(a)[0] for a in typing.get_args(bare)), ()
    return getattr(bare, "__name__", str(bare)), ()


def fields_of(model: type[BaseModel]) -> dict[str, FieldInfo]:
    """A model's fields by the key a scenario file uses (the alias, if any)."""
    return {f.alias or name: f for name, f in model.model_fields.items()}


def _tag(model: type[BaseModel]) -> str:
    """The discriminator value (``type``) of a union member, else its class name."""
    field = model.model_fields.get("type")
    if field is not None and typing.get_origin(field.annotation) is typing.Literal:
        return str(typing.get_args(field.annotation)[0])
    return model.__name__


def _doc(field: FieldInfo) -> FieldDoc:
    kind, allowed = describe_annotation(field.annotation, field.metadata)
    default = None
    if field.default is not PydanticUndefined and field.default is not None:
        default = field.default
    elif field.default_factory is not None:
        default = field.default_factory()  # type: ignore[call-arg]
    if isinstance(default, BaseModel):
        default = default.model_dump(mode="json", exclude_none=True)
    elif isinstance(default, tuple) and default and isinstance(default[0], BaseModel):
        default = [d.model_dump(mode="json", exclude_none=True) for d in default]
    elif isinstance(default, dict):
        default = {k: v.model_dump(mode="json", exclude_none=True) if isinstance(v, BaseModel) else v
                   for k, v in default.items()}
    return FieldDoc(field.description or "", kind, allowed, field.is_required(), default)


def item_models(annotation: Any) -> list[type[BaseModel]]:
    """The models held by a dict's values or a tuple's items (``services`` -> Service)."""
    bare, _ = _unwrap(annotation)
    origin = typing.get_origin(bare)
    if origin is dict:
        return models_in(typing.get_args(bare)[1])
    if origin in (tuple, list):
        return models_in(typing.get_args(bare)[0])
    return []


def is_keyed(annotation: Any) -> bool:
    """Whether a collection field is a mapping by key (else a list)."""
    return typing.get_origin(_unwrap(annotation)[0]) is dict


def dict_keys_allowed(annotation: Any) -> tuple[str, ...]:
    """The allowed keys of a dict annotation with Literal keys (else none)."""
    bare, _ = _unwrap(annotation)
    if typing.get_origin(bare) is dict:
        key, _ = _unwrap(typing.get_args(bare)[0])
        if typing.get_origin(key) is typing.Literal:
            return tuple(str(a) for a in typing.get_args(key))
    return ()


def field_doc(model: type[BaseModel], parts: Sequence[str], tag: str | None = None) -> FieldDoc | None:
    """The schema's word on the field at ``parts`` below ``model`` (dict keys and list
    positions are stepped over; a union of models is searched by member, ``tag`` (a
    distribution's ``type``) first). None when the schema has no such field."""
    annotation: Any = model
    field: FieldInfo | None = None
    for part in parts:
        models = models_in(annotation)
        if models:
            members = [fields_of(m)[part] for m in sorted(models, key=lambda m: _tag(m) != tag) if part in fields_of(m)]
            if not members:
                return None
            field, annotation = members[0], members[0].annotation
            if len(members) > 1 and typing.get_origin(annotation) is typing.Literal:  # a union's tag: every member's
                doc = _doc(field)
                return FieldDoc(doc.description, doc.kind, tuple(a for m in members for a in _doc(m).allowed),
                                doc.required, None)
            continue
        bare, _ = _unwrap(annotation)
        if typing.get_origin(bare) is dict:
            annotation = typing.get_args(bare)[1]
        elif typing.get_origin(bare) in (tuple, list) and part.isdigit():
            annotation = typing.get_args(bare)[0]
        else:
            return None
        field = None
    if field is None:
        kind, allowed = describe_annotation(annotation)
        return FieldDoc("", kind, allowed, False, None)
    return _doc(field)


def schema_leaves(model: type[BaseModel], prefix: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], FieldDoc]]:
    """Every field below ``model`` that is not itself a single block (a block's fields
    are listed instead), in schema order, with its doc."""
    for name, field in fields_of(model).items():
        inner = models_in(field.annotation)
        if len(inner) == 1 and not item_models(field.annotation):
            yield from schema_leaves(inner[0], (*prefix, name))
        else:
            yield (*prefix, name), _doc(field)


def value_at(data: Any, dotted: str, missing: Any = None) -> Any:
    """The value at a dotted path (``services.p1.capacity``) of a scenario mapping, or
    ``missing`` when the path is absent."""
    for key in dotted.split("."):
        if not isinstance(data, dict) or key not in data:
            return missing
        data = data[key]
    return data
