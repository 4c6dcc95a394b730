"""A capacity-limited pool (beds, places, assessors) with a first-come first-served queue."""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class Pool(Generic[T]):
    """``capacity`` concurrent places (``math.inf`` for unlimited).

    ``request`` grants a place at once when one is free, otherwise queues the
    requester; ``release`` hands the freed place to the head of the queue. A grant
    calls ``on_granted(item)``; the caller decides when the place is used.
    """

    __slots__ = ("capacity", "busy", "queue")

    def __init__(self, capacity: float = math.inf) -> None:
        self.capacity = capacity
        self.busy = 0
        self.queue: deque[tuple[T, Callable[[T], None]]] = deque()

    def request(self, item: T, on_granted: Callable[[T], None]) -> None:
        if self.busy < self.capacity and not self.queue:
            self.busy += 1
            on_granted(item)
        else:
            self.queue.append((item, on_granted))

    def release(self) -> None:
        self.busy -= 1
        if self.queue:
            self._grant_waiting()

    def set_capacity(self, capacity: float) -> None:
        """Change capacity; places in use above a lowered capacity drain naturally."""
        self.capacity = capacity
        self._grant_waiting()

    def _grant_waiting(self) -> None:
        queue = self.queue
        while queue and self.busy < self.capacity:
            self.busy += 1
            item, on_granted = queue.popleft()
            on_granted(item)
