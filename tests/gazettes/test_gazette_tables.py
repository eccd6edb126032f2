"""The gazette datasets: counts, hand-checked values against the printed text, schema and types."""

from __future__ import annotations

import re
from datetime import date
from importlib import resources

import pyarrow as pa
import pytest

from citybrain.errors import Invalid, NotFound
from citybrain.gazettes import TABLES, Field, GazetteTable, as_arrow, get_table

ROW_COUNTS = {
    "cz_smart_city_indicators": 36,
    "cz_key_projects": 31,
    "cz_legislative_plan_2021": 31,
    "ly_smart_city_indicators": 33,
    "ly_land_supply_parcels_2023": 70,
    "ly_traffic_arterials": 166,
    "ly_noise_limits": 5,
    "ly_ponding_points": 24,
    "policy_documents": 41,
}
PY_TYPES = {"int": int, "float": float, "str": str, "date": date, "bool": bool}


def by(key: str, **match: object) -> dict[str, object]:
    found = [r for r in TABLES[key].rows() if all(r[k] == v for k, v in match.items())]
    assert len(found) == 1, (key, match, len(found))
    return found[0]


def test_registry_lists_every_table() -> None:
    assert set(TABLES) == set(ROW_COUNTS)


@pytest.mark.parametrize(("key", "count"), sorted(ROW_COUNTS.items()))
def test_row_count(key: str, count: int) -> None:
    assert len(TABLES[key].rows()) == count


@pytest.mark.parametrize("key", sorted(ROW_COUNTS))
def test_values_have_declared_types_and_unique_keys(key: str) -> None:
    table = TABLES[key]
    rows = table.rows()
    for row in rows:
        assert list(row) == [f.name for f in table.fields]
        for f in table.fields:
            value = row[f.name]
            if value is None:
                assert f.nullable, (key, f.name)
            else:
                assert type(value) is PY_TYPES[f.type], (key, f.name, value)
    assert len({tuple(r[k] for k in table.primary_key) for r in rows}) == len(rows)


@pytest.mark.parametrize("key", sorted(ROW_COUNTS))
def test_table_metadata_is_complete(key: str) -> None:
    table = TABLES[key]
    assert re.fullmatch(r"[a-z0-9_]+", table.key)
    assert re.search(r"[\u4e00-\u9fff]", table.title) and table.title_en.isascii()
    assert table.source_department.endswith(("人民政府", "人民政府办公室"))
    assert table.department_code.startswith("市")
    assert re.search(r"〔\d{4}〕\d+号", table.document_number)
    texts = resources.files("citybrain.gazettes").joinpath("texts")
    for name in table.source_file.split(", "):
        assert texts.joinpath(name).is_file()
    for f in table.fields:
        assert re.fullmatch(r"[a-z][a-z0-9_]*", f.name), f.name
        assert re.search(r"[\u4e00-\u9fff]", f.title), f.title
    assert set(table.primary_key) <= {f.name for f in table.fields}


def test_source_departments_follow_the_issuing_document() -> None:
    assert TABLES["cz_key_projects"].source_department == "常州市人民政府办公室"
    assert TABLES["cz_legislative_plan_2021"].source_department == "常州市人民政府"
    assert TABLES["cz_legislative_plan_2021"].department_code == "市司法局"
    assert TABLES["ly_land_supply_parcels_2023"].department_code == "市自然资源和规划局"
    assert TABLES["ly_noise_limits"].document_number == "溧政发〔2023〕3号"
    assert TABLES["ly_ponding_points"].source_department == "溧阳市人民政府办公室"


# --- 常州 -----------------------------------------------------------------------------------


def test_cz_indicators_values_units_and_carried_down_cells() -> None:
    row = by("cz_smart_city_indicators", indicator="公共信息资源社会开放率")
    assert (row["domain"], row["unit"], row["target_2023"], row["target_2025"]) == ("城市大脑", "%", 60, 80)
    assert row["responsible_unit"] == "市大数据管理中心"
    # 责任单位 is a merged cell: printed on 固定宽带家庭普及率 only
    assert by("cz_smart_city_indicators", indicator="移动互联网用户普及率")["responsible_unit"] == "市工信局"
    grids = by("cz_smart_city_indicators", indicator="多网格融合数")
    assert (grids["unit"], grids["target_2023"], grids["target_2025"]) == ("个", 4, 5)
    cloud = by("cz_smart_city_indicators", indicator="企业上云规模")
    assert (cloud["unit"], cloud["target_2025"]) == ("家", 15000)
    offline = by("cz_smart_city_indicators", indicator="“不见面办事”政务服务事项比例")
    assert offline["note"].startswith("除法律、法规另有规定")
    assert by("cz_smart_city_indicators", indicator="数字经济在GDP占比")["responsible_unit"] == "市发改委"


