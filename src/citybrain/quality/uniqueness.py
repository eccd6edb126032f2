"""Duplicate keys over a whole table, batch by batch, for the engine's Arrow path.

The SQL path groups by the key and joins the repeated keys back; here each batch's keys are encoded
as it is read and the repeats are found once at the end. A well-formed 公民身份号码 (17 digits and a
digit, ``X`` or ``x``) is a number below 2^63 — 17 digits times 12 last characters — so ten million of
them are one integer sort; any other value (wrong length, letters, full-width digits) and any other
key type go through Arrow's hashing. A row whose key has a null part is never a duplicate (nulls never
compare equal in the join) and is not checked.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from citybrain.quality import kernels
from citybrain.quality.column_rules import Columns, is_text, read_ids, text, valid
from citybrain.quality.rules import UniquenessRule

_NULL, _OTHER = -2, -1
#: a well-formed ID's code is its last character's value (0–9, X, x) times this, plus its 17 digits
#: (:func:`citybrain.quality.compiled.citizen_ids`)
_ID_DIGITS = 10**17


def citizen_id_codes(arr: pa.Array, parsed: kernels.CitizenIds | None = None) -> np.ndarray:
    """One integer per value, equal exactly where the values are equal: ≥ 0 for a well-formed
    公民身份号码, :data:`_OTHER` for any other text, :data:`_NULL` for null (callers must not write to it)."""
    codes = (parsed or kernels.citizen_ids(arr)).code  # already _OTHER for every value not an ID
    if arr.null_count:
        codes = np.where(valid(arr), codes, _NULL)
    return codes


_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_EMPTY, _CLASH = -1, -2


def sorted_repeats(ordered: np.ndarray) -> tuple[int, np.ndarray]:
    """Of sorted values: how many are copies of a repeated value (every copy fails, the first too),
    and the repeated values, distinct."""
    same = ordered[1:] == ordered[:-1]
    copies = np.zeros(len(ordered), dtype=bool)
    copies[1:] |= same
    copies[:-1] |= same
    again = ordered[1:][same]
    if len(again) > 1:
        again = again[np.concatenate([[True], again[1:] != again[:-1]])]
    return int(np.count_nonzero(copies)), again


@dataclass(frozen=True)
class RepeatTable:
    """An open-addressed table of the repeated values: a look-up is one hash and one gather, where a
    binary search would take twenty reads per row. Values whose slot two repeats share are looked up
    by binary search instead."""

    repeats: np.ndarray
    slots: np.ndarray
    shift: np.uint64

    @classmethod
    def of(cls, repeats: np.ndarray) -> RepeatTable:
        # about 64 slots a repeat keeps clashes rare; 2^24 (64 MB) bounds it
        bits = int(min(24, max(10, np.ceil(np.log2(max(len(repeats), 1) * 64)))))
        shift = np.uint64(64 - bits)
        slots = np.full(1 << bits, _EMPTY, dtype=np.int32)
        at = (repeats.view(np.uint64) * _GOLDEN) >> shift
        slots[at] = np.arange(len(repeats), dtype=np.int32)
        ordered = np.sort(at)
        slots[ordered[1:][ordered[1:] == ordered[:-1]]] = _CLASH
        return cls(repeats, slots, shift)

    def contains(self, values: np.ndarray) -> np.ndarray:
        """Where each value is one of the repeats (negative values never are)."""
        out = np.zeros(len(values), dtype=bool)
        if not len(self.repeats):
            return out
        slot = self.slots[(values.view(np.uint64) * _GOLDEN) >> self.shift]
        hit = np.flatnonzero(slot >= 0)
        out[hit] = self.repeats[slot[hit]] == values[hit]
        clash = np.flatnonzero(slot == _CLASH)
        if clash.size:
            at = np.minimum(np.searchsorted(self.repeats, values[clash]), len(self.repeats) - 1)
            out[clash] = self.repeats[at] == values[clash]
        return out


def repeated(values: np.ndarray) -> np.ndarray:
    """Where each value (non-negative int64) occurs more than once in ``values``."""
    return RepeatTable.of(sorted_repeats(np.sort(values))[1]).contains(values)


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


#: one batch's keys: the ID codes and those of them well formed, sorted (None for other key types),
#: the malformed text values, and the raw key columns (for other key types)
Encoded = tuple[np.ndarray | None, np.ndarray | None, pa.Array | None, list[pa.Array]]
Mapper = Callable[[Callable[[np.ndarray], np.ndarray], list[np.ndarray]], Iterable[np.ndarray]]


@dataclass
class UniqueKernel:
    """Gathers a uniqueness rule's keys batch by batch; :meth:`finish` answers for every row."""

    rule: UniquenessRule
    _codes: list[np.ndarray] = field(default_factory=list)
    _sorted: list[np.ndarray] = field(default_factory=list)
    _others: list[pa.Array] = field(default_factory=list)
    _other_rows: list[np.ndarray] = field(default_factory=list)
    _raw: list[list[pa.Array]] = field(default_factory=list)
    _rows: int = 0
    _checked: int = 0

    def encode(self, columns: Columns) -> Encoded:
        """One batch's keys, ready for :meth:`add` (thread-safe: it touches nothing shared, so the
        batches' sorts run on the reading threads)."""
        arrays = [columns[name] for name in self.rule.key]
        if len(arrays) == 1 and is_text(arrays[0]):
            arr = text(arrays[0])
            codes = citizen_id_codes(arr, read_ids(columns, self.rule.key[0]))
            formed = codes >= 0
            run = np.sort(codes if formed.all() else codes[formed])
            other = np.flatnonzero(codes == _OTHER)
            return codes, run, arr.take(pa.array(other)) if other.size else None, []
        return None, None, None, arrays

    def add(self, encoded: Encoded, rows: int) -> None:
        codes, run, others, raw = encoded
        if codes is not None and run is not None:
            # counted here, on the thread that waits for the batches, not after the last one
            self._checked += int(np.count_nonzero(codes != _NULL))
            self._codes.append(codes)
            self._sorted.append(run)
            if others is not None:
                self._others.append(others)
                self._other_rows.append(np.flatnonzero(codes == _OTHER) + self._rows)
        else:
            self._raw.append(raw)
        self._rows += rows

    def finish(self, mapper: Mapper = map) -> Duplicates:
        """The answer for every row of the table, once every batch is in; ``mapper`` (a thread pool's
        ``map``) sorts the two halves of the values in parallel."""
        if self._raw:
            columns = [pa.chunked_array([batch[j] for batch in self._raw]) for j in range(len(self.rule.key))]
            present, failed = _hashed_repeats(columns)  # type: ignore[arg-type]
            return Duplicates(int(failed.sum()), int(present.sum()), mask=failed)
        failed_count, repeats = _repeats_in_runs(self._sorted, mapper)
        other_failing = np.zeros(0, dtype=np.int64)
        if self._others:
            # a malformed value never equals a well-formed one: the two sets are judged apart
            _, again_other = _hashed_repeats([pa.chunked_array(self._others)])  # type: ignore[list-item]
            other_failing = np.concatenate(self._other_rows)[again_other]
            failed_count += len(other_failing)
        return Duplicates(
            failed_count,
            self._checked,
            table=RepeatTable.of(repeats),
            codes=self._codes,
            other_failing=other_failing,
        )


