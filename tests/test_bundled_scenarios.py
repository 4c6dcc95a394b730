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
FILES = sorted(SCENARIOS.glob("*.yaml")) + sorted(SCENARIOS.glob("ncl/*.yaml"))
IDENTITY = ("name", "description", "extends")

# option file -> (the file it extends, what may differ: dotted-path prefixes)
CAPACITY_ONLY = ("services.p1.capacity", "services.p2.capacity", "services.p3.capacity",
                 "services.home_care.capacity", "services.care_home.capacity")  # fmt: skip
D2A_ONLY = tuple(f"pathways.settings.{p}.assessment.{field}" for p in ("P1", "P2", "P3")
                 for field in ("mode", "team"))  # fmt: skip
HARINGEY_D2A = tuple(f"boroughs.haringey.pathways.settings.{p}.assessment.mode" for p in ("P1", "P2", "P3"))
ISLINGTON_D2A = tuple(f"boroughs.islington.pathways.settings.{p}.assessment.mode" for p in ("P1", "P2", "P3"))
SPLIT = (
    "boroughs.islington.pathways.settings.P2.service", "boroughs.islington.pathways.settings.P3.service",
    "boroughs.haringey.pathways.settings.P3.service",
    "services.intermediate_care_beds.label", "services.intermediate_care_beds.shared_by",
    "services.intermediate_care_beds.capacity", "services.care_home_assessment_beds.label",
    "services.care_home_assessment_beds.shared_by", "services.care_home_assessment_beds.capacity",
    "services.islington_intermediate_care_beds.", "services.haringey_care_home_assessment_beds.",
    "services.islington_care_home_assessment_beds.",
    "initial_state.services_occupied.intermediate_care_beds",
    "initial_state.services_occupied.care_home_assessment_beds",
    "initial_state.services_occupied.islington_intermediate_care_beds",
    "initial_state.services_occupied.haringey_care_home_assessment_beds",
    "initial_state.services_occupied.islington_care_home_assessment_beds",
)  # fmt: skip
BLOCK_PRICED = ("islington_reablement", "haringey_reablement", "enfield_reablement", "intermediate_care_beds",
                "enfield_intermediate_care_beds", "care_home_assessment_beds")
BLOCK = tuple(f"services.{s}.{price}" for s in BLOCK_PRICED
              for price in ("cost_per_day_gbp", "cost_per_place_per_day_gbp"))  # fmt: skip
