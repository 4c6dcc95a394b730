"""Calibration from patient-level spells: parameter recovery, bad rows, column mapping.

**Parameter recovery.** A known scenario (30 admissions/day with weekday and month
profiles, lognormal time to discharge ready with distinct means by pathway, pathway
shares 0.60/0.25/0.10/0.05, 2% deaths, lognormal P1/P2 durations with outcome shares)
is simulated by d2asim for 460 days; its event log becomes spells and episodes
(:func:`synthetic_spells`), written to CSV under the analyst's own column names, loaded
and fitted. Every fitted value must lie within z standard errors of the truth, where

- z is Bonferroni-corrected for a family-wise error of 1% over all K checks:
  z = Phi^-1(1 - 0.01 / (2K)) (K = 43 here, z = 3.68);
- arrivals (per_day, 7 weekday and 12 month multipliers, each profile normalised to
  mean 1): asymptotic covariance of the Poisson log-linear MLE, the inverse Fisher
  information X' diag(mu) X at the true daily rates mu over the fitted window's days,
  carried to the normalised parameters by the delta method (numerical Jacobian);
- shares (pathways, death, outcomes): binomial, sqrt(p (1 - p) / n) at the true p;
- lognormal mean and sd, compared on the log scale (where their estimates are close
  to normal; on the natural scale they are right-skewed): inverse observed Fisher
  information of the lognormal log-likelihood in (mu, sigma) (right-censored at 42 days
  for P1 reablement, which the model caps), by numerical Hessian at the fitted values,
  then the delta method to log mean = mu + sigma^2/2 and
  log sd = log mean + log(exp(sigma^2) - 1) / 2.

Censoring: spells still open at the end are not in the data; the fit only uses spells
admitted more than the 99th percentile of length of stay before the last discharge,
which leaves a bias of about rate x E[(LoS - L)+] (about one admission in 12,000),
far below one standard error. Beds and services are unlimited or ample, so the
admission time is the arrival time.

The lognormal must also win on AIC for lognormal data (and gamma / Weibull for theirs),
with a KS p-value above 0.001 for the chosen fit, and the arrival counts must not be
over-dispersed (Pearson chi-squared p above 0.001).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from helpers import build, lognormal
from scipy import stats

from d2asim.calibration.fitting import (
    apply_overrides,
    assign_age_band,
    fit_arrivals,
    fit_duration,
    fit_pathway_shares,
    fit_spells,
)
from d2asim.calibration.spells import load_episodes, load_spells
from d2asim.calibration.synthetic import EPISODE_DEFECTS, SPELL_DEFECTS, corrupt, corrupt_episodes, synthetic_spells
from d2asim.scenario.errors import ScenarioError

SEED = 20240601
SIM_DAYS = 460
FAMILY_ALPHA = 0.01
DOW = (1.15, 1.10, 1.05, 1.0, 1.0, 0.85, 0.85)
MONTHS = (1.1, 1.1, 1.0, 1.0, 0.95, 0.9, 0.9, 0.9, 0.95, 1.0, 1.05, 1.15)
TTR = {"P0": (3.0, 3.0), "P1": (8.0, 6.0), "P2": (11.0, 8.0), "P3": (14.0, 10.0)}
SHARES = {"P0": 0.60, "P1": 0.25, "P2": 0.10, "P3": 0.05}
DEATH = 0.02
SERVICES = {
    "p1": ((12.0, 9.0), {"home": 0.6, "home_care": 0.25, "death": 0.15}),
    "p2": ((20.0, 10.0), {"home": 0.5, "home_care": 0.3, "death": 0.2}),
}
P1_CAP = 42.0
USER_NAMES = {  # the analyst's column names -> ours
    "Spell Ref": "spell_id",
    "Admission Date Time": "admitted",
    "Discharge Ready Date Time": "discharge_ready",
    "Discharge Date Time": "discharged",
    "D2A Pathway": "pathway",
    "Discharge Destination": "destination",
    "Age On Admission": "age",
    "Admission Method": "source",
}
EPISODE_NAMES = {"SpellRef": "spell_id", "ServiceType": "service", "StartDT": "start", "EndDT": "end",
                 "Outcome": "outcome"}


def truth_scenario():
    return build({
        "name": "recovery",
        "run": {"start_date": "2023-04-03", "warmup_days": 0, "duration_days": SIM_DAYS},
        "age_bands": [{"name": "18-64", "min_age": 18, "share": 0.55}, {"name": "65+", "min_age": 65, "share": 0.45}],
        "arrivals": {"non_elective": {"per_day": 30.0, "day_of_week": list(DOW), "month_of_year": list(MONTHS)}},
        "acute": {
            "beds": 3000,
            "death_probability": DEATH,
            "time_to_discharge_ready_days": {p: lognormal(m, s) for p, (m, s) in TTR.items()},
            "discharge_window": {"start_hour": 8, "end_hour": 20},  # delays exist, ready times unaffected
        },
        "pathways": {"shares": SHARES},
        "services": {
            "p1": {"capacity": 95, "duration_days": lognormal(*SERVICES["p1"][0]), "outcomes": SERVICES["p1"][1]},
            "p2": {"duration_days": lognormal(*SERVICES["p2"][0]), "outcomes": SERVICES["p2"][1]},
            "p3": {"duration_days": lognormal(30, 15), "outcomes": {"home": 0.2, "death": 0.8}},
            "home_care": {"duration_days": {"type": "exponential", "mean": 30}, "outcomes": {"home": 1.0}},
        },
    })


# ------------------------------------------------------------------- fixtures
@pytest.fixture(scope="module")
def synthetic():
    return synthetic_spells(truth_scenario(), SEED)


def _user_csv(spells: pd.DataFrame, path: Path) -> None:
    """Write spells the way an analyst's extract might look: own names, 'Pathway 1'."""
    out = spells.drop(columns=["patient_id"]).copy()
    out["pathway"] = out["pathway"].map(lambda p: f"Pathway {p[1]}" if isinstance(p, str) else "")
    out.rename(columns={v: k for k, v in USER_NAMES.items()}).to_csv(path, index=False)


