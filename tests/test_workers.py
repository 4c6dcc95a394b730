"""Ctrl-C, SIGTERM or SIGKILL of the main process leaves no pool worker running.

Each test starts a real ``d2asim run --workers 2``, waits until two replications are
saved (so the pool is busy), notes every descendant process, signals the main process
only, and then waits (at most 30 s) until none of those processes is left."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
import yaml
from helpers import start_run_with_two_workers
from test_experiments import small

from d2asim.scenario.loader import scenario_to_dict, with_overrides

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="signals and process trees of Linux")
GONE_WITHIN_SECONDS = 30.0


def _start(tmp_path: Path) -> tuple[subprocess.Popen[str], list[psutil.Process], Path]:
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(scenario_to_dict(with_overrides(small(22), {"run.duration_days": 400}))))
    out = tmp_path / "run"
    proc = start_run_with_two_workers(path, out)
    descendants = psutil.Process(proc.pid).children(recursive=True)
    assert len(descendants) >= 2, "the pool's workers were not found"
    assert proc.poll() is None, "the run finished before it could be interrupted"
    return proc, descendants, out


def _left_running(processes: list[psutil.Process]) -> list[psutil.Process]:
    """Those of ``processes`` still running after up to GONE_WITHIN_SECONDS (zombies count as ended)."""
    deadline = time.time() + GONE_WITHIN_SECONDS
    while True:
        alive = []
        for p in processes:
            try:
                if p.status() != psutil.STATUS_ZOMBIE:
                    alive.append(p)
            except psutil.NoSuchProcess:
                pass
        if not alive or time.time() > deadline:
            return alive
        time.sleep(0.1)


def _kill_all(processes: list[psutil.Process]) -> None:
    for p in processes:  # clean up after a failure: only the processes this test started
        try:
            p.kill()
        except psutil.NoSuchProcess:
            pass


@pytest.mark.slow
@pytest.mark.parametrize(("sig", "code", "message"), [
    (signal.SIGINT, 130, "interrupted"),
    (signal.SIGTERM, 143, "terminated (SIGTERM)"),
])
def test_interrupt_or_terminate_stops_every_worker(tmp_path: Path, sig: int, code: int, message: str) -> None:
    proc, workers, out = _start(tmp_path)
    proc.send_signal(sig)
    try:
        _, err = proc.communicate(timeout=60)
        left = _left_running(workers)
    finally:
        _kill_all(workers)
    assert proc.returncode == code, err
    assert message in err and f"--resume {out}" in err and "Traceback" not in err, err
    assert left == [], f"workers still running after {GONE_WITHIN_SECONDS} s: {left}"


@pytest.mark.slow
def test_sigkill_of_the_main_process_ends_every_worker(tmp_path: Path) -> None:
    """The workers notice that their parent died (PR_SET_PDEATHSIG, or the watchdog)."""
    proc, workers, _ = _start(tmp_path)
    proc.kill()
    try:
        proc.wait(timeout=30)
        left = _left_running(workers)
    finally:
        _kill_all(workers)
    assert left == [], f"workers still running after {GONE_WITHIN_SECONDS} s: {left}"


def test_the_watchdog_alone_ends_an_orphan(tmp_path: Path) -> None:
    """Without prctl (other platforms), the polling watchdog ends a worker whose parent died."""
    script = (
        "import os, sys, time\n"
        "from d2asim.experiments import orphans\n"
        "orphans._die_with_parent_linux = lambda: None\n"
        "if os.fork() == 0:\n"
        "    orphans.watch_parent()\n"
        "    print(os.getpid(), flush=True)\n"
        "    time.sleep(60)\n"
        "    sys.exit(0)\n"
        "time.sleep(60)\n"
    )
    parent = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    child = psutil.Process(int(parent.stdout.readline()))  # type: ignore[union-attr]
    parent.kill()
    parent.wait(timeout=30)
    try:
        left = _left_running([child])
    finally:
        _kill_all([child])
    assert left == []


TRUNCATED_RESULT = """
import multiprocessing, os, struct, sys, time
from concurrent.futures import ProcessPoolExecutor
from d2asim.experiments.executor import stop_workers

def send_half_a_result():
    # what a worker killed while sending a large result leaves: a header for 1,000 bytes, 10 of them
    os.write(pool._result_queue._writer.fileno(), struct.pack("!i", 1000) + b"x" * 10)
    written.set()
    time.sleep(60)

written = multiprocessing.Event()
pool = ProcessPoolExecutor(max_workers=1)
pool.submit(send_half_a_result)
if not written.wait(30):
    sys.exit("the worker did not start")
# the truncated result is in the pipe: the manager thread reads it before it sees the worker end
manager = pool._executor_manager_thread
stop_workers(pool)
manager.join(10)
sys.exit(1 if manager.is_alive() else 0)
"""


def test_a_worker_stopped_while_sending_a_result_does_not_hang_the_exit() -> None:
    """Ctrl-C can stop a worker half-way through writing its result to the pool's pipe; the
    pool's manager thread must not wait for the rest for ever (the run would never exit)."""
    proc = subprocess.run([sys.executable, "-c", TRUNCATED_RESULT], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, f"the pool's manager thread still waits for the result: {proc.stderr}"
