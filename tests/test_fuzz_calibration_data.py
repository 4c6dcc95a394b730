"""Property-based fuzzing of calibration CSVs (Hypothesis, fixed seed).

Small synthetic files (a daily file with an organisation filter and a monthly file of
sums, as in ``test_calibration_aggregates``; patient-level spells from
:func:`d2asim.calibration.synthetic.synthetic_spells`) are mutated: columns deleted or
renamed, dates and values replaced by bad ones (dd/mm/yyyy, impossible dates, NaN, inf,
1e309, huge, negative, blank, text), rows duplicated or dropped, files truncated,
re-encoded (UTF-16, Latin-1), or given NUL or random bytes. Every case must either load,
with every bad row counted under a known reason and every series finite, or raise
ScenarioError with one line per problem naming the file or the config (the CLI prints
those lines and exits 2) -- never another exception, and never run past
CASE_SECONDS.

CI runs 250 aggregate and 120 spell cases; set D2ASIM_FUZZ_EXAMPLES
to run more once, e.g. ``D2ASIM_FUZZ_EXAMPLES=3000 pytest tests/test_fuzz_calibration_data.py``.
"""

from __future__ import annotations

import csv
import io
import os
import signal
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd
import yaml
from helpers import p1_only_scenario
from hypothesis import HealthCheck, event, given, seed, settings
from hypothesis import strategies as st
from test_calibration_aggregates import CONFIG, SCENARIO

from d2asim.calibration.aggregates import (
    DATE_REASONS,
    GAP_REASONS,
    VALUE_REASONS,
    check_enough,
    data_loss,
    load_observed,
)
from d2asim.calibration.config import load_config
from d2asim.calibration.spells import SPELL_REASONS, load_spells
from d2asim.calibration.synthetic import synthetic_spells
from d2asim.scenario.errors import ScenarioError
from d2asim.scenario.loader import validate_mapping

EXAMPLES = int(os.environ.get("D2ASIM_FUZZ_EXAMPLES", "0"))
CASE_SECONDS = 20
AGGREGATE_REASONS = {*DATE_REASONS, *VALUE_REASONS, *GAP_REASONS.values()}
BAD_DATES = ["", " ", "13/04/2022", "2022-02-30", "2022-13-01", "yesterday", "99999-01-01", "0000-01-01",
             "2022-04", "1e309", "NaT", "2022-04-01T25:00", "٢٠٢٢-٠٤-٠١"]
BAD_VALUES = ["", " ", "inf", "-inf", "Infinity", "+Inf", "1e309", "-1e309", "nan", "NaN", "-nan", "NA", "-1",
              "-0", "0", "1e300", "1.7e308", "1e12", "abc", "0x10", "1_000", "5,5", "٣", "1e-320", "--5", "5e"]


def _rows(text: str) -> list[list[str]]:
    return [list(r) for r in csv.reader(io.StringIO(text))]


DAYS = pd.date_range("2022-04-01", "2023-03-31")
MONTHS = pd.period_range("2022-04", "2023-03", freq="M").strftime("%Y-%m")
DAILY = [["org", "day", "nctr"], *[["TEST", f"{d:%Y-%m-%d}", str(i % 7 + 3)] for i, d in enumerate(DAYS)],
         *[["OTHER", f"{d:%Y-%m-%d}", "4"] for d in DAYS[:20]]]
MONTHLY = [["month", "p1a", "p1b"], *[[m, str(150 + i), "30"] for i, m in enumerate(MONTHS)]]


@st.composite
def cells(draw: st.DrawFn, pool: list[str]) -> str:
    """A bad cell: from ``pool`` or any float, written as Python would."""
    if draw(st.booleans()):
        return draw(st.sampled_from(pool))
    return repr(draw(st.floats(allow_nan=True, allow_infinity=True, width=64)))


@st.composite
def mutated(draw: st.DrawFn, base: list[list[str]], date_column: int, value_columns: list[int]) -> bytes:
    """``base`` (header + rows) after 1-3 mutations, then maybe re-encoded or damaged, as bytes."""
    rows = [r[:] for r in base]
    for _ in range(draw(st.integers(1, 3))):
        kind = draw(st.sampled_from(["delete_column", "rename_column", "dates", "values", "duplicate", "drop_rows",
                                     "short_row"]))
        width = len(rows[0])
        if kind == "delete_column" and width > 1:
            j = draw(st.integers(0, width - 1))
            rows = [[c for i, c in enumerate(r) if i != j] for r in rows]
        elif kind == "rename_column":
            j = draw(st.integers(0, width - 1))
            rows[0][j] = draw(st.sampled_from(["", "Day", rows[0][j] + " ", "nctr", "p1a", "x" * 300]))
        elif kind in ("dates", "values") and len(rows) > 1:
            columns = [date_column] if kind == "dates" else value_columns
            for _ in range(draw(st.integers(1, 40))):
                i, j = draw(st.integers(1, len(rows) - 1)), draw(st.sampled_from(columns))
                if j < len(rows[i]):
                    rows[i][j] = draw(cells(BAD_DATES if kind == "dates" else BAD_VALUES))
            if draw(st.booleans()):  # the same bad value in the whole column
                j, cell = draw(st.sampled_from(columns)), draw(cells(BAD_DATES if kind == "dates" else BAD_VALUES))
                rows = [rows[0], *[[cell if k == j else c for k, c in enumerate(r)] for r in rows[1:]]]
        elif kind == "duplicate" and len(rows) > 1:
            rows += rows[1: 1 + draw(st.integers(1, 30))]
        elif kind == "drop_rows" and len(rows) > 1:
            start = draw(st.integers(1, len(rows) - 1))
            del rows[start: start + draw(st.integers(1, len(rows)))]
        elif kind == "short_row" and len(rows) > 1:
            i = draw(st.integers(1, len(rows) - 1))
            rows[i] = rows[i][: draw(st.integers(0, len(rows[i])))] + ([] if draw(st.booleans()) else ["extra"])
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    data = buffer.getvalue()
    encoding = draw(st.sampled_from(["utf-8"] * 6 + ["utf-8-sig", "utf-16", "latin-1"]))
    if encoding == "latin-1":
        data = data.replace("org", "organisatión", 1)
    raw = data.encode(encoding, errors="replace")
    damage = draw(st.sampled_from(["none"] * 6 + ["truncate", "nul", "random", "empty"]))
    if damage == "truncate":
        raw = raw[: draw(st.integers(0, len(raw)))]
    elif damage == "nul":
        at = draw(st.integers(0, len(raw)))
        raw = raw[:at] + b"\x00" * draw(st.integers(1, 5)) + raw[at:]
    elif damage == "random":
        at = draw(st.integers(0, len(raw)))
        raw = raw[:at] + draw(st.binary(min_size=1, max_size=64)) + raw[at:]
    elif damage == "empty":
        raw = b""
    return raw


