"""The words of an optimise answer: a service label mid-sentence is lower-cased, unless it
starts with a place of the scenario."""

from __future__ import annotations

from d2asim.report.optimise_report import variable_words
from d2asim.scenario.loader import load_scenario, scenario_to_dict


def test_service_labels_are_lower_case_mid_sentence_but_place_names_keep_their_capital() -> None:
    single = scenario_to_dict(load_scenario("scenarios/baseline.yaml"))
    assert variable_words("services.p2.capacity", 40, single) == (
        "40 beds of bedded intermediate care / community rehabilitation (P2)")
    system = scenario_to_dict(load_scenario("scenarios/ncl/baseline.yaml"))
    assert variable_words("services.haringey_reablement.capacity", 70, system).endswith(
        " of Haringey reablement (P1)")
    assert variable_words("services.intermediate_care_beds.capacity", 80, system) == (
        "80 beds of bedded intermediate care shared by Haringey and Islington (P2)")
