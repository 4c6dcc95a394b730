"""Cross-reference checks of a whole scenario (run by ``Scenario``'s model validator).

Each problem raises ``ValueError("FIELD.PATH: what is wrong (allowed ...)")``; the
error formatter turns the leading path into the field path of the one-line message.
Both forms are checked: single-site (``acute``, ``arrivals``, ``pathways``) and system
(``trusts``, ``boroughs``, ``admissions``, ``out_of_area``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING

from d2asim.scenario.feasibility import check_feasible
from d2asim.scenario.names import FIXED_CAUSES, PATHWAYS, PLACE_NAME, SERVICE_KINDS, TERMINAL_OUTCOMES, windows_overlap

if TYPE_CHECKING:
    from d2asim.scenario.schema import Acute, ArrivalStream, BoroughPathways, PathwaySettings, Scenario, Service

SINGLE_SITE_ONLY = ("acute", "arrivals")
SYSTEM_ONLY = ("boroughs", "admissions", "out_of_area")


def check_scenario(sc: Scenario) -> None:
    """Raise ``ValueError`` on the first cross-reference problem of ``sc``."""
    _check_form(sc)
    _check_names(sc)
    trusts = _trusts(sc)
    bands = {b.name for b in sc.age_bands}
    for where, acute in trusts.items():
        _check_bands(f"{where}.time_to_discharge_ready_by_age_band", acute.time_to_discharge_ready_by_age_band, bands)
        if isinstance(acute.death_probability, dict):
            _check_bands(f"{where}.death_probability", acute.death_probability, bands)
    if sc.pathways is not None:
        _check_bands("pathways.shares_by_age_band", sc.pathways.shares_by_age_band, bands)
    for where, stream in _streams(sc):
        if isinstance(stream.growth_per_year, dict):
            _check_bands(f"{where}.growth_per_year", stream.growth_per_year, bands)
    for name, service in sc.services.items():
        _check_service(sc, name, service, trusts)
    _check_reasons("delay_reasons", sc.delay_reasons, sc)
    if sc.trusts is None:
        assert sc.pathways is not None
        for pathway, settings in sc.pathways.settings.items():
            _check_pathway(sc, f"pathways.settings.{pathway}", settings, None)
    else:
        _check_system(sc, bands)
    _check_initial_state(sc)
    check_feasible(sc)


def _check_form(sc: Scenario) -> None:
    if sc.trusts is None:
        for key in ("acute", "arrivals", "pathways"):
            if getattr(sc, key) is None:
                raise ValueError(
                    f"{key}: required field is missing (or write the system form: trusts, boroughs, admissions)"
                )
        for key in SYSTEM_ONLY:
            if getattr(sc, key) is not None:
                raise ValueError(f"{key}: only in the system form (needs trusts instead of acute)")
        for name, service in sc.services.items():
            for key in ("borough", "shared_by"):
                if getattr(service, key) is not None:
                    raise ValueError(f"services.{name}.{key}: only in the system form (trusts, boroughs)")
        return
    for key in SINGLE_SITE_ONLY:
        if getattr(sc, key) is not None:
            raise ValueError(f"{key}: not with trusts (the system form): give it per trust or per borough")
    if sc.population.adults_18plus is not None or sc.population.aged_65plus is not None:
        raise ValueError("population: not with trusts (the system form): give boroughs.NAME.population")
    if not sc.trusts:
        raise ValueError("trusts: needs at least one trust")
    if not sc.boroughs and not sc.out_of_area:
        raise ValueError("boroughs: needs at least one borough (or out_of_area admissions)")
    if not sc.admissions and not sc.out_of_area:
        raise ValueError("admissions: needs admissions by borough (or out_of_area admissions)")


def _check_names(sc: Scenario) -> None:
    seen: dict[str, str] = {}
    groups: dict[str, Mapping[str, object]] = {"trusts": sc.trusts or {}, "boroughs": sc.boroughs or {},
                                               "services": sc.services}
    for group, names in groups.items():
        for name in names:
            if not PLACE_NAME.match(name):
                raise ValueError(f"{group}.{name}: a name is a letter then letters, digits, _ or - (no dots or spaces)")
            if name in seen:
                raise ValueError(f"{group}.{name}: name already used in {seen[name]} (names must be unique)")
            seen[name] = group


def _streams(sc: Scenario) -> list[tuple[str, ArrivalStream]]:
    """Every admission stream as written, by its field path."""
    groups: dict[str, object] = {"arrivals": sc.arrivals} if sc.arrivals is not None else {}  # each has the streams
    groups.update({f"admissions.{b}": a for b, a in (sc.admissions or {}).items()})
    groups.update({f"out_of_area.{t}": o for t, o in (sc.out_of_area or {}).items()})
    out = []
    for where, group in groups.items():
        for source in ("non_elective", "elective"):
            stream = getattr(group, source)
            if stream is not None:
                out.append((f"{where}.{source}", stream))
    return out


def _trusts(sc: Scenario) -> dict[str, Acute]:
    """Each trust's acute block by its field path."""
    if sc.trusts is None:
        assert sc.acute is not None
        return {"acute": sc.acute}
    return {f"trusts.{name}": trust for name, trust in sc.trusts.items()}


def _check_bands(where: str, mapping: Mapping[str, object] | None, bands: set[str]) -> None:
    unknown = sorted(set(mapping or {}) - bands)
    if unknown:
        raise ValueError(f"{where}: unknown age band {unknown[0]!r} (allowed: {', '.join(sorted(bands))})")


def _allowed(names: Iterable[str]) -> str:
    return ", ".join(names) or "none"


