"""Encoding detection (UTF-8, UTF-8 BOM, GB18030/GBK) and the streaming transcoder."""

from __future__ import annotations

import io

import pytest

from citybrain.errors import Invalid
from citybrain.ingest.encoding import TranscodingReader, detect_encoding, normalize_encoding

TEXT = "公民身份号码,姓名,住址\n320481199001011234,张三,溧阳市溧城镇燕山路1号\n"


@pytest.mark.parametrize(
    ("encoding", "expected"),
    [("utf-8", "utf-8"), ("utf-8-sig", "utf-8-sig"), ("gb18030", "gb18030"), ("gbk", "gb18030")],
)
def test_detects_each_encoding_of_the_same_chinese_text(encoding: str, expected: str) -> None:
    assert detect_encoding(TEXT.encode(encoding), truncated=False) == expected


def test_utf8_sample_cut_inside_a_character_is_still_utf8() -> None:
    data = TEXT.encode("utf-8")
    cut = data.index("张".encode()) + 1  # one byte into a three-byte character
    assert detect_encoding(data[:cut], truncated=True) == "utf-8"


def test_subset_labels_read_as_gb18030() -> None:
    assert normalize_encoding("GBK") == "gb18030"
    assert normalize_encoding("gb2312") == "gb18030"
    with pytest.raises(Invalid, match="不支持的字符编码"):
        normalize_encoding("no-such-codec")


def test_transcoder_streams_gb18030_as_utf8_in_small_chunks() -> None:
    # 𠮷 is outside GBK: only GB18030's four-byte form encodes it.
    text = "姓名\n𠮷祥\n" * 1000
    reader = TranscodingReader(io.BytesIO(text.encode("gb18030")), "gb18030", name="x.csv", chunk_size=7)
    out = b""
    while chunk := reader.read(5):
        out += chunk
    assert out.decode("utf-8") == text


def test_transcoder_names_the_line_of_a_bad_byte() -> None:
    data = "a\nb\n".encode("gb18030") + b"\xff\n"
    reader = TranscodingReader(io.BytesIO(data), "gb18030", name="人口.csv")
    with pytest.raises(Invalid, match=r"人口\.csv 第 3 行") as err:
        reader.read()
    assert err.value.details["line"] == 3


def test_damaged_file_is_refused_with_its_line_not_guessed() -> None:
    data = "编号,姓名\n01,张三\n".encode("gb18030") + b"02,\xff\xff\xff\n"
    with pytest.raises(Invalid, match="第 3 行起既不是 UTF-8 也不是 GB18030") as err:
        detect_encoding(data, truncated=False)
    assert err.value.details["line"] == 3
