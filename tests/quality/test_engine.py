"""run_rules on DuckDB: counts, samples, failing keys, lookups, 比对 and 及时性."""

from __future__ import annotations

from datetime import UTC, datetime

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from tests.quality.conftest import make_id

from citybrain.errors import Invalid
from citybrain.quality.engine import FailingRow, failing_keys, run_rules
from citybrain.quality.rules import (
    CheckDigitRule,
    CodeListRule,
    CompareRule,
    CompletenessRule,
    PhoneRule,
    ReferentialRule,
    TimelinessRule,
    UniquenessRule,
    standard_population_rules,
)

FEMALE = "11010519491231002X"
MALE = make_id("320481", "19900102", "013")
DIVISIONS = ["110105", "320481", "320402"]

PEOPLE = pa.table(
    {
        "rid": ["r1", "r2", "r3", "r4", "r5", "r6"],
        "citizen_id": [FEMALE, FEMALE.lower(), MALE[:-1] + ("0" if MALE[-1] != "0" else "1"), None, MALE, MALE],
        "name": ["张三", "李四", " ", "王五", None, "赵六"],
        "sex": ["2", "2", "1", "1", "2", "1"],
        "birth_date": ["1949-12-31", "1949-12-30", "1990-01-02", "1990-01-01", "1990-01-02", "1990-01-02"],
        "division_code": ["110105", "999999", None, "320481", "320402", "320481"],
        "phone": ["13812345678", "12345678901", "13912345678", None, "0519-86681234", "1381234567"],
        "address": ["北京市西城区", "溧阳市", "常州市", "溧阳市", "", "天宁区"],
    }
)


def run(duck, **kwargs):
    kwargs.setdefault("refs", {"GB/T 2260": DIVISIONS})
    return run_rules(PEOPLE, standard_population_rules(), backend=duck, key="rid", **kwargs)


def test_counts_per_rule(duck) -> None:
    result = run(duck)
    assert result.rows == 6
    assert [r.rule_id for r in result.results] == sorted(r.rule_id for r in result.results)
    assert result.counts() == {
        "address_present": (6, 1),
        "birth_date_present": (6, 0),
        "citizen_id_present": (6, 1),
        "division_code_valid": (5, 1),
        # r2: birth date differs; r5: field says 女, 17th digit is odd; r3 has a wrong check digit but agrees
        "id_birth_sex_agree": (5, 2),
        "id_check_digit": (5, 1),
        "id_unique": (5, 2),
        "name_present": (6, 2),
        "phone_valid": (5, 3),
        "sex_present": (6, 0),
    }


def test_samples_name_key_column_and_value(duck) -> None:
    result = run(duck)
    assert result.result("division_code_valid").samples == (
        FailingRow(rule_id="division_code_valid", key="r2", column="division_code", value="999999"),
    )
    agree = result.result("id_birth_sex_agree").samples
    assert [s.key for s in agree] == ["r2", "r5"]
    assert agree[1].related == (("birth_date", "1990-01-02"), ("sex", "2"))
    assert [s.key for s in result.result("id_unique").samples] == ["r5", "r6"]


def test_sample_size_caps_samples_not_counts(duck) -> None:
    result = run(duck, sample_size=1)
    phone = result.result("phone_valid")
    assert phone.failed == 3
    assert [s.key for s in phone.samples] == ["r2"]  # first by key
    assert all(not r.samples for r in run(duck, sample_size=0).results)
    with pytest.raises(Invalid):
        run(duck, sample_size=-1)


def test_failing_keys_returns_all(duck) -> None:
    rule = PhoneRule(id="phone_valid", column="phone")
    assert failing_keys(PEOPLE, rule, backend=duck, key="rid") == ["r2", "r5", "r6"]
    codes = CodeListRule(id="div", column="division_code", code_list="GB/T 2260")
    assert failing_keys(PEOPLE, codes, backend=duck, key="rid", refs={"GB/T 2260": DIVISIONS}) == ["r2"]


def test_row_numbers_when_no_key(duck) -> None:
    result = run_rules(PEOPLE, [CompletenessRule(id="n", column="name")], backend=duck)
    assert [s.key for s in result.result("n").samples] == ["3", "5"]


