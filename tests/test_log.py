"""The event log's compaction keeps every row, in order."""

from __future__ import annotations

import math

import numpy as np
import pytest

from d2asim.model.log import ACUTE_COLUMNS, EventLog


def _rows(first: int, n: int) -> list[tuple]:
    return [(i, 0, 1, i % 4, i + 0.25, i + 0.5, math.nan, math.inf, int(i % 3 == 0), i % 2, i % 5)
            for i in range(first, first + n)]  # fmt: skip


def test_flushed_blocks_and_remaining_rows_make_the_same_table() -> None:
    whole, flushed = EventLog(), EventLog()
    for first, n in ((1, 5), (6, 0), (6, 7), (13, 3)):
        whole.acute.extend(_rows(first, n))
        flushed.acute.extend(_rows(first, n))
        flushed.flush()
    flushed.acute.extend(_rows(16, 2))
    whole.acute.extend(_rows(16, 2))
    flushed.finish(20.0)
    expected = np.array(_rows(1, 17), dtype=float)
    for i, column in enumerate(ACUTE_COLUMNS):
        np.testing.assert_array_equal(flushed.table("acute")[column], expected[:, i])
        np.testing.assert_array_equal(whole.table("acute")[column], expected[:, i])
    assert flushed.table("services")["patient"].size == 0
    with pytest.raises(AttributeError):
        flushed.acute.append(_rows(30, 1)[0])  # type: ignore[attr-defined]
