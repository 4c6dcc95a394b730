"""``d2asim calibrate CONFIG``: fit a scenario to a trust's aggregate series and backtest it.

The run folder (``outputs/calibration-<trust>-<time>/`` by default, never written into
when it exists and is not empty) holds ``calibration.json``, ``series_monthly.csv``,
``series_daily.csv``, ``scenario.yaml`` (the fitted scenario), ``report.md`` and
``charts/`` (with ``--report`` also ``report.html``, as ``d2asim report`` writes it).
``--out FILE`` also writes the fitted scenario there (refused if the file exists,
unless ``--force``): it ``extends`` the base scenario and states only what the
calibration changed, under a header comment recording the data, periods and fit.
"""

from __future__ import annotations

import datetime as dt
import os
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click
import pandas as pd
import yaml

from d2asim.calibration import backtest as bt
from d2asim.calibration.aggregates import (
    BED_BASE,
    Observed,
    admissions_schedule,
    bed_schedule,
    check_enough,
    data_loss,
    load_observed,
)
from d2asim.calibration.config import CalibrationConfig, Optimiser, load_config
from d2asim.calibration.simfit import (
    Evaluator,
    Problem,
    Simulator,
    get_path,
    monthly_by_rep,
    nested,
    search,
    set_paths,
    specs_from,
)
from d2asim.calibration.trust_config import CONFIG_FILE, trust_inputs, write_inputs
from d2asim.calibration.trust_data import DATA_DIR, months_between, parse_period
from d2asim.cli.common import reports_bad_input
from d2asim.report.calibration_report import CHARTS_DIR, data_loss_text, write_report
from d2asim.report.command import report_option, report_summary
from d2asim.run_folder import new_run_dir
from d2asim.scenario.errors import ScenarioError
from d2asim.scenario.loader import load_scenario, scenario_to_dict, validate_mapping
from d2asim.scenario.schedule import describe
from d2asim.scenario.schema import Scenario
from d2asim.version import __version__

ADMISSIONS = "arrivals.non_elective.per_day"
QUICK = {"design_points": 8, "max_evaluations": 30, "replications": 2, "final_replications": 8, "refits": 0,
         "curvature_replications": 2, "parameter_draws": 4, "draw_replications": 1}


def spells_overrides(section: dict[str, Any], config_dir: Path, base: Scenario, where: str) -> dict[str, Any]:
    """Dotted-key overrides fitted from patient-level spells:
    ``d2asim.calibration.fitting.fit_spells(**section).scenario_overrides()``, with the
    ``spells`` and ``episodes`` files relative to the config's folder and, unless the
    section says otherwise, the base scenario's age bands."""
    try:
        from d2asim.calibration.fitting import fit_spells
    except ImportError:
        raise ScenarioError([f"{where}: spells: patient-level spell fitting (d2asim.calibration.fitting) "
                             "is not available in this version"]) from None
    options = dict(section)
    for key in ("spells", "episodes"):
        if isinstance(options.get(key), str):
            options[key] = config_dir / options[key]
    if isinstance(options.get("window"), list):
        options["window"] = tuple(options["window"])
    options.setdefault("age_bands", [{"name": b.name, "min_age": b.min_age} for b in base.age_bands])
    try:
        return dict(fit_spells(**options).scenario_overrides())
    except TypeError as exc:  # an option fit_spells does not take
        raise ScenarioError([f"{where}: spells: {exc}"]) from None


def prepare(config_path: Path) -> tuple[CalibrationConfig, Path, Scenario, dict[str, Any]]:
    """Config, base scenario file, base scenario with the fixed overrides (spells, then
    ``overrides``; each replaces the value at its dotted path), and those overrides."""
    config = load_config(config_path)
    base_path = (config_path.parent / config.base_scenario).resolve()
    if not base_path.is_file():
        raise ScenarioError([f"{config_path}: base_scenario: file not found: {base_path}"])
    base = load_scenario(base_path)
    if base.is_system:
        check_system_trust(config, base, config_path)
    fixed: dict[str, Any] = {}
    if config.spells is not None:
        fixed.update(spells_overrides(config.spells, config_path.parent, base, str(config_path)))
    fixed.update(config.overrides)
    if fixed:
        base = validate_mapping(set_paths(scenario_to_dict(base), fixed), f"{config_path}: overrides")
    return config, base_path, base, fixed