def _sorted_parts(parts: list[np.ndarray]) -> tuple[int, np.ndarray]:
    # sorting runs that are each already sorted is several times faster than sorting afresh
    return sorted_repeats(np.sort(np.concatenate([np.zeros(0, dtype=np.int64), *parts])))


def _repeats_in_runs(runs: list[np.ndarray], mapper: Mapper) -> tuple[int, np.ndarray]:
    """:func:`sorted_repeats` over sorted runs, as two halves split at a value near the median: each
    run splits by a binary search, and no value is in both halves, so neither sees the other's."""
    runs = [r for r in runs if len(r)]
    if not runs:
        return 0, np.zeros(0, dtype=np.int64)
    pivot = int(np.median([r[len(r) // 2] for r in runs]))
    cuts = [int(np.searchsorted(r, pivot)) for r in runs]
    halves = [[r[:c] for r, c in zip(runs, cuts, strict=True)], [r[c:] for r, c in zip(runs, cuts, strict=True)]]
    (low_count, low), (high_count, high) = mapper(_sorted_parts, halves)
    return low_count + high_count, np.concatenate([low, high])


class Duplicates:
    """A uniqueness rule's answer: counts, and which rows fail — for every row (:meth:`mask`, what
    samples ordered by a key column need) or for some (:meth:`among`, enough for the first rows by
    row number, so that a keyless run never looks up every row)."""

    def __init__(
        self,
        failed: int,
        checked: int,
        *,
        mask: np.ndarray | None = None,
        table: RepeatTable | None = None,
        codes: Sequence[np.ndarray] = (),
        other_failing: np.ndarray | None = None,
    ) -> None:
        self.failed = failed
        self.checked = checked
        self._mask = mask
        self._table = table
        self._codes = list(codes)
        self._starts = np.cumsum([0] + [len(c) for c in self._codes])[:-1]
        self._other = other_failing if other_failing is not None else np.zeros(0, dtype=np.int64)

    def mask(self, mapper: Mapper = map) -> np.ndarray:
        """Whether each row fails, in read order; ``mapper`` (a thread pool's ``map``) looks the batches
        up in parallel."""
        if self._mask is not None:
            return self._mask
        assert self._table is not None
        return self._rows_in(self._table, mapper)

    def _rows_in(self, table: RepeatTable, mapper: Mapper) -> np.ndarray:
        """Whether each row, in read order, holds one of ``table``'s IDs or is a malformed repeat."""
        out = np.concatenate([np.zeros(0, dtype=bool), *mapper(table.contains, self._codes)])
        out[self._other] = True
        return out

    def first_by_value(self, k: int, mapper: Mapper = map) -> np.ndarray:
        """0-based positions, ascending, of the failing rows whose value can be among the first ``k``
        failing values as text, for a rule on one text column whose samples are ordered by that column:
        every row of the ``k`` smallest repeated IDs and every malformed repeat. The rows are looked up in
        a table of those few IDs, which stays in cache, not in the table of every repeat."""
        if self._mask is not None:
            return np.flatnonzero(self._mask)
        assert self._table is not None
        repeats = self._table.repeats
        if len(repeats) > k:
            # text order: the 17 digits, then the last character (0–9 < X < x, as their bytes sort)
            as_text = (repeats % _ID_DIGITS) * 12 + repeats // _ID_DIGITS
            repeats = np.sort(repeats[np.argpartition(as_text, k)[:k]])
        return np.flatnonzero(self._rows_in(RepeatTable.of(repeats), mapper))

    def among(self, rows: np.ndarray) -> np.ndarray:
        """Whether each of ``rows`` (0-based positions in read order) fails."""
        if self._mask is not None:
            return self._mask[rows]
        assert self._table is not None
        # each batch's codes where they lie: the rows asked for are few, the table's rows many
        batch = np.searchsorted(self._starts, rows, side="right") - 1
        codes = np.empty(len(rows), dtype=np.int64)
        for b in np.unique(batch):
            at = batch == b
            codes[at] = self._codes[b][rows[at] - self._starts[b]]
        return self._table.contains(codes) | np.isin(rows, self._other)


__all__ = ["Duplicates", "RepeatTable", "UniqueKernel", "citizen_id_codes", "repeated", "sorted_repeats"]
