"""治理规则: quality rules as small frozen dataclasses that build Ibis expressions.

A row rule answers, column-wise, "which rows fail?" with :meth:`RowRule.failed` (true where a row
fails, never null) and "which rows did I look at?" with :meth:`RowRule.checked`. Nulls are a
completeness (完整性) failure only for :class:`CompletenessRule`; every other rule skips them, so one
empty field is reported once, not by every rule on that column.

Dimensions follow GB/T 36344-2018 (信息技术 数据质量评价指标): 完整性, 准确性, 一致性, 及时性, 唯一性
(规范性 and 可访问性 are not measured here).

Rules round-trip through plain JSON dicts (:meth:`Rule.to_dict`, :func:`rule_from_dict`) so a data
steward can add rules per resource and store them with the catalog.

Two rule kinds are not row rules of one table: :class:`CompareRule` (比对, the same entity held by two
sources) and :class:`TimelinessRule` (及时性, judged on the resource's last load time).
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any, ClassVar

import ibis
import ibis.expr.types as ir

from citybrain.errors import Invalid
from citybrain.quality import checkdigits
from citybrain.quality import kernels as kernels_module


class Dimension(StrEnum):
    """质量维度 (GB/T 36344)."""

    COMPLETENESS = "completeness"
    ACCURACY = "accuracy"
    CONSISTENCY = "consistency"
    TIMELINESS = "timeliness"
    UNIQUENESS = "uniqueness"

    @property
    def label(self) -> str:
        return _DIMENSION_LABELS[self]


_DIMENSION_LABELS = {
    Dimension.COMPLETENESS: "完整性",
    Dimension.ACCURACY: "准确性",
    Dimension.CONSISTENCY: "一致性",
    Dimension.TIMELINESS: "及时性",
    Dimension.UNIQUENESS: "唯一性",
}
_DIMENSION_BY_LABEL = {v: k for k, v in _DIMENSION_LABELS.items()}


class Severity(StrEnum):
    """严重程度; weights for scoring live in :mod:`citybrain.quality.scores`."""

    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"


def _dimension(value: Any) -> Dimension:
    if isinstance(value, Dimension):
        return value
    if value in _DIMENSION_BY_LABEL:
        return _DIMENSION_BY_LABEL[value]
    try:
        return Dimension(value)
    except ValueError:
        raise Invalid(
            f"质量维度(dimension)无效: {value!r}",
            details={"field": "dimension", "allowed": [d.value for d in Dimension]},
        ) from None


def _severity(value: Any) -> Severity:
    try:
        return Severity(value)
    except ValueError:
        raise Invalid(
            f"严重程度(severity)无效: {value!r}",
            details={"field": "severity", "allowed": [s.value for s in Severity]},
        ) from None


_RULE_ID = re.compile(r"^[A-Za-z0-9_.\-]{1,64}$")


@dataclass(frozen=True, kw_only=True)
class Rule:
    """Fields every rule has. ``kind`` is a class constant, written into the JSON form."""

    kind: ClassVar[str] = ""
    default_dimension: ClassVar[Dimension] = Dimension.ACCURACY

    id: str
    severity: Severity = Severity.MEDIUM
    dimension: Dimension | None = None
    description: str = ""

    def __post_init__(self) -> None:
        if not isinstance(self.id, str) or not _RULE_ID.match(self.id):
            raise Invalid(
                f"规则编号(id)无效: {self.id!r}，只允许字母、数字、下划线、点和连字符，最长 64 位",
                details={"field": "id"},
            )
        object.__setattr__(self, "severity", _severity(self.severity))
        object.__setattr__(self, "dimension", _dimension(self.dimension or self.default_dimension))

    @property
    def columns(self) -> tuple[str, ...]:
        """Columns of the checked table the rule reads; the first is the one samples report."""
        return ()

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": self.kind}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if isinstance(value, StrEnum):
                value = value.value
            elif isinstance(value, tuple):
                value = list(value)
            elif isinstance(value, date):
                value = value.isoformat()
            out[f.name] = value
        return out


class RowRule(Rule):
    """A rule evaluated per row of one table."""

    def checked(self, t: ir.Table) -> ir.BooleanValue:
        """Rows the rule applies to: by default those where every column it reads is present."""
        cond = t[self.columns[0]].notnull()
        for name in self.columns[1:]:
            cond = cond & t[name].notnull()
        return cond

    def failed(self, t: ir.Table) -> ir.BooleanValue:
        raise NotImplementedError

    def failed_on(self, t: ir.Table, *, kernels: bool) -> ir.BooleanValue:
        """:meth:`failed` as the engine runs it: with ``kernels``, a rule may use the Arrow kernels of
        :mod:`citybrain.quality.kernels` (DuckDB) in place of an equivalent, slower expression."""
        return self.failed(t)


def _column(name: Any, field_name: str = "column") -> str:
    if not isinstance(name, str) or not name:
        raise Invalid(f"字段名({field_name})不能为空", details={"field": field_name})
    return name


def _skip_nulls(t: ir.Table, columns: tuple[str, ...], bad: ir.BooleanValue) -> ir.BooleanValue:
    present = t[columns[0]].notnull()
    for name in columns[1:]:
        present = present & t[name].notnull()
    return (present & bad).fill_null(False)


def _as_string(value: ir.Value) -> ir.StringValue:
    return value if value.type().is_string() else value.cast("string")


# ---------------------------------------------------------------------------------------------------
# single-column rules


@dataclass(frozen=True, kw_only=True)
class CompletenessRule(RowRule):
    """完整性: the value is present — not null, not blank (spaces, tabs, 全角空格), not a placeholder."""

    kind: ClassVar[str] = "completeness"
    default_dimension: ClassVar[Dimension] = Dimension.COMPLETENESS

    column: str
    #: values that mean "missing" in source systems, e.g. ``["无", "NULL", "/"]``
    placeholders: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        super().__post_init__()
        _column(self.column)
        object.__setattr__(self, "placeholders", tuple(self.placeholders))

    @property
    def columns(self) -> tuple[str, ...]:
        return (self.column,)

    def checked(self, t: ir.Table) -> ir.BooleanValue:
        # every row; written as a column expression so it aggregates like the others
        col = t[self.column]
        return col.isnull() | col.notnull()

    def failed(self, t: ir.Table) -> ir.BooleanValue:
        col = t[self.column]
        missing = col.isnull()
        if col.type().is_string():
            # \s alone misses U+3000, the ideographic space Chinese input methods produce
            blank = col.re_search("^[ \t\r\n\u3000]*$")
            if self.placeholders:
                blank = blank | col.strip().isin(self.placeholders)
            missing = missing | blank.fill_null(False)
        return missing.fill_null(True)


@dataclass(frozen=True, kw_only=True)
class UniquenessRule(RowRule):
    """唯一性: the key (one or more columns) occurs once; every copy of a duplicated key fails."""

    kind: ClassVar[str] = "uniqueness"
    default_dimension: ClassVar[Dimension] = Dimension.UNIQUENESS

    key: tuple[str, ...]

    def __post_init__(self) -> None:
        super().__post_init__()
        key = (self.key,) if isinstance(self.key, str) else tuple(self.key)
        if not key:
            raise Invalid("唯一性规则的键字段(key)不能为空", details={"field": "key"})
        for name in key:
            _column(name, "key")
        object.__setattr__(self, "key", key)

    @property
    def columns(self) -> tuple[str, ...]:
        return self.key

    @property
    def marker(self) -> str:
        """The column the engine joins in, true where the row's key occurs more than once."""
        return "__dup_" + re.sub(r"[^A-Za-z0-9_]", "_", self.id)

    def duplicates(self, t: ir.Table) -> ir.Table:
        """The keys of ``t`` that occur more than once, with the marker column set.

        A grouped count joined back, not a window: a window over a million rows sorts every column
        the row carries (seconds), the count hashes the key alone (milliseconds)."""
        counts = t.group_by([t[name].name(f"__dk{j}") for j, name in enumerate(self.key)]).aggregate(__n=t.count())
        return counts.filter(counts["__n"] > 1).select(
            *[f"__dk{j}" for j in range(len(self.key))], **{self.marker: ibis.literal(True)}
        )

    def failed(self, t: ir.Table) -> ir.BooleanValue:
        if self.marker in t.columns:
            return _skip_nulls(t, self.key, t[self.marker].notnull())
        # on its own (no engine to join the duplicates in): the same answer from a window
        window = ibis.window(group_by=[t[name] for name in self.key])
        return _skip_nulls(t, self.key, t[self.key[0]].count().over(window) > 1)