def check_system_trust(config: CalibrationConfig, base: Scenario, where: Path) -> None:
    """A system-form base: ``trust`` names one of its trusts, and every parameter is one of
    that trust's fields (``trusts.NAME.*``); one line per problem."""
    trusts = base.trusts or {}
    if config.trust not in trusts:
        raise ScenarioError([f"{where}: trust: {config.trust!r} is not a trust of the base scenario "
                             f"(allowed: {', '.join(trusts)})"])
    own = f"trusts.{config.trust}."
    problems = []
    for name, p in config.parameters.items():
        if p.pathway_share is not None:
            problems.append(f"{where}: parameters.{name}.pathway_share: in the system form the shares are the "
                            f"boroughs'; calibrating trust {config.trust} varies only {own}* fields")
            continue
        field, paths = (("scale", p.scale) if p.scale is not None else ("step", p.step.paths) if p.step is not None
                        else ("path", [config.parameter_path(name)]))
        problems += [f"{where}: parameters.{name}.{field}: {path!r} is not a field of trust {config.trust} "
                     f"(calibrating one trust of a system varies only {own}* fields)"
                     for path in paths if path is None or not path.startswith(own)]
    if problems:
        raise ScenarioError(problems)


def data_code(config: CalibrationConfig, base: Scenario) -> str:
    """What fills ``{trust}`` in the data filters: the config's trust, or the ODS code of the
    system trust it names (its name when the scenario gives no ods_code)."""
    if base.is_system and base.trusts is not None:
        return base.trusts[config.trust].ods_code or config.trust
    return config.trust


def check_parameters(problem: Problem, where: Path) -> None:
    """Every parameter names a field (or distributions) of the base scenario and both its
    bounds give a valid scenario; one line per problem."""
    problems = []
    for j, name in enumerate(problem.names):
        p = problem.config.parameters[name]
        field = "scale" if p.scale is not None else "step" if p.step is not None else "path"
        for value in (problem.low[j], problem.high[j]):
            try:
                validate_mapping(set_paths(scenario_to_dict(problem.base), problem.override(name, value)),
                                 "<calibration>")
            except KeyError as exc:
                problems.append(f"{where}: parameters.{name}.{field}: {exc.args[0]!r} is not set in the base scenario")
            except ValueError as exc:
                problems.append(f"{where}: parameters.{name}.{field}: {exc}")
            except ScenarioError as exc:
                problems += [f"{where}: parameters.{name}: {value:g} gives an invalid scenario: "
                             f"{line.removeprefix('<calibration>: ')}" for line in exc.lines]
            else:
                continue
            break
    if problems:
        raise ScenarioError(problems)


@dataclass
class FitOutcome:
    """What the search and the final simulation produced."""

    best: tuple[float, ...]
    evaluator: Evaluator
    frames: list[pd.DataFrame]  # final replications: daily model series, fit + test period
    simulated: dict[str, pd.DataFrame]  # final replications: months x replications per target
    curvature: dict[str, Any]
    refits: list[tuple[tuple[float, ...], float]]
    draws: list[tuple[float, ...]]  # parameter vectors drawn from the fit's distribution
    ensemble: list[pd.DataFrame]  # their replications: daily model series, fit + test period
    replications_simulated: int
    rerun: dict[str, Any]  # the search points whose final rerun was checked (stable_rerun)


def fit(problem: Problem, opt: Optimiser, total_days: int, workers: int,
        progress: Callable[[str], None]) -> FitOutcome:
    """Search, simulate the fitted scenario over ``total_days`` and estimate the uncertainty."""
    with Simulator(specs_from(problem.config, problem.trust_code), workers) as sim:
        evaluator = Evaluator(problem, sim, opt.seed, opt.replications)
        search(evaluator, opt.design_points, opt.method, opt.max_evaluations, progress, opt.patience)
        progress(f"final: {opt.final_replications} replications over {total_days} days")
        best, frames, rerun = stable_rerun(problem, sim, evaluator, opt, total_days, progress)
        simulated = monthly_by_rep(frames)
        residuals = {t: o - simulated[t].mean(axis=1).reindex(o.index) for t, o in problem.observed.items()}
        progress("uncertainty: curvature and refits")
        curv = bt.curvature(problem, sim, opt.seed, opt.curvature_replications or opt.replications, best, residuals)
        seeds = [opt.seed + 7919 * (k + 1) for k in range(opt.refits)]
        refits = bt.refit(problem, sim, seeds, opt.replications, best, opt.method, opt.refit_evaluations)
        draws = bt.parameter_draws(problem, best, curv, refits, opt.parameter_draws, opt.seed)
        progress(f"predictive bands: {len(draws)} parameter draws x {opt.draw_replications} replications")
        runs = sim.run([(problem.scenario(d, total_days), opt.seed + 104729 * (k + 1), range(opt.draw_replications))
                        for k, d in enumerate(draws)])
        ensemble = [frame for frames_k in runs for frame in frames_k]
        return FitOutcome(best, evaluator, frames, simulated, curv, refits, draws, ensemble, sim.replications_run,
                          rerun)


