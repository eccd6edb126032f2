"""Whole-column forms of the row rules, for the engine's Arrow path (:mod:`citybrain.quality.columnar`).

Each kernel takes a batch's columns as Arrow arrays and answers, per row, what the rule's Ibis
expressions answer (:meth:`RowRule.failed` and :meth:`RowRule.checked`): a ``failed`` mask and a
``checked`` mask, both numpy booleans. The Ibis expressions stay the definition (Spark and the SQL
path run them); the tests prove both give the same counts and samples on every kind of value.

Uniqueness is not a per-batch question: :class:`UniqueKernel` gathers an encoding of each batch's keys
and answers for every row once all batches are in.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from citybrain.quality import kernels
from citybrain.quality.rules import (
    COUNTRY_PREFIX,
    LANDLINE_PATTERN,
    MOBILE_PATTERN,
    CheckDigitRule,
    CodeListRule,
    CompletenessRule,
    IdCardConsistencyRule,
    LookupRule,
    PatternRule,
    PhoneRule,
    ReferentialRule,
    RowRule,
    UniquenessRule,
)

Columns = Mapping[str, pa.Array]
#: (failed, checked) per row
Flags = tuple[np.ndarray, np.ndarray]

#: the characters CompletenessRule's ``^[ \t\r\n\u3000]*$`` accepts in a blank value
_BLANK = " \t\r\n\u3000"
#: bytes a blank value can start with (U+3000 is E3 80 80 in UTF-8); any other first byte is not blank
_BLANK_LEAD = np.zeros(256, dtype=bool)
_BLANK_LEAD[[0x20, 0x09, 0x0D, 0x0A, 0xE3]] = True
_MOBILE_LENGTH = 11


class BatchColumns(dict[str, pa.Array]):
    """A batch's columns, and what kernels derive from a column once for every rule that reads it."""

    def __init__(self, columns: Mapping[str, pa.Array]) -> None:
        super().__init__(columns)
        self.memo: dict[tuple[str, str], Any] = {}


def derived(columns: Columns, name: str, what: str, compute: Callable[[], Any]) -> Any:
    """``compute()`` once per batch and column (each batch is checked by one thread)."""
    memo = getattr(columns, "memo", None)
    if memo is None:
        return compute()
    if (name, what) not in memo:
        memo[(name, what)] = compute()
    return memo[(name, what)]


def read_ids(columns: Columns, name: str) -> kernels.CitizenIds:
    """The column read as 公民身份号码, once per batch for every rule on it."""
    return derived(columns, name, "citizen_id", lambda: kernels.citizen_ids(text(columns[name])))


def is_plain_text(arr: pa.Array | pa.ChunkedArray) -> bool:
    return pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type)


def is_text(arr: pa.Array | pa.ChunkedArray) -> bool:
    """Text, plain or dictionary-encoded: what the SQL path sees as a string column."""
    return is_plain_text(arr) or (
        pa.types.is_dictionary(arr.type)
        and (pa.types.is_string(arr.type.value_type) or pa.types.is_large_string(arr.type.value_type))
    )


def text(arr: pa.Array | pa.ChunkedArray) -> pa.Array:
    """The column as the SQL path casts it to text (``CAST(x AS VARCHAR)``), as a plain text array, for
    the types the Arrow path accepts (see :func:`citybrain.quality.columnar.supported_type`)."""
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    if is_plain_text(arr):
        return arr
    if pa.types.is_dictionary(arr.type):
        arr = arr.dictionary_decode()
        return arr if is_plain_text(arr) else arr.cast(pa.string())
    return arr.cast(pa.string())


def per_value(arr: pa.Array, judge: Callable[[pa.Array], np.ndarray]) -> np.ndarray:
    """``judge`` (plain text → a boolean per value, false for nulls) over a column: on a dictionary-
    encoded one, once per distinct value and spread to the rows by their indices."""
    if not kernels.is_text_dictionary(arr):
        return judge(text(arr))
    verdicts = judge(arr.dictionary)
    # the usual answers, every distinct value passing or every one failing, need no look-up per row
    if not verdicts.any():
        return np.zeros(len(arr), dtype=bool)
    if verdicts.all():
        return valid(arr)
    # clipped: a null's slot may hold any position, and its answer is masked anyway
    found = np.take(verdicts, kernels.dictionary_indices(arr), mode="clip")
    return found & valid(arr) if arr.null_count else found


def valid(arr: pa.Array) -> np.ndarray:
    if arr.null_count == 0:
        return np.ones(len(arr), dtype=bool)
    return np.asarray(arr.is_valid())


