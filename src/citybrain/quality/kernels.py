"""Check-digit kernels over Arrow string arrays, run by DuckDB as vectorised UDFs.

As SQL, a 公民身份号码 check digit is 17 substrings, 17 code points and a sum per row: at a million
rows it costs more than every other rule of the standard 人口 set together. Here the same arithmetic
runs on the bytes of a whole Arrow batch: for the ID, one compiled loop over its rows reads each value
once (:mod:`citybrain.quality.compiled`); for the 统一社会信用代码, fixed-width strings reshape into a
matrix and the weighted sum is one matrix product. DuckDB calls them once per 2,048-row vector.

The Ibis expressions in :mod:`citybrain.quality.checkdigits` stay the definition: Spark runs them
(its Arrow UDFs call Python per row, which would be slower than its own functions), and the tests
prove both give the same answer on every kind of value, valid or not. ``valid`` is null where the
input is null, true or false otherwise, as there.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import ibis
import ibis.expr.types as ir
import numpy as np
import pyarrow as pa

from citybrain.quality import checkdigits

_USCC_WEIGHTS = np.array(checkdigits.USCC_WEIGHTS, dtype=np.float64)
#: byte → the character's value in the 统一社会信用代码 alphabet, -1 outside it
_USCC_VALUE = np.full(256, -1, dtype=np.int16)
for _i, _c in enumerate(checkdigits.USCC_ALPHABET.encode()):
    _USCC_VALUE[_c] = _i


def text_buffers(arr: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """A plain text array's offsets (one more than its rows, from its own start) and data bytes."""
    offsets_type = np.int64 if pa.types.is_large_string(arr.type) else np.int32
    raw = arr.buffers()
    offsets = np.frombuffer(raw[1], dtype=offsets_type)[arr.offset : arr.offset + len(arr) + 1]
    data = np.frombuffer(raw[2], dtype=np.uint8) if raw[2] is not None else np.zeros(0, np.uint8)
    return offsets, data


def _fixed_width(arr: pa.Array, width: int) -> tuple[np.ndarray, np.ndarray | None]:
    """The values ``width`` bytes long as an ``(m, width)`` byte matrix, and their row positions
    (``None`` when every value has that length, the usual case, read without copying)."""
    n = len(arr)
    offsets, data = text_buffers(arr)
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


def dictionary_indices(arr: pa.DictionaryArray) -> np.ndarray:
    """Each row's position in its dictionary, read in place; a null's slot may hold any value, so callers
    mask the nulls (or clip) before trusting one."""
    indices = arr.indices
    at = np.frombuffer(indices.buffers()[1], dtype=indices.type.to_pandas_dtype())
    return at[indices.offset : indices.offset + len(indices)]


def _is_digit(chars: np.ndarray) -> np.ndarray:
    # one subtraction and one comparison: bytes below "0" wrap around to large values
    return (chars - np.uint8(ord("0"))) < 10


def compiled_loops() -> Any:
    """:mod:`citybrain.quality.compiled`, imported on first use: Numba takes about a second to import,
    paid where a check first runs, not by every import of the engine."""
    from citybrain.quality import compiled

    return compiled


@dataclass(frozen=True)
class CitizenIds:
    """A text column's values read as 公民身份号码 (:func:`citybrain.quality.compiled.citizen_ids`),
    once per batch and shared by the rules on that column. One slot a row, false or -1 for a null;
    callers must not write to them."""

    formed: np.ndarray
    check_ok: np.ndarray
    date_ok: np.ndarray
    code: np.ndarray
    born: np.ndarray


def citizen_ids(arr: pa.Array) -> CitizenIds:
    compiled = compiled_loops()
    n = len(arr)
    ids = CitizenIds(
        formed=np.empty(n, dtype=bool),
        check_ok=np.empty(n, dtype=bool),
        date_ok=np.empty(n, dtype=bool),
        code=np.empty(n, dtype=np.int64),
        born=np.empty(n, dtype=np.int64),
    )
    compiled.citizen_ids(*text_buffers(arr), ids.formed, ids.check_ok, ids.date_ok, ids.code, ids.born)
    if arr.null_count:
        # a null's slot may hold any bytes: it is never an ID
        null = np.asarray(arr.is_null())
        for flags in (ids.formed, ids.check_ok, ids.date_ok):
            flags[null] = False
        ids.code[null] = -1
        ids.born[null] = -1
    return ids


def citizen_id_valid_arrow(
    values: pa.Array | pa.ChunkedArray, *, check_birth_date: bool = True, parsed: CitizenIds | None = None
) -> pa.Array:
    """GB 11643 validity of each value, as :func:`checkdigits.citizen_id_valid`."""
    arr = _as_string_array(values)
    ids = parsed or citizen_ids(arr)
    return _result(arr, ids.check_ok & ids.date_ok if check_birth_date else ids.check_ok, None)


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


