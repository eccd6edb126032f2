"""ingest: the kind of problem of a quarantined row, to group the quarantine by field and check

Revision ID: 0003_ingest_problem_kind
Revises: 0002_ingest
Create Date: 2026-12-01 11:10:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003_ingest_problem_kind"
down_revision: str | Sequence[str] | None = "0002_ingest"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _kind(reason: str) -> str:
    # a stored reason is "<field label>：<problem>"; the kind is the problem up to its value (as
    # citybrain.ingest.checks.problem_kind, copied so this revision never changes with the code)
    problem = reason.split("：", 1)[1] if "：" in reason and not reason.startswith("主键 ") else reason
    if problem.startswith("主键 ") and " 重复" in problem:
        return problem[: problem.index(" 重复") + 3]
    cut = [i for i in (problem.find("："), problem.find("，")) if i > 0]
    return problem[: min(cut)] if cut else problem


def upgrade() -> None:
    with op.batch_alter_table("ingest_quarantine") as batch:
        batch.add_column(sa.Column("problem_kind", sa.String(200), nullable=True))
    quarantine = sa.table(
        "ingest_quarantine", sa.column("id", sa.String), sa.column("reason", sa.Text), sa.column("problem_kind")
    )
    conn = op.get_bind()
    for row in conn.execute(sa.select(quarantine.c.id, quarantine.c.reason)).fetchall():
        conn.execute(quarantine.update().where(quarantine.c.id == row.id).values(problem_kind=_kind(row.reason or "")))
    op.create_index(
        "ix_ingest_quarantine_group", "ingest_quarantine", ["resource_id", "status", "field", "problem_kind"]
    )


def downgrade() -> None:
    op.drop_index("ix_ingest_quarantine_group", table_name="ingest_quarantine")
    with op.batch_alter_table("ingest_quarantine") as batch:
        batch.drop_column("problem_kind")
