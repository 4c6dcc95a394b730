"""Conservation of patients: everyone who arrived is in exactly one place, or has left.

Uses :class:`d2asim.model.engine.DischargeModel` directly on a scenario with every
moving part switched on: non-elective and elective arrivals with calendars,
escalation beds, deaths, on-ward assessment with and without a team, D2A, chains
(P1 -> home care with tight home-care capacity, P2/P3 -> care home), readmissions,
a P3 start calendar (Mon-Fri 09-17) with a discharge window (08-20) and a
non-empty initial state.

Invariants are checked while the model runs (every 0.25 days, at times that never
coincide with model events) from the model's pools and patients, and at the end
from the pools, ``model.live`` and the event log. ``model.live`` is found from the
pending calls and queues, so "every patient not home or dead is live" also checks that
nobody in the system is left without a next step.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import defaultdict

import numpy as np
import pytest
from helpers import exponential, fixed, lognormal, scenario_dict

from d2asim.model.engine import ASSESSMENT, DischargeModel, sim_start_date
from d2asim.model.log import ACUTE, ACUTE_PLACE, DEAD, HOME, QUEUE, SOURCES
from d2asim.scenario.loader import validate_mapping
from d2asim.scenario.schema import PATHWAYS

CHECK_EVERY = 0.25
CHECK_OFFSET = 0.1234567
ESCALATION_BEDS = 6
CORE_BEDS = 140
WEEKDAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def busy_scenario(seed_days: int = 150) -> dict:
    weekday_only = (1.0, 1.0, 1.0, 1.0, 1.0, 0.0, 0.0)
    hours = tuple([0.5] * 8 + [1.5] * 12 + [0.8] * 4)
    return scenario_dict(
        per_day=18.0,
        beds=CORE_BEDS,
        ttr={
            "P0": lognormal(4.0, 4.0),
            "P1": lognormal(6.0, 5.0),
            "P2": lognormal(7.0, 5.0),
            "P3": lognormal(8.0, 6.0),
        },
        shares={"P0": 0.55, "P1": 0.3, "P2": 0.1, "P3": 0.05},
        settings={
            "P1": {"service": "p1", "assessment": {"mode": "d2a", "delay_days": exponential(1.0)}},
            "P2": {
                "service": "p2",
                "assessment": {"mode": "on_ward", "delay_days": exponential(1.5), "team": "social_work"},
            },
            "P3": {"service": "p3", "assessment": {"mode": "on_ward", "delay_days": fixed(2.0)}},
        },
        services={
            "p1": {
                "capacity": 60,
                "setting": "home",
                "duration_days": exponential(8.0),
                "outcomes": {"home": 0.5, "home_care": 0.35, "readmission": 0.1, "death": 0.05},
            },
            "home_care": {
                "capacity": 28,
                "setting": "home",
                "duration_days": exponential(12.0),
                "outcomes": {"home": 0.7, "readmission": 0.1, "death": 0.2},
            },
            "p2": {
                "capacity": 24,
                "duration_days": lognormal(10.0, 6.0),
                "counts_as_dtoc": True,
                "outcomes": {"home": 0.6, "care_home": 0.25, "readmission": 0.1, "death": 0.05},
            },
            "p3": {
                "capacity": 24,
                "duration_days": lognormal(20.0, 10.0),
                "start_calendar": {"days": ["Mon", "Tue", "Wed", "Thu", "Fri"], "start_hour": 9, "end_hour": 17},
                "outcomes": {"care_home": 0.8, "death": 0.2},
            },
            "care_home": {"capacity": 45, "duration_days": exponential(45.0), "outcomes": {"death": 1.0}},
        },
        warmup_days=20,
        duration_days=seed_days,
        arrivals={
            "non_elective": {"per_day": 18.0, "day_of_week": (1.1, 1.0, 1.0, 1.0, 1.0, 0.9, 1.0), "hour_of_day": hours},
            "elective": {"per_day": 3.0, "day_of_week": weekday_only, "time_to_discharge_ready_days": fixed(2.0)},
        },
        acute={
            "beds": CORE_BEDS,
            "escalation": {"beds": ESCALATION_BEDS, "open_at_occupancy": 0.95},
            "death_probability": 0.03,
            "discharge_window": {"start_hour": 8, "end_hour": 20},
            "time_to_discharge_ready_days": {
                "P0": lognormal(4.0, 4.0),
                "P1": lognormal(6.0, 5.0),
                "P2": lognormal(7.0, 5.0),
                "P3": lognormal(8.0, 6.0),
            },
        },
        assessment_teams={"social_work": {"concurrent_assessments": 5}},
        readmission={"delay_days": exponential(15.0)},
        initial_state={
            "acute_occupied": 60,
            "admission_queue": 3,
            "nctr_waiting": {"P1": 4, "P3": 2},
            "services_occupied": {"p1": 20, "home_care": 20, "care_home": 25},
        },
    )


class Tracker:
    """Registers every patient object and counts acute episodes started."""

    def __init__(self, model: DischargeModel) -> None:
        self.model = model
        self.patients: dict[int, object] = {}
        self.arrivals = 0
        self.checks = 0
        for factory in (f for site in model.factories for f in site.values()):
            original = factory.new

            def new(pid=None, _original=original):  # noqa: ANN001
                p = _original(pid)
                self.patients[p.pid] = p
                return p

            factory.new = new  # type: ignore[method-assign]
        original_arrive = model.arrive

        def arrive(p):  # noqa: ANN001
            self.arrivals += 1
            self.patients[p.pid] = p
            original_arrive(p)

        model.arrive = arrive  # type: ignore[method-assign]
        model.env.process(self._monitor())

    def _monitor(self):  # noqa: ANN202
        yield self.model.env.timeout(CHECK_OFFSET)
        while True:
            check_state(self.model, self.patients)
            self.checks += 1
            yield self.model.env.timeout(CHECK_EVERY)


def target_service(model: DischargeModel, p) -> str | None:  # noqa: ANN001
    """The service a waiting patient has asked for (None if not waiting for one)."""
    if p.location == ACUTE:
        if math.isnan(p.ready) or p.seg_cause == ASSESSMENT:
            return None
        service = model.plans[p.site][p.pathway].service
        return None if service is None else service.name
    if p.location >= 0 and not math.isnan(p.end):  # finished, blocked in a service
        return model.registry.causes[p.seg_cause]
    return None


def check_state(model: DischargeModel, patients: dict) -> None:
    """Invariants of the model state at any time."""
    live = model.live
    assert set(live) == {pid for pid, p in patients.items() if p.location not in (HOME, DEAD)}
    queued = [item.pid for item, _ in model.beds.queue]
    assert len(queued) == len(set(queued))
    assert set(queued) == {pid for pid, p in live.items() if p.location == QUEUE}
    in_acute = [p for p in live.values() if p.location == ACUTE]
    assert model.beds.busy == len(in_acute)
    assert model.beds.busy <= CORE_BEDS + ESCALATION_BEDS
    if model.beds.queue:  # nobody waits while a bed is free
        assert model.beds.busy >= model.beds.capacity
    for name, service in model.services.items():
        index = service.index
        waiting = [item.pid for item, _ in service.pool.queue]
        inside = [p for p in live.values() if p.location == index]
        asking = [p for p in live.values() if target_service(model, p) == name]
        reserved = [p for p in asking if p.pid not in set(waiting)]
        assert set(waiting) <= {p.pid for p in asking}, name
        assert service.pool.busy == len(inside) + len(reserved), name
        assert service.pool.busy <= service.pool.capacity, name
        if service.pool.queue:
            assert service.pool.busy == service.pool.capacity, name
    for team in model.teams.values():
        assessing = [p for p in in_acute if p.seg_cause == ASSESSMENT and model.plans[p.site][p.pathway].team is team]
        waiting = {item.pid for item, _ in team.queue}
        assert team.busy == len(assessing) - len(waiting)
        assert team.busy <= team.capacity


@pytest.fixture(scope="module")
def finished() -> tuple[DischargeModel, Tracker]:
    sc = validate_mapping(busy_scenario(), "conservation")
    model = DischargeModel(sc, 20250401, 3)
    tracker = Tracker(model)
    model.run()
    return model, tracker


def test_state_invariants_hold_throughout(finished) -> None:  # noqa: ANN001
    """Pools agree with where patients are at every check (queue = waiting
    patients; beds busy = patients in acute; service places busy = people inside
    + places granted to people not yet moved in; capacities never exceeded; nobody
    waits while a place is free), and the final state too."""
    model, tracker = finished
    assert tracker.checks == int((model.horizon - CHECK_OFFSET) / CHECK_EVERY) + 1
    check_state(model, tracker.patients)
    # the scenario is busy enough to exercise queues, blocking and reservations
    log = model.log
    d = log.table("delays")
    causes = {model.registry.causes[int(c)] for c in d["cause"]}
    assert {"assessment", "discharge_window", "p1", "p3", "home_care", "care_home"} <= causes
    assert np.any(d["place"] != ACUTE_PLACE)
    acute = log.table("acute")
    assert np.any(acute["admit"] > acute["arrival"])  # admission queue used
    assert np.any(log.table("escalation_open")["open"] == 1)


def test_every_arrival_is_in_one_place_or_has_left(finished) -> None:  # noqa: ANN001
    """Acute episodes (rows incl. readmissions and open ones) = died in hospital +
    P0 discharged + service chains ended (home / readmission / death) + open
    service episodes + open acute episodes; open rows match ``model.live``;
    beds busy = open acute rows with a bed; queue = open rows without one."""
    model, tracker = finished
    log = model.log
    acute = log.table("acute")
    services = log.table("services")
    n = acute["patient"].size
    # one row per arrive() call, plus the initial discharge-ready patients, who are
    # placed straight into beds
    assert n == tracker.arrivals + sum(model.scenario.initial_state.nctr_waiting.values())
    open_acute = np.isinf(acute["leave"])
    open_service = np.isinf(services["leave"])
    died_acute = (acute["died"] == 1) & ~open_acute
    no_service = np.array([model.plans[0][int(p)].service is None for p in acute["pathway"]], dtype=bool)
    alive = (acute["died"] == 0) & ~open_acute
    p0_home = alive & no_service
    to_service = alive & ~no_service
    assert n == died_acute.sum() + p0_home.sum() + to_service.sum() + open_acute.sum()
    # every chain of service episodes (started by a discharge into a service, or in
    # the initial state) ends exactly once: home / readmission / death, or still open
    chained = np.isin(services["outcome"], [model.registry.outcome_code(s) for s in model.services])
    chain_end = ~open_service & ~chained
    initial_in_services = sum(model.scenario.initial_state.services_occupied.values())
    assert to_service.sum() + initial_in_services == chain_end.sum() + open_service.sum()
    # so: arrivals = left (died, home, chain ended) + in queue/acute + in services
    assert n + initial_in_services == (
        died_acute.sum() + p0_home.sum() + chain_end.sum() + open_service.sum() + open_acute.sum()
    )
    # each move to the next service is a service episode: chained rows = rows
    # started by a chain, i.e. all rows minus the chains' first rows
    assert chained.sum() == services["patient"].size - to_service.sum() - initial_in_services
    # open rows are exactly the live patients, each in one place
    open_pids = (
        acute["patient"][open_acute].astype(int).tolist() + services["patient"][open_service].astype(int).tolist()
    )
    assert len(open_pids) == len(set(open_pids))
    assert set(open_pids) == set(model.live)
    assert model.beds.busy == int(np.sum(open_acute & ~np.isnan(acute["admit"])))
    assert len(model.beds.queue) == int(np.sum(open_acute & np.isnan(acute["admit"])))
    for name, service in model.services.items():
        mine = open_service & (services["service"] == service.index)
        reserved = [
            p
            for p in model.live.values()
            if target_service(model, p) == name and p.pid not in {q.pid for q, _ in service.pool.queue}
        ]
        assert service.pool.busy == int(mine.sum()) + len(reserved), name
    # persons: where the log says each one went matches where the model has them
    last: dict[int, tuple[float, str]] = {}
    for pid, leave, died, pathway in zip(
        acute["patient"], acute["leave"], acute["died"], acute["pathway"], strict=True
    ):
        where = (
            "acute"
            if math.isinf(leave)
            else "dead"
            if died
            else ("home" if model.plans[0][int(pathway)].service is None else "service")
        )
        if int(pid) not in last or leave >= last[int(pid)][0]:
            last[int(pid)] = (leave, where)
    for pid, leave, outcome in zip(services["patient"], services["leave"], services["outcome"], strict=True):
        name = "service" if math.isinf(leave) else model.registry.outcomes[int(outcome)]
        where = {"death": "dead", "home": "home", "readmission": "home"}.get(name, "service")
        if int(pid) not in last or leave >= last[int(pid)][0]:
            last[int(pid)] = (leave, where)
    expected = {"home": {HOME}, "dead": {DEAD}, "acute": {ACUTE, QUEUE}, "service": set(range(len(model.services)))}
    for pid, p in tracker.patients.items():
        assert pid in last, pid
        assert p.location in expected[last[pid][1]], (pid, last[pid], p.location)
    deaths = int(died_acute.sum() + np.sum(services["outcome"] == model.registry.outcome_code("death")))
    assert deaths == sum(p.location == DEAD for p in tracker.patients.values())


def test_one_place_at_a_time_and_delays_fill_the_wait(finished) -> None:  # noqa: ANN001
    """Per person the episodes (acute [arrival, leave), service [start, leave))
    never overlap and hand-offs are instantaneous (acute leave = service start;
    leaving one service = starting the next); readmissions follow a readmission
    outcome. Every moment from discharge ready to leaving the bed is covered by
    delay segments (their durations sum to leave - ready), and likewise from the
    end of a service to leaving it."""
    model, tracker = finished
    log = model.log
    acute = log.table("acute")
    services = log.table("services")
    delays = log.table("delays")
    episodes: dict[int, list[tuple[float, float, str, int]]] = defaultdict(list)
    for pid, src, arr, leave in zip(acute["patient"], acute["source"], acute["arrival"], acute["leave"], strict=True):
        episodes[int(pid)].append((arr, leave, "acute", int(src)))
    for pid, start, leave, out in zip(
        services["patient"], services["start"], services["leave"], services["outcome"], strict=True
    ):
        episodes[int(pid)].append((start, leave, "service", int(out)))
    readmit = SOURCES.index("readmission")
    for pid, eps in episodes.items():
        eps.sort(key=lambda e: (e[0], e[2] == "service"))
        for prev, nxt in zip(eps, eps[1:], strict=False):
            assert nxt[0] >= prev[1], (pid, prev, nxt)
            if nxt[2] == "service":
                assert nxt[0] == prev[1], (pid, prev, nxt)  # hand-off without a gap
            if nxt[2] == "acute":
                readmission = model.registry.outcome_code("readmission")
                assert nxt[3] == readmit and prev[2] == "service" and prev[3] == readmission
    assert np.sum(acute["source"] == readmit) > 0
    # delays fill the time from discharge ready to leaving the acute bed
    in_acute = delays["place"] == ACUTE_PLACE
    per_pid_acute: dict[int, list[tuple[float, float]]] = defaultdict(list)
    for pid, s, e in zip(delays["patient"][in_acute], delays["start"][in_acute], delays["end"][in_acute], strict=True):
        per_pid_acute[int(pid)].append((s, e))
    for pid, ready, leave, died in zip(acute["patient"], acute["ready"], acute["leave"], acute["died"], strict=True):
        if np.isnan(ready) or died:
            continue
        end = min(leave, model.horizon)
        mine = [(s, e) for s, e in per_pid_acute[int(pid)] if ready <= s < end]
        total = sum(e - s for s, e in mine)
        assert total == pytest.approx(end - ready, abs=1e-9), (pid, ready, leave, mine)
    for pid, idx, end_, leave in zip(
        services["patient"], services["service"], services["end"], services["leave"], strict=True
    ):
        if np.isnan(end_):
            continue
        stop = min(leave, model.horizon)
        mine = delays["patient"] == pid
        mine &= delays["place"] == idx
        mine &= (delays["start"] >= end_) & (delays["start"] < stop)
        total = float(np.sum(delays["end"][mine] - delays["start"][mine]))
        assert total == pytest.approx(stop - end_, abs=1e-9), (pid, idx, end_, leave)


def test_calendars_are_respected(finished) -> None:  # noqa: ANN001
    """Live discharges leave the acute bed only within 08-20; P3 starts only
    Mon-Fri 09-17; elective arrivals only Mon-Fri."""
    model, _ = finished
    log = model.log
    first = sim_start_date(model.scenario)
    acute = log.table("acute")
    left = (acute["died"] == 0) & np.isfinite(acute["leave"])
    hours = (acute["leave"][left] % 1.0) * 24.0
    assert hours.min() >= 8.0 - 1e-9 and hours.max() < 20.0
    services = log.table("services")
    p3 = services["service"] == model.registry.code("services", "p3")
    starts = services["start"][p3]
    assert starts.size > 20
    weekdays = {WEEKDAY_NAMES[(first + dt.timedelta(days=int(t))).weekday()] for t in starts}
    assert weekdays <= {"Mon", "Tue", "Wed", "Thu", "Fri"}
    h = (starts % 1.0) * 24.0
    assert h.min() >= 9.0 - 1e-9 and h.max() < 17.0
    elective = acute["source"] == SOURCES.index("elective")
    assert elective.sum() > 50
    e_days = {(first + dt.timedelta(days=int(t))).weekday() for t in acute["arrival"][elective]}
    assert e_days <= {0, 1, 2, 3, 4}


def test_initial_nctr_patients_get_their_pathway_service_stay() -> None:
    """Patients placed in the initial state as discharge ready on P1 must, once
    they reach P1, stay for a P1 duration. ``seed_initial_state`` draws a whole new
    patient (pathway from the shares, and the first service stay of *that*
    pathway) and only then overwrites ``pathway``: with P0 share 1, every initial
    P1 patient got a P1 stay of 0 days (the P0 'stay')."""
    data = scenario_dict(
        per_day=0.0,
        beds=50,
        ttr=fixed(1.0),
        settings={"P1": {"service": "p1"}},
        services={"p1": {"duration_days": fixed(10.0)}},
        warmup_days=0,
        duration_days=30,
        initial_state={"nctr_waiting": {"P1": 5}},
    )
    sc = validate_mapping(data, "initial")
    log = DischargeModel(sc, 1, 0).run()
    s = log.table("services")
    assert s["patient"].size == 5
    assert np.all(s["pathway"] == PATHWAYS.index("P1"))
    np.testing.assert_allclose(s["end"] - s["start"], 10.0)


def test_readmitted_patient_waiting_for_a_bed_is_in_the_queue() -> None:
    """A readmitted patient waiting for an acute bed is in the admission queue:
    ``arrive`` must set ``location = QUEUE`` (new patients start there, but a
    readmitted one kept ``HOME``). Otherwise the episode still waiting at the end
    gets no open acute row (``_close_open_records`` only writes rows for ACUTE /
    QUEUE), so it vanishes from the log and from the admission-queue series, and
    the 91-day reablement check counts the patient as at home."""
    data = scenario_dict(
        per_day=4.0,
        beds=2,
        ttr=fixed(0.2),
        shares={"P0": 0.0, "P1": 1.0, "P2": 0.0, "P3": 0.0},
        settings={"P1": {"service": "p1"}},
        services={"p1": {"duration_days": fixed(0.1), "outcomes": {"readmission": 1.0}}},
        readmission={"delay_days": fixed(0.1)},
        warmup_days=0,
        duration_days=20,
    )
    model = DischargeModel(validate_mapping(data, "readmit"), 7, 0)
    log = model.run()
    readmitted_waiting = [item for item, _ in model.beds.queue if item.source == SOURCES.index("readmission")]
    assert readmitted_waiting, "scenario should end with readmitted patients waiting for a bed"
    assert all(p.location == QUEUE for p in readmitted_waiting)
    acute = log.table("acute")
    services = log.table("services")
    open_rows = np.isinf(acute["leave"])
    open_pids = acute["patient"][open_rows].tolist() + services["patient"][np.isinf(services["leave"])].tolist()
    assert sorted(int(x) for x in open_pids) == sorted(model.live)
    assert int(np.sum(open_rows & np.isnan(acute["admit"]))) == len(model.beds.queue)


def test_initial_nctr_patients_wait_when_their_service_starts_full() -> None:
    """A census with patients waiting for a full service: they are waiting because the
    places are taken, so they must not be given places before the service's occupants
    are seeded. With P1 full (3 of 3 places, 10-day stays) the 2 waiting patients leave
    only as places free up, not at time 0."""
    data = scenario_dict(
        per_day=0.0,
        beds=50,
        ttr=fixed(1.0),
        settings={"P1": {"service": "p1"}},
        services={"p1": {"capacity": 3, "duration_days": fixed(10.0)}},
        warmup_days=0,
        duration_days=30,
        initial_state={"nctr_waiting": {"P1": 2}, "services_occupied": {"p1": 3}},
    )
    log = DischargeModel(validate_mapping(data, "full"), 1, 0).run()
    acute = log.table("acute")
    waited = acute["leave"][acute["ready"] == 0]
    assert waited.size == 2 and np.all(waited > 0.5)  # the first residual stay ends after time 0


def test_initial_p0_patients_are_part_way_through_their_wait() -> None:
    """A census's discharge-ready P0 patients (no service to wait for) are in the middle of
    their on-ward wait: they leave after its residual time, mean E[X^2] / (2 E[X]) for a
    wait X (length-biased: mostly the multi-day component), not after a fresh wait."""
    mixture = {"type": "mixture", "weights": {"same_day": 0.9, "multi_day": 0.1},
               "components": {"same_day": fixed(0.25), "multi_day": exponential(5.0)}}
    data = scenario_dict(per_day=0.0, beds=2500, ttr=fixed(1.0), warmup_days=0, duration_days=200,
                         settings={"P0": {"assessment": {"mode": "on_ward", "delay_days": mixture}}},
                         initial_state={"nctr_waiting": {"P0": 2000}})
    log = DischargeModel(validate_mapping(data, "census"), 3, 0).run()
    left = log.table("acute")["leave"]
    assert left.size == 2000 and np.all(np.isfinite(left))
    # E[X] = 0.9 x 0.25 + 0.1 x 5; E[X^2] = 0.9 x 0.25^2 + 0.1 x 2 x 5^2
    expected = (0.9 * 0.25**2 + 0.1 * 2 * 25) / (2 * (0.9 * 0.25 + 0.1 * 5))
    assert abs(left.mean() - expected) <= 3.29 * left.std(ddof=1) / math.sqrt(left.size)
