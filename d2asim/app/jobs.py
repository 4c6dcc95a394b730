"""Runs for the web app: each in its own worker process (so a run never holds up the
server or another browser session), with progress, cancel and a cache.

The worker calls :mod:`d2asim.service`, as the command line does, so the app's run
folders are the command line's. Finished folders are cached by (kind, resolved
scenarios, seed, replications and the job's settings): asking again returns the same
folder at once.
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing as mp
import re
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from queue import Empty
from typing import Any

from d2asim.app.inputs import MAX_OPTIMISE_TRIALS, MAX_REPLICATIONS, new_folder
from d2asim.scenario.loader import scenario_to_dict

_CONTEXT = mp.get_context("spawn")  # a fresh interpreter: never a fork of the server's threads
_CACHE: dict[str, Path] = {}
_LOCK = threading.Lock()
_ROOT: list[Path] = []


class Cancelled(Exception):
    """Raised in the worker when the user pressed cancel."""


def runs_root() -> Path:
    """The server's folder for run folders (one per server, in its workspace)."""
    with _LOCK:
        if not _ROOT:
            _ROOT.append(new_folder("runs-"))
        return _ROOT[0]


def cache_key(kind: str, scenarios: list[dict[str, Any]], seed: int, replications: int,
              settings: dict[str, Any] | None = None) -> str:
    """A hash of everything that decides a job's results."""
    text = json.dumps({"kind": kind, "scenarios": scenarios, "seed": seed, "replications": replications,
                       "settings": settings or {}}, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass
class JobState:
    """What the page shows: ``status`` is running, done, cancelled or failed."""

    key: str
    kind: str
    status: str = "running"
    done: int = 0
    total: int = 0
    folder: Path | None = None
    result: dict[str, Any] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    note: str = ""  # the latest progress line (the optimiser's stage)
    cached: bool = False
    started: float = field(default_factory=time.time)
    _cancel: Any = None
    _process: Any = None

    @property
    def fraction(self) -> float:
        return self.done / self.total if self.total else 0.0

    def cancel(self) -> None:
        if self._cancel is not None and self.status == "running":
            self._cancel.set()


def start(kind: str, payload: dict[str, Any], seed: int, replications: int,
          settings: dict[str, Any] | None = None) -> JobState:
    """Start a job (or return the cached result): ``kind`` run, compare, sweep,
    capacity or optimise; ``payload['scenarios']`` the resolved scenario mappings (baseline first)."""
    key = cache_key(kind, payload["scenarios"], seed, replications, settings)
    with _LOCK:
        cached = _CACHE.get(key)
    if cached is not None and (cached / "done.json").is_file():
        result = json.loads((cached / "done.json").read_text())
        return JobState(key, kind, "done", 1, 1, cached, result, cached=True)
    folder = runs_root() / f"{kind}-{key[:12]}-{time.time_ns()}"
    queue = _CONTEXT.Queue()
    cancel = _CONTEXT.Event()
    job = JobState(key, kind, _cancel=cancel)
    process = _CONTEXT.Process(target=_work, args=(kind, payload, seed, replications, settings or {}, folder,
                                                   queue, cancel), daemon=True)
    process.start()
    job._process = process
    threading.Thread(target=_follow, args=(job, queue, folder), daemon=True).start()
    return job


def _follow(job: JobState, queue: Any, folder: Path) -> None:
    """Copy the worker's messages into ``job`` until it ends."""
    while True:
        try:
            message = queue.get(timeout=1.0)
        except Empty:  # nothing yet: check the worker is still alive
            if job._process is not None and not job._process.is_alive():
                job.status, job.errors = "failed", ["the worker process stopped unexpectedly"]
                return
            continue
        what = message[0]
        if what == "progress":
            job.done, job.total, job.note = message[1], message[2], message[3]
            continue
        job.folder = folder
        if what == "done":
            job.result = message[1]
            with _LOCK:
                _CACHE[job.key] = folder
            job.status = "done"
        elif what == "cancelled":
            job.status = "cancelled"
        else:
            job.status, job.errors = "failed", list(message[1])
        return


def _work(kind: str, payload: dict[str, Any], seed: int, replications: int, settings: dict[str, Any],
          folder: Path, queue: Any, cancel: Any) -> None:  # pragma: no cover - runs in the worker process
    from d2asim.scenario.errors import ScenarioError

    def listener(done: int, total: int, note: str = "") -> None:
        queue.put(("progress", done, total, note))
        if cancel.is_set():
            raise Cancelled

    try:
        result = run_payload(kind, payload, seed, replications, settings, folder, listener)
        (folder / "done.json").write_text(json.dumps(result, default=str))
        queue.put(("done", result))
    except Cancelled:
        queue.put(("cancelled",))
    except ScenarioError as exc:
        queue.put(("failed", exc.lines))
    except Exception as exc:  # a bug: say what, never a traceback on the page
        queue.put(("failed", [f"{type(exc).__name__}: {exc}"]))


def run_payload(kind: str, payload: dict[str, Any], seed: int, replications: int, settings: dict[str, Any],
                folder: Path, listener: Any = None) -> dict[str, Any]:
    """Run one job through the service layer into ``folder``, build its report and
    return what the page needs (JSON-safe)."""
    from d2asim import service
    from d2asim.experiments.capacity import Target
    from d2asim.experiments.executor import Backend
    from d2asim.report.build import build_any
    from d2asim.scenario.loader import validate_mapping

    scenarios = [validate_mapping(s, "scenario") for s in payload["scenarios"]]
    backend = Backend(workers=settings.get("workers", 1), progress=False, listener=listener)
    if kind == "capacity":
        target = Target.parse(settings["target"])
        answer, out = service.find_capacity(scenarios[0], settings["service"], target, replications, seed, folder,
                                            backend)
        return {"answer": answer}
    if kind == "optimise":
        return run_optimise(scenarios[0], settings, replications, seed, folder, listener)
    if kind == "run":
        job = service.plan_run(scenarios[0], replications, seed, folder)
    elif kind == "compare":
        job = service.plan_compare(scenarios[0], scenarios[1:], replications, seed, folder)
    else:
        job = service.plan_sweep(scenarios[0], settings["grid"], replications, seed, folder, "sweep form")
    service.run_job(job, backend)
    build_any(folder)
    return {"kind": kind}


_SEARCHED = re.compile(r"search: (\d+) of (\d+) mixes")


def optimise_request(base: Any, settings: dict[str, Any], replications: int, seed: int) -> Any:
    """The optimise request of the app's form (``settings``: vary, budget, objective,
    maximise, constraints, trials, delta, fill_budget), checked as the command line
    checks it (a ScenarioError in its words) and within the app's limits."""
    from d2asim.experiments.optimise_space import Request, check_request, parse_vary
    from d2asim.scenario.errors import ScenarioError

    trials = int(settings["trials"])
    if not 1 <= trials <= MAX_OPTIMISE_TRIALS:
        raise ScenarioError([f"--trials: {trials}; the app tries 1 to {MAX_OPTIMISE_TRIALS} mixes"])
    request = Request(parse_vary(settings["vary"], base), float(settings["budget"]), settings["objective"],
                      bool(settings["maximise"]), list(settings["constraints"]), replications, seed, trials,
                      delta=settings.get("delta"), max_reps=max(replications, min(5 * replications, MAX_REPLICATIONS)),
                      fill_budget=bool(settings["fill_budget"]))
    check_request(request, base)
    return request


def run_optimise(base: Any, settings: dict[str, Any], replications: int, seed: int, folder: Path,
                 listener: Any = None) -> dict[str, Any]:
    """An optimise job: progress is mixes simulated of ``trials`` (the search), then
    the selection stage's latest line; returns best.json's content."""
    from d2asim import service
    from d2asim.experiments.executor import Backend

    request = optimise_request(base, settings, replications, seed)
    state: dict[str, Any] = {"done": 0, "total": request.trials, "note": "search: starting"}

    def beat(*_counts: int) -> None:  # every finished replication: report the stage (and see a cancel)
        if listener is not None:
            listener(state["done"], state["total"], state["note"])

    def on_progress(text: str) -> None:
        found = _SEARCHED.match(text)
        if found:
            state["done"], state["total"] = int(found.group(1)), int(found.group(2))
        elif text.startswith("selection"):  # the search is over
            state["done"] = state["total"]
        state["note"] = text
        beat()

    service.plan_optimise(base, request, folder, "app optimise form")
    _opt, best = service.run_optimise(folder, Backend(settings.get("workers", 1), progress=False, listener=beat),
                                      on_progress=on_progress)
    return {"kind": "optimise", "best": best}


def scenario_payload(*scenarios: Any) -> dict[str, Any]:
    """The payload of resolved scenario objects (what the cache key is made of)."""
    return {"scenarios": [scenario_to_dict(s) for s in scenarios]}
