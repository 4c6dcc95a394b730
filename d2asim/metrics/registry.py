"""The one table of metrics: what each summary.json / comparison.csv / sweep.csv key
means in words, its unit, how many decimals to show and how to show it.

The terminal (``d2asim run``/``compare``), the reports, ``tables.xlsx`` and the app
all read it, so a metric is named and rounded the same way everywhere. Metrics
holding one value per pathway, service, reason, organisation or delay band
(``delayed_bed_days_by_pathway``) are *families*: their label has a ``{}`` for the
member (``delayed_bed_days_by_pathway.P1`` -> "Delayed bed days, P1").
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Literal

DASH = "–"  # shown for a missing value
Display = Literal["number", "percent", "gbp", "hours", "days", "beds", "patients", "bed_days", "rate"]


@dataclass(frozen=True)
class Metric:
    """One metric: ``label`` in plain words, ``unit`` as shown beside a number,
    ``decimals`` shown, ``can_be_negative`` (a level; a difference always can)."""

    key: str
    label: str
    unit: str
    display: Display
    decimals: int
    can_be_negative: bool = False

    def text(self, value: float | None, signed: bool = False) -> str:
        """``value`` with thousands separators and this metric's decimals."""
        return fmt(value, self.decimals, signed)

    def header(self) -> str:
        """A column header with the unit: 'Delayed bed days (bed days)'."""
        return f"{self.label} ({self.unit})" if self.unit else self.label

    def excel_format(self) -> str:
        """An Excel number format with this metric's decimals ('#,##0.0')."""
        return "#,##0" + ("." + "0" * self.decimals if self.decimals else "")


def fmt(x: float | None, decimals: int, signed: bool = False) -> str:
    """``x`` with thousands separators; ``signed``: '+' before positive values."""
    if x is None or math.isnan(float(x)):
        return DASH
    text = f"{float(x):,.{decimals}f}"
    if text.lstrip("-").strip("0.,") == "":  # rounds to zero: no sign
        return f"{0:.{decimals}f}"
    return f"+{text}" if signed and x > 0 else text


def fmt_row(values: Sequence[float | None], decimals: int, signed: Sequence[bool] | None = None) -> list[str]:
    """Each of ``values`` with one metric's ``decimals`` (``signed`` per value), so a
    row of a mean and its CI never mixes '613.1' with '2,694'."""
    flags = signed or [False] * len(values)
    return [fmt(v, decimals, s) for v, s in zip(values, flags, strict=True)]


def _m(key: str, label: str, unit: str, display: Display, decimals: int, can_be_negative: bool = False) -> Metric:
    return Metric(key, label, unit, display, decimals, can_be_negative)


