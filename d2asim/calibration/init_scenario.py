"""``d2asim init``: a first scenario for any English acute trust from the national extracts.

It does the arithmetic the header of ``scenarios/baseline.yaml`` does by hand, for the
trust and months asked, and writes every figure with a comment naming its source:

- **beds**: mean adult G&A beds available (UEC SitRep), escalation = peak month - mean;
- **admissions by Little's law**: admissions a day = occupied beds / mean stay, with the
  occupancy the model is asked to reach capped at ``beds - sqrt(beds)`` (one standard
  deviation of a Poisson bed count below full, so that the admission queue is stable;
  trusts running fuller than that rely on corridor and escalation capacity the model
  cannot see, and the calibration fits the rest);
- **time to discharge ready** = (occupied - NCTR remaining) / admissions, split by
  pathway in the baseline's proportions;
- **pathway flows**: Table 4's P1-P3 discharges a day as absolute flows, P0 the rest;
- **downstream capacities from the offered load** ``a`` = flow x mean episode (IPACS
  durations): the smallest whole number of places ``c >= a + sqrt(a)/2`` whose M/G/c
  mean queue (Erlang C with the Allen-Cunneen ``(1 + cv^2)/2`` correction) is at most
  the trust's Table 5 count of LoS 14+ patients waiting for that service;
- **populations** of the councils named (ASC-FR / ASCOF 2022-23);
- **stated defaults** (IPACS Bristol durations, assessment times, outcomes, ages,
  deaths): the bundled baseline's assumptions, marked ASSUMPTION.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy import stats

from d2asim.calibration.init_calendar import Calendar, arrivals_yaml, calendar_for, confirms_yaml, header, rounds_yaml
from d2asim.calibration.trust_data import (
    BEDS_FILE,
    PATHWAY_FILE,
    POPULATION_FILE,
    REASONS_FILE,
    Borough,
    Trust,
)
from d2asim.scenario.errors import ScenarioError
from d2asim.scenario.loader import load_scenario

MEAN_STAY_DAYS = 5.0  # [domain] "mean acute LoS across all admissions ~5 days"
DEATH_SHARE = 0.02145  # admissions dying in hospital, from the age split and death probabilities below
TTR_SPLIT = {"P1": 9.0, "P2": 12.0, "P3": 14.0}  # baseline ASSUMPTION: days to ready, P1-P3
TTR_CV = {"P0": 1.64, "P1": 0.92, "P2": 0.86, "P3": 0.88}  # baseline sd / mean
MIN_P0_TTR = 1.0
#: On-ward assessment times of P1-P3 before D2A (days; the baseline's lognormal means and sds).
ASSESSMENT = {"P1": (2.0, 2.0), "P2": (4.0, 3.0), "P3": (7.0, 6.0)}
SAME_DAY_WAIT = (0.25, 0.12)  # P0 process wait after the board round (TTOs, transport), days (baseline)
MULTI_DAY_WAIT = 5.0  # mean of a P0 wait for other reasons (family, housing, equipment), days: ASSUMPTION
MAX_MULTI_DAY_SHARE = 0.5  # above it the mean wait grows instead
READY_HOUR, WINDOW_HOURS = 10.0, (8.0, 22.0)  # readiness at the morning board round; discharges 08-22
#: The services the written scenario declares for pathways P1-P3 (by these names).
PATHWAY_SERVICES = {"P1": "p1", "P2": "p2", "P3": "p3"}
#: IPACS Bristol baseline lognormals (median, mean), days [ipacs los]; P1 capped at 42 days.
IPACS = {"p1": (9.0, 18.07), "p2": (34.0, 42.79), "p3": (50.0, 59.15)}
P1_CAP_DAYS = 42.0
#: Outcome shares of the services (as in TEMPLATE's outcomes, the baseline's ASSUMPTION).
HOME_CARE_SHARE = {"p1": 0.22, "p2": 0.22, "p3": 0.05}
CARE_HOME_SHARE = {"p1": 0.04, "p2": 0.10, "p3": 0.70, "home_care": 0.25}
HOME_CARE_DAYS, CARE_HOME_DAYS = 365.0, 800.0
READMISSION_SHARE = {"p1": 0.10, "p2": 0.10, "p3": 0.08}
SOURCES = {
    "beds": f"calibration/data/{BEDS_FILE} (UEC SitRep, adult G&A, monthly means of daily 08:00 counts)",
    "nctr": "calibration/data/trust_nctr_daily_2022_2025.csv.gz and trust_discharged_daily_2022_2025.csv.gz "
            "(acute discharge SitRep, daily; days not submitted left out)",
    "disch": "calibration/data/trust_discharged_daily_2022_2025.csv.gz (discharged_total, daily, from 2022-04 "
             "to the init months' end; days not submitted left out)",
    "sitrep4": f"calibration/data/{PATHWAY_FILE} (acute discharge SitRep Table 4)",
    "sitrep5": f"calibration/data/{REASONS_FILE} (Table 5: LoS 14+ NCTR patients a day by delay reason)",
    "pop": f"calibration/data/{POPULATION_FILE} (ASC-FR 2022-23 18+, ASCOF 2022-23 65+)",
    "ipacs": "calibration/data/ipacs_*.csv (IPACS BNSSG, Bristol 'B', baseline; Zenodo 10.5281/zenodo.7845908)",
    "domain": "the project's domain notes (README 'Metric definitions'; scenarios/README.md)",
}


#: The scenario file; ``{name}`` fields are filled by :func:`scenario_text`.
TEMPLATE = """\
# First scenario for {trust} ({code}, {region}), written by
# `d2asim init --trust {code}` from the national extracts, months {period}.
# Every figure says where it came from; calibrate it with
#   d2asim calibrate --trust {code} --fit START:END --test START:END
# Sources:
#   [beds]     {src_beds}
#   [nctr]     {src_nctr}
#   [disch]    {src_disch}
#   [sitrep4]  {src_sitrep4}
#   [sitrep5]  {src_sitrep5}
#   [pop]      {src_pop}
#   [ipacs]    {src_ipacs}
#   [domain]   {src_domain}
#   ASSUMPTION a stated default (the bundled baseline's), to be calibrated.
# Provenance and licence (Open Government Licence v3.0): calibration/data/SOURCES.md.
{notes}#
# Little's law for the acute beds (occupied = admissions/day x mean stay):
#   adult G&A beds available   = {beds_mean} (monthly {beds_low}-{beds_peak})  [beds]
#   occupied                   = {occupied}  [beds]
#   mean stay                  = {stay} days  ASSUMPTION [domain]
#   => admissions              = {target} / {stay} = {admissions} a day
#   NCTR remaining at 23:59    = {nctr} NCTR - {nctr_gone} discharged = {remaining} a day
#                                ({days} days; {missing} not submitted)  [nctr]
#   NCTR bed days a day        = {nctr_beds} (the 23:59 count, plus P0's same-day waits it misses)
#   => time to discharge ready = ({target} - {nctr_beds}) / {admissions} = {ttr_mean} days
#
# Where the NCTR remaining at 23:59 comes from (Little's law, patients a day x days):
#   P1-P3 on-ward assessments  {assess_terms} = {assess_beds}
#   waits for P1-P3 places     (M/G/c queues, below)                   {queue_beds}
#   => explained {explained} of the {remaining_used} observed; {multi_day_note}
# Admissions = external arrivals + readmissions from the services ({readmissions} a day, from
# the readmission outcomes below), so external arrivals = {external} a day over the init months.
#
{calendar}#
# Pathway flows (discharges a day, Table 4 means over {months4} months) [sitrep4]:
#   P1 {flow_P1}   P2 {flow_P2}   P3 (new) {flow_P3}
#   (the SitRep's P0 {sitrep_p0} and P3b {sitrep_p3b} a day are NCTR-recorded discharges only).
#   P1-P3 are absolute flows; P0 is the rest of the survivors,
#   {admissions} x (1 - {death}) = {survivors} a day:
#   P1 {share_P1}   P2 {share_P2}   P3 {share_P3}   P0 {share_P0}
#
# Downstream capacity from the offered load a = flow x mean episode (IPACS durations):
# the smallest c >= a + sqrt(a)/2 whose M/G/c mean queue (Erlang C x (1 + cv^2)/2) is at
# most the Table 5 count of LoS 14+ patients waiting for it [sitrep5]:
#   P1 a = {flow_P1} x {episode_p1} = {load_p1}; waiting {wait_P1} -> {cap_p1} places (queue {queue_p1})
#   P2 a = {flow_P2} x {episode_p2} = {load_p2}; waiting {wait_P2} -> {cap_p2} beds (queue {queue_p2})
#   P3 a = {flow_P3} x {episode_p3} = {load_p3}; waiting {wait_P3} -> {cap_p3} beds (queue {queue_p3})
#
# Observed bed base by month [beds]: {monthly_beds}.

