"""脱敏策略: defaults per data element and level, and what a grant may lift."""

from __future__ import annotations

import pyarrow as pa
import pytest

from citybrain.errors import Invalid
from citybrain.masking import FieldInfo, MaskSpec, apply_mask, effective_plan

FIELDS = [
    FieldInfo("xm", 3, "person_name"),
    FieldInfo("sfzh", 3, "citizen_id"),
    FieldInfo("sjhm", 2, "mobile"),  # mislabelled 内部: personal information is never below 敏感
    FieldInfo("jzdz", 3, "address"),
    FieldInfo("csrq", 3, "birth_date"),
    FieldInfo("bz", 3),  # no data element: keep first and last character
    FieldInfo("jbxx", 4, "person_name"),  # 高敏感: suppressed whatever the element
    FieldInfo("jgmc", 1),
    FieldInfo("tyshxydm", 2, "uscc"),  # 统一社会信用代码 of an organisation is public: level 2 shown
]


def test_default_plan() -> None:
    plan = effective_plan(FIELDS, set())
    assert {name: spec.to_dict() for name, spec in plan.items()} == {
        "xm": {"method": "name", "params": {}},
        "sfzh": {"method": "mask", "params": {"keep_first": 6, "keep_last": 4}},
        "sjhm": {"method": "mask", "params": {"keep_first": 3, "keep_last": 4}},
        "jzdz": {"method": "address", "params": {}},
        "csrq": {"method": "date", "params": {"granularity": "month"}},
        "bz": {"method": "mask", "params": {"keep_first": 1, "keep_last": 1}},
        "jbxx": {"method": "suppress", "params": {}},
    }


def test_grant_lifts_only_the_fields_it_names() -> None:
    plan = effective_plan(FIELDS, {"sfzh", "jbxx"})
    assert "sfzh" not in plan and "jbxx" not in plan
    assert plan["xm"] == MaskSpec("name")


def test_grant_may_name_a_masking_instead() -> None:
    plan = effective_plan(FIELDS, set(), overrides={"jbxx": MaskSpec("name"), "sfzh": MaskSpec("pseudonym")})
    assert plan["jbxx"] == MaskSpec("name")
    assert plan["sfzh"] == MaskSpec("pseudonym")


def test_grant_naming_unknown_field_fails() -> None:
    with pytest.raises(Invalid, match="nosuch"):
        effective_plan(FIELDS, {"nosuch"})


def test_level_out_of_range_names_field() -> None:
    with pytest.raises(Invalid, match="xm"):
        FieldInfo("xm", 5)


def test_default_plan_end_to_end() -> None:
    table = pa.table(
        {
            "xm": ["欧阳修文", "张三"],
            "sfzh": ["320402199005171234", None],
            "sjhm": ["13812341234", "13900001111"],
            "jzdz": ["江苏省常州市天宁区青龙街道龙锦路1号", "溧阳市天目湖镇8号"],
            "csrq": ["1990-05-17", "2001-01-31"],
            "bz": ["备注内容", "无"],
            "jbxx": ["乙肝", None],
            "jgmc": ["常州市数据局", "x"],
            "tyshxydm": ["92320402MA1XXXXX3X", "11320400014123456X"],
        }
    )
    out = apply_mask(table, effective_plan(FIELDS, set())).to_pydict()
    assert out == {
        "xm": ["欧阳**", "张*"],
        "sfzh": ["320402********1234", None],
        "sjhm": ["138****1234", "139****1111"],
        "jzdz": ["江苏省常州市天宁区青龙街道", "溧阳市天目湖镇"],
        "csrq": ["1990-05", "2001-01"],
        "bz": ["备**容", "*"],
        "jbxx": [None, None],
        "jgmc": ["常州市数据局", "x"],
        "tyshxydm": ["92320402MA1XXXXX3X", "11320400014123456X"],
    }


def test_uscc_of_individual_masked_when_sensitive() -> None:
    plan = effective_plan([FieldInfo("dm", 3, "uscc")], set())
    out = apply_mask(pa.table({"dm": ["92320402MA1XXXXX3X", "91320000134789123X"]}), plan)
    assert out.column("dm").to_pylist() == ["92320402**********", "91320000134789123X"]
