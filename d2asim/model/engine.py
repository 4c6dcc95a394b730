"""The discharge-pathway model: one SimPy environment, events as callbacks.

Flow of one episode (times in days)::

    arrive -> [admission queue] -> acute bed -> time to discharge ready
      -> died in hospital, or discharge ready: the DELAY starts
      -> on_ward assessment (waiting for an assessor, then assessing) | d2a: none
      -> waits for a downstream place (keeps the acute bed)
      -> waits for the discharge window and the service's start calendar
      -> leaves the bed: home (P0) or into the service (P1-P3)
    service -> outcome: home | readmission | death | on to the next service;
      waiting for the next place keeps the current one (delays chain back).

A system has several trusts (one bed pool each) and boroughs: each patient carries
the registry codes of their site (borough's admissions to a trust), borough and
trust; pathways resolve per site to the borough's services; a shared service is one
pool for several boroughs (first come first served across them).

SimPy is the event scheduler; patients are plain objects moved by callbacks
rather than one generator process each, which keeps a replication fast. The clock
is read as ``env._now`` (what ``env.now`` returns) in these hot paths.
"""

from __future__ import annotations

import datetime as dt
import gc
import itertools
import math
from collections.abc import Callable, Iterator

import numpy as np

from d2asim.model.calendar import DAYS_PER_YEAR, arrival_times, band_weights, earliest_common
from d2asim.model.initial_state import seed_initial_state
from d2asim.model.log import ACUTE, ACUTE_PLACE, DEAD, HOME, QUEUE, SOURCES, EventLog, packer
from d2asim.model.patients import Episode, Patient, PatientFactory, pick
from d2asim.model.pool import Pool
from d2asim.model.runtime import PathwayPlan, ServiceRuntime, TrustRuntime
from d2asim.model.scheduler import CallbackEnvironment
from d2asim.model.schedules import install_schedules
from d2asim.model.streams import Streams
from d2asim.scenario.names import FIXED_CAUSES, PATHWAYS, Pathway
from d2asim.scenario.schedule import max_value, value_on
from d2asim.scenario.schema import Scenario
from d2asim.system.registry import (
    DEATH,
    READMISSION,
    SiteEntry,
    registry_of,
)

ASSESSMENT, DISCHARGE_WINDOW = range(len(FIXED_CAUSES))
ESCALATION_CHECK_HOUR = 8.0
BOUND_ONCE = ("_admit", "_treated", "_assess", "_assessed", "_place_granted", "_discharge", "_service_ended")
ARRIVAL_BLOCK = 512  # arrivals made into Python rows at a time (their memory: a block, not the year)


PACK_ACUTE, PACK_SERVICES, PACK_DELAYS, PACK_REABLEMENT, PACK_CARE_HOME, PACK_ESCALATION = map(
    packer, ("acute", "services", "delays", "reablement_discharges", "care_home_admissions", "escalation_open")
)


def sim_start_date(scenario: Scenario) -> dt.date:
    """Calendar date of simulation day 0 (the first warm-up day)."""
    return scenario.run.start_date - dt.timedelta(days=scenario.run.warmup_days)