@dataclass(frozen=True, kw_only=True)
class PatternRule(RowRule):
    """准确性: the value matches a regular expression (anchor it; use the subset RE2 and Java share)."""

    kind: ClassVar[str] = "pattern"

    column: str
    pattern: str

    def __post_init__(self) -> None:
        super().__post_init__()
        _column(self.column)
        try:
            re.compile(self.pattern)
        except (re.error, TypeError) as exc:
            raise Invalid(f"正则表达式(pattern)无效: {exc}", details={"field": "pattern"}) from None

    @property
    def columns(self) -> tuple[str, ...]:
        return (self.column,)

    def failed(self, t: ir.Table) -> ir.BooleanValue:
        col = _as_string(t[self.column])
        return _skip_nulls(t, self.columns, ~col.re_search(self.pattern))


@dataclass(frozen=True, kw_only=True)
class LengthRule(RowRule):
    """准确性: the value's length in characters (not bytes) lies within [min_length, max_length]."""

    kind: ClassVar[str] = "length"

    column: str
    min_length: int | None = None
    max_length: int | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        _column(self.column)
        if self.min_length is None and self.max_length is None:
            raise Invalid("长度规则至少需要最小长度(min_length)或最大长度(max_length)之一", details={})
        if self.min_length is not None and self.max_length is not None and self.min_length > self.max_length:
            raise Invalid("最小长度(min_length)不能大于最大长度(max_length)", details={})

    @property
    def columns(self) -> tuple[str, ...]:
        return (self.column,)

    def failed(self, t: ir.Table) -> ir.BooleanValue:
        n = _as_string(t[self.column]).length()
        bad = ibis.literal(False)
        if self.min_length is not None:
            bad = bad | (n < self.min_length)
        if self.max_length is not None:
            bad = bad | (n > self.max_length)
        return _skip_nulls(t, self.columns, bad)


