"""A system of trusts, boroughs and declared services (issue 11).

* the system form validates, with one-line errors for bad references;
* the single-site form and its ``d2asim migrate`` output give statistically the same
  results;
* two halves that do not interact give each half exactly its result run alone;
* a symmetric coupled system gives statistically equal trusts and boroughs;
* pooling: one bedded service shared by two boroughs gives fewer delayed days than the
  same beds split (paired, common random numbers);
* out-of-area admissions count for their trust and in no borough's rate;
* conservation and Little's law per trust, borough and service.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml
from helpers import exponential, lognormal, t_interval, welch_interval
from scipy import stats

from d2asim.model.engine import DischargeModel
from d2asim.run_folder import write_run
from d2asim.runner import run_replication, run_replications
from d2asim.scenario.errors import ScenarioError
from d2asim.scenario.loader import load_scenario, scenario_to_dict, validate_mapping
from d2asim.scenario.migrate import to_system_form
from d2asim.system.registry import registry_of

PATHWAYS = ("P0", "P1", "P2", "P3")
BASELINE = Path(__file__).resolve().parents[1] / "scenarios" / "baseline.yaml"


def trust(beds: int) -> dict[str, Any]:
    return {"beds": beds, "time_to_discharge_ready_days": {p: lognormal(3.0, 2.0) for p in PATHWAYS},
            "discharge_window": {"start_hour": 8, "end_hour": 20}, "bed_day_cost_gbp": 300}  # fmt: skip


def borough(reablement: str, beds: str, adults: int = 100_000) -> dict[str, Any]:
    return {
        "population": {"adults_18plus": adults, "aged_65plus": adults // 7},
        "pathways": {"settings": {
            "P1": {"service": reablement, "assessment": {"mode": "d2a"}},
            "P2": {"service": beds, "assessment": {"mode": "on_ward", "delay_days": exponential(1.0)}},
            "P3": {"service": None},
        }},
    }  # fmt: skip


def services_of(name: str, reablement_places: int = 30, beds: int = 16, **owner: Any) -> dict[str, Any]:
    owner = owner or {"borough": name}
    return {
        f"reablement_{name}": {"kind": "reablement", "setting": "home", "capacity": reablement_places,
                               "duration_days": exponential(6.0), "max_duration_days": 42,
                               "outcomes": {"home": 0.8, "readmission": 0.1, "death": 0.1}, **owner},
        f"beds_{name}": {"kind": "bedded_intermediate_care", "capacity": beds, "counts_as_dtoc": True,
                         "duration_days": lognormal(10.0, 6.0), "outcomes": {"home": 1.0}, **owner},
    }  # fmt: skip


def system(
    admissions: dict[str, dict[str, float]], trusts: dict[str, int], services: dict[str, Any],
    boroughs: dict[str, Any], days: int = 200, **extra: Any,
) -> dict[str, Any]:
    data: dict[str, Any] = {
        "name": "system",
        "run": {"warmup_days": 30, "duration_days": days},
        "trusts": {n: trust(b) for n, b in trusts.items()},
        "boroughs": boroughs,
        "admissions": {b: {"non_elective": {"by_trust": row}} for b, row in admissions.items()},
        "pathways": {"shares": {"P0": 0.6, "P1": 0.25, "P2": 0.15, "P3": 0.0}},
        "services": services,
        "readmission": {"delay_days": exponential(10.0)},
    }
    data.update(extra)
    return data


def halves() -> dict[str, Any]:
    """North residents use trust tn and north services only; south likewise."""
    return system(
        {"north": {"tn": 9.0}, "south": {"ts": 11.0}}, {"tn": 60, "ts": 70},
        {**services_of("north"), **services_of("south", 34, 20)},
        {"north": borough("reablement_north", "beds_north"), "south": borough("reablement_south", "beds_south")},
    )


def north_alone() -> dict[str, Any]:
    return system({"north": {"tn": 9.0}}, {"tn": 60}, services_of("north"),
                  {"north": borough("reablement_north", "beds_north")})  # fmt: skip


def build(data: dict[str, Any]):  # noqa: ANN201
    return validate_mapping(copy.deepcopy(data), "test")


# ------------------------------------------------------------------ the schema
def test_system_form_builds_a_registry() -> None:
    sc = build(halves())
    reg = registry_of(sc)
    assert [t.name for t in reg.trusts] == ["tn", "ts"]
    assert [b.name for b in reg.boroughs] == ["north", "south"]
    assert [(s.borough, s.trust, s.prefix) for s in reg.sites] == [(0, 0, "north.tn."), (1, 1, "south.ts.")]
    assert reg.service("beds_south").boroughs == (1,) and not reg.service("beds_south").shared
    assert reg.pathway_service(1, PATHWAYS.index("P2")).name == "beds_south"
    assert reg.causes[reg.service("beds_north").cause] == "beds_north"
    assert reg.outcome_code("reablement_north") == 3 + reg.code("services", "reablement_north")
    table = reg.table()
    assert list(table.columns) == ["kind", "code", "name", "properties"]
    assert set(table["kind"]) == {"trust", "borough", "service", "site", "cause", "outcome"}
    props = json.loads(table[table["name"] == "reablement_north"]["properties"].iloc[0])
    assert props["service_kind"] == "reablement" and props["setting"] == "home" and props["boroughs"] == ["north"]


def test_single_site_form_is_one_trust_and_one_borough() -> None:
    sc = load_scenario(BASELINE)
    reg = registry_of(sc)
    assert (len(reg.trusts), len(reg.boroughs), len(reg.sites)) == (1, 1, 1)
    assert reg.single_site and reg.sites[0].prefix == ""
    kinds = {s.name: s.kind for s in reg.services}
    assert kinds == {"p1": "reablement", "p2": "bedded_intermediate_care", "p3": "care_home_assessment_bed",
                     "home_care": "long_term_home_care", "care_home": "permanent_care_home"}  # fmt: skip
    assert sc.services["p1"].max_duration_days == 42


def _error(data: dict[str, Any]) -> str:
    with pytest.raises(ScenarioError) as info:
        validate_mapping(data, "s.yaml")
    assert len(info.value.lines) == 1
    return info.value.lines[0]


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (lambda d: d["admissions"]["north"]["non_elective"]["by_trust"].update(tx=1.0),
         "s.yaml: admissions.north.non_elective.by_trust.tx: unknown trust (allowed: tn, ts)"),
        (lambda d: d["admissions"].update(east={"non_elective": {"by_trust": {"tn": 1.0}}}),
         "s.yaml: admissions.east: unknown borough (allowed: north, south)"),
        (lambda d: d["boroughs"]["north"]["pathways"]["settings"]["P2"].update(service="beds_south"),
         "s.yaml: boroughs.north.pathways.settings.P2.service: 'beds_south' is not commissioned for north "
         "(its boroughs: south)"),
        (lambda d: d["services"]["beds_north"].pop("kind"),
         "s.yaml: services.beds_north.kind: required field is missing (allowed: reablement, "
         "home_based_intermediate_care, bedded_intermediate_care, care_home_assessment_bed, "
         "long_term_home_care, permanent_care_home, other)"),
        (lambda d: d["services"]["beds_north"].update(outcomes={"hospice": 1.0}),
         "s.yaml: services.beds_north.outcomes.hospice: not an outcome or a service (allowed: home, readmission, "
         "death, reablement_north, beds_north, reablement_south, beds_south)"),
        (lambda d: d["services"]["beds_north"].update(borough="east"),
         "s.yaml: services.beds_north: unknown borough 'east' (allowed: north, south)"),
        (lambda d: d.update(population={"adults_18plus": 5}),
         "s.yaml: population: not with trusts (the system form): give boroughs.NAME.population"),
        (lambda d: d["admissions"]["north"].update(non_elective={"per_day": 3.0}),
         "s.yaml: admissions.north.non_elective.per_day: needs by_trust, or per_day with trust_shares"),
        (lambda d: d["admissions"]["north"].update(
            non_elective={"per_day": 3.0, "trust_shares": {"tn": 0.5, "ts": 0.4}}),
         "s.yaml: admissions.north.non_elective.trust_shares: must sum to 1 (got 0.9)"),
        (lambda d: d["trusts"].update({"north": trust(5)}),
         "s.yaml: boroughs.north: name already used in trusts (names must be unique)"),
    ],
)
def test_system_form_errors_are_one_line(edit, expected: str) -> None:  # noqa: ANN001
    data = copy.deepcopy(halves())
    edit(data)
    assert _error(data) == expected


def test_borough_total_with_trust_shares_is_the_matrix_row() -> None:
    data = halves()
    data["admissions"]["north"]["non_elective"] = {"per_day": 9.0, "trust_shares": {"tn": 1.0}}
    a, b = build(data), build(halves())
    assert registry_of(a).sites[0].streams["non_elective"] == registry_of(b).sites[0].streams["non_elective"]
    assert DischargeModel(a, 1, 0).run().table("acute")["arrival"].tolist() == \
        DischargeModel(b, 1, 0).run().table("acute")["arrival"].tolist()  # fmt: skip


def test_resolved_system_scenario_round_trips() -> None:
    sc = build(halves())
    assert validate_mapping(scenario_to_dict(sc), "again") == sc


# ------------------------------------------------------------ exact and statistical
def test_two_halves_that_do_not_interact_give_each_half_exactly_its_result_alone() -> None:
    """Place-named streams: north's draws do not depend on south existing."""
    both, alone = build(halves()), build(north_alone())
    for rep in range(2):
        a, b = run_replication(both, 11, rep), run_replication(alone, 11, rep)
        for scope in ("borough:north", "trust:tn"):
            mine, solo = a.by_place[scope], b.by_place[scope]
            assert {k: mine[k] for k in solo} == solo, scope
            extra = {k: v for k, v in mine.items() if k not in solo}
            assert extra and all(v == 0 for v in extra.values()), extra  # south's services: never used
        # and the alone run's whole system is its one borough
        assert b.metrics["delayed_bed_days"] == b.by_place["borough:north"]["delayed_bed_days"]


