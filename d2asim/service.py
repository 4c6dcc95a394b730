"""The service layer: every command that runs the model is a library function here
that writes a run folder. The command line (``d2asim.cli``), the Python API and the
web app are thin callers, so the same scenario and seed give byte-identical folders
whichever of them asked.

A job is made in two steps, so that a caller knows the folder before any
replication runs (the command line names it when interrupted): ``plan_*`` (or
:func:`reopen` for ``--resume``) creates the folder and writes the request; then
:func:`run_job` runs the replications and writes every result file.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import pandas as pd

from d2asim.experiments.capacity import CapacitySearch, Target, capacity_needed
from d2asim.experiments.checkpoint import CheckpointStore, read_run_request, write_run_request
from d2asim.experiments.compare import compare, run_scenarios
from d2asim.experiments.executor import Backend
from d2asim.experiments.folders import finish_multi, read_multi, start_multi
from d2asim.experiments.optimise import Optimiser, optimise, read_folder, start_folder
from d2asim.experiments.optimise_space import Request, check_request
from d2asim.experiments.precision import PrecisionRule, replicate_until_precise
from d2asim.experiments.sweep import grid_points, point_scenarios, sweep_table
from d2asim.run_folder import new_run_dir, safe_name, summary_document, write_run
from d2asim.runner import RunResult, run_replications
from d2asim.scenario.errors import ScenarioError
from d2asim.scenario.schema import Scenario

Kind = Literal["run", "compare", "sweep"]
OUTPUT_TABLE = {"compare": "comparison.csv", "sweep": "sweep.csv"}


@dataclass
class Job:
    """One planned run, comparison or sweep and its folder. ``replications`` is a
    number or ``"auto"`` (runs only); ``points`` are a sweep's field values."""

    kind: Kind
    folder: Path
    scenarios: list[Scenario]
    replications: int | str
    seed: int
    subfolders: list[str] = field(default_factory=list)
    points: list[dict[str, Any]] = field(default_factory=list)

    @property
    def resume_command(self) -> str:
        return f"d2asim {self.kind} --resume {self.folder}"


@dataclass(frozen=True)
class Outcome:
    """What a finished job wrote: ``runs`` (one per scenario), ``summary``
    (summary.json of a run; empty for a comparison or sweep) or ``table``
    (comparison.csv or sweep.csv; empty for a run)."""

    job: Job
    runs: list[RunResult]
    summary: dict[str, Any] = field(default_factory=dict)
    table: pd.DataFrame = field(default_factory=pd.DataFrame)


def plan_run(scenario: Scenario, replications: int | str, seed: int, out: Path | None) -> Job:
    """A new run folder (``out`` or ``outputs/NAME-TIME``) with its request written."""
    folder = new_run_dir(scenario.name, out)
    write_run_request(folder, scenario, seed, replications)
    return Job("run", folder, [scenario], replications, seed)


def plan_compare(baseline: Scenario, options: Sequence[Scenario], replications: int, seed: int,
                 out: Path | None) -> Job:
    """A new comparison folder: a sub-folder per scenario (baseline first)."""
    scenarios = [baseline, *options]
    subs = unique_names([safe_name(s.name) for s in scenarios])
    folder = new_run_dir("compare", out)
    start_multi(folder, "compare", scenarios, subs, seed, replications)
    return Job("compare", folder, scenarios, replications, seed, subs)


def plan_sweep(base: Scenario, grid: Mapping[str, Sequence[Any]], replications: int, seed: int,
               out: Path | None, source: str) -> Job:
    """A new sweep folder: a sub-folder ``point-NNN`` per combination of ``grid``
    (bad values name ``source``, the field and the point)."""
    points = grid_points(grid)
    scenarios = point_scenarios(base.model_copy(update={"sweep": None}), points, source)
    subs = [f"point-{i:03d}" for i in range(len(points))]
    folder = new_run_dir(f"sweep-{safe_name(base.name)}", out)
    start_multi(folder, "sweep", scenarios, subs, seed, replications, {"points": points})
    return Job("sweep", folder, scenarios, replications, seed, subs, points)