def test_cz_key_projects_named_as_printed() -> None:
    assert by("cz_key_projects", seq=6)["project_name"] == "城市运行管理平台"
    brain = by("cz_key_projects", seq=4)
    assert brain["project_name"] == "常州数据中心"
    assert brain["task_group"] == "二、数据为擎，打造先进的城市大脑智能系统"
    assert brain["construction_type"] == "续建、新建"
    assert (brain["start_year"], brain["end_year"]) == (2021, 2023)
    research = by("cz_key_projects", seq=26)
    assert (research["project_name"], research["period"], research["start_year"]) == (
        "政产学研创新体系",
        "2022-2023年",
        2022,
    )
    security = by("cz_key_projects", seq=31)
    assert security["period"] == "持续开展" and security["start_year"] is None
    assert security["responsible_units"] == "市委网信办、市工信局、市大数据管理中心"
    # "2021-2023 年" (conversion space) is read like "2021-2023年"
    assert by("cz_key_projects", seq=1)["period"] == "2021-2023年"


def test_cz_legislative_plan_items() -> None:
    crane = by("cz_legislative_plan_2021", name="常州市起重机械安全管理办法")
    assert (crane["lead_units"], crane["submission"], crane["due_month"]) == ("市市场监管局", "8月底前", 8)
    assert (crane["part"], crane["category"]) == ("第一部分 政府规章项目", "正式项目")
    dogs = by("cz_legislative_plan_2021", name="常州市养犬管理条例")
    assert (dogs["lead_units"], dogs["submission"], dogs["due_month"]) == ("市公安局", "已报送", None)
    lifts = by("cz_legislative_plan_2021", name="常州市既有住宅加装电梯实施办法")
    assert (lifts["plan"], lifts["lead_units"], lifts["due_month"]) == (
        "常州市人民政府2021年度行政规范性文件计划",
        "市住建局",
        3,
    )
    # printed under a level-2 heading, unlike its sibling categories
    rivers = by("cz_legislative_plan_2021", name="常州市河道管理条例")
    assert (rivers["part"], rivers["category"]) == ("第二部分 地方性法规项目", "调研项目")
    rented = by("cz_legislative_plan_2021", name="常州市出租房屋安全管理条例")
    assert rented["lead_units"] == "市公安局、市住建局、市消防救援支队"
    water = by("cz_legislative_plan_2021", name="《常州市节约用水管理办法》(常政规〔2012〕11号)")
    assert water["reviewed_document"] == "常政规〔2012〕11号"
    plans = [r["plan"] for r in TABLES["cz_legislative_plan_2021"].rows()]
    assert plans.count("常州市人民政府2021年度立法计划") == 18
    assert plans.count("常州市人民政府2021年度行政规范性文件计划") == 13


# --- 溧阳 -----------------------------------------------------------------------------------


def test_ly_indicators() -> None:
    opening = by("ly_smart_city_indicators", indicator="公共信息资源社会开放率")
    assert (opening["value_2020"], opening["target_2025"], opening["domain"]) == (40, 90, "城市大脑")
    parking = by("ly_smart_city_indicators", indicator="公共停车场（库）系统联网率")
    assert (parking["value_2020"], parking["target_2025"]) == (20, 90)
    retail = by("ly_smart_city_indicators", indicator="网络零售额占社会消费品零售总额占比")
    assert retail["value_2020"] == pytest.approx(22.3)
    # printed "—"
    assert by("ly_smart_city_indicators", indicator="医保电子凭证覆盖率")["value_2020"] is None
    assert by("ly_smart_city_indicators", indicator="星级上云企业数量")["unit"] == "家"


def test_ly_land_parcels_rows_and_stated_total_disagree_by_one_mu() -> None:
    table = get_table("ly_land_supply_parcels_2023")
    rows = table.rows()
    assert sum(r["area_mu"] for r in rows) == 4576
    assert table.metadata["stated_total_mu"] == 4575
    tea = by("ly_land_supply_parcels_2023", seq=22)
    assert tea["parcel_name"] == "溧阳市滨河路南侧、勤业路东侧剩余地块（含茶亭里商业街）"
    assert (tea["subdistrict"], tea["planned_use"], tea["area_mu"], tea["remark"]) == (
        "古县街道",
        "商住用地",
        216,
        "安置房",
    )
    assert by("ly_land_supply_parcels_2023", seq=2)["parcel_name"] == "溧阳市燕山新区25#地块"
    assert by("ly_land_supply_parcels_2023", seq=2)["remark"] is None
    assert by("ly_land_supply_parcels_2023", seq=56)["area_mu"] == 3
    assert by("ly_land_supply_parcels_2023", seq=70)["subdistrict"] == "竹箦镇"


