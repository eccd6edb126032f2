"""opendata: open datasets, open-catalog batches, 有条件开放 applications, apps, usage counters

Revision ID: 0002_opendata
Revises: 0001_foundation
Create Date: 2026-12-01 07:40:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import citybrain.db

revision: str = "0002_opendata"
down_revision: str | Sequence[str] | None = "0001_foundation"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TS = citybrain.db.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "open_dataset",
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("title_en", sa.String(length=200), nullable=True),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("resource_id", sa.String(length=32), nullable=False),
        sa.Column("resource_key", sa.String(length=64), nullable=False),
        sa.Column("dept_id", sa.String(length=32), nullable=False),
        sa.Column("open_type", sa.String(length=8), nullable=False),
        sa.Column("topic", sa.String(length=64), nullable=True),
        sa.Column("update_frequency", sa.String(length=8), nullable=False),
        sa.Column("licence", sa.String(length=64), nullable=False),
        sa.Column("tags", sa.JSON(), nullable=False),
        sa.Column("fields", sa.JSON(), nullable=False),
        sa.Column("follow_latest", sa.Boolean(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=True),
        sa.Column("data_updated_at", _TS, nullable=True),
        sa.Column("rows", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("batch_id", sa.String(length=32), nullable=True),
        sa.Column("published_at", _TS, nullable=True),
        sa.Column("created_by", sa.String(length=64), nullable=True),
        sa.Column("downloads", sa.Integer(), nullable=False),
        sa.Column("api_calls", sa.Integer(), nullable=False),
        sa.Column("views", sa.Integer(), nullable=False),
        sa.Column("search_text", sa.Text(), nullable=False),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("updated_at", _TS, nullable=False),
        sa.ForeignKeyConstraint(["dept_id"], ["department.id"], name=op.f("fk_open_dataset_dept_id_department")),
        sa.ForeignKeyConstraint(["resource_id"], ["resource.id"], name=op.f("fk_open_dataset_resource_id_resource")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_open_dataset")),
        sa.UniqueConstraint("name", name=op.f("uq_open_dataset_name")),
    )
    with op.batch_alter_table("open_dataset", schema=None) as batch_op:
        for column in ("resource_id", "dept_id", "open_type", "topic", "update_frequency", "status", "batch_id"):
            batch_op.create_index(batch_op.f(f"ix_open_dataset_{column}"), [column], unique=False)
        batch_op.create_index("ix_open_dataset_status_updated_at", ["status", "updated_at"], unique=False)

    op.create_table(
        "open_dataset_tag",
        sa.Column("dataset_id", sa.String(length=32), nullable=False),
        sa.Column("tag", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["dataset_id"],
            ["open_dataset.id"],
            name=op.f("fk_open_dataset_tag_dataset_id_open_dataset"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("dataset_id", "tag", name=op.f("pk_open_dataset_tag")),
    )
    with op.batch_alter_table("open_dataset_tag", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_open_dataset_tag_tag"), ["tag"], unique=False)

    op.create_table(
        "open_catalog_batch",
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("dept_id", sa.String(length=32), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("dataset_ids", sa.JSON(), nullable=False),
        sa.Column("submitted_by", sa.String(length=64), nullable=True),
        sa.Column("submitted_at", _TS, nullable=False),
        sa.Column("decided_by", sa.String(length=64), nullable=True),
        sa.Column("decided_at", _TS, nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_open_catalog_batch")),
    )
    with op.batch_alter_table("open_catalog_batch", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_open_catalog_batch_dept_id"), ["dept_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_open_catalog_batch_status"), ["status"], unique=False)

    op.create_table(
        "open_application",
        sa.Column("dataset_id", sa.String(length=32), nullable=False),
        sa.Column("dept_id", sa.String(length=32), nullable=False),
        sa.Column("user_id", sa.String(length=32), nullable=False),
        sa.Column("applicant_kind", sa.String(length=16), nullable=False),
        sa.Column("organization", sa.String(length=200), nullable=True),
        sa.Column("uscc", sa.String(length=18), nullable=True),
        sa.Column("purpose", sa.Text(), nullable=False),
        sa.Column("intended_use", sa.Text(), nullable=False),
        sa.Column("terms_version", sa.String(length=16), nullable=False),
        sa.Column("terms_accepted_at", _TS, nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("decided_by", sa.String(length=64), nullable=True),
        sa.Column("decided_at", _TS, nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("token_id", sa.String(length=32), nullable=True),
        sa.Column("daily_calls", sa.Integer(), nullable=False),
        sa.Column("max_rows", sa.Integer(), nullable=False),
        sa.Column("expires_at", _TS, nullable=True),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(
            ["dataset_id"], ["open_dataset.id"], name=op.f("fk_open_application_dataset_id_open_dataset")
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["user_account.id"], name=op.f("fk_open_application_user_id_user_account")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_open_application")),
    )
    with op.batch_alter_table("open_application", schema=None) as batch_op:
        for column in ("dataset_id", "dept_id", "user_id", "status", "token_id"):
            batch_op.create_index(batch_op.f(f"ix_open_application_{column}"), [column], unique=False)

    op.create_table(
        "open_app",
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("url", sa.String(length=500), nullable=True),
        sa.Column("developer", sa.String(length=200), nullable=False),
        sa.Column("dataset_ids", sa.JSON(), nullable=False),
        sa.Column("registered_by", sa.String(length=32), nullable=True),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_open_app")),
    )

    op.create_table(
        "open_usage",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("dataset_id", sa.String(length=32), nullable=False),
        sa.Column("token_id", sa.String(length=32), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_open_usage")),
        sa.UniqueConstraint("dataset_id", "token_id", "day", "kind", name=op.f("uq_open_usage_dataset_id")),
    )
    with op.batch_alter_table("open_usage", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_open_usage_dataset_id"), ["dataset_id"], unique=False)


def downgrade() -> None:
    op.drop_table("open_usage")
    op.drop_table("open_app")
    op.drop_table("open_application")
    op.drop_table("open_catalog_batch")
    op.drop_table("open_dataset_tag")
    op.drop_table("open_dataset")