def reopen(folder: Path, kind: Kind) -> Job:
    """The job of an interrupted folder (``--resume``), as it was asked."""
    if kind == "run":
        scenario, request = read_run_request(folder)
        wanted = request["replications"]
        return Job("run", folder, [scenario], wanted if wanted == "auto" else int(wanted), request["seed"])
    request, scenarios, _ = read_multi(folder, kind)
    return Job(kind, folder, scenarios, request["replications"], request["seed"], request["subfolders"],
               request.get("points", []))


def run_job(job: Job, backend: Backend, rule: PrecisionRule | None = None) -> Outcome:
    """Run (or finish) ``job``'s replications, keeping each as it finishes, and write
    its result files. ``rule``: the stopping rule of a run with ``replications="auto"``."""
    if job.kind == "run":
        result, summary = _finish_run(job, backend, rule)
        return Outcome(job, [result], summary=summary)
    stores = [CheckpointStore(job.folder / sub, scenario, job.seed)
              for scenario, sub in zip(job.scenarios, job.subfolders, strict=True)]
    reps = int(job.replications)
    if job.kind == "compare":
        table, runs = compare(job.scenarios[0], job.scenarios[1:], reps, job.seed, backend, stores)
    else:
        runs = run_scenarios(job.scenarios, reps, job.seed, backend, stores)
        table = sweep_table(job.points, runs)
    finish_multi(job.folder, runs, job.subfolders)
    table.to_csv(job.folder / OUTPUT_TABLE[job.kind], index=False, float_format="%.6g")
    return Outcome(job, runs, table=table)


def _finish_run(job: Job, backend: Backend, rule: PrecisionRule | None) -> tuple[RunResult, dict[str, Any]]:
    scenario = job.scenarios[0]
    store = CheckpointStore(job.folder, scenario, job.seed)
    extra: dict[str, Any] = {}
    if job.replications == "auto":
        if rule is None:
            raise ScenarioError([f"{job.folder}: replications 'auto' needs a precision rule"])
        result, achieved = replicate_until_precise(scenario, job.seed, rule, backend, store)
        extra["stopping_rule"] = {"metric": rule.metric, "target_relative_half_width": rule.relative,
                                  "achieved_relative_half_width": achieved, "max_reps": rule.max_reps}
    else:
        result = run_replications(scenario, int(job.replications), job.seed, backend, store)
    write_run(result, job.folder, extra)
    return result, summary_document(result, extra)


def find_capacity(base: Scenario, service: str, target: Target, replications: int, seed: int,
                  out: Path | None, backend: Backend) -> tuple[dict[str, object], Path]:
    """The smallest capacity of ``service`` meeting ``target`` (see
    :func:`d2asim.experiments.capacity.capacity_needed`) and the folder holding
    ``capacity_search.csv`` (every capacity tried)."""
    search = CapacitySearch(base, service, target, replications, seed, backend)
    answer = capacity_needed(search)
    folder = new_run_dir(f"capacity-{safe_name(base.name)}-{service}", out)
    search.table().to_csv(folder / "capacity_search.csv", index=False, float_format="%.6g")
    return answer, folder


def plan_optimise(base: Scenario, request: Request, out: Path | None, source: str) -> Path:
    """A new optimise folder with its request written; bad input is refused before the
    folder is made (see :func:`d2asim.experiments.optimise_space.check_request`)."""
    check_request(request, base)
    folder = new_run_dir(f"optimise-{safe_name(base.name)}", out)
    start_folder(folder, base, request, source)
    return folder


def run_optimise(folder: Path, backend: Backend, report: bool = True,
                 on_progress: Any = None) -> tuple[Optimiser, dict[str, Any]]:
    """Run (or finish: every kept replication is read back) the optimisation recorded in
    ``folder``; writes optimise.csv, frontier.csv, best.json and, with ``report``, the
    frontier chart and report.md/report.html."""
    base, request = read_folder(folder)
    opt, best = optimise(base, request, folder, backend, on_progress or (lambda _text: None))
    if report:
        from d2asim.report.optimise_report import build_optimise_report

        build_optimise_report(folder)
    return opt, best


def unique_names(names: list[str]) -> list[str]:
    """``names`` with repeats numbered (``d2a``, ``d2a-2``)."""
    seen: dict[str, int] = {}
    out = []
    for name in names:
        seen[name] = seen.get(name, 0) + 1
        out.append(name if seen[name] == 1 else f"{name}-{seen[name]}")
    return out
