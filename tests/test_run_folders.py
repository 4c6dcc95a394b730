"""Run folders cannot be fooled: --out problems and odd names are one-line errors,
folders are claimed atomically, and --resume refuses damaged or foreign checkpoints,
run.json and scenario.yaml (one line naming the file), never running code from them."""

from __future__ import annotations

import json
import os
import pickle
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest
import yaml
from click.testing import CliRunner
from helpers import build, lognormal, scenario_dict

from d2asim.cli import main
from d2asim.experiments.checkpoint import CheckpointStore, write_run_request
from d2asim.experiments.folders import start_multi
from d2asim.run_folder import CLAIM, MAX_NAME, new_run_dir, safe_name
from d2asim.runner import run_replication, run_replications
from d2asim.scenario.errors import ScenarioError
from d2asim.scenario.loader import scenario_to_dict
from d2asim.scenario.schema import Scenario

SEED = 4


def tiny(name: str = "tiny", p1_capacity: int = 10) -> Scenario:
    return build(scenario_dict(
        per_day=8.0, beds=60, ttr=lognormal(4.0, 3.0), shares={"P0": 0.7, "P1": 0.3, "P2": 0.0, "P3": 0.0},
        settings={"P1": {"service": "p1"}}, services={"p1": {"capacity": p1_capacity,
                                                             "duration_days": lognormal(5.0, 3.0)}},
        warmup_days=10, duration_days=40, name=name, population={"adults_18plus": 100_000}))


def one_error_line(result: object, *fragments: str) -> str:
    """The single stderr line of a command that exited 2 (no traceback)."""
    assert result.exit_code == 2, (result.output, result.exception)  # type: ignore[attr-defined]
    lines = result.stderr.strip().splitlines()  # type: ignore[attr-defined]
    assert len(lines) == 1 and lines[0].startswith("error: "), lines
    assert "Traceback" not in result.output  # type: ignore[attr-defined]
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    return lines[0]


def scenario_file(tmp_path: Path, scenario: Scenario) -> Path:
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(scenario_to_dict(scenario)))
    return path


# ------------------------------------------------------------------ --out and names
@pytest.mark.parametrize("out", ["afile/sub", "afile", "/proc/x", "/proc/x/y", "n" * 300])
def test_out_problems_are_one_line_errors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, out: str) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "afile").write_text("not a folder")
    path = scenario_file(tmp_path, tiny())
    result = CliRunner().invoke(main, ["run", str(path), "--reps", "1", "--out", out, "--quiet"])
    one_error_line(result, "--out")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["afile", "s.yaml"]


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write into any folder")
def test_unwritable_out_is_a_one_line_error(tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    path = scenario_file(tmp_path, tiny())
    result = CliRunner().invoke(main, ["run", str(path), "--reps", "1", "--out", str(locked / "run"), "--quiet"])
    one_error_line(result, "--out", "cannot create")


def test_a_non_empty_out_is_refused_for_every_command(tmp_path: Path) -> None:
    path = scenario_file(tmp_path, tiny())
    for args in (["run", str(path)], ["compare", str(path), str(path)], ["sweep", str(path), "--set", "acute.beds=60"]):
        result = CliRunner().invoke(main, [*args, "--reps", "1", "--out", str(tmp_path), "--quiet"])
        one_error_line(result, "not empty")


@pytest.mark.parametrize(("name", "expected"), [
    ("../../x", "x"), ("a/b\\c", "a_b_c"), ("a\0b", "a_b"), ("..", "scenario"), ("", "scenario"),
    (".hidden", "hidden"), ("CON", "_CON"), ("nul.txt", "_nul.txt"), ("Baseline 2024", "Baseline_2024"),
])
def test_safe_name(name: str, expected: str) -> None:
    assert safe_name(name) == expected


def test_safe_name_is_short() -> None:
    assert safe_name("x" * 10_000) == "x" * MAX_NAME


@pytest.mark.parametrize("name", ["../../escaped", "/tmp/abs", "a/../../b", "x" * 400])
def test_default_folder_stays_inside_outputs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    """Reproduced: a scenario named ``../../x`` wrote its default folder outside outputs/."""
    work = tmp_path / "a" / "b"
    work.mkdir(parents=True)
    monkeypatch.chdir(work)
    path = scenario_file(work, tiny(name))
    result = CliRunner().invoke(main, ["run", str(path), "--reps", "1", "--quiet", "--workers", "1"])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in work.iterdir()) == ["outputs", "s.yaml"]
    assert sorted(p.name for p in tmp_path.rglob("*") if p.parent == tmp_path) == ["a"]
    (folder,) = (work / "outputs").iterdir()
    assert (folder / "summary.json").is_file() and len(folder.name) <= MAX_NAME + 20