name: {name}
description: >-
  {trust} ({code}) from the national SitRep extracts, {period}: a first
  scenario by d2asim init (pre-D2A: P1-P3 assessed on the ward), to be calibrated.

run:
  start_date: {start}-01
  warmup_days: 365         # P2/P3 queues with 6-8 week stays take months to settle (baseline)
  duration_days: 365
  replications: 30
  seed: 20230401

{population}

age_bands:                 # ASSUMPTION (baseline): shares of adult G&A admissions
  - {{name: "18-64", min_age: 18, share: 0.55}}
  - {{name: "65-84", min_age: 65, share: 0.32}}
  - {{name: "85+", min_age: 85, share: 0.13}}

arrivals:
  non_elective:
    per_day: {per_day}    # Little's law (header) minus readmissions
{arrivals_calendar}

acute:
  beds: {beds}             # mean adult G&A beds available {period}: {beds_mean} [beds]
  escalation:
    beds: {escalation}     # peak month {beds_peak} - mean {beds_mean} [beds]
    open_at_occupancy: 0.99
  time_to_discharge_ready_days:
    # Lognormal means: P1-P3 {ttr_split} days (ASSUMPTION, baseline), P0 the rest of the
    # {ttr_mean}-day mean (floor {floor} day): {ttr_p0}; each less the {board} d the board
    # rounds add (header); sd = mean x the baseline's coefficients of variation.
    P0: {{type: lognormal, mean: {ttr_P0_mean}, sd: {ttr_P0_sd}}}
    P1: {{type: lognormal, mean: {ttr_P1_mean}, sd: {ttr_P1_sd}}}
    P2: {{type: lognormal, mean: {ttr_P2_mean}, sd: {ttr_P2_sd}}}
    P3: {{type: lognormal, mean: {ttr_P3_mean}, sd: {ttr_P3_sd}}}
  death_probability: {{"18-64": 0.005, "65-84": 0.03, "85+": 0.07}}   # ASSUMPTION (baseline): {death_pct}
  discharge_window: {{start_hour: 8, end_hour: 22}}         # ASSUMPTION (baseline)
  discharge_ready_window:  # board rounds, ASSUMPTION (baseline)
{rounds}
  board_round_confirms:    # from the trust's weekday discharge shares [disch] (header)
    {confirms}
  bed_day_cost_gbp: 345            # NHS National Cost Collection 2020/21 (baseline)
  delayed_bed_day_cost_gbp: 346    # IPACS acute delayed day [ipacs]

