"""SimPy's environment with a fast path for the model's callbacks.

The model moves patients with callbacks, not a generator process each.
:meth:`CallbackEnvironment.call_after` schedules ``(time, NORMAL, eid, handler,
patient)``: SimPy's own queue entry ``(time, priority, eid, event)`` with the event
replaced by the handler and its argument, so there is no event object to build. Calls
and ordinary SimPy events (timeouts, processes) share SimPy's order (time, then
priority, then insertion); :meth:`~CallbackEnvironment.run_until` and
:meth:`~CallbackEnvironment.step` call a handler directly and leave any other event to
``simpy.Environment.step``.

Calls due on a later day than the current one (most of them: stays last days) wait in
a list per day instead of the heap, and move into the heap when the clock reaches their
day (an urgent "advance" entry at the day's start moves them). The heap then holds
about a day of entries, not every pending one, so it stays shallow and in cache however
large the flow. The order of entries is unchanged: it depends only on their (time,
priority, eid) keys, fixed when a call is scheduled.
"""

from __future__ import annotations

import itertools
import math
from collections import defaultdict
from collections.abc import Callable, Iterator
from heapq import heapify, heappop, heappush
from typing import Any, cast

import simpy
from simpy.events import NORMAL, URGENT

Arrivals = tuple[list[float], Callable[[int], None]]
CALL_ENTRY_LENGTH = 5  # (time, priority, eid, handler, patient); SimPy's events have 4


def _no_arrival(index: int) -> None:
    raise AssertionError("no arrival stream")


class CallbackEnvironment(simpy.Environment):
    """A SimPy environment that also schedules plain ``handler(patient)`` calls.

    Calls are bucketed by whole time units (the model's days)."""

    def __init__(self, initial_time: float = 0) -> None:
        super().__init__(initial_time)
        self._later: defaultdict[int, list[tuple]] = defaultdict(list)  # day -> calls due that day
        self._near_end = float(math.floor(initial_time) + 1)  # calls due before it go straight to the heap
        self._advance_pending = False
        # SimPy's own heap (same list), which also holds this class's 5-tuple calls: SimPy types its entries
        # as 4-tuples ending in an Event
        self._heap = cast("list[tuple[Any, ...]]", self._queue)

    def call_after(self, delay: float, handler: Callable[[Any], None], patient: Any) -> None:
        """Call ``handler(patient)`` after ``delay`` time units, ordered as an event
        scheduled now with normal priority would be."""
        t = self._now + delay
        if t < self._near_end or t == math.inf:
            heappush(self._heap, (t, NORMAL, next(self._eid), handler, patient))
            return
        self._later[int(t)].append((t, NORMAL, next(self._eid), handler, patient))
        if not self._advance_pending:
            self._advance_pending = True
            heappush(self._heap, (self._near_end, URGENT, next(self._eid), self._advance, None))

    def _advance(self, _: object) -> None:
        """The clock reached ``_near_end`` (a whole day): move that day's calls into the heap."""
        moved = self._later.pop(int(self._near_end), None)
        if moved:
            self._heap.extend(moved)
            heapify(self._heap)
        self._near_end += 1.0
        self._advance_pending = bool(self._later)
        if self._advance_pending:
            heappush(self._heap, (self._near_end, URGENT, next(self._eid), self._advance, None))

    def pending_calls(self) -> Iterator[tuple[Callable[[Any], None], Any]]:
        """``(handler, patient)`` of every call scheduled with :meth:`call_after` and not
        yet made (any order)."""
        advance = self._advance
        for entry in itertools.chain(self._heap, *self._later.values()):
            if len(entry) == CALL_ENTRY_LENGTH and entry[3] != advance:
                yield entry[3], entry[4]

    def step(self) -> None:
        """Process the next entry: a call, or a SimPy event as ``Environment.step`` does."""
        if self._heap and len(self._heap[0]) == CALL_ENTRY_LENGTH:
            self._now, _, _, handler, patient = heappop(self._heap)
            handler(patient)
        else:
            super().step()

    def run_until(self, until: float, arrivals: Arrivals | None = None) -> None:
        """Process every entry scheduled before ``until`` (days); leave the clock at ``until``.

        ``arrivals`` is an external, pre-sorted stream (times, and a handler called
        with the arrival's index) merged into the loop instead of one scheduled event
        each; at equal times queued entries go first."""
        queue = self._heap
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