@pytest.fixture(scope="module")
def fitted(synthetic, tmp_path_factory):
    spells, episodes = synthetic
    folder = tmp_path_factory.mktemp("spells")
    _user_csv(spells, folder / "spells.csv")
    episodes.rename(columns={v: k for k, v in EPISODE_NAMES.items()}).to_csv(folder / "episodes.csv", index=False)
    # as a calibration config would call it: file names, column mappings, bands as mappings
    bands = [{"name": b.name, "min_age": b.min_age} for b in truth_scenario().age_bands]
    fit = fit_spells(folder / "spells.csv", folder / "episodes.csv", bands,
                     columns=USER_NAMES, episode_columns=EPISODE_NAMES)
    assert [b.n_bad for b in fit.bad] == [0, 0]
    return fit


# ------------------------------------------------------------- standard errors
def arrival_ses(fit) -> dict[str, tuple[float, float]]:
    """(truth, se) of per_day, day_of_week.* and month_of_year.* from the Poisson GLM
    Fisher information at the true rates over the fitted days, by the delta method."""
    days = fit.counts.index
    wd, mo = days.day_of_week.to_numpy(), days.month.to_numpy() - 1
    x = np.zeros((len(days), 18))
    x[:, 0] = 1.0
    for w in range(1, 7):
        x[:, w] = wd == w
    for m in range(1, 12):
        x[:, 6 + m] = mo == m
    # log-linear parameters with Monday and January as reference levels
    theta = np.concatenate([[math.log(30.0 * DOW[0] * MONTHS[0])], np.log(np.array(DOW[1:]) / DOW[0]),
                            np.log(np.array(MONTHS[1:]) / MONTHS[0])])
    mu = np.exp(x @ theta)
    cov = np.linalg.inv(x.T @ (x * mu[:, None]))

    def normalised(t: np.ndarray) -> np.ndarray:
        b = np.exp(np.concatenate([[0.0], t[1:7]]))
        c = np.exp(np.concatenate([[0.0], t[7:]]))
        return np.concatenate([[math.exp(t[0]) * b.mean() * c.mean()], b / b.mean(), c / c.mean()])

    g0 = normalised(theta)
    jac = np.zeros((20, 18))
    for j in range(18):
        step = np.zeros(18)
        step[j] = 1e-6
        jac[:, j] = (normalised(theta + step) - normalised(theta - step)) / 2e-6
    se = np.sqrt(np.diag(jac @ cov @ jac.T))
    names = ["per_day"] + [f"day_of_week.{i}" for i in range(7)] + [f"month_of_year.{i}" for i in range(12)]
    return {n: (float(g), float(s)) for n, g, s in zip(names, g0, se, strict=True)}