def symmetric() -> dict[str, Any]:
    """Two identical trusts and boroughs, each borough half to each trust, own
    reablement, one shared bedded service."""
    shared = services_of("shared", beds=36, shared_by=["east", "west"])  # offered load 30: rho 0.83
    services = {**{k: v for k, v in services_of("east").items() if k.startswith("reablement")},
                **{k: v for k, v in services_of("west").items() if k.startswith("reablement")},
                "beds_shared": shared["beds_shared"]}  # fmt: skip
    return system(
        {"east": {"te": 5.0, "tw": 5.0}, "west": {"te": 5.0, "tw": 5.0}}, {"te": 60, "tw": 60}, services,
        {"east": borough("reablement_east", "beds_shared"), "west": borough("reablement_west", "beds_shared")},
        days=300,
    )


METRICS = ("acute_occupancy_mean", "delayed_bed_days", "discharges", "service_starts.beds_shared",
           "dtoc_beds_per_day")  # fmt: skip


@pytest.mark.slow
def test_symmetric_coupled_system_gives_statistically_equal_places() -> None:
    run = run_replications(build(symmetric()), 20, 5)
    for a, b in (("trust:te", "trust:tw"), ("borough:east", "borough:west")):
        for metric in METRICS:
            x, y = run.metrics_table(a)[metric].to_numpy(), run.metrics_table(b)[metric].to_numpy()
            mean, lo, hi = t_interval(x - y, 0.99)
            assert lo <= 0 <= hi, (a, b, metric, mean, lo, hi)
            assert hi - lo < 0.25 * abs(x.mean()), (a, b, metric, lo, hi)  # power: a 12% difference would show
    system_rate = run.metrics_table()["dtoc_rate_per_100k_adults"].to_numpy()
    parts = sum(run.metrics_table(f"borough:{b}")["delayed_bed_days"].to_numpy() for b in ("east", "west"))
    days = 300.0
    np.testing.assert_allclose(system_rate, parts / days / 200_000 * 1e5, rtol=1e-12)


