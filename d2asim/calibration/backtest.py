"""What a fit is worth: parameter uncertainty, and a backtest on a period the fit did not see.

For each target and month: the observed mean per day; the simulated mean over the
final replications of the fitted scenario; and the 5-95% and 10-90% bands of that
month's mean across a **predictive ensemble**: those replications plus replications of
scenarios whose parameters are drawn from the fitted parameters' distribution (normal,
the covariance of ``UNCERTAINTY_METHOD``, clipped to the bounds), so that the bands carry
parameter uncertainty and not only run-to-run noise. Metrics over the months of a period
(units of the target: patients, or patients a day):

``mae``             mean |simulated mean - observed|
``bias``            mean (simulated mean - observed): positive = the model over-predicts
``coverage_90``     share of observed months inside the 5-95% band (``coverage_80``: 10-90%)
``naive_mae``       MAE of the naive forecast "the fit period's observed mean"
``naive``           MAE of each naive forecast: ``fit_mean``; ``last_month`` (the last
                    observed fit month, carried forward); ``same_month_last_year`` (the
                    observed value 12 months before, when every test month has one)
``best_naive_mae``  the lowest of those (``best_naive`` names it)
``mase``            ``mae / best_naive_mae``: below 1 the model beats every naive forecast

``backtest_anchored`` scores the same months for the model's forecast **anchored at the
origin** (an intercept correction, as in Clements and Hendry's forecasting practice): the
simulated test months and their bands moved by the model's error in the last observed fit
month (``offset`` = simulated minus observed, ``anchor_month``). It is the last observed
month plus the model's predicted change since then, so its MASE against ``last_month``
says whether the model knows where the series goes next beyond carrying its level
forward; the fitted scenario itself is not changed, and the verdict uses ``backtest``.

Targets observed daily are also scored day by day (``backtest_daily``): each observed
day against the simulated mean and bands of that day, with the naive forecasts
``fit_mean``, ``last_value`` (the last observed fit day) and ``mean_last_4_weeks`` (of
the last 28 days of the fit period: the BNSSG discharge planning suite's baseline).
"""

from __future__ import annotations

import json
import math
import statistics
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from d2asim.calibration.aggregates import Observed, in_period
from d2asim.calibration.config import CalibrationConfig, Period
from d2asim.calibration.reference_class import HALF_YEAR
from d2asim.calibration.simfit import (
    QUEUE,
    WAITING_CHECKS,
    Evaluator,
    Problem,
    Simulator,
    local_search,
    monthly_by_rep,
    unstable_queues,
)

Z90 = 1.6449  # two-sided 90% normal quantile


BAND_COLUMNS = ("sim_mean", "sim_p5", "sim_p10", "sim_p90", "sim_p95")


#: Standard-normal quantiles at (i + 0.5) / 100: each member's value spread by the model
#: discrepancy (deterministic, so the same run gives the same bands).
DISCREPANCY_GRID = stats.norm.ppf((np.arange(100) + 0.5) / 100)


def band(table: pd.DataFrame, ensemble: pd.DataFrame | None = None,
         discrepancy_sd: float | np.ndarray = 0.0) -> pd.DataFrame:
    """Rows of ``table`` (replications in columns): the mean, and the 5th, 10th, 90th and
    95th percentiles across ``ensemble`` (default: ``table`` itself), each member spread by
    a normal model discrepancy of ``discrepancy_sd`` (one number, or one per row:
    :func:`spread_sd`)."""
    values = table.to_numpy(dtype=float)
    spread = values if ensemble is None else ensemble.reindex(table.index).to_numpy(dtype=float)
    sd = np.broadcast_to(np.asarray(discrepancy_sd, dtype=float), (len(spread),))
    if np.any(sd > 0):
        spread = (spread[:, :, None] + sd[:, None, None] * DISCREPANCY_GRID).reshape(len(spread), -1)
    q = np.percentile(spread, [5, 10, 90, 95], axis=1)
    return pd.DataFrame({"sim_mean": values.mean(axis=1), "sim_p5": q[0], "sim_p10": q[1], "sim_p90": q[2],
                         "sim_p95": q[3]}, index=table.index)


