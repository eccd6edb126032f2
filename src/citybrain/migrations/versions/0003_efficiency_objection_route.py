"""efficiency: a 数据核对 objection names the source department it went to and its 数据异议

Revision ID: 0003_efficiency_objection_route
Revises: 0002_efficiency
Create Date: 2026-12-01 10:50:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003_efficiency_objection_route"
down_revision: str | Sequence[str] | None = "0002_efficiency"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # objections raised before were answered by the office itself: they keep empty routes
    with op.batch_alter_table("eff_objection") as batch:
        batch.add_column(sa.Column("dept_id", sa.String(length=32), nullable=True))
        batch.add_column(sa.Column("quality_objection_id", sa.String(length=32), nullable=True))
        batch.add_column(sa.Column("quality_number", sa.String(length=32), nullable=True))
        batch.create_index(batch.f("ix_eff_objection_dept_id"), ["dept_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("eff_objection") as batch:
        batch.drop_index(batch.f("ix_eff_objection_dept_id"))
        batch.drop_column("quality_number")
        batch.drop_column("quality_objection_id")
        batch.drop_column("dept_id")