def split() -> dict[str, Any]:
    """The symmetric system with the shared 36 beds split 18 + 18 per borough."""
    data = symmetric()
    beds = data["services"].pop("beds_shared")
    for name in ("east", "west"):
        data["services"][f"beds_{name}"] = {**{k: v for k, v in beds.items() if k != "shared_by"},
                                            "capacity": 18, "borough": name}  # fmt: skip
        data["boroughs"][name]["pathways"]["settings"]["P2"]["service"] = f"beds_{name}"
    return data


@pytest.mark.slow
def test_pooling_shared_beds_gives_fewer_delayed_days_than_split_beds() -> None:
    """Paired on common random numbers: the same patients with the same stays (first
    stays are named by pathway, not by service)."""
    shared, apart = build(symmetric()), build(split())
    a, b = run_replications(shared, 12, 3), run_replications(apart, 12, 3)
    first = DischargeModel(shared, 3, 0).run().table("acute"), DischargeModel(apart, 3, 0).run().table("acute")
    assert first[0]["arrival"][:200].tolist() == first[1]["arrival"][:200].tolist()  # the same patients
    waits = [r.metrics_table()["delayed_bed_days"].to_numpy() for r in (a, b)]
    mean, lo, hi = t_interval(waits[1] - waits[0], 0.99)
    assert lo > 0, (mean, lo, hi)  # split - shared > 0: pooling saves delayed days


