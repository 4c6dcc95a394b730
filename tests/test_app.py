"""The web app's logic without a browser: safe loading of uploads, the generated form,
changes and option files, limits, background jobs (progress, cancel, cache) and the
pages through Streamlit's AppTest."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pandas as pd
import pytest
import yaml

from d2asim.app import inputs, jobs, tables
from d2asim.metrics.registry import describe
from d2asim.scenario.errors import ScenarioError
from d2asim.scenario.loader import load_scenario, scenario_to_dict, validate_mapping
from d2asim.scenario.workbook import write_workbook

PAGE = Path(__file__).parents[1] / "d2asim" / "app" / "page.py"


def _short(**changes: object) -> dict:
    data = scenario_to_dict(load_scenario("scenarios/baseline.yaml"))
    data["run"].update({"warmup_days": 10, "duration_days": 30, **changes})
    return data


def test_an_upload_may_extend_bundled_scenarios_and_files_uploaded_with_it(tmp_path: Path) -> None:
    option = yaml.safe_dump({"name": "mine", "extends": "base.yaml", "services": {"p1": {"capacity": 90}}})
    base = yaml.safe_dump({"name": "base", "extends": "baseline.yaml"})
    loaded = inputs.load_upload(tmp_path, {"mine.yaml": option.encode(), "base.yaml": base.encode()}, "mine.yaml")
    assert loaded.scenario.services["p1"].capacity == 90 and loaded.file_name == "mine.yaml"


@pytest.mark.parametrize("extends", ["../baseline.yaml", "/etc/passwd", "sub/x.yaml", "other.yaml",
                                     "ncl/../baseline.yaml", "ncl/../../secret.yaml"])
def test_an_upload_cannot_reach_other_files(tmp_path: Path, extends: str) -> None:
    secret = tmp_path / "secret.yaml"
    secret.write_text("name: secret-contents\n")
    text = yaml.safe_dump({"name": "x", "extends": extends})
    with pytest.raises(ScenarioError) as caught:
        inputs.load_upload(tmp_path / "session", {"x.yaml": text.encode()}, "x.yaml")
    (line,) = caught.value.lines
    assert line.startswith("x.yaml: extends: may only name a bundled scenario or a file uploaded with it")
    assert "secret-contents" not in line and str(tmp_path) not in line


def test_csv_paths_and_names_are_checked_before_reading(tmp_path: Path) -> None:
    data = _short()
    data["services"]["p1"]["duration_days"] = {"type": "empirical", "csv": "../../etc/passwd", "column": "x"}
    with pytest.raises(ScenarioError, match=r"x.yaml: services.p1.duration_days.csv: may only name a .csv file"):
        inputs.load_upload(tmp_path, {"x.yaml": yaml.safe_dump(data).encode()}, "x.yaml")
    with pytest.raises(ScenarioError, match="not a scenario"):
        inputs.load_upload(tmp_path, {"../x.yaml": b"name: x"}, "../x.yaml")
    with pytest.raises(ScenarioError, match="uploads are limited to 2,000,000 bytes"):
        inputs.load_upload(tmp_path, {"big.yaml": b"#" * (inputs.MAX_UPLOAD_BYTES + 1)}, "big.yaml")


def _validate_words(folder: Path, name: str, content: bytes, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """What ``d2asim validate NAME`` prints for the file, run from its folder (the
    folder's own path, which the loader may show, left out)."""
    from click.testing import CliRunner

    from d2asim.cli import main

    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_bytes(content)
    with monkeypatch.context() as patch:
        patch.chdir(folder)
        result = CliRunner().invoke(main, ["validate", name])
    assert result.exit_code == 2
    return [line.removeprefix("error: ").replace(f"{folder.resolve()}/", "") for line in result.output.splitlines()]


def test_errors_are_those_of_validate_without_server_paths(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    broken = b"name: x\narrivals: [1, 2\n"
    with pytest.raises(ScenarioError) as caught:
        inputs.load_upload(tmp_path / "session", {"broken.yaml": broken}, "broken.yaml")
    assert caught.value.lines == _validate_words(tmp_path / "cli", "broken.yaml", broken, monkeypatch)
    assert caught.value.lines[0].startswith("broken.yaml: YAML syntax error (line 3")
    data = _short()
    data["acute"]["beds"] = 0
    bad = yaml.safe_dump(data).encode()
    with pytest.raises(ScenarioError) as caught:
        inputs.load_upload(tmp_path / "session", {"bad.yaml": bad}, "bad.yaml")
    assert caught.value.lines == _validate_words(tmp_path / "cli", "bad.yaml", bad, monkeypatch)
    assert caught.value.lines == ["bad.yaml: acute.beds: Input should be greater than 0 (got 0)"]


def test_an_uploaded_workbook_loads_and_names_its_cells(tmp_path: Path) -> None:
    book = tmp_path / "in.xlsx"
    write_workbook(_short(), book)
    loaded = inputs.load_upload(tmp_path / "session", {"in.xlsx": book.read_bytes()}, "in.xlsx")
    assert loaded.scenario.run.duration_days == 30


def test_form_changes_make_an_option_file_that_loads_to_the_edited_scenario(tmp_path: Path) -> None:
    loaded = inputs.load_bundled(tmp_path, "baseline.yaml")
    fields = {f.path: f for f in inputs.form_fields(loaded.data)}
    assert fields["services.p1.capacity"].widget == "whole" and inputs.is_lever(fields["services.p1.capacity"])
    assert fields["pathways.settings.P1.assessment.mode"].doc.allowed == ("on_ward", "d2a")
    assert "days" in fields["run.warmup_days"].help()
    values = {path: f.value for path, f in fields.items()}
    values.update({"services.p1.capacity": 80, "pathways.settings.P1.assessment.mode": "d2a"})
    changed = inputs.changes(loaded.data, values)
    assert changed == {"services.p1.capacity": 80, "pathways.settings.P1.assessment.mode": "d2a"}
    edited, problems = inputs.validate_edits(loaded.data, changed)
    assert problems == {} and edited is not None
    text = inputs.option_file("baseline.yaml", "p1_80", changed)
    assert yaml.safe_load(text) == {"name": "p1_80", "extends": "baseline.yaml", "services": {"p1": {"capacity": 80}},
                                    "pathways": {"settings": {"P1": {"assessment": {"mode": "d2a"}}}}}
    (tmp_path / "p1_80.yaml").write_text(text)
    assert load_scenario(tmp_path / "p1_80.yaml") == edited.model_copy(update={"name": "p1_80",
                                                                                "extends": "baseline.yaml"})


def test_form_problems_are_by_field_in_validate_words(tmp_path: Path) -> None:
    loaded = inputs.load_bundled(tmp_path, "baseline.yaml")
    edited, problems = inputs.validate_edits(loaded.data, {"acute.beds": 0})
    assert edited is None and problems == {"acute.beds": ["acute.beds: Input should be greater than 0 (got 0)"]}
    assert inputs.check_limits(load_scenario("scenarios/baseline.yaml"), 60) == [
        "replications: 60; the app runs 1 to 50"]
    long = load_scenario("scenarios/baseline.yaml", {"run.duration_days": 900})
    assert inputs.check_limits(long, 3)[0].startswith("run: warm-up + duration is 1,265 simulated days")


def test_bundled_options_apply_their_own_changes_to_any_baseline() -> None:
    assert inputs.option_layer("baseline.yaml") == {}
    layer = inputs.option_layer("d2a_p1_plus20.yaml")  # extends d2a.yaml, which extends baseline.yaml
    base = load_scenario("scenarios/baseline.yaml", {"services.p1.capacity": 70})
    option = inputs.with_option(base, layer, "d2a_p1_plus20")
    assert option.pathways.settings["P1"].assessment.mode == "d2a" and option.services["p1"].capacity == 94


def _wait(job: jobs.JobState, seconds: float = 120) -> None:
    end = time.time() + seconds
    while job.status == "running" and time.time() < end:
        time.sleep(0.2)


def test_jobs_run_in_a_worker_report_progress_and_are_cached() -> None:
    payload = {"scenarios": [_short(duration_days=20)]}
    job = jobs.start("run", payload, 7, 2)
    _wait(job)
    assert job.status == "done" and (job.done, job.total) == (2, 2) and not job.cached
    summary = json.loads((job.folder / "summary.json").read_text())
    assert summary["replications"] == 2 and summary["seed"] == 7
    assert (job.folder / "report.html").is_file() and (job.folder / "tables.xlsx").is_file()
    again = jobs.start("run", payload, 7, 2)
    assert again.cached and again.folder == job.folder
    assert jobs.start("run", payload, 8, 2).key != job.key


def test_a_cancelled_job_stops_and_says_so() -> None:
    job = jobs.start("run", {"scenarios": [_short(duration_days=200)]}, 1, 40)
    end = time.time() + 120
    while job.done == 0 and job.status == "running" and time.time() < end:
        time.sleep(0.1)
    job.cancel()
    _wait(job)
    assert job.status == "cancelled" and job.done < 40


def test_pages_through_apptest() -> None:
    from streamlit.testing.v1 import AppTest

    app = AppTest.from_file(str(PAGE), default_timeout=60).run()
    assert not app.exception
    assert "What it models" in app.markdown[0].value
    app.sidebar.radio[0].set_value("Scenario").run()
    app.button(key="load_bundled").click().run()
    assert not app.exception and app.success[0].value.startswith("Loaded scenario 'baseline'")
    app.number_input(key="field:services.p1.capacity").set_value(80).run()
    assert app.session_state["edits"] == {"services.p1.capacity": 80}
    assert any(b.label.startswith("Download as an option file") for b in app.get("download_button"))
    app.number_input(key="field:acute.beds").set_value(0).run()
    assert "error: acute.beds: Input should be greater than 0 (got 0)" in [e.value for e in app.error]
    app.sidebar.radio[0].set_value("Run").run()
    assert "Load a scenario (and fix any problem in the form)" in app.markdown[0].value


def test_home_page_shows_the_loaded_systems_diagram() -> None:
    from streamlit.testing.v1 import AppTest

    app = AppTest.from_file(str(PAGE), default_timeout=60).run()
    assert "Load a scenario (page *Scenario*) to see the diagram" in app.markdown[1].value
    assert "Image" not in [type(e).__name__ for e in app.main.children.values()]
    app.sidebar.radio[0].set_value("Scenario").run()
    app.button(key="load_bundled").click().run()
    app.sidebar.radio[0].set_value("Home").run()
    assert not app.exception
    assert "Image" in [type(e).__name__ for e in app.main.children.values()]


def test_the_system_scenarios_are_bundled_with_the_options_that_fit_them(tmp_path: Path) -> None:
    assert {"baseline.yaml", "ncl/baseline.yaml", "ncl/haringey_d2a.yaml"} <= set(inputs.bundled_scenarios())
    system = inputs.load_bundled(tmp_path, "ncl/baseline.yaml").scenario
    assert set(system.boroughs) == {"islington", "haringey", "enfield"}
    layer = inputs.option_layer("ncl/haringey_d2a.yaml")  # extends: baseline.yaml of its own folder
    assert set(layer) == {"boroughs"} and layer["boroughs"]["haringey"]["pathways"]["settings"]["P1"] == {
        "assessment": {"mode": "d2a"}}
    for_system = inputs.applicable_options(system, "ncl/baseline.yaml")
    assert {"ncl/haringey_d2a.yaml", "ncl/islington_d2a.yaml", "ncl/both_d2a.yaml", "ncl/split_shared.yaml",
            "ncl/block_contracts.yaml"} <= set(
        for_system) and "p1_plus20.yaml" not in for_system  # p1 is not a service of the system
    single = inputs.applicable_options(load_scenario("scenarios/baseline.yaml"), "baseline.yaml")
    assert "p1_plus20.yaml" in single and not [n for n in single if n.startswith("ncl/")]


def test_an_upload_may_extend_the_bundled_system(tmp_path: Path) -> None:
    option = yaml.safe_dump({"name": "mine", "extends": "ncl/baseline.yaml",
                             "services": {"islington_reablement": {"capacity": 50}}})
    loaded = inputs.load_upload(tmp_path, {"mine.yaml": option.encode()}, "mine.yaml")
    assert loaded.scenario.services["islington_reablement"].capacity == 50


def test_key_levers_include_schedules_arrivals_by_trust_and_assessment_teams() -> None:
    data = scenario_to_dict(load_scenario("scenarios/ncl/baseline.yaml"))
    data["services"]["islington_reablement"]["capacity"] = {"base": 40, "changes": [
        {"from": "2023-10-01", "value": 50}]}
    data["assessment_teams"] = {"ward_team": {"concurrent_assessments": 6}}
    levers = {f.path for f in inputs.form_fields(data) if inputs.is_lever(f)}
    assert {"services.islington_reablement.capacity.base", "services.islington_reablement.capacity.changes",
            "admissions.islington.non_elective.by_trust.whittington",
            "assessment_teams.ward_team.concurrent_assessments",
            "boroughs.haringey.pathways.settings.P1.assessment.mode",
            "admissions.islington.non_elective.growth_per_year"} <= levers
    assert not {"services.islington_reablement.cost_per_day_gbp", "run.seed", "trusts.whittington.ods_code"} & levers


def test_each_boroughs_dtoc_rate_is_shown_side_by_side_as_in_comparison_csv() -> None:
    base = scenario_to_dict(load_scenario("scenarios/ncl/baseline.yaml"))
    base["run"].update({"warmup_days": 10, "duration_days": 30})
    option = inputs.with_option(validate_mapping(base, "base"), inputs.option_layer("ncl/haringey_d2a.yaml"),
                                "haringey_d2a")
    job = jobs.start("compare", {"scenarios": [base, scenario_to_dict(option)]}, 3, 2)
    _wait(job, 300)
    assert job.status == "done" and job.folder is not None, job.errors
    table = pd.read_csv(job.folder / "comparison.csv")
    shown = tables.borough_dtoc_rows(table)
    assert sorted(shown["borough"]) == ["enfield", "haringey", "islington"]
    rate = describe("dtoc_rate_per_100k_adults")
    for row in shown.to_dict("records"):
        csv = table[(table["metric"] == "dtoc_rate_per_100k_adults") & (table["scope"] == f"borough:{row['borough']}")
                    ].iloc[0]
        assert row["baseline"] == rate.text(csv["baseline"]) and row["option value"] == rate.text(csv["option_value"])
        assert row["difference"] == rate.text(csv["difference"], signed=True)
    assert tables.borough_dtoc_rows(table[table["scope"] == "system"]).empty


OPT_VARY = ["services.p1.capacity=60:90:10", "services.p2.capacity=30:40:5"]


def _opt_settings(budget: float, **changes: object) -> dict:
    return {"vary": OPT_VARY, "budget": budget, "objective": "delayed_bed_days", "maximise": False,
            "constraints": [], "trials": 3, "delta": None, "fill_budget": False, **changes}


def test_an_optimise_job_runs_through_the_service_and_reports_mixes_then_selection(tmp_path: Path) -> None:
    from d2asim.experiments.optimise_space import annual_commissioning_cost

    data = _short()
    base = validate_mapping(data, "short")
    budget = annual_commissioning_cost(base)
    seen: list[tuple] = []
    out = jobs.run_payload("optimise", {"scenarios": [data]}, 3, 2, _opt_settings(budget, trials=2),
                           tmp_path / "opt", lambda *a: seen.append(a))
    best = json.loads((tmp_path / "opt" / "best.json").read_text())
    assert out == {"kind": "optimise", "best": best} and best["chosen"]["cost_gbp_per_year"] <= budget
    assert (tmp_path / "opt" / "report.html").is_file() and (tmp_path / "opt" / "charts" / "frontier.png").is_file()
    assert {total for _, total, _ in seen} == {2}
    assert any(note.startswith("search: ") for *_, note in seen) and seen[-1][2].startswith("selection: ")
    assert seen[-1][0] == 2  # the search is over in the selection stage
    with pytest.raises(ScenarioError) as caught:
        jobs.optimise_request(base, _opt_settings(budget, vary=["services.p1.capacity=90:60"]), 2, 3)
    assert caught.value.lines == ["--vary services.p1.capacity: LO must be at most HI (got '90:60')"]
    with pytest.raises(ScenarioError, match=r"--trials: 41; the app tries 1 to 40 mixes"):
        jobs.optimise_request(base, _opt_settings(budget, trials=41), 2, 3)


def test_optimise_page_shows_the_best_mix_of_best_json() -> None:
    from streamlit.testing.v1 import AppTest

    from d2asim.experiments.optimise_space import annual_commissioning_cost
    from d2asim.report.optimise_report import best_text, money

    data = _short()
    base = validate_mapping(data, "short")
    app = AppTest.from_file(str(PAGE), default_timeout=60)
    app.session_state["loaded"] = inputs.Loaded(base, scenario_to_dict(base), "baseline.yaml")
    app.session_state["edits"] = {}
    app.run()
    app.sidebar.radio[0].set_value("Optimise").run()
    assert not app.exception
    assert f"{money(annual_commissioning_cost(base))} a year" in [m.value for m in app.metric]
    app.multiselect(key="opt_fields").set_value(["services.p1.capacity", "services.p2.capacity"]).run()
    app.number_input(key="opt_lo:services.p1.capacity").set_value(50).run()
    app.button(key="opt_button").click().run()
    p2 = base.services["p2"].capacity  # the variable at its lowest: LO defaults to the scenario's value
    assert app.error[0].value == ("error: --vary (the optimise mix: services.p1.capacity=50, "
                                  f"services.p2.capacity={p2}): initial_state.services_occupied.p1: 60 people but "
                                  "services.p1 has 50 places at the start")
    for name, (lo, hi, step) in {"services.p1.capacity": (60, 90, 10), "services.p2.capacity": (30, 40, 5)}.items():
        app.number_input(key=f"opt_lo:{name}").set_value(lo)
        app.number_input(key=f"opt_hi:{name}").set_value(hi)
        app.number_input(key=f"opt_step:{name}").set_value(step)
    app.number_input(key="opt_trials").set_value(3)
    app.number_input(key="opt_reps").set_value(2)
    app.number_input(key="opt_seed").set_value(3).run()
    app.button(key="opt_button").click().run()
    assert not app.exception and not app.error
    job = app.session_state["opt_job"]
    _wait(job, 180)
    assert job.status == "done", job.errors
    app.run()
    best = json.loads((job.folder / "best.json").read_text())
    shown = [m.value for m in app.markdown]
    assert best_text(best, scenario_to_dict(base)).splitlines()[0] in shown
    assert any(m.startswith(f"For {money(best['chosen']['cost_gbp_per_year'])} a year") for m in shown)
    assert "Image" in [type(e).__name__ for e in app.main.children.values()]
    frontier, table = (d.value for d in app.dataframe)
    assert frontier.equals(pd.read_csv(job.folder / "frontier.csv")) and table.equals(
        pd.read_csv(job.folder / "optimise.csv"))


def test_a_cancelled_optimise_job_stops_before_its_choice() -> None:
    from d2asim.experiments.optimise_space import annual_commissioning_cost

    data = _short()
    budget = annual_commissioning_cost(validate_mapping(data, "short"))
    job = jobs.start("optimise", {"scenarios": [data]}, 3, 3, _opt_settings(budget, trials=12))
    end = time.time() + 120
    while not job.note and job.status == "running" and time.time() < end:
        time.sleep(0.1)
    assert job.note.startswith("search: ") and job.total == 12
    job.cancel()
    _wait(job)
    assert job.status == "cancelled" and job.folder is not None and not (job.folder / "best.json").exists()
