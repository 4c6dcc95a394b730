"""Calibration data that cannot be used says so: a file with no usable rows or an empty
series is one line (exit 2); non-finite and huge values and missing days are counted by
reason like other bad rows; a target missing more than LOSS_WARNING_SHARE of its days
or months is flagged (calibration.json ``data_loss``, the terminal and the report)."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml
from click.testing import CliRunner
from test_calibration_aggregates import CONFIG, SCENARIO

from d2asim.calibration.aggregates import data_loss, load_observed
from d2asim.calibration.config import load_config
from d2asim.calibration.spells import load_spells
from d2asim.cli import main
from d2asim.report.calibration_report import LOSS_WARNING_SHARE, data_loss_text, findings
from d2asim.scenario.errors import ScenarioError

DAYS = pd.date_range("2022-04-01", "2023-03-31")  # the fit and test periods of CONFIG
MONTHS = pd.period_range("2022-04", "2023-03", freq="M").strftime("%Y-%m")


def write_project(folder: Path, daily: str | None = None, monthly: str | None = None,
                  config: dict[str, Any] = CONFIG) -> Path:
    """``config`` and its files in ``folder`` (complete, valid data unless replaced)."""
    if daily is None:
        daily = "org,day,nctr\n" + "".join(f"TEST,{d:%Y-%m-%d},{i % 7 + 3}\n" for i, d in enumerate(DAYS))
    if monthly is None:
        monthly = "month,p1a,p1b\n" + "".join(f"{m},150,30\n" for m in MONTHS)
    (folder / "daily.csv").write_text(daily)
    (folder / "monthly.csv").write_text(monthly)
    (folder / "small.yaml").write_text(yaml.safe_dump(SCENARIO))
    (folder / "cal.yaml").write_text(yaml.safe_dump(config))
    return folder / "cal.yaml"


def observe(config_path: Path) -> Any:
    return load_observed(load_config(config_path), config_path)


def one_line(config_path: Path) -> str:
    with pytest.raises(ScenarioError) as info:
        observe(config_path)
    (line,) = info.value.lines
    return line


def test_complete_data_has_no_bad_rows(tmp_path: Path) -> None:
    observed = observe(write_project(tmp_path))
    assert observed.bad_rows == {"daily.csv": {}, "monthly.csv": {}}
    assert not any(entry["warning"] for entry in data_loss(load_config(tmp_path / "cal.yaml"), observed).values())


@pytest.mark.parametrize("case", ["dd/mm/yyyy", "another trust"])
def test_a_file_with_no_usable_rows_is_one_line(tmp_path: Path, case: str) -> None:
    """Reproduced: all dates dd/mm/yyyy, or all rows of another trust, gave a TypeError."""
    config = copy.deepcopy(CONFIG)
    config["data"]["daily"]["date_format"] = "%Y-%m-%d"
    if case == "dd/mm/yyyy":
        daily = "org,day,nctr\n" + "".join(f"TEST,{d:%d/%m/%Y},5\n" for d in DAYS)
    else:
        daily = "org,day,nctr\n" + "".join(f"OTHER,{d:%Y-%m-%d},5\n" for d in DAYS)
    config_path = write_project(tmp_path, daily=daily, config=config)
    line = one_line(config_path)
    assert line.startswith(f"{config_path}: data.daily.columns.nctr_remaining: no usable rows for 'nctr' in ")
    assert ("unparseable_date" in line) if case == "dd/mm/yyyy" else ("filtered_out" in line)
    result = CliRunner().invoke(main, ["calibrate", str(config_path), "--run-dir", str(tmp_path / "run")])
    assert result.exit_code == 2 and result.stderr.count("\n") == 1 and "Traceback" not in result.output
    assert not (tmp_path / "run").exists()


def test_an_empty_series_is_one_line(tmp_path: Path) -> None:
    monthly = "month,p1a,p1b\n" + "".join(f"{m},,\n" for m in MONTHS)
    line = one_line(write_project(tmp_path, monthly=monthly))
    assert "data.monthly.columns.p1_discharges: no usable rows for ['p1a', 'p1b']" in line
    assert "missing_value 12" in line


@pytest.mark.parametrize(("cells", "reason"), [
    (["inf", "Infinity", "-inf", "1e309", "-1e309", "+Inf"], "non_finite_value"),
    (["nan", "NaN", "-nan"], "non_finite_value"),
    (["1e12", "5e9"], "too_large_value"),
])
def test_non_finite_and_huge_values_are_bad_rows(tmp_path: Path, cells: list[str], reason: str) -> None:
    """Reproduced: inf, Infinity and 1e309 were numbers, the target's scale became inf."""
    rows = [f"TEST,{d:%Y-%m-%d},{cells[i] if i < len(cells) else 5}\n" for i, d in enumerate(DAYS)]
    observed = observe(write_project(tmp_path, daily="org,day,nctr\n" + "".join(rows)))
    assert observed.bad_rows["daily.csv"] == {reason: len(cells)}
    series = observed.series["nctr_remaining"]
    assert len(series) == len(DAYS) - len(cells) and series.abs().max() == 5


