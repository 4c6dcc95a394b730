"""``d2asim report DIR`` never overwrites a file it did not write itself: it records what
it wrote (report_files.json, with SHA-256 digests), replaces only those files, and refuses
in one line (exit 2) a user's file or one changed since."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from test_run_folders import one_error_line, scenario_file, tiny

from d2asim.cli import main
from d2asim.report.owned import MANIFEST, _digest


@pytest.fixture(scope="module")
def run_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("reported")
    result = CliRunner().invoke(main, ["run", str(scenario_file(tmp, tiny())), "--reps", "2", "--quiet",
                                       "--workers", "1", "--out", str(tmp / "run")])
    assert result.exit_code == 0, result.output
    return tmp / "run"


def _copy(folder: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(folder, tmp_path / "copy"))


def report(folder: Path) -> object:
    return CliRunner().invoke(main, ["report", str(folder)])


def test_a_users_report_md_is_never_replaced(run_folder: Path, tmp_path: Path) -> None:
    """Reproduced: d2asim report DIR overwrote a report.md the user put in DIR."""
    folder = _copy(run_folder, tmp_path)
    (folder / "report.md").write_text("my notes\n")
    one_error_line(report(folder), str(folder / "report.md"), "not written by d2asim report")
    assert (folder / "report.md").read_text() == "my notes\n"
    assert not (folder / "charts").exists() and not (folder / "report.html").exists()  # refused before drawing


def test_a_report_replaces_its_own_outputs_only(run_folder: Path, tmp_path: Path) -> None:
    folder = _copy(run_folder, tmp_path)
    assert report(folder).exit_code == 0
    files = json.loads((folder / MANIFEST).read_text())["files"]
    assert {"report.md", "report.html", "headline.csv", "inputs.csv", "charts/acute_occupancy.png"} <= set(files)
    assert all(files[name] == _digest(folder / name) for name in files)
    assert not {"summary.json", "daily.csv", "scenario.yaml"} & set(files)
    again = report(folder)
    assert again.exit_code == 0, again.output  # its own earlier outputs, unchanged: replaced
    (folder / "charts" / "acute_occupancy.png").write_bytes(b"edited by hand")
    one_error_line(report(folder), str(folder / "charts" / "acute_occupancy.png"), "changed since")
    assert (folder / "charts" / "acute_occupancy.png").read_bytes() == b"edited by hand"


def test_a_damaged_record_is_one_line(run_folder: Path, tmp_path: Path) -> None:
    folder = _copy(run_folder, tmp_path)
    (folder / MANIFEST).write_text("[not the record]")
    one_error_line(report(folder), str(folder / MANIFEST), "damaged")


def test_compare_report_twice_and_a_users_file_in_a_subfolder(tmp_path: Path) -> None:
    path = scenario_file(tmp_path, tiny())
    out = tmp_path / "cmp"
    result = CliRunner().invoke(main, ["compare", str(path), str(path), "--reps", "2", "--quiet", "--workers", "1",
                                       "--out", str(out), "--report"])
    assert result.exit_code == 0, result.output
    files = json.loads((out / MANIFEST).read_text())["files"]
    assert "tiny/report.md" in files and "report.html" in files
    assert report(out).exit_code == 0
    (out / "tiny" / "report.md").write_text("mine\n")
    one_error_line(report(out), str(out / "tiny" / "report.md"), "changed since")
    assert (out / "tiny" / "report.md").read_text() == "mine\n"
