"""The scenario schema: one frozen pydantic model per block of a scenario YAML file.

Units are in field names or descriptions: days, hours, beds, patients per day,
pounds (GBP). Unknown keys are rejected everywhere. A scenario is never mutated:
``Scenario.model_copy(update=...)`` or :func:`d2asim.scenario.loader.with_overrides`
make re-validated copies.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Annotated, Literal, get_args

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from d2asim.scenario import limits as lim
from d2asim.scenario.checks import check_scenario
from d2asim.scenario.distributions import Distribution
from d2asim.scenario.feasibility import check_peak_rate
from d2asim.scenario.legacy import LEGACY_PATHWAY_SERVICES, legacy_services
from d2asim.scenario.names import PATHWAYS, Pathway, ServiceKind, as_windows
from d2asim.scenario.schedule import Schedule, Scheduled, base_value, scaled

REASON_CODES = ("A", "B", "C", "Di", "Dii", "E", "F", "G", "H", "I", "O")
ORGS = ("nhs", "social_care", "both")
SHARE_TOLERANCE = 1e-6
REABLEMENT_MAX_DAYS = 42.0  # free for up to 6 weeks (Care and Support Regulations 2014)

Weekday = Literal["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
WEEKDAYS: tuple[Weekday, ...] = get_args(Weekday)


class Strict(BaseModel):
    """Base for every scenario block: frozen, unknown keys rejected."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True, allow_inf_nan=False)


def check_shares(shares: dict[str, float], what: str = "shares") -> None:
    """Raise ``ValueError`` unless ``shares`` are all finite, >= 0 and sum to 1."""
    if not all(0 <= s <= 1 for s in shares.values()):  # also rejects nan
        raise ValueError(f"{what} must be between 0 and 1")
    total = sum(shares.values())
    if not abs(total - 1.0) <= SHARE_TOLERANCE:
        raise ValueError(f"{what} must sum to 1 (got {total:.6g})")


class RunSettings(Strict):
    """Simulated period. The clock starts ``warmup_days`` before ``start_date``;
    metrics cover ``start_date`` to ``start_date + duration_days``."""

    start_date: lim.StartDate = Field(dt.date(2025, 4, 1), description="first day of the reported period")
    warmup_days: lim.WarmupDays = Field(60, description="days simulated before start_date, not reported")
    duration_days: lim.ReportedDays = Field(365, description="reported period, days")
    replications: lim.Replications = Field(30, description="default number of replications")
    seed: lim.Seed = Field(20250401, description="default master seed")


class Population(Strict):
    """Resident population served (denominators for ASCOF/BCF rates)."""

    adults_18plus: lim.Population | None = Field(None, description="people aged 18+ (DTOC rate per 100,000)")
    aged_65plus: lim.Population | None = Field(None, description="people aged 65+ (care-home admissions per 100,000)")


class AgeBand(Strict):
    name: str = Field(description="label, e.g. '85+'")
    min_age: lim.Age = Field(description="youngest age in the band, years")
    share: float = Field(ge=0, le=1, description="share of admissions")


def _check_profile(values: tuple[float, ...] | None, n: int, what: str) -> None:
    if values is not None and len(values) != n:
        raise ValueError(f"{what} needs {n} multipliers (got {len(values)})")


Growth = Annotated[float, Field(gt=-1, le=10)]  # a year: -100% (exclusive) to +1,000%


class ArrivalStream(Strict):
    """Admissions per day, modulated by calendar multipliers (multiplied together)."""

    per_day: lim.ArrivalRate | Schedule[lim.ArrivalRate] = Field(
        description="mean admissions per day before multipliers (a number or a dated schedule)"
    )
    growth_per_year: Growth | dict[str, Growth] = Field(
        0.0, description="demand growth, compound per year from run.start_date (0.03 = 3% a year); "
        "or by age band name (bands not named: no growth), which also shifts the age mix"
    )
    day_of_week: tuple[lim.Multiplier, ...] | None = Field(
        None, description="7 multipliers, Monday first"
    )
    month_of_year: tuple[lim.Multiplier, ...] | None = Field(
        None, description="12 multipliers, January first"
    )
    hour_of_day: tuple[lim.Multiplier, ...] | None = Field(
        None, description="24 relative weights of arrival hour (uniform within the day if absent)"
    )

    @model_validator(mode="after")
    def _profile_lengths(self) -> ArrivalStream:
        _check_profiles(self)
        check_peak_rate(self)
        return self


