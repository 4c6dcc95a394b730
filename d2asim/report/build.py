"""``build_report``: write report.html, report.md, charts/ and the table CSVs into a run
folder; ``build_any`` does the same for a run, comparison or sweep folder."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from d2asim.report.content import DEFAULT_TARGET, Report, assemble
from d2asim.report.data import load_run
from d2asim.report.html import render_html
from d2asim.report.markdown import render_markdown
from d2asim.report.owned import report_files, write_csv, write_text
from d2asim.report.tables import headline_frame
from d2asim.scenario.errors import ScenarioError

DTOC_METRIC = "dtoc_rate_per_100k_adults"


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


def dtoc_target(text: str | float | None) -> float:
    """The DTOC-rate target of a run or comparison report from ``--target``: a number,
    or ``dtoc_rate_per_100k_adults<=VALUE``."""
    if text is None:
        return DEFAULT_TARGET
    try:
        return float(text)
    except ValueError:
        pass
    from d2asim.experiments.capacity import Target

    target = Target.parse(str(text))
    if target.metric != DTOC_METRIC or target.op not in ("<=", "<"):
        raise ScenarioError([f"--target: a run or comparison report takes a DTOC rate target: a number or "
                             f"{DTOC_METRIC}<=VALUE (got {text!r}; other metrics work for sweeps)"])
    return target.value


def build_any(folder: Path, target: str | float | None = None) -> dict[str, Path]:
    """Write the report for a run, comparison (run.json kind ``compare``), sweep
    (kind ``sweep``) or calibration (calibration.json present) folder. ``target``: for
    runs and comparisons the DTOC rate target (a number, default 9.4); for sweeps
    ``METRIC<=VALUE`` (or a number: a DTOC rate target); not used for calibrations.
    Returns the written files (``html`` and ``markdown`` always; ``tables``, the
    tables.xlsx workbook, for runs, comparisons and sweeps). Never replaces a file
    an earlier report did not write (:mod:`d2asim.report.owned`)."""
    folder = Path(folder)
    with report_files(folder) as files:
        for name in ("report.md", "report.html"):
            files.check(folder / name)  # before anything is drawn
        return _build_kind(folder, target)


def _build_kind(folder: Path, target: str | float | None) -> dict[str, Path]:
    from d2asim.calibration.calibration_report import build_calibration_report, is_calibration_folder
    from d2asim.report.excel import write_tables_xlsx
    from d2asim.report.multi import folder_kind, load_multi

    if is_calibration_folder(folder):
        return build_calibration_report(folder)
    if (folder / "best.json").is_file() and (folder / "frontier.csv").is_file():
        from d2asim.report.optimise_report import build_optimise_report

        return build_optimise_report(folder)
    kind = folder_kind(folder)
    if kind == "compare":
        from d2asim.report.compare_report import build_comparison_report

        written = build_comparison_report(folder, dtoc_target(target))
    elif kind == "sweep":
        from d2asim.report.sweep_report import build_sweep_report

        written = build_sweep_report(folder, target)
    else:
        written = build_report(folder, dtoc_target(target))
    written["tables"] = write_tables_xlsx(folder, kind, None if kind == "run" else load_multi(folder, kind))
    return written
