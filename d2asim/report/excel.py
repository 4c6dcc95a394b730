"""``tables.xlsx``: the tables of a run, comparison or sweep folder as one workbook,
a sheet per table, numbers stored as numbers (never text) with the metric's decimals
as the cell format and the units in the column headers (labels and units from
:mod:`d2asim.metrics.registry`).

Run folder: Summary (every summary.json metric with its 95% CI), Monthly (mean and
95% CI over replications per month), Delays by reason (mean delayed bed days per
month and reason). Comparison folder: Comparison (comparison.csv, by scope when it
has one) and the Summary of every scenario. Sweep folder: Sweep (sweep.csv).

openpyxl writes it: it is pure Python, sets a number format per cell and also reads
workbooks (the input template of :mod:`d2asim.scenario.workbook`).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pandas as pd
from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.worksheet.worksheet import Worksheet

from d2asim.metrics.registry import describe
from d2asim.report.data import RunData, across_replications, load_run, mean_by_category
from d2asim.report.multi import MultiRun
from d2asim.report.owned import writing

TABLES_XLSX = "tables.xlsx"
CI = ("95% CI low", "95% CI high")


def flat_metrics(metrics: dict[str, Any], prefix: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    """(dotted key, {mean, ci_low, ci_high}) for every metric of summary.json, family
    members (``service_utilisation_pct.p1``) included, in file order."""
    for key, entry in metrics.items():
        dotted = f"{prefix}{key}"
        if isinstance(entry, dict) and "mean" in entry:
            yield dotted, entry
        elif isinstance(entry, dict):
            yield from flat_metrics(entry, f"{dotted}.")


def summary_rows(summary: dict[str, Any]) -> list[list[Any]]:
    """Metric, key, unit, mean, CI low, CI high of every metric of a summary.json."""
    rows = []
    for key, e in flat_metrics(summary["metrics"]):
        m = describe(key)
        rows.append([m.label, key, m.unit, e["mean"], e["ci_low"], e["ci_high"]])
    return rows


def _sheet(book: Workbook, title: str, header: Sequence[str], rows: Sequence[Sequence[Any]],
           formats: Sequence[str | None] | None = None, row_format_key: int | None = None) -> Worksheet:
    """A sheet with a bold header row; ``formats`` per column, or the metric of column
    ``row_format_key`` sets the number format of each row's numbers."""
    sheet = book.create_sheet(title[:31])
    sheet.append(list(header))
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row in rows:
        sheet.append([None if isinstance(v, float) and v != v else v for v in row])  # NaN -> empty cell
        number_format = describe(str(row[row_format_key])).excel_format() if row_format_key is not None else None
        for cell, fmt in zip(sheet[sheet.max_row], formats or [None] * len(row), strict=True):
            if isinstance(cell.value, (int, float)) and not isinstance(cell.value, bool):
                cell.number_format = fmt or number_format or "General"
    sheet.freeze_panes = "A2"
    for column, name in zip(sheet.columns, header, strict=True):
        sheet.column_dimensions[column[0].column_letter].width = min(60, max(10, len(str(name)) + 2))
    return sheet


SUMMARY_HEADER = ("Metric", "Key", "Unit", "Mean (unit)", "95% CI low (unit)", "95% CI high (unit)")


def _run_sheets(book: Workbook, run: RunData) -> None:
    _sheet(book, "Summary", SUMMARY_HEADER, summary_rows(run.summary), row_format_key=1)
    monthly = run.monthly
    months = sorted(monthly["month"].unique())
    columns = [c for c in monthly.columns if c not in ("replication", "month", "days")]
    header, formats = ["Month", "Days"], [None, "0"]
    out = pd.DataFrame({"Month": months, "Days": monthly.groupby("month")["days"].first().reindex(months).to_numpy()})
    for column in columns:
        m = describe(column)
        ci = across_replications(monthly, "month", column).set_index("month").reindex(months)
        for name, values in ((f"{m.label}, mean ({m.unit})", ci["mean"]), (f"{m.label}, {CI[0]} ({m.unit})", ci["low"]),
                             (f"{m.label}, {CI[1]} ({m.unit})", ci["high"])):
            out[name] = values.to_numpy()
            header.append(name)
            formats.append(m.excel_format())
    _sheet(book, "Monthly", header, out.to_numpy().tolist(), formats)
    reasons = mean_by_category(run.monthly_delays, "reason", run.replication_ids, months)
    unit = describe("delayed_bed_days_by_reason").unit
    _sheet(book, "Delays by reason", ["Month", *(f"Reason {r} ({unit}, mean)" for r in reasons.columns)],
           [[month, *row] for month, row in zip(reasons.index, reasons.to_numpy().tolist(), strict=True)],
           [None, *["#,##0.0"] * len(reasons.columns)])


def _comparison_rows(table: pd.DataFrame) -> tuple[list[str], list[list[Any]]]:
    scoped = "scope" in table.columns
    if scoped:
        table = table.sort_values("scope", kind="stable")
    header = [*(["Scope"] if scoped else []), "Option", "Metric", "Key", "Unit", "Baseline (unit)",
              "Option (unit)", "Difference option − baseline (unit)", *(f"{c} (unit)" for c in CI),
              "Distinguishable from zero"]
    rows = []
    for r in table.to_dict("records"):
        m = describe(str(r["metric"]))
        rows.append([*([r["scope"]] if scoped else []), r["option"], m.label, r["metric"], m.unit, r["baseline"],
                     r["option_value"], r["difference"], r["ci_low"], r["ci_high"],
                     "yes" if bool(r["distinguishable"]) else "no"])
    return header, rows


def write_tables_xlsx(folder: Path, kind: str, multi: MultiRun | None = None) -> Path:
    """Write ``folder/tables.xlsx`` for a run (``kind`` 'run'), comparison or sweep
    folder (``multi``: the folder as read by :func:`d2asim.report.multi.load_multi`)."""
    book = Workbook()
    book.remove(book.worksheets[0])  # the new workbook's empty sheet
    if kind == "run":
        _run_sheets(book, load_run(folder))
    elif kind == "compare" and multi is not None:
        header, rows = _comparison_rows(multi.table)
        _sheet(book, "Comparison", header, rows, row_format_key=header.index("Key"))
        rows = [[name, *row] for name, doc in zip(multi.subfolders, multi.summaries, strict=True)
                for row in summary_rows(doc)]
        _sheet(book, "Summary", ["Scenario", *SUMMARY_HEADER], rows, row_format_key=2)
    elif kind == "sweep" and multi is not None:
        header = [_sweep_header(c) for c in multi.table.columns]
        formats = [_sweep_format(c) for c in multi.table.columns]
        _sheet(book, "Sweep", header, multi.table.to_numpy().tolist(), formats)
    path = folder / TABLES_XLSX
    with writing(path):  # never over a file the report did not write
        book.save(path)
    return path


def _split(column: str) -> tuple[str, str] | None:
    for stat in ("mean", "ci_low", "ci_high"):
        if column.endswith(f"_{stat}"):
            return column[: -len(stat) - 1], stat
    return None


def _sweep_header(column: str) -> str:
    parts = _split(column)
    if parts is None:
        return column
    m = describe(parts[0])
    stat = {"mean": "mean", "ci_low": CI[0], "ci_high": CI[1]}[parts[1]]
    return f"{m.label}, {stat} ({m.unit})" if m.unit else f"{m.label}, {stat}"


def _sweep_format(column: str) -> str | None:
    parts = _split(column)
    return describe(parts[0]).excel_format() if parts else None
