"""The reference flow as a plain SimPy model, written the way most published SimPy
healthcare models are: one generator process per patient, ``simpy.Resource`` for
beds and downstream places, and the patient holds the bed while requesting the
place (so a full service blocks the acute bed). Random numbers from Python's
``random`` module (one ``random.Random`` per replication).

Run one replication: ``python benchmarks/plain_simpy.py [seed] [rep]``.
"""

from __future__ import annotations

import math
import random
import sys
from pathlib import Path

import numpy as np
import simpy

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.flow import REFERENCE, Flow, lognormal_params, record_outputs

NAN = math.nan


def simulate(flow: Flow, seed: int, rep: int) -> np.ndarray:
    """One replication; returns per-patient times (rows: patients; columns: arrival,
    admit, ready, assessed, leave, service_end; nan = not reached)."""
    rng = random.Random(seed * 1_000_003 + rep)
    env = simpy.Environment()
    beds = simpy.Resource(env, capacity=flow.beds)
    places = [None] + [simpy.Resource(env, capacity=c) for c in flow.capacity]
    ttr_mu, ttr_sigma = lognormal_params(flow.ttr_mean, flow.ttr_sd)
    p1_mu, p1_sigma = lognormal_params(flow.p1_mean, flow.p1_sd)
    p2_mu, p2_sigma = lognormal_params(flow.p2_mean, flow.p2_sd)
    cum = np.cumsum(flow.shares).tolist()
    records: list[list[float]] = []

    def stay(pathway: int) -> float:
        if pathway == 1:
            return rng.lognormvariate(p1_mu, p1_sigma)
        if pathway == 2:
            return rng.lognormvariate(p2_mu, p2_sigma)
        return rng.expovariate(1.0 / flow.p3_mean)

    def patient(pathway: int):  # noqa: ANN202
        rec = [env.now, NAN, NAN, NAN, NAN, NAN]
        records.append(rec)
        with beds.request() as bed:
            yield bed
            rec[1] = env.now
            yield env.timeout(rng.lognormvariate(ttr_mu, ttr_sigma))
            rec[2] = env.now
            if pathway == 3:
                yield env.timeout(rng.expovariate(1.0 / flow.p3_assessment_mean))
                rec[3] = env.now
            if pathway > 0:
                place = places[pathway].request()
                yield place  # still holding the bed
            rec[4] = env.now
        if pathway > 0:
            yield env.timeout(stay(pathway))
            places[pathway].release(place)
            rec[5] = env.now

    def arrivals():  # noqa: ANN202
        rate = flow.arrivals_per_day
        while True:
            yield env.timeout(rng.expovariate(rate))
            u = rng.random()
            pathway = 0 if u < cum[0] else 1 if u < cum[1] else 2 if u < cum[2] else 3
            env.process(patient(pathway))

    env.process(arrivals())
    env.run(until=flow.horizon)
    return np.array(records, dtype=float).reshape(len(records), 6)


def run(flow: Flow = REFERENCE, seed: int = 1, rep: int = 0) -> dict[str, float]:
    """One replication: the three outputs and the event count."""
    return record_outputs(simulate(flow, seed, rep), flow)


if __name__ == "__main__":
    args = [int(a) for a in sys.argv[1:3]]
    print(run(REFERENCE, *args))
