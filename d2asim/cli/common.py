"""Shared pieces of the command line: error reporting and the run options."""

from __future__ import annotations

import signal
import sys
import threading
from collections.abc import Callable, Iterator
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from functools import wraps
from typing import Any, TypeVar

import click

from d2asim.scenario.errors import ScenarioError

F = TypeVar("F", bound=Callable[..., Any])
EXIT_BAD_INPUT = 2


def reports_bad_input(func: F) -> F:
    """Print each :class:`ScenarioError` line to stderr and exit 2, never a traceback."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except ScenarioError as exc:
            for line in exc.lines:
                click.echo(f"error: {line}", err=True)
            sys.exit(EXIT_BAD_INPUT)

    return wrapper  # type: ignore[return-value]


def parse_reps(value: str | None) -> int | str | None:
    """``--reps``: a positive whole number or ``auto``."""
    if value is None or value == "auto":
        return value
    if value.isdigit() and int(value) > 0:
        return int(value)
    raise ScenarioError([f"--reps: must be a positive whole number or 'auto' (got {value!r})"])


def backend_options(func: F) -> F:
    """Options shared by every command that runs replications."""
    options = [
        click.option("--workers", type=click.IntRange(min=1), default=None,
                     help="local worker processes [default: all cores]"),
        click.option("--dask", "dask_address", default=None, metavar="ADDRESS",
                     help="run on an existing Dask cluster, e.g. tcp://10.0.0.5:8786"),
        click.option("--quiet", is_flag=True, help="no progress bar"),
    ]
    for option in reversed(options):
        func = option(func)
    return func




class Terminated(Exception):
    """SIGTERM arrived while replications were running."""


def _raise_terminated(signum: int, frame: object) -> None:
    raise Terminated


@contextmanager
def keeps_finished_work(folder: object, resume: str) -> Iterator[None]:
    """On Ctrl-C (exit 130), SIGTERM (exit 143) or a worker process that died (exit 1),
    stop every worker, say that the finished replications are kept in ``folder`` and
    how to ``resume``."""
    in_main_thread = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, _raise_terminated) if in_main_thread else None
    try:
        yield
    except KeyboardInterrupt:
        click.echo(f"\ninterrupted: finished replications are kept in {folder}; finish with: {resume}", err=True)
        sys.exit(130)
    except Terminated:
        click.echo(f"terminated (SIGTERM): finished replications are kept in {folder}; finish with: {resume}",
                   err=True)
        sys.exit(128 + signal.SIGTERM)
    except BrokenProcessPool:
        click.echo(f"error: a worker process died (out of memory or killed); finished replications are kept "
                   f"in {folder}; finish with: {resume}", err=True)
        sys.exit(1)
    finally:
        if in_main_thread:
            signal.signal(signal.SIGTERM, previous)


def reps_option(default_help: str = "replications [default: run.replications of the first scenario]") -> Any:
    return click.option("--reps", type=click.IntRange(min=1), default=None, help=default_help)
