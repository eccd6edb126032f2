"""Run a rule set on a table, column-wise, on DuckDB or Spark.

The rules are Ibis expressions (:mod:`citybrain.quality.rules`): that is their definition, and what
Spark runs. A run is laid out so that the source is read once:

1. the row count (a Parquet source answers it from its footers);
2. the row rules, by one of two paths that give the same answers (the tests compare them):

   * **Arrow** (embedded DuckDB, the default there): when the source is Parquet or an Arrow table,
     its columns have types whose text DuckDB and Arrow write alike, and every row rule has a
     whole-column kernel (:mod:`citybrain.quality.column_rules`, :mod:`citybrain.quality.uniqueness`),
     :mod:`citybrain.quality.columnar` reads just the needed columns in batches of about half a
     million rows on two threads and evaluates each rule on the Arrow buffers — check digits, dates
     and fixed-width patterns by row loops compiled with Numba (:mod:`citybrain.quality.compiled`),
     the rest in numpy, duplicates of a 公民身份号码 as one integer sort over the table. Code lists
     and reference tables are read once through DuckDB as value sets;
   * **SQL** (Spark, other DuckDB sources, rule sets with a rule that has no kernel): one projection
     computes, per row rule, a failure flag and a "not checked" flag (code lists and reference tables
     joined in as broadcastable lookups; on DuckDB the check digits as Arrow UDFs over the
     same compiled loops, :mod:`citybrain.quality.kernels`), keeps only the rows where some flag is set, and is
     materialised (a DuckDB temp table, a cached Spark view); the counts and samples are read from
     that small table.

   Either way a rule's checked count is the row count less its "not checked" rows, and its samples
   are its first ``sample_size`` failing rows by (row key, reported value), nulls last.

Cross-source comparison (比对) and timeliness (及时性) rules run on their own (a join, a clock), and
:func:`failing_keys` (every failing key of one rule) takes the SQL path.
"""

from __future__ import annotations

import os
import time
import uuid
from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import ibis
import ibis.expr.types as ir
import pyarrow as pa

from citybrain.errors import Invalid
from citybrain.quality import columnar
from citybrain.quality.rules import (
    CompareRule,
    Dimension,
    LookupRule,
    RowRule,
    Rule,
    Severity,
    TimelinessRule,
    UniquenessRule,
)

DEFAULT_SAMPLE_SIZE = 20
KEY = "__key"
#: a single Parquet file's row number (0-based), added by DuckDBBackend.load
FILE_ROW = "__file_row"

#: what a table or reference can be given as
Source = ir.Table | pa.Table | str | Path | Sequence[str | Path]


# ---------------------------------------------------------------------------------------------------
# results


@dataclass(frozen=True)
class FailingRow:
    """One failing row: the rule, the row key (or 1-based row number), the reported column and value,
    and the other columns the rule read (for 比对: the other source's value)."""

    rule_id: str
    key: str | None
    column: str
    value: str | None
    related: tuple[tuple[str, str | None], ...] = ()


@dataclass(frozen=True)
class RuleResult:
    rule_id: str
    kind: str
    dimension: Dimension
    severity: Severity
    columns: tuple[str, ...]
    checked: int
    failed: int
    samples: tuple[FailingRow, ...] = ()
    note: str = ""

    @property
    def failed_rate(self) -> float:
        return self.failed / self.checked if self.checked else 0.0


@dataclass(frozen=True)
class RunResult:
    """Per-rule results, sorted by rule id."""

    backend: str
    rows: int
    results: tuple[RuleResult, ...]
    elapsed_s: float = field(default=0.0, compare=False)

    def result(self, rule_id: str) -> RuleResult:
        for r in self.results:
            if r.rule_id == rule_id:
                return r
        raise KeyError(rule_id)

    def counts(self) -> dict[str, tuple[int, int]]:
        """``{rule_id: (checked, failed)}`` — what two engines must agree on."""
        return {r.rule_id: (r.checked, r.failed) for r in self.results}


# ---------------------------------------------------------------------------------------------------
# backends


def _is_paths(source: Any) -> bool:
    if isinstance(source, str | Path):
        return True
    return isinstance(source, list | tuple) and bool(source) and all(isinstance(s, str | Path) for s in source)


def _temp_name() -> str:
    return f"citybrain_q_{uuid.uuid4().hex[:12]}"


