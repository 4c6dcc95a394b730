"""Synthetic patient-level spells made by d2asim itself (for parameter-recovery tests).

:func:`synthetic_spells` runs one replication of a scenario and turns its event log
into the two tables an analyst would have: spells and downstream episodes, with
date-times (the simulation clock counts days from :func:`sim_start_date`, midnight),
rounded to the second.

What is in them, and what is not:

- one spell per acute episode that **ended** (discharged alive, or died in hospital)
  during the run, warm-up included; ``admitted`` is when the patient got the acute bed
  (any wait in the admission queue before it is not part of the spell);
- spells still open when the simulation stops have no discharge and are **left out**
  (right censoring: long stays admitted near the end are under-represented;
  :func:`d2asim.calibration.fitting.fit_spells` trims the admissions window for this);
- patients placed by ``initial_state`` (source ``initial``) are left out: their
  admission happened before the simulation;
- episodes are closed downstream service episodes (``end`` = the service finished;
  any wait after it for the next place is not part of the episode) that follow a
  kept spell; still-running episodes are left out like open spells;
- ``age`` is drawn uniformly in whole years within the patient's age band (to the next
  band's ``min_age`` - 1; the oldest band spans 15 years), once per patient.

:func:`corrupt` and :func:`corrupt_episodes` inject known numbers of each kind of bad
row, so tests can check the loader's counts exactly.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Mapping

import numpy as np
import pandas as pd

from d2asim.calibration.spells import SPELL_REASONS
from d2asim.model.engine import DischargeModel, sim_start_date
from d2asim.model.log import SOURCES
from d2asim.scenario.schema import PATHWAYS, Scenario
from d2asim.system.registry import SystemRegistry, registry_of

OLDEST_BAND_YEARS = 15
DATE_FORMAT = "%Y-%m-%d %H:%M:%S"
UNPARSEABLE = ("31/02/2023 10:00", "not a date", "2023-02-30")


def _to_datetime(start: dt.date, days: np.ndarray) -> pd.Series:
    """Simulation-clock days -> date-times (NaT for nan/inf), rounded to the second."""
    values = np.where(np.isfinite(days), days, np.nan)
    out = pd.Timestamp(start) + pd.to_timedelta(values * 86400.0, unit="s")
    return pd.Series(out).dt.round("s").astype("datetime64[ns]")


def _ages(scenario: Scenario, bands: np.ndarray, pids: np.ndarray, seed: int, replication: int) -> np.ndarray:
    """One age (whole years) per patient, uniform within the patient's first band."""
    rng = np.random.default_rng(np.random.SeedSequence([seed, replication, 0x5A9E]))
    mins = np.array([b.min_age for b in scenario.age_bands])
    order = np.argsort(mins)
    upper = np.empty_like(mins)
    upper[order[:-1]] = mins[order[1:]] - 1
    upper[order[-1]] = mins[order[-1]] + OLDEST_BAND_YEARS
    first = pd.Series(bands).groupby(pids).transform("first").to_numpy().astype(int)
    unique_pids, index = np.unique(pids, return_inverse=True)
    draws = rng.random(len(unique_pids))[index]
    lo, hi = mins[first], upper[first]
    return np.floor(lo + draws * (hi - lo + 1)).astype(int)


