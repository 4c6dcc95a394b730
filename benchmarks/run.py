"""Benchmark d2asim against plain SimPy, Ciw and a compiled (numba) event loop on the
same reference flow, in one run on one machine. See benchmarks/README.md.

    python benchmarks/run.py            # default run (about 5 minutes on 2 cores)
    python benchmarks/run.py --quick    # smoke run (about 1 minute), writes results/quick.json
    python benchmarks/run.py --full-sweep  # also run the 20 options x 100 replications sweep
    python benchmarks/run.py --profile  # also print cProfile's top functions of run_replication
    python benchmarks/run.py --system-only  # issue 11's part: d2asim, plain SimPy, singles and the system

It also times the system case (5 trusts x 8 boroughs, benchmarks/system_flow.py) against
five single-trust runs of the reference flow, side by side in the same rounds.

Prints the tables to stdout (progress to stderr) and writes benchmarks/results/latest.json.
Exit code 1 if the four implementations disagree (or the YAML and flow.py differ).
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import hashlib
import importlib
import importlib.metadata
import json
import math
import os
import platform
import resource
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
from scipy.special import stdtrit  # noqa: E402

from benchmarks.flow import OUTPUTS, REFERENCE, X10, Flow  # noqa: E402

HERE = Path(__file__).resolve().parent
SEED = 20250401
TIMING_REP = 0  # every timing round of an implementation runs the same replication
IMPLS = ("d2asim", "simpy", "ciw", "limit")
MODULES = {"d2asim": "benchmarks.d2asim_flow", "simpy": "benchmarks.plain_simpy",
           "ciw": "benchmarks.ciw_flow", "limit": "benchmarks.limit_numba",
           "system": "benchmarks.system_flow"}  # the system case (not a peer implementation)
LABELS = {"d2asim": "d2asim", "simpy": "plain SimPy", "ciw": "Ciw", "limit": "numba limit"}
FAMILY_CONFIDENCE = 0.99  # Bonferroni over every (implementation, output) comparison
SWEEP_OPTIONS, SWEEP_REPS, SWEEP_TARGET_S = 20, 100, 240.0
TARGETS = {  # name: (description, comparison, threshold)
    "speedup_vs_simpy": ("d2asim faster than plain SimPy", ">=", 3.0),
    "speedup_vs_ciw": ("d2asim faster than Ciw", ">=", 15.0),
    "x10_time_ratio": ("x10 flow time / x1 time", "<=", 11.0),
    "d2asim_peak_rss_mb": ("memory per replication at x1, MB (peak RSS delta)", "<", 100.0),
    "parallel_efficiency": ("parallel efficiency, 2 workers", ">=", 0.85),
    "sweep_estimate_s": ("20 options x 100 replications, s (estimate)", "<", SWEEP_TARGET_S),
    "system_vs_singles": ("5x8 system / sum of its 5 single-trust runs", "<=", 1.15),
}


@dataclass
class Settings:
    rounds: int = 5  # timing rounds of d2asim, plain SimPy and the numba limit (min is reported)
    ciw_rounds: int = 3  # Ciw takes part in the first ciw_rounds rounds
    x10_rounds: int = 3  # the x10 flow takes part in the first x10_rounds rounds
    x10_simpy: bool = True  # time plain SimPy on the x10 flow too (about 12 s a round)
    parallel_reps: int = 100
    parallel_rounds: int = 2
    # agreement replications; d2asim's first parallel_reps come from the parallel runs
    agree_reps: dict[str, int] = field(
        default_factory=lambda: {"d2asim": 200, "simpy": 200, "ciw": 40, "limit": 2000, "system": 40})
    tracemalloc: bool = True


QUICK = Settings(rounds=3, ciw_rounds=1, x10_rounds=1, x10_simpy=False, parallel_reps=10, parallel_rounds=1,
                 agree_reps={"d2asim": 10, "simpy": 10, "ciw": 4, "limit": 100, "system": 4}, tracemalloc=False)
NO_PEERS = {"ciw_rounds": 0, "x10_rounds": 0, "x10_simpy": False, "parallel_reps": 0, "parallel_rounds": 0}
SYSTEM_ONLY = replace(Settings(), **NO_PEERS,
                      agree_reps={"d2asim": 60, "simpy": 20, "ciw": 0, "limit": 0, "system": 20})
SYSTEM_ONLY_IMPLS = ("d2asim", "simpy")  # --system-only: the speed-up over plain SimPy and the system case
SYSTEM_SINGLES = 5  # single-trust runs the system case is compared with: the reference flow, replications 0-4
SIZE_CURVE = (2, 3)  # one trust this many times the flow (engine only), besides SYSTEM_SINGLES times


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


# ------------------------------------------------------------------ implementations
def available() -> dict[str, str | None]:
    """Implementation -> None if importable, else why not (Ciw and numba are optional)."""
    out: dict[str, str | None] = {}
    for impl, module in MODULES.items():
        try:
            importlib.import_module(module)
            out[impl] = None
        except ImportError as exc:
            out[impl] = f"not run: {exc}"
    return out


def run_fn(impl: str) -> Callable[[Flow, int, int], dict[str, float]]:
    return importlib.import_module(MODULES[impl]).run  # type: ignore[no-any-return]


def d2asim_engine_fn() -> Callable[[Flow, int, int], Any]:
    from benchmarks.d2asim_flow import scenario
    from d2asim.model.engine import DischargeModel

    return lambda flow, seed, rep: DischargeModel(scenario(flow), seed, rep).run()


def system_engine_fn() -> Callable[[Flow, int, int], Any]:
    from benchmarks.system_flow import system_scenario
    from d2asim.model.engine import DischargeModel

    return lambda flow, seed, rep: DischargeModel(system_scenario(flow), seed, rep).run()


def warm_up(impl: str) -> float:
    """Compile / load lazily imported code with a tiny run; returns its seconds."""
    t0 = time.perf_counter()
    if impl == "limit":
        importlib.import_module(MODULES[impl]).compile_now()
    else:
        run_fn(impl)(REFERENCE.shorter(2.0, 3.0), SEED, 999)
    return time.perf_counter() - t0


# ------------------------------------------------------------------------- timing
def timed(fn: Callable[[], Any], collect_after: bool = False) -> tuple[float, float, Any]:
    """Wall and CPU seconds of ``fn()`` (after an untimed ``gc.collect()``); with
    ``collect_after`` the collection of the garbage ``fn`` leaves is timed too."""
    gc.collect()
    c0, t0 = time.process_time(), time.perf_counter()
    result = fn()
    if collect_after:
        gc.collect()
    return time.perf_counter() - t0, time.process_time() - c0, result


Job = tuple[Callable[..., Any], Flow, int, int]  # run(flow, seed, rep), flow, rounds, replication


def timing_rounds(impls: list[str], s: Settings) -> dict[str, dict[str, Any]]:
    """Alternate the jobs round by round (the order rotates), each running the same
    replication every round; wall and CPU seconds of every round. The system case's
    single-trust runs are ``d2asim`` (replication 0) and ``single_1`` .. ``single_4``."""
    jobs: dict[str, Job] = {}
    for impl in impls:
        jobs[impl] = (run_fn(impl), REFERENCE, s.ciw_rounds if impl == "ciw" else s.rounds, TIMING_REP)
    jobs["d2asim_engine"] = (d2asim_engine_fn(), REFERENCE, s.rounds, TIMING_REP)
    if s.x10_rounds:
        jobs["d2asim_x10"] = (run_fn("d2asim"), X10, s.x10_rounds, TIMING_REP)
    if "limit" in impls and s.x10_rounds:
        jobs["limit_x10"] = (run_fn("limit"), X10, s.x10_rounds, TIMING_REP)
    if "simpy" in impls and s.x10_simpy:
        jobs["simpy_x10"] = (run_fn("simpy"), X10, s.x10_rounds, TIMING_REP)
    for rep in range(1, SYSTEM_SINGLES):
        jobs[f"single_{rep}"] = (run_fn("d2asim"), REFERENCE, s.rounds, rep)
    jobs["system"] = (run_fn("system"), REFERENCE, s.rounds, TIMING_REP)
    jobs["system_engine"] = (system_engine_fn(), REFERENCE, s.rounds, TIMING_REP)
    # one trust of the system's size (engine only): the cost of a simulation that large, without the system
    jobs["size_matched_engine"] = (d2asim_engine_fn(), REFERENCE.scaled(SYSTEM_SINGLES), s.rounds, TIMING_REP)
    for k in SIZE_CURVE:  # and of sizes between: how the cost per flow grows with the size
        jobs[f"size_{k}x_engine"] = (d2asim_engine_fn(), REFERENCE.scaled(k), s.rounds, TIMING_REP)
    out = {name: {"wall": [], "cpu": [], "result": None} for name in jobs}
    names = list(jobs)
    # Freeze what the harness has imported (d2asim, pandas, Ciw, numba ...) so that the
    # collector's full passes during a replication do not walk it (they would charge
    # whichever implementation triggers them); each replication is charged for
    # collecting its own garbage instead (collect_after).
    gc.collect()
    gc.freeze()
    try:
        _rounds(jobs, names, out, s)
    finally:
        gc.unfreeze()
    return out


def _rounds(jobs: dict[str, Job], names: list[str], out: dict[str, dict[str, Any]], s: Settings) -> None:
    for r in range(s.rounds):
        order = names[r % len(names):] + names[: r % len(names)]
        for name in order:
            fn, flow, n, rep = jobs[name]
            if r >= n:
                continue
            wall, cpu, result = timed(lambda fn=fn, flow=flow, rep=rep: fn(flow, SEED, rep), collect_after=True)
            out[name]["wall"].append(wall)
            out[name]["cpu"].append(cpu)
            if isinstance(result, dict):
                out[name]["result"] = result
            log(f"round {r + 1}/{s.rounds}: {name} {wall:.3f} s")


# ------------------------------------------------------------------------- memory
def memprobe(impl: str, scale: int, trace: bool) -> dict[str, float]:
    """In this (fresh) process: warm up, then one replication; peak RSS above the
    RSS before it (psutil, sampled every ms, and getrusage's high-water mark), and
    optionally tracemalloc's peak of a second, traced replication."""
    import psutil

    flow = X10 if scale == 10 else REFERENCE
    warm_up(impl)
    fn = run_fn(impl)
    gc.collect()
    proc = psutil.Process()
    base = proc.memory_info().rss
    hwm_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    peak = base
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, proc.memory_info().rss)
            time.sleep(0.001)

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    fn(flow, SEED, TIMING_REP)
    done.set()
    thread.join()
    peak = max(peak, proc.memory_info().rss)
    hwm_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    if hwm_after > hwm_before:
        peak = max(peak, hwm_after)
    out = {"peak_rss_delta_mb": (peak - base) / 2**20, "rss_before_mb": base / 2**20}
    if trace:
        import tracemalloc

        gc.collect()
        tracemalloc.start()
        fn(flow, SEED, TIMING_REP)
        out["tracemalloc_peak_mb"] = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
    return out


