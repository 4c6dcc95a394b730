"""One trust's figures from the national extracts in ``calibration/data`` (every English
acute trust and council; provenance in ``calibration/data/SOURCES.md``).

Units: stocks are patients (or beds), means of daily values; flows are patients a day.
Days not submitted (blank, or an exact 0 in the daily SitRep series) are left out of
every mean and counted. Periods are whole months ``YYYY-MM..YYYY-MM``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd

from d2asim.calibration.config import PRESETS
from d2asim.scenario.errors import ScenarioError

#: The bundled data folder (a source checkout or an editable install).
DATA_DIR = Path(__file__).resolve().parents[2] / "calibration" / "data"
NCTR_FILE = "trust_nctr_daily_2022_2025.csv.gz"
DISCHARGED_FILE = "trust_discharged_daily_2022_2025.csv.gz"
BEDS_FILE = "trust_ga_beds_monthly_2022_2025.csv"
PATHWAY_FILE = "acute_sitrep_discharges_by_pathway_monthly.csv"
REASONS_FILE = "acute_sitrep_los14plus_delay_reasons_monthly.csv"
POPULATION_FILE = "la_adult_pop_reablement_2022_23.csv"
LIST_HINT = "`d2asim init --list-trusts` lists them"
BOROUGH_HINT = "`d2asim init --list-boroughs` lists them"


@cache
def _read(path: Path) -> pd.DataFrame:
    try:
        return pd.read_csv(path, dtype=str, keep_default_na=False)
    except FileNotFoundError:
        raise ScenarioError([f"{path}: file not found (the national extracts: calibration/data/SOURCES.md)"]) from None


def _numbers(frame: pd.DataFrame, columns: str | list[str]) -> pd.Series:
    """Sum of ``columns`` per row (blank or '-' cells skipped; NaN when every cell is blank)."""
    cols = [columns] if isinstance(columns, str) else columns
    return frame[cols].apply(pd.to_numeric, errors="coerce").sum(axis=1, min_count=1)


def parse_period(text: str, where: str = "--period") -> tuple[str, str]:
    """``YYYY-MM:YYYY-MM`` -> (start, end); one clear line when it is not that."""
    parts = text.split(":")
    try:
        start, end = (dt.datetime.strptime(p, "%Y-%m").strftime("%Y-%m") for p in parts)
    except ValueError:
        start = end = ""
    if len(parts) != 2 or not start or end < start:
        raise ScenarioError([f"{where}: must be two months START:END, e.g. 2022-04:2023-03 (got {text!r})"])
    return start, end


def months_between(start: str, end: str) -> list[str]:
    return [str(p) for p in pd.period_range(start, end, freq="M")]


@dataclass(frozen=True)
class Trust:
    """A trust as the national extracts describe it over ``start..end``."""

    code: str
    name: str
    region: str
    start: str
    end: str
    beds_by_month: dict[str, float]  # adult G&A beds available, monthly mean of daily 08:00 counts
    occupied_by_month: dict[str, float]
    nctr: float  # patients not meeting the criteria to reside, mean per day
    nctr_discharged: float  # of them, discharged each day (mean)
    nctr_remaining: float  # still in a bed at the end of the day (mean over days with both)
    days_used: int
    days_missing: int
    pathway_per_day: dict[str, float]  # P0, P1, P2, P3, P3b: discharges a day (Table 4)
    pathway_months: int
    waiting_los14: dict[str, float]  # P1, P2, P3: LoS 14+ NCTR patients a day waiting (Table 5)
    notes: list[str] = field(default_factory=list)
    #: NCTR discharges a day from the file's first day to the period's end (NaN: not
    #: submitted); never a day after ``end`` (the calendar, d2asim.calibration.init_calendar).
    discharged_daily: pd.Series = field(default_factory=lambda: pd.Series(dtype=float))

    @property
    def beds(self) -> float:
        return float(np.mean(list(self.beds_by_month.values())))

    @property
    def occupied(self) -> float:
        return float(np.mean(list(self.occupied_by_month.values())))

    @property
    def peak_beds(self) -> float:
        return float(max(self.beds_by_month.values()))


def trust_directory(data_dir: Path = DATA_DIR) -> pd.DataFrame:
    """code, name, region of every trust with acute discharge SitRep rows."""
    rows = _read(data_dir / PATHWAY_FILE)
    rows = rows[rows["level"] == "trust"]
    return (rows.sort_values("month").groupby("org_code").last()[["org_name", "region"]]
            .rename(columns={"org_name": "name"}).rename_axis("code").reset_index())


def load_trust(code: str, start: str, end: str, data_dir: Path = DATA_DIR) -> Trust:
    """The figures of trust ``code`` over the months ``start..end``."""
    directory = trust_directory(data_dir).set_index("code")
    if code not in directory.index:
        raise ScenarioError([f"--trust: unknown trust code {code!r}: no acute discharge SitRep rows in "
                             f"{PATHWAY_FILE} ({LIST_HINT})"])
    months = months_between(start, end)
    name, region = directory.loc[code, "name"], directory.loc[code, "region"]
    notes: list[str] = []

    beds = _read(data_dir / BEDS_FILE)
    beds = beds[beds["nhs_trust22_code"] == code]
    month = pd.to_datetime(beds["date"], format="%B %Y").dt.strftime("%Y-%m")
    beds = beds.assign(month=month)[month.isin(months)]
    available = dict(zip(beds["month"], _numbers(beds, "adult_general_acute_beds_available"), strict=True))
    occupied = dict(zip(beds["month"], _numbers(beds, "adult_general_acute_beds_occupied"), strict=True))
    available = {m: float(v) for m, v in sorted(available.items()) if v > 0}
    occupied = {m: float(v) for m, v in sorted(occupied.items()) if m in available and v > 0}
    if len(available) < len(months) / 2:
        raise ScenarioError([f"--trust: {code} has adult G&A beds for only {len(available)} of the {len(months)} "
                             f"months {start}..{end} in {BEDS_FILE} (choose another --period)"])

    day = _daily(code, data_dir, months)
    both = day.dropna()
    if len(both) < 28:
        raise ScenarioError([f"--trust: {code} has only {len(both)} days with NCTR and NCTR discharged in "
                             f"{start}..{end} ({NCTR_FILE}; choose another --period)"])

    paths = _read(data_dir / PATHWAY_FILE)
    paths = paths[(paths["org_code"] == code) & paths["month"].isin(months)]
    columns = PRESETS["sitrep_discharges_by_pathway_monthly"]["columns"]
    days_in = pd.to_datetime(paths["month"] + "-01").dt.days_in_month.to_numpy()
    per_day = {}
    for key, pathway in (("discharges_P0", "P0"), ("discharges_P1", "P1"), ("discharges_P2", "P2"),
                         ("discharges_P3", "P3"), ("discharges_P3b", "P3b")):
        values = _numbers(paths, columns[key]).to_numpy(dtype=float) / days_in
        per_day[pathway] = float(np.nanmean(values)) if np.isfinite(values).any() else 0.0
    if paths.empty:
        raise ScenarioError([f"--trust: {code} has no discharges by pathway (Table 4) in {start}..{end}: the "
                             f"table covers 2022-04..2024-01 (choose another --period)"])
    total = sum(per_day.values())
    if total > 0 and per_day["P0"] / total > 0.95:
        notes.append(f"{per_day['P0'] / total:.0%} of its SitRep discharges are P0: probably a reporting artefact "
                     "(P1-P3 flows may be under-recorded)")

    reasons = _read(data_dir / REASONS_FILE)
    reasons = reasons[(reasons["org_code"] == code) & reasons["month"].isin(months)]
    rcols = PRESETS["sitrep_los14_delay_reasons_monthly"]["columns"]
    waiting = {p: float(np.nanmean(_numbers(reasons, rcols[f"los14_waiting_{p}"]).to_numpy(dtype=float)))
               if not reasons.empty else 0.0 for p in ("P1", "P2", "P3")}
    waiting = {p: (0.0 if not np.isfinite(v) else v) for p, v in waiting.items()}

    return Trust(code=code, name=name, region=region, start=start, end=end, beds_by_month=available,
                 occupied_by_month=occupied, nctr=float(both["nctr"].mean()),
                 nctr_discharged=float(both["discharged"].mean()),
                 nctr_remaining=float((both["nctr"] - both["discharged"]).mean()), days_used=len(both),
                 days_missing=len(day) - len(both), pathway_per_day=per_day, pathway_months=len(paths),
                 waiting_los14=waiting, notes=notes, discharged_daily=_history(code, data_dir, months[-1]))


def _history(code: str, data_dir: Path, end: str) -> pd.Series:
    """NCTR discharges a day up to the last day of the month ``end``."""
    series = daily_series(code, data_dir)["discharged"]
    return series[series.index <= pd.Period(end, freq="M").end_time.normalize()]


def daily_series(code: str, data_dir: Path = DATA_DIR) -> pd.DataFrame:
    """Daily NCTR (``nctr``) and NCTR discharged (``discharged``) of one trust, every day
    of the files (NaN: blank or 0, i.e. not submitted)."""
    columns = {}
    for name, file, column in (("nctr", NCTR_FILE, "do_not_meet_criteria_to_reside"),
                               ("discharged", DISCHARGED_FILE, "discharged_total")):
        rows = _read(data_dir / file)
        rows = rows[rows["nhs_trust22_code"] == code]
        values = pd.Series(_numbers(rows, column).to_numpy(dtype=float), index=pd.to_datetime(rows["date"]))
        columns[name] = values[~values.index.duplicated()].where(lambda v: v > 0)  # 0 = not submitted
    return pd.DataFrame(columns).sort_index()


def _daily(code: str, data_dir: Path, months: list[str]) -> pd.DataFrame:
    """Daily NCTR and NCTR discharged of one trust in ``months`` (NaN: not submitted)."""
    first = pd.Timestamp(months[0] + "-01")
    last = pd.Timestamp(months[-1] + "-01") + pd.offsets.MonthEnd(1)
    return daily_series(code, data_dir).reindex(pd.date_range(first, last, freq="D"))


def latest_waiting(code: str, month: str, data_dir: Path = DATA_DIR) -> dict[str, float]:
    """Table 5's LoS 14+ NCTR patients a day waiting for P1, P2 and P3, in the latest
    month at or before ``month`` (zeros if the trust has none)."""
    rows = _read(data_dir / REASONS_FILE)
    rows = rows[(rows["org_code"] == code) & (rows["month"] <= month)].sort_values("month")
    columns = PRESETS["sitrep_los14_delay_reasons_monthly"]["columns"]
    if rows.empty:
        return {"P1": 0.0, "P2": 0.0, "P3": 0.0}
    last = rows.iloc[[-1]]
    values = {p: float(_numbers(last, columns[f"los14_waiting_{p}"]).iloc[0]) for p in ("P1", "P2", "P3")}
    return {p: (v if np.isfinite(v) else 0.0) for p, v in values.items()}


@dataclass(frozen=True)
class Borough:
    """A council's adult and 65+ populations (ASC-FR / ASCOF 2022-23)."""

    code: str
    name: str
    adults_18plus: int
    aged_65plus: int | None


