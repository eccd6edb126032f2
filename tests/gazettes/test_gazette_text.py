"""Shipped texts and the shared cell parsing."""

from __future__ import annotations

import pytest

from citybrain.errors import Invalid
from citybrain.gazettes.extract import SOURCES, between, number, read_text, split_unit, tidy


@pytest.mark.parametrize(
    ("source", "chars"),
    [
        ("changzhou-gazette-2021-01", 22854),
        ("liyang-gazette-2023-01", 205253),
    ],
)
def test_shipped_texts_decode_to_the_documented_length(source: str, chars: int) -> None:
    assert len(read_text(source)) == chars


def test_every_source_is_shipped() -> None:
    for source in SOURCES:
        assert read_text(source)


def test_unknown_source_is_refused() -> None:
    with pytest.raises(Invalid):
        read_text("nanjing-gazette")


def test_tidy_removes_conversion_spaces_next_to_chinese_only() -> None:
    assert tidy("溧阳市 2023 年度国有建设用地") == "溧阳市2023年度国有建设用地"
    assert tidy("湾 溪 河 西 区") == "湾溪河西区"
    assert tidy("  Real  Estate ") == "Real Estate"


def test_split_unit() -> None:
    assert split_unit("数据资源共享率（%）") == ("数据资源共享率", "%", None)
    assert split_unit("企业上云规模(家)") == ("企业上云规模", "家", None)
    assert split_unit("公共停车场（库）系统联网率（%）") == ("公共停车场（库）系统联网率", "%", None)
    assert split_unit("无单位指标") == ("无单位指标", None, None)


def test_number_reads_open_values_as_none_and_refuses_text() -> None:
    assert number("76.7", field="2020年") == pytest.approx(76.7)
    assert number("—", field="2020年") is None
    with pytest.raises(Invalid) as caught:
        number("约80", field="2020年")
    assert caught.value.details["field"] == "2020年"


def test_missing_marker_is_an_error_not_an_empty_table() -> None:
    with pytest.raises(Invalid):
        between("正文", "附表9", "附图", what="交通干线表")