class LookupRule(RowRule):
    """A row rule that needs a lookup table joined in (code list, base library).

    The engine left-joins the distinct lookup keys and adds a marker column (:attr:`marker`), true where
    the row's value was found; :meth:`failed` reads that marker, so one join serves any table size and
    the join is broadcast on Spark instead of compiling a giant ``IN`` list.
    """

    @property
    def marker(self) -> str:
        return "__found_" + re.sub(r"[^A-Za-z0-9_]", "_", self.id)

    def lookup_column(self) -> str:
        return self.columns[0]

    def lookup(self, refs: dict[str, ir.Table]) -> ir.Table:
        """A table whose first column holds the lookup values (the engine deduplicates them)."""
        raise NotImplementedError

    def failed(self, t: ir.Table) -> ir.BooleanValue:
        if self.marker not in t.columns:
            raise Invalid(f"规则 {self.id} 需要关联查找表，请通过 run_rules 执行", details={"rule": self.id})
        return _skip_nulls(t, self.columns, t[self.marker].isnull())


@dataclass(frozen=True, kw_only=True)
class CodeListRule(LookupRule):
    """准确性: the value is in a code list — inline ``values`` or a named list passed at run time
    (e.g. ``code_list="GB/T 2260"`` for 行政区划代码)."""

    kind: ClassVar[str] = "code_list"

    column: str
    values: tuple[str, ...] = ()
    code_list: str | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        _column(self.column)
        object.__setattr__(self, "values", tuple(str(v) for v in self.values))
        if bool(self.values) == bool(self.code_list):
            raise Invalid(f"代码表规则 {self.id} 需要且只需要 values 或 code_list 之一", details={"rule": self.id})

    @property
    def columns(self) -> tuple[str, ...]:
        return (self.column,)

    def lookup(self, refs: dict[str, ir.Table]) -> ir.Table:
        if self.values:
            return ibis.memtable({"code": list(self.values)}, schema={"code": "string"})
        if self.code_list not in refs:
            raise Invalid(f"未提供代码表: {self.code_list}", details={"rule": self.id, "code_list": self.code_list})
        return refs[self.code_list]

    def failed(self, t: ir.Table) -> ir.BooleanValue:
        if self.marker not in t.columns and self.values:
            # fine standalone for a short inline list; the engine always uses the join
            return _skip_nulls(t, self.columns, ~_as_string(t[self.column]).isin(self.values))
        return super().failed(t)


