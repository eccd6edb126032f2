"""审计日志防篡改链: edits, deletions, insertions and reordering are found at the right seq."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from citybrain.audit.chain import GENESIS, ProblemKind, canonical, entry_hash, link, verify
from citybrain.errors import Invalid

Row = tuple[int, dict, str, str]


def chain(n: int = 6) -> list[Row]:
    return list(link({"action": "dataset_read", "actor": f"u{i}", "n": i} for i in range(1, n + 1)))


def kinds(rows: list[Row]) -> list[tuple[int, ProblemKind]]:
    return [(p.seq, p.kind) for p in verify(rows)]


def test_canonical_is_sorted_compact_utf8() -> None:
    when = dt.datetime(2026, 5, 1, 16, 30, tzinfo=dt.timezone(dt.timedelta(hours=8)))
    assert canonical({"b": 1, "a": "数据", "t": when}) == '{"a":"数据","b":1,"t":"2026-05-01T08:30:00+00:00"}'.encode()


def test_canonical_survives_a_json_round_trip() -> None:
    entry = {"at": dt.datetime(2026, 5, 1, 8, 30, tzinfo=dt.UTC), "day": dt.date(2026, 5, 1), "x": [1, 2]}
    stored = json.loads(canonical(entry))
    assert entry_hash(GENESIS, stored) == entry_hash(GENESIS, entry)


def test_canonical_refuses_what_json_cannot_hold() -> None:
    with pytest.raises(Invalid):
        canonical({"x": float("nan")})
    with pytest.raises(Invalid):
        canonical({"x": object()})


def test_entry_hash_is_sm3_of_prev_and_canonical() -> None:
    from cryptography.hazmat.primitives import hashes

    h = hashes.Hash(hashes.SM3())
    h.update(GENESIS.encode() + b'{"a":1}')
    assert entry_hash(GENESIS, {"a": 1}) == h.finalize().hex()
    # GB/T 32905 example 1: SM3("abc")
    h = hashes.Hash(hashes.SM3())
    h.update(b"abc")
    assert h.finalize().hex() == "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"


def test_intact_chain_has_no_problems() -> None:
    rows = chain()
    assert verify(rows) == []
    assert rows[0][2] == GENESIS


def test_edited_entry_found_at_its_seq() -> None:
    rows = chain()
    seq, payload, prev, digest = rows[2]
    rows[2] = (seq, {**payload, "actor": "mallory"}, prev, digest)
    assert kinds(rows) == [(3, ProblemKind.EDITED)]


def test_edited_and_rehashed_entry_breaks_the_next_link() -> None:
    rows = chain()
    seq, payload, prev, _ = rows[2]
    forged = {**payload, "actor": "mallory"}
    rows[2] = (seq, forged, prev, entry_hash(prev, forged))
    assert kinds(rows) == [(4, ProblemKind.BROKEN_LINK)]


def test_deleted_entry_found_as_missing_seq() -> None:
    rows = chain()
    del rows[3]
    problems = verify(rows)
    assert [(p.seq, p.kind) for p in problems] == [(4, ProblemKind.MISSING)]
    assert "4" in problems[0].message


def test_deleted_and_renumbered_found_at_the_break() -> None:
    rows = chain()
    del rows[3]
    rows = [(i + 1, payload, prev, digest) for i, (_, payload, prev, digest) in enumerate(rows)]
    assert kinds(rows) == [(4, ProblemKind.BROKEN_LINK)]


def test_deleted_first_entry_is_found() -> None:
    rows = chain()[1:]
    assert kinds(rows) == [(2, ProblemKind.BROKEN_LINK)]
    assert [(p.seq, p.kind) for p in verify(rows, first_seq=1)] == [(1, ProblemKind.MISSING)]


def test_inserted_entry_found_at_its_seq() -> None:
    rows = chain()
    # a forger who knows the algorithm links a new entry after seq 3 and renumbers the rest
    forged = {"action": "dataset_read", "actor": "mallory", "n": 0}
    inserted = (4, forged, rows[2][3], entry_hash(rows[2][3], forged))
    rows = [*rows[:3], inserted, *[(seq + 1, p, prev, h) for seq, p, prev, h in rows[3:]]]
    assert kinds(rows) == [(4, ProblemKind.MISPLACED)]


def test_swapped_entries_found() -> None:
    rows = chain()
    # seq values swapped between rows 3 and 4, read back in seq order
    (s3, p3, v3, h3), (s4, p4, v4, h4) = rows[2], rows[3]
    rows[2], rows[3] = (s3, p4, v4, h4), (s4, p3, v3, h3)
    assert kinds(rows) == [
        (3, ProblemKind.BROKEN_LINK),
        (3, ProblemKind.MISPLACED),
        (4, ProblemKind.MISPLACED),
    ]


def test_rows_read_out_of_seq_order_are_found() -> None:
    rows = chain()
    rows[2], rows[3] = rows[3], rows[2]
    problems = kinds(rows)
    assert problems[:2] == [(3, ProblemKind.MISSING), (3, ProblemKind.OUT_OF_ORDER)]


def test_rewritten_tail_caught_only_by_checkpoint() -> None:
    rows = chain()
    checkpoint = {6: rows[5][3]}
    payloads = [payload for _, payload, _, _ in rows]
    payloads[4] = {**payloads[4], "actor": "mallory"}
    rewritten = list(link(payloads))
    assert verify(rewritten) == []
    assert [(p.seq, p.kind) for p in verify(rewritten, checkpoints=checkpoint)] == [(6, ProblemKind.CHECKPOINT)]


def test_verify_segment_from_a_known_head() -> None:
    rows = chain()
    assert verify(rows[3:], prev_hash=rows[2][3], first_seq=4) == []


def test_verify_memory_does_not_grow_with_chain_length() -> None:
    import tracemalloc

    def generate(n: int):
        yield from link({"n": i, "actor": "u"} for i in range(n))

    tracemalloc.start()
    try:
        assert verify(generate(300)) == []
        short = tracemalloc.get_traced_memory()[1]
        tracemalloc.reset_peak()
        assert verify(generate(3_000)) == []
        long = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert long < short * 1.5