def stable_rerun(problem: Problem, sim: Simulator, evaluator: Evaluator, opt: Optimiser, total_days: int,
                 progress: Callable[[str], None]) -> tuple[tuple[float, ...], list[pd.DataFrame], dict[str, Any]]:
    """The fitted point and its final replications over ``total_days``: the search's best
    point when its rerun is stable, else the best stable one of the next
    ``opt.stable_candidates`` search points without a stability penalty (rerun the same
    way, in one batch), else the search's best (and the verdict says it is unstable).
    Returns the point, its replications and a record of the candidates checked."""
    best = evaluator.best()[0]
    ranked = [best, *(p for p in evaluator.ranked(opt.stable_candidates + 1) if p != best)][:opt.stable_candidates + 1]
    runs = sim.run([(problem.scenario(best, total_days), opt.seed, range(opt.final_replications))])
    stable = [bt.stability(runs[0], problem.beds())["stable"]]
    if not stable[0] and len(ranked) > 1:
        progress(f"final rerun unstable: rerunning the next {len(ranked) - 1} search points")
        more = sim.run([(problem.scenario(p, total_days), opt.seed, range(opt.final_replications))
                        for p in ranked[1:]])
        runs += more
        stable += [bt.stability(frames, problem.beds())["stable"] for frames in more]
    chosen = stable.index(True) if True in stable else 0
    record = {"candidates_rerun": len(runs), "chosen_rank": chosen,
              "candidate_objectives": [evaluator.cache[p][0] for p in ranked[:len(runs)]]}
    return ranked[chosen], runs[chosen], record


@dataclass
class Bands:
    """A fit's predictive bands (:func:`backtest.band`), per month and per simulated day."""

    monthly: pd.DataFrame  # backtest.series_table: observed, mean and bands per target and month
    discrepancy: dict[str, float]  # each target's monthly model discrepancy sd (backtest.monthly_discrepancy)
    daily: dict[str, pd.DataFrame]  # backtest.daily_bands: per target, a row per simulated day


def bands_of(config: CalibrationConfig, observed: Observed, out: FitOutcome) -> Bands:
    """The bands of ``out``'s final replications and parameter draws."""
    members = monthly_by_rep(out.frames + out.ensemble)
    discrepancy = bt.monthly_discrepancy(config, observed, out.simulated, members)
    return Bands(bt.series_table(config, observed, out.simulated, members, discrepancy), discrepancy,
                 bt.daily_bands(config, observed, out.frames, out.ensemble))


