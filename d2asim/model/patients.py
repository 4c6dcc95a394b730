"""Patients and the factory that draws their attributes at arrival.

Everything random about an acute episode (age band, pathway, time to discharge
ready, death, assessment time, first downstream stay and its outcome) is drawn
when the patient arrives, from streams named by the arrival source. So the same
arrivals carry the same attributes whatever the capacities are (common random
numbers), even when queues reorder who is served first.
"""

from __future__ import annotations

import bisect
import itertools
import math
from collections.abc import Callable, Mapping
from typing import NamedTuple, TypeVar

import numpy as np

from d2asim.model.log import QUEUE
from d2asim.model.streams import BlockSampler, Streams
from d2asim.scenario.distributions import Distribution
from d2asim.scenario.names import PATHWAYS, Pathway
from d2asim.scenario.schema import Scenario
from d2asim.system.registry import SiteEntry, registry_of


class Patient:
    """One person's current episode. Times in days on the simulation clock."""

    __slots__ = (
        "pid", "source", "band", "aged_65plus", "pathway", "time_to_ready", "dies",
        "assessment_days", "first_stay_days", "first_outcome_u",
        "arrival", "admit", "ready", "location",
        "service", "request", "start", "end", "outcome", "seg_start", "seg_cause", "seg_place",
        "site", "borough", "trust",
    )  # fmt: skip

    def __init__(
        self, pid: int, source: int, band: int, aged_65plus: bool, pathway: int, time_to_ready: float,
        dies: bool, assessment_days: float, first_stay_days: float, first_outcome_u: float,
        site: int = 0, borough: int = 0, trust: int = 0,
    ) -> None:  # fmt: skip
        self.pid = pid
        self.source = source
        self.band = band
        self.aged_65plus = aged_65plus
        self.pathway = pathway
        self.time_to_ready = time_to_ready
        self.dies = dies
        self.assessment_days = assessment_days
        self.first_stay_days = first_stay_days
        self.first_outcome_u = first_outcome_u
        self.site = site  # registry codes: admission route, borough of residence, trust
        self.borough = borough
        self.trust = trust
        self.arrival = math.nan
        self.location = QUEUE
        self.admit = math.nan
        self.ready = math.nan
        self.service = -1
        self.request = math.nan
        self.start = math.nan
        self.end = math.nan
        self.outcome = -1
        self.seg_start = math.nan
        self.seg_cause = -1
        self.seg_place = -1


EPISODE_FIELDS = ("source", "band", "aged_65plus", "pathway", "time_to_ready", "dies", "assessment_days",
                  "first_stay_days", "first_outcome_u", "site", "borough", "trust")  # fmt: skip
"""What an episode row holds, in ``Patient(pid, *row)`` order."""
Episode = tuple[int, int, bool, int, float, bool, float, float, float, int, int, int]
_Key = TypeVar("_Key", bound=str)  # a share table's key: an age band or a pathway


def cumulative(shares: Mapping[_Key, float], keys: tuple[_Key, ...]) -> list[float]:
    """Cumulative shares in ``keys`` order, the last forced to 1."""
    cum = list(itertools.accumulate(shares.get(k, 0.0) for k in keys))
    cum[-1] = 1.0
    return cum


def pick(cum: list[float], u: float) -> int:
    """Index chosen by uniform ``u`` against cumulative shares ``cum``."""
    return min(bisect.bisect_right(cum, u), len(cum) - 1)


class EpisodeDraws(NamedTuple):
    """Pre-drawn attributes of a batch of episodes (arrays, index = arrival order)."""

    band: np.ndarray
    pathway: np.ndarray
    time_to_ready: np.ndarray
    dies: np.ndarray
    assessment_days: np.ndarray
    first_stay_days: np.ndarray
    first_outcome_u: np.ndarray