def _check_profiles(stream: ArrivalStream) -> None:
    _check_profile(stream.day_of_week, 7, "day_of_week")
    _check_profile(stream.month_of_year, 12, "month_of_year")
    _check_profile(stream.hour_of_day, 24, "hour_of_day")
    if stream.hour_of_day is not None and sum(stream.hour_of_day) <= 0:
        raise ValueError("hour_of_day weights must not all be 0")


class ElectiveStream(ArrivalStream):
    """Planned admissions with their own calendar and time to discharge ready."""

    time_to_discharge_ready_days: Distribution | None = Field(
        None, description="elective stay before discharge ready (default: the pathway's)"
    )


class Arrivals(Strict):
    non_elective: ArrivalStream
    elective: ElectiveStream | None = None


class Escalation(Strict):
    """Extra beds opened at a daily check (08:00) when core occupancy is high."""

    beds: lim.Places | Schedule[lim.Places] = Field(0, description="escalation beds (or a dated schedule)")
    open_at_occupancy: float = Field(0.97, gt=0, le=1.0, description="share of core beds occupied")


class Window(Strict):
    """A weekly calendar: allowed weekdays and an hour window [start_hour, end_hour)."""

    days: tuple[Weekday, ...] = Field(WEEKDAYS, description="weekdays on which it is open")
    start_hour: float = Field(0.0, ge=0, lt=24, description="opening hour, 0-24")
    end_hour: float = Field(24.0, gt=0, le=24, description="closing hour, 0-24")

    @model_validator(mode="after")
    def _non_empty(self) -> Window:
        if not self.days:
            raise ValueError("days must name at least one weekday")
        if self.end_hour <= self.start_hour:
            raise ValueError(f"end_hour must be after start_hour (got {self.start_hour}-{self.end_hour})")
        return self

    def overlaps(self, other: Window) -> bool:
        """Whether both windows are open at some time of the week."""
        common_days = set(self.days) & set(other.days)
        return bool(common_days) and max(self.start_hour, other.start_hour) < min(self.end_hour, other.end_hour)

    def always_open(self) -> bool:
        return len(set(self.days)) == 7 and self.start_hour == 0 and self.end_hour == 24


WindowSpec = Window | tuple[Window, ...]  # one window, or several: open when any of them is


def _non_empty_windows(spec: WindowSpec) -> WindowSpec:
    if isinstance(spec, tuple) and not spec:
        raise ValueError("give at least one window")
    return spec


