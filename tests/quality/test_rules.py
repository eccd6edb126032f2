"""Each rule kind on small hand-made tables with known failures; JSON round trip."""

from __future__ import annotations

import json
from datetime import date

import pytest
from tests.quality.conftest import evaluate, make_id

from citybrain.errors import Invalid
from citybrain.quality.rules import (
    CheckDigitRule,
    CodeListRule,
    CompareRule,
    CompletenessRule,
    DateRangeRule,
    Dimension,
    IdCardConsistencyRule,
    LengthRule,
    NumericRangeRule,
    PatternRule,
    PhoneRule,
    ReferentialRule,
    Severity,
    TimelinessRule,
    UniquenessRule,
    rule_from_dict,
    rules_from_dicts,
    standard_population_rules,
)


def failed(duck, rule, data):
    return evaluate(duck, data, rule.failed)


def test_completeness_counts_null_blank_and_placeholders(duck) -> None:
    rule = CompletenessRule(id="name_present", column="name", placeholders=("无", "NULL"))
    data = {"name": ["张三", None, "", "  ", "\u3000", "\t", "无", " NULL ", "无名"]}
    assert failed(duck, rule, data) == [False, True, True, True, True, True, True, True, False]
    assert rule.dimension is Dimension.COMPLETENESS


def test_completeness_on_numbers_is_only_null(duck) -> None:
    rule = CompletenessRule(id="n", column="n")
    assert failed(duck, rule, {"n": [0, None, 3]}) == [False, True, False]


def test_uniqueness_flags_every_copy_and_skips_nulls(duck) -> None:
    rule = UniquenessRule(id="u", key=("a",))
    assert failed(duck, rule, {"a": ["x", "y", "x", None, None, "z"]}) == [True, False, True, False, False, False]
    pair = UniquenessRule(id="u2", key=("a", "b"))
    data = {"a": ["x", "x", "x"], "b": [1, 2, 1]}
    assert failed(duck, pair, data) == [True, False, True]


def test_pattern_and_length(duck) -> None:
    pattern = PatternRule(id="p", column="v", pattern=r"^[0-9]{6}$")
    assert failed(duck, pattern, {"v": ["320481", "32048", "32048a", None]}) == [False, True, True, False]
    length = LengthRule(id="l", column="v", min_length=2, max_length=4)
    # characters, not bytes: 常州市 is 3 characters (9 bytes)
    assert failed(duck, length, {"v": ["常州市", "常", "溧阳市天目湖", None]}) == [False, True, True, False]


def test_code_list_inline(duck) -> None:
    rule = CodeListRule(id="c", column="sex", values=("1", "2", "0", "9"))
    assert failed(duck, rule, {"sex": ["1", "3", None, "9"]}) == [False, True, False, False]


def test_check_digit_rule(duck) -> None:
    rule = CheckDigitRule(id="id", column="v", scheme="citizen_id")
    data = {"v": ["11010519491231002X", "11010519491231002x", "110105194912310021", "abc", None]}
    assert failed(duck, rule, data) == [False, False, True, True, False]


def test_phone(duck) -> None:
    mobile = PhoneRule(id="m", column="v")
    data = {
        "v": [
            "13812345678",
            "+86 13812345678",
            "8613812345678",
            "12812345678",
            "1381234567",
            "0519-86681234",
            None,
            "0086-13812345678",
            "86-0519-86681234",
            "86+13812345678",
        ]
    }
    assert failed(duck, mobile, data) == [False, False, False, True, True, True, False, False, True, True]
    either = PhoneRule(id="m2", column="v", allow_landline=True)
    assert failed(duck, either, data) == [False, False, False, True, True, False, False, False, False, True]


def test_date_range_on_text_and_dates(duck) -> None:
    rule = DateRangeRule(id="d", column="v", min_date="1900-01-01", max_date=date(2024, 12, 31))
    text = {"v": ["1990-05-01", "1899-12-31", "2025-01-01", "1990-02-30", "不详", None]}
    assert failed(duck, rule, text) == [False, True, True, True, True, False]
    dates = {"v": [date(1990, 5, 1), date(1800, 1, 1), None]}
    assert failed(duck, rule, dates) == [False, True, False]
    future = DateRangeRule(id="f", column="v", not_future=True)
    assert failed(duck, future, {"v": [date(2000, 1, 1), date(2999, 1, 1)]}) == [False, True]


def test_numeric_range(duck) -> None:
    rule = NumericRangeRule(id="n", column="v", min_value=0, max_value=150)
    assert failed(duck, rule, {"v": [0, 150, -1, 151, None]}) == [False, False, True, True, False]
    assert failed(duck, rule, {"v": ["12", "12.5", "abc", "-3"]}) == [False, False, True, True]


def test_id_card_birth_and_sex_agreement(duck) -> None:
    rule = IdCardConsistencyRule(id="x", id_column="id", birth_column="birth", sex_column="sex")
    female = "11010519491231002X"  # 17th digit 2 → 女
    male = make_id("320481", "19900102", "013")  # 17th digit 3 → 男
    data = {
        "id": [female, female.lower(), female, female, male, male, male, "123", female, None],
        "birth": [
            "1949-12-31",
            "19491231",
            "1949-12-30",
            "1949-12-31",
            "1990/01/02",
            "1990-01-02",
            None,
            "x",
            None,
            "1",
        ],
        "sex": ["2", "女", "2", "1", "男", "2", "9", "1", None, "1"],
    }
    assert failed(duck, rule, data) == [
        False,  # agrees
        False,  # lower-case x, compact date, 女
        True,  # birth date disagrees
        True,  # sex disagrees (even digit, field says 男)
        False,  # slashes in the date, 男
        True,  # odd digit, field says 女
        True,  # 9 未说明 disagrees with the ID; birth missing is skipped
        False,  # malformed ID is left to the check-digit rule
        False,  # both fields missing: nothing to compare
        False,  # no ID
    ]
    checked = evaluate(duck, data, rule.checked)
    assert checked == [True] * 7 + [False, False, False]