class PatientFactory:
    """Draws new episodes for one arrival source of one site (a borough's admissions
    to a trust) from that source's own streams, named ``<site prefix><source>.*``."""

    def __init__(
        self,
        scenario: Scenario,
        streams: Streams,
        source: int,
        name: str,
        next_pid: Callable[[], int],
        time_to_ready: Distribution | None = None,
        site: SiteEntry | None = None,
    ) -> None:
        registry = registry_of(scenario)
        site = site or registry.sites[0]
        self.source = source
        self.site = (site.code, site.borough, site.trust)
        self.next_pid = next_pid
        self.acute = registry.trusts[site.trust].acute
        borough = registry.boroughs[site.borough]
        self.settings = borough.settings
        prefix = f"{site.prefix}{name}"
        bands = scenario.age_bands
        self.band_names = [b.name for b in bands]
        self.band_cum = cumulative({b.name: b.share for b in bands}, tuple(self.band_names))
        self.band_65 = [b.min_age >= 65 for b in bands]
        by_band = borough.shares_by_age_band
        self.pathway_cum = [cumulative(by_band.get(b, borough.shares), PATHWAYS) for b in self.band_names]
        death = self.acute.death_probability
        self.death_p = [death.get(b, 0.0) if isinstance(death, dict) else death for b in self.band_names]
        self.u_band = streams.uniform(f"{prefix}.age_band")
        self.u_pathway = streams.uniform(f"{prefix}.pathway")
        self.u_death = streams.uniform(f"{prefix}.death")
        self.u_outcome = streams.uniform(f"{prefix}.outcome")
        self.ttr = [
            [streams.sampler(f"{prefix}.ttr.{b}.{p}", time_to_ready or self.ttr_dist(b, p)) for p in PATHWAYS]
            for b in self.band_names
        ]
        self.assessment = [self._assessment_sampler(streams, prefix, p) for p in PATHWAYS]
        self.first_stay = [self._stay_sampler(scenario, streams, prefix, p, site.prefix == "") for p in PATHWAYS]

    def ttr_dist(self, band: str, pathway: Pathway) -> Distribution:
        """Time from admission to discharge ready at this site's trust (days)."""
        override = self.acute.time_to_discharge_ready_by_age_band.get(band, {})
        return override.get(pathway) or self.acute.time_to_discharge_ready_days[pathway]

    def _assessment_sampler(self, streams: Streams, prefix: str, p: Pathway) -> BlockSampler | None:
        dist = self.settings[p].assessment.delay_days
        return None if dist is None else streams.sampler(f"{prefix}.assessment.{p}", dist)

    def _stay_sampler(
        self, scenario: Scenario, streams: Streams, prefix: str, p: Pathway, single_site: bool
    ) -> BlockSampler | None:
        """The first service stay of pathway ``p``: from a stream named by the pathway
        (``<prefix>.P2.first_stay``), so an option that sends the pathway to another
        service (e.g. shared beds split per borough) sees the same stays; the
        single-site form keeps its historical ``<source>.<service>.duration``."""
        service = self.settings[p].service
        if service is None:
            return None
        name = f"{prefix}.{service}.duration" if single_site else f"{prefix}.{p}.first_stay"
        return streams.sampler(name, scenario.services[service].duration_days)

    def draw(self, n: int, mix: np.ndarray | None = None) -> EpisodeDraws:
        """Attributes of the next ``n`` episodes at once (vectorised): identical to
        ``n`` successive :meth:`new` calls, since each stream is read in the same order.
        ``mix``: per episode, relative weights of the age bands (default: their shares)."""
        u_band = self.u_band.take(n)
        if mix is None:
            band = np.minimum(np.searchsorted(self.band_cum, u_band, side="right"), len(self.band_cum) - 1)
        else:
            cum = np.cumsum(mix, axis=1) / mix.sum(axis=1, keepdims=True)
            band = np.minimum((u_band[:, None] >= cum).sum(axis=1), len(self.band_cum) - 1)
        u_pathway = self.u_pathway.take(n)
        pathway = np.zeros(n, dtype=int)
        for b, cum in enumerate(self.pathway_cum):
            mine = band == b
            pathway[mine] = np.minimum(np.searchsorted(cum, u_pathway[mine], side="right"), len(cum) - 1)
        ttr = np.zeros(n)
        assess = np.zeros(n)
        stay = np.zeros(n)
        for k in range(len(PATHWAYS)):
            on_k = pathway == k
            for b in range(len(self.band_cum)):
                mine = on_k & (band == b)
                ttr[mine] = self.ttr[b][k].take(int(mine.sum()))
            if self.assessment[k] is not None:
                assess[on_k] = self.assessment[k].take(int(on_k.sum()))  # type: ignore[union-attr]
            if self.first_stay[k] is not None:
                stay[on_k] = self.first_stay[k].take(int(on_k.sum()))  # type: ignore[union-attr]
        dies = self.u_death.take(n) < np.asarray(self.death_p)[band]
        return EpisodeDraws(band, pathway, ttr, dies, assess, stay, self.u_outcome.take(n))

    def episodes(self, draws: EpisodeDraws, start: int = 0, stop: int | None = None) -> list[Episode]:
        """One episode row per draw ``start:stop``, for ``Patient(pid, *row)``."""
        cut = [column[start:stop].tolist() for column in draws]
        aged_65plus = [self.band_65[b] for b in cut[0]]
        site, borough, trust = (itertools.repeat(x) for x in self.site)
        return list(zip(itertools.repeat(self.source), cut[0], aged_65plus, *cut[1:], site, borough, trust))

    def episode(self) -> Episode:
        """The next episode's attributes, drawn one at a time."""
        band = pick(self.band_cum, self.u_band())
        pathway = pick(self.pathway_cum[band], self.u_pathway())
        time_to_ready = self.ttr[band][pathway]()
        dies = self.u_death() < self.death_p[band]
        assess, stay = self.assessment[pathway], self.first_stay[pathway]
        assessment_days = assess() if assess is not None else 0.0
        first_stay_days = stay() if stay is not None else 0.0
        return (self.source, band, self.band_65[band], pathway, time_to_ready, dies, assessment_days,
                first_stay_days, self.u_outcome(), *self.site)  # fmt: skip

    def new(self, pid: int | None = None) -> Patient:
        """A new episode (for ``pid``, or a new patient) with every attribute drawn."""
        return Patient(self.next_pid() if pid is None else pid, *self.episode())

    def redraw(self, p: Patient) -> None:
        """Draw a fresh episode's attributes for ``p`` (used for readmissions)."""
        for name, value in zip(EPISODE_FIELDS, self.episode(), strict=True):
            setattr(p, name, value)