class Acute(Strict):
    """Adult general and acute (G&A) beds."""

    beds: lim.PositivePlaces | Schedule[lim.PositivePlaces] = Field(
        description="core G&A beds available (or a dated schedule)"
    )
    escalation: Escalation | None = None
    time_to_discharge_ready_days: dict[Pathway, Distribution] = Field(
        description="stay from admission to discharge ready, by pathway, days"
    )
    time_to_discharge_ready_by_age_band: dict[str, dict[Pathway, Distribution]] = Field(
        default_factory=dict, description="optional overrides by age band name, then pathway"
    )
    death_probability: float | dict[str, float] = Field(
        0.0, description="probability of dying in hospital, overall or by age band name"
    )
    discharge_window: WindowSpec = Field(
        default_factory=Window,
        description="when patients can leave the acute bed (one window, or a list: open when any is)",
    )
    discharge_ready_window: WindowSpec = Field(
        default_factory=Window,
        description="when patients are declared discharge ready (e.g. board rounds 08-12): "
        "treatment ending outside it is confirmed at its next opening; a list of windows "
        "gives other hours on other weekdays",
    )
    board_round_confirms: float | dict[Weekday, float] = Field(
        1.0, description="share (0-1) of the patients whose treatment has ended that a board round "
        "confirms as discharge ready: one share, or by weekday (days not named: 1); the others wait for "
        "the next day's round (e.g. fewer confirmed at weekends, everyone before the weekend on Friday)"
    )
    bed_day_cost_gbp: lim.Money = Field(0.0, description="cost of one acute bed day, GBP")
    delayed_bed_day_cost_gbp: lim.Money | None = Field(
        None, description="cost of one delayed acute bed day, GBP (default: bed_day_cost_gbp)"
    )

    @field_validator("board_round_confirms")
    @classmethod
    def _some_round_confirms(cls, v: float | dict[str, float]) -> float | dict[str, float]:
        shares = list(v.values()) if isinstance(v, dict) else [v]
        if any(not 0 <= s <= 1 for s in shares):
            raise ValueError("shares must be between 0 and 1")
        if max(shares) == 0 and (not isinstance(v, dict) or len(v) == 7):
            raise ValueError("no board round confirms anyone: nobody could ever become discharge ready")
        return v

    def confirms_by_weekday(self) -> tuple[float, ...]:
        """The board round's confirmed share on each weekday, Monday first."""
        v = self.board_round_confirms
        if isinstance(v, dict):
            return tuple(v.get(d, 1.0) for d in WEEKDAYS)
        return (v,) * 7

    @field_validator("discharge_window", "discharge_ready_window")
    @classmethod
    def _windows(cls, v: WindowSpec) -> WindowSpec:
        return _non_empty_windows(v)

    @field_validator("time_to_discharge_ready_days")
    @classmethod
    def _all_pathways(cls, v: dict[str, object]) -> dict[str, object]:
        missing = [p for p in PATHWAYS if p not in v]
        if missing:
            raise ValueError(f"needs a distribution for every pathway (missing {', '.join(missing)})")
        return v

    @field_validator("death_probability")
    @classmethod
    def _probabilities(cls, v: float | dict[str, float]) -> float | dict[str, float]:
        values = v.values() if isinstance(v, dict) else [v]
        if any(not 0 <= p <= 1 for p in values):
            raise ValueError("probabilities must be between 0 and 1")
        return v

    @model_validator(mode="after")
    def _a_round_confirms_someone(self) -> Acute:
        open_days = {d for w in as_windows(self.discharge_ready_window) for d in w.days}
        shares = self.confirms_by_weekday()
        if not any(shares[i] > 0 for i, d in enumerate(WEEKDAYS) if d in open_days):
            raise ValueError("board_round_confirms: no weekday with a board round (discharge_ready_window) "
                             "confirms anyone: nobody could ever become discharge ready")
        return self


class AssessmentTeam(Strict):
    concurrent_assessments: lim.PositivePlaces | Schedule[lim.PositivePlaces] = Field(
        description="assessments in progress at once (or a dated schedule)"
    )


class DelayAttribution(Strict):
    reason: Literal["A", "B", "C", "Di", "Dii", "E", "F", "G", "H", "I", "O"]
    org: Literal["nhs", "social_care", "both"]


class Assessment(Strict):
    """Where the assessment of longer-term needs happens.

    ``on_ward``: the patient keeps the acute bed for ``delay_days`` after discharge
    ready (and waits for a free assessor if ``team`` is set); then asks for a place.
    ``d2a``: the patient asks for a place at once and is assessed there: with
    ``d2a_stay: overlap`` (default) the assessment runs within the service episode
    (the stay lasts at least ``delay_days``); with ``extend`` it is added to the stay.
    """

    mode: Literal["on_ward", "d2a"] = "d2a"
    delay_days: Distribution | None = Field(None, description="time to complete the assessment, days")
    team: str | None = Field(None, description="name in assessment_teams (on_ward only)")
    d2a_stay: Literal["overlap", "extend"] = Field(
        "overlap", description="d2a: assessment within the service stay (overlap) or added to it (extend)"
    )
    delay_reason: DelayAttribution | None = Field(
        None, description="reason and organisation of this pathway's assessment delays (default: delay_reasons)"
    )
    delay_scale: lim.Multiplier | Schedule[lim.Multiplier] = Field(
        1.0, description="on_ward: multiplier of delay_days for waits starting on a date (a number or a dated "
        "schedule: e.g. a step change in the waits that the data show)"
    )


