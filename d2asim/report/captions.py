"""One-sentence chart captions that state the finding in numbers.

Headline numbers come from summary.json (the same values as the headline table);
counts of months come from the chart's own data. Each caption is a finding and a
note saying what the lines, bands and bars are.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

from d2asim.report.charts import in_sentence, service_label
from d2asim.report.delay_charts import ORG_ORDER, REASON_WORDS

ORG_WORDS = {"nhs": "the NHS", "social_care": "social care", "both": "the NHS and social care jointly"}


MIN_WAITING = 0.05  # people; fewer waiting on average is reported as "almost no one"


def _and(parts: list[str]) -> str:
    """'a', 'a and b', 'a, b and c'."""
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]


@dataclass(frozen=True)
class Caption:
    finding: str  # one sentence with the numbers
    note: str  # what is drawn (mean, band, bars)

    def text(self) -> str:
        return f"{self.finding} {self.note}"


def entry(metrics: dict[str, Any], key: str) -> dict[str, float] | None:
    """``{mean, ci_low, ci_high}`` of ``key`` (``a.b`` for breakdowns), None if absent or null."""
    head, _, tail = key.partition(".")
    node = metrics.get(head)
    if tail and isinstance(node, dict):
        node = node.get(tail)
    if not isinstance(node, dict) or node.get("mean") is None:
        return None
    return node


def num(x: float, decimals: int = 1) -> str:
    """A number with thousands separators and ``decimals`` decimals."""
    return f"{x:,.{decimals}f}"


def with_ci(e: dict[str, float], decimals: int = 1, suffix: str = "") -> str:
    """'95.0% (95% CI 94.7–95.4%)'."""
    if e["ci_low"] is None or e["ci_high"] is None or e["ci_low"] == e["ci_high"]:  # e.g. one replication
        return f"{num(e['mean'], decimals)}{suffix}"
    return (f"{num(e['mean'], decimals)}{suffix} (95% CI {num(e['ci_low'], decimals)}–"
            f"{num(e['ci_high'], decimals)}{suffix})")


def occupancy(metrics: dict[str, Any], beds: int, reps: int) -> Caption:
    pct = entry(metrics, "acute_occupancy_pct")
    finding = "Occupancy"
    if pct:
        ci = with_ci(pct, 1, "%").partition(" ")[2]  # '(95% CI 94.7–95.4%)' or '' for one replication
        finding = f"Occupancy averaged {num(pct['mean'], 1)}% of {beds:,} beds" + (f" {ci}" if ci else "")
    parts = [f"above {level}% on {num(e['mean'], 0)}% of days"
             for level in (92, 95) if (e := entry(metrics, f"pct_days_occupancy_above_{level}"))]
    finding += (", " + " and ".join(parts) if parts else "") + "."
    note = (f"Line: mean of {reps} replications; shading: per-day 95% t-interval of that mean "
            "(not the range of single days).")
    return Caption(finding, note)


def delays_by_pathway(metrics: dict[str, Any], reps: int) -> Caption:
    total = entry(metrics, "delayed_bed_days")
    finding = "No delayed bed days were recorded."
    if total and total["mean"] > 0:
        finding = f"Delayed bed days totalled {with_ci(total, 0)} over the period"
        shares = {p: e["mean"] / total["mean"] for p in ("P0", "P1", "P2", "P3")
                  if (e := entry(metrics, f"delayed_bed_days_by_pathway.{p}"))}
        if shares:
            top = max(shares, key=lambda p: shares[p])
            finding += f", {num(100 * shares[top], 0)}% of them on pathway {top}"
        finding += "."
    return Caption(finding, f"Bars: mean bed days per month over {reps} replications.")


def delays_by_reason(metrics: dict[str, Any], reps: int) -> Caption:
    total = entry(metrics, "delayed_bed_days")
    if not total or total["mean"] <= 0:
        return Caption("No delayed bed days were recorded.", "")
    orgs = {o: e["mean"] for o in ORG_ORDER if (e := entry(metrics, f"delayed_bed_days_by_org.{o}"))}
    ranked = sorted(orgs, key=lambda o: -orgs[o])
    shares = [f"{num(100 * orgs[o] / total['mean'], 0)}% {'were attributed ' if i == 0 else ''}to {ORG_WORDS[o]}"
              for i, o in enumerate(ranked)]
    finding = ("Of all delayed bed days, " + _and(shares)) if shares else "Delayed bed days were recorded"
    reasons = {c: e["mean"] for c in metrics.get("delayed_bed_days_by_reason", {})
               if (e := entry(metrics, f"delayed_bed_days_by_reason.{c}"))}
    if reasons:
        top = max(reasons, key=lambda c: reasons[c])
        words = REASON_WORDS.get(top, (top, top))[0]
        finding += f"; the largest reason was {top}, {words} ({num(reasons[top], 0)} bed days)"
    return Caption(finding + ".", f"Bars: mean bed days per month over {reps} replications.")


def dtoc_rate(metrics: dict[str, Any], monthly: pd.DataFrame, target: float, reps: int) -> Caption:
    rate = entry(metrics, "dtoc_rate_per_100k_adults")
    above = int((monthly["mean"] > target).sum())
    finding = (f"The DTOC rate averaged {with_ci(rate, 1)} delayed patients per 100,000 adults a day, "
               if rate else "")
    finding += f"above the target of {target:g} in {above} of {len(monthly)} months."
    finding = finding[:1].upper() + finding[1:]
    note = f"Points: monthly mean of {reps} replications; bars: 95% t-interval of that mean."
    return Caption(finding, note)


def queues(metrics: dict[str, Any], scenario: dict[str, Any], services: list[str], reps: int) -> Caption:
    parts: list[str] = []
    few: list[str] = []
    for s in services:
        people = entry(metrics, f"service_waiting_mean.{s}")
        wait = entry(metrics, f"service_wait_mean_days.{s}")
        if people is None:
            continue
        label = in_sentence(service_label(scenario, s))
        if people["mean"] < MIN_WAITING:
            few.append(label)
            continue
        who = "people waited for " if not parts else "for "
        text = f"{num(people['mean'], 1)} {who}{label}"
        parts.append(text + (f", mean wait {num(wait['mean'], 2 if wait['mean'] < 0.1 else 1)} days" if wait else ""))
    if few:
        parts.append(f"{'and ' if parts else ''}almost no one (under {MIN_WAITING:g}) for {_and(few)}")
    finding = ("On an average day " + "; ".join(parts) + ".") if parts else "No one waited for a place."
    note = f"Lines: mean of {reps} replications; shading: per-day 95% t-interval of that mean."
    return Caption(finding, note)


def _by_place(summary: dict[str, Any], group: str, key: str) -> dict[str, dict[str, float]]:
    """``{place: {mean, ci_low, ci_high}}`` of ``key`` in summary.json's ``group`` (by_trust, by_borough)."""
    found = {}
    for place, metrics in (summary.get(group) or {}).items():
        e = entry(metrics, key)
        if e is not None:
            found[place] = e
    return found


