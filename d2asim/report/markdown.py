"""report.md: the same tables, captions and text as report.html, for pasting into a
paper; charts are linked as relative ``charts/*.png`` files."""

from __future__ import annotations

from d2asim.report.content import CHARTS_DIR, Report
from d2asim.report.warnings import warnings_md


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def md_table(header: list[str], rows: list[list[str]], right: set[int] | None = None) -> str:
    """A GitHub/pandoc pipe table; columns in ``right`` are right-aligned."""
    right = right or set()
    align = ["---:" if i in right else "---" for i in range(len(header))]
    lines = ["| " + " | ".join(header) + " |", "| " + " | ".join(align) + " |"]
    lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def headline_md(report: Report) -> str:
    rows = [[("&nbsp;&nbsp;" if r.label.startswith(" ") else "") + r.label.strip(), r.mean_text, r.ci_text, r.unit]
            for r in report.headline]
    return md_table(["Result", "Mean", "95% CI", "Unit"], rows, right={1, 2})


def places_md(report: Report) -> list[str]:
    """Key results by trust and by borough (system form; nothing otherwise)."""
    if not report.places:
        return []
    rows = [[p.place, p.row.label.strip(), p.row.mean_text, p.row.ci_text, p.row.unit] for p in report.places]
    return ["### By trust and by borough",
            "A trust's results are its own patients'; a borough's are its residents' in any trust or service.",
            md_table(["Trust or borough", "Result", "Mean", "95% CI", "Unit"], rows, right={2, 3})]


def inputs_md(report: Report) -> str:
    return md_table(["Area", "Input", "Value"], [list(r) for r in report.inputs])


def render_markdown(report: Report) -> str:
    """The complete report.md text."""
    s = report.run.summary
    parts = [
        f"# {report.title}",
        f"{s['replications']} replications · seed {s['seed']} · d2asim {s['d2asim_version']} · "
        f"run {report.run.run_date}",
        *([warnings_md(report.warnings())] if report.warnings() else []),
        "\n".join(f"- {f}" for f in report.findings()),
        "## 1. What was run",
        inputs_md(report),
        "## 2. Headline results",
        f"Means over {s['replications']} replications of the reported period, with 95% confidence intervals.",
        headline_md(report),
        *places_md(report),
        "## 3. Charts",
    ]
    for i, chart in enumerate(report.charts, start=1):
        parts.append(f"![{chart.alt}]({CHARTS_DIR}/{chart.stem}.png)")
        parts.append(f"**Figure {i}.** {chart.caption.finding} {chart.caption.note}")
    parts += [f"Not shown: {note}" for note in report.skipped]
    parts.append("## 4. Method and assumptions")
    parts += [p for p in report.method() if p]
    parts += [
        "## 5. How to reproduce",
        "From the run folder (it holds the resolved `scenario.yaml`):",
        f"```bash\n{report.reproduce_command()}\n```",
        f"Rebuild this report with `{report.report_command()}`.",
        f"---\n{report.run.footer()}",
    ]
    return "\n\n".join(parts) + "\n"
