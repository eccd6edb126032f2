"""Fast reads for the sharing APIs: one DuckDB instance per process, and a key index per lake version.

Opening a DuckDB connection costs tens of milliseconds, more than a whole lookup should; every access
call therefore takes a cursor (microseconds) on one in-memory instance that lives as long as the
process, with Parquet metadata cached between calls.

Lookup by key would still scan the key column of every file: 27 ms at 100,000 rows, a few hundred
at 10 million. The **key index** is a SQLite database beside the lake —
``home/share/lookup/{resource}/v000001.sqlite`` — holding the version's rows and a column ``__key``
(the primary key values as text, the form the API compares them in) with a unique B-tree index on
it, so a lookup reads one row. SQLite rather than DuckDB because a point query is what it is built
for: tens of microseconds, where DuckDB plans and runs each query in about a millisecond.

Every value is kept as DuckDB's own text form of it (``CAST(… AS VARCHAR)``): the grant's row scope
compares exactly that text on a scan, so the scope SQL (:func:`citybrain.share.access._where`) runs on
the index unchanged (``starts_with`` is registered as a function) and means the same; the answer is
cast back to the version's Arrow schema, stored in the index. Versions holding a type whose text form
Arrow cannot read back (times, lists, structs, binary) get no index and are scanned.

Lake versions never change once published, so an index never goes stale; it is built once per
version of more than :data:`INDEX_MIN_ROWS` rows (for the current version, on its first lookup, in
the background while lookups keep scanning Parquet; or ahead with :func:`prepare_lookup` /
``citybrain share index``), written to a temporary file and renamed into place, and the index of an
older version is removed when the current one is ready. Only lookups use it, and only for what the index
holds; grant scope, masking and audit are applied to its answer exactly as to a scan's.
"""

from __future__ import annotations

import fcntl
import functools
import logging
import os
import sqlite3
import threading
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from citybrain.lake.store import Lake, VersionInfo
from citybrain.settings import Settings

log = logging.getLogger("citybrain.share")

#: below this many rows a Parquet scan answers a lookup in about 2 ms, as much as the rest of the call:
#: no index is worth its file. Above it the scan grows with the rows — a DuckDB point query over one
#: version took 2.3 ms at 1,000 rows, 6.9 ms at 10,000 and 27 ms at 100,000 (2 CPUs) — where the
#: index answers in tens of microseconds and costs about 6 µs a row to build, once per version
INDEX_MIN_ROWS = 1_000
#: the text form of a composite key: values joined with a separator no code or ID contains
KEY_SEPARATOR = "\x1f"
KEY_COLUMN = "__key"
_INDEX_NAME = "__key_idx"
#: rows per batch while an index is written: Python tuples for this many rows at a time
_BUILD_BATCH_ROWS = 50_000

_lock = threading.Lock()
_instance: duckdb.DuckDBPyConnection | None = None
_indexes: dict[Path, KeyIndex] = {}
_building: set[Path] = set()
#: versions found to hold a column the index cannot keep exactly: always scanned
_unindexable: set[Path] = set()
_lakes: dict[Path, Lake] = {}  # by the lake directory, resolved
_lakes_by_home: dict[Path, Lake] = {}  # by an absolute CITYBRAIN_HOME


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
    found = _lakes_by_home.get(settings.home)  # a dict read is atomic; resolving the path costs syscalls
    if found is not None:
        return found
    named = Path(settings.lake_dir)
    root = named.resolve()
    with _lock:
        found = _lakes.get(root)
        if found is None:
            found = _lakes[root] = Lake(root)
        if named.is_absolute():  # a relative name means another directory after a chdir
            _lakes_by_home[settings.home] = found
        return found


def key_text(columns: list[str]) -> str:
    """SQL for the key's text form: each value as VARCHAR (as the API's equality filters compare)."""
    parts = [f'CAST("{c.replace(chr(34), chr(34) * 2)}" AS VARCHAR)' for c in columns]
    return parts[0] if len(parts) == 1 else f"concat_ws('{KEY_SEPARATOR}', {', '.join(parts)})"


