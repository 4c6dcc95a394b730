"""``d2asim report``: files written, self-contained HTML, headline figures equal to
summary.json, captions, errors, comparison charts and (if Chromium is installed) a
headless render. Builds its own small run folder (a few seconds)."""

from __future__ import annotations

import html as html_lib
import json
import re
import shutil
import subprocess
import warnings
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from click.testing import CliRunner
from PIL import Image

from d2asim.headline import headline_rows
from d2asim.report import DEFAULT_TARGET
from d2asim.report.build import build_report
from d2asim.report.command import report_command
from d2asim.report.compare import bed_days_saved_chart, cost_vs_bed_days_chart, read_comparison
from d2asim.report.data import load_run, mean_by_category
from d2asim.run_folder import write_run
from d2asim.runner import run_replications
from d2asim.scenario.errors import ScenarioError
from d2asim.scenario.loader import validate_mapping

ROOT = Path(__file__).resolve().parents[1]
CHART_STEMS = ("acute_occupancy", "delays_by_pathway", "delays_by_reason", "dtoc_rate", "downstream_queues")


def _lognormal(mean: float, sd: float) -> dict[str, Any]:
    return {"type": "lognormal", "mean": mean, "sd": sd}


def tiny_scenario(population: bool = True) -> dict[str, Any]:
    """A small, busy hospital: short run, tight downstream capacity, ward assessment for P3."""
    data: dict[str, Any] = {
        "name": "tiny",
        "run": {"start_date": "2025-04-15", "warmup_days": 20, "duration_days": 75},
        "arrivals": {"non_elective": {"per_day": 9}},
        "acute": {"beds": 60, "time_to_discharge_ready_days": {p: _lognormal(5, 4) for p in ("P0", "P1", "P2", "P3")}},
        "pathways": {
            "shares": {"P0": 0.5, "P1": 0.3, "P2": 0.1, "P3": 0.1},
            "settings": {"P3": {"service": "p3", "assessment": {"mode": "on_ward",
                                                                "delay_days": {"type": "exponential", "mean": 3}}}},
        },
        "services": {
            "p1": {"capacity": 22, "duration_days": _lognormal(10, 6)},
            "p2": {"capacity": 8, "duration_days": _lognormal(14, 8), "label": "Community beds (P2)"},
            "p3": {"capacity": 6, "duration_days": {"type": "exponential", "mean": 12}},
        },
    }
    if population:
        data["population"] = {"adults_18plus": 40_000}
    return data


def make_run_folder(folder: Path, population: bool = True, reps: int = 3) -> Path:
    scenario = validate_mapping(tiny_scenario(population), "<test>")
    folder.mkdir(parents=True)
    write_run(run_replications(scenario, reps, 11), folder)
    return folder


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Path]]:
    folder = make_run_folder(tmp_path_factory.mktemp("report") / "run")
    return folder, build_report(folder)


def _summary(folder: Path) -> dict[str, Any]:
    return json.loads((folder / "summary.json").read_text())


def test_writes_report_charts_and_tables(built: tuple[Path, dict[str, Path]]) -> None:
    folder, written = built
    for name in ("report.html", "report.md", "headline.csv", "inputs.csv"):
        assert (folder / name).stat().st_size > 0, name
    for stem in CHART_STEMS:
        png, svg = folder / "charts" / f"{stem}.png", folder / "charts" / f"{stem}.svg"
        assert svg.read_text().lstrip().startswith("<?xml"), stem
        with Image.open(png) as image:
            dpi = image.info.get("dpi", (0, 0))
            assert round(dpi[0]) >= 200 and image.size[0] >= 1800, (stem, dpi, image.size)
    assert written["html"] == folder / "report.html"
    inputs = pd.read_csv(folder / "inputs.csv")
    assert list(inputs.columns) == ["area", "input", "value"]
    assert "60 core beds" in set(inputs["value"])


def test_html_is_self_contained(built: tuple[Path, dict[str, Path]]) -> None:
    text = (built[0] / "report.html").read_text()
    assert "<script" not in text.lower() and "<link" not in text.lower()
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:|//|file:)""", text)
    images = re.findall(r'<img src="([^"]+)"', text)
    assert len(images) == len(CHART_STEMS)
    assert all(src.startswith("data:image/png;base64,") for src in images)


