"""Reproducibility and common random numbers.

* the same scenario, seed and replication give identical metrics and series;
  another seed or replication gives different ones;
* the command line run twice (in separate processes, with different hash seeds)
  writes byte-identical run folders;
* two scenarios that differ only in P1 capacity see the same patients.
"""

from __future__ import annotations

import json
import math
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from helpers import MIXED_SHARES, build, exponential, lognormal, metrics_equal, mixed_ttr, scenario_dict

from d2asim.model.engine import DischargeModel
from d2asim.model.log import SOURCES
from d2asim.runner import run_replication, run_replications
from d2asim.scenario.loader import scenario_to_dict
from d2asim.system.registry import registry_of


def _data(p1_capacity: int = 30, warmup: int = 20, days: int = 90) -> dict:
    data = scenario_dict(
        name="repro",
        per_day=16.0,
        beds=100,
        ttr=mixed_ttr(),
        shares=MIXED_SHARES,
        settings={
            "P1": {"service": "p1", "assessment": {"mode": "d2a", "delay_days": exponential(1.0)}},
            "P2": {"service": "p2", "assessment": {"mode": "on_ward", "delay_days": exponential(2.0)}},
            "P3": {"service": "p3", "assessment": {"mode": "d2a", "delay_days": exponential(3.0)}},
        },
        services={
            "p1": {"capacity": p1_capacity, "duration_days": exponential(6.0)},
            "p2": {"capacity": 20, "duration_days": lognormal(9.0, 6.0)},
            "p3": {
                "capacity": 14,
                "duration_days": lognormal(14.0, 10.0),
                "start_calendar": {"days": ["Mon", "Tue", "Wed", "Thu", "Fri"], "start_hour": 9, "end_hour": 17},
            },
        },
        age_bands=[
            {"name": "18-64", "min_age": 18, "share": 0.4},
            {"name": "65-84", "min_age": 65, "share": 0.4},
            {"name": "85+", "min_age": 85, "share": 0.2},
        ],
        warmup_days=warmup,
        duration_days=days,
    )
    data["acute"]["discharge_window"] = {"start_hour": 8, "end_hour": 20}
    data["arrivals"]["non_elective"]["day_of_week"] = [1.1, 1.0, 1.0, 1.0, 1.0, 0.9, 0.95]
    return data


def test_same_seed_identical_results() -> None:
    sc = build(_data())
    a = run_replication(sc, 5, 1)
    b = run_replication(sc, 5, 1)
    assert metrics_equal(a.metrics, b.metrics)
    pd.testing.assert_frame_equal(a.daily, b.daily, check_exact=True)
    pd.testing.assert_frame_equal(a.monthly, b.monthly, check_exact=True)


def test_different_seed_or_replication_differs() -> None:
    sc = build(_data())
    a = run_replication(sc, 5, 1)
    for other in (run_replication(sc, 6, 1), run_replication(sc, 5, 2)):
        assert not metrics_equal(a.metrics, other.metrics)
        assert a.metrics["admissions"] != other.metrics["admissions"]
        assert not a.daily["acute_occupied"].equals(other.daily["acute_occupied"])