def iso_dates(arr: pa.Array) -> np.ndarray:
    """Each value in the form ``YYYY?MM?DD`` (``?`` any one non-digit byte) as the number ``YYYYMMDD``,
    -1 for any other value or a null."""
    compiled = compiled_loops()
    out = np.empty(len(arr), dtype=np.int64)
    compiled.iso_dates(*text_buffers(arr), out)
    if arr.null_count:
        out[np.asarray(arr.is_null())] = -1
    return out


_DIGIT_PLACES = 10 ** np.arange(7, -1, -1, dtype=np.int64)


def _birth_numbers(birth: pa.Array) -> np.ndarray:
    """Each birth value's digits (``1990-01-02``, ``1990/01/02``, ``19900102`` → 19900102) as a number
    where they are exactly 8, else -1 (and for a null), as the SQL path's "remove every non-digit".
    ISO dates are read in place: removing their one-byte separators leaves just those digits. Only the
    other values go through Arrow's regex replace."""
    import pyarrow.compute as pc

    numbers = iso_dates(birth)
    others = numbers < 0
    if birth.null_count:
        others &= np.asarray(birth.is_valid())
    rest = np.flatnonzero(others)
    if rest.size:
        digits = pc.replace_substring_regex(birth.take(pa.array(rest)), pattern="[^0-9]", replacement="")
        eight, sub = _fixed_width(digits, 8)
        sub = np.arange(len(rest)) if sub is None else sub
        numbers[rest[sub]] = (eight.astype(np.int64) - ord("0")) @ _DIGIT_PLACES
    return numbers


def _code_index(values: pa.Array, codes: pa.Array) -> np.ndarray:
    """Each value's position among ``codes`` once trimmed of ASCII blanks, -1 where it is none or null."""
    import pyarrow.compute as pc

    index = pc.index_in(values, value_set=codes)
    if index.null_count > values.null_count:
        # only values that are not a code as they stand pay for the trim
        index = pc.index_in(pc.utf8_trim(values, characters=_STRIP), value_set=codes)
    return np.asarray(index.fill_null(-1))


_NO_ROWS = np.zeros(0, dtype=np.int32)
_NO_NULLS = np.zeros(0, dtype=bool)


def _field(arr: pa.Array, judge: Any, dtype: type) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A field as :func:`citybrain.quality.compiled.id_disagreement` reads it: each row's position in a
    table of answers, the table (``judge`` of the dictionary's values, or of the rows), and validity."""
    if arr.null_count == len(arr):
        return _NO_ROWS, np.zeros(0, dtype=dtype), _NO_NULLS
    present = np.asarray(arr.is_valid()) if arr.null_count else _NO_NULLS
    if not is_text_dictionary(arr):
        return _NO_ROWS, np.ascontiguousarray(judge(arr), dtype=dtype), present
    # a null's slot may hold any position: the loop reads none for a row that is not valid
    at = dictionary_indices(arr).astype(np.int32, copy=False)
    return at, np.ascontiguousarray(judge(arr.dictionary), dtype=dtype), present


def citizen_id_agreement(
    ids: pa.Array | pa.ChunkedArray,
    births: pa.Array | pa.ChunkedArray,
    sexes: pa.Array | pa.ChunkedArray,
    male: str,
    female: str,
    *,
    parsed: CitizenIds | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """For each row, whether a well-formed 公民身份号码 disagrees with the birth-date or sex field, as
    :meth:`citybrain.quality.rules.IdCardConsistencyRule.failed` (false where the ID is malformed or
    both fields are missing), and whether the row is checked (:meth:`~IdCardConsistencyRule.checked`).
    ``male`` / ``female`` are the accepted codes joined by :data:`VALUE_SEP`. A dictionary-encoded
    field is judged once per distinct value; the rows are then one compiled pass."""
    compiled = compiled_loops()
    arr = _as_string_array(ids)
    n = len(arr)
    parsed = parsed or citizen_ids(arr)
    males, females = male.split(VALUE_SEP), female.split(VALUE_SEP)
    codes = pa.array(males + females)

    def sex_class(values: pa.Array) -> np.ndarray:
        index = _code_index(values, codes)
        by_sex = np.where(index < len(males), compiled.SEX_MALE, compiled.SEX_FEMALE)
        return np.where(index < 0, compiled.SEX_NONE, by_sex)

    birth = _field(_text_or_dictionary(births), _birth_numbers, np.int64)
    sex = _field(_text_or_dictionary(sexes), sex_class, np.int8)
    failed, checked = np.empty(n, dtype=bool), np.empty(n, dtype=bool)
    compiled.id_disagreement(parsed.formed, parsed.code, parsed.born, *birth, *sex, failed, checked)
    return failed, checked


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
    failed, _ = citizen_id_agreement(ident, birth, sex, male.unique()[0].as_py(), female.unique()[0].as_py())
    return pa.array(failed, type=pa.bool_())


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
    "citizen_id_agreement",
    "citizen_id_valid_arrow",
    "citybrain_citizen_id_disagrees",
    "uscc_valid_arrow",
    "valid_expr",
]