pathways:
  shares:                  # of discharge-ready patients (header) [sitrep4]
    P0: {share_P0}
    P1: {share_P1}
    P2: {share_P2}
    P3: {share_P3}
  settings:
    P0:
      service: null
      assessment:          # waits after the board round (header), filed as reason O (other)
        mode: on_ward
{p0_delay}
        delay_reason: {{reason: O, org: nhs}}
    P1:                    # pre-D2A on-ward assessments, ASSUMPTION (baseline)
      service: p1
      assessment: {{mode: on_ward, delay_days: {{type: lognormal, mean: 2.0, sd: 2.0}}}}
    P2:
      service: p2
      assessment: {{mode: on_ward, delay_days: {{type: lognormal, mean: 4.0, sd: 3.0}}}}
    P3:
      service: p3
      assessment: {{mode: on_ward, delay_days: {{type: lognormal, mean: 7.0, sd: 6.0}}}}

services:
  p1:
    label: Reablement / home-based intermediate care (P1)
    setting: home
    capacity: {cap_p1}     # offered load {load_p1} places (header)
    capacity_unit: places
    duration_days: {{type: lognormal, median: 9, mean: 18.07}}  # IPACS P1_B [ipacs]
    max_duration_days: 42  # free for up to 6 weeks (Care and Support Regulations 2014)
    start_calendar: {{start_hour: 8, end_hour: 20}}   # ASSUMPTION (baseline)
    outcomes:              # ASSUMPTION (baseline)
      {{home: 0.57, home_care: 0.22, readmission: 0.10, care_home: 0.04, death: 0.07}}
    cost_per_day_gbp: 125  # [ipacs]
    counts_as_dtoc: false
  p2:
    label: Bedded intermediate care / community rehabilitation (P2)
    setting: bed
    capacity: {cap_p2}     # offered load {load_p2} beds (header)
    duration_days: {{type: lognormal, median: 34, mean: 42.79}}  # IPACS P2_B [ipacs]
    start_calendar: {{start_hour: 9, end_hour: 17}}   # ASSUMPTION (baseline)
    outcomes:              # ASSUMPTION (baseline)
      {{home: 0.50, home_care: 0.22, care_home: 0.10, readmission: 0.10, death: 0.08}}
    cost_per_day_gbp: 150  # [ipacs]
    counts_as_dtoc: true
  p3:
    label: Care-home bed for assessment of long-term needs (P3)
    setting: bed
    capacity: {cap_p3}     # offered load {load_p3} beds (header)
    duration_days: {{type: lognormal, median: 50, mean: 59.15}}  # IPACS P3_B [ipacs]
    start_calendar: {{days: [Mon, Tue, Wed, Thu, Fri], start_hour: 9, end_hour: 17}}  # ASSUMPTION
    outcomes:              # ASSUMPTION (baseline)
      {{care_home: 0.70, home_care: 0.05, home: 0.02, readmission: 0.08, death: 0.15}}
    cost_per_day_gbp: 164  # [ipacs]
    counts_as_dtoc: false
  home_care:
    label: Long-term home care package
    setting: home
    # Inflow {home_care_in} a day x 365 d = load {home_care_load}; capacity at rho 0.92.
    capacity: {home_care_cap}
    duration_days: {{type: lognormal, median: 180, mean: 365}}  # ASSUMPTION (baseline)
    start_calendar: {{days: [Mon, Tue, Wed, Thu, Fri, Sat], start_hour: 8, end_hour: 18}}  # ASSUMPTION
    outcomes: {{death: 0.45, care_home: 0.25, home: 0.30}}    # ASSUMPTION (baseline)
    cost_per_day_gbp: 60   # ASSUMPTION (baseline)
    counts_as_dtoc: false
  care_home:
    label: Permanent care-home placement
    setting: bed
    capacity: null         # not a constraint (a sink)
    duration_days: {{type: lognormal, median: 540, mean: 800}}  # ASSUMPTION (baseline)
    outcomes: {{death: 1.0}}
    cost_per_day_gbp: 164