def trust_occupancy(summary: dict[str, Any], reps: int) -> Caption:
    pct = _by_place(summary, "by_trust", "acute_occupancy_pct")
    parts = [f"{with_ci(e, 1, '%')} at {place}" for place, e in pct.items()]
    finding = ("Occupancy averaged " + _and(parts) + ".") if parts else "Occupancy of each trust."
    note = (f"One panel per trust. Line: mean of {reps} replications; shading: per-day 95% t-interval of that "
            "mean.")
    return Caption(finding, note)


def borough_dtoc(summary: dict[str, Any], target: float, reps: int) -> Caption:
    rates = _by_place(summary, "by_borough", "dtoc_rate_per_100k_adults")
    parts = [f"{with_ci(e, 1)} in {place}" for place, e in rates.items()]
    above = [place for place, e in rates.items() if e["mean"] > target]
    finding = "The DTOC rate of residents averaged " + _and(parts) + " delayed patients per 100,000 adults a day"
    finding += (f"; above the target of {target:g} in {_and(above)}." if above
                else f"; every borough was within the target of {target:g}.")
    note = (f"One panel per borough, on one scale: residents' delays in any trust or service that counts as DTOC. "
            f"Points: monthly mean of {reps} replications; bars: 95% t-interval of that mean.")
    return Caption(finding, note)


def borough_reasons(reasons: dict[str, dict[str, dict[str, float]]], reps: int) -> Caption:
    parts = []
    for place, found in reasons.items():
        if found:
            top = max(found, key=lambda c: found[c]["mean"])
            parts.append(f"{top} ({REASON_WORDS.get(top, (top, top))[0]}, {num(found[top]['mean'], 0)} bed days) "
                         f"in {place}")
    finding = ("The largest reason for delay was " + _and(parts) + ".") if parts else "No delayed bed days."
    note = (f"One panel per borough, on one scale. Bars: mean delayed bed days of the borough's residents over the "
            f"period, {reps} replications; whiskers: 95% CI.")
    return Caption(finding, note)
