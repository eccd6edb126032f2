"""审计日志防篡改链: each entry's hash is SM3(previous hash ‖ canonical JSON of the entry).

Pure functions, no storage: the audit service stores ``(seq, payload, prev_hash, hash)`` rows and
:func:`verify` re-reads them in ``seq`` order. Editing, deleting, inserting or reordering rows breaks
the chain at a place :func:`verify` names. Rewriting the whole tail (recomputing every later hash) is
only caught against an external anchor — pass known ``checkpoints`` (e.g. the daily head hash
published elsewhere) for that.

``canonical`` is stable across a database round trip: sorted keys, UTF-8, no whitespace, aware
datetimes in UTC ISO 8601 — a payload stored as JSON and read back hashes the same.
"""

from __future__ import annotations

import datetime as dt
import enum
import json
import re
import uuid
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from cryptography.hazmat.primitives import hashes

from citybrain.errors import Invalid

#: prev_hash of the first entry of a chain
GENESIS = "0" * 64

_HEX = re.compile(r"[0-9a-f]{64}")


def _default(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        # aware → UTC so the same instant read back in another session time zone hashes the same
        return (value.astimezone(dt.UTC) if value.tzinfo else value).isoformat()
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, uuid.UUID | Decimal):
        return str(value)
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, set | frozenset):
        return sorted(value)
    raise TypeError(type(value).__name__)


# one encoder for every call: building it per entry costs as much as the encoding
_ENCODER = json.JSONEncoder(
    sort_keys=True, ensure_ascii=False, separators=(",", ":"), allow_nan=False, default=_default
)


def canonical(entry: Mapping[str, Any]) -> bytes:
    """Stable JSON bytes of an audit entry: sorted keys, UTF-8, no whitespace, datetimes ISO 8601."""
    try:
        text = _ENCODER.encode(entry)
    except (TypeError, ValueError) as exc:
        raise Invalid(f"审计记录含无法规范化的值：{exc}", details={"keys": sorted(map(str, entry))}) from exc
    return text.encode("utf-8")


def entry_hash(prev_hash: str, entry: Mapping[str, Any]) -> str:
    """Hex SM3 (GB/T 32905) of ``prev_hash`` (ASCII hex) followed by ``canonical(entry)``."""
    if not _is_hex(prev_hash):
        raise Invalid("前序哈希应为 64 位小写十六进制", details={"prev_hash": prev_hash})
    return _sm3_hex(prev_hash, entry)


def _sm3_hex(prev_hash: str, entry: Mapping[str, Any]) -> str:
    digest = hashes.Hash(hashes.SM3())
    digest.update(prev_hash.encode("ascii") + canonical(entry))
    return digest.finalize().hex()


def link(
    entries: Iterable[Mapping[str, Any]], *, prev_hash: str = GENESIS, first_seq: int = 1
) -> Iterator[tuple[int, Mapping[str, Any], str, str]]:
    """Chain payloads: yields ``(seq, payload, prev_hash, hash)`` rows as the writer stores them."""
    seq = first_seq
    for entry in entries:
        digest = entry_hash(prev_hash, entry)
        yield seq, entry, prev_hash, digest
        prev_hash = digest
        seq += 1


class ProblemKind(enum.StrEnum):
    EDITED = "edited"  # stored hash ≠ recomputed: payload or prev_hash changed after writing
    MISSING = "missing"  # seq gap: entries deleted
    OUT_OF_ORDER = "out_of_order"  # seq not increasing: duplicate or moved entry
    MISPLACED = "misplaced"  # the next entry links past this one: inserted or moved here
    BROKEN_LINK = "broken_link"  # prev_hash ≠ hash of the entry before
    CHECKPOINT = "checkpoint"  # hash differs from an externally anchored value


