"""Observed aggregate series: read mapped CSV files, count bad rows by reason, make months.

Every source (:class:`d2asim.calibration.config.Source`) is read as text, filtered
(e.g. to one trust), dated and parsed. Rows that cannot be used are counted by reason
and never silently dropped:

``missing_date``       the date cell is blank
``unparseable_date``   the date cell is not a date in ``date_format``
``duplicate_date``     a second row for a date already seen (the first is kept)
``missing_value``      a mapped value is blank (for a sum: every cell of it is blank)
``unparseable_value``  a mapped value is not a number
``non_finite_value``   ``nan``, ``inf``, ``Infinity`` or a number too large for a float (``1e309``)
``too_large_value``    above :data:`VALUE_LIMIT` (no hospital count comes near it)
``negative_value``     a count below zero
``zero_as_missing``    an exact zero where ``zero_is_missing`` says zeros mean "not submitted"
``missing_day``        (daily files) a day of the fit and test periods with no row at all
``missing_month``      (monthly files) a month of the fit and test periods with no row at all

A row is counted once per reason it shows (a row whose two series are both blank is
one ``missing_value`` row). Rows of other organisations (``filtered_out``) and rows
dated outside the fit and test periods (``outside_periods``) are not errors; they are
reported in the row counts. All values are converted to **per day** units: daily
rows as they are; monthly ``total`` rows divided by the days in the month. A file or
series left with no usable row is an error (one line). ``data_loss`` tells, per target,
the share of the periods' days and months without a valid value; above
:data:`d2asim.report.calibration_report.LOSS_WARNING_SHARE` the calibration report and the terminal say so.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from d2asim.calibration.config import CalibrationConfig, Source
from d2asim.report.calibration_report import LOSS_WARNING_SHARE
from d2asim.scenario.errors import ScenarioError

DATE_REASONS = ("missing_date", "unparseable_date", "duplicate_date")
VALUE_REASONS = ("missing_value", "unparseable_value", "non_finite_value", "too_large_value", "negative_value",
                 "zero_as_missing")
GAP_REASONS = {"daily": "missing_day", "monthly": "missing_month"}
VALUE_LIMIT = 1e9  # a count (or a sum of counts) per row
_NAN_WORDS = ("nan", "+nan", "-nan")


@dataclass
class SourceData:
    """One file read: its series (per day, indexed by date or by month ``YYYY-MM``)."""

    file: str
    frequency: str
    series: dict[str, pd.Series]
    bad_rows: dict[str, int]
    rows: dict[str, int]


@dataclass
class Observed:
    """Every observed series of a config, by name, with the bad-row counts per file."""

    series: dict[str, pd.Series] = field(default_factory=dict)
    frequency: dict[str, str] = field(default_factory=dict)
    bad_rows: dict[str, dict[str, int]] = field(default_factory=dict)
    rows: dict[str, dict[str, int]] = field(default_factory=dict)

    def monthly(self, name: str, min_days: int = 1) -> pd.Series:
        """Per-day monthly means indexed by ``YYYY-MM``; a daily series' month needs
        ``min_days`` valid days to count."""
        s = self.series[name]
        if self.frequency[name] == "monthly":
            return s.sort_index()
        return monthly_means(s, min_days)


def monthly_means(daily: pd.Series, min_days: int = 1) -> pd.Series:
    """Mean per day of each calendar month with at least ``min_days`` values."""
    if daily.empty:
        return pd.Series(dtype=float, index=pd.Index([], dtype=object))
    month = pd.DatetimeIndex(daily.index).strftime("%Y-%m")
    grouped = daily.groupby(month)
    means = grouped.mean()
    return means[grouped.size() >= min_days].sort_index()


def _parse_dates(text: pd.Series, source: Source) -> pd.Series:
    """Datetimes (NaT where unparseable) at day (daily) or first-of-month (monthly) resolution."""
    parsed = pd.to_datetime(text, format=source.date_format, errors="coerce") if source.date_format \
        else pd.to_datetime(text, errors="coerce", format="mixed")
    if source.frequency == "monthly":
        parsed = parsed.dt.to_period("M").dt.start_time
    return parsed.dt.normalize()


def _parse_values(frame: pd.DataFrame, columns: list[str]) -> tuple[pd.Series, pd.Series]:
    """Sum of ``columns`` per row (blank cells skipped) and the reason a row has no value."""
    numbers = pd.DataFrame(index=frame.index)
    reason = pd.Series("", index=frame.index, dtype=object)
    for column in columns:
        cell = frame[column].str.strip()
        value = pd.to_numeric(cell, errors="coerce")
        non_finite = cell.str.lower().isin(_NAN_WORDS) | np.isinf(value.to_numpy(dtype=float))
        reason[(cell != "") & value.isna() & ~non_finite] = "unparseable_value"
        reason[(reason == "") & non_finite] = "non_finite_value"
        numbers[column] = value.where(~non_finite)
    present = numbers.notna().any(axis=1)
    with np.errstate(over="ignore", invalid="ignore"):
        total = numbers.sum(axis=1, min_count=1)
    reason[(reason == "") & ~present] = "missing_value"
    reason[(reason == "") & ~np.isfinite(total.to_numpy(dtype=float))] = "non_finite_value"
    reason[(reason == "") & (total.abs() > VALUE_LIMIT)] = "too_large_value"
    return total.where(reason == ""), reason


def read_source(source: Source, where: str, base_dir: Path, trust: str,
                window: tuple[pd.Timestamp, pd.Timestamp]) -> SourceData:
    """Read one mapped CSV; ``where`` names the config field in error messages;
    ``window`` is the first and last day of the fit and test periods."""
    path = base_dir / source.file
    if not path.is_file():
        raise ScenarioError([f"{where}.file: file not found: {path}"])
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (OSError, UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise ScenarioError([f"{where}.file: cannot read {path} ({str(exc).splitlines()[0]})"]) from None
    _check_columns(source, where, path, list(frame.columns))
    counts = {"read": len(frame)}
    for column, value in source.filter.items():
        frame = frame[frame[column].str.strip() == value.replace("{trust}", trust)]
    counts["filtered_out"] = counts["read"] - len(frame)
    bad = dict.fromkeys(DATE_REASONS + VALUE_REASONS, 0)
    text = frame[source.date_column].str.strip()
    dates = _parse_dates(text, source)
    bad["missing_date"] = int((text == "").sum())
    bad["unparseable_date"] = int(((text != "") & dates.isna()).sum())
    frame, dates = frame[dates.notna()], dates[dates.notna()]
    inside = (dates >= window[0]) & (dates <= window[1])
    counts["outside_periods"] = int((~inside).sum())
    frame, dates = frame[inside], dates[inside]
    duplicate = dates.duplicated(keep="first")
    bad["duplicate_date"] = int(duplicate.sum())
    frame, dates = frame[~duplicate], dates[~duplicate]
    bad[GAP_REASONS[source.frequency]] = _calendar_gaps(dates, source.frequency, window)
    series, row_reasons = _series(frame, dates, source)
    for reason in VALUE_REASONS:
        bad[reason] = int(sum(1 for reasons in row_reasons if reason in reasons))
    counts["used"] = int(sum(1 for reasons in row_reasons if not reasons))
    bad = {k: v for k, v in bad.items() if v}
    for name, values in series.items():
        if values.empty:
            spec = source.columns[name]
            raise ScenarioError([f"{where}.columns.{name}: no usable rows for {spec!r} in {path} (rows: "
                                 f"{_counts_text(counts)}; bad rows: {_counts_text(bad) or 'none'})"])
    return SourceData(source.file, source.frequency, series, bad, counts)


def _calendar_gaps(dates: pd.Series, frequency: str, window: tuple[pd.Timestamp, pd.Timestamp]) -> int:
    """Days (daily) or months (monthly) of ``window`` with no dated row."""
    if frequency == "monthly":
        expected = pd.period_range(window[0], window[1], freq="M")
        return int(len(expected) - expected.isin(dates.dt.to_period("M")).sum())
    expected_days = pd.date_range(window[0], window[1], freq="D")
    return int(len(expected_days) - expected_days.isin(dates).sum())


def _counts_text(counts: dict[str, int]) -> str:
    return ", ".join(f"{k} {v}" for k, v in counts.items())


def _series(frame: pd.DataFrame, dates: pd.Series, source: Source) -> tuple[dict[str, pd.Series], list[set[str]]]:
    """Each mapped series (per day) and, per row, the set of reasons any of its values failed."""
    row_reasons: list[set[str]] = [set() for _ in range(len(frame))]
    series: dict[str, pd.Series] = {}
    days = dates.dt.days_in_month.to_numpy() if source.frequency == "monthly" else np.ones(len(dates))
    for name, spec in source.columns.items():
        values, reason = _parse_values(frame, [spec] if isinstance(spec, str) else list(spec))
        reason[(reason == "") & (values < 0)] = "negative_value"
        if source.zero_is_missing:
            reason[(reason == "") & (values == 0)] = "zero_as_missing"
        for i, r in enumerate(reason.to_numpy()):
            if r:
                row_reasons[i].add(r)
        per_day = values.to_numpy(dtype=float) / (days if source.values == "total" else 1.0)
        keep = (reason == "").to_numpy()
        index = pd.DatetimeIndex(dates.to_numpy()[keep])
        if source.frequency == "monthly":
            index = index.strftime("%Y-%m")
        series[name] = pd.Series(per_day[keep], index=index, name=name).sort_index()
    return series, row_reasons


def _check_columns(source: Source, where: str, path: Path, present: list[str]) -> None:
    wanted = [(f"{where}.date_column", source.date_column)]
    wanted += [(f"{where}.filter.{c}", c) for c in source.filter]
    for name, spec in source.columns.items():
        wanted += [(f"{where}.columns.{name}", c) for c in ([spec] if isinstance(spec, str) else spec)]
    for field_path, column in wanted:
        if column not in present:
            shown = ", ".join(present[:12]) + (", ..." if len(present) > 12 else "")
            raise ScenarioError([f"{field_path}: {column!r} is not a column of {path.name} (allowed: {shown})"])


def load_observed(config: CalibrationConfig, config_path: Path, code: str | None = None) -> Observed:
    """Read every source of ``config`` and compute its derived series (``code`` fills
    ``{trust}`` in the filters; default the config's ``trust``)."""
    periods = [p for p in (config.fit_period, config.test_period) if p is not None]
    window = (pd.Timestamp(periods[0].first_day()), pd.Timestamp(periods[-1].last_day()))
    observed = Observed()
    for key, source in config.data.items():
        got = read_source(source, f"{config_path}: data.{key}", config_path.parent, code or config.trust, window)
        observed.bad_rows[got.file] = got.bad_rows
        observed.rows[got.file] = got.rows
        for name, s in got.series.items():
            observed.series[name], observed.frequency[name] = s, got.frequency
    for name, d in config.derived.items():
        a, b = observed.series[d.from_], observed.series[d.minus]
        joined = (a - b).dropna()
        negative = joined < 0
        if negative.any():
            observed.bad_rows[f"derived:{name}"] = {"negative_value": int(negative.sum())}
        if not (~negative).any():
            raise ScenarioError([f"{config_path}: derived.{name}: no day or month where both {d.from_!r} and "
                                 f"{d.minus!r} have a value (and their difference is not negative)"])
        observed.series[name], observed.frequency[name] = joined[~negative], observed.frequency[d.from_]
    return observed


def data_loss(config: CalibrationConfig, observed: Observed) -> dict[str, dict[str, object]]:
    """Per target: the days (daily series) and months of the fit and test periods, how
    many have a valid value, the share lost, and ``warning`` when a share lost is above
    :data:`~d2asim.report.calibration_report.LOSS_WARNING_SHARE`."""
    periods = [p for p in (config.fit_period, config.test_period) if p is not None]
    months = [m for p in periods for m in pd.period_range(p.start, p.end, freq="M").strftime("%Y-%m")]
    out: dict[str, dict[str, object]] = {}
    for target in config.targets:
        name = config.observed_name(target)
        valid_months = observed.monthly(name, config.min_days_per_month).index.isin(months).sum()
        lost = [1 - valid_months / len(months)]  # the share of months, then of days, without a value
        entry: dict[str, object] = {"months": len(months), "valid_months": int(valid_months),
                                    "months_lost_share": lost[0]}
        if observed.frequency[name] == "daily":
            days = pd.DatetimeIndex(observed.series[name].index).strftime("%Y-%m").isin(months).sum()
            expected = sum(pd.Period(m, freq="M").days_in_month for m in months)
            lost.append(1 - days / expected)
            entry.update(days=expected, valid_days=int(days), days_lost_share=lost[1])
        entry["warning"] = bool(max(lost) > LOSS_WARNING_SHARE)
        out[target] = entry
    return out


def in_period(monthly: pd.Series, start: str, end: str) -> pd.Series:
    """The months ``start..end`` (``YYYY-MM``, inclusive) of a monthly series."""
    return monthly[(monthly.index >= start) & (monthly.index <= end)]


def check_enough(config: CalibrationConfig, observed: Observed, config_path: Path) -> dict[str, pd.Series]:
    """Monthly observed series of every target in the fit period; fails with one line
    per target when fewer than ``min_valid_months`` valid months are left."""
    problems, out = [], {}
    fit = config.fit_period
    for target in config.targets:
        name = config.observed_name(target)
        months = in_period(observed.monthly(name, config.min_days_per_month), fit.start, fit.end)
        if len(months) < config.min_valid_months:
            bad = observed.bad_rows
            problems.append(
                f"{config_path}: targets.{target}: only {len(months)} valid month(s) of {name!r} in fit_period "
                f"{fit.label()} (need {config.min_valid_months}"
                + (f"; a month needs {config.min_days_per_month} valid days" if observed.frequency[name] == "daily"
                   else "") + f"; bad rows: {_bad_text(bad)})")
        out[target] = months
    if problems:
        raise ScenarioError(problems)
    return out


def _bad_text(bad: dict[str, dict[str, int]]) -> str:
    parts = [f"{file} {reason} {n}" for file, reasons in bad.items() for reason, n in reasons.items()]
    return "; ".join(parts) or "none"


BED_BASE = "beds_available"  # the observed series a calibration's acute beds follow


def bed_schedule(monthly: pd.Series) -> dict[str, Any]:
    """``acute.beds`` as a dated schedule following observed monthly beds available
    (``YYYY-MM`` index, beds): the first month's value (rounded) as the base, and a
    change on the 1st of every later month whose rounded value differs."""
    values = [(month, round(float(v))) for month, v in monthly.sort_index().items() if pd.notna(v) and v >= 1]
    if not values:
        raise ValueError("no month with beds available")
    base = last = values[0][1]
    changes = []
    for month, beds in values[1:]:
        if beds != last:
            changes.append({"from": f"{month}-01", "value": beds})
            last = beds
    return {"base": base, "changes": changes}



def admissions_schedule(per_day: float, monthly_beds: pd.Series, fit_months: pd.Index) -> dict[str, Any]:
    """``arrivals.non_elective.per_day`` following the bed base: ``per_day`` x each month's
    beds available / their mean over ``fit_months`` (``YYYY-MM``), as a dated schedule (the
    first month's value as the base, a change on the 1st of every later month), so the
    fit months' mean stays ``per_day``."""
    beds = monthly_beds.sort_index().dropna()
    beds = beds[beds >= 1]
    level = float(beds.reindex(fit_months).dropna().mean())
    if not beds.size or not level > 0:
        raise ValueError("no fit month with beds available")
    values = [(month, round(per_day * float(v) / level, 4)) for month, v in beds.items()]
    return {"base": values[0][1], "changes": [{"from": f"{m}-01", "value": v} for m, v in values[1:]]}
