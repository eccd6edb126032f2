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

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from citybrain.share.models import ShareRateWindow


def _minute(now: datetime) -> tuple[int, float]:
    seconds = now.timestamp()
    return int(seconds // 60), (seconds % 60) / 60


def recent_calls(session: Session, grant_id: str, now: datetime) -> float:
    """The grant's calls over the 60 seconds before ``now`` (estimated, see the module)."""
    minute, elapsed = _minute(now)
    rows = session.execute(
        select(ShareRateWindow.minute, ShareRateWindow.calls).where(
            ShareRateWindow.grant_id == grant_id, ShareRateWindow.minute.in_((minute - 1, minute))
        )
    ).all()
    calls = {m: c for m, c in rows}
    return calls.get(minute, 0) + calls.get(minute - 1, 0) * (1 - elapsed)


def count_call(session: Session, grant_id: str, now: datetime) -> None:
    """Add one call to the grant's current minute, in the caller's transaction."""
    minute, _ = _minute(now)
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    stmt = insert(ShareRateWindow).values(grant_id=grant_id, minute=minute, calls=1)
    # one statement, so two calls at once both count (no read-modify-write race)
    stmt = stmt.on_conflict_do_update(
        index_elements=["grant_id", "minute"], set_={"calls": ShareRateWindow.calls + 1}
    ).returning(ShareRateWindow.calls)
    if session.execute(stmt).scalar_one() == 1:
        # the grant's first call this minute: windows before the previous one are of no further use
        session.execute(
            delete(ShareRateWindow).where(ShareRateWindow.grant_id == grant_id, ShareRateWindow.minute < minute - 1)
        )
