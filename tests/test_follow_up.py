"""The 91-day reablement outcome (ASCOF 2B) read from the event log equals what a
follow-up event per patient sees in the running model."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from helpers import simulate

from d2asim.metrics.replication import FOLLOW_UP_DAYS
from d2asim.metrics.whereabouts import at_home
from d2asim.model.engine import DischargeModel, ServiceRuntime
from d2asim.model.log import ACUTE, HOME, EventLog
from d2asim.model.patients import Patient
from d2asim.scenario.loader import load_scenario, with_overrides
from d2asim.system.registry import DEATH, READMISSION, registry_of

BASELINE = Path(__file__).resolve().parents[1] / "scenarios" / "baseline.yaml"


class FollowUpModel(DischargeModel):
    """The model plus a follow-up event 91 days after each discharge into P1 that
    records where the patient is then (the independent reading)."""

    def __init__(self, *args: object) -> None:
        super().__init__(*args)  # type: ignore[arg-type]
        self.seen: list[tuple[int, float, bool, bool]] = []

    def start_service(self, p: Patient, service: ServiceRuntime, stay: float, outcome_u: float) -> None:
        now = self.env._now
        discharged_into_p1 = service.is_reablement and p.location == ACUTE  # from the acute bed, not a service
        aged_65plus = p.aged_65plus  # at the discharge (a readmission redraws the age band)
        super().start_service(p, service, stay, outcome_u)
        if discharged_into_p1:
            self.after(FOLLOW_UP_DAYS, lambda q: self._look(q, now, aged_65plus), p)

    def _look(self, p: Patient, discharged: float, aged_65plus: bool) -> None:
        at_home_now = p.location == HOME or (p.location >= 0 and self.by_index[p.location].entry.at_home)
        self.seen.append((p.pid, discharged, aged_65plus, at_home_now))


def _busy_baseline() -> object:
    """The bundled baseline with more readmissions, deaths and onward care, so every
    kind of move (readmission, death, home care, care home) happens within 91 days."""
    return with_overrides(load_scenario(BASELINE), {
        "run": {"warmup_days": 120, "duration_days": 240},
        "services": {"p1": {"outcomes": {"home": 0.4, "home_care": 0.2, "care_home": 0.1,
                                         "readmission": 0.2, "death": 0.1}}},
    }, "test")  # fmt: skip


def test_log_reading_equals_a_follow_up_event_per_patient() -> None:
    scenario = _busy_baseline()
    model = FollowUpModel(scenario, 3, 0)
    log = model.run()
    seen = np.array(model.seen, dtype=float)
    assert len(seen) > 500
    assert 0.3 < seen[:, 3].mean() < 0.9, "the scenario should send people both home and elsewhere"
    at_home_services = [s.code for s in registry_of(scenario).services if s.at_home]
    from_log = at_home(log, seen[:, 0], seen[:, 1] + FOLLOW_UP_DAYS, at_home_services)
    np.testing.assert_array_equal(from_log, seen[:, 3].astype(bool))

    _, _, _, metrics = simulate(scenario, 3, 0)
    older = (seen[:, 2] == 1) & (seen[:, 1] >= scenario.run.warmup_days)
    expected = 100.0 * seen[older, 3].mean()
    assert metrics["pct_65plus_at_home_91_days_after_reablement"] == expected


def _log(acute: list[tuple], services: list[tuple]) -> EventLog:
    log = EventLog()
    log.acute, log.services = acute, services
    log.horizon = 100.0
    return log


def test_a_move_at_the_follow_up_instant_is_not_yet_made() -> None:
    """Patient 1 is readmitted at t = 30 and leaves hospital at t = 40; patient 2 is
    in home care, then a care home from t = 20; patient 3 dies in reablement at t = 15."""
    inf = np.inf
    p1, home_care, care_home = 0, 1, 2  # service codes; home care is delivered at home
    onto = 3  # outcome code of moving on to service s: onto + s (after home, readmission, death)
    log = _log(
        acute=[(1, 0, 0, 1, 0.0, 0.0, 5.0, 10.0, 0, 0, 0), (1, 2, 0, 0, 30.0, 30.0, 35.0, 40.0, 0, 0, 0),
               (2, 0, 0, 1, 0.0, 0.0, 5.0, 10.0, 0, 0, 0), (3, 0, 0, 1, 0.0, 0.0, 5.0, 10.0, 0, 0, 0)],
        services=[(1, p1, 0, 1, 10.0, 10.0, 20.0, 20.0, READMISSION, 0, 0),
                  (2, p1, 0, 1, 10.0, 10.0, 15.0, 15.0, onto + home_care, 0, 0),
                  (2, home_care, 0, 1, 15.0, 15.0, 18.0, 20.0, onto + care_home, 0, 0),
                  (2, care_home, 0, 1, 20.0, 20.0, 90.0, inf, -1, 0, 0),
                  (3, p1, 0, 1, 10.0, 10.0, 15.0, 15.0, DEATH, 0, 0)],
    )  # fmt: skip
    patient = np.array([1, 1, 1, 1, 1, 2, 2, 2, 3, 3])
    t = np.array([25.0, 30.0, 30.5, 40.0, 40.5, 16.0, 20.0, 20.5, 15.0, 15.5])
    expected = [True, True, False, False, True, True, True, False, False, False]
    np.testing.assert_array_equal(at_home(log, patient, t, [home_care]), expected)
