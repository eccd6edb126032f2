"""The 常州 division tree: shape, codes and lookups."""

from __future__ import annotations

from collections import Counter

import pytest

from citybrain.errors import Invalid, NotFound
from citybrain.standards import divisions
from citybrain.standards.checks import check_division_code
from citybrain.standards.divisions import Division


def test_city_and_six_districts() -> None:
    assert divisions.division("320400") == Division("320400", "常州市", "city", None)
    assert divisions.district_codes() == ["320402", "320404", "320411", "320412", "320413", "320481"]
    names = [divisions.division(code).name for code in divisions.district_codes()]
    assert names == ["天宁区", "钟楼区", "新北区", "武进区", "金坛区", "溧阳市"]
    assert all(check_division_code(code) is None for code in divisions.district_codes())


def test_codes_unique_and_prefixed_by_parent() -> None:
    items = divisions.all_divisions()
    assert len({item.code for item in items}) == len(items)
    for item in items:
        if item.level in ("street", "community"):
            assert item.parent_code is not None and item.code.startswith(item.parent_code)
            assert len(item.code) == len(item.parent_code) + 3


def test_every_level_hangs_under_the_level_above() -> None:
    parent_level = {"district": "city", "street": "district", "community": "street"}
    for item in divisions.all_divisions():
        if item.level == "city":
            continue
        assert divisions.division(item.parent_code).level == parent_level[item.level]


def test_each_street_has_three_to_six_communities() -> None:
    counts = Counter(item.parent_code for item in divisions.all_divisions() if item.level == "community")
    streets = divisions.codes("street")
    assert set(counts) == streets
    assert all(3 <= count <= 6 for count in counts.values())


def test_real_streets_of_tianning_and_liyang() -> None:
    tianning = {item.name: item.code for item in divisions.children("320402")}
    assert tianning == {
        "雕庄街道": "320402001",
        "青龙街道": "320402002",
        "茶山街道": "320402003",
        "红梅街道": "320402004",
        "天宁街道": "320402005",
        "兰陵街道": "320402006",
        "郑陆镇": "320402109",
    }
    liyang = [item.name for item in divisions.children("320481")]
    assert liyang == [
        "昆仑街道", "溧城街道", "古县街道", "埭头镇", "上黄镇", "戴埠镇",
        "天目湖镇", "别桥镇", "上兴镇", "竹箦镇", "南渡镇", "社渚镇",
    ]  # fmt: skip


def test_lookups_walk_the_tree() -> None:
    assert divisions.full_name("320481109") == "常州市溧阳市上兴镇"
    assert [item.code for item in divisions.ancestors("320402005001")] == ["320400", "320402", "320402005"]
    assert divisions.ancestors("320400") == []
    assert divisions.district_of("320481109").name == "溧阳市"
    assert divisions.district_of("320400") is None
    assert {item.name for item in divisions.children("320481109")} >= {"老河村", "分界村", "余巷村"}
    under_liyang = divisions.descendants("320481")
    assert len(under_liyang) == 12 + sum(len(divisions.children(s.code)) for s in divisions.children("320481"))
    assert [item.code for item in divisions.find("天宁街道")] == ["320402005"]


def test_unknown_code_is_not_found_and_malformed_is_invalid() -> None:
    with pytest.raises(NotFound):
        divisions.division("320499")
    with pytest.raises(NotFound):
        divisions.children("320481999")
    with pytest.raises(Invalid):
        divisions.division("32048")
    assert divisions.get_division("320499") is None


def test_level_for_code_shape() -> None:
    assert divisions.level_for_code("320400") == "city"
    assert divisions.level_for_code("320481") == "district"
    assert divisions.level_for_code("320481002") == "street"
    assert divisions.level_for_code("320481002001") == "community"
    assert divisions.level_for_code("3204810") is None


def test_bad_data_is_refused_at_load() -> None:
    raw = {
        "code": "320400",
        "name": "常州市",
        "districts": [
            {
                "code": "320481",
                "name": "溧阳市",
                "streets": [{"code": "320402001", "name": "错", "communities": {}}],
            }
        ],
    }
    with pytest.raises(ValueError, match="not prefixed"):
        divisions._build(raw)