def test_parquet_input_and_code_list_table(duck, tmp_path) -> None:
    path = tmp_path / "people.parquet"
    pq.write_table(PEOPLE, path)
    codes = tmp_path / "divisions.parquet"
    pq.write_table(pa.table({"code": DIVISIONS, "name": ["西城区", "溧阳市", "天宁区"]}), codes)
    result = run_rules(path, standard_population_rules(), backend=duck, key="rid", refs={"GB/T 2260": codes})
    assert result.counts() == run(duck).counts()


def test_large_code_list_is_joined(duck) -> None:
    many = [f"{i:06d}" for i in range(300_000, 400_000)]  # holds 320481 and 320402
    rule = CodeListRule(id="div", column="division_code", values=tuple(many[:3]))
    assert run_rules(PEOPLE, [rule], backend=duck).result("div").failed == 5
    named = CodeListRule(id="div", column="division_code", code_list="all")
    assert run_rules(PEOPLE, [named], backend=duck, refs={"all": [*many, "110105", "999999"]}).result("div").failed == 0


def test_referential_anti_join_with_samples(duck) -> None:
    base = pa.table({"citizen_id": [FEMALE, MALE]})
    rule = ReferentialRule(id="in_base", column="citizen_id", ref_table="人口库", ref_column="citizen_id")
    result = run_rules(PEOPLE, [rule], backend=duck, key="rid", refs={"人口库": base}).result("in_base")
    # r2 (lower-case x is a different string) and r3 are not in the base library; r4 is null, skipped
    assert (result.checked, result.failed) == (5, 2)
    assert [(s.key, s.value) for s in result.samples] == [
        ("r2", FEMALE.lower()),
        ("r3", PEOPLE["citizen_id"][2].as_py()),
    ]


def test_compare_two_sources_names_both_values(duck) -> None:
    left = pa.table({"id": ["a", "b", "c", "d"], "name": ["张三", "李四", "王五", None], "phone": ["1", "2", "3", "4"]})
    right = pa.table({"pid": ["a", "b", "c", "e"], "name": ["张三", "李思", "王五", "x"], "tel": ["1", "2", "9", "5"]})
    rule = CompareRule(id="vs_police", key="id", compare=("name", "phone"), other="公安", other_key="pid",
                       other_compare=("name", "tel"))  # fmt: skip
    result = run_rules(left, [rule], backend=duck, refs={"公安": right}).result("vs_police")
    # 3 matched entities × 2 fields = 6 pairs; d's name is null and d/e do not match
    assert (result.checked, result.failed) == (6, 2)
    assert result.samples == (
        FailingRow("vs_police", "b", "name", "李四", (("公安.name", "李思"),)),
        FailingRow("vs_police", "c", "phone", "3", (("公安.tel", "9"),)),
    )
    assert failing_keys(left, rule, backend=duck, refs={"公安": right}) == ["b", "c"]


def test_timeliness_is_judged_per_resource(duck) -> None:
    rule = TimelinessRule(id="fresh", frequency="daily")
    last = datetime(2026, 1, 1, tzinfo=UTC)
    stale = run_rules(PEOPLE, [rule], backend=duck, last_loaded_at=last, now=datetime(2026, 1, 3, tzinfo=UTC))
    assert stale.rows == 6
    assert stale.counts() == {"fresh": (1, 1)}
    assert "逾期" in stale.result("fresh").note
    fresh = run_rules(PEOPLE, [rule], backend=duck, last_loaded_at=last, now=datetime(2026, 1, 1, 12, tzinfo=UTC))
    assert fresh.counts() == {"fresh": (1, 0)}
    assert run_rules(PEOPLE, [rule], backend=duck).results == ()


def test_missing_columns_and_refs_are_reported(duck) -> None:
    with pytest.raises(Invalid, match="身份证号"):
        run_rules(PEOPLE, [CheckDigitRule(id="x", column="身份证号", scheme="citizen_id")], backend=duck)
    with pytest.raises(Invalid, match="GB/T 2260"):
        run_rules(PEOPLE, standard_population_rules(), backend=duck)
    with pytest.raises(Invalid, match="重复"):
        run_rules(PEOPLE, [UniquenessRule(id="u", key="rid"), UniquenessRule(id="u", key="name")], backend=duck)
