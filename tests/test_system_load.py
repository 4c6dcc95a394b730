"""The load table of a system-form scenario: the same arithmetic as the single-site one."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from click.testing import CliRunner

from d2asim.cli import main
from d2asim.scenario.load import stage_loads, system_stage_loads
from d2asim.scenario.loader import load_scenario, validate_mapping, with_overrides
from d2asim.scenario.migrate import to_system_form

SCENARIOS = Path(__file__).resolve().parent.parent / "scenarios"


@pytest.mark.parametrize("name", ["baseline.yaml", "p1_plus20.yaml"])
def test_migrated_single_site_scenario_has_the_same_loads(name: str) -> None:
    single = load_scenario(SCENARIOS / name)
    system = validate_mapping(to_system_form(single, "whittington", "islington"), "migrated")
    old = {s.stage: s for s in stage_loads(single)}
    new = {s.stage: s for s in system_stage_loads(system)}
    trust, acute = new["trusts.whittington beds"], old["acute beds"]
    assert trust.arrivals_per_day == pytest.approx(acute.arrivals_per_day, rel=1e-6)
    assert trust.offered_load == pytest.approx(acute.offered_load, rel=1e-6)
    assert trust.capacity == acute.capacity
    for stage, load in old.items():
        if stage.startswith("services."):
            assert new[stage].arrivals_per_day == pytest.approx(load.arrivals_per_day, rel=1e-6), stage
            # the single-site table estimates an uncapped episode's mean from 20,000 draws (relative
            # standard error about 0.6% for these lognormals); the system table uses the exact mean
            assert new[stage].offered_load == pytest.approx(load.offered_load, rel=0.02), stage
            assert new[stage].capacity == load.capacity, stage


def test_validate_prints_the_system_load_table_and_warns_on_overload() -> None:
    ncl = SCENARIOS / "ncl" / "baseline.yaml"
    result = CliRunner().invoke(main, ["validate", str(ncl)])
    assert result.exit_code == 0, result.output
    scenario = load_scenario(ncl)
    for trust in scenario.trusts or {}:
        assert f"trusts.{trust} beds" in result.output
    for service in scenario.services:
        assert f"services.{service} " in result.output
    assert "warning" not in result.output
    loads = system_stage_loads(scenario)
    assert all(s.rho < 1 for s in loads if not math.isinf(s.capacity))
    squeezed = with_overrides(scenario, {"services.intermediate_care_beds.capacity": 40, "initial_state": None})
    tight = {s.stage: s for s in system_stage_loads(squeezed)}["services.intermediate_care_beds"]
    assert tight.rho > 1
