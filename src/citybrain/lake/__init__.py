"""Data lake (数据湖): versioned, atomic Parquet snapshots of aggregated resources."""

from citybrain.lake.store import Lake, Verification, VersionInfo

__all__ = ["Lake", "Verification", "VersionInfo"]