@dataclass(frozen=True, kw_only=True)
class ReferentialRule(LookupRule):
    """一致性: the key exists in another table, e.g. a 基础库 (人口库、法人库); an anti-join by another name."""

    kind: ClassVar[str] = "referential"
    default_dimension: ClassVar[Dimension] = Dimension.CONSISTENCY

    column: str
    ref_table: str
    ref_column: str

    def __post_init__(self) -> None:
        super().__post_init__()
        _column(self.column)
        _column(self.ref_table, "ref_table")
        _column(self.ref_column, "ref_column")

    @property
    def columns(self) -> tuple[str, ...]:
        return (self.column,)

    def lookup(self, refs: dict[str, ir.Table]) -> ir.Table:
        if self.ref_table not in refs:
            raise Invalid(f"未提供关联表: {self.ref_table}", details={"rule": self.id, "ref_table": self.ref_table})
        ref = refs[self.ref_table]
        if self.ref_column not in ref.columns:
            raise Invalid(f"关联表 {self.ref_table} 中没有字段 {self.ref_column}", details={"rule": self.id})
        return ref.select(self.ref_column)


@dataclass(frozen=True, kw_only=True)
class CheckDigitRule(RowRule):
    """准确性: 校验码 of 公民身份号码 (``citizen_id``, GB 11643), 统一社会信用代码 (``uscc``, GB 32100) or
    组织机构代码 (``org_code``, GB 11714). A malformed value fails too."""

    kind: ClassVar[str] = "check_digit"

    column: str
    scheme: str

    def __post_init__(self) -> None:
        super().__post_init__()
        _column(self.column)
        if self.scheme not in checkdigits.SCHEMES:
            raise Invalid(
                f"校验码规则的编码类型(scheme)无效: {self.scheme!r}",
                details={"field": "scheme", "allowed": sorted(checkdigits.SCHEMES)},
            )

    @property
    def columns(self) -> tuple[str, ...]:
        return (self.column,)

    def failed(self, t: ir.Table) -> ir.BooleanValue:
        return self.failed_on(t, kernels=False)

    def failed_on(self, t: ir.Table, *, kernels: bool) -> ir.BooleanValue:
        valid = kernels_module.valid_expr(self.scheme, _as_string(t[self.column]), kernels=kernels)
        return _skip_nulls(t, self.columns, ~valid.fill_null(False))


MOBILE_PATTERN = r"^1[3-9][0-9]{9}$"
#: +86, 0086 or 86, optionally followed by a space or hyphen
COUNTRY_PREFIX = r"(\+86|0086|86)[ -]?"
#: 区号 (3–4 digits starting 0), optional hyphen, 7–8 digit number, optional extension
LANDLINE_PATTERN = r"^0[1-9][0-9]{1,2}-?[2-9][0-9]{6,7}(-[0-9]{1,6})?$"


@dataclass(frozen=True, kw_only=True)
class PhoneRule(RowRule):
    """准确性: a mainland 手机号码 (11 digits, 1[3-9]…), optionally also a 固定电话 with 区号.
    An optional ``+86``/``86`` prefix is accepted."""

    kind: ClassVar[str] = "phone"

    column: str
    allow_landline: bool = False

    def __post_init__(self) -> None:
        super().__post_init__()
        _column(self.column)

    @property
    def columns(self) -> tuple[str, ...]:
        return (self.column,)

    def failed(self, t: ir.Table) -> ir.BooleanValue:
        # one anchored match with an optional prefix, not a replace then a match: half the regex work,
        # and the same answer, since no number without the prefix starts the way the prefix does
        numbers = MOBILE_PATTERN[1:-1] + ("|" + LANDLINE_PATTERN[1:-1] if self.allow_landline else "")
        ok = _as_string(t[self.column]).re_search(f"^({COUNTRY_PREFIX})?({numbers})$")
        return _skip_nulls(t, self.columns, ~ok)


