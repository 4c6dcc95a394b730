"""The calendar of ``d2asim init``'s scenario, from a trust's daily NCTR discharges.

The acute discharge SitRep's ``discharged_total`` (patients discharged a day after being
recorded as not meeting the criteria to reside) is the only daily flow in the national
extracts, so it stands in for two things it is not exactly:

- **the weekday discharge profile**: the share of a week's discharges on each weekday
  (days submitted only), made where patients are declared ready: a board round confirms
  a share ``p_d`` of the patients whose treatment has ended (``acute.board_round_confirms``),
  by the recurrence of ``scenarios/baseline.yaml``'s header, with the day whose
  constraint binds (Friday for RKE) at 1; and the mean time the rounds add before a
  patient is declared ready, computed exactly for those windows and shares;
- **the month-of-year profile and growth of admissions**: a log-linear fit of the
  weekday-adjusted monthly means (one annual harmonic, and a linear trend over 2 years
  or more), the harmonic shrunk by its signal-to-noise ratio and the trend kept only
  when it is 2 standard errors from 0. Only data up to the period's end are used.

Every figure comes back with the text of its comment in the scenario's header.
"""

from __future__ import annotations

import math
import textwrap
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from d2asim.model.calendar import DAYS_PER_YEAR, OpenWindow
from d2asim.scenario.schema import WEEKDAYS, Window

#: The baseline's board rounds (ASSUMPTION): weekdays 08-12, Saturday 08-10, Sunday 09-10.
BOARD_ROUNDS = (Window(days=("Mon", "Tue", "Wed", "Thu", "Fri"), start_hour=8, end_hour=12),
                Window(days=("Sat",), start_hour=8, end_hour=10),
                Window(days=("Sun",), start_hour=9, end_hour=10))
MIN_DAYS_PER_WEEKDAY = 8  # submitted days of each weekday for a weekday profile
MIN_MONTHS = 12  # months with MIN_DAYS_PER_MONTH submitted days for a month profile ...
MIN_CALENDAR_MONTHS = 10  # ... covering at least this many calendar months
MIN_DAYS_PER_MONTH = 15
MIN_GROWTH_MONTHS = 24  # a trend only over two years or more
GROWTH_SE = 2.0  # ... and only when it is this many standard errors from 0 ...
MAX_GROWTH = 0.10  # ... and at most 10% a year: a faster change is a step (merger, recording), not growth
NOISE_RATIO = 3.0  # monthly noise above 3 x Poisson's: recording changes dominate the series, no profile
GRID = 7 * 24 * 60  # treatment ends on a one-minute grid over the week


@dataclass(frozen=True)
class Weekdays:
    """The weekday profile and the board-round shares that make it (Monday first)."""

    shares: tuple[float, ...] | None  # observed share of the week's discharges, None: fallback
    ci: tuple[tuple[float, float], ...] | None  # 95% t-interval of each share over full weeks
    weeks: int  # full weeks (all 7 days submitted) behind the intervals
    days: int  # submitted days behind the shares
    inflow: tuple[float, ...]  # share of a week's treatment ends each day's first round meets
    confirms: tuple[float, ...]  # board_round_confirms
    made: tuple[float, ...]  # the shares the recurrence gives with those confirms
    delay_days: float  # mean time from treatment end to being declared ready
    note: str = ""
    smeared: float = 0.0  # share of discharges taken to fall evenly over the week (P1-P3, deaths)


@dataclass(frozen=True)
class Season:
    """The admission calendar: month multipliers (January first, mean 1) and growth."""

    month_of_year: tuple[float, ...] | None  # None: flat
    growth_per_year: float
    months: int  # monthly means used
    first: str  # first month used (YYYY-MM)
    last: str
    amplitude: float  # of the fitted harmonic before shrinking (log scale)
    f_stat: float  # the harmonic's F statistic (2 and months - k df)
    shrink: float  # max(0, 1 - 1/F)
    residual_sd: float  # of the log monthly means about the fit
    poisson_sd: float  # what Poisson counts alone would give
    trend: float  # fitted log growth a year (NaN if not fitted)
    trend_se: float
    notes: list[str] = field(default_factory=list)


