"""Where patients were at given times, read back from the event log.

Used for follow-up outcomes (ASCOF 2B: at home 91 days after reablement) so the
model needs no follow-up event per patient. A patient is *away from home* at time
``t`` (days) while in the admission queue or an acute bed, while in a service whose
declared ``setting`` is ``bed`` (a ``home`` service is care at home), and after death. A move at exactly ``t`` is
counted as not yet made (intervals are open on the left, closed on the right), which
is what a follow-up event scheduled at the discharge would have seen.
"""

from __future__ import annotations

import numpy as np

from d2asim.model.log import EventLog
from d2asim.system.registry import DEATH


def away_intervals(log: EventLog, at_home_services: list[int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(patient, after, until)`` of every spell away from home: away when
    ``after < t <= until`` (days; ``until = inf`` for death and open episodes).
    ``at_home_services``: codes of the services delivered at home."""
    acute, services = log.table("acute"), log.table("services")
    in_service = ~np.isin(services["service"], at_home_services)
    died_in_acute = acute["died"] == 1
    died_in_service = services["outcome"] == DEATH
    patient = np.concatenate([acute["patient"], services["patient"][in_service],
                              acute["patient"][died_in_acute], services["patient"][died_in_service]])  # fmt: skip
    after = np.concatenate([acute["arrival"], services["start"][in_service],
                            acute["leave"][died_in_acute], services["leave"][died_in_service]])  # fmt: skip
    until = np.concatenate([acute["leave"], services["leave"][in_service],
                            np.full(int(died_in_acute.sum() + died_in_service.sum()), np.inf)])  # fmt: skip
    return patient, after, until


def at_home(log: EventLog, patient: np.ndarray, t: np.ndarray, at_home_services: list[int]) -> np.ndarray:
    """Whether each ``patient[i]`` was at home (home, or in a service delivered at
    home) at time ``t[i]`` (days). Vectorised over every (query, spell of that patient) pair."""
    spell_patient, after, until = away_intervals(log, at_home_services)
    order = np.argsort(spell_patient, kind="stable")
    spell_patient, after, until = spell_patient[order], after[order], until[order]
    first = np.searchsorted(spell_patient, patient, side="left")
    count = np.searchsorted(spell_patient, patient, side="right") - first
    query = np.repeat(np.arange(patient.size), count)
    offset = np.arange(query.size) - np.repeat(np.cumsum(count) - count, count)
    spell = first[query] + offset
    inside = (after[spell] < t[query]) & (t[query] <= until[spell])
    return np.bincount(query, weights=inside, minlength=patient.size) == 0
