"""What a fit is worth: parameter uncertainty, and a backtest on a period the fit did not see.

For each target and month: the observed mean per day, and across the final
replications the simulated mean and 5th-95th percentile band of that month's mean.
Metrics over the months of a period (units of the target: patients, or patients a day):

``mae``          mean |simulated mean - observed|
``bias``         mean (simulated mean - observed): positive = the model over-predicts
``coverage_90``  share of observed months inside the simulated 5-95% band
``naive_mae``    mean |naive - observed|, naive = the mean of the fit period's observed months
                 (the "last period's mean" forecast a model has to beat)

Targets observed daily are also scored day by day (``backtest_daily``): each observed
day against the simulated mean and 5-95% band of that day across replications.
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

from d2asim.calibration.aggregates import Observed, in_period
from d2asim.calibration.config import CalibrationConfig, Period
from d2asim.calibration.simfit import Evaluator, Problem, Simulator, local_search, monthly_by_rep

Z90 = 1.6449  # two-sided 90% normal quantile


def band(table: pd.DataFrame) -> pd.DataFrame:
    """Rows of ``table`` (replications in columns): mean, p5 and p95 across replications."""
    values = table.to_numpy(dtype=float)
    return pd.DataFrame({"sim_mean": values.mean(axis=1), "sim_p5": np.percentile(values, 5, axis=1),
                         "sim_p95": np.percentile(values, 95, axis=1)}, index=table.index)


def score(observed: pd.Series, sim: pd.DataFrame, naive: float | None = None) -> dict[str, float]:
    """MAE, bias, coverage of the 5-95% band and (with ``naive``) the naive MAE, over the
    points where both an observation and a simulated band exist."""
    frame = sim.join(observed.rename("observed"), how="inner").dropna()
    if frame.empty:
        return {"n": 0}
    err = frame["sim_mean"] - frame["observed"]
    inside = (frame["observed"] >= frame["sim_p5"]) & (frame["observed"] <= frame["sim_p95"])
    out = {"mae": float(err.abs().mean()), "bias": float(err.mean()), "coverage_90": float(inside.mean()),
           "n": int(len(frame))}
    if naive is not None:
        out["naive_mae"] = float((frame["observed"] - naive).abs().mean())
    return out


def series_table(config: CalibrationConfig, observed: Observed, simulated: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Long table: target, month, period (fit/test/-), observed, sim_mean, sim_p5, sim_p95."""
    rows = []
    for target in config.targets:
        obs = observed.monthly(config.observed_name(target), config.min_days_per_month)
        frame = band(simulated[target]).join(obs.rename("observed"), how="left")
        frame["period"] = [_period_of(m, config) for m in frame.index]
        rows.append(frame.rename_axis("month").reset_index().assign(target=target))
    table = pd.concat(rows, ignore_index=True)
    return table[["target", "month", "period", "observed", "sim_mean", "sim_p5", "sim_p95"]]


def _period_of(month: str, config: CalibrationConfig) -> str:
    for name, period in (("fit", config.fit_period), ("test", config.test_period)):
        if period is not None and period.start <= month <= period.end:
            return name
    return "-"


def monthly_scores(config: CalibrationConfig, table: pd.DataFrame) -> dict[str, dict[str, dict[str, float]]]:
    """``{"fit": {target: metrics}, "backtest": {target: metrics}}`` from :func:`series_table`."""
    out: dict[str, dict[str, dict[str, float]]] = {"fit": {}, "backtest": {}}
    for target, rows in table.groupby("target", sort=False):
        rows = rows.set_index("month")
        fit = rows[rows["period"] == "fit"]
        naive = float(fit["observed"].dropna().mean())
        sim_cols = ["sim_mean", "sim_p5", "sim_p95"]
        out["fit"][str(target)] = score(fit["observed"], fit[sim_cols])
        if config.test_period is not None:
            test = rows[rows["period"] == "test"]
            out["backtest"][str(target)] = score(test["observed"], test[sim_cols], naive)
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


def daily_scores(config: CalibrationConfig, observed: Observed, frames: Sequence[pd.DataFrame]) -> dict[str, Any]:
    """Day-by-day backtest of the targets observed daily (test period)."""
    test = config.test_period
    if test is None:
        return {}
    out = {}
    for target in config.targets:
        name = config.observed_name(target)
        if observed.frequency[name] != "daily":
            continue
        obs = observed.series[name]
        table = pd.concat([f[target] for f in frames], axis=1)
        fit = obs[(obs.index >= pd.Timestamp(config.fit_period.first_day()))
                  & (obs.index <= pd.Timestamp(config.fit_period.last_day()))]
        in_test = obs[(obs.index >= pd.Timestamp(test.first_day())) & (obs.index <= pd.Timestamp(test.last_day()))]
        out[target] = score(in_test, band(table), float(fit.mean()) if len(fit) else None)
    return out


def daily_table(config: CalibrationConfig, observed: Observed, frames: Sequence[pd.DataFrame]) -> pd.DataFrame:
    """Long table per simulated day: target, date, observed (daily targets), sim_mean, sim_p5, sim_p95."""
    parts = []
    for target in config.targets:
        frame = band(pd.concat([f[target] for f in frames], axis=1))
        name = config.observed_name(target)
        daily = observed.frequency[name] == "daily"
        frame["observed"] = observed.series[name].reindex(frame.index) if daily else np.nan
        parts.append(frame.rename_axis("date").reset_index().assign(target=target))
    return pd.concat(parts, ignore_index=True)[["target", "date", "observed", "sim_mean", "sim_p5", "sim_p95"]]


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
    means = [{t: m.mean(axis=1).reindex(problem.observed[t].index).mean() for t, m in monthly_by_rep(f).items()}
             for f in frames]
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
            "sets": problem.config.parameter_path(name) or {"scale": p.scale}, "label": p.label,
            "se": se, "se_curvature": curv["se"][j], "refit_sd": refit_sd if refits else None,
            "refit_values": values[1:], "prior_sd": curv["prior_sd"][j],
            "ci90": [max(low, best[j] - Z90 * se), min(high, best[j] + Z90 * se)],
            "identified": bool(curv["se"][j] < 0.5 * curv["prior_sd"][j]),
        }
    return out