def key_value(values: list[str]) -> str:
    return KEY_SEPARATOR.join(values)


def _index_dir(settings: Settings, resource_key: str) -> Path:
    return _index_file(settings.home, resource_key, 0).parent


def index_path(settings: Settings, resource_key: str, version: int) -> Path:
    return _index_file(settings.home, resource_key, version)


@functools.lru_cache(maxsize=4096)
def _index_file(home: Path, resource_key: str, version: int) -> Path:
    # asked on every lookup: joining paths costs more than the cache
    return home / "share" / "lookup" / resource_key / f"v{version:06d}.sqlite"


class IndexClosed(RuntimeError):
    """The index was closed (a newer version's replaced it) between finding it and reading it."""


class KeyIndex:
    """One version's key index, open read-only and shared by the process's threads."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._con = sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False)
        self._con.create_function("starts_with", 2, _starts_with, deterministic=True)
        # one connection, many threads: each query with its fetch is one turn (tens of microseconds)
        self._turn = threading.Lock()
        self._closed = False
        blob = self._con.execute("SELECT schema FROM __schema").fetchone()[0]
        self.schema: pa.Schema = pa.ipc.read_schema(pa.py_buffer(blob))

    def rows(self, columns: list[str], scope: str, params: list[Any], key: str) -> list[dict[str, Any]]:
        """The rows whose key is ``key`` and that satisfy the ``scope`` SQL, their values in the version's
        types (as ``to_pylist`` of the version's Arrow rows gives them)."""
        names = ", ".join(_quote(c) for c in columns)
        query = f"SELECT {names} FROM t WHERE {KEY_COLUMN} = ? AND ({scope})"
        with self._turn:
            if self._closed:
                raise IndexClosed(self.path.name)
            found = self._con.execute(query, [key, *params]).fetchall()
        if not found:
            return []
        # text columns are taken as they are; only the others are cast back from their text form
        values: dict[str, list[Any]] = {}
        for i, c in enumerate(columns):
            text = [row[i] for row in found]
            kind = self.schema.field(c).type
            values[c] = text if kind == pa.string() else _from_text(text, kind)
        return [{c: values[c][n] for c in columns} for n in range(len(found))]

    def close(self) -> None:
        with self._turn:
            self._closed = True
            self._con.close()


#: Python parsers that give exactly what Arrow's cast gives for DuckDB's text form of the type, a
#: few rows several times faster; anything they refuse (a year past 9999, BC dates) goes to Arrow
_PARSERS: dict[pa.DataType, Any] = {pa.date32(): date.fromisoformat, pa.int64(): int, pa.int32(): int}


def _from_text(text: list[str | None], kind: pa.DataType) -> list[Any]:
    parse = _PARSERS.get(kind)
    if parse is not None:
        try:
            return [None if t is None else parse(t) for t in text]
        except ValueError:
            pass
    return pa.array(text, pa.string()).cast(kind).to_pylist()


def _starts_with(value: str | None, prefix: str | None) -> bool | None:
    return None if value is None or prefix is None else value.startswith(prefix)


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _indexable(schema: pa.Schema) -> bool:
    """Whether every column's DuckDB text form casts back to its Arrow type exactly."""
    return all(
        pa.types.is_boolean(t)
        or pa.types.is_integer(t)
        or pa.types.is_floating(t)
        or pa.types.is_decimal(t)
        or pa.types.is_string(t)
        or pa.types.is_large_string(t)
        or pa.types.is_date(t)
        or pa.types.is_timestamp(t)
        for t in schema.types
    )


def key_index(settings: Settings, info: VersionInfo, pk: list[str]) -> KeyIndex | None:
    """The version's key index, or None when there is none (yet): the caller scans.

    For the current version of a large resource a missing index starts being built in the background."""
    if not pk or info.rows < INDEX_MIN_ROWS:
        return None
    path = index_path(settings, info.resource_key, info.version)
    with _lock:
        found = _indexes.get(path)
        if found is not None or path in _unindexable:
            return found
    if path.is_file():
        try:
            opened = KeyIndex(path)
        except (sqlite3.Error, pa.ArrowException):
            log.exception("could not open a key index", extra={"path": str(path)})
            return None
        with _lock:
            kept = _indexes.setdefault(path, opened)
        if kept is not opened:
            opened.close()
        return kept
    current = lake(settings).current(info.resource_key)
    if current is not None and current.version == info.version:
        _build_in_background(settings, info, pk)
    return None


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
    """Build the version's key index; returns its path, or None when the version cannot have one (a
    type without an exact text form) or, unless ``wait``, another thread or process is building it."""
    path = index_path(settings, info.resource_key, info.version)
    if path.is_file():
        # another thread may have just renamed it into place and not yet removed the older ones
        _remove_older(settings, info)
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.parent / ".lock", "a+") as lock:
        try:
            fcntl.flock(lock.fileno(), fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            return None
        try:
            if path.is_file():
                _remove_older(settings, info)
                return path
            files = [str(p) for p in lake(settings).files(info.resource_key, info.version)]
            source = cursor()
            try:
                relation = source.sql("SELECT * FROM read_parquet(?)", params=[files])
                schema = relation.limit(0).to_arrow_table().schema
                if not _indexable(schema):
                    log.info(
                        "no key index: a column type has no exact text form", extra={"resource": info.resource_key}
                    )
                    with _lock:
                        _unindexable.add(path)
                    return None
                tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
                tmp.unlink(missing_ok=True)
                texts = ", ".join(f"CAST({_quote(c)} AS VARCHAR)" for c in schema.names)
                query = f"SELECT {key_text(pk)}, {texts} FROM read_parquet(?)"
                reader = source.sql(query, params=[files]).to_arrow_reader(_BUILD_BATCH_ROWS)
                try:
                    _write_index(tmp, schema, reader)
                except BaseException:
                    tmp.unlink(missing_ok=True)
                    raise
            finally:
                source.close()
            os.replace(tmp, path)
            _remove_older(settings, info)
            return path
        finally:
            fcntl.flock(lock.fileno(), fcntl.LOCK_UN)


def _write_index(tmp: Path, schema: pa.Schema, reader: pa.RecordBatchReader) -> None:
    con = sqlite3.connect(tmp)
    try:
        # a temporary file renamed into place only once complete: no journal needed while writing it
        con.execute("PRAGMA journal_mode=OFF")
        con.execute("PRAGMA synchronous=OFF")
        columns = ", ".join(_quote(c) for c in schema.names)
        con.execute(f"CREATE TABLE t ({KEY_COLUMN}, {columns})")
        insert = f"INSERT INTO t VALUES ({', '.join('?' for _ in range(len(schema) + 1))})"
        for batch in reader:
            con.executemany(insert, zip(*(col.to_pylist() for col in batch.columns), strict=True))
        # the lake checked the key is unique when it wrote the version; UNIQUE re-checks it
        con.execute(f"CREATE UNIQUE INDEX {_INDEX_NAME} ON t ({KEY_COLUMN})")
        con.execute("CREATE TABLE __schema (schema BLOB)")
        con.execute("INSERT INTO __schema VALUES (?)", [schema.serialize().to_pybytes()])
        con.commit()
    finally:
        con.close()


def _remove_older(settings: Settings, info: VersionInfo) -> None:
    for old in _index_dir(settings, info.resource_key).glob("v*.*"):
        try:
            number = int(old.stem[1:])
        except ValueError:
            continue
        # earlier versions' indexes, and any left in the DuckDB form this module wrote before
        if number < info.version or old.suffix != ".sqlite":
            with _lock:
                found = _indexes.pop(old, None)
            if found is not None:
                found.close()
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
        for index in _indexes.values():
            index.close()
        _indexes.clear()
        _unindexable.clear()
        _lakes.clear()
        if _instance is not None:
            _instance.close()
            _instance = None