def _check_service(sc: Scenario, name: str, service: Service, trusts: dict[str, Acute]) -> None:
    where = f"services.{name}"
    if service.kind is None:
        raise ValueError(f"{where}.kind: required field is missing (allowed: {', '.join(SERVICE_KINDS)})")
    for trust_where, acute in trusts.items():
        if not windows_overlap(acute.discharge_window, service.start_calendar):
            raise ValueError(
                f"{where}.start_calendar: never open while {trust_where}.discharge_window is "
                "(no common weekday and hours), so nobody could ever move"
            )
    for outcome, share in service.outcomes.items():
        if outcome not in TERMINAL_OUTCOMES and outcome not in sc.services and share > 0:
            allowed = _allowed([*TERMINAL_OUTCOMES, *sc.services])
            raise ValueError(f"{where}.outcomes.{outcome}: not an outcome or a service (allowed: {allowed})")
        if outcome == "readmission" and share > 0 and sc.readmission is None:
            raise ValueError(f"{where}.outcomes.readmission: needs a readmission block")
    boroughs = sc.boroughs or {}
    if service.borough is not None and service.shared_by is not None:
        raise ValueError(f"{where}.shared_by: give borough or shared_by, not both")
    for owner in [service.borough] if service.borough is not None else list(service.shared_by or ()):
        if owner not in boroughs:
            raise ValueError(f"{where}: unknown borough {owner!r} (allowed: {_allowed(boroughs)})")
    if service.shared_by is not None and not service.shared_by:
        raise ValueError(f"{where}.shared_by: needs at least one borough")


def _check_reasons(where: str, reasons: Mapping[str, object], sc: Scenario) -> None:
    for cause in reasons:
        if cause not in FIXED_CAUSES and cause not in sc.services:
            allowed = _allowed([*FIXED_CAUSES, *sc.services])
            raise ValueError(f"{where}.{cause}: not a delay cause (allowed: {allowed})")


def _check_pathway(sc: Scenario, where: str, settings: PathwaySettings, borough: str | None) -> None:
    service = settings.service
    if service is not None and service not in sc.services:
        raise ValueError(f"{where}.service: {service!r} has no services block (defined: {_allowed(sc.services)})")
    if service is not None and borough is not None:
        spec = sc.services[service]
        owners = (spec.borough,) if spec.borough is not None else spec.shared_by
        if owners is not None and borough not in owners:
            raise ValueError(
                f"{where}.service: {service!r} is not commissioned for {borough} (its boroughs: {_allowed(owners)})"
            )
    team = settings.assessment.team
    if team is not None and team not in sc.assessment_teams:
        raise ValueError(f"{where}.assessment.team: unknown team {team!r} (defined: {_allowed(sc.assessment_teams)})")
    if team is not None and settings.assessment.mode != "on_ward":
        raise ValueError(f"{where}.assessment.team: only used with mode: on_ward")


def _check_system(sc: Scenario, bands: set[str]) -> None:
    trusts = sc.trusts or {}
    boroughs = sc.boroughs or {}
    for name, borough in boroughs.items():
        _check_place_pathways(sc, f"boroughs.{name}.pathways", borough.pathways, name, bands)
        _check_reasons(f"boroughs.{name}.delay_reasons", borough.delay_reasons, sc)
    for name, admissions in (sc.admissions or {}).items():
        if name not in boroughs:
            raise ValueError(f"admissions.{name}: unknown borough (allowed: {_allowed(boroughs)})")
        for source in ("non_elective", "elective"):
            stream = getattr(admissions, source)
            if stream is None:
                continue
            for key in ("by_trust", "trust_shares"):
                for trust in getattr(stream, key) or {}:
                    if trust not in trusts:
                        where = f"admissions.{name}.{source}.{key}.{trust}"
                        raise ValueError(f"{where}: unknown trust (allowed: {_allowed(trusts)})")
    for trust, out in (sc.out_of_area or {}).items():
        if trust not in trusts:
            raise ValueError(f"out_of_area.{trust}: unknown trust (allowed: {_allowed(trusts)})")
        _check_place_pathways(sc, f"out_of_area.{trust}.pathways", out.pathways, None, bands)


def _check_place_pathways(
    sc: Scenario, where: str, own: BoroughPathways, borough: str | None, bands: set[str]
) -> None:
    """A borough's (or out-of-area) pathways resolved over the system's: shares exist,
    services exist and are commissioned for it, teams exist."""
    if own.shares is None and sc.pathways is None:
        raise ValueError(f"{where}.shares: required when there is no system-wide pathways block")
    _check_bands(f"{where}.shares_by_age_band", own.shares_by_age_band, bands)
    for pathway in PATHWAYS:
        settings = own.settings.get(pathway)
        if settings is not None:
            _check_pathway(sc, f"{where}.settings.{pathway}", settings, borough)
        elif sc.pathways is not None:
            _check_pathway(sc, f"pathways.settings.{pathway}", sc.pathways.settings[pathway], borough)
        elif pathway != "P0":
            raise ValueError(f"{where}.settings.{pathway}: required when there is no system-wide pathways block")


def _check_initial_state(sc: Scenario) -> None:
    state = sc.initial_state
    if state is None:
        return
    for name in state.services_occupied:
        if name not in sc.services:
            where = f"initial_state.services_occupied.{name}"
            raise ValueError(f"{where}: needs a services.{name} block (defined: {_allowed(sc.services)})")
    if sc.trusts is not None and len(sc.trusts) > 1:
        for key in ("acute_occupied", "admission_queue", "nctr_waiting"):
            if getattr(state, key):
                raise ValueError(f"initial_state.{key}: in the system form only with one trust "
                                 "(with several, say which trust's beds: not supported yet)")
