"""Reports of a system (several trusts and boroughs): small multiples per trust and per
borough, a results table by place, and per-scope rows in the comparison report. Every
figure shown is checked against summary.json (``by_trust``, ``by_borough``) or
comparison.csv (its ``scope`` column)."""

from __future__ import annotations

import html as html_lib
import json
import re
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml
from click.testing import CliRunner

from d2asim.cli import main
from d2asim.report.build import build_report
from d2asim.report.captions import with_ci
from d2asim.report.compare_report import SCOPE_METRICS
from d2asim.report.data import load_run
from d2asim.report.place_charts import borough_monthly_rates, borough_reasons

SYSTEM = Path(__file__).resolve().parent / "data" / "system_3x4.yaml"
PLACE_CHARTS = ("system_diagram", "acute_occupancy_by_trust", "dtoc_rate_by_borough", "delays_by_reason_by_borough")


def small_system(**run: Any) -> dict[str, Any]:
    data = yaml.safe_load(SYSTEM.read_text())
    data["run"] = {"warmup_days": 10, "duration_days": 75, **run}
    return data


def _cli(args: list[str]) -> Any:
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output + repr(result.exception)
    return result


@pytest.fixture(scope="module")
def system_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("system_report")
    (tmp / "s.yaml").write_text(yaml.safe_dump(small_system(), sort_keys=False))
    folder = tmp / "run"
    _cli(["run", str(tmp / "s.yaml"), "--reps", "3", "--seed", "4", "--out", str(folder), "--workers", "1",
          "--quiet"])  # fmt: skip
    build_report(folder)
    return folder


def _shown(text: str) -> tuple[float, int]:
    clean = text.replace(",", "").replace("+", "").rstrip("%")
    return float(clean), len(clean.split(".")[1]) if "." in clean else 0


def _close(text: str, value: float) -> bool:
    shown, decimals = _shown(text)
    return abs(shown - value) <= 0.5 * 10.0 ** -decimals + 1e-9


def test_system_run_report_has_small_multiples(system_run: Path) -> None:
    for stem in PLACE_CHARTS:
        assert (system_run / "charts" / f"{stem}.png").stat().st_size > 0, stem
        assert (system_run / "charts" / f"{stem}.svg").stat().st_size > 0, stem
    text = (system_run / "report.html").read_text()
    for stem in PLACE_CHARTS:
        assert f'<figure id="{stem}">' in text, stem
    assert "acute_occupancy.png" not in text  # one trust's chart does not describe a system
    inputs = pd.read_csv(system_run / "inputs.csv")
    by_input = dict(zip(inputs["input"], inputs["value"], strict=True))
    assert by_input["Emergency admissions per day, islington residents"] == "9 to whittington, 4 to uclh"
    assert by_input["Out-of-area admissions per day to uclh"] == "3"
    assert by_input["Pathways of haringey residents"].startswith("P0 70% to home (D2A); P1 17% to haringey reablement")


def test_place_table_equals_summary_json(system_run: Path) -> None:
    summary = json.loads((system_run / "summary.json").read_text())
    text = (system_run / "report.html").read_text()
    rows = {html_lib.unescape(k): [html_lib.unescape(c) for c in re.findall(r"<td[^>]*>(.*?)</td>", body)]
            for k, body in re.findall(r'<tr data-metric="((?:trust|borough):[^"]+)">(.*?)</tr>', text)}
    md = (system_run / "report.md").read_text()
    expected = 0
    for group, kind in (("by_trust", "trust"), ("by_borough", "borough")):
        for place, metrics in summary[group].items():
            for metric in ("acute_occupancy_pct", "delayed_bed_days", "dtoc_rate_per_100k_adults"):
                if metric not in metrics:
                    continue
                expected += 1
                e = metrics[metric]
                _place, label, mean, ci, _unit = rows[f"{kind}:{place}|{metric}"]
                low, high = ci.split(" to ")
                assert _close(mean, e["mean"]) and _close(low, e["ci_low"]) and _close(high, e["ci_high"]), (place,
                                                                                                              metric)
                assert f"| {place} | {label} | {mean} | {ci} |" in md
    assert expected == 3 * 2 + 4 * 2  # trusts: occupancy, delays; boroughs: delays, rate
    places = pd.read_csv(system_run / "places.csv")
    one = places[(places["scope"] == "borough:camden") & (places["metric"] == "delayed_bed_days")].iloc[0]
    assert one["mean"] == pytest.approx(summary["by_borough"]["camden"]["delayed_bed_days"]["mean"], rel=1e-12)


