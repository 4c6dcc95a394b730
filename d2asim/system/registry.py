"""The system registry: every trust, borough, admission route and service of a
scenario with its integer code and declared meaning, built once per scenario.

Both scenario forms become one system: the single-site form is one trust (``trust``)
and one borough (``borough``). The engine, the event log, the metrics and the reports
take codes and meanings from here (``is this service reablement, a bed, a DTOC
place?``) and never compare names. Codes follow the scenario's order:

- trusts ``0..T-1``; boroughs ``0..B-1`` (modelled boroughs first, then one
  out-of-area origin per trust that has out-of-area admissions: not modelled, no
  population, never in a borough's rate);
- services ``0..S-1``: the event log's ``service`` and a delay's ``place``
  (``ACUTE_PLACE = -1`` for an acute bed);
- delay causes: ``0`` assessment, ``1`` discharge window, ``2 + s`` waiting for service ``s``;
- outcomes of a service episode: ``0`` home, ``1`` readmission, ``2`` death, ``3 + s``
  on to service ``s``;
- sites ``0..R-1``: one per (borough, trust) pair with admissions, in borough order.

Random streams are named by purpose and place (:meth:`SystemRegistry.site_prefix`), so
adding a borough or trust never shifts another's draws; the single-site form keeps its
historical stream names (no place prefix), so its results are unchanged.
"""

from __future__ import annotations

import json
import weakref
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

import numpy as np

from d2asim.scenario.names import FIXED_CAUSES, PATHWAYS, TERMINAL_OUTCOMES, Pathway
from d2asim.scenario.schedule import as_json, base_value, max_value
from d2asim.scenario.schema import (
    KIND_DELAY_REASONS,
    ORGS,
    REASON_CODES,
    Acute,
    ArrivalStream,
    DelayAttribution,
    Pathways,
    PathwaySettings,
    Population,
    Scenario,
    Service,
)

if TYPE_CHECKING:
    import pandas as pd

SINGLE_SITE_TRUST = "trust"
SINGLE_SITE_BOROUGH = "borough"
OUT_OF_AREA = "out_of_area"
REABLEMENT_KINDS = ("reablement", "home_based_intermediate_care")  # ASCOF 2B: at home 91 days after
CARE_HOME_KINDS = ("permanent_care_home",)  # ASCOF 2A: permanent admissions to care homes
HOME, READMISSION, DEATH = range(len(TERMINAL_OUTCOMES))
SOURCES = ("non_elective", "elective")


@dataclass(frozen=True)
class TrustEntry:
    code: int
    name: str
    acute: Acute
    ods_code: str | None = None

    @property
    def delayed_bed_day_cost_gbp(self) -> float:
        a = self.acute
        return a.bed_day_cost_gbp if a.delayed_bed_day_cost_gbp is None else a.delayed_bed_day_cost_gbp


@dataclass(frozen=True)
class BoroughEntry:
    """A borough of residence (``modelled``) or the out-of-area origin of one trust."""

    code: int
    name: str
    modelled: bool
    population: Population
    shares: dict[Pathway, float]
    shares_by_age_band: dict[str, dict[Pathway, float]]
    settings: dict[Pathway, PathwaySettings]  # by pathway, resolved over the system's defaults
    delay_reasons: dict[str, DelayAttribution]  # by cause name, resolved


@dataclass(frozen=True)
class ServiceEntry:
    code: int
    name: str
    spec: Service
    kind: str
    boroughs: tuple[int, ...]  # codes of the boroughs that commission or share it (all when not said)
    shared: bool  # one pool for several boroughs (first come first served across them)

    @property
    def cause(self) -> int:
        return len(FIXED_CAUSES) + self.code

    @property
    def at_home(self) -> bool:
        return self.spec.setting == "home"


