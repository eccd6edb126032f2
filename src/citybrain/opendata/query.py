"""Reading an open dataset's rows from the lake: only its published fields, masked, through DuckDB.

Everything a caller can name — filters, the text query, sort keys, the field list — is checked
against the dataset's *unmasked* published fields and bound as a parameter, never spliced into
SQL: there is no SQL endpoint (CKAN's datastore_search_sql was the door for CVE-2026-42031/42032).
Filtering or sorting by a masked field is refused because the answer would reveal the raw values
(sorting by 公民身份号码 orders people by birth date even when the number is masked).
"""

from __future__ import annotations

import datetime as dt
import decimal
import io
import json
import threading
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.csv as pacsv

from citybrain.catalog.models import Resource
from citybrain.errors import Invalid, NotFound
from citybrain.lake.store import Lake, VersionInfo
from citybrain.masking import FieldInfo, MaskSpec, apply_mask, default_spec
from citybrain.masking.policy import SensitivityLevel
from citybrain.opendata.models import OpenDataset

BATCH_ROWS = 65_536

# One in-process DuckDB for every read: its object cache keeps Parquet footers and statistics between
# requests, so a page of a million-row dataset does not re-read metadata. Each call takes its own
# cursor (a connection to the same database), which is what DuckDB asks for across threads.
_duck: duckdb.DuckDBPyConnection | None = None
_duck_lock = threading.Lock()
#: total counts per (files, WHERE, values): paging through one filter counts once; versions never change
_counts: OrderedDict[tuple[Any, ...], int] = OrderedDict()
_COUNTS_KEPT = 512

# Sorted paging. DuckDB's Top-N still reads and compares every row of the version on every page (a
# million-row sort page cost 250–800 ms), so for big versions the sorted order itself is kept: the
# version's rows once in memory as Arrow, and per (files, WHERE, values, ORDER BY) the row positions in
# that order. A page is then a slice of positions and a ``take``. Versions are immutable, so neither
# can go stale; both caches are bounded by bytes and drop the least recently used entry first.
#: versions with fewer rows are sorted by DuckDB each time: it takes a few milliseconds
SORT_CACHE_MIN_ROWS = 50_000
#: memory for versions held for sorted paging; a version larger than half of it is never held
SORT_TABLES_BYTES = 512 * 2**20
#: memory for the cached orders (8 bytes per matching row)
SORT_ORDERS_BYTES = 128 * 2**20
_ROW = "__citybrain_row"
_tables: OrderedDict[str, pa.Table] = OrderedDict()
_too_big: set[str] = set()
_orders: OrderedDict[tuple[Any, ...], pa.Array] = OrderedDict()


def clear_caches() -> None:
    """Forget the counts, tables and orders (tests and benchmarks measuring a cold start)."""
    with _duck_lock:
        _counts.clear()
        _tables.clear()
        _too_big.clear()
        _orders.clear()


def _evict(cache: OrderedDict[Any, Any], budget: int) -> None:
    while cache and sum(v.nbytes for v in cache.values()) > budget:
        cache.popitem(last=False)


def _cursor() -> duckdb.DuckDBPyConnection:
    global _duck
    with _duck_lock:
        if _duck is None:
            _duck = duckdb.connect(config={"enable_object_cache": True})
        return _duck.cursor()


@dataclass(frozen=True)
class ServedField:
    """A column the public may see, with the masking it is served under (None: as is)."""

    name: str
    title: str
    data_type: str
    mask: MaskSpec | None
    description: str = ""

    @property
    def masked(self) -> bool:
        return self.mask is not None


def field_info(resource: Resource, name: str) -> FieldInfo | None:
    for f in resource.fields:
        if f.name == name:
            return FieldInfo(name=f.name, level=f.sensitivity, element=f.standard.name if f.standard else None)
    return None


