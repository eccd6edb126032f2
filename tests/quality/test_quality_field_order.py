"""字段先后 (field order) rules: dates, timestamps, numbers and text; JSON round trip."""

from __future__ import annotations

from datetime import date, datetime

import pyarrow as pa
import pytest

from citybrain.errors import Invalid
from citybrain.quality.engine import DuckDBBackend, run_rules
from citybrain.quality.rules import FieldOrderRule, rule_from_dict


def failed(table: pa.Table, rule: FieldOrderRule) -> tuple[int, int]:
    r = run_rules(table, [rule], backend=DuckDBBackend()).result(rule.id)
    return r.checked, r.failed


def test_dates_in_text_and_date_columns() -> None:
    rule = FieldOrderRule(id="o", first="start", second="end")
    text = pa.table(
        {
            "start": ["2024-01-01", "2024-05-01", None, "2024-02-02"],
            "end": ["2024-02-01", "2024-04-30", "2024-01-01", "2024-02-02"],
        }
    )
    assert failed(text, rule) == (3, 1)
    typed = pa.table({"start": [date(2024, 1, 2), date(2024, 1, 1)], "end": [date(2024, 1, 1), date(2024, 1, 1)]})
    assert failed(typed, rule) == (2, 1)
    strict = FieldOrderRule(id="o", first="start", second="end", allow_equal=False)
    assert failed(typed, strict) == (2, 2)


def test_numbers_and_timestamps_compare_by_value() -> None:
    rule = FieldOrderRule(id="o", first="low", second="high")
    assert failed(pa.table({"low": [1.5, 10.0], "high": [2.0, 9.0]}), rule) == (2, 1)
    stamps = pa.table(
        {
            "low": [datetime(2024, 1, 1, 9), datetime(2024, 1, 1, 9)],
            "high": [datetime(2024, 1, 1, 8), datetime(2024, 1, 1, 10)],
        }
    )
    assert failed(stamps, rule) == (2, 1)


def test_json_round_trip_and_bad_definitions() -> None:
    rule = FieldOrderRule(id="o", first="a", second="b", severity="high")
    assert rule_from_dict(rule.to_dict()) == rule
    assert rule.to_dict()["kind"] == "field_order" and rule.dimension.label == "一致性"
    with pytest.raises(Invalid, match="不能相同"):
        FieldOrderRule(id="o", first="a", second="a")