def test_out_of_area_delays_count_for_the_trust_not_for_a_borough() -> None:
    data = north_alone()
    own = {"P1": {"service": "reablement_north"}, "P2": {"service": "beds_north"}, "P3": {"service": None}}
    data["out_of_area"] = {"tn": {"non_elective": {"per_day": 4.0}, "pathways": {"settings": own}}}
    sc = build(data)
    reg = registry_of(sc)
    assert [b.name for b in reg.boroughs] == ["north", "out_of_area.tn"] and not reg.boroughs[1].modelled
    r = run_replication(sc, 2, 0)
    trust_days, north_days = r.by_place["trust:tn"]["delayed_bed_days"], r.by_place["borough:north"]["delayed_bed_days"]
    assert trust_days == pytest.approx(r.metrics["delayed_bed_days"]) and trust_days > north_days > 0
    assert "borough:out_of_area.tn" not in r.by_place
    days = sc.run.duration_days
    assert r.metrics["dtoc_rate_per_100k_adults"] == pytest.approx(north_days / days / 100_000 * 1e5)
    north_rate = r.by_place["borough:north"]["dtoc_rate_per_100k_adults"]
    assert r.metrics["dtoc_rate_per_100k_adults"] == pytest.approx(north_rate)
    monthly = r.monthly  # the months' rates, weighted by their days, are the period's rate
    weighted = (monthly["dtoc_rate_per_100k_adults"] * monthly["days"]).sum() / monthly["days"].sum()
    assert weighted == pytest.approx(north_rate) and monthly["dtoc_beds_per_day"].gt(
        monthly["dtoc_residents_per_day"]).all()  # out-of-area delays count in the trust's beds per day only


def test_system_admissions_follow_dated_schedules_by_trust_and_by_share(tmp_path: Path) -> None:
    """A row of the residence-to-trust matrix and a borough total (split by trust shares)
    can each change on dates; each trust's daily admissions follow the schedule (Poisson
    99.9% intervals: the beds are never full)."""
    data = halves()
    data["run"] = {"warmup_days": 0, "duration_days": 120, "start_date": "2024-01-01"}
    data["trusts"]["tn"]["beds"] = data["trusts"]["ts"]["beds"] = 150
    data["admissions"]["north"]["non_elective"]["by_trust"]["tn"] = {
        "base": 6.0, "changes": [{"from": "2024-03-01", "value": 12.0}]}
    data["admissions"]["south"]["non_elective"] = {
        "per_day": {"base": 10.0, "changes": [{"from": "2024-02-01", "value": 5.0}]}, "trust_shares": {"ts": 1.0}}
    result = run_replications(build(data), 10, 3)
    daily = result.daily_table()
    days = daily[daily["replication"] == daily["replication"].iloc[0]]["date"]
    assert len(days) == 120
    for trust, change, before, after in (("tn", "2024-03-01", 6.0, 12.0), ("ts", "2024-02-01", 10.0, 5.0)):
        late = daily["date"] >= change
        for expected_rate, rows in ((before, ~late), (after, late)):
            total = daily.loc[rows, f"{trust}_admissions"].sum()
            expected = expected_rate * rows.sum()  # 10 replications x days in the span
            low, high = stats.poisson.ppf([0.0005, 0.9995], expected)
            assert low <= total <= high, (trust, expected_rate, total, expected)
    assert daily["admission_queue"].max() == 0  # beds never full: admissions are the arrivals
    write_run(result, tmp_path)  # the registry's table states each site's schedule
    sites = pd.read_csv(tmp_path / "registry.csv").query("kind == 'site'")
    north = json.loads(sites[sites["name"] == "north->tn"]["properties"].iloc[0])["per_day"]["non_elective"]
    assert north == {"base": 6.0, "changes": [{"from": "2024-03-01", "value": 12.0}]}


