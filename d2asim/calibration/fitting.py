"""Fit scenario parameters to patient-level spells and downstream episodes.

From spells (see :mod:`d2asim.calibration.spells`):

- **arrival rates** with day-of-week and month-of-year profiles (:func:`fit_arrivals`:
  a Poisson log-linear model, fitted by maximum likelihood);
- **time to discharge ready** by pathway = discharge_ready - admitted, days
  (:func:`fit_duration`: candidate distributions ranked by AIC, each with its
  Kolmogorov-Smirnov statistic);
- **pathway shares** (of discharge-ready patients), overall and by age band, the
  **death probability** in hospital and the **age-band shares**;
- **delays** = discharged - discharge_ready, summarised by pathway. They are an
  output of the model (capacity, windows, assessments), not an input: compare them
  with simulated delays, do not plug them in;
- from episodes: **service durations** (end - start) and **outcome shares** per service.

:func:`fit_spells` does all of it and returns a :class:`SpellsFit` with
:meth:`~SpellsFit.scenario_overrides` (dotted scenario keys) and
:meth:`~SpellsFit.report_rows` (a tidy table for the calibration report).

**Censoring.** An extract of *discharged* spells misses long stays admitted shortly
before its end (they had not been discharged yet). Every spell-based fit therefore
uses only spells admitted in an *admissions window* that stops ``L`` days before the
last discharge, ``L`` = the 99th percentile of length of stay (and starts at the first
discharge date, in case the extract was cut by discharge date). Episodes likewise
stop ``L`` days (the service's 99th percentile) before the last episode end. The
bias left is of the order of the 1% tail beyond ``L``, negligible against sampling error.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from d2asim.calibration.spells import (
    DEFAULT_MIN_EPISODES,
    DEFAULT_MIN_SPELLS,
    EpisodeData,
    SpellData,
    load_episodes,
    load_spells,
)
from d2asim.scenario.legacy import LEGACY_MAX_DAYS, LEGACY_OUTCOME_ORDER, LEGACY_SERVICE_KINDS
from d2asim.scenario.loader import scenario_to_dict, validate_mapping
from d2asim.scenario.schema import PATHWAYS, WEEKDAYS, AgeBand, Scenario

DAY = pd.Timedelta(days=1)
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
CANDIDATES = ("lognormal", "gamma", "weibull", "exponential")
FAMILIES: dict[str, Any] = {
    "lognormal": stats.lognorm,
    "gamma": stats.gamma,
    "weibull": stats.weibull_min,
    "exponential": stats.expon,
}
N_PARAMS = {"lognormal": 2, "gamma": 2, "weibull": 2, "exponential": 1}
CENSORING_QUANTILE = 0.99
MIN_WINDOW_DAYS = 28
MONTH_PROFILE_MIN_DAYS = 365
DOW_MIN_DAYS = 14
CAP_TOLERANCE_DAYS = 1e-3  # durations within ~90 s of a cap count as capped
DEFAULT_SERVICE_CAPS: Mapping[str, float] = LEGACY_MAX_DAYS  # the spells format names the single-site services


def _sig(value: float, digits: int = 6) -> float:
    return float(f"{value:.{digits}g}")


# ------------------------------------------------------------------ durations
@dataclass(frozen=True)
class DistFit:
    """One candidate distribution fitted to durations (days) by maximum likelihood
    with location 0 (``scipy.stats`` ``fit(..., floc=0)``).

    ``n`` values were fitted (zeros excluded: ``n_zero`` of them, see ``zero_share``);
    ``n_censored`` of them were at ``censor_at`` and enter the likelihood as
    right-censored (true value at least the cap). ``ks_stat``/``ks_p``: one-sample
    Kolmogorov-Smirnov test of the uncensored values against the fitted distribution
    (conditioned on being below the cap, when censored). The p-value is conservative
    because the parameters were estimated from the same data (Lilliefors)."""

    family: str
    params: tuple[float, ...]
    n: int
    n_zero: int
    n_censored: int
    censor_at: float | None
    loglik: float
    aic: float
    delta_aic: float
    akaike_weight: float
    ks_stat: float
    ks_p: float
    sample_mean: float
    sample_sd: float

    def dist(self) -> Any:
        """The frozen ``scipy.stats`` distribution."""
        return FAMILIES[self.family](*self.params)

    def mean(self) -> float:
        return float(self.dist().mean())

    def sd(self) -> float:
        return float(self.dist().std())

    @property
    def zero_share(self) -> float:
        total = self.n + self.n_zero
        return self.n_zero / total if total else 0.0

    def to_spec(self) -> dict[str, Any]:
        """The scenario distribution mapping (``{type: lognormal, mean: .., sd: ..}``)."""
        if self.family == "lognormal":
            return {"type": "lognormal", "mean": _sig(self.mean()), "sd": _sig(self.sd())}
        if self.family == "gamma":
            return {"type": "gamma", "mean": _sig(self.mean()), "sd": _sig(self.sd())}
        if self.family == "weibull":
            return {"type": "weibull", "shape": _sig(self.params[0]), "scale": _sig(self.params[-1])}
        return {"type": "exponential", "mean": _sig(self.mean())}

    def describe(self) -> str:
        spec = self.to_spec()
        args = ", ".join(f"{k}={v:.4g}" for k, v in spec.items() if k != "type")
        return f"{spec['type']}({args})"

    def statistic(self) -> str:
        return f"AIC {self.aic:.1f} (delta {self.delta_aic:.1f}); KS D={self.ks_stat:.4f} p={self.ks_p:.3g}"


def _capped_cdf(frozen: Any, top: float, v: Any) -> Any:
    """The CDF of the uncensored part of a fit whose CDF at the cap is ``top``, at durations
    ``v`` (days: a number or an array)."""
    return np.minimum(frozen.cdf(v) / top, 1.0)


def fit_duration(
    days: Iterable[float] | np.ndarray | pd.Series,
    candidates: Sequence[str] = CANDIDATES,
    *,
    censor_at: float | None = None,
    zero_shift: float | None = None,
) -> list[DistFit]:
    """Fit each candidate to ``days`` and return the fits ranked by AIC (best first).

    Zeros (durations of exactly 0, e.g. same-day discharges in date-only data) cannot
    come from these distributions: by default they are left out, counted in ``n_zero``
    and reported as ``zero_share``; with ``zero_shift`` they are replaced by that
    value instead. Values at or above ``censor_at`` (e.g. reablement capped at 42
    days) are treated as right-censored at the cap. Raises ``ValueError`` on
    negative or non-finite values, unknown candidates or fewer than 2 positive values.
    """
    x = np.asarray(days, dtype=float)
    if x.size and (not np.all(np.isfinite(x)) or x.min() < 0):
        raise ValueError("durations must be finite and >= 0")
    unknown = [c for c in candidates if c not in FAMILIES]
    if unknown:
        raise ValueError(f"unknown candidate {unknown[0]!r} (allowed: {', '.join(FAMILIES)})")
    zero = x == 0
    if zero_shift is not None:
        x = np.where(zero, float(zero_shift), x)
        n_zero = 0
    else:
        n_zero = int(zero.sum())
        x = x[~zero]
    if x.size < 2:
        raise ValueError(f"need at least 2 positive durations (got {x.size})")
    capped = np.zeros(x.size, dtype=bool)
    if censor_at is not None:
        capped = x >= censor_at - CAP_TOLERANCE_DAYS
        x = np.where(capped, censor_at, x)
    observed = x[~capped]
    if observed.size < 2:
        raise ValueError("need at least 2 uncensored durations")
    data: Any = stats.CensoredData.right_censored(x, capped) if capped.any() else x

    fits: list[dict[str, Any]] = []
    for name in candidates:
        family = FAMILIES[name]
        params = tuple(float(p) for p in family.fit(data, floc=0))
        frozen = family(*params)
        loglik = float(frozen.logpdf(observed).sum())
        if capped.any():
            loglik += float(capped.sum() * frozen.logsf(censor_at))
            top = float(frozen.cdf(censor_at))
            ks = stats.kstest(observed, partial(_capped_cdf, frozen, top))
        else:
            ks = stats.kstest(observed, frozen.cdf)
        fits.append(dict(family=name, params=params, loglik=loglik, aic=2 * N_PARAMS[name] - 2 * loglik,
                         ks_stat=float(ks.statistic), ks_p=float(ks.pvalue)))
    aic = np.array([f["aic"] for f in fits], dtype=float)
    weights = np.exp(-0.5 * (aic - aic.min()))
    weights /= weights.sum()
    out = [
        DistFit(n=int(x.size), n_zero=n_zero, n_censored=int(capped.sum()), censor_at=censor_at,
                delta_aic=float(a - aic.min()), akaike_weight=float(w), sample_mean=float(x.mean()),
                sample_sd=float(x.std(ddof=1)), **f)
        for f, a, w in zip(fits, aic, weights, strict=True)
    ]
    return sorted(out, key=lambda f: f.aic)


# ------------------------------------------------------------------- arrivals
@dataclass(frozen=True)
class ArrivalFit:
    """Admissions per day ``per_day`` x ``day_of_week[weekday]`` x ``month_of_year[month]``
    (the scenario's :class:`~d2asim.scenario.schema.ArrivalStream`), each profile
    normalised to mean 1 (Monday / January first).

    Fitted as a Poisson log-linear model (GLM with log link, main effects weekday and
    month) by maximum likelihood, computed by iterative proportional fitting (for this
    model the MLE matches the observed totals by weekday and by month). Goodness of
    fit: Pearson ``dispersion`` = X^2 / df (about 1 for Poisson counts; above 1 means
    over-dispersion, e.g. unmodelled seasonality or surges) with its chi-squared
    ``p_value``, and the ``deviance``."""

    per_day: float
    day_of_week: tuple[float, ...] | None
    month_of_year: tuple[float, ...] | None
    start: pd.Timestamp
    end: pd.Timestamp
    n_days: int
    n_admissions: int
    counts: pd.Series
    expected: pd.Series
    pearson_chi2: float
    deviance: float
    df: int
    dispersion: float
    p_value: float
    method: str = "Poisson log-linear GLM (maximum likelihood by iterative proportional fitting)"

    def overrides(self, prefix: str = "arrivals.non_elective") -> dict[str, Any]:
        out: dict[str, Any] = {f"{prefix}.per_day": round(self.per_day, 4)}
        if self.day_of_week is not None:
            out[f"{prefix}.day_of_week"] = [round(v, 4) for v in self.day_of_week]
        if self.month_of_year is not None:
            out[f"{prefix}.month_of_year"] = [round(v, 4) for v in self.month_of_year]
        return out

    def statistic(self) -> str:
        return f"Pearson dispersion {self.dispersion:.3f} on {self.df} df (p={self.p_value:.3g})"


def fit_arrivals(
    admitted: pd.Series | Iterable[Any],
    start: Any = None,
    end: Any = None,
    *,
    day_of_week: bool | None = None,
    month_of_year: bool | None = None,
) -> ArrivalFit:
    """Fit daily admission counts between the dates ``start`` and ``end`` (inclusive;
    default the first and last admission dates). Days without admissions count as 0.

    The day-of-week profile is fitted when the window has at least 14 days and the
    month profile when it has at least 365 (every month seen); pass True/False to force.
    """
    times = pd.to_datetime(pd.Series(admitted)).dropna()
    if times.empty:
        raise ValueError("no admission times to fit")
    dates = times.dt.normalize()
    first = pd.Timestamp(start).normalize() if start is not None else dates.min()
    last = pd.Timestamp(end).normalize() if end is not None else dates.max()
    if last < first:
        raise ValueError(f"empty arrivals window ({first.date()} to {last.date()})")
    days = pd.date_range(first, last, freq="D")
    counts = dates[(dates >= first) & (dates <= last)].value_counts().reindex(days, fill_value=0).astype(int)
    n_days = len(days)
    use_dow = n_days >= DOW_MIN_DAYS if day_of_week is None else day_of_week
    use_month = n_days >= MONTH_PROFILE_MIN_DAYS if month_of_year is None else month_of_year
    if use_month and len(set(days.month)) < 12:
        raise ValueError("a month-of-year profile needs every calendar month in the window")
    if use_dow and len(set(days.day_of_week)) < 7:
        raise ValueError("a day-of-week profile needs every weekday in the window")
    obs = counts.to_numpy(dtype=float)
    weekday, month = days.day_of_week.to_numpy(), days.month.to_numpy() - 1
    a, b, c = obs.mean(), np.ones(7), np.ones(12)
    for _ in range(500):
        before = np.concatenate([[a], b, c])
        if use_dow:
            fitted = a * b[weekday] * c[month]
            b = b * _ratio(np.bincount(weekday, obs, 7), np.bincount(weekday, fitted, 7))
        if use_month:
            fitted = a * b[weekday] * c[month]
            c = c * _ratio(np.bincount(month, obs, 12), np.bincount(month, fitted, 12))
        a = obs.sum() / (b[weekday] * c[month]).sum()
        after = np.concatenate([[a], b, c])
        if np.max(np.abs(after - before) / np.maximum(np.abs(after), 1e-12)) < 1e-12:
            break
    scale_b, scale_c = b.mean(), c.mean()
    b, c, a = b / scale_b, c / scale_c, a * scale_b * scale_c
    expected = a * b[weekday] * c[month]
    positive = expected > 0
    chi2 = float((((obs - expected) ** 2)[positive] / expected[positive]).sum())
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(obs > 0, obs * np.log(obs / expected), 0.0) - (obs - expected)
    deviance = float(2.0 * terms[positive].sum())
    df = max(n_days - (1 + 6 * bool(use_dow) + 11 * bool(use_month)), 1)
    return ArrivalFit(
        per_day=float(a),
        day_of_week=tuple(float(v) for v in b) if use_dow else None,
        month_of_year=tuple(float(v) for v in c) if use_month else None,
        start=first, end=last, n_days=n_days, n_admissions=int(obs.sum()),
        counts=counts, expected=pd.Series(expected, index=days),
        pearson_chi2=chi2, deviance=deviance, df=df, dispersion=chi2 / df,
        p_value=float(stats.chi2.sf(chi2, df)),
    )


def _ratio(observed: np.ndarray, fitted: np.ndarray) -> np.ndarray:
    return np.divide(observed, fitted, out=np.ones_like(observed), where=fitted > 0)


# --------------------------------------------------------------------- shares
@dataclass(frozen=True)
class Shares:
    """Shares of categories ``keys`` (every key present, 0 if unseen), with counts and
    Wilson 95% intervals; ``by_band`` the same by age band."""

    keys: tuple[str, ...]
    shares: dict[str, float]
    counts: dict[str, int]
    n: int
    ci: dict[str, tuple[float, float]]
    by_band: dict[str, Shares] = field(default_factory=dict)

    def rounded(self, digits: int = 6) -> dict[str, float]:
        """Shares rounded to ``digits`` decimals, still summing to exactly 1."""
        out = {k: round(v, digits) for k, v in self.shares.items()}
        largest = max(out, key=lambda k: out[k])
        out[largest] = round(1.0 - sum(v for k, v in out.items() if k != largest), digits)
        return out


def wilson_interval(k: int, n: int, z: float = 1.959964) -> tuple[float, float]:
    """Wilson score interval for a binomial proportion k/n."""
    if n == 0:
        return (0.0, 1.0)
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return (max(0.0, centre - half), min(1.0, centre + half))


def fit_shares(values: pd.Series | Iterable[Any], keys: Sequence[str],
               band: pd.Series | None = None) -> Shares:
    """Shares of ``keys`` among ``values`` (missing values ignored), and by ``band``."""
    v = pd.Series(values).reset_index(drop=True)
    counts = {k: int((v == k).sum()) for k in keys}
    n = sum(counts.values())
    shares = {k: (counts[k] / n if n else 0.0) for k in keys}
    ci = {k: wilson_interval(counts[k], n) for k in keys}
    by_band: dict[str, Shares] = {}
    if band is not None:
        b = pd.Series(band).reset_index(drop=True)
        for name in [x for x in pd.unique(b) if isinstance(x, str)]:
            by_band[name] = fit_shares(v[b == name], keys)
    return Shares(tuple(keys), shares, counts, n, ci, by_band)


def fit_pathway_shares(pathway: pd.Series, age_band: pd.Series | None = None) -> Shares:
    """Shares of P0-P3 among ``pathway`` (missing pathways, e.g. deaths, ignored),
    overall and by ``age_band`` (band names aligned with ``pathway``)."""
    return fit_shares(pathway, PATHWAYS, age_band)


# --------------------------------------------------------------------- age bands
BandsArg = Sequence[AgeBand] | Sequence[tuple[str, int]] | Sequence[Mapping[str, Any]] | Mapping[str, int]


def band_limits(age_bands: BandsArg) -> list[tuple[str, int]]:
    """(name, min_age) pairs sorted by min_age, from AgeBands, ``{name, min_age}``
    mappings, (name, min_age) pairs or a ``{name: min_age}`` mapping."""
    if isinstance(age_bands, Mapping):
        pairs = [(str(k), int(v)) for k, v in age_bands.items()]
    else:
        pairs = []
        for b in age_bands:
            if isinstance(b, AgeBand):
                pairs.append((b.name, int(b.min_age)))
            elif isinstance(b, Mapping):
                pairs.append((str(b["name"]), int(b["min_age"])))
            else:
                pairs.append((str(b[0]), int(b[1])))
    return sorted(pairs, key=lambda p: p[1])


def assign_age_band(age: pd.Series, age_bands: BandsArg) -> pd.Series:
    """Band name for each age (None when the age is missing or below every band)."""
    limits = band_limits(age_bands)
    mins = np.array([m for _, m in limits], dtype=float)
    names = np.array([n for n, _ in limits], dtype=object)
    a = pd.to_numeric(pd.Series(age), errors="coerce").to_numpy(dtype=float)
    idx = np.searchsorted(mins, np.nan_to_num(a, nan=-1.0), side="right") - 1
    out = np.where((idx >= 0) & ~np.isnan(a), names[np.clip(idx, 0, None)], None)
    return pd.Series(out, index=pd.Series(age).index, dtype=object)


# --------------------------------------------------------------------- results
@dataclass(frozen=True)
class DelaySummary:
    """Delays (discharged - discharge_ready, days) of one pathway's living patients."""

    pathway: str
    n: int
    mean_days: float
    median_days: float
    p90_days: float
    share_delayed_1plus: float  # discharge date one or more calendar days after the ready date


@dataclass(frozen=True)
class ServiceFit:
    service: str
    n: int
    durations: list[DistFit]
    outcomes: Shares
    censor_at: float | None
    n_out_of_window: int


@dataclass
class SpellsFit:
    """Everything fitted from spells (and episodes); see the module docstring."""

    window: tuple[pd.Timestamp, pd.Timestamp]
    censoring_days: float
    n_spells: int
    n_in_window: int
    arrivals: dict[str, ArrivalFit]
    readmissions_per_day: float | None
    time_to_ready: dict[str, list[DistFit]]
    pathway_shares: Shares
    death: Shares
    age_band_shares: Shares | None
    age_band_limits: list[tuple[str, int]] | None
    delays: dict[str, DelaySummary]
    services: dict[str, ServiceFit]
    bad: list[Any]
    sources: dict[str, int]
    notes: list[str] = field(default_factory=list)

    # ------------------------------------------------------------ overrides
    def scenario_overrides(self) -> dict[str, Any]:
        """Dotted scenario keys -> fitted values (distribution mappings, shares, profiles).

        Apply them with :func:`apply_overrides`, which *replaces* each value: the
        loader's ``with_overrides`` deep-merges mappings, which would mix a fitted
        ``{mean, sd}`` lognormal with a ``{median, mean}`` one already in the file.
        """
        out: dict[str, Any] = {}
        for source, fit in self.arrivals.items():
            out.update(fit.overrides(f"arrivals.{source}"))
        for pathway, fits in self.time_to_ready.items():
            out[f"acute.time_to_discharge_ready_days.{pathway}"] = fits[0].to_spec()
        if self.pathway_shares.n:
            out["pathways.shares"] = self.pathway_shares.rounded()
        if self.age_band_shares is not None and self.age_band_limits is not None:
            shares = self.age_band_shares.rounded()
            out["age_bands"] = [{"name": n, "min_age": m, "share": shares[n]} for n, m in self.age_band_limits]
            by_band = {b: s.rounded() for b, s in self.pathway_shares.by_band.items() if s.n}
            if by_band:
                out["pathways.shares_by_age_band"] = by_band
            out["acute.death_probability"] = {
                b: round(self.death.by_band[b].shares["died"], 6) if b in self.death.by_band else 0.0
                for b, _ in self.age_band_limits
            }
        else:
            out["acute.death_probability"] = round(self.death.shares["died"], 6)
        for name, svc in self.services.items():
            if svc.durations:
                out[f"services.{name}.duration_days"] = svc.durations[0].to_spec()
            if svc.outcomes.n:
                out[f"services.{name}.outcomes"] = svc.outcomes.rounded()
        return out

    # ---------------------------------------------------------------- report
    def report_rows(self) -> pd.DataFrame:
        """A tidy table: section, quantity, value, n, fit_statistic, note."""
        rows: list[dict[str, Any]] = []

        def add(section: str, quantity: str, value: Any, n: Any = None, statistic: str = "", note: str = "") -> None:
            rows.append({"section": section, "quantity": quantity, "value": value, "n": n,
                         "fit_statistic": statistic, "note": note})

        for bad in self.bad:
            add("data", f"{bad.source}: rows read", bad.n_rows, bad.n_rows)
            add("data", f"{bad.source}: valid rows", bad.n_rows - bad.n_bad, bad.n_rows)
            for reason, count in bad.most_common():
                examples = " ".join(map(str, bad.examples.get(reason, [])))
                add("bad rows", f"{bad.source}: {reason}", count, bad.n_rows, "", f"e.g. lines {examples}")
        start, end = self.window
        add("data", "admissions window", f"{start.date()} to {end.date()}", self.n_in_window, "",
            f"{self.n_spells - self.n_in_window} valid spells admitted outside it are not used: the window "
            f"stops {self.censoring_days:.0f} days (99th percentile of length of stay) before the last "
            "discharge, so long stays admitted later are not under-represented (right censoring)")
        for source, count in self.sources.items():
            add("data", f"spells in window by source: {source}", count, self.n_in_window)
        for source, fit in self.arrivals.items():
            prefix = f"arrivals.{source}"
            add("arrivals", f"{prefix}.per_day", round(fit.per_day, 4), fit.n_days, fit.statistic(),
                f"{fit.method}; {fit.n_admissions} admissions over {fit.n_days} days")
            profiles = (("day_of_week", WEEKDAYS, fit.day_of_week), ("month_of_year", MONTHS, fit.month_of_year))
            for key, labels, values in profiles:
                for name, v in zip(labels, values or (), strict=values is not None):
                    add("arrivals", f"{prefix}.{key}.{name}", round(v, 4), fit.n_days)
            if fit.month_of_year is None:
                add("arrivals", f"{prefix}.month_of_year", None, fit.n_days, "",
                    f"not fitted: needs {MONTH_PROFILE_MIN_DAYS}+ days in the window")
        if self.readmissions_per_day is not None:
            add("arrivals", "readmissions per day (generated by the model, not an input)",
                round(self.readmissions_per_day, 4), None)
        for pathway, fits in self.time_to_ready.items():
            self._duration_rows(add, "time to discharge ready", f"acute.time_to_discharge_ready_days.{pathway}", fits)
        self._share_rows(add, "pathway shares", "pathways.shares", self.pathway_shares)
        for band, s in self.pathway_shares.by_band.items():
            self._share_rows(add, "pathway shares", f"pathways.shares_by_age_band.{band}", s)
        add("deaths", "acute.death_probability", round(self.death.shares["died"], 6), self.death.n,
            "95% CI {:.4f}-{:.4f}".format(*self.death.ci["died"]))
        for band, s in self.death.by_band.items():
            add("deaths", f"acute.death_probability.{band}", round(s.shares["died"], 6), s.n,
                "95% CI {:.4f}-{:.4f}".format(*s.ci["died"]))
        if self.age_band_shares is not None:
            self._share_rows(add, "age bands", "age_bands.share", self.age_band_shares)
        for pathway, d in self.delays.items():
            add("delays", f"delay after discharge ready, {pathway}: mean days", round(d.mean_days, 4), d.n, "",
                f"median {d.median_days:.2f}, p90 {d.p90_days:.2f}; {100 * d.share_delayed_1plus:.1f}% "
                "discharged 1+ days after the ready date. An output of the model: compare, do not plug in")
        for name, svc in self.services.items():
            cap = f"; durations at {svc.censor_at:g} days treated as capped (censored)" if svc.censor_at else ""
            self._duration_rows(add, "services", f"services.{name}.duration_days", svc.durations, cap)
            self._share_rows(add, "services", f"services.{name}.outcomes", svc.outcomes)
        for note in self.notes:
            add("notes", "note", None, None, "", note)
        return pd.DataFrame(rows, columns=["section", "quantity", "value", "n", "fit_statistic", "note"])

    @staticmethod
    def _duration_rows(add: Any, section: str, quantity: str, fits: list[DistFit], extra: str = "") -> None:
        for rank, f in enumerate(fits, start=1):
            zeros = f"; {f.n_zero} zero durations ({100 * f.zero_share:.1f}%) left out" if f.n_zero else ""
            censored = f"; {f.n_censored} censored" if f.n_censored else ""
            chosen = "chosen (lowest AIC)" if rank == 1 else f"rank {rank}"
            add(section, quantity, f.describe(), f.n + f.n_zero, f.statistic(),
                f"{chosen}; sample mean {f.sample_mean:.3f}, sd {f.sample_sd:.3f}{zeros}{censored}{extra}")

    @staticmethod
    def _share_rows(add: Any, section: str, quantity: str, s: Shares) -> None:
        for k in s.keys:
            lo, hi = s.ci[k]
            add(section, f"{quantity}.{k}", round(s.shares[k], 6), s.n, f"95% CI {lo:.4f}-{hi:.4f}",
                f"{s.counts[k]} of {s.n}")


# ---------------------------------------------------------------- fit_spells
def _days(later: pd.Series, earlier: pd.Series) -> np.ndarray:
    return ((later - earlier) / DAY).to_numpy(dtype=float)


def _window(frame: pd.DataFrame, quantile: float, notes: list[str]) -> tuple[pd.Timestamp, pd.Timestamp, float]:
    """Admission dates (inclusive) whose spells are complete in a discharged-spells extract."""
    los = _days(frame["discharged"], frame["admitted"])
    lag = float(math.ceil(np.quantile(los, quantile)))
    first = max(frame["admitted"].min(), frame["discharged"].min()).normalize()
    last = (frame["discharged"].max() - pd.Timedelta(days=lag) - DAY).normalize()
    if (last - first).days + 1 < MIN_WINDOW_DAYS:
        notes.append(f"admissions window not trimmed for censoring: the extract is too short for a "
                     f"{lag:.0f}-day margin; long stays admitted near its end are under-represented")
        return frame["admitted"].min().normalize(), frame["admitted"].max().normalize(), 0.0
    return first, last, lag


def fit_spells(
    spells: SpellData | pd.DataFrame | str | Path,
    episodes: EpisodeData | pd.DataFrame | str | Path | None = None,
    age_bands: BandsArg | None = None,
    *,
    columns: Mapping[str, str] | None = None,
    episode_columns: Mapping[str, str] | None = None,
    min_valid: int | None = None,
    window: tuple[Any, Any] | None = None,
    candidates: Sequence[str] = CANDIDATES,
    min_n: int = 20,
    service_caps: Mapping[str, float] | None = None,
    censoring_quantile: float = CENSORING_QUANTILE,
) -> SpellsFit:
    """Fit arrivals, time to discharge ready by pathway, pathway shares, deaths, age
    bands, delays and (with ``episodes``) service durations and outcomes.

    ``spells``/``episodes``: loaded data, or a CSV file / DataFrame, loaded here with
    :func:`load_spells` / :func:`load_episodes` using ``columns`` / ``episode_columns``
    (the file's names -> ours) and ``min_valid`` (default: the loaders' own minimum for
    files, 1 for DataFrames). ``age_bands``: the scenario's ``age_bands``, a list of
    ``{name, min_age}`` mappings or ``{name: min_age}``; without it nothing is split by age. ``window``: admission
    dates (first, last) to use instead of the censoring-trimmed default. Quantities
    with fewer than ``min_n`` observations are not fitted (a note says so).
    ``service_caps``: durations at or above the cap count as capped (default p1 at 42
    days, as the model caps reablement).
    """
    if not isinstance(spells, SpellData):
        table = isinstance(spells, pd.DataFrame)
        need = min_valid if min_valid is not None else (1 if table else DEFAULT_MIN_SPELLS)
        spells = load_spells(spells, columns, need, name="<spells table>" if table else None)
    if episodes is not None and not isinstance(episodes, EpisodeData):
        table = isinstance(episodes, pd.DataFrame)
        need = min_valid if min_valid is not None else (1 if table else DEFAULT_MIN_EPISODES)
        episodes = load_episodes(episodes, episode_columns, need, spell_ids=spells.frame["spell_id"],
                                 name="<episodes table>" if table else None)
    notes: list[str] = []
    if spells.date_only:
        notes.append("spell times are dates only: durations are whole days and same-day stays are 0 "
                     "(zeros are left out of the distribution fits and reported)")
    frame = spells.frame
    if window is None:
        first, last, lag = _window(frame, censoring_quantile, notes)
    else:
        first, last, lag = pd.Timestamp(window[0]).normalize(), pd.Timestamp(window[1]).normalize(), 0.0
    adm_date = frame["admitted"].dt.normalize()
    used = frame[(adm_date >= first) & (adm_date <= last)].reset_index(drop=True)

    source = used["source"].where(used["source"].notna(), "non_elective") if "source" in used else None
    if source is None or not used["source"].notna().any():
        source = pd.Series("non_elective", index=used.index)
    elif used["source"].isna().any():
        notes.append(f"{int(used['source'].isna().sum())} spells without a source counted as non-elective")
    sources = {str(k): int(v) for k, v in source.value_counts().items()}
    arrivals = {s: fit_arrivals(used.loc[source == s, "admitted"], first, last)
                for s in ("non_elective", "elective") if sources.get(s, 0) >= min_n}
    n_days = (last - first).days + 1
    readmissions = sources.get("readmission", 0) / n_days if "readmission" in sources else None

    alive = used[~used["died"]]
    ttr: dict[str, list[DistFit]] = {}
    delays: dict[str, DelaySummary] = {}
    for pathway in PATHWAYS:
        mine = alive[(alive["pathway"] == pathway) & alive["discharge_ready"].notna()]
        if len(mine) < min_n:
            if len(alive[alive["pathway"] == pathway]):
                notes.append(f"time to discharge ready {pathway}: not fitted ({len(mine)} spells with a "
                             f"discharge-ready time, need {min_n})")
            continue
        ttr[pathway] = fit_duration(_days(mine["discharge_ready"], mine["admitted"]), candidates)
        delay = _days(mine["discharged"], mine["discharge_ready"])
        late = (mine["discharged"].dt.normalize() - mine["discharge_ready"].dt.normalize()) >= DAY
        delays[pathway] = DelaySummary(pathway, len(mine), float(delay.mean()), float(np.median(delay)),
                                       float(np.quantile(delay, 0.9)), float(late.mean()))

    band = assign_age_band(used["age"], age_bands) if age_bands is not None else None
    if band is not None and band.isna().any():
        notes.append(f"{int(band.isna().sum())} spells without an age (or younger than every band) "
                     "are in the overall fits but in no age band")
    shares = fit_pathway_shares(alive["pathway"], None if band is None else band[alive.index])
    death = fit_shares(np.where(used["died"], "died", "alive"), ("died", "alive"), band)
    limits = band_limits(age_bands) if age_bands is not None else None
    band_shares = fit_shares(band, [n for n, _ in limits]) if band is not None and limits is not None else None

    services: dict[str, ServiceFit] = {}
    bad = [spells.bad]
    if episodes is not None:
        bad.append(episodes.bad)
        caps = DEFAULT_SERVICE_CAPS if service_caps is None else service_caps
        end_ref = max(episodes.frame["end"].max(), frame["discharged"].max())
        services = _fit_services(episodes.frame, end_ref, caps, candidates, min_n, censoring_quantile, notes)

    return SpellsFit(
        window=(first, last), censoring_days=lag, n_spells=len(frame), n_in_window=len(used),
        arrivals=arrivals, readmissions_per_day=readmissions, time_to_ready=ttr, pathway_shares=shares,
        death=death, age_band_shares=band_shares, age_band_limits=limits, delays=delays,
        services=services, bad=bad, sources=sources, notes=notes,
    )


def _fit_services(ep: pd.DataFrame, end_ref: pd.Timestamp, caps: Mapping[str, float], candidates: Sequence[str],
                  min_n: int, quantile: float, notes: list[str]) -> dict[str, ServiceFit]:
    out: dict[str, ServiceFit] = {}
    for name in [s for s in LEGACY_SERVICE_KINDS if (ep["service"] == s).any()]:
        mine = ep[ep["service"] == name]
        duration = _days(mine["end"], mine["start"])
        lag = float(math.ceil(np.quantile(duration, quantile)))
        first = mine["end"].min().normalize()
        keep = ((mine["start"] >= first) & (mine["start"] <= end_ref - pd.Timedelta(days=lag))).to_numpy()
        if keep.sum() < min_n:
            notes.append(f"services.{name}: not fitted ({int(keep.sum())} episodes in the window, need {min_n})")
            continue
        cap = caps.get(name)
        fits = fit_duration(duration[keep], candidates, censor_at=cap)
        outcomes = fit_shares(mine.loc[keep, "outcome"], LEGACY_OUTCOME_ORDER)
        out[name] = ServiceFit(name, int(keep.sum()), fits, outcomes, cap, int((~keep).sum()))
    return out


# ------------------------------------------------------------------ overrides
def apply_overrides(scenario: Scenario, overrides: Mapping[str, Any], source: str = "<spells fit>") -> Scenario:
    """A re-validated copy of ``scenario`` with each dotted key set to its value,
    **replacing** what was there (unlike the loader's deep-merging ``with_overrides``)."""
    data = scenario_to_dict(scenario)
    for dotted, value in overrides.items():
        node = data
        *parents, leaf = dotted.split(".")
        for key in parents:
            child = node.get(key)
            if not isinstance(child, dict):
                child = {}
                node[key] = child
            node = child
        node[leaf] = value
    return validate_mapping(data, source)


__all__ = [
    "ArrivalFit",
    "DelaySummary",
    "DistFit",
    "ServiceFit",
    "Shares",
    "SpellsFit",
    "apply_overrides",
    "assign_age_band",
    "fit_arrivals",
    "fit_duration",
    "fit_pathway_shares",
    "fit_shares",
    "fit_spells",
    "wilson_interval",
]