class Backend(ABC):
    """An Ibis connection plus what the engine needs beyond it: loading and materialising."""

    name: str
    con: Any
    #: whether rules may use the Arrow kernels (:mod:`citybrain.quality.kernels`) as UDFs here
    kernels: bool = False

    @abstractmethod
    def load(self, source: Source) -> ir.Table:
        """An Ibis table on this backend from Parquet path(s), an Arrow table or an Ibis table."""

    @abstractmethod
    @contextmanager
    def materialized(self, expr: ir.Table) -> Iterator[ir.Table]:
        """Compute ``expr`` once and hold it for several reads; dropped on exit."""

    def to_arrow(self, expr: ir.Expr) -> pa.Table:
        return self.con.to_pyarrow(expr)

    def load_ref(self, source: Source | Sequence[str]) -> ir.Table:
        """A reference: a table, a Parquet path, or a plain collection of codes (one ``code`` column);
        several Parquet files are given as ``Path`` objects so a list of code strings is not mistaken
        for file names."""
        is_collection = isinstance(source, list | tuple | set | frozenset)
        if is_collection and not all(isinstance(s, Path) for s in source):
            return ibis.memtable({"code": sorted({str(v) for v in source})}, schema={"code": "string"})
        return self.load(source)  # type: ignore[arg-type]


class DuckDBBackend(Backend):
    """In-process DuckDB (default). Arrow tables are scanned in place, not copied."""

    name = "duckdb"
    kernels = True

    def __init__(
        self, con: Any = None, *, threads: int | None = None, kernels: bool = True, arrow: bool = True
    ) -> None:
        self.con = con if con is not None else ibis.duckdb.connect()
        self.kernels = kernels
        #: whether row rules may run on the source's Arrow columns (:mod:`citybrain.quality.columnar`)
        #: rather than in SQL; only with ``kernels``
        self.arrow = arrow and kernels
        #: DuckDB's threads, and the batches the Arrow path checks at once (default: two)
        self.threads = threads
        if threads:
            self.con.raw_sql(f"SET threads = {int(threads)}")

    def load(self, source: Source) -> ir.Table:
        if isinstance(source, ir.Table):
            return source
        if isinstance(source, pa.Table):
            return ibis.memtable(source)
        if _is_paths(source):
            if isinstance(source, str | Path):
                # one file: its own row numbers are the scan order, free, where row_number() would be a
                # whole-table window (a third of a keyless run)
                t = self.con.read_parquet(str(source), table_name=_temp_name(), file_row_number=True)
                return t.rename({FILE_ROW: "file_row_number"}) if FILE_ROW not in t.columns else t
            paths = [str(p) for p in source] if isinstance(source, list | tuple) else str(source)
            return self.con.read_parquet(paths, table_name=_temp_name())
        raise Invalid("无法读取数据源：应为 Parquet 路径、Arrow 表或 Ibis 表", details={"got": type(source).__name__})

    @contextmanager
    def materialized(self, expr: ir.Table) -> Iterator[ir.Table]:
        name = _temp_name()
        table = self.con.create_table(name, expr, temp=True)
        try:
            yield table
        finally:
            # raw SQL: ibis 12's drop_table emits an empty table name with the installed sqlglot
            self.con.raw_sql(f'DROP TABLE IF EXISTS "{name}"')


