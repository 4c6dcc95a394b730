"""Scenario files: validation, one-line error messages, ``extends``, overrides, schema.

Every bad input must make ``d2asim validate FILE`` exit with code 2 and print
exactly one line per problem, ``error: FILE: FIELD.PATH: message``, to stderr, with
no traceback. Each case is checked both in-process (click's CliRunner) and as a
real subprocess (``python -m d2asim``); the subprocesses run concurrently in a
module-scoped fixture to keep the suite quick.
"""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from d2asim.cli import main
from d2asim.scenario.distributions import DISTRIBUTION_TYPES, Empirical
from d2asim.scenario.errors import ScenarioError
from d2asim.scenario.loader import deep_merge, load_scenario, scenario_to_dict, with_overrides
from d2asim.scenario.schema import Scenario

BASE: dict[str, Any] = {
    "name": "base",
    "arrivals": {"non_elective": {"per_day": 50}},
    "acute": {
        "beds": 400,
        "time_to_discharge_ready_days": {
            "P0": {"type": "lognormal", "mean": 4, "sd": 3},
            "P1": {"type": "lognormal", "mean": 6, "sd": 5},
            "P2": {"type": "gamma", "mean": 8, "sd": 6},
            "P3": {"type": "lognormal", "median": 7, "mean": 15},
        },
    },
    "pathways": {"shares": {"P0": 0.5, "P1": 0.3, "P2": 0.15, "P3": 0.05}},
    "services": {
        "p1": {"capacity": 100, "duration_days": {"type": "exponential", "mean": 14}},
        "p2": {"capacity": 40, "duration_days": {"type": "gamma", "mean": 21, "sd": 10}},
        "p3": {"capacity": 30, "duration_days": {"type": "weibull", "shape": 1.5, "scale": 30}},
    },
}
STAYS_CSV = "los,ward\n3,a\n5,b\n10,c\n"


def empirical(csv: str, column: str) -> dict[str, str]:
    return {"type": "empirical", "csv": csv, "column": column}


ALLOWED_TYPES = ", ".join(DISTRIBUTION_TYPES)


def scenario_text(mutate: Callable[[dict[str, Any]], Any] | None = None) -> str:
    data = copy.deepcopy(BASE)
    if mutate is not None:
        mutate(data)
    return yaml.safe_dump(data, sort_keys=False)


def write(folder: Path, files: dict[str, str | bytes]) -> None:
    for name, content in files.items():
        target = folder / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            target.write_bytes(content)
        else:
            target.write_text(content, encoding="utf-8")


# ---- the valid minimal scenario ---------------------------------------------------


def test_minimal_scenario_validates(tmp_path):
    write(tmp_path, {"base.yaml": scenario_text()})
    scenario = load_scenario(tmp_path / "base.yaml")
    assert isinstance(scenario, Scenario)
    assert scenario.name == "base"
    assert scenario.acute.beds == 400
    assert scenario.services["p1"].capacity == 100
    assert scenario.acute.time_to_discharge_ready_days["P3"].mean() == pytest.approx(15.0)
    # defaults filled in: P1-P3 route to their services, P0 goes home
    assert {p: s.service for p, s in scenario.pathways.settings.items()} == {
        "P0": None,
        "P1": "p1",
        "P2": "p2",
        "P3": "p3",
    }


def test_minimal_scenario_cli_ok(tmp_path, monkeypatch):
    write(tmp_path, {"base.yaml": scenario_text()})
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, ["validate", "base.yaml"])
    assert result.exit_code == 0, result.output
    assert "base.yaml: ok (scenario 'base')" in result.stdout
    assert result.stderr == ""