@dataclass(frozen=True)
class ChainProblem:
    """One break in the chain: where (``seq``), what (``kind``) and a message for people."""

    seq: int
    kind: ProblemKind
    message: str
    expected: str | None = None
    actual: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "kind": self.kind.value,
            "message": self.message,
            "expected": self.expected,
            "actual": self.actual,
        }


def iter_problems(
    entries: Iterable[tuple[int, Mapping[str, Any], str, str]],
    *,
    prev_hash: str = GENESIS,
    first_seq: int | None = None,
    checkpoints: Mapping[int, str] | None = None,
) -> Iterator[ChainProblem]:
    """Stream the chain's problems in ``seq`` order, holding only the last two entries.

    ``entries`` are ``(seq, payload, stored_prev_hash, stored_hash)`` in the order stored (normally
    ``ORDER BY seq``). ``prev_hash`` / ``first_seq`` say where the chain should start — pass the hash
    and seq after the last verified segment to check only new entries."""
    checkpoints = checkpoints or {}
    expected_prev = prev_hash
    expected_seq = first_seq
    last_seq: int | None = None
    before_last: tuple[int, str] | None = None  # (seq, stored hash) of the entry two back
    for seq, payload, stored_prev, stored_hash in entries:
        recomputed = _sm3_hex(stored_prev, payload) if _is_hex(stored_prev) else None
        if recomputed != stored_hash:
            yield ChainProblem(
                seq,
                ProblemKind.EDITED,
                f"序号 {seq} 的记录内容与其哈希不符（记录被改动）",
                recomputed,
                stored_hash,
            )

        gap = False
        if expected_seq is not None and seq > expected_seq:
            gap = True
            missing = f"{expected_seq}" if seq == expected_seq + 1 else f"{expected_seq}–{seq - 1}"
            yield ChainProblem(expected_seq, ProblemKind.MISSING, f"缺少序号 {missing} 的记录（记录被删除）")
        elif last_seq is not None and seq <= last_seq:
            yield ChainProblem(
                seq, ProblemKind.OUT_OF_ORDER, f"序号 {seq} 出现在序号 {last_seq} 之后（重复或顺序被调换）"
            )

        if stored_prev != expected_prev and not gap:
            if before_last is not None and stored_prev == before_last[1] and last_seq is not None:
                yield ChainProblem(
                    last_seq,
                    ProblemKind.MISPLACED,
                    f"序号 {last_seq} 的记录不在链上：序号 {seq} 直接链接到序号 {before_last[0]}（记录被插入或移动）",
                    expected_prev,
                    stored_prev,
                )
            else:
                where = "链首起始值" if last_seq is None else f"序号 {last_seq}"
                yield ChainProblem(
                    seq,
                    ProblemKind.BROKEN_LINK,
                    f"序号 {seq} 的前序哈希与{where}的哈希不符（之前的记录被删除、改动或调换）",
                    expected_prev,
                    stored_prev,
                )

        anchored = checkpoints.get(seq)
        if anchored is not None and anchored != stored_hash:
            yield ChainProblem(
                seq,
                ProblemKind.CHECKPOINT,
                f"序号 {seq} 的哈希与外部锚定值不符（链被整体重写）",
                anchored,
                stored_hash,
            )

        if last_seq is not None:
            before_last = (last_seq, expected_prev)
        last_seq = seq
        expected_prev = stored_hash
        if expected_seq is None or seq >= expected_seq:
            expected_seq = seq + 1


def verify(
    entries: Iterable[tuple[int, Mapping[str, Any], str, str]],
    *,
    prev_hash: str = GENESIS,
    first_seq: int | None = None,
    checkpoints: Mapping[int, str] | None = None,
) -> list[ChainProblem]:
    """Every problem in the chain (empty: intact). See :func:`iter_problems` to stop early."""
    return list(iter_problems(entries, prev_hash=prev_hash, first_seq=first_seq, checkpoints=checkpoints))


def _is_hex(value: Any) -> bool:
    return isinstance(value, str) and _HEX.fullmatch(value) is not None
