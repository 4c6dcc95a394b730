"""The result files of ``d2asim optimise``: optimise.csv (every simulated mix),
frontier.csv (cost against the objective), best.json (the choice, what backs it, and
for ``total_cost`` the economically essential delay)."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from d2asim.experiments.optimise_space import TOTAL_COST, YEAR_DAYS, metric_words, unpriced
from d2asim.summary import mean_ci

if TYPE_CHECKING:
    from d2asim.experiments.optimise import Mix, Optimiser

COST_CONVENTION = ("annual commissioning cost: for each service with a block price, places in force on each "
                   "reported day (dated schedules followed) x cost_per_place_per_day_gbp, summed over the "
                   "reported period, x 365.25 / run.duration_days")


def optimise_table(opt: Optimiser) -> pd.DataFrame:
    """optimise.csv: one row per simulated mix."""
    rows = []
    for mix in sorted(opt.mixes.values(), key=lambda m: m.number):  # the scenario's own mix (current) first
        ci = mix.interval(opt.request.objective)
        common = mix.interval(opt.request.objective, opt.request.replications)
        row: dict[str, Any] = {"mix": mix.folder, **mix.point, "cost_gbp_per_year": mix.cost,
                               "objective_mean": ci["mean"], "ci_low": ci["ci_low"], "ci_high": ci["ci_high"],
                               "replications": mix.replications, "feasible": opt.feasible(mix),
                               "in_selection": mix.selected, "common_mean": common["mean"],
                               "common_ci_low": common["ci_low"], "common_ci_high": common["ci_high"]}
        for key in opt.tracked:
            if key != opt.request.objective:
                k = mix.interval(key)
                row.update({f"{key}_mean": k["mean"], f"{key}_ci_low": k["ci_low"], f"{key}_ci_high": k["ci_high"]})
        rows.append(row)
    return pd.DataFrame(rows)


def frontier_table(table: pd.DataFrame, fields: Sequence[str], maximise: bool) -> pd.DataFrame:
    """frontier.csv: the feasible mixes no cheaper (or equally cheap) mix beats on the
    mean objective, by cost: cost_gbp_per_year, objective_mean, ci_low, ci_high, the variables.
    Every mix is taken on the replications all mixes have (``common_*`` of optimise.csv:
    the same patients), so a mix given more replications in the selection stage is not
    compared on other patients than the rest."""
    columns = ["cost_gbp_per_year", "objective_mean", "ci_low", "ci_high", *fields]
    ok = table[table["feasible"].astype(bool)] if len(table) else table
    if not len(ok):
        return pd.DataFrame(columns=columns)
    ok = ok.drop(columns=["objective_mean", "ci_low", "ci_high"]).rename(
        columns={"common_mean": "objective_mean", "common_ci_low": "ci_low", "common_ci_high": "ci_high"})
    sign = -1.0 if maximise else 1.0
    ordered = ok.assign(_loss=sign * ok["objective_mean"]).sort_values(["cost_gbp_per_year", "_loss"], kind="stable")
    keep, best = [], math.inf
    for index, row in ordered.iterrows():
        if row["_loss"] < best:
            keep.append(index)
            best = row["_loss"]
    return ordered.loc[keep, columns].reset_index(drop=True)


def mix_summary(opt: Optimiser, mix: Mix) -> dict[str, Any]:
    ci = mix.interval(opt.request.objective)
    return {"mix": mix.folder, "variables": mix.point, "cost_gbp_per_year": mix.cost,
            "objective": {"mean": ci["mean"], "ci_low": ci["ci_low"], "ci_high": ci["ci_high"]},
            "replications": mix.replications, "feasible": opt.feasible(mix)}


def paired_change(opt: Optimiser, mix: Mix, key: str) -> dict[str, float]:
    """Mix - current on the common replications: the mean difference, its 95% CI, and
    both as % of the current mean."""
    assert opt.current is not None
    n = min(len(mix.values[key]), len(opt.current.values[key]))
    diff = mix.values[key][:n] - opt.current.values[key][:n]
    ci = mean_ci(diff)
    ref = float(opt.current.values[key][:n].mean())
    pct = {f"{k}_pct": (100 * v / ref if ref else math.nan) for k, v in ci.items()}
    return {"difference": ci["mean"], "ci_low": ci["ci_low"], "ci_high": ci["ci_high"], "current_mean": ref,
            "replications": n, **{k.replace("mean_pct", "difference_pct"): v for k, v in pct.items()}}


def essential_delay(opt: Optimiser, chosen: Mix) -> dict[str, Any]:
    """``--objective total_cost``: the cost-minimising mix's delayed acute bed days beside
    the least-delay mix's total cost (Wood et al. 2023, the economically essential delay)."""
    delay = "delayed_bed_days_acute"
    ok = [m for m in opt.mixes.values() if opt.feasible(m)]
    least = min(ok, key=lambda m: (float(m.values[delay].mean()), m.cost))
    n = min(chosen.replications, least.replications)
    extra = mean_ci(least.values[TOTAL_COST][:n] - chosen.values[TOTAL_COST][:n])
    scale = YEAR_DAYS / opt.base.run.duration_days
    return {
        "cost_minimising": {**mix_summary(opt, chosen), "delayed_acute_bed_days_per_year":
                            {k: v * scale for k, v in chosen.interval(delay).items()}},
        "least_delay": {**mix_summary(opt, least), "delayed_acute_bed_days_per_year":
                        {k: v * scale for k, v in least.interval(delay).items()}},
        "extra_total_cost_of_least_delay_gbp_per_year": extra,
        "note": "delayed acute bed days of the reported period scaled to a year (x 365.25 / duration); the "
                "least-delay mix is the simulated feasible mix with the fewest",
    }


