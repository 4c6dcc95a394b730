"""The benchmark reference flow: its parameters and the definitions of its outputs.

Shared by the plain SimPy, Ciw and numba versions (d2asim reads the same numbers
from ``benchmarks/reference.yaml``; ``check_yaml_matches`` keeps the two in step).

Outputs of one replication, over the reported window ``[warmup, warmup + days)``
(days on the simulation clock, day 0 = start of the warm-up), defined exactly as
d2asim's metrics of the same names:

``acute_occupancy_mean``
    time-average number of acute beds held (admitted and not yet left, including
    discharge-ready patients waiting for a place or being assessed).
``delayed_bed_days``
    bed days spent in an acute bed between discharge ready and leaving it (P3's
    on-ward assessment included; P0 leaves at once so has none), clipped to the window.
``admission_wait_mean_hours``
    mean time from arrival to admission, hours, of patients who arrived in the window
    and were admitted before the end of the run.

The comparable **event count** (for events per second) is the number of patient
state changes before the end of the run: arrival, admission, discharge ready, end of
P3's on-ward assessment, leaving the acute bed, end of the downstream service. It is
a property of the flow, not of any tool's scheduler, so it is about 5 per patient
in every implementation (each counts it from its own per-patient records).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

PATHWAYS = ("P0", "P1", "P2", "P3")
OUTPUTS = ("acute_occupancy_mean", "delayed_bed_days", "admission_wait_mean_hours")


def lognormal_params(mean: float, sd: float) -> tuple[float, float]:
    """(mu, sigma) of the underlying normal of a lognormal with this mean and sd."""
    s2 = math.log(1.0 + (sd / mean) ** 2)
    return math.log(mean) - s2 / 2.0, math.sqrt(s2)


@dataclass(frozen=True)
class Flow:
    """The reference flow (times in days). ``scaled(k)`` multiplies arrivals and
    every capacity by ``k``."""

    arrivals_per_day: float = 60.0
    beds: int = 400
    ttr_mean: float = 6.0  # time to discharge ready, lognormal
    ttr_sd: float = 5.0
    shares: tuple[float, float, float, float] = (0.55, 0.30, 0.10, 0.05)  # P0..P3
    capacity: tuple[int, int, int] = (270, 135, 40)  # P1 reablement, P2 bedded rehab, P3 placements
    p1_mean: float = 14.0  # lognormal
    p1_sd: float = 10.0
    p2_mean: float = 21.0  # lognormal
    p2_sd: float = 14.0
    p3_mean: float = 10.0  # exponential
    p3_assessment_mean: float = 7.0  # exponential, in the acute bed
    warmup_days: float = 60.0
    duration_days: float = 365.0

    @property
    def horizon(self) -> float:
        return self.warmup_days + self.duration_days

    @property
    def window(self) -> tuple[float, float]:
        return self.warmup_days, self.horizon

    def shorter(self, warmup_days: float, duration_days: float) -> Flow:
        return replace(self, warmup_days=warmup_days, duration_days=duration_days)

    def scaled(self, k: float, beds: int | None = None) -> Flow:
        return replace(
            self,
            arrivals_per_day=self.arrivals_per_day * k,
            beds=int(round(self.beds * k)) if beds is None else beds,
            capacity=tuple(int(round(c * k)) for c in self.capacity),  # type: ignore[arg-type]
        )


REFERENCE = Flow()
X10_BEDS = 4500  # the x10 flow: 600/day and 4,500 beds (not 4,000), other capacities x10
X10 = REFERENCE.scaled(10, beds=X10_BEDS)


def d2asim_overrides(flow: Flow) -> dict[str, Any]:
    """Dotted overrides that turn benchmarks/reference.yaml into ``flow`` (same distributions)."""
    return {
        "arrivals.non_elective.per_day": flow.arrivals_per_day,
        "acute.beds": flow.beds,
        "services.p1.capacity": flow.capacity[0],
        "services.p2.capacity": flow.capacity[1],
        "services.p3.capacity": flow.capacity[2],
        "run.warmup_days": int(flow.warmup_days),
        "run.duration_days": int(flow.duration_days),
    }


def check_yaml_matches(scenario: Any, flow: Flow = REFERENCE) -> list[str]:
    """Differences between a d2asim scenario (benchmarks/reference.yaml) and ``flow``."""
    problems = []

    def same(what: str, a: Any, b: Any) -> None:
        if not (a == b or (isinstance(a, float | int) and isinstance(b, float | int) and math.isclose(a, b))):
            problems.append(f"{what}: YAML {a!r}, flow.py {b!r}")

    sc = scenario
    same("arrivals per day", sc.arrivals.non_elective.per_day, flow.arrivals_per_day)
    same("beds", sc.acute.beds, flow.beds)
    for p in PATHWAYS:
        d = sc.acute.time_to_discharge_ready_days[p]
        same(f"ttr {p}", (d.type, d.mean_days, d.sd), ("lognormal", flow.ttr_mean, flow.ttr_sd))
    same("shares", tuple(sc.pathways.shares[p] for p in PATHWAYS), flow.shares)
    settings = sc.pathways.settings
    same("P0 service", settings["P0"].service, None)
    for i, (p, name) in enumerate((("P1", "p1"), ("P2", "p2"), ("P3", "p3"))):
        same(f"{p} service", settings[p].service, name)
        same(f"{name} capacity", sc.services[name].capacity, flow.capacity[i])
        same(f"{name} start calendar always open", sc.services[name].start_calendar.always_open(), True)
        same(f"{name} outcomes", dict(sc.services[name].outcomes), {"home": 1.0})
        cap = sc.services[name].max_duration_days
        if cap is not None and cap < 36_525:  # the 100-year limit of any duration: no cap
            problems.append(f"{name}: max_duration_days {cap} truncates the stay")
    for name, dist, expect in (
        ("p1", sc.services["p1"].duration_days, ("lognormal", flow.p1_mean, flow.p1_sd)),
        ("p2", sc.services["p2"].duration_days, ("lognormal", flow.p2_mean, flow.p2_sd)),
    ):
        same(f"{name} duration", (dist.type, dist.mean_days, dist.sd), expect)
    d3 = sc.services["p3"].duration_days
    same("p3 duration", (d3.type, d3.mean_days), ("exponential", flow.p3_mean))
    for p in ("P1", "P2"):
        a = settings[p].assessment
        same(f"{p} assessment", (a.mode, a.delay_days), ("d2a", None))
    a3 = settings["P3"].assessment
    same("P3 assessment", (a3.mode, a3.team, a3.delay_days.type, a3.delay_days.mean_days),
         ("on_ward", None, "exponential", flow.p3_assessment_mean))
    same("death probability", sc.acute.death_probability, 0.0)
    same("age bands", len(sc.age_bands), 1)
    same("windows always open", (sc.acute.discharge_window.always_open(),
                                 sc.acute.discharge_ready_window.always_open()), (True, True))
    same("no elective, readmission, escalation, initial state",
         (sc.arrivals.elective, sc.readmission, sc.acute.escalation, sc.initial_state), (None,) * 4)
    same("warm-up days", sc.run.warmup_days, flow.warmup_days)
    same("duration days", sc.run.duration_days, flow.duration_days)
    return problems


def _overlap(start: np.ndarray, end: np.ndarray, w0: float, w1: float) -> float:
    """Total length of the intervals [start, end) inside [w0, w1) (nan start: none)."""
    keep = ~np.isnan(start)
    s = np.clip(start[keep], w0, w1)
    e = np.clip(np.nan_to_num(end[keep], nan=np.inf), w0, w1)
    return float(np.sum(np.maximum(e - s, 0.0)))


def outputs(arrival: np.ndarray, admit: np.ndarray, ready: np.ndarray, leave: np.ndarray,
            flow: Flow) -> dict[str, float]:
    """The three outputs from per-patient times (nan: not reached before the end of
    the run; ``leave`` may be nan or inf for someone still in a bed)."""
    w0, w1 = flow.window
    arrived = (arrival >= w0) & (arrival < w1)
    admitted = arrived & (admit < w1)  # nan compares False
    waits = 24.0 * (admit[admitted] - arrival[admitted])
    return {
        "acute_occupancy_mean": _overlap(admit, leave, w0, w1) / (w1 - w0),
        "delayed_bed_days": _overlap(ready, leave, w0, w1),
        "admission_wait_mean_hours": float(waits.mean()) if waits.size else 0.0,
    }


def count_events(horizon: float, *times: np.ndarray) -> int:
    """Patient state changes before ``horizon``: finite times < horizon in each array."""
    return int(sum(np.count_nonzero(np.asarray(t) < horizon) for t in times))


def record_outputs(records: np.ndarray, flow: Flow) -> dict[str, float]:
    """The three outputs and the event count from per-patient records with columns
    (arrival, admit, ready, assessment end, leave, service end) — the layout the
    plain SimPy and Ciw implementations both produce."""
    arrival, admit, ready, _, leave, _ = records.T
    out = outputs(arrival, admit, ready, leave, flow)
    out["events"] = count_events(flow.horizon, *records.T)
    return out
