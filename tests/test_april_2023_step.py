"""The numbers docs/calibration.md quotes for the April-2023 step come from the data
(scripts/april_2023_step.py on calibration/data/acute_sitrep_nctr_daily.csv.gz)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "april_2023_step.py"


@pytest.fixture(scope="module")
def step():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("april_2023_step", SCRIPT)
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    rows = module.load()
    trusts = module.by_trust(rows)
    return trusts, module.by_region(rows, trusts).set_index("area")


def test_the_step_is_london_not_england_and_not_on_1_april(step) -> None:  # type: ignore[no-untyped-def]
    trusts, regions = step
    assert (len(trusts), int(trusts["steps"].sum())) == (121, 17)
    assert regions.loc["ENGLAND (Type 1 Trusts)", "ratio"] == pytest.approx(0.96, abs=0.005)
    assert regions.loc["LONDON", ["trusts", "trusts_stepping"]].tolist() == [18, 8]
    assert regions.loc["LONDON", "ratio"] == pytest.approx(1.31, abs=0.005)
    assert int((trusts["april_jump_sd"] > 2).sum()) == 2
    rke = trusts.set_index("org_code").loc["RKE"]
    assert (rke["ratio"], rke["nctr_ratio"], rke["discharged_ratio"]) == pytest.approx((1.47, 1.31, 1.06), abs=0.005)
