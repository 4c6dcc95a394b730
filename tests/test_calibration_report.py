"""The report of a calibration run folder (``d2asim report DIR``, ``calibrate --report``):
one self-contained report.html and a report.md whose backtest and fit scores are
calibration.json's numbers, and the same report.md whether calibrate or report wrote it.

The fixture calibrates a tiny synthetic problem (one parameter, a handful of
evaluations, three replications): the fit quality does not matter here, only that the
report shows what calibration.json records.
"""

from __future__ import annotations

import json
import re
import shutil
from html import unescape
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml
from click.testing import CliRunner
from helpers import p1_only_scenario

from d2asim.cli import main

SCENARIO: dict[str, Any] = p1_only_scenario("tiny", duration_days=275, warmup_days=20, p1_capacity=39)
CONFIG: dict[str, Any] = {
    "trust": "TINY",
    "base_scenario": "tiny.yaml",
    "data": {"daily": {"file": "daily.csv", "date_column": "day", "frequency": "daily",
                       "columns": {"nctr_remaining": "nctr"}},
             "monthly": {"file": "monthly.csv", "date_column": "month", "date_format": "%Y-%m",
                         "frequency": "monthly", "values": "total", "columns": {"p1_discharges": "p1"}}},
    "fit_period": {"start": "2022-04", "end": "2022-09"},
    "test_period": {"start": "2022-10", "end": "2022-12"},
    "targets": {"nctr_remaining": {"model": "nctr", "at_hour": 23.99, "weight": 2},
                "p1_discharges": {"model": "discharges_P1"}},
    "parameters": {"services.p1.capacity": {"bounds": [35, 56], "integer": True, "start": 44}},  # 35 start in p1
    "optimiser": {"design_points": 2, "max_evaluations": 4, "replications": 1, "final_replications": 3,
                  "refits": 0, "seed": 3},
}
SCORE_KEYS = ("mae", "naive_mae", "bias")


