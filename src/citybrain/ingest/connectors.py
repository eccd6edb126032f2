"""Where loads come from: uploaded files, database pulls and HTTP JSON API pulls.

Every connector returns :class:`~citybrain.ingest.checks.InputData`: batches of text cells, like a
CSV, so one set of checks (against the catalog) types everything. Pulls stringify what the
remote side typed (``datetime`` → ISO text) and the checks parse it back to the catalog's type;
a remote column typed differently from the catalog is then caught like a bad CSV cell.

Incremental pulls remember a *watermark* with their source: the highest key, or the highest
``updated_at``, seen by the last successful pull. Watermark pulls ask for ``>=`` the watermark,
not ``>``: rows sharing the boundary timestamp that arrived after the last pull would otherwise
be missed forever; re-reading the boundary rows is harmless because incremental loads merge by
primary key.
"""

from __future__ import annotations

import datetime as dt
import decimal
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pyarrow as pa
import pyarrow.parquet as pq
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError
from sqlalchemy.pool import NullPool

from citybrain.errors import Invalid, Unavailable
from citybrain.ingest.checks import InputData
from citybrain.ingest.readers import read_file

BATCH_ROWS = 10_000


# --- files ----------------------------------------------------------------------------------------


def _estimate_rows(path: Path, fmt: str, header_row: int | None) -> int | None:
    """Rows a file holds, when cheap to know, for progress only."""
    try:
        if fmt == "parquet":
            return pq.ParquetFile(path).metadata.num_rows
        if fmt in ("csv", "ndjson"):
            count = 0
            with open(path, "rb") as fh:
                while chunk := fh.read(8 << 20):
                    count += chunk.count(b"\n")
            return max(count - (header_row or 0), 1)
        if fmt == "xlsx":
            from openpyxl import load_workbook

            wb = load_workbook(path, read_only=True)
            try:
                rows = wb.worksheets[0].max_row
            finally:
                wb.close()
            return max((rows or 0) - (header_row or 0), 1)
    except Exception:  # an estimate is never worth failing a load for
        return None
    return None


def open_file(
    path: str | Path,
    *,
    filename: str | None = None,
    format: str | None = None,
    sheet: str | None = None,
    encoding: str | None = None,
) -> InputData:
    """An uploaded file through the readers (UTF-8/BOM/GB18030 CSV, XLSX with title rows, JSON, Parquet)."""
    path = Path(path)
    name = filename or path.name
    if format is None and filename:
        # uploads are stored under a temporary name; the department's file name carries the format
        format = _format_from_name(filename)
    result = read_file(path, format=format, sheet=sheet, encoding=encoding)
    info = {"format": result.format, "encoding": result.encoding, "header_row": result.header_row, "file": name}
    return InputData(
        batches=result.batches,
        columns=result.columns,
        info=info,
        estimated_rows=_estimate_rows(path, result.format, result.header_row),
    )


def _format_from_name(filename: str) -> str | None:
    from citybrain.ingest.readers import _EXTENSIONS

    suffix = Path(filename).suffix.lower()
    return _EXTENSIONS.get(suffix)


# --- watermarks -----------------------------------------------------------------------------------


def encode_watermark(value: Any) -> dict[str, Any] | None:
    """A watermark as JSON that remembers its type, so the next pull binds a real datetime or number."""
    if value is None:
        return None
    if isinstance(value, bool):
        return {"type": "str", "value": str(value).lower()}
    if isinstance(value, dt.datetime):
        return {"type": "datetime", "value": value.isoformat()}
    if isinstance(value, dt.date):
        return {"type": "date", "value": value.isoformat()}
    if isinstance(value, int):
        return {"type": "int", "value": value}
    if isinstance(value, float):
        return {"type": "float", "value": value}
    if isinstance(value, decimal.Decimal):
        return {"type": "decimal", "value": str(value)}
    return {"type": "str", "value": str(value)}


def decode_watermark(mark: dict[str, Any] | None) -> Any:
    if not mark:
        return None
    kind, value = mark.get("type"), mark.get("value")
    if kind == "datetime":
        return dt.datetime.fromisoformat(value)
    if kind == "date":
        return dt.date.fromisoformat(value)
    if kind == "int":
        return int(value)
    if kind == "float":
        return float(value)
    if kind == "decimal":
        return decimal.Decimal(value)
    return value


def _later(a: Any, b: Any) -> Any:
    if a is None:
        return b
    if b is None:
        return a
    try:
        return b if b > a else a
    except TypeError:  # mixed types from a loosely typed source: compare as text
        return b if str(b) > str(a) else a


def cell_text(value: Any) -> str | None:
    """A remote value as the text a department file would have carried."""
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return format(value, "f")
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, bytes):
        return value.hex()
    return str(value)


