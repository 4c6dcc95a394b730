"""Load and validate patient-level spells and downstream episodes (CSV files).

A **spell** is one row per hospital stay: ``spell_id``, ``admitted`` (got the acute
bed), ``discharge_ready`` (no longer meets the criteria to reside), ``discharged``
(left the bed), ``pathway`` (P0-P3), ``destination`` and ``age``; optionally
``source`` (``non_elective``, ``elective``, ``readmission``: which arrival stream the
admission belongs to). An **episode** is one row per downstream service episode:
``spell_id``, ``service`` (p1, p2, p3, home_care, care_home), ``start``, ``end`` and
``outcome`` (home, home_care, care_home, readmission, death).

Columns are matched by our names, or through ``columns`` mapping the file's own names
to ours (``{"AdmDate": "admitted", ...}``). Date-times are ISO 8601
(``2023-04-01 14:30``) or day-first (``01/04/2023 14:30``, English NHS extracts;
``dayfirst=False`` for month-first); a date alone means midnight.

Every row is either kept or counted as bad under exactly one reason (the first that
applies, in the order of :data:`SPELL_REASONS` / :data:`EPISODE_REASONS`); nothing is
dropped silently. A spell whose destination is death needs no discharge-ready time and
no pathway. Too few valid rows left raises :class:`ScenarioError` with one line naming
the file and the bad-row counts.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from d2asim.scenario.errors import ScenarioError
from d2asim.scenario.legacy import LEGACY_OUTCOME_ORDER, LEGACY_SERVICE_KINDS

SPELL_COLUMNS = ("spell_id", "admitted", "discharge_ready", "discharged", "pathway", "destination", "age", "source")
SPELL_REQUIRED = ("spell_id", "admitted", "discharged", "pathway")
EPISODE_COLUMNS = ("spell_id", "service", "start", "end", "outcome")
EPISODE_REQUIRED = EPISODE_COLUMNS
SOURCE_NAMES = ("non_elective", "elective", "readmission")

SPELL_REASONS = (
    "missing_spell_id",
    "duplicate_spell_id",
    "missing_date",
    "unparseable_date",
    "discharge_before_admission",
    "ready_before_admission",
    "ready_after_discharge",
    "unknown_pathway",
    "age_out_of_range",
    "unknown_source",
)
EPISODE_REASONS = (
    "missing_spell_id",
    "unknown_spell_id",
    "missing_date",
    "unparseable_date",
    "end_before_start",
    "unknown_service",
    "unknown_outcome",
)
MISSING_TOKENS = frozenset({"", "nan", "NaN", "NaT", "None", "none", "NA", "N/A", "n/a", "null", "NULL", "-"})
DEATH_WORDS = frozenset({"death", "died", "dead", "deceased", "died_in_hospital"})
MIN_AGE, MAX_AGE = 0, 120
DEFAULT_MIN_SPELLS = 100
DEFAULT_MIN_EPISODES = 20


class BadRows(Counter):
    """Bad rows by reason (a ``Counter``), with the file they came from, the number
    of rows read, and up to five example CSV line numbers per reason (line 1 is the
    header)."""

    def __init__(self, source: str = "", n_rows: int = 0) -> None:
        super().__init__()
        self.source = source
        self.n_rows = n_rows
        self.examples: dict[str, list[int]] = {}

    def add(self, reason: str, lines: np.ndarray) -> None:
        if len(lines):
            self[reason] += int(len(lines))
            self.examples.setdefault(reason, []).extend(int(i) for i in lines[: 5 - len(self.examples.get(reason, []))])

    @property
    def n_bad(self) -> int:
        return int(sum(self.values()))

    def summary(self) -> str:
        """``reason=count, ...`` largest first (``none`` when every row is valid)."""
        if not self:
            return "none"
        return ", ".join(f"{reason}={count}" for reason, count in self.most_common())

    def table(self) -> pd.DataFrame:
        """One row per reason: source, reason, count, example_lines (for the calibration report)."""
        rows = [
            {"source": self.source, "reason": reason, "count": count,
             "example_lines": " ".join(str(i) for i in self.examples.get(reason, []))}
            for reason, count in self.most_common()
        ]
        return pd.DataFrame(rows, columns=["source", "reason", "count", "example_lines"])


@dataclass
class SpellData:
    """Valid spells (``frame``) and what was rejected (``bad``).

    ``frame`` columns: spell_id (str), admitted, discharge_ready (NaT for deaths
    without one), discharged (datetime64), pathway (P0-P3; missing for deaths),
    destination (text; death, died, deceased... -> ``death``), died (bool), age (float, NaN if blank),
    source (str or None), line (CSV line number)."""

    frame: pd.DataFrame
    bad: BadRows
    path: str
    n_rows: int
    date_only: bool = False
    columns_present: tuple[str, ...] = field(default_factory=tuple)

    @property
    def n_valid(self) -> int:
        return len(self.frame)


@dataclass
class EpisodeData:
    """Valid downstream episodes (``frame``: spell_id, service, start, end, outcome,
    line) and what was rejected (``bad``)."""

    frame: pd.DataFrame
    bad: BadRows
    path: str
    n_rows: int
    date_only: bool = False

    @property
    def n_valid(self) -> int:
        return len(self.frame)


# ------------------------------------------------------------------- reading
def _read(source: str | Path | pd.DataFrame, name: str | None) -> tuple[pd.DataFrame, str]:
    """All cells as stripped text (missing tokens -> None), and the name for messages."""
    if isinstance(source, pd.DataFrame):
        where = name or "<spells table>"
        raw = source.copy()
        for col in raw.columns:
            values = raw[col]
            if pd.api.types.is_datetime64_any_dtype(values):
                raw[col] = values.dt.strftime("%Y-%m-%d %H:%M:%S").where(values.notna(), None)
    else:
        where = name or str(source)
        try:
            raw = pd.read_csv(source, dtype=str, keep_default_na=False, skipinitialspace=True)
        except FileNotFoundError:
            raise ScenarioError([f"{where}: file not found"]) from None
        except (OSError, UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
            raise ScenarioError([f"{where}: cannot read as CSV ({str(exc).splitlines()[0]})"]) from None
        raw.columns = [str(c).strip() for c in raw.columns]
    cells = {col: pd.Series([_cell(v) for v in raw[col].tolist()], dtype=object) for col in raw.columns}
    return pd.DataFrame(cells, columns=list(raw.columns)), where


def _cell(value: object) -> str | None:
    """Stripped text of one cell; None when missing."""
    if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NaT:
        return None
    text = str(value).strip()
    return None if text in MISSING_TOKENS else text


def _rename(raw: pd.DataFrame, columns: Mapping[str, str] | None, ours: tuple[str, ...],
            required: tuple[str, ...], where: str) -> pd.DataFrame:
    """Map the file's column names to ours; one error line for every problem."""
    mapping = dict(columns or {})
    problems = []
    unknown_targets = sorted({v for v in mapping.values() if v not in ours})
    if unknown_targets:
        problems.append(f"{where}: column mapping: unknown target {', '.join(map(repr, unknown_targets))} "
                        f"(allowed: {', '.join(ours)})")
    absent = [k for k in mapping if k not in raw.columns]
    if absent:
        problems.append(f"{where}: column mapping: no column {', '.join(map(repr, absent))} in the file "
                        f"(found: {', '.join(map(str, raw.columns))})")
    targets = Counter(mapping.values())
    twice = sorted(t for t, n in targets.items() if n > 1)
    if twice:
        problems.append(f"{where}: column mapping: several columns mapped to {', '.join(twice)}")
    if problems:
        raise ScenarioError(problems)
    renamed = raw.rename(columns=mapping)
    renamed = renamed.loc[:, ~renamed.columns.duplicated(keep="last")]  # a mapped column wins over a same-named one
    missing = [c for c in required if c not in renamed.columns]
    if missing:
        found = ", ".join(map(str, raw.columns))
        raise ScenarioError([f"{where}: missing column(s) {', '.join(missing)} "
                             f"(found: {found}; map yours with columns={{'YOUR_NAME': 'ours'}})"])
    return renamed