def council_directory(data_dir: Path = DATA_DIR) -> pd.DataFrame:
    rows = _read(data_dir / POPULATION_FILE)
    return rows[rows["Code"].str.startswith("E")]


def load_boroughs(names: list[str], data_dir: Path = DATA_DIR) -> list[Borough]:
    """Councils by name or ONS code (case-insensitive)."""
    rows = council_directory(data_dir)
    out = []
    for wanted in names:
        hit = rows[(rows["LA_name"].str.lower() == wanted.lower()) | (rows["Code"].str.lower() == wanted.lower())]
        if hit.empty:
            raise ScenarioError([f"--borough: unknown council {wanted!r} in {POPULATION_FILE} ({BOROUGH_HINT})"])
        row = hit.iloc[0]
        over65 = pd.to_numeric(row["over_65_pop.x"], errors="coerce")
        out.append(Borough(row["Code"], row["LA_name"], int(float(row["population"])),
                           None if pd.isna(over65) else int(over65)))
    return out


def beds_occupied(code: str, month: str, data_dir: Path = DATA_DIR) -> float | None:
    """Adult G&A beds occupied (the UEC SitRep's monthly mean) of ``code`` in ``month``
    (YYYY-MM), or None if not published."""
    beds = _read(data_dir / BEDS_FILE)
    beds = beds[beds["nhs_trust22_code"] == code]
    beds = beds[pd.to_datetime(beds["date"], format="%B %Y").dt.strftime("%Y-%m") == month]
    values = _numbers(beds, "adult_general_acute_beds_occupied")
    values = values[values > 0]
    return float(values.iloc[0]) if len(values) else None


