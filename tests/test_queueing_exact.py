"""The model reduced to textbook queues must reproduce exact queueing results.

Every statistical check compares an exact value with a two-sided 99% t interval
of the replication estimates (independent replications, fixed seeds); each test
also asserts that the interval is narrow enough for the comparison to have
power. Tolerances are never widened by hand.

Why the reductions are exact
----------------------------
* Arrivals: the model draws a Poisson count per day (rate ``per_day`` with no
  calendar multipliers) and places the arrivals uniformly within the day, which
  is exactly a homogeneous Poisson process.
* Admission queue = M/M/c: ``c`` acute beds, exponential time to discharge ready
  for every pathway, everyone on P0 with no assessment and an always-open
  discharge window, so a bed is held for exactly the exponential stay; the bed
  pool serves the admission queue first come first served.
* Acute beds unlimited = M/G/inf: its departure process in steady state is a
  Poisson process of the same rate whatever the stay distribution (the output
  of M/G/inf is Poisson), so a downstream service fed by every discharge sees
  Poisson arrivals. With an unlimited service, the number in service is
  Poisson(a) (M/M/inf); with ``c`` places it is the M/M/c queue whose waiting
  room is the acute bed (the wait is the P1 delay).
* Erlang B: in an M/M/c queue the stationary probabilities of n <= c customers
  are proportional to a^n / n!, the same as in the loss system M/M/c/c, so the
  time-fraction of "exactly c present" among "at most c present" equals
  B(c, a). (Equivalently P(N >= c) = C(c, a), the Erlang C probability of
  waiting, which by PASTA is also the share of arrivals that wait.) In M/M/inf
  the same ratio P(N = c) / P(N <= c) of the Poisson distribution is B(c, a).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from helpers import (
    erlang_b,
    erlang_c,
    exponential,
    lognormal,
    mmc_wq,
    occupancy_fractions,
    reported_window,
    scenario_dict,
    simulate,
    t_interval,
)
from scipy import stats

from d2asim.model.log import ACUTE_PLACE
from d2asim.scenario.loader import validate_mapping
from d2asim.system.registry import registry_of

pytestmark = pytest.mark.slow  # statistical: many long replications

CONF = 0.99
SEED = 4242


def within(
    exact: float, values: list[float] | np.ndarray, max_rel_half: float, what: str = ""
) -> tuple[float, float, float]:
    """Assert ``exact`` lies in the 99% t interval of ``values`` and that the
    interval's half width is below ``max_rel_half`` x exact (power)."""
    mean, lo, hi = t_interval(values, CONF)
    print(f"{what}: exact {exact:.6g}, simulated {mean:.6g} (99% CI {lo:.6g} to {hi:.6g})")
    assert lo <= exact <= hi, f"exact {exact:.6g} outside 99% CI {mean:.6g} [{lo:.6g}, {hi:.6g}]"
    assert (hi - lo) / 2 < max_rel_half * abs(exact), f"CI too wide to test: [{lo:.6g}, {hi:.6g}]"
    return mean, lo, hi


# --------------------------------------------------------------------- M/M/c
MMC_C, MMC_LAM, MMC_MU = 20, 16.0, 1.0  # rho = 0.8
MMC_REPS, MMC_DAYS = 20, 3000


