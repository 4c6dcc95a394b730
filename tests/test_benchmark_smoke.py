"""Smoke test of the benchmark implementations (benchmarks/): each runs the reference
flow at 1/10 the scale for 30 days (10 warm-up + 20 reported) and gives plausible
outputs. Ciw and numba are optional (the ``bench`` extra): their parts are skipped
when missing. Meant to live at tests/test_benchmark_smoke.py; works from either folder.
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks import d2asim_flow, plain_simpy  # noqa: E402
from benchmarks.flow import OUTPUTS, REFERENCE, check_yaml_matches  # noqa: E402

SMALL = REFERENCE.scaled(0.1).shorter(10.0, 20.0)  # 6/day, 40 beds, places 27/14/4


def plausible(out: dict[str, float]) -> None:
    assert set(OUTPUTS) <= set(out)
    assert all(math.isfinite(out[k]) for k in OUTPUTS)
    # offered load 6/day x 6 days = 36 beds of treatment, plus delays, at most 40 beds
    assert 15.0 < out["acute_occupancy_mean"] <= SMALL.beds + 1e-9
    assert 0.0 <= out["delayed_bed_days"] <= SMALL.beds * SMALL.duration_days
    assert out["admission_wait_mean_hours"] >= 0.0
    if "events" in out:  # about 5 state changes per patient, 6 patients a day for 30 days
        assert 400 < out["events"] < 2000


def test_reference_yaml_is_the_flow() -> None:
    assert check_yaml_matches(d2asim_flow.scenario(REFERENCE)) == []


def test_d2asim() -> None:
    out = d2asim_flow.run(SMALL, 1, 0)
    plausible(out)
    view = d2asim_flow.log_view(SMALL, 1, 0)  # flow.outputs on the event log = d2asim's metrics
    plausible(view)
    for k in OUTPUTS:
        assert view[k] == pytest.approx(out[k], rel=1e-9, abs=1e-9)


def test_plain_simpy() -> None:
    plausible(plain_simpy.run(SMALL, 1, 0))


def test_ciw() -> None:
    pytest.importorskip("ciw")
    from benchmarks import ciw_flow

    plausible(ciw_flow.run(SMALL, 1, 0))


def test_numba_limit() -> None:
    pytest.importorskip("numba")
    from benchmarks import limit_numba

    out = limit_numba.run(SMALL, 1, 0)
    plausible(out)
    assert out == limit_numba.run(SMALL, 1, 0)  # reproducible from the seed


def test_agreement_statistics() -> None:
    import numpy as np

    from benchmarks.run import welch

    rng = np.random.default_rng(0)
    a, b = rng.normal(10, 1, 50), rng.normal(10, 1, 60)
    diff, lo, hi = welch(a, b, 0.99)
    assert lo < diff < hi
    assert welch(a + 5, b, 0.99)[1] > 0


def test_system_case_tiny() -> None:
    """The system case in a tiny form (2 trusts x 4 boroughs of the small flow): the
    admission matrix gives every trust the flow's arrivals, the boroughs' places add up
    to the flow's times the trusts, two shared pools; each trust's outputs plausible;
    the harness's system table is built from it."""
    from benchmarks import system_flow
    from benchmarks.run import REFERENCE as RUN_REFERENCE
    from benchmarks.run import system_case, system_report

    assert RUN_REFERENCE == REFERENCE
    matrix = system_flow.admission_matrix(2, 4, SMALL.arrivals_per_day)
    assert [sum(col) for col in zip(*matrix, strict=True)] == pytest.approx([SMALL.arrivals_per_day] * 2)
    assert [sum(row) for row in matrix] == pytest.approx([SMALL.arrivals_per_day / 2] * 4)
    sc = system_flow.system_scenario(SMALL, 2, 4)
    places = {key: sum(s.capacity for n, s in sc.services.items() if key in n) for key in ("p1", "p2", "p3")}
    assert places == {"p1": 2 * SMALL.capacity[0], "p2": 2 * SMALL.capacity[1], "p3": 2 * SMALL.capacity[2]}
    assert [len(s.shared_by) for s in sc.services.values() if s.shared_by] == [2, 2]
    runs = [system_flow.run(SMALL, 1, rep, 2, 4) for rep in range(3)]
    for out in runs[0].values():
        plausible(out)
    assert sorted(runs[0]) == ["trust_0", "trust_1"]
    singles = [d2asim_flow.run(SMALL, 1, rep) for rep in range(3)]
    timed_jobs = ("d2asim", "single_1", "single_2", "single_3", "single_4", "d2asim_engine", "system_engine",
                  "size_matched_engine")  # fmt: skip
    rounds = {name: {"wall": [0.2, 0.1], "cpu": [0.1, 0.1]} for name in timed_jobs}
    rounds["size_2x_engine"] = {"wall": [0.25], "cpu": [0.25]}
    rounds["system"] = {"wall": [0.6, 0.55], "cpu": [0.5, 0.5]}
    result = system_case(rounds, {"peak_rss_delta_mb": 20.0}, singles, runs, {"peak_rss_delta_mb": 10.0})
    assert result["ratio_to_singles"] == pytest.approx(0.55 / 0.5)
    assert result["memory_ratio_to_single"] == pytest.approx(2.0)
    assert {r["output"] for r in result["per_trust_capacity_free"]["rows"]} == set(d2asim_flow.CAPACITY_FREE)
    assert "system / sum of singles = 1.100" in "\n".join(system_report(result))
    assert "system engine / it = 1.000" in "\n".join(system_report(result))
    assert "over one single engine: k = 2: 1.250, k = 5: 0.200" in "\n".join(system_report(result))
