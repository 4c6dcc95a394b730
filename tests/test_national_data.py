"""The national extracts in ``calibration/data`` hold every trust; the RKE extracts are
exactly their RKE rows, so a config can switch between the two without changing results."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

DATA = Path(__file__).resolve().parents[1] / "calibration" / "data"


def _read(name: str) -> pd.DataFrame:
    return pd.read_csv(DATA / name, dtype=str, keep_default_na=False)


@pytest.mark.parametrize(("national", "extract", "code"), [
    ("trust_nctr_daily_2022_2025.csv.gz", "trust_nctr_daily_2022_2025_rke.csv", "nhs_trust22_code"),
    ("trust_discharged_daily_2022_2025.csv.gz", "trust_discharged_daily_2022_2025_rke.csv", "nhs_trust22_code"),
    ("trust_ga_beds_monthly_2022_2025.csv", "trust_ga_beds_monthly_2022_2025_rke.csv", "nhs_trust22_code"),
])
def test_rke_extracts_are_the_rke_rows_of_the_national_files(national: str, extract: str, code: str) -> None:
    rows = _read(national)
    mine = rows[rows[code] == "RKE"].reset_index(drop=True)
    pd.testing.assert_frame_equal(mine, _read(extract))
    assert rows[code].nunique() > 100  # every trust, not an extract


def test_pathway_file_holds_every_trust_with_name_and_region() -> None:
    rows = _read("acute_sitrep_discharges_by_pathway_monthly.csv")
    trusts = rows[rows["level"] == "trust"]
    assert trusts["org_code"].nunique() == 121
    assert (trusts["region"] != "").all() and (trusts["org_name"] != "").all()
    rke = _read("acute_sitrep_discharges_by_pathway_monthly_rke_england.csv")
    assert set(rke.columns) == set(rows.columns)


def test_population_file_has_every_council() -> None:
    rows = _read("la_adult_pop_reablement_2022_23.csv")
    councils = rows[rows["Code"].str.startswith("E")]
    assert len(councils) == 151 and councils["Code"].is_unique
    islington = councils[councils["LA_name"] == "Islington"].iloc[0]
    assert (islington["population"], islington["over_65_pop.x"]) == ("180235", "20448")  # as the London file