DAYS_PER_MONTH = 365.25 / 12


def level_sd(level_change_sd: float | None, fit: Period, times: pd.DatetimeIndex) -> np.ndarray:
    """Relative sd of the level at each of ``times``: 0 up to the fit period's last day;
    after it a random walk from the fit period's centre, ``level_change_sd * sqrt(months
    from the centre / 6)`` (:mod:`d2asim.calibration.reference_class`)."""
    if not level_change_sd:
        return np.zeros(len(times))
    first, last = pd.Timestamp(fit.first_day()), pd.Timestamp(fit.last_day())
    months = (times - (first + (last - first) / 2)).days.to_numpy() / DAYS_PER_MONTH
    return np.where(times > last, level_change_sd * np.sqrt(np.maximum(months, 0.0) / HALF_YEAR), 0.0)


def month_middles(months: pd.Index) -> pd.DatetimeIndex:
    """The 15th of each ``YYYY-MM`` month: where a monthly mean sits in time."""
    return pd.DatetimeIndex(pd.to_datetime(months, format="%Y-%m") + pd.Timedelta(days=14))


def spread_sd(table: pd.DataFrame, discrepancy_sd: float, level: np.ndarray) -> np.ndarray:
    """Per row of ``table`` (replications in columns): the model discrepancy and the level
    change (``level``, relative: :func:`level_sd`, times the row's mean) in quadrature."""
    return np.sqrt(discrepancy_sd**2 + (table.to_numpy(dtype=float).mean(axis=1) * level) ** 2)


def discrepancy_sd(observed: pd.Series, table: pd.DataFrame, ensemble: pd.DataFrame) -> float:
    """How far the observed series strays from the model beyond what the model's own spread
    explains, over the fit period: ``sqrt(max(0, mean((O - S)^2) - mean(var_members)))``,
    where ``S`` is the mean of ``table``'s replications and ``var_members`` the variance
    across ``ensemble``'s members, on the points of ``observed`` (0 with fewer than 3)."""
    mean = table.mean(axis=1).reindex(observed.index)
    members = ensemble.reindex(observed.index)
    seen = observed.notna() & mean.notna()
    if seen.sum() < 3:
        return 0.0
    squared = float(((observed[seen] - mean[seen]) ** 2).mean())
    own = float(members[seen].var(axis=1, ddof=1).mean()) if members.shape[1] > 1 else 0.0
    return math.sqrt(max(0.0, squared - own))


def score(observed: pd.Series, sim: pd.DataFrame, naive: float | None = None,
          others: dict[str, pd.Series] | None = None) -> dict[str, Any]:
    """MAE, bias, coverage of the 5-95% (and 10-90%) band and, with ``naive`` (the fit
    mean) and ``others`` (more naive forecasts, by name, on the same index), the naive
    MAEs, the best of them and MASE, over the points with an observation and a band."""
    frame = sim.join(observed.rename("observed"), how="inner").dropna(subset=["observed", "sim_mean"])
    if frame.empty:
        return {"n": 0}
    err = frame["sim_mean"] - frame["observed"]
    inside = (frame["observed"] >= frame["sim_p5"]) & (frame["observed"] <= frame["sim_p95"])
    out: dict[str, Any] = {"mae": float(err.abs().mean()), "bias": float(err.mean()),
                           "coverage_90": float(inside.mean()), "n": int(len(frame))}
    if "sim_p10" in frame:
        out["coverage_80"] = float(((frame["observed"] >= frame["sim_p10"])
                                    & (frame["observed"] <= frame["sim_p90"])).mean())
    if naive is None:
        return out
    out["naive_mae"] = float((frame["observed"] - naive).abs().mean())
    naives = {"fit_mean": out["naive_mae"]}
    for name, forecast in (others or {}).items():
        values = forecast.reindex(frame.index)
        if values.notna().all():
            naives[name] = float((frame["observed"] - values).abs().mean())
    best = min(naives, key=lambda k: naives[k])
    out |= {"naive": naives, "best_naive": best, "best_naive_mae": naives[best],
            "mase": out["mae"] / naives[best] if naives[best] > 0 else None}
    return out