def document_of(config: CalibrationConfig, config_path: Path, base_path: Path, fixed: dict[str, Any],
                observed: Observed, problem: Problem, opt: Optimiser, quick: bool, out: FitOutcome,
                bands: Bands) -> dict[str, Any]:
    """The calibration.json content (run time added by the caller)."""
    final_objective, by_target = problem.loss(out.simulated)
    return {
        "trust": config.trust, "name": config.run_name(), "config": str(config_path),
        "base_scenario": str(base_path), "d2asim_version": __version__,
        "created": dt.datetime.now().isoformat(timespec="seconds"),
        "data": {s.file: {"series": list(s.columns), "frequency": s.frequency,
                          "rows": observed.rows.get(s.file, {})} for s in config.data.values()},
        "bad_rows": observed.bad_rows,
        "data_loss": data_loss(config, observed),
        "fit_period": bt.period_json(config.fit_period), "test_period": bt.period_json(config.test_period),
        "targets": {n: t.model_dump(exclude_none=True) for n, t in config.targets.items()},
        "fixed_overrides": fixed,
        "optimiser": {**opt.model_dump(), "quick": quick, "evaluations": len(out.evaluator.history),
                      "replications_simulated": out.replications_simulated},
        "objective": {"definition": f"weighted mean over targets of the mean {_loss_words(opt)} of each fit-period "
                      "month's relative error (simulated minus observed mean per day, over the target's observed "
                      "fit-period mean)",
                      "start": out.evaluator.cache[problem.start_values()][0],
                      "found": out.evaluator.cache[out.best][0],
                      "final": final_objective, "final_by_target": by_target,
                      "refits": [r[1] for r in out.refits]},
        "parameters": bt.parameter_entries(problem, out.best, out.curvature, out.refits),
        "parameter_correlation": {"names": problem.names, "matrix": out.curvature["correlation"]},
        "uncertainty_method": bt.UNCERTAINTY_METHOD,
        "predictive_bands": {"parameter_draws": [dict(zip(problem.names, d, strict=True)) for d in out.draws],
                             "members": len(out.frames) + len(out.ensemble),
                             "method": "percentiles over the final replications of the fitted scenario and "
                                       f"{opt.draw_replications} replication(s) of each parameter draw, each "
                                       "spread by a normal model discrepancy (model_discrepancy_sd: the fit "
                                       "period's root-mean-square error beyond the members' own variance; the "
                                       "daily bands' from the fit days) and, after the fit period, by the level "
                                       "change (level_change_sd x sqrt(months from the fit period's centre / 6) "
                                       "of the member's mean, in quadrature with the discrepancy: "
                                       "d2asim.calibration.reference_class)",
                             "model_discrepancy_sd": bands.discrepancy,
                             "level_change_sd": {n: t.level_change_sd for n, t in config.targets.items()
                                                 if t.level_change_sd}},
        "error_scales": {"kind": opt.error_scale, "by_target": problem.scales},
        **bt.monthly_scores(config, bands.monthly),
        "backtest_daily": bt.daily_scores(config, observed, bands.daily),
        "simulated_drift": bt.drift(bands.monthly),
        "stability": {**bt.stability(out.frames, problem.beds()), **out.rerun,
                      "search_days": problem.search_days()},
    }


@dataclass
class Plan:
    """A calibration checked end to end before any simulation: config, base scenario,
    observed data (enough months of every target), parameters and search settings."""

    config: CalibrationConfig
    config_path: Path
    base_path: Path
    base: Scenario
    fixed: dict[str, Any]
    observed: Observed
    problem: Problem
    opt: Optimiser
    quick: bool

    def total_days(self) -> int:
        last = (self.config.test_period or self.config.fit_period).last_day()
        return (last - self.config.fit_period.first_day()).days + 1

    def replications(self) -> int:
        """Replications the run will simulate at most (search, final and its unstable fallbacks,
        curvature, refits, draws)."""
        o, p = self.opt, len(self.problem.names)
        search = (1 + o.design_points + o.max_evaluations) * o.replications
        return (search + (1 + o.stable_candidates) * o.final_replications
                + 2 * p * (o.curvature_replications or o.replications)
                + o.refits * (1 + o.refit_evaluations) * o.replications + o.parameter_draws * o.draw_replications)

    def _warmup(self) -> int:
        return self.base.run.warmup_days if self.opt.warmup_days is None else self.opt.warmup_days

    def describe(self) -> str:
        """What would run, in a few lines (``--dry-run``, ``d2asim validate``)."""
        c, o = self.config, self.opt
        lines = [f"{self.config_path}: ok (calibration config {c.run_name()!r}, trust {c.trust}; base scenario "
                 f"{self.base.name!r}, {describe(self.problem.acute.beds)} beds)",
                 f"  fit {c.fit_period.label()}, test {c.test_period.label() if c.test_period else 'none'}; "
                 f"{self.total_days()} days simulated after {self._warmup()} days of warm-up"]
        for name, months in self.problem.observed.items():
            lines.append(f"  target {name}: {len(months)} fit months, mean {months.mean():.4g}, error scale "
                         f"{self.problem.scales[name]:.3g} ({o.error_scale})")
        for j, name in enumerate(self.problem.names):
            lines.append(f"  parameter {name}: start {self.problem.start_values()[j]:g}, bounds "
                         f"[{self.problem.low[j]:g}, {self.problem.high[j]:g}]")
        bad = {f: b for f, b in self.observed.bad_rows.items() if b}
        lines.append("  bad rows: " + ("; ".join(f"{f} " + ", ".join(f"{r} {n}" for r, n in b.items())
                                                 for f, b in bad.items()) or "none"))
        lines.append(f"  search: {1 + o.design_points} design points + up to {o.max_evaluations} {o.method} "
                     f"evaluations x {o.replications} replications of {self.problem.search_days()} days (the "
                     f"stability check runs {self.problem.search_days() - c.fit_period.days()} days past the fit "
                     f"period); at most {self.replications()} replications in all"
                     + (" (--quick)" if self.quick else ""))
        return "\n".join(lines)