def test_a_sum_that_overflows_is_non_finite(tmp_path: Path) -> None:
    monthly = "month,p1a,p1b\n" + "".join(f"{m},{'1.7e308' if i == 0 else 150},{'1.7e308' if i == 0 else 30}\n"
                                          for i, m in enumerate(MONTHS))
    observed = observe(write_project(tmp_path, monthly=monthly))
    assert observed.bad_rows["monthly.csv"] == {"non_finite_value": 1}


def test_missing_days_are_counted_and_a_lossy_target_is_flagged(tmp_path: Path) -> None:
    """Reproduced: a month with 25 of its days silently lost them. Here April 2022 has 25
    days and every month from 2022-10 only its first 9 (below min_days_per_month = 10)."""
    kept = [d for d in DAYS if (d.month == 4 and d.day <= 25) or (5 <= d.month <= 9) or d.day <= 9]
    daily = "org,day,nctr\n" + "".join(f"TEST,{d:%Y-%m-%d},{d.day % 5 + 3}\n" for d in kept)
    config_path = write_project(tmp_path, daily=daily)
    config, observed = load_config(config_path), observe(config_path)
    assert observed.bad_rows["daily.csv"] == {"missing_day": len(DAYS) - len(kept)}
    loss = data_loss(config, observed)["nctr_remaining"]
    assert loss["days"] == len(DAYS) and loss["valid_days"] == len(kept)
    assert loss["valid_months"] == 6 and loss["months_lost_share"] == pytest.approx(0.5)
    assert loss["warning"] is True
    (text,) = data_loss_text(data_loss(config, observed))
    assert text.startswith(f"nctr_remaining has no valid value for {1 - len(kept) / len(DAYS):.0%} of its days")
    assert "50% of its months (6 of 12 valid)" in text and f"{LOSS_WARNING_SHARE:.0%}" in text


def test_missing_months_are_counted(tmp_path: Path) -> None:
    monthly = "month,p1a,p1b\n" + "".join(f"{m},150,30\n" for m in MONTHS[:10])
    config_path = write_project(tmp_path, monthly=monthly)
    observed = observe(config_path)
    assert observed.bad_rows["monthly.csv"] == {"missing_month": 2}
    loss = data_loss(load_config(config_path), observed)["p1_discharges"]
    assert loss == {"months": 12, "valid_months": 10, "months_lost_share": pytest.approx(2 / 12), "warning": True}


def test_a_small_loss_is_not_flagged(tmp_path: Path) -> None:
    monthly = "month,p1a,p1b\n" + "".join(f"{m},150,30\n" for m in MONTHS[:11])
    config_path = write_project(tmp_path, monthly=monthly)
    loss = data_loss(load_config(config_path), observe(config_path))["p1_discharges"]
    assert loss["months_lost_share"] == pytest.approx(1 / 12) and loss["warning"] is False
    assert 1 / 12 < LOSS_WARNING_SHARE


def test_the_report_findings_flag_a_lossy_target() -> None:
    document: dict[str, Any] = {
        "objective": {"start": 2.0, "found": 1.0, "final": 1.1}, "optimiser": {"final_replications": 3},
        "parameters": {}, "test_period": {"start": "2023-01", "end": "2023-03"},
        "data_loss": {"p1_discharges": {"months": 12, "valid_months": 10, "months_lost_share": 2 / 12,
                                        "warning": True}},
    }
    assert any("p1_discharges miss more than 10% of their days or months" in line for line in findings(document))
    assert data_loss_text(copy.deepcopy(document["data_loss"])) == [
        "p1_discharges has no valid value for 17% of its months (10 of 12 valid) in the fit and test periods, more "
        "than the 10% d2asim accepts without a warning"]


# ------------------------------------------------------------------ patient-level spells (found by the fuzz test)
SPELLS = "spell_id,admitted,discharged,pathway\n" + "".join(
    f"S{i},2022-04-{i % 20 + 1:02d} 10:00,2022-04-{i % 20 + 5:02d} 12:00,P{i % 4}\n" for i in range(30))


def test_spells_without_discharge_ready_load(tmp_path: Path) -> None:
    (tmp_path / "spells.csv").write_text(SPELLS)
    loaded = load_spells(tmp_path / "spells.csv", min_valid=30)
    assert loaded.n_valid == 30 and loaded.frame["discharge_ready"].isna().all()


@pytest.mark.parametrize("date", ["0000-01-01", "0001-01-01", "1500-06-01", "2263-01-01", "9999-12-31"])
def test_spell_dates_outside_the_representable_years_are_unparseable(tmp_path: Path, date: str) -> None:
    (tmp_path / "spells.csv").write_text(SPELLS.replace("2022-04-05 12:00", date, 1))
    loaded = load_spells(tmp_path / "spells.csv", min_valid=29)
    assert dict(loaded.bad) == {"unparseable_date": 1} and loaded.n_valid == 29