@pytest.fixture(scope="module")
def mmc_runs() -> dict[str, list[float]]:
    sc = validate_mapping(
        scenario_dict(per_day=MMC_LAM, beds=MMC_C, ttr=exponential(1 / MMC_MU), warmup_days=30, duration_days=MMC_DAYS),
        "mmc",
    )
    w0, w1 = reported_window(sc)
    keys = ("wq", "wq_log", "p_wait", "occ", "lq", "p_full", "b", "censored")
    out: dict[str, list[float]] = {k: [] for k in keys}
    for rep in range(MMC_REPS):
        _, log, _, m = simulate(sc, SEED, rep)
        acute = log.table("acute")
        out["wq"].append(m["admission_wait_mean_hours"] / 24.0)
        out["occ"].append(m["acute_occupancy_mean"])
        out["lq"].append(m["admission_queue_mean"])
        out["censored"].append(m["still_waiting_for_bed_at_end"] / m["admissions"])
        # uncensored estimate: arrivals up to 2 days before the end all got a bed
        early = (acute["arrival"] >= w0) & (acute["arrival"] < w1 - 2.0)
        assert not np.isnan(acute["admit"][early]).any()
        out["wq_log"].append(float(np.mean(acute["admit"][early] - acute["arrival"][early])))
        got_bed = (acute["arrival"] >= w0) & (acute["arrival"] < w1) & ~np.isnan(acute["admit"])
        out["p_wait"].append(float(np.mean(acute["admit"][got_bed] > acute["arrival"][got_bed])))
        # number in the system (queue + beds) from arrival to leaving the bed
        frac = occupancy_fractions(acute["arrival"], acute["leave"], w0, w1)
        out["p_full"].append(float(frac[MMC_C:].sum()))
        out["b"].append(float(frac[MMC_C] / frac[: MMC_C + 1].sum()))
    return out


def test_mmc_admission_wait_is_erlang_c(mmc_runs: dict[str, list[float]]) -> None:
    """Mean admission wait Wq = C(c, a) / (c mu - lambda) (the metric, which drops
    arrivals still waiting at the end, and an uncensored estimate from the log)
    and queue length Lq = lambda Wq (the admission-queue series)."""
    wq = mmc_wq(MMC_C, MMC_LAM, MMC_MU)
    # censoring (arrivals still waiting at the end) is negligible: < 0.1% of arrivals
    assert max(mmc_runs["censored"]) < 1e-3
    within(wq, mmc_runs["wq"], 0.10, "M/M/c Wq days (metric)")
    within(wq, mmc_runs["wq_log"], 0.10, "M/M/c Wq days (log)")
    within(MMC_LAM * wq, mmc_runs["lq"], 0.10, "M/M/c Lq")


def test_mmc_probability_of_waiting_is_erlang_c(mmc_runs: dict[str, list[float]]) -> None:
    """Share of arrivals that wait for a bed = C(c, a) = time-fraction with all beds
    busy (PASTA)."""
    c = erlang_c(MMC_C, MMC_LAM / MMC_MU)
    within(c, mmc_runs["p_wait"], 0.05, "M/M/c P(wait) arrivals")
    within(c, mmc_runs["p_full"], 0.05, "M/M/c P(N>=c) time")


def test_mmc_erlang_b_from_number_in_system(mmc_runs: dict[str, list[float]]) -> None:
    """P(N = c | N <= c) of the M/M/c queue is the Erlang B loss probability."""
    within(erlang_b(MMC_C, MMC_LAM / MMC_MU), mmc_runs["b"], 0.05, "M/M/c P(N=c|N<=c) = B")


def test_mmc_mean_occupancy_is_offered_load(mmc_runs: dict[str, list[float]]) -> None:
    """Mean beds occupied = lambda / mu (every arrival is eventually served)."""
    within(MMC_LAM / MMC_MU, mmc_runs["occ"], 0.01, "M/M/c occupancy")


# -------------------------------------------- M/G/inf acute -> M/M/inf service
INF_LAM, INF_TTR, INF_P1_MEAN = 5.0, lognormal(0.5, 0.8), 4.0  # a = 20 in P1
INF_REPS, INF_DAYS = 16, 3000


def _acute_to_p1(capacity: int | None, lam: float, p1_mean: float, days: int) -> dict:
    return scenario_dict(
        per_day=lam,
        beds=100_000,  # never full: acute is an infinite-server stage
        ttr=INF_TTR,
        shares={"P0": 0.0, "P1": 1.0, "P2": 0.0, "P3": 0.0},
        settings={"P1": {"service": "p1", "assessment": {"mode": "d2a"}}},
        services={"p1": {"capacity": capacity, "duration_days": exponential(p1_mean)}},
        warmup_days=30,
        duration_days=days,
    )