def follow_bed_base(base: Scenario, observed: Observed, config: CalibrationConfig, fixed: dict[str, Any],
                    config_path: Path) -> Scenario:
    """The base with the fitted trust's core beds (``acute.beds``, or ``trusts.NAME.beds``
    of a system-form base) following the observed monthly beds available
    (:func:`bed_schedule`; recorded in ``fixed``), so a fit and its backtest run on the
    trust's real bed base; with ``admissions_follow_beds``, admissions a day follow it too
    (:func:`admissions_schedule`). Unchanged without that series, or when the config sets
    or fits those beds itself."""
    beds = f"trusts.{config.trust}.beds" if base.is_system else "acute.beds"
    if BED_BASE not in observed.series or beds in fixed or beds in config.parameters:
        if config.admissions_follow_beds:
            raise ScenarioError([f"{config_path}: admissions_follow_beds: needs the observed bed base (a "
                                 f"{BED_BASE} series, and {beds} neither set in overrides nor fitted)"])
        return base
    following = {beds: bed_schedule(observed.monthly(BED_BASE))}
    if config.admissions_follow_beds:
        following[ADMISSIONS] = _admissions_following(base, observed, config, config_path)
    fixed.update(following)
    return validate_mapping(set_paths(scenario_to_dict(base), following), f"{config_path}: the observed bed base")


def _admissions_following(base: Scenario, observed: Observed, config: CalibrationConfig,
                          config_path: Path) -> dict[str, Any]:
    """The single-site base's admissions a day as a schedule following the bed base."""
    if base.is_system:
        raise ScenarioError([f"{config_path}: admissions_follow_beds: needs a single-site base scenario (this one "
                             "has trusts: give each borough's admissions a dated schedule instead)"])
    fitted = [name for name in config.parameters if config.parameter_path(name) == ADMISSIONS]
    if fitted:
        raise ScenarioError([f"{config_path}: parameters.{fitted[0]}: would replace the admissions schedule that "
                             "admissions_follow_beds makes with one number; fit a scale of it instead "
                             f"(scale: [{ADMISSIONS}])"])
    value = get_path(scenario_to_dict(base), ADMISSIONS)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ScenarioError([f"{config_path}: admissions_follow_beds: the base scenario's {ADMISSIONS} must be a "
                             f"number (got {value!r})"])
    fit_months = pd.Index(months_between(config.fit_period.start, config.fit_period.end))
    return admissions_schedule(float(value), observed.monthly(BED_BASE), fit_months)


def plan(config_path: Path, quick: bool = False) -> Plan:
    """Every check a calibration makes before simulating; one line per problem (ScenarioError)."""
    config, base_path, base, fixed = prepare(config_path)
    observed = load_observed(config, config_path, data_code(config, base))
    base = follow_bed_base(base, observed, config, fixed, config_path)
    problem = Problem(config, base, check_enough(config, observed, config_path))
    check_parameters(problem, config_path)
    opt = config.optimiser.model_copy(update=QUICK) if quick else config.optimiser
    return Plan(config, config_path, base_path, base, fixed, observed, problem, opt, quick)


def _cpu_seconds() -> float:
    """CPU seconds of this process and its ended child processes (workers) so far."""
    times = os.times()
    return times.user + times.system + times.children_user + times.children_system


def calibrate(config_path: Path, scenario_out: Path | None = None, run_dir: Path | None = None,
              workers: int | None = None, quick: bool = False, force: bool = False,
              progress: Callable[[str], None] = lambda _m: None,
              report: bool = False, folder: Path | None = None,
              command: str | None = None) -> tuple[Path, dict[str, Any]]:
    """Fit, backtest and report (``report``: report.html too); returns the run folder and
    the calibration.json document. ``folder``: an existing run folder to write into
    (``calibrate --trust`` has put its inputs there); ``command``: how to rerun it."""
    began, cpu_began = time.perf_counter(), _cpu_seconds()
    if scenario_out is not None and scenario_out.exists() and not force:
        raise ScenarioError([f"{scenario_out}: --out: file exists; choose another name or add --force"])
    p = plan(config_path, quick)
    config, problem, opt = p.config, p.problem, p.opt
    folder = folder or new_run_dir(config.run_name(), run_dir)
    out = fit(problem, opt, p.total_days(), workers or os.cpu_count() or 1, progress)
    progress("writing the run folder, scenario and report")
    bands = bands_of(config, p.observed, out)
    document = document_of(config, p.config_path, p.base_path, p.fixed, p.observed, problem, opt, quick, out, bands)
    document["config"], document["base_scenario"] = _relative(p.config_path, folder), _relative(p.base_path, folder)
    if command:
        document["command"] = command
    document["verdict"] = bt.verdict(document)
    bands.monthly.to_csv(folder / "series_monthly.csv", index=False)
    bt.daily_table(config, p.observed, bands.daily).to_csv(folder / "series_daily.csv", index=False)
    overrides = {**p.fixed, **problem.overrides(out.best)}
    fitted = problem.scenario(out.best).model_copy(update={"run": p.base.run})  # the base's run settings
    write_scenario(folder / "scenario.yaml", p.base_path, overrides, fitted, document, False, config.run_name(),
                   folder)
    if scenario_out is not None:
        write_scenario(scenario_out, p.base_path, overrides, fitted, document, force, None, folder)
        document["scenario_out"] = _relative(scenario_out, folder)
    document["run_seconds"] = round(time.perf_counter() - began, 1)
    document["cpu_seconds"] = round(_cpu_seconds() - cpu_began, 1)  # the workers have ended: counted
    write_report(folder, document, bands.monthly, html=report)
    bt.write_json(folder / "calibration.json", document)
    return folder, document


