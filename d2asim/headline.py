"""The human-readable summary table printed by ``d2asim run``."""

from __future__ import annotations

from typing import Any

from d2asim.metrics.stability import warning_lines

# (metric key in summary.json, label, unit)
HEADLINE: tuple[tuple[str, str, str], ...] = (
    ("acute_occupancy_mean", "Acute beds occupied (mean)", "beds"),
    ("acute_occupancy_pct", "Acute bed occupancy", "%"),
    ("pct_days_occupancy_above_92", "Days above 92% occupancy", "% of days"),
    ("acute_bed_days", "Acute bed days", "bed days"),
    ("admission_wait_mean_hours", "Wait for an acute bed (mean)", "hours"),
    ("admission_wait_p95_hours", "Wait for an acute bed (95th percentile)", "hours"),
    ("admissions_waiting_over_12h", "Admissions waiting over 12 hours", "patients"),
    ("still_waiting_for_bed_at_end", "Still waiting for an acute bed at the end", "patients"),
    ("discharges", "Discharges alive", "patients"),
    ("delayed_bed_days", "Delayed bed days (DTOC)", "bed days"),
    ("delayed_bed_days_acute", "  of which in acute beds", "bed days"),
    ("dtoc_beds_per_day", "DTOC beds (delayed patients per day)", "beds"),
    ("dtoc_rate_per_100k_adults", "DTOC rate per 100,000 adults", "beds per 100k"),
    ("pct_discharges_delayed", "Discharges delayed 1+ days after ready", "%"),
    ("pct_65plus_at_home_91_days_after_reablement", "65+ at home 91 days after reablement", "%"),
    ("care_home_admissions_65plus_per_100k_per_year", "Care-home admissions 65+ per 100,000", "per year"),
    ("commissioning_cost_gbp", "Commissioning cost (block contracts, used or not)", "GBP"),
    ("spot_cost_gbp", "Spot-purchase cost (occupied days)", "GBP"),
    ("acute_bed_days_cost_gbp", "Value of acute bed days (cash only if beds close)", "GBP"),
)
BREAKDOWNS: tuple[tuple[str, str, str], ...] = (
    ("delayed_bed_days_by_pathway", "Delayed bed days, {}", "bed days"),
    ("service_utilisation_pct", "Utilisation, {}", "%"),
    ("service_wait_mean_days", "Wait for a place, {}", "days"),
)


def _fmt(x: float | None) -> str:
    if x is None:
        return "-"
    return f"{x:,.0f}" if abs(x) >= 1000 else f"{x:,.2f}" if abs(x) < 100 else f"{x:,.1f}"


def headline_rows(metrics: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    """(label, mean, 95% CI, unit) rows for the metrics present."""
    rows = []
    entries = [(key, label, unit) for key, label, unit in HEADLINE if key in metrics]
    for key, label, unit in BREAKDOWNS:
        for sub in metrics.get(key, {}):
            entries.append((f"{key}.{sub}", label.format(sub), unit))
    for key, label, unit in entries:
        head, _, tail = key.partition(".")
        e = metrics[head][tail] if tail else metrics[head]
        rows.append((label, _fmt(e["mean"]), f"{_fmt(e['ci_low'])} to {_fmt(e['ci_high'])}", unit))
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
