"""Fast reads for the sharing APIs: one DuckDB instance per process, and a key index per lake version.

Opening a DuckDB connection costs tens of milliseconds, more than a whole lookup should; every access
call therefore takes a cursor (microseconds) on one in-memory instance that lives as long as the
process, with Parquet metadata cached between calls.

Lookup by key on a large version would still scan the key column of every file (a 10-million-row
resource: a few hundred ms). The **key index** is a DuckDB database beside the lake —
``home/share/lookup/{resource}/v000001.duckdb`` — holding the version's rows and a column ``__key``
(the primary key values as text, the form the API compares them in) with an ART index on it, so a
lookup reads one row. Lake versions never change once published, so an index never goes stale; it
is built once per version (for the current version of a resource, on its first lookup, in the
background while lookups keep scanning Parquet; or ahead with :func:`prepare_lookup`), written to a
temporary file and renamed into place, and the index of an older version is removed when the
current one is ready. Only lookups use it, and only for what the index holds; grant scope, masking
and audit are applied to its answer exactly as to a scan's.
"""

from __future__ import annotations

import fcntl
import logging
import os
import threading
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from citybrain.lake.store import Lake, VersionInfo
from citybrain.settings import Settings

log = logging.getLogger("citybrain.share")

#: below this many rows a Parquet scan answers a lookup in a few ms: no index is worth its disk
INDEX_MIN_ROWS = 200_000
#: the text form of a composite key: values joined with a separator no code or ID contains
KEY_SEPARATOR = "\x1f"
KEY_COLUMN = "__key"
_INDEX_NAME = "__key_idx"

_lock = threading.Lock()
_instance: duckdb.DuckDBPyConnection | None = None
_indexes: dict[Path, duckdb.DuckDBPyConnection] = {}
_building: set[Path] = set()
_lakes: dict[Path, Lake] = {}
_schemas: dict[tuple[Path, tuple[str, ...]], pa.Schema] = {}


def cursor() -> duckdb.DuckDBPyConnection:
    """A cursor on the process's DuckDB instance (in memory; it reads the lake's Parquet files)."""
    global _instance
    with _lock:
        if _instance is None:
            _instance = duckdb.connect()
            # footers and schemas of immutable version files are read once, not on every call
            _instance.execute("SET parquet_metadata_cache = true")
        return _instance.cursor()


def lake(settings: Settings) -> Lake:
    """One :class:`Lake` per lake directory (creating one looks for interrupted writes to clean up)."""
    root = Path(settings.lake_dir).resolve()
    with _lock:
        found = _lakes.get(root)
        if found is None:
            found = _lakes[root] = Lake(root)
        return found


def key_text(columns: list[str]) -> str:
    """SQL for the key's text form: each value as VARCHAR (as the API's equality filters compare)."""
    parts = [f'CAST("{c.replace(chr(34), chr(34) * 2)}" AS VARCHAR)' for c in columns]
    return parts[0] if len(parts) == 1 else f"concat_ws('{KEY_SEPARATOR}', {', '.join(parts)})"


def key_value(values: list[str]) -> str:
    return KEY_SEPARATOR.join(values)


def _index_dir(settings: Settings, resource_key: str) -> Path:
    return settings.home / "share" / "lookup" / resource_key


def index_path(settings: Settings, resource_key: str, version: int) -> Path:
    return _index_dir(settings, resource_key) / f"v{version:06d}.duckdb"


def index_cursor(settings: Settings, info: VersionInfo, pk: list[str]) -> duckdb.DuckDBPyConnection | None:
    """A cursor on the version's key index, or None when there is none (yet): the caller scans.

    For the current version of a large resource a missing index starts being built in the background."""
    if not pk or info.rows < INDEX_MIN_ROWS:
        return None
    path = index_path(settings, info.resource_key, info.version)
    with _lock:
        con = _indexes.get(path)
        if con is not None:
            return con.cursor()
    if path.is_file():
        try:
            con = duckdb.connect(str(path), read_only=True)
            # point reads: no parallelism to gain, only threads to wake
            con.execute("SET threads = 1")
        except duckdb.Error:
            log.exception("could not open a key index", extra={"path": str(path)})
            return None
        with _lock:
            kept = _indexes.setdefault(path, con)
        if kept is not con:
            con.close()
        return kept.cursor()
    current = lake(settings).current(info.resource_key)
    if current is not None and current.version == info.version:
        _build_in_background(settings, info, pk)
    return None