def test_id_card_birth_as_date_column(duck) -> None:
    rule = IdCardConsistencyRule(id="x", id_column="id", birth_column="birth")
    data = {"id": ["11010519491231002X", "11010519491231002X"], "birth": [date(1949, 12, 31), date(1949, 12, 1)]}
    assert failed(duck, rule, data) == [False, True]


def test_lookup_rules_need_the_engine(duck) -> None:
    rule = ReferentialRule(id="r", column="v", ref_table="people", ref_column="id")
    with pytest.raises(Invalid):
        failed(duck, rule, {"v": ["a"]})


def test_timeliness_rule() -> None:
    from datetime import datetime

    rule = TimelinessRule(id="t", frequency="每日", grace_hours=2)
    assert rule.frequency == "daily"
    last = datetime(2026, 1, 1, 8, 0)
    assert not rule.is_stale(last, datetime(2026, 1, 2, 10, 0))
    assert rule.is_stale(last, datetime(2026, 1, 2, 10, 1))
    assert rule.is_stale(None, datetime(2026, 1, 2))


ALL_KINDS = [
    CompletenessRule(id="a", column="name", placeholders=("无",), severity="high"),
    UniquenessRule(id="b", key=("id",)),
    PatternRule(id="c", column="v", pattern="^[0-9]+$", description="只含数字"),
    LengthRule(id="d", column="v", max_length=4),
    CodeListRule(id="e", column="div", code_list="GB/T 2260"),
    CodeListRule(id="e2", column="sex", values=("1", "2")),
    ReferentialRule(id="f", column="id", ref_table="人口库", ref_column="citizen_id"),
    CheckDigitRule(id="g", column="id", scheme="uscc"),
    PhoneRule(id="h", column="tel", allow_landline=True),
    DateRangeRule(id="i", column="d", min_date="1900-01-01", not_future=True),
    NumericRangeRule(id="j", column="n", min_value=0),
    IdCardConsistencyRule(id="k", id_column="id", sex_column="sex"),
    CompareRule(id="l", key=("id",), compare=("name", "phone"), other="公安"),
    TimelinessRule(id="m", frequency="monthly", dimension="及时性", severity="low"),
]


@pytest.mark.parametrize("rule", ALL_KINDS, ids=lambda r: r.kind + ":" + r.id)
def test_json_round_trip(rule) -> None:
    data = json.loads(json.dumps(rule.to_dict(), ensure_ascii=False))
    assert data["kind"] == rule.kind
    again = rule_from_dict(data)
    assert again == rule
    assert type(again) is type(rule)


def test_json_values_are_plain() -> None:
    d = DateRangeRule(id="i", column="d", min_date="1900-01-01").to_dict()
    assert d == {
        "kind": "date_range",
        "id": "i",
        "severity": "medium",
        "dimension": "accuracy",
        "description": "",
        "column": "d",
        "min_date": "1900-01-01",
        "max_date": None,
        "not_future": False,
    }
    assert rule_from_dict({"kind": "completeness", "id": "x", "column": "c", "dimension": "完整性"}).dimension is (
        Dimension.COMPLETENESS
    )


@pytest.mark.parametrize(
    ("data", "word"),
    [
        ({"kind": "nope", "id": "x"}, "kind"),
        ({"kind": "pattern", "id": "x", "column": "c", "pattern": "("}, "pattern"),
        ({"kind": "pattern", "id": "x", "column": "c", "pattern": "a", "colour": 1}, "colour"),
        ({"kind": "pattern", "id": "x", "column": "c"}, "缺少"),
        ({"kind": "completeness", "id": "a b", "column": "c"}, "id"),
        ({"kind": "completeness", "id": "x", "column": "c", "severity": "urgent"}, "severity"),
        ({"kind": "check_digit", "id": "x", "column": "c", "scheme": "isbn"}, "scheme"),
        ({"kind": "code_list", "id": "x", "column": "c"}, "code_list"),
        ({"kind": "timeliness", "id": "x", "frequency": "fortnightly"}, "frequency"),
        ({"kind": "date_range", "id": "x", "column": "c", "min_date": "2020/01/01"}, "min_date"),
    ],
)
def test_bad_definitions_are_refused_in_chinese(data, word) -> None:
    with pytest.raises(Invalid) as exc:
        rule_from_dict(data)
    assert word in exc.value.message


def test_rule_set_refuses_duplicate_ids() -> None:
    items = [r.to_dict() for r in standard_population_rules()]
    assert len(rules_from_dicts(items)) == 10
    with pytest.raises(Invalid, match="id_unique"):
        rules_from_dicts([*items, items[-1]])


def test_severity_and_dimension_defaults() -> None:
    rule = PatternRule(id="p", column="c", pattern="x")
    assert (rule.severity, rule.dimension) == (Severity.MEDIUM, Dimension.ACCURACY)
    assert IdCardConsistencyRule(id="k", id_column="i", birth_column="b").dimension is Dimension.CONSISTENCY