def lognormal_log_ses(sigma_mu: tuple[float, float], x: np.ndarray, cap: float | None) -> tuple[float, float]:
    """SEs of the log of the fitted lognormal mean and sd: inverse observed information
    of the (right-censored at ``cap``) lognormal log-likelihood in (mu, sigma), delta method."""
    sigma, mu = sigma_mu
    logx = np.log(x)
    censored = np.zeros(x.size, dtype=bool) if cap is None else x >= cap - 1e-3
    log_cap = math.log(cap) if cap is not None else 0.0

    def loglik(p: np.ndarray) -> float:
        m, s = p
        return float(stats.norm.logpdf(logx[~censored], m, s).sum() - logx[~censored].sum()
                     + censored.sum() * stats.norm.logsf(log_cap, m, s))

    p0, h = np.array([mu, sigma]), 1e-4
    hess = np.zeros((2, 2))
    for i in range(2):
        for j in range(2):
            ei, ej = np.eye(2)[i] * h, np.eye(2)[j] * h
            hess[i, j] = (loglik(p0 + ei + ej) - loglik(p0 + ei - ej) - loglik(p0 - ei + ej)
                          + loglik(p0 - ei - ej)) / (4 * h * h)
    cov = np.linalg.inv(-hess)
    grad_log_mean = np.array([1.0, sigma])
    grad_log_sd = np.array([1.0, sigma * (1 + math.exp(sigma**2) / (math.exp(sigma**2) - 1))])
    return float(math.sqrt(grad_log_mean @ cov @ grad_log_mean)), float(math.sqrt(grad_log_sd @ cov @ grad_log_sd))


@pytest.fixture(scope="module")
def recovery(fitted, synthetic):
    """Rows (quantity, truth, fitted, se) of every recovery check."""
    spells, episodes = synthetic
    rows = []
    arrivals = fitted.arrivals["non_elective"]
    ses = arrival_ses(arrivals)
    got = {"per_day": arrivals.per_day}
    got.update({f"day_of_week.{i}": v for i, v in enumerate(arrivals.day_of_week)})
    got.update({f"month_of_year.{i}": v for i, v in enumerate(arrivals.month_of_year)})
    for name, (truth, se) in ses.items():
        rows.append((f"arrivals.{name}", truth, got[name], se, "natural"))
    shares = fitted.pathway_shares
    for p, truth in SHARES.items():
        rows.append((f"pathways.shares.{p}", truth, shares.shares[p], math.sqrt(truth * (1 - truth) / shares.n),
                     "natural"))
    rows.append(("acute.death_probability", DEATH, fitted.death.shares["died"],
                 math.sqrt(DEATH * (1 - DEATH) / fitted.death.n), "natural"))
    frame = spells.assign(ttr=(spells["discharge_ready"] - spells["admitted"]) / pd.Timedelta(days=1))
    in_window = frame["admitted"].dt.normalize().between(*fitted.window)
    for p, (mean, sd) in TTR.items():
        best = fitted.time_to_ready[p][0]
        x = frame.loc[in_window & (frame["pathway"] == p), "ttr"].to_numpy()
        assert x.size == best.n
        se_mean, se_sd = lognormal_log_ses((best.params[0], math.log(best.params[2])), x, None)
        rows.append((f"ttr.{p}.mean", mean, best.mean(), se_mean, "log"))
        rows.append((f"ttr.{p}.sd", sd, best.sd(), se_sd, "log"))
    ep = episodes.assign(days=(episodes["end"] - episodes["start"]) / pd.Timedelta(days=1))
    for name, ((mean, sd), outcomes) in SERVICES.items():
        svc = fitted.services[name]
        best = svc.durations[0]
        mine = ep[ep["service"] == name].sort_values("start")
        lag = math.ceil(np.quantile(mine["days"], 0.99))
        first, last = mine["end"].min().normalize(), max(episodes["end"].max(), spells["discharged"].max())
        x = mine.loc[mine["start"].between(first, last - pd.Timedelta(days=lag)), "days"].to_numpy()
        assert x.size == svc.n
        cap = P1_CAP if name == "p1" else None
        se_mean, se_sd = lognormal_log_ses((best.params[0], math.log(best.params[2])), np.minimum(x, cap or np.inf),
                                           cap)
        rows.append((f"services.{name}.duration.mean", mean, best.mean(), se_mean, "log"))
        rows.append((f"services.{name}.duration.sd", sd, best.sd(), se_sd, "log"))
        for outcome, truth in outcomes.items():
            rows.append((f"services.{name}.outcomes.{outcome}", truth, svc.outcomes.shares[outcome],
                         math.sqrt(truth * (1 - truth) / svc.outcomes.n), "natural"))
    table = pd.DataFrame(rows, columns=["quantity", "truth", "fitted", "se", "scale"])
    z = stats.norm.ppf(1 - FAMILY_ALPHA / (2 * len(table)))
    log = table["scale"] == "log"
    error = np.where(log, np.log(table["fitted"] / table["truth"]), table["fitted"] - table["truth"])
    table["z"] = error / table["se"]
    table["low"] = np.where(log, table["truth"] * np.exp(-z * table["se"]), table["truth"] - z * table["se"])
    table["high"] = np.where(log, table["truth"] * np.exp(z * table["se"]), table["truth"] + z * table["se"])
    table["ok"] = (table["fitted"] >= table["low"]) & (table["fitted"] <= table["high"])
    return table