def best_document(opt: Optimiser, choice: dict[str, Any]) -> dict[str, Any]:
    """best.json."""
    req = opt.request
    label, unit = metric_words(req.objective)
    doc: dict[str, Any] = {
        "objective": {"key": req.objective, "label": label, "unit": unit,
                      "direction": "maximise" if req.maximise else "minimise"},
        "budget_gbp_per_year": req.budget_gbp_per_year, "cost_convention": COST_CONVENTION,
        "constraints": req.constraints,
        "constraint_rule": "met when the whole 95% CI is on the allowed side (for <=, its upper end <= the value)",
        "chosen": None,
    }
    chosen: Mix | None = choice["chosen"]
    if chosen is not None:
        doc["chosen"] = mix_summary(opt, chosen)
        doc["selection"] = {
            "procedure": "KN fully sequential indifference-zone selection (Kim & Nelson 2001) on paired "
                         "common-random-number differences", "alpha": choice["alpha"],
            "delta": choice["delta"], "delta_rule": choice["delta_rule"],
            "candidates": [m.folder for m in choice["candidates"]], "separated": choice["separated"],
            "indistinguishable": [mix_summary(opt, m) for m in choice["survivors"]],
            "probability_best": choice["probability_best"],
            "common_replications": choice["common_replications"],
            "probability_best_method": f"bootstrap of the {choice['common_replications']} replications common to "
                                       "every candidate, resampled together (4000 draws)",
            "replications_per_candidate_at_stop": choice["stopped_at"], "cap_reached": choice["cap_reached"],
            "replication_cap": req.cap,
        }
        if opt.current is not None:
            doc["current"] = {"cost_gbp_per_year": opt.current.cost,
                              "objective": opt.current.interval(req.objective),
                              "replications": opt.current.replications}
            doc["change_vs_current"] = paired_change(opt, chosen, req.objective)
        if req.objective == TOTAL_COST:
            doc["economically_essential_delay"] = essential_delay(opt, chosen)
    else:
        doc["why"] = choice["why"]
    doc["search"] = {"sampler": "optuna TPE (seeded, multivariate, constant liar)", "trials": req.trials,
                     "mixes_simulated": len(opt.mixes), "proposals": opt.proposals,
                     "over_budget_proposals_not_simulated": opt.over_budget, "batch": req.batch}
    doc["replications_used"] = opt.replications_used()
    outside = opt.current is not None and all(m is not opt.current for m in opt.mixes.values())
    doc["replications_used_with_current"] = opt.replications_used() + (
        opt.current.replications if outside and opt.current is not None else 0)
    doc["unpriced_variables"] = unpriced(opt.base, req.variables)
    return doc


def write_results(opt: Optimiser, choice: dict[str, Any]) -> dict[str, Any]:
    """optimise.csv, frontier.csv and best.json; returns best.json's content."""
    table = optimise_table(opt)
    table.to_csv(opt.folder / "optimise.csv", index=False, float_format="%.6g")
    fields = [v.field for v in opt.request.variables]
    frontier_table(table, fields, opt.request.maximise).to_csv(opt.folder / "frontier.csv", index=False,
                                                               float_format="%.6g")
    doc = best_document(opt, choice)
    (opt.folder / "best.json").write_text(json.dumps(doc, indent=2, default=_json_default) + "\n")
    return doc


def _json_default(value: Any) -> Any:
    if isinstance(value, (np.integer, np.floating)):
        return value.item()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")
