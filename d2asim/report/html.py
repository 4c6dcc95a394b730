"""report.html: one self-contained file (charts as base64 PNG data URIs, inline CSS,
no scripts, no external links) that a planner can email."""

from __future__ import annotations

import base64
from html import escape

from d2asim.report.content import Report, scenario_text
from d2asim.report.warnings import warnings_html

CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,Arial,sans-serif;color:#1a1a1a;
 max-width:960px;margin:0 auto;padding:24px 20px 48px;line-height:1.45;background:#fff}
h1{font-size:1.6em;margin:0 0 .2em}h2{font-size:1.25em;margin:1.8em 0 .5em;
 border-bottom:2px solid #0072B2;padding-bottom:.15em}
.meta{color:#555;margin:0 0 1em}
.findings{background:#f3f7fb;border-left:4px solid #0072B2;padding:.6em 1em .6em 1.8em;margin:1em 0}
.findings li{margin:.25em 0}
.warnings{background:#fdf0e6;border-left:4px solid #D55E00;padding:.6em 1em;margin:1em 0}
table{border-collapse:collapse;width:100%;font-size:.92em;margin:.5em 0 1em}
th,td{border-bottom:1px solid #ddd;padding:.35em .6em;text-align:left;vertical-align:top}
th{background:#f2f2f2;font-weight:600}
td.num,th.num{text-align:right;white-space:nowrap;font-variant-numeric:tabular-nums}
td.section{font-weight:600;color:#444;white-space:nowrap}
tr.sub td:first-child{padding-left:1.8em;color:#444}
figure{margin:1.2em 0 1.8em}figure img{width:100%;height:auto;border:1px solid #e5e5e5}
figcaption{font-size:.95em;margin-top:.4em}figcaption .note{color:#555}
code{white-space:nowrap}
code,pre{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:.9em}
pre{background:#f6f6f6;padding:.7em 1em;overflow-x:auto;border:1px solid #e5e5e5}
details summary{cursor:pointer;color:#0072B2}
footer{margin-top:2.5em;color:#666;font-size:.85em;border-top:1px solid #ddd;padding-top:.6em}
@media print{body{max-width:none;padding:0}figure{break-inside:avoid}h2{break-after:avoid}}
"""


def _data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def _inputs(report: Report) -> str:
    rows, last = [], None
    for section, name, value in report.inputs:
        shown = escape(section) if section != last else ""
        last = section
        rows.append(f"<tr><td class=section>{shown}</td><td>{escape(name)}</td><td>{escape(value)}</td></tr>")
    return ("<table class=inputs><thead><tr><th>Area</th><th>Input</th><th>Value</th></tr></thead><tbody>"
            + "".join(rows) + "</tbody></table>")


def _headline(report: Report) -> str:
    rows = []
    for r in report.headline:
        cls = " class=sub" if r.label.startswith(" ") else ""
        rows.append(f"<tr{cls} data-metric=\"{escape(r.metric)}\"><td>{escape(r.label.strip())}</td>"
                    f"<td class=num>{escape(r.mean_text)}</td><td class=num>{escape(r.ci_text)}</td>"
                    f"<td>{escape(r.unit)}</td></tr>")
    return ("<table class=headline><thead><tr><th>Result</th><th class=num>Mean</th>"
            "<th class=num>95% confidence interval</th><th>Unit</th></tr></thead><tbody>"
            + "".join(rows) + "</tbody></table>")


def _places(report: Report) -> str:
    """Key results by trust and by borough (system form; empty otherwise)."""
    if not report.places:
        return ""
    rows, last = [], None
    for p in report.places:
        shown = escape(p.place) if p.scope != last else ""
        last = p.scope
        r = p.row
        rows.append(f"<tr data-metric=\"{escape(p.scope)}|{escape(r.metric)}\"><td class=section>{shown}</td>"
                    f"<td>{escape(r.label.strip())}</td><td class=num>{escape(r.mean_text)}</td>"
                    f"<td class=num>{escape(r.ci_text)}</td><td>{escape(r.unit)}</td></tr>")
    return ("<h3>By trust and by borough</h3><p>A trust's results are its own patients'; a borough's are its "
            "residents' in any trust or service.</p><table class=headline><thead><tr><th>Trust or borough</th>"
            "<th>Result</th><th class=num>Mean</th><th class=num>95% confidence interval</th><th>Unit</th></tr>"
            "</thead><tbody>" + "".join(rows) + "</tbody></table>")


def _figures(report: Report) -> str:
    parts = []
    for i, chart in enumerate(report.charts, start=1):
        uri = _data_uri(chart.png.read_bytes())
        parts.append(
            f"<figure id=\"{chart.stem}\"><img src=\"{uri}\" alt=\"{escape(chart.alt)}\">"
            f"<figcaption><strong>Figure {i}.</strong> {escape(chart.caption.finding)} "
            f"<span class=note>{escape(chart.caption.note)}</span></figcaption></figure>")
    for note in report.skipped:
        parts.append(f"<p class=meta>Not shown: {escape(note)}</p>")
    return "".join(parts)


def render_html(report: Report) -> str:
    """The complete report.html text."""
    s = report.run.summary
    meta = (f"{s['replications']} replications · seed {s['seed']} · d2asim {s['d2asim_version']} · "
            f"run {report.run.run_date}")
    findings = "".join(f"<li>{escape(f)}</li>" for f in report.findings())
    method = "".join(f"<p>{escape(p)}</p>" for p in report.method() if p)
    body = f"""
<h1>{escape(report.title)}</h1>
<p class=meta>{escape(meta)}</p>
{warnings_html(report.warnings())}
<ul class=findings>{findings}</ul>
<h2>1. What was run</h2>
{_inputs(report)}
<h2>2. Headline results</h2>
<p>Means over {s['replications']} replications of the reported period, with 95% confidence intervals.</p>
{_headline(report)}
{_places(report)}
<h2>3. Charts</h2>
{_figures(report)}
<h2>4. Method and assumptions</h2>
{method}
<h2>5. How to reproduce</h2>
<p>Install d2asim {escape(str(s['d2asim_version']))}, save the scenario below as <code>scenario.yaml</code>
(it is also in the run folder) and run:</p>
<pre>{escape(report.reproduce_command())}</pre>
<p>The same scenario and seed give identical results. Rebuild this report from the run folder with
<code>{escape(report.report_command())}</code>.</p>
<details><summary>Scenario file (scenario.yaml, every default filled in)</summary>
<pre>{escape(scenario_text(report.run))}</pre></details>
<footer>{escape(report.run.footer())}</footer>
"""
    return (f"<!DOCTYPE html>\n<html lang=\"en-GB\"><head><meta charset=\"utf-8\">"
            f"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            f"<title>{escape(report.title)}</title><style>{CSS}</style></head><body>{body}</body></html>\n")