def _text_batch(columns: list[str], rows: list[Any]) -> pa.RecordBatch:
    arrays = [pa.array([cell_text(r[i]) for r in rows], pa.string()) for i in range(len(columns))]
    return pa.RecordBatch.from_arrays(arrays, schema=pa.schema([(c, pa.string()) for c in columns]))


# --- database pulls -------------------------------------------------------------------------------


@dataclass
class DatabasePull:
    """A table or a query on any database SQLAlchemy reaches, full or incremental."""

    url: str
    table: str | None = None
    query: str | None = None
    incremental: str = "full"  # full | key | watermark
    cursor_column: str | None = None
    watermark: dict[str, Any] | None = None
    batch_rows: int = BATCH_ROWS

    def describe(self) -> str:
        where = self.table or "查询"
        return f"{make_url(self.url).render_as_string(hide_password=True)} {where}"

    def sql(self, dialect: Any) -> tuple[str, dict[str, Any]]:
        quote = dialect.identifier_preparer.quote
        if self.table:
            base = "SELECT * FROM " + ".".join(quote(p) for p in self.table.split("."))
        else:
            base = f"SELECT * FROM ({self.query}) cb_src"
        params: dict[str, Any] = {}
        if self.incremental != "full":
            col = quote(self.cursor_column or "")
            mark = decode_watermark(self.watermark)
            if mark is not None:
                op = ">" if self.incremental == "key" else ">="
                base += f" WHERE {col} {op} :cb_mark"
                params["cb_mark"] = mark
            base += f" ORDER BY {col}"
        return base, params

    def open(self) -> InputData:
        try:
            engine = create_engine(self.url, poolclass=NullPool)
        except (ArgumentError, SQLAlchemyError, ImportError) as exc:
            raise Invalid(f"数据库连接地址无效：{exc}", details={"url": self.describe()}) from exc
        sql, params = self.sql(engine.dialect)
        try:
            conn = engine.connect()
            result = conn.execution_options(stream_results=True).execute(text(sql), params)
        except SQLAlchemyError as exc:
            engine.dispose()
            raise Unavailable(f"无法从数据库读取（{self.describe()}）：{_short(exc)}", details={"sql": sql}) from exc
        columns = list(result.keys())
        if self.incremental != "full" and self.cursor_column not in columns:
            conn.close()
            engine.dispose()
            raise Invalid(
                f"增量字段 {self.cursor_column} 不在数据源的列中：{'、'.join(columns)}",
                details={"cursor_column": self.cursor_column, "columns": columns},
            )
        state: dict[str, Any] = {}
        data = InputData(
            batches=self._batches(engine, conn, result, columns, state),
            columns=columns,
            info={"connector": "database", "source": self.describe(), "incremental": self.incremental},
            state=state,
            bookkeeping=(self.cursor_column,) if self.cursor_column else (),
        )
        return data

    def _batches(
        self, engine: Any, conn: Any, result: Any, columns: list[str], state: dict[str, Any]
    ) -> Iterator[pa.RecordBatch]:
        cursor_idx = columns.index(self.cursor_column) if self.incremental != "full" else None
        high = decode_watermark(self.watermark)
        try:
            while rows := result.fetchmany(self.batch_rows):
                if cursor_idx is not None:
                    for r in rows:
                        high = _later(high, r[cursor_idx])
                yield _text_batch(columns, rows)
        except SQLAlchemyError as exc:
            raise Unavailable(f"从数据库读取中断（{self.describe()}）：{_short(exc)}") from exc
        finally:
            conn.close()
            engine.dispose()
        if cursor_idx is not None:
            state["watermark"] = encode_watermark(high)


def _short(exc: Exception) -> str:
    return str(exc).splitlines()[0][:300]


# --- HTTP JSON API pulls --------------------------------------------------------------------------