def _iso_date(value: Any, field_name: str) -> date | None:
    if value is None or isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise Invalid(
            f"日期格式无效({field_name}): {value!r}，应为 YYYY-MM-DD", details={"field": field_name}
        ) from None


def _as_date(value: ir.Value) -> ir.DateValue:
    if value.type().is_date():
        return value
    if value.type().is_timestamp():
        return value.date()
    return _as_string(value).try_cast("date")


@dataclass(frozen=True, kw_only=True)
class DateRangeRule(RowRule):
    """准确性: a date within [min_date, max_date]; ``not_future`` also rejects dates after today.
    Text that is not a date fails."""

    kind: ClassVar[str] = "date_range"

    column: str
    min_date: date | None = None
    max_date: date | None = None
    not_future: bool = False

    def __post_init__(self) -> None:
        super().__post_init__()
        _column(self.column)
        object.__setattr__(self, "min_date", _iso_date(self.min_date, "min_date"))
        object.__setattr__(self, "max_date", _iso_date(self.max_date, "max_date"))

    @property
    def columns(self) -> tuple[str, ...]:
        return (self.column,)

    def failed(self, t: ir.Table) -> ir.BooleanValue:
        d = _as_date(t[self.column])
        bad = d.isnull()
        if self.min_date is not None:
            bad = bad | (d < self.min_date)
        if self.max_date is not None:
            bad = bad | (d > self.max_date)
        if self.not_future:
            bad = bad | (d > ibis.today())
        return _skip_nulls(t, self.columns, bad)


@dataclass(frozen=True, kw_only=True)
class NumericRangeRule(RowRule):
    """准确性: a number within [min_value, max_value]; text that is not a number fails."""

    kind: ClassVar[str] = "numeric_range"

    column: str
    min_value: float | None = None
    max_value: float | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        _column(self.column)
        if self.min_value is None and self.max_value is None:
            raise Invalid("数值范围规则至少需要 min_value 或 max_value 之一", details={})

    @property
    def columns(self) -> tuple[str, ...]:
        return (self.column,)

    def failed(self, t: ir.Table) -> ir.BooleanValue:
        col = t[self.column]
        x = col if col.type().is_numeric() else _as_string(col).try_cast("float64")
        bad = x.isnull()
        if self.min_value is not None:
            bad = bad | (x < self.min_value)
        if self.max_value is not None:
            bad = bad | (x > self.max_value)
        return _skip_nulls(t, self.columns, bad)


# ---------------------------------------------------------------------------------------------------
# cross-field


#: GB/T 2261.1 性别代码 and the words forms use for them
MALE_VALUES: tuple[str, ...] = ("1", "男")
FEMALE_VALUES: tuple[str, ...] = ("2", "女")