def test_unlimited_service_occupancy_is_poisson() -> None:
    """Acute M/G/inf (lognormal stays) feeding an unlimited P1 with exponential
    stays: time-average P1 occupancy distribution is Poisson(a), a = lambda E[S]:
    mean = variance = a, every P(N = k) within a Bonferroni-adjusted 99% interval,
    and the Erlang B identity P(N = c) / P(N <= c) = B(c, a) at c = a. The acute
    stage itself is M/G/inf, so its occupancy is Poisson(lambda E[ttr])."""
    sc = validate_mapping(_acute_to_p1(None, INF_LAM, INF_P1_MEAN, INF_DAYS), "mginf")
    w0, w1 = reported_window(sc)
    a = INF_LAM * INF_P1_MEAN
    a_acute = INF_LAM * 0.5
    ks = np.arange(int(a - 3 * math.sqrt(a)), int(a + 3 * math.sqrt(a)) + 1)
    means, variances, probs, ratio, acute_means, acute_vars, queue = [], [], [], [], [], [], []
    for rep in range(INF_REPS):
        _, log, _, m = simulate(sc, SEED, rep)
        s = log.table("services")
        frac = occupancy_fractions(s["start"], s["leave"], w0, w1)
        frac = np.pad(frac, (0, max(0, ks.max() + 1 - frac.size)))
        k = np.arange(frac.size)
        mean = float((k * frac).sum())
        means.append(mean)
        variances.append(float((k**2 * frac).sum() - mean**2))
        probs.append(frac[ks])
        ratio.append(float(frac[int(a)] / frac[: int(a) + 1].sum()))
        acute = log.table("acute")
        fa = occupancy_fractions(acute["admit"], acute["leave"], w0, w1)
        ka = np.arange(fa.size)
        acute_means.append(float((ka * fa).sum()))
        acute_vars.append(float((ka**2 * fa).sum() - acute_means[-1] ** 2))
        queue.append(m["admission_queue_mean"])
        # the daily series integrates the same intervals
        assert m["service_occupancy_mean.p1"] == pytest.approx(mean, rel=1e-9)
    assert max(queue) == 0.0
    within(a, means, 0.02, "M/M/inf P1 mean")
    within(a, variances, 0.10, "M/M/inf P1 variance")
    within(erlang_b(int(a), a), ratio, 0.08, "M/M/inf P(N=c)/P(N<=c) = B")
    within(a_acute, acute_means, 0.02, "M/G/inf acute mean")
    within(a_acute, acute_vars, 0.10, "M/G/inf acute variance")
    probs_arr = np.array(probs)
    conf = 1 - (1 - CONF) / ks.size  # Bonferroni over the k values checked
    tcrit = stats.t.ppf(0.5 + conf / 2, INF_REPS - 1)
    exact = stats.poisson.pmf(ks, a)
    mean = probs_arr.mean(axis=0)
    half = tcrit * probs_arr.std(axis=0, ddof=1) / math.sqrt(INF_REPS)
    bad = [(int(k), e, m_, h) for k, e, m_, h in zip(ks, exact, mean, half, strict=True) if abs(m_ - e) > h]
    assert not bad, f"P(N=k) outside Bonferroni 99% CI: {bad}"
    assert half.max() < 0.005  # each P(N = k) pinned to +-0.005 (the mode is 0.089)


# ------------------------------------------- Poisson-fed P1 with c places = M/M/c
P1_C, P1_LAM, P1_MEAN = 20, 16.0, 1.0  # a = 16, rho = 0.8
P1_REPS, P1_DAYS = 20, 3000


