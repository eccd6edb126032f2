"""Several server processes on one SQLite file (``citybrain serve --workers N``): their writes take turns
through the database's lock file, and the audit chain they append to stays one gapless, verifiable chain;
a transaction announced as reading only runs beside another process's write."""

from __future__ import annotations

import multiprocessing
import sqlite3
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from citybrain.actions import Context
from citybrain.audit.models import AuditEvent
from citybrain.audit.service import AuditEntry, audit_verify, record
from citybrain.auth.actor import SYSTEM
from citybrain.db import Database, _WriteTurns, first_transaction_reads_only
from citybrain.settings import Settings

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="the lock file is a POSIX advisory lock")


class _Conn:
    """Stands for a DBAPI connection: the turns only need its identity."""


def _try_turn(path: str, timeout: float, out: Any) -> None:
    turns = _WriteTurns(timeout, Path(path))
    start = time.monotonic()
    turns.take(_Conn())
    out.put((turns._locked, time.monotonic() - start))


def test_a_process_waits_while_another_holds_the_turn(tmp_path: Path) -> None:
    path = tmp_path / "citybrain.db.turns"
    mine, conn = _WriteTurns(5.0, path), _Conn()
    mine.take(conn)
    spawn = multiprocessing.get_context("spawn")
    out = spawn.Queue()
    child = spawn.Process(target=_try_turn, args=(str(path), 0.5, out))
    child.start()
    locked, waited = out.get(timeout=60)
    child.join(timeout=60)
    # it waited its whole timeout and went on without the turn (SQLite's own handler decides then)
    assert (locked, waited >= 0.5) == (False, True)

    mine.give_back(conn)
    child = spawn.Process(target=_try_turn, args=(str(path), 5.0, out))
    child.start()
    locked, waited = out.get(timeout=60)
    child.join(timeout=60)
    assert locked and waited < 2.0


def _try_turn_now(path: str, other_processes: float, out: Any) -> None:
    turns = _WriteTurns(5.0, Path(path))
    start = time.monotonic()
    out.put((turns.try_take(_Conn(), other_processes), turns._locked, time.monotonic() - start))


def test_taking_the_turn_without_waiting(tmp_path: Path) -> None:
    """Work on the event loop never waits for a thread of its own process, and waits for another
    process's turn only as long as it says; refused, it holds nothing."""
    path = tmp_path / "citybrain.db.turns"
    mine, conn = _WriteTurns(5.0, path), _Conn()
    mine.take(conn)
    started = time.monotonic()
    assert not mine.try_take(_Conn(), other_processes=2.0)  # a thread of this process has it
    assert time.monotonic() - started < 1.0

    spawn = multiprocessing.get_context("spawn")
    out = spawn.Queue()
    child = spawn.Process(target=_try_turn_now, args=(str(path), 0.2, out))
    child.start()
    taken, locked, waited = out.get(timeout=60)
    child.join(timeout=60)
    assert (taken, locked, waited >= 0.2) == (False, False, True)

    threading.Timer(0.3, mine.give_back, args=(conn,)).start()
    child = spawn.Process(target=_try_turn_now, args=(str(path), 10.0, out))
    child.start()
    taken, locked, waited = out.get(timeout=60)
    child.join(timeout=60)
    assert taken and locked and waited < 9.0
    assert mine.try_take(conn) and mine._locked  # free again
    mine.give_back(conn)


def _append(url: str, worker: int, count: int) -> None:
    db = Database(url)
    try:
        for i in range(count):
            with db.session() as session:
                record(session, SYSTEM, AuditEntry("test_turns", resource_id=f"w{worker}-{i}"))
    finally:
        db.dispose()


def test_processes_appending_at_once_form_one_gapless_chain(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'citybrain.db'}"
    db = Database(url)
    db.migrate()
    spawn = multiprocessing.get_context("spawn")
    workers = [spawn.Process(target=_append, args=(url, k, 40)) for k in range(3)]
    for p in workers:
        p.start()
    for p in workers:
        p.join(timeout=300)
    assert [p.exitcode for p in workers] == [0, 0, 0]
    with db.session() as session:
        seqs = list(session.scalars(select(AuditEvent.seq).order_by(AuditEvent.seq)))
        names = set(session.scalars(select(AuditEvent.resource_id).where(AuditEvent.action == "test_turns")))
        report = audit_verify(Context(session=session, actor=SYSTEM, settings=Settings(home=tmp_path)))
    assert seqs == list(range(1, len(seqs) + 1))
    assert names == {f"w{k}-{i}" for k in range(3) for i in range(40)}
    assert report["ok"], report["problems"]
    assert (tmp_path / "citybrain.db.turns").exists()
    db.dispose()


def test_a_first_transaction_announced_as_reading_runs_beside_a_writer(tmp_path: Path) -> None:
    path = tmp_path / "citybrain.db"
    db = Database(f"sqlite:///{path}")
    db.migrate()
    with db.session() as session:  # as a running server has: the file in WAL mode, a pooled connection
        session.execute(select(1))
    writer = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    writer.execute("BEGIN IMMEDIATE")  # another process's write transaction, holding the write lock
    releaser = threading.Timer(0.6, writer.rollback)
    try:
        with first_transaction_reads_only(), db.session() as session:
            start = time.monotonic()
            assert session.scalar(select(func.count()).select_from(AuditEvent)) == 0
            session.commit()
            # it neither waited for the writer nor took the lock from it
            assert time.monotonic() - start < 0.5
            releaser.start()
            start = time.monotonic()
            # the next transaction is an ordinary one: it begins by waiting for the write lock
            record(session, SYSTEM, AuditEntry("test_after_reading"))
            assert time.monotonic() - start >= 0.5
    finally:
        releaser.cancel()
        writer.close()
        db.dispose()