class PathwaySettings(Strict):
    service: str | None = Field(None, description="downstream service, by its name in services (none: home at once)")
    assessment: Assessment = Field(default_factory=Assessment)


def _default_pathway_settings() -> dict[Pathway, PathwaySettings]:
    """Each pathway's default settings: into the single-site form's service of that pathway."""
    return {p: PathwaySettings(service=LEGACY_PATHWAY_SERVICES.get(p)) for p in PATHWAYS}


class Pathways(Strict):
    shares: dict[Pathway, float] = Field(description="share of discharge-ready patients by pathway")
    shares_by_age_band: dict[str, dict[Pathway, float]] = Field(
        default_factory=dict, description="optional shares by age band name"
    )
    settings: dict[Pathway, PathwaySettings] = Field(default_factory=_default_pathway_settings)

    @field_validator("shares")
    @classmethod
    def _sum_to_one(cls, v: dict[str, float]) -> dict[str, float]:
        check_shares(v)
        return v

    @field_validator("shares_by_age_band")
    @classmethod
    def _each_sums_to_one(cls, v: dict[str, dict[str, float]]) -> dict[str, dict[str, float]]:
        for band, shares in v.items():
            check_shares(shares, f"shares for age band {band!r}")
        return v

    @field_validator("settings")
    @classmethod
    def _fill_missing(cls, v: dict[Pathway, PathwaySettings]) -> dict[Pathway, PathwaySettings]:
        return {**_default_pathway_settings(), **v}


class BoroughPathways(Strict):
    """A borough's own pathway choices; anything left out is the system's ``pathways``."""

    shares: dict[Pathway, float] | None = Field(None, description="share of discharge-ready residents by pathway")
    shares_by_age_band: dict[str, dict[Pathway, float]] | None = Field(
        None, description="optional shares by age band name"
    )
    settings: dict[Pathway, PathwaySettings] = Field(
        default_factory=dict, description="service and assessment per pathway (each replaces the system's)"
    )

    @field_validator("shares")
    @classmethod
    def _sum_to_one(cls, v: dict[str, float] | None) -> dict[str, float] | None:
        if v is not None:
            check_shares(v)
        return v

    @field_validator("shares_by_age_band")
    @classmethod
    def _each_sums_to_one(cls, v: dict[str, dict[str, float]] | None) -> dict[str, dict[str, float]] | None:
        for band, shares in (v or {}).items():
            check_shares(shares, f"shares for age band {band!r}")
        return v