def weekday_profile(discharged: pd.Series, smeared: float = 0.0,
                    windows: tuple[Window, ...] = BOARD_ROUNDS) -> Weekdays:
    """The observed weekday shares of ``discharged`` (a day, NaN: not submitted) and the
    board-round shares that reproduce them with ``windows``. A share ``smeared`` of the
    discharges (P1-P3, whose assessments and service calendars spread them over the week,
    and deaths) is taken to fall evenly on every weekday, so the rounds shape the rest:
    P0 shares = (observed - smeared / 7) / (1 - smeared)."""
    inflow = round_inflow(windows)
    days = discharged.dropna()
    weekday = pd.DatetimeIndex(days.index).day_of_week
    counts = days.groupby(weekday).size().reindex(range(7), fill_value=0)
    if counts.min() < MIN_DAYS_PER_WEEKDAY or days.sum() <= 0:
        short = ", ".join(f"{WEEKDAYS[d]} {counts[d]}" for d in range(7) if counts[d] < MIN_DAYS_PER_WEEKDAY)
        confirms: tuple[float, ...] = (1.0,) * 7
        return Weekdays(None, None, 0, len(days), inflow, confirms, inflow, board_round_delay(confirms, windows),
                        f"too few submitted days for a weekday profile (at least {MIN_DAYS_PER_WEEKDAY} of "
                        f"each weekday; {short or 'no discharges'}): every round confirms everyone")
    means = days.groupby(weekday).mean().reindex(range(7)).to_numpy(dtype=float)
    shares = tuple(float(v) for v in means / means.sum())
    weekly = _full_weeks(discharged)
    ci: tuple[tuple[float, float], ...] | None = None
    if len(weekly) >= 4:
        sw = weekly.div(weekly.sum(axis=1), axis=0)
        half = stats.t.ppf(0.975, len(sw) - 1) * sw.std(ddof=1) / math.sqrt(len(sw))
        ci = tuple((float(m - h), float(m + h)) for m, h in zip(sw.mean(), half, strict=True))
    p0 = np.clip((np.asarray(shares) - smeared / 7) / (1 - smeared), 1e-3, None)
    confirms, made_p0 = confirms_for(tuple(float(v) for v in p0 / p0.sum()), inflow)
    made = tuple(float((1 - smeared) * v + smeared / 7) for v in made_p0)
    return Weekdays(shares, ci, len(weekly), len(days), inflow, confirms, made,
                    board_round_delay(confirms, windows), smeared=smeared)


def _full_weeks(discharged: pd.Series) -> pd.DataFrame:
    """Monday-to-Sunday weeks with every day submitted: one row a week, columns Mon..Sun."""
    frame = pd.DataFrame({"v": discharged.to_numpy(dtype=float)}, index=pd.DatetimeIndex(discharged.index))
    frame["week"] = frame.index.to_period("W-SUN")
    frame["day"] = frame.index.day_of_week
    table = frame.pivot_table(index="week", columns="day", values="v", aggfunc="first")
    return table.reindex(columns=range(7)).dropna()


