"""``d2asim calibrate --trust CODE --fit START:END --test START:END``: the calibration
config and base scenario for any trust, written into the run folder.

The base scenario is ``d2asim init``'s, from the **fit period only** (so the backtest
never sees the test period). The config reads the national extracts (paths relative to
the run folder) with the NHS England presets, matches the same targets as the bundled
``calibration/rke.yaml`` and fits:

- admissions a day, within 0.8-1.3 x the init value (Little's law at a capped occupancy),
  following the observed bed base month by month (``admissions_follow_beds``: trusts run
  their beds at a near-constant occupancy, so admissions rise and fall with the beds);
- a length-of-stay scale (0.7-1.4) and an on-ward assessment scale (0.3-2.5);
- when init needed them, a scale of P0's multi-day waits for other reasons (0.3-3), which
  sets the level of NCTR that the P1-P3 assessments and queues do not explain;
- when the fit months' NCTR remaining shows a step (:mod:`d2asim.calibration.steps`), a
  multiplier (0.2-5, starting at the observed ratio) of every on-ward wait from the first
  day of the step's month (``assessment.delay_scale`` becomes a dated schedule), so the
  new level carries into the test period;
- the P1, P2 and P3 capacities, within 0.7-1.4 x the init value (whole places), never
  below the offered load (the people init starts in the service);
- the P1, P2 and P3 shares of discharge-ready patients (0.5-1.6 x the init value; P0 is
  the rest), so that the observed P1-P3 flows can be followed.

NCTR remaining and occupancy get ``level_change_sd``: how far every trust's level per bed
moved in the fit period's last half year (:mod:`d2asim.calibration.reference_class`),
which widens their bands after the fit period.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

import yaml

from d2asim.calibration import trust_data as td
from d2asim.calibration.init_scenario import PATHWAY_SERVICES, scenario_text, size
from d2asim.calibration.reference_class import trust_level_changes
from d2asim.calibration.steps import LevelShift, level_shift

SHARE_RANGE, CAPACITY_RANGE, ARRIVALS_RANGE, STEP_RANGE = (0.5, 1.6), (0.7, 1.4), (0.8, 1.3), (0.2, 5.0)
BASE_FILE, CONFIG_FILE = "base_scenario.yaml", "calibration.yaml"


SOURCES = {"nctr": ("sitrep_nctr_daily", td.NCTR_FILE), "discharged": ("sitrep_discharged_daily", td.DISCHARGED_FILE),
           "beds": ("uec_ga_beds_monthly", td.BEDS_FILE),
           "pathways": ("sitrep_discharges_by_pathway_monthly", td.PATHWAY_FILE),
           "reasons": ("sitrep_los14_delay_reasons_monthly", td.REASONS_FILE)}


def write_inputs(folder: Path, base: str, config: dict[str, Any], data_dir: Path = td.DATA_DIR) -> Path:
    """Write the base scenario and the config (data paths relative to ``folder``) into
    ``folder``; returns the config file."""
    data = Path(os.path.relpath(data_dir.resolve(), folder.resolve()))
    config = {**config, "data": {key: {"preset": preset, "file": str(data / file)}
                                 for key, (preset, file) in SOURCES.items()}}
    (folder / BASE_FILE).write_text(base)
    (folder / CONFIG_FILE).write_text(yaml.safe_dump(config, sort_keys=False, width=110))
    return folder / CONFIG_FILE


def trust_inputs(code: str, fit: tuple[str, str], test: tuple[str, str] | None, boroughs: list[str],
                 data_dir: Path = td.DATA_DIR) -> tuple[str, dict[str, Any]]:
    """The base scenario text and the config mapping (``data`` is added by
    :func:`write_inputs`) for trust ``code``."""
    trust = td.load_trust(code, *fit, data_dir)
    base = scenario_text(trust, td.load_boroughs(boroughs, data_dir), f"{code.lower()}_init")
    s = size(trust)
    parameters: dict[str, Any] = {
        # init's per_day, following the bed base (admissions_follow_beds; init's month profile and
        # growth stay fixed: from the fit months)
        "admissions_scale": {"scale": ["arrivals.non_elective.per_day"], "bounds": list(ARRIVALS_RANGE),
                             "label": "multiplier of admissions a day (init's Little's-law value, following the "
                                      "bed base)"},
        "los_scale": {"scale": ["acute.time_to_discharge_ready_days"], "bounds": [0.7, 1.4],
                      "label": "multiplier of every pathway's time to discharge ready (LoS scale)"},
        "assessment_scale": {"scale": [f"pathways.settings.{p}.assessment.delay_days" for p in ("P1", "P2", "P3")],
                             "bounds": [0.3, 2.5], "label": "multiplier of the P1-P3 on-ward assessment times"},
    }
    shift = nctr_step(code, fit, data_dir)
    if shift is not None:
        ratio = min(STEP_RANGE[1], max(STEP_RANGE[0], round(shift.ratio, 3)))
        parameters["nctr_step"] = {
            "step": {"from": f"{shift.month}-01", "paths": [f"pathways.settings.{p}.assessment.delay_scale"
                                                            for p in ("P0", "P1", "P2", "P3")]},
            "bounds": list(STEP_RANGE), "start": ratio,
            "label": f"multiplier of every on-ward wait from {shift.month}-01 (NCTR remaining stepped from "
                     f"{shift.before:.1f} to {shift.after:.1f} a day, t = {shift.t:.1f})"}
    if s.multi_day_share > 0:
        parameters["multi_day_wait_scale"] = {
            "scale": ["pathways.settings.P0.assessment.delay_days.components.multi_day"], "bounds": [0.3, 3.0],
            "label": "multiplier of P0's multi-day waits for other reasons (NCTR level)"}
    for service in PATHWAY_SERVICES.values():
        # Never below the people init starts in the service (its offered load): fewer places
        # is not a valid scenario, and could not be a stable one.
        c, now = s.capacity[service], min(math.floor(s.loads[service]), s.capacity[service])
        parameters[f"services.{service}.capacity"] = {
            "bounds": [max(1, now, math.floor(CAPACITY_RANGE[0] * c)), max(c + 2, math.ceil(CAPACITY_RANGE[1] * c))],
            "integer": True, "label": f"effective {service.upper()} places"}
    for pathway in ("P1", "P2", "P3"):
        share = s.shares[pathway]
        if share > 0:
            parameters[f"share_{pathway}"] = {"pathway_share": pathway, "bounds": _around(share, SHARE_RANGE, 5),
                                              "label": f"share of discharge-ready patients on {pathway}"}
    level = trust_level_changes(td.months_between(*fit), data_dir)
    config: dict[str, Any] = {
        "name": f"calibration-{code}", "trust": code,
        "description": f"{trust.name} ({code}): `d2asim calibrate --trust` from the national extracts.",
        "base_scenario": BASE_FILE,
        "derived": {"nctr_remaining": {"from": "nctr", "minus": "nctr_discharged"}},
        "fit_period": {"start": fit[0], "end": fit[1]},
        "targets": {
            "nctr_remaining": {"model": "nctr", "at_hour": 23.99, "weight": 2,
                               "label": "NCTR patients remaining at 23:59", **_level(level, "nctr_remaining")},
            "acute_occupancy": {"observed": "beds_occupied", "model": "acute_occupied", "at_hour": 8, "weight": 2,
                                "label": "Adult G&A beds occupied at 08:00", **_level(level, "acute_occupancy")},
            **{f"discharges_{p}": {"model": f"discharges_{p}", "weight": 1, "label": f"{p} discharges a day"}
               for p in ("P1", "P2", "P3") if s.shares[p] > 0},
            **{f"los14_waiting_{p}": {"model": f"waiting_{p.lower()}", "at_hour": 23.99, "min_los_days": 14,
                                      "weight": 0.5, "label": f"LoS 14+ NCTR waiting for {p}"}
               for p in ("P1", "P2", "P3") if s.shares[p] > 0},
        },
        "parameters": parameters,
        # The hospital fills the beds it has: fit-year occupancy rate x the test year's beds
        # beats the best naive forecast of occupancy in 23 of 24 windows (docs/calibration.md).
        "admissions_follow_beds": True,
        # 180 days of warm-up: init starts the services near their offered load (initial_state).
        "optimiser": {"loss": "huber", "seed": 20220401, "warmup_days": 180},
    }
    if test is not None:
        config["test_period"] = {"start": test[0], "end": test[1]}
    return base, config


def nctr_step(code: str, fit: tuple[str, str], data_dir: Path = td.DATA_DIR) -> LevelShift | None:
    """The level shift of the trust's monthly NCTR remaining over the fit months, if any
    (:func:`d2asim.calibration.steps.level_shift`)."""
    day = td.daily_series(code, data_dir)
    remaining = (day["nctr"] - day["discharged"]).resample("MS").mean()
    remaining.index = remaining.index.strftime("%Y-%m")
    return level_shift(remaining.loc[fit[0]:fit[1]])


def _level(level: dict[str, float], target: str) -> dict[str, float]:
    return {"level_change_sd": level[target]} if target in level else {}


def _around(value: float, factors: tuple[float, float], digits: int) -> list[float]:
    low, high = round(value * factors[0], digits), round(value * factors[1], digits)
    return [low, high if high > low else low + 10**-digits]