def _relative(path: Path, folder: Path) -> str:
    """``path`` relative to ``folder`` (so a run folder's records travel with it)."""
    return os.path.relpath(Path(path).resolve(), Path(folder).resolve())


def _loss_words(opt: Optimiser) -> str:
    return "square" if opt.loss == "squared" else f"Huber loss (square up to {opt.delta():g}, linear beyond)"


def scenario_header(document: dict[str, Any], run_folder: str) -> str:
    """The comment block recording where a fitted scenario came from (``run_folder``: the
    calibration run folder, relative to the scenario's own folder)."""
    obj = document["objective"]
    command = document.get("command") or f"d2asim calibrate {document['config']}"
    lines = [f"Calibrated by `{command}` (d2asim {document['d2asim_version']}, {document['created']}).",
             f"Run folder {run_folder} (the paths in its calibration.json are relative to it).",
             f"Trust {document['trust']}. Data (files relative to the config; bad rows left out, by reason):",
             *[f"  {f}: " + (", ".join(f"{r} {n}" for r, n in document["bad_rows"].get(f, {}).items()) or "no bad rows")
               for f in document["data"]],
             f"Fit period {document['fit_period']['start']}..{document['fit_period']['end']}"
             + (f"; test period {document['test_period']['start']}..{document['test_period']['end']}."
                if document["test_period"] else "."),
             f"Objective (weighted mean loss of monthly relative errors, calibration.json): start {obj['start']:.4g}, "
             f"found {obj['found']:.4g} ({document['optimiser']['evaluations']} evaluations, "
             f"{document['optimiser']['replications']} replications each, seed {document['optimiser']['seed']}); "
             f"{obj['final']:.4g} with {document['optimiser']['final_replications']} replications.",
             "Parameters (start -> fitted +/- standard error; 90% interval):"]
    for name, p in document["parameters"].items():
        lines.append(f"  {name}: {p['start']:g} -> {p['value']:g} +/- {p['se']:.3g} "
                     f"[{p['ci90'][0]:.4g}, {p['ci90'][1]:.4g}]" + ("" if p["identified"] else
                                                                   " (weakly identified by these targets)"))
    for metric, m in document.get("backtest", {}).items():
        if m.get("n"):
            lines.append(f"Backtest {metric}: MAE {m['mae']:.3g} (naive {m['naive_mae']:.3g}), bias {m['bias']:+.3g}, "
                         f"90% band covers {m['coverage_90']:.0%} of {m['n']} months.")
    lines.append("Full record: calibration.json in the calibration run folder.")
    return "".join(f"# {line}\n" for line in lines)


