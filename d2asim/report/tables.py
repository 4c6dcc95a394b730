"""The report's tables: headline results (from summary.json via d2asim.headline) and
the key scenario inputs in plain words (from the resolved scenario.yaml)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import pandas as pd

from d2asim.headline import headline_keys, headline_rows, metric_entry
from d2asim.report.charts import in_sentence, service_label
from d2asim.report.data import acute_blocks
from d2asim.scenario.schedule import describe, scaled


@dataclass(frozen=True)
class HeadlineRow:
    """One headline metric: the shown text (as ``d2asim run`` prints it) and the raw
    summary.json values (units in ``unit``)."""

    metric: str
    label: str
    unit: str
    mean: float | None
    ci_low: float | None
    ci_high: float | None
    mean_text: str
    ci_text: str


def headline_table(metrics: dict[str, Any]) -> list[HeadlineRow]:
    """Headline rows with their summary.json keys and raw values."""
    shown = headline_rows(metrics)
    rows = []
    for key, (label, mean_text, ci_text, unit) in zip(headline_keys(metrics), shown, strict=True):
        entry = metric_entry(metrics, key)
        rows.append(HeadlineRow(key, label, unit, entry["mean"], entry["ci_low"], entry["ci_high"],
                                mean_text, ci_text))
    return rows


def headline_frame(rows: list[HeadlineRow]) -> pd.DataFrame:
    """headline.csv: raw values (as in summary.json) and the text shown in the report."""
    frame = pd.DataFrame([asdict(r) for r in rows])
    frame["label"] = frame["label"].str.strip()
    return frame


def describe_distribution(spec: Any, unit: str = "days") -> str:
    """A duration distribution in plain words, e.g. 'lognormal, mean 6 days (sd 5)'."""
    if not isinstance(spec, dict):
        return str(spec)
    kind = spec.get("type", "?")
    if kind == "fixed":
        return f"fixed, {_n(spec.get('value'))} {unit}"
    if kind == "exponential":
        return f"exponential, mean {_n(spec.get('mean'))} {unit}"
    if kind == "empirical":
        values = spec.get("values") or []
        mean = f", mean {_n(sum(values) / len(values))} {unit}" if values else ""
        return f"empirical, {len(values)} observed values{mean}"
    if "mean" in spec and "sd" in spec:
        return f"{kind}, mean {_n(spec['mean'])} {unit} (sd {_n(spec['sd'])})"
    if "mean" in spec and "median" in spec:
        return f"{kind}, median {_n(spec['median'])}, mean {_n(spec['mean'])} {unit}"
    params = ", ".join(f"{k} {_n(v)}" for k, v in spec.items() if k != "type")
    return f"{kind} ({params})"


def _n(x: Any) -> str:
    if isinstance(x, (int, float)):
        return f"{x:,.0f}" if float(x).is_integer() else f"{x:,.3g}" if abs(x) < 10 else f"{x:,.1f}"
    return str(x)


def _first_upper(text: str) -> str:
    return text[:1].upper() + text[1:]


def _pct(x: float) -> str:
    """A share (0-1) as a percentage, without a needless decimal."""
    value = round(100 * float(x), 6)
    return f"{value:.0f}%" if value.is_integer() else f"{value:.1f}%"


def inputs_table(scenario: dict[str, Any], summary: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(section, input, value) rows describing what was run, in plain words."""
    period = summary["period"]
    start = pd.Timestamp(period["start_date"])
    end = start + pd.Timedelta(days=int(period["duration_days"]) - 1)
    rows: list[tuple[str, str, str]] = [
        ("Run", "Scenario", f"{scenario.get('name', summary['scenario'])}"
         + (f": {scenario['description']}" if scenario.get("description") else "")),
        ("Run", "Reported period", f"{start:%d %b %Y} to {end:%d %b %Y} ({period['duration_days']} days), "
         f"after {period['warmup_days']} warm-up days that are not reported"),
        ("Run", "Replications", str(summary["replications"])),
        ("Run", "Random seed", str(summary["seed"])),
    ]
    populations = {"": scenario.get("population") or {}}
    if isinstance(scenario.get("boroughs"), dict):
        populations = {name: b.get("population") or {} for name, b in scenario["boroughs"].items()}
    for borough, population in populations.items():
        for key, words in (("adults_18plus", "Adults (18+) served"), ("aged_65plus", "People aged 65+ served")):
            if population.get(key):
                rows.append(("Population", f"{words}, {borough}" if borough else words, f"{population[key]:,}"))
    for trust, acute in acute_blocks(scenario).items():
        beds = f"{describe(acute['beds'], _thousands)} core beds"
        esc = acute.get("escalation") or {}
        if esc.get("beds"):
            beds += (f" + {describe(esc['beds'], _thousands)} escalation beds opened above "
                     f"{_pct(esc.get('open_at_occupancy', 0.97))} full")
        where = f", {trust}" if trust else ""
        rows.append(("Hospital", f"Adult general and acute beds{where}", beds))
        if acute.get("bed_day_cost_gbp"):
            rows.append(("Hospital", f"Cost of an acute bed day{where}", f"£{acute['bed_day_cost_gbp']:,.0f}"))
    for borough, admissions in (scenario.get("admissions") or {}).items():
        rows.append(("Admissions", f"Emergency admissions per day, {borough} residents",
                     _to_trusts(admissions.get("non_elective") or {})))
    rows += _borough_rows(scenario)
    arrivals = scenario.get("arrivals") or {}
    for key, words in (("non_elective", "Emergency admissions per day"), ("elective", "Planned admissions per day")):
        if arrivals.get(key):
            varied = [p for p in ("day_of_week", "month_of_year") if arrivals[key].get(p)]
            note = f" (average, varied by {' and '.join(v.replace('_', ' ') for v in varied)})" if varied else ""
            growth = arrivals[key].get("growth_per_year")
            if isinstance(growth, dict):
                growth = ", ".join(f"{band} {_pct(g)}" for band, g in growth.items())
                note += f", growing a year by age band: {growth}" if growth else ""
            elif growth:
                note += f", growing {_pct(growth)} a year"
            rows.append(("Admissions", words, f"{describe(arrivals[key]['per_day'], _n)}{note}"))
    rows += _pathway_rows(scenario)
    rows += _service_rows(scenario)
    return rows


