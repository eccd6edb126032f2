"""The engine's Arrow path: row rules evaluated on the source's columns, read once, batch by batch.

Where the source is Parquet or an Arrow table and every row rule has a whole-column kernel
(:mod:`citybrain.quality.column_rules`, :mod:`citybrain.quality.uniqueness`), DuckDB's projection,
UDF hand-offs and temp table are skipped: the needed columns are read in batches of about half a
million rows (two at a time, on two threads: numpy and Arrow release the GIL), each rule's failures are
counted and its first failing rows by key kept as candidates, and uniqueness is answered once every
batch is in. The answers are the SQL path's (the tests compare them), including which rows are
sampled: the first ``sample_size`` failing rows by (row key, reported value), nulls last.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from citybrain.quality.column_rules import BatchColumns, RowKernel, has_kernel, row_kernel, text
from citybrain.quality.rules import RowRule, UniquenessRule
from citybrain.quality.uniqueness import Duplicates, UniqueKernel

BATCH_ROWS = 1 << 19
#: bytes a row under which a Parquet text column is read as a dictionary (see :func:`_few_values`)
DICTIONARY_BYTES = 4.0
#: pyarrow 25 moved null placement into each sort key and deprecated the global option
_PER_KEY_NULLS = int(pa.__version__.split(".")[0]) >= 25
#: one sample: the row key and the text of each column the rule reads
Sample = tuple[str | None, tuple[str | None, ...]]


@dataclass(frozen=True)
class Outcome:
    """One row rule's answer: rows checked, rows failed, sampled failing rows in report order."""

    checked: int
    failed: int
    samples: tuple[Sample, ...]


def supported_type(t: pa.DataType) -> bool:
    """Types whose text form and comparisons are the same in Arrow as in DuckDB's casts."""
    return pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_integer(t) or pa.types.is_date32(t)


# ---------------------------------------------------------------------------------------------------
# sources


@dataclass(frozen=True)
class _Unit:
    """A slice of the source to read and check as one batch."""

    rows: int
    read: Callable[[], pa.Table]


def _few_values(file: pq.ParquetFile, columns: list[str]) -> list[str]:
    """The text columns stored as a dictionary of few values (their first row group's pages take under
    :data:`DICTIONARY_BYTES` a row: codes, a sex, a date): read as a dictionary, they are not written
    out row by row, and their rules judge each distinct value once."""
    meta = file.metadata
    if not meta.num_row_groups:
        return []
    schema, group = file.schema_arrow, meta.row_group(0)
    chunks = {group.column(j).path_in_schema: group.column(j) for j in range(group.num_columns)}
    out = []
    for name in columns:
        chunk = chunks.get(name)
        if chunk is None or not pa.types.is_string(schema.field(name).type) or not chunk.has_dictionary_page:
            continue
        if chunk.total_uncompressed_size < DICTIONARY_BYTES * max(chunk.num_values, 1):
            out.append(name)
    return out


def _parquet_units(paths: Sequence[str], columns: list[str]) -> list[_Unit]:
    units = []
    for path in paths:
        file = pq.ParquetFile(path)
        meta, dictionary = file.metadata, _few_values(file, columns)
        group: list[int] = []
        rows = 0
        for i in range(meta.num_row_groups):
            group.append(i)
            rows += meta.row_group(i).num_rows
            if rows >= BATCH_ROWS or i == meta.num_row_groups - 1:
                units.append(_Unit(rows, _row_group_reader(path, group, columns, dictionary)))
                group, rows = [], 0
    return units


def _row_group_reader(
    path: str, groups: list[int], columns: list[str], dictionary: list[str]
) -> Callable[[], pa.Table]:
    # each thread opens its own reader (a ParquetFile is not meant to be shared across threads), on a
    # memory map: pages come from the OS cache as they are, not copied into fresh buffers first
    def read() -> pa.Table:
        file = pq.ParquetFile(path, memory_map=True, read_dictionary=dictionary)
        return file.read_row_groups(groups, columns=columns, use_threads=False)

    return read