def served_fields(dataset: OpenDataset, resource: Resource, version: VersionInfo | None = None) -> list[ServedField]:
    """The dataset's fields as served now.

    The catalog's current sensitivity is applied again on every read, so a field raised to 敏感
    after publication comes out masked, and one raised to 高敏感 disappears, without waiting for
    a steward to edit the dataset. Columns missing from the version are skipped; new columns of
    a later version are never served until a steward adds them (the field list is a whitelist).
    """
    present = {c["name"] for c in version.schema} if version is not None else None
    out: list[ServedField] = []
    for spec in dataset.fields:
        name = spec["name"]
        if present is not None and name not in present:
            continue
        info = field_info(resource, name)
        if info is None:
            continue
        mask = MaskSpec.from_dict(spec["mask"]) if spec.get("mask") else None
        level = info.effective_level
        if level >= SensitivityLevel.HIGHLY_SENSITIVE:
            continue
        if level >= SensitivityLevel.SENSITIVE and mask is None:
            mask = default_spec(info)
        out.append(ServedField(name, spec.get("title") or name, spec.get("data_type") or "string", mask))
    return out


def resolve_version(lake: Lake, dataset: OpenDataset) -> VersionInfo:
    try:
        if dataset.follow_latest or dataset.version is None:
            info = lake.current(dataset.resource_key)
            if info is None:
                raise NotFound("该数据集暂无数据", details={"dataset": dataset.name})
            return info
        return lake.version(dataset.resource_key, dataset.version)
    except NotFound:
        raise NotFound("该数据集暂无数据", details={"dataset": dataset.name}) from None


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _source(lake: Lake, version: VersionInfo) -> str:
    paths = ", ".join("'" + str(p).replace("'", "''") + "'" for p in lake.files(version.resource_key, version.version))
    return f"read_parquet([{paths}])"


def _arrow_type(version: VersionInfo, name: str) -> str:
    for c in version.schema:
        if c["name"] == name:
            return c["type"]
    return "string"


def _typed(value: Any, arrow_type: str) -> tuple[str, Any]:
    """A placeholder and the bound value for comparing a column of ``arrow_type`` with ``value``."""
    if arrow_type.startswith(("int", "uint")):
        try:
            return "?", int(value)
        except (TypeError, ValueError):
            raise Invalid(f"筛选值 {value!r} 不是整数", details={"value": str(value)}) from None
    if arrow_type.startswith(("double", "float", "decimal")):
        try:
            return "?", float(value)
        except (TypeError, ValueError):
            raise Invalid(f"筛选值 {value!r} 不是数值", details={"value": str(value)}) from None
    if arrow_type in ("string", "large_string"):
        return "?", str(value)
    return "CAST(? AS VARCHAR)", str(value)


@dataclass
class RowsResult:
    fields: list[ServedField]
    records: list[dict[str, Any]]
    total: int | None
    version: VersionInfo


def _pick(served: list[ServedField], names: list[str] | None) -> list[ServedField]:
    if not names:
        return served
    by_name = {f.name: f for f in served}
    unknown = [n for n in names if n not in by_name]
    if unknown:
        raise Invalid(f"字段不存在或未开放：{'、'.join(unknown)}", details={"fields": unknown})
    return [by_name[n] for n in names]


def _plain(served: list[ServedField], name: str, purpose: str) -> ServedField:
    for f in served:
        if f.name == name:
            if f.masked:
                raise Invalid(f"字段 {name} 已脱敏，不能用于{purpose}", details={"field": name})
            return f
    raise Invalid(f"字段不存在或未开放：{name}", details={"field": name})


def parse_sort(served: list[ServedField], sort: str | None) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    for part in (sort or "").split(","):
        bits = part.strip().split()
        if not bits:
            continue
        direction = bits[1].lower() if len(bits) > 1 else "asc"
        if direction not in ("asc", "desc") or len(bits) > 2:
            raise Invalid(f"排序条件无效：{part.strip()}", details={"sort": sort})
        out.append((_plain(served, bits[0].strip('"'), "排序").name, direction))
    return out