# ------------------------------------------------------------------ outputs
def test_run_folder_has_registry_and_places(tmp_path: Path) -> None:
    result = run_replications(build(symmetric()), 2, 1)
    write_run(result, tmp_path)
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert set(summary["by_trust"]) == {"te", "tw"} and set(summary["by_borough"]) == {"east", "west"}
    entry = summary["by_borough"]["east"]["delayed_bed_days"]
    assert set(entry) == {"mean", "ci_low", "ci_high"}
    assert set(summary["metrics"]) <= set(summary["by_trust"]["te"]) | {"dtoc_rate_per_100k_adults",
                                                                        "care_home_admissions_65plus_per_100k_per_year"}
    registry = (tmp_path / "registry.csv").read_text().splitlines()
    assert registry[0] == "kind,code,name,properties" and any(",beds_shared," in line for line in registry)
    daily = (tmp_path / "daily.csv").read_text().splitlines()[0].split(",")
    assert {"te_acute_occupied", "tw_delayed_acute", "beds_shared_occupied", "beds_shared_waiting"} <= set(daily)
    delays = (tmp_path / "monthly_delays.csv").read_text()
    assert ",borough,east," in delays and ",trust,te," in delays


# ------------------------------------------------------------------ conservation
def test_conservation_and_littles_law_per_trust_borough_and_service() -> None:
    """Each patient keeps one borough and one trust; every acute episode of a trust or
    borough ended in death, home, a service chain, or is still open; pools agree with
    the open rows of their trust or service; time-average occupancy = sum of stays / T
    per trust and per service (Little's law over the whole run, open stays cut at the end)."""
    sc = build(symmetric())
    model = DischargeModel(sc, 4, 0)
    log = model.run()
    acute, services = log.table("acute"), log.table("services")
    for table in (acute, services):
        for column in ("borough", "trust"):
            per_patient = {}
            for pid, code in zip(table["patient"].tolist(), table[column].tolist(), strict=True):
                assert per_patient.setdefault(pid, code) == code
    for t, runtime in enumerate(model.trusts):
        mine = acute["trust"] == t
        open_rows = mine & np.isinf(acute["leave"])
        assert runtime.beds.busy == int(np.sum(open_rows & ~np.isnan(acute["admit"])))
        assert len(runtime.beds.queue) == int(np.sum(open_rows & np.isnan(acute["admit"])))
        stays = np.minimum(acute["leave"][mine], log.horizon) - acute["admit"][mine]
        occupied = run_replication(sc, 4, 0).daily[f"{runtime.name}_acute_occupied"].to_numpy()
        assert np.nansum(stays) == pytest.approx(occupied.sum(), rel=1e-9)
    for b in range(2):
        mine = acute["borough"] == b
        finished = mine & np.isfinite(acute["leave"])
        died = finished & (acute["died"] == 1)
        into = np.array([model.plans[0][int(p)].service is not None for p in acute["pathway"]])
        home = finished & ~died & ~into
        to_service = finished & ~died & into
        assert mine.sum() == died.sum() + home.sum() + to_service.sum() + np.sum(mine & np.isinf(acute["leave"]))
        rows = services["borough"] == b
        chained = np.isin(services["outcome"], [registry_of(sc).outcome_code(s) for s in model.services])
        ended = rows & np.isfinite(services["leave"]) & ~chained
        assert to_service.sum() == ended.sum() + np.sum(rows & np.isinf(services["leave"]))
    for runtime in model.by_index:
        mine = services["service"] == runtime.index
        open_rows = int(np.sum(mine & np.isinf(services["leave"])))
        assert runtime.pool.busy >= open_rows and runtime.pool.busy <= runtime.pool.capacity
        stays = np.minimum(services["leave"][mine], log.horizon) - services["start"][mine]
        occupied = run_replication(sc, 4, 0).daily[f"{runtime.name}_occupied"].to_numpy()
        assert stays.sum() == pytest.approx(occupied.sum(), rel=1e-9)


