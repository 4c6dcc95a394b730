"""SimPy's environment with a fast path for the model's callbacks.

The model moves patients with callbacks, not a generator process each.
:meth:`CallbackEnvironment.call_after` pushes ``(time, NORMAL, eid, handler,
patient)`` onto the environment's queue: SimPy's own entry ``(time, priority, eid,
event)`` with the event replaced by the handler and its argument, so there is no
event object to build. Calls and ordinary SimPy events (timeouts, processes) share
one queue and SimPy's order (time, then priority, then insertion);
:meth:`~CallbackEnvironment.run_until` and :meth:`~CallbackEnvironment.step` call a
handler directly and leave any other event to ``simpy.Environment.step``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from heapq import heappop, heappush
from typing import Any

import simpy
from simpy.events import NORMAL

Arrivals = tuple[list[float], Callable[[int], None]]
CALL_ENTRY_LENGTH = 5  # (time, priority, eid, handler, patient); SimPy's events have 4


def _no_arrival(index: int) -> None:
    raise AssertionError("no arrival stream")


class CallbackEnvironment(simpy.Environment):
    """A SimPy environment that also schedules plain ``handler(patient)`` calls."""

    def call_after(self, delay: float, handler: Callable[[Any], None], patient: Any) -> None:
        """Call ``handler(patient)`` after ``delay`` days, ordered as an event
        scheduled now with normal priority would be."""
        heappush(self._queue, (self._now + delay, NORMAL, next(self._eid), handler, patient))

    def step(self) -> None:
        """Process the next entry: a call, or a SimPy event as ``Environment.step`` does."""
        if self._queue and len(self._queue[0]) == CALL_ENTRY_LENGTH:
            self._now, _, _, handler, patient = heappop(self._queue)
            handler(patient)
        else:
            super().step()

    def run_until(self, until: float, arrivals: Arrivals | None = None) -> None:
        """Process every entry scheduled before ``until`` (days); leave the clock at ``until``.

        ``arrivals`` is an external, pre-sorted stream (times, and a handler called
        with the arrival's index) merged into the loop instead of one scheduled event
        each; at equal times queued entries go first."""
        queue = self._queue
        times, on_arrival = arrivals if arrivals is not None else ([], _no_arrival)
        n, k = len(times), 0
        while True:
            next_arrival = times[k] if k < n else math.inf
            if not queue or next_arrival < queue[0][0]:
                if next_arrival >= until:
                    break
                self._now = next_arrival
                k += 1
                on_arrival(k - 1)
                continue
            head = queue[0]
            if head[0] >= until:
                break
            if len(head) == CALL_ENTRY_LENGTH:
                heappop(queue)
                self._now = head[0]
                head[3](head[4])
            else:
                simpy.Environment.step(self)
        self._now = until