def _where(
    served: list[ServedField], version: VersionInfo, filters: dict[str, Any] | None, q: str | dict[str, Any] | None
) -> tuple[str, list[Any]]:
    clauses: list[str] = []
    params: list[Any] = []
    for name, value in (filters or {}).items():
        f = _plain(served, name, "筛选")
        values = value if isinstance(value, list) else [value]
        if not values:
            continue
        arrow_type = _arrow_type(version, f.name)
        holders = []
        for v in values:
            holder, bound = _typed(v, arrow_type)
            holders.append(holder)
            params.append(bound)
        clauses.append(f"{_ident(f.name)} IN ({', '.join(holders)})")
    if isinstance(q, dict):
        for name, text in q.items():
            f = _plain(served, name, "检索")
            clauses.append(f"CAST({_ident(f.name)} AS VARCHAR) ILIKE ?")
            params.append(f"%{text}%")
    elif q and q.strip():
        # full text over the unmasked text columns only: matching a masked column would confirm raw values
        text_cols = [f for f in served if not f.masked and _arrow_type(version, f.name) in ("string", "large_string")]
        for term in q.split():
            if not text_cols:
                clauses.append("FALSE")
                break
            clauses.append("(" + " OR ".join(f"{_ident(f.name)} ILIKE ?" for f in text_cols) + ")")
            params += [f"%{term}%"] * len(text_cols)
    return (" WHERE " + " AND ".join(clauses)) if clauses else "", params


def _arrow(result: Any) -> pa.Table:
    return (getattr(result, "to_arrow_table", None) or result.fetch_arrow_table)()


def _plan(fields: list[ServedField]) -> dict[str, MaskSpec]:
    return {f.name: f.mask for f in fields if f.mask is not None}


def _mask(table: pa.Table, fields: list[ServedField], key: bytes) -> pa.Table:
    plan = _plan(fields)
    return apply_mask(table, plan, consumer_id="open-data", key=key) if plan else table


