"""Time integrals of counts of intervals, the building block of every stock metric.

A stock (beds occupied, patients delayed, people waiting) is the number of open
intervals ``[start, end)`` at each time. Its integral over a period is in
patient-days (bed days when the intervals are bed stays).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

import numpy as np


def interval_integrals(starts: np.ndarray, ends: np.ndarray, boundaries: np.ndarray) -> np.ndarray:
    """Integral of the number of open intervals over each ``[b[i], b[i+1])`` (days).

    Intervals with ``nan`` start are ignored; ``inf`` ends stay open. Uses
    ``I(x) = sum_k w_k (x - t_k)`` over interval edges ``t_k <= x`` (``w = +1`` at
    a start, ``-1`` at an end), so the cost is one sort, not intervals x periods.
    """
    starts = np.asarray(starts, dtype=float)
    if starts.size == 0:  # no intervals (a scope without rows of this kind): zeros, as below
        return np.zeros(len(boundaries) - 1)
    if not _whole_days(boundaries):
        return selected_integrals(starts, ends, boundaries)(np.ones(starts.size, dtype=bool))
    days = DayIntervals(starts, ends, float(boundaries[0]), len(boundaries) - 1)
    return days.by(np.zeros(starts.size, dtype=np.int64), 1)[0]


class DayIntervals:
    """Intervals ``[start, end)`` (days) prepared once for their integrals over each of
    ``n_days`` whole days from day ``first_day``, under any grouping of their rows
    (:meth:`by`): clipped (``nan`` starts dropped, ``nan``/``inf`` ends at the last
    day's end), and split into a first and a last (partial) day and the whole days
    between. Each group's sums run over its rows in their order, so they give the same
    bits as that group's rows alone."""

    def __init__(self, starts: np.ndarray, ends: np.ndarray, first_day: float, n_days: int) -> None:
        s, e, rows = _clipped(np.asarray(starts, dtype=float), ends, first_day, first_day + n_days)
        valid = e > s
        s, e = s[valid] - first_day, e[valid] - first_day
        self.rows = rows[valid]
        self.n_days = n_days
        first = np.minimum(np.floor(s).astype(np.int64), n_days - 1)
        last = np.minimum(np.floor(e).astype(np.int64), n_days - 1)
        self.same = first == last
        other = ~self.same
        self.day_in_one = first[self.same]
        self.length_in_one = e[self.same] - s[self.same]
        self.first, self.last = first[other], last[other]
        self.on_first = (self.first + 1) - s[other]  # the part of the first day
        self.on_last = e[other] - self.last

    def by(self, groups: np.ndarray, n_groups: int) -> np.ndarray:
        """Integrals per group and day, shape ``(n_groups, n_days)``: group ``g`` holds
        the rows whose ``groups`` entry (one per row of the intervals given) is ``g``;
        other entries (-1) are in no group. O(rows) without sorting: partial days by
        weighted counts, the whole days between by a difference array."""
        n = self.n_days
        group = _grouped_rows(groups, self.rows, n_groups)
        cells = (n_groups + 1) * n
        out = np.bincount(group[self.same] * n + self.day_in_one, weights=self.length_in_one,
                          minlength=cells).astype(float)  # fmt: skip
        spanning = group[~self.same]
        at = spanning * n
        out += np.bincount(at + self.first, weights=self.on_first, minlength=cells)
        out += np.bincount(at + self.last, weights=self.on_last, minlength=cells)
        row = spanning * (n + 1)
        width = (n_groups + 1) * (n + 1)
        spans = np.bincount(row + self.first + 1, minlength=width) - np.bincount(row + self.last, minlength=width)
        out += np.cumsum(spans.reshape(n_groups + 1, n + 1), axis=1)[:, :n].ravel()
        return out.reshape(n_groups + 1, n)[:n_groups]


class DayCounts:
    """Event times prepared once for their counts on each of ``n_days`` whole days from
    day ``first_day``, under any grouping (:meth:`by`)."""

    def __init__(self, times: np.ndarray, first_day: float, n_days: int) -> None:
        times = np.asarray(times, dtype=float)
        self.rows = np.flatnonzero((times >= first_day) & (times < first_day + n_days))  # nan: in no day
        self.day = np.floor(times[self.rows] - first_day).astype(np.int64)
        self.n_days = n_days

    def by(self, groups: np.ndarray, n_groups: int) -> np.ndarray:
        """Counts per group and day, shape ``(n_groups, n_days)`` (``groups`` as in
        :meth:`DayIntervals.by`)."""
        group = _grouped_rows(groups, self.rows, n_groups)
        counts = np.bincount(group * self.n_days + self.day, minlength=(n_groups + 1) * self.n_days)
        return counts.reshape(n_groups + 1, self.n_days)[:n_groups]


def _grouped_rows(groups: np.ndarray, rows: np.ndarray, n_groups: int) -> np.ndarray:
    """The group of each of ``rows``, with rows in no group (-1, or ``n_groups`` and
    above) in one more group ``n_groups``, whose cells the caller drops."""
    group = np.asarray(groups, dtype=np.int64)[rows]
    group[(group < 0) | (group >= n_groups)] = n_groups
    return group


def selected_integrals(
    starts: np.ndarray, ends: np.ndarray, boundaries: np.ndarray
) -> Callable[[np.ndarray], np.ndarray]:
    """``of(keep)``: ``interval_integrals`` of the intervals the mask ``keep`` selects.

    One period (two boundaries): the sum of the kept intervals' durations clipped to it.
    More: by ``I(x)``, with the edges sorted once for every selection: a selection keeps
    its edges in that order (a stable sort of a subset is the subset of the stable
    sort), so its sums run in the same order and give the same bits."""
    s, e, rows = _clipped(np.asarray(starts, dtype=float), ends, boundaries[0], boundaries[-1])
    valid = e > s
    if len(boundaries) == 2:
        durations, kept_rows = (e - s)[valid], rows[valid]
        return lambda selected: np.array([durations[selected[kept_rows]].sum()])
    order = np.argsort(np.concatenate([s[valid], e[valid]]), kind="stable")
    times = np.concatenate([s[valid], e[valid]])[order]
    weights = np.concatenate([np.ones(valid.sum()), -np.ones(valid.sum())])[order]
    rows = rows[valid]

    def of(selected: np.ndarray) -> np.ndarray:
        chosen = selected[rows]
        mine = np.concatenate([chosen, chosen])[order]
        t, w = times[mine], weights[mine]
        cum_w = np.concatenate([[0.0], np.cumsum(w)])
        cum_wt = np.concatenate([[0.0], np.cumsum(w * t)])
        j = np.searchsorted(t, boundaries, side="right")
        return np.diff(boundaries * cum_w[j] - cum_wt[j])

    return of


def rows_by_code(codes: np.ndarray, wanted: Iterable[int]) -> dict[int, np.ndarray]:
    """Indices of the rows holding each ``wanted`` code, in row order (the rows a mask
    ``codes == code`` selects), from one stable sort instead of a mask per code."""
    order = stable_order(codes)
    ordered = codes[order]
    wanted = list(wanted)
    lo = np.searchsorted(ordered, wanted, side="left")
    hi = np.searchsorted(ordered, wanted, side="right")
    return {code: order[a:b] for code, a, b in zip(wanted, lo.tolist(), hi.tolist(), strict=True)}


def positions(codes: np.ndarray, wanted: Sequence[int]) -> np.ndarray:
    """Each row's position in ``wanted`` (distinct codes >= 0), -1 for any other code."""
    table = np.full(max(wanted, default=0) + 1, -1, dtype=np.int64)
    table[list(wanted)] = np.arange(len(wanted))
    values = np.asarray(codes).astype(np.int64)
    inside = (values >= 0) & (values < table.size)
    return np.where(inside, table[np.where(inside, values, 0)], -1)


def stable_order(codes: np.ndarray) -> np.ndarray:
    """``np.argsort(codes, kind="stable")`` for the log's code columns (whole numbers
    held as floats): sorted as 16-bit integers when they fit, which numpy does by radix
    sort in linear time. A stable order is unique, so it is the same permutation."""
    if bool(np.all(np.abs(codes) < 2**15)):  # (nan compares False: sorted as floats)
        small = codes.astype(np.int16)
        if np.array_equal(small, codes):
            return np.argsort(small, kind="stable")
    return np.argsort(codes, kind="stable")


def count_in(times: np.ndarray, boundaries: np.ndarray) -> np.ndarray:
    """Number of event ``times`` falling in each ``[b[i], b[i+1])`` (by day numbers for
    whole-day boundaries, without sorting)."""
    times = np.asarray(times, dtype=float)
    if _whole_days(boundaries):
        counts = DayCounts(times, float(boundaries[0]), len(boundaries) - 1)
        return counts.by(np.zeros(times.size, dtype=np.int64), 1)[0]
    times = np.sort(times)
    return np.diff(np.searchsorted(times, boundaries, side="left"))


def _clipped(starts: np.ndarray, ends: np.ndarray, lo: float, hi: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Starts and ends (days) of the intervals with a start, clipped to ``[lo, hi]``
    (``nan``/``inf`` ends at ``hi``), and their row numbers."""
    keep = ~np.isnan(starts)
    ends = np.asarray(ends, dtype=float)
    s = np.clip(starts[keep], lo, hi)
    ends = ends[keep]
    e = np.clip(np.where(np.isnan(ends), hi, ends), lo, hi)  # clip takes inf to hi
    return s, e, np.flatnonzero(keep)


def _whole_days(boundaries: np.ndarray) -> bool:
    """Boundaries one day apart starting on a whole day (the daily-series case)."""
    return len(boundaries) > 2 and float(boundaries[0]).is_integer() and bool(np.all(np.diff(boundaries) == 1.0))