class Service(Strict):
    """A downstream service with finite capacity (``capacity: null`` = unlimited)."""

    label: str = Field("", description="plain-words name for reports")
    kind: ServiceKind | None = Field(
        None,
        description="what the service is: drives ASCOF 2B (reablement), care-home admissions "
        "(permanent_care_home) and default delay reasons; required unless a single-site "
        "scenario's legacy service name gives it",
    )
    setting: Literal["home", "bed"] = Field("bed", description="delivered at home or in a bed")
    borough: str | None = Field(None, description="the borough that commissions it (system form)")
    shared_by: tuple[str, ...] | None = Field(
        None,
        description="boroughs sharing it (system form): one pool, a freed place goes to whoever "
        "has waited longest, first come first served across boroughs",
    )
    capacity: lim.Places | Schedule[lim.Places] | None = Field(
        None, description="concurrent places (caseload, beds) or visits per day, see capacity_unit; "
        "a number or a dated schedule"
    )
    capacity_unit: Literal["places", "visits_per_day"] = "places"
    visits_per_patient_per_day: lim.VisitsPerDay = Field(
        1.0, description="mean visits a patient needs per day (capacity_unit: visits_per_day)"
    )
    duration_days: Distribution = Field(description="length of the service episode, days")
    max_duration_days: lim.PositiveDays | None = Field(
        None, description="cap on the episode, days (e.g. 42: reablement is free for up to 6 weeks)"
    )
    start_calendar: WindowSpec = Field(
        default_factory=Window, description="when new starts can happen (one window, or a list: open when any is)"
    )
    max_starts_per_day: lim.Places | dict[Weekday, lim.Places] | None = Field(
        None, description="most people started on one day: a number, or by weekday (days not named: no "
        "limit; 0: no starts that day, e.g. {Sat: 0, Sun: 0} for weekdays only)"
    )
    outcomes: dict[str, float] = Field(
        default_factory=lambda: {"home": 1.0},
        description="where people go afterwards (shares): home, readmission, death or the name of the next service",
    )
    cost_per_day_gbp: lim.Money = Field(
        0.0, description="spot purchase: cost per occupied day, GBP (paid only for days a place is used)"
    )
    cost_per_place_per_day_gbp: lim.Money = Field(
        0.0, description="block contract: cost per commissioned place per day, GBP (paid whether used or not)"
    )
    counts_as_dtoc: bool = Field(
        False, description="delays while occupying this service count as (non-acute) DTOC days"
    )

    @field_validator("outcomes")
    @classmethod
    def _sum_to_one(cls, v: dict[str, float]) -> dict[str, float]:
        check_shares(v)
        return v

    @field_validator("start_calendar")
    @classmethod
    def _windows(cls, v: WindowSpec) -> WindowSpec:
        return _non_empty_windows(v)

    @field_validator("max_starts_per_day")
    @classmethod
    def _some_day_starts(cls, v: int | dict[str, int] | None) -> int | dict[str, int] | None:
        limits = v.values() if isinstance(v, dict) else [] if v is None else [v]
        days_without = len(v) if isinstance(v, dict) else 7
        if limits and max(limits) == 0 and days_without == 7:
            raise ValueError("no day allows a start: nobody could ever start")
        return v

    def starts_by_weekday(self) -> tuple[int | None, ...]:
        """The start limit on each weekday, Monday first (None: no limit)."""
        v = self.max_starts_per_day
        if isinstance(v, dict):
            return tuple(v.get(d) for d in WEEKDAYS)
        return (v,) * 7

    @model_validator(mode="after")
    def _block_needs_places(self) -> Service:
        if self.cost_per_place_per_day_gbp > 0 and self.capacity is None:
            raise ValueError(
                "cost_per_place_per_day_gbp: a block contract pays for commissioned places, "
                "so it needs a finite capacity (use cost_per_day_gbp for unlimited spot purchase)"
            )
        return self

    def places(self) -> float:
        """Concurrent places before any dated change (math.inf when unlimited)."""
        return self.places_for(base_value(self.capacity))

    def places_for(self, capacity: float | None) -> float:
        """Concurrent places a capacity value gives (math.inf for None: unlimited)."""
        if capacity is None:
            return math.inf
        if self.capacity_unit == "visits_per_day":
            return math.floor(capacity / self.visits_per_patient_per_day)
        return capacity


def _default_delay_reasons() -> dict[str, DelayAttribution]:
    """Causes that are not a service; a service's default comes from its kind
    (:data:`KIND_DELAY_REASONS`)."""
    return {
        "assessment": DelayAttribution(reason="A", org="both"),
        "discharge_window": DelayAttribution(reason="O", org="nhs"),
    }


KIND_DELAY_REASONS: dict[str, tuple[str, str]] = {
    "reablement": ("E", "social_care"),  # care package in own home
    "home_based_intermediate_care": ("E", "social_care"),
    "bedded_intermediate_care": ("C", "nhs"),  # further non-acute NHS care
    "care_home_assessment_bed": ("Dii", "social_care"),  # nursing home
    "long_term_home_care": ("E", "social_care"),
    "permanent_care_home": ("Di", "social_care"),  # residential home
    "other": ("O", "nhs"),
}
"""Default reason code and organisation of waiting for a service, by its kind."""


class Readmission(Strict):
    delay_days: Distribution = Field(description="time at home before the readmission, days")