def _borough_rows(scenario: dict[str, Any]) -> list[tuple[str, str, str]]:
    """System form: planned admissions by trust, each borough's pathways (its own shares and
    settings over the system's) and out-of-area admissions."""
    rows: list[tuple[str, str, str]] = []
    defaults = scenario.get("pathways") or {}
    for name, borough in (scenario.get("boroughs") or {}).items():
        planned = ((scenario.get("admissions") or {}).get(name) or {}).get("elective")
        if planned:
            rows.append(("Admissions", f"Planned admissions per day, {name} residents", _to_trusts(planned)))
        own = borough.get("pathways") or {}
        shares = own.get("shares") or defaults.get("shares") or {}
        settings = {**(defaults.get("settings") or {}), **(own.get("settings") or {})}
        routes = []
        for p, share in shares.items():
            s = settings.get(p) or {}
            service = s.get("service")
            where = in_sentence(service_label(scenario, service)) if service else "home"
            mode = "on the ward" if (s.get("assessment") or {}).get("mode") == "on_ward" else "D2A"
            routes.append(f"{p} {_pct(share)} to {where} ({mode})")
        rows.append(("Pathways", f"Pathways of {name} residents", "; ".join(routes)))
    for trust, out in (scenario.get("out_of_area") or {}).items():
        total = out["non_elective"]["per_day"] + ((out.get("elective") or {}).get("per_day") or 0)
        rows.append(("Admissions", f"Out-of-area admissions per day to {trust}", _n(total)))
    return rows


def _to_trusts(stream: dict[str, Any]) -> str:
    """A borough's admissions per day by trust (``by_trust``, or ``per_day`` x ``trust_shares``)."""
    rates = stream.get("by_trust") or {t: scaled(stream.get("per_day", 0), s)
                                       for t, s in (stream.get("trust_shares") or {}).items()}  # fmt: skip
    return ", ".join(f"{describe(r, _n)} to {t}" for t, r in rates.items())



def _pathway_rows(scenario: dict[str, Any]) -> list[tuple[str, str, str]]:
    pathways = scenario.get("pathways") or {}
    shares = pathways.get("shares") or {}
    rows = [("Pathways", "Share of discharge-ready patients",
             ", ".join(f"{p} {_pct(s)}" for p, s in shares.items()))]
    first = next(iter(acute_blocks(scenario).values()), {})
    ttr = first.get("time_to_discharge_ready_days") or {}
    settings = pathways.get("settings") or {}
    for p in shares:
        s = settings.get(p) or {}
        assess = s.get("assessment") or {}
        service = s.get("service")
        where = f"goes to {in_sentence(service_label(scenario, service))}" if service else "home with no new support"
        if assess.get("mode") == "on_ward":
            how = "assessed on the ward before discharge (keeps the acute bed)"
            if assess.get("delay_days"):
                how += f", assessment takes {describe_distribution(assess['delay_days'])}"
            if assess.get("team"):
                how += f", team '{assess['team']}'"
        else:
            how = "discharge to assess (assessed after leaving hospital)"
        stay = f"; stay to discharge ready {describe_distribution(ttr[p])}" if p in ttr else ""
        rows.append(("Pathways", f"Pathway {p}", f"{where}; {how}{stay}"))
    return rows


def _thousands(x: Any) -> str:
    return f"{x:,}"


def _service_rows(scenario: dict[str, Any]) -> list[tuple[str, str, str]]:
    rows = []
    for name, spec in (scenario.get("services") or {}).items():
        cap = spec.get("capacity")
        if cap is None:
            capacity = "unlimited places"
        elif spec.get("capacity_unit") == "visits_per_day":
            capacity = (f"{describe(cap, _thousands)} visits per day ({_n(spec.get('visits_per_patient_per_day', 1))} "
                        "per person per day)")
        else:
            capacity = f"{describe(cap, _thousands)} {'beds' if spec.get('setting') == 'bed' else 'places'}"
        episode = describe_distribution(spec.get("duration_days"))
        if spec.get("max_duration_days"):
            episode += f", at most {_n(spec['max_duration_days'])} days"
        text = f"{capacity}; episode {episode}"
        if spec.get("cost_per_place_per_day_gbp"):
            text += f"; block contract £{spec['cost_per_place_per_day_gbp']:,.0f} per place per day, used or not"
        if spec.get("cost_per_day_gbp"):
            text += f"; spot £{spec['cost_per_day_gbp']:,.0f} per occupied day"
        owners = [spec["borough"]] if spec.get("borough") else list(spec.get("shared_by") or [])
        if len(owners) > 1:
            text += f"; shared by {', '.join(owners)} (first come first served)"
        elif owners:
            text += f"; for {owners[0]}"
        rows.append(("Downstream services", _first_upper(service_label(scenario, name)), text))
    return rows