def memory_in_subprocess(impl: str, scale: int, trace: bool) -> dict[str, float]:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--memprobe", impl, "--scale", str(scale)]
    if trace:
        cmd.append("--tracemalloc")
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        return {"error": done.stderr.strip().splitlines()[-1] if done.stderr.strip() else "failed"}  # type: ignore[dict-item]
    return json.loads(done.stdout.strip().splitlines()[-1])


# ------------------------------------------------------------- parallel scaling
def parallel_runs(s: Settings) -> dict[str, Any]:
    """d2asim.runner.run_replications, parallel_reps replications on Backend(workers=1)
    and Backend(workers=2), alternating, parallel_rounds times each."""
    from benchmarks.d2asim_flow import metrics_outputs, scenario
    from d2asim.experiments.executor import Backend
    from d2asim.runner import run_replications

    sc = scenario(REFERENCE)
    times: dict[int, list[float]] = {1: [], 2: []}
    metrics: dict[int, list[dict[str, float]]] = {}
    for r in range(s.parallel_rounds):
        for workers in (1, 2) if r % 2 == 0 else (2, 1):
            backend = Backend(workers=workers, progress=False)
            wall, _, result = timed(lambda b=backend: run_replications(sc, s.parallel_reps, SEED, executor=b))
            times[workers].append(wall)
            metrics[workers] = [rep.metrics for rep in result.replications]
            log(f"parallel round {r + 1}/{s.parallel_rounds}: {s.parallel_reps} reps, workers={workers}: {wall:.1f} s")
    identical = all(json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)
                    for a, b in zip(metrics[1], metrics[2], strict=True))
    t1, t2 = min(times[1]), min(times[2])
    return {
        "replications": s.parallel_reps,
        "t1_s": t1,
        "t2_s": t2,
        "t1_rounds_s": times[1],
        "t2_rounds_s": times[2],
        "parallel_efficiency": t1 / (2.0 * t2),
        "results_identical_across_workers": identical,
        "d2asim_outputs": [metrics_outputs(m) for m in metrics[1]],
    }


