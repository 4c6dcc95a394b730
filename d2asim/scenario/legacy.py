"""The single-site form's fixed service names, read as declared services.

Before services were declared by kind, a scenario had five services whose behaviour
hung on their names. A single-site scenario that uses those names keeps working: each
gets the kind its name meant, ``p1`` the 42-day reablement cap, ``home_care`` the
``home`` setting unless it says otherwise (it was always counted as at home), and its
outcomes the order the old engine drew them in (so its results are unchanged draw for
draw).
This module and :mod:`d2asim.scenario.migrate` are the only places those names mean
anything; the model reads kinds.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from d2asim.scenario.schema import Service

LEGACY_SERVICE_KINDS = {
    "p1": "reablement",
    "p2": "bedded_intermediate_care",
    "p3": "care_home_assessment_bed",
    "home_care": "long_term_home_care",
    "care_home": "permanent_care_home",
}
LEGACY_MAX_DAYS = {"p1": 42.0}  # reablement is free for up to 6 weeks (Care and Support Regulations 2014)
LEGACY_AT_HOME = ("home_care",)  # at home (ASCOF 2B) unless its setting says otherwise
LEGACY_OUTCOME_ORDER = ("home", "home_care", "care_home", "readmission", "death")
LEGACY_PATHWAY_SERVICES = {"P1": "p1", "P2": "p2", "P3": "p3"}  # a pathway's service when settings do not say


def legacy_services(services: dict[str, Service]) -> dict[str, Service]:
    """Single-site services with the kind and cap their legacy names meant filled in
    (where not given) and outcomes in the legacy draw order."""
    out = {}
    for name, service in services.items():
        update: dict[str, object] = {"outcomes": _legacy_order(service.outcomes)}
        if service.kind is None and name in LEGACY_SERVICE_KINDS:
            update["kind"] = LEGACY_SERVICE_KINDS[name]
        if service.max_duration_days is None and name in LEGACY_MAX_DAYS:
            update["max_duration_days"] = LEGACY_MAX_DAYS[name]
        if name in LEGACY_AT_HOME and "setting" not in service.model_fields_set:
            update["setting"] = "home"
        out[name] = service.model_copy(update=update)
    return out


def _legacy_order(outcomes: dict[str, float]) -> dict[str, float]:
    rank = {key: i for i, key in enumerate(LEGACY_OUTCOME_ORDER)}
    return dict(sorted(outcomes.items(), key=lambda kv: rank.get(kv[0], len(rank))))
