"""Lake versions: write, read, time travel, merge by key, prune, checksums, DuckDB access."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest

from citybrain.errors import Invalid, NotFound
from citybrain.lake import Lake

KEY = "gaj.hjrk"  # 公安局·户籍人口


def people(*rows: tuple[str, str]) -> pa.Table:
    return pa.table({"sfzh": [r[0] for r in rows], "xm": [r[1] for r in rows]})


def by_id(table: pa.Table) -> dict[str, str]:
    return dict(zip(table.column("sfzh").to_pylist(), table.column("xm").to_pylist(), strict=True))


@pytest.fixture
def lake(tmp_path: Path) -> Lake:
    # Tiny files and row groups so a handful of rows already spans several parts.
    return Lake(tmp_path / "lake", rows_per_file=3, row_group_rows=2)


def test_write_read_layout_and_lineage(lake: Lake) -> None:
    info = lake.write(
        KEY,
        people(("01", "张三"), ("02", "李四"), ("03", "王五"), ("04", "赵六")),
        lineage={"source": "溧阳市公安局", "who": "zhang"},
    )
    assert (info.version, info.mode, info.parent, info.rows) == (1, "full", None, 4)
    key_dir = lake.root / KEY
    assert (key_dir / "_current").read_text().strip() == "v000001"
    assert sorted(p.name for p in (key_dir / "v000001").glob("part-*.parquet")) == [
        "part-000000.parquet",
        "part-000001.parquet",
    ]
    meta = json.loads((key_dir / "v000001" / "_version.json").read_text(encoding="utf-8"))
    assert meta["rows"] == 4 and meta["lineage"]["source"] == "溧阳市公安局"
    assert [f["rows"] for f in meta["files"]] == [3, 1]
    assert info.checksum.startswith("sm3:") and len(info.checksum) == 4 + 64
    assert by_id(lake.read(KEY)) == {"01": "张三", "02": "李四", "03": "王五", "04": "赵六"}
    assert lake.read(KEY, columns=["xm"], filter_sql="sfzh >= '03'").to_pydict() == {"xm": ["王五", "赵六"]}


def test_time_travel_and_versions(lake: Lake) -> None:
    lake.write(KEY, people(("01", "张三")))
    lake.write(KEY, people(("01", "张三丰"), ("02", "李四")))
    assert [v.version for v in lake.versions(KEY)] == [1, 2]
    assert lake.current(KEY).parent == 1
    assert by_id(lake.read(KEY, version=1)) == {"01": "张三"}
    assert by_id(lake.read(KEY)) == {"01": "张三丰", "02": "李四"}
    with pytest.raises(NotFound):
        lake.read(KEY, version=3)
    assert lake.current("other") is None
    assert lake.versions("other") == []


def test_the_current_version_is_seen_as_soon_as_it_is_published(lake: Lake, tmp_path: Path) -> None:
    # the current version is remembered between reads (share calls ask on every call): never past a publish
    other = Lake(tmp_path / "lake")  # another process's view of the same lake
    lake.write(KEY, people(("01", "张三")))
    assert other.current(KEY).version == 1
    assert other.current(KEY).version == 1
    lake.write(KEY, people(("01", "张三丰")))
    assert other.current(KEY).version == 2
    assert by_id(other.read(KEY)) == {"01": "张三丰"}


def test_merge_by_primary_key_batch_wins(lake: Lake) -> None:
    lake.write(KEY, people(("01", "张三"), ("02", "李四"), ("03", "王五")), primary_key="sfzh")
    batches = iter(people(("02", "李四（改）"), ("04", "赵六")).to_batches(max_chunksize=1))
    info = lake.write(KEY, batches, mode="merge", primary_key="sfzh", lineage={"connector": "csv"})
    assert (info.mode, info.parent, info.rows) == ("merge", 1, 4)
    assert by_id(lake.read(KEY)) == {"01": "张三", "02": "李四（改）", "03": "王五", "04": "赵六"}
    assert by_id(lake.read(KEY, version=1))["02"] == "李四"  # the parent snapshot is untouched


def test_merge_refuses_duplicate_keys_and_missing_key(lake: Lake) -> None:
    lake.write(KEY, people(("01", "张三")))
    with pytest.raises(Invalid, match="主键 sfzh 有重复或空值"):
        lake.write(KEY, people(("02", "甲"), ("02", "乙")), mode="merge", primary_key="sfzh")
    with pytest.raises(Invalid, match="必须指定主键"):
        lake.write(KEY, people(("02", "甲")), mode="merge")
    with pytest.raises(Invalid, match="主键列不存在：id"):
        lake.write(KEY, people(("02", "甲")), mode="merge", primary_key="id")
    # Failed writes publish nothing and leave no temporary directory behind.
    assert [v.version for v in lake.versions(KEY)] == [1]
    assert sorted(p.name for p in (lake.root / KEY).iterdir()) == [".lock", "_current", "v000001"]


def test_merge_refuses_changed_columns(lake: Lake) -> None:
    lake.write(KEY, people(("01", "张三")))
    with pytest.raises(Invalid, match="缺少 \\['xm'\\]"):
        lake.write(KEY, pa.table({"sfzh": ["01"], "dh": ["138"]}), mode="merge", primary_key="sfzh")


def test_empty_load_keeps_schema(lake: Lake) -> None:
    schema = pa.schema([("sfzh", pa.string()), ("xm", pa.string())])
    info = lake.write(KEY, iter([]), schema=schema)
    assert info.rows == 0
    table = lake.read(KEY)
    assert table.num_rows == 0 and table.column_names == ["sfzh", "xm"]
    with pytest.raises(Invalid, match="没有数据"):
        lake.write(KEY, iter([]))


def test_prune_keeps_last_and_current(lake: Lake) -> None:
    for i in range(5):
        lake.write(KEY, people((f"{i:02d}", "x")))
    assert lake.prune(KEY, keep_last=2) == [1, 2, 3]
    assert [v.version for v in lake.versions(KEY)] == [4, 5]
    assert lake.prune(KEY, keep_last=1, keep_days=1) == []  # everything is younger than a day
    assert lake.prune(KEY, keep_last=1) == [4]
    assert lake.current(KEY).version == 5
    with pytest.raises(NotFound):
        lake.read(KEY, version=2)
    assert lake.write(KEY, people(("09", "y"))).version == 6  # numbers are never reused


def test_verify_detects_tampering(lake: Lake) -> None:
    lake.write(KEY, people(("01", "张三"), ("02", "李四"), ("03", "王五"), ("04", "赵六")))
    assert lake.verify(KEY).ok
    part = lake.root / KEY / "v000001" / "part-000001.parquet"
    data = bytearray(part.read_bytes())
    data[len(data) // 2] ^= 0xFF
    part.write_bytes(bytes(data))
    result = lake.verify(KEY, 1)
    assert not result.ok
    assert result.problems == ["part-000001.parquet：校验值不符（文件内容被改动或损坏）"]


def test_duckdb_relation_and_glob(lake: Lake) -> None:
    lake.write(KEY, people(("01", "张三"), ("02", "李四"), ("03", "王五"), ("04", "赵六")))
    lake.write(KEY, people(("05", "钱七")))
    with duckdb.connect() as con:
        assert lake.duckdb_relation(con, KEY, version=1).aggregate("count(*)").fetchall() == [(4,)]
        glob = lake.parquet_glob(KEY)
        assert con.sql(f"SELECT xm FROM read_parquet('{glob}')").fetchall() == [("钱七",)]


def test_bad_key_and_bad_filter(lake: Lake) -> None:
    with pytest.raises(Invalid, match="resource_key 不合法"):
        lake.write("../etc", people(("01", "x")))
    lake.write(KEY, people(("01", "x")))
    with pytest.raises(Invalid, match="没有这些列：nope"):
        lake.read(KEY, columns=["nope"])
    with pytest.raises(Invalid, match="查询条件无效"):
        lake.read(KEY, filter_sql="nope = 1")


def test_reopen_cleans_leftovers_of_an_interrupted_write(lake: Lake) -> None:
    lake.write(KEY, people(("01", "张三")))
    key_dir = lake.root / KEY
    (key_dir / ".tmp-v000002-dead").mkdir()
    (key_dir / ".tmp-v000002-dead" / "part-000000.parquet").write_bytes(b"PAR1 partial")
    (key_dir / "v000002").mkdir()  # renamed but never published
    Lake(lake.root)
    assert sorted(p.name for p in key_dir.iterdir()) == [".lock", "_current", "v000001"]
    assert by_id(lake.read(KEY)) == {"01": "张三"}