class DischargeModel:
    """One replication of a scenario. ``run()`` returns the :class:`EventLog`."""

    def __init__(self, scenario: Scenario, seed: int, replication: int) -> None:
        self.scenario = scenario
        self.registry = registry = registry_of(scenario)
        self.streams = Streams(seed, replication)
        self.env = CallbackEnvironment()
        self.after = self.env.call_after  # after(delay, handler, patient): handler(patient) in delay days
        for handler in BOUND_ONCE:  # else each read of self.<handler> builds a bound method per event
            setattr(self, handler, getattr(self, handler))
        self.log = log = EventLog()
        # the log's row writers, bound once: put(PACK_<table>(*row)). Instance attributes stay under
        # CPython's 30 shared keys (more make every self.<attribute> lookup slower)
        self._put_acute, self._put_services, self._put_delays = map(log.writer, ("acute", "services", "delays"))
        self._put_reablement = log.writer("reablement_discharges")
        self._put_care_home = log.writer("care_home_admissions")
        self._put_escalation = log.writer("escalation_open")
        self.horizon = float(scenario.run.warmup_days + scenario.run.duration_days)
        self.start_date = sim_start_date(scenario)
        self.trusts = [TrustRuntime(t, self.start_date, self.streams) for t in registry.trusts]
        self.services = {s.name: ServiceRuntime(s, self.streams, self.start_date) for s in registry.services}
        self.by_index = list(self.services.values())
        for service in self.by_index:
            service.link(registry, self.services)
        teams = scenario.assessment_teams
        self.teams = {n: Pool[Patient](value_on(t.concurrent_assessments, self.start_date)) for n, t in teams.items()}
        self.plans = [[self._pathway_plan(site, p) for p in PATHWAYS] for site in registry.sites]
        self._next_pid = itertools.count(1).__next__
        self.factories = [self._factories(site) for site in registry.sites]
        self.draw_readmission_delay = [
            self.streams.sampler(f"{registry.borough_prefix(b.code)}readmission.delay", scenario.readmission.delay_days)
            if scenario.readmission
            else None
            for b in registry.boroughs
        ]

    @property
    def beds(self) -> Pool[Patient]:
        """The first trust's bed pool (the only one in the single-site form)."""
        return self.trusts[0].beds

    # ----------------------------------------------------------------- set-up
    def _factories(self, site: SiteEntry) -> dict[str, PatientFactory]:
        """A site's patient factories by source (its admission streams, readmissions
        and patients placed by the initial state)."""
        make = {"readmission": None, "initial": None, **site.streams}
        factories = {}
        for source, stream in make.items():
            ttr = getattr(stream, "time_to_discharge_ready_days", None)
            factories[source] = PatientFactory(
                self.scenario, self.streams, SOURCES.index(source), source, self._next_pid, ttr, site
            )
        return factories

    def _pathway_plan(self, site: SiteEntry, pathway: Pathway) -> PathwayPlan:
        settings = self.registry.boroughs[site.borough].settings[pathway]
        assessment = settings.assessment
        trust = self.trusts[site.trust]
        service = self.services[settings.service] if settings.service else None
        windows = [trust.discharge_window] + ([service.window] if service else [])
        return PathwayPlan(
            on_ward=assessment.mode == "on_ward",
            team=self.teams[assessment.team] if assessment.team else None,
            service=service,
            d2a_extends_stay=assessment.d2a_stay == "extend",
            leave_windows=[w for w in windows if not w.always],
            trust=trust,
            start_limit=service.start_limit if service else None,
            delay_scale=[float(value_on(assessment.delay_scale, self.start_date))],
        )

    def run(self) -> EventLog:
        """Simulate warm-up plus the reported period and return the event log."""
        sc = self.scenario
        days = int(self.horizon)
        if sc.initial_state is not None:
            seed_initial_state(self, sc.initial_state)
        for trust in self.trusts:
            escalation = trust.acute.escalation
            if escalation is not None and max_value(escalation.beds) > 0:
                self.after(ESCALATION_CHECK_HOUR / 24.0, self._escalation_check, trust)
        install_schedules(self)
        collecting = gc.isenabled()
        gc.disable()  # the loop makes no reference cycles; collections would only re-walk the patients
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
        """Arrival times of every site's sources (non-elective, elective) merged in
        time order, and the handler that admits arrival ``i``. Each source's patient
        attributes are drawn at once (vectorised) and turned into Python rows
        ``ARRIVAL_BLOCK`` arrivals at a time as the run reaches them (the memory of a
        block, not of the year)."""
        times: list[np.ndarray] = []
        sources: list[np.ndarray] = []
        factories: list[PatientFactory] = []
        draws = []
        sc = self.scenario
        shares = {b.name: b.share for b in sc.age_bands}
        for site, site_factories in zip(self.registry.sites, self.factories, strict=True):
            for source, stream in site.streams.items():
                rng = self.streams.rng(f"{site.prefix}{source}.arrivals")
                t = arrival_times(stream, self.start_date, days, rng, sc.run.start_date, shares)
                times.append(t)
                sources.append(np.full(len(t), len(factories)))
                factories.append(site_factories[source])
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
            made: list[Iterator[Episode]] = []
            for s, n in enumerate(np.bincount(src, minlength=len(factories)).tolist()):
                made.append(iter(factories[s].episodes(draws[s], used[s], used[s] + n) if n else ()))
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

    def _escalation_check(self, trust: TrustRuntime) -> None:
        esc = trust.acute.escalation
        assert esc is not None
        trust.escalation_open = trust.beds.busy >= esc.open_at_occupancy * trust.core_beds
        trust.set_beds()
        self._put_escalation(PACK_ESCALATION(math.floor(self.env._now), trust.escalation_open, trust.code))
        self.after(1.0, self._escalation_check, trust)

    # ------------------------------------------------------------------ acute
    def arrive(self, p: Patient) -> None:
        p.arrival = self.env._now
        p.location = QUEUE  # a readmitted patient arrives from HOME
        self.trusts[p.trust].beds.request(p, self._admit)

    def _admit(self, p: Patient) -> None:
        now = self.env._now
        p.admit = now
        p.location = ACUTE
        ready_at = now + p.time_to_ready
        if not p.dies:
            ready_at = self.trusts[p.trust].confirmed_ready(ready_at)
        self.after(ready_at - now, self._treated, p)

    def _treated(self, p: Patient) -> None:
        if p.dies:
            self._leave_acute(p, died=True)
            return
        p.ready = self.env._now
        plan = self.plans[p.site][p.pathway]
        if plan.on_ward and p.assessment_days > 0:
            self.wait_on_ward(p, plan)
        else:
            self.ask_for_place(p)

    def wait_on_ward(self, p: Patient, plan: PathwayPlan) -> None:
        """Start a discharge-ready patient's on-ward wait (``p.assessment_days``), by the
        pathway's team when it has one, times the pathway's ``delay_scale`` in force; then
        it asks for a place."""
        scale = plan.delay_scale[0]
        if scale != 1.0:
            p.assessment_days *= scale
        self._open_delay(p, ACUTE_PLACE, ASSESSMENT)
        if plan.team is not None:
            plan.team.request(p, self._assess)
        else:
            self._assess(p)

    def _assess(self, p: Patient) -> None:
        self.after(p.assessment_days, self._assessed, p)

    def _assessed(self, p: Patient) -> None:
        team = self.plans[p.site][p.pathway].team
        if team is not None:
            team.release()
        self.ask_for_place(p)

    def ask_for_place(self, p: Patient) -> None:
        plan = self.plans[p.site][p.pathway]
        service = plan.service
        if service is None:
            self._move_when_open(p, plan)
            return
        self._open_delay(p, ACUTE_PLACE, service.cause)
        p.request = self.env._now
        service.pool.request(p, self._place_granted)

    def _place_granted(self, p: Patient) -> None:
        self._move_when_open(p, self.plans[p.site][p.pathway])

    def _move_when_open(self, p: Patient, plan: PathwayPlan) -> None:
        """Leave the acute bed at the first time the discharge window (and the
        service's start calendar) allow."""
        limit = plan.start_limit
        if plan.leave_windows or limit is not None:
            now = self.env._now
            t = earliest_common(now, plan.leave_windows) if limit is None else limit.book(now, plan.leave_windows)
            if t > now:
                bound_by_ward = plan.trust.discharge_window.next_open(now) == t
                cause = DISCHARGE_WINDOW if bound_by_ward or plan.service is None else plan.service.cause
                self._open_delay(p, ACUTE_PLACE, cause)
                self.after(t - now, self._discharge, p)
                return
        self._discharge(p)

    def _discharge(self, p: Patient) -> None:
        plan = self.plans[p.site][p.pathway]
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
        if service.is_reablement:
            self._put_reablement(PACK_REABLEMENT(p.pid, self.env._now, p.aged_65plus, p.borough))
        self.start_service(p, service, stay, p.first_outcome_u)

    def _leave_acute(self, p: Patient, died: bool) -> None:
        if p.seg_cause >= 0:
            self._close_delay(p)
        self._put_acute(PACK_ACUTE(
            p.pid, p.source, p.band, p.pathway, p.arrival, p.admit, p.ready, self.env._now, died, p.trust, p.borough
        ))  # fmt: skip
        self.trusts[p.trust].beds.release()
        if died:
            self._die(p)

    # ---------------------------------------------------------- downstream
    def start_service(self, p: Patient, service: ServiceRuntime, stay: float, outcome_u: float) -> None:
        p.location = service.index
        p.service = service.index
        p.start = self.env._now
        if math.isnan(p.request):
            p.request = p.start
        p.outcome = pick(service.outcome_cum, outcome_u)  # index into service.outcome_keys
        self.after(min(stay, service.max_days), self._service_ended, p)

    def _service_ended(self, p: Patient) -> None:
        p.end = self.env._now
        service = self.by_index[p.service]
        outcome = service.outcome_codes[p.outcome]
        nxt = service.onward[p.outcome]
        if nxt is None:
            self._leave_service(p, service, outcome)
            self._after_outcome(p, outcome)
            return
        self._open_delay(p, service.index, nxt.cause)
        nxt_request = self.env._now
        nxt.pool.request(p, lambda q: self._next_place_granted(q, service, nxt, outcome, nxt_request))

    def _next_place_granted(
        self, p: Patient, service: ServiceRuntime, nxt: ServiceRuntime, outcome: int, requested: float
    ) -> None:
        def move(q: Patient) -> None:
            self._leave_service(q, service, outcome)
            q.request = requested
            if nxt.is_care_home:
                self._put_care_home(PACK_CARE_HOME(self.env._now, q.aged_65plus, q.borough))
            self.start_service(q, nxt, nxt.draw_stay(), nxt.draw_outcome())

        now = self.env._now
        t = nxt.window.next_open(now) if nxt.start_limit is None else nxt.start_limit.book(now, [nxt.window])
        if t > self.env._now:
            self.after(t - self.env._now, move, p)
        else:
            move(p)

    def _leave_service(self, p: Patient, service: ServiceRuntime, outcome: int) -> None:
        if p.seg_cause >= 0:
            self._close_delay(p)
        self._put_services(PACK_SERVICES(
            p.pid, service.index, p.band, p.pathway, p.request, p.start, p.end, self.env._now, outcome, p.trust,
            p.borough
        ))  # fmt: skip
        p.request = p.start = p.end = math.nan
        p.service = -1
        service.pool.release()

    def _after_outcome(self, p: Patient, outcome: int) -> None:
        if outcome == DEATH:
            self._die(p)
        elif outcome == READMISSION:
            self._go_home(p)
            draw_delay = self.draw_readmission_delay[p.borough]
            assert draw_delay is not None
            self.after(draw_delay(), self._readmit, p)
        else:
            self._go_home(p)

    def _readmit(self, p: Patient) -> None:
        if p.location != HOME:
            return
        self.factories[p.site]["readmission"].redraw(p)
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
        pools = [*(t.beds for t in self.trusts), *self.teams.values(), *(s.pool for s in self.by_index)]
        waiting = (item for pool in pools for item, _ in pool.queue)
        scheduled = (patient for _, patient in self.env.pending_calls())
        found = {p.pid: p for p in itertools.chain(waiting, scheduled) if isinstance(p, Patient)}
        return {pid: found[pid] for pid in sorted(found) if found[pid].location not in (HOME, DEAD)}

    # ------------------------------------------------------------- delays
    def _open_delay(self, p: Patient, place: int, cause: int) -> None:
        """Start (or switch the cause of) the patient's current delay segment."""
        if p.seg_cause == cause and p.seg_place == place:
            return
        if p.seg_cause >= 0:
            self._close_delay(p)
        p.seg_start = self.env._now
        p.seg_cause = cause
        p.seg_place = place

    def _close_delay(self, p: Patient) -> None:
        """End the patient's open delay segment (callers check ``p.seg_cause >= 0``: one is open)."""
        now = self.env._now
        if now > p.seg_start:
            self._put_delays(PACK_DELAYS(p.pid, p.seg_place, p.seg_cause, p.pathway, p.seg_start, now, p.trust,
                                         p.borough))  # fmt: skip
        p.seg_cause = -1

    def _close_open_records(self) -> None:
        """Write rows for episodes still open at the horizon (leave = inf)."""
        inf = math.inf
        for p in self.live.values():
            place = (p.trust, p.borough)
            if p.seg_cause >= 0:
                self._put_delays(PACK_DELAYS(p.pid, p.seg_place, p.seg_cause, p.pathway, p.seg_start,
                                             self.horizon, *place))  # fmt: skip
            if p.location in (ACUTE, QUEUE):
                self._put_acute(PACK_ACUTE(p.pid, p.source, p.band, p.pathway, p.arrival, p.admit, p.ready,
                                           inf, 0, *place))  # fmt: skip
            elif p.location >= 0:
                self._put_services(PACK_SERVICES(p.pid, p.location, p.band, p.pathway, p.request, p.start,
                                                 p.end, inf, -1, *place))  # fmt: skip