def _parse_dates(text: pd.Series, dayfirst: bool, date_format: str | None) -> pd.Series:
    """datetime64[ns] values; NaT where missing or unparseable, or outside the years
    datetime64[ns] can hold (1677-2262) (the caller tells them apart)."""
    if date_format is not None:
        return _nanoseconds(pd.to_datetime(text, format=date_format, errors="coerce"))
    parsed = _nanoseconds(pd.to_datetime(text, format="ISO8601", errors="coerce"))
    retry = parsed.isna() & text.notna()
    if retry.any():
        parsed[retry] = _nanoseconds(pd.to_datetime(text[retry], format="mixed", dayfirst=dayfirst, errors="coerce"))
    return parsed


def _nanoseconds(values: pd.Series) -> pd.Series:
    """``values`` as datetime64[ns], NaT where out of its range."""
    inside = values.notna() & (values >= pd.Timestamp.min) & (values <= pd.Timestamp.max)
    return values.where(inside).astype("datetime64[ns]")


def normalise_pathway(value: object) -> str | None:
    """``P1``, ``1``, ``1.0``, ``Pathway 1``, ``pathway_1`` -> ``"P1"``; None if not P0-P3."""
    value = _cell(value)
    if value is None:
        return None
    text = str(value).strip().lower().replace("pathway", "").replace("_", "").replace(" ", "").replace("-", "")
    if text.startswith("p"):
        text = text[1:]
    if text.endswith(".0"):
        text = text[:-2]
    return f"P{text}" if text in ("0", "1", "2", "3") else None


