"""Metadata store: engine, sessions, the declarative Base and migrations.

SQLite under ``CITYBRAIN_HOME`` by default, PostgreSQL in production. The schema is owned by
Alembic (``citybrain/migrations``); every domain adds its own migration branch on top of the
foundation revision, and ``migrate()`` upgrades all heads.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import uuid6
from sqlalchemy import JSON, DateTime, Engine, MetaData, String, create_engine, event
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker
from sqlalchemy.types import TypeDecorator

from citybrain.settings import Settings, get_settings
from citybrain.waiting import WouldWait, waits_refused

log = logging.getLogger("citybrain.db")

try:
    import fcntl
except ImportError:  # Windows: the threads of one process still take turns
    fcntl = None  # type: ignore[assignment]

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(UTC)


def new_id() -> str:
    """A new row id: a UUIDv7 (RFC 9562) as 32 hex digits, time-ordered. Random ids (UUIDv4) land anywhere
    in a primary key's B-tree, so every insert into a big table (a share call, an audit of a call) writes a
    different leaf page; ordered ones go to its right-hand edge, as the rows' own order does."""
    return uuid6.uuid7().hex


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware datetimes on every backend (SQLite stores naive values; we store UTC)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {datetime: UTCDateTime, dict[str, Any]: JSON, list[Any]: JSON}


class IdMixin:
    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)