# ------------------------------------------------------------------ migration
def test_migrated_file_loads_as_the_same_system(tmp_path: Path) -> None:
    base = load_scenario(BASELINE)
    data = to_system_form(base, "whittington", "islington")
    migrated = validate_mapping(data, "migrated")
    reg = registry_of(migrated)
    assert [t.name for t in reg.trusts] == ["whittington"] and [b.name for b in reg.boroughs] == ["islington"]
    assert migrated.services["p1"].kind == "reablement" and migrated.services["p1"].max_duration_days == 42
    assert migrated.trusts["whittington"].beds == base.acute.beds  # type: ignore[index, union-attr]
    assert reg.sites[0].streams["non_elective"].per_day == base.arrivals.non_elective.per_day  # type: ignore[union-attr]
    out = tmp_path / "m.yaml"
    out.write_text(yaml.safe_dump(data, sort_keys=False))
    assert load_scenario(out) == migrated


def _small_single_site() -> dict[str, Any]:
    return {
        "name": "small", "run": {"warmup_days": 30, "duration_days": 200},
        "population": {"adults_18plus": 50_000, "aged_65plus": 8_000},
        "arrivals": {"non_elective": {"per_day": 10.0}},
        "acute": trust(100),
        "pathways": {"shares": {"P0": 0.6, "P1": 0.25, "P2": 0.15, "P3": 0.0},
                     "settings": {"P1": {"service": "p1", "assessment": {"mode": "d2a"}},
                                  "P2": {"service": "p2", "assessment": {"mode": "on_ward",
                                                                         "delay_days": exponential(1.0)}},
                                  "P3": {"service": None}}},
        "services": {"p1": {"capacity": 30, "duration_days": exponential(6.0),
                            "outcomes": {"home": 0.8, "readmission": 0.1, "death": 0.1}},
                     "p2": {"capacity": 19, "counts_as_dtoc": True, "duration_days": lognormal(10.0, 6.0)}},
        "readmission": {"delay_days": exponential(10.0)},
    }  # fmt: skip


@pytest.mark.slow
def test_single_site_and_migrated_results_are_statistically_the_same() -> None:
    """Different stream names (place prefixes), so independent replications: Welch 99%
    intervals of the difference of means contain 0 for the headline metrics."""
    old = build(_small_single_site())
    new = validate_mapping(to_system_form(old), "migrated")
    a, b = run_replications(old, 30, 8), run_replications(new, 30, 8)
    assert not a.metrics_table()["admissions"].equals(b.metrics_table()["admissions"])  # other draws
    # metric -> largest CI width allowed, relative to the mean (the test's power: stocks and
    # flows pinned to ~5%, queue waits, which vary most between replications, to ~30%)
    power = {"acute_occupancy_mean": 0.1, "discharges": 0.05, "service_occupancy_mean.p1": 0.1,
             "cost_total_gbp": 0.1, "delayed_bed_days": 0.6, "service_occupancy_mean.p2": 0.1,
             "dtoc_rate_per_100k_adults": 0.6}  # fmt: skip
    for metric, width in power.items():
        x, y = a.metrics_table()[metric].to_numpy(), b.metrics_table()[metric].to_numpy()
        diff, lo, hi = welch_interval(x, y, 0.99)
        print(f"{metric}: single-site {x.mean():.4g}, migrated {y.mean():.4g}, 99% CI {lo:.4g} to {hi:.4g}")
        assert lo <= 0 <= hi, (metric, diff, lo, hi)
        assert hi - lo < width * abs(x.mean()), (metric, lo, hi)


def test_report_of_a_system_run(tmp_path: Path) -> None:
    """The run report reads a system-form run folder (beds summed over trusts, one
    inputs row per trust and borough)."""
    from d2asim.report import build_report

    write_run(run_replications(build(symmetric()), 2, 1), tmp_path)
    build_report(tmp_path)
    inputs = (tmp_path / "inputs.csv").read_text()
    assert "Adult general and acute beds, te" in inputs and "Emergency admissions per day, east residents" in inputs


