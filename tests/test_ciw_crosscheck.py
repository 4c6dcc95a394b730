"""Cross-check against Ciw, an independent queueing-network simulator.

The same small network in both:

* node 1 = acute beds: Poisson arrivals (rate LAM per day), C1 servers (beds),
  exponential service (time to discharge ready, mean 1/MU1 days), infinite FIFO
  queue (the admission queue);
* after service, with probability Q to node 2 = P1 (C2 places, exponential
  stays mean 1/MU2 days), otherwise leave. Node 2 has no waiting room (Ciw
  ``queue_capacities=[inf, 0]``), so someone routed to a full node 2 stays blocked
  in the node-1 server: Ciw's type I blocking, released first come first served,
  which is d2asim's "waiting for a place keeps the acute bed".

d2asim: every pathway has the same exponential time to discharge ready, shares
P0 = 1 - Q and P1 = Q (drawn at arrival rather than at service end: the same
distribution, independent of everything else), D2A without assessment time,
always-open windows, P1 outcome home.

Compared over the same reported window (days WARMUP to WARMUP + DAYS): mean
node-1 occupancy (beds held, incl. blocked), mean node-2 occupancy, mean number
blocked (DTOC beds), mean blocked time per node-1 departure and mean admission
wait. For each measure the 99% Welch interval of the difference between the two
simulators' replication means must contain 0, and be narrow enough to matter.
"""

from __future__ import annotations

import ciw
import numpy as np
import pytest
from helpers import assert_same_answers, exponential, reported_window, scenario_dict, simulate, time_average

from d2asim.scenario.loader import validate_mapping

pytestmark = pytest.mark.slow  # statistical: many long replications

LAM, C1, MU1 = 8.0, 12, 1.0
Q, C2, MU2 = 0.3, 5, 1.0 / 1.5
WARMUP, DAYS, REPS = 30, 1500, 20
DRAIN = 60.0  # Ciw runs on so that everyone in the window has a record
CONF = 0.99
MEASURES = ("node1", "node2", "blocked", "blocked_per_departure", "admission_wait")
# largest acceptable half width of the Welch interval, relative to the measure
MAX_REL_HALF = {"node1": 0.02, "node2": 0.02, "blocked": 0.15, "blocked_per_departure": 0.15, "admission_wait": 0.25}


def ciw_replication(rep: int) -> dict[str, float]:
    network = ciw.create_network(
        arrival_distributions=[ciw.dists.Exponential(rate=LAM), None],
        service_distributions=[ciw.dists.Exponential(rate=MU1), ciw.dists.Exponential(rate=MU2)],
        number_of_servers=[C1, C2],
        queue_capacities=[float("inf"), 0],
        routing=[[0.0, Q], [0.0, 0.0]],
    )
    ciw.seed(1000 + rep)
    sim = ciw.Simulation(network)
    w0, w1 = float(WARMUP), float(WARMUP + DAYS)
    sim.simulate_until_max_time(w1 + DRAIN)
    recs = [r for r in sim.get_all_records() if r.record_type == "service"]
    n1 = [r for r in recs if r.node == 1]
    n2 = [r for r in recs if r.node == 2]
    col = lambda rs, f: np.array([getattr(r, f) for r in rs], dtype=float)  # noqa: E731
    # nobody in the window is missing: whoever is still in a node at the end of the
    # run arrived there after the window
    for node in sim.transitive_nodes:
        assert all(ind.arrival_date >= w1 for ind in node.all_individuals)
    start1, exit1, end1 = col(n1, "service_start_date"), col(n1, "exit_date"), col(n1, "service_end_date")
    arrival1 = col(n1, "arrival_date")
    left = (exit1 >= w0) & (exit1 < w1)
    arrived = (arrival1 >= w0) & (arrival1 < w1)
    return {
        "node1": time_average(start1, exit1, w0, w1),
        "node2": time_average(col(n2, "service_start_date"), col(n2, "exit_date"), w0, w1),
        "blocked": time_average(end1, exit1, w0, w1),
        "blocked_per_departure": float(np.mean(col(n1, "time_blocked")[left])),
        "admission_wait": float(np.mean(col(n1, "waiting_time")[arrived])),
    }


def d2asim_scenario():  # noqa: ANN201
    return validate_mapping(
        scenario_dict(
            per_day=LAM,
            beds=C1,
            ttr=exponential(1.0 / MU1),
            shares={"P0": 1.0 - Q, "P1": Q, "P2": 0.0, "P3": 0.0},
            settings={"P1": {"service": "p1", "assessment": {"mode": "d2a"}}},
            services={"p1": {"capacity": C2, "duration_days": exponential(1.0 / MU2)}},
            warmup_days=WARMUP,
            duration_days=DAYS,
        ),
        "ciw-crosscheck",
    )


def d2asim_replication(sc, rep: int) -> dict[str, float]:  # noqa: ANN001
    _, log, _, m = simulate(sc, 2024, rep)
    w0, w1 = reported_window(sc)
    acute = log.table("acute")
    left = (acute["leave"] >= w0) & (acute["leave"] < w1)
    return {
        "node1": m["acute_occupancy_mean"],
        "node2": m["service_occupancy_mean.p1"],
        "blocked": m["dtoc_beds_per_day"],
        "blocked_per_departure": float(np.mean(acute["leave"][left] - acute["ready"][left])),
        "admission_wait": m["admission_wait_mean_hours"] / 24.0,
    }


@pytest.fixture(scope="module")
def both() -> dict[str, tuple[list[float], list[float]]]:
    sc = d2asim_scenario()
    ours = [d2asim_replication(sc, rep) for rep in range(REPS)]
    theirs = [ciw_replication(rep) for rep in range(REPS)]
    # the comparison exercises blocking: P1 is often full
    assert min(t["blocked_per_departure"] for t in theirs) > 0.02
    assert min(o["blocked_per_departure"] for o in ours) > 0.02
    return {k: ([o[k] for o in ours], [t[k] for t in theirs]) for k in MEASURES}


@pytest.mark.parametrize("measure", MEASURES)
def test_same_network_same_answers(both, measure: str) -> None:  # noqa: ANN001
    ours, theirs = both[measure]
    assert_same_answers(measure, ours, theirs, CONF, MAX_REL_HALF[measure])