def sweep_estimate(t2: float, reps: int) -> float:
    """20 options x 100 replications on 2 workers: (options x reps / reps measured) x t2,
    i.e. total replications x per-rep time / (2 workers x parallel efficiency)."""
    return SWEEP_OPTIONS * SWEEP_REPS / reps * t2


def full_sweep() -> dict[str, Any]:
    from benchmarks.d2asim_flow import scenario
    from d2asim.experiments.executor import Backend
    from d2asim.experiments.sweep import sweep

    grid = {"services.p1.capacity": [250 + 5 * i for i in range(SWEEP_OPTIONS)]}
    log(f"full sweep: {SWEEP_OPTIONS} options x {SWEEP_REPS} replications on 2 workers ...")
    wall, _, (table, _runs) = timed(
        lambda: sweep(scenario(REFERENCE), grid, SWEEP_REPS, SEED, Backend(workers=2, progress=False))
    )
    log(f"full sweep: {wall:.1f} s")
    return {"options": SWEEP_OPTIONS, "replications": SWEEP_REPS, "grid": grid, "seconds": wall,
            "delayed_bed_days_mean": table["delayed_bed_days_mean"].round(1).tolist()}


# -------------------------------------------------------------------- agreement
def _agree_task(impl: str, reps: list[int]) -> list[dict[str, float]]:
    fn = run_fn(impl)
    return [fn(REFERENCE, SEED, r) for r in reps]


def agreement_runs(impls: list[str], s: Settings, first: dict[str, int]) -> dict[str, list[dict[str, float]]]:
    """Replications first[impl]..agree_reps[impl]-1 of each implementation on a
    2-process pool (not timed), slowest first."""
    chunk = {"d2asim": 10, "simpy": 5, "ciw": 1, "limit": 200, "system": 2}
    cost = {"ciw": 30, "simpy": 4, "d2asim": 2, "limit": 0.1, "system": 10}
    out: dict[str, list[dict[str, float]]] = {impl: [] for impl in impls}
    with ProcessPoolExecutor(max_workers=2) as pool:
        futures = []
        for impl in sorted(impls, key=lambda i: -s.agree_reps[i] * cost[i]):
            reps = list(range(first.get(impl, 0), s.agree_reps[impl]))
            for i in range(0, len(reps), chunk[impl]):
                futures.append((impl, pool.submit(_agree_task, impl, reps[i : i + chunk[impl]])))
        for impl, fut in futures:
            out[impl].extend(fut.result())
    return out


def t_quantile(df: float, confidence: float) -> float:
    return float(stdtrit(df, 0.5 + confidence / 2.0))


def mean_interval(x: np.ndarray, confidence: float = 0.99) -> tuple[float, float]:
    half = t_quantile(x.size - 1, confidence) * x.std(ddof=1) / math.sqrt(x.size) if x.size > 1 else math.nan
    return float(x.mean()), float(half)


def welch(a: np.ndarray, b: np.ndarray, confidence: float) -> tuple[float, float, float]:
    """mean(a) - mean(b) and its Welch-Satterthwaite t interval."""
    va, vb = a.var(ddof=1) / a.size, b.var(ddof=1) / b.size
    diff = float(a.mean() - b.mean())
    if va + vb == 0:
        return diff, diff, diff
    df = (va + vb) ** 2 / (va**2 / (a.size - 1) + vb**2 / (b.size - 1))
    half = t_quantile(df, confidence) * math.sqrt(va + vb)
    return diff, diff - half, diff + half


def agreement(d2: list[dict[str, float]], others: dict[str, list[dict[str, float]]],
              keys: tuple[str, ...] = OUTPUTS) -> dict[str, Any]:
    """For every other implementation (or trust of the system) and output: Welch
    interval of mean(other) - mean(d2asim) at the Bonferroni-adjusted level
    (family-wise FAMILY_CONFIDENCE)."""
    n_tests = len(others) * len(keys)
    level = 1.0 - (1.0 - FAMILY_CONFIDENCE) / max(n_tests, 1)
    rows = []
    base = {k: np.array([r[k] for r in d2]) for k in keys}
    summary = {"d2asim": {k: mean_interval(base[k]) for k in keys} | {"n": len(d2)}}
    for impl, runs in others.items():
        vals = {k: np.array([r[k] for r in runs]) for k in keys}
        summary[impl] = {k: mean_interval(vals[k]) for k in keys} | {"n": len(runs)}
        for k in keys:
            diff, lo, hi = welch(vals[k], base[k], level)
            rows.append({"implementation": impl, "output": k, "n": len(runs), "n_d2asim": len(d2),
                         "difference": diff, "ci_low": lo, "ci_high": hi,
                         "relative_difference_pct": 100.0 * diff / float(base[k].mean()),
                         "relative_half_width_pct": 100.0 * (hi - lo) / 2.0 / float(base[k].mean()),
                         "contains_0": bool(lo <= 0.0 <= hi)})
    return {"method": f"Welch t interval of mean(impl) - mean(d2asim) over independent replications, "
                      f"each at {100 * level:.3f}% (Bonferroni over {n_tests} comparisons: "
                      f"family-wise {100 * FAMILY_CONFIDENCE:.0f}%); agree = every interval contains 0",
            "per_interval_confidence": level, "family_confidence": FAMILY_CONFIDENCE,
            "all_agree": all(r["contains_0"] for r in rows), "rows": rows, "means_99pct": summary}