@contextmanager
def time_limit(seconds: int) -> Iterator[None]:
    """Fail (TimeoutError) instead of hanging."""

    def expire(signum: int, frame: object) -> None:
        raise TimeoutError(f"case took more than {seconds} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def assert_one_line_errors(exc: ScenarioError, *names: str) -> None:
    assert exc.lines and all("\n" not in line and "Traceback" not in line for line in exc.lines), exc.lines
    assert len(exc.lines) <= len(CONFIG["targets"]), exc.lines
    assert all(any(name in line for name in names) for line in exc.lines), exc.lines


def _kind(exc: ScenarioError) -> str:
    """The kind of refusal, for Hypothesis' statistics."""
    line = exc.lines[0]
    for words, kind in (("is not a column", "a column is missing"), ("missing column", "a column is missing"),
                        ("cannot read", "unreadable file"), ("no usable rows", "no usable rows"),
                        ("valid month", "too few valid months"), ("valid rows", "too few valid rows")):
        if words in line:
            return kind
    return line[:60]


def _fuzz_settings(default: int) -> settings:
    return settings(max_examples=EXAMPLES or default, deadline=None, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@seed(20261201)
@_fuzz_settings(250)
@given(st.sampled_from(["daily", "monthly"]), st.data())
def test_mutated_aggregate_csvs_load_with_counted_bad_rows_or_fail_in_one_line(which: str, data: st.DataObject) -> None:
    raw = data.draw(mutated(DAILY, 1, [2]) if which == "daily" else mutated(MONTHLY, 0, [1, 2]), label="file")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for name, rows in (("daily.csv", DAILY), ("monthly.csv", MONTHLY)):
            buffer = io.StringIO()
            csv.writer(buffer, lineterminator="\n").writerows(rows)
            (folder / name).write_text(buffer.getvalue())
        (folder / f"{which}.csv").write_bytes(raw)
        (folder / "small.yaml").write_text(yaml.safe_dump(SCENARIO))
        (folder / "cal.yaml").write_text(yaml.safe_dump(CONFIG))
        config_path = folder / "cal.yaml"
        with time_limit(CASE_SECONDS):
            try:
                config = load_config(config_path)
                observed = load_observed(config, config_path)
                loss = data_loss(config, observed)
                check_enough(config, observed, config_path)
            except ScenarioError as exc:
                assert_one_line_errors(exc, f"{which}.csv", str(config_path))
                event(f"refused: {_kind(exc)}")
                return
    event("loaded" + (" with bad rows" if any(observed.bad_rows.values()) else ""))
    for file, reasons in observed.bad_rows.items():
        assert set(reasons) <= AGGREGATE_REASONS, (file, reasons)
        assert all(isinstance(n, int) and n > 0 for n in reasons.values())
    for name, series in observed.series.items():
        values = series.to_numpy(dtype=float)
        assert values.size and np.isfinite(values).all() and (values >= 0).all(), name
    assert all(0 <= entry["months_lost_share"] <= 1 for entry in loss.values())


@lru_cache(maxsize=1)
def _spells_rows() -> list[list[str]]:
    scenario = validate_mapping(p1_only_scenario("spells", duration_days=120, warmup_days=0), "fuzz")
    spells, _ = synthetic_spells(scenario, seed=3)
    return _rows(spells.head(300).to_csv(index=False))


@seed(20261202)
@_fuzz_settings(120)
@given(st.data())
def test_mutated_spell_csvs_load_with_counted_bad_rows_or_fail_in_one_line(data: st.DataObject) -> None:
    base = _spells_rows()
    header = base[0]
    dates = [header.index(c) for c in ("admitted", "discharged")]
    values = [header.index(c) for c in ("age", "pathway") if c in header]
    raw = data.draw(mutated(base, data.draw(st.sampled_from(dates)), values or dates), label="file")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "spells.csv"
        path.write_bytes(raw)
        with time_limit(CASE_SECONDS):
            try:
                loaded = load_spells(path, min_valid=50)
            except ScenarioError as exc:
                assert_one_line_errors(exc, str(path))
                event(f"refused: {_kind(exc)}")
                return
    event("loaded" + (" with bad rows" if loaded.bad else ""))
    assert set(loaded.bad) <= set(SPELL_REASONS), dict(loaded.bad)
    assert loaded.n_valid >= 50
    assert loaded.frame["discharged"].notna().all() and (loaded.frame["discharged"] >= loaded.frame["admitted"]).all()
