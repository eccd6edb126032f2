"""Checking rows against the catalog and staging them for the lake (归集校验).

Readers and connectors hand over batches of text cells. Each batch is checked in one DuckDB query,
vectorised: every catalog field gets a typed value (``TRY_CAST`` and a few Chinese date formats)
and a reason column that is NULL when the value passes — required-but-empty, not of the field's
type, not matching its data element standard's pattern, length or code list. Rows with any reason
go to quarantine whole; the others are staged in a Parquet file beside the lake. A second pass
over the staged rows finds primary keys that occur more than once in the load (an ambiguity only
the department can settle, so all copies are quarantined) and streams the rest into a new lake
version. ``rows_read == rows_accepted + rows_quarantined`` always: no row is dropped silently.

The check characters of 公民身份号码 (GB 11643), 统一社会信用代码 (GB 32100) and 组织机构代码
(GB 11714) are computed in SQL too; the finer structure rules of :mod:`citybrain.standards.checks`
(registration department and category codes, 地址码 against GB/T 2260) are per-value Python and
belong to the quality rules run after the load.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import decimal
import json
import math
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from cryptography.hazmat.primitives import hashes

from citybrain.errors import Invalid
from citybrain.lake import Lake
from citybrain.lake.store import VersionInfo

ROW = "__cb_row"
#: row numbers named in a duplicate-key reason
_DUP_SHOWN = 5
#: quarantined rows are spilled to disk in this format, then inserted in chunks of this size
INSERT_CHUNK = 2000
_MAX_VALUE_IN_REASON = 40
_WHITESPACE = " \t\r\n\u3000\ufeff"

_TYPE_TITLES = {
    "string": "文本",
    "integer": "整数",
    "decimal": "数值",
    "date": "日期",
    "datetime": "日期时间",
    "boolean": "是/否",
}
_ARROW_TYPES: dict[str, pa.DataType] = {
    "string": pa.string(),
    "integer": pa.int64(),
    # Amounts must not become binary floats; 28 integer digits cover any city figure.
    "decimal": pa.decimal128(38, 10),
    "date": pa.date32(),
    "datetime": pa.timestamp("us"),
    "boolean": pa.bool_(),
}
_DATE_FORMATS = "['%Y%m%d', '%Y/%m/%d', '%Y.%m.%d', '%Y年%m月%d日']"
_DATETIME_FORMATS = (
    "['%Y/%m/%d %H:%M:%S', '%Y/%m/%d %H:%M', '%Y-%m-%d %H:%M', '%Y%m%d%H%M%S', "
    "'%Y年%m月%d日 %H:%M:%S', '%Y年%m月%d日 %H:%M']"
)
_TRUE = ("true", "t", "1", "yes", "y", "是")
_FALSE = ("false", "f", "0", "no", "n", "否")


def _lit(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _arrow(result: Any) -> pa.Table:
    fn = getattr(result, "to_arrow_table", None) or result.fetch_arrow_table
    return fn()


def _reader(result: Any, rows: int) -> pa.RecordBatchReader:
    fn = getattr(result, "to_arrow_reader", None) or result.fetch_record_batch
    return fn(rows)


# --- the schema a load is checked against --------------------------------------------------------


@dataclass(frozen=True)
class FieldSpec:
    name: str
    title: str
    data_type: str
    required: bool
    standard: str | None = None
    standard_title: str | None = None
    pattern: str | None = None
    min_length: int | None = None
    max_length: int | None = None
    codes: tuple[str, ...] | None = None
    #: the standard's named check (citybrain.standards.checks.CHECKS); check digits run here in SQL
    check: str | None = None

    @property
    def label(self) -> str:
        return f"{self.title}（{self.name}）" if self.title and self.title != self.name else self.name


@dataclass(frozen=True)
class ResourceSchema:
    """A detached copy of a catalog resource's fields, safe to hand to a background thread."""

    resource_id: str
    key: str
    name: str
    dept_id: str
    revision: int
    primary_key: tuple[str, ...]
    fields: tuple[FieldSpec, ...]

    @classmethod
    def from_resource(cls, resource: Any, *, standards: bool = True) -> ResourceSchema:
        """``standards=False`` checks only presence and type: conformance to the bound data element
        standards is then the quality rules' job (``Settings.ingest_standards == "govern"``)."""
        specs = []
        for f in resource.fields:
            std = f.standard if standards else None
            codes = tuple(str(c["code"]) for c in std.code_list) if std is not None and std.code_list else None
            specs.append(
                FieldSpec(
                    name=f.name,
                    title=f.title,
                    data_type=f.data_type if f.data_type in _ARROW_TYPES else "string",
                    required=bool(f.required),
                    standard=f.standard.name if f.standard else None,
                    standard_title=f.standard.title if f.standard else None,
                    pattern=std.pattern if std else None,
                    min_length=std.min_length if std else None,
                    max_length=std.max_length if std else None,
                    codes=codes,
                    check=std.check if std else None,
                )
            )
        return cls(
            resource_id=resource.id,
            key=resource.key,
            name=resource.name,
            dept_id=resource.dept_id,
            revision=resource.revision,
            primary_key=tuple(resource.primary_key or ()),
            fields=tuple(specs),
        )

    @property
    def arrow_schema(self) -> pa.Schema:
        return pa.schema([(f.name, _ARROW_TYPES[f.data_type]) for f in self.fields])

    def field(self, name: str) -> FieldSpec:
        return next(f for f in self.fields if f.name == name)

    def schema_hash(self) -> str:
        """SM3 over the fields as checked, recorded in lineage so a later catalog change shows."""
        doc = json.dumps(
            {"fields": [dataclasses.asdict(f) for f in self.fields], "primary_key": self.primary_key},
            ensure_ascii=False,
            sort_keys=True,
        )
        digest = hashes.Hash(hashes.SM3())
        digest.update(doc.encode())
        return "sm3:" + digest.finalize().hex()

    def resolve(self, column: str) -> str | None:
        """The field an input column feeds: by code name, then 中文名称 (department files use titles)."""
        text = column.strip().lstrip("\ufeff")
        for f in self.fields:
            if text == f.name:
                return f.name
        for f in self.fields:
            if text == f.title:
                return f.name
        lowered = text.lower()
        for f in self.fields:
            if lowered == f.name.lower():
                return f.name
        return None

    def map_columns(
        self, columns: Iterable[str], *, source: str, header: bool = True, bookkeeping: Iterable[str] = ()
    ) -> dict[str, str]:
        """Input column → field name; Invalid for unknown, doubled or (with ``header``) missing required columns.

        Unknown columns refuse the whole load rather than being dropped: either the catalog lacks
        a data item the department now sends, or the file is not the one meant for this resource.
        The one exception is a pull's ``bookkeeping`` column (its ``updated_at`` watermark), which
        is how the source tracks changes, not data of the resource, unless the catalog lists it.
        """
        mapping: dict[str, str] = {}
        unknown: list[str] = []
        doubled: list[str] = []
        skip = set(bookkeeping)
        for col in columns:
            target = self.resolve(col)
            if target is None and col in skip:
                continue
            if target is None:
                unknown.append(col)
            elif target in mapping.values():
                doubled.append(f"{col}（与另一列都对应字段 {target}）")
            else:
                mapping[col] = target
        missing = [f.label for f in self.fields if f.required and f.name not in mapping.values()] if header else []
        problems = []
        if unknown:
            problems.append(f"目录中没有这些列：{'、'.join(unknown)}")
        if doubled:
            problems.append(f"列重复：{'、'.join(doubled)}")
        if missing:
            problems.append(f"缺少必填列：{'、'.join(missing)}")
        if problems:
            known = [f"{f.name}（{f.title}）" for f in self.fields]
            raise Invalid(
                f"{source} 的列与资源 {self.key} 的目录不符：{'；'.join(problems)}。目录中的字段：{'、'.join(known)}",
                details={"unknown": unknown, "doubled": doubled, "missing_required": missing, "fields": known},
            )
        return mapping