def _check(table: pd.DataFrame, prefix: str) -> None:
    part = table[table["quantity"].str.startswith(prefix)]
    assert len(part)
    assert part["ok"].all(), "\n" + part.to_string()


# -------------------------------------------------------------- (a) recovery
def test_recovers_arrival_rate_and_profiles(recovery, fitted):
    _check(recovery, "arrivals.")
    fit = fitted.arrivals["non_elective"]
    assert fit.p_value > 0.001, fit.statistic()  # Poisson counts: no over-dispersion
    assert fit.n_days >= 365  # the month profile was fitted


def test_recovers_pathway_and_death_shares(recovery):
    _check(recovery, "pathways.shares.")
    _check(recovery, "acute.death_probability")


def test_recovers_time_to_discharge_ready_and_picks_lognormal(recovery, fitted):
    _check(recovery, "ttr.")
    for p in TTR:
        best = fitted.time_to_ready[p][0]
        assert best.family == "lognormal", [f.statistic() for f in fitted.time_to_ready[p]]
        assert best.ks_p > 0.001
        assert [f.aic for f in fitted.time_to_ready[p]] == sorted(f.aic for f in fitted.time_to_ready[p])


def test_recovers_service_durations_and_outcomes(recovery, fitted):
    _check(recovery, "services.")
    for name in SERVICES:
        assert fitted.services[name].durations[0].family == "lognormal"
    assert fitted.services["p1"].durations[0].n_censored > 0  # the 42-day cap was handled as censoring


def test_overrides_make_a_valid_scenario_close_to_the_truth(fitted):
    overrides = fitted.scenario_overrides()
    expected_keys = {
        "arrivals.non_elective.per_day", "arrivals.non_elective.day_of_week", "arrivals.non_elective.month_of_year",
        *(f"acute.time_to_discharge_ready_days.{p}" for p in TTR), "pathways.shares", "pathways.shares_by_age_band",
        "age_bands", "acute.death_probability",
        *(f"services.{s}.{k}" for s in ("p1", "p2", "p3", "home_care") for k in ("duration_days", "outcomes")),
    }
    assert set(overrides) == expected_keys
    assert overrides["acute.time_to_discharge_ready_days.P1"]["type"] == "lognormal"
    new = apply_overrides(truth_scenario(), overrides)
    assert new.acute.time_to_discharge_ready_days["P2"].mean() == pytest.approx(TTR["P2"][0], rel=0.1)
    assert new.services["p1"].outcomes["home"] == overrides["services.p1.outcomes"]["home"]
    assert sum(new.pathways.shares.values()) == pytest.approx(1.0, abs=1e-9)
    report = fitted.report_rows()
    assert list(report.columns) == ["section", "quantity", "value", "n", "fit_statistic", "note"]
    assert "acute.time_to_discharge_ready_days.P1" in set(report["quantity"])
    assert report["section"].isin(["data", "arrivals", "time to discharge ready", "pathway shares", "deaths",
                                   "age bands", "delays", "services", "notes"]).all()


def test_synthetic_spells_are_closed_and_consistent(synthetic):
    spells, episodes = synthetic
    assert spells["discharged"].notna().all()  # open spells (still in hospital) are left out
    alive = spells["destination"] != "death"
    assert (spells.loc[alive, "discharge_ready"] >= spells.loc[alive, "admitted"]).all()
    assert (spells.loc[alive, "discharged"] >= spells.loc[alive, "discharge_ready"]).all()
    assert spells.loc[~alive, "pathway"].isna().all() and spells.loc[alive, "pathway"].notna().all()
    assert set(episodes["spell_id"]) <= set(spells["spell_id"])
    assert (episodes["end"] >= episodes["start"]).all()
    assert synthetic_spells(truth_scenario(), SEED)[0].equals(spells)  # reproducible


