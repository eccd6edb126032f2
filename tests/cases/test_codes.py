"""GB/T 47678.5-2026 code book, 部件标识码 and 事项代码."""

from __future__ import annotations

import re

import pytest

from citybrain.cases.codes import (
    ComponentId,
    load_codes,
    make_component_id,
    make_matter_code,
    parse_component_id,
    parse_matter_code,
)
from citybrain.errors import Invalid


@pytest.fixture(scope="module")
def book():
    return load_codes()


def test_counts_match_the_standard(book) -> None:
    assert book.edition == "GB/T 47678.5-2026"
    assert len(book.parts()) == 153
    assert len(book.items()) == 250
    assert len(book) == 403


def test_default_edition_is_the_current_one(book) -> None:
    assert load_codes("GB/T 47678.5-2026") is book


def test_unknown_edition_is_refused() -> None:
    with pytest.raises(Invalid) as err:
        load_codes("GB/T 30428.2-2013")
    assert err.value.details["field"] == "edition"


@pytest.mark.parametrize(
    ("kind", "code", "name", "major_name"),
    [
        ("事项", "01037", "路灯异常", "市政公用设施类"),
        ("部件", "01037", "路灯", "市政公用设施"),
        ("事项", "06042", "垃圾站（箱）满溢", "市容环境类"),
        ("事项", "06010", "暴露垃圾", "市容环境类"),
        ("事项", "06011", "积存垃圾渣土", "市容环境类"),
        ("事项", "09005", "店外经营", "街面秩序类"),
        ("事项", "09006", "占道经营", "街面秩序类"),
        ("事项", "08016", "无证建设", "施工管理类"),
        ("事项", "10002", "架空线缆脱落", "其他事项类"),
        ("部件", "01001", "供水井盖", "市政公用设施"),
        ("部件", "04001", "古树名木", "园林绿化设施"),
        ("部件", "05009", "文物古迹", "其他管理部件"),
    ],
)
def test_known_codes(book, kind: str, code: str, name: str, major_name: str) -> None:
    entry = book.get(kind, code)
    assert (entry.name, entry.major_name, entry.major, entry.minor) == (name, major_name, code[:2], code[2:])
    assert entry.key == (kind, code, "GB/T 47678.5-2026")


def test_parts_and_items_share_the_code_space(book) -> None:
    assert book.get("部件", "01001").name == "供水井盖"
    assert book.get("事项", "01001").name == "供水井盖异常"
    assert book.part_for(book.get("事项", "01037")) == book.get("部件", "01037")
    assert book.part_for(book.get("事项", "06042")) is None


def test_every_code_is_well_formed(book) -> None:
    for entry in book:
        assert re.fullmatch(r"\d{5}", entry.code)
        assert book.majors(entry.kind)[entry.major] == entry.major_name
    # 部件 大类 01–05 only; 事项 add 06–10.
    assert sorted({e.major for e in book.parts()}) == ["01", "02", "03", "04", "05"]
    assert sorted({e.major for e in book.items()}) == [f"{i:02d}" for i in range(1, 11)]


@pytest.mark.parametrize(
    ("kind", "code", "field"),
    [("事项", "06031", "code"), ("部件", "06042", "code"), ("事项", "6042", "code"), ("案件", "06042", "kind")],
)
def test_unknown_codes_are_refused(book, kind: str, code: str, field: str) -> None:
    with pytest.raises(Invalid) as err:
        book.get(kind, code)
    assert err.value.details["field"] == field
    assert book.find(kind, code) is None


def test_legacy_alias(book) -> None:
    part = book.by_alias("0101")
    assert (part.kind, part.code, part.name) == ("部件", "01001", "供水井盖")
    alias = part.legacy[0]
    assert (alias.standard, alias.name, alias.verified) == ("CJ/T 214-2007", "上水井盖", True)
    assert book.by_alias("0104").name == "雨水箅子"
    with pytest.raises(Invalid):
        book.by_alias("0699")


def test_component_id_round_trip(book) -> None:
    made = make_component_id("320402", "01037", 15)
    assert made == "32040201037000015"
    parsed = parse_component_id(made)
    assert parsed == ComponentId("320402", "01", "037", "000015")
    assert str(parsed) == made
    assert book.get("部件", parsed.class_code).name == "路灯"


def test_legacy_component_id_is_recognised_and_upgraded() -> None:
    parsed = parse_component_id("3205080101000001")
    assert parsed.legacy
    assert (parsed.division, parsed.class_code, parsed.sequence) == ("320508", "0101", "000001")
    assert str(parsed.upgraded()) == "32050801001000001"


@pytest.mark.parametrize(
    "value",
    [
        "320402010370000150",  # 18 digits
        "3204020103700",  # too short
        "32040206042000001",  # 06042 is a 事项, not a 部件
        "00000001037000015",  # no 行政区划代码
        "3204020103700001X",
        "３２０４０２０１０３７０００００１",  # full-width digits
    ],
)
def test_bad_component_ids_are_refused(value: str) -> None:
    with pytest.raises(Invalid) as err:
        parse_component_id(value)
    assert err.value.details["field"] in {"component_id", "code"}


def test_legacy_id_without_a_known_mapping_cannot_be_upgraded() -> None:
    parsed = parse_component_id("3204020699000001")
    assert parsed.legacy and parsed.class_code == "0699"
    with pytest.raises(Invalid) as err:
        parsed.upgraded()
    assert err.value.details["field"] == "legacy_code"


def test_make_component_id_checks_its_parts() -> None:
    with pytest.raises(Invalid):
        make_component_id("320402", "06042", 1)
    with pytest.raises(Invalid):
        make_component_id("320402", "01037", 0)
    with pytest.raises(Invalid):
        make_component_id("32040", "01037", 1)


def test_matter_code_round_trip() -> None:
    made = make_matter_code("320481", "06042")
    assert made == "32048106042"
    parsed = parse_matter_code(made)
    assert (parsed.division, parsed.code, str(parsed)) == ("320481", "06042", made)
    with pytest.raises(Invalid):
        parse_matter_code("32048105001")  # 05001 is not in the list
    with pytest.raises(Invalid):
        parse_matter_code("3204810604")