@dataclass
class HttpPull:
    """A JSON API, page by page.

    ``paging``: ``none``; ``page`` (``page_param`` = 1, 2, … with ``size_param`` = ``page_size``);
    ``offset`` (``offset_param`` = 0, size, 2×size…); ``cursor`` (the next cursor read from the
    body at ``cursor_path``, sent back as ``cursor_param``). Records are the list at
    ``records_path`` (dotted, e.g. ``data.list``) or the one list of objects in the body.
    A feed that does not end within ``max_pages`` fails rather than being cut short silently.
    """

    url: str
    params: dict[str, Any] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    records_path: str | None = None
    paging: str = "none"
    page_param: str = "page"
    size_param: str = "size"
    offset_param: str = "offset"
    page_size: int = 100
    start_page: int = 1
    cursor_param: str = "cursor"
    cursor_path: str | None = None
    max_pages: int = 10_000
    timeout: float = 30.0
    #: watermark pulls: the record field compared, and the query parameter that sends the watermark
    incremental: str = "full"
    cursor_column: str | None = None
    watermark_param: str | None = None
    watermark: dict[str, Any] | None = None
    transport: httpx.BaseTransport | None = None

    def open(self) -> InputData:
        state: dict[str, Any] = {}
        pages = self._pages()
        try:
            first = next(pages)
        except StopIteration:
            first = []
        columns = _keys(first)
        return InputData(
            batches=self._batches(first, pages, state),
            columns=columns,
            info={"connector": "http", "source": self.url, "paging": self.paging},
            header=False,
            state=state,
            bookkeeping=(self.cursor_column,) if self.cursor_column else (),
        )

    def _batches(
        self, first: list[dict[str, Any]], rest: Iterator[list[dict[str, Any]]], state: dict[str, Any]
    ) -> Iterator[pa.RecordBatch]:
        high = decode_watermark(self.watermark)
        for records in _chain([first], rest):
            if not records:
                continue
            if self.cursor_column:
                for r in records:
                    high = _later(high, r.get(self.cursor_column))
            cols = _keys(records)
            yield _text_batch(cols, [[r.get(c) for c in cols] for r in records])
        if self.cursor_column:
            state["watermark"] = encode_watermark(high)

    def _pages(self) -> Iterator[list[dict[str, Any]]]:
        params = dict(self.params)
        if self.incremental == "watermark" and self.watermark_param and self.watermark:
            params[self.watermark_param] = self.watermark.get("value")
        page, offset, cursor = self.start_page, 0, None
        with httpx.Client(timeout=self.timeout, headers=self.headers, transport=self.transport) as client:
            for n in range(self.max_pages):
                query = dict(params)
                if self.paging == "page":
                    query.update({self.page_param: page, self.size_param: self.page_size})
                elif self.paging == "offset":
                    query.update({self.offset_param: offset, self.size_param: self.page_size})
                elif self.paging == "cursor" and cursor is not None:
                    query[self.cursor_param] = cursor
                doc = self._get(client, query)
                records = _records(doc, self.records_path, self.url)
                yield records
                if self.paging == "none":
                    return
                if self.paging in ("page", "offset"):
                    if len(records) < self.page_size:
                        return
                    page += 1
                    offset += len(records)
                elif self.paging == "cursor":
                    cursor = _dig(doc, self.cursor_path) if self.cursor_path else None
                    if cursor in (None, "") or not records:
                        return
                if n == self.max_pages - 1:
                    raise Invalid(
                        f"接口 {self.url} 超过 {self.max_pages} 页仍未结束，已停止（数据未写入）；请检查分页设置",
                        details={"url": self.url, "max_pages": self.max_pages},
                    )

    def _get(self, client: httpx.Client, query: dict[str, Any]) -> Any:
        try:
            response = client.get(self.url, params=query)
        except httpx.HTTPError as exc:
            raise Unavailable(f"无法访问接口 {self.url}：{exc}", details={"url": self.url}) from exc
        if response.status_code >= 400:
            raise Unavailable(
                f"接口 {self.url} 返回 HTTP {response.status_code}",
                details={"url": self.url, "status": response.status_code, "body": response.text[:500]},
            )
        try:
            return response.json()
        except ValueError as exc:
            raise Invalid(f"接口 {self.url} 返回的不是 JSON", details={"url": self.url}) from exc


def _chain(first: list[list[dict[str, Any]]], rest: Iterator[list[dict[str, Any]]]) -> Iterator[list[dict[str, Any]]]:
    yield from first
    yield from rest


def _keys(records: list[dict[str, Any]]) -> list[str]:
    seen: dict[str, None] = {}
    for r in records:
        for k in r:
            seen.setdefault(k)
    return list(seen)


def _dig(doc: Any, path: str | None) -> Any:
    for part in (path or "").split("."):
        if not part:
            continue
        if not isinstance(doc, dict):
            return None
        doc = doc.get(part)
    return doc


def _records(doc: Any, path: str | None, url: str) -> list[dict[str, Any]]:
    if path:
        found = _dig(doc, path)
        if found is None:
            return []
        if not isinstance(found, list):
            raise Invalid(f"接口 {url}：{path} 不是数组", details={"url": url, "records_path": path})
        records = found
    elif isinstance(doc, list):
        records = doc
    else:
        # Without a records_path: the one list in the body (an empty last page counts as the list).
        lists: list[tuple[str, list[Any]]] = []
        frontier: list[tuple[str, Any]] = list(doc.items()) if isinstance(doc, dict) else []
        for _depth in range(3):
            nxt: list[tuple[str, Any]] = []
            for key, value in frontier:
                if isinstance(value, list) and all(isinstance(v, dict) for v in value):
                    lists.append((key, value))
                elif isinstance(value, dict):
                    nxt.extend((f"{key}.{k}", v) for k, v in value.items())
            if lists:
                break
            frontier = nxt
        if len(lists) != 1:
            keys = [k for k, _ in lists]
            raise Invalid(
                f"接口 {url}：无法确定哪个数组是数据（{'、'.join(keys) or '没有数组'}），请设置 records_path",
                details={"url": url, "arrays": keys},
            )
        records = lists[0][1]
    bad = [i for i, r in enumerate(records, start=1) if not isinstance(r, dict)]
    if bad:
        raise Invalid(f"接口 {url}：第 {bad[0]} 条记录不是 JSON 对象", details={"url": url, "records": bad[:20]})
    return records


