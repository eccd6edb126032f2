"""share: calls per grant per minute, read by the rate limit

Revision ID: 0003_share_rate_window
Revises: 0002_share
Create Date: 2026-12-01 14:00:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003_share_rate_window"
down_revision: str | Sequence[str] | None = "0002_share"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # starts empty: a grant's limit counts from the first call after the upgrade
    op.create_table(
        "share_rate_window",
        sa.Column("grant_id", sa.String(length=32), nullable=False),
        sa.Column("minute", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("calls", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("grant_id", "minute", name=op.f("pk_share_rate_window")),
    )


def downgrade() -> None:
    op.drop_table("share_rate_window")