@dataclass(frozen=True, kw_only=True)
class IdCardConsistencyRule(RowRule):
    """一致性: the 出生日期码 and the sex (17th digit: odd 男, even 女) inside a 公民身份号码 agree with the
    record's birth-date and sex fields. Rows whose ID is malformed are left to :class:`CheckDigitRule`;
    a sex field outside both code lists (e.g. ``"9"`` 未说明) disagrees with the ID."""

    kind: ClassVar[str] = "cross_field"
    default_dimension: ClassVar[Dimension] = Dimension.CONSISTENCY

    id_column: str
    birth_column: str | None = None
    sex_column: str | None = None
    male_values: tuple[str, ...] = MALE_VALUES
    female_values: tuple[str, ...] = FEMALE_VALUES

    def __post_init__(self) -> None:
        super().__post_init__()
        _column(self.id_column, "id_column")
        if self.birth_column is None and self.sex_column is None:
            raise Invalid("身份证一致性规则需要出生日期字段(birth_column)或性别字段(sex_column)", details={})
        object.__setattr__(self, "male_values", tuple(self.male_values))
        object.__setattr__(self, "female_values", tuple(self.female_values))

    @property
    def columns(self) -> tuple[str, ...]:
        return tuple(c for c in (self.id_column, self.birth_column, self.sex_column) if c)

    def checked(self, t: ir.Table) -> ir.BooleanValue:
        ident = _as_string(t[self.id_column])
        other = ibis.literal(False)
        for name in (self.birth_column, self.sex_column):
            if name:
                other = other | t[name].notnull()
        return (checkdigits.citizen_id_well_formed(ident) & other).fill_null(False)

    def _birth_digits(self, t: ir.Table) -> ir.StringValue:
        col = t[self.birth_column]
        if col.type().is_date() or col.type().is_timestamp():
            return col.strftime("%Y%m%d")
        # text such as 1990-01-02, 1990/01/02 or 19900102
        return _as_string(col).re_replace(r"[^0-9]", "")

    def failed_on(self, t: ir.Table, *, kernels: bool) -> ir.BooleanValue:
        if not kernels:
            return self.failed(t)
        none = ibis.null().cast("string")
        birth = none
        if self.birth_column:
            col = t[self.birth_column]
            # a date as text is ISO ``YYYY-MM-DD``, the kernel's fixed-width case
            birth = (col.date() if col.type().is_timestamp() else col).cast("string")
        sex = _as_string(t[self.sex_column]) if self.sex_column else none
        return kernels_module.citybrain_citizen_id_disagrees(
            _as_string(t[self.id_column]),
            birth,
            sex,
            kernels_module.VALUE_SEP.join(self.male_values),
            kernels_module.VALUE_SEP.join(self.female_values),
        )

    def failed(self, t: ir.Table) -> ir.BooleanValue:
        ident = _as_string(t[self.id_column])
        bad = ibis.literal(False)
        if self.birth_column:
            differs = self._birth_digits(t) != checkdigits.citizen_id_birth_digits(ident)
            bad = bad | (t[self.birth_column].notnull() & differs).fill_null(False)
        if self.sex_column:
            sex = _as_string(t[self.sex_column]).strip()
            odd = checkdigits.citizen_id_sex_code(ident) == "1"
            agrees = odd.ifelse(sex.isin(self.male_values), sex.isin(self.female_values))
            bad = bad | (t[self.sex_column].notnull() & ~agrees).fill_null(False)
        return (checkdigits.citizen_id_well_formed(ident) & bad).fill_null(False)


@dataclass(frozen=True, kw_only=True)
class FieldOrderRule(RowRule):
    """一致性: two fields of a row are in order, ``first <= second`` (``first < second`` when
    ``allow_equal`` is false) — e.g. 签发日期 before 有效期至, 开始时间 before 结束时间. Dates, timestamps
    and numbers compare by value; text is read as a date. Rows missing either value are skipped."""

    kind: ClassVar[str] = "field_order"
    default_dimension: ClassVar[Dimension] = Dimension.CONSISTENCY

    first: str
    second: str
    allow_equal: bool = True

    def __post_init__(self) -> None:
        super().__post_init__()
        _column(self.first, "first")
        _column(self.second, "second")
        if self.first == self.second:
            raise Invalid("字段先后规则的两个字段(first, second)不能相同", details={"rule": self.id})

    @property
    def columns(self) -> tuple[str, ...]:
        return (self.second, self.first)

    def failed(self, t: ir.Table) -> ir.BooleanValue:
        a, b = t[self.first], t[self.second]
        same_kind = (a.type().is_numeric() and b.type().is_numeric()) or (
            a.type().is_timestamp() and b.type().is_timestamp()
        )
        if not same_kind:
            # mixed or textual: compare as calendar dates
            a, b = _as_date(a), _as_date(b)
        bad = (a > b) if self.allow_equal else (a >= b)
        return _skip_nulls(t, self.columns, bad)


