"""``build_report``: write report.html, report.md, charts/ and the table CSVs into a run folder."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from d2asim.report.content import DEFAULT_TARGET, Report, assemble
from d2asim.report.data import load_run
from d2asim.report.html import render_html
from d2asim.report.markdown import render_markdown
from d2asim.report.tables import headline_frame


def write_tables(report: Report) -> dict[str, Path]:
    """headline.csv (raw summary.json values and the shown text) and inputs.csv."""
    folder = report.run.folder
    paths = {"headline": folder / "headline.csv", "inputs": folder / "inputs.csv"}
    headline_frame(report.headline).to_csv(paths["headline"], index=False)
    pd.DataFrame(report.inputs, columns=["area", "input", "value"]).to_csv(paths["inputs"], index=False)
    return paths


def build_report(folder: Path, target: float = DEFAULT_TARGET) -> dict[str, Path]:
    """Build the full report for the run folder ``folder``; ``target`` is the DTOC rate
    target in delayed patients per day per 100,000 adults. Returns the written files.
    Raises ScenarioError for a missing or invalid run folder."""
    report = assemble(load_run(Path(folder)), target)
    written = write_tables(report)
    written["markdown"] = report.run.folder / "report.md"
    written["markdown"].write_text(render_markdown(report), encoding="utf-8")
    written["html"] = report.run.folder / "report.html"
    written["html"].write_text(render_html(report), encoding="utf-8")
    for chart in report.charts:
        written[chart.stem] = chart.png
    return written
