"""Department file readers: CSV in three encodings, XLSX with a title row, JSON, NDJSON, Parquet."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from openpyxl import Workbook

from citybrain.errors import Invalid
from citybrain.ingest.readers import read_file

HEADER = ["公民身份号码", "姓名", "区划代码"]
ROWS = [
    ["320481199001011234", "张三", "0101"],
    ["32048119900101123X", "李四", "0102"],
    ["320481200012310021", "欧阳𠮷", "0010"],
]
CSV_TEXT = "\n".join(",".join(r) for r in [HEADER, *ROWS]) + "\n"
EXPECTED = [dict(zip(HEADER, r, strict=True)) for r in ROWS]


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030"])
def test_csv_same_content_in_each_encoding_reads_identically(tmp_path: Path, encoding: str) -> None:
    path = tmp_path / "人口.csv"
    path.write_bytes(CSV_TEXT.encode(encoding))
    result = read_file(path)
    assert result.encoding == encoding
    assert result.columns == HEADER
    assert result.header_row == 1
    table = result.read_all()
    assert table.to_pylist() == EXPECTED
    assert all(t == pa.string() for t in table.schema.types)


def test_csv_gbk_label_and_title_row_with_crlf(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    text = "2023年溧阳市人口统计表,,\r\n" + CSV_TEXT.replace("\n", "\r\n")
    path.write_bytes(text.replace("欧阳𠮷", "欧阳").encode("gbk"))
    result = read_file(path, encoding="GBK")
    assert result.encoding == "gb18030"
    assert result.header_row == 2
    rows = result.read_all().to_pylist()
    assert [r["区划代码"] for r in rows] == ["0101", "0102", "0010"]
    assert rows[2]["姓名"] == "欧阳"


def test_csv_streams_many_batches_with_quoted_newlines_and_tabs(tmp_path: Path, monkeypatch) -> None:
    import citybrain.ingest.readers as readers

    monkeypatch.setattr(readers, "CSV_BLOCK_BYTES", 256)
    lines = ["编号\t地址"] + [f'{i:05d}\t"溧阳市\n{i}号"' for i in range(500)]
    path = tmp_path / "a.tsv"
    path.write_bytes(("\n".join(lines) + "\n").encode("gb18030"))
    batches = list(read_file(path).batches)
    assert len(batches) > 10
    table = pa.Table.from_batches(batches)
    assert table.num_rows == 500
    assert table.column("编号")[7].as_py() == "00007"
    assert table.column("地址")[499].as_py() == "溧阳市\n499号"


def test_malformed_csv_names_file_line_and_problem(tmp_path: Path) -> None:
    path = tmp_path / "坏.csv"
    path.write_bytes("编号,姓名\n01,张三\n02,李四,多余\n03\n".encode("gb18030"))
    with pytest.raises(Invalid) as err:
        read_file(path).read_all()
    msg = err.value.message
    assert "坏.csv" in msg and "共有 2 行" in msg
    assert "第 3 行有 3 个单元格，比表头的 2 列多 1 个" in msg
    assert [r["line"] for r in err.value.details["rows"]] == [3, 4]


def test_csv_duplicate_header_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "d.csv"
    path.write_text("姓名,姓名\n张三,李四\n", encoding="utf-8")
    with pytest.raises(Invalid, match="第 2 列与第 1 列重名"):
        read_file(path)


def test_csv_invalid_utf8_after_the_sample_is_reported(tmp_path: Path, monkeypatch) -> None:
    import citybrain.ingest.readers as readers

    monkeypatch.setattr(readers, "SAMPLE_BYTES", 8)
    path = tmp_path / "u.csv"
    path.write_bytes(b"a,b\n1,2\n3,4\n" + b"\xff\xfe,x\n")
    with pytest.raises(Invalid, match=r"u\.csv"):
        read_file(path).read_all()


def test_xlsx_title_row_skipped_and_codes_kept(tmp_path: Path) -> None:
    wb = Workbook()
    ws = wb.active
    ws.title = "封面"
    ws["A1"] = "说明"
    data = wb.create_sheet("人口")
    data.append(["2023年溧阳市户籍人口统计表"])
    data.merge_cells("A1:D1")
    data.append(["填报单位：溧阳市公安局", None, None, "2023-01-05"])
    data.append([*HEADER, "出生日期"])
    data.append([*ROWS[0], None])
    data.append(["32048119900101123X", "李四", 102, None])
    data["C5"].number_format = "0000"
    import datetime as dt

    data["D4"] = dt.datetime(1990, 1, 1)
    data.append([])
    path = tmp_path / "人口.xlsx"
    wb.save(path)

    result = read_file(path, sheet="人口")
    assert result.header_row == 3
    assert result.columns == [*HEADER, "出生日期"]
    assert result.read_all().to_pylist() == [
        {"公民身份号码": "320481199001011234", "姓名": "张三", "区划代码": "0101", "出生日期": "1990-01-01"},
        {"公民身份号码": "32048119900101123X", "姓名": "李四", "区划代码": "0102", "出生日期": None},
    ]
    with pytest.raises(Invalid, match="没有名为“户籍”的工作表"):
        read_file(path, sheet="户籍")


def test_xlsx_row_wider_than_header_is_refused(tmp_path: Path) -> None:
    wb = Workbook()
    ws = wb.active
    ws.append(["编号", "姓名"])
    ws.append(["01", "张三", "多余"])
    path = tmp_path / "w.xlsx"
    wb.save(path)
    with pytest.raises(Invalid, match=r"w\.xlsx 第 2 行：有 3 个单元格，比表头的 2 列多"):
        read_file(path).read_all()


def test_json_array_and_object_with_list(tmp_path: Path) -> None:
    records = [{"编号": "01", "人数": 3, "有效": True}, {"编号": "02", "备注": {"a": 1}}]
    plain = tmp_path / "a.json"
    plain.write_text(json.dumps(records, ensure_ascii=False), encoding="utf-8")
    wrapped = tmp_path / "b.json"
    wrapped.write_text(json.dumps({"code": 0, "data": {"list": records}}), encoding="gb18030")
    for path in (plain, wrapped):
        result = read_file(path)
        assert result.columns == ["编号", "人数", "有效", "备注"]
        assert result.read_all().to_pylist() == [
            {"编号": "01", "人数": "3", "有效": "true", "备注": None},
            {"编号": "02", "人数": None, "有效": None, "备注": '{"a": 1}'},
        ]
    assert read_file(wrapped).encoding == "utf-8"  # ASCII-escaped JSON is valid UTF-8


def test_ndjson_late_keys_and_bad_line(tmp_path: Path) -> None:
    path = tmp_path / "e.ndjson"
    path.write_text('{"编号": "01"}\n\n{"编号": "02", "姓名": "李四"}\n', encoding="utf-8")
    result = read_file(path)
    assert result.format == "ndjson"
    assert result.read_all().to_pylist() == [{"编号": "01", "姓名": None}, {"编号": "02", "姓名": "李四"}]
    path.write_text('{"编号": "01"}\n{"编号": \n', encoding="utf-8")
    with pytest.raises(Invalid, match=r"e\.ndjson 第 2 行：JSON 格式错误"):
        read_file(path)


def test_parquet_passes_through_typed(tmp_path: Path) -> None:
    path = tmp_path / "p.parquet"
    pq.write_table(pa.table({"n": [1, 2], "s": ["甲", "乙"]}), path)
    result = read_file(path)
    assert result.format == "parquet"
    assert result.read_all().to_pydict() == {"n": [1, 2], "s": ["甲", "乙"]}


def test_unknown_format_and_missing_file(tmp_path: Path) -> None:
    (tmp_path / "x.doc").write_bytes(b"x")
    with pytest.raises(Invalid, match="无法识别的文件格式"):
        read_file(tmp_path / "x.doc")
    with pytest.raises(Invalid, match="文件不存在"):
        read_file(tmp_path / "none.csv")


def test_csv_with_gb18030_bom_and_title_row(tmp_path: Path) -> None:
    path = tmp_path / "bom.csv"
    path.write_bytes(b"\x84\x31\x95\x33" + ("标题\n" + CSV_TEXT).encode("gb18030"))
    result = read_file(path)
    assert (result.encoding, result.header_row, result.columns) == ("gb18030", 2, HEADER)
    assert result.read_all().to_pylist() == EXPECTED
