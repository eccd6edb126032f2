"""Versioned, atomic, columnar storage of aggregated resources (数据湖).

Layout, plain Parquet so DuckDB, Spark and anything else read it without this module::

    {root}/{resource_key}/v000001/part-000000.parquet
    {root}/{resource_key}/v000001/_version.json      lineage: mode, parent, rows, checksum, who, source…
    {root}/{resource_key}/_current                   "v000001": the version readers see

Every load makes a new immutable version. A *merge* (incremental load keyed by primary key) also
writes a full snapshot — the parent's rows whose key is not in the batch, plus the batch — rather
than a delta. Storage grows by one snapshot per load (bounded by :meth:`Lake.prune`), but every
version reads alone, time travel is a directory name, a damaged or pruned version never breaks a
later one, and Spark/DuckDB need no merge-on-read logic. Deltas would pay off only for very large
tables with tiny daily changes, which the city's department loads are not.

Atomicity: a version is written into a hidden sibling ``.tmp-…`` directory, every file fsynced,
renamed to ``vNNNNNN`` and only then published by replacing ``_current`` (write a temp file,
``os.replace``). The commit point is that replace. A crash before it leaves ``_current`` and the
previous version untouched; leftovers (temp directories, and a renamed version ``_current`` never
pointed at) are removed the next time the lake is opened or written, under the resource's lock.

Checksums use SM3 (GB/T 32905, the national hash required by 密码应用 assessments) over the bytes
of each Parquet part; the version checksum is SM3 over the parts' names and checksums.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import json
import os
import re
import shutil
import uuid
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
from cryptography.hazmat.primitives import hashes

from citybrain.errors import Conflict, Invalid, NotFound

CURRENT = "_current"
META = "_version.json"
#: entries in each of a lake's in-memory caches (paths, version records, current versions), which every
#: lookup consults
_META_CACHE_SIZE = 4096
LOCK = ".lock"
TMP_PREFIX = ".tmp-"
_VERSION_DIR = re.compile(r"^v(\d{6})$")
# One path segment: letters (Chinese too), digits, "_", "-", "."; never hidden, never "..".
_KEY = re.compile(r"^\w[\w.\-]{0,199}$")
_HASH_CHUNK = 4 << 20

Mode = Literal["full", "merge"]


@dataclass(frozen=True)
class VersionInfo:
    """One immutable version of a resource, as recorded in its ``_version.json``."""

    resource_key: str
    version: int
    mode: str
    #: version this one was derived from (the current one when it was written), ``None`` for the first
    parent: int | None
    rows: int
    #: ``sm3:<hex>`` over the Parquet parts
    checksum: str
    #: ISO 8601, UTC
    created_at: str
    lineage: dict[str, Any] = field(default_factory=dict)
    primary_key: list[str] | None = None
    #: ``[{"name", "type"}]`` in Arrow type names
    schema: list[dict[str, str]] = field(default_factory=list)
    #: ``[{"name", "rows", "bytes", "checksum"}]``
    files: list[dict[str, Any]] = field(default_factory=list)

    @property
    def name(self) -> str:
        return _dirname(self.version)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Verification:
    """Outcome of :meth:`Lake.verify`: ``ok`` and, when not, every problem found."""

    resource_key: str
    version: int
    ok: bool
    problems: list[str]


def _dirname(version: int) -> str:
    return f"v{version:06d}"


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="microseconds")


def _sm3_file(path: Path) -> str:
    digest = hashes.Hash(hashes.SM3())
    with open(path, "rb") as fh:
        while chunk := fh.read(_HASH_CHUNK):
            digest.update(chunk)
    return digest.finalize().hex()


def _combined_checksum(files: Sequence[dict[str, Any]]) -> str:
    digest = hashes.Hash(hashes.SM3())
    for f in sorted(files, key=lambda f: f["name"]):
        digest.update(f"{f['name']}\t{f['checksum']}\n".encode())
    return "sm3:" + digest.finalize().hex()


def _fsync_path(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _sql_str(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _arrow_table(result: Any) -> pa.Table:
    # duckdb renamed fetch_arrow_table to to_arrow_table; support both sides of the rename.
    fn = getattr(result, "to_arrow_table", None) or result.fetch_arrow_table
    return fn()


def _arrow_reader(result: Any, batch_rows: int) -> pa.RecordBatchReader:
    fn = getattr(result, "to_arrow_reader", None) or result.fetch_record_batch
    return fn(batch_rows)


def _as_batches(
    data: pa.Table | pa.RecordBatchReader | Iterable[pa.RecordBatch], schema: pa.Schema | None
) -> tuple[pa.Schema, Iterator[pa.RecordBatch]]:
    """Schema and batch stream for any accepted input, without materializing an iterable."""
    if isinstance(data, pa.Table):
        return (schema or data.schema), iter(data.to_batches())
    if isinstance(data, pa.RecordBatch):
        return (schema or data.schema), iter([data])
    if isinstance(data, pa.RecordBatchReader):
        return (schema or data.schema), iter(data)
    it = iter(data)
    if schema is not None:
        return schema, it
    first = next(it, None)
    if first is None:
        raise Invalid("写入数据湖失败：没有数据，也没有给出表结构（schema）", details={"rows": 0})
    return first.schema, _chain_first(first, it)


def _chain_first(first: pa.RecordBatch, rest: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    yield first
    yield from rest


def _remember(cache: dict[Any, Any], key: Any, value: Any) -> Any:
    """``cache[key] = value``, the cache emptied first once it holds :data:`_META_CACHE_SIZE` entries."""
    if len(cache) >= _META_CACHE_SIZE:
        cache.clear()
    cache[key] = value
    return value


class Lake:
    """A directory of versioned resources. Safe for many readers and one writer per resource.

    Writers of the same resource serialize on an ``flock`` (held by the kernel, so a killed
    writer never leaves it stuck). Readers take no lock: published versions are never modified,
    only pruned.
    """

    def __init__(
        self,
        root: str | Path,
        *,
        rows_per_file: int = 2_000_000,
        row_group_rows: int = 122_880,
        compression: str = "zstd",
    ) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self.rows_per_file = rows_per_file
        # DuckDB's own row-group size: parallel scans split on row groups.
        self.row_group_rows = row_group_rows
        self.compression = compression
        self._meta_cache: dict[Path, tuple[tuple[int, int, int], VersionInfo]] = {}
        self._key_dirs: dict[str, Path] = {}
        self._current_cache: dict[Path, tuple[tuple[int, int, int], VersionInfo | None]] = {}
        self._recover_all()

    # --- paths ----------------------------------------------------------------------------------

    def _key_dir(self, resource_key: str) -> Path:
        found = self._key_dirs.get(resource_key)  # asked on every read: cheaper than checking and joining
        if found is not None:
            return found
        if not _KEY.match(resource_key) or ".." in resource_key:
            raise Invalid(
                f"资源标识 resource_key 不合法：{resource_key!r}（只能包含字母、汉字、数字、_ - .）",
                details={"field": "resource_key", "value": resource_key},
            )
        return _remember(self._key_dirs, resource_key, self.root / resource_key)

    def version_dir(self, resource_key: str, version: int | None = None) -> Path:
        """Directory of a version (default: the current one)."""
        info = self._resolve(resource_key, version)
        return self._key_dir(resource_key) / info.name

    def files(self, resource_key: str, version: int | None = None) -> list[Path]:
        """The Parquet parts of a version, in order."""
        return self.parts(self._resolve(resource_key, version))

    def parts(self, info: VersionInfo) -> list[Path]:
        """:meth:`files` of a version already resolved (no second look at the pointer)."""
        vdir = self._key_dir(info.resource_key) / info.name
        return [vdir / f["name"] for f in info.files]

    def parquet_glob(self, resource_key: str, version: int | None = None) -> str:
        """A glob over a version's parts, for ``read_parquet('…')`` in DuckDB SQL."""
        return str(self.version_dir(resource_key, version) / "part-*.parquet")

    def duckdb_relation(
        self, con: duckdb.DuckDBPyConnection, resource_key: str, version: int | None = None
    ) -> duckdb.DuckDBPyRelation:
        """A DuckDB relation over a version, for other modules to filter, join and aggregate."""
        return con.read_parquet([str(p) for p in self.files(resource_key, version)])

    # --- metadata -------------------------------------------------------------------------------

    def _current_number(self, key_dir: Path) -> int | None:
        try:
            text = (key_dir / CURRENT).read_text(encoding="utf-8").strip()
        except FileNotFoundError:
            return None
        m = _VERSION_DIR.match(text)
        if not m:
            raise Invalid(f"数据湖指针文件损坏：{key_dir.name}/{CURRENT}", details={"content": text[:100]})
        return int(m.group(1))

    def _load_meta(self, resource_key: str, vdir: Path) -> VersionInfo:
        path = vdir / META
        # a version's record is written once, before it is published, so a record already read is
        # reused while the file is the same one (a version number reused after a prune is a new file)
        stat = path.stat()
        stamp = (stat.st_ino, stat.st_mtime_ns, stat.st_size)
        cached = self._meta_cache.get(path)
        if cached is not None and cached[0] == stamp:
            return cached[1]
        raw = json.loads(path.read_text(encoding="utf-8"))
        raw.pop("format", None)
        raw["resource_key"] = resource_key
        info = VersionInfo(**raw)
        _remember(self._meta_cache, path, (stamp, info))
        return info

    def _numbers(self, key_dir: Path) -> list[int]:
        if not key_dir.is_dir():
            return []
        return sorted(int(m.group(1)) for p in key_dir.iterdir() if (m := _VERSION_DIR.match(p.name)))

    def current(self, resource_key: str) -> VersionInfo | None:
        """The published version, or ``None`` if the resource was never loaded."""
        key_dir = self._key_dir(resource_key)
        # asked on every share call: while the pointer is the same file (publishing replaces it with a
        # new one), it points at the same version, whose record never changes: one stat, no reads
        try:
            stat = os.stat(os.path.join(key_dir, CURRENT))
        except FileNotFoundError:
            return None
        stamp = (stat.st_ino, stat.st_mtime_ns, stat.st_size)
        cached = self._current_cache.get(key_dir)
        if cached is not None and cached[0] == stamp:
            return cached[1]
        number = self._current_number(key_dir)
        info = None if number is None else self._load_meta(resource_key, key_dir / _dirname(number))
        _remember(self._current_cache, key_dir, (stamp, info))
        return info

    def version(self, resource_key: str, version: int) -> VersionInfo:
        """One version's record; :class:`NotFound` if it does not exist (or was pruned)."""
        return self._resolve(resource_key, version)

    def versions(self, resource_key: str) -> list[VersionInfo]:
        """Published versions, oldest first (a version renamed but never published is not one)."""
        key_dir = self._key_dir(resource_key)
        current = self._current_number(key_dir)
        if current is None:
            return []
        return [self._load_meta(resource_key, key_dir / _dirname(n)) for n in self._numbers(key_dir) if n <= current]

    def _resolve(self, resource_key: str, version: int | None) -> VersionInfo:
        key_dir = self._key_dir(resource_key)
        current = self._current_number(key_dir)
        if current is None:
            raise NotFound(f"数据湖中没有资源 {resource_key} 的数据", details={"resource_key": resource_key})
        number = current if version is None else version
        vdir = key_dir / _dirname(number)
        if number > current or not (vdir / META).is_file():
            raise NotFound(
                f"资源 {resource_key} 没有版本 {number}（可能已被清理）",
                details={"resource_key": resource_key, "version": number},
            )
        return self._load_meta(resource_key, vdir)

    # --- reading --------------------------------------------------------------------------------

    def read(
        self,
        resource_key: str,
        version: int | None = None,
        columns: Sequence[str] | None = None,
        filter_sql: str | None = None,
    ) -> pa.Table:
        """Rows of a version (default: current) as an Arrow table, through DuckDB.

        ``filter_sql`` is a DuckDB boolean expression over the columns (trusted callers only: it
        is SQL, not a value); ``columns`` must name existing columns.
        """
        info = self._resolve(resource_key, version)
        known = [c["name"] for c in info.schema]
        if columns is not None:
            unknown = [c for c in columns if c not in known]
            if unknown:
                raise Invalid(
                    f"资源 {resource_key} 没有这些列：{'、'.join(unknown)}",
                    details={"field": "columns", "unknown": unknown},
                )
        select = ", ".join(_ident(c) for c in columns) if columns else "*"
        files = ", ".join(_sql_str(str(p)) for p in self.files(resource_key, info.version))
        sql = f"SELECT {select} FROM read_parquet([{files}])"
        if filter_sql:
            sql += f" WHERE {filter_sql}"
        with duckdb.connect() as con:
            try:
                return _arrow_table(con.sql(sql))
            except duckdb.Error as exc:
                raise Invalid(f"数据湖查询条件无效：{exc}", details={"filter_sql": filter_sql}) from exc

    # --- writing --------------------------------------------------------------------------------

    @contextlib.contextmanager
    def _locked(self, key_dir: Path, *, blocking: bool = True) -> Iterator[bool]:
        key_dir.mkdir(parents=True, exist_ok=True)
        with open(key_dir / LOCK, "a+b") as fh:
            try:
                fcntl.flock(fh.fileno(), fcntl.LOCK_EX | (0 if blocking else fcntl.LOCK_NB))
            except BlockingIOError:
                yield False
                return
            try:
                yield True
            finally:
                fcntl.flock(fh.fileno(), fcntl.LOCK_UN)

    def write(
        self,
        resource_key: str,
        table_or_batches: pa.Table | pa.RecordBatchReader | Iterable[pa.RecordBatch],
        mode: Mode = "full",
        primary_key: str | Sequence[str] | None = None,
        lineage: dict[str, Any] | None = None,
        *,
        schema: pa.Schema | None = None,
    ) -> VersionInfo:
        """Write a new version and publish it atomically; return its record.

        ``mode="full"`` replaces the data; ``mode="merge"`` upserts by ``primary_key`` into a new
        snapshot (rows of the batch win). Batches stream to Parquet, so a load of any size needs
        memory for one row group. ``lineage`` (source, connector, who, schema hash…) is stored as
        given. ``schema`` is needed only for an empty iterable.
        """
        if mode not in ("full", "merge"):
            raise Invalid(f"写入方式 mode 只能是 full 或 merge，收到 {mode!r}", details={"field": "mode"})
        pk = [primary_key] if isinstance(primary_key, str) else list(primary_key or [])
        if mode == "merge" and not pk:
            raise Invalid("增量合并（merge）必须指定主键 primary_key", details={"field": "primary_key"})
        key_dir = self._key_dir(resource_key)
        with self._locked(key_dir):
            self._recover(key_dir)
            parent = self._current_number(key_dir)
            number = max(self._numbers(key_dir), default=0) + 1
            final = key_dir / _dirname(number)
            tmp = key_dir / f"{TMP_PREFIX}{final.name}-{uuid.uuid4().hex[:12]}"
            tmp.mkdir()
            try:
                arrow_schema, batches = _as_batches(table_or_batches, schema)
                self._check_columns(arrow_schema, pk)
                if mode == "merge" and parent is not None:
                    parent_dir = key_dir / _dirname(parent)
                    files = self._write_merge(tmp, parent_dir, arrow_schema, batches, pk)
                else:
                    files = self._write_parts(tmp, arrow_schema, batches)
                    if pk:
                        self._check_unique(tmp, [f["name"] for f in files], pk)
                info = VersionInfo(
                    resource_key=resource_key,
                    version=number,
                    mode=mode,
                    parent=parent,
                    rows=sum(f["rows"] for f in files),
                    checksum=_combined_checksum(files),
                    created_at=_now(),
                    lineage=dict(lineage or {}),
                    primary_key=pk or None,
                    schema=[{"name": f.name, "type": str(f.type)} for f in arrow_schema],
                    files=files,
                )
                self._write_meta(tmp, info)
                _fsync_path(tmp)
                if final.exists():  # impossible under the lock unless someone edits the lake by hand
                    raise Conflict(f"数据湖版本目录已存在：{resource_key}/{final.name}")
                os.rename(tmp, final)
                _fsync_path(key_dir)
            except BaseException:
                shutil.rmtree(tmp, ignore_errors=True)
                raise
            self._publish(key_dir, number)
            return info

    def _check_columns(self, schema: pa.Schema, pk: list[str]) -> None:
        names = schema.names
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise Invalid(f"列名重复：{'、'.join(dupes)}", details={"field": "columns", "duplicates": dupes})
        missing = [k for k in pk if k not in names]
        if missing:
            raise Invalid(f"主键列不存在：{'、'.join(missing)}", details={"field": "primary_key", "missing": missing})

    def _writer(self, path: Path, schema: pa.Schema) -> pq.ParquetWriter:
        return pq.ParquetWriter(
            path,
            schema,
            compression=self.compression,
            # Spark reads INT64 TIMESTAMP(MICROS) but rejects nanoseconds; city data has no use for them.
            coerce_timestamps="us",
            allow_truncated_timestamps=True,
        )

    def _write_parts(self, vdir: Path, schema: pa.Schema, batches: Iterable[pa.RecordBatch]) -> list[dict[str, Any]]:
        """Stream batches into ``part-NNNNNN.parquet`` files; fsync and checksum each."""
        files: list[dict[str, Any]] = []
        writer: pq.ParquetWriter | None = None
        path: Path | None = None
        in_file = 0
        pending: list[pa.RecordBatch] = []
        pending_rows = 0

        def open_part() -> None:
            nonlocal writer, path, in_file
            path = vdir / f"part-{len(files):06d}.parquet"
            writer = self._writer(path, schema)
            in_file = 0

        def close_part() -> None:
            nonlocal writer, in_file
            assert writer is not None and path is not None
            writer.close()
            writer = None
            files.append(self._seal(path, in_file))
            in_file = 0

        def flush() -> None:
            # Batches from readers are often small; buffering one row group keeps row groups full.
            nonlocal pending, pending_rows, in_file
            if not pending:
                return
            if writer is None:
                open_part()
            assert writer is not None
            writer.write_table(pa.Table.from_batches(pending, schema=schema), row_group_size=self.row_group_rows)
            in_file += pending_rows
            pending, pending_rows = [], 0
            if in_file >= self.rows_per_file:
                close_part()

        for batch in batches:
            if batch.schema != schema:
                batch = self._conform(batch, schema)
            offset = 0
            while offset < batch.num_rows:
                room = min(self.row_group_rows - pending_rows, self.rows_per_file - in_file - pending_rows)
                piece = batch.slice(offset, max(room, 1))
                pending.append(piece)
                pending_rows += piece.num_rows
                offset += piece.num_rows
                if pending_rows >= self.row_group_rows or in_file + pending_rows >= self.rows_per_file:
                    flush()
        flush()
        if writer is not None:
            close_part()
        if not files:
            # An empty load still records its schema, so readers see the columns and zero rows.
            open_part()
            close_part()
        return files

    @staticmethod
    def _conform(batch: pa.RecordBatch, schema: pa.Schema) -> pa.RecordBatch:
        if batch.schema.names != schema.names:
            raise Invalid(
                f"批次的列与第一批不一致：{batch.schema.names} ≠ {schema.names}",
                details={"expected": schema.names, "got": batch.schema.names},
            )
        try:
            return batch.cast(schema)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
            raise Invalid(f"批次的列类型与第一批不一致：{exc}", details={"expected": str(schema)}) from exc

    @staticmethod
    def _seal(path: Path, rows: int) -> dict[str, Any]:
        with open(path, "rb") as fh:
            os.fsync(fh.fileno())
        return {"name": path.name, "rows": rows, "bytes": path.stat().st_size, "checksum": _sm3_file(path)}

    def _check_unique(self, vdir: Path, names: list[str], pk: list[str]) -> None:
        files = ", ".join(_sql_str(str(vdir / n)) for n in names)
        keys = ", ".join(_ident(k) for k in pk)
        nulls = " OR ".join(f"{_ident(k)} IS NULL" for k in pk)
        sql = (
            f"SELECT {keys}, count(*) AS n FROM read_parquet([{files}]) "
            f"GROUP BY ALL HAVING count(*) > 1 OR bool_or({nulls}) LIMIT 20"
        )
        with duckdb.connect(config={"temp_directory": str(vdir / "_spill")}) as con:
            bad = con.execute(sql).fetchall()
        shutil.rmtree(vdir / "_spill", ignore_errors=True)
        if bad:
            samples = [dict(zip([*pk, "rows"], row, strict=True)) for row in bad]
            raise Invalid(
                f"主键 {'+'.join(pk)} 有重复或空值，例如 {samples[0]}",
                details={"field": "primary_key", "samples": samples},
            )

    def _write_merge(
        self,
        tmp: Path,
        parent_dir: Path,
        schema: pa.Schema,
        batches: Iterator[pa.RecordBatch],
        pk: list[str],
    ) -> list[dict[str, Any]]:
        """Snapshot = parent rows whose key is not in the batch + the batch (batch wins)."""
        stage = tmp / "_batch"
        stage.mkdir()
        staged = self._write_parts(stage, schema, batches)
        self._check_unique(stage, [f["name"] for f in staged], pk)
        parent_schema = pq.read_schema(next(parent_dir.glob("part-*.parquet")))
        if set(parent_schema.names) != set(schema.names):
            missing = [n for n in parent_schema.names if n not in schema.names]
            extra = [n for n in schema.names if n not in parent_schema.names]
            raise Invalid(
                f"增量数据的列与当前版本不一致：缺少 {missing or '无'}，多出 {extra or '无'}",
                details={"missing": missing, "extra": extra},
            )
        cols = ", ".join(_ident(n) for n in schema.names)
        new = f"read_parquet({_sql_str(str(stage / 'part-*.parquet'))})"
        old = f"read_parquet({_sql_str(str(parent_dir / 'part-*.parquet'))})"
        using = ", ".join(_ident(k) for k in pk)
        sql = (
            f"SELECT {cols} FROM {old} AS o ANTI JOIN {new} AS b USING ({using}) "
            f"UNION ALL SELECT {cols} FROM {new} AS b"
        )
        # DuckDB spills the anti-join to disk beside the version rather than holding it in memory.
        with duckdb.connect(config={"temp_directory": str(tmp / "_spill")}) as con:
            try:
                reader = _arrow_reader(con.sql(sql), self.row_group_rows)
                files = self._write_parts(tmp, schema, reader)
            except duckdb.Error as exc:  # e.g. a key column whose type changed between loads
                raise Invalid(f"增量合并失败：{exc}", details={"primary_key": pk}) from exc
        shutil.rmtree(stage)
        shutil.rmtree(tmp / "_spill", ignore_errors=True)
        return files

    def _write_meta(self, vdir: Path, info: VersionInfo) -> None:
        doc = {"format": 1, **info.to_dict()}
        doc.pop("resource_key")
        path = vdir / META
        with open(path, "w", encoding="utf-8") as fh:
            json.dump(doc, fh, ensure_ascii=False, indent=2, default=str)
            fh.flush()
            os.fsync(fh.fileno())

    def _publish(self, key_dir: Path, number: int) -> None:
        tmp = key_dir / f"{TMP_PREFIX}current-{uuid.uuid4().hex[:12]}"
        with open(tmp, "w", encoding="utf-8") as fh:
            fh.write(_dirname(number) + "\n")
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, key_dir / CURRENT)
        _fsync_path(key_dir)

    # --- recovery and retention -----------------------------------------------------------------

    def _recover_all(self) -> None:
        for key_dir in self.root.iterdir():
            if key_dir.is_dir() and _KEY.match(key_dir.name) and (key_dir / LOCK).exists():
                with self._locked(key_dir, blocking=False) as held:
                    if held:  # a writer holding the lock owns its temp directory
                        self._recover(key_dir)

    def _recover(self, key_dir: Path) -> None:
        """Remove what an interrupted write left behind. Caller holds the resource's lock."""
        current = self._current_number(key_dir)
        for entry in key_dir.iterdir():
            m = _VERSION_DIR.match(entry.name)
            if m and (current is None or int(m.group(1)) > current):
                # Renamed but never published: the write did not commit.
                self._remove_dir(entry)
            elif entry.name.startswith(TMP_PREFIX):
                if entry.is_dir():
                    shutil.rmtree(entry, ignore_errors=True)
                else:
                    entry.unlink(missing_ok=True)

    def _remove_dir(self, vdir: Path) -> None:
        # Hide it first so a crash midway through deletion cannot leave a half version visible.
        doomed = vdir.with_name(f"{TMP_PREFIX}del-{vdir.name}-{uuid.uuid4().hex[:8]}")
        os.rename(vdir, doomed)
        shutil.rmtree(doomed, ignore_errors=True)

    def prune(self, resource_key: str, keep_last: int = 5, keep_days: float | None = None) -> list[int]:
        """Delete old versions; return the numbers removed.

        Kept: the ``keep_last`` newest, any created within ``keep_days`` (when given) and always
        the current one. Readers of a pruned version mid-scan may fail: prune off-hours.
        """
        if keep_last < 1:
            raise Invalid("keep_last 至少为 1", details={"field": "keep_last", "value": keep_last})
        key_dir = self._key_dir(resource_key)
        with self._locked(key_dir):
            self._recover(key_dir)
            infos = self.versions(resource_key)
            current = self._current_number(key_dir)
            keep = {i.version for i in infos[-keep_last:]} | {current}
            if keep_days is not None:
                cutoff = dt.datetime.now(dt.UTC) - dt.timedelta(days=keep_days)
                keep |= {i.version for i in infos if dt.datetime.fromisoformat(i.created_at) >= cutoff}
            removed = [i.version for i in infos if i.version not in keep]
            for number in removed:
                self._remove_dir(key_dir / _dirname(number))
            if removed:
                _fsync_path(key_dir)
            return removed

    def verify(self, resource_key: str, version: int | None = None) -> Verification:
        """Recompute a version's checksums and row counts against its ``_version.json``."""
        info = self._resolve(resource_key, version)
        vdir = self._key_dir(resource_key) / info.name
        problems: list[str] = []
        for f in info.files:
            path = vdir / f["name"]
            if not path.is_file():
                problems.append(f"{f['name']}：文件缺失")
                continue
            if _sm3_file(path) != f["checksum"]:
                problems.append(f"{f['name']}：校验值不符（文件内容被改动或损坏）")
                continue
            rows = pq.ParquetFile(path).metadata.num_rows
            if rows != f["rows"]:
                problems.append(f"{f['name']}：行数 {rows} 与记录的 {f['rows']} 不符")
        extra = sorted(p.name for p in vdir.glob("part-*.parquet") if p.name not in {f["name"] for f in info.files})
        problems += [f"{name}：多出的文件" for name in extra]
        if _combined_checksum(info.files) != info.checksum:
            problems.append("版本校验值与文件清单不符（_version.json 被改动）")
        return Verification(resource_key, info.version, not problems, problems)