def test_p1_places_queue_is_erlang_c() -> None:
    """Unlimited acute beds (M/G/inf, Poisson output) feeding P1 with c places and
    exponential stays: waiting for a P1 place in the acute bed is the M/M/c queue.
    Mean P1 wait = Wq, share of P1 starts that waited = C(c, a), mean P1 occupancy
    = a, mean patients delayed in acute beds (DTOC beds) = Lq = lambda Wq, and
    P(N = c | N <= c) = B(c, a) for N = waiting + in P1."""
    sc = validate_mapping(_acute_to_p1(P1_C, P1_LAM, P1_MEAN, P1_DAYS), "p1mmc")
    w0, w1 = reported_window(sc)
    a = P1_LAM * P1_MEAN
    wq = mmc_wq(P1_C, P1_LAM, 1 / P1_MEAN)
    got: dict[str, list[float]] = {k: [] for k in ("wq", "p_wait", "occ", "lq", "b")}
    for rep in range(P1_REPS):
        _, log, _, m = simulate(sc, SEED, rep)
        s = log.table("services")
        d = log.table("delays")
        started = (s["start"] >= w0) & (s["start"] < w1)
        got["wq"].append(m["service_wait_mean_days.p1"])
        got["p_wait"].append(float(np.mean(s["start"][started] > s["request"][started])))
        got["occ"].append(m["service_occupancy_mean.p1"])
        got["lq"].append(m["dtoc_beds_per_day"])
        # every delay here is a wait for P1 in an acute bed
        assert set(d["cause"].astype(int).tolist()) <= {registry_of(sc).service("p1").cause}
        assert set(d["place"].astype(int).tolist()) <= {ACUTE_PLACE}
        starts = np.concatenate([d["start"], s["start"]])
        ends = np.concatenate([d["end"], s["leave"]])
        frac = occupancy_fractions(starts, ends, w0, w1)
        got["b"].append(float(frac[P1_C] / frac[: P1_C + 1].sum()))
        assert m["admission_queue_mean"] == 0.0
    within(wq, got["wq"], 0.10, "P1 M/M/c Wq days")
    within(erlang_c(P1_C, a), got["p_wait"], 0.05, "P1 P(wait) = C")
    within(a, got["occ"], 0.01, "P1 occupancy")
    within(P1_LAM * wq, got["lq"], 0.10, "P1 Lq = DTOC beds")
    within(erlang_b(P1_C, a), got["b"], 0.05, "P1 P(N=c|N<=c) = B")


# ------------------------------------------------------------------ Little's law
def _congested_network() -> dict:
    return scenario_dict(
        per_day=20.0,
        beds=150,
        ttr={
            "P0": lognormal(4.0, 4.0),
            "P1": lognormal(6.0, 5.0),
            "P2": lognormal(7.0, 6.0),
            "P3": lognormal(8.0, 6.0),
        },
        shares={"P0": 0.6, "P1": 0.25, "P2": 0.1, "P3": 0.05},
        settings={
            "P1": {
                "service": "p1",
                "assessment": {"mode": "d2a", "delay_days": exponential(1.0), "d2a_stay": "extend"},
            },
            "P2": {"service": "p2", "assessment": {"mode": "on_ward", "delay_days": exponential(2.0)}},
            "P3": {"service": "p3", "assessment": {"mode": "on_ward", "delay_days": exponential(3.0)}},
        },
        services={
            "p1": {
                "capacity": 40,
                "duration_days": exponential(6.0),
                "outcomes": {"home": 0.6, "home_care": 0.3, "readmission": 0.1},
            },
            "p2": {
                "capacity": 22,
                "duration_days": lognormal(9.0, 6.0),
                "outcomes": {"home": 0.6, "care_home": 0.3, "death": 0.1},
            },
            "p3": {
                "capacity": 18,
                "duration_days": lognormal(14.0, 10.0),
                "outcomes": {"care_home": 0.7, "death": 0.3},
            },
            "home_care": {"capacity": 45, "duration_days": exponential(25.0), "outcomes": {"home": 0.8, "death": 0.2}},
            "care_home": {"capacity": None, "duration_days": exponential(20.0), "outcomes": {"death": 1.0}},
        },
        readmission={"delay_days": exponential(20.0)},
        warmup_days=200,
        duration_days=600,
    )


def _little_scenario():
    return validate_mapping(_congested_network(), "little")