def series_table(config: CalibrationConfig, observed: Observed, simulated: dict[str, pd.DataFrame],
                 ensemble: dict[str, pd.DataFrame] | None = None,
                 discrepancy: dict[str, float] | None = None) -> pd.DataFrame:
    """Long table: target, month, period (fit/test/-), observed, sim_mean and the bands
    (``ensemble``: months x members of the predictive ensemble, default ``simulated``;
    ``discrepancy``: each target's model discrepancy sd, :func:`monthly_discrepancy`)."""
    rows = []
    for target in config.targets:
        obs = observed.monthly(config.observed_name(target), config.min_days_per_month)
        spread = None if ensemble is None else ensemble[target]
        level = level_sd(config.targets[target].level_change_sd, config.fit_period,
                         month_middles(simulated[target].index))
        frame = band(simulated[target], spread, spread_sd(simulated[target], (discrepancy or {}).get(target, 0.0),
                                                          level))
        frame = frame.join(obs.rename("observed"), how="left")
        frame["period"] = [_period_of(m, config) for m in frame.index]
        rows.append(frame.rename_axis("month").reset_index().assign(target=target))
    table = pd.concat(rows, ignore_index=True)
    return table[["target", "month", "period", "observed", *BAND_COLUMNS]]


def monthly_discrepancy(config: CalibrationConfig, observed: Observed, simulated: dict[str, pd.DataFrame],
                        ensemble: dict[str, pd.DataFrame]) -> dict[str, float]:
    """Each target's model discrepancy sd (:func:`discrepancy_sd`) over the fit months."""
    return {target: discrepancy_sd(observed_in(observed.monthly(config.observed_name(target),
                                                                config.min_days_per_month), config.fit_period),
                                   simulated[target], ensemble[target])
            for target in config.targets}


def _period_of(month: str, config: CalibrationConfig) -> str:
    for name, period in (("fit", config.fit_period), ("test", config.test_period)):
        if period is not None and period.start <= month <= period.end:
            return name
    return "-"


def monthly_scores(config: CalibrationConfig, table: pd.DataFrame) -> dict[str, dict[str, dict[str, float]]]:
    """``{"fit": {target: metrics}, "backtest": {target: metrics}, "backtest_anchored": {target: metrics}}``
    from :func:`series_table` (a target without a simulated last observed fit month has no anchored entry)."""
    out: dict[str, dict[str, dict[str, float]]] = {"fit": {}, "backtest": {}, "backtest_anchored": {}}
    sim_cols = [c for c in BAND_COLUMNS if c in table]
    for target, rows in table.groupby("target", sort=False):
        rows = rows.set_index("month")
        fit = rows[rows["period"] == "fit"]
        seen = fit["observed"].dropna()
        out["fit"][str(target)] = score(fit["observed"], fit[sim_cols])
        if config.test_period is not None and not seen.empty:
            test = rows[rows["period"] == "test"]
            year_before = {m: str(pd.Period(m, freq="M") - 12) for m in test.index}
            others = {"last_month": pd.Series(float(seen.iloc[-1]), index=test.index),
                      "same_month_last_year": pd.Series({m: rows["observed"].get(b, np.nan)
                                                         for m, b in year_before.items()}, dtype=float)}
            out["backtest"][str(target)] = score(test["observed"], test[sim_cols], float(seen.mean()), others)
            anchor = seen.index[-1]
            offset = float(fit.at[anchor, "sim_mean"] - seen.iloc[-1])
            if math.isfinite(offset):
                anchored = score(test["observed"], test[sim_cols] - offset, float(seen.mean()), others)
                out["backtest_anchored"][str(target)] = anchored | {"anchor_month": str(anchor), "offset": offset}
    return out


