"""Benchmark: the 调用量突增 (volume jump) check's reads, per-minute usage rows against summing calls.

One grant's calls are spread evenly over the last ``--days`` days at each ``--per-day`` rate and
written both ways a call writes them: a ``share_call`` row each, and its minute in
``share_usage_minute`` (``citybrain.share.usage``). The check needs the rows of the last 24 hours, the
grant's first call, and the baseline days' rows; it is timed (median of ``--repeat``) reading

* ``share_call``: ``sum(rows)`` over the grant's calls through the ``(grant_id, at)`` index, as the
  check did before the minute rows — its cost grows with the call rate;
* ``share_usage_minute``: the same three answers from at most 1,440 minutes a day.

Both are checked to give the same totals. SQLite always; PostgreSQL too when ``--pg`` names a server
(the loopback one by default, skipped when it does not answer).

    .venv/bin/python bench/bench_share_volume.py
    .venv/bin/python bench/bench_share_volume.py --per-day 10000 --per-day 50000   # quick

Writes ``bench/results/share_volume.json``.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, func, insert, select, text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from citybrain.db import new_id
from citybrain.share import usage
from citybrain.share.models import ShareCall, ShareUsageMinute

GRANT = "bench-grant"
OUT = Path(__file__).resolve().parent / "results" / "share_volume.json"


def _fill(engine: Engine, per_day: int, days: int, now: datetime) -> None:
    tables = [ShareCall.__table__, ShareUsageMinute.__table__]
    ShareCall.metadata.drop_all(engine, tables=tables)
    ShareCall.metadata.create_all(engine, tables=tables)
    total = per_day * days
    step = timedelta(days=days) / total
    minutes: dict[int, list[int]] = {}
    batch: list[dict[str, Any]] = []
    with engine.begin() as conn:
        for n in range(total):
            at = now - n * step
            rows = 1 + n % 3
            batch.append({"id": new_id(), "grant_id": GRANT, "resource_key": "population", "dept_id": "d1",
                          "consumer_dept_id": "d2", "mode": "lookup", "rows": rows, "hit": True, "at": at})  # fmt: skip
            m = minutes.setdefault(usage.minute_of(at), [0, 0])
            m[0] += 1
            m[1] += rows
            if len(batch) == 20_000:
                conn.execute(insert(ShareCall.__table__), batch)
                batch = []
        if batch:
            conn.execute(insert(ShareCall.__table__), batch)
        conn.execute(
            insert(ShareUsageMinute.__table__),
            [{"grant_id": GRANT, "minute": k, "calls": c, "rows": r} for k, (c, r) in minutes.items()],
        )
        if engine.dialect.name == "postgresql":
            conn.execute(text("ANALYZE share_call"))
            conn.execute(text("ANALYZE share_usage_minute"))


def _by_calls(session: Session, now: datetime, days: int) -> tuple[int, Any, int]:
    def rows(start: datetime, end: datetime) -> int:
        q = select(func.coalesce(func.sum(ShareCall.rows), 0)).where(
            ShareCall.grant_id == GRANT, ShareCall.at > start, ShareCall.at <= end
        )
        return int(session.scalar(q) or 0)

    today = rows(now - timedelta(days=1), now)
    first = session.scalar(select(func.min(ShareCall.at)).where(ShareCall.grant_id == GRANT))
    return today, first, rows(now - timedelta(days=days + 1), now - timedelta(days=1))


def _by_minutes(session: Session, now: datetime, days: int) -> tuple[int, Any, int]:
    minute, day = usage.minute_of(now), usage.MINUTES_PER_DAY
    today = usage.rows_between(session, GRANT, minute - day, minute)
    first = usage.first_minute(session, GRANT)
    return today, first, usage.rows_between(session, GRANT, minute - (days + 1) * day, minute - day)


def _median_ms(engine: Engine, fn: Callable[[Session], tuple[int, Any, int]], repeat: int) -> tuple[float, Any]:
    times, got = [], None
    with Session(engine) as session:
        got = fn(session)  # warm the cache: the check runs on a live server
        for _ in range(repeat):
            t = time.perf_counter()
            got = fn(session)
            times.append(time.perf_counter() - t)
            session.rollback()
    return statistics.median(times) * 1000, got


def run(engine: Engine, per_day: list[int], days: int, repeat: int) -> list[dict[str, Any]]:
    out = []
    for rate in per_day:
        now = datetime.now(UTC).replace(microsecond=0)
        t = time.perf_counter()
        _fill(engine, rate, days, now)
        fill_s = time.perf_counter() - t
        calls_ms, by_calls = _median_ms(engine, partial(_by_calls, now=now, days=days - 1), repeat)
        minutes_ms, by_minutes = _median_ms(engine, partial(_by_minutes, now=now, days=days - 1), repeat)
        # minute rows bucket a day at minute edges: the totals agree to within a minute's calls
        assert abs(by_calls[0] - by_minutes[0]) <= 3 * rate / 1440 + 3, (by_calls, by_minutes)
        assert abs(by_calls[2] - by_minutes[2]) <= 6 * rate / 1440 + 6, (by_calls, by_minutes)
        row = {
            "calls_per_day": rate,
            "calls_stored": rate * days,
            "rows_24h": by_minutes[0],
            "by_calls_ms": round(calls_ms, 3),
            "by_minutes_ms": round(minutes_ms, 3),
            "speedup": round(calls_ms / minutes_ms, 1),
            "fill_s": round(fill_s, 1),
        }
        print(engine.dialect.name, row, flush=True)
        out.append(row)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--per-day", type=int, action="append", help="calls per day (repeatable)")
    ap.add_argument("--days", type=int, default=8, help="days of calls stored (the baseline's 7 and today)")
    ap.add_argument("--repeat", type=int, default=20)
    ap.add_argument("--pg", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres",
                    help="PostgreSQL URL ('' to skip)")  # fmt: skip
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args()
    per_day = args.per_day or [10_000, 100_000, 300_000]
    results: dict[str, Any] = {
        "benchmark": "share_volume",
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"python": platform.python_version(), "platform": platform.platform()},
        "days": args.days,
        "repeat": args.repeat,
    }
    with tempfile.TemporaryDirectory() as tmp:
        engine = create_engine(f"sqlite:///{Path(tmp) / 'meta.db'}")
        results["sqlite"] = run(engine, per_day, args.days, args.repeat)
        engine.dispose()
    if args.pg:
        # a schema of its own: the server's other tables (a test run's, say) are left alone
        schema = "bench_share_volume"
        try:
            admin = create_engine(args.pg)
            with admin.begin() as conn:
                conn.execute(text(f"CREATE SCHEMA IF NOT EXISTS {schema}"))
        except Exception as exc:  # no server: the SQLite figures stand alone
            results["postgresql"] = f"skipped: {type(exc).__name__}"
        else:
            engine = create_engine(args.pg, connect_args={"options": f"-csearch_path={schema}"})
            try:
                results["postgresql"] = run(engine, per_day, args.days, args.repeat)
            finally:
                engine.dispose()
                with admin.begin() as conn:
                    conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
                admin.dispose()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, ensure_ascii=False, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
