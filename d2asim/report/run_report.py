"""``build_report``: write report.html, report.md, charts/ and the table CSVs into a run
folder (the report of a comparison builds its baseline run's report with it too)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from d2asim.report.content import Report, assemble
from d2asim.report.data import load_run
from d2asim.report.html import render_html
from d2asim.report.markdown import render_markdown
from d2asim.report.owned import report_files, write_csv, write_text
from d2asim.report.tables import headline_frame
from d2asim.report.target import DEFAULT_TARGET


def write_tables(report: Report) -> dict[str, Path]:
    """headline.csv (raw summary.json values and the shown text), inputs.csv and, for a
    system, places.csv (the same per trust and borough, with its ``scope``)."""
    folder = report.run.folder
    paths = {"headline": folder / "headline.csv", "inputs": folder / "inputs.csv"}
    write_csv(headline_frame(report.headline), paths["headline"], index=False)
    write_csv(pd.DataFrame(report.inputs, columns=["area", "input", "value"]), paths["inputs"], index=False)
    if report.places:
        paths["places"] = folder / "places.csv"
        frame = headline_frame([p.row for p in report.places])
        frame.insert(0, "scope", [p.scope for p in report.places])
        write_csv(frame, paths["places"], index=False)
    return paths


def build_run(folder: Path, target: float = DEFAULT_TARGET) -> tuple[Report, dict[str, Path]]:
    """Write the run report into ``folder``; the assembled report and the written files."""
    report = assemble(load_run(Path(folder)), target)
    written = write_tables(report)
    written["markdown"] = report.run.folder / "report.md"
    write_text(written["markdown"], render_markdown(report))
    written["html"] = report.run.folder / "report.html"
    write_text(written["html"], render_html(report))
    for chart in report.charts:
        written[chart.stem] = chart.png
    return report, written


def build_report(folder: Path, target: float = DEFAULT_TARGET) -> dict[str, Path]:
    """Build the full report for the run folder ``folder``; ``target`` is the DTOC rate
    target in delayed patients per day per 100,000 adults. Returns the written files.
    Raises ScenarioError for a missing or invalid run folder."""
    with report_files(Path(folder)):
        return build_run(folder, target)[1]
