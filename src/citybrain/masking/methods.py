"""脱敏方法 (GB/T 37964《个人信息去标识化指南》): named, parameterised, vectorised over Arrow.

Each method turns one column into its de-identified form with ``pyarrow.compute`` kernels — no Python
loop per value — and keeps nulls null. The methods:

========== ============ ================================================================================
name       技术          what it does
========== ============ ================================================================================
mask       遮蔽          keep the first ``keep_first`` / last ``keep_last`` characters, ``*`` for the rest
name       遮蔽(姓名)     keep the surname (2 characters for a 复姓: 欧阳, 司马 …) → ``张*``, ``欧阳**``
email      遮蔽(邮箱)     mask the user part, keep the domain → ``z*******@example.com``
date       泛化          date → ``1990-05`` (month) or ``1990`` (year)
age_band   泛化          age → band of ``width`` years: ``30-39``; ``top`` closes it: ``80+``
bucket     泛化          number → half-open range ``[1000,2000)``
address    泛化          address → 乡镇/街道 level (see :func:`_address`)
round      泛化          coordinates → ``digits`` decimals (3 decimals ≈ 110 m)
truncate   截断/取整      amount → multiple of ``unit``, towards zero (or to nearest)
pseudonym  假名化        keyed HMAC-SM3 token per consumer: ``pn_…``
suppress   抑制          value → null, or a fixed ``replacement`` string
========== ============ ================================================================================

Short values never come out whole. A value shorter than ``keep_first + keep_last + min_masked`` shows
at most half its characters (head first, then tail): a 1-character name becomes ``*``, ``欧阳`` alone
``欧*``, a malformed 5-digit "ID" ``12***``.

Pseudonyms (假名化) are HMAC-SM3 under a key derived per consumer with HKDF-SM3 from the platform's
master key, so one consumer sees the same token for the same value every time (its results join with
each other) while two consumers' tokens cannot be joined. There is no default key: without one the
method refuses.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from cryptography.hazmat.primitives import hashes, hmac
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from citybrain.errors import Invalid

_COMPOUND_SURNAMES_TEXT = (
    "欧阳 司马 诸葛 上官 东方 皇甫 尉迟 公孙 慕容 长孙 令狐 宇文 夏侯 司徒 司空 端木 独孤 南宫 西门 "
    "轩辕 呼延 澹台 太史 申屠 公羊 淳于 单于 仲孙 闻人 万俟 赫连 拓跋 百里 东郭 南门 羊舌 微生 梁丘 "
    "左丘 第五 钟离 宗政 濮阳 公冶 太叔 乐正 漆雕 壤驷 公良 谷梁 宰父 夹谷 段干 巫马 公西 颛孙 "
    "子车 亓官 司寇 鲜于 闾丘 东门 公户 公玉 即墨 欧侯 谷利"
)
#: 复姓 — compound surnames whose two characters are both kept by the ``name`` method.
COMPOUND_SURNAMES: frozenset[str] = frozenset(_COMPOUND_SURNAMES_TEXT.split())

#: Rows per work item when a long column is masked in parallel.
SLICE_ROWS = 131_072
#: Below this many values (rows × masked columns) a plan is applied in the calling thread.
PARALLEL_MIN_CELLS = 50_000

#: Up to this many values a column is masked value by value in Python: a share lookup masks one row,
#: and the dozen Arrow kernel calls of the vectorised form cost more than the row itself. Both forms
#: give the same answers (``tests/masking`` proves it on generated text).
SMALL_ROWS = 16
#: what a method's one-value function answers for a value it leaves to the Arrow function
BY_ARROW = object()

#: Lower bound on master-key length: HMAC-SM3 keys shorter than this are guessable.
MIN_KEY_BYTES = 16

_HKDF_INFO = b"citybrain/masking/pseudonym/v1"
_B32_ALPHABET = np.frombuffer(b"abcdefghijklmnopqrstuvwxyz234567", dtype=np.uint8)


@dataclass(frozen=True)
class _Param:
    default: Any
    types: tuple[type, ...]
    doc: str


@dataclass(frozen=True)
class Method:
    """A registered 脱敏方法: its function, its parameters and what it needs."""

    name: str
    technique: str  # GB/T 37964 term: 遮蔽 / 泛化 / 假名化 / 抑制 / 截断
    func: Callable[[pa.ChunkedArray, Mapping[str, Any], _Context], pa.ChunkedArray]
    params: Mapping[str, _Param]
    needs_key: bool = False
    #: the same method on one text value (for :func:`mask_record`), or :data:`BY_ARROW` where that value
    #: must go through ``func``; None: every value goes through ``func``
    one: Callable[[str, Mapping[str, Any]], object] | None = None


@dataclass(frozen=True)
class _Context:
    column: str
    consumer_id: str | None
    key: bytes | None


# ── MaskSpec ──────────────────────────────────────────────────────────────────────────────────────


@dataclass(frozen=True)
class MaskSpec:
    """One column's masking: a method name and its parameters, validated on creation.

    Frozen and hashable; ``to_dict`` / ``from_dict`` round-trip through JSON so an approved grant
    can store the exact masking it allows. Parameters left out take the method's defaults.
    """

    method: str
    params: tuple[tuple[str, Any], ...] = field(default=())

    def __init__(self, method: str, params: Mapping[str, Any] | None = None, **kwargs: Any) -> None:
        merged = {**dict(params or {}), **kwargs}
        object.__setattr__(self, "method", method)
        object.__setattr__(self, "params", tuple(sorted((k, _freeze(v)) for k, v in merged.items())))
        _validate(self)

    def options(self) -> dict[str, Any]:
        """Every parameter of the method, defaults filled in."""
        spec = METHODS[self.method]
        given = dict(self.params)
        return {name: given.get(name, p.default) for name, p in spec.params.items()}

    def to_dict(self) -> dict[str, Any]:
        return {"method": self.method, "params": {k: _thaw(v) for k, v in self.params}}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> MaskSpec:
        if not isinstance(data, Mapping) or not isinstance(data.get("method"), str):
            raise Invalid("脱敏规则格式错误：需要 method 字段", details={"value": repr(data)[:200]})
        extra = set(data) - {"method", "params"}
        if extra:
            raise Invalid("脱敏规则含未知字段", details={"fields": sorted(extra)})
        params = data.get("params") or {}
        if not isinstance(params, Mapping):
            raise Invalid("脱敏规则的 params 必须是对象", details={"method": data["method"]})
        return cls(data["method"], params)


def _freeze(value: Any) -> Any:
    return tuple(value) if isinstance(value, list | tuple) else value


def _thaw(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


def _validate(spec: MaskSpec) -> None:
    method = METHODS.get(spec.method)
    if method is None:
        raise Invalid(f"未知的脱敏方法：{spec.method}", details={"method": spec.method, "known": sorted(METHODS)})
    problems = []
    for name, value in spec.params:
        param = method.params.get(name)
        if param is None:
            problems.append({"param": name, "problem": "未知参数", "known": sorted(method.params)})
        elif value is not None and (
            not isinstance(value, param.types) or (isinstance(value, bool) and bool not in param.types)
        ):
            problems.append({"param": name, "problem": f"类型错误，应为 {param.doc}", "value": repr(value)})
        elif isinstance(value, tuple) and not all(isinstance(v, str) for v in value):
            problems.append({"param": name, "problem": "应为字符串列表", "value": repr(value)})
    opts = {**{k: p.default for k, p in method.params.items()}, **dict(spec.params)}
    for name in ("keep_first", "keep_last", "min_masked", "stars", "digits", "length"):
        if isinstance(opts.get(name), int) and opts[name] < 0:
            problems.append({"param": name, "problem": "不能为负数", "value": opts[name]})
    for name in ("width", "unit"):
        if name in opts and (opts[name] is None or opts[name] <= 0):
            problems.append({"param": name, "problem": "必须为正数", "value": opts[name]})
    if isinstance(opts.get("char"), str) and len(opts["char"]) != 1:
        problems.append({"param": "char", "problem": "必须是单个字符", "value": opts["char"]})
    if spec.method == "date" and opts["granularity"] not in ("month", "year"):
        problems.append({"param": "granularity", "problem": "只能是 month 或 year", "value": opts["granularity"]})
    if spec.method == "address" and opts["fallback"] not in ("district", "null"):
        problems.append({"param": "fallback", "problem": "只能是 district 或 null", "value": opts["fallback"]})
    if spec.method == "truncate" and opts["mode"] not in ("truncate", "nearest"):
        problems.append({"param": "mode", "problem": "只能是 truncate 或 nearest", "value": opts["mode"]})
    if spec.method == "pseudonym" and not 8 <= opts["length"] <= 51:
        problems.append({"param": "length", "problem": "假名长度应在 8 到 51 个字符之间", "value": opts["length"]})
    if problems:
        raise Invalid(f"脱敏方法 {spec.method} 的参数有误", details=problems)


# ── string helpers ────────────────────────────────────────────────────────────────────────────────


def _as_strings(arr: pa.ChunkedArray, ctx: _Context) -> pa.ChunkedArray:
    if pa.types.is_dictionary(arr.type):
        arr = arr.cast(arr.type.value_type)
    if pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type):
        return arr
    try:
        return arr.cast(pa.string())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
        raise Invalid(f"字段 {ctx.column} 的类型 {arr.type} 无法按字符串脱敏", details={"field": ctx.column}) from exc


def _slice_each(arr: pa.Array, counts: pa.Array, *, from_end: bool) -> pa.Array:
    """Per-row ``left(s, n)`` / ``right(s, n)``: Arrow's slice takes one scalar bound, so slice once per
    distinct count (usually one, a few more when short values are present) and ``choose`` per row."""
    distinct = [v for v in pc.unique(counts).to_pylist() if v is not None]

    def cut(n: int) -> pa.Array:
        if n == 0:
            return pc.utf8_slice_codeunits(arr, 0, 0)
        return pc.utf8_slice_codeunits(arr, -n) if from_end else pc.utf8_slice_codeunits(arr, 0, n)

    if len(distinct) <= 1:
        return cut(distinct[0] if distinct else 0)
    index = pc.index_in(counts, value_set=pa.array(distinct, counts.type))
    return pc.choose(index, *[cut(n) for n in distinct])


def _mask_chars(
    arr: pa.Array,
    keep_first: int | pa.Array,
    keep_last: int,
    *,
    char: str,
    min_masked: int,
    stars: int | None,
) -> pa.Array:
    if len(arr) <= SMALL_ROWS:
        firsts = keep_first.to_pylist() if isinstance(keep_first, pa.Array) else [keep_first] * len(arr)
        masked = [
            None if value is None else _mask_text(value, first, keep_last, char, min_masked, stars)
            for value, first in zip(arr.to_pylist(), firsts, strict=True)
        ]
        return pa.array(masked, arr.type)
    length = pc.utf8_length(arr)
    # nulls must stay null through min/max, which skip them by default
    lo = partial(pc.min_element_wise, skip_nulls=False)
    hi = partial(pc.max_element_wise, skip_nulls=False)
    full_shape = pc.greater_equal(length, pc.add(pc.add(keep_first, keep_last), min_masked))
    at_most_half = hi(lo(pc.subtract(length, min_masked), pc.shift_right(length, 1)), 0)
    shown = pc.if_else(full_shape, length, at_most_half)  # upper bound on visible characters
    first = lo(shown, keep_first)
    last = lo(pc.subtract(shown, first), keep_last)
    hidden = pc.subtract(pc.subtract(length, first), last)
    if stars is None:
        # the kernel reads counts under null slots too; the row stays null through head/tail anyway
        fill = pc.binary_repeat(pa.scalar(char, arr.type), pc.fill_null(hidden, 0))
    else:
        fill = pc.if_else(pc.greater(hidden, 0), pa.scalar(char * stars, arr.type), pa.scalar("", arr.type))
    head = _slice_each(arr, first, from_end=False)
    tail = _slice_each(arr, last, from_end=True)
    return pc.binary_join_element_wise(head, fill, tail, pa.scalar("", arr.type))


def _mask_text(value: str, keep_first: int, keep_last: int, char: str, min_masked: int, stars: int | None) -> str:
    """:func:`_mask_chars` for one value, step for step."""
    length = len(value)
    full_shape = length >= keep_first + keep_last + min_masked
    shown = length if full_shape else max(min(length - min_masked, length >> 1), 0)
    first = min(shown, keep_first)
    last = min(shown - first, keep_last)
    hidden = length - first - last
    fill = char * hidden if stars is None else (char * stars if hidden > 0 else "")
    return value[:first] + fill + (value[length - last :] if last else "")


def _per_chunk(arr: pa.ChunkedArray, fn: Callable[[pa.Array], pa.Array], out_type: pa.DataType) -> pa.ChunkedArray:
    chunks = [fn(chunk) for chunk in arr.chunks]
    return pa.chunked_array(chunks, type=chunks[0].type if chunks else out_type)


# ── 遮蔽 masking ──────────────────────────────────────────────────────────────────────────────────


def _mask(arr: pa.ChunkedArray, p: Mapping[str, Any], ctx: _Context) -> pa.ChunkedArray:
    arr = _as_strings(arr, ctx)
    prefixes = p["only_prefixes"]

    def one(chunk: pa.Array) -> pa.Array:
        masked = _mask_chars(
            chunk,
            p["keep_first"],
            p["keep_last"],
            char=p["char"],
            min_masked=p["min_masked"],
            stars=p["stars"],
        )
        if not prefixes:
            return masked
        # e.g. only 个体工商户 codes (统一社会信用代码 starting "92") identify a natural person
        applies = pc.starts_with(chunk, prefixes[0])
        for prefix in prefixes[1:]:
            applies = pc.or_(applies, pc.starts_with(chunk, prefix))
        return pc.if_else(applies, masked, chunk)

    return _per_chunk(arr, one, arr.type)


def _name(arr: pa.ChunkedArray, p: Mapping[str, Any], ctx: _Context) -> pa.ChunkedArray:
    # a stray leading space must not become the "surname" that is kept
    arr = pc.utf8_trim_whitespace(_as_strings(arr, ctx))
    compound = pa.array(sorted(COMPOUND_SURNAMES), arr.type)

    def one(chunk: pa.Array) -> pa.Array:
        if len(chunk) <= SMALL_ROWS:
            # a lookup's one row: the same steps on Python strings, without a dozen Arrow kernels
            return pa.array([None if v is None else _name_text(v, p) for v in chunk.to_pylist()], chunk.type)
        is_compound = pc.is_in(pc.utf8_slice_codeunits(chunk, 0, 2), value_set=compound)
        keep = pc.if_else(is_compound, pa.scalar(2, pa.int32()), pa.scalar(1, pa.int32()))
        return _mask_chars(chunk, keep, 0, char=p["char"], min_masked=1, stars=p["stars"])

    return _per_chunk(arr, one, arr.type)


def _mask_one(value: str, p: Mapping[str, Any]) -> str:
    prefixes = p["only_prefixes"]
    if prefixes and not value.startswith(tuple(prefixes)):
        return value
    return _mask_text(value, p["keep_first"], p["keep_last"], p["char"], p["min_masked"], p["stars"])


def _name_one(value: str, p: Mapping[str, Any]) -> object:
    return _name_text(value, p) if _untrimmed(value) else BY_ARROW


def _address_one(value: str, p: Mapping[str, Any]) -> object:
    return _address_text(value, p["fallback"] == "district") if _untrimmed(value) else BY_ARROW


def _untrimmed(value: str) -> bool:
    # Python's whitespace is a superset of what Arrow's utf8_trim_whitespace removes, so a value Python
    # would not trim is left as it is by the Arrow method too; any other value goes the Arrow way
    return value == value.strip()


def _name_text(value: str, p: Mapping[str, Any]) -> str:
    keep = 2 if value[:2] in COMPOUND_SURNAMES else 1
    return _mask_text(value, keep, 0, p["char"], 1, p["stars"])


def _email(arr: pa.ChunkedArray, p: Mapping[str, Any], ctx: _Context) -> pa.ChunkedArray:
    arr = _as_strings(arr, ctx)

    def one(chunk: pa.Array) -> pa.Array:
        parts = pc.extract_regex(chunk, r"^(?P<user>[^@]*)(?P<domain>@.*)$")
        user, domain = pc.struct_field(parts, "user"), pc.struct_field(parts, "domain")
        masked_user = _mask_chars(user, p["keep_first"], 0, char=p["char"], min_masked=1, stars=None)
        with_domain = pc.binary_join_element_wise(masked_user, domain, pa.scalar("", chunk.type))
        # no "@": not an address — hide it like any string rather than leak it
        whole = _mask_chars(chunk, p["keep_first"], 0, char=p["char"], min_masked=1, stars=None)
        return pc.if_else(parts.is_valid(), with_domain, whole)

    return _per_chunk(arr, one, arr.type)


# ── 泛化 generalisation ───────────────────────────────────────────────────────────────────────────


_DATE_TEXT = r"^\s*(?P<y>\d{4})(?:[-/.年]?(?P<m>\d{1,2}))?"


def _date(arr: pa.ChunkedArray, p: Mapping[str, Any], ctx: _Context) -> pa.ChunkedArray:
    month = p["granularity"] == "month"
    if pa.types.is_dictionary(arr.type):
        arr = arr.cast(arr.type.value_type)
    if pa.types.is_temporal(arr.type) and not pa.types.is_time(arr.type) and not pa.types.is_duration(arr.type):
        # year()/month() are an order of magnitude faster than strftime
        year = pc.year(arr).cast(pa.string())
        if not month:
            return year
        return pc.binary_join_element_wise(
            year, pc.utf8_lpad(pc.month(arr).cast(pa.string()), width=2, padding="0"), "-"
        )
    arr = _as_strings(arr, ctx)

    def one(chunk: pa.Array) -> pa.Array:
        # "1990-05-17", "1990/5/17", "19900517", "1990年5月" → year and month; anything else → null,
        # since an unparseable value could be anything and must not pass through
        parts = pc.extract_regex(chunk, _DATE_TEXT)
        year = pc.struct_field(parts, "y")
        if not month:
            return year
        mm = pc.utf8_lpad(pc.struct_field(parts, "m"), width=2, padding="0")
        valid = pc.is_in(mm, value_set=_MONTHS)
        joined = pc.binary_join_element_wise(year, mm, pa.scalar("-", chunk.type))
        return pc.if_else(valid, joined, pa.scalar(None, chunk.type))

    return _per_chunk(arr, one, arr.type)


_MONTHS = pa.array([f"{m:02d}" for m in range(1, 13)])


def _numeric(arr: pa.ChunkedArray, ctx: _Context, *, floats: bool = False) -> pa.ChunkedArray:
    if pa.types.is_dictionary(arr.type):
        arr = arr.cast(arr.type.value_type)
    if pa.types.is_integer(arr.type) or pa.types.is_floating(arr.type) or pa.types.is_decimal(arr.type):
        return arr.cast(pa.float64()) if floats else arr
    try:
        return arr.cast(pa.float64())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
        raise Invalid(f"字段 {ctx.column} 含非数值，无法泛化为区间", details={"field": ctx.column}) from exc


def _label(values: pa.ChunkedArray) -> pa.ChunkedArray:
    """Number → text; whole floats print without ``.0`` so bands read ``30-39``."""
    if pa.types.is_floating(values.type):
        whole = pc.equal(values, pc.floor(values))
        as_int = pc.cast(pc.if_else(whole, values, 0), pa.int64(), safe=False).cast(pa.string())
        return pc.if_else(whole, as_int, values.cast(pa.string()))
    return values.cast(pa.string())


def _age_band(arr: pa.ChunkedArray, p: Mapping[str, Any], ctx: _Context) -> pa.ChunkedArray:
    values = _numeric(arr, ctx, floats=True)
    width, top = p["width"], p["top"]
    low = pc.multiply(pc.floor(pc.divide(values, width)), width)
    label = pc.binary_join_element_wise(_label(low), _label(pc.subtract(pc.add(low, width), 1)), "-")
    if top is None:
        return label
    return pc.if_else(pc.greater_equal(values, top), pa.scalar(f"{_plain(top)}+"), label)


def _bucket(arr: pa.ChunkedArray, p: Mapping[str, Any], ctx: _Context) -> pa.ChunkedArray:
    values = _numeric(arr, ctx, floats=True)
    width, origin = p["width"], p["origin"]
    low = pc.add(pc.multiply(pc.floor(pc.divide(pc.subtract(values, origin), width)), width), origin)
    inner = pc.binary_join_element_wise(_label(low), _label(pc.add(low, width)), ",")
    return pc.binary_join_element_wise("[", inner, ")", "")


def _plain(number: float) -> str:
    return str(int(number)) if float(number).is_integer() else str(number)


#: 乡级 (街道/镇/乡): the shortest prefix ending in such a token whose preceding character is not 路/号 or
#: a division suffix, so the "镇" of "镇江市" or "天宁区镇江路" is no township (南大街街道 is). ``.`` rather
#: than a negated class keeps RE2 fast on multi-byte text; a prefix crossing 路/号 is refused afterwards.
ADDRESS_TOWNSHIP = r"^(?P<a>.{0,40}?[^路号省市区县旗](?:街道|镇|乡))"
#: no township: keep the road (…路/街/大道/巷) and drop the 门牌号 and everything after it
ADDRESS_ROAD = r"^(?P<a>.*?(?:大道|路|街|巷))"
#: neither: keep the county-level part (区/县/旗), else the prefecture (市)
ADDRESS_COUNTY = r"^(?P<a>.*?[区县旗]|.*?市)"


#: the earliest 街道/镇/乡 of a row, or a line break before it
_TOWNSHIP_SEARCH = "街道|镇|乡|\n"
_JIE_FIRST_BYTE = "街".encode()[0]
#: the characters ADDRESS_TOWNSHIP refuses just before the token, as 3-byte UTF-8 codes
_NOT_BEFORE_TOKEN = np.array([int.from_bytes(c.encode("utf-8"), "big") for c in "路号省市区县旗"], dtype=np.int64)
_TOWNSHIP_MAX_BEFORE = 41  # ``.{0,40}?`` plus the one ``[^…]`` character
_GATHER_ROWS = 8192
#: ADDRESS_TOWNSHIP compiled once, for a few rows at a time (same syntax and meaning in RE2 and ``re``)
_TOWNSHIP_RE = re.compile(ADDRESS_TOWNSHIP)


def _township(arr: pa.Array) -> pa.Array:
    """``extract_regex(arr, ADDRESS_TOWNSHIP)["a"]``, several times faster.

    The regex's answer is the prefix up to the *earliest* 街道/镇/乡 whose preceding character is
    allowed, within 41 characters. One unanchored search finds the earliest token (or line break) in
    each row; where that token satisfies the conditions it is the answer, and the prefixes are cut out
    without copying per row (as views into the data buffer). The rows where it does not (镇江市…, a
    token after 市, a line break, a long prefix) are few and go to the regex itself, so the result is
    the regex's on every row."""
    n = len(arr)
    if n <= SMALL_ROWS and pa.types.is_string(arr.type):
        # a few rows (a lookup's one): RE2 would compile the pattern's 40-fold repetition on every call
        return pa.array([_township_text(v) for v in arr.to_pylist()], arr.type)
    if arr.null_count == n or not pa.types.is_string(arr.type):
        return pc.struct_field(pc.extract_regex(arr, ADDRESS_TOWNSHIP), "a")
    pos = pc.fill_null(pc.find_substring_regex(arr, _TOWNSHIP_SEARCH), -1).to_numpy(zero_copy_only=False)
    pos = pos.astype(np.int64)
    has_token = pos >= 0
    offsets = np.frombuffer(arr.buffers()[1], dtype=np.int32)[arr.offset : arr.offset + n + 1].astype(np.int64)
    if arr.buffers()[2] is None or not has_token.any():
        return pc.struct_field(pc.extract_regex(arr, ADDRESS_TOWNSHIP), "a")
    data = np.frombuffer(arr.buffers()[2], dtype=np.uint8)
    start = offsets[:-1]
    at = np.where(has_token, start + pos, 0)
    first = data[at]
    # 街道 is 6 bytes, 镇 and 乡 3; a line break (``.`` does not cross it) goes to the regex
    width = np.where(first == _JIE_FIRST_BYTE, 6, 3)
    fast = has_token & (pos >= 1) & (first != 0x0A)
    # the character before the token: a forbidden one is always 3 bytes; a shorter one is allowed
    three = fast & (pos >= 3)
    before = np.where(three, at - 3, 0)
    code = (data[before].astype(np.int64) << 16) | (data[before + 1].astype(np.int64) << 8) | data[before + 2]
    fast &= ~(three & np.isin(code, _NOT_BEFORE_TOKEN))
    township = _prefix_views(arr, start, np.where(fast, pos + width, 0), fast)
    # no more than 41 characters before the token
    chars = pc.fill_null(pc.utf8_length(township), 0).to_numpy(zero_copy_only=False).astype(np.int64)
    too_long = fast & (chars - width // 3 > _TOWNSHIP_MAX_BEFORE)
    slow = (has_token & ~fast) | too_long
    if too_long.any():
        township = pc.if_else(pa.array(too_long), pa.scalar(None, pa.string()), township)
    if not slow.any():
        return township
    slow_mask = pa.array(slow, pa.bool_())
    exact = pc.struct_field(pc.extract_regex(arr.filter(slow_mask), ADDRESS_TOWNSHIP), "a")
    return pc.replace_with_mask(township, slow_mask, exact)


def _township_text(value: str | None) -> str | None:
    found = _TOWNSHIP_RE.match(value) if value is not None else None
    return found.group("a") if found else None


_ROAD_RE = re.compile(ADDRESS_ROAD)
_COUNTY_RE = re.compile(ADDRESS_COUNTY)
#: a township cut holding a road or a 门牌号 is not one ("龙锦路12幢乡村小院")
_ROAD_OR_NUMBER = "[路号]"
_ROAD_OR_NUMBER_RE = re.compile(_ROAD_OR_NUMBER)


def _address_text(value: str | None, fallback: bool) -> str | None:
    """:func:`_address` for one (trimmed) value, step for step."""
    if value is None:
        return None
    township = _township_text(value)
    if township is not None and _ROAD_OR_NUMBER_RE.search(township):
        township = None
    if township is not None:
        return township
    for pattern in (_ROAD_RE, _COUNTY_RE) if fallback else (_ROAD_RE,):
        found = pattern.match(value)
        if found and found.group("a") is not None:
            return found.group("a")
    return None


def _prefix_views(arr: pa.Array, start: np.ndarray, length: np.ndarray, keep: np.ndarray) -> pa.Array:
    """Row i → its first ``length[i]`` bytes (null where not ``keep``), built as an Arrow string view
    over ``arr``'s own data buffer (16 bytes per row, no copy of the text) and cast to plain strings."""
    n = len(arr)
    data = np.frombuffer(arr.buffers()[2], dtype=np.uint8)
    length = length.astype(np.int32)
    views = np.zeros((n, 16), np.uint8)
    words = views.view(np.int32)  # per row: length, then 12 inline bytes or prefix, buffer index, offset
    words[:, 0] = length
    twelve = np.arange(12)
    last = len(data) - 1
    for lo in range(0, n, _GATHER_ROWS):
        hi = min(lo + _GATHER_ROWS, n)
        head = data[np.minimum(start[lo:hi, None] + twelve, last)]
        views[lo:hi, 4:16] = np.where(twelve < np.minimum(length[lo:hi, None], 12), head, 0)
    longer = length > 12
    words[longer, 2] = 0
    words[longer, 3] = start[longer]
    validity = pa.array(keep, pa.bool_()).buffers()[1]
    out = pa.Array.from_buffers(pa.string_view(), n, [validity, pa.py_buffer(views), arr.buffers()[2]])
    return out.cast(pa.string())


def _address(arr: pa.ChunkedArray, p: Mapping[str, Any], ctx: _Context) -> pa.ChunkedArray:
    """地址泛化 to street level. Tried in order: cut after the first 街道/镇/乡 (江苏省常州市天宁区青龙街道
    龙锦路1号 → 江苏省常州市天宁区青龙街道); else cut after the road name (天宁区延陵西路123号 →
    天宁区延陵西路); else keep the 区/县 (or 市), unless ``fallback="null"``. An address matching none
    becomes null."""
    arr = _as_strings(arr, ctx)

    def one(chunk: pa.Array) -> pa.Array:
        stripped = pc.utf8_trim_whitespace(chunk)
        if len(stripped) <= SMALL_ROWS and pa.types.is_string(stripped.type):
            # a lookup's one row: the same cuts by Python's re (same syntax and meaning as RE2 here)
            fallback = p["fallback"] == "district"
            return pa.array([_address_text(v, fallback) for v in stripped.to_pylist()], stripped.type)
        township = _township(stripped)
        # "龙锦路12幢乡村小院": the token sits after a road and number, not a township
        township = pc.if_else(
            pc.match_substring_regex(township, _ROAD_OR_NUMBER), pa.scalar(None, chunk.type), township
        )
        need = pc.and_(pc.is_null(township), pc.is_valid(stripped))
        if not pc.any(need).as_py():
            return township
        # the fallbacks run only on the (usually few) rows without a township
        rest = stripped.filter(need)
        cuts = [pc.struct_field(pc.extract_regex(rest, ADDRESS_ROAD), "a")]
        if p["fallback"] == "district":
            cuts.append(pc.struct_field(pc.extract_regex(rest, ADDRESS_COUNTY), "a"))
        return pc.replace_with_mask(township, need, pc.coalesce(*cuts))

    return _per_chunk(arr, one, arr.type)


def _round(arr: pa.ChunkedArray, p: Mapping[str, Any], ctx: _Context) -> pa.ChunkedArray:
    values = _numeric(arr, ctx)
    if pa.types.is_integer(values.type):
        return values
    return pc.round(values, ndigits=p["digits"], round_mode="half_to_even")


def _truncate(arr: pa.ChunkedArray, p: Mapping[str, Any], ctx: _Context) -> pa.ChunkedArray:
    values = _numeric(arr, ctx)
    # towards zero: a truncated amount never overstates, in either sign
    mode = "towards_zero" if p["mode"] == "truncate" else "half_to_even"
    unit = p["unit"]
    if pa.types.is_integer(values.type) and not float(unit).is_integer():
        values = values.cast(pa.float64())
    return pc.round_to_multiple(values, multiple=unit, round_mode=mode)


# ── 抑制 suppression ──────────────────────────────────────────────────────────────────────────────


def _suppress(arr: pa.ChunkedArray, p: Mapping[str, Any], ctx: _Context) -> pa.ChunkedArray:
    replacement = p["replacement"]
    if replacement is None:
        out_type = arr.type.value_type if pa.types.is_dictionary(arr.type) else arr.type
        return pa.chunked_array([pa.nulls(len(arr), out_type)], type=out_type)
    # nulls stay null, as with every method: "missing" is not itself sensitive
    return pc.if_else(arr.is_valid(), pa.scalar(replacement), pa.scalar(None, pa.string()))


# ── 假名化 keyed pseudonymisation ─────────────────────────────────────────────────────────────────


def consumer_key(master_key: bytes, consumer_id: str, scope: str = "") -> bytes:
    """Per-consumer HMAC key: HKDF-SM3(master_key, info = purpose ‖ consumer ‖ scope).

    Deriving rather than sharing the master key means tokens from two consumers never match, and a
    consumer's key leaking reveals nothing about another's."""
    _check_key(master_key)
    if not consumer_id:
        raise Invalid("假名化需要数据使用方标识 consumer_id", details={"consumer_id": consumer_id})
    info = b"\x00".join([_HKDF_INFO, consumer_id.encode("utf-8"), scope.encode("utf-8")])
    return HKDF(algorithm=hashes.SM3(), length=32, salt=None, info=info).derive(master_key)


def _check_key(key: bytes | None) -> bytes:
    if key is None:
        raise Invalid("假名化需要平台主密钥，但未提供（主密钥不随代码分发，应由数据目录或环境变量提供）")
    if not isinstance(key, bytes | bytearray) or len(key) < MIN_KEY_BYTES:
        raise Invalid(f"平台主密钥至少需要 {MIN_KEY_BYTES} 字节", details={"length": len(key or b"")})
    return bytes(key)


def _hmac_sm3_many(key: bytes, values: pa.Array) -> np.ndarray:
    """HMAC-SM3 of each value → (n, 32) uint8. One HMAC per value is unavoidable; copying a keyed
    context skips re-deriving the inner/outer pads each time (~0.9 µs per value)."""
    fresh = hmac.HMAC(key, hashes.SM3()).copy
    out: list[bytes] = []
    append = out.append
    for value in values.cast(pa.large_binary()).to_pylist():
        h = fresh()
        h.update(value)
        append(h.finalize())
    return np.frombuffer(b"".join(out), dtype=np.uint8).reshape(-1, 32)


def _base32(digests: np.ndarray, length: int) -> np.ndarray:
    """First ``length`` base32 characters (RFC 4648 alphabet, lower case) of each digest row."""
    needed = -(-length * 5 // 8)  # whole bytes holding length × 5 bits
    bits = np.unpackbits(digests[:, :needed], axis=1)[:, : length * 5].reshape(len(digests), length, 5)
    symbols = bits @ np.array([16, 8, 4, 2, 1], dtype=np.uint8)
    return _B32_ALPHABET[symbols]


def _pseudonym(arr: pa.ChunkedArray, p: Mapping[str, Any], ctx: _Context) -> pa.ChunkedArray:
    master = _check_key(ctx.key)
    if not ctx.consumer_id:
        raise Invalid(f"字段 {ctx.column} 需假名化，但未指定数据使用方 consumer_id", details={"field": ctx.column})
    strings = _as_strings(arr, ctx)
    key = consumer_key(master, ctx.consumer_id, p["scope"])
    # hash each distinct value once: identifiers repeat (one person, many records)
    distinct = pc.unique(strings)
    distinct = distinct.filter(distinct.is_valid())
    length = p["length"]
    prefix = np.frombuffer(p["prefix"].encode("utf-8"), dtype=np.uint8)
    symbols = _base32(_hmac_sm3_many(key, distinct), length) if len(distinct) else np.empty((0, length), np.uint8)
    rows = np.concatenate([np.broadcast_to(prefix, (len(distinct), len(prefix))), symbols], axis=1)
    offsets = np.arange(len(distinct) + 1, dtype=np.int32) * rows.shape[1]
    tokens = pa.Array.from_buffers(
        pa.string(), len(distinct), [None, pa.py_buffer(offsets), pa.py_buffer(np.ascontiguousarray(rows))]
    )
    return pc.take(tokens, pc.index_in(strings, value_set=distinct))


# ── registry and application ──────────────────────────────────────────────────────────────────────


def _p(default: Any, *types: type, doc: str) -> _Param:
    return _Param(default, types, doc)


_INT = (int,)
_NUM = (int, float)

METHODS: dict[str, Method] = {
    m.name: m
    for m in [
        Method(
            "mask",
            "遮蔽",
            _mask,
            {
                "keep_first": _p(0, *_INT, doc="整数"),
                "keep_last": _p(0, *_INT, doc="整数"),
                "char": _p("*", str, doc="单个字符"),
                "min_masked": _p(1, *_INT, doc="整数"),
                "stars": _p(None, *_INT, doc="整数或 null"),
                "only_prefixes": _p((), tuple, doc="字符串列表"),
            },
            one=_mask_one,
        ),
        Method(
            "name",
            "遮蔽",
            _name,
            {"char": _p("*", str, doc="单个字符"), "stars": _p(None, *_INT, doc="整数")},
            one=_name_one,
        ),
        Method(
            "email",
            "遮蔽",
            _email,
            {"keep_first": _p(1, *_INT, doc="整数"), "char": _p("*", str, doc="单个字符")},
        ),
        Method("date", "泛化", _date, {"granularity": _p("month", str, doc="month 或 year")}),
        Method(
            "age_band",
            "泛化",
            _age_band,
            {"width": _p(10, *_NUM, doc="正数"), "top": _p(None, *_NUM, doc="数值")},
        ),
        Method(
            "bucket",
            "泛化",
            _bucket,
            {"width": _p(None, *_NUM, doc="正数"), "origin": _p(0, *_NUM, doc="数值")},
        ),
        Method(
            "address", "泛化", _address, {"fallback": _p("district", str, doc="district 或 null")}, one=_address_one
        ),
        Method("round", "泛化", _round, {"digits": _p(3, *_INT, doc="整数")}),
        Method(
            "truncate",
            "截断",
            _truncate,
            {"unit": _p(1, *_NUM, doc="正数"), "mode": _p("truncate", str, doc="truncate 或 nearest")},
        ),
        Method(
            "pseudonym",
            "假名化",
            _pseudonym,
            {
                "prefix": _p("pn_", str, doc="字符串"),
                "length": _p(20, *_INT, doc="整数"),
                "scope": _p("", str, doc="字符串"),
            },
            needs_key=True,
        ),
        Method("suppress", "抑制", _suppress, {"replacement": _p(None, str, doc="字符串或 null")}),
    ]
}


def mask_column(
    values: pa.Array | pa.ChunkedArray,
    spec: MaskSpec,
    *,
    column: str = "?",
    consumer_id: str | None = None,
    key: bytes | None = None,
) -> pa.ChunkedArray:
    """De-identify one column with ``spec``; nulls stay null."""
    arr = values if isinstance(values, pa.ChunkedArray) else pa.chunked_array([values])
    method = METHODS[spec.method]
    return method.func(arr, spec.options(), _Context(column, consumer_id, key))


def apply_mask(
    table: pa.Table,
    plan: Mapping[str, MaskSpec],
    consumer_id: str | None = None,
    key: bytes | None = None,
) -> pa.Table:
    """Return ``table`` with each column named in ``plan`` de-identified; other columns untouched.

    ``key`` is the platform master key (only needed when the plan pseudonymises) and ``consumer_id``
    the 数据使用方 the tokens are made for. Everything is checked before any work is done. Columns (and
    slices of long ones) are masked in parallel threads: Arrow kernels release the GIL."""
    _check_plan(table.column_names, plan, consumer_id, key)
    if not plan:
        return table

    # work items: whole columns, long ones cut into slices so that one heavy column (addresses) still
    # spreads over every core; pseudonyms stay whole so each distinct value is hashed once
    items: list[tuple[str, int, int]] = []
    for name, spec in plan.items():
        rows = table.num_rows
        step = rows if METHODS[spec.method].needs_key or rows <= SLICE_ROWS else SLICE_ROWS
        items.extend((name, start, step) for start in range(0, max(rows, 1), max(step, 1)))

    def run(item: tuple[str, int, int]) -> pa.ChunkedArray:
        name, start, length = item
        values = table.column(name).slice(start, length)
        return mask_column(values, plan[name], column=name, consumer_id=consumer_id, key=key)

    workers = min(len(items), os.cpu_count() or 1)
    # a thread pool costs more to start than a few thousand rows cost to mask (a lookup masks one row)
    if workers > 1 and table.num_rows * len(plan) > PARALLEL_MIN_CELLS:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            pieces = list(pool.map(run, items))
    else:
        pieces = [run(item) for item in items]
    results: dict[str, list[pa.ChunkedArray]] = {}
    for (name, _, _), piece in zip(items, pieces, strict=True):
        results.setdefault(name, []).append(piece)
    for name, parts in results.items():
        column = pa.chunked_array([chunk for part in parts for chunk in part.chunks], type=parts[0].type)
        index = table.schema.get_field_index(name)
        old = table.schema.field(index)
        table = table.set_column(index, pa.field(name, column.type, True, old.metadata), column)
    return table


def _check_plan(names: Iterable[str], plan: Mapping[str, MaskSpec], consumer_id: str | None, key: bytes | None) -> None:
    present = set(names)
    missing = [name for name in plan if name not in present]
    if missing:
        raise Invalid(f"脱敏规则指向不存在的字段：{'、'.join(missing)}", details={"fields": missing})
    keyed = [name for name, spec in plan.items() if METHODS[spec.method].needs_key]
    if keyed:
        if key is None:
            raise Invalid(f"字段 {'、'.join(keyed)} 需假名化，但未提供平台主密钥", details={"fields": keyed})
        _check_key(key)
        if not consumer_id:
            raise Invalid(f"字段 {'、'.join(keyed)} 需假名化，但未指定数据使用方", details={"fields": keyed})


def mask_record(
    record: Mapping[str, Any],
    plan: Mapping[str, MaskSpec],
    types: Mapping[str, pa.DataType],
    consumer_id: str | None = None,
    key: bytes | None = None,
) -> dict[str, Any]:
    """:func:`apply_mask` for one record (a lookup's answer), with the same result.

    ``types`` are the fields' Arrow types. A text value whose method has a one-value function is masked
    in Python; any other value is masked as a one-row column, by the method itself."""
    _check_plan(record, plan, consumer_id, key)
    out = dict(record)
    for name, spec in plan.items():
        value = record[name]
        method = METHODS[spec.method]
        if value is None:
            continue  # every method keeps a null null
        if method.one is not None and isinstance(value, str):
            masked = method.one(value, spec.options())
            if masked is not BY_ARROW:
                out[name] = masked
                continue
        column = pa.array([value], types.get(name))
        out[name] = mask_column(column, spec, column=name, consumer_id=consumer_id, key=key)[0].as_py()
    return out


def mask_batches(
    batches: Iterable[pa.RecordBatch] | pa.RecordBatchReader,
    plan: Mapping[str, MaskSpec],
    consumer_id: str | None = None,
    key: bytes | None = None,
) -> Iterator[pa.RecordBatch]:
    """Stream version of :func:`apply_mask` for results too big to hold — a DuckDB relation's
    ``.arrow()`` reader, a Parquet scan. Tokens are the same as ``apply_mask`` gives: they depend only
    on the value, the consumer and the key."""
    for batch in batches:
        yield from apply_mask(pa.Table.from_batches([batch]), plan, consumer_id, key).to_batches()
