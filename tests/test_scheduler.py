"""The callback scheduler keeps SimPy's order and semantics alongside ordinary SimPy events."""

from __future__ import annotations

import random
from collections.abc import Callable, Generator
from functools import partial

import pytest
import simpy

from d2asim.model.scheduler import CallbackEnvironment


def _plain_call_after(env: simpy.Environment, delay: float, handler: Callable[[str], None], arg: str) -> None:
    """The same call the plain SimPy way: a Timeout with a callback."""
    env.timeout(delay).callbacks.append(lambda _: handler(arg))


def _mixed(env: simpy.Environment, seen: list[tuple[float, str]]) -> None:
    """Calls and a SimPy process scheduled at the same times, interleaved."""
    call_after = env.call_after if isinstance(env, CallbackEnvironment) else partial(_plain_call_after, env)

    def note(name: str) -> None:
        seen.append((env.now, name))

    def process() -> Generator[simpy.Event, None, None]:
        yield env.timeout(1.0)
        note("process at 1")
        call_after(0.0, note, "call from process")
        yield env.timeout(1.0)
        note("process at 2")

    _plain_call_after(env, 1.0, note, "SimPy timeout at 1")
    call_after(1.0, note, "call A at 1")
    env.process(process())
    call_after(1.0, note, "call B at 1")
    call_after(2.0, note, "call at 2")
    call_after(5.0, note, "call at 5")


def _plain_simpy_order() -> list[tuple[float, str]]:
    env, seen = simpy.Environment(), []
    _mixed(env, seen)
    env.run(until=3.0)
    return seen


def test_run_until_keeps_simpy_order_for_calls_and_events() -> None:
    """Same time: insertion order, exactly as plain SimPy orders timeouts and process
    steps. Only entries before ``until`` run; the clock is left at ``until``."""
    env, seen = CallbackEnvironment(), []
    _mixed(env, seen)
    env.run_until(3.0)
    assert seen[0] == (1.0, "SimPy timeout at 1") and len(seen) == 7
    assert seen == _plain_simpy_order()
    assert env.now == 3.0


def test_simpy_run_processes_calls_through_step() -> None:
    env, seen = CallbackEnvironment(), []
    _mixed(env, seen)
    env.run(until=3.0)
    assert seen == _plain_simpy_order()


def test_arrivals_merge_after_queued_entries_at_equal_times() -> None:
    env, seen = CallbackEnvironment(), []
    env.call_after(1.0, lambda _: seen.append("queued at 1"), None)
    times = [0.5, 1.0, 2.5, 4.0]
    env.run_until(3.0, (times, lambda i: seen.append(f"arrival {times[i]}")))
    assert seen == ["arrival 0.5", "queued at 1", "arrival 1.0", "arrival 2.5"]


def test_a_failed_simpy_event_still_crashes_the_run() -> None:
    env = CallbackEnvironment()

    def failing() -> Generator[simpy.Event, None, None]:
        yield env.timeout(1.0)
        raise ValueError("boom")

    env.process(failing())
    with pytest.raises(ValueError, match="boom"):
        env.run_until(2.0)


def _cascade(env: simpy.Environment, seen: list[tuple[float, int]]) -> None:
    """Calls that schedule more calls days ahead, many on exact day boundaries (where
    waiting calls join the heap) and at equal times, alongside SimPy timeouts."""
    rng = random.Random(11)
    delays = [0.0, 0.25, 1.0, 2.0, 2.5, 3.0, 7.0]
    call_after = env.call_after if isinstance(env, CallbackEnvironment) else partial(_plain_call_after, env)
    counter = iter(range(10**6))

    def fire(label: int) -> None:
        seen.append((env.now, label))
        for _ in range(2 if len(seen) < 400 else 0):
            delay = rng.choice(delays) if rng.random() < 0.7 else rng.uniform(0, 10)
            if rng.random() < 0.2:
                _plain_call_after(env, delay, fire, next(counter))  # an ordinary SimPy timeout
            else:
                call_after(delay, fire, next(counter))

    for _ in range(5):
        call_after(rng.choice(delays), fire, next(counter))


def test_calls_waiting_for_later_days_keep_simpy_order() -> None:
    plain, seen, ran = simpy.Environment(), [], []
    _cascade(plain, seen)
    plain.run(until=40.0)
    env = CallbackEnvironment()
    _cascade(env, ran)
    env.run_until(40.0)
    assert len(seen) > 300 and len({t for t, _ in seen if t == int(t)}) > 10
    assert ran == seen
    stepped = CallbackEnvironment()
    by_step: list[tuple[float, int]] = []
    _cascade(stepped, by_step)
    stepped.run(until=40.0)
    assert by_step == seen


def test_pending_calls_are_those_not_yet_made() -> None:
    env, made = CallbackEnvironment(), []
    for delay in (0.5, 1.0, 2.5, 9.0, 30.0):
        env.call_after(delay, made.append, delay)
    env.timeout(5.0)  # an ordinary SimPy event is not a call
    env.run_until(2.0)
    assert made == [0.5, 1.0]
    assert sorted(patient for _, patient in env.pending_calls()) == [2.5, 9.0, 30.0]