def _md_headline(text: str) -> list[tuple[str, str, str, str]]:
    section = text.split("## 2. Headline results", 1)[1].split("## 3.", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| ")][2:]
    cells = [[c.strip() for c in row.strip("|").split(" | ")] for row in rows]
    return [(c[0].replace("&nbsp;", " "), c[1], c[2], c[3]) for c in cells]


def _html_headline(text: str) -> list[tuple[str, str, str, str]]:
    table = text.split('<table class=headline>', 1)[1].split("</table>", 1)[0]
    rows = re.findall(r"<tr[^>]*data-metric[^>]*><td>(.*?)</td><td class=num>(.*?)</td>"
                      r"<td class=num>(.*?)</td><td>(.*?)</td></tr>", table)
    return [tuple(html_lib.unescape(c) for c in row) for row in rows]  # type: ignore[misc]


def test_headline_figures_equal_summary_json(built: tuple[Path, dict[str, Path]]) -> None:
    folder = built[0]
    metrics = _summary(folder)["metrics"]
    expected = [(label.strip(), mean, ci, unit) for label, mean, ci, unit in headline_rows(metrics)]
    assert len(expected) > 10
    md = [(label.strip(), *rest) for label, *rest in _md_headline((folder / "report.md").read_text())]
    assert md == expected
    assert _html_headline((folder / "report.html").read_text()) == expected
    csv = pd.read_csv(folder / "headline.csv")
    for row in csv.itertuples(index=False):
        head, _, tail = row.metric.partition(".")
        entry = metrics[head][tail] if tail else metrics[head]
        assert (row.mean, row.ci_low, row.ci_high) == (entry["mean"], entry["ci_low"], entry["ci_high"])


def test_captions_use_summary_numbers(built: tuple[Path, dict[str, Path]]) -> None:
    folder = built[0]
    m = _summary(folder)["metrics"]
    md = (folder / "report.md").read_text()
    html = html_lib.unescape((folder / "report.html").read_text())
    occ = m["acute_occupancy_pct"]
    expected = [
        f"Occupancy averaged {occ['mean']:.1f}% of 60 beds (95% CI {occ['ci_low']:.1f}–{occ['ci_high']:.1f}%)",
        f"above 95% on {m['pct_days_occupancy_above_95']['mean']:.0f}% of days",
        f"Delayed bed days totalled {m['delayed_bed_days']['mean']:,.0f}",
        f"The DTOC rate averaged {m['dtoc_rate_per_100k_adults']['mean']:.1f}",
        f"above the target of {DEFAULT_TARGET:g} in ",
    ]
    for text in expected:
        assert text in md and text in html, text
    assert "d2asim run scenario.yaml --reps 3 --seed 11" in md and "d2asim run scenario.yaml --reps 3 --seed 11" in html


def test_chart_data_match_run_folder(built: tuple[Path, dict[str, Path]]) -> None:
    """Monthly delayed bed days by pathway (chart 2) sum to summary.json's total."""
    from d2asim.report.delay_charts import delays_by

    folder = built[0]
    run = load_run(folder)
    total = delays_by(run, "pathway").to_numpy().sum()
    assert total == pytest.approx(run.metrics["delayed_bed_days"]["mean"], rel=1e-4)
    assert run.footer().startswith("Scenario tiny · 3 replications · seed 11 · d2asim ")


def test_mean_by_category_counts_missing_values_as_zero() -> None:
    frame = pd.DataFrame({"replication": [0, 0, 1], "month": ["2025-04", "2025-05", "2025-04"],
                          "dimension": "pathway", "value": ["P1", "P1", "P2"],
                          "delayed_bed_days": [4.0, 6.0, 10.0]})
    table = mean_by_category(frame, "pathway", [0, 1], ["2025-04", "2025-05"])
    assert table.loc["2025-04", "P1"] == 2.0 and table.loc["2025-05", "P2"] == 0.0
    assert table.loc["2025-04", "P2"] == 5.0


def test_target_option_and_missing_population(tmp_path: Path) -> None:
    folder = make_run_folder(tmp_path / "nopop", population=False, reps=2)
    result = CliRunner().invoke(report_command, [str(folder), "--target", "12.5"])
    assert result.exit_code == 0, result.output
    md = (folder / "report.md").read_text()
    assert "Not shown: DTOC rate" in md and not (folder / "charts" / "dtoc_rate.png").exists()
    assert "12.5" in md


def test_bare_run_one_replication_no_services(tmp_path: Path) -> None:
    """No downstream services, no delays, one replication: no warnings, no empty CIs."""
    data = {"name": "bare", "run": {"warmup_days": 5, "duration_days": 40},
            "arrivals": {"non_elective": {"per_day": 5}},
            "acute": {"beds": 50, "time_to_discharge_ready_days": {p: {"type": "exponential", "mean": 3}
                                                                   for p in ("P0", "P1", "P2", "P3")}},
            "pathways": {"shares": {"P0": 1.0, "P1": 0, "P2": 0, "P3": 0},
                         "settings": {p: {} for p in ("P1", "P2", "P3")}}}
    folder = tmp_path / "bare"
    folder.mkdir()
    write_run(run_replications(validate_mapping(data, "<test>"), 1, 3), folder)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        build_report(folder)
    md = (folder / "report.md").read_text()
    assert "No delayed bed days were recorded." in md and "95% CI" not in md.split("## 1.")[0]
    assert "Not shown: Downstream queues" in md


def test_run_date_from_created_or_mtime(built: tuple[Path, dict[str, Path]], tmp_path: Path) -> None:
    copy = tmp_path / "copy"
    shutil.copytree(built[0], copy)
    assert load_run(copy).run_date == pd.Timestamp.now().date().isoformat()
    doc = _summary(copy)
    doc["created"] = "2024-02-03T10:11:12"
    (copy / "summary.json").write_text(json.dumps(doc))
    assert load_run(copy).run_date == "2024-02-03"


@pytest.mark.parametrize("setup, message", [
    ("missing", "run folder not found"),
    ("empty", "summary.json: file not found"),
    ("bad_json", "summary.json: not valid JSON"),
    ("no_daily", "daily.csv: file not found"),
])
def test_bad_run_folder_exits_2(built: tuple[Path, dict[str, Path]], tmp_path: Path,
                                setup: str, message: str) -> None:
    folder = tmp_path / "run"
    if setup != "missing":
        folder.mkdir()
    if setup == "bad_json":
        (folder / "summary.json").write_text("{not json")
    if setup == "no_daily":
        shutil.copytree(built[0], folder, dirs_exist_ok=True)
        (folder / "daily.csv").unlink()
    result = CliRunner().invoke(report_command, [str(folder)])
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0], result.output