readmission:
  delay_days: {{type: lognormal, median: 14, mean: 25}}   # ASSUMPTION (baseline)

initial_state:
  # Long services start near their offered load (rounded down, below capacity); the
  # remaining stays are drawn from the residual distribution.
  services_occupied:
    p1: {now_p1}
    p2: {now_p2}
    p3: {now_p3}
    home_care: {home_care_now}
    care_home: {care_home_now}   # {care_home_in} admissions a day x 800 d
"""


def lognormal_moments(median: float, mean: float, cap: float | None = None) -> tuple[float, float]:
    """Mean and squared coefficient of variation of a lognormal (median, mean), capped at ``cap``."""
    mu, sigma = math.log(median), math.sqrt(2 * math.log(mean / median))
    dist = stats.lognorm(sigma, scale=math.exp(mu))
    if cap is None:
        return float(dist.mean()), float(dist.var() / dist.mean() ** 2)
    x = np.linspace(0.0, cap, 20001)
    sf = dist.sf(x)
    m1 = float(np.trapezoid(sf, x))  # E[min(X, cap)]
    m2 = float(np.trapezoid(2 * x * sf, x))  # E[min(X, cap)^2]
    return m1, (m2 - m1**2) / m1**2


def erlang_c(servers: int, load: float) -> float:
    """Probability of waiting in an M/M/c queue (``load`` < ``servers``), by Erlang B's recursion."""
    b = 1.0
    for k in range(1, servers + 1):
        b = load * b / (k + load * b)
    rho = load / servers
    return b / (1 - rho * (1 - b))