# ------------------------------------------------------------------ system case
def system_case(rounds: dict[str, dict[str, Any]], memory: dict[str, float], singles: list[dict[str, float]],
                system_runs: list[dict[str, dict[str, float]]], single_memory: dict[str, float]) -> dict[str, Any]:
    """The system case's times against its five single-trust runs (each the minimum
    over the rounds; their sum, and the smallest per-round sum), its memory, and each
    trust's metrics against the single-trust replications (``singles``)."""
    from benchmarks.d2asim_flow import CAPACITY_FREE
    from benchmarks.system_flow import BOROUGHS, TRUSTS, system_scenario

    names = ["d2asim", *(f"single_{r}" for r in range(1, SYSTEM_SINGLES))]
    single_s = [min(rounds[n]["wall"]) for n in names]
    per_round = [sum(w) for w in zip(*(rounds[n]["wall"] for n in names), strict=True)]
    system_s = min(rounds["system"]["wall"])
    sc = system_scenario(REFERENCE)
    by_trust = {t: [run[t] for run in system_runs] for t in system_runs[0]}
    return {
        "trusts": TRUSTS, "boroughs": BOROUGHS, "services": len(sc.services),
        "shared_services": [n for n, sv in sc.services.items() if sv.shared_by],
        "s_per_rep": system_s, "rounds_s": rounds["system"]["wall"], "cpu_s_min": min(rounds["system"]["cpu"]),
        "engine_s_per_rep": min(rounds["system_engine"]["wall"]),
        "single_s_per_rep": single_s, "singles_sum_s": sum(single_s), "singles_round_sums_s": per_round,
        "single_engine_s_per_rep": min(rounds["d2asim_engine"]["wall"]),
        "size_matched_engine_s_per_rep": min(rounds["size_matched_engine"]["wall"]),
        "size_curve_engine_s_per_rep": {k: min(rounds[f"size_{k}x_engine"]["wall"]) for k in SIZE_CURVE
                                        if f"size_{k}x_engine" in rounds},
        "ratio_to_singles": system_s / sum(single_s),
        "ratio_to_singles_cpu": min(rounds["system"]["cpu"]) / sum(min(rounds[n]["cpu"]) for n in names),
        "ratio_to_best_round_sum": system_s / min(per_round),
        "memory": memory,
        "memory_ratio_to_single": ratio(memory.get("peak_rss_delta_mb"), single_memory.get("peak_rss_delta_mb")),
        "per_trust_capacity_free": agreement(singles, by_trust, CAPACITY_FREE),
        "per_trust_outputs": agreement(singles, by_trust, OUTPUTS),
    }


# ---------------------------------------------------------------------- profile
def profile_d2asim(top: int = 25) -> str:
    import cProfile
    import io
    import pstats

    from benchmarks.d2asim_flow import scenario
    from d2asim.runner import run_replication

    sc = scenario(REFERENCE)
    run_replication(sc, SEED, TIMING_REP)
    prof = cProfile.Profile()
    prof.enable()
    run_replication(sc, SEED, TIMING_REP)
    prof.disable()
    buf = io.StringIO()
    stats = pstats.Stats(prof, stream=buf)
    stats.sort_stats("tottime").print_stats(top)
    stats.sort_stats("cumulative").print_stats(top)
    return buf.getvalue()


# ------------------------------------------------------------------ environment
def git(*args: str) -> str:
    try:
        return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=False).stdout.rstrip()
    except OSError:
        return ""


def file_hash(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:12] if path.exists() else ""


def machine() -> dict[str, Any]:
    cpu = ""
    try:
        cpu = next(line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                   if line.startswith("model name"))
    except (OSError, StopIteration):
        cpu = platform.processor()
    versions = {}
    for pkg in ("d2asim", "simpy", "ciw", "numba", "numpy", "pandas", "psutil"):
        try:
            versions[pkg] = importlib.metadata.version(pkg)
        except importlib.metadata.PackageNotFoundError:
            versions[pkg] = None
    return {"platform": platform.platform(), "python": platform.python_version(), "cpu": cpu,
            "cpu_count": os.cpu_count(), "versions": versions}


# ------------------------------------------------------------------------ report
def fmt_s(x: float | None) -> str:
    return "—" if x is None else f"{x:.4f}" if x < 0.1 else f"{x:.3f}"


def fmt(x: float | None, spec: str, suffix: str = "") -> str:
    return "—" if x is None else f"{x:{spec}}{suffix}"