def test_minimal_scenario_subprocess_ok(tmp_path):
    write(tmp_path, {"base.yaml": scenario_text()})
    proc = subprocess.run(
        [sys.executable, "-m", "d2asim", "validate", "base.yaml"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert "ok (scenario 'base')" in proc.stdout
    assert proc.stderr == ""


# ---- bad inputs: one line per problem -----------------------------------------------


@dataclass
class Expect:
    """One expected stderr line: ``field`` (None for file-level problems) and fragments."""

    field: str | None
    fragments: list[str]
    exact: str | None = None  # the whole line after "error: ", with {file} for the file name


@dataclass
class Case:
    id: str
    files: dict[str, str | bytes]
    expected: list[Expect]
    target: str = "s.yaml"
    extra: dict[str, Any] = field(default_factory=dict)


def _set(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def mutate(data: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        node = data
        for part in parents:
            node = node.setdefault(part, {})
        node[last] = value

    return mutate


def _all(*mutations: Callable[[dict[str, Any]], None]) -> Callable[[dict[str, Any]], None]:
    def mutate(data: dict[str, Any]) -> None:
        for m in mutations:
            m(data)

    return mutate


def _del(path: str) -> Callable[[dict[str, Any]], None]:
    def mutate(data: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        node = data
        for part in parents:
            node = node[part]
        del node[last]

    return mutate


CASES = [
    Case(
        "unknown_key",
        {"s.yaml": scenario_text(_set("arrivals.non_elective.perday", 3))},
        [
            Expect(
                "arrivals.non_elective.perday",
                ["unknown key", "(allowed: per_day, growth_per_year, day_of_week, month_of_year, hour_of_day)"],
            )
        ],
    ),
    Case(
        "unknown_top_level_key",
        {"s.yaml": scenario_text(_set("servics", {}))},
        [Expect("servics", ["unknown key", "allowed: name, description, extends, run,", "services"])],
    ),
    Case(
        "wrong_type",
        {"s.yaml": scenario_text(_set("acute.beds", "lots"))},
        [Expect("acute.beds", ["expected a number or a mapping", "(got 'lots')"])],
    ),
    Case(
        "negative_capacity",
        {"s.yaml": scenario_text(_set("services.p1.capacity", -5))},
        [Expect("services.p1.capacity", ["greater than or equal to 0", "(got -5)"])],
    ),
    Case(
        "shares_not_summing_to_1",
        {"s.yaml": scenario_text(_set("pathways.shares.P3", 0.10))},
        [Expect("pathways.shares", [], exact="{file}: pathways.shares: shares must sum to 1 (got 1.05)")],
    ),
    Case(
        "service_calendar_never_meets_discharge_window",
        {"s.yaml": scenario_text(_all(_set("acute.discharge_window", {"start_hour": 8, "end_hour": 12}),
                                      _set("services.p3.start_calendar", {"start_hour": 13, "end_hour": 17})))},
        [Expect(None, ["services.p3.start_calendar: never open while acute.discharge_window is"])],
    ),
    Case(
        "missing_file",
        {},
        [Expect(None, ["nope.yaml", "file not found"])],
        target="nope.yaml",
    ),
    Case(
        "yaml_syntax_error",
        {"s.yaml": "name: base\nacute:\n  beds: 400\n   oops: 1\n"},
        [Expect(None, ["YAML syntax error", "(line 4, column 8)", "mapping values are not allowed"])],
    ),
    Case(
        "yaml_invalid_date",  # PyYAML raised a bare ValueError here (traceback) before the fix
        {"s.yaml": scenario_text() + "run:\n  start_date: 2025-13-01\n"},
        [Expect(None, ["(line", "invalid date '2025-13-01'", "month must be in 1..12"])],
    ),
    Case(
        "top_level_not_a_mapping",
        {"s.yaml": "- a\n- b\n"},
        [Expect(None, ["top level must be a mapping", "(got list)"])],
    ),
    Case(
        "extends_cycle",
        {"a.yaml": "name: a\nextends: b.yaml\n", "b.yaml": "name: b\nextends: a.yaml\n"},
        [Expect(None, ["b.yaml: extends: cycle a.yaml -> b.yaml -> a.yaml"])],
        target="a.yaml",
    ),
    Case(
        "extends_missing_base",  # named only the missing file, not s.yaml/extends, before the loader fix
        {"s.yaml": "name: opt\nextends: missing_base.yaml\n"},
        [Expect(None, ["s.yaml: extends: file not found: ", "missing_base.yaml"])],
    ),
    Case(
        "unknown_distribution_type",
        {"s.yaml": scenario_text(_set("services.p3.duration_days.type", "weibul"))},
        [
            Expect(
                "services.p3.duration_days",
                ["unknown distribution type 'weibul'", f"(allowed: {ALLOWED_TYPES})"],
            )
        ],
    ),
    Case(
        "distribution_without_type",
        {"s.yaml": scenario_text(_set("acute.time_to_discharge_ready_days.P0", {"mean": 4, "sd": 3}))},
        [Expect("acute.time_to_discharge_ready_days.P0", ["needs a type", f"(allowed: {ALLOWED_TYPES})"])],
    ),
    Case(
        "unknown_key_in_distribution",  # listed no allowed keys before the errors.py fix
        {"s.yaml": scenario_text(_set("acute.time_to_discharge_ready_days.P0.shape", 2))},
        [
            Expect(
                "acute.time_to_discharge_ready_days.P0.shape",
                ["unknown key", "(allowed: type, mean, sd, median, mu, sigma)"],
            )
        ],
    ),
    Case(
        "lognormal_overdetermined",
        {"s.yaml": scenario_text(_set("acute.time_to_discharge_ready_days.P0.median", 2))},
        [Expect("acute.time_to_discharge_ready_days.P0", ["give exactly one of: mean+sd, median+mean, mu+sigma"])],
    ),
    Case(
        "pathway_service_without_block",
        {"s.yaml": scenario_text(_del("services.p3"))},
        [Expect("pathways.settings.P3.service", ["'p3' has no services block", "(defined: p1, p2)"])],
    ),
    Case(
        "unknown_age_band",
        {"s.yaml": scenario_text(_set("pathways.shares_by_age_band", {"old": {"P0": 1.0}}))},
        [Expect("pathways.shares_by_age_band", ["unknown age band 'old'", "(allowed: all)"])],
    ),
    Case(
        "literal_wrong_value",
        {
            "s.yaml": scenario_text(
                _set("pathways.settings", {"P2": {"service": "p2", "assessment": {"mode": "onward"}}})
            )
        },
        [Expect("pathways.settings.P2.assessment.mode", ["got 'onward'", "allowed: 'on_ward' or 'd2a'"])],
    ),
    Case(
        "unknown_pathway_key",  # was "pathways.shares.P5.[key]: got 'P5'; ..." before the errors.py fix
        {"s.yaml": scenario_text(_set("pathways.shares", {"P5": 0.5, "P1": 0.3, "P2": 0.15, "P3": 0.05}))},
        [Expect("pathways.shares.P5", ["unknown key", "(allowed: P0, P1, P2, P3)"])],
    ),
    Case(
        "service_without_kind",  # services are declared by any name, with what they are
        {"s.yaml": scenario_text(_set("services.p4", {"duration_days": {"type": "fixed", "value": 1}}))},
        [Expect("services.p4.kind", ["required field is missing", "(allowed: reablement,", "other)"])],
    ),
    Case(
        "profile_wrong_length",  # was reported at arrivals.non_elective before the errors.py fix
        {"s.yaml": scenario_text(_set("arrivals.non_elective.day_of_week", [1, 1, 1]))},
        [Expect("arrivals.non_elective.day_of_week", ["needs 7 multipliers", "(got 3)"])],
    ),
    Case(
        "union_wrong_type",  # was two lines (.float and .dict[str,float]) before the errors.py fix
        {"s.yaml": scenario_text(_set("acute.death_probability", "lots"))},
        [Expect("acute.death_probability", ["expected a number or a mapping", "(got 'lots')"])],
    ),
    Case(
        "union_member_matched",  # the dict member fits: report its inner problem only
        {"s.yaml": scenario_text(_set("acute.death_probability", {"all": "x"}))},
        [Expect("acute.death_probability.all", ["valid number", "(got 'x')"])],
    ),
    Case(
        "nested_union_in_list",  # sweep values: tuple of (int | float | str | bool | None)
        {"s.yaml": scenario_text(_set("sweep", {"services.p1.capacity": [80, [90]]}))},
        [Expect("sweep.services.p1.capacity.1", ["expected a number, text or true/false", "(got [90])"])],
    ),
    Case(
        "window_hours_reversed",
        {"s.yaml": scenario_text(_set("services.p1.start_calendar", {"start_hour": 9, "end_hour": 8}))},
        [Expect("services.p1.start_calendar.end_hour", ["must be after start_hour"])],
    ),
    Case(
        "list_expected",
        {"s.yaml": scenario_text(_set("age_bands", "all"))},
        [Expect("age_bands", ["should be a list", "(got 'all')"])],
    ),
    Case(
        "missing_required_block",
        {"s.yaml": scenario_text(_del("pathways"))},
        [Expect("pathways", ["required field is missing"])],
    ),
    Case(
        "empirical_csv_missing_column",
        {
            "s.yaml": scenario_text(_set("acute.time_to_discharge_ready_days.P2", empirical("stays.csv", "days"))),
            "stays.csv": STAYS_CSV,
        },
        [
            Expect(
                "acute.time_to_discharge_ready_days.P2.column",
                ["'days' is not a column of stays.csv", "(allowed: los, ward)"],
            )
        ],
    ),
    Case(
        "empirical_csv_missing_file",
        {"s.yaml": scenario_text(_set("acute.time_to_discharge_ready_days.P2", empirical("gone.csv", "los")))},
        [Expect("acute.time_to_discharge_ready_days.P2.csv", ["file not found", "gone.csv"])],
    ),
    Case(
        "empirical_csv_not_numbers",
        {
            "s.yaml": scenario_text(_set("acute.time_to_discharge_ready_days.P2", empirical("stays.csv", "ward"))),
            "stays.csv": STAYS_CSV,
        },
        [Expect("acute.time_to_discharge_ready_days.P2.csv", ["3 value(s) in column 'ward'", "numbers >= 0"])],
    ),
    Case(
        "empirical_csv_not_utf8",  # UnicodeDecodeError traceback before the loader fix
        {
            "s.yaml": scenario_text(_set("acute.time_to_discharge_ready_days.P2", empirical("bin.csv", "los"))),
            "bin.csv": b"\x80\x81\xff,\n",
        },
        [Expect("acute.time_to_discharge_ready_days.P2.csv", ["not a UTF-8 text file"])],
    ),
    Case(
        "three_problems_three_lines",
        {
            "s.yaml": scenario_text(
                _all(
                    _set("arrivals.non_elective.perday", 3),
                    _set("acute.beds", "lots"),
                    _set("services.p1.capacity", -5),
                )
            )
        },
        [
            Expect("arrivals.non_elective.perday", ["unknown key", "allowed: per_day"]),
            Expect("acute.beds", ["expected a number or a mapping", "(got 'lots')"]),
            Expect("services.p1.capacity", ["greater than or equal to 0", "(got -5)"]),
        ],
    ),
]
CASE_IDS = [c.id for c in CASES]


def check_bad_input(case: Case, folder: Path, exit_code: int, stdout: str, stderr: str) -> None:
    """Exit 2, nothing on stdout, no traceback, exactly the expected lines on stderr.

    Schema problems name the file as given on the command line; problems found while
    reading files (YAML, CSV, extends) name it resolved: both are accepted."""
    assert exit_code == 2, f"exit code {exit_code}; stderr:\n{stderr}"
    assert "Traceback" not in stderr and "Traceback" not in stdout
    assert stdout == ""
    lines = stderr.splitlines()
    assert len(lines) == len(case.expected), f"want {len(case.expected)} line(s), got:\n{stderr}"
    file_name = Path(case.target).name
    unmatched = list(lines)
    for expect in case.expected:
        names = (case.target, str((folder / case.target).resolve()))
        match = next((line for line in unmatched if any(_matches(line, expect, n) for n in names)), None)
        assert match is not None, f"no line for {expect} in:\n{stderr}"
        unmatched.remove(match)
    for line in lines:
        assert line.startswith("error: "), line
        assert file_name in line or any(name in line for name in case.files), line


def _matches(line: str, expect: Expect, target: str) -> bool:
    """``line`` is ``error: TARGET: FIELD: ...`` with every fragment (or exactly ``exact``)."""
    if expect.exact is not None:
        return line == "error: " + expect.exact.format(file=target)
    if expect.field is not None and not line.startswith(f"error: {target}: {expect.field}: "):
        return False
    return all(fragment in line for fragment in expect.fragments)


@pytest.fixture(scope="module")
def subprocess_results(tmp_path_factory) -> dict[str, tuple[Path, subprocess.CompletedProcess[str]]]:
    """Run ``python -m d2asim validate`` for every case, concurrently."""
    root = tmp_path_factory.mktemp("cases")

    def run(case: Case) -> tuple[str, tuple[Path, subprocess.CompletedProcess[str]]]:
        folder = root / case.id
        folder.mkdir()
        write(folder, case.files)
        proc = subprocess.run(
            [sys.executable, "-m", "d2asim", "validate", case.target],
            cwd=folder,
            capture_output=True,
            text=True,
            timeout=300,
        )
        return case.id, (folder, proc)

    with ThreadPoolExecutor(max_workers=8) as pool:
        return dict(pool.map(run, CASES))


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_bad_input_subprocess(case, subprocess_results):
    folder, proc = subprocess_results[case.id]
    check_bad_input(case, folder, proc.returncode, proc.stdout, proc.stderr)


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_bad_input_cli_runner(case, tmp_path, monkeypatch):
    write(tmp_path, case.files)
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, ["validate", case.target])
    assert not isinstance(result.exception, Exception) or isinstance(result.exception, SystemExit), (
        f"unexpected exception {result.exception!r}"
    )
    check_bad_input(case, tmp_path, result.exit_code, result.stdout, result.stderr)


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_bad_input_load_scenario_raises_scenario_error(case, tmp_path):
    write(tmp_path, case.files)
    with pytest.raises(ScenarioError) as info:
        load_scenario(tmp_path / case.target)
    assert len(info.value.lines) == len(case.expected)


def test_empirical_from_csv(tmp_path):
    write(
        tmp_path,
        {
            "scenarios/s.yaml": scenario_text(
                _set(
                    "acute.time_to_discharge_ready_days.P2",
                    {"type": "empirical", "csv": "../data/stays.csv", "column": "los"},
                )
            ),
            "data/stays.csv": STAYS_CSV,
        },
    )
    scenario = load_scenario(tmp_path / "scenarios" / "s.yaml")
    dist = scenario.acute.time_to_discharge_ready_days["P2"]
    assert isinstance(dist, Empirical)
    assert dist.values == (3.0, 5.0, 10.0)
    assert dist.mean() == pytest.approx(6.0)
    # the path is resolved relative to the scenario file, so the scenario is self-contained
    assert Path(dist.csv) == (tmp_path / "data" / "stays.csv").resolve()
    # and survives a round trip through with_overrides (values travel with it)
    assert with_overrides(scenario, {}).acute.time_to_discharge_ready_days["P2"] == dist


# ---- extends -------------------------------------------------------------------------


def _option_files(extends: str, capacity: int = 120) -> str:
    return yaml.safe_dump({"name": "more_p1", "extends": extends, "services": {"p1": {"capacity": capacity}}})


def test_extends_overrides_one_field_deep_merge(tmp_path):
    write(tmp_path, {"base.yaml": scenario_text(), "option.yaml": _option_files("base.yaml")})
    base = load_scenario(tmp_path / "base.yaml")
    option = load_scenario(tmp_path / "option.yaml")

    assert option.name == "more_p1"  # the option's name wins
    assert option.services["p1"].capacity == 120
    # deep merge: p1's other fields come from the base, not replaced by the option's block
    assert option.services["p1"].duration_days == base.services["p1"].duration_days

    expected = scenario_to_dict(base)
    expected["name"] = "more_p1"
    expected["services"]["p1"]["capacity"] = 120
    assert scenario_to_dict(option) == expected  # resolved: self-contained, no extends
    assert option.extends == "base.yaml"


def test_extends_three_levels(tmp_path):
    write(
        tmp_path,
        {
            "base.yaml": scenario_text(),
            "mid.yaml": yaml.safe_dump({"name": "mid", "extends": "base.yaml", "acute": {"beds": 420}}),
            "top.yaml": _option_files("mid.yaml", capacity=77),
        },
    )
    top = load_scenario(tmp_path / "top.yaml")
    assert (top.name, top.acute.beds, top.services["p1"].capacity) == ("more_p1", 420, 77)
    assert top.services["p2"] == load_scenario(tmp_path / "base.yaml").services["p2"]


def test_extends_resolves_relative_to_option_folder_not_cwd(tmp_path, monkeypatch):
    write(
        tmp_path,
        {
            "options/base.yaml": scenario_text(),  # the right base, next to the option
            "options/option.yaml": _option_files("base.yaml"),
            "elsewhere/base.yaml": scenario_text(_set("acute.beds", 1)),  # decoy in the cwd
        },
    )
    monkeypatch.chdir(tmp_path / "elsewhere")
    option = load_scenario(Path("..") / "options" / "option.yaml")
    assert option.acute.beds == 400
    result = CliRunner().invoke(main, ["validate", "../options/option.yaml"])
    assert result.exit_code == 0, result.stderr


def test_extends_relative_path_into_another_folder_subprocess(tmp_path):
    write(
        tmp_path,
        {
            "baseline/base.yaml": scenario_text(),
            "options/option.yaml": _option_files("../baseline/base.yaml"),
            "run_here/.keep": "",
        },
    )
    proc = subprocess.run(
        [sys.executable, "-m", "d2asim", "validate", str(tmp_path / "options" / "option.yaml")],
        cwd=tmp_path / "run_here",
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert "scenario 'more_p1'" in proc.stdout


def test_extends_error_in_option_names_the_option_file(tmp_path, monkeypatch):
    write(tmp_path, {"base.yaml": scenario_text(), "option.yaml": _option_files("base.yaml", capacity=-1)})
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, ["validate", "option.yaml"])
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        "error: option.yaml: services.p1.capacity: Input should be greater than or equal to 0 (got -1)"
    ]


def test_extends_error_inherited_from_base_names_the_base_file(tmp_path, monkeypatch):
    write(tmp_path, {"base.yaml": scenario_text(_set("acute.beds", -3)), "option.yaml": _option_files("base.yaml")})
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, ["validate", "option.yaml"])
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        f"error: {tmp_path.resolve() / 'base.yaml'}: acute.beds: Input should be greater than 0 (got -3)"
    ]


def test_duplicate_yaml_key_is_an_error(tmp_path, monkeypatch):
    text = scenario_text() + "name: again\n"
    write(tmp_path, {"dup.yaml": text})
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, ["validate", "dup.yaml"])
    assert result.exit_code == 2
    [line] = result.stderr.splitlines()
    assert line.startswith("error: ") and "dup.yaml: YAML syntax error (line " in line
    assert line.endswith("duplicate key 'name'")