@pytest.mark.parametrize("family, sample", [
    ("gamma", lambda r: r.gamma(2.5, 3.0, 4000)),
    ("weibull", lambda r: 6.0 * r.weibull(1.8, 4000)),
    ("lognormal", lambda r: r.lognormal(1.5, 0.8, 4000)),
])
def test_aic_picks_the_generating_family(family, sample):
    fits = fit_duration(sample(np.random.default_rng(SEED)))
    assert fits[0].family == family and fits[0].delta_aic == 0.0
    assert fits[0].ks_p > 0.001
    assert sum(f.akaike_weight for f in fits) == pytest.approx(1.0)


def test_zero_durations_are_counted_not_fitted():
    x = np.concatenate([np.zeros(50), np.random.default_rng(1).lognormal(1.0, 0.5, 950)])
    best = fit_duration(x, ("lognormal",))[0]
    assert (best.n, best.n_zero, best.zero_share) == (950, 50, 0.05)
    shifted = fit_duration(x, ("lognormal",), zero_shift=0.5)[0]
    assert (shifted.n, shifted.n_zero) == (1000, 0)
    with pytest.raises(ValueError, match="finite and >= 0"):
        fit_duration(np.array([1.0, -2.0, 3.0]))


def test_date_only_extract_reports_zero_durations(synthetic):
    spells, _ = synthetic
    dates = spells.assign(**{c: spells[c].dt.normalize() for c in ("admitted", "discharge_ready", "discharged")})
    fit = fit_spells(dates)
    assert any("dates only" in note for note in fit.notes)
    p0 = fit.time_to_ready["P0"][0]
    same_day = ((dates["discharge_ready"] == dates["admitted"]) & (dates["pathway"] == "P0")
                & dates["admitted"].dt.normalize().between(*fit.window))
    assert p0.n_zero == int(same_day.sum()) > 0
    assert "zero durations" in " ".join(fit.report_rows()["note"])


def test_arrivals_without_a_year_fit_no_month_profile():
    days = pd.date_range("2024-01-01", periods=70, freq="D")
    counts = np.random.default_rng(3).poisson(20, 70)
    fit = fit_arrivals(pd.Series(np.repeat(days, counts)) + pd.Timedelta(hours=10))
    assert fit.month_of_year is None and len(fit.day_of_week) == 7
    assert np.mean(fit.day_of_week) == pytest.approx(1.0)
    assert fit.per_day == pytest.approx(counts.mean(), rel=0.02)


def test_shares_by_age_band():
    pathway = pd.Series(["P0", "P1", "P1", "P3", None, "P0"])
    band = assign_age_band(pd.Series([30, 70, 90, 66, 40, None]), {"18-64": 18, "65+": 65})
    assert band.tolist() == ["18-64", "65+", "65+", "65+", "18-64", None]
    fit = fit_pathway_shares(pathway, band)
    assert fit.n == 5 and fit.shares["P1"] == 0.4
    assert fit.by_band["65+"].shares == {"P0": 0.0, "P1": 2 / 3, "P2": 0.0, "P3": 1 / 3}


# ---------------------------------------------------------------- (b) bad rows
def test_bad_rows_are_counted_exactly_by_reason(synthetic, tmp_path):
    spells, episodes = synthetic
    wanted = {kind: i + 1 for i, kind in enumerate(SPELL_DEFECTS)}  # 1, 2, 3, ... of each kind
    dirty, expected = corrupt(spells, np.random.default_rng(7), wanted)
    path = tmp_path / "dirty_spells.csv"
    dirty.to_csv(path, index=False)
    data = load_spells(path)
    assert data.bad == expected
    assert set(expected) == set(SPELL_DEFECTS)
    assert data.n_rows == len(spells) + wanted["duplicate_spell_id"]
    assert data.n_valid == len(spells) - sum(v for k, v in wanted.items() if k != "duplicate_spell_id")
    assert data.bad.n_bad + data.n_valid == data.n_rows  # nothing dropped silently

    dirty_eps, expected_eps = corrupt_episodes(episodes, np.random.default_rng(8), 4)
    eps_path = tmp_path / "dirty_episodes.csv"
    dirty_eps.to_csv(eps_path, index=False)
    eps = load_episodes(eps_path)
    assert eps.bad == expected_eps and set(expected_eps) == set(EPISODE_DEFECTS)

    report = fit_spells(data, eps).report_rows()
    bad_rows = report[report["section"] == "bad rows"]
    assert {q.split(": ")[1]: v for q, v in zip(bad_rows["quantity"], bad_rows["value"], strict=True)
            if q.startswith(str(path))} == dict(expected)