def _word(value: object) -> str | None:
    value = _cell(value)
    if value is None:
        return None
    return str(value).strip().lower().replace(" ", "_").replace("-", "_")


class _Checker:
    """Assigns each row at most one reason: the first check that fails."""

    def __init__(self, n: int, bad: BadRows, lines: np.ndarray) -> None:
        self.ok = np.ones(n, dtype=bool)
        self.bad = bad
        self.lines = lines

    def fail(self, reason: str, mask: np.ndarray | pd.Series) -> None:
        hit = self.ok & np.asarray(mask, dtype=bool)
        self.bad.add(reason, self.lines[hit])
        self.ok &= ~hit


def _date_checks(check: _Checker, frame: pd.DataFrame, names: list[str], optional: np.ndarray | None,
                 dayfirst: bool, date_format: str | None) -> dict[str, pd.Series]:
    """Parse date columns; flag missing (unless ``optional`` for that row, per column
    name in ``names`` ending with ``?``) and unparseable values."""
    parsed: dict[str, pd.Series] = {}
    missing = np.zeros(len(frame), dtype=bool)
    unparseable = np.zeros(len(frame), dtype=bool)
    for name in names:
        col = name.rstrip("?")
        if col not in frame.columns:
            parsed[col] = pd.Series(pd.NaT, index=frame.index, dtype="datetime64[ns]")
            continue
        text = frame[col]
        values = _parse_dates(text, dayfirst, date_format)
        parsed[col] = values
        absent = text.isna().to_numpy().copy()
        if name.endswith("?") and optional is not None:
            absent &= ~optional
        missing |= absent
        unparseable |= (text.notna() & values.isna()).to_numpy()
    check.fail("missing_date", missing)
    check.fail("unparseable_date", unparseable)
    return parsed


def _date_only(*columns: pd.Series) -> bool:
    values = pd.concat([c.dropna() for c in columns]) if columns else pd.Series(dtype="datetime64[ns]")
    return bool(len(values)) and bool((values == values.dt.normalize()).all())


def _enough(where: str, n_valid: int, n_rows: int, need: int, bad: BadRows) -> None:
    if n_valid < need:
        raise ScenarioError([f"{where}: only {n_valid} valid rows of {n_rows} (need at least {need}); "
                             f"bad rows: {bad.summary()}"])