def test_deep_merge_semantics():
    base = {"a": {"b": 1, "c": {"d": 2}}, "lst": [1, 2], "x": 1}
    over = {"a": {"c": {"e": 3}}, "lst": [9]}
    assert deep_merge(base, over) == {"a": {"b": 1, "c": {"d": 2, "e": 3}}, "lst": [9], "x": 1}
    assert base == {"a": {"b": 1, "c": {"d": 2}}, "lst": [1, 2], "x": 1}  # not mutated


# ---- overrides -----------------------------------------------------------------------


def test_load_scenario_with_overrides(tmp_path):
    write(tmp_path, {"base.yaml": scenario_text()})
    base = load_scenario(tmp_path / "base.yaml")
    bumped = load_scenario(tmp_path / "base.yaml", overrides={"services.p1.capacity": 99})
    assert bumped.services["p1"].capacity == 99
    expected = scenario_to_dict(base)
    expected["services"]["p1"]["capacity"] = 99
    assert scenario_to_dict(bumped) == expected


def test_load_scenario_bad_override_names_file_and_field(tmp_path):
    write(tmp_path, {"base.yaml": scenario_text()})
    with pytest.raises(ScenarioError) as info:
        load_scenario(tmp_path / "base.yaml", overrides={"services.p1.capacity": -3})
    assert info.value.lines == [
        f"{tmp_path / 'base.yaml'}: services.p1.capacity: Input should be greater than or equal to 0 (got -3)"
    ]


