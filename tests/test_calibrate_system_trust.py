"""Calibration on one trust of a system (issue 11): a config naming a system-form scenario and
``trust: NAME`` fits only that trust's parameters against that trust's own series.

The system: trust ``tn`` (borough north) and trust ``ts`` (boroughs north and south). The
observed series is ``ts``'s own simulated bed occupancy (two replications at the base
scenario), in a CSV that also holds rows of the other trust's ODS code. A tiny budget is
enough: the checks are which series is compared and which fields move, not the fit.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml
from click.testing import CliRunner
from helpers import exponential, lognormal

from d2asim.calibration.command import calibrate, plan
from d2asim.calibration.simfit import ModelSpec, model_series
from d2asim.cli import main
from d2asim.model.engine import DischargeModel
from d2asim.scenario.loader import load_scenario
from d2asim.scenario.schedule import Schedule

PATHWAYS = ("P0", "P1", "P2", "P3")
TTR = {p: lognormal(3.0, 2.0) for p in PATHWAYS}


def _system() -> dict[str, Any]:
    trust = {"beds": 80, "time_to_discharge_ready_days": TTR, "discharge_window": {"start_hour": 8, "end_hour": 20}}
    settings = {"P1": {"service": "reablement", "assessment": {"mode": "d2a"}}, "P2": {"service": None},
                "P3": {"service": None}}
    return {
        "name": "two-trusts",
        "run": {"start_date": "2022-04-01", "warmup_days": 20, "duration_days": 91, "replications": 2, "seed": 7},
        "trusts": {"tn": {**trust, "ods_code": "RTN"}, "ts": {**trust, "ods_code": "RTS"}},
        "boroughs": {b: {"population": {"adults_18plus": 100_000, "aged_65plus": 15_000},
                         "pathways": {"settings": settings}} for b in ("north", "south")},
        "admissions": {"north": {"non_elective": {"by_trust": {"tn": 9.0, "ts": 2.0}}},
                       "south": {"non_elective": {"by_trust": {"ts": 11.0}}}},
        "pathways": {"shares": {"P0": 0.8, "P1": 0.2, "P2": 0.0, "P3": 0.0}},
        "services": {"reablement": {"kind": "reablement", "setting": "home", "capacity": 40,
                                    "duration_days": exponential(6.0),
                                    "outcomes": {"home": 0.95, "death": 0.05}}},
    }


CONFIG: dict[str, Any] = {
    "trust": "ts",
    "base_scenario": "system.yaml",
    "data": {"beds": {"file": "beds.csv", "date_column": "day", "frequency": "daily", "filter": {"org": "{trust}"},
                      "columns": {"occupied": "occupied"}}},
    "fit_period": {"start": "2022-04", "end": "2022-06"},
    "min_valid_months": 2,
    "targets": {"occupied": {"model": "acute_occupied", "at_hour": 8}},
    "parameters": {"ts_los": {"scale": ["trusts.ts.time_to_discharge_ready_days"], "bounds": [0.8, 1.25]}},
    "optimiser": {"design_points": 2, "max_evaluations": 3, "replications": 1, "final_replications": 2,
                  "refits": 0, "seed": 3, "warmup_days": 20},
}


def _occupancy(folder: Path, trust: int | None) -> pd.Series:
    """Mean over two replications of the base's beds occupied at 08:00 (``trust``: of that trust only)."""
    scenario = load_scenario(folder / "system.yaml")
    spec = ModelSpec("occupied", "acute_occupied", at_hour=8, trust=trust)
    frames = [model_series(DischargeModel(scenario, 7, r).run(), scenario, [spec]) for r in range(2)]
    return pd.concat(frames, axis=1).mean(axis=1)


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("systrust")
    (folder / "system.yaml").write_text(yaml.safe_dump(_system()))
    own = _occupancy(folder, 1)  # trust ts
    days = own.index.strftime("%Y-%m-%d")
    other = pd.DataFrame({"day": days, "org": "RTN", "occupied": 999})  # must be filtered out
    mine = pd.DataFrame({"day": days, "org": "RTS", "occupied": own.round(1).to_numpy()})
    pd.concat([other, mine]).to_csv(folder / "beds.csv", index=False)
    (folder / "cal.yaml").write_text(yaml.safe_dump(CONFIG))
    return folder