# -------------------------------------------------------------------- spells
def load_spells(
    path: str | Path | pd.DataFrame,
    columns: Mapping[str, str] | None = None,
    min_valid: int = DEFAULT_MIN_SPELLS,
    *,
    dayfirst: bool = True,
    date_format: str | None = None,
    name: str | None = None,
) -> SpellData:
    """Read and validate patient-level spells (a CSV file, or a DataFrame named ``name``).

    Bad rows are counted by reason in ``SpellData.bad`` (see :data:`SPELL_REASONS`);
    duplicate spell ids keep the first row and count the others. Raises
    :class:`ScenarioError` (one line) when fewer than ``min_valid`` rows are valid,
    or (one line per problem) when required columns are missing.
    """
    raw, where = _read(path, name)
    frame = _rename(raw, columns, SPELL_COLUMNS, SPELL_REQUIRED, where)
    n = len(frame)
    lines = np.arange(n) + 2  # CSV line numbers: the header is line 1
    bad = BadRows(where, n)
    check = _Checker(n, bad, lines)

    ids = frame["spell_id"]
    check.fail("missing_spell_id", ids.isna())
    check.fail("duplicate_spell_id", ids.notna() & ids.duplicated(keep="first"))

    destination = frame["destination"].map(_word) if "destination" in frame else pd.Series(None, index=frame.index)
    died = destination.isin(DEATH_WORDS).to_numpy()
    date_names = ["admitted", "discharged", "discharge_ready?"]  # an absent optional column is all NaT
    dates = _date_checks(check, frame, date_names, died, dayfirst, date_format)
    admitted, discharged, ready = dates["admitted"], dates["discharged"], dates["discharge_ready"]

    check.fail("discharge_before_admission", (discharged < admitted).to_numpy())
    check.fail("ready_before_admission", (ready < admitted).to_numpy())
    check.fail("ready_after_discharge", (ready > discharged).to_numpy())

    pathway = frame["pathway"].map(normalise_pathway)
    check.fail("unknown_pathway", pathway.isna().to_numpy() & ~died)

    if "age" in frame:
        age = pd.to_numeric(frame["age"], errors="coerce")
        out_of_range = (frame["age"].notna() & (age.isna() | (age < MIN_AGE) | (age > MAX_AGE))).to_numpy()
        check.fail("age_out_of_range", out_of_range)
    else:
        age = pd.Series(np.nan, index=frame.index)

    if "source" in frame:
        source = frame["source"].map(_word).replace({"emergency": "non_elective", "nonelective": "non_elective"})
        check.fail("unknown_source", (source.notna() & ~source.isin(SOURCE_NAMES)).to_numpy())
    else:
        source = pd.Series(None, index=frame.index, dtype=object)

    keep = check.ok
    out = pd.DataFrame({
        "spell_id": ids[keep].astype(str).to_numpy(),
        "admitted": admitted[keep].to_numpy(),
        "discharge_ready": ready[keep].to_numpy(),
        "discharged": discharged[keep].to_numpy(),
        "pathway": pathway[keep].where(~died[keep], None).to_numpy(dtype=object),
        "destination": destination[keep].where(~died[keep], "death").to_numpy(dtype=object),
        "died": died[keep],
        "age": age[keep].astype(float).to_numpy(),
        "source": source[keep].to_numpy(dtype=object),
        "line": lines[keep],
    })
    _enough(where, len(out), n, min_valid, bad)
    return SpellData(out, bad, where, n, _date_only(out["admitted"], out["discharged"]),
                     tuple(c for c in SPELL_COLUMNS if c in frame.columns))


# ------------------------------------------------------------------ episodes
def load_episodes(
    path: str | Path | pd.DataFrame,
    columns: Mapping[str, str] | None = None,
    min_valid: int = DEFAULT_MIN_EPISODES,
    *,
    spell_ids: Iterable[object] | None = None,
    dayfirst: bool = True,
    date_format: str | None = None,
    name: str | None = None,
) -> EpisodeData:
    """Read and validate downstream episodes (a CSV file, or a DataFrame named ``name``).

    ``spell_ids`` (the valid spells' ids, e.g. ``SpellData.frame.spell_id``) adds the
    check that every episode belongs to a known spell. An episode without an end
    (still running) counts as ``missing_date``. Raises :class:`ScenarioError` when
    fewer than ``min_valid`` rows are valid.
    """
    raw, where = _read(path, name or (None if not isinstance(path, pd.DataFrame) else "<episodes table>"))
    frame = _rename(raw, columns, EPISODE_COLUMNS, EPISODE_REQUIRED, where)
    n = len(frame)
    lines = np.arange(n) + 2
    bad = BadRows(where, n)
    check = _Checker(n, bad, lines)

    ids = frame["spell_id"]
    check.fail("missing_spell_id", ids.isna())
    if spell_ids is not None:
        known = set(map(str, spell_ids))
        check.fail("unknown_spell_id", ids.notna() & ~ids.isin(known))
    dates = _date_checks(check, frame, ["start", "end"], None, dayfirst, date_format)
    start, end = dates["start"], dates["end"]
    check.fail("end_before_start", (end < start).to_numpy())
    service = frame["service"].map(_word)
    check.fail("unknown_service", ~service.isin(list(LEGACY_SERVICE_KINDS)).to_numpy())
    outcome = frame["outcome"].map(_word).replace({"died": "death", "dead": "death", "readmitted": "readmission"})
    check.fail("unknown_outcome", ~outcome.isin(LEGACY_OUTCOME_ORDER).to_numpy())

    keep = check.ok
    out = pd.DataFrame({
        "spell_id": ids[keep].astype(str).to_numpy(),
        "service": service[keep].to_numpy(dtype=object),
        "start": start[keep].to_numpy(),
        "end": end[keep].to_numpy(),
        "outcome": outcome[keep].to_numpy(dtype=object),
        "line": lines[keep],
    })
    _enough(where, len(out), n, min_valid, bad)
    return EpisodeData(out, bad, where, n, _date_only(out["start"], out["end"]))


__all__ = [
    "BadRows",
    "EpisodeData",
    "SpellData",
    "load_episodes",
    "load_spells",
    "normalise_pathway",
]
