"""``d2asim report``: files written, self-contained HTML, headline figures equal to
summary.json, captions, errors, comparison charts and (if Chromium is installed) a
headless render. Builds its own small run folder (a few seconds)."""

from __future__ import annotations

import html as html_lib
import json
import math
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
CHART_STEMS = ("system_diagram", "acute_occupancy", "delays_by_pathway", "delays_by_reason", "dtoc_rate",
               "downstream_queues")


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


def test_run_report_flag(tmp_path: Path) -> None:
    """``d2asim run --report`` writes the run report after the run, as ``d2asim report`` would."""
    scenario = _write_yaml(tmp_path / "tiny.yaml", tiny_scenario())
    result = _cli(["run", str(scenario), "--reps", "2", "--seed", "3", "--out", str(tmp_path / "run"),
                   "--workers", "1", "--quiet", "--report"])
    assert f"Report: {tmp_path / 'run' / 'report.html'}" in result.output
    assert "d2asim run scenario.yaml --reps 2 --seed 3" in (tmp_path / "run" / "report.md").read_text()


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
        rows.append(("commissioning_and_spot_cost_gbp", option, cost, 5e6, 5e6 + cost))
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


# ------------------------------------------------------------------ comparisons and sweeps
def _costed(data: dict[str, Any], name: str, **changes: Any) -> dict[str, Any]:
    """The tiny scenario with costs (so the cost chart has something to show), renamed
    and with ``changes`` applied: ``("services", "p1", "capacity")``-style dotted keys."""
    import copy

    out = copy.deepcopy(data)
    out["name"] = name
    out["acute"]["bed_day_cost_gbp"] = 345
    for spec in out["services"].values():
        spec["cost_per_day_gbp"] = 120
    for dotted, value in changes.items():
        *path, last = dotted.split("__")
        node = out
        for key in path:
            node = node.setdefault(key, {})
        node[last] = value
    return out


def _write_yaml(path: Path, data: dict[str, Any]) -> Path:
    import yaml

    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