def test_comparison_charts(tmp_path: Path) -> None:
    rows = []
    for option, saved, cost in (("p1_plus20", 1400, 2.5e5), ("p2_plus5", -120, 4e4), ("trusted_assessor", 2300, -5e4)):
        rows.append(("bed_days_saved", option, saved, 8000, 8000 - saved))
        rows.append(("cost_total_gbp", option, cost, 5e6, 5e6 + cost))
    frame = pd.DataFrame([{"option": o, "metric": m, "baseline": b, "option_value": v, "difference": d,
                           "ci_low": d - 300 if m == "bed_days_saved" else d - 6e4,
                           "ci_high": d + 300 if m == "bed_days_saved" else d + 6e4}
                          for m, o, d, b, v in rows])
    path = tmp_path / "comparison.csv"
    frame.to_csv(path, index=False)
    comparison = read_comparison(path)
    bars = bed_days_saved_chart(comparison, tmp_path / "charts", "footer")
    scatter = cost_vs_bed_days_chart(comparison, tmp_path / "charts", "footer")
    assert bars is not None and scatter is not None
    assert bars.with_suffix(".svg").exists() and scatter.with_suffix(".svg").exists()
    assert bed_days_saved_chart(comparison, tmp_path / "charts", metric="nothing") is None
    frame.drop(columns="ci_low").to_csv(path, index=False)
    with pytest.raises(ScenarioError, match="missing column"):
        read_comparison(path)


CHROMIUM = next((b for b in ("chromium", "chromium-browser", "google-chrome") if shutil.which(b)), None)


@pytest.mark.skipif(CHROMIUM is None, reason="chromium not installed")
def test_renders_in_headless_chromium(built: tuple[Path, dict[str, Path]], tmp_path: Path) -> None:
    shot = tmp_path / "shot.png"
    subprocess.run(["bash", str(ROOT / "scripts" / "render_check.sh"), str(built[0]), str(shot), "1280", "3000"],
                   check=True, timeout=120, capture_output=True)
    with Image.open(shot) as image:
        grey = image.convert("L")
        assert grey.size == (1280, 3000)
        assert grey.getextrema()[0] < 100  # something dark (text) was drawn, not a blank page