class InitialState(Strict):
    """Start from today's position instead of empty (remaining stays are drawn from
    the length-biased residual distribution). In the system form patients in acute
    beds (acute_occupied, admission_queue, nctr_waiting) need a one-trust system."""

    acute_occupied: lim.People = Field(0, description="patients in acute beds still under treatment")
    admission_queue: lim.People = Field(0, description="patients waiting for an acute bed")
    nctr_waiting: dict[Pathway, lim.People] = Field(
        default_factory=dict, description="discharge-ready patients in acute beds, by pathway: waiting "
        "for a place (pathways with a service), or part-way through the on-ward wait (pathways without one: "
        "its residual time)"
    )
    services_occupied: dict[str, lim.People] = Field(
        default_factory=dict, description="people in each downstream service, by service name"
    )


# ------------------------------------------------------------------ system form
class Trust(Acute):
    """An acute trust of the system: its adult G&A beds and everything ``acute`` holds."""

    ods_code: str | None = Field(None, description="NHS ODS code, e.g. RKE")


class Borough(Strict):
    """A local authority: its residents' population and pathway choices."""

    population: Population = Field(default_factory=Population)
    pathways: BoroughPathways = Field(default_factory=BoroughPathways)
    delay_reasons: dict[str, DelayAttribution] = Field(
        default_factory=dict, description="reason code and organisation by cause for residents (over the system's)"
    )


class AdmissionStream(ArrivalStream):
    """One borough's admissions: ``by_trust`` (admissions per day at each trust, a row
    of the residence-to-trust matrix) or ``per_day`` (the borough total) split by
    ``trust_shares``; the calendar multipliers apply to every trust."""

    per_day: lim.ArrivalRate | Schedule[lim.ArrivalRate] | None = Field(  # type: ignore[assignment]
        None, description="borough total per day, with trust_shares (a number or a dated schedule)")
    by_trust: dict[str, lim.ArrivalRate | Schedule[lim.ArrivalRate]] | None = Field(
        None, description="admissions per day by trust name (each a number or a dated schedule)")
    trust_shares: dict[str, float] | None = Field(None, description="share of per_day by trust name")

    @model_validator(mode="after")
    def _profile_lengths(self) -> AdmissionStream:  # replaces ArrivalStream's: per_day may be absent here
        if self.by_trust is not None:
            if self.per_day is not None or self.trust_shares is not None:
                raise ValueError("by_trust: give either by_trust, or per_day with trust_shares, not both")
        elif self.per_day is None or self.trust_shares is None:
            raise ValueError("per_day: needs by_trust, or per_day with trust_shares")
        else:
            check_shares(self.trust_shares, "trust_shares")
        _check_profiles(self)
        for rate in self.rates().values():  # each trust's stream within the peak-rate limit
            check_peak_rate(self.model_copy(update={"per_day": rate}))
        return self

    def rates(self) -> dict[str, Scheduled]:
        """Admissions per day by trust name (before calendar multipliers): a number or
        a dated schedule (``per_day``'s dates, times the trust's share)."""
        if self.by_trust is not None:
            return dict(self.by_trust)
        assert self.per_day is not None and self.trust_shares is not None
        per_day = self.per_day
        return {trust: scaled(per_day, share) for trust, share in self.trust_shares.items()}

    def at_trust(self, trust: str) -> ArrivalStream:
        """The stream of this borough's admissions to one trust."""
        fields = {k: getattr(self, k) for k in ArrivalStream.model_fields if k != "per_day"}
        return ArrivalStream(per_day=self.rates().get(trust, 0.0), **fields)


class ElectiveAdmissionStream(AdmissionStream):
    """A borough's planned admissions (own calendar and time to discharge ready)."""

    time_to_discharge_ready_days: Distribution | None = Field(
        None, description="elective stay before discharge ready (default: the pathway's)"
    )

    def at_trust(self, trust: str) -> ElectiveStream:
        base = super().at_trust(trust)
        return ElectiveStream(**base.model_dump(), time_to_discharge_ready_days=self.time_to_discharge_ready_days)