def confirms_for(shares: tuple[float, ...], inflow: tuple[float, ...]) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Board-round shares p_d that give weekday shares ``shares`` when each day's first round
    meets ``inflow[d]`` of a week's treatment ends: X_(d+1) = X_d - s_d + inflow_(d+1),
    p_d = s_d / X_d, with the pending X_d the least that keeps every p_d <= 1 (the binding
    day confirms everyone; Friday at RKE, as in the baseline's header). Also returns the
    shares the confirms make (equal to ``shares`` up to rounding)."""
    s = np.asarray(shares, dtype=float)
    a = np.asarray(inflow, dtype=float)
    step = np.concatenate([[0.0], np.cumsum(a[1:] - s[:-1])])  # X_d - X_Mon
    x_mon = float(np.max(s - step))
    x = x_mon + step
    p = np.clip(np.divide(s, x, out=np.ones(7), where=x > 0), 0.0, 1.0)
    p = np.round(p, 3)
    return tuple(float(v) for v in p), _made(tuple(float(v) for v in p), a)


def _made(confirms: tuple[float, ...], inflow: np.ndarray) -> tuple[float, ...]:
    """The stationary weekday shares of confirmations with ``confirms`` and ``inflow``."""
    x = np.ones(7) / 7
    for _ in range(10_000):
        s = np.asarray(confirms) * x
        new = np.roll(x - s, 1) + inflow  # X_(d+1) = X_d - s_d + inflow_(d+1)
        if np.max(np.abs(new - x)) < 1e-13:
            break
        x = new
    s = np.asarray(confirms) * x
    return tuple(float(v) for v in s / s.sum())


def round_inflow(windows: tuple[Window, ...] = BOARD_ROUNDS) -> tuple[float, ...]:
    """Share of treatment ends spread evenly over the week whose next board round is on each
    weekday (Monday first): Monday's round meets Sunday 10:00 to Monday 12:00, 26 h of 168."""
    rounds = OpenWindow(windows, first_weekday=0)
    t = (np.arange(GRID) + 0.5) * 7 / GRID
    first = np.array([math.floor(rounds.next_open(u)) % 7 for u in t])
    return tuple(float(v) for v in np.bincount(first, minlength=7) / GRID)


def board_round_delay(confirms: tuple[float, ...], windows: tuple[Window, ...] = BOARD_ROUNDS) -> float:
    """Mean days from treatment end (spread evenly over the week) to being declared ready,
    exactly as the engine does it (``TrustRuntime.confirmed_ready``): the next round; a round
    of day d confirms with probability confirms[d], else the next day's round is tried."""
    rounds = OpenWindow(windows, first_weekday=0)
    opening = [rounds.next_open(float(d)) for d in range(7)]  # first round at or after day d's midnight
    # W[d]: mean further days from a not-confirmed attempt on day d, measured from day d's
    # round's opening; the next attempt is at the first opening after day d's midnight + 1.
    later_round = [rounds.next_open(float(d + 1)) for d in range(7)]  # absolute: day 7 is next Monday
    gap = [later_round[d] - opening[d] for d in range(7)]
    nxt = [math.floor(later_round[d]) % 7 for d in range(7)]
    w = np.zeros(7)
    for _ in range(100_000):
        new = np.array([gap[d] + (1 - confirms[nxt[d]]) * w[nxt[d]] for d in range(7)])
        if np.max(np.abs(new - w)) < 1e-12:
            break
        w = new
    total = 0.0
    for u in (np.arange(GRID) + 0.5) * 7 / GRID:
        t1 = rounds.next_open(float(u))
        d = math.floor(t1) % 7
        # a failed first attempt waits from t1 to the next round, then as from an opening
        later = w[d] - (t1 - (math.floor(t1) + opening[d] - math.floor(opening[d])))
        total += (t1 - u) + (1 - confirms[d]) * later
    return total / GRID


def season(discharged: pd.Series, end: str) -> Season:
    """Month multipliers and growth of admissions from NCTR discharges a day up to the month
    ``end`` (YYYY-MM, inclusive; later days are never read)."""
    last_day = pd.Period(end, freq="M").end_time.normalize()
    days = discharged[discharged.index <= last_day].dropna()
    days = days[days > 0]
    flat = Season(None, 0.0, 0, end, end, 0.0, 0.0, 0.0, float("nan"), float("nan"), float("nan"), float("nan"))
    if days.empty:
        return _with_note(flat, "no submitted days: flat months, no growth")
    weekday = days.groupby(days.index.day_of_week).mean().reindex(range(7))
    factor = (weekday / weekday.mean()).fillna(1.0).to_numpy()
    adjusted = days / factor[days.index.day_of_week]
    by_month = adjusted.groupby(adjusted.index.to_period("M"))
    monthly = by_month.mean()[by_month.size() >= MIN_DAYS_PER_MONTH]
    n = len(monthly)
    first, last = (str(monthly.index[0]), str(monthly.index[-1])) if n else (end, end)
    if n < MIN_MONTHS or len(set(monthly.index.month)) < MIN_CALENDAR_MONTHS:
        return _with_note(Season(None, 0.0, n, first, last, 0.0, 0.0, 0.0, float("nan"), float("nan"),
                                 float("nan"), float("nan")),
                          f"only {n} months ({len(set(monthly.index.month))} calendar months) with "
                          f"{MIN_DAYS_PER_MONTH}+ submitted days up to {end} (at least {MIN_MONTHS}, covering "
                          f"{MIN_CALENDAR_MONTHS}): flat months, no growth")
    y = np.log(monthly.to_numpy(dtype=float))
    theta = 2 * np.pi * (monthly.index.month.to_numpy() - 1) / 12
    t = np.array([(p.start_time - monthly.index[0].start_time).days for p in monthly.index]) / DAYS_PER_YEAR
    span = (monthly.index[-1] - monthly.index[0]).n + 1
    columns = [np.ones(n), np.cos(theta), np.sin(theta)] + ([t] if span >= MIN_GROWTH_MONTHS else [])
    design = np.column_stack(columns)
    beta, *_ = np.linalg.lstsq(design, y, rcond=None)
    df = n - design.shape[1]
    resid = y - design @ beta
    sigma2 = float(resid @ resid / df) if df > 0 else float("nan")
    cov = sigma2 * np.linalg.inv(design.T @ design)
    harmonic = beta[1:3]
    f_stat = float(harmonic @ np.linalg.solve(cov[1:3, 1:3], harmonic) / 2) if df > 0 else 0.0
    shrink = max(0.0, 1.0 - 1.0 / f_stat) if f_stat > 0 else 0.0
    months = np.arange(12) * 2 * np.pi / 12
    curve = np.exp(shrink * (harmonic[0] * np.cos(months) + harmonic[1] * np.sin(months)))
    profile = tuple(float(v) for v in np.round(curve / curve.mean(), 4)) if shrink > 0 else None
    trend, trend_se, growth = float("nan"), float("nan"), 0.0
    if len(columns) == 4:
        trend, trend_se = float(beta[3]), math.sqrt(cov[3, 3])
        growth = round(math.expm1(trend), 4) if abs(trend) >= GROWTH_SE * trend_se else 0.0
    poisson = float(np.sqrt(np.mean(1.0 / (monthly.to_numpy() * by_month.size()[monthly.index].to_numpy()))))
    fitted = Season(profile, growth, n, first, last, float(np.hypot(*harmonic)), f_stat, shrink,
                    math.sqrt(sigma2), poisson, trend, trend_se)
    if not math.sqrt(sigma2) <= NOISE_RATIO * poisson:
        return _with_note(Season(**{**fitted.__dict__, "month_of_year": None, "growth_per_year": 0.0}),
                          f"the monthly means vary {math.sqrt(sigma2):.1%} about the fit, more than {NOISE_RATIO:g} x "
                          f"the {poisson:.1%} of Poisson counts: recording changes, not demand, dominate the "
                          "series; flat months, no growth")
    if abs(growth) > MAX_GROWTH:
        return _with_note(Season(**{**fitted.__dict__, "growth_per_year": 0.0}),
                          f"a trend of {growth:+.1%} a year is faster than {MAX_GROWTH:.0%}: a step (merger, "
                          "recording change), not demand growth; no growth")
    return fitted


def capped(s: Season, peak: float, why: str) -> Season:
    """``s`` with its month profile scaled (on the log scale, then renormalised to mean 1)
    so that no multiplier exceeds ``peak``; ``why`` is said in the note."""
    if s.month_of_year is None or max(s.month_of_year) <= peak:
        return s
    logs = np.log(np.asarray(s.month_of_year))

    def profile(k: float) -> np.ndarray:
        m = np.exp(k * logs)
        return m / m.mean()

    low, high = 0.0, 1.0
    for _ in range(60):  # bisection on the scale: the largest with max <= peak
        mid = (low + high) / 2
        low, high = (mid, high) if profile(mid).max() <= peak else (low, mid)
    values = tuple(float(v) for v in np.floor(profile(low) * 1e4) / 1e4)
    values = tuple(float(v) for v in np.round(np.asarray(values) / np.mean(values), 4))
    return _with_note(Season(**{**s.__dict__, "month_of_year": values}),
                      f"the profile's peak {max(s.month_of_year):.4f} is scaled to {max(values):.4f}: {why}")


def _with_note(s: Season, note: str) -> Season:
    return Season(**{**s.__dict__, "notes": [*s.notes, note]})


def period_factor(s: Season, start: str, end: str) -> float:
    """Mean over the days of ``start..end`` of month multiplier x growth since ``start``:
    per_day = the period's mean admissions / this factor."""
    days = pd.date_range(pd.Period(start, freq="M").start_time, pd.Period(end, freq="M").end_time.normalize())
    month = np.ones(len(days)) if s.month_of_year is None else np.asarray(s.month_of_year)[days.month - 1]
    years = (days - days[0]).days.to_numpy() / DAYS_PER_YEAR
    return float(np.mean(month * (1 + s.growth_per_year) ** years))


@dataclass(frozen=True)
class Calendar:
    """What init writes for the calendar: the weekday rounds and the admission season."""

    weekdays: Weekdays
    season: Season
    factor: float  # mean month x growth multiplier over the init months (per_day = admissions / factor)


def calendar_for(discharged: pd.Series, start: str, end: str, smeared: float = 0.0,
                 peak: tuple[float, str] | None = None) -> Calendar:
    """The calendar from NCTR discharges a day (the file's first day to ``end`` or beyond:
    nothing after ``end`` is read): weekdays from ``start..end``, the season up to ``end``,
    its month profile capped at ``peak`` (the largest multiplier, and why)."""
    first = pd.Period(start, freq="M").start_time
    last = pd.Period(end, freq="M").end_time.normalize()
    in_period = discharged[(discharged.index >= first) & (discharged.index <= last)]
    s = season(discharged, end)
    if peak is not None:
        s = capped(s, *peak)
    return Calendar(weekday_profile(in_period, smeared), s, period_factor(s, start, end))


def _days(values: tuple[float, ...], digits: int = 3) -> str:
    return ", ".join(f"{d} {v:.{digits}f}" for d, v in zip(WEEKDAYS, values, strict=True))


def header(c: Calendar) -> str:
    """The header's comment block on the calendar (each line starts with ``# ``)."""
    w, s = c.weekdays, c.season
    lines = ["The calendar [disch] (NCTR discharges a day, discharged_total; the only daily flow in the "
             "extracts, a proxy for all discharges and for admissions):"]
    if w.shares is None:
        lines.append(f"  weekdays: {w.note}.")
    else:
        ci = f"; 95% CI over {w.weeks} full weeks: " + ", ".join(
            f"{d} {lo:.3f}-{hi:.3f}" for d, (lo, hi) in zip(WEEKDAYS, w.ci, strict=True)) if w.ci else ""
        binding = WEEKDAYS[int(np.argmax(np.asarray(w.confirms)))]
        lines += [f"  share of the week's discharges, {w.days} submitted days: {_days(w.shares)}{ci}.",
                  f"  P1-P3, deaths and P0's multi-day waits ({w.smeared:.1%} of discharges) are taken as spread "
                  "evenly over the week (assessments, service calendars, waits of days); the rest (P0, leaving "
                  "the day they are ready) is shaped",
                  "  where readiness is confirmed: a round meets the treatment ends since the last one "
                  f"({_days(tuple(7 * a for a in w.inflow), 2)} sevenths of a week),",
                  "  and confirms p_d of the X_d pending; with s_d the P0 share (observed - smeared/7) / (1 - "
                  "smeared), X_(d+1) = X_d - s_d + inflow_(d+1), p_d = s_d / X_d, the least X with every "
                  f"p <= 1 ({binding} = 1; the baseline's recurrence, which fixes Friday):",
                  f"  board_round_confirms {_days(w.confirms)} (shares made: {_days(w.made)})."]
    lines.append(f"  The rounds add {w.delay_days:.3f} d on average before a patient is declared ready (exact "
                 "expectation over treatment ends spread evenly over the week).")
    if s.month_of_year is None:
        lines.append(f"  months: {'; '.join(s.notes) or 'flat (the harmonic is shrunk to nothing: F <= 1)'}.")
    else:
        lines += [f"  months: weekday-adjusted monthly means {s.first}..{s.last} ({s.months} months), "
                  f"log-linear fit of one annual harmonic{' and a trend' if np.isfinite(s.trend) else ''}:",
                  f"  amplitude {s.amplitude:.1%}, F = {s.f_stat:.2f} on 2 df against the residual "
                  f"{s.residual_sd:.1%} month to month (Poisson alone {s.poisson_sd:.1%}),",
                  f"  shrunk by max(0, 1 - 1/F) = {s.shrink:.2f} toward flat (the noise would otherwise be fitted) "
                  f"and normalised to mean 1."]
        lines += [f"  NOTE: {n}." for n in s.notes]
    if np.isfinite(s.trend):
        lines.append(f"  growth: trend {math.expm1(s.trend):+.1%} a year (SE {s.trend_se:.1%}) -> "
                     f"growth_per_year {s.growth_per_year:g} (kept only if {GROWTH_SE:g} SE from 0, at most "
                     f"{MAX_GROWTH:.0%}).")
    else:
        lines.append(f"  growth: 0 (a trend needs {MIN_GROWTH_MONTHS}+ months of data; {s.months} up to {s.last}).")
    wrapped = (textwrap.wrap(line, 96, initial_indent="# ", subsequent_indent="#     ") for line in lines)
    return "".join(f"{part}\n" for parts in wrapped for part in parts)


def arrivals_yaml(c: Calendar, external: float) -> str:
    """The calendar lines of ``arrivals.non_elective`` after per_day (= ``external`` / factor),
    indented 4 spaces."""
    out = []
    if c.factor != 1.0:
        out.append(f"    # per_day = {external:.3f} / {c.factor:.4f}, the mean month x growth multiplier over "
                   "the init months (header)")
    if c.season.month_of_year is not None:
        values = ", ".join(f"{v:g}" for v in c.season.month_of_year)
        out.append(f"    month_of_year: [{values}]   # Jan..Dec [disch] (header)")
    out.append(f"    growth_per_year: {c.season.growth_per_year:g}   # [disch] (header)")
    return "\n".join(out)


def rounds_yaml(windows: tuple[Window, ...] = BOARD_ROUNDS) -> str:
    """``discharge_ready_window`` as a YAML list (indented 4 spaces)."""
    return "\n".join(f"    - {{days: [{', '.join(w.days)}], start_hour: {w.start_hour:g}, end_hour: {w.end_hour:g}}}"
                     for w in windows)


def confirms_yaml(c: Calendar) -> str:
    """``board_round_confirms`` as a YAML flow mapping, Monday first."""
    values = ", ".join(f"{d}: {v:g}" for d, v in zip(WEEKDAYS, c.weekdays.confirms, strict=True))
    return f"{{{values}}}"
