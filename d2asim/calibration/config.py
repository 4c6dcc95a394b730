"""The calibration config: which observed series, which model quantities, which parameters.

A calibration config is a YAML file (``calibration/rke.yaml``) checked against the
frozen pydantic models below; unknown keys are rejected and every problem is one line
``FILE: FIELD.PATH: message (allowed ...)`` through
:class:`d2asim.scenario.errors.ScenarioError` (exit code 2 on the command line), as for
scenarios. Relative paths (``base_scenario``, ``data.*.file``) are relative to the
config file's folder.

Units: observed and simulated series are compared **per day** (patients for stocks,
patients a day for flows), month by month; periods are whole calendar months
``YYYY-MM``; parameter bounds are in the units of the scenario field they set (beds,
places, admissions a day) or, for ``scale`` parameters, a dimensionless multiplier.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from d2asim.scenario.errors import ScenarioError, format_validation_error
from d2asim.scenario.loader import read_yaml

#: Model quantities a target can be compared with. Stocks are patients at a time
#: (``at_hour``: a snapshot, else the time average over the day); flows are events a day.
STOCKS = ("acute_occupied", "nctr", "waiting_p1", "waiting_p2", "waiting_p3", "admission_queue")
FLOWS = ("admissions", "discharges", "discharges_P0", "discharges_P1", "discharges_P2", "discharges_P3",
         "deaths_in_hospital")
MODEL_QUANTITIES = STOCKS + FLOWS
_MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")

#: Ready-made loaders for the NHS England files in ``calibration/data`` (RKE extracts)
#: and ``anchors/data/derived`` (all trusts, same columns). ``{trust}`` is replaced by
#: the config's ``trust`` code. Any field given in the config overrides the preset's.
_P1 = ["P1 - Domestic home with reablement support", "P1 - Other with reablement support",
       "P1 - Hotel with reablement support"]
_P2 = ["P2 - Care Home (short term 24hr support)",
       "P2 - Designated Setting (isolation before moving to care home)",
       "P2 - Hospice (short term 24hr support)", "P2 - Community Rehab Setting (short term 24hr support)"]
_P3 = ["P3 - Care Home (new admission, likely permanent)",
       "P3 - Designated Setting (isolation before moving to care home as new admission)"]
PRESETS: dict[str, dict[str, Any]] = {
    "sitrep_nctr_daily": {  # acute discharge SitRep: patients not meeting criteria to reside, per day
        "date_column": "date", "date_format": "%Y-%m-%d", "frequency": "daily",
        "filter": {"nhs_trust22_code": "{trust}"}, "zero_is_missing": True,
        "columns": {"nctr": "do_not_meet_criteria_to_reside"},
    },
    "sitrep_discharged_daily": {  # acute discharge SitRep: NCTR patients discharged, per day
        "date_column": "date", "date_format": "%Y-%m-%d", "frequency": "daily",
        "filter": {"nhs_trust22_code": "{trust}"}, "zero_is_missing": True,  # 0 of ~22 a day: not submitted
        "columns": {"nctr_discharged": "discharged_total"},
    },
    "uec_ga_beds_monthly": {  # UEC SitRep: adult G&A beds, monthly means of daily figures
        "date_column": "date", "date_format": "%B %Y", "frequency": "monthly", "values": "daily_mean",
        "filter": {"nhs_trust22_code": "{trust}"},
        "columns": {"beds_available": "adult_general_acute_beds_available",
                    "beds_occupied": "adult_general_acute_beds_occupied"},
    },
    "sitrep_discharges_by_pathway_monthly": {  # acute discharge SitRep Table 4: discharges a month
        "date_column": "month", "date_format": "%Y-%m", "frequency": "monthly", "values": "total",
        "filter": {"org_code": "{trust}"},
        "columns": {"discharges_P0": ["P0 - Domestic home without reablement support",
                                      "P0 - Other without reablement support"],
                    "discharges_P1": _P1, "discharges_P2": _P2, "discharges_P3": _P3,
                    "discharges_P3b": "P3b - Care Home (existing resident discharged back)"},
    },
    "sitrep_los14_delay_reasons_monthly": {  # Table 5: NCTR patients with LoS 14+ a day, by reason
        "date_column": "month", "date_format": "%Y-%m", "frequency": "monthly", "values": "daily_mean",
        "filter": {"org_code": "{trust}"},
        "columns": {
            "los14_waiting_P1": "Pathway 1: awaiting availability of resource for assessment and start of "
                                "care at home",
            "los14_waiting_P2": "Pathway 2: awaiting availability of rehabilitation bed in community hospital "
                                "or other bedded setting",
            "los14_waiting_P3": "Pathway 3: awaiting availability of a bed in a residential or nursing home "
                                "that is likely to be a permanent placement",
        },
    },
}


class Strict(BaseModel):
    """Base for every config block: frozen, unknown keys rejected."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Source(Strict):
    """One CSV file and how to read it: ``columns`` maps series names to its columns."""

    preset: Literal[tuple(PRESETS)] | None = Field(  # type: ignore[valid-type]
        None, description="ready-made layout of an NHS England file (fields below override it)")
    file: str = Field(description="CSV file (.csv or .csv.gz), relative to the config file")
    date_column: str = Field(description="column holding the date (daily) or month (monthly)")
    date_format: str | None = Field(None, description="strftime format, e.g. '%Y-%m-%d', '%B %Y'")
    frequency: Literal["daily", "monthly"] = Field(description="one row per day or per month")
    values: Literal["daily_mean", "total"] = Field(
        "daily_mean", description="monthly rows only: a mean per day, or a total for the month")
    filter: dict[str, str] = Field(default_factory=dict, description="keep rows where column == value")
    columns: dict[str, str | list[str]] = Field(
        description="series name -> column, or list of columns added together (blank cells skipped)")
    zero_is_missing: bool = Field(False, description="treat exact zeros as missing submissions")

    @model_validator(mode="before")
    @classmethod
    def _apply_preset(cls, data: Any) -> Any:
        if isinstance(data, dict) and isinstance(data.get("preset"), str) and data["preset"] in PRESETS:
            return {**PRESETS[data["preset"]], **data}
        return data