@pytest.mark.slow
def test_shared_service_reduced_to_mmc_is_erlang_c() -> None:
    """Two boroughs at two trusts with unlimited beds (M/G/inf, Poisson output) share
    one service of c places with exponential stays, first come first served across
    boroughs: the pooled stream (Poisson, lambda = 8 + 8 a day) waits as in M/M/c,
    Wq = C(c, a) / (c mu - lambda), and each borough's residents wait the same."""
    from helpers import mmc_wq

    c, lam, mean = 20, 16.0, 1.0
    ttr = {p: lognormal(0.5, 0.8) for p in PATHWAYS}
    data = {
        "name": "shared_mmc", "run": {"warmup_days": 30, "duration_days": 2000},
        "trusts": {t: {"beds": 100_000, "time_to_discharge_ready_days": ttr} for t in ("te", "tw")},
        "boroughs": {b: {"population": {"adults_18plus": 1000}} for b in ("east", "west")},
        "admissions": {"east": {"non_elective": {"by_trust": {"te": lam / 2}}},
                       "west": {"non_elective": {"by_trust": {"tw": lam / 2}}}},
        "pathways": {"shares": {"P0": 0.0, "P1": 1.0, "P2": 0.0, "P3": 0.0},
                     "settings": {"P1": {"service": "shared", "assessment": {"mode": "d2a"}},
                                  "P2": {"service": None}, "P3": {"service": None}}},
        "services": {"shared": {"kind": "other", "capacity": c, "duration_days": exponential(mean),
                                "shared_by": ["east", "west"]}},
    }  # fmt: skip
    run = run_replications(build(data), 12, 4242)
    wq = mmc_wq(c, lam, 1 / mean)
    for scope in (None, "borough:east", "borough:west"):
        waits = run.metrics_table(scope)["service_wait_mean_days.shared"].to_numpy()
        got, lo, hi = t_interval(waits, 0.99)
        print(f"{scope or 'system'}: Wq exact {wq:.4f}, simulated {got:.4f} (99% CI {lo:.4f} to {hi:.4f})")
        assert lo <= wq <= hi, (scope, wq, lo, hi)
        assert (hi - lo) / 2 < 0.12 * wq, (scope, lo, hi)


def test_scope_columns_of_every_place_equal_the_daily_series_of_its_own_rows() -> None:
    """The one pass over the log for all trusts (or all boroughs) gives each place
    exactly the daily columns of its rows alone (the core beds: its own trust's, or
    every trust's for a borough)."""
    from d2asim.metrics.scope import place_scopes, scoped_log
    from d2asim.metrics.series import daily_series, scope_columns
    from d2asim.model.engine import sim_start_date

    data = symmetric()
    data["trusts"]["tw"]["beds"] = 40  # unlike places, so that a mix-up would show
    sc = build(data)
    log = DischargeModel(sc, 3, 0).run()
    start = sim_start_date(sc)
    every_trust = daily_series(log, sc, start)["acute_beds"].to_numpy()
    for kind in ("trust", "borough"):
        scopes = [s for s in place_scopes(registry_of(sc)) if s.column == kind]
        together = scope_columns(log, sc, start, scopes)
        for scope in scopes:
            alone = daily_series(scoped_log(log, scope), sc, start)
            assert alone["delayed_dtoc"].sum() > 0, scope.key
            for column, values in together[scope.key].items():
                expected = alone[column].to_numpy()
                if column == "acute_beds":
                    beds = registry_of(sc).trusts[scope.code].acute.beds if kind == "trust" else None
                    expected = np.full(values.size, float(beds)) if beds is not None else every_trust
                assert np.array_equal(values, expected), (scope.key, column)


@pytest.mark.parametrize("form", ["single_site", "one_trust_two_boroughs"])
def test_a_scope_holding_every_row_takes_the_system_metrics(form: str) -> None:
    """The shortcut for the one trust (or one borough) of a system equals computing
    that scope's metrics from its own rows."""
    from d2asim.metrics.replication import replication_metrics, whole_log_metrics
    from d2asim.metrics.scope import place_scopes, scoped_log
    from d2asim.metrics.series import daily_series, reported_columns
    from d2asim.model.engine import sim_start_date

    if form == "single_site":
        sc = build(_small_single_site())
    else:
        data = symmetric()
        data["admissions"] = {b: {"non_elective": {"by_trust": {"te": 5.0}}} for b in ("east", "west")}
        data["trusts"].pop("tw")
        sc = build(data)
    log = DischargeModel(sc, 6, 0).run()
    start = sim_start_date(sc)
    system = replication_metrics(log, sc, reported_columns(daily_series(log, sc, start)))
    whole = [s for s in place_scopes(registry_of(sc)) if s.column == "trust" or form == "single_site"]
    assert whole
    for scope in whole:
        mine = scoped_log(log, scope)
        direct = replication_metrics(mine, sc, reported_columns(daily_series(mine, sc, start)), scope)
        assert whole_log_metrics(system, scope) == direct, scope.key
    assert run_replication(sc, 6, 0).by_place[whole[0].key] == whole_log_metrics(system, whole[0])