def latest_complete_period(code: str, data_dir: Path = DATA_DIR) -> tuple[str, str]:
    """The last 12 months with a Table 4 row for ``code`` (the table ends in 2024-01)."""
    rows = _read(data_dir / PATHWAY_FILE)
    months = sorted(rows.loc[rows["org_code"] == code, "month"])
    if not months:
        raise ScenarioError([f"--trust: unknown trust code {code!r}: no acute discharge SitRep rows in "
                             f"{PATHWAY_FILE} ({LIST_HINT})"])
    end = months[-1]
    return str(pd.Period(end, freq="M") - 11), end


def _national_daily(data_dir: Path, file: str, column: str) -> pd.DataFrame:
    """One daily national file: day x trust code (NaN: blank or 0, i.e. not submitted)."""
    rows = _read(data_dir / file)
    frame = pd.DataFrame({"code": rows["nhs_trust22_code"], "date": pd.to_datetime(rows["date"]),
                          "value": _numbers(rows, column)}).drop_duplicates(["code", "date"])
    return frame.pivot(index="date", columns="code", values="value").where(lambda v: v > 0)


@cache
def national_monthly(data_dir: Path = DATA_DIR, min_days: int = 10) -> dict[str, pd.DataFrame]:
    """Every trust's monthly series (``YYYY-MM`` rows, trust codes in columns):
    ``nctr_remaining`` (NCTR minus NCTR discharged, the mean over months of at least
    ``min_days`` valid days), ``beds_occupied`` and ``beds_available`` (adult G&A; NaN
    where not published or 0)."""
    day = (_national_daily(data_dir, NCTR_FILE, "do_not_meet_criteria_to_reside")
           - _national_daily(data_dir, DISCHARGED_FILE, "discharged_total"))
    month = day.resample("MS")
    remaining = month.mean().where(month.count() >= min_days)
    remaining.index = remaining.index.strftime("%Y-%m")
    beds = _read(data_dir / BEDS_FILE)
    beds = beds.assign(month=pd.to_datetime(beds["date"], format="%B %Y").dt.strftime("%Y-%m"))
    beds = beds.drop_duplicates(["nhs_trust22_code", "month"])

    def pivot(column: str) -> pd.DataFrame:
        values = beds.assign(value=_numbers(beds, column))
        return values.pivot(index="month", columns="nhs_trust22_code", values="value").sort_index().where(
            lambda v: v > 0)

    return {"nctr_remaining": remaining.sort_index(), "beds_occupied": pivot("adult_general_acute_beds_occupied"),
            "beds_available": pivot("adult_general_acute_beds_available")}
