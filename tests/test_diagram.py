"""The system diagram and the expected flows it is labelled with.

* every trust, borough and service of a 3-trust, 4-borough, 8-service scenario is in
  the SVG's text, and every arrow's number is the expected flow;
* the expected flows are what the engine does: a long run with ample capacity gives
  admissions per trust and borough and starts per service whose 99.9% intervals
  contain them (Bonferroni over the checks);
* ``d2asim diagram`` writes PNG and SVG, never overwrites, and reports bad input in
  one line with exit code 2; the run report includes the diagram.
"""

from __future__ import annotations

import copy
import json
import re
from html import unescape
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner
from helpers import t_interval
from PIL import Image

from d2asim.cli import main
from d2asim.report.build import build_report
from d2asim.report.diagram import STEM, _rate, draw, layout
from d2asim.run_folder import write_run
from d2asim.runner import run_replications
from d2asim.scenario.loader import load_scenario, validate_mapping
from d2asim.system.flows import expected_flows
from d2asim.system.registry import registry_of

DATA = Path(__file__).resolve().parent / "data"
SYSTEM = DATA / "system_3x4.yaml"
BASELINE = Path(__file__).resolve().parents[1] / "scenarios" / "baseline.yaml"


def svg_texts(path: Path) -> list[str]:
    """The text elements of an SVG written with text kept as text."""
    return [unescape(t).strip() for t in re.findall(r"<text[^>]*>(.*?)</text>", path.read_text(), flags=re.S)]


@pytest.fixture(scope="module")
def drawn(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, dict[str, Path]]:
    scenario = load_scenario(SYSTEM)
    return scenario, draw(scenario, tmp_path_factory.mktemp("diagram"), "Scenario system_3x4 · test footer")


def test_every_trust_borough_and_service_is_in_the_svg(drawn: tuple[Any, dict[str, Path]]) -> None:
    scenario, paths = drawn
    texts = svg_texts(paths["svg"])
    joined = "\n".join(texts)
    reg = registry_of(scenario)
    assert (len(reg.trusts), len(reg.modelled_boroughs), len(reg.services)) == (3, 4, 8)
    for t in reg.trusts:
        assert any(line.startswith(f"{t.name} · {t.ods_code}") for line in texts), t.name
    for b in reg.modelled_boroughs:
        assert b.name in texts, b.name
    assert "out of area, to uclh" in texts
    for s in reg.services:
        assert s.name in texts and s.spec.label in texts, s.name
    assert "shared by islington, camden (first come first served)" in joined.replace("\n", " ")
    assert "Scenario system_3x4 · test footer" in texts
    with Image.open(paths["png"]) as image:
        assert round(image.info["dpi"][0]) == 200 and image.size[0] >= 1800


def test_arrow_numbers_are_the_expected_flows(drawn: tuple[Any, dict[str, Path]]) -> None:
    scenario, paths = drawn
    flows = expected_flows(scenario)
    _, arrows, _, _ = layout(scenario, flows)
    shown = {(a.source.key, a.target.key): a for a in arrows}
    assert len(shown) == len(arrows)  # one arrow per pair
    for (borough, trust), v in flows.admissions.items():
        a = shown.pop((f"borough:{borough}", f"trust:{trust}"))
        assert a.per_day == v and a.label == _rate(v)
    by_pair: dict[tuple[str, str], dict[str, float]] = {}
    for (trust, service, pathway), v in flows.discharges.items():
        by_pair.setdefault((trust, service), {})[pathway] = v
    for (trust, service), parts in by_pair.items():
        a = shown.pop((f"trust:{trust}", f"service:{service}"))
        assert a.per_day == pytest.approx(sum(parts.values()), rel=1e-12)
        assert a.label == f"{'+'.join(sorted(parts))} {_rate(sum(parts.values()))}"
    for (service, nxt), v in flows.onward.items():
        a = shown.pop((f"service:{service}", f"service:{nxt}"))
        assert a.per_day == v and a.label == _rate(v)
    assert not shown  # nothing else is drawn
    texts = svg_texts(paths["svg"])
    assert all(a.label in texts for a in arrows)
    # the registry's admissions, here without calendar multipliers: 9 + 4 + 5 + 6 + 10 + 7 + 1 + 3 a day
    external = sum(v - flows.readmissions[k] for k, v in flows.admissions.items())
    assert external == pytest.approx(45.0, rel=1e-12)
    # conservation: what enters each service leaves it (onward, home, readmission or death)
    for s in registry_of(scenario).services:
        out = sum(v for (a, _), v in flows.onward.items() if a == s.name)
        out += sum(v for (a, _), v in flows.exits.items() if a == s.name)
        assert out == pytest.approx(flows.service_starts(s.name), rel=1e-9), s.name