# ---------------------------------------------------------------------------------------------------
# rules that are not row rules of one table


@dataclass(frozen=True, kw_only=True)
class CompareRule(Rule):
    """比对: the same entity (``key``) held by this table and by ``other`` must agree on ``columns``.

    Each (entity, field) where both sources hold a value and the values differ is one conflict,
    reported with both values. Entities found in only one source, and nulls, are not conflicts (those
    are referential and completeness questions). Values of different types are compared as text.
    """

    kind: ClassVar[str] = "compare"
    default_dimension: ClassVar[Dimension] = Dimension.CONSISTENCY

    key: tuple[str, ...]
    compare: tuple[str, ...]
    other: str
    other_key: tuple[str, ...] = ()
    other_compare: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        super().__post_init__()
        as_tuple = lambda v: (v,) if isinstance(v, str) else tuple(v)  # noqa: E731
        for name in ("key", "compare", "other_key", "other_compare"):
            object.__setattr__(self, name, as_tuple(getattr(self, name)))
        _column(self.other, "other")
        if not self.key or not self.compare:
            raise Invalid("比对规则需要键字段(key)和比对字段(compare)", details={"rule": self.id})
        if self.other_key and len(self.other_key) != len(self.key):
            raise Invalid("比对规则 other_key 与 key 字段个数不一致", details={"rule": self.id})
        if self.other_compare and len(self.other_compare) != len(self.compare):
            raise Invalid("比对规则 other_compare 与 compare 字段个数不一致", details={"rule": self.id})

    @property
    def columns(self) -> tuple[str, ...]:
        return self.key + self.compare

    @property
    def right_key(self) -> tuple[str, ...]:
        return self.other_key or self.key

    @property
    def right_compare(self) -> tuple[str, ...]:
        return self.other_compare or self.compare


#: 更新频率 (as a catalog declares it) → the longest a resource may go without a load
FREQUENCIES: dict[str, timedelta] = {
    "realtime": timedelta(hours=1),
    "hourly": timedelta(hours=1),
    "daily": timedelta(days=1),
    "weekly": timedelta(weeks=1),
    "monthly": timedelta(days=31),
    "quarterly": timedelta(days=92),
    "semiannual": timedelta(days=183),
    "yearly": timedelta(days=366),
}
_FREQUENCY_LABELS = {
    "实时": "realtime",
    "每小时": "hourly",
    "每日": "daily",
    "每天": "daily",
    "每周": "weekly",
    "每月": "monthly",
    "每季度": "quarterly",
    "每半年": "semiannual",
    "每年": "yearly",
}


@dataclass(frozen=True, kw_only=True)
class TimelinessRule(Rule):
    """及时性: a resource-level rule — the last load is no older than the declared 更新频率 plus
    ``grace_hours``. Checked once per resource with :meth:`is_stale`, not per row."""

    kind: ClassVar[str] = "timeliness"
    default_dimension: ClassVar[Dimension] = Dimension.TIMELINESS

    frequency: str
    grace_hours: float = 0.0

    def __post_init__(self) -> None:
        super().__post_init__()
        freq = _FREQUENCY_LABELS.get(self.frequency, self.frequency)
        if freq not in FREQUENCIES:
            raise Invalid(
                f"更新频率(frequency)无效: {self.frequency!r}",
                details={"field": "frequency", "allowed": [*FREQUENCIES, *_FREQUENCY_LABELS]},
            )
        object.__setattr__(self, "frequency", freq)
        if self.grace_hours < 0:
            raise Invalid("宽限时间(grace_hours)不能为负", details={"field": "grace_hours"})

    def due(self, last_loaded_at: datetime) -> datetime:
        """When the next load is due at the latest."""
        return last_loaded_at + FREQUENCIES[self.frequency] + timedelta(hours=self.grace_hours)

    def is_stale(self, last_loaded_at: datetime | None, now: datetime) -> bool:
        """True when the resource was never loaded or its next load is overdue."""
        return last_loaded_at is None or now > self.due(last_loaded_at)


# ---------------------------------------------------------------------------------------------------
# JSON


