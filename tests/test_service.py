"""The command line, the Python API and the service layer write identical folders."""

from __future__ import annotations

from pathlib import Path

import yaml
from click.testing import CliRunner
from test_api import _scenario_file

import d2asim
from d2asim import service
from d2asim.cli import main
from d2asim.experiments.executor import Backend
from d2asim.scenario.loader import load_scenario


def _files(folder: Path) -> dict[str, bytes]:
    """Every result file below ``folder`` (relative path -> bytes). Left out: the
    checkpoints (pickled replications, whose bytes depend on the process that made them;
    their results are in the other files) and the claim marker (it names the process)."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file() and "checkpoints" not in p.parts and not p.name.startswith(".d2asim-claim")}


def _cli(args: list[str]) -> None:
    result = CliRunner().invoke(main, [*args, "--workers", "1", "--quiet"])
    assert result.exit_code == 0, result.output + repr(result.exception)


def test_run_folders_are_byte_identical_from_cli_api_and_service(tmp_path: Path) -> None:
    path = _scenario_file(tmp_path)
    _cli(["run", str(path), "--reps", "3", "--seed", "4", "--out", str(tmp_path / "cli")])
    d2asim.run_replications(path, replications=3, seed=4, out=tmp_path / "api")
    job = service.plan_run(load_scenario(path), 3, 4, tmp_path / "svc")
    service.run_job(job, Backend(workers=2, progress=False))
    cli = _files(tmp_path / "cli")
    assert {"summary.json", "scenario.yaml", "run.json", "daily.csv", "monthly.csv"} <= set(cli)
    assert _files(tmp_path / "api") == cli
    assert _files(tmp_path / "svc") == cli


def test_comparison_and_sweep_folders_are_byte_identical(tmp_path: Path) -> None:
    path = _scenario_file(tmp_path)
    option = tmp_path / "more.yaml"
    option.write_text(yaml.safe_dump({"name": "more", "extends": path.name, "services": {"p1": {"capacity": 20}}}))
    _cli(["compare", str(path), str(option), "--reps", "2", "--seed", "4", "--out", str(tmp_path / "cmp-cli")])
    table = d2asim.compare(path, [option], replications=2, seed=4, out=tmp_path / "cmp-api")
    assert _files(tmp_path / "cmp-api") == _files(tmp_path / "cmp-cli")
    assert "comparison.csv" in _files(tmp_path / "cmp-cli") and "bed_days_saved" in set(table.metric)
    _cli(["sweep", str(path), "--set", "services.p1.capacity=12,20", "--reps", "2", "--seed", "4",
          "--out", str(tmp_path / "sw-cli")])
    d2asim.sweep(path, {"services.p1.capacity": [12, 20]}, replications=2, seed=4, out=tmp_path / "sw-api")
    cli, api = _files(tmp_path / "sw-cli"), _files(tmp_path / "sw-api")
    assert "sweep.csv" in cli
    assert api == cli