@dataclass(frozen=True)
class SiteEntry:
    """Admissions of one borough's residents (or out-of-area patients) to one trust."""

    code: int
    borough: int
    trust: int
    prefix: str  # random-stream prefix ("" in the single-site form)
    streams: dict[str, ArrivalStream]  # by source: non_elective, elective


@dataclass
class SystemRegistry:
    trusts: list[TrustEntry]
    boroughs: list[BoroughEntry]
    services: list[ServiceEntry]
    sites: list[SiteEntry]
    single_site: bool
    _by_name: dict[tuple[str, str], int] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        for group in ("trusts", "boroughs", "services"):
            for entry in getattr(self, group):
                self._by_name[(group, entry.name)] = entry.code

    # ---------------------------------------------------------------- look-ups
    def code(self, group: str, name: str) -> int:
        """Code of the trust, borough or service called ``name`` (``group``: trusts, boroughs, services)."""
        return self._by_name[(group, name)]

    def service(self, name: str) -> ServiceEntry:
        return self.services[self.code("services", name)]

    @property
    def causes(self) -> tuple[str, ...]:
        """Delay cause names by code."""
        return (*FIXED_CAUSES, *(s.name for s in self.services))

    @property
    def outcomes(self) -> tuple[str, ...]:
        """Outcome names by code: terminal outcomes, then the next service."""
        return (*TERMINAL_OUTCOMES, *(s.name for s in self.services))

    def cause_code(self, name: str) -> int:
        return self.causes.index(name)

    def outcome_code(self, name: str) -> int:
        return self.outcomes.index(name)

    def services_of_kind(self, *kinds: str) -> list[int]:
        return [s.code for s in self.services if s.kind in kinds]

    def dtoc_places(self) -> list[int]:
        """Service codes whose occupants' waits count as (non-acute) DTOC."""
        return [s.code for s in self.services if s.spec.counts_as_dtoc]

    @property
    def modelled_boroughs(self) -> list[BoroughEntry]:
        return [b for b in self.boroughs if b.modelled]

    def adults_18plus(self) -> int | None:
        """Summed 18+ population of the modelled boroughs (None if any is missing)."""
        values = [b.population.adults_18plus for b in self.modelled_boroughs]
        return None if not values or None in values else sum(values)  # type: ignore[arg-type]

    def aged_65plus(self) -> int | None:
        values = [b.population.aged_65plus for b in self.modelled_boroughs]
        return None if not values or None in values else sum(values)  # type: ignore[arg-type]

    def site_prefix(self, borough: int, trust: int) -> str:
        """Stream-name prefix of a borough's admissions to a trust (``""`` single-site)."""
        if self.single_site:
            return ""
        return f"{self.boroughs[borough].name}.{self.trusts[trust].name}."

    def borough_prefix(self, borough: int) -> str:
        return "" if self.single_site else f"{self.boroughs[borough].name}."

    def pathway_service(self, borough: int, pathway: int) -> ServiceEntry | None:
        """The service a borough's patients on ``pathway`` (index into PATHWAYS) go to."""
        name = self.boroughs[borough].settings[PATHWAYS[pathway]].service
        return None if name is None else self.service(name)

    def reason_of(self, borough: int, cause: int, pathway: int) -> DelayAttribution:
        """Reason code and organisation of a delay: a pathway's own assessment reason,
        else the borough's by cause, else the service kind's default."""
        entry = self.boroughs[borough]
        if cause == FIXED_CAUSES.index("assessment"):
            own = entry.settings[PATHWAYS[pathway]].assessment.delay_reason
            if own is not None:
                return own
        name = self.causes[cause]
        if name in entry.delay_reasons:
            return entry.delay_reasons[name]
        reason, org = KIND_DELAY_REASONS[self.service(name).kind]
        return DelayAttribution(reason=reason, org=org)  # type: ignore[arg-type]

    @cached_property
    def reason_tables(self) -> tuple[np.ndarray, np.ndarray]:
        """Reason code and organisation (text arrays) by (borough, cause, pathway) code."""
        shape = (len(self.boroughs), len(self.causes), len(PATHWAYS))
        reason, org = np.empty(shape, dtype=object), np.empty(shape, dtype=object)
        for index in np.ndindex(shape):
            attribution = self.reason_of(*index)
            reason[index], org[index] = attribution.reason, attribution.org
        return reason, org

    @cached_property
    def reason_positions(self) -> tuple[np.ndarray, np.ndarray]:
        """:attr:`reason_tables` as positions in ``REASON_CODES`` and ``ORGS`` (integers)."""
        reason, org = self.reason_tables
        return (np.vectorize(REASON_CODES.index, otypes=[np.int64])(reason),
                np.vectorize(ORGS.index, otypes=[np.int64])(org))  # fmt: skip

    # ---------------------------------------------------------------- output
    def table(self) -> pd.DataFrame:
        """The code -> name table saved as ``registry.csv``: kind (trust, borough,
        service, site, cause, outcome), code, name and a JSON object of properties."""
        import pandas as pd

        rows: list[tuple[str, int, str, dict[str, Any]]] = []
        for t in self.trusts:
            rows.append(("trust", t.code, t.name, {"ods_code": t.ods_code, "beds": base_value(t.acute.beds)}))
        for b in self.boroughs:
            rows.append(("borough", b.code, b.name, {
                "modelled": b.modelled, "adults_18plus": b.population.adults_18plus,
                "aged_65plus": b.population.aged_65plus,
                "services": {p: b.settings[p].service for p in PATHWAYS},
                "assessment": {p: b.settings[p].assessment.mode for p in PATHWAYS},
            }))  # fmt: skip
        for s in self.services:
            onward = [o for o, share in s.spec.outcomes.items() if share > 0]
            rows.append(("service", s.code, s.name, {
                "service_kind": s.kind, "setting": s.spec.setting, "counts_as_dtoc": s.spec.counts_as_dtoc,
                "places": None if s.spec.capacity is None else s.spec.places(),
                "max_duration_days": s.spec.max_duration_days,
                "boroughs": [self.boroughs[b].name for b in s.boroughs], "shared": s.shared, "outcomes": onward,
            }))  # fmt: skip
        for r in self.sites:
            per_day = {k: as_json(v.per_day) for k, v in r.streams.items()}
            rows.append(("site", r.code, f"{self.boroughs[r.borough].name}->{self.trusts[r.trust].name}",
                         {"borough": self.boroughs[r.borough].name, "trust": self.trusts[r.trust].name,
                          "per_day": per_day}))  # fmt: skip
        rows += [("cause", i, name, {}) for i, name in enumerate(self.causes)]
        rows += [("outcome", i, name, {}) for i, name in enumerate(self.outcomes)]
        return pd.DataFrame(
            [(k, c, n, json.dumps(p, sort_keys=True)) for k, c, n, p in rows],
            columns=["kind", "code", "name", "properties"],
        )


