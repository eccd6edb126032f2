"""Duplicate keys over a whole table, batch by batch, for the engine's Arrow path.

The SQL path groups by the key and joins the repeated keys back; here each batch's keys are encoded
as it is read and the repeats are found once at the end. A well-formed 公民身份号码 (17 digits and a
digit, ``X`` or ``x``) is a number below 2^63 — 17 digits times 12 last characters — so ten million of
them are one integer sort; any other value (wrong length, letters, full-width digits) and any other
key type go through Arrow's hashing. A row whose key has a null part is never a duplicate (nulls never
compare equal in the join) and is not checked.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from citybrain.quality import kernels
from citybrain.quality.column_rules import Columns, is_text, valid
from citybrain.quality.rules import UniquenessRule

_ID_WIDTH = 18
_NULL, _OTHER = -2, -1
#: the 18th character's value: 0-9, X, x
_LAST = np.full(256, -1, dtype=np.int64)
_LAST[np.frombuffer(b"0123456789Xx", dtype=np.uint8)] = np.arange(12)


def citizen_id_codes(arr: pa.Array) -> np.ndarray:
    """One integer per value, equal exactly where the values are equal: ≥ 0 for a well-formed
    公民身份号码, :data:`_OTHER` for any other text, :data:`_NULL` for null."""
    codes = np.full(len(arr), _OTHER, dtype=np.int64)
    chars, rows = kernels._fixed_width(arr, _ID_WIDTH)
    rows = np.arange(len(arr)) if rows is None else rows
    if len(rows):
        pairs = kernels.byte_pairs(chars)
        code = np.zeros(len(rows), dtype=np.int64)
        malformed = np.zeros(len(rows), dtype=bool)
        # characters 1–16 two at a time (0–99 each, -1 unless both are digits), then the 17th and 18th
        for i in range(8):
            two = kernels.TWO_DIGITS[pairs[:, i]]
            malformed |= two < 0
            code = code * 100 + two
        digit = chars[:, 16].astype(np.int64) - ord("0")
        last = _LAST[chars[:, 17]]
        malformed |= (digit < 0) | (digit > 9) | (last < 0)
        codes[rows] = np.where(malformed, _OTHER, (code * 10 + digit) * 12 + last)
    if arr.null_count:
        codes[~valid(arr)] = _NULL
    return codes


#: bits of the hash that screens values before the exact look-up of :func:`repeated`
_SCREEN_BITS = 24
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)


def repeated(values: np.ndarray) -> np.ndarray:
    """Where each value (non-negative int64) occurs more than once in ``values``.

    A plain sort finds the repeated values (several times faster than the argsort that would map them
    back); a bitmap over a multiplicative hash of them screens out nearly every other row, and only the
    rows it lets through are looked up exactly in the sorted repeats."""
    out = np.zeros(len(values), dtype=bool)
    if len(values) < 2:
        return out
    ordered = np.sort(values)
    same = ordered[1:] == ordered[:-1]
    repeats = ordered[1:][same]
    if not len(repeats):
        return out
    shift = np.uint64(64 - _SCREEN_BITS)
    screen = np.zeros(1 << _SCREEN_BITS, dtype=bool)
    screen[(repeats.view(np.uint64) * _GOLDEN) >> shift] = True
    maybe = np.flatnonzero(screen[(values.view(np.uint64) * _GOLDEN) >> shift])
    candidates = values[maybe]
    at = np.minimum(np.searchsorted(repeats, candidates), len(repeats) - 1)
    out[maybe[repeats[at] == candidates]] = True
    return out


def _hashed_repeats(arrays: list[pa.Array]) -> tuple[np.ndarray, np.ndarray]:
    """Group indices of the (non-null) tuples across ``arrays`` (one per key column), by Arrow's hash;
    returns (present, repeated)."""
    n = len(arrays[0])
    present = np.ones(n, dtype=bool)
    code = np.zeros(n, dtype=np.int64)
    for arr in arrays:
        encoded = pc.dictionary_encode(arr)
        if isinstance(encoded, pa.ChunkedArray):
            encoded = encoded.combine_chunks()
        present &= valid(encoded.indices)
        index = np.asarray(encoded.indices.fill_null(0), dtype=np.int64)
        code = code * max(len(encoded.dictionary), 1) + index
        # keep the combined code small enough for the next column's factor
        code = np.unique(code, return_inverse=True)[1].astype(np.int64)
    counts = np.bincount(code[present], minlength=int(code.max(initial=0)) + 1)
    return present, present & (counts[code] > 1)


@dataclass
class UniqueKernel:
    """Gathers a uniqueness rule's keys batch by batch; :meth:`finish` answers for every row."""

    rule: UniquenessRule
    _codes: list[np.ndarray] = field(default_factory=list)
    _others: list[pa.Array] = field(default_factory=list)
    _other_rows: list[np.ndarray] = field(default_factory=list)
    _raw: list[list[pa.Array]] = field(default_factory=list)
    _rows: int = 0

    def encode(self, columns: Columns) -> tuple[np.ndarray | None, pa.Array | None, list[pa.Array]]:
        """One batch's keys, ready for :meth:`add` (thread-safe: it touches nothing shared)."""
        arrays = [columns[name] for name in self.rule.key]
        if len(arrays) == 1 and is_text(arrays[0]):
            codes = citizen_id_codes(arrays[0])
            other = np.flatnonzero(codes == _OTHER)
            return codes, arrays[0].take(pa.array(other)) if other.size else None, []
        return None, None, arrays

    def add(self, encoded: tuple[np.ndarray | None, pa.Array | None, list[pa.Array]], rows: int) -> None:
        codes, others, raw = encoded
        if codes is not None:
            self._codes.append(codes)
            if others is not None:
                self._others.append(others)
                self._other_rows.append(np.flatnonzero(codes == _OTHER) + self._rows)
        else:
            self._raw.append(raw)
        self._rows += rows

    def finish(self) -> tuple[np.ndarray, np.ndarray]:
        """(failed, checked) for every row of the table, in read order."""
        if self._raw:
            columns = [pa.chunked_array([batch[j] for batch in self._raw]) for j in range(len(self.rule.key))]
            present, failed = _hashed_repeats(columns)  # type: ignore[arg-type]
            return failed, present
        codes = np.concatenate(self._codes) if self._codes else np.zeros(0, dtype=np.int64)
        present = codes != _NULL
        formed = codes >= 0
        if formed.all():
            failed = repeated(codes)
        else:
            failed = np.zeros(len(codes), dtype=bool)
            rows = np.flatnonzero(formed)
            failed[rows] = repeated(codes[rows])
        if self._others:
            # a malformed value never equals a well-formed one: the two sets are judged apart
            _, again = _hashed_repeats([pa.chunked_array(self._others)])  # type: ignore[list-item]
            failed[np.concatenate(self._other_rows)] = again
        return failed, present


__all__ = ["UniqueKernel", "citizen_id_codes", "repeated"]