def test_episodes_of_unknown_spells_are_counted(synthetic):
    spells, episodes = synthetic
    known = spells["spell_id"].iloc[: len(spells) // 2]
    eps = load_episodes(episodes, spell_ids=known)
    assert eps.bad["unknown_spell_id"] == int((~episodes["spell_id"].isin(known)).sum()) > 0


# ------------------------------------------------------- (c) too little data
def test_too_little_valid_data_is_one_clear_line(synthetic, tmp_path):
    spells, episodes = synthetic
    small = spells.head(80).reset_index(drop=True)
    wanted = {"missing_date": 30, "unknown_pathway": 30, "duplicate_spell_id": 5}
    dirty, _ = corrupt(small, np.random.default_rng(3), wanted)
    path = tmp_path / "tiny.csv"
    dirty.to_csv(path, index=False)
    with pytest.raises(ScenarioError) as err:
        load_spells(path)
    assert len(err.value.lines) == 1
    line = err.value.lines[0]
    assert line.startswith(f"{path}: only 20 valid rows of 85 (need at least 100); bad rows: ")
    assert "missing_date=30" in line and "unknown_pathway=30" in line and "duplicate_spell_id=5" in line
    assert load_spells(path, min_valid=20).n_valid == 20  # enough when the analyst says so

    eps_path = tmp_path / "tiny_episodes.csv"
    episodes.head(10).to_csv(eps_path, index=False)
    with pytest.raises(ScenarioError, match=r"tiny_episodes.csv: only 10 valid rows of 10 \(need at least 20\); "
                                            r"bad rows: none"):
        load_episodes(eps_path)


# ------------------------------------------------------- (d) column mapping
def test_column_mapping_and_formats(tmp_path):
    path = tmp_path / "extract.csv"
    path.write_text(
        "Ref,Adm,DRD,Disch,PW,Dest,Age,Ward\n"
        "a1,01/04/2023 10:00,03/04/2023 09:30,03/04/2023 15:00,Pathway 1,Reablement,81,X\n"
        "a2,2023-04-02T08:15,2023-04-02 12:00,2023-04-05,2,Community bed,67,Y\n"
        "a3,02/04/2023,,04/04/2023 11:00,,Died,90,Y\n"
        "a4,02/04/2023,02/04/2023,02/04/2023,P0,Home, ,Z\n"
        "a5,05/04/2023,04/04/2023,06/04/2023,3,Care home,77,Z\n"
    )
    columns = {"Ref": "spell_id", "Adm": "admitted", "DRD": "discharge_ready", "Disch": "discharged",
               "PW": "pathway", "Dest": "destination", "Age": "age"}
    data = load_spells(path, columns=columns, min_valid=1)
    f = data.frame.set_index("spell_id")
    assert f.loc["a1", "admitted"] == pd.Timestamp("2023-04-01 10:00")  # day first (English extracts)
    assert f.loc["a2", "admitted"] == pd.Timestamp("2023-04-02 08:15")  # ISO 8601
    assert f["pathway"].tolist()[:2] == ["P1", "P2"] and pd.isna(f.loc["a3", "pathway"])
    assert bool(f.loc["a3", "died"]) and pd.isna(f.loc["a3", "discharge_ready"])  # deaths need neither
    assert math.isnan(f.loc["a4", "age"])  # a blank age is allowed (no age band), not a bad row
    assert data.bad == {"ready_before_admission": 1} and data.bad.examples == {"ready_before_admission": [6]}
    assert not data.date_only

    with pytest.raises(ScenarioError, match=r"extract.csv: missing column\(s\) spell_id, admitted"):
        load_spells(path)
    with pytest.raises(ScenarioError, match="no column 'Admission' in the file"):
        load_spells(path, columns={**columns, "Admission": "admitted"})
    with pytest.raises(ScenarioError, match="unknown target 'ward'"):
        load_spells(path, columns={**columns, "Ward": "ward"})
