"""The Excel input workbook: generated from the schema, read back through the same
schema (errors name sheet and cell), lossless for every bundled scenario."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from openpyxl import load_workbook
from test_api import _scenario_file

from d2asim.cli import main
from d2asim.scenario.errors import ScenarioError
from d2asim.scenario.fields import fields_of, item_models, schema_leaves
from d2asim.scenario.loader import load_scenario, scenario_to_dict
from d2asim.scenario.schema import Scenario
from d2asim.scenario.workbook import TOP_SHEET, write_workbook

BUNDLED = sorted(Path("scenarios").glob("*.yaml"))


def _cli(args: list[str]) -> tuple[int, str]:
    result = CliRunner().invoke(main, args)
    return result.exit_code, result.output


@pytest.mark.parametrize("path", BUNDLED, ids=[p.name for p in BUNDLED])
def test_yaml_to_workbook_to_yaml_is_lossless(path: Path, tmp_path: Path) -> None:
    scenario = load_scenario(path)
    book = tmp_path / f"{path.stem}.xlsx"
    code, output = _cli(["template", str(book), "--from", str(path)])
    assert code == 0, output
    back = load_scenario(book)
    assert scenario_to_dict(back) == scenario_to_dict(scenario)
    assert back == scenario.model_copy(update={"extends": None})  # the workbook holds the resolved scenario


def test_bundled_scenarios_are_all_tested() -> None:
    assert len(BUNDLED) >= 7 and Path("scenarios/baseline.yaml") in BUNDLED


def test_empty_template_lists_every_schema_field_with_kind_and_description(tmp_path: Path) -> None:
    book = tmp_path / "empty.xlsx"
    write_workbook({}, book)
    sheets = load_workbook(book)
    shown: set[str] = set()
    for name, field in fields_of(Scenario).items():
        if item_models(field.annotation):  # a table: one column per field of an item
            header = [c.value for c in sheets[name][1]]
            kinds = [c.value for c in sheets[name][2]]
            assert all(kinds), name
            shown |= {f"{name}.{h}" for h in header}
        elif name in sheets.sheetnames:
            shown |= {f"{name}.{r[0].value}" for r in sheets[name].iter_rows(min_row=2)}
        else:
            shown |= {str(r[0].value) for r in sheets[TOP_SHEET].iter_rows(min_row=2)}
    for path, _doc in schema_leaves(Scenario):
        dotted = ".".join(path)
        assert dotted in shown or any(s.startswith(f"{dotted}.") for s in shown), dotted
    row = next(r for r in sheets["run"].iter_rows(min_row=2, values_only=True) if r[0] == "warmup_days")
    assert row[2].startswith("whole number ≥ 0") and "days" in row[3]
    services = [c.value for c in sheets["services"][2]]
    assert services[0] == "text" and "one of: home, bed" in services  # services are named freely (system form)
    with pytest.raises(ScenarioError, match="name: required field is missing"):
        load_scenario(book)


def test_errors_name_the_sheet_and_the_cell(tmp_path: Path) -> None:
    book = tmp_path / "bad.xlsx"
    write_workbook(scenario_to_dict(load_scenario("scenarios/baseline.yaml")), book)
    sheets = load_workbook(book)
    row = next(r[0].row for r in sheets["services"].iter_rows(min_row=4) if r[0].value == "p1")
    column = next(c.column_letter for c in sheets["services"][1] if c.value == "capacity")
    sheets["services"][f"{column}{row}"] = "lots"
    beds = next(r[1].coordinate for r in sheets["acute"].iter_rows(min_row=2) if r[0].value == "beds")
    sheets["acute"][beds] = -3
    sheets.save(book)
    code, output = _cli(["validate", str(book)])
    assert code == 2
    assert f"error: {book} (sheet 'acute', cell {beds}): acute.beds: Input should be greater than 0 (got -3)" in output
    assert f"(sheet 'services', cell {column}{row}): services.p1.capacity: " in output and "'lots'" in output
    sheets["run"]["B2"] = "[1, 2"
    sheets.save(book)
    code, output = _cli(["validate", str(book)])
    assert code == 2 and "(sheet 'run', cell B2): cannot read the list or mapping" in output
    assert "Traceback" not in output


def test_not_a_workbook_and_no_overwrite(tmp_path: Path) -> None:
    fake = tmp_path / "fake.xlsx"
    fake.write_text("not a zip")
    code, output = _cli(["validate", str(fake)])
    assert code == 2 and output.startswith(f"error: {fake}: not an Excel workbook") and len(output.splitlines()) == 1
    code, output = _cli(["template", str(fake)])
    assert code == 2 and "file exists" in output and fake.read_text() == "not a zip"


def test_run_and_compare_accept_a_workbook(tmp_path: Path) -> None:
    path = _scenario_file(tmp_path)
    book = tmp_path / "s.xlsx"
    assert _cli(["template", str(book), "--from", str(path)])[0] == 0
    for source, out in ((path, "yaml"), (book, "xlsx")):
        code, output = _cli(["run", str(source), "--reps", "2", "--seed", "3", "--out", str(tmp_path / out),
                             "--workers", "1", "--quiet"])
        assert code == 0, output
    summaries = [json.loads((tmp_path / out / "summary.json").read_text()) for out in ("yaml", "xlsx")]
    assert summaries[0] == summaries[1]
    code, output = _cli(["compare", str(path), str(book), "--reps", "2", "--seed", "3", "--out",
                         str(tmp_path / "cmp"), "--workers", "1", "--quiet"])
    assert code == 0, output