# --- per-batch checks ----------------------------------------------------------------------------


def _typed(f: FieldSpec, v: str) -> str:
    t = f.data_type
    if t == "integer":
        # TRY_CAST('1.5' AS BIGINT) rounds to 2; an integer field must refuse it instead.
        return (
            f"CASE WHEN regexp_full_match({v}, '[+-]?[0-9]+(\\.0+)?') "
            f"THEN TRY_CAST(regexp_replace({v}, '\\.0+$', '') AS BIGINT) END"
        )
    if t == "decimal":
        return f"TRY_CAST({v} AS DECIMAL(38, 10))"
    if t == "date":
        return f"COALESCE(TRY_CAST({v} AS DATE), CAST(TRY_STRPTIME({v}, {_DATE_FORMATS}) AS DATE))"
    if t == "datetime":
        return f"COALESCE(TRY_CAST({v} AS TIMESTAMP), TRY_STRPTIME({v}, {_DATETIME_FORMATS}))"
    if t == "boolean":
        trues = ", ".join(_lit(x) for x in _TRUE)
        falses = ", ".join(_lit(x) for x in _FALSE)
        return f"CASE WHEN lower({v}) IN ({trues}) THEN TRUE WHEN lower({v}) IN ({falses}) THEN FALSE END"
    return v


