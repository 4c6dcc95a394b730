"""Experiments: common random numbers, parallel = serial, Dask, resume, sweeps,
capacity search, warm-up and --reps auto."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from helpers import build, lognormal, scenario_dict, start_run_with_two_workers

from d2asim.experiments.capacity import CapacitySearch, Target, capacity_needed
from d2asim.experiments.checkpoint import CheckpointStore
from d2asim.experiments.compare import compare, run_scenarios
from d2asim.experiments.executor import Backend
from d2asim.experiments.precision import PrecisionRule, replicate_until_precise
from d2asim.experiments.sweep import grid_points, parse_set, sweep
from d2asim.experiments.warmup import mser5
from d2asim.runner import run_replications
from d2asim.scenario.loader import with_overrides
from d2asim.scenario.schema import Scenario
from d2asim.summary import mean_ci

COMPARISON_COLUMNS = ["option", "metric", "baseline", "option_value", "difference", "ci_low", "ci_high"]


def small(p1_capacity: int = 22, **extra: object) -> Scenario:
    """A small congested trust: 12 admissions a day, 30% need reablement (P1)."""
    data = scenario_dict(
        per_day=12.0,
        beds=90,
        ttr=lognormal(5.0, 4.0),
        shares={"P0": 0.7, "P1": 0.3, "P2": 0.0, "P3": 0.0},
        settings={"P1": {"service": "p1"}},
        services={"p1": {"capacity": p1_capacity, "duration_days": lognormal(6.0, 4.0)}},
        warmup_days=30,
        duration_days=120,
        population={"adults_18plus": 150_000},
        **extra,
    )
    return build(data)


def _crn_ratio(base: Scenario, option: Scenario, reps: int = 12) -> tuple[float, dict[str, float]]:
    """(independent / paired CI half-width, paired CI) of acute bed days saved."""
    table, runs = compare(base, [option], replications=reps, seed=11)
    saved = table[table.metric == "bed_days_saved"].iloc[0]
    independent = run_replications(option, reps, seed=999).metrics_table()["acute_bed_days"].to_numpy()
    ind = mean_ci(runs[0].metrics_table()["acute_bed_days"].to_numpy() - independent)
    ratio = (ind["ci_high"] - ind["ci_low"]) / (saved.ci_high - saved.ci_low)
    return float(ratio), {"mean": saved.difference, "ci_low": saved.ci_low, "ci_high": saved.ci_high}


def test_common_random_numbers_narrow_the_paired_interval() -> None:
    """Bed days saved by D2A on P1 (a 3-day assessment moves from the ward to home):
    the paired CI on common random numbers is much narrower than the CI from
    independent streams. A capacity option at 75-85% utilisation gains less,
    because the delays it removes vary a lot between replications."""
    on_ward = with_overrides(small(40), {"pathways.settings.P1.assessment": {"mode": "on_ward",
                                                                              "delay_days": lognormal(3.0, 2.0)}})
    d2a = with_overrides(on_ward, {"pathways.settings.P1.assessment.mode": "d2a", "name": "d2a"})
    ratio, saved = _crn_ratio(on_ward, d2a)
    capacity_ratio, _ = _crn_ratio(small(26), small(30, name="p1_30"))
    print(f"CRN half-width ratio (independent / paired): D2A {ratio:.1f}, +4 P1 places {capacity_ratio:.1f}")
    assert ratio > 3.0
    assert capacity_ratio > 1.0
    assert saved["ci_low"] > 0


def test_comparison_table_contract() -> None:
    table, _ = compare(small(22), [small(30)], replications=3, seed=2)
    assert list(table.columns[:7]) == COMPARISON_COLUMNS
    row = table[table.metric == "delayed_bed_days"].iloc[0]
    assert row.difference == pytest.approx(row.option_value - row.baseline)
    saved = table[table.metric == "bed_days_saved"].iloc[0]
    bed_days = table[table.metric == "acute_bed_days"].iloc[0]
    assert saved.difference == pytest.approx(-bed_days.difference)


def _frames_equal(a: list, b: list) -> None:
    for ra, rb in zip(a, b, strict=True):
        pd.testing.assert_frame_equal(ra.metrics_table(), rb.metrics_table())
        pd.testing.assert_frame_equal(ra.daily_table(), rb.daily_table())


def test_results_do_not_depend_on_workers() -> None:
    scenarios = [small(20), small(24)]
    serial = run_scenarios(scenarios, 4, 7, Backend(workers=1, progress=False))
    parallel = run_scenarios(scenarios, 4, 7, Backend(workers=2, progress=False))
    _frames_equal(serial, parallel)


def test_dask_local_cluster_matches_serial() -> None:
    distributed = pytest.importorskip("dask.distributed")
    base = small(22)
    serial_table, _ = sweep(base, {"services.p1.capacity": [18, 26]}, 3, 5)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        backend = Backend(dask_address=cluster.scheduler_address, progress=False)
        dask_table, _ = sweep(base, {"services.p1.capacity": [18, 26]}, 3, 5, backend)
    pd.testing.assert_frame_equal(serial_table, dask_table)


def test_resume_after_partial_run_equals_uninterrupted(tmp_path: Path) -> None:
    scenario = small(22)
    store = CheckpointStore(tmp_path, scenario, 3)
    run_replications(scenario, [0, 2], 3, store=store)  # an interrupted run kept reps 0 and 2
    assert sorted(store.load_all()) == [0, 2]
    resumed = run_replications(scenario, 5, 3, Backend(workers=2, progress=False), store)
    fresh = run_replications(scenario, 5, 3)
    _frames_equal([resumed], [fresh])


def _write_scenario(tmp_path: Path, scenario: Scenario, duration: int) -> Path:
    from d2asim.scenario.loader import scenario_to_dict

    data = scenario_to_dict(with_overrides(scenario, {"run.duration_days": duration}))
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def test_ctrl_c_keeps_finished_replications_and_resume_completes(tmp_path: Path) -> None:
    """A real interrupted CLI run: SIGINT after the first checkpoints, then --resume;
    the output files equal those of an uninterrupted run."""
    scenario_file = _write_scenario(tmp_path, small(22), duration=400)
    interrupted, fresh = tmp_path / "interrupted", tmp_path / "fresh"
    reps = 60  # enough that the run is still going when the signal lands, even on a loaded machine
    cmd = [sys.executable, "-m", "d2asim", "run", str(scenario_file), "--reps", str(reps), "--seed", "4", "--quiet"]
    proc = subprocess.Popen([*cmd, "--out", str(interrupted), "--workers", "1"], stderr=subprocess.PIPE, text=True)
    checkpoints = interrupted / "checkpoints" / "main"
    deadline = time.time() + 120
    while time.time() < deadline and len(list(checkpoints.glob("rep-*.npz"))) < 2:
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    kept = len(list(checkpoints.glob("rep-*.npz")))
    assert proc.returncode == 130, err
    assert "--resume" in err and "Traceback" not in err
    assert 2 <= kept < reps
    assert not (interrupted / "summary.json").exists()
    subprocess.run([sys.executable, "-m", "d2asim", "run", "--resume", str(interrupted), "--quiet"], check=True,
                   capture_output=True)
    subprocess.run([*cmd, "--out", str(fresh), "--workers", "2"], check=True, capture_output=True)
    for name in ("summary.json", "replications.csv", "daily.csv", "monthly.csv", "monthly_delays.csv"):
        assert (interrupted / name).read_bytes() == (fresh / name).read_bytes(), name


def _children(pid: int) -> list[int]:
    kids = []
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            fields = dict(line.split(":\t", 1) for line in status.read_text().splitlines() if ":\t" in line)
        except OSError:
            continue
        if fields.get("PPid", "").strip() == str(pid):
            kids.append(int(status.parent.name))
    return kids


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs Linux /proc to find worker processes")
def test_killed_worker_keeps_finished_replications(tmp_path: Path) -> None:
    scenario_file = _write_scenario(tmp_path, small(22), duration=400)
    out = tmp_path / "killed"
    reps = 120  # enough that the run is still going when the worker is killed, even on a loaded machine
    proc = start_run_with_two_workers(scenario_file, out, reps)
    workers = [k for k in _children(proc.pid) if k != proc.pid]
    assert workers, "no worker processes found"
    os.kill(workers[-1], signal.SIGKILL)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 1, err
    assert "worker process died" in err and "--resume" in err and "Traceback" not in err
    kept = len(list((out / "checkpoints" / "main").glob("rep-*.npz")))
    assert 2 <= kept < reps
    done = subprocess.run([sys.executable, "-m", "d2asim", "run", "--resume", str(out), "--quiet"],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert json.loads((out / "summary.json").read_text())["replications"] == reps


def test_resume_refuses_a_complete_run(tmp_path: Path) -> None:
    scenario_file = _write_scenario(tmp_path, small(22), duration=60)
    out = tmp_path / "done"
    subprocess.run([sys.executable, "-m", "d2asim", "run", str(scenario_file), "--reps", "1", "--out", str(out),
                    "--quiet"], check=True, capture_output=True)
    resume = [sys.executable, "-m", "d2asim", "run", "--resume", str(out)]
    again = subprocess.run(resume, capture_output=True, text=True)
    assert again.returncode == 2
    assert again.stderr.strip().count("\n") == 0 and "already complete" in again.stderr


def test_sweep_grid_and_parse() -> None:
    grid = parse_set(["services.p1.capacity=18,26", "acute.beds=80,100"])
    assert grid == {"services.p1.capacity": [18, 26], "acute.beds": [80, 100]}
    points = grid_points(grid)
    assert points[1] == {"services.p1.capacity": 18, "acute.beds": 100} and len(points) == 4
    table, _ = sweep(small(22), {"services.p1.capacity": [14, 22, 40]}, 4, 1)
    delayed = table["delayed_bed_days_mean"].to_numpy()
    assert list(table["services.p1.capacity"]) == [14, 22, 40]
    assert delayed[0] > delayed[1] > delayed[2]
    assert (table["delayed_bed_days_ci_low"] <= table["delayed_bed_days_mean"]).all()


def test_capacity_needed_is_the_smallest_meeting_the_target() -> None:
    """Bisection agrees with an exhaustive scan on the same common random numbers."""
    base = small(22)
    target = Target.parse("dtoc_beds_per_day<=1.0")
    search = CapacitySearch(base, "p1", target, replications=4, seed=3)
    answer = capacity_needed(search)
    by_mean, by_ci = answer["by_mean"], answer["by_ci"]
    assert isinstance(by_mean, int) and isinstance(by_ci, int) and by_ci >= by_mean
    table, _ = sweep(base, {"services.p1.capacity": list(range(by_mean - 3, by_mean + 1))}, 4, 3)
    means = table["dtoc_beds_per_day_mean"].to_numpy()
    assert means[-1] <= 1.0 and (means[:-1] > 1.0).all()
    assert answer["unlimited"]["mean"] <= means[-1]  # type: ignore[index]


def test_target_parsing_rejects_nonsense() -> None:
    from d2asim.scenario.errors import ScenarioError

    with pytest.raises(ScenarioError):
        Target.parse("dtoc_rate is low")


def test_mser5_finds_a_known_transient() -> None:
    rng = np.random.default_rng(0)
    days = np.arange(400)
    series = 100 - 60 * np.exp(-days / 15.0) + rng.normal(0, 1.0, days.size)
    cut = mser5(series)
    assert 40 <= cut <= 120  # the transient decays below the noise after 45-70 days
    assert mser5(100 + rng.normal(0, 1.0, 400)) <= 20  # no transient: little or nothing cut


def test_reps_auto_is_deterministic_and_meets_precision() -> None:
    rule = PrecisionRule("acute_bed_days", relative=0.015, max_reps=40)  # reached at 20 reps
    one, achieved_one = replicate_until_precise(small(30), 8, rule)
    two, achieved_two = replicate_until_precise(small(30), 8, rule, Backend(workers=2, progress=False))
    assert len(one.replications) == len(two.replications)
    assert achieved_one == achieved_two
    assert 10 < len(one.replications) < 40  # needed more than the first batch, stopped by the rule
    assert achieved_one <= 0.015


def test_summary_json_of_compare_cli(tmp_path: Path) -> None:
    base = _write_scenario(tmp_path, small(22), duration=60)
    option = tmp_path / "option.yaml"
    option.write_text(yaml.safe_dump({"name": "more_p1", "extends": "s.yaml", "services": {"p1": {"capacity": 30}}}))
    out = tmp_path / "cmp"
    done = subprocess.run([sys.executable, "-m", "d2asim", "compare", str(base), str(option), "--reps", "3",
                           "--seed", "1", "--out", str(out), "--quiet"], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    table = pd.read_csv(out / "comparison.csv")
    assert list(table.columns[:7]) == COMPARISON_COLUMNS
    assert "bed_days_saved" in set(table.metric)
    assert "distinguishable from zero" in done.stdout
    summary = json.loads((out / "more_p1" / "summary.json").read_text())
    assert summary["scenario"] == "more_p1" and summary["replications"] == 3
    # the saved scenario is self-contained (extends resolved) and reproduces the option's run
    again = tmp_path / "again"
    rerun = subprocess.run([sys.executable, "-m", "d2asim", "run", str(out / "more_p1" / "scenario.yaml"), "--reps",
                            "3", "--seed", "1", "--out", str(again), "--quiet"], capture_output=True, text=True)
    assert rerun.returncode == 0, rerun.stderr
    assert json.loads((again / "summary.json").read_text())["metrics"] == summary["metrics"]