_BUILT: dict[int, tuple[weakref.ref[Scenario], SystemRegistry]] = {}


def registry_of(scenario: Scenario) -> SystemRegistry:
    """The scenario's registry, built on first use and kept while the scenario lives
    (outside the frozen model, so it takes no part in scenario equality)."""
    key = id(scenario)
    hit = _BUILT.get(key)
    if hit is not None and hit[0]() is scenario:
        return hit[1]
    registry = build_registry(scenario)
    _BUILT[key] = (weakref.ref(scenario, lambda _ref: _BUILT.pop(key, None)), registry)
    return registry


def build_registry(sc: Scenario) -> SystemRegistry:
    if sc.trusts is None:
        return _single_site(sc)
    return _system(sc)


def _single_site(sc: Scenario) -> SystemRegistry:
    assert sc.acute is not None and sc.pathways is not None and sc.arrivals is not None
    trust = TrustEntry(0, SINGLE_SITE_TRUST, sc.acute)
    borough = _borough(0, SINGLE_SITE_BOROUGH, True, sc.population, sc.pathways, None, sc)
    streams: dict[str, ArrivalStream] = {"non_elective": sc.arrivals.non_elective}
    if sc.arrivals.elective is not None:
        streams["elective"] = sc.arrivals.elective
    services = _services(sc, {SINGLE_SITE_BOROUGH: 0})
    return SystemRegistry([trust], [borough], services, [SiteEntry(0, 0, 0, "", streams)], single_site=True)


