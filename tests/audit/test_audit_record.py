"""Appending to the audit chain in the caller's transaction: one gapless chain in commit order, however
many transactions append at once, whatever they roll back; the stored entries hash as they were chained."""

from __future__ import annotations

import threading
from typing import Any

from sqlalchemy import select, text

from citybrain.audit.models import AuditEvent
from citybrain.audit.service import AuditEntry, append, audit_verify, record
from citybrain.auth.actor import SYSTEM, Actor


def _seqs(db: Any) -> list[int]:
    with db.session() as session:
        return list(session.scalars(select(AuditEvent.seq).order_by(AuditEvent.seq)))


def test_concurrent_appends_form_one_gapless_chain_without_the_rolled_back(run: Any, db: Any) -> None:
    before = len(_seqs(db))
    threads, per_thread = 4, 12
    committed: list[str] = []
    lock = threading.Lock()
    failures: list[BaseException] = []

    def append(k: int) -> None:
        try:
            for i in range(per_thread):
                name = f"t{k}-{i}"
                try:
                    with db.session() as session:
                        record(session, SYSTEM, AuditEntry("test_append", resource_id=name, details={"i": i}))
                        if i % 4 == 3:
                            raise RuntimeError("rolled back")  # the entry must go with its transaction
                except RuntimeError:
                    continue
                with lock:
                    committed.append(name)
        except BaseException as exc:  # reported below: a failed thread must fail the test
            failures.append(exc)

    pool = [threading.Thread(target=append, args=(k,)) for k in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    assert not failures
    seqs = _seqs(db)
    assert seqs == list(range(1, len(seqs) + 1))  # gapless: a rolled-back append left no hole
    assert len(seqs) == before + len(committed) == before + threads * per_thread * 3 // 4
    with db.session() as session:
        stored = set(session.scalars(select(AuditEvent.resource_id).where(AuditEvent.action == "test_append")))
    assert stored == set(committed)
    report = run(audit_verify)
    assert report["ok"], report["problems"]
    assert report["entries"] == len(seqs)


def test_stored_entries_hash_as_chained_and_an_edit_is_found(run: Any, db: Any) -> None:
    with db.session() as session:
        for i in range(3):
            # None and empty values as well: JSON columns must read back as they were hashed
            record(
                session,
                SYSTEM,
                AuditEntry("test_values", resource_id=f"r{i}", fields=["a", "姓名"] if i else None, row_count=i),
                ip="127.0.0.1" if i == 1 else None,
            )
    assert run(audit_verify)["ok"]
    with db.session() as session:
        target = session.scalar(select(AuditEvent.seq).where(AuditEvent.resource_id == "r1"))
    with db.engine.begin() as conn:
        conn.execute(text("UPDATE audit_event SET row_count = 99 WHERE seq = :s"), {"s": target})
    report = run(audit_verify)
    assert not report["ok"]
    assert [(p["seq"], p["kind"]) for p in report["problems"]] == [(target, "edited")]


def test_record_returns_the_sessions_copy_of_the_row(db: Any) -> None:
    with db.session() as session:
        event = record(session, SYSTEM, AuditEntry("test_copy", details={"x": 1}))
        assert session.get(AuditEvent, event.seq) is event
        assert not session.dirty and not session.new
        previous = session.scalar(select(AuditEvent.hash).where(AuditEvent.seq == event.seq - 1))
        assert event.prev_hash == (previous or "0" * 64)
        second = record(session, SYSTEM, AuditEntry("test_copy"))
        assert (second.seq, second.prev_hash) == (event.seq + 1, event.hash)


def test_entries_appended_without_a_session_copy_chain_and_verify_like_recorded_ones(run: Any, db: Any) -> None:
    # append (the share calls') and record (everything else) write the same row; mixed, the chain holds
    caller = Actor(kind="token", user_id="u1", username="张三", dept_id="d1", token_id="t1")
    with db.session() as session:
        first = record(session, caller, AuditEntry("test_mixed", resource_id="r0", fields=["姓名"], row_count=1))
        row = append(
            session,
            caller,
            AuditEntry("test_mixed", resource_id="r1", fields=["姓名"], row_count=1, purpose="核验", details={"k": 1}),
            ip="127.0.0.1",
            request_id="req-1",
        )
        assert not session.new  # no object was added for it
        third = record(session, caller, AuditEntry("test_mixed", resource_id="r2"))
    assert (row["seq"], row["prev_hash"]) == (first.seq + 1, first.hash)
    assert (third.seq, third.prev_hash) == (row["seq"] + 1, row["hash"])
    with db.session() as session:
        stored = session.get(AuditEvent, row["seq"])
        assert stored is not None
        assert {k: getattr(stored, k) for k in row} == row
    report = run(audit_verify)
    assert report["ok"], report["problems"]
