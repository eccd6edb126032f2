"""ingest: loads, quarantine, pull sources, background jobs

Revision ID: 0002_ingest
Revises: 0001_foundation
Create Date: 2026-12-01 07:20:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import citybrain.db

revision: str = "0002_ingest"
down_revision: str | Sequence[str] | None = "0001_foundation"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TS = citybrain.db.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "ingest_source",
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("resource_id", sa.String(length=32), nullable=False),
        sa.Column("dept_id", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("config", sa.JSON(), nullable=False),
        sa.Column("mode", sa.String(length=16), nullable=False),
        sa.Column("incremental", sa.String(length=16), nullable=False),
        sa.Column("cursor_column", sa.String(length=100), nullable=True),
        sa.Column("watermark", sa.JSON(), nullable=True),
        sa.Column("cron", sa.String(length=100), nullable=True),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("next_run_at", _TS, nullable=True),
        sa.Column("last_run_at", _TS, nullable=True),
        sa.Column("last_load_id", sa.String(length=32), nullable=True),
        sa.Column("created_by", sa.String(length=64), nullable=True),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(
            ["resource_id"], ["resource.id"], name=op.f("fk_ingest_source_resource_id_resource"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ingest_source")),
        sa.UniqueConstraint("name", name=op.f("uq_ingest_source_name")),
    )
    with op.batch_alter_table("ingest_source", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_ingest_source_dept_id"), ["dept_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_ingest_source_next_run_at"), ["next_run_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_ingest_source_resource_id"), ["resource_id"], unique=False)

    op.create_table(
        "ingest_load",
        sa.Column("resource_id", sa.String(length=32), nullable=False),
        sa.Column("resource_key", sa.String(length=64), nullable=False),
        sa.Column("dept_id", sa.String(length=32), nullable=False),
        sa.Column("mode", sa.String(length=16), nullable=False),
        sa.Column("connector", sa.String(length=16), nullable=False),
        sa.Column("source", sa.String(length=500), nullable=False),
        sa.Column("source_id", sa.String(length=32), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("rows_read", sa.Integer(), nullable=False),
        sa.Column("rows_accepted", sa.Integer(), nullable=False),
        sa.Column("rows_quarantined", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=True),
        sa.Column("checksum", sa.String(length=80), nullable=True),
        sa.Column("source_checksum", sa.String(length=80), nullable=True),
        sa.Column("resource_revision", sa.Integer(), nullable=False),
        sa.Column("info", sa.JSON(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("error_details", sa.JSON(), nullable=True),
        sa.Column("job_id", sa.String(length=32), nullable=True),
        sa.Column("created_by", sa.String(length=64), nullable=True),
        sa.Column("created_by_id", sa.String(length=32), nullable=True),
        sa.Column("created_by_dept_id", sa.String(length=32), nullable=True),
        sa.Column("started_at", _TS, nullable=False),
        sa.Column("finished_at", _TS, nullable=True),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(
            ["resource_id"], ["resource.id"], name=op.f("fk_ingest_load_resource_id_resource"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["source_id"],
            ["ingest_source.id"],
            name=op.f("fk_ingest_load_source_id_ingest_source"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ingest_load")),
    )
    with op.batch_alter_table("ingest_load", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_ingest_load_dept_id"), ["dept_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_ingest_load_resource_id"), ["resource_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_ingest_load_started_at"), ["started_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_ingest_load_status"), ["status"], unique=False)

    op.create_table(
        "ingest_quarantine",
        sa.Column("load_id", sa.String(length=32), nullable=False),
        sa.Column("resource_id", sa.String(length=32), nullable=False),
        sa.Column("row_number", sa.Integer(), nullable=False),
        sa.Column("field", sa.String(length=100), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("problems", sa.JSON(), nullable=False),
        sa.Column("raw", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("resolved_version", sa.Integer(), nullable=True),
        sa.Column("resolved_load_id", sa.String(length=32), nullable=True),
        sa.Column("resolved_by", sa.String(length=64), nullable=True),
        sa.Column("resolved_at", _TS, nullable=True),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(
            ["load_id"], ["ingest_load.id"], name=op.f("fk_ingest_quarantine_load_id_ingest_load"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["resource_id"], ["resource.id"], name=op.f("fk_ingest_quarantine_resource_id_resource"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ingest_quarantine")),
    )
    with op.batch_alter_table("ingest_quarantine", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_ingest_quarantine_load_id"), ["load_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_ingest_quarantine_resource_id"), ["resource_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_ingest_quarantine_status"), ["status"], unique=False)

    op.create_table(
        "ingest_job",
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("load_id", sa.String(length=32), nullable=True),
        sa.Column("dept_id", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("progress", sa.Double(), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_by", sa.String(length=64), nullable=True),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("started_at", _TS, nullable=True),
        sa.Column("finished_at", _TS, nullable=True),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ingest_job")),
    )
    with op.batch_alter_table("ingest_job", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_ingest_job_dept_id"), ["dept_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_ingest_job_load_id"), ["load_id"], unique=False)


def downgrade() -> None:
    op.drop_table("ingest_job")
    op.drop_table("ingest_quarantine")
    op.drop_table("ingest_load")
    op.drop_table("ingest_source")