def _pattern_usable(pattern: str) -> bool:
    # DuckDB's RE2 lacks look-arounds and back-references; a standard using them is not checked here.
    # A private connection: the module-level default one is shared by every thread of the process.
    with duckdb.connect() as con:
        try:
            con.sql(f"SELECT regexp_full_match('', {_lit(pattern)})").fetchall()
        except duckdb.Error:
            return False
    return True


def _reason(f: FieldSpec, v: str, t: str, skipped: list[str]) -> str | None:
    shown = f"left({v}, {_MAX_VALUE_IN_REASON})"
    whens: list[str] = []
    if f.required:
        whens.append(f"WHEN {v} IS NULL THEN '必填项为空'")
    else:
        whens.append(f"WHEN {v} IS NULL THEN NULL")
    if f.data_type != "string":
        whens.append(f"WHEN {t} IS NULL THEN {_lit('不是有效的' + _TYPE_TITLES[f.data_type] + '：')} || {shown}")
    std = f"数据元标准“{f.standard_title}”" if f.standard_title else "数据元标准"
    if f.pattern:
        if _pattern_usable(f.pattern):
            pat = f.pattern
            # The standards write anchored Python patterns; regexp_full_match anchors on its own.
            whens.append(
                f"WHEN NOT regexp_full_match(CAST({v} AS VARCHAR), {_lit(pat)}) "
                f"THEN {_lit('不符合' + std + '的格式：')} || {shown}"
            )
        else:
            skipped.append(f"{f.name}: pattern")
    if f.min_length is not None and f.max_length is not None and f.min_length == f.max_length:
        whens.append(
            f"WHEN length({v}) <> {f.min_length} THEN "
            f"{_lit(f'长度应为 {f.min_length} 个字符，实际 ')} || length({v}) || ' 个'"
        )
    else:
        if f.min_length is not None:
            whens.append(
                f"WHEN length({v}) < {f.min_length} THEN "
                f"{_lit(f'长度至少 {f.min_length} 个字符，实际 ')} || length({v}) || ' 个'"
            )
        if f.max_length is not None:
            whens.append(
                f"WHEN length({v}) > {f.max_length} THEN "
                f"{_lit(f'长度最多 {f.max_length} 个字符，实际 ')} || length({v}) || ' 个'"
            )
    if f.codes:
        codes = ", ".join(_lit(c) for c in f.codes)
        whens.append(f"WHEN {v} NOT IN ({codes}) THEN {_lit('不在' + std + '的代码表中：')} || {shown}")
    if f.check in _CHECK_DIGITS:
        whens.extend(_CHECK_DIGITS[f.check](v))
    if len(whens) == 1 and not f.required:
        return None
    return "CASE " + " ".join(whens) + " END"


# Check characters in SQL, so they cost a few vector operations rather than a Python call per value.
# They mirror citybrain.standards.checks (tests/ingest compare both) and run after the pattern
# check has passed, so every character is known to be in range.
_USCC_CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_WEIGHTS = tuple(pow(3, i, 31) for i in range(17))
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)


def _uscc_digit(v: str) -> list[str]:
    total = " + ".join(
        f"(strpos('{_USCC_CHARSET}', substr({v}, {i + 1}, 1)) - 1) * {w}" for i, w in enumerate(_USCC_WEIGHTS)
    )
    expected = f"substr('{_USCC_CHARSET}', ((31 - ({total}) % 31) % 31) + 1, 1)"
    return [f"WHEN substr({v}, 18, 1) <> {expected} THEN '校验码错误：应为 ' || {expected}"]


