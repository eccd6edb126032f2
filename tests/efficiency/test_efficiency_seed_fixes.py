"""Readings of 溧政发〔2023〕6号 fixed against the text."""

from __future__ import annotations

from efficiency_helpers import City, row

from citybrain.efficiency import Params, score_year


def test_listing_bonus_counts_only_in_the_year_it_happened(city: City, params: Params) -> None:
    # "上述四大类加分事项中，年度内同一大类中发生不同分值加分事项的就高加分": a listing is an event of its year
    city.firm("OLD", area=10, tax=50).firm("NEW", area=10, tax=50).firm("UNDATED", area=10, tax=50)
    city.listings += [
        {"uscc": "OLD", "stage": "listed", "record_id": "L1", "completed_on": "2019-06-30"},
        {"uscc": "NEW", "stage": "listed", "record_id": "L2", "completed_on": "2022-06-30"},
        {"uscc": "UNDATED", "stage": "neeq", "record_id": "L3"},
    ]
    result = score_year(city.inputs(2022), params)
    assert row(result, "OLD")["bonus"] == 0
    assert row(result, "NEW")["bonus"] == 10
    assert row(result, "UNDATED")["bonus"] == 7
