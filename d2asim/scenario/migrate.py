"""Rewrite a single-site scenario in the system form (``d2asim migrate``).

The single-site form (``acute``, ``population``, ``arrivals``, services with the
legacy names) is one trust and one borough. The migrated file says so explicitly:
``trusts: {TRUST: <acute>}``, ``boroughs: {BOROUGH: {population}}``, admissions as a
one-cell residence-to-trust matrix, every service owned by the borough, with the
kind (and the 42-day reablement cap) its legacy name meant written out. Results are
statistically the same; they are not draw-for-draw identical, because random streams
in the system form are named by place (``BOROUGH.TRUST.non_elective.arrivals``).
"""

from __future__ import annotations

from typing import Any

from d2asim.scenario.errors import ScenarioError
from d2asim.scenario.loader import scenario_to_dict
from d2asim.scenario.schema import Scenario

ORDER = ("name", "description", "run", "age_bands", "trusts", "boroughs", "admissions", "out_of_area", "pathways",
         "assessment_teams", "services", "delay_reasons", "readmission", "initial_state", "sweep")  # fmt: skip


def to_system_form(scenario: Scenario, trust: str = "trust", borough: str = "borough") -> dict[str, Any]:
    """The system-form mapping of a single-site ``scenario`` (every default filled in)."""
    if scenario.is_system:
        raise ScenarioError([f"{scenario.name}: already in the system form (it has trusts)"])
    data = scenario_to_dict(scenario)
    data["trusts"] = {trust: data.pop("acute")}
    data["boroughs"] = {borough: {"population": data.pop("population", {})}}
    arrivals = data.pop("arrivals")
    data["admissions"] = {borough: {source: _one_cell(stream, trust) for source, stream in arrivals.items()}}
    data["services"] = {name: {**spec, "borough": borough} for name, spec in data.get("services", {}).items()}
    if data.get("sweep"):
        data["sweep"] = {_system_path(k, trust, borough): v for k, v in data["sweep"].items()}
    return {key: data[key] for key in ORDER if key in data}


def _one_cell(stream: dict[str, Any], trust: str) -> dict[str, Any]:
    """An arrival stream as a borough's admissions, all to one trust."""
    out = {k: v for k, v in stream.items() if k != "per_day"}
    return {"by_trust": {trust: stream["per_day"]}, **out}


def _system_path(dotted: str, trust: str, borough: str) -> str:
    """A single-site field path (sweep key) in the system form."""
    head, _, rest = dotted.partition(".")
    if head == "acute":
        return f"trusts.{trust}.{rest}"
    if head == "population":
        return f"boroughs.{borough}.population.{rest}"
    if head == "arrivals":
        source, _, field = rest.partition(".")
        tail = f"by_trust.{trust}" if field == "per_day" else field
        return f"admissions.{borough}.{source}.{tail}"
    return dotted
