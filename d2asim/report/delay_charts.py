"""Delayed bed days per month (monthly_delays.csv, mean over replications), stacked
by pathway, and by DTOC reason code with the responsible organisation. Units: bed days."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.axes import Axes

from d2asim.report import style
from d2asim.report.data import RunData, mean_by_category, run_scenario
from d2asim.scenario.errors import ScenarioError
from d2asim.scenario.schema import PATHWAYS
from d2asim.system.registry import registry_of

# NHS England DTOC SitRep reason codes, in plain words (long for text, short for legends).
REASON_WORDS = {
    "A": ("completion of assessment", "assessment"),
    "B": ("public funding", "public funding"),
    "C": ("further non-acute NHS care", "non-acute NHS care"),
    "Di": ("residential home placement", "residential home"),
    "Dii": ("nursing home placement", "nursing home"),
    "E": ("care package in own home", "home care package"),
    "F": ("community equipment or adaptations", "equipment"),
    "G": ("patient or family choice", "patient choice"),
    "H": ("disputes", "disputes"),
    "I": ("housing", "housing"),
    "O": ("other", "other"),
}
ORG_ORDER = ("nhs", "social_care", "both")
ORG_SHORT = {"nhs": "NHS", "social_care": "social care", "both": "both", "mixed": "mixed"}


def months(run: RunData) -> list[str]:
    """Months of the reported period, ``YYYY-MM``, in order."""
    return sorted(set(run.monthly["month"]) | set(run.monthly_delays["month"]))


def delays_by(run: RunData, dimension: str) -> pd.DataFrame:
    """Months x values table of mean delayed bed days (``dimension``: pathway, reason, org)."""
    return mean_by_category(run.monthly_delays, dimension, run.replication_ids, months(run))


def reason_orgs(run: RunData) -> dict[str, str]:
    """Reason code -> responsible organisation, as the run attributed delays (every
    borough, cause and pathway of its registry: own settings, delay_reasons and service
    kinds' defaults); 'mixed' when causes sharing a code go to different organisations.
    A saved scenario that no longer loads falls back to its delay_reasons block."""
    found: dict[str, set[str]] = {}
    try:
        registry = registry_of(run_scenario(run))
    except ScenarioError:
        for spec in (run.scenario.get("delay_reasons") or {}).values():
            found.setdefault(str(spec["reason"]), set()).add(str(spec["org"]))
    else:
        for b in registry.boroughs:
            for cause in range(len(registry.causes)):
                for pathway in range(len(PATHWAYS)):
                    attribution = registry.reason_of(b.code, cause, pathway)
                    found.setdefault(attribution.reason, set()).add(attribution.org)
    return {code: orgs.pop() if len(orgs) == 1 else "mixed" for code, orgs in found.items()}


def _stack(ax: Axes, table: pd.DataFrame, looks: list[dict[str, str]], labels: list[str]) -> None:
    x = np.arange(len(table))
    bottom = np.zeros(len(table))
    for column, look, label in zip(table.columns, looks, labels, strict=True):
        values = table[column].to_numpy(dtype=float)
        ax.bar(x, values, bottom=bottom, width=0.75, color=look["color"], hatch=look["hatch"],
               edgecolor="white", linewidth=0.6, label=label)
        bottom += values
    ax.set_ylim(0, max(float(bottom.max()) if len(table) else 0.0, 1.0) * 1.08)
    style.month_ticks(ax, list(table.index))
    ax.set_ylabel("Delayed bed days")
    if len(table.columns):
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), reverse=True)
    else:
        ax.text(0.5, 0.5, "No delayed bed days in this run", transform=ax.transAxes, ha="center",
                color=style.GREY)


def delays_by_pathway_chart(run: RunData, charts_dir: Path) -> Path:
    """Delayed bed days per month stacked by D2A pathway (bed days)."""
    table = delays_by(run, "pathway")
    table = table[[p for p in ("P0", "P1", "P2", "P3") if p in table.columns]
                  + [c for c in table.columns if c not in style.PATHWAY_STYLE]]
    looks = [dict(zip(("color", "hatch"), style.PATHWAY_STYLE[c], strict=True)) if c in style.PATHWAY_STYLE
             else style.bar_style(i) for i, c in enumerate(table.columns)]
    with style.chart(run.footer()) as (fig, (ax,)):
        _stack(ax, table, looks, [f"Pathway {c}" for c in table.columns])
        ax.set_xlabel("Month")
        ax.set_title("Delayed bed days each month, by discharge pathway")
        return style.save(fig, charts_dir, "delays_by_pathway")["png"]


def delays_by_reason_chart(run: RunData, charts_dir: Path) -> Path:
    """Two panels: delayed bed days per month by reason code (coloured by the responsible
    organisation, hatched by code) and by responsible organisation (bed days)."""
    reasons = delays_by(run, "reason")
    orgs_of = reason_orgs(run)
    rank = {org: i for i, org in enumerate((*ORG_ORDER, "mixed"))}
    reasons = reasons[sorted(reasons.columns, key=lambda c: (rank.get(orgs_of.get(str(c), "mixed"), 9), str(c)))]
    reason_looks: list[dict[str, str]] = []
    reason_labels: list[str] = []
    for i, code in enumerate(reasons.columns):  # colour = organisation, hatch = reason code
        org = orgs_of.get(code, "mixed")
        colour = style.ORG_STYLE[org][0] if org in style.ORG_STYLE else style.GREY
        reason_looks.append({"color": colour, "hatch": style.HATCHES[i % len(style.HATCHES)]})
        short = REASON_WORDS.get(code, (code, code))[1]
        reason_labels.append(f"{code}  {short} ({ORG_SHORT.get(org, org)})")
    orgs = delays_by(run, "org")
    orgs = orgs[[o for o in ORG_ORDER if o in orgs.columns] + [o for o in orgs.columns if o not in ORG_ORDER]]
    org_looks = [{"color": style.ORG_STYLE[o][0], "hatch": style.ORG_STYLE[o][1]} if o in style.ORG_STYLE
                 else style.bar_style(i) for i, o in enumerate(orgs.columns)]
    org_labels = [style.ORG_STYLE[o][2] if o in style.ORG_STYLE else o for o in orgs.columns]
    with style.chart(run.footer(), nrows=2, height_in=7.6, sharex=True) as (fig, (top, bottom)):
        _stack(top, reasons, reason_looks, reason_labels)
        top.set_title("Delayed bed days each month, by reason for the delay")
        top.tick_params(labelbottom=True)
        _stack(bottom, orgs, org_looks, org_labels)
        bottom.set_title("… and by the organisation responsible")
        bottom.set_xlabel("Month")
        return style.save(fig, charts_dir, "delays_by_reason")["png"]