# --- building a pull from a stored source ---------------------------------------------------------

_DB_KEYS = {"url", "table", "query", "batch_rows"}
_HTTP_KEYS = {
    "url",
    "params",
    "headers",
    "records_path",
    "paging",
    "page_param",
    "size_param",
    "offset_param",
    "page_size",
    "start_page",
    "cursor_param",
    "cursor_path",
    "max_pages",
    "timeout",
    "watermark_param",
}


def validate_config(kind: str, config: dict[str, Any], incremental: str, cursor_column: str | None) -> None:
    """Refuse a source that could never run, when it is stored rather than at 3 a.m."""
    allowed = _DB_KEYS if kind == "database" else _HTTP_KEYS if kind == "http" else None
    if allowed is None:
        raise Invalid(f"未知的数据源类型 {kind}，应为 database 或 http", details={"field": "kind"})
    extra = sorted(set(config) - allowed)
    if extra:
        raise Invalid(
            f"数据源配置有未知的项：{'、'.join(extra)}",
            details={"field": "config", "unknown": extra, "known": sorted(allowed)},
        )
    if not config.get("url"):
        raise Invalid("数据源配置缺少 url", details={"field": "config.url"})
    if kind == "database":
        if bool(config.get("table")) == bool(config.get("query")):
            raise Invalid("数据库数据源须指定 table 或 query 之一", details={"field": "config"})
        try:
            make_url(config["url"])
        except ArgumentError as exc:
            raise Invalid(f"数据库连接地址无效：{exc}", details={"field": "config.url"}) from exc
    elif config.get("paging", "none") not in ("none", "page", "offset", "cursor"):
        raise Invalid("分页方式 paging 应为 none、page、offset 或 cursor", details={"field": "config.paging"})
    if incremental not in ("full", "key", "watermark"):
        raise Invalid("增量方式 incremental 应为 full、key 或 watermark", details={"field": "incremental"})
    if incremental != "full" and not cursor_column:
        raise Invalid(
            "增量拉取须指定增量字段 cursor_column（主键或 updated_at 之类的时间列）", details={"field": "cursor_column"}
        )
    if kind == "http" and incremental == "key":
        raise Invalid("HTTP 接口只支持按时间水位（watermark）增量拉取", details={"field": "incremental"})


def build_pull(
    kind: str,
    config: dict[str, Any],
    *,
    incremental: str,
    cursor_column: str | None,
    watermark: dict[str, Any] | None,
    transport: httpx.BaseTransport | None = None,
) -> DatabasePull | HttpPull:
    if kind == "database":
        return DatabasePull(
            **{k: v for k, v in config.items() if k in _DB_KEYS},
            incremental=incremental,
            cursor_column=cursor_column,
            watermark=watermark,
        )
    return HttpPull(
        **{k: v for k, v in config.items() if k in _HTTP_KEYS},
        incremental=incremental,
        cursor_column=cursor_column,
        watermark=watermark,
        transport=transport,
    )


def same_database(a: str, b: str) -> bool:
    """Whether two SQLAlchemy URLs name the same database (driver and credentials aside)."""
    try:
        ua, ub = make_url(a), make_url(b)
    except ArgumentError:
        return False
    if ua.get_backend_name() != ub.get_backend_name():
        return False
    if ua.get_backend_name() == "sqlite":
        return bool(ua.database) and Path(ua.database or "").resolve() == Path(ub.database or "").resolve()
    return (ua.host or "localhost", ua.port, ua.database) == (ub.host or "localhost", ub.port, ub.database)


def public_config(kind: str, config: dict[str, Any]) -> dict[str, Any]:
    """The config as shown to users: passwords in URLs and auth headers masked."""
    out = dict(config)
    if kind == "database" and out.get("url"):
        try:
            out["url"] = make_url(out["url"]).render_as_string(hide_password=True)
        except ArgumentError:
            out["url"] = "***"
    if out.get("headers"):
        out["headers"] = {
            k: ("***" if k.lower() in ("authorization", "x-api-key", "cookie") else v)
            for k, v in out["headers"].items()
        }
    return out
