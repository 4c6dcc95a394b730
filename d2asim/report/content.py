"""Everything a report says, assembled once and rendered to HTML and Markdown alike."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from d2asim.metrics.replication import WAITS_NOTE
from d2asim.report import captions, charts, delay_charts, place_charts
from d2asim.report.data import RunData, run_scenario, system_beds
from d2asim.report.tables import HeadlineRow, headline_table, inputs_table
from d2asim.report.target import DEFAULT_TARGET
from d2asim.report.warnings import summary_warnings
from d2asim.scenario.errors import ScenarioError

CHARTS_DIR = "charts"


@dataclass(frozen=True)
class Chart:
    stem: str  # file name without extension, under charts/
    png: Path
    alt: str  # plain-words description for screen readers
    caption: captions.Caption


@dataclass(frozen=True)
class PlaceRow:
    """A key result of one trust or borough (``scope``: ``trust:NAME`` or ``borough:NAME``)."""

    scope: str
    kind: str
    place: str
    row: HeadlineRow


@dataclass
class Report:
    run: RunData
    target: float
    inputs: list[tuple[str, str, str]]
    headline: list[HeadlineRow]
    charts: list[Chart] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # charts not drawn, and why
    places: list[PlaceRow] = field(default_factory=list)  # system form: results by trust and borough

    @property
    def title(self) -> str:
        return f"Discharge pathway simulation: {self.run.summary['scenario']}"

    def warnings(self) -> list[str]:
        """Queues that grew over the reported period (shown above everything else)."""
        return summary_warnings([self.run.summary])

    def findings(self) -> list[str]:
        """The charts' findings, each once, for the summary at the top."""
        return list(dict.fromkeys(c.caption.finding for c in self.charts))

    def reproduce_command(self) -> str:
        """The exact command that recreates this run from the saved scenario.yaml."""
        s = self.run.summary
        return f"d2asim run scenario.yaml --reps {s['replications']} --seed {s['seed']}"

    def report_command(self) -> str:
        return f"d2asim report RUN_DIR --target {self.target:g}"

    def method(self) -> list[str]:
        """Method and assumptions, one short paragraph each."""
        s, sc = self.run.summary, self.run.scenario
        p = s["period"]
        services = sc.get("services") or {}

        def words(name: str) -> str:
            return charts.in_sentence(charts.service_label(sc, name))

        dtoc_services = [words(n) for n, spec in services.items() if spec.get("counts_as_dtoc")]
        start = ("from the position given in the scenario's initial state" if sc.get("initial_state")
                 else "from an empty hospital")
        causes = {"assessment": "waiting for assessment", "discharge_window": "waiting for the discharge window",
                  **{n: f"waiting for {words(n)}" for n in services}}
        reasons = "; ".join(f"{causes[cause]}: {spec['reason']} ({captions.ORG_WORDS[spec['org']]})"
                            for cause, spec in (sc.get("delay_reasons") or {}).items()
                            if cause in causes and spec.get("org") in captions.ORG_WORDS)
        return [
            "d2asim is a discrete-event simulation (SimPy) that follows each patient from admission "
            "through an acute bed, the day they become ready to leave, their Discharge to Assess pathway "
            "(P0 home, P1 reablement, P2 bedded intermediate care, P3 care home) and the downstream "
            "service. Anyone waiting for a place keeps the bed they are in, so shortages downstream "
            "hold up beds upstream.",
            f"The model was run {s['replications']} times (replications) with different random numbers, "
            f"each for {p['warmup_days']} warm-up days {start} and then {p['duration_days']} reported days "
            f"from {p['start_date']}. Warm-up days are left out of every result.",
            "Results are means over replications with a t-based 95% confidence interval. The interval "
            "shows the uncertainty from random variation in the simulation only, not uncertainty in the "
            "inputs; with few replications it is wide.",
            "Delayed bed days are the days between a patient being ready to leave and leaving the bed, "
            "in acute beds" + (f" and in {', '.join(dtoc_services)}" if dtoc_services else "")
            + ". The DTOC rate is delayed patients per day per 100,000 adults aged 18+ (ASCOF 2C); "
            + (f"the target line is the 2017 Better Care Fund expectation of {DEFAULT_TARGET:g}."
               if self.target == DEFAULT_TARGET else
               f"the target line is {self.target:g} (the 2017 Better Care Fund expectation was "
               f"{DEFAULT_TARGET:g})."),
            "Each cause of delay is given an NHS England DTOC reason code and a responsible organisation "
            f"by the scenario: {reasons}." if reasons else "",
            "Occupancy is the daily average of occupied core acute beds; the 92% and 95% lines are "
            "common reference levels for safe bed occupancy.",
            f"Waits for a bed or a place: {WAITS_NOTE}, so an overloaded scenario cannot show a short wait. "
            "Every queue is checked for growth over the reported period; a queue that grew is flagged at the "
            "top of this report.",
            "Every random draw depends only on the seed, the replication and the purpose of the draw, so "
            "the same scenario file and seed give identical results, and options compared with the same "
            "seed see the same patients.",
        ]