@pytest.fixture(scope="module")
def scenario_files(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """A baseline and two options: more P1 places, and D2A for P3."""
    folder = tmp_path_factory.mktemp("scenarios")
    base = tiny_scenario()
    return [
        _write_yaml(folder / "tiny.yaml", _costed(base, "tiny")),
        _write_yaml(folder / "p1_more.yaml", _costed(base, "p1_more", services__p1__capacity=30)),
        _write_yaml(folder / "p3_d2a.yaml", _costed(base, "p3_d2a",
                                                    pathways__settings__P3__assessment__mode="d2a")),
    ]


def _cli(args: list[str]) -> Any:
    from d2asim.cli import main

    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output + repr(result.exception)
    return result


@pytest.fixture(scope="module")
def compared(scenario_files: list[Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("compare") / "cmp"
    result = _cli(["compare", *map(str, scenario_files), "--reps", "3", "--seed", "5", "--out", str(folder),
                   "--workers", "1", "--quiet", "--report"])
    assert f"Report: {folder / 'report.html'}" in result.output
    return folder


def _shown_number(text: str) -> tuple[float, int]:
    """A number as shown ('+1,234', '-8.60') and its decimals."""
    clean = text.replace(",", "").replace("+", "")
    return float(clean), len(clean.split(".")[1]) if "." in clean else 0


def _close(text: str, value: float) -> bool:
    if text == "–":  # shown for a missing value (an interval that does not exist)
        return math.isnan(value)
    shown, decimals = _shown_number(text)
    return abs(shown - value) <= 0.5 * 10.0 ** -decimals + 1e-9


def _html_rows(text: str, css: str) -> dict[str, list[str]]:
    """data-key -> cell texts of the table with class ``css``."""
    table = text.split(f'<table class="{css}">', 1)[1].split("</table>", 1)[0]
    rows = {}
    for key, body in re.findall(r'<tr[^>]*data-key="([^"]+)"[^>]*>(.*?)</tr>', table):
        rows[html_lib.unescape(key)] = [html_lib.unescape(c) for c in re.findall(r"<td[^>]*>(.*?)</td>", body)]
    return rows


def test_compare_report_files(compared: Path) -> None:
    for name in ("report.html", "report.md", "headline.csv", "scenarios.csv", "charts/bed_days_saved.png",
                 "charts/bed_days_saved.svg", "charts/cost_vs_bed_days.png", "tiny/report.html", "tiny/report.md",
                 "tiny/charts/acute_occupancy.png"):
        assert (compared / name).stat().st_size > 0, name
    text = (compared / "report.html").read_text()
    assert "<script" not in text.lower() and "<link" not in text.lower()
    images = re.findall(r'<img src="([^"]+)"', text)
    assert len(images) == 2 + len(CHART_STEMS) and all(i.startswith("data:image/png;base64,") for i in images)
    md = (compared / "report.md").read_text()
    assert "![" in md and "(charts/bed_days_saved.png)" in md and "(tiny/charts/acute_occupancy.png)" in md
    footer = "Scenario tiny (baseline) vs 2 options · 3 replications · seed 5 · d2asim "
    assert footer in md and footer in html_lib.unescape(text)
    assert "d2asim compare tiny/scenario.yaml \\\n  p1_more/scenario.yaml \\\n  p3_d2a/scenario.yaml" in md
    scenarios = pd.read_csv(compared / "scenarios.csv")
    assert list(scenarios["changes"])[1] == "services.p1.capacity: 22 → 30"


def test_compare_report_figures_equal_comparison_csv(compared: Path) -> None:
    """Every key difference shown (HTML and Markdown) and written to headline.csv is the
    comparison.csv value; 'distinguishable' matches; the bed-days caption uses the same numbers."""
    from d2asim.metrics.registry import COMPARE_KEYS

    csv = pd.read_csv(compared / "comparison.csv")
    keys = list(COMPARE_KEYS)
    wanted = csv[csv["metric"].isin(keys)]
    html_rows = _html_rows((compared / "report.html").read_text(), "diff")
    md = (compared / "report.md").read_text()
    md_rows = [[c.strip() for c in line.strip("|").split(" | ")] for line in md.splitlines()
               if line.startswith("| ") and " | " in line]
    assert len(html_rows) == len(wanted) == 2 * len(keys)
    for r in wanted.itertuples(index=False):
        cells = html_rows[f"{r.option}|{r.metric}"]
        _label, base, value, diff, ci, dist = cells[1:]
        low, high = ci.split(" to ")
        assert _close(diff, r.difference) and _close(low, r.ci_low) and _close(high, r.ci_high), cells
        if r.metric not in ("bed_days_saved", "cost_per_bed_day_saved_gbp"):  # rows without levels
            assert _close(base, r.baseline) and _close(value, r.option_value), cells
        assert dist == ("yes" if r.distinguishable else "no")
        assert cells[1:] in [row[1:] for row in md_rows], cells  # the same row in report.md
    headline = pd.read_csv(compared / "headline.csv")
    merged = headline.merge(csv, on=["option", "metric"], suffixes=("", "_csv"))
    assert len(merged) == len(wanted)
    for column in ("difference", "ci_low", "ci_high"):
        same = (merged[column] == merged[f"{column}_csv"]) | (merged[column].isna() & merged[f"{column}_csv"].isna())
        assert same.all(), column
    saved = csv[csv["metric"] == "bed_days_saved"].set_index("option")["difference"]
    assert f"{saved.idxmax()} saved the most acute bed days: {saved.max():,.0f}" in md


def test_compare_reproduce_command_gives_the_same_table(compared: Path, tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    md = (compared / "report.md").read_text()
    command = md.split("```bash\n", 1)[1].split("\n```", 1)[0].replace("\\\n", " ").split()
    assert command[:2] == ["d2asim", "compare"]
    monkeypatch.chdir(compared)
    _cli([*command[1:], "--out", str(tmp_path / "again"), "--workers", "1", "--quiet"])
    assert (tmp_path / "again" / "comparison.csv").read_text() == (compared / "comparison.csv").read_text()


@pytest.fixture(scope="module")
def swept(scenario_files: list[Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("sweep") / "sw"
    _cli(["sweep", str(scenario_files[0]), "--set", "services.p1.capacity=12,17,22,30", "--reps", "3", "--seed", "5",
          "--out", str(folder), "--workers", "1", "--quiet", "--report"])
    return folder


def test_sweep_report_figures_equal_sweep_csv(swept: Path) -> None:
    for name in ("report.html", "report.md", "headline.csv", "target.csv", "charts/sweep.png", "charts/sweep.svg"):
        assert (swept / name).stat().st_size > 0, name
    csv = pd.read_csv(swept / "sweep.csv")
    rows = _html_rows((swept / "report.html").read_text(), "headline sweep")
    metrics = ("delayed_bed_days", "dtoc_rate_per_100k_adults", "admission_wait_mean_hours")
    for r in csv.itertuples(index=False):
        cells = rows[str(r.point)]
        assert cells[0] == f"{r._1:g}"  # services.p1.capacity (renamed by itertuples)
        for i, m in enumerate(metrics):
            mean, ci = cells[1 + 2 * i], cells[2 + 2 * i]
            low, high = ci.split(" to ")
            row = r._asdict()
            assert _close(mean, row[f"{m}_mean"]) and _close(low, row[f"{m}_ci_low"]), (m, cells)
            assert _close(high, row[f"{m}_ci_high"]), (m, cells)
    headline = pd.read_csv(swept / "headline.csv")
    for m in metrics:
        part = headline[headline["metric"] == m].set_index("point")
        assert (part["mean"] == csv.set_index("point")[f"{m}_mean"]).all(), m
    md = (swept / "report.md").read_text()
    assert "Target `dtoc_rate_per_100k_adults <= 9.4`" in md
    assert "d2asim sweep point-000/scenario.yaml --set services.p1.capacity=12,17,22,30 \\\n  --reps 3 --seed 5" in md
    assert "Scenario tiny, swept over services.p1.capacity · 3 replications · seed 5 · d2asim " in md


def test_sweep_target_marks_smallest_value(swept: Path) -> None:
    """With --target on delayed bed days, the smallest swept value by the mean and by
    the whole CI are those sweep.csv gives."""
    csv = pd.read_csv(swept / "sweep.csv").sort_values("services.p1.capacity")
    value = float(csv["delayed_bed_days_mean"].iloc[2])  # met by the mean from the third value on (if monotone)
    _cli(["report", str(swept), "--target", f"delayed_bed_days<={value!r}"])
    by_mean = csv.loc[csv["delayed_bed_days_mean"] <= value, "services.p1.capacity"].iloc[0]
    by_ci = csv.loc[csv["delayed_bed_days_ci_high"] <= value, "services.p1.capacity"]
    target = pd.read_csv(swept / "target.csv")
    assert target["smallest_by_mean"].iloc[0] == by_mean
    by_ci_shown = target["smallest_by_ci"].iloc[0]
    assert pd.isna(by_ci_shown) if by_ci.empty else by_ci_shown == by_ci.iloc[0]
    md = (swept / "report.md").read_text()
    assert f"by the mean **{by_mean:g} beds**" in md  # tiny's p1 is a bed-based service (the default setting)
    assert "the target (Delayed bed days ≤" in md


def test_two_field_sweep_draws_a_line_per_value(scenario_files: list[Path], tmp_path: Path) -> None:
    folder = tmp_path / "grid"
    _cli(["sweep", str(scenario_files[0]), "--set", "services.p1.capacity=12,30", "--set", "services.p3.capacity=4,8",
          "--reps", "2", "--seed", "5", "--out", str(folder), "--workers", "1", "--quiet"])
    _cli(["report", str(folder), "--target", "25"])
    md = (folder / "report.md").read_text()
    assert "| services.p3.capacity | By the mean | By the whole 95% CI |" in md
    assert "With services.p3.capacity = 4, delayed bed days" in md and "with services.p3.capacity = 8" in md
    assert len(pd.read_csv(folder / "target.csv")) == 2


@pytest.mark.parametrize("case, message", [
    ("no_comparison_csv", "comparison.csv: file not found"),
    ("sweep_unknown_metric", "--target: metric 'nope' is not in sweep.csv"),
    ("run_metric_target", "--target: a run or comparison report takes a DTOC rate target"),
])
def test_report_errors_exit_2(compared: Path, swept: Path, built: tuple[Path, dict[str, Path]], tmp_path: Path,
                              case: str, message: str) -> None:
    if case == "no_comparison_csv":
        folder = tmp_path / "cmp"
        shutil.copytree(compared, folder)
        (folder / "comparison.csv").unlink()
        args = [str(folder)]
    elif case == "sweep_unknown_metric":
        args = [str(swept), "--target", "nope<=3"]
    else:
        args = [str(built[0]), "--target", "delayed_bed_days<=5"]
    result = CliRunner().invoke(report_command, args)
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0], result.output


@pytest.mark.skipif(CHROMIUM is None, reason="chromium not installed")
def test_comparison_renders_in_headless_chromium(compared: Path, tmp_path: Path) -> None:
    shot = tmp_path / "shot.png"
    subprocess.run(["bash", str(ROOT / "scripts" / "render_check.sh"), str(compared), str(shot), "1280", "2400"],
                   check=True, timeout=120, capture_output=True)
    with Image.open(shot) as image:
        assert image.convert("L").getextrema()[0] < 100


# ------------------------------------------------------------------- tables.xlsx
def _sheet_rows(path: Path, sheet: str) -> list[dict[str, Any]]:
    from openpyxl import load_workbook

    rows = list(load_workbook(path, read_only=True)[sheet].iter_rows(values_only=True))
    return [dict(zip(rows[0], row, strict=True)) for row in rows[1:]]


def test_tables_xlsx_of_a_run_equal_summary_json_and_monthly_csv(built: tuple[Path, dict[str, Path]]) -> None:
    """Every summary.json metric is a row of numbers (not text) with its CI; the monthly
    means are those of monthly.csv; numbers carry the registry's number format."""
    from openpyxl import load_workbook

    from d2asim.report.excel import flat_metrics, write_tables_xlsx

    folder = built[0]
    path = write_tables_xlsx(folder, "run")
    metrics = dict(flat_metrics(_summary(folder)["metrics"]))
    rows = {r["Key"]: r for r in _sheet_rows(path, "Summary")}
    assert set(rows) == set(metrics) and len(rows) > 40
    for key, entry in metrics.items():
        for column, stat in zip(("Mean (unit)", "95% CI low (unit)", "95% CI high (unit)"),
                                ("mean", "ci_low", "ci_high"), strict=True):
            value = rows[key][column]
            assert value is None if entry[stat] is None else value == pytest.approx(entry[stat], rel=1e-12), key
    assert rows["discharges"]["Unit"] == "patients" and isinstance(rows["discharges"]["Mean (unit)"], float)
    sheet = load_workbook(path)["Summary"]
    formats = {r[1].value: r[3].number_format for r in sheet.iter_rows(min_row=2)}
    assert formats["cost_total_gbp"] == "#,##0" and formats["acute_occupancy_pct"] == "#,##0.0"
    monthly = pd.read_csv(folder / "monthly.csv")
    means = monthly.groupby("month")["delayed_bed_days"].mean()
    shown = {r["Month"]: r["Delayed bed days, mean (bed days)"] for r in _sheet_rows(path, "Monthly")}
    assert shown == pytest.approx(means.to_dict(), rel=1e-12)
    delays = pd.read_csv(folder / "monthly_delays.csv")
    by_reason = delays[delays["dimension"] == "reason"].groupby(["month", "value"])["delayed_bed_days"].sum()
    n_reps = monthly["replication"].nunique()
    for r in _sheet_rows(path, "Delays by reason"):
        for column, value in r.items():
            if column != "Month":
                reason = column.split(" ")[1]
                assert value == pytest.approx(by_reason.get((r["Month"], reason), 0.0) / n_reps, abs=1e-9)


def test_tables_xlsx_of_a_comparison_and_a_sweep_equal_their_csv(compared: Path, swept: Path) -> None:
    csv = pd.read_csv(compared / "comparison.csv")
    rows = _sheet_rows(compared / "tables.xlsx", "Comparison")
    assert len(rows) == len(csv)
    def same(cell: Any, value: float) -> bool:  # an undefined value (NaN) is an empty cell
        return cell is None if pd.isna(value) else cell == pytest.approx(value, rel=1e-12)

    for r, c in zip(rows, csv.itertuples(index=False), strict=True):
        assert (r["Option"], r["Key"]) == (c.option, c.metric)
        assert same(r["Difference option − baseline (unit)"], c.difference), c
        assert same(r["95% CI low (unit)"], c.ci_low) and same(r["95% CI high (unit)"], c.ci_high), c
        assert r["Distinguishable from zero"] == ("yes" if c.distinguishable else "no")
    assert {r["Scenario"] for r in _sheet_rows(compared / "tables.xlsx", "Summary")} == {"tiny", "p1_more", "p3_d2a"}
    sweep = pd.read_csv(swept / "sweep.csv")
    rows = _sheet_rows(swept / "tables.xlsx", "Sweep")
    assert [r["services.p1.capacity"] for r in rows] == list(sweep["services.p1.capacity"])
    assert [r["Delayed bed days, mean (bed days)"] for r in rows] == pytest.approx(
        list(sweep["delayed_bed_days_mean"]), rel=1e-12)