def _table_units(table: pa.Table, columns: list[str]) -> list[_Unit]:
    table = table.select(columns)
    return [
        _Unit(min(BATCH_ROWS, table.num_rows - start), lambda s=start: table.slice(s, BATCH_ROWS))
        for start in range(0, table.num_rows, BATCH_ROWS)
    ]


def _schema(source: Any) -> tuple[pa.Schema, list[str]] | None:
    if isinstance(source, pa.Table):
        return source.schema, []
    paths = [str(source)] if isinstance(source, str | Path) else [str(p) for p in source]
    schemas = [pq.read_schema(p) for p in paths]
    if any(s != schemas[0] for s in schemas[1:]):
        return None
    return schemas[0], paths


def units_for(source: Any, columns: list[str], *, keyed: bool) -> list[_Unit] | None:
    """The source as batches of ``columns``, or ``None`` where the Arrow path cannot read it as the SQL
    path does (not Parquet or Arrow, a column type whose text form could differ, several files without
    a key, whose row numbers the SQL path takes from a window)."""
    is_paths = isinstance(source, str | Path) or (
        isinstance(source, list | tuple) and bool(source) and all(isinstance(s, str | Path) for s in source)
    )
    if not (isinstance(source, pa.Table) or is_paths):
        return None
    if is_paths and not isinstance(source, str | Path) and not keyed and len(source) > 1:
        return None
    found = _schema(source)
    if found is None:
        return None
    schema, paths = found
    for name in columns:
        if schema.get_field_index(name) < 0 or not supported_type(schema.field(name).type):
            return None
    return _table_units(source, columns) if isinstance(source, pa.Table) else _parquet_units(paths, columns)


# ---------------------------------------------------------------------------------------------------
# samples


def _keyless_candidates(rows: np.ndarray, k: int) -> np.ndarray:
    """Of ascending 1-based row numbers, the positions of those that can be among the first ``k`` as
    text (``"10"`` sorts before ``"9"``): the first ``k`` of each digit count."""
    if len(rows) <= k:
        return np.arange(len(rows))
    picks = []
    bound = 1
    while bound <= rows[-1]:
        start = np.searchsorted(rows, bound)
        stop = np.searchsorted(rows, bound * 10)
        picks.append(np.arange(start, min(stop, start + k)))
        bound *= 10
    return np.concatenate(picks)


def _first_k(table: pa.Table, k: int) -> pa.Table:
    """The first ``k`` rows by (key, first value), nulls last, as the SQL path's ORDER BY … LIMIT."""
    if _PER_KEY_NULLS:
        order = pc.sort_indices(table, sort_keys=[("key", "ascending", "at_end"), ("v0", "ascending", "at_end")])
    else:
        order = pc.sort_indices(table, sort_keys=[("key", "ascending"), ("v0", "ascending")], null_placement="at_end")
    return table.take(order[:k])


def _take(values: pa.Array | pa.ChunkedArray, rows: np.ndarray) -> pa.Array | pa.ChunkedArray:
    """``values.take(rows)``. Arrow takes from a chunked array by first joining its chunks — for the
    uniqueness samples, a copy of the whole key column for a few rows — so each chunk gives its own."""
    if not isinstance(values, pa.ChunkedArray) or values.num_chunks < 2:
        return values.take(pa.array(rows))
    starts = np.cumsum([0, *(len(c) for c in values.chunks)])
    order = np.argsort(rows, kind="stable")
    ordered = rows[order]
    chunk_of = np.searchsorted(starts, ordered, side="right") - 1
    bounds = np.searchsorted(chunk_of, np.arange(values.num_chunks + 1))
    parts = [
        values.chunk(i).take(pa.array(ordered[bounds[i] : bounds[i + 1]] - starts[i]))
        for i in range(values.num_chunks)
        if bounds[i] < bounds[i + 1]
    ]
    taken = pa.chunked_array(parts, type=values.type)
    # back in the order asked (the rows are few, and one chunk of them is cheap to take from)
    return taken if np.all(order[1:] > order[:-1]) else taken.combine_chunks().take(pa.array(np.argsort(order)))