def mean_queue(servers: int, load: float, cv2: float) -> float:
    """M/G/c mean number waiting (Allen-Cunneen): Erlang C x rho/(1-rho) x (1 + cv^2)/2."""
    rho = load / servers
    return erlang_c(servers, load) * rho / (1 - rho) * (1 + cv2) / 2


def places_for(load: float, cv2: float, waiting: float) -> tuple[int, float]:
    """The smallest c >= load + sqrt(load)/2 (and >= 1) with mean queue <= ``waiting``; and that queue."""
    c = max(1, math.ceil(load + 0.5 * math.sqrt(load)))
    while mean_queue(c, load, cv2) > max(waiting, 0.5):
        c += 1
    return c, mean_queue(c, load, cv2)


@dataclass(frozen=True)
class Sizing:
    """The derived figures a scenario is written from (units in each name)."""

    occupied_target: float
    admissions_per_day: float
    readmissions_per_day: float
    ttr_mean_days: float
    ttr_by_pathway: dict[str, float]
    flows: dict[str, float]  # P1-P3 discharges a day; P0 the rest of the survivors
    shares: dict[str, float]
    loads: dict[str, float]
    cv2: dict[str, float]
    capacity: dict[str, int]
    queue: dict[str, float]
    home_care_load: float
    care_home_inflow: float
    nctr_remaining_used: float  # the observed NCTR remaining at 23:59, capped at half the occupied beds
    p0_flow: float  # P0 discharges a day (the survivors less the P1-P3 flows)
    nctr_explained: float  # NCTR at 23:59 from P1-P3 assessments and queues (no P0 multi-day waits)
    nctr_beds: float  # NCTR bed days a day (time average), used in Little's law
    multi_day_share: float  # of P0 patients, waiting days for other reasons (0: none needed)
    multi_day_mean: float  # days


def size(trust: Trust) -> Sizing:
    """Little's law and offered-load arithmetic for ``trust`` (see the module docstring)."""
    beds = trust.beds
    target = min(trust.occupied, beds - math.sqrt(beds))
    admissions = target / MEAN_STAY_DAYS
    survivors = admissions * (1 - DEATH_SHARE)
    flows = {p: trust.pathway_per_day[p] for p in ("P1", "P2", "P3")}
    if sum(flows.values()) >= survivors:
        raise ScenarioError([f"--trust: {trust.code}'s P1-P3 discharges ({sum(flows.values()):.1f} a day) are not "
                             f"below the {survivors:.1f} discharges a day Little's law gives: check the data"])
    shares = {p: round(f / survivors, 5) for p, f in flows.items()}
    shares = {"P0": round(1 - sum(shares.values()), 5), **shares}
    remaining = min(trust.nctr_remaining, 0.5 * target)
    loads, cv2, capacity, queue = {}, {}, {}, {}
    for pathway, service in PATHWAY_SERVICES.items():
        median, mean = IPACS[service]
        episode, cv2[service] = lognormal_moments(median, mean, P1_CAP_DAYS if service == "p1" else None)
        loads[service] = flows[pathway] * episode
        capacity[service], queue[service] = places_for(loads[service], cv2[service],
                                                       trust.waiting_los14[pathway])
    explained = sum(flows[p] * ASSESSMENT[p][0] for p in flows) + sum(queue.values())
    p0_flow = survivors - sum(flows.values())
    share, wait = multi_day_waits(remaining - explained, p0_flow)
    # NCTR bed days a day (time average): the 23:59 count plus the same-day waits it misses
    nctr_beds = max(explained, remaining) + p0_flow * (1 - share) * SAME_DAY_WAIT[0]
    ttr_mean = (target - nctr_beds) / admissions
    rest = admissions - sum(flows.values())
    p0 = max(MIN_P0_TTR, (ttr_mean * admissions - sum(flows[p] * TTR_SPLIT[p] for p in flows)) / rest)
    ttr = {"P0": p0, **TTR_SPLIT}
    home_care_in = sum(flows[f"P{s[-1]}"] * HOME_CARE_SHARE[s] for s in HOME_CARE_SHARE)
    care_home_in = sum(flows[f"P{s[-1]}"] * CARE_HOME_SHARE[s] for s in ("p1", "p2", "p3")) \
        + home_care_in * CARE_HOME_SHARE["home_care"]
    readmissions = sum(flows[f"P{s[-1]}"] * READMISSION_SHARE[s] for s in READMISSION_SHARE)
    return Sizing(target, admissions, readmissions, ttr_mean, ttr, flows, shares, loads, cv2, capacity, queue,
                  home_care_in * HOME_CARE_DAYS, care_home_in, remaining, p0_flow, explained, nctr_beds, share, wait)