# ------------------------------------------------------------------ atomic claims
def _race(target: Path, n: int) -> tuple[list[Path], list[str]]:
    """``n`` threads released together each try to claim ``target``."""
    barrier = threading.Barrier(n)
    won: list[Path] = []
    refused: list[str] = []

    def claim() -> None:
        barrier.wait()
        try:
            won.append(new_run_dir("x", target))
        except ScenarioError as exc:
            refused.append(exc.lines[0])

    threads = [threading.Thread(target=claim) for _ in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return won, refused


def test_runs_started_together_never_share_a_folder(tmp_path: Path) -> None:
    """Reproduced: two runs with the same --out both passed the empty-folder check."""
    for attempt in range(20):
        target = tmp_path / "shared" / str(attempt)
        won, refused = _race(target, 8)
        assert len(won) == 1 and len(refused) == 7, (won, refused)
        assert all("claimed" in line or "not empty" in line for line in refused)
        assert (target / CLAIM).is_file()


def test_two_processes_with_the_same_out_never_share_it(tmp_path: Path) -> None:
    """Two real runs started together with one --out: exactly one runs, the other is refused."""
    path = scenario_file(tmp_path, tiny())
    out = tmp_path / "shared"
    cmd = [sys.executable, "-m", "d2asim", "run", str(path), "--reps", "2", "--quiet", "--workers", "1",
           "--out", str(out)]
    procs = [subprocess.Popen([*cmd, "--seed", str(seed)], stderr=subprocess.PIPE, text=True) for seed in (1, 2)]
    results = [(p.wait(timeout=120), p.stderr.read()) for p in procs]  # type: ignore[union-attr]
    assert sorted(code for code, _ in results) == [0, 2], results
    refused = next(err for code, err in results if code == 2)
    assert refused.count("\n") == 1 and ("claimed" in refused or "not empty" in refused)
    assert json.loads((out / "summary.json").read_text())["seed"] == json.loads((out / "run.json").read_text())["seed"]


def test_a_claimed_folder_is_refused(tmp_path: Path) -> None:
    new_run_dir("x", tmp_path / "run")
    with pytest.raises(ScenarioError, match="claimed"):
        new_run_dir("x", tmp_path / "run")


def test_default_folders_of_the_same_second_differ(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    import datetime as dt

    now = dt.datetime(2026, 1, 2, 3, 4, 5)
    folders = {new_run_dir("x", None, now) for _ in range(3)}
    assert len(folders) == 3 and all((f / CLAIM).is_file() for f in folders)


# ------------------------------------------------------------------ resume refuses damage
@pytest.fixture()
def interrupted(tmp_path: Path) -> Path:
    """A run folder of 3 replications that stopped after replications 0 and 1."""
    scenario = tiny()
    folder = new_run_dir(scenario.name, tmp_path / "run")
    write_run_request(folder, scenario, SEED, 3)
    run_replications(scenario, [0, 1], SEED, store=CheckpointStore(folder, scenario, SEED))
    return folder


def resume(folder: Path) -> object:
    return CliRunner().invoke(main, ["run", "--resume", str(folder), "--quiet", "--workers", "1"])


def checkpoint(folder: Path, replication: int = 1) -> Path:
    return folder / "checkpoints" / "main" / f"rep-{replication:05d}.npz"


class Payload:
    """A pickle that would create ``marker`` when loaded."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[object, tuple[str, str]]:
        return (Path.write_text, (str(self.marker), "code ran"))  # type: ignore[return-value]


def _truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def _other_seed(path: Path) -> None:
    CheckpointStore(path.parent.parent.parent, tiny(), SEED + 1).save(run_replication(tiny(), SEED + 1, 1))


def _other_scenario(path: Path) -> None:
    other = tiny(p1_capacity=11)
    CheckpointStore(path.parent.parent.parent, other, SEED).save(run_replication(other, SEED, 1))


def _wrong_replication(path: Path) -> None:
    shutil.copy(checkpoint(path.parent.parent.parent, 0), path)


DAMAGE = {
    "truncated": (_truncate, "damaged"),
    "zero-byte": (lambda p: p.write_bytes(b""), "damaged"),
    "garbage": (lambda p: p.write_bytes(os.urandom(5000)), "damaged"),
    "other seed": (_other_seed, "seed"),
    "other scenario": (_other_scenario, "scenario_digest"),
    "another replication's file": (_wrong_replication, "replication"),
}


@pytest.mark.parametrize("case", list(DAMAGE))
def test_resume_refuses_a_bad_checkpoint_and_reruns_it_once_moved_away(interrupted: Path, case: str) -> None:
    damage, why = DAMAGE[case]
    path = checkpoint(interrupted)
    damage(path)
    one_error_line(resume(interrupted), str(path), why, "move the file away and the replication is re-run")
    assert not (interrupted / "summary.json").exists()
    if case == "other seed":  # the recovery the message gives, and the result equals an uninterrupted run
        path.rename(interrupted / "moved-away.npz")
        assert resume(interrupted).exit_code == 0
        fresh = new_run_dir("x", interrupted.parent / "fresh")
        write_run_request(fresh, tiny(), SEED, 3)
        assert resume(fresh).exit_code == 0
        for name in ("summary.json", "replications.csv", "daily.csv", "monthly.csv", "monthly_delays.csv"):
            assert (interrupted / name).read_bytes() == (fresh / name).read_bytes(), name


@pytest.mark.parametrize("name", ["rep-00001.pkl", "rep-00001.npz", "evil"])
def test_a_crafted_pickle_never_runs(interrupted: Path, tmp_path: Path, name: str) -> None:
    """Reproduced: a crafted pickle in checkpoints/ ran code on --resume."""
    marker = tmp_path / "pwned"
    target = interrupted / "checkpoints" / "main" / name
    checkpoint(interrupted).unlink()
    target.write_bytes(pickle.dumps(Payload(marker)))
    one_error_line(resume(interrupted), str(target), "move the file away")
    assert not marker.exists()


def test_a_pickled_array_inside_a_checkpoint_never_runs(interrupted: Path, tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    target = checkpoint(interrupted)
    with target.open("wb") as handle:
        np.savez(handle, header=np.array([Payload(marker)], dtype=object))  # allow_pickle is on when writing
    one_error_line(resume(interrupted), str(target), "damaged checkpoint", "move the file away")
    assert not marker.exists()


RUN_FOLDER_DAMAGE = {
    "run.json not JSON": (lambda f: (f / "run.json").write_text("{broken"), "run.json", "unreadable"),
    "run.json without seed": (lambda f: (f / "run.json").write_text('{"replications": 3}'), "run.json", "seed"),
    "run.json a list": (lambda f: (f / "run.json").write_text("[1, 2]"), "run.json", "JSON object"),
    "run.json of another version": (
        lambda f: (f / "run.json").write_text((f / "run.json").read_text().replace('"d2asim_version": "',
                                                                                   '"d2asim_version": "0.0.1-')),
        "run.json", "started with d2asim 0.0.1-"),
    "run.json binary": (lambda f: (f / "run.json").write_bytes(b"\xff\xfe\x00"), "run.json", "unreadable"),
    "scenario.yaml missing": (lambda f: (f / "scenario.yaml").unlink(), "scenario.yaml", "not found"),
    "scenario.yaml edited": (
        lambda f: (f / "scenario.yaml").write_text((f / "scenario.yaml").read_text().replace("capacity: 10",
                                                                                             "capacity: 12")),
        "scenario.yaml", "changed since the run started"),
    "scenario.yaml garbage": (lambda f: (f / "scenario.yaml").write_text("a: [b"), "scenario.yaml", "YAML"),
}


@pytest.mark.parametrize("case", list(RUN_FOLDER_DAMAGE))
def test_resume_refuses_a_damaged_run_folder(interrupted: Path, case: str) -> None:
    damage, file, why = RUN_FOLDER_DAMAGE[case]
    damage(interrupted)
    one_error_line(resume(interrupted), str(interrupted / file) if file != "-" else "", why)


def test_resume_of_a_folder_without_run_json(tmp_path: Path) -> None:
    one_error_line(resume(tmp_path), "not a d2asim run folder")


# ------------------------------------------------------------------ comparisons and sweeps
def _multi(tmp_path: Path, kind: str) -> tuple[Path, list[Scenario]]:
    scenarios = [tiny("base"), tiny("more", p1_capacity=12)]
    folder = new_run_dir(kind, tmp_path / kind)
    extra = {"points": [{"services.p1.capacity": 10}, {"services.p1.capacity": 12}]} if kind == "sweep" else None
    stores = start_multi(folder, kind, scenarios, ["a", "b"], SEED, 2, extra)
    stores[0].save(run_replication(scenarios[0], SEED, 0))
    return folder, scenarios


@pytest.mark.parametrize("kind", ["compare", "sweep"])
def test_multi_resume_refuses_a_checkpoint_of_another_seed(tmp_path: Path, kind: str) -> None:
    folder, scenarios = _multi(tmp_path, kind)
    CheckpointStore(folder / "b", scenarios[1], SEED + 1).save(run_replication(scenarios[1], SEED + 1, 1))
    result = CliRunner().invoke(main, [kind, "--resume", str(folder), "--quiet", "--workers", "1"])
    one_error_line(result, str(checkpoint(folder / "b")), "seed", "move the file away")


@pytest.mark.parametrize("kind", ["compare", "sweep"])
def test_multi_resume_refuses_an_edited_scenario(tmp_path: Path, kind: str) -> None:
    folder, _ = _multi(tmp_path, kind)
    path = folder / "a" / "scenario.yaml"
    path.write_text(path.read_text().replace("capacity: 10", "capacity: 30"))
    result = CliRunner().invoke(main, [kind, "--resume", str(folder), "--quiet", "--workers", "1"])
    one_error_line(result, str(path), "changed since the run started")


@pytest.mark.parametrize("subfolders", [["../../etc", "b"], ["a"], "a"])
def test_multi_resume_refuses_damaged_subfolders(tmp_path: Path, subfolders: object) -> None:
    folder, _ = _multi(tmp_path, "compare")
    request = json.loads((folder / "run.json").read_text())
    (folder / "run.json").write_text(json.dumps({**request, "subfolders": subfolders}))
    result = CliRunner().invoke(main, ["compare", "--resume", str(folder), "--quiet", "--workers", "1"])
    one_error_line(result, str(folder / "run.json"))


@pytest.mark.parametrize("points", [[{"services.p1.capacity": 12}, {"services.p1.capacity": 10}],
                                    [{"services.p1.capacity": 10}], [{"services.p1.capacity": 10}, "x"]])
def test_sweep_resume_refuses_points_that_do_not_match_the_scenarios(tmp_path: Path, points: object) -> None:
    folder, _ = _multi(tmp_path, "sweep")
    request = json.loads((folder / "run.json").read_text())
    (folder / "run.json").write_text(json.dumps({**request, "points": points}))
    result = CliRunner().invoke(main, ["sweep", "--resume", str(folder), "--quiet", "--workers", "1"])
    one_error_line(result, str(folder / "run.json"), "points")


@pytest.mark.parametrize("kind", ["compare", "sweep"])
def test_multi_resume_completes_from_good_checkpoints(tmp_path: Path, kind: str) -> None:
    folder, _ = _multi(tmp_path, kind)
    result = CliRunner().invoke(main, [kind, "--resume", str(folder), "--quiet", "--workers", "1"])
    assert result.exit_code == 0, result.output
    assert len(list((folder / "b" / "checkpoints" / "main").glob("rep-*.npz"))) == 2
