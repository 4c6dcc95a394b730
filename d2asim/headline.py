"""The human-readable tables printed by ``d2asim run`` and ``d2asim compare`` (labels,
units and decimals from :mod:`d2asim.metrics.registry`)."""

from __future__ import annotations

from typing import Any

import pandas as pd

from d2asim.experiments.compare import BED_DAYS_SAVED, COST_PER_BED_DAY_SAVED, system_rows
from d2asim.metrics.registry import COMPARE_KEYS, RUN_BREAKDOWNS, RUN_HEADLINE, describe
from d2asim.metrics.stability import warning_lines


def headline_keys(metrics: dict[str, Any]) -> list[str]:
    """The summary.json keys shown, in order: the headline metrics present, then each
    breakdown's members (``service_utilisation_pct.p1``)."""
    keys = [key for key in RUN_HEADLINE if key in metrics]
    for key in RUN_BREAKDOWNS:
        keys += [f"{key}.{sub}" for sub in metrics.get(key, {})]
    return keys


def metric_entry(metrics: dict[str, Any], key: str) -> dict[str, Any]:
    """``{mean, ci_low, ci_high}`` of a key or family member of summary.json's metrics."""
    head, _, tail = key.partition(".")
    entry: dict[str, Any] = metrics[head][tail] if tail else metrics[head]
    return entry


def headline_rows(metrics: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    """(label, mean, 95% CI, unit) rows for the metrics present."""
    rows = []
    for key in headline_keys(metrics):
        m, e = describe(key), metric_entry(metrics, key)
        rows.append((m.label, m.text(e["mean"]), f"{m.text(e['ci_low'])} to {m.text(e['ci_high'])}", m.unit))
    return rows


def headline_text(doc: dict[str, Any]) -> str:
    """A fixed-width table of the headline metrics with 95% confidence intervals, any
    warnings (queues growing) first and how waits are counted last."""
    rows = headline_rows(doc["metrics"])
    header = ("Metric", "Mean", "95% CI", "Unit")
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(4)]
    lines = [
        *warning_lines(doc.get("warnings", [])),
        f"Scenario {doc['scenario']!r}: {doc['replications']} replications, seed {doc['seed']}, "
        f"{doc['period']['duration_days']} days from {doc['period']['start_date']} "
        f"(after {doc['period']['warmup_days']} warm-up days)",
        "  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)),
        "  ".join("-" * w for w in widths),
    ]
    for label, mean, ci, unit in rows:
        lines.append(f"{label.ljust(widths[0])}  {mean.rjust(widths[1])}  {ci.rjust(widths[2])}  {unit}")
    if "waits" in doc:
        lines.append(f"Note: {doc['waits']}.")
    return "\n".join(lines)


def distinguishable_words(distinguishable: bool) -> str:
    """Whether a paired 95% CI excludes zero, in words."""
    return "distinguishable from zero" if distinguishable else "not distinguishable from zero"


def _in_sentence(label: str) -> str:
    """'Delayed bed days' -> 'delayed bed days'; an acronym ('DTOC rate') stays."""
    return label if label[1:2].isupper() else label[:1].lower() + label[1:]


BED_DAY_NOTE = ("(*) acute bed days avoided are valued at the scenario's bed-day cost; that value is "
                "cash-releasing only if beds close")
IS_A_DIFFERENCE = (BED_DAYS_SAVED, COST_PER_BED_DAY_SAVED)  # comparison metrics that are not a change of a level


def comparison_text(table: pd.DataFrame, replications: int, seed: int) -> str:
    """Per option: the headline differences with paired 95% CIs, and whether each
    is distinguishable from zero."""
    lines = [f"Paired comparison on common random numbers: {replications} replications, seed {seed}"]
    for option, rows in system_rows(table).groupby("option", sort=False):
        lines.append(f"\n{option} vs baseline")
        by_metric = rows.set_index("metric")
        for key in COMPARE_KEYS:
            if key not in by_metric.index:
                continue
            r, m = by_metric.loc[key], describe(key)
            label = m.label if key in IS_A_DIFFERENCE else f"Change in {_in_sentence(m.label)}"
            if pd.isna(r["ci_low"]):
                lines.append(f"  {label:58s} not estimable: bed days saved not distinguishable from zero")
                continue
            verdict = distinguishable_words(bool(r["distinguishable"]))
            lines.append(f"  {label:58s} {m.text(r['difference'], signed=True):>12}  (95% CI "
                         f"{m.text(r['ci_low'], True)} to {m.text(r['ci_high'], True)}) {m.unit}; {verdict}")
    if "acute_bed_days_cost_gbp" in set(table["metric"]):
        lines.append(f"\n{BED_DAY_NOTE}")
    return "\n".join(lines)
