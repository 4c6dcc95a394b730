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