@pytest.mark.parametrize("block", [1, 7, 1_000_000])
def test_arrivals_made_in_blocks_are_the_same_patients(block: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """Patients' attributes are drawn in blocks of arrivals as the run reaches them;
    any block size (including two arrival sources interleaved) gives the same log."""
    import d2asim.model.engine as engine

    data = _data(days=40)
    data["arrivals"]["elective"] = {"per_day": 4.0, "day_of_week": [1, 1, 1, 1, 1, 0, 0]}
    sc = build(data)
    reference = DischargeModel(sc, 3, 0).run()
    monkeypatch.setattr(engine, "ARRIVAL_BLOCK", block)
    log = DischargeModel(sc, 3, 0).run()
    assert np.any(reference.table("acute")["source"] == SOURCES.index("elective"))
    for name in ("acute", "services", "delays"):
        for column, values in reference.table(name).items():
            np.testing.assert_array_equal(log.table(name)[column], values, err_msg=f"{name}.{column}")


def test_replications_do_not_depend_on_order() -> None:
    """Replication r of a batch equals replication r run on its own."""
    sc = build(_data(days=40))
    batch = run_replications(sc, 3, 9)
    alone = run_replication(sc, 9, 2)
    assert metrics_equal(batch.replications[2].metrics, alone.metrics)


def _cli() -> list[str]:
    script = Path(sys.executable).parent / "d2asim"
    return [str(script)] if script.exists() else [sys.executable, "-m", "d2asim"]


FILES = ("summary.json", "replications.csv", "daily.csv")


def test_cli_run_is_byte_identical(tmp_path: Path) -> None:
    """``d2asim run FILE --reps 2 --seed 5 --out DIR`` twice, in processes with
    different PYTHONHASHSEED: every file of the two run folders is identical, and
    summary.json carries no timestamp."""
    scenario_file = tmp_path / "repro.yaml"
    scenario_file.write_text(yaml.safe_dump(scenario_to_dict(build(_data())), sort_keys=False))
    outs = []
    for i, hash_seed in enumerate(("1", "2")):
        out = tmp_path / f"run{i}"
        env = {**os.environ, "PYTHONHASHSEED": hash_seed}
        proc = subprocess.run(
            [*_cli(), "run", str(scenario_file), "--reps", "2", "--seed", "5", "--out", str(out)],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert proc.returncode == 0, proc.stderr
        outs.append(out)
    names = sorted(str(f.relative_to(outs[0])) for f in outs[0].rglob("*") if f.is_file())
    assert names == sorted(str(f.relative_to(outs[1])) for f in outs[1].rglob("*") if f.is_file())
    assert set(FILES) <= set(names)
    for name in names:  # every file of the run folder, not only the required ones
        assert (outs[0] / name).read_bytes() == (outs[1] / name).read_bytes(), name
    summary = json.loads((outs[0] / "summary.json").read_text())
    assert summary["seed"] == 5 and summary["replications"] == 2

    def strings(node):  # noqa: ANN001, ANN202
        if isinstance(node, dict):
            for k, v in node.items():
                yield k
                yield from strings(v)
        elif isinstance(node, list):
            for v in node:
                yield from strings(v)
        elif isinstance(node, str):
            yield node

    time_like = re.compile(r"\d{1,2}:\d{2}|\d{8}-\d{6}|T\d{2}")
    assert not [s for s in strings(summary) if time_like.search(s)]
    assert not {"created", "timestamp", "time", "run_at"} & set(summary)
    # the run-folder files agree with an in-process run of the same seed
    table = pd.read_csv(outs[0] / "replications.csv", index_col=0)
    direct = run_replications(build(_data()), 2, 5).metrics_table()
    for column in ("admissions", "acute_bed_days", "delayed_bed_days"):
        np.testing.assert_allclose(table[column].to_numpy(), direct[column].to_numpy(), rtol=1e-5)


def _first_episodes(sc, seed: int, rep: int) -> tuple[pd.DataFrame, pd.DataFrame]:  # noqa: ANN001
    log = DischargeModel(sc, seed, rep).run()
    acute = pd.DataFrame(log.table("acute"))
    first = acute[acute["source"] == SOURCES.index("non_elective")].set_index("patient").sort_index()
    services = pd.DataFrame(log.table("services"))
    p1 = services[services["service"] == registry_of(sc).code("services", "p1")]
    p1 = p1[p1["patient"].isin(first.index)].groupby("patient").first()
    return first, p1


@pytest.mark.parametrize("rep", [0, 1])
def test_common_random_numbers_across_p1_capacity(rep: int) -> None:
    """Two scenarios that differ only in P1 capacity (20 vs 40 places) see the same
    non-elective patients: same ids, arrival times, age bands, pathways, time to
    discharge ready, and the same P1 stay (service end - start) for those who
    reach P1, although the congested one discharges them later."""
    tight, loose = build(_data(20)), build(_data(40))
    a, pa = _first_episodes(tight, 11, rep)
    b, pb = _first_episodes(loose, 11, rep)
    n = min(len(a), len(b))
    assert n > 1000
    ids = a.index[:n]
    assert (ids == b.index[:n]).all()
    for column in ("arrival", "band", "pathway"):
        np.testing.assert_array_equal(a.loc[ids, column].to_numpy(), b.loc[ids, column].to_numpy(), err_msg=column)
    both = a.loc[ids].dropna(subset=["ready"]).index.intersection(b.loc[ids].dropna(subset=["ready"]).index)
    ttr_a = (a.loc[both, "ready"] - a.loc[both, "admit"]).to_numpy()
    ttr_b = (b.loc[both, "ready"] - b.loc[both, "admit"]).to_numpy()
    np.testing.assert_allclose(ttr_a, ttr_b, rtol=0, atol=1e-9)
    assert len(set(a["band"])) == 3 and len(set(a["pathway"])) == 4
    shared = pa.index.intersection(pb.index)
    done = shared[np.isfinite(pa.loc[shared, "end"]) & np.isfinite(pb.loc[shared, "end"])]
    assert len(done) > 200
    np.testing.assert_allclose(
        (pa.loc[done, "end"] - pa.loc[done, "start"]).to_numpy(),
        (pb.loc[done, "end"] - pb.loc[done, "start"]).to_numpy(),
        rtol=0,
        atol=1e-9,
    )
    # the capacities did make a difference downstream
    delay_a = (a.loc[both, "leave"] - a.loc[both, "ready"]).replace(math.inf, np.nan).mean()
    delay_b = (b.loc[both, "leave"] - b.loc[both, "ready"]).replace(math.inf, np.nan).mean()
    assert delay_a > delay_b
