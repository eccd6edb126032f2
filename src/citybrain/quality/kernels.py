"""Check-digit kernels over Arrow string arrays, run by DuckDB as vectorised UDFs.

As SQL, a 公民身份号码 check digit is 17 substrings, 17 code points and a sum per row: at a million
rows it costs more than every other rule of the standard 人口 set together. Here the same arithmetic
runs on the bytes of a whole Arrow batch with numpy (fixed-width strings reshape into a matrix, the
weighted sum is one matrix product), which DuckDB calls once per 2,048-row vector.

The Ibis expressions in :mod:`citybrain.quality.checkdigits` stay the definition: Spark runs them
(its Arrow UDFs call Python per row, which would be slower than its own functions), and the tests
prove both give the same answer on every kind of value, valid or not. ``valid`` is null where the
input is null, true or false otherwise, as there.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import ibis
import ibis.expr.types as ir
import numpy as np
import pyarrow as pa

from citybrain.quality import checkdigits

_DIGIT_WEIGHTS = np.array(checkdigits.CITIZEN_ID_WEIGHTS, dtype=np.float64)
_CITIZEN_CHECK = np.frombuffer(checkdigits.CITIZEN_ID_CHECK_CHARS.encode(), dtype=np.uint8)
_USCC_WEIGHTS = np.array(checkdigits.USCC_WEIGHTS, dtype=np.float64)
#: byte → the character's value in the 统一社会信用代码 alphabet, -1 outside it
_USCC_VALUE = np.full(256, -1, dtype=np.int16)
for _i, _c in enumerate(checkdigits.USCC_ALPHABET.encode()):
    _USCC_VALUE[_c] = _i
_DAYS_IN_MONTH = np.array([0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31], dtype=np.int16)


def _fixed_width(arr: pa.Array, width: int) -> tuple[np.ndarray, np.ndarray | None]:
    """The values ``width`` bytes long as an ``(m, width)`` byte matrix, and their row positions
    (``None`` when every value has that length, the usual case, read without copying)."""
    n = len(arr)
    offsets_type = np.int64 if pa.types.is_large_string(arr.type) else np.int32
    buffers = arr.buffers()
    offsets = np.frombuffer(buffers[1], dtype=offsets_type)[arr.offset : arr.offset + n + 1]
    data = np.frombuffer(buffers[2], dtype=np.uint8) if buffers[2] is not None else np.zeros(0, np.uint8)
    lengths = np.diff(offsets)
    if arr.null_count == 0 and bool((lengths == width).all()):
        return data[offsets[0] : offsets[-1]].reshape(n, width), None
    rows = np.flatnonzero(lengths == width)
    if data.size < width:
        return np.zeros((0, width), dtype=np.uint8), rows[:0]
    # a null's slot has length 0, so it is never among the rows; each row is one slice of a zero-copy
    # window view, copied whole, where indexing byte by byte would compute an index per byte
    return np.lib.stride_tricks.sliding_window_view(data, width)[offsets[rows]], rows


def _result(arr: pa.Array, ok: np.ndarray, rows: np.ndarray | None) -> pa.Array:
    if rows is not None:
        full = np.zeros(len(arr), dtype=bool)
        full[rows] = ok
        ok = full
    mask = np.asarray(arr.is_null()) if arr.null_count else None
    return pa.array(ok, type=pa.bool_(), mask=mask)


def _as_string_array(values: pa.Array | pa.ChunkedArray) -> pa.Array:
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    if not (pa.types.is_string(values.type) or pa.types.is_large_string(values.type)):
        values = values.cast(pa.string())
    return values


def is_text_dictionary(arr: pa.Array) -> bool:
    """A dictionary-encoded text column (as the engine reads a Parquet column of few distinct values)."""
    return pa.types.is_dictionary(arr.type) and (
        pa.types.is_string(arr.type.value_type) or pa.types.is_large_string(arr.type.value_type)
    )


def _text_or_dictionary(values: pa.Array | pa.ChunkedArray) -> pa.Array:
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    return values if is_text_dictionary(values) else _as_string_array(values)


def dictionary_positions(arr: pa.DictionaryArray) -> np.ndarray:
    """Each row's position in its dictionary, -1 where null."""
    positions = np.asarray(arr.indices.fill_null(0), dtype=np.int64)
    if arr.null_count:
        positions[~np.asarray(arr.is_valid())] = -1
    return positions


