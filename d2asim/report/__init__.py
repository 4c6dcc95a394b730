"""Reports of a run, comparison or sweep folder: charts (PNG + SVG), report.html,
report.md and table CSVs.

This package's top level stays light (no matplotlib) so the CLI can import
:mod:`d2asim.report.command` cheaply; :func:`build_report` imports the rest on use.
"""

from __future__ import annotations

from pathlib import Path

from d2asim.report.target import DEFAULT_TARGET


def build_report(folder: Path, target: str | float | None = None) -> dict[str, Path]:
    """Write the report into ``folder``: a run, comparison or sweep folder (see
    :func:`d2asim.report.build.build_any`; ``target`` defaults to a DTOC rate of 9.4)."""
    from d2asim.report.build import build_any

    return build_any(Path(folder), target)


__all__ = ["DEFAULT_TARGET", "build_report"]
