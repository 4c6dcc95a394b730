"""Run replication tasks serially, on a local process pool, or on a Dask cluster.

Results are keyed by task and never depend on which worker ran what or in which
order they finished: every replication's random streams come from (seed,
replication, stream name) alone.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Hashable, Iterable
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass

from d2asim.experiments.orphans import watch_parent
from d2asim.runner import OnResult, ReplicationResult, Task, run_task

STOP_WAIT_SECONDS = 10.0


@dataclass(frozen=True)
class Backend:
    """Where replications run: ``workers`` local processes (1 = in this process) or a
    Dask scheduler at ``dask_address``. ``progress`` shows a bar on a terminal;
    ``listener(done, total)`` is called as each replication finishes (the web app's
    progress bar; an exception it raises stops the run, finished work kept)."""

    workers: int | None = None
    dask_address: str | None = None
    progress: bool = True
    listener: Callable[[int, int], None] | None = None

    def n_workers(self) -> int:
        return self.workers or os.cpu_count() or 1

    def run(self, tasks: Iterable[Task], on_result: OnResult | None = None) -> dict[Hashable, ReplicationResult]:
        """Run every task; ``on_result`` is called as each finishes (e.g. to save it)."""
        tasks = list(tasks)
        results: dict[Hashable, ReplicationResult] = {}
        bar = _progress_bar(len(tasks), self.progress)

        def collect(key: Hashable, result: ReplicationResult) -> None:
            results[key] = result
            if on_result is not None:
                on_result(key, result)
            bar.update(1)
            if self.listener is not None:
                self.listener(len(results), len(tasks))

        try:
            if self.dask_address is not None:
                _run_dask(tasks, self.dask_address, collect)
            elif self.n_workers() == 1 or len(tasks) <= 1:
                for task in tasks:
                    collect(*run_task(task))
            else:
                _run_pool(tasks, self.n_workers(), collect)
        finally:
            bar.close()
        return results


def _run_pool(tasks: list[Task], workers: int, collect: OnResult) -> None:
    """Run on local worker processes; on any exception (Ctrl-C, SIGTERM turned into an
    exception by the CLI, a dead worker) every worker is stopped before it propagates."""
    pool = ProcessPoolExecutor(max_workers=min(workers, len(tasks)), initializer=watch_parent)
    try:
        pending: set[Future[tuple[Hashable, ReplicationResult]]] = {pool.submit(run_task, t) for t in tasks}
        while pending:
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                collect(*future.result())
    except BaseException:
        stop_workers(pool)
        raise
    pool.shutdown(wait=True)


def stop_workers(pool: ProcessPoolExecutor) -> None:
    """Cancel what has not started and end the worker processes now."""
    processes = list((getattr(pool, "_processes", None) or {}).values())  # no public API before Python 3.14
    results = getattr(pool, "_result_queue", None)  # shutdown() drops the pool's reference to it
    pool.shutdown(wait=False, cancel_futures=True)
    for process in processes:
        process.terminate()
    for process in processes:
        process.join(STOP_WAIT_SECONDS)
        if process.is_alive():
            process.kill()
            process.join()
    if results is not None:
        # A worker ended while sending a result leaves part of it in the pipe, and the pool's
        # manager thread waits for the rest for ever (so would the interpreter's exit, which
        # joins that thread). With this process's end of the pipe closed too, it reads EOF,
        # marks the pool broken and ends.
        results._writer.close()


def _run_dask(tasks: list[Task], address: str, collect: OnResult) -> None:
    try:
        from dask.distributed import Client, as_completed
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise RuntimeError("--dask needs dask.distributed: pip install 'd2asim[dask]'") from exc
    with Client(address) as client:
        futures = client.map(run_task, tasks, pure=False)
        for future in as_completed(futures):
            collect(*future.result())


class _NoBar:
    def update(self, n: int) -> None:
        pass

    def close(self) -> None:
        pass


def _progress_bar(total: int, enabled: bool) -> _NoBar:
    """A tqdm bar (done/total, elapsed, ETA) on an interactive terminal, else nothing."""
    if not enabled or not sys.stderr.isatty():
        return _NoBar()
    from tqdm import tqdm

    return tqdm(total=total, unit="rep", file=sys.stderr)  # type: ignore[return-value]