OPTIONS = {
    "ncl/haringey_d2a.yaml": ("baseline.yaml", HARINGEY_D2A),
    "ncl/islington_d2a.yaml": ("baseline.yaml", ISLINGTON_D2A),
    "ncl/both_d2a.yaml": ("haringey_d2a.yaml", ISLINGTON_D2A),
    "ncl/split_shared.yaml": ("baseline.yaml", SPLIT),
    "ncl/block_contracts.yaml": ("baseline.yaml", BLOCK),
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


def key(path: Path) -> str:
    """A bundled file's name relative to ``scenarios/`` (``ncl/baseline.yaml``)."""
    return path.relative_to(SCENARIOS).as_posix()


def sibling(option: str, name: str) -> str:
    """``name`` (as an ``extends:`` gives it) in the folder of ``option``."""
    return (Path(option).parent / name).as_posix()


def resolved(name: str) -> dict[str, Any]:
    scenario = load_scenario(SCENARIOS / name)
    data = scenario.model_dump(mode="json", by_alias=True)
    return {k: v for k, v in flatten(data).items() if k.split(".")[0] not in IDENTITY}


def differences(a: str, b: str) -> dict[str, tuple[Any, Any]]:
    left, right = resolved(a), resolved(b)
    return {k: (left.get(k), right.get(k)) for k in sorted(set(left) | set(right)) if left.get(k) != right.get(k)}


def test_there_are_bundled_scenarios() -> None:
    names = {key(f) for f in FILES}
    assert {"baseline.yaml", "ncl/baseline.yaml"} <= names
    assert set(OPTIONS) <= names


@pytest.mark.parametrize("path", FILES, ids=key)
def test_scenario_loads_and_is_named_after_its_file(path: Path) -> None:
    scenario = load_scenario(path)
    assert isinstance(scenario, Scenario)
    assert scenario.name == key(path).removesuffix(".yaml").replace("/", "_")  # ncl/baseline.yaml: ncl_baseline
    assert scenario.description.strip(), "every bundled scenario says what it is for"


@pytest.mark.parametrize("path", FILES, ids=key)
def test_every_option_is_covered_by_these_tests(path: Path) -> None:
    parent = read_yaml(path).get("extends")
    if path.name == "baseline.yaml":
        assert parent is None
    else:
        assert key(path) in OPTIONS, f"add {key(path)} to OPTIONS in this test"
        assert parent == OPTIONS[key(path)][0]


@pytest.mark.parametrize("option", sorted(OPTIONS))
def test_option_changes_only_what_it_says(option: str) -> None:
    parent, allowed = OPTIONS[option]
    diff = differences(sibling(option, parent), option)
    assert diff, f"{option} does not differ from {parent}"
    unexpected = {k: v for k, v in diff.items() if not k.startswith(allowed)}
    assert not unexpected, f"{option} changes more than {allowed}: {unexpected}"


def test_block_contracts_pay_the_baselines_daily_price_per_place_instead_of_per_occupied_day() -> None:
    base = load_scenario(SCENARIOS / "ncl" / "baseline.yaml").services
    block = load_scenario(SCENARIOS / "ncl" / "block_contracts.yaml").services
    for name in BLOCK_PRICED:
        assert base[name].cost_per_day_gbp > 0 and base[name].cost_per_place_per_day_gbp == 0
        assert block[name].cost_per_place_per_day_gbp == base[name].cost_per_day_gbp
        assert block[name].cost_per_day_gbp == 0


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
    for path, (before, after) in differences(sibling(option, parent), option).items():
        assert before is not None and after is not None, path
        assert after > before, f"{option}: {path} goes from {before} to {after}"


def test_scenarios_readme_lists_every_file() -> None:
    readme = (SCENARIOS / "README.md").read_text(encoding="utf-8")
    missing = [key(f) for f in FILES if f"`{key(f)}`" not in readme]
    assert not missing, f"scenarios/README.md does not describe {missing}"


NCL = ("ncl/baseline.yaml", "ncl/haringey_d2a.yaml", "ncl/islington_d2a.yaml", "ncl/both_d2a.yaml")


@pytest.mark.parametrize("option", NCL[1:])
def test_ncl_d2a_options_move_assessment_off_the_ward_in_their_boroughs_only(option: str) -> None:
    base, mine = load_scenario(SCENARIOS / NCL[0]), load_scenario(SCENARIOS / option)
    assert base.boroughs is not None and mine.boroughs is not None
    d2a = {"ncl/haringey_d2a.yaml": {"haringey"}, "ncl/islington_d2a.yaml": {"islington"},
           "ncl/both_d2a.yaml": {"haringey", "islington"}}[option]  # fmt: skip
    for name, borough in mine.boroughs.items():
        for p in ("P1", "P2", "P3"):
            before, after = base.boroughs[name].pathways.settings[p], borough.pathways.settings[p]
            assert before.assessment.mode == "on_ward"
            assert after.assessment.mode == ("d2a" if name in d2a else "on_ward"), (name, p)
            assert after.assessment.delay_days == before.assessment.delay_days  # same delays, moved
            assert after.service == before.service


def test_ncl_split_shared_keeps_the_beds_and_shares_nothing() -> None:
    base, split = load_scenario(SCENARIOS / "ncl/baseline.yaml"), load_scenario(SCENARIOS / "ncl/split_shared.yaml")

    def beds(sc: Scenario, kind: str) -> int:  # the modelled boroughs' (out-of-area services have no owner)
        return sum(s.capacity or 0 for s in sc.services.values() if s.kind == kind and (s.borough or s.shared_by))

    for kind in ("bedded_intermediate_care", "care_home_assessment_bed"):
        assert beds(split, kind) == beds(base, kind), kind  # the same beds, split
    shared = [n for n, s in split.services.items() if s.shared_by and len(s.shared_by) > 1]
    assert shared == ["care_homes"]  # only the unlimited care-home sink is still shared
