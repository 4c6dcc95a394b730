"""Weekly opening windows and calendar arrival rates on the simulation clock.

The clock counts **days** from the simulation start (``run.start_date`` minus the
warm-up); day 0 starts at midnight.
"""

from __future__ import annotations

import datetime as dt
import math

import numpy as np

from d2asim.scenario.names import as_windows
from d2asim.scenario.schedule import daily_values
from d2asim.scenario.schema import WEEKDAYS, ArrivalStream, WindowSpec

DAYS_PER_YEAR = 365.25


class OpenWindow:
    """Answers "when is the earliest time at or after ``t`` that this window is open?".

    ``window`` is one :class:`Window` or several (open when any of them is, e.g. other
    hours at weekends)."""

    def __init__(self, window: WindowSpec, first_weekday: int) -> None:
        windows = as_windows(window)
        self.always = any(w.always_open() for w in windows)
        # per weekday (Monday first): the opening intervals as day fractions, in order
        self.hours = [
            tuple(sorted((w.start_hour / 24.0, w.end_hour / 24.0) for w in windows if WEEKDAYS[d] in w.days))
            for d in range(7)
        ]
        self.first_weekday = first_weekday

    def next_open(self, t: float) -> float:
        """Earliest time >= ``t`` (days) inside the window."""
        if self.always:
            return t
        day = math.floor(t)
        frac = t - day
        hours = self.hours
        weekday = self.first_weekday + day
        for start, end in hours[weekday % 7]:  # today: before or inside one of its openings
            if frac < start:
                return day + start
            if frac < end:
                return t
        for k in range(1, 8):  # else the first opening of a later day
            opening = hours[(weekday + k) % 7]
            if opening:
                return day + k + opening[0][0]
        raise AssertionError("a window with at least one weekday is open within 8 days")


def earliest_common(t: float, windows: list[OpenWindow]) -> float:
    """Earliest time >= ``t`` at which every window is open (days)."""
    for _ in range(64):
        start = t
        for window in windows:
            t = window.next_open(t)
        if t == start:
            return t
    raise ValueError("the windows never overlap: check the discharge window and service start calendars")


def band_weights(stream: ArrivalStream, shares: dict[str, float], years: np.ndarray) -> np.ndarray:
    """Per time (rows) and age band (columns, in ``shares`` order): share x (1 + growth
    of the band) ** years. Rows sum to the demand multiplier; normalised, they are the
    age mix at that time."""
    growth = stream.growth_per_year
    rates = [growth.get(band, 0.0) if isinstance(growth, dict) else growth for band in shares]
    return np.asarray(list(shares.values())) * (1.0 + np.asarray(rates)) ** np.asarray(years)[:, None]


def daily_rates(
    stream: ArrivalStream, sim_start: dt.date, n_days: int, growth_from: dt.date | None = None,
    shares: dict[str, float] | None = None,
) -> np.ndarray:
    """Expected arrivals on each simulated day: per_day (as scheduled) x weekday x month
    multipliers x growth since ``growth_from`` (default sim_start): (1 + growth_per_year)
    ** years, or by age band the share-weighted sum of each band's ``shares`` x growth."""
    shares = shares or {"all": 1.0}
    dates = [sim_start + dt.timedelta(days=d) for d in range(n_days)]
    rates = daily_values(stream.per_day, sim_start, n_days)
    if stream.growth_per_year:
        origin = (growth_from or sim_start) - sim_start
        years = (np.arange(n_days) - origin.days) / DAYS_PER_YEAR
        rates *= band_weights(stream, shares, years).sum(axis=1)
    if stream.day_of_week is not None:
        rates *= np.array([stream.day_of_week[d.weekday()] for d in dates])
    if stream.month_of_year is not None:
        rates *= np.array([stream.month_of_year[d.month - 1] for d in dates])
    return rates


def arrival_times(
    stream: ArrivalStream, sim_start: dt.date, n_days: int, rng: np.random.Generator,
    growth_from: dt.date | None = None, shares: dict[str, float] | None = None,
) -> np.ndarray:
    """Sorted arrival times (days) of a Poisson process piecewise constant by day,
    with times of day from ``hour_of_day`` weights (uniform if absent)."""
    counts = rng.poisson(daily_rates(stream, sim_start, n_days, growth_from, shares))
    days = np.repeat(np.arange(n_days, dtype=float), counts)
    n = int(counts.sum())
    if stream.hour_of_day is None:
        within = rng.random(n)
    else:
        weights = np.asarray(stream.hour_of_day, dtype=float)
        hours = rng.choice(24, size=n, p=weights / weights.sum())
        within = (hours + rng.random(n)) / 24.0
    return np.sort(days + within, kind="stable")
