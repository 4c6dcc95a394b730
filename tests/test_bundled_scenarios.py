"""The scenario files shipped in ``scenarios/``: they load, and options change only
what they say they change.

Each option is compared with the file it extends after both are fully resolved
(``extends`` followed, defaults filled in), so an accidental override anywhere in
an option file fails here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from d2asim.scenario.loader import load_scenario, read_yaml
from d2asim.scenario.schema import Scenario

SCENARIOS = Path(__file__).resolve().parent.parent / "scenarios"
FILES = sorted(SCENARIOS.glob("*.yaml"))
IDENTITY = ("name", "description", "extends")

# option file -> (the file it extends, what may differ: dotted-path prefixes)
CAPACITY_ONLY = ("services.p1.capacity", "services.p2.capacity", "services.p3.capacity",
                 "services.home_care.capacity", "services.care_home.capacity")  # fmt: skip
D2A_ONLY = tuple(f"pathways.settings.{p}.assessment.{field}" for p in ("P1", "P2", "P3")
                 for field in ("mode", "team"))  # fmt: skip
OPTIONS = {
    "d2a.yaml": ("baseline.yaml", D2A_ONLY),
    "p1_plus20.yaml": ("baseline.yaml", CAPACITY_ONLY),
    "p2_plus5.yaml": ("baseline.yaml", CAPACITY_ONLY),
    "p3_plus10.yaml": ("baseline.yaml", CAPACITY_ONLY),
    "d2a_p1_plus20.yaml": ("d2a.yaml", CAPACITY_ONLY),
    "d2a_resourced.yaml": ("d2a.yaml", CAPACITY_ONLY),
}


def flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    """Dotted paths to leaves (lists and tuples are leaves)."""
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key, item in value.items():
            out.update(flatten(item, f"{prefix}.{key}" if prefix else str(key)))
        return out
    return {prefix: value}


def resolved(name: str) -> dict[str, Any]:
    scenario = load_scenario(SCENARIOS / name)
    data = scenario.model_dump(mode="json", by_alias=True)
    return {k: v for k, v in flatten(data).items() if k.split(".")[0] not in IDENTITY}


def differences(a: str, b: str) -> dict[str, tuple[Any, Any]]:
    left, right = resolved(a), resolved(b)
    return {k: (left.get(k), right.get(k)) for k in sorted(set(left) | set(right)) if left.get(k) != right.get(k)}


def test_there_are_bundled_scenarios() -> None:
    names = {f.name for f in FILES}
    assert "baseline.yaml" in names
    assert set(OPTIONS) <= names


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_scenario_loads_and_is_named_after_its_file(path: Path) -> None:
    scenario = load_scenario(path)
    assert isinstance(scenario, Scenario)
    assert scenario.name == path.stem
    assert scenario.description.strip(), "every bundled scenario says what it is for"


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_every_option_is_covered_by_these_tests(path: Path) -> None:
    parent = read_yaml(path).get("extends")
    if path.name == "baseline.yaml":
        assert parent is None
    else:
        assert path.name in OPTIONS, f"add {path.name} to OPTIONS in this test"
        assert parent == OPTIONS[path.name][0]


@pytest.mark.parametrize("option", sorted(OPTIONS))
def test_option_changes_only_what_it_says(option: str) -> None:
    parent, allowed = OPTIONS[option]
    diff = differences(parent, option)
    assert diff, f"{option} does not differ from {parent}"
    unexpected = {k: v for k, v in diff.items() if not k.startswith(allowed)}
    assert not unexpected, f"{option} changes more than {allowed}: {unexpected}"


def test_d2a_moves_assessment_off_the_ward_for_p1_to_p3_only() -> None:
    base = load_scenario(SCENARIOS / "baseline.yaml").pathways.settings
    d2a = load_scenario(SCENARIOS / "d2a.yaml").pathways.settings
    for p in ("P1", "P2", "P3"):
        assert base[p].assessment.mode == "on_ward"
        assert d2a[p].assessment.mode == "d2a"
        assert d2a[p].assessment.delay_days == base[p].assessment.delay_days  # same delays, moved
        assert d2a[p].assessment.d2a_stay == "overlap"  # assessed within the service stay
    assert d2a["P0"] == base["P0"]


@pytest.mark.parametrize("option", [o for o, (_, allowed) in OPTIONS.items() if allowed == CAPACITY_ONLY])
def test_capacity_options_add_capacity(option: str) -> None:
    parent, _ = OPTIONS[option]
    for key, (before, after) in differences(parent, option).items():
        assert before is not None and after is not None, key
        assert after > before, f"{option}: {key} goes from {before} to {after}"


def test_scenarios_readme_lists_every_file() -> None:
    readme = (SCENARIOS / "README.md").read_text(encoding="utf-8")
    missing = [f.name for f in FILES if f"`{f.name}`" not in readme]
    assert not missing, f"scenarios/README.md does not describe {missing}"
