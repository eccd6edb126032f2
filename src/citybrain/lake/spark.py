"""Reading lake versions with Spark (PySpark), for jobs too large for one DuckDB process.

The lake is plain Parquet, so Spark needs no extra jars: a version directory is a Parquet dataset
(Spark skips ``_version.json`` because its name starts with an underscore).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from citybrain.lake.store import Lake

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession


def read_version_spark(spark: SparkSession, lake: Lake, resource_key: str, version: int | None = None) -> DataFrame:
    """A Spark DataFrame over one version (default: current) of a resource."""
    return spark.read.parquet(*(str(p) for p in lake.files(resource_key, version)))