def _write_config(folder: Path, **changes: Any) -> Path:
    config = copy.deepcopy(CONFIG)
    config.update(changes)
    path = folder / "bad.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def test_the_trust_series_is_not_the_system_series(project: Path) -> None:
    """The fixture's observed series is one trust's, well apart from both trusts' together."""
    own, both = _occupancy(project, 1), _occupancy(project, None)
    assert float((both - own).mean()) > 0.3 * float(both.mean())


def test_fits_only_that_trust_against_its_own_series(project: Path) -> None:
    folder, doc = calibrate(project / "cal.yaml", run_dir=project / "run", workers=1, quick=False)
    assert doc["trust"] == "ts"
    daily = pd.read_csv(folder / "series_daily.csv")
    sim, obs = daily["sim_mean"].to_numpy(float), daily["observed"].to_numpy(float)
    # Simulated and observed are the same trust's occupancy: both trusts' would be about twice it.
    # Tolerance: the scale's bounds (0.8-1.25) move the mean by at most about 25%.
    assert abs(np.nanmean(sim) / np.nanmean(obs) - 1) < 0.3
    base, fitted = load_scenario(project / "system.yaml"), load_scenario(folder / "scenario.yaml")
    assert base.trusts is not None and fitted.trusts is not None
    assert fitted.trusts["tn"] == base.trusts["tn"] and fitted.boroughs == base.boroughs
    assert fitted.services == base.services and fitted.admissions == base.admissions
    value = doc["parameters"]["ts_los"]["value"]
    assert (fitted.trusts["ts"] == base.trusts["ts"]) == (value == 1.0), value


@pytest.mark.parametrize(("changes", "line"), [
    ({"trust": "tw"}, "trust: 'tw' is not a trust of the base scenario (allowed: tn, ts)"),
    ({"parameters": {"cap": {"path": "services.reablement.capacity", "bounds": [30, 50], "integer": True}}},
     "parameters.cap.path: 'services.reablement.capacity' is not a field of trust ts (calibrating one trust of "
     "a system varies only trusts.ts.* fields)"),
    ({"parameters": {"tn_los": {"scale": ["trusts.tn.time_to_discharge_ready_days"], "bounds": [0.8, 1.2]}}},
     "parameters.tn_los.scale: 'trusts.tn.time_to_discharge_ready_days' is not a field of trust ts"),
    ({"parameters": {"share": {"pathway_share": "P1", "bounds": [0.1, 0.3]}}},
     "parameters.share.pathway_share: in the system form the shares are the boroughs'"),
])
def test_validate_names_the_trust_problem_in_one_line(project: Path, changes: dict[str, Any], line: str) -> None:
    path = _write_config(project, **changes)
    result = CliRunner().invoke(main, ["validate", str(path)])
    assert result.exit_code == 2, result.output
    errors = [x for x in result.output.splitlines() if x.startswith("error:")]
    assert len(errors) == 1 and f"{path}: {line}" in errors[0], result.output
    assert "Traceback" not in result.output


def test_validate_accepts_the_system_trust_config(project: Path) -> None:
    result = CliRunner().invoke(main, ["validate", str(project / "cal.yaml")])
    assert result.exit_code == 0, result.output
    assert "trust ts" in result.output and "80 beds" in result.output


def test_the_fitted_trusts_beds_follow_its_observed_bed_base(project: Path) -> None:
    """Beds available of that trust (RTS), stepping 80 -> 90 on 2022-05-01, become a
    schedule of ``trusts.ts.beds``; the other trust's beds are untouched."""
    beds = pd.read_csv(project / "beds.csv")
    beds["available"] = [90 if day >= "2022-05-01" else 80 for day in beds["day"]]
    beds.loc[beds["org"] == "RTN", "available"] = 500  # the other trust's rows: filtered out
    beds.to_csv(project / "beds_available.csv", index=False)
    data = {"beds": {**CONFIG["data"]["beds"], "file": "beds_available.csv",
                     "columns": {"occupied": "occupied", "beds_available": "available"}}}
    p = plan(_write_config(project, data=data))
    assert p.fixed["trusts.ts.beds"] == {"base": 80, "changes": [{"from": "2022-05-01", "value": 90}]}
    assert p.base.trusts is not None and p.base.trusts["tn"].beds == 80
    ts_beds = p.base.trusts["ts"].beds
    assert isinstance(ts_beds, Schedule) and [(str(c.from_), c.value) for c in ts_beds.changes] == [("2022-05-01", 90)]
