"""Code lists: contents checked against the printed standards, and the lookups."""

from __future__ import annotations

import pytest

from citybrain.errors import Invalid
from citybrain.standards.codelists import (
    ETHNICITY,
    SEX,
    USCC_ORG_CATEGORIES,
    USCC_REGISTRATION_DEPARTMENTS,
    code_list,
    uscc_category_name,
)


def test_sex_codes_gb_t_2261_1() -> None:
    assert dict(SEX.entries) == {"0": "未知的性别", "1": "男", "2": "女", "9": "未说明的性别"}
    assert SEX.code_of("女") == "2"
    assert SEX.code_of("男性") == "1"


def test_ethnicity_has_56_groups_plus_97_and_98() -> None:
    assert len(ETHNICITY) == 58
    assert ETHNICITY.codes()[:3] == ["01", "02", "03"]
    assert [ETHNICITY.name_of(code) for code in ("01", "11", "36", "46", "56")] == [
        "汉族",
        "满族",
        "毛南族",
        "德昂族",
        "基诺族",
    ]
    assert ETHNICITY.name_of("97") == "其他"
    assert ETHNICITY.name_of("98") == "外国血统中国籍人士"
    assert all(name.endswith("族") for code, name in ETHNICITY.entries.items() if code <= "56")


@pytest.mark.parametrize(("name", "code"), [("汉族", "01"), ("汉", "01"), ("毛难族", "36"), ("崩龙族", "46")])
def test_ethnicity_lookup_by_name_and_alias(name: str, code: str) -> None:
    assert ETHNICITY.code_of(name) == code


def test_unknown_code_and_name_raise_invalid_naming_the_list() -> None:
    with pytest.raises(Invalid) as caught:
        ETHNICITY.name_of("57")
    assert "民族" in caught.value.message and "GB/T 3304" in caught.value.message
    with pytest.raises(Invalid):
        SEX.code_of("中")
    assert ETHNICITY.get_name("57") is None
    assert ETHNICITY.get_code("火星族") is None


def test_code_lists_cannot_be_edited_in_place() -> None:
    with pytest.raises(TypeError):
        SEX.entries["3"] = "其他"  # type: ignore[index]


def test_uscc_department_and_category_table() -> None:
    assert "".join(USCC_REGISTRATION_DEPARTMENTS.codes()) == "123456789ANY"
    assert USCC_ORG_CATEGORIES["1"].codes() == ["1", "2", "3", "9"]
    assert USCC_ORG_CATEGORIES["5"].codes() == ["1", "2", "3", "9"]
    assert USCC_ORG_CATEGORIES["9"].codes() == ["1", "2", "3"]
    assert USCC_ORG_CATEGORIES["Y"].codes() == ["1"]
    assert uscc_category_name("1", "3") == "中央编办直接管理机构编制的群众团体"
    assert uscc_category_name("9", "2") == "个体工商户"
    assert uscc_category_name("9", "9") is None
    assert uscc_category_name("Z", "1") is None
    assert USCC_REGISTRATION_DEPARTMENTS.code_of("市场监管") == "9"


def test_code_list_by_key() -> None:
    assert code_list("ethnicity") is ETHNICITY
    with pytest.raises(Invalid):
        code_list("blood_type")