class Derived(Strict):
    """A series computed from two others on the same dates: ``from`` minus ``minus``."""

    from_: str = Field(alias="from", description="series name")
    minus: str = Field(description="series name subtracted")


class Period(Strict):
    """Whole calendar months ``start`` to ``end`` inclusive (``YYYY-MM``)."""

    start: str
    end: str

    @model_validator(mode="after")
    def _months(self) -> Period:
        for name in ("start", "end"):
            if not _MONTH.match(getattr(self, name)):
                raise ValueError(f"{name} must be a month YYYY-MM (got {getattr(self, name)!r})")
        if self.end < self.start:
            raise ValueError(f"end must not be before start (got {self.start}..{self.end})")
        return self

    def first_day(self) -> dt.date:
        return dt.date.fromisoformat(self.start + "-01")

    def last_day(self) -> dt.date:
        year, month = (int(x) for x in self.end.split("-"))
        return dt.date(year + month // 12, month % 12 + 1, 1) - dt.timedelta(days=1)

    def days(self) -> int:
        return (self.last_day() - self.first_day()).days + 1

    def label(self) -> str:
        return f"{self.start}..{self.end}"


class Target(Strict):
    """An observed series matched to a model quantity, month by month, per day."""

    observed: str | None = Field(None, description="observed series name (default: the target's name)")
    model: Literal[MODEL_QUANTITIES] = Field(description="model quantity")  # type: ignore[valid-type]
    at_hour: float | None = Field(None, ge=0, lt=24, description="stocks: count at this hour (else time average)")
    min_los_days: float | None = Field(None, ge=0, description="stocks in acute beds: only stays this long, days")
    weight: float = Field(1.0, gt=0, description="weight in the objective")
    label: str = Field("", description="plain words for the report")
    level_change_sd: float | None = Field(
        None, ge=0, le=1, description="how far the level moves in half a year, as a relative sd (calibrate --trust: "
        "from every trust, d2asim.calibration.reference_class); widens the bands after the fit period")

    @model_validator(mode="after")
    def _stock_options(self) -> Target:
        if self.model in FLOWS and (self.at_hour is not None or self.min_los_days is not None):
            raise ValueError(f"a flow a day ({self.model}) takes no at_hour or min_los_days (stocks only)")
        if self.min_los_days is not None and self.model == "admission_queue":
            raise ValueError("min_los_days applies to patients in acute beds, not the admission queue")
        return self


class Step(Strict):
    """A step change: from ``from`` on, each field at ``paths`` is the parameter times what
    it was (the field becomes a dated schedule; whole numbers stay whole)."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    from_: dt.date = Field(alias="from", description="first day of the new level")
    paths: list[str] = Field(min_length=1, description="dotted numeric fields, e.g. services.NAME.capacity")


class Parameter(Strict):
    """A scenario input to fit: ``path`` sets a field (default: the parameter's name as
    a dotted path); ``scale`` multiplies every duration distribution at those paths;
    ``pathway_share`` sets that pathway's share of discharge-ready patients, P0 taking
    the rest (so shares still sum to 1 and a change in the P1-P3 flows can be followed);
    ``step`` multiplies numeric fields from a date (a level shift the data show)."""

    path: str | None = Field(None, description="dotted scenario field, e.g. services.NAME.capacity")
    scale: list[str] | None = Field(
        None, description="dotted paths of distributions (or mappings of them), numbers or dated schedules")
    pathway_share: Literal["P1", "P2", "P3"] | None = Field(
        None, description="share of discharge-ready patients on this pathway (P0 is the rest)")
    step: Step | None = Field(None, description="a multiplier of numeric fields from a date")
    bounds: tuple[float, float] = Field(description="lowest and highest value searched")
    integer: bool = Field(False, description="round to a whole number (beds, places)")
    start: float | None = Field(None, description="first guess (default: the base scenario's value, or 1)")
    label: str = ""

    @model_validator(mode="after")
    def _consistent(self) -> Parameter:
        if sum(x is not None for x in (self.path, self.scale, self.pathway_share, self.step)) > 1:
            raise ValueError("give one of path, scale, pathway_share and step")
        low, high = self.bounds
        if self.pathway_share is not None and not 0 <= low < high < 1:
            raise ValueError(f"bounds of a pathway share must lie in [0, 1) (got {list(self.bounds)})")
        if not low < high:
            raise ValueError(f"bounds must be [low, high] with low < high (got {list(self.bounds)})")
        if (self.scale is not None or self.step is not None) and low <= 0:
            raise ValueError(f"bounds of a multiplier must be > 0 (got {list(self.bounds)})")
        if self.start is not None and not low <= self.start <= high:
            raise ValueError(f"start must lie within bounds {list(self.bounds)} (got {self.start})")
        return self


class Optimiser(Strict):
    """Search settings. Every evaluation uses the same replications and seed (common
    random numbers), so the objective surface is deterministic."""

    loss: Literal["squared", "huber"] = Field("squared", description="of each month's scaled error")
    error_scale: Literal["noise", "mean"] = Field(
        "noise", description="divide each target's monthly errors by its month-to-month noise (default) or its mean")
    huber_delta: float | None = Field(
        None, gt=0, description="loss: huber: scaled error where the square turns linear (default 2 noise units, "
        "or 0.25 of the mean)")
    method: Literal["nelder-mead", "powell"] = Field("nelder-mead", description="scipy.optimize local method")
    design_points: int = Field(24, ge=0, description="scrambled Sobol points searched before the local method")
    max_evaluations: int = Field(120, ge=1, description="evaluations of the local method")
    replications: int = Field(4, ge=1, description="replications per evaluation during the search")
    final_replications: int = Field(20, ge=2, description="replications of the fitted scenario (bands, backtest)")
    patience: int | None = Field(
        30, ge=1, description="stop the local search after this many evaluations without a 0.1% improvement "
        "(null: run to max_evaluations)")
    refits: int = Field(1, ge=0, description="local refits with other seeds (Monte Carlo spread)")
    refit_evaluations: int = Field(20, ge=1, description="evaluations of each refit")
    curvature_replications: int | None = Field(
        None, ge=1, description="replications per curvature point (default: `replications`)")
    parameter_draws: int = Field(10, ge=0, description="parameter vectors drawn from the fit's distribution for the "
                                 "predictive bands (parameter uncertainty)")
    draw_replications: int = Field(2, ge=1, description="replications of each parameter draw")
    stability_days: int | None = Field(
        None, ge=0, description="days every search evaluation simulates after the fit period, for the stability "
        "check only (default: to the test period's end, or 365 without one; 0: the fit period only)")
    stable_candidates: int = Field(
        3, ge=0, description="when the fitted scenario's final rerun is unstable, how many next-best search points "
        "(without a stability penalty) to rerun the same way; the best stable one is kept")
    seed: int = Field(1, ge=0, description="master seed of the search replications")
    warmup_days: int | None = Field(None, ge=0, description="warm-up before fit_period (default: the scenario's)")

    def delta(self) -> float:
        """Huber's threshold in units of the error scale."""
        return self.huber_delta or (2.0 if self.error_scale == "noise" else 0.25)


class CalibrationConfig(Strict):
    """A complete calibration config."""

    name: str | None = Field(None, description="short identifier (default: calibration-<trust>)")
    trust: str = Field(description="organisation code, e.g. RKE; fills {trust} in preset filters. With a "
                       "system-form base_scenario: the name of the trust fitted (its ods_code fills {trust})")
    description: str = ""
    base_scenario: str = Field(description="scenario file the fit starts from")
    data: dict[str, Source]
    derived: dict[str, Derived] = Field(default_factory=dict)
    fit_period: Period
    test_period: Period | None = None
    min_valid_months: int = Field(6, ge=1, description="fewest valid months of each target in fit_period")
    min_days_per_month: int = Field(10, ge=1, description="daily series: fewest valid days for a month to count")
    targets: dict[str, Target]
    parameters: dict[str, Parameter]
    overrides: dict[str, Any] = Field(default_factory=dict, description="fixed dotted overrides of the base")
    spells: dict[str, Any] | None = Field(None, description="patient-level spells fitted before the aggregates")
    optimiser: Optimiser = Field(default_factory=Optimiser)
    admissions_follow_beds: bool = Field(
        False, description="with the observed bed base (beds_available): admissions a day follow it too, "
        "arrivals.non_elective.per_day x each month's beds / the fit months' mean beds (trusts run their beds "
        "at a near-constant occupancy)")

    @model_validator(mode="after")
    def _references(self) -> CalibrationConfig:
        frequency = {s: src.frequency for src in self.data.values() for s in src.columns}
        for name, d in self.derived.items():
            for ref in (d.from_, d.minus):
                if ref not in frequency:
                    raise ValueError(f"derived.{name}: unknown series {ref!r} (allowed: {', '.join(frequency)})")
            if frequency[d.from_] != frequency[d.minus]:
                raise ValueError(f"derived.{name}: {d.from_} and {d.minus} must have the same frequency")
            frequency[name] = frequency[d.from_]
        for name in self.targets:
            if self.observed_name(name) not in frequency:
                raise ValueError(f"targets.{name}.observed: unknown series {self.observed_name(name)!r} "
                                 f"(allowed: {', '.join(frequency)})")
        if self.test_period is not None and self.test_period.start <= self.fit_period.end:
            raise ValueError(f"test_period must start after fit_period ends ({self.fit_period.end})")
        if not self.parameters:
            raise ValueError("parameters: give at least one parameter to fit")
        return self

    def observed_name(self, target: str) -> str:
        """The observed series a target is matched to."""
        return self.targets[target].observed or target

    def parameter_path(self, name: str) -> str | None:
        """The dotted field a ``path`` or ``pathway_share`` parameter sets (None for ``scale``
        and ``step``)."""
        p = self.parameters[name]
        if p.pathway_share is not None:
            return f"pathways.shares.{p.pathway_share}"
        return None if p.scale is not None or p.step is not None else (p.path or name)

    def run_name(self) -> str:
        return self.name or f"calibration-{self.trust}"


def load_config(path: str | Path) -> CalibrationConfig:
    """Read and validate a calibration config; every problem is one line naming the file."""
    path = Path(path)
    data = read_yaml(path)
    try:
        return CalibrationConfig.model_validate(data)
    except ValidationError as exc:
        raise ScenarioError(format_validation_error(exc, str(path), CalibrationConfig)) from None