def index_schema(settings: Settings, info: VersionInfo, columns: list[str]) -> pa.Schema:
    """The Arrow schema of ``columns`` in the version's index (read once per column list)."""
    path = index_path(settings, info.resource_key, info.version)
    cache_key = (path, tuple(columns))
    with _lock:
        found = _schemas.get(cache_key)
        con = _indexes.get(path)
    if found is not None:
        return found
    if con is None:
        raise RuntimeError("key index is not open")
    names = ", ".join('"' + c.replace('"', '""') + '"' for c in columns)
    cur = con.cursor()
    try:
        schema = cur.sql(f"SELECT {names} FROM t LIMIT 0").to_arrow_table().schema
    finally:
        cur.close()
    with _lock:
        _schemas[cache_key] = schema
    return schema


def _build_in_background(settings: Settings, info: VersionInfo, pk: list[str]) -> None:
    path = index_path(settings, info.resource_key, info.version)
    with _lock:
        if path in _building:
            return
        _building.add(path)

    def work() -> None:
        try:
            build_index(settings, info, pk)
        except Exception:  # the scan keeps answering; the next lookup tries again
            log.exception("building a key index failed", extra={"resource": info.resource_key})
        finally:
            with _lock:
                _building.discard(path)

    threading.Thread(target=work, name=f"key-index-{info.resource_key}", daemon=True).start()


def build_index(settings: Settings, info: VersionInfo, pk: list[str], *, wait: bool = False) -> Path | None:
    """Build the version's key index; returns its path. If another thread or process is building one,
    wait for it (``wait``) or return None at once."""
    path = index_path(settings, info.resource_key, info.version)
    if path.is_file():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.parent / ".lock", "a+") as lock:
        try:
            fcntl.flock(lock.fileno(), fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            return None
        try:
            if path.is_file():
                return path
            tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
            tmp.unlink(missing_ok=True)
            files = [str(p) for p in lake(settings).files(info.resource_key, info.version)]
            con = duckdb.connect(str(tmp))
            try:
                con.execute(f"CREATE TABLE t AS SELECT *, {key_text(pk)} AS {KEY_COLUMN} FROM read_parquet(?)", [files])
                # the lake checked the key is unique when it wrote the version; UNIQUE re-checks it
                con.execute(f"CREATE UNIQUE INDEX {_INDEX_NAME} ON t ({KEY_COLUMN})")
                con.execute("CHECKPOINT")
            finally:
                con.close()
            os.replace(tmp, path)
            _remove_older(settings, info)
            return path
        finally:
            fcntl.flock(lock.fileno(), fcntl.LOCK_UN)


def _remove_older(settings: Settings, info: VersionInfo) -> None:
    for old in _index_dir(settings, info.resource_key).glob("v*.duckdb"):
        try:
            number = int(old.stem[1:])
        except ValueError:
            continue
        if number < info.version:
            with _lock:
                con = _indexes.pop(old, None)
                for cached in [k for k in _schemas if k[0] == old]:
                    del _schemas[cached]
            if con is not None:
                con.close()
            old.unlink(missing_ok=True)


def prepare_lookup(settings: Settings, resource_key: str) -> dict[str, Any]:
    """Build the key index of a resource's current version now (deployment, after a large load)."""
    info = lake(settings).current(resource_key)
    if info is None or not info.primary_key:
        return {"index": None}
    if info.rows < INDEX_MIN_ROWS:
        return {"index": None, "rows": info.rows}
    path = build_index(settings, info, list(info.primary_key), wait=True)
    return {"index": str(path) if path else None, "rows": info.rows, "version": info.version}


def reset() -> None:
    """Close everything this process holds (tests, and a settings change)."""
    global _instance
    with _lock:
        for con in _indexes.values():
            con.close()
        _indexes.clear()
        _lakes.clear()
        _schemas.clear()
        if _instance is not None:
            _instance.close()
            _instance = None
