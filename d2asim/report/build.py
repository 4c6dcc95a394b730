"""``build_any``: write report.html, report.md, charts/ and the table CSVs into a run,
comparison, sweep or calibration folder (a run's own report: :mod:`d2asim.report.run_report`)."""

from __future__ import annotations

from pathlib import Path

from d2asim.report.owned import report_files
from d2asim.report.run_report import build_report
from d2asim.report.target import DEFAULT_TARGET
from d2asim.scenario.errors import ScenarioError

DTOC_METRIC = "dtoc_rate_per_100k_adults"


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
    from d2asim.report.calibration_report import build_calibration_report, is_calibration_folder
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