def _citizen_id_digit(v: str) -> list[str]:
    total = " + ".join(f"TRY_CAST(substr({v}, {i + 1}, 1) AS INTEGER) * {w}" for i, w in enumerate(_ID_WEIGHTS))
    expected = f"substr('10X98765432', (({total}) % 11) + 1, 1)"
    return [
        f"WHEN TRY_STRPTIME(substr({v}, 7, 8), '%Y%m%d') IS NULL THEN '出生日期无效：' || substr({v}, 7, 8)",
        f"WHEN upper(substr({v}, 18, 1)) <> {expected} THEN '校验码错误：应为 ' || {expected}",
    ]


def _org_code_digit(v: str) -> list[str]:
    body = f"replace({v}, '-', '')"

    def value(ch: str) -> str:  # GB 11714: digits keep their value, A–Z count 10–35
        return f"CASE WHEN {ch} BETWEEN '0' AND '9' THEN ascii({ch}) - 48 ELSE ascii({ch}) - 55 END"

    total = " + ".join(f"({value(f'substr({body}, {i + 1}, 1)')}) * {w}" for i, w in enumerate(_ORG_WEIGHTS))
    raw = f"(11 - ({total}) % 11)"
    expected = f"CASE {raw} WHEN 10 THEN 'X' WHEN 11 THEN '0' ELSE CAST({raw} AS VARCHAR) END"
    return [f"WHEN substr({body}, 9, 1) <> {expected} THEN '校验码错误：应为 ' || {expected}"]


_CHECK_DIGITS: dict[str, Callable[[str], list[str]]] = {
    "uscc": _uscc_digit,
    "citizen_id": _citizen_id_digit,
    "org_code": _org_code_digit,
}


@dataclass
class CheckedBatch:
    #: accepted rows: one column per catalog field (typed) plus the input row number
    accepted: pa.Table
    #: quarantined rows: row_number, field, reason, problems, raw
    rejected: list[dict[str, Any]]