def _candidates(
    rule: RowRule,
    values: Sequence[pa.Array | pa.ChunkedArray],
    keys: pa.Array | pa.ChunkedArray | None,
    failing: np.ndarray,
    offset: int,
    k: int,
) -> pa.Table | None:
    """The failing rows (positions ``failing`` in ``values``) that may be among the rule's first ``k``."""
    if k == 0 or not len(failing):
        return None
    if keys is None:
        # keyless: the key is the 1-based row number, unique, so it alone orders the rows
        failing = failing[_keyless_candidates(failing + offset + 1, k)]
        key = pa.array(failing + offset + 1).cast(pa.string())
    else:
        key = text(_take(keys, failing))
    # taken first, then written as text: a dictionary-encoded column is decoded for these rows only
    columns = {"key": key, **{f"v{j}": text(_take(v, failing)) for j, v in enumerate(values)}}
    return _first_k(pa.table(columns), k)


def _samples(rule: RowRule, parts: list[pa.Table], k: int) -> tuple[Sample, ...]:
    if not parts:
        return ()
    table = _first_k(pa.concat_tables(parts), k)
    keys = table["key"].to_pylist()
    values = [table[f"v{j}"].to_pylist() for j in range(len(rule.columns))]
    samples = [(keys[i], tuple(v[i] for v in values)) for i in range(table.num_rows)]
    # the report order, as the SQL path sorts its samples after reading them
    return tuple(sorted(samples, key=lambda s: (s[0] or "", s[1][0] or "")))


# ---------------------------------------------------------------------------------------------------
# the run


@dataclass
class _Batch:
    rows: int
    offset: int
    #: per row kernel: failed, unchecked, sample candidates
    flags: list[tuple[int, int, pa.Table | None]]
    #: per uniqueness rule: encoded keys, and the text kept for its samples
    encoded: list[Any]
    kept: list[tuple[list[pa.Array], pa.Array | None]]


def _prepare(table: pa.Table) -> BatchColumns:
    out = {}
    for name in table.column_names:
        col = table[name]
        out[name] = col.combine_chunks() if col.num_chunks != 1 else col.chunk(0)
    return BatchColumns(out)


def _check_batch(
    unit: _Unit,
    offset: int,
    row_kernels: Sequence[RowKernel],
    uniques: Sequence[UniqueKernel],
    key: str | None,
    k: int,
) -> _Batch:
    columns = _prepare(unit.read())
    n = unit.rows
    keys = columns[key] if key else None
    flags = []
    for kernel in row_kernels:
        failed, checked = kernel.evaluate(columns)
        failing = np.flatnonzero(failed)
        values = [columns[c] for c in kernel.rule.columns]
        candidates = _candidates(kernel.rule, values, keys, failing, offset, k)
        flags.append((len(failing), n - int(np.count_nonzero(checked)), candidates))
    encoded = [u.encode(columns) for u in uniques]
    kept = [([columns[c] for c in u.rule.columns], keys) for u in uniques]
    return _Batch(n, offset, flags, encoded, kept)


def _offsets(units: list[_Unit]) -> list[int]:
    return np.concatenate([[0], np.cumsum([u.rows for u in units])]).astype(int).tolist()[: len(units)]


def can_run(rules: Sequence[RowRule]) -> bool:
    return all(has_kernel(r) for r in rules)


def run_row_rules(
    units: list[_Unit],
    rules: Sequence[RowRule],
    lookups: Mapping[str, pa.Array],
    *,
    key: str | None,
    sample_size: int,
    threads: int | None = None,
) -> list[Outcome] | None:
    """Each rule's outcome, in the order given, or ``None`` where a rule has no kernel."""
    row_kernels: list[RowKernel] = []
    uniques: list[UniqueKernel] = []
    for rule in rules:
        if isinstance(rule, UniquenessRule) and type(rule) is UniquenessRule:
            uniques.append(UniqueKernel(rule))
            continue
        kernel = row_kernel(rule, lookups)
        if kernel is None:
            return None
        row_kernels.append(kernel)
    threads = threads or min(2, os.cpu_count() or 1)

    def work(unit: _Unit, offset: int) -> _Batch:
        return _check_batch(unit, offset, row_kernels, uniques, key, sample_size)

    threads = max(1, min(threads, len(units)))
    pool = ThreadPoolExecutor(max_workers=threads) if threads > 1 else None
    try:
        return _run(units, rules, row_kernels, uniques, work, pool, key=key, sample_size=sample_size)
    finally:
        if pool is not None:
            # on an error, the batches not yet started are not read for nothing
            pool.shutdown(cancel_futures=True)


