"""The reference flow in Ciw, using its blocking network.

Mapping (see benchmarks/README.md):

* node 1 = acute beds: ``flow.beds`` servers, infinite FIFO queue (the admission queue);
* nodes 2, 3, 4 = P1 reablement, P2 bedded rehab, P3 care-home placements, with
  ``flow.capacity`` servers and **queue capacity 0**: a patient routed to a full
  node stays in the node-1 server (Ciw's type I blocking, released in the order
  blocked), i.e. waiting for a place keeps the acute bed;
* four customer classes, one per pathway, each a Poisson stream of
  ``share x arrivals_per_day`` (thinning a Poisson process by an independent
  pathway draw gives exactly these independent streams), all sharing node 1's
  FIFO queue. P0 leaves after node 1, P1/P2/P3 are routed to nodes 2/3/4 with
  probability 1;
* P3's node-1 service time is treatment + on-ward assessment (lognormal + exponential,
  drawn separately by ``TreatmentThenAssessment``, which notes the assessment part on
  the individual so discharge ready = service end - assessment);
* the simulation stops at the horizon; patients still in node 1 are read from
  the node (leave = inf), the others from Ciw's records.

Run one replication: ``python benchmarks/ciw_flow.py [seed] [rep]``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import ciw
import numpy as np

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.flow import PATHWAYS, REFERENCE, Flow, lognormal_params, record_outputs

NAN = float("nan")


class TreatmentThenAssessment(ciw.dists.Distribution):
    """Node-1 service of a P3 patient: time to discharge ready, then the on-ward
    assessment; the assessment part is kept on the individual (``bench_assessment``)."""

    def __init__(self, treatment: ciw.dists.Distribution, assessment: ciw.dists.Distribution) -> None:
        self.treatment = treatment
        self.assessment = assessment

    def sample(self, t=None, ind=None):  # noqa: ANN001, ANN201
        a = self.assessment.sample(t, ind)
        if ind is not None:
            ind.bench_assessment = a
        return self.treatment.sample(t, ind) + a


def network(flow: Flow) -> ciw.Network:
    mu, sigma = lognormal_params(flow.ttr_mean, flow.ttr_sd)
    p1 = ciw.dists.Lognormal(*lognormal_params(flow.p1_mean, flow.p1_sd))
    p2 = ciw.dists.Lognormal(*lognormal_params(flow.p2_mean, flow.p2_sd))
    p3 = ciw.dists.Exponential(rate=1.0 / flow.p3_mean)
    treatment = ciw.dists.Lognormal(mu, sigma)
    p3_acute = TreatmentThenAssessment(ciw.dists.Lognormal(mu, sigma),
                                       ciw.dists.Exponential(rate=1.0 / flow.p3_assessment_mean))
    arrivals, services, routing = {}, {}, {}
    for i, name in enumerate(PATHWAYS):
        arrivals[name] = [ciw.dists.Exponential(rate=flow.shares[i] * flow.arrivals_per_day), None, None, None]
        services[name] = [p3_acute if i == 3 else treatment, p1, p2, p3]
        row = [0.0, 0.0, 0.0, 0.0]
        if i > 0:
            row[i] = 1.0  # node i + 1 is pathway i's service
        routing[name] = [row, [0.0] * 4, [0.0] * 4, [0.0] * 4]
    return ciw.create_network(
        arrival_distributions=arrivals,
        service_distributions=services,
        number_of_servers=[flow.beds, *flow.capacity],
        queue_capacities=[float("inf"), 0, 0, 0],
        routing=routing,
    )


def simulate(flow: Flow, seed: int, rep: int) -> np.ndarray:
    """One replication; per-patient times as in plain_simpy.simulate (arrival, admit,
    ready, assessed, leave, service_end; nan = not reached)."""
    ciw.seed(seed * 1_000_003 + rep)
    sim = ciw.Simulation(network(flow))
    horizon = flow.horizon
    sim.simulate_until_max_time(horizon)
    rows: dict[int, list[float]] = {}

    def row(ind_id: int) -> list[float]:
        return rows.setdefault(ind_id, [NAN] * 6)

    for ind in sim.get_all_individuals():
        assess = getattr(ind, "bench_assessment", None)
        for r in ind.data_records:
            if r.record_type != "service":
                continue
            rec = row(r.id_number)
            if r.node == 1:
                rec[0], rec[1], rec[4] = r.arrival_date, r.service_start_date, r.exit_date
                if assess is not None:
                    rec[2], rec[3] = r.service_end_date - assess, r.service_end_date
                else:
                    rec[2] = r.service_end_date
            else:
                rec[5] = r.service_end_date
    for ind in sim.nodes[1].all_individuals:  # still waiting for or holding an acute bed
        rec = row(ind.id_number)
        rec[0] = ind.arrival_date
        if ind.service_start_date is not False and ind.service_start_date is not None:
            rec[1] = ind.service_start_date
            end = ind.service_end_date
            assess = getattr(ind, "bench_assessment", None)
            ready = end - assess if assess is not None else end
            rec[2] = ready if ready < horizon else NAN
            if assess is not None and end < horizon:
                rec[3] = end
    return np.array(list(rows.values()), dtype=float).reshape(len(rows), 6)


def run(flow: Flow = REFERENCE, seed: int = 1, rep: int = 0) -> dict[str, float]:
    """One replication: the three outputs and the event count."""
    return record_outputs(simulate(flow, seed, rep), flow)


if __name__ == "__main__":
    args = [int(a) for a in sys.argv[1:3]]
    print(run(REFERENCE, *args))