def midnights_waited(mean: float) -> float:
    """Mean number of 23:59 counts a P0 patient is in, waiting a lognormal (mean, sd = mean)
    from the board round (``READY_HOUR``) and leaving at the next discharge window hour
    (exact quantile integration: deterministic)."""
    sigma = math.sqrt(math.log(2.0))
    q = stats.norm.ppf((np.arange(4000) + 0.5) / 4000)
    hours = READY_HOUR + 24 * np.exp(math.log(mean) - sigma**2 / 2 + sigma * q)
    hour_of_day = hours % 24
    early, late = WINDOW_HOURS
    leave = np.where(hour_of_day < early, hours - hour_of_day + early,
                     np.where(hour_of_day >= late, hours - hour_of_day + 24 + early, hours))
    return float(np.mean(np.floor(leave / 24)))


def multi_day_waits(unexplained: float, p0_flow: float) -> tuple[float, float]:
    """The share of P0 patients waiting days for other reasons, and the mean wait (days),
    that make ``unexplained`` patients a day at 23:59 (none when it is not positive)."""
    if unexplained <= 0.5 or p0_flow <= 0:
        return 0.0, MULTI_DAY_WAIT
    share = unexplained / (p0_flow * midnights_waited(MULTI_DAY_WAIT))
    if share <= MAX_MULTI_DAY_SHARE:
        return round(share, 5), MULTI_DAY_WAIT
    low, high = MULTI_DAY_WAIT, 365.0  # a longer mean wait for the capped share (bisection)
    for _ in range(60):
        mid = (low + high) / 2
        low, high = (mid, high) if p0_flow * MAX_MULTI_DAY_SHARE * midnights_waited(mid) < unexplained else (low, mid)
    return MAX_MULTI_DAY_SHARE, round(high, 3)