def test_small_multiple_captions_and_data_equal_summary_json(system_run: Path) -> None:
    summary = json.loads((system_run / "summary.json").read_text())
    text = html_lib.unescape((system_run / "report.html").read_text())
    for trust, metrics in summary["by_trust"].items():
        assert f"{with_ci(metrics['acute_occupancy_pct'], 1, '%')} at {trust}" in text, trust
    for borough, metrics in summary["by_borough"].items():
        assert f"{with_ci(metrics['dtoc_rate_per_100k_adults'], 1)} in {borough}" in text, borough
    run = load_run(system_run)
    rates = borough_monthly_rates(run)
    assert list(rates) == list(summary["by_borough"])
    for borough, band in rates.items():
        # the period's rate is the day-weighted mean of the monthly rates (monthly_delays.csv keeps 4 decimals)
        overall = float((band["mean"] * band["days"]).sum() / band["days"].sum())
        assert overall == pytest.approx(summary["by_borough"][borough]["dtoc_rate_per_100k_adults"]["mean"],
                                        rel=1e-4, abs=1e-6), borough  # fmt: skip
    reasons = borough_reasons(run)
    for borough, found in reasons.items():
        assert found == summary["by_borough"][borough]["delayed_bed_days_by_reason"], borough
    assert any(found for found in reasons.values())


@pytest.fixture(scope="module")
def system_compare(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("system_compare")
    base = small_system()
    option = small_system()
    option["name"] = "more_rehab"
    option["services"]["rehab_central"]["capacity"] = 60
    option["boroughs"]["haringey"]["pathways"]["settings"]["P2"]["assessment"] = {"mode": "d2a"}
    files = []
    for data in (base, option):
        path = tmp / f"{data['name']}.yaml"
        path.write_text(yaml.safe_dump(data, sort_keys=False))
        files.append(str(path))
    folder = tmp / "cmp"
    _cli(["compare", *files, "--reps", "3", "--seed", "6", "--out", str(folder), "--workers", "1", "--quiet",
          "--report"])  # fmt: skip
    return folder


def test_compare_report_scope_rows_equal_comparison_csv(system_compare: Path) -> None:
    csv = pd.read_csv(system_compare / "comparison.csv")
    wanted = csv[(csv["scope"] != "system") & csv["metric"].isin(SCOPE_METRICS)]
    assert set(wanted["scope"]) == {"trust:whittington", "trust:north_middlesex", "trust:uclh", "borough:islington",
                                    "borough:haringey", "borough:enfield", "borough:camden"}  # fmt: skip
    text = (system_compare / "report.html").read_text()
    table = text.split('<table class="diff scopes">', 1)[1].split("</table>", 1)[0]
    rows = {html_lib.unescape(k): [html_lib.unescape(c) for c in re.findall(r"<td[^>]*>(.*?)</td>", body)]
            for k, body in re.findall(r'<tr[^>]*data-key="([^"]+)"[^>]*>(.*?)</tr>', table)}
    assert len(rows) == len(wanted)
    md = (system_compare / "report.md").read_text()
    for r in wanted.itertuples(index=False):
        cells = rows[f"{r.option}|{r.scope}|{r.metric}"]
        kind, _, place = r.scope.partition(":")
        assert cells[1] == f"{place} ({kind})"
        diff, ci, dist = cells[5], cells[6], cells[7]
        low, high = ci.split(" to ")
        assert _close(diff, r.difference) and _close(low, r.ci_low) and _close(high, r.ci_high), cells
        if r.metric != "bed_days_saved":
            assert _close(cells[3], r.baseline) and _close(cells[4], r.option_value), cells
        assert dist == ("yes" if r.distinguishable else "no")
        assert " | ".join(cells[1:]) in md, cells
    places = pd.read_csv(system_compare / "places.csv")
    assert len(places) == len(wanted)
    merged = places.merge(wanted, on=["option", "scope", "metric"], suffixes=("", "_csv"))
    assert len(merged) == len(wanted) and (merged["difference"] == merged["difference_csv"]).all()
