"""The discharge-pathway model: one SimPy environment, events as callbacks.

Flow of one episode (times in days)::

    arrive -> [admission queue] -> acute bed -> time to discharge ready
      -> died in hospital, or discharge ready: the DELAY starts
      -> on_ward assessment (waiting for an assessor, then assessing) | d2a: none
      -> waits for a downstream place (keeps the acute bed)
      -> waits for the discharge window and the service's start calendar
      -> leaves the bed: home (P0) or into the service (P1-P3)
    service -> outcome: home | home_care | care_home | readmission | death;
      waiting for the next place keeps the current one (delays chain back).

SimPy is the event scheduler; patients are plain objects moved by callbacks
rather than one generator process each, which keeps a replication fast. The clock
is read as ``env._now`` (what ``env.now`` returns) in these hot paths.
"""

from __future__ import annotations

import datetime as dt
import gc
import itertools
import math
from collections.abc import Callable
from typing import NamedTuple

import numpy as np

from d2asim.model.calendar import DAYS_PER_YEAR, OpenWindow, arrival_times, band_weights, earliest_common
from d2asim.model.initial_state import seed_initial_state
from d2asim.model.log import ACUTE, ACUTE_PLACE, DEAD, HOME, QUEUE, SOURCES, EventLog
from d2asim.model.patients import SERVICE_INDEX, Episode, Patient, PatientFactory, cumulative, pick
from d2asim.model.pool import Pool
from d2asim.model.scheduler import CallbackEnvironment
from d2asim.model.schedules import install_schedules
from d2asim.model.start_limits import StartLimit
from d2asim.model.streams import Streams
from d2asim.scenario.schedule import max_value, value_on
from d2asim.scenario.schema import DELAY_CAUSES, OUTCOMES, PATHWAYS, Scenario, Service

CAUSE = {name: i for i, name in enumerate(DELAY_CAUSES)}
OUTCOME = {name: i for i, name in enumerate(OUTCOMES)}
REACHABLE_FROM_OUTCOME = {OUTCOME["home_care"]: "home_care", OUTCOME["care_home"]: "care_home"}
ESCALATION_CHECK_HOUR = 8.0
BOUND_ONCE = ("_admit", "_treated", "_assess", "_assessed", "_place_granted", "_discharge", "_service_ended")
ARRIVAL_BLOCK = 2048  # arrivals whose attributes are drawn at once
LOG_FLUSH_DAYS = 5.0  # how often the log compacts its rows into float blocks (EventLog.flush)


def sim_start_date(scenario: Scenario) -> dt.date:
    """Calendar date of simulation day 0 (the first warm-up day)."""
    return scenario.run.start_date - dt.timedelta(days=scenario.run.warmup_days)


class ServiceRuntime:
    """A downstream service during a run: its pool, calendar, stays and outcomes."""

    def __init__(self, name: str, spec: Service, streams: Streams, start_date: dt.date) -> None:
        self.index = SERVICE_INDEX[name]
        self.name = name
        self.spec = spec
        self.pool: Pool[Patient] = Pool(spec.places_for(value_on(spec.capacity, start_date)))
        self.window = OpenWindow(spec.start_calendar, start_date.weekday())
        limits = spec.starts_by_weekday()
        self.start_limit = None if spec.max_starts_per_day is None else StartLimit(limits, start_date.weekday())
        self.max_days = spec.max_duration_days or math.inf
        self.draw_stay = streams.sampler(f"{name}.duration", spec.duration_days)
        self.draw_outcome = streams.uniform(f"{name}.outcome")
        self.outcome_cum = cumulative(spec.outcomes, OUTCOMES)
        self.cause = CAUSE[name]


class PathwayPlan(NamedTuple):
    """How a pathway runs: assessment on the ward or not, by which team, into which
    service, whether a D2A assessment adds to the service stay, and the calendars that
    must all be open to leave the acute bed (none if both are always open)."""

    on_ward: bool
    team: Pool[Patient] | None
    service: ServiceRuntime | None
    d2a_extends_stay: bool
    leave_windows: list[OpenWindow]
    start_limit: StartLimit | None