class BoroughAdmissions(Strict):
    non_elective: AdmissionStream
    elective: ElectiveAdmissionStream | None = None


class OutOfArea(Strict):
    """Admissions to one trust from outside the modelled boroughs: their delays count
    for the trust, never in a borough's rate."""

    non_elective: ArrivalStream
    elective: ElectiveStream | None = None
    pathways: BoroughPathways = Field(default_factory=BoroughPathways, description="over the system's pathways")


class Scenario(Strict):
    """A complete d2asim scenario: the single-site form (``acute``, ``population``,
    ``arrivals``, ``pathways``) or the system form (``trusts``, ``boroughs``,
    ``admissions``, ``out_of_area``; ``pathways`` optional defaults for the boroughs)."""

    name: str = Field(description="short identifier, used in output folder names")
    description: str = ""
    extends: str | None = Field(None, description="baseline file this one overrides (resolved by the loader)")
    run: RunSettings = Field(default_factory=RunSettings)
    population: Population = Field(default_factory=Population)
    age_bands: tuple[AgeBand, ...] = Field(
        (AgeBand(name="all", min_age=18, share=1.0),), description="admissions by age band"
    )
    trusts: dict[str, Trust] | None = Field(None, description="system form: acute trusts by name")
    boroughs: dict[str, Borough] | None = Field(None, description="system form: boroughs (local authorities) by name")
    admissions: dict[str, BoroughAdmissions] | None = Field(
        None, description="system form: admissions by borough name, then by trust"
    )
    out_of_area: dict[str, OutOfArea] | None = Field(
        None, description="system form: admissions from no modelled borough, by trust name"
    )
    arrivals: Arrivals | None = Field(None, description="single-site form: admissions")
    acute: Acute | None = Field(None, description="single-site form: the acute trust")
    pathways: Pathways | None = Field(None, description="pathway shares and settings (system form: the defaults)")
    assessment_teams: dict[str, AssessmentTeam] = Field(default_factory=dict)
    services: dict[str, Service] = Field(default_factory=dict)
    delay_reasons: dict[str, DelayAttribution] = Field(
        default_factory=_default_delay_reasons,
        description="reason code and organisation by cause: assessment, discharge_window or a service "
        "name (a service's default comes from its kind)",
    )
    readmission: Readmission | None = None
    initial_state: InitialState | None = None
    sweep: dict[str, tuple[int | float | str | bool | None, ...]] | None = Field(
        None, description="grid for `d2asim sweep`: dotted field path -> values (ignored by `run`)"
    )

    @property
    def is_system(self) -> bool:
        """Written in the system form (``trusts``), not the single-site form (``acute``)."""
        return self.trusts is not None

    def single_site(self) -> tuple[Arrivals, Acute, Pathways]:
        """The single-site form's ``arrivals``, ``acute`` and ``pathways`` blocks (for code that
        models one trust only; a ValueError on the system form)."""
        if self.arrivals is None or self.acute is None or self.pathways is None:
            raise ValueError("needs the single-site form (arrivals, acute, pathways); this scenario has trusts")
        return self.arrivals, self.acute, self.pathways

    @field_validator("age_bands")
    @classmethod
    def _bands(cls, v: tuple[AgeBand, ...]) -> tuple[AgeBand, ...]:
        names = [b.name for b in v]
        if len(set(names)) != len(names):
            raise ValueError("age band names must be unique")
        check_shares({b.name: b.share for b in v}, "age band shares")
        return v

    @field_validator("services")
    @classmethod
    def _legacy_services(cls, v: dict[str, Service], info: ValidationInfo) -> dict[str, Service]:
        if info.data.get("trusts") is None:
            v = legacy_services(v)
        return v

    @field_validator("delay_reasons")
    @classmethod
    def _fill_reasons(cls, v: dict[str, DelayAttribution]) -> dict[str, DelayAttribution]:
        return {**_default_delay_reasons(), **v}

    @model_validator(mode="after")
    def _cross_references(self) -> Scenario:
        check_scenario(self)
        return self
