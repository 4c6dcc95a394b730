"""d2asim optimise: the exact budget, never choosing a mix over it, the frontier, KN
selection on constructed cases, resume, and bad input."""

from __future__ import annotations

import json
from collections.abc import Hashable, Iterable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml
from click.testing import CliRunner
from helpers import build, lognormal, scenario_dict
from scipy import stats

from d2asim import __version__
from d2asim.cli import main
from d2asim.experiments.optimise import YEAR_DAYS, Request, annual_commissioning_cost, parse_vary
from d2asim.experiments.selection import KN, probability_best
from d2asim.runner import OnResult, ReplicationResult, Task, execute, run_replication
from d2asim.scenario.errors import ScenarioError
from d2asim.scenario.loader import with_overrides
from d2asim.scenario.schema import Scenario
from d2asim.service import plan_optimise, run_optimise

P1_PRICE, P2_PRICE = 100.0, 150.0
VARY = ["services.p1.capacity=6:16", "services.p2.capacity=4:12"]
BUDGET = 850_000.0  # the all-HI corner (16, 12) costs 1.24m: over budget


def tiny_data(duration_days: int = 60) -> dict[str, Any]:
    """6 admissions a day; P1 (block price 100 a place a day) and P2 (150) for 30% and 20%."""
    return scenario_dict(
        per_day=6.0, beds=60, ttr=lognormal(4.0, 3.0),
        shares={"P0": 0.5, "P1": 0.3, "P2": 0.2, "P3": 0.0},
        settings={"P1": {"service": "p1"}, "P2": {"service": "p2"}},
        services={"p1": {"capacity": 10, "duration_days": lognormal(6.0, 4.0), "cost_per_place_per_day_gbp": P1_PRICE},
                  "p2": {"capacity": 8, "duration_days": lognormal(5.0, 3.0), "cost_per_place_per_day_gbp": P2_PRICE}},
        warmup_days=20, duration_days=duration_days, name="tiny",
    )


def tiny() -> Scenario:
    return build(tiny_data())


def request(base: Scenario, **changes: Any) -> Request:
    fields: dict[str, Any] = {"variables": parse_vary(VARY, base), "budget_gbp_per_year": BUDGET,
                              "objective": "delayed_bed_days", "maximise": False, "constraints": [],
                              "replications": 3, "seed": 7, "trials": 6, "batch": 3, "top": 3, "max_reps": 6}
    fields.update(changes)
    return Request(**fields)


