"""Cross-check of the system form against Ciw: two trusts sharing one downstream service.

The same network in both (times in days):

* nodes 1 and 2 = the acute beds of trusts A and B: Poisson arrivals (LAM_A, LAM_B a
  day), C_A and C_B beds, exponential time to discharge ready (mean 1/MU1), infinite
  FIFO admission queues;
* after treatment, with probability Q_A (Q_B) to node 3 = one reablement service shared
  by both (C3 places, exponential stays mean 1/MU3), otherwise home. Node 3 has no
  waiting room (Ciw ``queue_capacities=[inf, inf, 0]``): someone routed to a full node 3
  stays blocked in their acute bed (Ciw's type I blocking). Ciw releases the blocked
  individual who has waited longest, whichever node they block: d2asim's shared pool,
  first come first served across boroughs.

d2asim: the system form with borough ``a`` admitted to trust ``ta`` only and ``b`` to
``tb`` only, both sending P1 to one service ``shared_by: [a, b]``; D2A without assessment
time, always-open windows, outcome home.

For each measure the 99% Welch interval of the difference between the simulators'
replication means must contain 0 and be narrow enough to matter.
"""

from __future__ import annotations

from typing import Any

import ciw
import numpy as np
import pytest
from helpers import assert_same_answers, exponential, time_average

from d2asim.runner import run_replication
from d2asim.scenario.loader import validate_mapping
from d2asim.scenario.schema import Scenario

pytestmark = pytest.mark.slow  # statistical: many long replications

PATHWAYS = ("P0", "P1", "P2", "P3")

LAM_A, C_A, Q_A = 6.0, 10, 0.30
LAM_B, C_B, Q_B = 8.0, 12, 0.25
MU1, C3, MU3 = 1.0, 7, 1.0 / 1.5  # node 3 offered load (1.8 + 2.0) x 1.5 = 5.7 on 7: rho 0.81
WARMUP, DAYS, REPS = 30, 2000, 30
DRAIN = 60.0  # Ciw runs on so that everyone in the window has a record
CONF = 0.99
MEASURES = ("beds_a", "beds_b", "shared", "blocked_a", "blocked_b", "wait_a", "wait_b")
# largest acceptable half width of the Welch interval, relative to the measure
MAX_REL_HALF = {"beds_a": 0.03, "beds_b": 0.03, "shared": 0.03, "blocked_a": 0.2, "blocked_b": 0.2,
                "wait_a": 0.35, "wait_b": 0.35}  # fmt: skip


def ciw_replication(rep: int) -> dict[str, float]:
    network = ciw.create_network(
        arrival_distributions=[ciw.dists.Exponential(rate=LAM_A), ciw.dists.Exponential(rate=LAM_B), None],
        service_distributions=[ciw.dists.Exponential(rate=MU1)] * 2 + [ciw.dists.Exponential(rate=MU3)],
        number_of_servers=[C_A, C_B, C3],
        queue_capacities=[float("inf"), float("inf"), 0],
        routing=[[0.0, 0.0, Q_A], [0.0, 0.0, Q_B], [0.0, 0.0, 0.0]],
    )
    ciw.seed(3000 + rep)
    sim = ciw.Simulation(network)
    w0, w1 = float(WARMUP), float(WARMUP + DAYS)
    sim.simulate_until_max_time(w1 + DRAIN)
    for node in sim.transitive_nodes:  # nobody in the window is missing a record
        assert all(ind.arrival_date >= w1 for ind in node.all_individuals)
    recs = [r for r in sim.get_all_records() if r.record_type == "service"]

    def col(node: int, field: str) -> np.ndarray:
        return np.array([getattr(r, field) for r in recs if r.node == node], dtype=float)

    out = {"shared": time_average(col(3, "service_start_date"), col(3, "exit_date"), w0, w1)}
    for node, t in ((1, "a"), (2, "b")):
        arrival = col(node, "arrival_date")
        arrived = (arrival >= w0) & (arrival < w1)
        out[f"beds_{t}"] = time_average(col(node, "service_start_date"), col(node, "exit_date"), w0, w1)
        out[f"blocked_{t}"] = time_average(col(node, "service_end_date"), col(node, "exit_date"), w0, w1)
        out[f"wait_{t}"] = float(np.mean(col(node, "waiting_time")[arrived]))
    return out


def d2asim_scenario() -> Scenario:
    def trust(beds: int) -> dict[str, Any]:
        return {"beds": beds, "time_to_discharge_ready_days": {p: exponential(1.0 / MU1) for p in PATHWAYS}}

    def borough(q: float) -> dict[str, Any]:
        return {"pathways": {"shares": {"P0": 1.0 - q, "P1": q, "P2": 0.0, "P3": 0.0}}}

    data = {
        "name": "ciw-system",
        "run": {"warmup_days": WARMUP, "duration_days": DAYS},
        "trusts": {"ta": trust(C_A), "tb": trust(C_B)},
        "boroughs": {"a": borough(Q_A), "b": borough(Q_B)},
        "admissions": {"a": {"non_elective": {"by_trust": {"ta": LAM_A}}},
                       "b": {"non_elective": {"by_trust": {"tb": LAM_B}}}},
        "pathways": {"shares": {"P0": 1.0, "P1": 0.0, "P2": 0.0, "P3": 0.0},
                     "settings": {"P1": {"service": "shared", "assessment": {"mode": "d2a"}},
                                  "P2": {"service": None}, "P3": {"service": None}}},
        "services": {"shared": {"kind": "reablement", "setting": "home", "shared_by": ["a", "b"],
                                "capacity": C3, "duration_days": exponential(1.0 / MU3)}},
    }  # fmt: skip
    return validate_mapping(data, "ciw-system")


def d2asim_replication(sc: Scenario, rep: int) -> dict[str, float]:
    r = run_replication(sc, 2025, rep)
    out = {"shared": r.metrics["service_occupancy_mean.shared"]}
    for t in ("a", "b"):
        mine = r.by_place[f"trust:t{t}"]
        out[f"beds_{t}"] = mine["acute_occupancy_mean"]
        out[f"blocked_{t}"] = mine["dtoc_beds_per_day"]
        out[f"wait_{t}"] = mine["admission_wait_mean_hours"] / 24.0
    return out


@pytest.fixture(scope="module")
def both() -> dict[str, tuple[list[float], list[float]]]:
    sc = d2asim_scenario()
    ours = [d2asim_replication(sc, rep) for rep in range(REPS)]
    theirs = [ciw_replication(rep) for rep in range(REPS)]
    for t in ("a", "b"):  # the comparison exercises blocking and admission queues at both trusts
        assert min(o[f"blocked_{t}"] for o in ours) > 0.05 and min(c[f"blocked_{t}"] for c in theirs) > 0.05
        assert min(o[f"wait_{t}"] for o in ours) > 0.001 and min(c[f"wait_{t}"] for c in theirs) > 0.001
    return {k: ([o[k] for o in ours], [c[k] for c in theirs]) for k in MEASURES}


@pytest.mark.parametrize("measure", MEASURES)
def test_two_trusts_sharing_a_service_agree_with_ciw(both, measure: str) -> None:  # noqa: ANN001
    ours, theirs = both[measure]
    assert_same_answers(measure, ours, theirs, CONF, MAX_REL_HALF[measure])
