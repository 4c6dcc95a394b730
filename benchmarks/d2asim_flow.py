"""The reference flow in d2asim: ``benchmarks/reference.yaml`` run by
``d2asim.runner.run_replication`` (full metrics collection: event log, daily series,
monthly tables and every metric), outputs read from d2asim's own metrics.

Run one replication: ``python benchmarks/d2asim_flow.py [seed] [rep]``.
"""

from __future__ import annotations

import sys
from functools import lru_cache
from pathlib import Path

import numpy as np

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.flow import (
    OUTPUTS,
    PATHWAYS,
    REFERENCE,
    Flow,
    check_yaml_matches,
    count_events,
    d2asim_overrides,
    outputs,
)
from d2asim.model.engine import ASSESSMENT, DischargeModel
from d2asim.runner import run_replication
from d2asim.scenario.loader import load_scenario, with_overrides
from d2asim.scenario.schema import Scenario

YAML = Path(__file__).resolve().parent / "reference.yaml"


@lru_cache(maxsize=8)
def scenario(flow: Flow = REFERENCE) -> Scenario:
    """benchmarks/reference.yaml, checked against ``REFERENCE``, turned into ``flow``."""
    base = load_scenario(YAML)
    problems = check_yaml_matches(base, REFERENCE)
    if problems:
        raise ValueError("benchmarks/reference.yaml differs from flow.REFERENCE: " + "; ".join(problems))
    return base if flow == REFERENCE else with_overrides(base, d2asim_overrides(flow), "benchmark flow")


CAPACITY_FREE = ("admissions", *(f"discharges_by_pathway.{p}" for p in PATHWAYS), "delayed_bed_days_by_reason.A")
"""Metrics that do not depend on how places are pooled (admissions, discharges by
pathway, the P3 on-ward assessment days): the system case compares them per trust."""


def metrics_outputs(metrics: dict[str, float]) -> dict[str, float]:
    """The three outputs and the ``CAPACITY_FREE`` metrics of one replication."""
    return {k: float(metrics[k]) for k in (*OUTPUTS, *CAPACITY_FREE)}


def run(flow: Flow = REFERENCE, seed: int = 1, rep: int = 0) -> dict[str, float]:
    """One timed replication: ``run_replication`` and ``metrics_outputs`` of its metrics."""
    return metrics_outputs(run_replication(scenario(flow), seed, rep).metrics)


def log_view(flow: Flow, seed: int, rep: int) -> dict[str, float]:
    """The same replication re-run through DischargeModel alone: the flow-level event
    count and the three outputs recomputed from the event log with flow.outputs (a
    check that flow.py defines the outputs exactly as d2asim does). Not timed."""
    log = DischargeModel(scenario(flow), seed, rep).run()
    acute = log.table("acute")
    delays = log.table("delays")
    services = log.table("services")
    assessed = delays["end"][delays["cause"] == ASSESSMENT]
    events = count_events(log.horizon, acute["arrival"], acute["admit"], acute["ready"], assessed,
                          acute["leave"], services["end"])
    leave = np.where(np.isinf(acute["leave"]), np.nan, acute["leave"])
    out = outputs(acute["arrival"], acute["admit"], acute["ready"], leave, flow)
    out["events"] = events
    return out


if __name__ == "__main__":
    args = [int(a) for a in sys.argv[1:3]]
    print(run(REFERENCE, *args), log_view(REFERENCE, *args))
