"""The system case of the benchmark: several trusts, each the reference flow's size,
and several boroughs, in d2asim's system form (built here from ``flow.Flow``).

The default is 5 trusts x 8 boroughs (issue 11, "Speed"):

* each trust has the flow's beds, time to discharge ready and, in all, its arrivals
  (60/day): 5 trusts take 300/day from 8 boroughs of 37.5/day each;
* the **admission matrix** is a band: on a line of 8 borough units, trust ``t`` covers
  ``[t*8/5, (t+1)*8/5)`` and takes from each borough in proportion to the overlap, so
  boroughs 1, 3, 4 and 6 send patients to two trusts and every trust shares residents
  with a neighbour (trust 0: 37.5/day from borough 0, 22.5 from borough 1);
* every borough has the flow's pathway shares and settings (P3 assessed on the ward),
  and commissions its own P1 reablement and P2 bedded rehab, sized so that the
  boroughs' places add up to the flow's places times the number of trusts
  (P1 5 x 270 = 1,350, P2 5 x 135 = 675, in proportion to each borough's inflow);
* the **two shared services** are the P3 care-home placements: one pool shared by the
  first half of the boroughs, one by the second (5 x 40 = 200 places in all), first come
  first served across boroughs.

Every borough's services run at the flow's utilisation, but in pools of 1/1.6 the
size (P1 169 places, not 270) and the shared P3 pools are 2.5 times the size: so per
trust, what does not depend on queueing for places (admissions, discharges, the P3
assessment days) matches a single-trust run in distribution; waits for places and what
follows from them (delayed bed days, occupancy) are expected to differ a little.

Write the default system as YAML: ``python benchmarks/system_flow.py FILE.yaml``.
"""

from __future__ import annotations

import sys
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.d2asim_flow import metrics_outputs
from benchmarks.d2asim_flow import scenario as reference_scenario
from benchmarks.flow import REFERENCE, Flow
from d2asim.runner import run_replication
from d2asim.scenario.loader import scenario_to_dict, validate_mapping
from d2asim.scenario.schema import Scenario

TRUSTS, BOROUGHS, SHARED = 5, 8, 2
POPULATION_18PLUS = 250_000  # any positive number: it only scales the borough DTOC rates


def admission_matrix(trusts: int, boroughs: int, per_trust: float) -> list[list[float]]:
    """Admissions per day ``[borough][trust]``: each trust takes ``per_trust`` a day from
    the boroughs its band of the borough line overlaps (see the module docstring)."""
    width = boroughs / trusts
    return [
        [per_trust * max(0.0, min(b + 1, (t + 1) * width) - max(b, t * width)) / width for t in range(trusts)]
        for b in range(boroughs)
    ]


def split_places(total: int, weights: list[float]) -> list[int]:
    """``total`` places split in proportion to ``weights`` (largest remainder: the parts
    add up to ``total`` exactly)."""
    exact = [total * w / sum(weights) for w in weights]
    parts = [int(x) for x in exact]
    by_remainder = sorted(range(len(exact)), key=lambda i: (parts[i] - exact[i], i))
    for i in by_remainder[: total - sum(parts)]:
        parts[i] += 1
    return parts


def system_mapping(flow: Flow = REFERENCE, trusts: int = TRUSTS, boroughs: int = BOROUGHS,
                   shared: int = SHARED) -> dict[str, Any]:
    """The system scenario as a plain mapping (d2asim's system form)."""
    single = scenario_to_dict(reference_scenario(flow))
    matrix = admission_matrix(trusts, boroughs, flow.arrivals_per_day)
    inflow = [sum(row) for row in matrix]  # admissions per day by borough
    tnames = [f"trust_{t}" for t in range(trusts)]
    bnames = [f"borough_{b}" for b in range(boroughs)]
    groups = [list(range(boroughs))[g * boroughs // shared : (g + 1) * boroughs // shared] for g in range(shared)]
    group_of = {b: g for g, members in enumerate(groups) for b in members}
    services: dict[str, Any] = {}
    for key, total in (("p1", flow.capacity[0] * trusts), ("p2", flow.capacity[1] * trusts)):
        for b, places in enumerate(split_places(total, inflow)):
            services[f"{bnames[b]}_{key}"] = {**single["services"][key], "capacity": places, "borough": bnames[b]}
    for g, places in enumerate(split_places(flow.capacity[2] * trusts, [sum(inflow[b] for b in m) for m in groups])):
        p3 = {k: v for k, v in single["services"]["p3"].items() if k != "borough"}
        services[f"shared_p3_{g}"] = {**p3, "capacity": places, "shared_by": [bnames[b] for b in groups[g]]}
    settings = single["pathways"]["settings"]
    return {
        "name": f"benchmark_system_{trusts}x{boroughs}",
        "description": f"{trusts} trusts x {boroughs} boroughs, each trust the benchmark reference flow's size, "
                       f"P3 placements in {shared} shared pools (benchmarks/system_flow.py)",
        "run": single["run"],
        "age_bands": single["age_bands"],
        "trusts": {name: single["acute"] for name in tnames},
        "boroughs": {
            bnames[b]: {
                "population": {"adults_18plus": POPULATION_18PLUS},
                "pathways": {"settings": {
                    p: ({**s, "service": f"{bnames[b]}_{s['service']}"} if s.get("service") in ("p1", "p2")
                        else {**s, "service": f"shared_p3_{group_of[b]}"} if s.get("service") == "p3" else s)
                    for p, s in settings.items()
                }},
            }
            for b in range(boroughs)
        },
        "admissions": {
            bnames[b]: {"non_elective": {"by_trust": {tnames[t]: rate for t, rate in enumerate(row) if rate > 0}}}
            for b, row in enumerate(matrix)
        },
        "pathways": {"shares": single["pathways"]["shares"], "settings": settings},
        "services": services,
        "delay_reasons": single["delay_reasons"],
    }


@lru_cache(maxsize=8)
def system_scenario(flow: Flow = REFERENCE, trusts: int = TRUSTS, boroughs: int = BOROUGHS) -> Scenario:
    """The validated system scenario (cached: one registry per scenario object)."""
    return validate_mapping(system_mapping(flow, trusts, boroughs), f"benchmark system {trusts}x{boroughs}")


def run(flow: Flow = REFERENCE, seed: int = 1, rep: int = 0, trusts: int = TRUSTS,
        boroughs: int = BOROUGHS) -> dict[str, dict[str, float]]:
    """One timed replication of the system (``run_replication``: engine, daily series
    and every metric of the system, each trust and each borough); the outputs of each
    trust by name."""
    result = run_replication(system_scenario(flow, trusts, boroughs), seed, rep)
    return {scope.partition(":")[2]: metrics_outputs(m) for scope, m in result.by_place.items()
            if scope.startswith("trust:")}


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python benchmarks/system_flow.py FILE.yaml")
    Path(sys.argv[1]).write_text(yaml.safe_dump(system_mapping(), sort_keys=False))
    print(f"wrote {sys.argv[1]}")