LITTLE_REPS = 10
SAMPLE_DT = 1.0 / 96.0  # 15 minutes


def test_littles_law_every_stage() -> None:
    """L = lambda W for the admission queue, the acute beds and every downstream
    service of a congested network with blocking (P1 -> home care, P2/P3 -> care
    home, readmissions). Per replication, over the reported window of T days:
    L from the daily series (time average), L from the model's own pools sampled
    every 15 minutes, and lambda W = (departures in window / T) x (mean sojourn of
    those departures). In steady state E[L - lambda W] = 0 (the boundary terms,
    ages of those present at the window's two ends, have equal expectations), so
    the 99% t interval of the per-replication difference must contain 0. The
    scenario is checked to be congested (delays in acute beds and in services)."""
    sc = _little_scenario()
    w0, w1 = reported_window(sc)
    T = w1 - w0
    stages = ["queue", "acute", *sc.services]
    diffs: dict[str, dict[str, list[float]]] = {st: {"daily": [], "pool": [], "L": []} for st in stages}
    delayed_acute, blocked_in_service = [], []
    for rep in range(LITTLE_REPS):
        samples: list[tuple] = []

        def monitor(model, samples=samples):  # noqa: ANN001
            env = model.env
            while True:
                if w0 <= env.now < w1:
                    samples.append(
                        (len(model.beds.queue), model.beds.busy, *[model.services[n].pool.busy for n in sc.services])
                    )
                yield env.timeout(SAMPLE_DT)

        _, log, daily, m = simulate(sc, SEED, rep, lambda model: model.env.process(monitor(model)))
        pooled = np.array(samples, dtype=float).mean(axis=0)
        rep_daily = daily[daily["reported"]]
        acute = log.table("acute")
        services = log.table("services")
        admitted = (acute["admit"] >= w0) & (acute["admit"] < w1)
        left = (acute["leave"] >= w0) & (acute["leave"] < w1)
        lam_w = {
            "queue": float(np.sum(acute["admit"][admitted] - acute["arrival"][admitted])) / T,
            "acute": float(np.sum(acute["leave"][left] - acute["admit"][left])) / T,
        }
        L_daily = {"queue": rep_daily["admission_queue"].mean(), "acute": rep_daily["acute_occupied"].mean()}
        L_pool = {"queue": pooled[0], "acute": pooled[1]}
        for i, name in enumerate(sc.services):
            mine = (
                (services["service"] == registry_of(sc).code("services", name))
                & (services["leave"] >= w0)
                & (services["leave"] < w1)
            )
            lam_w[name] = float(np.sum(services["leave"][mine] - services["start"][mine])) / T
            L_daily[name] = rep_daily[f"{name}_occupied"].mean()
            L_pool[name] = pooled[2 + i]
        for st in stages:
            diffs[st]["daily"].append(L_daily[st] - lam_w[st])
            diffs[st]["pool"].append(L_pool[st] - lam_w[st])
            diffs[st]["L"].append(L_daily[st])
        delayed_acute.append(m["delayed_bed_days_acute"] / T)
        d = log.table("delays")
        blocked_in_service.append(float(np.sum(d["place"] != ACUTE_PLACE)))
    # congested: patients wait in acute beds and are blocked inside services
    assert t_interval(delayed_acute, CONF)[1] > 1.0
    assert min(blocked_in_service) > 0
    for st in stages:
        L = float(np.mean(diffs[st]["L"]))
        assert L > 0.5, st
        for source in ("daily", "pool"):
            mean, lo, hi = t_interval(diffs[st][source], CONF)
            assert lo <= 0.0 <= hi, f"{st} ({source}): L - lambda W = {mean:.4g} [{lo:.4g}, {hi:.4g}], L = {L:.4g}"
            print(f"{st} ({source}): L = {L:.4g}, L - lambda W = {mean:.4g} (99% CI {lo:.4g} to {hi:.4g})")
            assert hi - lo < 0.05 * L, f"{st} ({source}): interval too wide"