class RowChecker:
    """Checks batches against one resource schema; one compiled query per distinct input layout."""

    def __init__(self, schema: ResourceSchema, *, source: str, bookkeeping: Iterable[str] = ()) -> None:
        self.schema = schema
        self.source = source
        self.bookkeeping = tuple(bookkeeping)
        self.skipped: list[str] = []
        self._con = duckdb.connect()
        self._queries: dict[tuple[str, ...], tuple[str, dict[str, str]]] = {}
        self.staged_schema = schema.arrow_schema.append(pa.field(ROW, pa.int64()))

    def close(self) -> None:
        self._con.close()

    def check_header(self, columns: list[str]) -> None:
        self.schema.map_columns(columns, source=self.source, header=True, bookkeeping=self.bookkeeping)

    def _query(self, names: tuple[str, ...]) -> tuple[str, dict[str, str]]:
        if names in self._queries:
            return self._queries[names]
        mapping = self.schema.map_columns(names, source=self.source, header=False, bookkeeping=self.bookkeeping)
        by_field = {target: col for col, target in mapping.items()}
        selects: list[str] = []
        reasons: list[str] = []
        skipped: list[str] = []
        for i, f in enumerate(self.schema.fields):
            col = by_field.get(f.name)
            v = (
                f"NULLIF(trim(CAST({_ident(col)} AS VARCHAR), {_lit(_WHITESPACE)}), '')"
                if col is not None
                else "CAST(NULL AS VARCHAR)"
            )
            t = _typed(f, v)
            selects.append(f"{t} AS {_ident(f.name)}")
            reason = _reason(f, v, t, skipped)
            if reason is not None:
                reasons.append(f"{reason} AS {_ident(f'__cb_why{i}')}")
        self.skipped = sorted(set(self.skipped) | set(skipped))
        sql = f"SELECT {', '.join([*selects, *reasons, _ident(ROW)])} FROM batch"
        self._queries[names] = (sql, mapping)
        return sql, mapping

    def check(self, batch: pa.RecordBatch | pa.Table, first_row: int) -> CheckedBatch:
        """Check one batch whose first row is data row ``first_row`` (1-based)."""
        table = pa.Table.from_batches([batch]) if isinstance(batch, pa.RecordBatch) else batch
        if ROW in table.column_names:
            raise Invalid(f"{self.source}：列名 {ROW} 为系统保留", details={"column": ROW})
        sql, _mapping = self._query(tuple(table.column_names))
        n = table.num_rows
        numbered = table.append_column(ROW, pa.array(range(first_row, first_row + n), pa.int64()))
        self._con.register("batch", numbered)
        try:
            result = _arrow(self._con.sql(sql))
        finally:
            self._con.unregister("batch")
        reason_cols = [c for c in result.column_names if c.startswith("__cb_why")]
        bad = None
        for c in reason_cols:
            valid = pc.is_valid(result[c])
            bad = valid if bad is None else pc.or_(bad, valid)
        names = [f.name for f in self.schema.fields]
        if bad is None or not pc.any(bad).as_py():
            accepted = result.select([*names, ROW]).cast(self.staged_schema)
            return CheckedBatch(accepted, [])
        accepted = result.filter(pc.invert(bad)).select([*names, ROW]).cast(self.staged_schema)
        idx = pc.indices_nonzero(bad)
        raw_rows = table.take(idx).to_pylist()
        reasons = result.select(reason_cols).take(idx).to_pylist()
        row_numbers = result[ROW].take(idx).to_pylist()
        rejected = []
        for raw, why, number in zip(raw_rows, reasons, row_numbers, strict=True):
            problems = []
            for c in reason_cols:
                if why[c] is not None:
                    f = self.schema.fields[int(c.removeprefix("__cb_why"))]
                    problems.append({"field": f.name, "title": f.title, "reason": why[c]})
            rejected.append(
                {
                    "row_number": number,
                    "field": problems[0]["field"],
                    "reason": f"{self.schema.field(problems[0]['field']).label}：{problems[0]['reason']}",
                    "kind": problem_kind(problems[0]["reason"]),
                    "problems": problems,
                    "raw": jsonable_row(raw),
                }
            )
        return CheckedBatch(accepted, rejected)


def problem_kind(problem: str) -> str:
    """The check a problem failed, without the offending value: ``不是有效的日期：2020-02-31`` →
    ``不是有效的日期``, ``长度应为 18 个字符，实际 17 个`` → ``长度应为 18 个字符``. Quarantined rows are
    grouped by field and kind, so that a steward sees one line per kind of mistake, not per value."""
    cut = [i for i in (problem.find("："), problem.find("，")) if i > 0]
    return problem[: min(cut)] if cut else problem


def jsonable(value: Any) -> Any:
    """A cell as JSON: text stays text; dates, decimals and the like become their ISO/plain text."""
    if value is None or isinstance(value, str | bool | int):
        return value
    if isinstance(value, float):
        return None if math.isnan(value) or math.isinf(value) else value
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        text = format(value, "f")
        return text.rstrip("0").rstrip(".") if "." in text else text
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, dict | list):
        return json.loads(json.dumps(value, ensure_ascii=False, default=str))
    return str(value)


def jsonable_row(row: dict[str, Any]) -> dict[str, Any]:
    return {k: jsonable(v) for k, v in row.items()}


# --- one load, end to end (no database: the caller records the outcome) -------------------------

Progress = Callable[[float, str], None]


def _no_progress(_fraction: float, _message: str) -> None:
    return None


@dataclass
class InputData:
    """What a connector hands over: batches of cells plus how the input was understood."""

    batches: Iterator[pa.RecordBatch]
    columns: list[str]
    info: dict[str, Any] = field(default_factory=dict)
    #: rows expected, when cheaply known, for progress
    estimated_rows: int | None = None
    #: whether ``columns`` is a real header (files, tables) rather than the keys of a first page
    header: bool = True
    #: filled once the batches are consumed; connectors put the new watermark here
    state: dict[str, Any] = field(default_factory=dict)
    #: columns a pull uses for its own tracking (the watermark column), not loaded unless catalogued
    bookkeeping: tuple[str, ...] = ()


