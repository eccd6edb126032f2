"""share: calls and rows per grant per minute, read by the rate limit and the volume check

Replaces ``share_rate_window`` (calls only, kept for two minutes) with ``share_usage_minute``, which
also sums each minute's rows and keeps a grant's minutes for the volume baseline's days. It is filled
from the last 31 days of ``share_call`` (the longest baseline worth keeping a month for), so volume
baselines carry over the upgrade.

Revision ID: 0004_share_usage_minute
Revises: 0003_share_rate_window
Create Date: 2026-12-02 14:00:00

"""

import time
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004_share_usage_minute"
down_revision: str | Sequence[str] | None = "0003_share_rate_window"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BACKFILL_DAYS = 31


def upgrade() -> None:
    op.create_table(
        "share_usage_minute",
        sa.Column("grant_id", sa.String(length=32), nullable=False),
        sa.Column("minute", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("calls", sa.Integer(), nullable=False),
        sa.Column("rows", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("grant_id", "minute", name=op.f("pk_share_usage_minute")),
        sqlite_with_rowid=False,
    )
    bind = op.get_bind()
    # minutes since the Unix epoch of a UTC timestamp, as each backend writes it
    if bind.dialect.name == "sqlite":
        minute = "CAST(strftime('%s', at) AS INTEGER) / 60"
    else:
        minute = "CAST(floor(extract(epoch FROM at) / 60) AS INTEGER)"
    since = int(time.time() // 60) - BACKFILL_DAYS * 24 * 60
    # every counted call is in share_call (the rate limit counted exactly those), so the minutes are exact
    bind.execute(
        sa.text(
            f"INSERT INTO share_usage_minute (grant_id, minute, calls, rows) "
            f"SELECT grant_id, {minute}, count(*), coalesce(sum(rows), 0) FROM share_call "
            f"WHERE {minute} > :since GROUP BY grant_id, {minute}"
        ),
        {"since": since},
    )
    op.drop_table("share_rate_window")


def downgrade() -> None:
    op.create_table(
        "share_rate_window",
        sa.Column("grant_id", sa.String(length=32), nullable=False),
        sa.Column("minute", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("calls", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("grant_id", "minute", name=op.f("pk_share_rate_window")),
    )
    op.execute(
        "INSERT INTO share_rate_window (grant_id, minute, calls) "
        "SELECT grant_id, minute, calls FROM share_usage_minute WHERE calls > 0"
    )
    op.drop_table("share_usage_minute")