RULE_TYPES: dict[str, type[Rule]] = {
    cls.kind: cls
    for cls in (
        CompletenessRule,
        UniquenessRule,
        PatternRule,
        LengthRule,
        CodeListRule,
        ReferentialRule,
        CheckDigitRule,
        PhoneRule,
        DateRangeRule,
        NumericRangeRule,
        IdCardConsistencyRule,
        FieldOrderRule,
        CompareRule,
        TimelinessRule,
    )
}


def rule_from_dict(data: dict[str, Any]) -> Rule:
    """Build a rule from its JSON form (``{"kind": "pattern", "id": ..., "column": ..., ...}``)."""
    if not isinstance(data, dict):
        raise Invalid("规则定义必须是 JSON 对象", details={"got": type(data).__name__})
    kind = data.get("kind")
    cls = RULE_TYPES.get(kind)  # type: ignore[arg-type]
    if cls is None:
        raise Invalid(f"规则类型(kind)无效: {kind!r}", details={"field": "kind", "allowed": sorted(RULE_TYPES)})
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - names - {"kind"})
    if unknown:
        raise Invalid(f"规则 {data.get('id')} 含有未知字段: {', '.join(unknown)}", details={"fields": unknown})
    kwargs = {k: v for k, v in data.items() if k != "kind"}
    for k, v in kwargs.items():
        if isinstance(v, list):
            kwargs[k] = tuple(v)
    try:
        return cls(**kwargs)
    except TypeError as exc:
        raise Invalid(f"规则 {data.get('id')} 缺少必填字段: {exc}", details={"kind": kind}) from None


def rules_from_dicts(items: list[dict[str, Any]]) -> list[Rule]:
    """Build a rule set, refusing duplicate rule ids."""
    rules = [rule_from_dict(d) for d in items]
    seen: set[str] = set()
    dupes = sorted({r.id for r in rules if r.id in seen or seen.add(r.id)})  # type: ignore[func-returns-value]
    if dupes:
        raise Invalid(f"规则编号重复: {', '.join(dupes)}", details={"ids": dupes})
    return rules


def standard_population_rules(
    *,
    id_column: str = "citizen_id",
    name_column: str = "name",
    sex_column: str = "sex",
    birth_column: str = "birth_date",
    division_column: str = "division_code",
    phone_column: str = "phone",
    address_column: str = "address",
    division_list: str = "GB/T 2260",
) -> list[Rule]:
    """The standard rule set for a 人口 (natural person) table: ID 校验码, ID/出生日期/性别 agreement,
    行政区划代码 code list, phone pattern, completeness of five fields and uniqueness of the ID."""
    return [
        CheckDigitRule(id="id_check_digit", column=id_column, scheme="citizen_id", severity=Severity.HIGH),
        IdCardConsistencyRule(
            id="id_birth_sex_agree",
            id_column=id_column,
            birth_column=birth_column,
            sex_column=sex_column,
            severity=Severity.HIGH,
        ),
        CodeListRule(id="division_code_valid", column=division_column, code_list=division_list),
        PhoneRule(id="phone_valid", column=phone_column, severity=Severity.LOW),
        *(
            CompletenessRule(id=f"{name}_present", column=name, severity=sev)
            for name, sev in (
                (id_column, Severity.HIGH),
                (name_column, Severity.HIGH),
                (sex_column, Severity.MEDIUM),
                (birth_column, Severity.MEDIUM),
                (address_column, Severity.LOW),
            )
        ),
        UniquenessRule(id="id_unique", key=(id_column,), severity=Severity.HIGH),
    ]


__all__ = [
    "CheckDigitRule",
    "CodeListRule",
    "CompareRule",
    "CompletenessRule",
    "DateRangeRule",
    "Dimension",
    "FieldOrderRule",
    "IdCardConsistencyRule",
    "LengthRule",
    "LookupRule",
    "NumericRangeRule",
    "PatternRule",
    "PhoneRule",
    "ReferentialRule",
    "RowRule",
    "Rule",
    "Severity",
    "TimelinessRule",
    "UniquenessRule",
    "rule_from_dict",
    "rules_from_dicts",
    "standard_population_rules",
]
