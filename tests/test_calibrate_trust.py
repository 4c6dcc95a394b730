"""``d2asim calibrate --trust CODE --fit --test``, ``--dry-run`` and ``d2asim validate``
of a calibration config: any trust end to end from the national extracts.

The end-to-end run uses a tiny search (QUICK patched: a few evaluations of one
replication, 60 days of warm-up): it checks the plumbing and the records, not the fit."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from d2asim.calibration import command
from d2asim.cli import main
from d2asim.scenario.loader import load_scenario

ROOT = Path(__file__).resolve().parents[1]
TINY = {"design_points": 1, "max_evaluations": 2, "replications": 1, "final_replications": 2, "refits": 0,
        "curvature_replications": 1, "parameter_draws": 1, "draw_replications": 1, "warmup_days": 60}
BACKTEST_KEYS = {"mae", "bias", "naive_mae", "coverage_90", "best_naive_mae", "mase", "coverage_80"}


def test_dry_run_checks_everything_and_writes_nothing(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    result = CliRunner().invoke(main, ["calibrate", "--trust", "rap", "--fit", "2022-04:2023-03", "--test",
                                       "2023-04:2024-03", "--dry-run", "--run-dir", str(run_dir)])
    assert result.exit_code == 0, result.output
    assert "--trust RAP: ok" in result.output and "target acute_occupancy: 12 fit months" in result.output
    assert "parameter share_P1" in result.output and "dry run: nothing simulated, nothing written" in result.output
    assert "/tmp" not in result.output and not run_dir.exists()
    assert "x 4 replications of 731 days (the stability check runs 366 days past the fit period)" in result.output


@pytest.mark.parametrize(("test", "stability_days", "days"), [
    (("2023-04", "2024-03"), None, 731),  # to the test period's end
    (None, None, 365 + 365),  # a year past the fit period
    (("2023-04", "2024-03"), 0, 365),  # the fit period only
    (None, 30, 395),
])
def test_the_search_checks_stability_past_the_fit_months(tmp_path: Path, test: tuple[str, str] | None,
                                                         stability_days: int | None, days: int) -> None:
    base, config = command.trust_inputs("RKE", ("2022-04", "2023-03"), test, [])
    config["optimiser"]["stability_days"] = stability_days
    plan = command.plan(command.write_inputs(tmp_path, base, config))
    assert plan.problem.search_days() == days
    assert plan.problem.config.fit_period.days() == 365


@pytest.mark.parametrize(("args", "expected"), [
    (["--trust", "RKE"], "--fit: required with --trust"),
    (["--trust", "RKE", "--fit", "2022-04:2023-03", "--test", "2023-13:2024-01"], "--test: must be two months"),
    (["--trust", "NOPE", "--fit", "2022-04:2023-03"], "unknown trust code 'NOPE'"),
    (["--trust", "RKE", "--fit", "2025-01:2025-06"], "no discharges by pathway (Table 4)"),
    (["calibration/rke.yaml", "--trust", "RKE", "--fit", "2022-04:2023-03"], "not both"),
    (["calibration/rke.yaml", "--fit", "2022-04:2023-03"], "--fit, --test and --borough go with --trust"),
])
def test_bad_trust_arguments_are_one_line(tmp_path: Path, args: list[str], expected: str) -> None:
    result = CliRunner().invoke(main, ["calibrate", *args, "--run-dir", str(tmp_path / "run")])
    assert result.exit_code == 2 and result.output.count("\n") == 1 and expected in result.output, result.output
    assert not (tmp_path / "run").exists()


def test_validate_checks_a_calibration_config(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["validate", str(ROOT / "calibration" / "rke.yaml")])
    assert result.exit_code == 0 and "ok (calibration config 'calibration-RKE'" in result.output, result.output
    config = yaml.safe_load((ROOT / "calibration" / "rke.yaml").read_text())
    config["base_scenario"] = str(ROOT / "scenarios" / "baseline.yaml")
    config["data"] = {k: {**v, "file": str(ROOT / "calibration" / v["file"])} for k, v in config["data"].items()}
    config["parameters"]["services.p1.places"] = {"bounds": [1, 2]}
    (tmp_path / "cal.yaml").write_text(yaml.safe_dump(config))
    result = CliRunner().invoke(main, ["validate", str(tmp_path / "cal.yaml")])
    assert result.exit_code == 2 and result.output.count("\n") == 1, result.output
    assert "parameters.services.p1.places" in result.output


@pytest.mark.slow
def test_calibrate_trust_runs_end_to_end_with_relative_records(tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(command, "QUICK", TINY)
    run_dir = tmp_path / "run"
    result = CliRunner().invoke(main, ["calibrate", "--trust", "RKE", "--fit", "2022-04:2022-09", "--test",
                                       "2022-10:2022-12", "--borough", "Islington", "--quick", "--workers", "1",
                                       "--quiet", "--run-dir", str(run_dir), "--out", str(tmp_path / "rke.yaml")])
    assert result.exit_code == 0, result.output
    doc = json.loads((run_dir / "calibration.json").read_text())
    assert doc["command"] == ("d2asim calibrate --trust RKE --fit 2022-04:2022-09 --test 2022-10:2022-12 "
                              "--borough Islington --quick")
    assert (doc["config"], doc["base_scenario"], doc["scenario_out"]) == (
        "calibration.yaml", "base_scenario.yaml", "../rke.yaml")
    assert all(not f.startswith("/") for f in doc["data"])
    assert set(doc["backtest"]) >= {"nctr_remaining", "acute_occupancy", "discharges_P1"}
    for name, scores in doc["backtest"].items():
        assert set(scores) >= BACKTEST_KEYS, name
    assert doc["verdict"]["sentence"] in result.output
    assert {"stable", "queue_last_month"} <= set(doc["stability"]) and doc["error_scales"]["kind"] == "noise"
    # one worker: the run's own CPU time, not the whole (pytest) process's since it began
    assert 0 < doc["cpu_seconds"] <= 1.2 * doc["run_seconds"] + 0.5
    assert set(doc["parameters"]) >= {"share_P1", "share_P2", "share_P3", "services.p1.capacity"}
    fitted = load_scenario(run_dir / "scenario.yaml")
    assert sum(fitted.pathways.shares.values()) == pytest.approx(1.0)
    assert fitted.pathways.shares["P1"] == pytest.approx(doc["parameters"]["share_P1"]["value"])
    assert yaml.safe_load((run_dir / "scenario.yaml").read_text())["extends"] == "base_scenario.yaml"
    assert load_scenario(tmp_path / "rke.yaml").population.adults_18plus == 180235
    for name in ("calibration.json", "report.md", "scenario.yaml", "calibration.yaml"):
        assert str(tmp_path) not in (run_dir / name).read_text(), name