def scenario_text(trust: Trust, boroughs: Sequence[Borough], name: str) -> str:
    """The scenario YAML, every figure commented with its source."""
    s = size(trust)
    cal = trust_calendar(trust)
    survivors = s.admissions_per_day * (1 - DEATH_SHARE)
    ttr = {p: max(0.1, v - cal.weekdays.delay_days) for p, v in s.ttr_by_pathway.items()}
    capped = s.occupied_target < trust.occupied - 1e-9
    values = {
        "name": name, "code": trust.code, "trust": trust.name, "region": trust.region.title(),
        "period": f"{trust.start}..{trust.end}", "start": trust.start,
        "notes": "".join(f"# NOTE: {n}.\n" for n in trust.notes), **{f"src_{k}": v for k, v in SOURCES.items()},
        "beds_mean": f"{trust.beds:.1f}", "beds": round(trust.beds), "beds_peak": f"{trust.peak_beds:g}",
        "beds_low": f"{min(trust.beds_by_month.values()):g}",
        "escalation": max(0, round(trust.peak_beds - trust.beds)),
        "occupied": f"{trust.occupied:.1f} ({trust.occupied / trust.beds:.1%})"
                    + (f", capped at beds - sqrt(beds) = {s.occupied_target:.1f} (stable admission queue)"
                       if capped else ""),
        "target": f"{s.occupied_target:.1f}", "stay": f"{MEAN_STAY_DAYS:g}",
        "admissions": f"{s.admissions_per_day:.2f}", "readmissions": f"{s.readmissions_per_day:.2f}",
        "external": f"{s.admissions_per_day - s.readmissions_per_day:.3f}",
        "nctr": f"{trust.nctr:.1f}", "nctr_gone": f"{trust.nctr_discharged:.1f}",
        "remaining": f"{trust.nctr_remaining:.1f}", "days": trust.days_used, "missing": trust.days_missing,
        "remaining_used": f"{s.nctr_remaining_used:.1f}",
        "ttr_mean": f"{s.ttr_mean_days:.2f}", "ttr_p0": f"{s.ttr_by_pathway['P0']:.2f}",
        "ttr_split": "/".join(f"{TTR_SPLIT[p]:g}" for p in ("P1", "P2", "P3")),
        "floor": f"{MIN_P0_TTR:g}", "board": f"{cal.weekdays.delay_days:.3f}",
        "calendar": header(cal), "per_day": f"{external_per_day(s, cal):.3f}",
        "arrivals_calendar": arrivals_yaml(cal, s.admissions_per_day - s.readmissions_per_day),
        "rounds": rounds_yaml(), "confirms": confirms_yaml(cal),
        "months4": trust.pathway_months, "sitrep_p0": f"{trust.pathway_per_day['P0']:.2f}",
        "sitrep_p3b": f"{trust.pathway_per_day['P3b']:.2f}",
        "death": f"{DEATH_SHARE}", "death_pct": f"{DEATH_SHARE:.2%}", "survivors": f"{survivors:.2f}",
        "population": _population(boroughs),
        "monthly_beds": ", ".join(f"{m} {v:g}" for m, v in trust.beds_by_month.items()),
        "home_care_in": f"{s.home_care_load / HOME_CARE_DAYS:.3f}", "home_care_load": f"{s.home_care_load:.1f}",
        "home_care_cap": max(1, math.ceil(s.home_care_load / 0.92)),
        "home_care_now": math.floor(0.96 * s.home_care_load),
        "care_home_in": f"{s.care_home_inflow:.3f}", "care_home_now": math.floor(s.care_home_inflow * CARE_HOME_DAYS),
    }
    for p in ("P0", "P1", "P2", "P3"):
        values[f"share_{p}"] = f"{s.shares[p]:.5f}"
        values[f"ttr_{p}_mean"], values[f"ttr_{p}_sd"] = f"{ttr[p]:.3f}", f"{ttr[p] * TTR_CV[p]:.3f}"
    for pathway, service in PATHWAY_SERVICES.items():
        episode = lognormal_moments(*IPACS[service], P1_CAP_DAYS if service == "p1" else None)[0]
        values |= {f"flow_{pathway}": f"{s.flows[pathway]:.3f}", f"episode_{service}": f"{episode:.2f}",
                   f"load_{service}": f"{s.loads[service]:.1f}", f"cap_{service}": s.capacity[service],
                   f"wait_{pathway}": f"{trust.waiting_los14[pathway]:.1f}",
                   f"queue_{service}": f"{s.queue[service]:.1f}",
                   f"now_{service}": min(math.floor(s.loads[service]), s.capacity[service])}
    values |= _nctr_values(s)
    return TEMPLATE.format(**values)


def trust_calendar(trust: Trust) -> Calendar:
    """The weekday rounds and admission season of ``trust`` (d2asim.calibration.init_calendar)."""
    s = size(trust)
    # P1-P3, deaths and P0's multi-day waits leave on any weekday: spread over the week
    smeared = 1 - s.shares["P0"] * (1 - DEATH_SHARE) * (1 - s.multi_day_share)
    # The busiest month must fit the beds the scenario has all year (core + escalation, less
    # one Poisson sd), as the mean month fits beds - sqrt(beds): no winter beds in init.
    beds = round(trust.beds) + max(0, round(trust.peak_beds - trust.beds))
    peak = (beds - math.sqrt(beds)) / s.occupied_target
    why = (f"its occupancy, {s.occupied_target:.1f} x the multiplier, must fit the {beds} core and escalation beds "
           f"less sqrt(beds) = {beds - math.sqrt(beds):.1f} (a stable admission queue; the model's beds do not rise "
           "in winter; a calibration follows the observed bed base)")
    return calendar_for(trust.discharged_daily, trust.start, trust.end, smeared, (max(1.0, peak), why))