def synthetic_spells(scenario: Scenario, seed: int, replication: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(spells, episodes) from one replication of ``scenario`` (see the module docstring).

    spells: spell_id, patient_id, source, admitted, discharge_ready, discharged,
    pathway (None for deaths), destination (home, p1, p2, p3 or death), age.
    episodes: spell_id, service, start, end, outcome.
    """
    log = DischargeModel(scenario, seed, replication).run()
    start = sim_start_date(scenario)
    acute = pd.DataFrame({k: np.asarray(v) for k, v in log.table("acute").items()})
    acute = acute[np.isfinite(acute["leave"]) & np.isfinite(acute["admit"])].copy()
    acute["source_name"] = [SOURCES[int(s)] for s in acute["source"]]
    acute = acute.sort_values(["admit", "patient"], kind="stable").reset_index(drop=True)
    acute["spell_id"] = [f"S{i + 1:07d}" for i in range(len(acute))]

    boroughs = registry_of(scenario).boroughs
    pathway = [PATHWAYS[int(k)] for k in acute["pathway"]]
    died = acute["died"].to_numpy() > 0
    into = [boroughs[int(b)].settings[p].service or "home" for b, p in zip(acute["borough"], pathway, strict=True)]
    destination = np.where(died, "death", into)
    ages = _ages(scenario, acute["band"].to_numpy(), acute["patient"].to_numpy(), seed, replication)
    every = pd.DataFrame({
        "spell_id": acute["spell_id"],
        "patient_id": acute["patient"].astype(int),
        "source": acute["source_name"],
        "admitted": _to_datetime(start, acute["admit"].to_numpy()),
        "discharge_ready": _to_datetime(start, acute["ready"].to_numpy()),
        "discharged": _to_datetime(start, acute["leave"].to_numpy()),
        "pathway": pd.Series(pathway, dtype=object).where(~died, None),
        "destination": destination,
        "age": ages,
    })
    spells = every[acute["source_name"] != "initial"].reset_index(drop=True)
    episodes = _episodes(log.table("services"), acute, start, registry_of(scenario))
    episodes = episodes[episodes["spell_id"].isin(set(spells["spell_id"]))].reset_index(drop=True)
    return spells, episodes


def _episodes(
    table: Mapping[str, np.ndarray], acute: pd.DataFrame, start: dt.date, registry: SystemRegistry
) -> pd.DataFrame:
    """Closed service episodes, each linked to the patient's latest acute discharge before it."""
    ep = pd.DataFrame({k: np.asarray(v) for k, v in table.items()})
    ep = ep[np.isfinite(ep["leave"]) & np.isfinite(ep["start"]) & (ep["outcome"] >= 0)].copy()
    ep = ep.sort_values("start", kind="stable")
    links = acute[["patient", "leave", "spell_id"]].sort_values("leave", kind="stable")
    ep = pd.merge_asof(ep, links, left_on="start", right_on="leave", by="patient", direction="backward",
                       suffixes=("", "_acute"))
    ep = ep[ep["spell_id"].notna()]
    return pd.DataFrame({
        "spell_id": ep["spell_id"].to_numpy(),
        "service": [registry.services[int(s)].name for s in ep["service"]],
        "start": _to_datetime(start, ep["start"].to_numpy()).to_numpy(),
        "end": _to_datetime(start, ep["end"].to_numpy()).to_numpy(),
        "outcome": [registry.outcomes[int(o)] for o in ep["outcome"]],
    })


# ------------------------------------------------------------------ bad rows
SPELL_DEFECTS = tuple(r for r in SPELL_REASONS if r != "unknown_source")  # each kind corrupt() can inject
EPISODE_DEFECTS = ("missing_spell_id", "missing_date", "unparseable_date", "end_before_start",
                   "unknown_service", "unknown_outcome")


def _as_text(frame: pd.DataFrame) -> pd.DataFrame:
    """Date-times as text (the way they would be in a CSV file); other cells unchanged."""
    out = frame.copy().astype(object)
    for col in frame.columns:
        if pd.api.types.is_datetime64_any_dtype(frame[col]):
            out[col] = frame[col].dt.strftime(DATE_FORMAT).where(frame[col].notna(), None).astype(object)
    return out


def _counts(n_bad: int | Mapping[str, int], kinds: tuple[str, ...]) -> dict[str, int]:
    if isinstance(n_bad, Mapping):
        unknown = set(n_bad) - set(kinds)
        if unknown:
            raise ValueError(f"unknown defect {sorted(unknown)[0]!r} (allowed: {', '.join(kinds)})")
        return {k: int(n_bad.get(k, 0)) for k in kinds}
    return {k: int(n_bad) for k in kinds}


def corrupt(
    spells: pd.DataFrame, rng: np.random.Generator, n_bad: int | Mapping[str, int]
) -> tuple[pd.DataFrame, Counter]:
    """A copy of clean ``spells`` (date-times written as text) with ``n_bad`` rows of each
    kind in :data:`SPELL_DEFECTS` (or the counts given per kind), and the expected
    :class:`~collections.Counter` of bad rows by reason.

    Each damaged row has exactly one defect (rows that would also fail an earlier check
    are never chosen); duplicates are extra copies of clean rows (with a different age)
    appended at the end, so the original is the first occurrence and is kept.
    """
    counts = _counts(n_bad, SPELL_DEFECTS)
    out = _as_text(spells)
    alive = spells["destination"] != "death"
    pool = list(rng.permutation(np.flatnonzero(alive.to_numpy())))
    wanted = sum(v for k, v in counts.items() if k != "duplicate_spell_id")
    if wanted > len(pool):
        raise ValueError(f"need {wanted} living spells to damage, have {len(pool)}")
    adm, dis = spells["admitted"], spells["discharged"]
    hour = pd.Timedelta(hours=1)

    def take(k: int) -> list[int]:
        return [int(pool.pop()) for _ in range(k)]

    def text(values: pd.Series) -> list[str]:
        return list(values.dt.strftime(DATE_FORMAT))

    for i in take(counts["missing_spell_id"]):
        out.at[i, "spell_id"] = None
    for i in take(counts["missing_date"]):
        out.at[i, rng.choice(["admitted", "discharged", "discharge_ready"])] = None
    for i in take(counts["unparseable_date"]):
        out.at[i, rng.choice(["admitted", "discharged"])] = str(rng.choice(UNPARSEABLE))
    rows = take(counts["discharge_before_admission"])
    out.loc[rows, "discharged"] = text(adm[rows] - hour)
    out.loc[rows, "discharge_ready"] = text(adm[rows] - 2 * hour)
    rows = take(counts["ready_before_admission"])
    out.loc[rows, "discharge_ready"] = text(adm[rows] - hour)
    rows = take(counts["ready_after_discharge"])
    out.loc[rows, "discharge_ready"] = text(dis[rows] + hour)
    for i in take(counts["unknown_pathway"]):
        out.at[i, "pathway"] = str(rng.choice(["P7", "Pathway 9", "unknown", "P"]))
    for i in take(counts["age_out_of_range"]):
        out.at[i, "age"] = str(rng.choice(["-3", "130", "old"]))
    clean = np.array(pool, dtype=int)
    copies = out.loc[rng.choice(clean, size=counts["duplicate_spell_id"], replace=False)].copy()
    if "age" in copies:  # a duplicate id with different content still counts as a duplicate
        copies["age"] = [str(int(a) + 1) for a in copies["age"]]
    result = pd.concat([out, copies], ignore_index=True)
    expected = Counter({k: v for k, v in counts.items() if v})
    return result, expected


def corrupt_episodes(episodes: pd.DataFrame, rng: np.random.Generator,
                     n_bad: int | Mapping[str, int]) -> tuple[pd.DataFrame, Counter]:
    """Like :func:`corrupt`, for downstream episodes (kinds in :data:`EPISODE_DEFECTS`)."""
    counts = _counts(n_bad, EPISODE_DEFECTS)
    out = _as_text(episodes)
    pool = list(rng.permutation(len(episodes)))
    if sum(counts.values()) > len(pool):
        raise ValueError(f"need {sum(counts.values())} episodes to damage, have {len(pool)}")

    def take(k: int) -> list[int]:
        return [int(pool.pop()) for _ in range(k)]

    for i in take(counts["missing_spell_id"]):
        out.at[i, "spell_id"] = None
    for i in take(counts["missing_date"]):
        out.at[i, rng.choice(["start", "end"])] = None
    for i in take(counts["unparseable_date"]):
        out.at[i, "end"] = "soon"
    rows = take(counts["end_before_start"])
    out.loc[rows, "end"] = list((episodes["start"][rows] - pd.Timedelta(days=1)).dt.strftime(DATE_FORMAT))
    for i in take(counts["unknown_service"]):
        out.at[i, "service"] = "p9"
    for i in take(counts["unknown_outcome"]):
        out.at[i, "outcome"] = "moved abroad"
    return out, Counter({k: v for k, v in counts.items() if v})


__all__ = ["EPISODE_DEFECTS", "SPELL_DEFECTS", "corrupt", "corrupt_episodes", "synthetic_spells"]
