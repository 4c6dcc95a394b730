"""Warnings shown at the top of every report: queues that grew over the reported
period (``warnings`` in each summary.json, see :mod:`d2asim.metrics.stability`)."""

from __future__ import annotations

from collections.abc import Iterable
from html import escape
from typing import Any


def summary_warnings(summaries: Iterable[dict[str, Any]], named: bool = False) -> list[str]:
    """The warning messages of one or more run summaries (``named``: prefixed with the
    scenario, for comparisons and sweeps)."""
    return [f"{s['scenario']}: {w['message']}" if named else w["message"]
            for s in summaries for w in s.get("warnings") or []]


def warnings_html(messages: list[str]) -> str:
    if not messages:
        return ""
    items = "".join(f"<li>{escape(m)}</li>" for m in messages)
    return f"<div class=warnings role=alert><strong>Warning</strong><ul>{items}</ul></div>"


def warnings_md(messages: list[str]) -> str:
    return "\n".join(f"> **Warning:** {m}" for m in messages)
