"""cases: 自行处置 flag on a case (handled on the spot by the grid worker who reported it)

Revision ID: 0003_cases_self_disposed
Revises: 0002_cases
Create Date: 2026-12-01 10:45:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003_cases_self_disposed"
down_revision: str | Sequence[str] | None = "0002_cases"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # existing cases were all dispatched or still at the centre: none was self-disposed
    with op.batch_alter_table("city_case") as batch:
        batch.add_column(sa.Column("self_disposed", sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table("city_case") as batch:
        batch.drop_column("self_disposed")
