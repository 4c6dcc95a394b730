"""The event log keeps every row, in order, whether written packed (the engine) or as tuples (by hand)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from d2asim.model.log import ACUTE_COLUMNS, EventLog, packer


def _rows(first: int, n: int) -> list[tuple]:
    return [(i, 0, 1, i % 4, i + 0.25, i + 0.5, math.nan, math.inf, i % 3 == 0, i % 2, i % 5)
            for i in range(first, first + n)]  # fmt: skip


def test_packed_rows_and_tuple_rows_make_the_same_table() -> None:
    by_hand, packed = EventLog(), EventLog()
    put, pack = packed.writer("acute"), packer("acute")
    for first, n in ((1, 5), (6, 0), (6, 7), (13, 3)):
        by_hand.acute.extend(_rows(first, n))
        for row in _rows(first, n):
            put(pack(*row))
    by_hand.finish(20.0)
    packed.finish(20.0)
    expected = np.array(_rows(1, 15), dtype=float)
    for i, column in enumerate(ACUTE_COLUMNS):
        np.testing.assert_array_equal(packed.table("acute")[column], expected[:, i])
        np.testing.assert_array_equal(by_hand.table("acute")[column], expected[:, i])
    assert packed.table("services")["patient"].size == 0
    assert not packed.table("acute")["patient"].flags.writeable


def test_a_finished_log_takes_no_more_rows() -> None:
    log = EventLog()
    put, pack = log.writer("acute"), packer("acute")
    put(pack(*_rows(1, 1)[0]))
    log.finish(20.0)
    with pytest.raises(BufferError):
        put(pack(*_rows(2, 1)[0]))
    with pytest.raises(AttributeError):
        log.acute.append(_rows(30, 1)[0])  # type: ignore[attr-defined]
    assert log.table("acute")["patient"].tolist() == [1.0]


def test_a_table_written_both_ways_is_refused() -> None:
    log = EventLog()
    put, pack = log.writer("acute"), packer("acute")
    put(pack(*_rows(1, 1)[0]))
    log.acute.append(_rows(2, 1)[0])
    with pytest.raises(ValueError, match="both packed and as tuples"):
        log.finish(20.0)