DRIFT_WARNING = 0.10  # |simulated trend| per year, as a share of the simulated level


def drift(table: pd.DataFrame) -> dict[str, dict[str, float]]:
    """Least-squares trend of each target's simulated monthly mean over fit and test
    periods, per year and relative to its mean. The model is stationary, so a sizeable
    trend (over 10% of the level a year, t > 3) means the model has not settled: a queue
    growing without limit (demand above capacity) or too short a warm-up; a backtest can
    then look good or bad for the wrong reason."""
    out = {}
    for target, rows in table.groupby("target", sort=False):
        y = rows["sim_mean"].to_numpy(dtype=float)
        if y.size < 4 or np.ptp(y) == 0:
            out[str(target)] = {"per_year": 0.0, "relative_per_year": 0.0, "t": 0.0, "warning": False}
            continue
        (slope, _), cov = np.polyfit(np.arange(y.size), y, 1, cov=True)
        t = float(slope / np.sqrt(cov[0, 0])) if cov[0, 0] > 0 else math.inf
        level = float(np.mean(np.abs(y))) or 1.0
        out[str(target)] = {"per_year": float(slope * 12), "relative_per_year": float(slope * 12 / level), "t": t,
                            "warning": bool(abs(slope * 12 / level) > DRIFT_WARNING and abs(t) > 3)}
    return out


def _daily_band(config: CalibrationConfig, target: str, frames: Sequence[pd.DataFrame],
                ensemble: Sequence[pd.DataFrame], fit_days: pd.Series | None) -> pd.DataFrame:
    """The daily band of ``target``, spread by the model discrepancy over ``fit_days``
    (the observed daily series in the fit period; None: not observed daily) and the
    target's level change."""
    table = pd.concat([f[target] for f in frames], axis=1)
    members = pd.concat([f[target] for f in [*frames, *ensemble]], axis=1)
    sd = 0.0 if fit_days is None else discrepancy_sd(fit_days, table, members)
    level = level_sd(config.targets[target].level_change_sd, config.fit_period, pd.DatetimeIndex(table.index))
    return band(table, members, spread_sd(table, sd, level))


def _fit_days(config: CalibrationConfig, observed: Observed, target: str) -> pd.Series | None:
    """A daily target's observed series over the fit period (None for a monthly one)."""
    name = config.observed_name(target)
    if observed.frequency[name] != "daily":
        return None
    obs = observed.series[name]
    return obs[(obs.index >= pd.Timestamp(config.fit_period.first_day()))
               & (obs.index <= pd.Timestamp(config.fit_period.last_day()))]


def daily_bands(config: CalibrationConfig, observed: Observed, frames: Sequence[pd.DataFrame],
                ensemble: Sequence[pd.DataFrame] = ()) -> dict[str, pd.DataFrame]:
    """Each target's band per simulated day (:func:`band`) over ``frames`` (the fitted
    scenario's final replications) and ``ensemble`` (the replications of the parameter
    draws), spread by the model discrepancy over the fit days when observed daily."""
    return {target: _daily_band(config, target, frames, ensemble, _fit_days(config, observed, target))
            for target in config.targets}


