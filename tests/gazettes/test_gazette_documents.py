"""Policy-document records: every document found, its 文号, 发布机构 and dates as printed."""

from __future__ import annotations

from datetime import date

import pytest

from citybrain.errors import Invalid
from citybrain.gazettes import TABLES
from citybrain.gazettes.documents import gazette_documents, issuer_of


def docs() -> list[dict[str, object]]:
    return TABLES["policy_documents"].rows()


def doc(number: str, source_file: str | None = None) -> dict[str, object]:
    found = [
        d for d in docs() if d["document_number"] == number and (source_file is None or d["source_file"] == source_file)
    ]
    assert len(found) == 1, (number, len(found))
    return found[0]


def test_every_document_is_found() -> None:
    assert len(gazette_documents("changzhou-gazette-2021-01")) == 5
    assert len(gazette_documents("liyang-gazette-2023-01")) == 33
    by_file: dict[object, int] = {}
    for d in docs():
        by_file[d["source_file"]] = by_file.get(d["source_file"], 0) + 1
    assert by_file == {
        "changzhou-gazette-2021-01.txt": 5,
        "liyang-gazette-2023-01.txt": 33,
        "changzhou-bigdata-plan-2021.txt": 1,
        "changzhou-smart-city-plan-14th.txt": 1,
        "changzhou-digital-government-2022.txt": 1,
    }


def test_every_document_has_number_issuer_title_and_signature_date() -> None:
    for d in docs():
        assert d["document_number"] and d["issuer"] and d["title"], d
        assert isinstance(d["created_date"], date), d["document_number"]


@pytest.mark.parametrize(
    ("number", "issuer"),
    [
        ("常政发〔2021〕6号", "常州市人民政府"),
        ("常政规〔2020〕4号", "常州市人民政府"),
        ("常州市人民政府令第13号", "常州市人民政府"),
        ("常政发〔2022〕82号", "常州市人民政府"),
        ("常政办发〔2021〕104号", "常州市人民政府办公室"),
        ("溧政发〔2023〕8号", "溧阳市人民政府"),
        ("溧政办发〔2023〕16号", "溧阳市人民政府办公室"),
        ("溧政干〔2023〕3号", "溧阳市人民政府"),
        ("溧政规〔2023〕1号", "溧阳市人民政府"),
    ],
)
def test_issuer_from_number_prefix(number: str, issuer: str) -> None:
    assert doc(number)["issuer"] == issuer


def test_unknown_prefix_is_refused() -> None:
    with pytest.raises(Invalid):
        issuer_of("苏政发〔2022〕44号")


def test_web_copy_carries_open_government_metadata() -> None:
    d = doc("常政办发〔2021〕6号", "changzhou-bigdata-plan-2021.txt")
    assert d["index_number"] == "014109429/2021-00022"
    assert d["disclosure_category"] == "市政府及办公室文件"
    assert d["disclosure_mode"] == "主动公开"
    assert d["issuer"] == "常州市人民政府办公室"
    assert (d["created_date"], d["published_date"]) == (date(2021, 1, 11), date(2021, 1, 25))
    assert (d["repeal_date"], d["validity"]) == (None, "有效")
    assert d["summary"] == "市政府办公室关于印发《常州市大数据发展三年行动计划(2021-2023年)》的通知"
    # the gazette copy of the same document states none of the web-only fields
    g = doc("常政办发〔2021〕6号", "changzhou-gazette-2021-01.txt")
    assert g["index_number"] is None and g["published_date"] is None
    assert g["created_date"] == date(2021, 1, 11)
    assert g["gazette"] == "常州市人民政府公报 2021年第1期"


def test_dates_as_printed() -> None:
    decree = doc("常州市人民政府令第13号")
    assert decree["title"] == "常州市人民政府关于加强户外广告设施设置管理的决定"
    assert (decree["created_date"], decree["effective_date"]) == (date(2020, 12, 18), date(2021, 2, 1))
    assert decree["disclosure_mode"] is None  # a 政府令 carries no "此件公开发布" marker
    rules = doc("溧政规〔2023〕1号")
    assert (rules["created_date"], rules["effective_date"], rules["repeal_date"]) == (
        date(2023, 1, 20),
        date(2023, 3, 1),
        date(2028, 3, 1),
    )
    assert doc("溧政办发〔2023〕16号")["created_date"] == date(2023, 3, 23)
    assert doc("常政发〔2022〕82号")["created_date"] == date(2022, 9, 26)
    assert doc("常政办发〔2021〕104号")["created_date"] == date(2021, 11, 9)
    # a 转发 notice: the validity clause belongs to the forwarded provincial document
    forwarded = doc("溧政办发〔2023〕7号")
    assert forwarded["effective_date"] is None and forwarded["repeal_date"] is None


def test_titles_are_tidied_and_offsets_point_at_the_number() -> None:
    d = doc("溧政发〔2023〕8号")
    assert d["title"] == "市政府关于批转市自然资源和规划局《溧阳市2023年度国有建设用地供应计划》的通知"
    assert d["offset"] == 24388
    assert doc("溧政办发〔2023〕4号")["offset"] == 73255
    assert doc("常政办发〔2021〕104号")["title"] == "市政府办公室关于印发《常州市“十四五”智慧城市建设规划》的通知"
