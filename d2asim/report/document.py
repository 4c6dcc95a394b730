"""A small document model for the comparison and sweep reports, rendered to one
self-contained report.html (charts as base64 PNG, inline CSS, no scripts) and to a
report.md with the same text and tables (charts linked as relative PNG files).

Text in paragraphs may hold `code spans` (backticks) and **bold** (Markdown syntax),
shown as <code> and <strong> in HTML.
"""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass, field
from html import escape
from pathlib import Path

from d2asim.report.captions import Caption
from d2asim.report.html import CSS
from d2asim.report.markdown import md_table
from d2asim.report.warnings import warnings_html, warnings_md

EXTRA_CSS = """
table.diff{font-size:.86em}table.diff td.yes{color:#0b5d1e;font-weight:600}table.diff td.no{color:#666}
table.diff tr.first td{border-top:2px solid #bbb}
table.diff td.option{font-weight:600;white-space:nowrap}table.diff td:nth-child(2){min-width:11em}
.note{color:#555}
table.sweep th.num{white-space:normal}
table.calibration-data,table.calibration-parameters{font-size:.84em}
table.calibration-data th.num,table.calibration-parameters th.num{white-space:normal}
table.calibration-data td:first-child{overflow-wrap:anywhere;min-width:14em}
table.calibration-parameters td:first-child{overflow-wrap:anywhere;min-width:11em}
table.calibration-parameters td:nth-child(2){min-width:9em}
"""


@dataclass(frozen=True)
class Heading:
    text: str


@dataclass(frozen=True)
class Para:
    text: str  # may contain `code` spans
    note: bool = False  # shown in grey (HTML)


@dataclass(frozen=True)
class Code:
    text: str
    language: str = "bash"


@dataclass(frozen=True)
class Table:
    """``rows`` of shown text; ``numeric`` columns are right-aligned; ``keys`` (one per
    row) become ``data-key`` attributes so tests and scripts can find rows; ``classes``
    (one per row, optional) become the row's CSS class; ``cell_classes`` maps a column
    to a function of the cell text giving its CSS class."""

    header: list[str]
    rows: list[list[str]]
    numeric: set[int] = field(default_factory=set)
    css: str = ""
    keys: list[str] | None = None
    classes: list[str] | None = None
    cell_classes: dict[int, str] = field(default_factory=dict)  # column -> class; "text": the cell's text


@dataclass(frozen=True)
class Figure:
    png: Path  # the chart file
    link: str  # its path relative to the report (for report.md)
    alt: str
    caption: Caption
    anchor: str = ""


@dataclass(frozen=True)
class Details:
    """Long text shown collapsed in HTML (a fenced block in Markdown)."""

    summary: str
    text: str


Block = Heading | Para | Code | Table | Figure | Details


@dataclass
class Document:
    title: str
    meta: str
    findings: list[str]
    blocks: list[Block]
    footer: str
    warnings: list[str] = field(default_factory=list)  # shown first (queues that grew)

    def figures(self) -> list[Figure]:
        return [b for b in self.blocks if isinstance(b, Figure)]


def _inline_html(text: str) -> str:
    parts = re.split(r"`([^`]*)`", text)
    return "".join(f"<code>{escape(p)}</code>" if i % 2 else re.sub(r"\*\*(.+?)\*\*", r"<strong>\1</strong>", escape(p))
                   for i, p in enumerate(parts))


def _data_uri(png: Path) -> str:
    return "data:image/png;base64," + base64.b64encode(png.read_bytes()).decode("ascii")


def _table_html(t: Table) -> str:
    head = "".join(f"<th{' class=num' if i in t.numeric else ''}>{escape(h)}</th>" for i, h in enumerate(t.header))
    rows = []
    for n, row in enumerate(t.rows):
        attrs = ""
        if t.classes and t.classes[n]:
            attrs += f" class=\"{escape(t.classes[n])}\""
        if t.keys is not None:
            attrs += f" data-key=\"{escape(t.keys[n])}\""
        cells = []
        for i, cell in enumerate(row):
            rule = t.cell_classes.get(i, "")
            cls = " ".join(c for c in ("num" if i in t.numeric else "",
                                       cell.lower() if rule == "text" else rule) if c)
            cells.append(f"<td class=\"{escape(cls)}\">{escape(cell)}</td>" if cls else f"<td>{escape(cell)}</td>")
        rows.append(f"<tr{attrs}>{''.join(cells)}</tr>")
    css = f" class=\"{escape(t.css)}\"" if t.css else ""
    return f"<table{css}><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def render_html(doc: Document) -> str:
    """The complete report.html text."""
    out = [f"<h1>{escape(doc.title)}</h1>", f"<p class=meta>{escape(doc.meta)}</p>", warnings_html(doc.warnings)]
    if doc.findings:
        out.append("<ul class=findings>" + "".join(f"<li>{_inline_html(f)}</li>" for f in doc.findings) + "</ul>")
    number = 0
    for block in doc.blocks:
        if isinstance(block, Heading):
            out.append(f"<h2>{escape(block.text)}</h2>")
        elif isinstance(block, Para):
            out.append(f"<p{' class=note' if block.note else ''}>{_inline_html(block.text)}</p>")
        elif isinstance(block, Code):
            out.append(f"<pre>{escape(block.text)}</pre>")
        elif isinstance(block, Table):
            out.append(_table_html(block))
        elif isinstance(block, Figure):
            number += 1
            anchor = f" id=\"{escape(block.anchor)}\"" if block.anchor else ""
            out.append(f"<figure{anchor}><img src=\"{_data_uri(block.png)}\" alt=\"{escape(block.alt)}\">"
                       f"<figcaption><strong>Figure {number}.</strong> {_inline_html(block.caption.finding)} "
                       f"<span class=note>{_inline_html(block.caption.note)}</span></figcaption></figure>")
        elif isinstance(block, Details):
            out.append(f"<details><summary>{escape(block.summary)}</summary><pre>{escape(block.text)}</pre>"
                       "</details>")
    out.append(f"<footer>{escape(doc.footer)}</footer>")
    body = "\n".join(out)
    return (f"<!DOCTYPE html>\n<html lang=\"en-GB\"><head><meta charset=\"utf-8\">"
            f"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            f"<title>{escape(doc.title)}</title><style>{CSS}{EXTRA_CSS}</style></head><body>\n{body}\n"
            "</body></html>\n")


def render_markdown(doc: Document) -> str:
    """The complete report.md text (same text and tables as report.html)."""
    parts = [f"# {doc.title}", doc.meta, *([warnings_md(doc.warnings)] if doc.warnings else [])]
    if doc.findings:
        parts.append("\n".join(f"- {f}" for f in doc.findings))
    number = 0
    for block in doc.blocks:
        if isinstance(block, Heading):
            parts.append(f"## {block.text}")
        elif isinstance(block, Para):
            parts.append(block.text)
        elif isinstance(block, Code):
            parts.append(f"```{block.language}\n{block.text}\n```")
        elif isinstance(block, Table):
            parts.append(md_table(block.header, block.rows, right=block.numeric))
        elif isinstance(block, Figure):
            number += 1
            parts.append(f"![{block.alt}]({block.link})")
            parts.append(f"**Figure {number}.** {block.caption.finding} {block.caption.note}")
        elif isinstance(block, Details):
            parts.append(f"<details><summary>{block.summary}</summary>\n\n```yaml\n{block.text.rstrip()}\n```\n\n"
                         "</details>")
    parts.append(f"---\n{doc.footer}")
    return "\n\n".join(parts) + "\n"