def daily_scores(config: CalibrationConfig, observed: Observed, bands: dict[str, pd.DataFrame]) -> dict[str, Any]:
    """Day-by-day backtest of the targets observed daily (test period) on their
    :func:`daily_bands`."""
    test = config.test_period
    if test is None:
        return {}
    out = {}
    for target in config.targets:
        fit = _fit_days(config, observed, target)
        if fit is None:
            continue
        obs = observed.series[config.observed_name(target)]
        in_test = obs[(obs.index >= pd.Timestamp(test.first_day())) & (obs.index <= pd.Timestamp(test.last_day()))]
        if fit.empty:
            out[target] = score(in_test, bands[target])
            continue
        last_4_weeks = fit[fit.index > fit.index.max() - pd.Timedelta(days=28)]
        others = {"last_value": pd.Series(float(fit.iloc[-1]), index=in_test.index),
                  "mean_last_4_weeks": pd.Series(float(last_4_weeks.mean()), index=in_test.index)}
        out[target] = score(in_test, bands[target], float(fit.mean()), others)
    return out


def daily_table(config: CalibrationConfig, observed: Observed, bands: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Long table per simulated day: target, date, observed (daily targets), sim_mean and
    the :func:`daily_bands`."""
    parts = []
    for target in config.targets:
        frame = bands[target].copy()
        daily = _fit_days(config, observed, target) is not None
        frame["observed"] = observed.series[config.observed_name(target)].reindex(frame.index) if daily else np.nan
        parts.append(frame.rename_axis("date").reset_index().assign(target=target))
    return pd.concat(parts, ignore_index=True)[["target", "date", "observed", *BAND_COLUMNS]]


def _clean(value: Any) -> Any:
    """JSON-safe: NaN and infinities become null; numpy scalars become Python numbers."""
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def period_json(period: Period | None) -> dict[str, str] | None:
    return None if period is None else {"start": period.start, "end": period.end}


def write_json(path: Path, document: dict[str, Any]) -> None:
    path.write_text(json.dumps(_clean(document), indent=2) + "\n")


def observed_in(observed: pd.Series, period: Period) -> pd.Series:
    """Months of ``period`` in a monthly series."""
    return in_period(observed, period.start, period.end)


UNCERTAINTY_METHOD = (
    "Two parts, added in quadrature. (1) Curvature (Laplace approximation): the derivative "
    "of each target's fit-period mean with respect to each parameter, by central differences "
    "on common random numbers (steps of 5% of the bounds, at least 1 for whole numbers), "
    "gives the information matrix sum_t n_eff,t / s2_t g_t g_t', where s2_t is the mean "
    "squared monthly residual of target t and n_eff,t = n_t (1 - r)/(1 + r) its month count "
    "shrunk for lag-1 autocorrelation r of the residuals; a weak Gaussian prior with the "
    "variance of a uniform over the bounds, (high - low)^2 / 12, is added so that a parameter "
    "the targets do not inform gets back its prior spread instead of a spuriously small error. "
    "(2) Monte Carlo spread: the standard deviation of the parameter over the main fit and "
    "local refits with independent random-number seeds.")


def curvature(problem: Problem, simulator: Simulator, seed: int, replications: int,
              best: Sequence[float], residuals: dict[str, pd.Series]) -> dict[str, Any]:
    """Laplace-approximation standard errors of ``best`` (see ``UNCERTAINTY_METHOD``);
    ``residuals`` are observed minus simulated monthly means over the fit period."""
    p = len(best)
    span = problem.high - problem.low
    steps = np.where(problem.integer, np.maximum(1.0, np.round(0.05 * span)), 0.05 * span)
    points: list[tuple[float, ...]] = []
    for j in range(p):
        for sign in (1.0, -1.0):
            x = np.array(best, dtype=float)
            x[j] = float(np.clip(x[j] + sign * steps[j], problem.low[j], problem.high[j]))
            points.append(tuple(x))
    frames = simulator.run([(problem.scenario(x), seed, range(replications)) for x in points])
    monthly = [monthly_by_rep(f) for f in frames]
    means = [{t: m[t].mean(axis=1).reindex(o.index).mean() for t, o in problem.observed.items()} for m in monthly]
    info = np.diag(12.0 / span**2)  # weak prior: a uniform's variance over the bounds
    gradients: dict[str, list[float]] = {}
    for t, r in residuals.items():
        g = np.array([(means[2 * j][t] - means[2 * j + 1][t]) / ((points[2 * j][j] - points[2 * j + 1][j]) or 1.0)
                      for j in range(p)])
        r = r.dropna()
        s2 = max(float(np.mean(r.to_numpy() ** 2)), 1e-12)
        rho = float(np.clip(r.autocorr(lag=1), 0.0, 0.9)) if len(r) > 2 and r.std() > 0 else 0.0
        n_eff = len(r) * (1 - rho) / (1 + rho)
        info += n_eff / s2 * np.outer(g, g)
        gradients[t] = g.tolist()
    cov = np.linalg.inv(info)
    se = np.sqrt(np.diag(cov))
    corr = cov / np.outer(se, se)
    return {"se": se.tolist(), "prior_sd": (span / math.sqrt(12)).tolist(), "correlation": corr.tolist(),
            "gradients": gradients, "steps": steps.tolist()}


def refit(problem: Problem, simulator: Simulator, seeds: Sequence[int], replications: int,
          best: tuple[float, ...], method: str, max_evaluations: int) -> list[tuple[tuple[float, ...], float]]:
    """Local refits from ``best`` with other random-number seeds: (values, objective) each."""
    out = []
    for seed in seeds:
        evaluator = Evaluator(problem, simulator, seed, replications)
        evaluator.many([best])
        local_search(evaluator, best, method, max_evaluations, step=0.05)
        out.append(evaluator.best())
    return out


def parameter_entries(problem: Problem, best: tuple[float, ...], curv: dict[str, Any],
                      refits: list[tuple[tuple[float, ...], float]]) -> dict[str, Any]:
    """``{name: {value, start, bounds, se, ci90, ...}}`` (see simfit.UNCERTAINTY_METHOD)."""
    out = {}
    start = problem.start_values()
    for j, name in enumerate(problem.names):
        p = problem.config.parameters[name]
        values = [best[j], *[r[0][j] for r in refits]]
        refit_sd = statistics.stdev(values) if len(values) > 1 else 0.0
        se = math.hypot(curv["se"][j], refit_sd)
        low, high = p.bounds
        out[name] = {
            "value": best[j], "start": start[j], "bounds": list(p.bounds), "integer": p.integer,
            "sets": problem.config.parameter_path(name) or ({"scale": p.scale} if p.step is None else
                                                             p.step.model_dump(mode="json", by_alias=True)),
            "label": p.label,
            "se": se, "se_curvature": curv["se"][j], "refit_sd": refit_sd if refits else None,
            "refit_values": values[1:], "prior_sd": curv["prior_sd"][j],
            "ci90": [max(low, best[j] - Z90 * se), min(high, best[j] + Z90 * se)],
            "identified": bool(curv["se"][j] < 0.5 * curv["prior_sd"][j]),
        }
    return out


def parameter_draws(problem: Problem, best: Sequence[float], curv: dict[str, Any],
                    refits: list[tuple[tuple[float, ...], float]], n: int, seed: int) -> list[tuple[float, ...]]:
    """``n`` parameter vectors from the normal approximation of the fit: mean ``best``,
    covariance from the curvature (standard errors and correlations) plus the refits'
    variance on the diagonal; clipped to the bounds, whole numbers rounded."""
    if n == 0:
        return []
    se = np.asarray(curv["se"], dtype=float)
    cov = np.asarray(curv["correlation"], dtype=float) * np.outer(se, se)
    if refits:
        values = np.array([best, *[r[0] for r in refits]], dtype=float)
        cov = cov + np.diag(values.std(axis=0, ddof=1) ** 2)
    rows = np.random.default_rng(seed).multivariate_normal(np.asarray(best, dtype=float), cov, size=n,
                                                           method="eigh")
    return [problem.values(problem.unit(row)) for row in rows]


def stability(frames: Sequence[pd.DataFrame], beds: int) -> dict[str, Any]:
    """The stability check (``simfit.unstable_queues``) on the fitted scenario's final
    replications over the whole simulated period (fit and test): the mean admission queue
    in the first and last month, how many replications are unstable and, per queue, in how
    many replications it fails; stable when none is."""
    months = monthly_by_rep(frames)[QUEUE].mean(axis=1)
    failing = [unstable_queues(f, beds) for f in frames]
    by_queue = {name: sum(name in fails for fails in failing) for name in (QUEUE, *WAITING_CHECKS)}
    unstable = sum(bool(fails) for fails in failing)
    return {"rule": "the daily admission queue grows (d2asim.metrics.stability.is_growing: last third at least 10 "
                    "patients and twice the first, middle between) or averages above 5% of the beds over the last "
                    "30 days, or a wait in acute beds for a P1-P3 place grows, in any replication "
                    "(d2asim.calibration.simfit.unstable_queues)",
            "beds": beds, "queue_first_month": float(months.iloc[0]), "queue_last_month": float(months.iloc[-1]),
            "replications_failing_by_queue": {name.removesuffix("_check"): n for name, n in by_queue.items()},
            "replications_unstable": int(unstable), "replications": len(frames), "stable": unstable == 0}


STOCK_TARGETS = ("nctr", "acute_occupied")
COVERAGE_NEEDED = 0.8


def verdict(document: dict[str, Any]) -> dict[str, Any]:
    """Fit for planning, or not yet and why: the rerun is stable with no drift warning, the
    model beats the best naive forecast (MASE < 1) on every stock target (NCTR, occupancy),
    and the median 90% coverage over the backtest targets is at least 80%."""
    reasons = []
    if not document["stability"]["stable"]:
        failing = [name.replace("_", " ") for name, n in
                   document["stability"].get("replications_failing_by_queue", {"admission_queue": 1}).items() if n]
        reasons.append(f"the fitted scenario's queues grow ({', '.join(failing)})")
    drifting = [t for t, d in document["simulated_drift"].items() if d["warning"]]
    if drifting:
        reasons.append(f"simulated {', '.join(drifting)} drift{'s' if len(drifting) == 1 else ''} "
                       "(the model has not settled)")
    backtest = {t: m for t, m in document.get("backtest", {}).items() if m.get("n")}
    if not backtest:
        reasons.append("there is no test period to backtest on")
    stocks = [t for t in backtest if document["targets"][t]["model"] in STOCK_TARGETS]
    losing = [t for t in stocks if _mase(backtest[t]) >= 1]
    if losing:
        reasons.append(f"it does not beat the best naive forecast on {', '.join(losing)} (MASE "
                       + ", ".join(f"{_mase(backtest[t]):.2f}" for t in losing) + ")")
    coverage = [m["coverage_90"] for m in backtest.values()]
    median = float(np.median(coverage)) if coverage else None
    if median is not None and median < COVERAGE_NEEDED:
        reasons.append(f"its 90% bands cover a median {median:.0%} of test months (needs {COVERAGE_NEEDED:.0%})")
    fit = not reasons
    sentence = ("Fit for planning: stable, beats the best naive forecast on "
                + (", ".join(stocks) or "the stocks") + f", and the 90% bands cover a median {median:.0%} of test "
                "months." if fit else "Not yet fit for planning: " + "; ".join(reasons) + ".")
    return {"fit_for_planning": fit, "sentence": sentence, "reasons": reasons,
            "rule": "stable rerun, no drift warning, MASE < 1 on NCTR and occupancy targets, median 90% "
                    "coverage >= 80%"}


def _mase(scores: dict[str, Any]) -> float:
    """MASE of a backtest series (infinite when the best naive forecast is exact)."""
    return math.inf if scores.get("mase") is None else float(scores["mase"])