@pytest.fixture(scope="module")
def finished(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One small optimisation, run to the end (serially)."""
    base = tiny()
    folder = plan_optimise(base, request(base), tmp_path_factory.mktemp("opt") / "run", "tiny")
    run_optimise(folder, None)  # type: ignore[arg-type]
    return folder


# ---------------------------------------------------------------- the budget
def test_annual_cost_is_the_simulated_commissioning_cost_scaled_to_a_year() -> None:
    """Deterministic cost = commissioning_cost_gbp of a replication x 365.25 / duration, schedules followed."""
    data = tiny_data(duration_days=90)
    data["run"]["start_date"] = "2025-04-01"
    data["services"]["p1"]["capacity"] = {"base": 10, "changes": [{"from": "2025-05-01", "value": 14}]}
    scenario = build(data)
    simulated = run_replication(scenario, 1, 0).metrics["commissioning_cost_gbp"]
    assert annual_commissioning_cost(scenario) == pytest.approx(simulated * YEAR_DAYS / 90, rel=1e-12)
    places_days = 10 * 30 + 14 * 60  # April at 10 places, May-June at 14
    expected = (places_days * P1_PRICE + 8 * 90 * P2_PRICE) * YEAR_DAYS / 90
    assert annual_commissioning_cost(scenario) == pytest.approx(expected, rel=1e-12)


def test_every_mix_is_costed_exactly_and_none_over_budget_is_simulated_or_chosen(finished: Path) -> None:
    table = pd.read_csv(finished / "optimise.csv")
    best = json.loads((finished / "best.json").read_text())
    exact = (table["services.p1.capacity"] * P1_PRICE + table["services.p2.capacity"] * P2_PRICE) * YEAR_DAYS
    np.testing.assert_allclose(table["cost_gbp_per_year"], exact, rtol=1e-6)  # written with 6 significant digits
    assert (table["cost_gbp_per_year"] <= BUDGET).all()
    assert best["search"]["over_budget_proposals_not_simulated"] >= 1  # the all-HI corner at least
    mixes = sorted(p.name for p in finished.glob("mix-*"))
    assert sorted(["current", *mixes]) == sorted(table["mix"])  # nothing else was simulated
    assert table["mix"].iloc[0] == "current"  # the scenario's own mix (10, 8: £803,588) is a candidate too
    chosen = best["chosen"]
    p1, p2 = chosen["variables"]["services.p1.capacity"], chosen["variables"]["services.p2.capacity"]
    assert chosen["cost_gbp_per_year"] == pytest.approx((p1 * P1_PRICE + p2 * P2_PRICE) * YEAR_DAYS, rel=1e-12)
    assert chosen["cost_gbp_per_year"] <= BUDGET
    assert chosen["mix"] in best["selection"]["candidates"]


def test_frontier_is_monotone_and_no_simulated_mix_beats_it_for_less(finished: Path) -> None:
    table = pd.read_csv(finished / "optimise.csv")
    frontier = pd.read_csv(finished / "frontier.csv")
    assert list(frontier.columns) == ["cost_gbp_per_year", "objective_mean", "ci_low", "ci_high",
                                      "services.p1.capacity", "services.p2.capacity"]
    assert frontier["cost_gbp_per_year"].is_monotonic_increasing
    assert (np.diff(frontier["objective_mean"]) < 0).all()  # more money buys a better best mean
    for _, point in frontier.iterrows():  # on the common replications, no mix as cheap does better
        cheaper = table[(table["cost_gbp_per_year"] <= point["cost_gbp_per_year"]) & table["feasible"]]
        assert (cheaper["common_mean"] >= point["objective_mean"]).all()
        assert point["objective_mean"] in set(cheaper["common_mean"])
    assert (finished / "charts" / "frontier.png").is_file() and (finished / "charts" / "frontier.svg").is_file()
    report = (finished / "report.md").read_text()
    assert "a year (budget £850k)" in report and "KN fully sequential procedure" in report


def test_optimise_csv_columns(finished: Path) -> None:
    table = pd.read_csv(finished / "optimise.csv")
    assert list(table.columns[:10]) == ["mix", "services.p1.capacity", "services.p2.capacity", "cost_gbp_per_year",
                                        "objective_mean", "ci_low", "ci_high", "replications", "feasible",
                                        "in_selection"]
    assert (table["replications"] >= 3).all() and table["in_selection"].sum() == 3
    assert list(table.columns[10:13]) == ["common_mean", "common_ci_low", "common_ci_high"]
    more = table[table["replications"] > 3]  # the selection stage's: common_* are their first 3 replications
    assert len(more) and (more["common_mean"] != more["objective_mean"]).all()


# ------------------------------------------------------------- selection (KN)
def _kn_run(means: np.ndarray, sd: float, shared_sd: float, kn: KN, rng: np.random.Generator, cap: int) -> np.ndarray:
    """KN on normal candidates with a shared (common-random-number) noise term; survivors."""
    k = len(means)
    shared = rng.normal(0, shared_sd, cap)
    data = means[:, None] + shared[None, :] + rng.normal(0, sd, (k, cap))
    alive = kn.screen(data, np.ones(k, dtype=bool), kn.n0, kn.n0)
    r = kn.n0
    limit = min(cap, kn.last_stage(data))
    while alive.sum() > 1 and r < limit:
        alive = kn.screen(data, alive, r + 1, r + 1)
        r += 1
    return alive


def test_kn_selects_the_best_at_least_as_often_as_it_promises() -> None:
    """Best 0, four others delta worse (the slippage configuration): P(correct) >= 1 - alpha.
    Checked by the 99% upper confidence bound of the observed rate over 300 runs."""
    kn, rng = KN(n0=10, delta=1.0, alpha=0.05), np.random.default_rng(3)
    means = np.array([0.0, 1.0, 1.0, 1.0, 1.0])
    correct = 0
    for _ in range(300):
        alive = _kn_run(means, sd=2.0, shared_sd=5.0, kn=kn, rng=rng, cap=10_000)
        correct += int(alive.sum() == 1 and alive[0])
    upper = stats.beta.ppf(0.99, correct + 1, 300 - correct)  # Clopper-Pearson, one-sided
    assert upper >= 0.95, f"{correct}/300 correct"


def test_kn_reports_what_it_cannot_separate_and_bootstrap_shares_probability() -> None:
    """Two identical best candidates and one far worse: the worse one goes, the two stay to the cap."""
    kn, rng = KN(n0=5, delta=0.1, alpha=0.05), np.random.default_rng(4)
    cap = 40
    shared = rng.normal(0, 1, cap)
    data = np.vstack([shared, shared.copy(), shared + 50.0])
    alive = kn.screen(data, np.ones(3, dtype=bool), 5, cap)
    assert alive.tolist() == [True, True, False]
    p = probability_best(data[:, :cap], seed=1)
    assert p[2] == 0.0 and p[0] == pytest.approx(0.5) and p[1] == pytest.approx(0.5)


# ---------------------------------------------------------------------- resume
class StopAfter:
    """An executor that runs tasks in this process and stops (Ctrl-C) after ``n`` results."""

    def __init__(self, n: int) -> None:
        self.left = n

    def run(self, tasks: Iterable[Task], on_result: OnResult | None = None) -> dict[Hashable, ReplicationResult]:
        def counted(key: Hashable, result: ReplicationResult) -> None:
            if on_result is not None:
                on_result(key, result)
            self.left -= 1
            if self.left <= 0:
                raise KeyboardInterrupt

        return execute(list(tasks), None, counted)


def test_an_interrupted_optimisation_resumes_to_the_same_answer(finished: Path, tmp_path: Path) -> None:
    base = tiny()
    folder = plan_optimise(base, request(base), tmp_path / "run", "tiny")
    with pytest.raises(KeyboardInterrupt):
        run_optimise(folder, StopAfter(8), report=False)  # type: ignore[arg-type]
    kept = sorted(folder.glob("*/checkpoints/*/rep-*.npz"))
    assert len(kept) == 8 and not (folder / "best.json").exists()
    counter = StopAfter(10_000)
    run_optimise(folder, counter, report=False)  # type: ignore[arg-type]
    total = json.loads((finished / "best.json").read_text())["replications_used_with_current"]
    assert 10_000 - counter.left == total - 8  # only the missing replications ran
    for name in ("optimise.csv", "frontier.csv", "best.json"):
        assert (folder / name).read_text() == (finished / name).read_text()


def test_resume_refuses_a_mix_folder_of_another_mix(tmp_path: Path) -> None:
    base = tiny()
    folder = plan_optimise(base, request(base), tmp_path / "run", "tiny")
    with pytest.raises(KeyboardInterrupt):
        run_optimise(folder, StopAfter(4), report=False)  # type: ignore[arg-type]
    saved = folder / "mix-000" / "scenario.yaml"
    other = with_overrides(tiny(), {"services.p1.capacity": 15})
    saved.write_text(yaml.safe_dump(other.model_dump(mode="json", by_alias=True, exclude_none=True)))
    with pytest.raises(ScenarioError, match="mix-000/scenario.yaml: --resume: changed since the run started"):
        run_optimise(folder, None, report=False)  # type: ignore[arg-type]


# ------------------------------------------------------------------- bad input
@pytest.fixture()
def scenario_file(tmp_path: Path) -> Path:
    path = tmp_path / "tiny.yaml"
    path.write_text(yaml.safe_dump(tiny_data()))
    return path


@pytest.mark.parametrize(("args", "message"), [
    (["--vary", "services.p9.capacity=1:5"], "--vary services.p9.capacity: not a numeric field of the scenario"),
    (["--vary", "services.p1.capacity=9:5"], "--vary services.p1.capacity: LO must be at most HI"),
    (["--vary", "services.p1.capacity=5.5:9"], "a whole-number field: LO, HI and STEP must be whole"),
    (["--budget-gbp-per-year", "1000"], "--budget-gbp-per-year: £1,000 is below the cheapest mix in the ranges "
                                        "(£438,300 a year)"),
    (["--objective", "delayed_bed_dayz"], "--objective: unknown metric 'delayed_bed_dayz'"),
    (["--constraint", "dtoc_rate<=3"], "--constraint: unknown metric 'dtoc_rate'"),
    (["--constraint", "delayed_bed_days=3"], "--constraint: expected METRIC<=VALUE"),
])
def test_bad_input_is_one_line_and_exit_2(scenario_file: Path, tmp_path: Path, args: list[str], message: str) -> None:
    given = {"--vary": None, "--budget-gbp-per-year": "900000", "--objective": "delayed_bed_days"}
    argv = ["optimise", str(scenario_file), "--out", str(tmp_path / "out"), "--reps", "2", "--quiet"]
    if args[0] != "--vary":
        argv += ["--vary", VARY[0], "--vary", VARY[1]]
    for flag, value in given.items():
        if flag != args[0] and value is not None:
            argv += [flag, value]
    result = CliRunner().invoke(main, [*argv, *args])
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0], result.output
    assert not (tmp_path / "out").exists()  # refused before the folder is made


def test_fill_budget_simulates_only_mixes_no_further_step_fits(tmp_path: Path) -> None:
    base = tiny()
    folder = plan_optimise(base, request(base, fill_budget=True, trials=3, replications=2, max_reps=2),
                           tmp_path / "run", "tiny")
    run_optimise(folder, None, report=False)  # type: ignore[arg-type]
    table = pd.read_csv(folder / "optimise.csv")
    per_place = {"services.p1.capacity": (P1_PRICE, 16), "services.p2.capacity": (P2_PRICE, 12)}
    for _, row in table.iterrows():
        for field, (price, high) in per_place.items():
            assert row[field] == high or row["cost_gbp_per_year"] + price * YEAR_DAYS > BUDGET, row.to_dict()


def test_report_command_rebuilds_an_optimise_report(finished: Path) -> None:
    result = CliRunner().invoke(main, ["report", str(finished)])
    assert result.exit_code == 0, result.output
    assert "report.html" in result.output


def test_two_workers_and_dask_give_the_serial_answer(finished: Path, tmp_path: Path) -> None:
    """The batch, not the workers, fixes the sequence: a process pool and a Dask cluster
    write the same optimise.csv, frontier.csv and best.json as the serial run."""
    from d2asim.experiments.executor import Backend

    distributed = pytest.importorskip("dask.distributed")
    base = tiny()
    pool = plan_optimise(base, request(base), tmp_path / "pool", "tiny")
    run_optimise(pool, Backend(2, progress=False), report=False)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        on_dask = plan_optimise(base, request(base), tmp_path / "dask", "tiny")
        run_optimise(on_dask, Backend(dask_address=cluster.scheduler_address, progress=False), report=False)
    for name in ("optimise.csv", "frontier.csv", "best.json"):
        assert (pool / name).read_text() == (finished / name).read_text() == (on_dask / name).read_text()


def test_total_cost_is_commissioning_plus_delayed_acute_bed_days_a_year(tmp_path: Path) -> None:
    data = tiny_data()
    data["acute"]["bed_day_cost_gbp"] = 300.0
    data["acute"]["delayed_bed_day_cost_gbp"] = 346.0
    base = build(data)
    folder = plan_optimise(base, request(base, objective="total_cost", trials=3, replications=2, max_reps=2),
                           tmp_path / "run", "tiny")
    opt, best = run_optimise(folder, None, report=False)  # type: ignore[arg-type]
    mix = next(iter(opt.mixes.values()))
    for r in range(2):
        metrics = run_replication(mix.scenario, 7, r).metrics
        expected = (metrics["commissioning_cost_gbp"] + 346.0 * metrics["delayed_bed_days_acute"]) * YEAR_DAYS / 60
        assert mix.done[r]["total_cost"] == pytest.approx(expected, rel=1e-12)
    essential = best["economically_essential_delay"]
    assert essential["cost_minimising"]["mix"] == best["chosen"]["mix"]
    least = essential["least_delay"]["delayed_acute_bed_days_per_year"]["mean"]
    assert least <= essential["cost_minimising"]["delayed_acute_bed_days_per_year"]["mean"]


def test_resume_of_a_finished_or_foreign_folder_is_refused_in_one_line(finished: Path, tmp_path: Path) -> None:
    done = CliRunner().invoke(main, ["optimise", "--resume", str(finished)])
    assert done.exit_code == 2 and "already complete (best.json exists)" in done.output
    (tmp_path / "run.json").write_text(json.dumps({"kind": "sweep", "seed": 1, "replications": 2, "request": {},
                                                   "scenario_digest": "x", "d2asim_version": __version__}))
    other = CliRunner().invoke(main, ["optimise", "--resume", str(tmp_path)])
    assert other.exit_code == 2 and "holds a 'sweep', not an 'optimise'" in other.output, other.output
