"""SQLite's write-ahead log while a server runs: copied back into the database by a thread of its own
(so that no request's commit does the bulk of it), and still bounded under steady writes."""

from __future__ import annotations

import shutil
import sqlite3
import time
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import text

from citybrain.db import Database


def _database(tmp_path: Path) -> Database:
    db = Database(f"sqlite:///{tmp_path / 'meta.db'}")
    with db.engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE note (id INTEGER PRIMARY KEY, body TEXT)")
    con = sqlite3.connect(tmp_path / "meta.db")  # outside a transaction, which a checkpoint needs
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # the table itself is in the file
    con.close()
    return db


def _write(db: Database, commits: int, body: str = "记录") -> None:
    for _ in range(commits):
        with db.session() as session:
            session.execute(text("INSERT INTO note (body) VALUES (:b)"), {"b": body})


def _rows_in_the_file_alone(db_path: Path, tmp_path: Path) -> int:
    """Rows a copy of the database file holds without its log: what has been checkpointed."""
    copy = tmp_path / "copy.db"
    shutil.copyfile(db_path, copy)
    con = sqlite3.connect(copy)
    try:
        return int(con.execute("SELECT count(*) FROM note").fetchone()[0])
    finally:
        con.close()


def test_commits_reach_the_database_file_without_waiting_for_a_thousand_pages(tmp_path: Path) -> None:
    db = _database(tmp_path)
    try:
        _write(db, 20)
        # SQLite alone leaves them in the log until it holds 1,000 pages
        assert _rows_in_the_file_alone(tmp_path / "meta.db", tmp_path) == 0
        with db.checkpoints_in_background():
            assert db.checkpoints is not None and db.checkpoints.running
            _write(db, 20)
            deadline = time.monotonic() + 5
            while _rows_in_the_file_alone(tmp_path / "meta.db", tmp_path) < 40 and time.monotonic() < deadline:
                time.sleep(0.05)
            assert _rows_in_the_file_alone(tmp_path / "meta.db", tmp_path) == 40
        assert not db.checkpoints.running
    finally:
        db.dispose()


def test_the_log_stays_bounded_under_steady_writes(tmp_path: Path) -> None:
    # the log starts again from its beginning only after a checkpoint no commit followed; the thread's
    # checkpoints alone never are such a one, so without the commits' own checkpoint it would only grow
    db = _database(tmp_path)
    try:
        with db.checkpoints_in_background():
            _write(db, 2000, body="x" * 3500)  # a page or more each: over 4,000 pages through the log
        wal = tmp_path / "meta.db-wal"
        assert wal.stat().st_size < 3000 * 4096
        with db.engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM note")).scalar() == 2000
    finally:
        db.dispose()


def test_the_server_checkpoints_while_it_runs(tmp_path: Path) -> None:
    from citybrain.settings import Settings
    from citybrain.web.app import create_app

    db = _database(tmp_path)
    try:
        app = create_app(Settings(home=tmp_path / "home", log_json=False), db)
        assert db.checkpoints is not None
        with TestClient(app):
            assert db.checkpoints.running
        assert not db.checkpoints.running
    finally:
        db.dispose()


def test_an_in_memory_database_has_no_checkpointer() -> None:
    db = Database("sqlite://")
    try:
        assert db.checkpoints is None
        with db.checkpoints_in_background():  # nothing to do, and no error
            pass
    finally:
        db.dispose()