def _is_digit(chars: np.ndarray) -> np.ndarray:
    # one subtraction and one comparison: bytes below "0" wrap around to large values
    return (chars - np.uint8(ord("0"))) < 10


def all_digits(chars: np.ndarray, start: int, stop: int) -> np.ndarray:
    """Whether bytes ``start:stop`` of each row are ASCII digits: one column at a time, several times
    faster than a 2-D comparison reduced along its short axis."""
    ok = np.ones(len(chars), dtype=bool)
    for j in range(start, stop):
        ok &= _is_digit(chars[:, j])
    return ok


def _calendar_date(year: np.ndarray, month: np.ndarray, day: np.ndarray) -> np.ndarray:
    leap = ((year % 4 == 0) & (year % 100 != 0)) | (year % 400 == 0)
    good_month = (month >= 1) & (month <= 12)
    last_day = _DAYS_IN_MONTH[np.clip(month, 0, 12)] + ((month == 2) & leap)
    return good_month & (day >= 1) & (day <= last_day)


def byte_pairs(chars: np.ndarray) -> np.ndarray:
    """An ``(m, 2k)`` byte matrix as ``(m, k)`` 16-bit codes, one per pair of characters, to index the
    pair tables below: a lookup per two characters is a quarter of the work of arithmetic per byte."""
    return np.ascontiguousarray(chars).view(np.uint16)


def _pair_table(value: Any) -> np.ndarray:
    """A table over every 16-bit pair code: ``value(first_byte, second_byte)`` as arrays."""
    code = np.arange(1 << 16)
    low, high = code & 0xFF, code >> 8
    first, second = (low, high) if sys.byteorder == "little" else (high, low)
    return value(first.astype(np.int64), second.astype(np.int64))


def _both_digits(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a >= 48) & (a <= 57) & (b >= 48) & (b <= 57)


#: a pair of digits → its two-digit value, -1 for anything else
TWO_DIGITS = _pair_table(lambda a, b: np.where(_both_digits(a, b), (a - 48) * 10 + (b - 48), -1)).astype(np.int16)
#: far enough below zero that no sum of weighted digits lifts a malformed body back to zero or above
_NOT_DIGITS = -2000
#: per pair of body characters (1–2, 3–4, … 15–16): weighted sum of the two digits, or _NOT_DIGITS
_WEIGHTED_PAIRS = np.stack(
    [
        _pair_table(
            lambda a, b, i=i: np.where(
                _both_digits(a, b),
                (a - 48) * int(_DIGIT_WEIGHTS[2 * i]) + (b - 48) * int(_DIGIT_WEIGHTS[2 * i + 1]),
                _NOT_DIGITS,
            )
        )
        for i in range(8)
    ]
).astype(np.int16)
#: characters 17–18: the 17th digit's weighted value, or _NOT_DIGITS (the 18th is judged apart)
_WEIGHTED_LAST_PAIR = _pair_table(
    lambda a, b: np.where((a >= 48) & (a <= 57), (a - 48) * int(_DIGIT_WEIGHTS[16]), _NOT_DIGITS)
).astype(np.int16)


def _citizen_id_sum(pairs: np.ndarray) -> np.ndarray:
    """Σ weight × digit over the 17 body characters, negative where one is not a digit."""
    total = _WEIGHTED_LAST_PAIR[pairs[:, 8]]
    for i in range(8):
        total += _WEIGHTED_PAIRS[i][pairs[:, i]]
    return total


@dataclass(frozen=True)
class CitizenIdBytes:
    """A text column's 18-byte values as the ID kernels read them, computed once per batch and shared
    by the rules on that column: the byte matrix, its row positions (``None``: every row), its pairs
    and the weighted digit sum."""

    chars: np.ndarray
    rows: np.ndarray | None
    pairs: np.ndarray
    total: np.ndarray

    @cached_property
    def formed(self) -> np.ndarray:
        """17 digits then a digit, ``X`` or ``x`` (``^[0-9]{17}[0-9Xx]$``), per row of ``chars``; read
        by every rule on the column, so computed once (callers must not write to it)."""
        last = self.chars[:, 17]
        return (self.total >= 0) & (_is_digit(last) | (last == ord("X")) | (last == ord("x")))