def test_ly_traffic_arterials() -> None:
    jwq = by("ly_traffic_arterials", seq=9)
    assert (jwq["road_name"], jwq["start"], jwq["end"]) == ("焦尾琴大道", "溧竹线大道", "明珠大道")
    assert by("ly_traffic_arterials", seq=4)["road_class"] == "城市主干道"  # printed "城市 主干道"
    assert by("ly_traffic_arterials", seq=2)["road_class"] == "高速公路"  # merged cell, carried down
    assert by("ly_traffic_arterials", seq=57)["road_class"] == "城市次干道"
    assert by("ly_traffic_arterials", seq=118)["road_class"] == "城市支路"
    rail = by("ly_traffic_arterials", seq=166)
    assert (rail["road_class"], rail["road_name"], rail["start"], rail["end"]) == (
        "铁路",
        "宁杭城际铁路",
        "扬溧高速公路",
        "南山大道",
    )
    classes = {r["road_class"] for r in TABLES["ly_traffic_arterials"].rows()}
    assert classes == {"高速公路", "城市主干道", "城市次干道", "城市支路", "等级航道", "铁路"}


def test_ly_noise_limits_fill_the_missing_4a_night_value_from_gb_3096() -> None:
    limits = {r["zone_class"]: (r["day_limit_db"], r["night_limit_db"]) for r in TABLES["ly_noise_limits"].rows()}
    assert limits == {"1类": (55, 45), "2类": (60, 50), "3类": (65, 55), "4a类": (70, 55), "4b类": (70, 60)}
    notes = {r["zone_class"]: r["source_note"] for r in TABLES["ly_noise_limits"].rows()}
    assert "GB 3096-2008" in notes["4a类"] and "缺失" in notes["4a类"]
    assert all("缺失" not in note for zone, note in notes.items() if zone != "4a类")


def test_ly_ponding_points() -> None:
    range_row = by("ly_ponding_points", drainage_zone="湾溪河西区", seq=4)
    assert range_row["road"] == "平陵西路（团结路—杨树路）"
    assert (range_row["depth_min_m"], range_row["depth_max_m"]) == (0.3, 0.6)
    mall = by("ly_ponding_points", drainage_zone="燕山片区", seq=5)
    assert (mall["road"], mall["community"], mall["subdistrict"], mall["depth_max_m"]) == (
        None,
        "吾悦首府(南区)",
        "溧城",
        0.4,
    )
    assert by("ly_ponding_points", drainage_zone="湾溪河西区", seq=2)["subdistrict"] is None
    two_roads = by("ly_ponding_points", drainage_zone="老城区", seq=2)["road"]
    assert two_roads == "锦绣路（文化公园东侧）；锦绣路（台港路交汇处）"
    rows = TABLES["ly_ponding_points"].rows()
    assert list(dict.fromkeys(r["drainage_zone"] for r in rows)) == [
        "老城区",
        "湾溪河西区",
        "燕山片区",
        "南航片区",
        "生命康原",
    ]
    assert all(r["area_hm2"] is None for r in rows)


# --- registry behaviour ---------------------------------------------------------------------


def test_as_arrow_keeps_schema_titles_and_metadata() -> None:
    table = as_arrow("ly_land_supply_parcels_2023")
    assert table.num_rows == 70
    assert table.schema.field("area_mu").type == pa.float64()
    assert table.schema.field("area_mu").metadata == {b"title": "出让面积".encode(), b"unit": "亩".encode()}
    assert table.schema.metadata[b"document_number"] == "溧政发〔2023〕8号".encode()
    assert table.schema.metadata[b"stated_total_mu"] == b"4575.0"
    assert pa.compute.sum(table["area_mu"]).as_py() == 4576
    docs = as_arrow("policy_documents")
    assert docs.schema.field("created_date").type == pa.date32()


def test_unknown_table_is_not_found() -> None:
    with pytest.raises(NotFound):
        as_arrow("no_such_table")


def test_rows_are_copies_of_the_cache() -> None:
    first = TABLES["ly_noise_limits"].rows()
    first[0]["day_limit_db"] = 0
    assert TABLES["ly_noise_limits"].rows()[0]["day_limit_db"] == 55


def test_a_row_that_breaks_the_schema_is_refused() -> None:
    bad = GazetteTable(
        key="bad",
        title="坏表",
        title_en="bad",
        source_department="溧阳市人民政府",
        department_code="市政府办",
        document_number="溧政发〔2023〕3号",
        source_file="liyang-gazette-2023-01.txt",
        fields=[Field("seq", "序号", "int", nullable=False)],
        primary_key=("seq",),
        loader=lambda: [{"seq": "1"}, {"seq": None}],
    )
    with pytest.raises(Invalid) as caught:
        bad.rows()
    assert {p["row"] for p in caught.value.details} == {0, 1}