def external_per_day(s: Sizing, cal: Calendar) -> float:
    """``arrivals.non_elective.per_day``: external admissions a day over the init months
    divided by the mean month x growth multiplier, so the months' mean stays Little's law's."""
    return (s.admissions_per_day - s.readmissions_per_day) / cal.factor


def _nctr_values(s: Sizing) -> dict[str, str]:
    """The header's NCTR arithmetic and P0's waits (a mixture when multi-day waits are needed)."""
    same = f"{{type: lognormal, mean: {SAME_DAY_WAIT[0]:g}, sd: {SAME_DAY_WAIT[1]:g}}}"
    assess = sum(s.flows[p] * ASSESSMENT[p][0] for p in s.flows)
    out = {"assess_terms": " + ".join(f"{s.flows[p]:.2f}x{ASSESSMENT[p][0]:g}" for p in s.flows),
           "assess_beds": f"{assess:.1f}", "queue_beds": f"{s.nctr_explained - assess:.1f}",
           "explained": f"{s.nctr_explained:.1f}", "nctr_beds": f"{s.nctr_beds:.1f}"}
    if s.multi_day_share == 0:
        out["multi_day_note"] = ("no multi-day P0 waits are needed:\n#   P0 patients wait only the same-day "
                                 f"process time after the board round (lognormal mean {SAME_DAY_WAIT[0]:g} d, "
                                 "baseline)")
        out["p0_delay"] = f"        delay_days: {same}   # same-day process wait, ASSUMPTION (baseline)"
        return out
    out["multi_day_note"] = (
        f"the other {s.nctr_remaining_used - s.nctr_explained:.1f} are P0 patients waiting\n"
        "#   days for other reasons (family, housing, equipment, a care package restarting: Table 5's\n"
        f"#   non-service reasons): {s.multi_day_share:.2%} of the {s.p0_flow:.2f} P0 patients a day wait a lognormal\n"
        f"#   mean {s.multi_day_mean:g} d (sd = mean) ASSUMPTION, each in {midnights_waited(s.multi_day_mean):.2f} "
        f"23:59 counts on average;\n#   the rest leave the same day (lognormal mean {SAME_DAY_WAIT[0]:g} d, baseline)")
    out["p0_delay"] = (
        "        delay_days:      # a mixture: same-day process waits and multi-day waits (header)\n"
        "          type: mixture\n"
        f"          weights: {{same_day: {1 - s.multi_day_share:.5f}, multi_day: {s.multi_day_share:.5f}}}\n"
        "          components:\n"
        f"            same_day: {same}\n"
        f"            multi_day: {{type: lognormal, mean: {s.multi_day_mean:g}, sd: {s.multi_day_mean:g}}}")
    return out


def _population(boroughs: Sequence[Borough]) -> str:
    if not boroughs:
        return ("# population: not set (no --borough given): rates per 100,000 are not reported.\n"
                "# Add `--borough NAME` for each council the trust serves [pop].")
    names = " + ".join(b.name for b in boroughs)
    adults = sum(b.adults_18plus for b in boroughs)
    lines = ["population:", f"  adults_18plus: {adults}   # {names}, 18+ ASC-FR 2022-23 [pop]"]
    missing = [b.name for b in boroughs if b.aged_65plus is None]
    if missing:
        lines.append(f"  # aged_65plus: not set: no 65+ figure for {', '.join(missing)} in the join [pop]")
    else:
        lines.append(f"  aged_65plus: {sum(b.aged_65plus or 0 for b in boroughs)}   # {names}, 65+ ASCOF 2022-23 [pop]")
    return "\n".join(lines)


def write_scenario(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` after checking it loads; never replaces an existing file."""
    if path.exists():
        raise ScenarioError([f"{path}: --out: file exists; choose another name (init never overwrites)"])
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_name(f".{path.name}.tmp")
    temp.write_text(text)
    try:
        load_scenario(temp)
    except ScenarioError as exc:
        temp.unlink()
        raise ScenarioError([line.replace(str(temp), str(path)) for line in exc.lines]) from None
    temp.replace(path)