_TABLE: tuple[Metric, ...] = (
    _m("acute_occupancy_mean", "Acute beds occupied (mean)", "beds", "beds", 1),
    _m("acute_occupancy_pct", "Acute bed occupancy", "%", "percent", 1),
    _m("acute_occupancy_p95", "Acute beds occupied (95th percentile of days)", "beds", "beds", 1),
    _m("pct_days_occupancy_above_92", "Days above 92% occupancy", "% of days", "percent", 1),
    _m("pct_days_occupancy_above_95", "Days above 95% occupancy", "% of days", "percent", 1),
    _m("acute_bed_days", "Acute bed days", "bed days", "bed_days", 0),
    _m("bed_days_saved", "Acute bed days saved", "bed days", "bed_days", 0, can_be_negative=True),
    _m("admission_queue_mean", "Patients waiting for an acute bed (mean)", "patients", "patients", 1),
    _m("admissions", "Admissions", "patients", "patients", 0),
    _m("admission_wait_mean_hours", "Wait for an acute bed (mean)", "hours", "hours", 2),
    _m("admission_wait_p95_hours", "Wait for an acute bed (95th percentile)", "hours", "hours", 1),
    _m("admissions_waiting_over_4h", "Admissions waiting over 4 hours", "patients", "patients", 0),
    _m("admissions_waiting_over_12h", "Admissions waiting over 12 hours", "patients", "patients", 0),
    _m("still_waiting_for_bed_at_end", "Still waiting for an acute bed at the end", "patients", "patients", 0),
    _m("deaths_in_hospital", "Deaths in hospital", "patients", "patients", 0),
    _m("discharges", "Discharges alive", "patients", "patients", 0),
    _m("pct_discharges_delayed", "Discharges delayed 1+ days after ready", "%", "percent", 1),
    _m("delayed_bed_days", "Delayed bed days", "bed days", "bed_days", 0),
    _m("delayed_bed_days_acute", "Delayed bed days in acute beds", "bed days", "bed_days", 0),
    _m("delayed_bed_days_non_acute", "Delayed bed days in non-acute beds", "bed days", "bed_days", 0),
    _m("dtoc_beds_per_day", "DTOC beds (delayed patients per day)", "beds", "beds", 1),
    _m("dtoc_rate_per_100k_adults", "DTOC rate per 100,000 adults", "beds per 100,000 adults", "rate", 2),
    _m("pct_65plus_at_home_91_days_after_reablement", "65+ at home 91 days after reablement", "%", "percent", 1),
    _m("care_home_admissions_65plus", "Care-home admissions 65+", "patients", "patients", 0),
    _m("care_home_admissions_65plus_per_100k_per_year", "Care-home admissions 65+ per 100,000",
       "per 100,000 a year", "rate", 1),
    _m("cost_total_gbp", "Cost of acute and community care (occupied days)", "GBP", "gbp", 0),
    _m("commissioning_cost_gbp", "Commissioning cost (block contracts, used or not)", "GBP", "gbp", 0),
    _m("spot_cost_gbp", "Spot-purchase cost (occupied days)", "GBP", "gbp", 0),
    _m("acute_bed_days_cost_gbp", "Value of acute bed days (cash only if beds close)", "GBP", "gbp", 0),
    _m("commissioning_and_spot_cost_gbp", "Commissioning and spot-purchase cost", "GBP", "gbp", 0),
    _m("net_cost_gbp", "Net cost (commissioning + spot + value of acute bed days)", "GBP", "gbp", 0),
    _m("cost_per_bed_day_saved_gbp", "Extra commissioning and spot cost per acute bed day saved", "GBP a bed day",
       "gbp", 0, can_be_negative=True),
    # families: one value per member (the {} in the label)
    _m("delay_band_pct", "Discharges delayed {} days", "%", "percent", 1),
    _m("discharges_by_pathway", "Discharges alive, {}", "patients", "patients", 0),
    _m("delay_mean_days_by_pathway", "Delay after ready (mean), {}", "days", "days", 2),
    _m("delay_p90_days_by_pathway", "Delay after ready (90th percentile), {}", "days", "days", 1),
    _m("delayed_bed_days_by_pathway", "Delayed bed days, {}", "bed days", "bed_days", 0),
    _m("delayed_bed_days_by_reason", "Delayed bed days, reason {}", "bed days", "bed_days", 0),
    _m("delayed_bed_days_by_org", "Delayed bed days, {}", "bed days", "bed_days", 0),
    _m("delayed_bed_days_by_ready_weekday", "Delayed bed days, ready on {}", "bed days", "bed_days", 0),
    _m("service_occupancy_mean", "Places occupied (mean), {}", "places", "beds", 1),
    _m("service_bed_days", "Occupied days, {}", "days", "days", 0),
    _m("service_utilisation_pct", "Utilisation, {}", "%", "percent", 1),
    _m("service_waiting_mean", "Patients waiting for a place (mean), {}", "patients", "patients", 1),
    _m("service_wait_mean_days", "Wait for a place, {}", "days", "days", 2),
    _m("service_starts", "Starts, {}", "patients", "patients", 0),
    _m("service_still_waiting_at_end", "Still waiting for a place at the end, {}", "patients", "patients", 0),
    _m("cost_gbp", "Cost, {}", "GBP", "gbp", 0),
    _m("commissioning_cost_gbp_by_service", "Commissioning cost, {}", "GBP", "gbp", 0),
)
METRICS: dict[str, Metric] = {m.key: m for m in _TABLE}

# What each view shows, in order (keys of METRICS; families expand to their members)
RUN_HEADLINE = (
    "acute_occupancy_mean", "acute_occupancy_pct", "pct_days_occupancy_above_92", "acute_bed_days",
    "admission_wait_mean_hours", "admission_wait_p95_hours", "admissions_waiting_over_12h",
    "still_waiting_for_bed_at_end", "discharges",
    "delayed_bed_days", "delayed_bed_days_acute", "dtoc_beds_per_day", "dtoc_rate_per_100k_adults",
    "pct_discharges_delayed", "pct_65plus_at_home_91_days_after_reablement",
    "care_home_admissions_65plus_per_100k_per_year", "commissioning_cost_gbp", "spot_cost_gbp",
    "acute_bed_days_cost_gbp",
)  # fmt: skip
RUN_BREAKDOWNS = ("delayed_bed_days_by_pathway", "service_utilisation_pct", "service_wait_mean_days")
COMPARE_KEYS = (
    "bed_days_saved", "delayed_bed_days", "dtoc_rate_per_100k_adults", "admission_wait_mean_hours",
    "commissioning_cost_gbp", "spot_cost_gbp", "cost_per_bed_day_saved_gbp", "acute_bed_days_cost_gbp",
    "net_cost_gbp",
)  # fmt: skip
SWEEP_KEYS = (
    "acute_occupancy_mean", "acute_bed_days", "admission_wait_mean_hours", "delayed_bed_days",
    "dtoc_beds_per_day", "dtoc_rate_per_100k_adults", "pct_discharges_delayed", "cost_total_gbp",
)  # fmt: skip


def describe(key: str) -> Metric:
    """The metric of a key, a family member (``service_utilisation_pct.p1``) or an
    unknown key (its own name as label, no unit, 2 decimals)."""
    head, _, member = key.partition(".")
    base = METRICS.get(head)
    if base is None:
        return Metric(key, key, "", "number", 2, can_be_negative=True)
    if not member:
        return base
    label = base.label.format(member) if "{}" in base.label else f"{base.label}, {member}"
    return replace(base, key=key, label=label)


def is_family(key: str) -> bool:
    return "{}" in METRICS[key].label if key in METRICS else False
