"""Spark (local mode, no extra jars) reads the same lake versions DuckDB does."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pytest

from citybrain.lake import Lake
from citybrain.lake.spark import read_version_spark

pytestmark = [pytest.mark.spark, pytest.mark.slow]


@pytest.fixture(scope="module")
def spark() -> Iterator[object]:
    pyspark_sql = pytest.importorskip("pyspark.sql")
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    session = (
        pyspark_sql.SparkSession.builder.master("local[1]")
        .appName("citybrain-lake-test")
        .config("spark.ui.enabled", "false")
        .config("spark.driver.memory", "512m")
        .config("spark.sql.shuffle.partitions", "1")
        .config("spark.sql.session.timeZone", "UTC")
        .getOrCreate()
    )
    yield session
    session.stop()


def test_spark_reads_current_and_old_versions_like_duckdb(spark, tmp_path: Path) -> None:
    lake = Lake(tmp_path / "lake", rows_per_file=2, row_group_rows=2)
    first = pa.table(
        {
            "sfzh": ["320481199001011234", "32048119900101123X", "320481200012310021"],
            "xm": ["张三", "李四", "欧阳𠮷"],
            "csrq": [dt.date(1990, 1, 1), dt.date(1990, 1, 1), dt.date(2000, 12, 31)],
            "dj": [dt.datetime(2023, 1, 5, 8, 30, 0, 123456)] * 3,
            "rs": pa.array([1, 2, 3], pa.int64()),
        }
    )
    lake.write("gaj.hjrk", first, primary_key="sfzh")
    change = first.slice(1, 1).set_column(1, "xm", pa.array(["李四（改）"]))
    lake.write("gaj.hjrk", change, mode="merge", primary_key="sfzh")

    for version in (1, None):
        duck = sorted(lake.read("gaj.hjrk", version=version).to_pylist(), key=lambda r: r["sfzh"])
        df = read_version_spark(spark, lake, "gaj.hjrk", version=version)
        rows = sorted((r.asDict() for r in df.collect()), key=lambda r: r["sfzh"])
        assert rows == duck
        assert df.columns == ["sfzh", "xm", "csrq", "dj", "rs"]
    assert [r["xm"] for r in rows] == ["张三", "李四（改）", "欧阳𠮷"]