def _run(
    units: list[_Unit],
    rules: Sequence[RowRule],
    row_kernels: list[RowKernel],
    uniques: list[UniqueKernel],
    work: Callable[[_Unit, int], _Batch],
    pool: ThreadPoolExecutor | None,
    *,
    key: str | None,
    sample_size: int,
) -> list[Outcome]:
    mapper: Any = pool.map if pool is not None else map
    failed = [0] * len(row_kernels)
    unchecked = [0] * len(row_kernels)
    parts: list[list[pa.Table]] = [[] for _ in row_kernels]
    kept: list[list[tuple[list[pa.Array], pa.Array | None]]] = [[] for _ in uniques]
    for batch in mapper(work, units, _offsets(units)):
        for i, (f, u, cand) in enumerate(batch.flags):
            failed[i] += f
            unchecked[i] += u
            if cand is not None:
                parts[i].append(cand)
        for j, unique in enumerate(uniques):
            unique.add(batch.encoded[j], batch.rows)
            kept[j].append(batch.kept[j])

    total = sum(u.rows for u in units)
    outcomes: dict[str, Outcome] = {}
    for i, kernel in enumerate(row_kernels):
        outcomes[kernel.rule.id] = Outcome(
            total - unchecked[i], failed[i], _samples(kernel.rule, parts[i], sample_size)
        )
    for j, unique in enumerate(uniques):
        outcomes[unique.rule.id] = _unique_outcome(unique, kept[j], key, sample_size, total, mapper)
    return [outcomes[r.id] for r in rules]


def _first_failing(duplicates: Duplicates, rows: int, k: int) -> np.ndarray:
    """0-based positions of failing rows that can be among the first ``k`` by row number as text: the
    first ``k`` of each digit count, found by looking up rows from the start of each in growing steps."""
    found = []
    low = 1
    while low <= rows:
        start, stop, step, hits = low - 1, min(low * 10 - 1, rows), 4096, 0
        while start < stop and hits < k:
            at = np.arange(start, min(start + step, stop))
            fails = at[duplicates.among(at)][: k - hits]
            found.append(fails)
            hits += len(fails)
            start, step = start + step, step * 4
        low *= 10
    return np.concatenate([np.zeros(0, dtype=np.int64), *found])


def _unique_outcome(
    unique: UniqueKernel,
    kept: list[tuple[list[pa.Array], pa.Array | None]],
    key: str | None,
    k: int,
    rows: int,
    mapper: Any,
) -> Outcome:
    duplicates = unique.finish(mapper)
    parts = []
    if k and duplicates.failed:
        if key is None:
            failing = _first_failing(duplicates, rows, k)
        elif tuple(unique.rule.key) == (key,):
            # ordered by the very column that repeats: only the rows of its first repeated values
            failing = duplicates.first_by_value(k, mapper)
        else:
            failing = np.flatnonzero(duplicates.mask(mapper))
        values = [pa.chunked_array([batch[0][j] for batch in kept]) for j in range(len(unique.rule.columns))]
        keys = pa.chunked_array([batch[1] for batch in kept]) if key else None
        cand = _candidates(unique.rule, values, keys, failing, 0, k)
        parts = [cand] if cand is not None else []
    return Outcome(duplicates.checked, duplicates.failed, _samples(unique.rule, parts, k))


__all__ = ["BATCH_ROWS", "Outcome", "can_run", "run_row_rules", "supported_type", "units_for"]
