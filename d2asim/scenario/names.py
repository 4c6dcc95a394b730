"""The scenario's fixed vocabulary: pathways, terminal outcomes, service kinds, fixed delay
causes and the rule for place names.

It sits below :mod:`d2asim.scenario.schema` so that the checks the schema runs
(:mod:`d2asim.scenario.checks`) can use it without importing the schema back.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Literal, get_args

if TYPE_CHECKING:
    from d2asim.scenario.schema import Window

TERMINAL_OUTCOMES = ("home", "readmission", "death")
PLACE_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_-]*$")  # trusts, boroughs, services: used in keys and columns

Pathway = Literal["P0", "P1", "P2", "P3"]
PATHWAYS: tuple[Pathway, ...] = get_args(Pathway)
ServiceKind = Literal[
    "reablement",
    "home_based_intermediate_care",
    "bedded_intermediate_care",
    "care_home_assessment_bed",
    "long_term_home_care",
    "permanent_care_home",
    "other",
]
SERVICE_KINDS: tuple[str, ...] = get_args(ServiceKind)

FIXED_CAUSES = ("assessment", "discharge_window")
"""Delay causes that are not a service (each service is a cause of its own)."""


def as_windows(spec: Window | tuple[Window, ...]) -> tuple[Window, ...]:
    """A calendar as its windows (one window, or several: open when any of them is)."""
    return spec if isinstance(spec, tuple) else (spec,)


def windows_overlap(a: Window | tuple[Window, ...], b: Window | tuple[Window, ...]) -> bool:
    """Whether two calendars are both open at some time of the week."""
    return any(x.overlaps(y) for x in as_windows(a) for y in as_windows(b))
