"""What a replication costs, in the terms a finance director uses (GBP, reported period).

- ``commissioning_cost_gbp``: block contracts, commissioned places x
  ``cost_per_place_per_day_gbp`` x days, paid whether the places are used or not
  (places follow the service's capacity schedule, day by day);
- ``spot_cost_gbp``: spot purchase, occupied service days x ``cost_per_day_gbp``;
- ``acute_bed_days_cost_gbp``: acute bed days at each trust's ``bed_day_cost_gbp``
  (delayed days at its ``delayed_bed_day_cost_gbp`` if set). This is a value, not a cash flow:
  fewer acute bed days release cash only if beds close;
- ``commissioning_and_spot_cost_gbp``: the two payments together;
- ``net_cost_gbp`` = commissioning + spot + acute bed days cost, so that its paired
  difference in a comparison is commissioning + spot - value of acute bed days avoided.

``cost_gbp.<service>`` and ``cost_total_gbp`` keep their meaning (occupied days only).
A comparison adds ``cost_per_bed_day_saved_gbp`` (:func:`ratio_interval`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
from scipy.special import stdtrit

from d2asim.metrics.intervals import interval_integrals, rows_by_code
from d2asim.model.log import ACUTE_PLACE, EventLog
from d2asim.summary import CONFIDENCE
from d2asim.system.registry import SystemRegistry, TrustEntry


def capacity_column(service: str) -> str:
    """daily.csv column holding a finite service's places on each day."""
    return f"{service}_capacity"


def bed_days_by_trust(
    log: EventLog, registry: SystemRegistry, window: tuple[float, float]
) -> list[tuple[TrustEntry, float, float]]:
    """(trust, acute bed days, delayed acute bed days) in the reported ``window`` (days), by trust."""
    acute, delays = log.table("acute"), log.table("delays")
    bounds = np.array(window)
    codes = [t.code for t in registry.trusts]
    admitted = np.flatnonzero(~np.isnan(acute["admit"]))
    admitted_by = rows_by_code(acute["trust"][admitted], codes)
    in_acute = np.flatnonzero(delays["place"] == ACUTE_PLACE)
    in_acute_by = rows_by_code(delays["trust"][in_acute], codes)
    out = []
    for t in registry.trusts:
        mine = admitted[admitted_by[t.code]]
        days = interval_integrals(acute["admit"][mine], acute["leave"][mine], bounds)[0]
        held = in_acute[in_acute_by[t.code]]
        delayed = interval_integrals(delays["start"][held], delays["end"][held], bounds)[0]
        out.append((t, float(days), float(delayed)))
    return out


def cost_metrics(
    metrics: dict[str, float], registry: SystemRegistry, reported: Mapping[str, np.ndarray],
    by_trust: list[tuple[TrustEntry, float, float]],
) -> dict[str, float]:
    """Cost metrics (GBP) from the replication's bed days (``by_trust``: each trust's
    acute and delayed acute bed days, costed at its own rates) and the reported days' places."""
    acute_cost = float(sum((days - delayed) * t.acute.bed_day_cost_gbp + delayed * t.delayed_bed_day_cost_gbp
                           for t, days, delayed in by_trust))  # fmt: skip
    out = {"cost_gbp.acute": acute_cost}
    commissioning = spot = 0.0
    for service in registry.services:
        name, spec = service.name, service.spec
        occupied_cost = metrics[f"service_bed_days.{name}"] * spec.cost_per_day_gbp
        out[f"cost_gbp.{name}"] = occupied_cost
        spot += occupied_cost
        if spec.cost_per_place_per_day_gbp > 0:
            block = float(reported[capacity_column(name)].sum()) * spec.cost_per_place_per_day_gbp
            out[f"commissioning_cost_gbp_by_service.{name}"] = block
            commissioning += block
    out["cost_total_gbp"] = acute_cost + spot
    out["commissioning_cost_gbp"] = commissioning
    out["spot_cost_gbp"] = spot
    out["acute_bed_days_cost_gbp"] = acute_cost
    out["commissioning_and_spot_cost_gbp"] = commissioning + spot
    out["net_cost_gbp"] = commissioning + spot + acute_cost
    return out


def ratio_interval(cost: np.ndarray, saved: np.ndarray, confidence: float = CONFIDENCE) -> dict[str, float]:
    """Cost per bed day saved (GBP a bed day): mean extra cost / mean bed days saved over
    paired replications, with Fieller's confidence interval. The interval is NaN when
    the bed days saved are not distinguishable from zero (then the ratio is unbounded);
    the mean is NaN when nothing was saved on average."""
    c, s = np.asarray(cost, dtype=float), np.asarray(saved, dtype=float)
    n = c.size
    c_bar, s_bar = float(c.mean()), float(s.mean())
    ratio = c_bar / s_bar if s_bar > 0 else math.nan
    if n < 2 or math.isnan(ratio):
        return {"mean": ratio, "ci_low": ratio, "ci_high": ratio}
    t2 = float(stdtrit(n - 1, 0.5 + confidence / 2)) ** 2
    v_c, v_s = float(c.var(ddof=1)) / n, float(s.var(ddof=1)) / n
    v_cs = float(np.cov(c, s, ddof=1)[0, 1]) / n
    a = s_bar**2 - t2 * v_s
    b = c_bar * s_bar - t2 * v_cs
    disc = b**2 - a * (c_bar**2 - t2 * v_c)
    if a <= 0 or disc < 0:
        return {"mean": ratio, "ci_low": math.nan, "ci_high": math.nan}
    root = math.sqrt(disc)
    return {"mean": ratio, "ci_low": (b - root) / a, "ci_high": (b + root) / a}
