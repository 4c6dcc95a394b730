"""The append-only event log a replication produces, with its documented columns.

All times are on the simulation clock in **days** (day 0 = start of warm-up).
Episodes still open when the simulation stops have ``leave = inf`` (and ``admit``
or ``start = nan`` if they never got a bed or place). Metrics are pure functions
of this log (see :mod:`d2asim.metrics`).
"""

from __future__ import annotations

import itertools
import struct
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

# Where a patient is: a service code (0.., see d2asim.system.registry) or one of these.
HOME, DEAD, QUEUE, ACUTE = -1, -2, -3, -4
ACUTE_PLACE = -1  # ``place`` of a delay spent in an acute bed (else the service code)

# How a patient entered an acute episode.
SOURCES = ("non_elective", "elective", "readmission", "initial")

ACUTE_COLUMNS = ("patient", "source", "band", "pathway", "arrival", "admit", "ready", "leave", "died", "trust",
                 "borough")  # fmt: skip
SERVICE_COLUMNS = ("patient", "service", "band", "pathway", "request", "start", "end", "leave", "outcome", "trust",
                   "borough")  # fmt: skip
DELAY_COLUMNS = ("patient", "place", "cause", "pathway", "start", "end", "trust", "borough")
REABLEMENT_COLUMNS = ("patient", "discharged", "aged_65plus", "borough")
CARE_HOME_COLUMNS = ("time", "aged_65plus", "borough")


@dataclass
class EventLog:
    """Rows appended during a replication, converted to columns by :meth:`finish` (or
    on the first :meth:`table` call for a log made by hand).

    A table's rows are written one of two ways, never both: as tuples appended to its
    list (a log made by hand), or packed by a :meth:`writer` (the engine: each row goes
    straight into a byte buffer of 8-byte floats, so the log holds no Python objects and
    costs 8 bytes a value).

    Codes (service, cause, outcome, trust, borough) are those of the scenario's
    :class:`d2asim.system.registry.SystemRegistry`; ``trust`` and ``borough`` are the
    patient's trust and borough of residence (or out-of-area origin).

    acute
        one row per acute episode: patient id, source (index into SOURCES), age band
        index, pathway index (0-3), arrival, admit, discharge-ready (nan if died
        before), leave, died (0/1), trust, borough.
    services
        one row per downstream episode: patient, service code, band, pathway,
        request (asked for the place), start, end (service finished), leave (left
        the place; > end when blocked waiting for the next place), outcome code,
        trust, borough.
    delays
        one row per delay segment of a discharge-ready patient: patient, place
        (ACUTE_PLACE or the code of the service being occupied), cause code (what
        was waited for), pathway, start, end, trust, borough.
    reablement_discharges
        one row per discharge from hospital into a service of a reablement kind:
        patient, discharge time, aged 65+ (0/1), borough. Where they were later is
        read from the other tables (:mod:`d2asim.metrics.whereabouts`).
    care_home_admissions
        one row per admission to a permanent care home (kind): time, aged 65+ (0/1), borough.
    escalation_open
        one row per daily escalation check of a trust: day, open (0/1), trust.
    """

    acute: list[tuple] = field(default_factory=list)
    services: list[tuple] = field(default_factory=list)
    delays: list[tuple] = field(default_factory=list)
    reablement_discharges: list[tuple] = field(default_factory=list)
    care_home_admissions: list[tuple] = field(default_factory=list)
    escalation_open: list[tuple] = field(default_factory=list)
    horizon: float = 0.0
    _tables: dict[str, dict[str, np.ndarray]] = field(default_factory=dict, repr=False)
    _blocks: dict[str, np.ndarray] = field(default_factory=dict, repr=False)
    _packed: dict[str, bytearray] = field(default_factory=dict, repr=False)

    def writer(self, name: str) -> Callable[[bytes], object]:
        """``put`` for table ``name``: ``put(packer(name)(*row))`` appends a row (two C
        calls: no tuple, and no float objects kept)."""
        return self._packed.setdefault(name, bytearray()).extend

    def table(self, name: str) -> dict[str, np.ndarray]:
        """Columns of table ``name`` as read-only float arrays (empty when no rows).

        Converted once and cached: call only after the run has finished."""
        if name not in self._tables:
            self._set_block(name, self._convert(name))
        return self._tables[name]

    def block(self, name: str) -> np.ndarray:
        """Table ``name`` as one read-only 2-D float array: a row per entry, the
        columns in ``TABLE_COLUMNS`` order (:meth:`table`'s columns are views of it)."""
        self.table(name)
        return self._blocks[name]

    @classmethod
    def of_blocks(cls, horizon: float, blocks: dict[str, np.ndarray]) -> EventLog:
        """A finished log holding these 2-D blocks, one per table (e.g. some rows of another log)."""
        log = cls(horizon=horizon)
        for name in TABLE_COLUMNS:
            log._set_block(name, blocks[name])
            setattr(log, name, ())
        return log

    def _set_block(self, name: str, data: np.ndarray) -> None:
        data.flags.writeable = False
        self._blocks[name] = data
        self._tables[name] = {c: data[:, i] for i, c in enumerate(TABLE_COLUMNS[name])}

    def finish(self, horizon: float) -> None:
        """End of the run: convert every table to columns and drop the rows."""
        self.horizon = horizon
        for name in TABLE_COLUMNS:
            self.table(name)
            setattr(self, name, ())  # appending after the run is an error

    def _convert(self, name: str) -> np.ndarray:
        width = len(TABLE_COLUMNS[name])
        rows, packed = getattr(self, name), self._packed.pop(name, None)
        if packed is not None and rows:
            raise ValueError(f"event log table {name!r} has rows both packed and as tuples")
        if packed is not None:  # shares the buffer's memory; a later write to it is an error (BufferError)
            return np.frombuffer(packed, dtype=float).reshape(-1, width)
        flat = np.fromiter(itertools.chain.from_iterable(rows), dtype=float, count=len(rows) * width)
        return flat.reshape(-1, width)


def packer(name: str) -> Callable[..., bytes]:
    """Packs one row of table ``name`` (its numbers in ``TABLE_COLUMNS`` order) as 8-byte floats."""
    return struct.Struct(f"{len(TABLE_COLUMNS[name])}d").pack


TABLE_COLUMNS = {
    "acute": ACUTE_COLUMNS,
    "services": SERVICE_COLUMNS,
    "delays": DELAY_COLUMNS,
    "reablement_discharges": REABLEMENT_COLUMNS,
    "care_home_admissions": CARE_HOME_COLUMNS,
    "escalation_open": ("day", "open", "trust"),
}