def assemble(run: RunData, target: float = DEFAULT_TARGET) -> Report:
    """Draw the charts into ``run.folder/charts`` and collect tables and captions."""
    out = run.folder / CHARTS_DIR
    metrics, reps = run.metrics, int(run.summary["replications"])
    report = Report(run=run, target=target, inputs=inputs_table(run.scenario, run.summary),
                    headline=headline_table(metrics))
    _add_diagram(report, out)
    system = bool(run.scenario.get("trusts"))
    if system:
        report.places = place_table(run.summary)
        png = place_charts.trust_occupancy_chart(run, out)
        assert png is not None  # a system has trusts
        report.charts.append(Chart("acute_occupancy_by_trust", png, "Line charts, one per trust, of acute beds "
                                   "occupied each day against capacity", captions.trust_occupancy(run.summary, reps)))
    else:
        beds = system_beds(run.scenario)[0]
        report.charts.append(Chart("acute_occupancy", charts.occupancy_chart(run, out),
                                   "Line chart of acute beds occupied each day against capacity",
                                   captions.occupancy(metrics, beds, reps)))
    report.charts.append(Chart("delays_by_pathway", delay_charts.delays_by_pathway_chart(run, out),
                               "Stacked bar chart of delayed bed days per month by pathway",
                               captions.delays_by_pathway(metrics, reps)))
    report.charts.append(Chart("delays_by_reason", delay_charts.delays_by_reason_chart(run, out),
                               "Stacked bar charts of delayed bed days per month by reason code "
                               "and by responsible organisation", captions.delays_by_reason(metrics, reps)))
    rates = charts.monthly_dtoc_rate(run)
    png = charts.dtoc_rate_chart(run, out, target)
    if png is None or rates is None:
        report.skipped.append("DTOC rate per 100,000 adults: the scenario has no population.adults_18plus.")
    else:
        report.charts.append(Chart("dtoc_rate", png, "Monthly DTOC rate per 100,000 adults against the target",
                                   captions.dtoc_rate(metrics, rates, target, reps)))
    if system:
        _add_borough_charts(report, out, target)
    services = charts.waiting_services(run)
    png = charts.queues_chart(run, out)
    if png is None:
        report.skipped.append("Downstream queues: the scenario has no downstream services.")
    else:
        report.charts.append(Chart("downstream_queues", png, "Line chart of people waiting for each service",
                                   captions.queues(metrics, run.scenario, services, reps)))
    return report


def _add_borough_charts(report: Report, out: Path, target: float) -> None:
    """Small multiples per borough: monthly DTOC rate, delayed bed days by reason."""
    run, reps = report.run, int(report.run.summary["replications"])
    png = place_charts.borough_dtoc_chart(run, out, target)
    if png is None:
        report.skipped.append("DTOC rate per borough: no borough gives population.adults_18plus.")
    else:
        report.charts.append(Chart("dtoc_rate_by_borough", png, "Monthly DTOC rate per 100,000 adults, one panel "
                                   "per borough, against the target", captions.borough_dtoc(run.summary, target, reps)))
    png = place_charts.borough_reasons_chart(run, out)
    if png is None:
        report.skipped.append("Delays by reason per borough: no delayed bed days.")
    else:
        report.charts.append(Chart("delays_by_reason_by_borough", png, "Horizontal bar charts, one per borough, of "
                                   "delayed bed days by reason code",
                                   captions.borough_reasons(place_charts.borough_reasons(run), reps)))


PLACE_METRICS = ("acute_occupancy_pct", "admission_wait_mean_hours", "delayed_bed_days", "dtoc_beds_per_day",
                 "dtoc_rate_per_100k_adults", "pct_discharges_delayed")  # fmt: skip


def place_table(summary: dict[str, Any]) -> list[PlaceRow]:
    """Key results of each trust, then each borough, from summary.json ``by_trust`` / ``by_borough``."""
    rows = []
    for group, kind in (("by_trust", "trust"), ("by_borough", "borough")):
        for place, metrics in (summary.get(group) or {}).items():
            chosen = {k: metrics[k] for k in PLACE_METRICS if metrics.get(k) and metrics[k].get("mean") is not None}
            rows += [PlaceRow(f"{kind}:{place}", kind, place, r) for r in headline_table(chosen)]
    return rows


def _add_diagram(report: Report, out: Path) -> None:
    """The system diagram (expected flows, simulated means in the boxes), or why not."""
    from d2asim.report import diagram

    run = report.run
    try:
        scenario = run_scenario(run)
    except ScenarioError as exc:
        report.skipped.append(f"System diagram: the saved scenario does not load ({exc.lines[0]}).")
        return
    png = diagram.draw(scenario, out, run.footer(), run.summary)["png"]
    report.charts.append(Chart(diagram.STEM, png, "Diagram of the modelled system: boroughs, trusts and services "
                               "with the expected people per day on each flow", diagram.caption(scenario, True)))


def scenario_text(run: RunData) -> str:
    """The saved, resolved scenario file (reproduces the run with the seed)."""
    return (run.folder / "scenario.yaml").read_text(encoding="utf-8")


def footer_fields(run: RunData) -> dict[str, Any]:
    s = run.summary
    return {"scenario": s["scenario"], "replications": s["replications"], "seed": s["seed"],
            "d2asim_version": s["d2asim_version"], "run_date": run.run_date}
