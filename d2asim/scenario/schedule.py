"""Dated values: a capacity or arrival rate that changes on dates.

In a scenario a scheduled field is a number, as before, or::

    capacity: {base: 66, changes: [{from: 2023-10-01, value: 86}, {from: 2024-04-01, value: 66}]}

``base`` holds before the first change; each change holds from its date (at
midnight) until the next. ``{csv: FILE}`` reads the changes from a CSV of
``date,value`` rows (path relative to the scenario file, read by the loader; ``base``
defaults to the first row's value). Dates before the simulation start simply set the
value in force at the start.
"""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Generic, TypeVar

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

V = TypeVar("V", int, float)


class ScheduleChange(BaseModel, Generic[V]):
    """One dated value: ``value`` holds from ``from`` (midnight) until the next change."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    from_: dt.date = Field(alias="from", description="first day the value holds")
    value: V = Field(description="the value from that day")


class Schedule(BaseModel, Generic[V]):
    """A value that changes on dates (see the module docstring)."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    base: V = Field(description="value before the first change")
    changes: tuple[ScheduleChange[V], ...] = Field((), description="dated values, in date order")
    csv: str | None = Field(None, description="CSV of date,value rows the changes were read from")

    def __reduce__(self) -> tuple[Callable[[str, dict[str, Any]], Schedule[Any]], tuple[str, dict[str, Any]]]:
        # A parametrised generic (Schedule[PositivePlaces]) cannot be pickled by name, and
        # worker processes need it: rebuild from the values as Schedule[int] or [float].
        return _unpickled, ("int" if isinstance(self.base, int) else "float", self.model_dump(by_alias=True))

    @model_validator(mode="after")
    def _in_order(self) -> Schedule[V]:
        dates = [c.from_ for c in self.changes]
        for a, b in zip(dates, dates[1:], strict=False):
            if b <= a:
                raise ValueError(f"changes must be in date order, each date once ({b} follows {a})")
        return self


def _unpickled(kind: str, data: dict[str, Any]) -> Schedule[Any]:
    """A schedule back from :meth:`Schedule.__reduce__` (values as validated before)."""
    return (Schedule[int] if kind == "int" else Schedule[float]).model_validate(data)


Scheduled = Any  # a number or a Schedule of numbers


def base_value(x: Scheduled) -> Any:
    """The value before any change (the number itself when not scheduled); also takes
    the plain mapping of a resolved scenario.yaml."""
    if isinstance(x, Mapping):
        return x["base"]
    return x.base if isinstance(x, Schedule) else x


def as_json(x: Scheduled) -> Any:
    """The number, or the schedule as the mapping a scenario file writes."""
    return x.model_dump(mode="json", by_alias=True, exclude_none=True) if isinstance(x, Schedule) else x


def describe(x: Any, fmt: Callable[[Any], str] = str) -> str:
    """'66' or '66, 86 from 2023-10-01, 66 from 2024-04-01' (a number, Schedule or its mapping)."""
    x = as_json(x)
    if not isinstance(x, Mapping):
        return fmt(x)
    steps = [f"{fmt(c['value'])} from {c['from']}" for c in x.get("changes") or []]
    return ", ".join([fmt(x["base"]), *steps])


def max_value(x: Scheduled) -> Any:
    """The largest value the field ever takes."""
    return max([x.base, *(c.value for c in x.changes)]) if isinstance(x, Schedule) else x


def min_value(x: Scheduled) -> Any:
    """The smallest value the field ever takes."""
    return min([x.base, *(c.value for c in x.changes)]) if isinstance(x, Schedule) else x


def scaled(x: Scheduled, factor: float) -> Scheduled:
    """``x`` times ``factor`` (every value of a schedule, on the same dates); also
    takes the plain mapping of a resolved scenario.yaml."""
    if isinstance(x, Mapping):
        return {**x, "base": x["base"] * factor,
                "changes": [{**c, "value": c["value"] * factor} for c in x.get("changes") or []]}
    if not isinstance(x, Schedule):
        return x * factor
    return x.model_copy(update={"base": x.base * factor,
                                "changes": tuple(c.model_copy(update={"value": c.value * factor}) for c in x.changes)})


def value_on(x: Scheduled, date: dt.date) -> Any:
    """The value in force on ``date``."""
    if not isinstance(x, Schedule):
        return x
    value = x.base
    for change in x.changes:
        if change.from_ <= date:
            value = change.value
    return value


def daily_values(x: Scheduled, first: dt.date, n_days: int) -> np.ndarray:
    """The value on each of ``n_days`` days from ``first`` (floats)."""
    out = np.full(n_days, float(value_on(x, first)))
    if isinstance(x, Schedule):
        for change in x.changes:
            day = (change.from_ - first).days
            if 0 < day < n_days:
                out[day:] = float(change.value)
    return out


def changes_after(x: Scheduled, first: dt.date, horizon_days: float) -> list[tuple[float, Any]]:
    """``(day, value)`` of each change strictly after day 0 and before the horizon
    (simulation days from ``first``): the events a run must schedule."""
    if not isinstance(x, Schedule):
        return []
    days = [((c.from_ - first).days, c.value) for c in x.changes]
    return [(float(d), v) for d, v in days if 0 < d < horizon_days]


def read_schedule_csv(csv_path: Path, where: str, problems: list[str]) -> list[dict[str, Any]]:
    """``[{from, value}]`` from a CSV with ``date`` and ``value`` columns; each bad row
    adds a line to ``problems`` (prefixed with ``where``)."""
    try:
        with csv_path.open(newline="", encoding="utf-8") as handle:
            reader = csv.DictReader(handle)
            missing = {"date", "value"} - set(reader.fieldnames or [])
            if missing:
                problems.append(f"{where}.csv: {csv_path.name} needs columns date,value (missing "
                                f"{', '.join(sorted(missing))})")
                return []
            rows = list(reader)
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        problems.append(f"{where}.csv: cannot read {csv_path.name} ({exc})")
        return []
    out = []
    for i, row in enumerate(rows, start=2):
        try:
            out.append({"from": dt.date.fromisoformat(row["date"].strip()), "value": float(row["value"])})
        except (ValueError, AttributeError):
            problems.append(f"{where}.csv: {csv_path.name} line {i}: need a YYYY-MM-DD date and a number "
                            f"(got {row.get('date')!r}, {row.get('value')!r})")
    return out