@dataclass
class Outcome:
    rows_read: int = 0
    rows_accepted: int = 0
    rows_quarantined: int = 0
    version: VersionInfo | None = None
    #: NDJSON file of quarantined rows (row_number, field, reason, problems, raw)
    rejected_path: Path | None = None
    checks_skipped: list[str] = field(default_factory=list)

    def rejected(self) -> Iterator[list[dict[str, Any]]]:
        """Quarantined rows in chunks, read back from the spill file."""
        if self.rejected_path is None or not self.rejected_path.exists():
            return
        chunk: list[dict[str, Any]] = []
        with open(self.rejected_path, encoding="utf-8") as fh:
            for line in fh:
                chunk.append(json.loads(line))
                if len(chunk) >= INSERT_CHUNK:
                    yield chunk
                    chunk = []
        if chunk:
            yield chunk


class _Throttle:
    def __init__(self, progress: Progress, every: float = 0.5) -> None:
        self.progress = progress
        self.every = every
        self.last = 0.0

    def __call__(self, fraction: float, message: str, *, force: bool = False) -> None:
        now = time.monotonic()
        if force or now - self.last >= self.every:
            self.last = now
            self.progress(min(max(fraction, 0.0), 1.0), message)


def process(
    schema: ResourceSchema,
    data: InputData,
    lake: Lake,
    staging: Path,
    *,
    mode: str,
    lineage: dict[str, Any],
    source: str,
    progress: Progress = _no_progress,
    progress_every: float = 0.5,
) -> Outcome:
    """Check every row, stage the good ones, settle duplicate keys, write one lake version.

    ``mode``: ``replace`` (the load is the whole resource), ``merge`` (upsert by primary key), or
    ``append`` (add to the current rows; resubmits to resources without a primary key). No
    version is written when no row is accepted: an all-bad file must not replace good data.
    """
    staging.mkdir(parents=True, exist_ok=True)
    tick = _Throttle(progress, progress_every)
    checker = RowChecker(schema, source=source, bookkeeping=data.bookkeeping)
    outcome = Outcome(rejected_path=staging / "quarantine.ndjson")
    staged = staging / "accepted.parquet"
    try:
        if data.header and data.columns:
            checker.check_header(data.columns)
        writer = pq.ParquetWriter(staged, checker.staged_schema, compression="zstd")
        try:
            with open(outcome.rejected_path, "w", encoding="utf-8") as spill:
                for batch in data.batches:
                    if batch.num_rows == 0:
                        continue
                    checked = checker.check(batch, outcome.rows_read + 1)
                    outcome.rows_read += batch.num_rows
                    if checked.accepted.num_rows:
                        writer.write_table(checked.accepted)
                        outcome.rows_accepted += checked.accepted.num_rows
                    for row in checked.rejected:
                        spill.write(json.dumps(row, ensure_ascii=False) + "\n")
                    outcome.rows_quarantined += len(checked.rejected)
                    fraction = outcome.rows_read / data.estimated_rows if data.estimated_rows else 0.5
                    tick(0.05 + 0.75 * min(fraction, 1.0), f"已读取 {outcome.rows_read} 行")
        finally:
            writer.close()
        outcome.checks_skipped = checker.skipped
        if schema.primary_key and outcome.rows_accepted:
            moved = _quarantine_duplicates(schema, staged, outcome.rejected_path)
            outcome.rows_accepted -= moved
            outcome.rows_quarantined += moved
        assert outcome.rows_read == outcome.rows_accepted + outcome.rows_quarantined
        if outcome.rows_accepted == 0:
            tick(1.0, "没有通过校验的数据行，未写入新版本", force=True)
            return outcome
        tick(0.85, f"正在写入数据湖（{outcome.rows_accepted} 行）", force=True)
        full_lineage = {
            **lineage,
            "rows_read": outcome.rows_read,
            "rows_accepted": outcome.rows_accepted,
            "rows_quarantined": outcome.rows_quarantined,
            "resource_revision": schema.revision,
            "schema_hash": schema.schema_hash(),
            "checks_skipped": outcome.checks_skipped,
        }
        outcome.version = _write_version(schema, lake, staged, mode=mode, lineage=full_lineage)
        tick(1.0, f"已写入版本 {outcome.version.version}", force=True)
        return outcome
    finally:
        checker.close()


