"""A grant's usage per clock minute: what the rate limit and the volume check read.

Each call adds one to its grant's current minute and its rows to the same minute
(:class:`~citybrain.share.models.ShareUsageMinute`), in one statement, in the call's transaction.

* The rate limit is the sliding-window counter (as API gateways keep it): the calls counted in the
  current clock minute, plus the previous minute's weighted by how much of it still lies within the
  last 60 seconds. The estimate is exact while calls arrive evenly and errs towards refusing just after
  a burst.
* The volume check (:mod:`citybrain.share.anomalies`) sums a day's minutes (at most 1,440 rows) and the
  baseline's, whatever the call rate; summing the :class:`~citybrain.share.models.ShareCall` rows
  instead costs a busy grant more with every call (1.7 s on SQLite at 300,000 calls a day over the
  baseline's week; ``bench/bench_share_volume.py``).

A grant keeps its minutes for ``keep_days``; the first call of each minute removes older ones.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, text
from sqlalchemy.orm import Session

from citybrain.db import Direct
from citybrain.share.models import ShareUsageMinute

MINUTES_PER_DAY = 24 * 60

# written out and run on the driver's cursor (see Direct): these run on every share call, and
# SQLAlchemy's work per execution costs several times the database's (same SQL on SQLite and PostgreSQL)
_READ = Direct(
    text("SELECT minute, calls FROM share_usage_minute WHERE grant_id = :grant AND minute IN (:before, :now)")
)
# one statement, so two calls at once both count (no read-modify-write race)
_COUNT = Direct(
    text(
        "INSERT INTO share_usage_minute (grant_id, minute, calls, rows) VALUES (:grant, :now, :calls, :rows) "
        "ON CONFLICT (grant_id, minute) DO UPDATE SET calls = share_usage_minute.calls + :calls, "
        "rows = share_usage_minute.rows + :rows RETURNING calls"
    )
)
_ROWS = Direct(
    text(
        "SELECT coalesce(sum(rows), 0) FROM share_usage_minute "
        "WHERE grant_id = :grant AND minute > :start AND minute <= :end"
    )
)
_FIRST = Direct(text("SELECT min(minute) FROM share_usage_minute WHERE grant_id = :grant"))


def minute_of(at: datetime) -> int:
    """Minutes since the Unix epoch (UTC) of ``at``."""
    return int(at.timestamp() // 60)


def recent_calls(session: Session, grant_id: str, now: datetime) -> float:
    """The grant's calls over the 60 seconds before ``now`` (estimated, see the module)."""
    seconds = now.timestamp()
    minute, elapsed = int(seconds // 60), (seconds % 60) / 60
    rows = _READ.rows(session, {"grant": grant_id, "before": minute - 1, "now": minute})
    calls = {int(m): int(c) for m, c in rows}
    return calls.get(minute, 0) + calls.get(minute - 1, 0) * (1 - elapsed)


def count_call(session: Session, grant_id: str, now: datetime, rows: int, keep_days: int) -> None:
    """Add one call and its rows to the grant's current minute, in the caller's transaction."""
    minute = minute_of(now)
    if _COUNT.rows(session, {"grant": grant_id, "now": minute, "calls": 1, "rows": rows})[0][0] == 1:
        # the grant's first call this minute: minutes no check reads any more go
        session.execute(
            delete(ShareUsageMinute).where(
                ShareUsageMinute.grant_id == grant_id, ShareUsageMinute.minute <= minute - keep_days * MINUTES_PER_DAY
            )
        )


def add_rows(session: Session, grant_id: str, now: datetime, rows: int) -> None:
    """Rows a call delivered after it was counted (a bulk export, when its file is written)."""
    if rows:
        _COUNT.rows(session, {"grant": grant_id, "now": minute_of(now), "calls": 0, "rows": rows})


def rows_between(session: Session, grant_id: str, start: int, end: int) -> int:
    """The grant's rows in the minutes after ``start`` up to and including ``end``."""
    return int(_ROWS.rows(session, {"grant": grant_id, "start": start, "end": end})[0][0] or 0)


def first_minute(session: Session, grant_id: str) -> int | None:
    """The grant's earliest minute still kept (None: no calls)."""
    first = _FIRST.rows(session, {"grant": grant_id})[0][0]
    return None if first is None else int(first)
