"""调用频率限制: a grant's calls in the last minute, estimated from per-minute counters.

The sliding-window counter (as API gateways keep it): the calls counted in the current clock minute,
plus the previous minute's weighted by how much of it still lies within the last 60 seconds. Two rows
per grant are read and one is incremented per call, whatever the call rate; counting the last
minute's :class:`~citybrain.share.models.ShareCall` rows instead costs a busy grant thousands of index
entries on every call. The estimate is exact while calls arrive evenly and errs towards refusing just
after a burst.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, text
from sqlalchemy.orm import Session

from citybrain.db import Direct
from citybrain.share.models import ShareRateWindow

# written out and run on the driver's cursor (see Direct): these run on every share call, and
# SQLAlchemy's work per execution costs several times the database's (same SQL on SQLite and PostgreSQL)
_READ = Direct(
    text("SELECT minute, calls FROM share_rate_window WHERE grant_id = :grant AND minute IN (:before, :now)")
)
# one statement, so two calls at once both count (no read-modify-write race)
_COUNT = Direct(
    text(
        "INSERT INTO share_rate_window (grant_id, minute, calls) VALUES (:grant, :now, 1) "
        "ON CONFLICT (grant_id, minute) DO UPDATE SET calls = share_rate_window.calls + 1 RETURNING calls"
    )
)


def _minute(now: datetime) -> tuple[int, float]:
    seconds = now.timestamp()
    return int(seconds // 60), (seconds % 60) / 60


def recent_calls(session: Session, grant_id: str, now: datetime) -> float:
    """The grant's calls over the 60 seconds before ``now`` (estimated, see the module)."""
    minute, elapsed = _minute(now)
    rows = _READ.rows(session, {"grant": grant_id, "before": minute - 1, "now": minute})
    calls = {int(m): int(c) for m, c in rows}
    return calls.get(minute, 0) + calls.get(minute - 1, 0) * (1 - elapsed)


def count_call(session: Session, grant_id: str, now: datetime) -> None:
    """Add one call to the grant's current minute, in the caller's transaction."""
    minute, _ = _minute(now)
    if _COUNT.rows(session, {"grant": grant_id, "now": minute})[0][0] == 1:
        # the grant's first call this minute: windows before the previous one are of no further use
        session.execute(
            delete(ShareRateWindow).where(ShareRateWindow.grant_id == grant_id, ShareRateWindow.minute < minute - 1)
        )