def _quarantine_duplicates(schema: ResourceSchema, staged: Path, spill: Path) -> int:
    """Move every staged row whose primary key occurs more than once to quarantine; return how many."""
    keys = ", ".join(_ident(k) for k in schema.primary_key)
    staged_sql = f"read_parquet({_lit(str(staged))})"
    # Grouping, not a window list: a key repeated n times must cost O(n), and the reason names at
    # most the first few rows sharing it.
    sql = (
        f"WITH g AS (SELECT {keys}, count(*) AS __cb_n, list({_ident(ROW)} ORDER BY {_ident(ROW)})[1:{_DUP_SHOWN}] "
        f"AS __cb_rows FROM {staged_sql} GROUP BY {keys} HAVING count(*) > 1) "
        f"SELECT s.*, g.__cb_n, g.__cb_rows FROM {staged_sql} s JOIN g USING ({keys}) ORDER BY s.{_ident(ROW)}"
    )
    with duckdb.connect() as con:
        label = "+".join(schema.field(k).label for k in schema.primary_key)
        moved: list[pa.Array] = []
        # in batches: a file whose keys mostly repeat must not become one Python list of millions of rows
        with open(spill, "a", encoding="utf-8") as fh:
            for batch in _reader(con.sql(sql), 50_000):
                moved.append(batch.column(ROW))
                _spill_duplicates(schema, label, batch, fh)
        count = sum(len(m) for m in moved)
        if count == 0:
            return 0
        # Rewrite the staged file without them, so the lake sees only unambiguous rows.
        kept = staged.with_name("accepted-unique.parquet")
        dups = pa.table({ROW: pa.chunked_array(moved, type=moved[0].type)})
        con.register("dups", dups)
        con.sql(
            f"COPY (SELECT s.* FROM read_parquet({_lit(str(staged))}) s ANTI JOIN dups USING ({_ident(ROW)}) "
            f"ORDER BY {_ident(ROW)}) TO {_lit(str(kept))} (FORMAT parquet)"
        )
        kept.replace(staged)
        return count


def _spill_duplicates(schema: ResourceSchema, label: str, batch: pa.RecordBatch, fh: Any) -> None:
    for row in batch.to_pylist():
        shown = "、".join(str(n) for n in row.pop("__cb_rows"))
        count = row.pop("__cb_n")
        number = row.pop(ROW)
        key_text = "、".join(str(jsonable(row[k])) for k in schema.primary_key)
        rows_text = f"第 {shown} 条" if count <= _DUP_SHOWN else f"共 {count} 条（第 {shown} 条等）"
        reason = f"主键 {label} 重复：{rows_text}数据的主键都是 {key_text}"
        entry = {
            "row_number": number,
            "field": schema.primary_key[0],
            "reason": reason,
            "kind": f"主键 {label} 重复",
            "problems": [{"field": k, "title": schema.field(k).title, "reason": reason} for k in schema.primary_key],
            "raw": jsonable_row(row),
        }
        fh.write(json.dumps(entry, ensure_ascii=False) + "\n")


def _write_version(
    schema: ResourceSchema, lake: Lake, staged: Path, *, mode: str, lineage: dict[str, Any]
) -> VersionInfo:
    cols = ", ".join(_ident(f.name) for f in schema.fields)
    target = schema.arrow_schema
    with duckdb.connect() as con:
        new = f"SELECT {cols} FROM read_parquet({_lit(str(staged))}) ORDER BY {_ident(ROW)}"
        if mode == "append" and lake.current(schema.key) is not None:
            files = ", ".join(_lit(str(p)) for p in lake.files(schema.key))
            new = f"SELECT {cols} FROM read_parquet([{files}]) UNION ALL ({new})"
        try:
            reader = _reader(con.sql(new), 65_536)
        except duckdb.Error as exc:  # the current version's columns no longer match the catalog
            raise Invalid(f"无法与当前版本合并：{exc}", details={"resource": schema.key}) from exc
        batches = (b if b.schema == target else b.cast(target) for b in reader)
        lake_mode = "merge" if mode == "merge" else "full"
        return lake.write(
            schema.key,
            batches,
            mode=lake_mode,
            primary_key=list(schema.primary_key) or None,
            lineage={**lineage, "load_mode": mode},
            schema=target,
        )