def test_with_overrides_returns_revalidated_copy(tmp_path):
    write(tmp_path, {"base.yaml": scenario_text()})
    base = load_scenario(tmp_path / "base.yaml")
    assert with_overrides(base, {}) == base  # lossless round trip
    changed = with_overrides(base, {"acute.beds": 500, "services.p2.capacity": 45})
    assert (changed.acute.beds, changed.services["p2"].capacity) == (500, 45)
    assert (base.acute.beds, base.services["p2"].capacity) == (400, 40)  # original untouched
    assert changed.model_copy(update={"acute": base.acute, "services": base.services}) == base
    with pytest.raises(ScenarioError) as info:
        with_overrides(base, {"pathways.shares.P0": 0.6})
    assert info.value.lines == ["<overrides>: pathways.shares: shares must sum to 1 (got 1.1)"]


# ---- schema --------------------------------------------------------------------------


def _check_schema(text: str) -> None:
    schema = json.loads(text)
    assert schema["title"] == "Scenario"
    assert {"name", "arrivals", "acute", "pathways", "services", "run"} <= set(schema["properties"])
    # acute, arrivals and pathways are required by the single-site form only (the
    # system form has trusts, boroughs and admissions instead): checked by the validator
    assert set(schema["required"]) == {"name"}
    assert {"trusts", "boroughs", "admissions", "out_of_area"} <= set(schema["properties"])
    defs = schema["$defs"]
    assert {"Acute", "Service", "Lognormal", "Gamma", "Weibull", "Exponential", "Fixed", "Empirical"} <= set(defs)
    # descriptions carry units
    assert defs["Acute"]["properties"]["beds"]["description"] == "core G&A beds available (or a dated schedule)"
    assert "days" in defs["Service"]["properties"]["duration_days"]["description"]
    assert "GBP" in defs["Service"]["properties"]["cost_per_day_gbp"]["description"]
    assert "days" in defs["RunSettings"]["properties"]["warmup_days"]["description"]
    assert "mean admissions per day" in defs["ArrivalStream"]["properties"]["per_day"]["description"]
    # YAML spellings (aliases), not Python attribute names
    assert "mean" in defs["Lognormal"]["properties"] and "mean_days" not in defs["Lognormal"]["properties"]
    assert defs["Lognormal"]["properties"]["mean"]["description"] == "mean, days"
    assert defs["Acute"]["additionalProperties"] is False


def test_schema_cli_runner():
    result = CliRunner().invoke(main, ["schema"])
    assert result.exit_code == 0
    _check_schema(result.stdout)


def test_schema_subprocess():
    proc = subprocess.run([sys.executable, "-m", "d2asim", "schema"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    _check_schema(proc.stdout)