def jsonable(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return float(value)
    if isinstance(value, bytes):
        return value.hex()
    return value


def query_rows(
    lake: Lake,
    dataset: OpenDataset,
    resource: Resource,
    *,
    key: bytes,
    filters: dict[str, Any] | None = None,
    q: str | dict[str, Any] | None = None,
    fields: list[str] | None = None,
    sort: str | None = None,
    limit: int = 100,
    offset: int = 0,
    total: bool = True,
) -> RowsResult:
    version = resolve_version(lake, dataset)
    served = served_fields(dataset, resource, version)
    chosen = _pick(served, fields)
    where, params = _where(served, version, filters, q)
    order = parse_sort(served, sort)
    cols = ", ".join(_ident(f.name) for f in chosen)
    source = _source(lake, version)
    order_sql = ", ".join(f"{_ident(n)} {d.upper()} NULLS LAST" for n, d in order)
    con = _cursor()
    try:
        paged = _sorted_page(con, source, version, where, params, order_sql, chosen, limit, offset) if order else None
        if paged is not None:
            table, count = paged
            count = count if total else None
        else:
            sql = f"SELECT {cols} FROM {source}{where}"
            if order:
                sql += f" ORDER BY {order_sql}"
            sql += " LIMIT ? OFFSET ?"
            table = _arrow(con.sql(sql, params=[*params, int(limit), int(offset)]))
            count = _count(con, source, where, params) if total else None
    finally:
        con.close()
    table = _mask(table, chosen, key)
    records = [{k: jsonable(v) for k, v in row.items()} for row in table.to_pylist()]
    return RowsResult(chosen, records, count, version)


def _version_table(con: duckdb.DuckDBPyConnection, source: str, version: VersionInfo) -> pa.Table | None:
    """The whole version in memory with its row positions, or None when it is too big to hold."""
    with _duck_lock:
        if source in _tables:
            _tables.move_to_end(source)
            return _tables[source]
        if source in _too_big:
            return None
    table = _arrow(con.sql(f"SELECT * FROM {source}"))
    if table.nbytes > SORT_TABLES_BYTES // 2:
        with _duck_lock:
            _too_big.add(source)
        return None
    table = table.append_column(_ROW, pa.array(range(table.num_rows), pa.int64()))
    with _duck_lock:
        _tables[source] = table
        _evict(_tables, SORT_TABLES_BYTES)
    return table


def _sorted_page(
    con: duckdb.DuckDBPyConnection,
    source: str,
    version: VersionInfo,
    where: str,
    params: list[Any],
    order_sql: str,
    chosen: list[ServedField],
    limit: int,
    offset: int,
) -> tuple[pa.Table, int] | None:
    """One page of a sorted read from the cached order, and the number of matching rows; None: not cached."""
    if version.rows < SORT_CACHE_MIN_ROWS:
        return None
    table = _version_table(con, source, version)
    if table is None:
        return None
    key = (source, where, tuple(params), order_sql)
    with _duck_lock:
        positions = _orders.get(key)
        if positions is not None:
            _orders.move_to_end(key)
    if positions is None:
        # the row position breaks ties, so pages never overlap or skip rows with equal sort keys
        con.register("_citybrain_version", table)
        try:
            sql = f"SELECT {_ROW} FROM _citybrain_version{where} ORDER BY {order_sql}, {_ROW}"
            positions = _arrow(con.sql(sql, params=params)).column(0).combine_chunks()
        finally:
            con.unregister("_citybrain_version")
        with _duck_lock:
            _orders[key] = positions
            _evict(_orders, SORT_ORDERS_BYTES)
    page = table.select([f.name for f in chosen]).take(positions.slice(int(offset), int(limit)))
    return page, len(positions)


def _count(con: duckdb.DuckDBPyConnection, source: str, where: str, params: list[Any]) -> int:
    key = (source, where, tuple(params))
    with _duck_lock:
        if key in _counts:
            _counts.move_to_end(key)
            return _counts[key]
    row = con.execute(f"SELECT count(*) FROM {source}{where}", params).fetchone()
    value = int(row[0]) if row else 0
    with _duck_lock:
        _counts[key] = value
        while len(_counts) > _COUNTS_KEPT:
            _counts.popitem(last=False)
    return value


def stream_batches(lake: Lake, version: VersionInfo, served: list[ServedField], key: bytes) -> Iterator[pa.RecordBatch]:
    """Every row of the version, masked, in batches (downloads)."""
    cols = ", ".join(_ident(f.name) for f in served)
    con = _cursor()
    try:
        result = con.sql(f"SELECT {cols} FROM {_source(lake, version)}")
        # duckdb renamed fetch_record_batch to to_arrow_reader; support both sides of the rename
        reader = (getattr(result, "to_arrow_reader", None) or result.fetch_record_batch)(BATCH_ROWS)
        for batch in reader:
            yield from _mask(pa.Table.from_batches([batch]), served, key).to_batches()
    finally:
        con.close()


BOM = "\ufeff".encode()


def csv_chunks(batches: Iterator[pa.RecordBatch], served: list[ServedField]) -> Iterator[bytes]:
    # the BOM is what makes Excel read the file as UTF-8 instead of the system code page (GBK)
    yield BOM
    header = True
    for batch in batches:
        buf = io.BytesIO()
        pacsv.write_csv(pa.Table.from_batches([batch]), buf, write_options=pacsv.WriteOptions(include_header=header))
        header = False
        yield buf.getvalue()
    if header:
        yield (",".join(f.name for f in served) + "\n").encode()


def json_chunks(batches: Iterator[pa.RecordBatch], served: list[ServedField], meta: dict[str, Any]) -> Iterator[bytes]:
    head = {**meta, "fields": [{"id": f.name, "title": f.title, "type": f.data_type} for f in served]}
    yield (json.dumps(head, ensure_ascii=False)[:-1] + ', "records": [').encode()
    first = True
    for batch in batches:
        rows = batch.to_pylist()
        if not rows:
            continue
        text = ",\n".join(json.dumps({k: jsonable(v) for k, v in r.items()}, ensure_ascii=False) for r in rows)
        yield ((",\n" if not first else "\n") + text).encode()
        first = False
    yield b"\n]}\n"


XLSX_MAX_ROWS = 1_048_575


def xlsx_bytes(batches: Iterator[pa.RecordBatch], served: list[ServedField], title: str) -> bytes:
    from openpyxl import Workbook

    wb = Workbook(write_only=True)
    ws = wb.create_sheet(title=title[:31] or "data")
    ws.append([f.name for f in served])
    rows = 0
    for batch in batches:
        for row in batch.to_pylist():
            rows += 1
            if rows > XLSX_MAX_ROWS:
                raise Invalid("数据超过 Excel 的行数上限，请下载 CSV", details={"max_rows": XLSX_MAX_ROWS})
            ws.append([_excel(v) for v in row.values()])
    dictionary = wb.create_sheet(title="数据字典")
    dictionary.append(["字段名", "中文名称", "类型", "脱敏"])
    for f in served:
        dictionary.append([f.name, f.title, f.data_type, describe_mask(f.mask)])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _excel(value: Any) -> Any:
    if isinstance(value, dt.datetime) and value.tzinfo is not None:
        return value.replace(tzinfo=None)
    if isinstance(value, decimal.Decimal):
        return float(value)
    if isinstance(value, list | dict):
        return json.dumps(value, ensure_ascii=False)
    return value


_METHOD_TITLES = {
    "mask": "遮蔽",
    "name": "姓名遮蔽",
    "email": "邮箱遮蔽",
    "date": "日期泛化",
    "age_band": "年龄分段",
    "bucket": "数值分段",
    "address": "地址泛化",
    "round": "数值取整",
    "truncate": "数值截断",
    "suppress": "抑制",
    "pseudonym": "假名化",
}


def describe_mask(mask: MaskSpec | None) -> str:
    if mask is None:
        return ""
    params = dict(mask.params)
    title = _METHOD_TITLES.get(mask.method, mask.method)
    if mask.method == "mask":
        return f"{title}（保留前 {params.get('keep_first', 0)} 位、后 {params.get('keep_last', 0)} 位）"
    return title


# -- charts ----------------------------------------------------------------------------------------


def column_profiles(
    lake: Lake, version: VersionInfo, served: list[ServedField], limit: int = 4
) -> list[dict[str, Any]]:
    """Histograms of unmasked numeric columns and per-year or per-month counts of date columns."""
    out: list[dict[str, Any]] = []
    source = _source(lake, version)
    con = _cursor()
    try:
        for f in served:
            if f.masked or len(out) >= limit:
                continue
            arrow_type = _arrow_type(version, f.name)
            col = _ident(f.name)
            if arrow_type.startswith(("int", "uint", "double", "float", "decimal")):
                lo, hi, n = con.execute(f"SELECT min({col}), max({col}), count({col}) FROM {source}").fetchone()  # type: ignore[misc]
                if n == 0 or lo is None or lo == hi:
                    continue
                lo, hi = float(lo), float(hi)
                width = (hi - lo) / 10
                rows = con.execute(
                    f"SELECT least(floor(({col} - ?) / ?)::INTEGER, 9) AS b, count(*) FROM {source} "
                    f"WHERE {col} IS NOT NULL GROUP BY b ORDER BY b",
                    [lo, width],
                ).fetchall()
                counts = dict(rows)
                bins = [(_num(lo + i * width), counts.get(i, 0)) for i in range(10)]
                out.append({"field": f, "kind": "histogram", "bins": bins, "low": lo, "high": hi})
            elif arrow_type.startswith(("date", "timestamp")):
                lo, hi = con.execute(f"SELECT min({col}), max({col}) FROM {source}").fetchone()  # type: ignore[misc]
                if lo is None:
                    continue
                monthly = (hi - lo).days < 3 * 366 if hasattr(hi - lo, "days") else False
                fmt = "%Y-%m" if monthly else "%Y"
                rows = con.execute(
                    f"SELECT strftime({col}, '{fmt}') AS p, count(*) FROM {source} "
                    f"WHERE {col} IS NOT NULL GROUP BY p ORDER BY p"
                ).fetchall()
                out.append({"field": f, "kind": "timeline", "bins": rows[-36:], "monthly": monthly})
    finally:
        con.close()
    return out


def _num(value: float) -> str:
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:.3g}"
