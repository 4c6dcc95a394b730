"""Time integrals of interval counts: the whole-day fast path equals the general one."""

from __future__ import annotations

import numpy as np

from d2asim.metrics import intervals
from d2asim.metrics.intervals import count_in, interval_integrals


def _general(starts: np.ndarray, ends: np.ndarray, bounds: np.ndarray) -> np.ndarray:
    """Direct definition: sum over intervals of the overlap with each period."""
    lo, hi = bounds[:-1, None], bounds[1:, None]
    s = np.where(np.isnan(starts), np.inf, starts)[None, :]
    e = np.nan_to_num(ends, nan=np.inf, posinf=np.inf)[None, :]
    return np.clip(np.minimum(e, hi) - np.maximum(s, lo), 0, None).sum(axis=1)


def test_daily_fast_path_equals_direct_definition() -> None:
    rng = np.random.default_rng(1)
    starts = rng.uniform(-5, 60, 3000)
    ends = starts + rng.exponential(4, 3000)
    starts[::50] = np.nan  # never started (no bed yet)
    ends[::7] = np.inf  # still open at the end
    starts[5], ends[5] = 10.0, 11.0  # exactly one whole day
    starts[6], ends[6] = 12.0, 12.0  # empty
    bounds = np.arange(0, 51, dtype=float)
    assert intervals._whole_days(bounds)
    fast = interval_integrals(starts, ends, bounds)
    assert np.allclose(fast, _general(starts, ends, bounds), atol=1e-9)
    odd = np.array([0.0, 7.5, 20.0, 50.0])  # not whole days: the sorting path
    assert not intervals._whole_days(odd)
    assert np.allclose(interval_integrals(starts, ends, odd), _general(starts, ends, odd), atol=1e-9)


def test_count_in_half_open_periods() -> None:
    assert list(count_in(np.array([0.0, 0.99, 1.0, 2.5, np.inf]), np.array([0.0, 1.0, 2.0, 3.0]))) == [2, 1, 1]


def test_daily_fast_path_with_only_multi_day_or_no_intervals() -> None:
    bounds = np.arange(0, 5, dtype=float)
    assert list(interval_integrals(np.array([0.5]), np.array([2.5]), bounds)) == [0.5, 1.0, 0.5, 0.0]
    assert list(interval_integrals(np.array([]), np.array([]), bounds)) == [0.0, 0.0, 0.0, 0.0]


def test_stable_order_is_numpys_stable_argsort() -> None:
    """The radix-sorted order of whole-number codes is the same permutation as a stable
    float sort, and anything that is not a small whole number is sorted as floats."""
    rng = np.random.default_rng(3)
    cases = [rng.integers(-3, 40, n).astype(float) for n in (0, 1, 17, 50_000)]
    cases += [np.array([1.5, 0.5, 1.5, np.nan, 2.0]), np.array([np.inf, 1.0, 1.0]), np.array([40_000.0, 2.0, 2.0])]
    for codes in cases:
        np.testing.assert_array_equal(intervals.stable_order(codes), np.argsort(codes, kind="stable"))


def test_one_period_integrals_are_the_clipped_durations_summed() -> None:
    rng = np.random.default_rng(4)
    starts = rng.uniform(-5, 60, 2000)
    ends = starts + rng.exponential(4, 2000)
    starts[::40] = np.nan
    ends[::9] = np.inf
    bounds = np.array([3.25, 47.5])
    keep = rng.random(2000) < 0.4
    of = intervals.selected_integrals(starts, ends, bounds)
    np.testing.assert_allclose(of(keep), _general(starts[keep], ends[keep], bounds), rtol=1e-12)
    np.testing.assert_allclose(interval_integrals(starts, ends, bounds), _general(starts, ends, bounds), rtol=1e-12)


def test_day_intervals_and_day_counts_by_group_equal_each_groups_rows_alone_bit_for_bit() -> None:
    """One pass for every group gives each group exactly (same bits) what its own rows
    give; rows in no group (-1, or past the last group) count nowhere."""
    rng = np.random.default_rng(4)
    n = 4000
    starts = rng.uniform(-3, 40, n)
    ends = starts + rng.exponential(3, n)
    starts[::37] = np.nan
    ends[::11] = np.inf
    groups = rng.integers(-1, 5, n)  # 4 groups, -1 and 4 in none
    bounds = np.arange(0, 31, dtype=float)
    grouped = intervals.DayIntervals(starts, ends, 0.0, 30).by(groups, 4)
    counts = intervals.DayCounts(ends, 0.0, 30).by(groups, 4)
    assert grouped.shape == counts.shape == (4, 30)
    for g in range(4):
        mine = groups == g
        assert np.array_equal(grouped[g], interval_integrals(starts[mine], ends[mine], bounds))
        assert np.array_equal(counts[g], count_in(ends[mine], bounds))