def merge_patch(base: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    """``overrides`` as a nested mapping that the loader's deep merge over ``base`` turns
    into "replace": a distribution's keys that the new one lacks are set to null."""
    out = {}
    for key, value in overrides.items():
        try:
            old = get_path(base, key)
        except KeyError:
            old = None
        if isinstance(value, dict) and "type" in value and isinstance(old, dict):
            value = {**{k: None for k in old if k not in value}, **value}
        out[key] = value
    return nested(out)


def write_scenario(path: Path, base_path: Path, overrides: dict[str, Any], fitted: Scenario,
                   document: dict[str, Any], force: bool, name: str | None, run_folder: Path) -> None:
    """A scenario that ``extends`` the base (relative to its own folder) with ``overrides``,
    checked with the scenario loader before it replaces anything. If the loader's merge
    cannot express an override (a distribution changing to a type without the old one's
    fields), the fitted scenario is written in full instead, and the header says so."""
    if path.exists() and not force:
        raise ScenarioError([f"{path}: --out: file exists; choose another name or add --force"])
    path.parent.mkdir(parents=True, exist_ok=True)
    header = scenario_header(document, os.path.relpath(run_folder.resolve(), path.parent.resolve()))
    description = (f"{document['trust']} calibrated to aggregate series, fit period "
                   f"{document['fit_period']['start']}..{document['fit_period']['end']} (see header).")
    body = {"name": name or path.stem, "extends": os.path.relpath(base_path, path.parent.resolve()),
            "description": description, **merge_patch(scenario_to_dict(load_scenario(base_path)), overrides)}
    temp = path.with_name(f".{path.name}.tmp")
    temp.write_text(header + yaml.safe_dump(body, sort_keys=False, allow_unicode=True, width=100))
    try:
        load_scenario(temp)
    except ScenarioError:
        full = {**scenario_to_dict(fitted), "name": name or path.stem, "description": description}
        full.pop("extends", None)
        temp.write_text(header + "# Written in full: the base's deep merge cannot express these overrides.\n"
                        + yaml.safe_dump(full, sort_keys=False, allow_unicode=True, width=100))
        load_scenario(temp)
    temp.replace(path)


def _summary(folder: Path, document: dict[str, Any]) -> str:
    obj = document["objective"]
    lines = [f"Calibration of {document['trust']}: objective {obj['start']:.4g} -> {obj['found']:.4g} "
             f"(final {obj['final']:.4g})", "parameter                          value        se   90% interval"]
    for name, p in document["parameters"].items():
        lines.append(f"{name:<32} {p['value']:>8g} {p['se']:>9.3g}   [{p['ci90'][0]:.4g}, {p['ci90'][1]:.4g}]")
    if document.get("backtest"):
        lines.append("backtest (test period, monthly)      MAE  best naive   MASE    bias   80% / 90% coverage"
                     "   anchored MASE")
        anchored = document.get("backtest_anchored", {})
        for metric, m in document["backtest"].items():
            if m.get("n"):
                lines.append(f"{metric:<32} {m['mae']:>8.3g} {m['best_naive_mae']:>11.3g} {_mase_text(m):>6} "
                             f"{m['bias']:>+7.3g}   {m['coverage_80']:>4.0%} / {m['coverage_90']:.0%}"
                             f"   {_mase_text(anchored.get(metric, {})):>13}")
    lines += [f"warning: {text}" for text in data_loss_text(document.get("data_loss", {}))]
    lines += [f"warning: simulated {t} drifts by {d['per_year']:+.3g} a year ({d['relative_per_year']:+.0%}): the "
              "model has not settled (a queue growing without limit, or too short a warm-up)"
              for t, d in document["simulated_drift"].items() if d["warning"]]
    if document.get("verdict"):
        lines.append(document["verdict"]["sentence"])
    lines += [f"Run folder: {folder} ({document['run_seconds']:.0f} s)"]
    if "scenario_out" in document:
        lines.append(f"Scenario: {document['scenario_out']}")
    return "\n".join(lines)


def _mase_text(scores: dict[str, Any]) -> str:
    return "-" if scores.get("mase") is None else f"{scores['mase']:.2f}"


def calibrate_trust(code: str, fit: str, test: str | None, boroughs: list[str], scenario_out: Path | None,
                    run_dir: Path | None, workers: int | None, quick: bool, force: bool,
                    progress: Callable[[str], None], report: bool,
                    optimiser: dict[str, Any] | None = None) -> tuple[Path, dict[str, Any]]:
    """``--trust``: init's base scenario (fit period) and a config on the national
    extracts, checked in a scratch folder, then written into the run folder and run
    (``optimiser``: settings replacing the config's, e.g. a smaller search budget)."""
    code = code.strip().upper()
    fit_months = parse_period(fit, "--fit")
    test_months = parse_period(test, "--test") if test else None
    base, config = trust_inputs(code, fit_months, test_months, boroughs)
    config["optimiser"] = {**config["optimiser"], **(optimiser or {})}
    with tempfile.TemporaryDirectory() as scratch:
        plan(write_inputs(Path(scratch), base, config), quick)
    folder = new_run_dir(f"calibration-{code}", run_dir)
    command = " ".join(["d2asim calibrate --trust", code, "--fit", fit, *(["--test", test] if test else []),
                        *[f"--borough {b!r}" if " " in b else f"--borough {b}" for b in boroughs],
                        *(["--quick"] if quick else [])])
    return calibrate(write_inputs(folder, base, config), scenario_out, None, workers, quick, force, progress, report,
                     folder=folder, command=command)


def dry_run_trust(code: str, fit: str, test: str | None, boroughs: list[str], quick: bool) -> str:
    """What ``--trust`` would run, checked in a scratch folder; nothing is written."""
    fit_months = parse_period(fit, "--fit")
    base, config = trust_inputs(code.strip().upper(), fit_months, parse_period(test, "--test") if test else None,
                                boroughs)
    with tempfile.TemporaryDirectory() as scratch:
        text = plan(write_inputs(Path(scratch), base, config), quick).describe()
        data = os.path.relpath(DATA_DIR.resolve(), Path(scratch).resolve())
        return (text.replace(str(Path(scratch) / CONFIG_FILE), f"--trust {code.strip().upper()}")
                .replace(data + os.sep, "calibration/data/"))


@click.command("calibrate")
@click.argument("config_file", type=click.Path(path_type=Path), required=False)
@click.option("--trust", "code", default=None, help="calibrate any trust from the national extracts (no config)")
@click.option("--fit", default=None, metavar="START:END", help="with --trust: fit months, e.g. 2022-04:2023-03")
@click.option("--test", default=None, metavar="START:END", help="with --trust: backtest months, e.g. 2023-04:2024-03")
@click.option("--borough", "boroughs", multiple=True, help="with --trust: council served (populations); repeatable")
@click.option("--out", "scenario_out", type=click.Path(path_type=Path), default=None,
              help="write the fitted scenario YAML here (extends the base scenario)")
@click.option("--run-dir", type=click.Path(path_type=Path), default=None,
              help="run folder [default: outputs/calibration-TRUST-TIME]")
@click.option("--workers", type=click.IntRange(min=1), default=None, help="worker processes [default: all cores]")
@click.option("--quick", is_flag=True, help="small search (about a fifth of the work) for a first look")
@click.option("--dry-run", is_flag=True, help="check everything and say what would run; simulate and write nothing")
@click.option("--force", is_flag=True, help="replace an existing --out file")
@click.option("--quiet", is_flag=True, help="no progress messages")
@report_option
@reports_bad_input
def calibrate_command(config_file: Path | None, code: str | None, fit: str | None, test: str | None,
                      boroughs: tuple[str, ...], scenario_out: Path | None, run_dir: Path | None,
                      workers: int | None, quick: bool, dry_run: bool, force: bool, quiet: bool,
                      report: bool) -> None:
    """Fit the scenario of CONFIG_FILE (or, with --trust CODE --fit START:END, of any
    trust from the bundled national extracts) to observed aggregate series, backtest it
    on a later period and write a calibration run folder (and --out scenario)."""
    began = time.perf_counter()

    def say(message: str) -> None:
        if not quiet:
            click.echo(f"[{time.perf_counter() - began:5.0f} s] {message}", err=True)

    if (config_file is None) == (code is None):
        raise ScenarioError(["calibrate: give a CONFIG_FILE or --trust CODE --fit START:END (not both)"])
    if code is None and (fit or test or boroughs):
        raise ScenarioError(["calibrate: --fit, --test and --borough go with --trust (a config file names its "
                             "periods)"])
    if code is not None and fit is None:
        raise ScenarioError(["--fit: required with --trust, e.g. --fit 2022-04:2023-03"])
    if dry_run:
        if code is not None:
            assert fit is not None  # checked above
            text = dry_run_trust(code, fit, test, list(boroughs), quick)
        else:
            assert config_file is not None  # checked above
            text = plan(config_file, quick).describe()
        click.echo(text + "\ndry run: nothing simulated, nothing written")
        return
    if code is not None:
        folder, document = calibrate_trust(code, fit, test, list(boroughs), scenario_out, run_dir,  # type: ignore[arg-type]
                                           workers, quick, force, say, report)
    else:
        folder, document = calibrate(config_file, scenario_out, run_dir, workers, quick, force, say,  # type: ignore[arg-type]
                                     report)
    click.echo(_summary(folder, document))
    if report:
        charts = {png.stem: png for png in sorted((folder / CHARTS_DIR).glob("*.png"))}
        click.echo(report_summary({"html": folder / "report.html", "markdown": folder / "report.md", **charts}))