def _system(sc: Scenario) -> SystemRegistry:
    assert sc.trusts is not None
    trusts = [TrustEntry(i, n, t, t.ods_code) for i, (n, t) in enumerate(sc.trusts.items())]
    trust_code = {t.name: t.code for t in trusts}
    boroughs = [
        _borough(i, name, True, b.population, sc.pathways, b, sc)
        for i, (name, b) in enumerate((sc.boroughs or {}).items())
    ]
    borough_code = {b.name: b.code for b in boroughs}
    services = _services(sc, borough_code)
    sites: list[SiteEntry] = []
    for name, admissions in (sc.admissions or {}).items():
        b = borough_code[name]
        rates = admissions.non_elective.rates()
        elective = admissions.elective
        for trust in sc.trusts:
            if max_value(rates.get(trust, 0.0)) <= 0 and (elective is None
                                                          or max_value(elective.rates().get(trust, 0.0)) <= 0):
                continue
            streams: dict[str, ArrivalStream] = {"non_elective": admissions.non_elective.at_trust(trust)}
            if elective is not None and max_value(elective.rates().get(trust, 0.0)) > 0:
                streams["elective"] = elective.at_trust(trust)
            t = trust_code[trust]
            sites.append(SiteEntry(len(sites), b, t, f"{name}.{trust}.", streams))
    for trust, out in (sc.out_of_area or {}).items():
        code = len(boroughs)
        origin = f"{OUT_OF_AREA}.{trust}"
        boroughs.append(_borough(code, origin, False, Population(), sc.pathways, out, sc))
        oa_streams: dict[str, ArrivalStream] = {"non_elective": out.non_elective}
        if out.elective is not None:
            oa_streams["elective"] = out.elective
        sites.append(SiteEntry(len(sites), code, trust_code[trust], f"{origin}.", oa_streams))
    return SystemRegistry(trusts, boroughs, services, sites, single_site=False)


def _borough(
    code: int, name: str, modelled: bool, population: Population, system: Pathways | None, own: Any, sc: Scenario
) -> BoroughEntry:
    """A borough's pathways resolved: its own shares and settings over the system's."""
    mine = getattr(own, "pathways", None)
    shares = mine.shares if mine is not None else None
    if shares is None:
        shares = system.shares if system is not None else {}
    by_band = mine.shares_by_age_band if mine is not None else None
    if by_band is None:
        by_band = system.shares_by_age_band if system is not None else {}
    defaults = system.settings if system is not None else {p: PathwaySettings() for p in PATHWAYS}
    settings = {p: (mine.settings.get(p) if mine is not None else None) or defaults[p] for p in PATHWAYS}
    reasons = {**sc.delay_reasons, **getattr(own, "delay_reasons", {})}
    return BoroughEntry(code, name, modelled, population, dict(shares), dict(by_band), settings, reasons)


def _services(sc: Scenario, borough_code: dict[str, int]) -> list[ServiceEntry]:
    out = []
    for i, (name, spec) in enumerate(sc.services.items()):
        assert spec.kind is not None  # checked by the schema
        owners = [spec.borough] if spec.borough is not None else list(spec.shared_by or borough_code)
        codes = tuple(borough_code[o] for o in owners if o in borough_code)
        out.append(ServiceEntry(i, name, spec, spec.kind, codes, shared=len(codes) > 1))
    return out

