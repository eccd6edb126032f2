"""Background loads and the pull scheduler.

A background load is a thread started only once the transaction that queued it commits, so a
rolled-back request never leaves a job running for a load nobody can see. The thread reports
progress through short transactions of its own on the job row; the heavy work (reading,
checking, writing the lake) runs outside any transaction, so SQLite's single writer is held for
milliseconds at a time, not for the whole load.

The scheduler is a plain loop over :func:`due_sources` with an injectable clock and sleep, so a
test can drive a week of cron ticks in a second.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from croniter import croniter
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from citybrain.db import utcnow
from citybrain.errors import Invalid
from citybrain.ingest.models import IngestJob, IngestSource, JobStatus

log = logging.getLogger("citybrain.ingest")

_threads: dict[str, threading.Thread] = {}
_lock = threading.Lock()


def start_after_commit(session: Session, job_id: str, work: Callable[[], None]) -> None:
    """Run ``work`` in a thread once ``session``'s current transaction commits; never if it rolls back."""
    from sqlalchemy import event

    state = {"done": False}

    def on_commit(_session: Session) -> None:
        if state["done"]:
            return
        state["done"] = True
        thread = threading.Thread(target=work, name=f"ingest-job-{job_id}", daemon=True)
        with _lock:
            _threads[job_id] = thread
        thread.start()

    def on_rollback(_session: Session) -> None:
        state["done"] = True

    event.listen(session, "after_commit", on_commit, once=True)
    event.listen(session, "after_rollback", on_rollback, once=True)


def wait(job_id: str, timeout: float | None = None) -> bool:
    """Block until a job started in this process ends; True when it has (or was never started here)."""
    with _lock:
        thread = _threads.get(job_id)
    if thread is None:
        return True
    thread.join(timeout)
    return not thread.is_alive()


class Reporter:
    """Writes a job's status and percentage, each update in its own short transaction."""

    def __init__(self, maker: sessionmaker[Session], job_id: str) -> None:
        self.maker = maker
        self.job_id = job_id

    def _set(self, **values: Any) -> None:
        with self.maker.begin() as s:
            s.execute(update(IngestJob).where(IngestJob.id == self.job_id).values(**values))

    def start(self) -> None:
        self._set(status=JobStatus.RUNNING.value, started_at=utcnow(), message="开始处理", progress=1.0)

    def progress(self, fraction: float, message: str) -> None:
        try:
            self._set(progress=round(fraction * 100, 1), message=message)
        except Exception:  # a busy database must not fail the load over a progress bar
            log.warning("could not record job progress", exc_info=True, extra={"job_id": self.job_id})

    def finish(self, session: Session, *, ok: bool, message: str, error: str | None = None) -> None:
        job = session.get(IngestJob, self.job_id)
        if job is None:
            return
        job.status = (JobStatus.SUCCEEDED if ok else JobStatus.FAILED).value
        job.progress = 100.0 if ok else job.progress
        job.message = message
        job.error = error
        job.finished_at = utcnow()


# --- scheduling -----------------------------------------------------------------------------------


def validate_cron(expr: str) -> str:
    expr = " ".join(expr.split())
    if not croniter.is_valid(expr):
        raise Invalid(
            f"定时表达式无效：{expr}（应为 5 段 cron，例如“0 2 * * *”表示每天 2 点）", details={"field": "cron"}
        )
    return expr


def next_run(expr: str, after: dt.datetime) -> dt.datetime:
    """The first cron time strictly after ``after`` (UTC)."""
    nxt = croniter(expr, after.astimezone(dt.UTC)).get_next(dt.datetime)
    return nxt if nxt.tzinfo else nxt.replace(tzinfo=dt.UTC)


def due_sources(session: Session, now: dt.datetime) -> list[IngestSource]:
    """Enabled sources with a cron whose next run time has come, oldest first."""
    return list(
        session.scalars(
            select(IngestSource)
            .where(IngestSource.enabled.is_(True), IngestSource.cron.is_not(None), IngestSource.next_run_at <= now)
            .order_by(IngestSource.next_run_at, IngestSource.name)
        )
    )


def run_due(db: Any, now: dt.datetime, *, settings: Any = None, actor: Any = None) -> list[dict[str, Any]]:
    """Run every due pull once, each in its own unit of work; one failing source never stops the rest."""
    from citybrain.actions import Context
    from citybrain.auth.actor import SYSTEM
    from citybrain.errors import CityBrainError
    from citybrain.ingest.service import source_run
    from citybrain.settings import get_settings

    settings = settings or get_settings()
    actor = actor or SYSTEM
    with db.session() as session:
        due = [(s.id, s.name) for s in due_sources(session, now)]
    results: list[dict[str, Any]] = []
    for source_id, name in due:
        try:
            with db.session() as session:
                load = source_run(Context(session=session, actor=actor, settings=settings), source_id, now=now)
                results.append({"source": name, "load_id": load.id, "status": load.status, "error": load.error})
        except CityBrainError as exc:
            log.warning("scheduled pull refused", extra={"source": name, "error": exc.message})
            results.append({"source": name, "load_id": None, "status": "failed", "error": exc.message})
            # Advance the schedule anyway: a broken source is retried at its next time, not every tick.
            with db.session() as session:
                src = session.get(IngestSource, source_id)
                if src is not None and src.cron:
                    src.next_run_at = next_run(src.cron, now)
    return results


def scheduler_loop(
    db: Any,
    *,
    settings: Any = None,
    interval: float = 60.0,
    iterations: int | None = None,
    clock: Callable[[], dt.datetime] = utcnow,
    sleep: Callable[[float], None] = time.sleep,
    on_results: Callable[[dt.datetime, list[dict[str, Any]]], None] | None = None,
) -> int:
    """Run due pulls every ``interval`` seconds; ``iterations`` bounds the loop. Returns loads started."""
    started = 0
    n = 0
    while iterations is None or n < iterations:
        now = clock()
        results = run_due(db, now, settings=settings)
        started += sum(1 for r in results if r["load_id"])
        if on_results is not None:
            on_results(now, results)
        n += 1
        if iterations is None or n < iterations:
            sleep(interval)
    return started