def citizen_id_bytes(arr: pa.Array) -> CitizenIdBytes:
    chars, rows = _fixed_width(arr, 18)
    pairs = byte_pairs(chars)
    return CitizenIdBytes(chars, rows, pairs, _citizen_id_sum(pairs))


def citizen_id_valid_arrow(
    values: pa.Array | pa.ChunkedArray, *, check_birth_date: bool = True, parsed: CitizenIdBytes | None = None
) -> pa.Array:
    """GB 11643 validity of each value, as :func:`checkdigits.citizen_id_valid`."""
    arr = _as_string_array(values)
    parsed = parsed or citizen_id_bytes(arr)
    chars, rows, pairs, total = parsed.chars, parsed.rows, parsed.pairs, parsed.total
    last = chars[:, 17]
    ok = parsed.formed.copy()
    expected = _CITIZEN_CHECK[np.where(ok, total % 11, 0)]
    ok &= expected == np.where(last == ord("x"), ord("X"), last)
    if check_birth_date:
        # characters 7–14 are pairs 3–6: YY YY MM DD
        year = TWO_DIGITS[pairs[:, 3]] * 100 + TWO_DIGITS[pairs[:, 4]]
        ok &= _calendar_date(year, TWO_DIGITS[pairs[:, 5]], TWO_DIGITS[pairs[:, 6]])
    return _result(arr, ok, rows)


def uscc_valid_arrow(values: pa.Array | pa.ChunkedArray) -> pa.Array:
    """GB 32100 validity of each value, as :func:`checkdigits.uscc_valid`."""
    arr = _as_string_array(values)
    chars, rows = _fixed_width(arr, 18)
    value = _USCC_VALUE[chars]
    ok = (value >= 0).all(axis=1) & _is_digit(chars[:, 2:8]).all(axis=1)
    total = (value[:, :17].astype(np.float64) @ _USCC_WEIGHTS).astype(np.int64)
    ok &= value[:, 17] == (31 - total % 31) % 31
    return _result(arr, ok, rows)


#: what Ibis's ``strip`` trims on DuckDB and Spark (ASCII whitespace), so the kernel agrees with both
_STRIP = " \t\n\r\x0b\x0c"
#: several values in one UDF argument (a UDF takes columns and scalars, not lists)
VALUE_SEP = "\x1f"


