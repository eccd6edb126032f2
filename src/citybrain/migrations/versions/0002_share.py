"""share: requests, approvals, grants, demands, calls, exports, alerts

Revision ID: 0002_share
Revises: 0001_foundation
Create Date: 2026-12-01 07:30:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import citybrain.db

revision: str = "0002_share"
down_revision: str | Sequence[str] | None = "0001_foundation"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "share_alert",
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("grant_id", sa.String(length=32), nullable=False),
        sa.Column("resource_key", sa.String(length=64), nullable=False),
        sa.Column("dept_id", sa.String(length=32), nullable=False),
        sa.Column("consumer_dept_id", sa.String(length=32), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("at", citybrain.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("acknowledged_by", sa.String(length=64), nullable=True),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_share_alert")),
    )
    with op.batch_alter_table("share_alert", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_share_alert_at"), ["at"], unique=False)
        batch_op.create_index(batch_op.f("ix_share_alert_dept_id"), ["dept_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_share_alert_grant_id"), ["grant_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_share_alert_kind"), ["kind"], unique=False)

    op.create_table(
        "share_call",
        sa.Column("grant_id", sa.String(length=32), nullable=False),
        sa.Column("resource_key", sa.String(length=64), nullable=False),
        sa.Column("dept_id", sa.String(length=32), nullable=False),
        sa.Column("consumer_dept_id", sa.String(length=32), nullable=False),
        sa.Column("mode", sa.String(length=16), nullable=False),
        sa.Column("rows", sa.Integer(), nullable=False),
        sa.Column("hit", sa.Boolean(), nullable=True),
        sa.Column("at", citybrain.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_share_call")),
    )
    with op.batch_alter_table("share_call", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_share_call_at"), ["at"], unique=False)
        batch_op.create_index(batch_op.f("ix_share_call_consumer_dept_id"), ["consumer_dept_id"], unique=False)
        batch_op.create_index("ix_share_call_grant_at", ["grant_id", "at"], unique=False)
        batch_op.create_index(batch_op.f("ix_share_call_resource_key"), ["resource_key"], unique=False)

    op.create_table(
        "share_demand",
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("purpose", sa.Text(), nullable=False),
        sa.Column("consumer_dept_id", sa.String(length=32), nullable=False),
        sa.Column("requester_id", sa.String(length=32), nullable=False),
        sa.Column("dept_id", sa.String(length=32), nullable=True),
        sa.Column("routing", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("resource_id", sa.String(length=32), nullable=True),
        sa.Column("resource_key", sa.String(length=64), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("created_at", citybrain.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("answered_at", citybrain.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("answered_by", sa.String(length=64), nullable=True),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_share_demand")),
    )
    with op.batch_alter_table("share_demand", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_share_demand_consumer_dept_id"), ["consumer_dept_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_share_demand_dept_id"), ["dept_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_share_demand_status"), ["status"], unique=False)

    op.create_table(
        "share_export",
        sa.Column("grant_id", sa.String(length=32), nullable=False),
        sa.Column("resource_key", sa.String(length=64), nullable=False),
        sa.Column("consumer_dept_id", sa.String(length=32), nullable=False),
        sa.Column("requested_by", sa.String(length=32), nullable=False),
        sa.Column("requested_by_name", sa.String(length=64), nullable=True),
        sa.Column("token_id", sa.String(length=32), nullable=True),
        sa.Column("call_id", sa.String(length=32), nullable=True),
        sa.Column("format", sa.String(length=8), nullable=False),
        sa.Column("filters", sa.JSON(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("rows_total", sa.Integer(), nullable=True),
        sa.Column("rows_done", sa.Integer(), nullable=False),
        sa.Column("path", sa.String(length=500), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_at", citybrain.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("heartbeat_at", citybrain.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("finished_at", citybrain.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_share_export")),
    )
    with op.batch_alter_table("share_export", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_share_export_consumer_dept_id"), ["consumer_dept_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_share_export_grant_id"), ["grant_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_share_export_status"), ["status"], unique=False)

    op.create_table(
        "share_grant",
        sa.Column("request_id", sa.String(length=32), nullable=True),
        sa.Column("resource_id", sa.String(length=32), nullable=False),
        sa.Column("resource_key", sa.String(length=64), nullable=False),
        sa.Column("dept_id", sa.String(length=32), nullable=False),
        sa.Column("consumer_dept_id", sa.String(length=32), nullable=False),
        sa.Column("consumer_user_id", sa.String(length=32), nullable=False),
        sa.Column("fields", sa.JSON(), nullable=False),
        sa.Column("row_filter", sa.JSON(), nullable=False),
        sa.Column("modes", sa.JSON(), nullable=False),
        sa.Column("masking", sa.JSON(), nullable=False),
        sa.Column("unmasked", sa.JSON(), nullable=False),
        sa.Column("purpose", sa.Text(), nullable=False),
        sa.Column("expected_volume", sa.Integer(), nullable=True),
        sa.Column("rate_limit", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("token_id", sa.String(length=32), nullable=True),
        sa.Column("expires_at", citybrain.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_at", citybrain.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("changed_at", citybrain.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(["resource_id"], ["resource.id"], name=op.f("fk_share_grant_resource_id_resource")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_share_grant")),
    )
    with op.batch_alter_table("share_grant", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_share_grant_consumer_dept_id"), ["consumer_dept_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_share_grant_dept_id"), ["dept_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_share_grant_request_id"), ["request_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_share_grant_resource_id"), ["resource_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_share_grant_status"), ["status"], unique=False)

    op.create_table(
        "share_request",
        sa.Column("resource_id", sa.String(length=32), nullable=False),
        sa.Column("resource_key", sa.String(length=64), nullable=False),
        sa.Column("dept_id", sa.String(length=32), nullable=False),
        sa.Column("consumer_dept_id", sa.String(length=32), nullable=False),
        sa.Column("requester_id", sa.String(length=32), nullable=False),
        sa.Column("requester_name", sa.String(length=64), nullable=True),
        sa.Column("fields", sa.JSON(), nullable=False),
        sa.Column("row_filter", sa.JSON(), nullable=False),
        sa.Column("modes", sa.JSON(), nullable=False),
        sa.Column("unmask", sa.JSON(), nullable=False),
        sa.Column("purpose", sa.Text(), nullable=False),
        sa.Column("legal_basis", sa.Text(), nullable=False),
        sa.Column("days", sa.Integer(), nullable=False),
        sa.Column("expected_volume", sa.Integer(), nullable=True),
        sa.Column("grade", sa.String(length=4), nullable=False),
        sa.Column("share_type", sa.String(length=8), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("terms", sa.JSON(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("grant_id", sa.String(length=32), nullable=True),
        sa.Column("created_at", citybrain.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("decided_at", citybrain.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(["resource_id"], ["resource.id"], name=op.f("fk_share_request_resource_id_resource")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_share_request")),
    )
    with op.batch_alter_table("share_request", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_share_request_consumer_dept_id"), ["consumer_dept_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_share_request_created_at"), ["created_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_share_request_dept_id"), ["dept_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_share_request_requester_id"), ["requester_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_share_request_resource_id"), ["resource_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_share_request_status"), ["status"], unique=False)

    op.create_table(
        "share_approval",
        sa.Column("request_id", sa.String(length=32), nullable=False),
        sa.Column("stage", sa.String(length=16), nullable=False),
        sa.Column("decision", sa.String(length=16), nullable=False),
        sa.Column("decided_by", sa.String(length=32), nullable=True),
        sa.Column("decided_by_name", sa.String(length=64), nullable=True),
        sa.Column("terms", sa.JSON(), nullable=False),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("at", citybrain.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["share_request.id"],
            name=op.f("fk_share_approval_request_id_share_request"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_share_approval")),
    )
    with op.batch_alter_table("share_approval", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_share_approval_request_id"), ["request_id"], unique=False)


def downgrade() -> None:
    op.drop_table("share_approval")
    op.drop_table("share_request")
    op.drop_table("share_grant")
    op.drop_table("share_export")
    op.drop_table("share_demand")
    op.drop_table("share_call")
    op.drop_table("share_alert")