class DischargeModel:
    """One replication of a scenario. ``run()`` returns the :class:`EventLog`."""

    def __init__(self, scenario: Scenario, seed: int, replication: int) -> None:
        self.scenario = scenario
        self.streams = Streams(seed, replication)
        self.env = CallbackEnvironment()
        self.after = self.env.call_after  # after(delay, handler, patient): handler(patient) in delay days
        for handler in BOUND_ONCE:  # else each read of self.<handler> builds a bound method per event
            setattr(self, handler, getattr(self, handler))
        self.log = EventLog()
        self.horizon = float(scenario.run.warmup_days + scenario.run.duration_days)
        self.start_date = sim_start_date(scenario)
        weekday = self.start_date.weekday()
        acute = scenario.acute
        self.core_beds = value_on(acute.beds, self.start_date)
        self.escalation_beds = value_on(acute.escalation.beds, self.start_date) if acute.escalation else 0
        self.escalation_open = False
        self.beds: Pool[Patient] = Pool(self.core_beds)
        self.discharge_window = OpenWindow(acute.discharge_window, weekday)
        self.ready_window = OpenWindow(acute.discharge_ready_window, weekday)
        self.services = {n: ServiceRuntime(n, s, self.streams, self.start_date) for n, s in scenario.services.items()}
        self.by_index = {s.index: s for s in self.services.values()}
        teams = scenario.assessment_teams
        self.teams = {n: Pool[Patient](value_on(t.concurrent_assessments, self.start_date)) for n, t in teams.items()}
        self.pathways = [self._pathway_plan(p) for p in PATHWAYS]
        self._next_pid = itertools.count(1).__next__
        self.factories = self._factories()
        readmission = scenario.readmission
        self.draw_readmission_delay = (
            self.streams.sampler("readmission.delay", readmission.delay_days) if readmission else None
        )

    # ----------------------------------------------------------------- set-up
    def _factories(self) -> dict[str, PatientFactory]:
        sc, st = self.scenario, self.streams
        elective = sc.arrivals.elective
        factories = {
            name: PatientFactory(sc, st, SOURCES.index(name), name, self._next_pid)
            for name in ("non_elective", "readmission", "initial")
        }
        if elective is not None:
            factories["elective"] = PatientFactory(
                sc, st, SOURCES.index("elective"), "elective", self._next_pid, elective.time_to_discharge_ready_days
            )
        return factories

    def _pathway_plan(self, pathway: str) -> PathwayPlan:
        settings = self.scenario.pathways.settings[pathway]  # type: ignore[index]
        assessment = settings.assessment
        service = self.services[settings.service] if settings.service else None
        windows = [self.discharge_window] + ([service.window] if service else [])
        return PathwayPlan(
            on_ward=assessment.mode == "on_ward",
            team=self.teams[assessment.team] if assessment.team else None,
            service=service,
            d2a_extends_stay=assessment.d2a_stay == "extend",
            leave_windows=[w for w in windows if not w.always],
            start_limit=service.start_limit if service else None,
        )

    def run(self) -> EventLog:
        """Simulate warm-up plus the reported period and return the event log."""
        sc = self.scenario
        days = int(self.horizon)
        if sc.initial_state is not None:
            seed_initial_state(self, sc.initial_state)
        escalation = sc.acute.escalation
        if escalation is not None and max_value(escalation.beds) > 0:
            self.after(ESCALATION_CHECK_HOUR / 24.0, self._escalation_check, None)
        install_schedules(self)
        self.after(LOG_FLUSH_DAYS, self._flush_log, None)
        collecting = gc.isenabled()
        gc.disable()  # the loop makes no reference cycles; collections would only re-walk the log's rows
        try:
            self.env.run_until(self.horizon, self._arrival_stream(days))
            self._close_open_records()
            self.log.finish(self.horizon)
        finally:
            if collecting:
                gc.enable()
        return self.log

    # -------------------------------------------------------------- scheduling
    def _arrival_stream(self, days: int) -> tuple[list[float], Callable[[int], None]]:
        """Arrival times of every source (non-elective, elective) merged in time order,
        and the handler that admits arrival ``i``. Each source's patient attributes are
        drawn at once (vectorised) and turned into Python rows ``ARRIVAL_BLOCK`` arrivals
        at a time as the run reaches them (the memory of a block, not of the year)."""
        sc = self.scenario
        streams = {"non_elective": sc.arrivals.non_elective, "elective": sc.arrivals.elective}
        times, sources, factories, draws = [], [], [], []
        for source, stream in streams.items():
            if stream is not None:
                rng = self.streams.rng(f"{source}.arrivals")
                shares = {b.name: b.share for b in sc.age_bands}
                t = arrival_times(stream, self.start_date, days, rng, sc.run.start_date, shares)
                times.append(t)
                sources.append(np.full(len(t), len(factories)))
                factories.append(self.factories[source])
                mix = None  # the age mix by arrival when bands grow at different rates
                if isinstance(stream.growth_per_year, dict):
                    years = (t - (sc.run.start_date - self.start_date).days) / DAYS_PER_YEAR
                    mix = band_weights(stream, shares, years)
                draws.append(factories[-1].draw(len(t), mix))
        all_times = np.concatenate(times)
        order = np.argsort(all_times, kind="stable")
        source_of = np.concatenate(sources)[order]
        used = [0] * len(factories)  # rows of each source's draws made so far
        next_pid = self._next_pid
        rows: list[Episode | None] = [None] * len(source_of)

        def make_block(first: int) -> None:
            src = source_of[first : first + ARRIVAL_BLOCK]
            made = []
            for s, factory in enumerate(factories):
                n = int(np.count_nonzero(src == s))
                made.append(iter(factory.episodes(draws[s], used[s], used[s] + n)))
                used[s] += n
            rows[first : first + len(src)] = [next(made[s]) for s in src.tolist()]
            rows[max(0, first - ARRIVAL_BLOCK) : first] = [None] * min(first, ARRIVAL_BLOCK)  # admitted: free them

        def on_arrival(i: int) -> None:
            row = rows[i]
            if row is None:
                make_block(i)
                row = rows[i]
            self.arrive(Patient(next_pid(), *row))  # type: ignore[misc]

        return all_times[order].tolist(), on_arrival

    def _escalation_check(self, _: object) -> None:
        esc = self.scenario.acute.escalation
        assert esc is not None
        self.escalation_open = self.beds.busy >= esc.open_at_occupancy * self.core_beds
        self._set_beds()
        self.log.escalation_open.append((math.floor(self.env._now), int(self.escalation_open)))
        self.after(1.0, self._escalation_check, None)

    def set_core_beds(self, beds: int) -> None:
        """A dated change of core beds (escalation beds stay open if they were)."""
        self.core_beds = beds
        self._set_beds()

    def set_escalation_beds(self, beds: int) -> None:
        self.escalation_beds = beds
        self._set_beds()

    def _set_beds(self) -> None:
        self.beds.set_capacity(self.core_beds + (self.escalation_beds if self.escalation_open else 0))

    def _flush_log(self, _: object) -> None:
        self.log.flush()
        self.after(LOG_FLUSH_DAYS, self._flush_log, None)

    # ------------------------------------------------------------------ acute
    def arrive(self, p: Patient) -> None:
        p.arrival = self.env._now
        p.location = QUEUE  # a readmitted patient arrives from HOME
        self.beds.request(p, self._admit)

    def _admit(self, p: Patient) -> None:
        now = self.env._now
        p.admit = now
        p.location = ACUTE
        ready_at = now + p.time_to_ready
        if not (p.dies or self.ready_window.always):
            ready_at = self.ready_window.next_open(ready_at)
        self.after(ready_at - now, self._treated, p)

    def _treated(self, p: Patient) -> None:
        if p.dies:
            self._leave_acute(p, died=True)
            return
        p.ready = self.env._now
        plan = self.pathways[p.pathway]
        if plan.on_ward and p.assessment_days > 0:
            self._open_delay(p, ACUTE_PLACE, CAUSE["assessment"])
            if plan.team is not None:
                plan.team.request(p, self._assess)
            else:
                self._assess(p)
        else:
            self.ask_for_place(p)

    def _assess(self, p: Patient) -> None:
        self.after(p.assessment_days, self._assessed, p)

    def _assessed(self, p: Patient) -> None:
        team = self.pathways[p.pathway].team
        if team is not None:
            team.release()
        self.ask_for_place(p)

    def ask_for_place(self, p: Patient) -> None:
        plan = self.pathways[p.pathway]
        service = plan.service
        if service is None:
            self._move_when_open(p, plan)
            return
        self._open_delay(p, ACUTE_PLACE, service.cause)
        p.request = self.env._now
        service.pool.request(p, self._place_granted)

    def _place_granted(self, p: Patient) -> None:
        self._move_when_open(p, self.pathways[p.pathway])

    def _move_when_open(self, p: Patient, plan: PathwayPlan) -> None:
        """Leave the acute bed at the first time the discharge window (and the
        service's start calendar) allow."""
        limit = plan.start_limit
        if plan.leave_windows or limit is not None:
            now = self.env._now
            t = earliest_common(now, plan.leave_windows) if limit is None else limit.book(now, plan.leave_windows)
            if t > now:
                bound_by_ward = self.discharge_window.next_open(now) == t
                cause = CAUSE["discharge_window"] if bound_by_ward or plan.service is None else plan.service.cause
                self._open_delay(p, ACUTE_PLACE, cause)
                self.after(t - now, self._discharge, p)
                return
        self._discharge(p)

    def _discharge(self, p: Patient) -> None:
        plan = self.pathways[p.pathway]
        service = plan.service
        self._leave_acute(p, died=False)
        if service is None:
            self._go_home(p)
            return
        if plan.on_ward:
            stay = p.first_stay_days
        elif plan.d2a_extends_stay:
            stay = p.first_stay_days + p.assessment_days
        else:
            stay = max(p.first_stay_days, p.assessment_days)
        if service.name == "p1":
            self.log.reablement_discharges.append((p.pid, self.env._now, int(p.aged_65plus)))
        self.start_service(p, service, stay, p.first_outcome_u)

    def _leave_acute(self, p: Patient, died: bool) -> None:
        now = self.env._now
        self._close_delay(p)
        self.log.acute.append((p.pid, p.source, p.band, p.pathway, p.arrival, p.admit, p.ready, now, int(died)))
        self.beds.release()
        if died:
            self._die(p)

    # ---------------------------------------------------------- downstream
    def start_service(self, p: Patient, service: ServiceRuntime, stay: float, outcome_u: float) -> None:
        p.location = service.index
        p.service = service.index
        p.start = self.env._now
        if math.isnan(p.request):
            p.request = p.start
        p.outcome = pick(service.outcome_cum, outcome_u)
        self.after(min(stay, service.max_days), self._service_ended, p)

    def _service_ended(self, p: Patient) -> None:
        p.end = self.env._now
        service, outcome = self.by_index[p.service], p.outcome
        target = REACHABLE_FROM_OUTCOME.get(outcome)
        if target is None:
            self._leave_service(p, service, outcome)
            self._after_outcome(p, outcome)
            return
        nxt = self.services[target]
        self._open_delay(p, service.index, nxt.cause)
        nxt_request = self.env._now
        nxt.pool.request(p, lambda q: self._next_place_granted(q, service, nxt, outcome, nxt_request))

    def _next_place_granted(
        self, p: Patient, service: ServiceRuntime, nxt: ServiceRuntime, outcome: int, requested: float
    ) -> None:
        def move(q: Patient) -> None:
            self._leave_service(q, service, outcome)
            q.request = requested
            if nxt.name == "care_home":
                self.log.care_home_admissions.append((self.env._now, int(q.aged_65plus)))
            self.start_service(q, nxt, nxt.draw_stay(), nxt.draw_outcome())

        now = self.env._now
        t = nxt.window.next_open(now) if nxt.start_limit is None else nxt.start_limit.book(now, [nxt.window])
        if t > self.env._now:
            self.after(t - self.env._now, move, p)
        else:
            move(p)

    def _leave_service(self, p: Patient, service: ServiceRuntime, outcome: int) -> None:
        self._close_delay(p)
        self.log.services.append(
            (p.pid, service.index, p.band, p.pathway, p.request, p.start, p.end, self.env._now, outcome)
        )
        p.request = p.start = p.end = math.nan
        p.service = -1
        service.pool.release()

    def _after_outcome(self, p: Patient, outcome: int) -> None:
        if outcome == OUTCOME["death"]:
            self._die(p)
        elif outcome == OUTCOME["readmission"]:
            self._go_home(p)
            assert self.draw_readmission_delay is not None
            self.after(self.draw_readmission_delay(), self._readmit, p)
        else:
            self._go_home(p)

    def _readmit(self, p: Patient) -> None:
        if p.location != HOME:
            return
        self.factories["readmission"].redraw(p)
        p.admit = p.ready = math.nan
        self.arrive(p)

    def _go_home(self, p: Patient) -> None:
        p.location = HOME

    def _die(self, p: Patient) -> None:
        p.location = DEAD

    @property
    def live(self) -> dict[int, Patient]:
        """Patients in the system now (admission queue, acute bed or a service), by id
        in id order. Not kept as a registry (that cost ~4% of a large run): every such
        patient has exactly one next step pending, a scheduled call or a place in a
        queue, so they are found there."""
        pools = [self.beds, *self.teams.values(), *(s.pool for s in self.services.values())]
        waiting = (item for pool in pools for item, _ in pool.queue)
        scheduled = (patient for _, patient in self.env.pending_calls())
        found = {p.pid: p for p in itertools.chain(waiting, scheduled) if isinstance(p, Patient)}
        return {pid: found[pid] for pid in sorted(found) if found[pid].location not in (HOME, DEAD)}

    # ------------------------------------------------------------- delays
    def _open_delay(self, p: Patient, place: int, cause: int) -> None:
        """Start (or switch the cause of) the patient's current delay segment."""
        if p.seg_cause == cause and p.seg_place == place:
            return
        self._close_delay(p)
        p.seg_start = self.env._now
        p.seg_cause = cause
        p.seg_place = place

    def _close_delay(self, p: Patient) -> None:
        if p.seg_cause >= 0:
            now = self.env._now
            if now > p.seg_start:
                self.log.delays.append((p.pid, p.seg_place, p.seg_cause, p.pathway, p.seg_start, now))
            p.seg_cause = -1

    def _close_open_records(self) -> None:
        """Write rows for episodes still open at the horizon (leave = inf)."""
        inf = math.inf
        for p in self.live.values():
            if p.seg_cause >= 0:
                self.log.delays.append((p.pid, p.seg_place, p.seg_cause, p.pathway, p.seg_start, self.horizon))
            if p.location in (ACUTE, QUEUE):
                self.log.acute.append((p.pid, p.source, p.band, p.pathway, p.arrival, p.admit, p.ready, inf, 0))
            elif p.location >= 0:
                self.log.services.append((p.pid, p.location, p.band, p.pathway, p.request, p.start, p.end, inf, -1))