def local_spark_session(*, shuffle_partitions: int = 2, app_name: str = "citybrain-quality") -> Any:
    """A small local Spark: one core, loopback only, no UI, UTC session time."""
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    from pyspark.sql import SparkSession

    session = (
        SparkSession.builder.master("local[1]")
        .appName(app_name)
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.sql.shuffle.partitions", str(shuffle_partitions))
        .config("spark.sql.session.timeZone", "UTC")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    return session


class SparkBackend(Backend):
    """PySpark through the Ibis pyspark backend (local mode unless a session is given)."""

    name = "spark"

    def __init__(self, session: Any = None, *, shuffle_partitions: int = 2) -> None:
        self.session = session if session is not None else local_spark_session(shuffle_partitions=shuffle_partitions)
        self.con = ibis.pyspark.connect(self.session)

    def load(self, source: Source) -> ir.Table:
        if isinstance(source, ir.Table):
            return source
        if isinstance(source, pa.Table):
            name = _temp_name()
            self.session.createDataFrame(source).createOrReplaceTempView(name)
            return self.con.table(name)
        if _is_paths(source):
            if isinstance(source, str | Path):
                # one file: its own row numbers are the scan order, free, where row_number() would be a
                # whole-table window (a third of a keyless run)
                t = self.con.read_parquet(str(source), table_name=_temp_name(), file_row_number=True)
                return t.rename({FILE_ROW: "file_row_number"}) if FILE_ROW not in t.columns else t
            paths = [str(p) for p in source] if isinstance(source, list | tuple) else str(source)
            return self.con.read_parquet(paths, table_name=_temp_name())
        raise Invalid("无法读取数据源：应为 Parquet 路径、Arrow 表或 Ibis 表", details={"got": type(source).__name__})

    @contextmanager
    def materialized(self, expr: ir.Table) -> Iterator[ir.Table]:
        name = _temp_name()
        table = self.con.create_view(name, expr)
        self.session.catalog.cacheTable(name)
        try:
            yield table
        finally:
            self.session.catalog.uncacheTable(name)
            self.session.catalog.dropTempView(name)


# ---------------------------------------------------------------------------------------------------
# helpers


def _string(value: ir.Value) -> ir.StringValue:
    return value if value.type().is_string() else value.cast("string")


def _require_columns(t: ir.Table, rules: Sequence[Rule], key: str | None) -> None:
    wanted = {c for r in rules for c in r.columns}
    if key:
        wanted.add(key)
    missing = sorted(wanted - set(t.columns))
    if missing:
        raise Invalid(f"数据表中没有字段: {', '.join(missing)}", details={"missing": missing})


def _check_rule_ids(rules: Sequence[Rule]) -> None:
    seen: set[str] = set()
    for r in rules:
        if r.id in seen:
            raise Invalid(f"规则编号重复: {r.id}", details={"rule": r.id})
        seen.add(r.id)


def _with_key(t: ir.Table, key: str | None) -> ir.Table:
    # without a key, rows are numbered in scan order: stable for a file or an Arrow table read whole,
    # not across engines — pass a key column when results must be compared or acted on
    if key:
        value = _string(t[key])
    elif FILE_ROW in t.columns:
        value = (t[FILE_ROW] + 1).cast("string")
    else:
        value = (ibis.row_number() + 1).cast("string")
    return t.mutate(**{KEY: value})


def _attach_lookups(t: ir.Table, rules: Sequence[RowRule], refs: Mapping[str, ir.Table]) -> ir.Table:
    for i, rule in enumerate(r for r in rules if isinstance(r, LookupRule)):
        values = rule.lookup(dict(refs))
        join_col = f"__lookup_{i}"
        lookup = (
            values.select(**{join_col: _string(values[values.columns[0]])})
            .distinct()
            .mutate(**{rule.marker: ibis.literal(True)})
        )
        joined = t.left_join(lookup, _string(t[rule.lookup_column()]) == lookup[join_col])
        t = joined.select(*t.columns, rule.marker)
    return t


def _attach_duplicates(t: ir.Table, rules: Sequence[RowRule]) -> ir.Table:
    for rule in (r for r in rules if isinstance(r, UniquenessRule)):
        dups = rule.duplicates(t)
        # null keys never compare equal, so they are never marked: uniqueness skips them anyway
        joined = t.left_join(dups, [t[k] == dups[f"__dk{j}"] for j, k in enumerate(rule.key)])
        t = joined.select(*t.columns, rule.marker)
    return t


def _int(value: Any) -> int:
    return 0 if value is None else int(value)


def _rows(table: pa.Table) -> list[dict[str, Any]]:
    return table.to_pylist()


# ---------------------------------------------------------------------------------------------------
# row rules


def _failure_projection(
    keyed: ir.Table, rules: Sequence[RowRule], refs: Mapping[str, ir.Table], *, kernels: bool
) -> ir.Table:
    """Key, every column the rules read (as text), one failure flag and one "not checked" flag per rule,
    for the rows some rule fails or does not check — so that one pass over the source answers both."""
    base = _attach_duplicates(_attach_lookups(keyed, rules, refs), rules)
    columns = sorted({c for r in rules for c in r.columns})
    flags = {f"__f{i}": rule.failed_on(base, kernels=kernels) for i, rule in enumerate(rules)}
    unchecked = {f"__u{i}": ~rule.checked(base).fill_null(False) for i, rule in enumerate(rules)}
    projected = base.select(
        base[KEY],
        *[_string(base[c]).name(f"__v{j}") for j, c in enumerate(columns)],
        **flags,
        **unchecked,
    )
    return projected.filter(ibis.or_(*(projected[f] for f in [*flags, *unchecked])))


def _run_row_rules(
    backend: Backend,
    rows: int,
    keyed: ir.Table,
    rules: Sequence[RowRule],
    refs: Mapping[str, ir.Table],
    sample_size: int,
) -> list[RuleResult]:
    columns = sorted({c for r in rules for c in r.columns})
    col_index = {c: j for j, c in enumerate(columns)}
    width = max(len(r.columns) for r in rules)

    with backend.materialized(_failure_projection(keyed, rules, refs, kernels=backend.kernels)) as failures:
        failed_q = failures.aggregate(
            __n=failures.count(),
            **{f"__{x}{i}": failures[f"__{x}{i}"].cast("int64").sum() for i in range(len(rules)) for x in "fu"},
        )
        failed = _rows(backend.to_arrow(failed_q))[0]
        samples: dict[int, list[FailingRow]] = {i: [] for i in range(len(rules))}
        if sample_size > 0 and any(_int(failed[f"__f{i}"]) for i in range(len(rules))):
            branches = []
            for i, rule in enumerate(rules):
                vals = [failures[f"__v{col_index[c]}"] for c in rule.columns]
                vals += [ibis.null().cast("string")] * (width - len(vals))
                branch = (
                    failures.filter(failures[f"__f{i}"])
                    .select(
                        __rule=ibis.literal(i).cast("int64"),
                        __key=failures[KEY],
                        **{f"__s{k}": v for k, v in enumerate(vals)},
                    )
                    .order_by(["__key", "__s0"])
                    .limit(sample_size)
                )
                branches.append(branch)
            for row in _rows(backend.to_arrow(ibis.union(*branches, distinct=False))):
                i = row["__rule"]
                rule = rules[i]
                samples[i].append(_failing_row(rule, row["__key"], [row[f"__s{k}"] for k in range(len(rule.columns))]))

    return [
        _row_result(
            rule,
            checked=rows - _int(failed[f"__u{i}"]),
            failed=_int(failed[f"__f{i}"]),
            samples=tuple(sorted(samples[i], key=lambda s: (s.key or "", s.value or ""))),
        )
        for i, rule in enumerate(rules)
    ]


def _failing_row(rule: RowRule, key: str | None, values: Sequence[Any]) -> FailingRow:
    """A sample: the value of the rule's first column is the one reported, the others come along."""
    return FailingRow(
        rule_id=rule.id,
        key=key,
        column=rule.columns[0],
        value=values[0],
        related=tuple(zip(rule.columns[1:], values[1:], strict=True)),
    )


def _row_result(rule: Rule, *, checked: int, failed: int, samples: tuple[FailingRow, ...]) -> RuleResult:
    """A rule's result over rows (row rules and 比对 alike)."""
    return RuleResult(
        rule_id=rule.id,
        kind=rule.kind,
        dimension=rule.dimension,  # type: ignore[arg-type]
        severity=rule.severity,
        columns=rule.columns,
        checked=checked,
        failed=failed,
        samples=samples,
    )


def _lookup_values(backend: Backend, rule: LookupRule, refs: Mapping[str, ir.Table]) -> pa.Array:
    """A lookup rule's values as text, distinct, as the SQL path joins them."""
    values = rule.lookup(dict(refs))
    distinct = values.select(__v=_string(values[values.columns[0]])).distinct()
    column = backend.to_arrow(distinct)["__v"].combine_chunks()
    return column.drop_null().cast(pa.string())


def _run_row_rules_arrow(
    backend: Backend,
    source: Source,
    rows: int,
    rules: Sequence[RowRule],
    refs: Mapping[str, ir.Table],
    key: str | None,
    sample_size: int,
) -> list[RuleResult] | None:
    """The row rules on the source's Arrow columns, or ``None`` where that path does not apply."""
    if not (isinstance(backend, DuckDBBackend) and backend.arrow and columnar.can_run(rules)):
        return None
    needed = sorted({c for r in rules for c in r.columns} | ({key} if key else set()))
    units = columnar.units_for(source, needed, keyed=bool(key))
    if units is None or sum(u.rows for u in units) != rows:
        return None
    lookups = {r.id: _lookup_values(backend, r, refs) for r in rules if isinstance(r, LookupRule)}
    outcomes = columnar.run_row_rules(units, rules, lookups, key=key, sample_size=sample_size, threads=backend.threads)
    if outcomes is None:
        return None
    return [
        _row_result(
            rule,
            checked=outcome.checked,
            failed=outcome.failed,
            samples=tuple(_failing_row(rule, row_key, values) for row_key, values in outcome.samples),
        )
        for rule, outcome in zip(rules, outcomes, strict=True)
    ]


# ---------------------------------------------------------------------------------------------------
# 比对 (cross-source comparison)


def _compare_frame(t: ir.Table, other: ir.Table, rule: CompareRule) -> tuple[ir.Table, list[tuple[str, Any, Any]]]:
    missing = sorted(set(rule.right_key + rule.right_compare) - set(other.columns))
    if missing:
        raise Invalid(f"比对表 {rule.other} 中没有字段: {', '.join(missing)}", details={"missing": missing})
    right = other.select(
        **{f"__rk{i}": other[c] for i, c in enumerate(rule.right_key)},
        **{f"__rc{j}": other[c] for j, c in enumerate(rule.right_compare)},
    )
    preds = [_string(t[k]) == _string(right[f"__rk{i}"]) for i, k in enumerate(rule.key)]
    joined = t.inner_join(right, preds)
    key_text = _string(joined[rule.key[0]])
    for k in rule.key[1:]:
        key_text = key_text.concat("|", _string(joined[k]))
    pairs = []
    for j, c in enumerate(rule.compare):
        left, right_v = joined[c], joined[f"__rc{j}"]
        if left.type() != right_v.type():
            left, right_v = _string(left), _string(right_v)
        pairs.append((c, left, right_v))
    return joined.mutate(__key=key_text), pairs


def _run_compare(
    backend: Backend, t: ir.Table, rule: CompareRule, refs: Mapping[str, ir.Table], sample_size: int
) -> RuleResult:
    if rule.other not in refs:
        raise Invalid(f"未提供比对数据源: {rule.other}", details={"rule": rule.id, "other": rule.other})
    joined, pairs = _compare_frame(t, refs[rule.other], rule)
    aggs: dict[str, Any] = {}
    for j, (_, left, right) in enumerate(pairs):
        both = left.notnull() & right.notnull()
        aggs[f"__c{j}"] = both.cast("int64").sum()
        aggs[f"__f{j}"] = (both & (left != right)).fill_null(False).cast("int64").sum()
    counts = _rows(backend.to_arrow(joined.aggregate(**aggs)))[0]
    checked = sum(_int(counts[f"__c{j}"]) for j in range(len(pairs)))
    failed = sum(_int(counts[f"__f{j}"]) for j in range(len(pairs)))
    samples: list[FailingRow] = []
    if sample_size > 0 and failed:
        branches = [
            joined.filter((left.notnull() & right.notnull() & (left != right)).fill_null(False)).select(
                __key=joined["__key"],
                __col=ibis.literal(c),
                __left=_string(left),
                __right=_string(right),
            )
            for c, left, right in pairs
        ]
        union = ibis.union(*branches, distinct=False).order_by(["__key", "__col", "__left", "__right"])
        for row in _rows(backend.to_arrow(union.limit(sample_size))):
            other_col = rule.right_compare[rule.compare.index(row["__col"])]
            samples.append(
                FailingRow(
                    rule_id=rule.id,
                    key=row["__key"],
                    column=row["__col"],
                    value=row["__left"],
                    related=((f"{rule.other}.{other_col}", row["__right"]),),
                )
            )
    return _row_result(rule, checked=checked, failed=failed, samples=tuple(samples))


# ---------------------------------------------------------------------------------------------------
# 及时性


def check_timeliness(
    rule: TimelinessRule, last_loaded_at: datetime | None, *, now: datetime | None = None
) -> RuleResult:
    """Judge one resource's last load against its declared 更新频率: checked 1, failed 0 or 1."""
    now = now or datetime.now(UTC)
    stale = rule.is_stale(last_loaded_at, now)
    if last_loaded_at is None:
        note = "从未更新"
    else:
        due = rule.due(last_loaded_at)
        note = f"最近更新 {last_loaded_at.isoformat()}，应于 {due.isoformat()} 前再次更新" + (
            "，已逾期" if stale else ""
        )
    return RuleResult(
        rule_id=rule.id,
        kind=rule.kind,
        dimension=rule.dimension,  # type: ignore[arg-type]
        severity=rule.severity,
        columns=(),
        checked=1,
        failed=int(stale),
        note=note,
    )


# ---------------------------------------------------------------------------------------------------
# entry points


def run_rules(
    table: Source,
    rules: Sequence[Rule],
    *,
    backend: Backend | None = None,
    key: str | None = None,
    refs: Mapping[str, Source | Sequence[str]] | None = None,
    sample_size: int = DEFAULT_SAMPLE_SIZE,
    last_loaded_at: datetime | None = None,
    now: datetime | None = None,
) -> RunResult:
    """Run ``rules`` on ``table`` and return per-rule checked/failed counts and failing-row samples.

    ``key`` names the row-key column samples report (default: 1-based row number in scan order);
    ``refs`` maps code-list / reference / comparison source names used by the rules to tables or code
    lists; timeliness rules are judged on ``last_loaded_at`` when it is given and skipped otherwise.
    """
    if sample_size < 0:
        raise Invalid("样本数(sample_size)不能为负", details={"field": "sample_size"})
    backend = backend or DuckDBBackend()
    started = time.perf_counter()
    _check_rule_ids(rules)
    t = backend.load(table)
    _require_columns(t, rules, key)
    loaded_refs = {name: backend.load_ref(src) for name, src in (refs or {}).items()}

    # a Parquet source answers this from its footers, without reading a value
    rows = _int(backend.to_arrow(t.aggregate(__rows=t.count()))["__rows"][0].as_py())
    row_rules = [r for r in rules if isinstance(r, RowRule)]
    results: list[RuleResult] = []
    if row_rules:
        arrow = _run_row_rules_arrow(backend, table, rows, row_rules, loaded_refs, key, sample_size)
        if arrow is None:
            arrow = _run_row_rules(backend, rows, _with_key(t, key), row_rules, loaded_refs, sample_size)
        results += arrow
    for rule in rules:
        if isinstance(rule, CompareRule):
            results.append(_run_compare(backend, t, rule, loaded_refs, sample_size))
        elif isinstance(rule, TimelinessRule) and last_loaded_at is not None:
            results.append(check_timeliness(rule, last_loaded_at, now=now))
    return RunResult(
        backend=backend.name,
        rows=rows,
        results=tuple(sorted(results, key=lambda r: r.rule_id)),
        elapsed_s=time.perf_counter() - started,
    )


def failing_keys(
    table: Source,
    rule: Rule,
    *,
    backend: Backend | None = None,
    key: str | None = None,
    refs: Mapping[str, Source | Sequence[str]] | None = None,
) -> list[str]:
    """Every failing row key of one rule, sorted (for opening one 整改 record per row).
    For a 比对 rule: every entity key with at least one conflicting field."""
    backend = backend or DuckDBBackend()
    t = backend.load(table)
    _require_columns(t, [rule], key)
    loaded_refs = {name: backend.load_ref(src) for name, src in (refs or {}).items()}
    if isinstance(rule, CompareRule):
        if rule.other not in loaded_refs:
            raise Invalid(f"未提供比对数据源: {rule.other}", details={"rule": rule.id, "other": rule.other})
        joined, pairs = _compare_frame(t, loaded_refs[rule.other], rule)
        conflict = ibis.or_(*((left.notnull() & right.notnull() & (left != right)) for _, left, right in pairs))
        # flag first, filter after, as for row rules: Spark mis-compiles a filter over the join
        flagged = joined.select("__key", __failed=conflict.fill_null(False))
        expr = flagged.filter(flagged["__failed"]).select("__key").distinct().order_by("__key")
    elif isinstance(rule, RowRule):
        base = _attach_duplicates(_attach_lookups(_with_key(t, key), [rule], loaded_refs), [rule])
        # flag first, filter after: a join's marker inside a filter has compiled wrongly for Spark
        flagged = base.select(KEY, __failed=rule.failed_on(base, kernels=backend.kernels))
        expr = flagged.filter(flagged["__failed"]).select(KEY).distinct().order_by(KEY)
    else:
        raise Invalid(f"规则 {rule.id} 不是逐行规则，没有失败记录", details={"rule": rule.id})
    return [k for k in backend.to_arrow(expr)[0].to_pylist() if k is not None]


__all__ = [
    "Backend",
    "DuckDBBackend",
    "FailingRow",
    "RuleResult",
    "RunResult",
    "SparkBackend",
    "check_timeliness",
    "failing_keys",
    "local_spark_session",
    "run_rules",
]
