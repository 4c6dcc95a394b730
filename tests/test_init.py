"""``d2asim init``: a first scenario for any trust, from the national extracts.

The figures are checked against the RKE extracts read independently (the baseline's
own sources), and each scenario must run with a stable admission queue: the
admission wait stays short and nobody is left waiting for a bed at the end."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from click.testing import CliRunner

from d2asim.calibration.init_scenario import erlang_c, mean_queue, places_for
from d2asim.calibration.trust_data import DATA_DIR, load_trust
from d2asim.cli import main
from d2asim.model.engine import DischargeModel
from d2asim.scenario.loader import load_scenario, scenario_to_dict, validate_mapping


def _init(tmp_path: Path, *args: str) -> tuple[int, str, Path]:
    out = tmp_path / "first.yaml"
    result = CliRunner().invoke(main, ["init", *args, "--out", str(out)])
    return result.exit_code, result.output, out


def test_figures_match_the_rke_extracts(tmp_path: Path) -> None:
    trust = load_trust("RKE", "2023-01", "2023-12")
    beds = pd.read_csv(DATA_DIR / "trust_ga_beds_monthly_2022_2025_rke.csv")
    beds = beds[beds["date"].str.endswith("2023")]
    assert trust.beds == pytest.approx(beds["adult_general_acute_beds_available"].mean())
    assert trust.occupied == pytest.approx(beds["adult_general_acute_beds_occupied"].mean())
    nctr = pd.read_csv(DATA_DIR / "trust_nctr_daily_2022_2025_rke.csv", index_col="date")
    gone = pd.read_csv(DATA_DIR / "trust_discharged_daily_2022_2025_rke.csv", index_col="date")
    both = pd.concat([nctr["do_not_meet_criteria_to_reside"], gone["discharged_total"]], axis=1)
    both = both[both.index.str.startswith("2023")].replace(0, np.nan).dropna()
    assert trust.nctr_remaining == pytest.approx((both.iloc[:, 0] - both.iloc[:, 1]).mean())
    assert trust.days_used == len(both)
    # Table 4 2023 means (calibration/data/SOURCES.md: P1 132.08 a month) and Table 5 (P3 13.42 a day).
    assert trust.pathway_per_day["P1"] * 365 / 12 == pytest.approx(132.08, abs=0.5)
    assert trust.waiting_los14["P3"] == pytest.approx(13.42, abs=0.01)


def test_erlang_c_by_hand() -> None:
    # M/M/2 with a = 1: C = a^2/2 / (1 - a/2) / (1 + a + a^2/2 / (1 - a/2)) = 1/3.
    assert erlang_c(2, 1.0) == pytest.approx(1 / 3)
    assert mean_queue(2, 1.0, 1.0) == pytest.approx(1 / 3)  # Lq = C rho/(1-rho), exponential
    c, queue = places_for(60.0, 1.0, 5.0)  # the fewest places >= a + sqrt(a)/2 with Lq <= 5
    lowest = int(np.ceil(60 + 0.5 * np.sqrt(60)))
    assert c >= lowest and queue == mean_queue(c, 60.0, 1.0) <= 5.0
    assert c == lowest or mean_queue(c - 1, 60.0, 1.0) > 5.0


@pytest.mark.parametrize(("code", "boroughs"), [("RKE", ["Islington", "Haringey"]), ("RAP", ["Enfield"]),
                                                ("RTH", []), ("RAL", ["Barnet", "Camden"])])
def test_init_writes_a_scenario_that_runs_with_a_stable_admission_queue(tmp_path: Path, code: str,
                                                                         boroughs: list[str]) -> None:
    args = ["--trust", code, "--period", "2022-04:2023-03"] + [a for b in boroughs for a in ("--borough", b)]
    rc, output, out = _init(tmp_path, *args)
    assert rc == 0, output
    text = out.read_text()
    assert "Little's law" in text and "[sitrep4]" in text and "calibration/data/SOURCES.md" in text
    scenario = load_scenario(out)
    trust = load_trust(code, "2022-04", "2023-03")
    assert scenario.acute.beds == round(trust.beds)
    if boroughs:
        pop = pd.read_csv(DATA_DIR / "la_adult_pop_reablement_2022_23.csv")
        assert scenario.population.adults_18plus == int(pop[pop["LA_name"].isin(boroughs)]["population"].sum())
    else:
        assert scenario.population.adults_18plus is None
    data = scenario_to_dict(scenario)
    data["run"].update(warmup_days=90, duration_days=90)
    log = DischargeModel(validate_mapping(data, "short"), 1, 0).run()
    acute = log.table("acute")
    admitted = ~np.isnan(acute["admit"])
    waits_h = (acute["admit"][admitted] - acute["arrival"][admitted]) * 24
    late = acute["arrival"][admitted] > 135
    assert waits_h[late].mean() < 2.0, waits_h[late].mean()
    still_waiting = (acute["arrival"] < 179) & ~admitted
    assert still_waiting.sum() <= 0.02 * scenario.acute.beds


def test_init_never_overwrites_and_reports_bad_input_in_one_line(tmp_path: Path) -> None:
    out = tmp_path / "first.yaml"
    out.write_text("keep me")
    for args, expected in [
        (["--trust", "RKE"], "file exists"),
        (["--trust", "NOPE"], "unknown trust code 'NOPE'"),
        (["--trust", "RKE", "--borough", "Atlantis"], "unknown council 'Atlantis'"),
        (["--trust", "RKE", "--period", "2023-04"], "--period: must be two months START:END"),
        (["--trust", "RKE", "--period", "2025-01:2025-06"], "no discharges by pathway"),
    ]:
        target = out if expected == "file exists" else tmp_path / "other.yaml"
        result = CliRunner().invoke(main, ["init", *args, "--out", str(target)])
        assert result.exit_code == 2, result.output
        assert result.output.count("\n") == 1 and expected in result.output, result.output
        assert "--list-trusts" in result.output or expected != "unknown trust code 'NOPE'"
        assert not (tmp_path / "other.yaml").exists()
    assert out.read_text() == "keep me"


def test_list_trusts_names_every_trust() -> None:
    result = CliRunner().invoke(main, ["init", "--list-trusts"])
    rows = [line.split("\t") for line in result.output.splitlines()]
    assert result.exit_code == 0 and len(rows) == 121
    assert ["RKE", "WHITTINGTON HEALTH NHS TRUST", "LONDON"] in rows


def test_default_period_is_the_last_twelve_months_of_table_4(tmp_path: Path) -> None:
    rc, output, out = _init(tmp_path, "--trust", "RKE")
    assert rc == 0 and "2023-02..2024-01" in output
    assert yaml.safe_load(out.read_text())["run"]["start_date"].isoformat() == "2023-02-01"


@pytest.mark.parametrize("code", ["RKE", "RAL", "RTH"])
def test_init_reaches_the_trusts_nctr_level(tmp_path: Path, code: str) -> None:
    """The NCTR the P1-P3 assessments and queues leave unexplained becomes P0 patients
    waiting days for other reasons, so the first scenario's NCTR remaining at 23:59 lies
    within the trust's own monthly range (RAL: 19 explained of 94 observed)."""
    from d2asim.calibration.simfit import ModelSpec, model_series
    from d2asim.calibration.trust_data import daily_series

    rc, output, out = _init(tmp_path, "--trust", code, "--period", "2022-04:2023-03")
    assert rc == 0, output
    data = yaml.safe_load(out.read_text())
    delay = data["pathways"]["settings"]["P0"]["assessment"]["delay_days"]
    assert delay["type"] == "mixture" and 0 < delay["weights"]["multi_day"] <= 0.5
    data["run"].update(warmup_days=180, duration_days=180)
    scenario = validate_mapping(data, "short")
    log = DischargeModel(scenario, 1, 0).run()
    simulated = model_series(log, scenario, (ModelSpec("nctr", "nctr", 23.99),))["nctr"].mean()
    day = daily_series(code)["2022-04-01":"2023-03-31"]
    monthly = (day["nctr"] - day["discharged"]).resample("MS").mean()
    assert monthly.min() <= simulated <= monthly.max(), (simulated, monthly.min(), monthly.max())