def ample(data: dict[str, Any]) -> dict[str, Any]:
    """The 3x4 system with places for everyone and short chains (steady state soon)."""
    data = copy.deepcopy(data)
    data["run"] = {"warmup_days": 150, "duration_days": 300}
    for trust in data["trusts"].values():
        trust["beds"] = 400
        trust.pop("escalation", None)
    for service in data["services"].values():
        service["capacity"] = None
        service.pop("capacity_unit", None)
        service.pop("visits_per_patient_per_day", None)
    data["services"]["home_care"]["duration_days"] = {"type": "exponential", "mean": 20}
    data["services"]["care_home"]["duration_days"] = {"type": "exponential", "mean": 30}
    data["boroughs"]["haringey"]["pathways"]["settings"]["P2"]["assessment"] = {"mode": "d2a"}
    return data


@pytest.mark.slow
def test_expected_flows_match_the_simulation() -> None:
    scenario = validate_mapping(ample(yaml.safe_load(SYSTEM.read_text())), "ample")
    flows = expected_flows(scenario)
    run = run_replications(scenario, 12, 5)
    days = scenario.run.duration_days
    reg = registry_of(scenario)
    checks: list[tuple[str, Any, float]] = []
    for t in reg.trusts:
        expected = sum(v for (_, trust), v in flows.admissions.items() if trust == t.name)
        checks.append((f"admissions at {t.name}", run.metrics_table(f"trust:{t.name}")["admissions"], expected))
    for b in reg.modelled_boroughs:
        expected = sum(v for (borough, _), v in flows.admissions.items() if borough == b.name)
        checks.append((f"admissions of {b.name}", run.metrics_table(f"borough:{b.name}")["admissions"], expected))
    for s in reg.services:
        checks.append((f"starts of {s.name}", run.metrics_table()[f"service_starts.{s.name}"],
                       flows.service_starts(s.name)))  # fmt: skip
    level = 1 - 0.01 / len(checks)
    for what, per_run, expected in checks:
        mean, lo, hi = t_interval(per_run.to_numpy() / days, level)
        assert lo <= expected <= hi, (what, expected, mean, lo, hi)
        assert hi - lo < 0.15 * expected, (what, lo, hi)  # power: a 7% error would show


def test_single_site_diagram(tmp_path: Path) -> None:
    scenario = load_scenario(BASELINE)
    paths = draw(scenario, tmp_path, "footer")
    texts = svg_texts(paths["svg"])
    assert {"trust", "borough", "p1", "p2", "p3", "home_care", "care_home"} <= set(texts)
    flows = expected_flows(scenario)
    per_day = scenario.arrivals.non_elective.per_day  # type: ignore[union-attr]
    elective = scenario.arrivals.elective  # type: ignore[union-attr]
    assert flows.admissions[("borough", "trust")] > per_day + (elective.per_day if elective else 0) * 0.5


def _cli(args: list[str]) -> Any:
    return CliRunner().invoke(main, args)


def test_diagram_command(tmp_path: Path) -> None:
    result = _cli(["diagram", str(SYSTEM), "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    png, svg = tmp_path / "system_3x4_diagram.png", tmp_path / "system_3x4_diagram.svg"
    assert png.stat().st_size > 0 and svg.read_text().lstrip().startswith("<?xml")
    before = png.read_bytes()
    again = _cli(["diagram", str(SYSTEM), "--out", str(tmp_path)])
    assert again.exit_code == 2
    assert again.output.strip() == (f"error: {png}: --out: file exists; choose another folder "
                                    "(files are never overwritten)")  # fmt: skip
    assert png.read_bytes() == before
    missing = _cli(["diagram", str(tmp_path / "nope.yaml")])
    assert missing.exit_code == 2 and len(missing.output.strip().splitlines()) == 1


def test_diagram_of_a_run_folder_has_the_simulated_means(tmp_path: Path) -> None:
    scenario = load_scenario(SYSTEM)
    folder = tmp_path / "run"
    folder.mkdir()
    write_run(run_replications(scenario, 2, 3), folder)
    cli = _cli(["diagram", str(folder), "--out", str(tmp_path / "out")])
    assert cli.exit_code == 0, cli.output
    texts = svg_texts(tmp_path / "out" / "system_3x4_diagram.svg")
    summary = json.loads((folder / "summary.json").read_text())
    days = scenario.run.duration_days
    admitted = summary["by_trust"]["uclh"]["admissions"]["mean"] / days
    starts = summary["metrics"]["service_starts"]["rehab_north"]["mean"] / days
    assert any(line.startswith(f"simulated: admitted {_rate(admitted)} a day") for line in texts)
    assert any(line.startswith(f"simulated: starts {_rate(starts)} a day") for line in texts)


def test_run_report_includes_the_diagram(tmp_path: Path) -> None:
    data = yaml.safe_load(BASELINE.read_text())
    data["run"] = {"warmup_days": 10, "duration_days": 40}
    folder = tmp_path / "run"
    folder.mkdir()
    write_run(run_replications(validate_mapping(data, "small"), 2, 3), folder)
    written = build_report(folder)
    assert written[STEM] == folder / "charts" / f"{STEM}.png"
    assert "simulated: starts" in "\n".join(svg_texts(folder / "charts" / f"{STEM}.svg"))
    assert "Diagram of the modelled system" in (folder / "report.html").read_text()
