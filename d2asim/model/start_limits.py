"""A service's limit on how many people it starts a day, by weekday.

Starts are booked in the order places are granted (first come, first served): a
patient whose earliest possible start falls on a day already fully booked starts at
the first later opening of the calendars on a day with room. One counter per day, no
per-event scanning.
"""

from __future__ import annotations

import math

from d2asim.model.calendar import OpenWindow, earliest_common

MAX_DAYS_AHEAD = 366  # a booking further ahead means the limits and calendars never meet


class StartLimit:
    """``limits``: most starts on each weekday, Monday first (None: no limit)."""

    __slots__ = ("limits", "first_weekday", "booked")

    def __init__(self, limits: tuple[int | None, ...], first_weekday: int) -> None:
        self.limits = limits
        self.first_weekday = first_weekday
        self.booked: dict[int, int] = {}

    def book(self, t: float, windows: list[OpenWindow]) -> float:
        """Earliest time >= ``t`` at which every calendar in ``windows`` is open on a day
        with a start left; that start is booked."""
        for _ in range(MAX_DAYS_AHEAD):
            t = earliest_common(t, windows) if windows else t
            day = math.floor(t)
            limit = self.limits[(self.first_weekday + day) % 7]
            taken = self.booked.get(day, 0)
            if limit is None or taken < limit:
                self.booked[day] = taken + 1
                return t
            t = day + 1.0
        raise ValueError("max_starts_per_day never allows a start while the calendars are open")