def _birth_digits(birth: pa.Array, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Each birth value's digits (``1990-01-02``, ``1990/01/02``, ``19900102`` → ``19900102``) as an
    ``(n, 8)`` byte matrix, and where they are exactly 8 digits. ISO and 8-digit values take a
    fixed-width path; anything else has its non-digits removed by Arrow's regex replace."""
    out = np.zeros((n, 8), dtype=np.uint8)
    ok = np.zeros(n, dtype=bool)
    iso, rows = _fixed_width(birth, 10)
    rows = np.arange(n) if rows is None else rows
    plain = _is_digit(iso[:, [0, 1, 2, 3, 5, 6, 8, 9]]).all(axis=1) & ~_is_digit(iso[:, 4]) & ~_is_digit(iso[:, 7])
    # a separator may be any non-digit but must be one byte: a multi-byte character is never 10 bytes wide
    # with 8 digits, so the fixed-width reading is the regex's answer
    out[rows[plain]] = iso[plain][:, [0, 1, 2, 3, 5, 6, 8, 9]]
    ok[rows[plain]] = True
    missing = ~ok if not birth.null_count else ~ok & ~np.asarray(birth.is_null())
    rest = np.flatnonzero(missing)
    if rest.size:
        import pyarrow.compute as pc

        digits = pc.replace_substring_regex(birth.take(pa.array(rest)), pattern="[^0-9]", replacement="")
        eight, sub = _fixed_width(digits, 8)
        sub = np.arange(len(rest)) if sub is None else sub
        out[rest[sub]] = eight
        ok[rest[sub]] = True
    return out, ok


def _iso_agrees(iso: np.ndarray, chars: np.ndarray) -> np.ndarray:
    """Whether ``YYYY?MM?DD`` values (``?`` any non-digit byte) hold the digits of IDs' 出生日期码: then
    removing the non-digits leaves exactly those 8 digits, the SQL path's test."""
    ip, cp = byte_pairs(iso), byte_pairs(chars)
    return (
        (ip[:, 0] == cp[:, 3])
        & (ip[:, 1] == cp[:, 4])
        & (ip[:, 4] == cp[:, 6])
        & (iso[:, 5] == chars[:, 10])
        & (iso[:, 6] == chars[:, 11])
        & ~_is_digit(iso[:, 4])
        & ~_is_digit(iso[:, 7])
    )


def _iso_number(iso: np.ndarray) -> np.ndarray:
    """``YYYY?MM?DD`` values (``?`` any non-digit byte) as the number ``YYYYMMDD``, -1 for any other."""
    pairs = byte_pairs(iso)
    year = TWO_DIGITS[pairs[:, 0]].astype(np.int32) * 100 + TWO_DIGITS[pairs[:, 1]]
    month = (iso[:, 5].astype(np.int32) - ord("0")) * 10 + (iso[:, 6].astype(np.int32) - ord("0"))
    ok = (TWO_DIGITS[pairs[:, 0]] >= 0) & (TWO_DIGITS[pairs[:, 1]] >= 0) & (TWO_DIGITS[pairs[:, 4]] >= 0)
    ok &= _is_digit(iso[:, 5]) & _is_digit(iso[:, 6]) & ~_is_digit(iso[:, 4]) & ~_is_digit(iso[:, 7])
    return np.where(ok, (year * 100 + month) * 100 + TWO_DIGITS[pairs[:, 4]], -1).astype(np.int32)


def _iso_agrees_dictionary(birth: pa.DictionaryArray, chars: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """:func:`_iso_agrees` for a dictionary-encoded birth column: each distinct value is read once, as
    the number its digits make, and each row compares its value's number with the ID's."""
    iso, iso_rows = _fixed_width(birth.dictionary, 10)
    numbers = np.full(len(birth.dictionary) + 1, -1, dtype=np.int32)  # a null's position, -1, reads the last
    numbers[np.arange(len(iso)) if iso_rows is None else iso_rows] = _iso_number(iso)
    pairs = byte_pairs(chars)
    born = (TWO_DIGITS[pairs[:, 3]].astype(np.int32) * 100 + TWO_DIGITS[pairs[:, 4]]) * 10000
    born += TWO_DIGITS[pairs[:, 5]].astype(np.int32) * 100 + TWO_DIGITS[pairs[:, 6]]
    return numbers[dictionary_positions(birth)[rows]] == born


def _iso_agrees_rows(birth: pa.Array, chars: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """:func:`_iso_agrees` for a plain birth column, row ``rows[i]`` against ``chars[i]``."""
    n = len(birth)
    iso, iso_rows = _fixed_width(birth, 10)
    if iso_rows is None and len(rows) == n:
        return _iso_agrees(iso, chars)
    at = np.full(n, -1, dtype=np.int64)
    at[np.arange(n) if iso_rows is None else iso_rows] = np.arange(len(iso))
    pick = at[rows]
    both = np.flatnonzero(pick >= 0)
    agrees = np.zeros(len(rows), dtype=bool)
    agrees[both] = _iso_agrees(iso[pick[both]], chars[both])
    return agrees


def _birth_disagrees(birth: pa.Array, chars: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """For the 18-character IDs ``chars`` at ``rows``: whether the birth value is present and its digits
    are not the ID's 出生日期码. ISO dates are compared in place; only the rest (other layouts, and
    disagreements) have their digits extracted."""
    present = np.asarray(birth.is_valid())[rows] if birth.null_count else np.ones(len(rows), dtype=bool)
    if is_text_dictionary(birth):
        agrees = _iso_agrees_dictionary(birth, chars, rows)
    else:
        agrees = _iso_agrees_rows(birth, chars, rows)
    rest = np.flatnonzero(present & ~agrees)
    if rest.size:
        some = birth.take(pa.array(rows[rest]))
        digits, eight = _birth_digits(some.dictionary_decode() if is_text_dictionary(some) else some, rest.size)
        agrees[rest] = eight & (digits == chars[rest, 6:14]).all(axis=1)
    return present & ~agrees


def _code_index(values: pa.Array, codes: pa.Array) -> np.ndarray:
    """Each value's position among ``codes`` once trimmed of ASCII blanks, -1 where it is none or null."""
    import pyarrow.compute as pc

    if is_text_dictionary(values):
        # judged once per distinct value
        per_value = np.append(_code_index(values.dictionary, codes), -1)
        return per_value[dictionary_positions(values)]
    index = pc.index_in(values, value_set=codes)
    if index.null_count > values.null_count:
        # only values that are not a code as they stand pay for the trim
        index = pc.index_in(pc.utf8_trim(values, characters=_STRIP), value_set=codes)
    return np.asarray(index.fill_null(-1))


def citizen_id_disagrees_arrow(
    ids: pa.Array | pa.ChunkedArray,
    births: pa.Array | pa.ChunkedArray,
    sexes: pa.Array | pa.ChunkedArray,
    male: str,
    female: str,
    *,
    parsed: CitizenIdBytes | None = None,
) -> pa.Array:
    """For each row, whether a well-formed 公民身份号码 disagrees with the birth-date or sex field, as
    :meth:`citybrain.quality.rules.IdCardConsistencyRule.failed` (false where the ID is malformed or
    both fields are missing). ``male`` / ``female`` are the accepted codes joined by :data:`VALUE_SEP`."""

    arr = _as_string_array(ids)
    n = len(arr)
    parsed = parsed or citizen_id_bytes(arr)
    chars = parsed.chars
    rows = np.arange(n) if parsed.rows is None else parsed.rows
    formed = parsed.formed
    bad = np.zeros(len(rows), dtype=bool)
    birth_arr = _text_or_dictionary(births)
    if birth_arr.null_count < n:
        bad |= _birth_disagrees(birth_arr, chars, rows)
    sex_arr = _text_or_dictionary(sexes)
    if sex_arr.null_count < n:
        males, females = male.split(VALUE_SEP), female.split(VALUE_SEP)
        code = _code_index(sex_arr, pa.array(males + females))
        if parsed.rows is not None:
            code = code[rows]
        # the 17th character is a digit wherever it matters (a well-formed ID): odd digits have the low bit
        odd = (chars[:, 16] & 1).astype(bool)
        agrees = np.where(odd, (code >= 0) & (code < len(males)), code >= len(males))
        present = ~np.asarray(sex_arr.is_null())[rows] if sex_arr.null_count else True
        bad |= present & ~agrees
    out = np.zeros(n, dtype=bool)
    out[rows] = formed & bad
    return pa.array(out, type=pa.bool_())


@ibis.udf.scalar.pyarrow
def citybrain_citizen_id_valid(value: str) -> bool:
    return citizen_id_valid_arrow(value)


@ibis.udf.scalar.pyarrow
def citybrain_uscc_valid(value: str) -> bool:
    return uscc_valid_arrow(value)


# "special": DuckDB would otherwise answer null, without calling, for any row with a null argument,
# where a row missing the sex field must still be judged on its birth date
@ibis.udf.scalar.pyarrow(null_handling="special")
def citybrain_citizen_id_disagrees(ident: str, birth: str, sex: str, male: str, female: str) -> bool:
    if len(ident) == 0:
        return pa.array([], type=pa.bool_())
    return citizen_id_disagrees_arrow(ident, birth, sex, male.unique()[0].as_py(), female.unique()[0].as_py())


#: scheme → the UDF DuckDB runs in place of the Ibis expression (schemes not listed keep it)
UDFS = {
    "citizen_id": citybrain_citizen_id_valid,
    "uscc": citybrain_uscc_valid,
}


def valid_expr(scheme: str, value: ir.StringValue, *, kernels: bool) -> ir.BooleanValue:
    """The validity of ``value`` under ``scheme``: the Arrow kernel where the engine runs it, else the
    Ibis expression."""
    if kernels and scheme in UDFS:
        return UDFS[scheme](value)
    return checkdigits.SCHEMES[scheme](value)


__all__ = [
    "UDFS",
    "VALUE_SEP",
    "citizen_id_disagrees_arrow",
    "citizen_id_valid_arrow",
    "citybrain_citizen_id_disagrees",
    "uscc_valid_arrow",
    "valid_expr",
]