def _bool(arr: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """A boolean Arrow array as numpy, null read as false."""
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    if arr.null_count:
        arr = arr.fill_null(False)
    return np.asarray(arr)


def byte_lengths(arr: pa.Array) -> np.ndarray:
    offsets, _ = kernels.text_buffers(arr)
    return np.diff(offsets)


def _present(columns: Columns, names: Sequence[str]) -> np.ndarray:
    ok = valid(columns[names[0]])
    for name in names[1:]:
        ok = ok & valid(columns[name])
    return ok


def blank(arr: pa.Array) -> np.ndarray:
    """Where a text value is empty or only blanks (``^[ \\t\\r\\n\\u3000]*$``); false for nulls. Only
    values that start with a blank byte, or are empty, pay for the trim."""
    compiled = kernels.compiled_loops()
    lead = np.empty(len(arr), dtype=bool)
    compiled.blank_candidates(*kernels.text_buffers(arr), _BLANK_LEAD, lead)
    candidates = np.flatnonzero(lead & valid(arr)) if arr.null_count else np.flatnonzero(lead)
    out = np.zeros(len(arr), dtype=bool)
    if candidates.size:
        trimmed = pc.utf8_trim(arr.take(pa.array(candidates)), characters=_BLANK)
        out[candidates] = _bool(pc.equal(pc.binary_length(trimmed), 0))
    return out


_FIXED_ATOM = re.compile(r"(\[[^\]\\^]+\]|\\d|[A-Za-z0-9_\-])(\{([0-9]+)\})?")


def _class_bytes(atom: str) -> np.ndarray | None:
    """The bytes a one-character atom (``[0-9Xx]``, ``\\d``, a letter or digit) accepts, or ``None``."""
    table = np.zeros(256, dtype=bool)
    if atom == "\\d":
        table[ord("0") : ord("9") + 1] = True
        return table
    if not atom.startswith("["):
        table[ord(atom)] = True
        return table
    body = atom[1:-1]
    i = 0
    while i < len(body):
        if i + 2 < len(body) and body[i + 1] == "-":
            lo, hi = ord(body[i]), ord(body[i + 2])
            if lo > hi:
                return None
            table[lo : hi + 1] = True
            i += 3
        else:
            table[ord(body[i])] = True
            i += 1
    return table


@cache
def fixed_width_classes(pattern: str) -> np.ndarray | None:
    """An anchored pattern of fixed-width ASCII classes (``^[0-9]{17}[0-9Xx]$``, ``^1[3-9]\\d{9}$``) as
    one byte class per position, a ``(width, 256)`` boolean table; ``None`` for any other pattern, which
    then runs as a regex. Such a pattern matches exactly the values of that many bytes whose every byte
    is in its class: a character outside ASCII takes several bytes and is in no class."""
    if not (pattern.startswith("^") and pattern.endswith("$")) or pattern.endswith("\\$"):
        return None
    body, classes, at = pattern[1:-1], [], 0
    while at < len(body):
        m = _FIXED_ATOM.match(body, at)
        if m is None:
            return None
        table = _class_bytes(m.group(1))
        if table is None or not all(chr(b).isascii() for b in np.flatnonzero(table)):
            return None
        classes += [table] * int(m.group(3) or 1)
        at = m.end()
    return np.stack(classes) if classes else None


def _fixed_match(arr: pa.Array, classes: np.ndarray) -> np.ndarray:
    """Whether each value is as many bytes as ``classes`` has rows, each in its class (a null: any
    answer, which the caller masks)."""
    out = np.empty(len(arr), dtype=bool)
    kernels.compiled_loops().fixed_classes(*kernels.text_buffers(arr), classes, out)
    return out


_MOBILE_CLASSES = fixed_width_classes(MOBILE_PATTERN)
assert _MOBILE_CLASSES is not None and len(_MOBILE_CLASSES) == _MOBILE_LENGTH


def pattern_match(arr: pa.Array, pattern: str) -> np.ndarray:
    """``re_search(pattern)`` as the SQL path answers it, null false."""
    classes = fixed_width_classes(pattern)
    if classes is None:
        return regex_match(arr, pattern)
    return _fixed_match(arr, classes) & valid(arr)


def regex_match(arr: pa.Array, pattern: str) -> np.ndarray:
    """``re_search`` as DuckDB answers it (RE2, unanchored unless the pattern anchors), null false."""
    return _bool(pc.match_substring_regex(arr, pattern=pattern))


# ---------------------------------------------------------------------------------------------------
# kernels


@dataclass(frozen=True)
class RowKernel:
    """A row rule's whole-column form: ``evaluate(columns)`` → (failed, checked)."""

    rule: RowRule
    evaluate: Callable[[Columns], Flags]


def _missing_text(values: pa.Array, placeholders: tuple[str, ...]) -> np.ndarray:
    missing = blank(values)
    if placeholders:
        stripped = pc.utf8_trim(values, characters=kernels._STRIP)
        missing |= _bool(pc.is_in(stripped, value_set=pa.array(placeholders, type=values.type)))
    return missing


def _completeness(rule: CompletenessRule) -> Callable[[Columns], Flags]:
    def evaluate(columns: Columns) -> Flags:
        arr = columns[rule.column]
        missing = ~valid(arr)
        if is_text(arr):
            missing |= per_value(arr, lambda values: _missing_text(values, rule.placeholders))
        return missing, np.ones(len(arr), dtype=bool)

    return evaluate


def _check_digit(rule: CheckDigitRule) -> Callable[[Columns], Flags]:
    def evaluate(columns: Columns) -> Flags:
        arr = columns[rule.column]
        present = valid(arr)
        if rule.scheme == "citizen_id":
            ok = kernels.citizen_id_valid_arrow(text(arr), parsed=read_ids(columns, rule.column))
        else:
            ok = kernels.uscc_valid_arrow(text(arr))
        return present & ~_bool(ok), present

    return evaluate


def _pattern(rule: PatternRule) -> Callable[[Columns], Flags]:
    def evaluate(columns: Columns) -> Flags:
        arr = columns[rule.column]
        present = valid(arr)
        return present & ~per_value(arr, lambda values: pattern_match(values, rule.pattern)), present

    return evaluate


def _phone(rule: PhoneRule) -> Callable[[Columns], Flags]:
    # the same pattern as PhoneRule.failed
    numbers = MOBILE_PATTERN[1:-1] + ("|" + LANDLINE_PATTERN[1:-1] if rule.allow_landline else "")
    pattern = f"^({COUNTRY_PREFIX})?({numbers})$"

    def judge(arr: pa.Array) -> np.ndarray:
        present = valid(arr)
        if rule.allow_landline:
            return regex_match(arr, pattern)
        # an 11-byte value is too short for any country prefix and has no room for a multi-byte
        # character: for it, the whole pattern is the mobile one, byte by byte
        ok = _fixed_match(arr, _MOBILE_CLASSES)
        # only values of another length (a prefix, a typo) go through the regex
        others = np.flatnonzero(present & (byte_lengths(arr) != _MOBILE_LENGTH))
        if others.size:
            ok[others] = regex_match(arr.take(pa.array(others)), pattern)
        return ok & present

    def evaluate(columns: Columns) -> Flags:
        arr = columns[rule.column]
        present = valid(arr)
        return present & ~per_value(arr, judge), present

    return evaluate


def _lookup(rule: LookupRule, values: pa.Array) -> Callable[[Columns], Flags]:
    def evaluate(columns: Columns) -> Flags:
        present = _present(columns, rule.columns)
        found = per_value(
            columns[rule.lookup_column()], lambda arr: _bool(pc.is_in(arr, value_set=values.cast(arr.type)))
        )
        return present & ~found, present

    return evaluate


def _text_or_dictionary(arr: pa.Array) -> pa.Array:
    return arr if kernels.is_text_dictionary(arr) else text(arr)


def _id_agreement(rule: IdCardConsistencyRule) -> Callable[[Columns], Flags]:
    male = kernels.VALUE_SEP.join(rule.male_values)
    female = kernels.VALUE_SEP.join(rule.female_values)

    def evaluate(columns: Columns) -> Flags:
        ids = text(columns[rule.id_column])
        none = pa.nulls(len(ids), type=pa.string())
        # the kernel reads dictionary-encoded birth and sex columns as they are
        birth = _text_or_dictionary(columns[rule.birth_column]) if rule.birth_column else none
        sex = _text_or_dictionary(columns[rule.sex_column]) if rule.sex_column else none
        return kernels.citizen_id_agreement(ids, birth, sex, male, female, parsed=read_ids(columns, rule.id_column))

    return evaluate


def row_kernel(rule: RowRule, lookups: Mapping[str, pa.Array]) -> RowKernel | None:
    """The rule's whole-column form, or ``None`` where it has none (the engine then runs the set in SQL)."""
    evaluate: Callable[[Columns], Flags]
    # exact types: a subclass may redefine what fails
    kind = type(rule)
    if kind is CompletenessRule:
        evaluate = _completeness(rule)  # type: ignore[arg-type]
    elif kind is CheckDigitRule and rule.scheme in ("citizen_id", "uscc"):  # type: ignore[attr-defined]
        evaluate = _check_digit(rule)  # type: ignore[arg-type]
    elif kind is PatternRule:
        evaluate = _pattern(rule)  # type: ignore[arg-type]
    elif kind is PhoneRule:
        evaluate = _phone(rule)  # type: ignore[arg-type]
    elif kind is IdCardConsistencyRule:
        evaluate = _id_agreement(rule)  # type: ignore[arg-type]
    elif kind in (CodeListRule, ReferentialRule) and rule.id in lookups:
        evaluate = _lookup(rule, lookups[rule.id])  # type: ignore[arg-type]
    else:
        return None
    return RowKernel(rule, evaluate)


def has_kernel(rule: RowRule) -> bool:
    """Whether :func:`row_kernel` (or :class:`UniqueKernel`) covers the rule, lookups given."""
    kind = type(rule)
    if kind in (CompletenessRule, PatternRule, PhoneRule, IdCardConsistencyRule, UniquenessRule):
        return True
    if kind is CheckDigitRule:
        return rule.scheme in ("citizen_id", "uscc")  # type: ignore[attr-defined]
    return kind in (CodeListRule, ReferentialRule)


__all__ = [
    "Columns",
    "Flags",
    "RowKernel",
    "blank",
    "has_kernel",
    "is_text",
    "regex_match",
    "row_kernel",
    "text",
    "valid",
]
