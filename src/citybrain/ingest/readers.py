"""File readers for aggregation (归集): department files in, Arrow record batches out.

Every reader streams where its format allows, so a multi-gigabyte CSV never sits in memory whole.
CSV, XLSX and JSON cells are read as strings (``"0101"`` stays ``"0101"``, a 公民身份号码 (GB 11643)
keeps its trailing ``X``): typing happens later against the catalog (目录), where the schema lives.
Parquet is already typed and passes through as is.

Errors are :class:`~citybrain.errors.Invalid` with a Chinese message naming the file, the line or
row, and what is wrong; ``details`` carries the same facts for programs (at most
:data:`MAX_REPORTED_PROBLEMS` bad rows, plus the total).
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import itertools
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from citybrain.errors import Invalid
from citybrain.ingest.encoding import SAMPLE_BYTES, TranscodingReader, detect_encoding, normalize_encoding

#: rows per batch for readers that build batches in Python (XLSX, JSON)
BATCH_ROWS = 10_000
#: bytes per CSV block handed to pyarrow; one record batch per block
CSV_BLOCK_BYTES = 16 << 20
#: rows looked at when searching for the header below a title row (标题行)
HEADER_SCAN_ROWS = 20
MAX_REPORTED_PROBLEMS = 100

_EXTENSIONS = {
    ".csv": "csv",
    ".tsv": "csv",
    ".txt": "csv",
    ".xlsx": "xlsx",
    ".xlsm": "xlsx",
    ".json": "json",
    ".ndjson": "ndjson",
    ".jsonl": "ndjson",
    ".parquet": "parquet",
    ".pq": "parquet",
}
FORMATS = frozenset(_EXTENSIONS.values())
_DELIMITERS = (",", "\t", ";", "|")
_LINE_BREAK = re.compile(r"\r\n|\n|\r")


@dataclass
class ReadResult:
    """What a reader found: lazily produced batches plus how the file was understood."""

    batches: Iterator[pa.RecordBatch]
    columns: list[str]
    #: character encoding detected or given (``None`` for binary formats)
    encoding: str | None
    #: 1-based line (CSV) or row (XLSX) holding the header; ``None`` where the format has none
    header_row: int | None
    format: str

    def read_all(self) -> pa.Table:
        """All batches as one table (small files and tests only)."""
        batches = list(self.batches)
        if not batches:
            return pa.table({c: pa.array([], pa.string()) for c in self.columns})
        return pa.Table.from_batches(batches)


def read_file(
    path: str | Path,
    *,
    format: str | None = None,
    sheet: str | None = None,
    encoding: str | None = None,
    delimiter: str | None = None,
) -> ReadResult:
    """Open a department file and return its rows as a stream of Arrow record batches.

    ``format`` defaults from the extension (csv/tsv/txt, xlsx, json, ndjson/jsonl, parquet);
    ``sheet`` names an XLSX worksheet (default: the first); ``encoding`` overrides detection
    (GBK and GB2312 are read as GB18030); ``delimiter`` overrides CSV delimiter sniffing.
    """
    path = Path(path)
    if not path.is_file():
        raise Invalid(f"文件不存在：{path.name}", details={"file": str(path)})
    fmt = (format or _EXTENSIONS.get(path.suffix.lower(), "")).lower()
    if fmt == "xls" or (not format and path.suffix.lower() == ".xls"):
        raise Invalid(f"文件 {path.name}：不支持旧版 .xls 格式，请另存为 .xlsx 或 CSV", details={"file": path.name})
    if fmt not in FORMATS:
        raise Invalid(
            f"文件 {path.name}：无法识别的文件格式，支持 {', '.join(sorted(FORMATS))}",
            details={"file": path.name, "format": format},
        )
    if fmt == "csv":
        return _read_csv(path, encoding=encoding, delimiter=delimiter)
    if fmt == "xlsx":
        return _read_xlsx(path, sheet=sheet)
    if fmt in ("json", "ndjson"):
        return _read_json(path, ndjson=fmt == "ndjson", encoding=encoding)
    return _read_parquet(path)


# --- header detection (shared by CSV and XLSX) -------------------------------------------------


def _filled(row: Iterable[str | None]) -> int:
    return sum(1 for v in row if v is not None and v.strip())


def _find_header(rows: list[list[str | None]], file: str) -> int:
    """Index of the header row among the first rows of a sheet.

    Tables exported from government systems often carry a title (标题行, e.g. "2023年溧阳市人口统计表",
    merged across the width) and a subtitle (填报单位、日期) above the header. A merged title keeps
    its value only in the first cell, so both look like rows much narrower than the table; the
    header is the first row more than half as wide as the widest of the scanned rows. openpyxl's
    read-only mode cannot see merged ranges (they are stored after the cell data), so width is
    the signal for XLSX as well as CSV.
    """
    widths = [_filled(r) for r in rows]
    widest = max(widths, default=0)
    if widest == 0:
        raise Invalid(f"文件 {file}：没有找到表头（前 {len(rows)} 行都是空的）", details={"file": file})
    need = max(2, widest // 2 + 1) if widest >= 2 else 1
    return next(i for i, w in enumerate(widths) if w >= need)


def _column_names(header: list[str | None], file: str, header_row: int) -> tuple[list[str], int]:
    """Cleaned column names, and how many leading cells are real columns (trailing blanks dropped)."""
    names = [(v or "").strip().lstrip("\ufeff") for v in header]
    width = len(names)
    while width and not names[width - 1]:
        width -= 1
    names = names[:width]
    problems: list[str] = []
    for i, name in enumerate(names, start=1):
        if not name:
            problems.append(f"第 {i} 列的列名为空")
    seen: dict[str, int] = {}
    for i, name in enumerate(names, start=1):
        if name and name in seen:
            problems.append(f"第 {i} 列与第 {seen[name]} 列重名（{name}）")
        seen.setdefault(name, i)
    if problems:
        raise Invalid(
            f"文件 {file} 第 {header_row} 行（表头）：{'；'.join(problems)}",
            details={"file": file, "line": header_row, "problems": problems},
        )
    return names, width


# --- CSV ----------------------------------------------------------------------------------------


def _sniff_delimiter(lines: list[str]) -> str:
    # csv.Sniffer guesses wrongly on Chinese text with few columns; the widest split of the first
    # lines is a sturdier signal, and a comma wins ties because it is by far the most common.
    best, best_count = ",", 0
    for cand in _DELIMITERS:
        count = max((line.count(cand) for line in lines), default=0)
        if count > best_count:
            best, best_count = cand, count
    return best


def _read_csv(path: Path, *, encoding: str | None, delimiter: str | None) -> ReadResult:
    file = path.name
    with open(path, "rb") as fh:
        sample = fh.read(SAMPLE_BYTES)
        truncated = bool(fh.read(1))
    enc = normalize_encoding(encoding) if encoding else detect_encoding(sample, truncated=truncated)
    try:
        text = codecs.getincrementaldecoder(enc)(errors="strict").decode(sample, final=not truncated)
    except UnicodeDecodeError as exc:
        line = sample[: exc.start].count(b"\n") + 1
        raise Invalid(
            f"文件 {file} 第 {line} 行：含有不是 {enc.upper()} 编码的字节",
            details={"file": file, "line": line, "encoding": enc},
        ) from exc
    # A GB18030 BOM (84 31 95 33) decodes to U+FEFF and stays in the text: the transcoder emits it
    # too, so byte offsets computed below line up; _column_names strips it from the first name.
    if truncated:
        # The sample's last line may be cut off mid-way; keep only whole lines for header search.
        cut = max(text.rfind("\n"), text.rfind("\r"))
        text = text[: cut + 1] if cut >= 0 else text
    head_lines = _LINE_BREAK.split(text, maxsplit=HEADER_SCAN_ROWS)[:HEADER_SCAN_ROWS]
    delim = delimiter or _sniff_delimiter(head_lines)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delim)
    rows: list[list[str | None]] = []
    ends: list[int] = []
    for row in itertools.islice(reader, HEADER_SCAN_ROWS):
        rows.append(list(row))
        ends.append(reader.line_num)
    if not rows:
        raise Invalid(f"文件 {file}：文件是空的", details={"file": file})
    idx = _find_header(rows, file)
    header_line = ends[idx]
    names, width = _column_names(rows[idx], file, header_line)
    # Byte offset of the first data line in the UTF-8 stream pyarrow reads: the raw file for UTF-8,
    # the transcoder's output otherwise; both are the UTF-8 bytes of the decoded header lines.
    end = len(text)
    for n, brk in enumerate(_LINE_BREAK.finditer(text), start=1):
        if n == header_line:
            end = brk.end()
            break
    skip = len(text[:end].encode("utf-8"))
    if enc == "utf-8-sig":
        skip += len(codecs.BOM_UTF8)
    placeholders = [f"_blank_{i}" for i in range(width, len(rows[idx]))]
    return ReadResult(
        batches=_csv_batches(path, enc, delim, names, placeholders, skip, header_line),
        columns=names,
        encoding=enc,
        header_row=header_line,
        format="csv",
    )


def _csv_batches(
    path: Path, enc: str, delim: str, names: list[str], placeholders: list[str], skip: int, header_line: int
) -> Iterator[pa.RecordBatch]:
    file = path.name
    bad_rows: list[dict[str, Any]] = []
    bad_count = 0
    all_names = names + placeholders

    def on_invalid(row: pacsv.InvalidRow) -> str:
        nonlocal bad_count
        bad_count += 1
        if len(bad_rows) < MAX_REPORTED_PROBLEMS:
            line = header_line + row.number if row.number is not None else None
            bad_rows.append(
                {
                    "line": line,
                    "cells": row.actual_columns,
                    "expected": row.expected_columns,
                    "text": row.text[:200],
                }
            )
        return "skip"

    if enc in ("utf-8", "utf-8-sig"):
        # pyarrow reads UTF-8 itself (and validates it) at C++ speed; no Python in the loop.
        source: Any = pa.OSFile(str(path))
        source.seek(skip)
    else:
        source = TranscodingReader(open(path, "rb"), enc, name=file)  # noqa: SIM115 - closed below
        _discard(source, skip)
    try:
        reader = pacsv.open_csv(
            source,
            read_options=pacsv.ReadOptions(column_names=all_names, block_size=CSV_BLOCK_BYTES, use_threads=False),
            parse_options=pacsv.ParseOptions(delimiter=delim, newlines_in_values=True, invalid_row_handler=on_invalid),
            convert_options=pacsv.ConvertOptions(
                column_types={n: pa.string() for n in all_names},
                include_columns=names,
                # Empty cells stay empty strings: "" versus NULL is decided later against the catalog.
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
        yield from reader
    except pa.ArrowInvalid as exc:
        msg = str(exc)
        reason = "含有无效的 UTF-8 字节" if "UTF8" in msg else f"无法解析（{msg}）"
        raise Invalid(f"文件 {file}：{reason}", details={"file": file, "error": msg}) from exc
    finally:
        source.close()
    if bad_count:
        first = bad_rows[0]
        raise Invalid(
            f"文件 {file} 共有 {bad_count} 行单元格个数与表头不符，第一处：{_describe_bad_row(first, len(names))}",
            details={"file": file, "bad_rows": bad_count, "rows": bad_rows},
        )


def _describe_bad_row(bad: dict[str, Any], columns: int) -> str:
    where = f"第 {bad['line']} 行" if bad["line"] is not None else "某行"
    cells = bad["cells"]
    if cells > bad["expected"]:
        return f"{where}有 {cells} 个单元格，比表头的 {columns} 列多 {cells - bad['expected']} 个"
    return f"{where}只有 {cells} 个单元格，表头有 {columns} 列"


def _discard(stream: io.RawIOBase, n: int) -> None:
    while n > 0:
        got = stream.read(min(n, 1 << 20))
        if not got:
            return
        n -= len(got)


# --- XLSX ---------------------------------------------------------------------------------------


def _cell_text(cell: Any) -> str | None:
    value = getattr(cell, "value", None)
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time(0) else value.isoformat(sep=" ")
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, int | float):
        fmt = getattr(cell, "number_format", "General") or "General"
        if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
            value = int(value)
        if isinstance(value, int):
            # A code column formatted "000000" shows 001234 in Excel although it stores 1234.
            if fmt and set(fmt) == {"0"}:
                return str(value).zfill(len(fmt))
            return str(value)
        return repr(value)
    return str(value)


def _read_xlsx(path: Path, *, sheet: str | None) -> ReadResult:
    from openpyxl import load_workbook

    file = path.name
    try:
        wb = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises zipfile, KeyError and others for broken files
        raise Invalid(f"文件 {file}：不是有效的 XLSX 文件（{exc}）", details={"file": file}) from exc
    if sheet is not None and sheet not in wb.sheetnames:
        wb.close()
        raise Invalid(
            f"文件 {file}：没有名为“{sheet}”的工作表，现有：{'、'.join(wb.sheetnames)}",
            details={"file": file, "sheet": sheet, "sheets": wb.sheetnames},
        )
    ws = wb[sheet] if sheet is not None else wb.worksheets[0]
    rows_iter = _xlsx_rows(ws)
    head: list[tuple[int, list[str | None]]] = list(itertools.islice(rows_iter, HEADER_SCAN_ROWS))
    if not head:
        wb.close()
        raise Invalid(f"文件 {file}：工作表“{ws.title}”是空的", details={"file": file, "sheet": ws.title})
    idx = _find_header([r for _, r in head], file)
    header_row, header = head[idx]
    names, _ = _column_names(header, file, header_row)
    rest = itertools.chain(head[idx + 1 :], rows_iter)
    return ReadResult(
        batches=_xlsx_batches(wb, rest, names, file),
        columns=names,
        encoding=None,
        header_row=header_row,
        format="xlsx",
    )


def _xlsx_rows(ws: Any) -> Iterator[tuple[int, list[str | None]]]:
    """(row number, cell texts) for each non-empty row."""
    last = 0
    for cells in ws.iter_rows():
        number = next((c.row for c in cells if getattr(c, "row", None)), last + 1)
        last = number
        values = [_cell_text(c) for c in cells]
        if _filled(values):
            yield number, values


def _xlsx_batches(
    wb: Any, rows: Iterator[tuple[int, list[str | None]]], names: list[str], file: str
) -> Iterator[pa.RecordBatch]:
    width = len(names)
    schema = pa.schema([(n, pa.string()) for n in names])
    try:
        buffer: list[list[str | None]] = []
        for number, values in rows:
            extra = values[width:]
            if _filled(extra):
                raise Invalid(
                    f"文件 {file} 第 {number} 行："
                    f"有 {width + len(extra) - _trailing_blanks(extra)} 个单元格，比表头的 {width} 列多",
                    details={"file": file, "row": number, "columns": width},
                )
            values = values[:width] + [None] * (width - len(values))
            buffer.append(values)
            if len(buffer) >= BATCH_ROWS:
                yield _batch_from_rows(buffer, schema)
                buffer = []
        if buffer:
            yield _batch_from_rows(buffer, schema)
    finally:
        wb.close()


def _trailing_blanks(values: list[str | None]) -> int:
    n = 0
    for v in reversed(values):
        if v is not None and v.strip():
            break
        n += 1
    return n


def _batch_from_rows(rows: list[list[str | None]], schema: pa.Schema) -> pa.RecordBatch:
    columns = [pa.array(col, pa.string()) for col in zip(*rows, strict=True)]
    return pa.RecordBatch.from_arrays(columns, schema=schema)


# --- JSON / NDJSON ------------------------------------------------------------------------------


def _json_text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def _find_records(doc: Any, file: str) -> list[Any]:
    """The list of objects in a JSON document: the document itself, or the one list under a key."""
    if isinstance(doc, list):
        return doc
    if not isinstance(doc, dict):
        raise Invalid(f"文件 {file}：JSON 顶层应为对象数组或包含对象数组的对象", details={"file": file})
    found: list[tuple[str, list[Any]]] = []
    frontier: list[tuple[str, Any]] = [(k, v) for k, v in doc.items()]
    for _depth in range(3):  # APIs wrap rows as {"data": {"list": [...]}} at most this deep
        nxt: list[tuple[str, Any]] = []
        for key, value in frontier:
            if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
                found.append((key, value))
            elif isinstance(value, dict):
                nxt.extend((f"{key}.{k}", v) for k, v in value.items())
        if found:
            break
        frontier = nxt
    if len(found) != 1:
        keys = [k for k, _ in found]
        reason = "没有找到对象数组" if not found else f"有多个对象数组（{'、'.join(keys)}），无法确定哪个是数据"
        raise Invalid(f"文件 {file}：{reason}", details={"file": file, "keys": keys})
    return found[0][1]


def _read_json(path: Path, *, ndjson: bool, encoding: str | None) -> ReadResult:
    file = path.name
    with open(path, "rb") as fh:
        sample = fh.read(SAMPLE_BYTES)
        truncated = bool(fh.read(1))
    enc = normalize_encoding(encoding) if encoding else detect_encoding(sample, truncated=truncated)
    if not ndjson:
        # A JSON array cannot be parsed incrementally with the standard library; department JSON
        # exports are API dumps of modest size. Large feeds should come as NDJSON, which streams.
        try:
            doc = json.loads(path.read_text(encoding=enc))
        except json.JSONDecodeError as exc:
            if exc.msg == "Extra data" and sample.lstrip().startswith(b"{"):
                ndjson = True  # one object per line saved with a .json extension
            else:
                raise Invalid(
                    f"文件 {file} 第 {exc.lineno} 行第 {exc.colno} 列：JSON 格式错误（{exc.msg}）",
                    details={"file": file, "line": exc.lineno, "column": exc.colno},
                ) from exc
        except UnicodeDecodeError as exc:
            raise Invalid(f"文件 {file}：含有不是 {enc.upper()} 编码的字节", details={"file": file}) from exc
    if ndjson:
        # Two passes: later lines may add keys the first ones lack, and columns must be known up front.
        names = _ndjson_columns(path, enc, file)
        return ReadResult(_ndjson_batches(path, enc, names, file), names, enc, None, "ndjson")
    records = _find_records(doc, file)
    names: list[str] = []
    seen: set[str] = set()
    for i, rec in enumerate(records, start=1):
        if not isinstance(rec, dict):
            raise Invalid(f"文件 {file} 第 {i} 条记录：不是 JSON 对象", details={"file": file, "record": i})
        for key in rec:
            if key not in seen:
                seen.add(key)
                names.append(key)
    return ReadResult(_records_batches(records, names), names, enc, None, "json")


def _records_batches(records: list[dict[str, Any]], names: list[str]) -> Iterator[pa.RecordBatch]:
    schema = pa.schema([(n, pa.string()) for n in names])
    for start in range(0, len(records), BATCH_ROWS):
        chunk = records[start : start + BATCH_ROWS]
        arrays = [pa.array([_json_text(r.get(n)) for r in chunk], pa.string()) for n in names]
        yield pa.RecordBatch.from_arrays(arrays, schema=schema)


def _ndjson_objects(path: Path, enc: str, file: str) -> Iterator[tuple[int, dict[str, Any]]]:
    with open(path, encoding=enc, newline="") as fh:
        for line_no, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                raise Invalid(
                    f"文件 {file} 第 {line_no} 行：JSON 格式错误（{exc.msg}）",
                    details={"file": file, "line": line_no},
                ) from exc
            if not isinstance(obj, dict):
                raise Invalid(f"文件 {file} 第 {line_no} 行：不是 JSON 对象", details={"file": file, "line": line_no})
            yield line_no, obj


def _ndjson_columns(path: Path, enc: str, file: str) -> list[str]:
    names: dict[str, None] = {}
    for _, obj in _ndjson_objects(path, enc, file):
        for key in obj:
            names.setdefault(key)
    return list(names)


def _ndjson_batches(path: Path, enc: str, names: list[str], file: str) -> Iterator[pa.RecordBatch]:
    objects = (obj for _, obj in _ndjson_objects(path, enc, file))
    while chunk := list(itertools.islice(objects, BATCH_ROWS)):
        yield from _records_batches(chunk, names)


# --- Parquet ------------------------------------------------------------------------------------


def _read_parquet(path: Path) -> ReadResult:
    try:
        pf = pq.ParquetFile(path)
    except (pa.ArrowInvalid, OSError) as exc:
        raise Invalid(f"文件 {path.name}：不是有效的 Parquet 文件（{exc}）", details={"file": path.name}) from exc
    return ReadResult(
        batches=pf.iter_batches(batch_size=65_536),
        columns=list(pf.schema_arrow.names),
        encoding=None,
        header_row=None,
        format="parquet",
    )