def ratio(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None or b == 0 else a / b


def report(res: dict[str, Any]) -> str:
    """The printed tables."""
    lines: list[str] = []
    add = lines.append
    ref, m, g = res["reference_flow"], res["machine"], res["git"]
    add(f"d2asim benchmark — reference flow ({ref['arrivals_per_day']:.0f}/day, {ref['beds']} beds, "
        f"{ref['warmup_days']:.0f}-day warm-up + {ref['duration_days']:.0f} days), seed {SEED}")
    dirty = f" (dirty: {', '.join(g['dirty'])})" if g["dirty"] else ""
    add(f"{res['date']}  {m['cpu']} x{m['cpu_count']}  Python {m['python']}  "
        f"load avg at start {res['load_average_start'][0]:.2f}  git {g['commit'][:10]}{dirty}")
    add("")
    head = (f"{'implementation':<14} {'s/rep min':>10} {'(rounds)':>8} {'median':>8} {'cpu s':>8} "
            f"{'events/rep':>11} {'events/s':>11} {'peak RSS Δ':>11} {'traced pk':>10} "
            f"{'speed vs SimPy':>15} {'RSS vs SimPy':>13}")
    add(head)
    add("-" * len(head))
    imp = res["implementations"]
    simpy = imp.get("simpy", {})
    simpy_rss = simpy.get("memory", {}).get("peak_rss_delta_mb")
    for impl in IMPLS:
        r = imp.get(impl)
        if r is None or r.get("skipped"):
            add(f"{LABELS[impl]:<14} {r.get('skipped') if r else 'not run'}")
            continue
        mem = r.get("memory", {})
        rss = mem.get("peak_rss_delta_mb")
        add(f"{LABELS[impl]:<14} {fmt_s(r['s_per_rep']):>10} {'(' + str(r['rounds']) + ')':>8} "
            f"{fmt_s(r['median_s']):>8} {fmt_s(r['cpu_s_min']):>8} {r['events']:>11,} {r['events_per_s']:>11,.0f} "
            f"{fmt(rss, '.1f', ' MB'):>11} {fmt(mem.get('tracemalloc_peak_mb'), '.1f', ' MB'):>10} "
            f"{fmt(ratio(simpy.get('s_per_rep'), r['s_per_rep']), '.2f', '×'):>15} "
            f"{fmt(ratio(rss, simpy_rss), '.2f', '×'):>13}")
    add("")
    add("s/rep: wall seconds of one replication (the same seed every round) plus collecting its garbage,")
    add("  minimum over alternating rounds (the harness's own imports frozen out of the collector);")
    add("  d2asim = d2asim.runner.run_replication (engine + daily series + all metrics); the others = simulation")
    add("  + the three outputs. events = patient state changes before the horizon (arrival, admission,")
    add("  discharge ready, P3 assessment end, leaving the bed, service end), counted from each tool's records.")
    add("  peak RSS Δ: psutil RSS peak above the RSS just before the replication, in a fresh subprocess after")
    add("  a warm-up run; traced pk: tracemalloc peak of a second replication (Python/numpy heap only).")
    eng = res.get("d2asim_engine_s_per_rep")
    if eng is not None and imp.get("d2asim"):
        tot = imp["d2asim"]["s_per_rep"]
        add(f"  d2asim breakdown: engine only (DischargeModel.run) {eng:.3f} s = {100 * eng / tot:.0f}% of "
            f"run_replication; series + metrics {tot - eng:.3f} s.")
    add("")
    k = res["keys"]
    add(f"ratios: speedup_vs_simpy {fmt(k['speedup_vs_simpy'], '.2f')}   speedup_vs_ciw "
        f"{fmt(k['speedup_vs_ciw'], '.2f')}   ratio_to_limit {fmt(k['ratio_to_limit'], '.2f')} "
        "(d2asim time / numba time)")
    x10 = res.get("x10")
    add("")
    if x10:
        lines.extend(x10_report(x10, imp))
    if "parallel" in res:
        lines.extend(parallel_report(res["parallel"], res["sweep"]))
    add("")
    lines.extend(system_report(res["system"]))
    add("")
    add("targets (measured, not adjusted):")
    for t in res["targets"].values():
        verdict = "n/a" if t["met"] is None else "MET" if t["met"] else "not met"
        add(f"  {t['description']:<52} {t['comparison']:>2} {t['target']:<6g} measured "
            f"{fmt(t['measured'], '.3g'):<8} {verdict}")
    lines.extend(agreement_report(res["agreement"]))
    if res.get("warnings"):
        add("")
        lines.extend(f"warning: {w}" for w in res["warnings"])
    add(f"\nwall time of this benchmark run: {res['benchmark_wall_s']:.0f} s")
    return "\n".join(lines)


def x10_report(x10: dict[str, Any], imp: dict[str, Any]) -> list[str]:
    """The x10 flow's lines of the printed report."""
    lines = [f"x10 flow ({X10.arrivals_per_day:.0f}/day, {X10.beds} beds, places {'/'.join(map(str, X10.capacity))}): "
             f"d2asim {x10['s_per_rep']:.3f} s/rep (min of {x10['rounds']}) = {x10['time_ratio']:.2f}× the x1 time; "
             f"events/rep {x10['events']:,} ({x10['events'] / imp['d2asim']['events']:.2f}× x1); peak RSS Δ "
             f"{fmt(x10['memory'].get('peak_rss_delta_mb'), '.1f')} MB = {fmt(x10['memory_ratio'], '.2f')}× x1"]
    others = [f"{LABELS[i]} {x10[i + '_time_ratio']:.2f}× ({x10[i + '_s_per_rep']:.3f} s)"
              for i in ("simpy", "limit") if i + "_time_ratio" in x10]
    if others:
        lines.append("  same x10 flow, time ratio to x1 elsewhere: " + ", ".join(others))
    return lines


def parallel_report(par: dict[str, Any], sw: dict[str, Any]) -> list[str]:
    """The parallel scaling and sweep lines of the printed report."""
    return [
        f"parallel: run_replications, {par['replications']} reps: workers=1 {par['t1_s']:.1f} s, workers=2 "
        f"{par['t2_s']:.1f} s (min of {len(par['t1_rounds_s'])}) → efficiency t1/(2·t2) = "
        f"{100 * par['parallel_efficiency']:.0f}%; results identical across workers: "
        f"{par['results_identical_across_workers']}",
        f"sweep of {SWEEP_OPTIONS} options × {SWEEP_REPS} reps on 2 workers: estimated {sw['estimate_s']:.0f} s "
        f"(= {SWEEP_OPTIONS * SWEEP_REPS} reps × {sw['per_rep_s']:.3f} s / (2 × {par['parallel_efficiency']:.2f}); "
        f"with the best single-rep time {sw['estimate_from_best_rep_s']:.0f} s)"
        + (f"; measured {sw['measured_s']:.0f} s" if sw.get("measured_s") is not None else ""),
    ]


def agreement_report(ag: dict[str, Any]) -> list[str]:
    """The agreement lines of the printed report."""
    means = ag["means_99pct"]
    lines = ["", "agreement: " + ag["method"],
             f"  {'output':<26}" + "".join(f"{LABELS[i] + ' (n=' + str(means[i]['n']) + ')':>26}" for i in means)]
    for out in OUTPUTS:
        lines.append(f"  {out:<26}" + "".join(f"{means[i][out][0]:>16.2f} ± {means[i][out][1]:<7.2f}" for i in means))
    lines.append("  (mean ± 99% t half-width over replications)")
    lines.append(f"  {'implementation':<14} {'output':<26} {'diff vs d2asim':>15} {'interval':>26} {'rel diff':>9} "
                 f"{'rel half-width':>15}  contains 0")
    for r in ag["rows"]:
        interval = f"[{r['ci_low']:.3f}, {r['ci_high']:.3f}]"
        lines.append(f"  {LABELS[r['implementation']]:<14} {r['output']:<26} {r['difference']:>15.3f} "
                     f"{interval:>26} {r['relative_difference_pct']:>8.2f}% {r['relative_half_width_pct']:>14.2f}%  "
                     f"{'yes' if r['contains_0'] else 'NO'}")
    lines.append(f"  all agree: {'yes' if ag['all_agree'] else 'NO'}")
    return lines


def system_report(sy: dict[str, Any]) -> list[str]:
    """The system case's lines of the printed report."""
    single = sy["single_s_per_rep"]
    mem = sy["memory"]
    lines = [
        f"system case: {sy['trusts']} trusts x {sy['boroughs']} boroughs, each trust the reference flow "
        f"({sy['trusts'] * REFERENCE.arrivals_per_day:.0f}/day, {sy['trusts'] * REFERENCE.beds:,} beds in all), "
        f"{sy['services']} services, shared: {', '.join(sy['shared_services'])}",
        f"  system run_replication {sy['s_per_rep']:.3f} s/rep (min of {len(sy['rounds_s'])}; engine only "
        f"{sy['engine_s_per_rep']:.3f} s); the {len(single)} single-trust runs (replications 0-{len(single) - 1}) "
        f"{', '.join(f'{x:.3f}' for x in single)} s, sum {sy['singles_sum_s']:.3f} s (best per-round sum "
        f"{min(sy['singles_round_sums_s']):.3f} s)",
        f"  system / sum of singles = {sy['ratio_to_singles']:.3f} (against the best per-round sum "
        f"{sy['ratio_to_best_round_sum']:.3f}); engine only: system / ({len(single)} x single replication 0) = "
        f"{sy['engine_s_per_rep'] / (len(single) * sy['single_engine_s_per_rep']):.3f}; in CPU time (min of "
        f"each) {sy['ratio_to_singles_cpu']:.3f}",
        f"  one trust of the system's size ({len(single)} x the flow, engine only) "
        f"{sy['size_matched_engine_s_per_rep']:.3f} s = "
        f"{sy['size_matched_engine_s_per_rep'] / (len(single) * sy['single_engine_s_per_rep']):.3f} x "
        f"{len(single)} single engines; system engine / it = "
        f"{sy['engine_s_per_rep'] / sy['size_matched_engine_s_per_rep']:.3f}",
        "  engine cost per flow of one trust k x the flow, over one single engine: "
        + ", ".join(f"k = {k}: {t / (k * sy['single_engine_s_per_rep']):.3f}" for k, t in
                    [*sy["size_curve_engine_s_per_rep"].items(), (len(single), sy["size_matched_engine_s_per_rep"])]),
        f"  memory per replication: peak RSS Δ {fmt(mem.get('peak_rss_delta_mb'), '.1f', ' MB')} "
        f"(= {fmt(sy['memory_ratio_to_single'], '.2f', '×')} one single-trust run), tracemalloc peak "
        f"{fmt(mem.get('tracemalloc_peak_mb'), '.1f', ' MB')}",
    ]
    for key, what in (("per_trust_capacity_free", "metrics that do not depend on how places are pooled (checked)"),
                      ("per_trust_outputs", "the three outputs (pools differ in size: expected to differ)")):
        ag = sy[key]
        means = ag["means_99pct"]
        trusts = [t for t in means if t != "d2asim"]
        lines.append(f"  per trust vs single-trust runs, {what}: mean of the single runs (n={means['d2asim']['n']}), "
                     f"each trust's relative difference (n={means[trusts[0]]['n']}), * = Welch interval at "
                     f"{100 * ag['per_interval_confidence']:.2f}% excludes 0; all contain 0: "
                     f"{'yes' if ag['all_agree'] else 'NO'}")
        rows = {(r["implementation"], r["output"]): r for r in ag["rows"]}
        outputs = list(means["d2asim"])[:-1]  # the keys, then "n"
        lines.append(f"    {'metric':<32} {'single':>10}" + "".join(f"{t:>12}" for t in trusts))
        for out in outputs:
            cells = "".join(f"{rows[t, out]['relative_difference_pct']:>+10.2f}%" + (" " if rows[t, out]["contains_0"]
                            else "*") for t in trusts)
            lines.append(f"    {out:<32} {means['d2asim'][out][0]:>10.1f}{cells}")
    return lines


def check_target(name: str, value: float | None) -> dict[str, Any]:
    desc, cmp, thr = TARGETS[name]
    met = None if value is None else (value >= thr if cmp == ">=" else value <= thr if cmp == "<=" else value < thr)
    return {"description": desc, "comparison": cmp, "target": thr, "measured": value, "met": met}


def x10_part(res: dict[str, Any], rounds: dict[str, dict[str, Any]], implementations: dict[str, Any]) -> None:
    """The x10 flow: time and memory ratio to x1 (d2asim), and the same x10 elsewhere."""
    from benchmarks import d2asim_flow

    log("memory probe: d2asim x10")
    mem_x10 = memory_in_subprocess("d2asim", 10, False)
    x10_events = d2asim_flow.log_view(X10, SEED, TIMING_REP)["events"]
    x10_s = min(rounds["d2asim_x10"]["wall"])
    d2 = implementations["d2asim"]
    res["x10"] = {"s_per_rep": x10_s, "rounds": len(rounds["d2asim_x10"]["wall"]),
                  "rounds_s": rounds["d2asim_x10"]["wall"], "time_ratio": x10_s / d2["s_per_rep"],
                  "events": x10_events, "events_per_s": x10_events / x10_s, "memory": mem_x10,
                  "memory_ratio": ratio(mem_x10.get("peak_rss_delta_mb"), d2["memory"].get("peak_rss_delta_mb"))}
    for impl in ("simpy", "limit"):  # context: how the same x10 scales elsewhere
        if f"{impl}_x10" in rounds and rounds[f"{impl}_x10"]["wall"]:
            t = min(rounds[f"{impl}_x10"]["wall"])
            res["x10"][f"{impl}_s_per_rep"] = t
            res["x10"][f"{impl}_time_ratio"] = t / implementations[impl]["s_per_rep"]


def parallel_part(res: dict[str, Any], s: Settings, d2_s_per_rep: float) -> list[dict[str, float]]:
    """Parallel scaling and the sweep estimate; returns the d2asim outputs of its replications."""
    log(f"parallel: {s.parallel_reps} replications, workers 1 vs 2, {s.parallel_rounds} round(s)")
    par = parallel_runs(s)
    d2_outputs: list[dict[str, float]] = par.pop("d2asim_outputs")
    res["parallel"] = par
    res["sweep"] = {"per_rep_s": par["t1_s"] / par["replications"],
                    "estimate_s": sweep_estimate(par["t2_s"], par["replications"]),
                    "estimate_from_best_rep_s": SWEEP_OPTIONS * SWEEP_REPS * d2_s_per_rep
                    / (2.0 * par["parallel_efficiency"]),
                    "measured_s": None}
    return d2_outputs


# -------------------------------------------------------------------------- main
def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="smoke run: fewer rounds and replications")
    ap.add_argument("--full-sweep", action="store_true", help="also run 20 options x 100 replications (2 workers)")
    ap.add_argument("--system-only", action="store_true",
                    help="only d2asim and plain SimPy, the five single-trust runs and the system case (issue 11)")
    ap.add_argument("--profile", action="store_true", help="also print cProfile's top functions of run_replication")
    ap.add_argument("--out", type=Path, help="JSON path (default results/latest.json, --quick: results/quick.json)")
    ap.add_argument("--memprobe", choices=list(MODULES), help=argparse.SUPPRESS)
    ap.add_argument("--scale", type=int, default=1, help=argparse.SUPPRESS)
    ap.add_argument("--tracemalloc", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.memprobe:
        print(json.dumps(memprobe(args.memprobe, args.scale, args.tracemalloc)))
        return 0

    s = QUICK if args.quick else SYSTEM_ONLY if args.system_only else Settings()
    if args.quick and args.system_only:
        s = replace(QUICK, **NO_PEERS)
    mode = "quick" if args.quick else "system-only" if args.system_only else "default"
    default_name = {"quick": "quick.json", "system-only": "system.json"}.get(mode, "latest.json")
    out_path = args.out or HERE / "results" / default_name
    t_start = time.perf_counter()
    engine_file = ROOT / "d2asim" / "model" / "engine.py"
    engine_hash = file_hash(engine_file)
    res: dict[str, Any] = {
        "date": dt.datetime.now().astimezone().isoformat(timespec="seconds"),
        "mode": mode,
        "settings": asdict(s),
        "seed": SEED,
        "reference_flow": asdict(REFERENCE),
        "x10_flow": asdict(X10),
        "machine": machine(),
        "git": {"commit": git("rev-parse", "HEAD"),
                "dirty": [ln[3:] for ln in git("status", "--porcelain").splitlines() if ln[3:]],
                "engine_py_sha256_12": engine_hash},
        "load_average_start": os.getloadavg(),
        "warnings": [],
    }
    why_not = available()
    impls = [i for i in (SYSTEM_ONLY_IMPLS if args.system_only else IMPLS) if why_not[i] is None]
    if "d2asim" not in impls:
        print(f"d2asim cannot be imported: {why_not['d2asim']}", file=sys.stderr)
        return 1

    # 1. checks: the YAML is the flow; flow.py's outputs are d2asim's metrics
    from benchmarks import d2asim_flow

    d2asim_flow.scenario(REFERENCE)  # raises if reference.yaml and flow.REFERENCE differ
    view = d2asim_flow.log_view(REFERENCE, SEED, TIMING_REP)
    direct = d2asim_flow.run(REFERENCE, SEED, TIMING_REP)
    for k in OUTPUTS:
        if not math.isclose(view[k], direct[k], rel_tol=1e-9, abs_tol=1e-9):
            print(f"flow.outputs and d2asim's metrics differ on {k}: {view[k]} vs {direct[k]}", file=sys.stderr)
            return 1
    res["definitions_check"] = "flow.outputs on d2asim's event log equals d2asim's metrics (rel 1e-9)"
    for impl in impls:
        log(f"warm-up {impl}: {warm_up(impl):.2f} s")

    # 2. timing rounds (alternating)
    log(f"timing: {s.rounds} rounds (Ciw {s.ciw_rounds}, x10 {s.x10_rounds})")
    rounds = timing_rounds(impls, s)
    implementations: dict[str, Any] = {}
    for impl in IMPLS:
        if impl not in impls:
            implementations[impl] = {"skipped": why_not[impl] or "not run (--system-only)"}
            continue
        r = rounds[impl]
        events = view["events"] if impl == "d2asim" else int(r["result"]["events"])
        best = min(r["wall"])
        implementations[impl] = {"s_per_rep": best, "median_s": float(np.median(r["wall"])), "rounds": len(r["wall"]),
                                 "rounds_s": r["wall"], "cpu_s_min": min(r["cpu"]), "events": events,
                                 "events_per_s": events / best}
    engine_s = min(rounds["d2asim_engine"]["wall"])

    # 3. memory, each in a fresh subprocess
    for impl in impls:
        log(f"memory probe: {impl}")
        implementations[impl]["memory"] = memory_in_subprocess(impl, 1, s.tracemalloc)
    log("memory probe: system case")
    mem_system = memory_in_subprocess("system", 1, s.tracemalloc)
    d2 = implementations["d2asim"]
    rss1 = d2["memory"].get("peak_rss_delta_mb")
    if s.x10_rounds:
        x10_part(res, rounds, implementations)

    # 4. parallel scaling (its replications are also d2asim's agreement sample)
    d2_outputs: list[dict[str, float]] = []
    if s.parallel_reps:
        d2_outputs = parallel_part(res, s, d2["s_per_rep"])

    # 5. agreement
    others = [i for i in impls if i != "d2asim"]
    log("agreement replications: " + ", ".join(f"{i} {s.agree_reps[i]}" for i in [*impls, "system"])
        + f" (d2asim's first {len(d2_outputs)} from the parallel runs)")
    runs = agreement_runs([*impls, "system"], s, {"d2asim": len(d2_outputs)})
    d2_all = d2_outputs + runs.pop("d2asim")
    res["agreement"] = agreement(d2_all, {i: runs[i] for i in others})
    res["system"] = system_case(rounds, mem_system, d2_all, runs.pop("system"), d2["memory"])

    # 6. optional
    if args.full_sweep and "sweep" in res:
        res["full_sweep"] = full_sweep()
        res["sweep"]["measured_s"] = res["full_sweep"]["seconds"]
    profile_text = profile_d2asim() if args.profile else None

    limit = implementations.get("limit", {}).get("s_per_rep")
    res["implementations"] = implementations
    res["d2asim_engine_s_per_rep"] = engine_s
    res["keys"] = {
        "d2asim_s_per_rep": d2["s_per_rep"],
        "simpy_s_per_rep": implementations.get("simpy", {}).get("s_per_rep"),
        "ciw_s_per_rep": implementations.get("ciw", {}).get("s_per_rep"),
        "limit_s_per_rep": limit,
        "speedup_vs_simpy": ratio(implementations.get("simpy", {}).get("s_per_rep"), d2["s_per_rep"]),
        "speedup_vs_ciw": ratio(implementations.get("ciw", {}).get("s_per_rep"), d2["s_per_rep"]),
        "ratio_to_limit": ratio(d2["s_per_rep"], limit),
    }
    measured = {
        "speedup_vs_simpy": res["keys"]["speedup_vs_simpy"], "speedup_vs_ciw": res["keys"]["speedup_vs_ciw"],
        "x10_time_ratio": res["x10"]["time_ratio"] if "x10" in res else None, "d2asim_peak_rss_mb": rss1,
        "parallel_efficiency": res["parallel"]["parallel_efficiency"] if "parallel" in res else None,
        "sweep_estimate_s": res["sweep"]["estimate_s"] if "sweep" in res else None,
        "system_vs_singles": res["system"]["ratio_to_singles"],
    }
    res["targets"] = {name: check_target(name, value) for name, value in measured.items() if value is not None}
    if res.get("sweep", {}).get("measured_s") is not None:
        res["targets"]["sweep_measured_s"] = {**check_target("sweep_estimate_s", res["sweep"]["measured_s"]),
                                              "description": "20 options x 100 replications, s (measured)"}
    res["load_average_end"] = os.getloadavg()
    if file_hash(engine_file) != engine_hash:
        res["warnings"].append("d2asim/model/engine.py changed during this run: subprocess and pool timings may "
                               "mix versions; run again")
    # descheduled while timed (other processes): wall time of the best round well above its CPU time
    squeezed = [f"{LABELS[i]} {r['s_per_rep'] / r['cpu_s_min']:.2f}" for i, r in implementations.items()
                if r.get("cpu_s_min") and r["s_per_rep"] > 1.05 * r["cpu_s_min"] and r["s_per_rep"] > 0.05]
    if squeezed:
        res["warnings"].append("best-round wall/CPU time above 1.05 (" + ", ".join(squeezed) + "): other "
                               "processes competed for the CPUs; rerun on a quiet machine")
    if res["load_average_start"][0] > 0.5 * (os.cpu_count() or 1):
        res["warnings"].append(f"load average {res['load_average_start'][0]:.2f} at the start: something else was "
                               "running (the parallel efficiency is the most sensitive to it)")
    res["benchmark_wall_s"] = time.perf_counter() - t_start
    res = {**res["keys"], **res}  # the contract keys first, at the top level of the JSON
    text = report(res)
    print(text)
    if profile_text:
        print("\ncProfile of one d2asim run_replication (warm):\n" + profile_text)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    out_path.write_text(json.dumps(res, indent=2, default=float) + "\n")
    print(f"\nwrote {out_path.relative_to(ROOT) if out_path.is_relative_to(ROOT) else out_path}")
    return 0 if res["agreement"]["all_agree"] else 1


if __name__ == "__main__":
    sys.exit(main())