@pytest.fixture(scope="module")
def calibrated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A calibration run folder written by ``d2asim calibrate --report``."""
    folder = tmp_path_factory.mktemp("calreport")
    (folder / "tiny.yaml").write_text(yaml.safe_dump(SCENARIO))
    rng = np.random.default_rng(1)
    days = pd.date_range("2022-04-01", "2022-12-31")
    nctr = [str(v) for v in rng.poisson(8, len(days))]
    nctr[3] = "lots"  # one bad row
    pd.DataFrame({"day": days.strftime("%Y-%m-%d"), "nctr": nctr}).to_csv(folder / "daily.csv", index=False)
    months = pd.period_range("2022-04", "2022-12", freq="M")
    pd.DataFrame({"month": months.strftime("%Y-%m"), "p1": rng.poisson(180, len(months))}).to_csv(
        folder / "monthly.csv", index=False)
    (folder / "cal.yaml").write_text(yaml.safe_dump(CONFIG))
    result = CliRunner().invoke(main, ["calibrate", str(folder / "cal.yaml"), "--run-dir", str(folder / "run"),
                                       "--workers", "1", "--quiet", "--report"])
    assert result.exit_code == 0, result.output
    assert f"Report: {folder / 'run' / 'report.html'}" in result.output
    assert "Also: report.md, 3 charts in charts/" in result.output
    return folder / "run"


def _md_rows(markdown: str, header_start: str) -> dict[str, list[str]]:
    """The rows of the first pipe table whose header starts with ``header_start``, by first cell."""
    lines = markdown.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(header_start))
    rows = {}
    for line in lines[start + 2:]:
        if not line.startswith("|"):
            break
        cells = [c.strip() for c in line.strip("|").split("|")]
        rows[cells[0]] = cells
    return rows


def _html_row(html: str, key: str) -> list[str]:
    match = re.search(rf'<tr data-key="{re.escape(key)}">(.*?)</tr>', html)
    assert match, key
    return [unescape(c) for c in re.findall(r"<td[^>]*>(.*?)</td>", match.group(1))]


def _same(shown: str, value: float) -> bool:
    """``shown`` is ``value`` to three significant figures (as the report prints it)."""
    return shown == f"{value:.3g}" and float(shown) == pytest.approx(value, rel=5e-3, abs=1e-12)


def test_backtest_and_fit_scores_are_calibration_json(calibrated: Path) -> None:
    doc = json.loads((calibrated / "calibration.json").read_text())
    md = (calibrated / "report.md").read_text()
    html = (calibrated / "report.html").read_text()
    backtest = _md_rows(md.split("## 4. Backtest")[1], "| Target | Months | MAE | Naive MAE")
    assert set(backtest) == set(doc["backtest"]) == {"nctr_remaining", "p1_discharges"}
    for target, m in doc["backtest"].items():
        for cells in (backtest[target][1:], _html_row(html, f"backtest:{target}")[1:]):
            n, mae, naive, bias, coverage = cells
            assert n == str(m["n"])
            for shown, key in zip((mae, naive, bias), SCORE_KEYS, strict=True):
                assert _same(shown, m[key]), (target, key, shown, m[key])
            assert coverage == f"{m['coverage_90']:.0%}"
    daily = doc["backtest_daily"]["nctr_remaining"]
    cells = _html_row(html, "backtest_daily:nctr_remaining")
    assert cells[1] == str(daily["n"]) and _same(cells[2], daily["mae"]) and _same(cells[3], daily["naive_mae"])
    fit = _md_rows(md.split("Fit period, monthly:")[1], "| Target | Months | MAE")
    for target, m in doc["fit"].items():
        assert _same(fit[target][2], m["mae"]) and _same(fit[target][3], m["bias"])
    # The parameter, its uncertainty and the data's bad rows are shown; the caption states the backtest.
    p = doc["parameters"]["services.p1.capacity"]
    assert _html_row(html, "services.p1.capacity")[3] == f"{p['value']:.4g}"
    assert f"{p['ci90'][0]:.4g} – {p['ci90'][1]:.4g}" in md
    assert doc["bad_rows"]["daily.csv"] == {"unparseable_value": 1}
    assert _md_rows(md, "| File |")["daily.csv"][-1] == "unparseable_value 1"
    nctr = doc["backtest"]["nctr_remaining"]
    assert (f"mean absolute error of {nctr['mae']:.3g} (naive forecast {nctr['naive_mae']:.3g})"
            f" and a bias of {nctr['bias']:+.3g}") in md


def test_html_is_self_contained_with_every_chart_and_the_command(calibrated: Path) -> None:
    html = (calibrated / "report.html").read_text()
    pngs = sorted((calibrated / "charts").glob("*.png"))
    assert {p.stem for p in pngs} == {"nctr_remaining_monthly", "nctr_remaining_daily", "p1_discharges_monthly"}
    sources = re.findall(r'<img src="([^"]*)"', html)
    assert len(sources) == len(pngs) and all(s.startswith("data:image/png;base64,") for s in sources)
    assert "<script" not in html and "http" not in html.replace("http-equiv", "")
    assert len(re.findall(r"<figcaption><strong>Figure \d+\.</strong> In the test period", html)) == len(pngs)
    md = (calibrated / "report.md").read_text()
    assert f"d2asim calibrate {calibrated.parent / 'cal.yaml'}" in md
    for heading in ("## 1. Data", "## 3. Fit", "## 4. Backtest", "## 5. Charts", "## 6. Method and assumptions",
                    "## 7. How to reproduce"):
        assert heading in md


def test_report_command_rebuilds_the_same_report(calibrated: Path, tmp_path: Path) -> None:
    copy = tmp_path / "copy"
    shutil.copytree(calibrated, copy)
    (copy / "report.html").unlink()
    shutil.rmtree(copy / "charts")
    result = CliRunner().invoke(main, ["report", str(copy)])
    assert result.exit_code == 0, result.output
    assert f"Report: {copy / 'report.html'}" in result.output and "3 charts in charts/" in result.output
    assert (copy / "report.md").read_text() == (calibrated / "report.md").read_text()
    assert (copy / "report.html").is_file() and (copy / "charts" / "p1_discharges_monthly.png").is_file()


def test_report_of_a_broken_calibration_folder_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "calibration.json").write_text(json.dumps({"trust": "X"}))
    result = CliRunner().invoke(main, ["report", str(tmp_path)])
    assert result.exit_code == 2
    assert "calibration.json: missing key(s) name, data" in result.output