class TimestampMixin:
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class _WriteTurns:
    """Hands SQLite's single write lock to the threads and processes that use the database, in turn.

    Every SQLite transaction here begins ``BEGIN IMMEDIATE``. A thread that finds the lock held is left
    to SQLite's busy handler, which sleeps 1, 2, 5, 10, … ms between tries whether or not the lock was
    freed meanwhile: under a few concurrent requests the lock sits idle while waiters sleep, and
    latencies reach seconds. Instead the threads of one process queue on a lock of their own, which
    wakes the next one the moment a transaction ends; and the process whose thread has the turn holds
    an advisory lock on a file beside the database (``<db>.turns``), so that several server processes
    (``citybrain serve --workers``) take turns too, waiting a fraction of a millisecond between tries
    rather than SQLite's milliseconds."""

    #: seconds between tries for the file lock, doubling up to the cap
    _FIRST_WAIT, _MAX_WAIT = 0.00005, 0.001

    def __init__(self, timeout: float, path: Path | None = None) -> None:
        self.timeout = timeout
        self._lock = threading.Lock()
        self._holder: int | None = None  # id() of the DBAPI connection whose transaction has the turn
        self._path = path
        self._file: Any = None
        self._pid: int | None = None
        self._locked = False
        self._waiting = 0  # threads of this process blocked in take()

    def take(self, conn: Any) -> None:
        # past the timeout, go on without the turn: SQLite's handler then decides, as it would anyway
        deadline = time.monotonic() + self.timeout
        self._waiting += 1
        try:
            acquired = self._lock.acquire(timeout=self.timeout)
        finally:
            self._waiting -= 1
        if acquired:
            self._holder = id(_raw(conn))
            self._lock_file(deadline)

    def try_take(self, conn: Any, other_processes: float = 0.0) -> bool:
        """Take the turn if no thread of this process has it, waiting at most ``other_processes``
        seconds for one another process has; False, holding nothing, if that fails. A thread already
        waiting for the turn comes first: taking it past them, again and again, would starve them."""
        if self._waiting or not self._lock.acquire(blocking=False):
            return False
        self._holder = id(_raw(conn))
        if self._path is None or fcntl is None:
            return True
        self._lock_file(time.monotonic() + other_processes)
        if self._locked:
            return True
        self._holder = None
        self._lock.release()
        return False

    def give_back(self, conn: Any) -> None:
        if self._holder is not None and self._holder == id(_raw(conn)):
            self._holder = None
            self._unlock_file()
            self._lock.release()

    def _lock_file(self, deadline: float) -> None:
        if self._path is None or fcntl is None:
            return
        wait = self._FIRST_WAIT
        while not self._try_lock_file():
            if time.monotonic() >= deadline:
                return
            time.sleep(wait)
            wait = min(wait * 2, self._MAX_WAIT)

    def _try_lock_file(self) -> bool:
        if self._pid != os.getpid():  # a forked child must not share its parent's open file
            self._file = open(self._path, "a+b")  # noqa: SIM115 - kept open for the process's life
            self._pid = os.getpid()
        try:
            fcntl.flock(self._file.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        self._locked = True
        return True

    def _unlock_file(self) -> None:
        if self._locked:
            self._locked = False
            fcntl.flock(self._file.fileno(), fcntl.LOCK_UN)


def _raw(conn: Any) -> Any:
    """The sqlite3 connection itself: SQLAlchemy hands the dialect its pool wrapper instead."""
    return getattr(conn, "dbapi_connection", None) or conn


_next_reads_only: ContextVar[bool] = ContextVar("citybrain_next_reads_only", default=False)


@contextmanager
def first_transaction_reads_only() -> Iterator[None]:
    """Within the block, the first transaction begun only reads.

    On SQLite it then begins ``DEFERRED``: it takes neither the write lock nor a write turn, so it runs
    alongside other processes' writes (WAL readers see the last commit). The transactions after it are
    ordinary ones again. It must really not write: SQLite would try to upgrade it to a writer, and that
    fails if another connection has committed since it began. No effect on PostgreSQL."""
    token = _next_reads_only.set(True)
    try:
        yield
    finally:
        _next_reads_only.reset(token)


#: seconds a SQLite writer waits for the write lock before giving up
_SQLITE_TIMEOUT = 30.0


class WalCheckpoints:
    """Copies a SQLite database's write-ahead log back into it from a thread of its own, while a
    server runs.

    SQLite checkpoints inside whichever commit takes the log past 1,000 pages: under a steady stream
    of share calls, one commit in about 150 then copies 4 MB back into the database, taking several
    milliseconds, and on the event loop every request in flight waits for it — it set the p99 of a
    lookup. While :meth:`run` is active this thread runs a ``PASSIVE`` checkpoint every ``interval``
    seconds, which neither waits for nor blocks readers and writers, and so does nearly all the
    copying (SQLite's documentation suggests a separate thread,
    https://sqlite.org/wal.html#automatic_checkpoint). The commits' own checkpoint stays on: it finds
    little left to copy, and only a checkpoint done by a writer, which no other commit can follow,
    lets the next one start the log again from its beginning — without it the file grows without end
    under steady writes."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.running = False
        self._stop = threading.Event()

    @contextmanager
    def run(self, interval: float = 0.1) -> Iterator[None]:
        """Within the block, the thread checkpoints."""
        if self.running:  # a second server in the same process shares the first one's thread
            yield
            return
        self.running = True
        self._stop.clear()
        thread = threading.Thread(target=self._loop, args=(interval,), name="citybrain-wal-checkpoint", daemon=True)
        thread.start()
        try:
            yield
        finally:
            self._stop.set()
            thread.join()
            self.running = False

    def _loop(self, interval: float) -> None:
        con = sqlite3.connect(self.path, timeout=_SQLITE_TIMEOUT, check_same_thread=False, isolation_level=None)
        try:
            while not self._stop.wait(interval):
                try:
                    con.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
                except sqlite3.Error:
                    log.warning("WAL checkpoint failed; trying again", exc_info=True)
        finally:
            con.close()


def make_engine(url: str, **kwargs: Any) -> Engine:
    if url.startswith("sqlite"):
        timeout = _SQLITE_TIMEOUT
        kwargs.setdefault("connect_args", {"check_same_thread": False, "timeout": timeout})
        engine = create_engine(url, **kwargs)
        database = engine.url.database
        in_memory = not database or database == ":memory:"
        turns = _WriteTurns(timeout, None if in_memory else Path(database + ".turns"))

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            # we issue BEGIN ourselves (below): pysqlite's implicit transactions are deferred
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            # WAL lets the web server read while a load writes; foreign keys are off by default in SQLite.
            # (set once per database file, and kept: asking costs nothing, while setting it again waits for
            # any writer to finish)
            if cur.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
                cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn: Any) -> None:
            # IMMEDIATE takes the write lock up front, so a transaction that reads then writes
            # (an audit chain append, an optimistic-lock update) waits its turn instead of failing
            # with SQLITE_BUSY on a stale snapshot. Readers in WAL mode are not blocked by it.
            if _next_reads_only.get():
                # announced as reading only (see first_transaction_reads_only): no lock, no turn
                _next_reads_only.set(False)
                conn.connection.driver_connection.execute("BEGIN DEFERRED")  # not through SQLAlchemy: it runs per call
                return
            if waits_refused():
                _begin_without_waiting(conn, turns)
                return
            turns.take(conn.connection)
            try:
                conn.connection.driver_connection.execute("BEGIN IMMEDIATE")
            except BaseException:
                turns.give_back(conn.connection)
                raise

        # the turn passes on once the transaction has really ended (the "commit" event fires before it
        # has); the pool's reset of a returned connection is a rollback and comes through here too
        dialect = engine.dialect
        do_commit, do_rollback = dialect.do_commit, dialect.do_rollback

        def _commit(dbapi_conn: Any) -> None:
            try:
                do_commit(dbapi_conn)
            finally:
                turns.give_back(dbapi_conn)

        def _rollback(dbapi_conn: Any) -> None:
            try:
                do_rollback(dbapi_conn)
            finally:
                turns.give_back(dbapi_conn)

        dialect.do_commit = _commit  # type: ignore[method-assign]
        dialect.do_rollback = _rollback  # type: ignore[method-assign]

        # a connection back in the pool or closed has no transaction left: never keep its turn
        @event.listens_for(engine, "checkin")
        def _sqlite_checkin(dbapi_conn: Any, _record: Any) -> None:
            turns.give_back(dbapi_conn)

        @event.listens_for(engine, "close")
        def _sqlite_close(dbapi_conn: Any, _record: Any) -> None:
            turns.give_back(dbapi_conn)

        return engine
    kwargs.setdefault("pool_pre_ping", True)
    return create_engine(url, **kwargs)


@dataclass(frozen=True)
class _Compiled:
    sql: str
    binds: list[tuple[str, Any]]  # (name, bind processor or None), in the order the SQL takes them
    positional: bool
    results: list[Any] | None  # a result processor (or None) per selected column; None: no column has one


class Direct:
    """A Core statement compiled once per dialect and run straight on the DBAPI cursor of the
    session's transaction.

    For the few statements every share call runs (its usage row, rate counter and audit entry):
    SQLAlchemy's per-execution work — compile-cache lookup, parameter construction, result set-up —
    costs about 90 µs a statement here, SQLite's own work about 10 µs. The SQL is still the one
    SQLAlchemy compiles for the dialect, and bound values go through the same type processors
    (UTC datetimes, JSON), so a row written here is the row a Core insert writes; the columns of a
    ``select()`` come back through their types' result processors, as SQLAlchemy returns them (a
    ``text()`` statement's, as the driver gives them). Statements with expanding ``IN`` parameters
    or Python-side defaults are not supported: give every value."""

    def __init__(self, statement: Any) -> None:
        self.statement = statement
        self._by_dialect: dict[str, _Compiled] = {}

    def _compile(self, dialect: Any) -> _Compiled:
        compiled = self.statement.compile(dialect=dialect)
        names = list(compiled.positiontup) if compiled.positional else list(compiled.binds)
        processors = [(name, compiled.binds[name].type.dialect_impl(dialect).bind_processor(dialect)) for name in names]
        columns = getattr(self.statement, "selected_columns", None) or []
        results = [c.type.dialect_impl(dialect).result_processor(dialect, None) for c in columns]
        found = self._by_dialect[dialect.name] = _Compiled(
            compiled.string, processors, bool(compiled.positional), results if any(results) else None
        )
        return found

    def _run(self, session: Session, params: dict[str, Any]) -> tuple[Any, _Compiled]:
        conn = session.connection()
        dialect = conn.dialect
        found = self._by_dialect.get(dialect.name) or self._compile(dialect)
        sql, processors, positional = found.sql, found.binds, found.positional
        values = [params[name] if proc is None else proc(params[name]) for name, proc in processors]
        cursor = conn.connection.driver_connection.cursor()
        cursor.execute(sql, values if positional else dict(zip((n for n, _ in processors), values, strict=True)))
        return cursor, found

    def rows(self, session: Session, params: dict[str, Any]) -> list[tuple[Any, ...]]:
        """Run it; the rows it returns."""
        cursor, found = self._run(session, params)
        try:
            rows = cursor.fetchall()
        finally:
            cursor.close()
        if found.results is None:
            return [tuple(row) for row in rows]
        procs = found.results
        return [
            tuple(value if proc is None else proc(value) for proc, value in zip(procs, row, strict=True))
            for row in rows
        ]

    def execute(self, session: Session, params: dict[str, Any]) -> int:
        """Run it; the number of rows it changed."""
        cursor, _ = self._run(session, params)
        try:
            return int(cursor.rowcount)
        finally:
            cursor.close()


#: how long work that refuses waits still waits for another process's write (see _begin_without_waiting)
_OTHER_PROCESS_WAIT = 0.005


def _begin_without_waiting(conn: Any, turns: _WriteTurns) -> None:
    """BEGIN IMMEDIATE now, or :class:`WouldWait` (see :mod:`citybrain.waiting`).

    A thread of this process holding the turn may need the event loop to finish its transaction, so
    that is never waited for. Another server process's write is: it needs nothing of this one and ends
    within a fraction of a millisecond, so waiting up to a few milliseconds costs less than doing the
    work again in a thread."""
    if not turns.try_take(conn.connection, _OTHER_PROCESS_WAIT):
        raise WouldWait("the SQLite write turn", brief=True)
    dbapi = conn.connection.driver_connection
    try:
        # a writer that does not take turns (another tool) would leave BEGIN to the busy handler
        dbapi.execute("PRAGMA busy_timeout = 0")
        try:
            dbapi.execute("BEGIN IMMEDIATE")
        finally:
            dbapi.execute(f"PRAGMA busy_timeout = {int(_SQLITE_TIMEOUT * 1000)}")
    except sqlite3.OperationalError as exc:
        turns.give_back(conn.connection)
        raise WouldWait("the SQLite write lock", brief=True) from exc
    except BaseException:
        turns.give_back(conn.connection)
        raise


class Database:
    """Engine + session factory for one metadata store."""

    def __init__(self, url: str) -> None:
        self.url = url
        if url.startswith("sqlite:///"):
            Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        self.engine = make_engine(url)
        database = self.engine.url.database if self.engine.dialect.name == "sqlite" else None
        #: SQLite file databases: see WalCheckpoints (the web server runs it)
        self.checkpoints = WalCheckpoints(database) if database and database != ":memory:" else None
        self.sessionmaker = sessionmaker(self.engine, expire_on_commit=False)

    @contextmanager
    def checkpoints_in_background(self) -> Iterator[None]:
        """While a server runs: the WAL is checkpointed by a thread, not in its requests' commits."""
        if self.checkpoints is None:
            yield
            return
        with self.checkpoints.run():
            yield

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A unit of work: commit on success, roll back on any error."""
        session = self.sessionmaker()
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    def migrate(self) -> None:
        migrate(self.url)

    def dispose(self) -> None:
        self.engine.dispose()


def alembic_config(url: str) -> Any:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(Path(__file__).parent / "migrations"))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def migrate(url: str, revision: str = "heads") -> None:
    from alembic import command

    command.upgrade(alembic_config(url), revision)


_database: Database | None = None


def get_database(settings: Settings | None = None) -> Database:
    global _database
    settings = settings or get_settings()
    url = settings.resolved_database_url
    if _database is None or _database.url != url:
        _database = Database(url)
    return _database


def reset_database() -> None:
    global _database
    if _database is not None:
        _database.dispose()
    _database = None
