"""quality: steward rules, runs, rule results and failing rows, rectification tickets, objections

Revision ID: 0002_quality
Revises: 0001_foundation
Create Date: 2026-12-01 07:30:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import citybrain.db

revision: str = "0002_quality"
down_revision: str | Sequence[str] | None = "0001_foundation"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "quality_objection",
        sa.Column("number", sa.String(length=32), nullable=False),
        sa.Column("resource_id", sa.String(length=32), nullable=False),
        sa.Column("resource_key", sa.String(length=64), nullable=False),
        sa.Column("target_resource_id", sa.String(length=32), nullable=False),
        sa.Column("target_resource_key", sa.String(length=64), nullable=False),
        sa.Column("dept_id", sa.String(length=32), nullable=False),
        sa.Column("field", sa.String(length=64), nullable=True),
        sa.Column("target_field", sa.String(length=64), nullable=True),
        sa.Column("keys", sa.JSON(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("evidence", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("raised_by", sa.String(length=64), nullable=True),
        sa.Column("raised_by_id", sa.String(length=32), nullable=True),
        sa.Column("raised_by_dept_id", sa.String(length=32), nullable=True),
        sa.Column("created_at", citybrain.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("decided_by", sa.String(length=64), nullable=True),
        sa.Column("decided_at", citybrain.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("decision_reason", sa.Text(), nullable=True),
        sa.Column("fixed_version", sa.Integer(), nullable=True),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(
            ["resource_id"], ["resource.id"], name=op.f("fk_quality_objection_resource_id_resource"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_quality_objection")),
        sa.UniqueConstraint("number", name=op.f("uq_quality_objection_number")),
    )
    op.create_index(op.f("ix_quality_objection_dept_id"), "quality_objection", ["dept_id"], unique=False)
    op.create_index(
        op.f("ix_quality_objection_raised_by_dept_id"), "quality_objection", ["raised_by_dept_id"], unique=False
    )
    op.create_index(op.f("ix_quality_objection_resource_id"), "quality_objection", ["resource_id"], unique=False)
    op.create_index(op.f("ix_quality_objection_status"), "quality_objection", ["status"], unique=False)
    op.create_index(
        op.f("ix_quality_objection_target_resource_id"), "quality_objection", ["target_resource_id"], unique=False
    )
    op.create_table(
        "quality_rule",
        sa.Column("resource_id", sa.String(length=32), nullable=False),
        sa.Column("rule_id", sa.String(length=64), nullable=False),
        sa.Column("spec", sa.JSON(), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=True),
        sa.Column("created_at", citybrain.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(
            ["resource_id"], ["resource.id"], name=op.f("fk_quality_rule_resource_id_resource"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_quality_rule")),
        sa.UniqueConstraint("resource_id", "rule_id", name=op.f("uq_quality_rule_resource_id")),
    )
    op.create_index(op.f("ix_quality_rule_resource_id"), "quality_rule", ["resource_id"], unique=False)
    op.create_table(
        "quality_run",
        sa.Column("resource_id", sa.String(length=32), nullable=False),
        sa.Column("resource_key", sa.String(length=64), nullable=False),
        sa.Column("dept_id", sa.String(length=32), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("rows", sa.Integer(), nullable=False),
        sa.Column("overall", sa.Float(), nullable=True),
        sa.Column("dimensions", sa.JSON(), nullable=False),
        sa.Column("skipped", sa.JSON(), nullable=False),
        sa.Column("tickets_opened", sa.Integer(), nullable=False),
        sa.Column("tickets_closed", sa.Integer(), nullable=False),
        sa.Column("elapsed_s", sa.Float(), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=True),
        sa.Column("created_at", citybrain.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(
            ["resource_id"], ["resource.id"], name=op.f("fk_quality_run_resource_id_resource"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_quality_run")),
    )
    op.create_index(op.f("ix_quality_run_created_at"), "quality_run", ["created_at"], unique=False)
    op.create_index(op.f("ix_quality_run_dept_id"), "quality_run", ["dept_id"], unique=False)
    op.create_index(op.f("ix_quality_run_resource_id"), "quality_run", ["resource_id"], unique=False)
    op.create_table(
        "quality_ticket",
        sa.Column("number", sa.String(length=32), nullable=False),
        sa.Column("resource_id", sa.String(length=32), nullable=False),
        sa.Column("resource_key", sa.String(length=64), nullable=False),
        sa.Column("dept_id", sa.String(length=32), nullable=False),
        sa.Column("rule_id", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("dimension", sa.String(length=16), nullable=False),
        sa.Column("severity", sa.String(length=8), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("opened_run_id", sa.String(length=32), nullable=False),
        sa.Column("opened_version", sa.Integer(), nullable=False),
        sa.Column("last_run_id", sa.String(length=32), nullable=False),
        sa.Column("last_version", sa.Integer(), nullable=False),
        sa.Column("failed", sa.Integer(), nullable=False),
        sa.Column("due_at", citybrain.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("opened_at", citybrain.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("closed_at", citybrain.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("closed_version", sa.Integer(), nullable=True),
        sa.Column("rejected_at", citybrain.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("rejected_by", sa.String(length=64), nullable=True),
        sa.Column("reject_reason", sa.Text(), nullable=True),
        sa.Column("escalated_at", citybrain.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(
            ["resource_id"], ["resource.id"], name=op.f("fk_quality_ticket_resource_id_resource"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_quality_ticket")),
        sa.UniqueConstraint("number", name=op.f("uq_quality_ticket_number")),
    )
    op.create_index(op.f("ix_quality_ticket_dept_id"), "quality_ticket", ["dept_id"], unique=False)
    op.create_index(op.f("ix_quality_ticket_due_at"), "quality_ticket", ["due_at"], unique=False)
    op.create_index(op.f("ix_quality_ticket_resource_id"), "quality_ticket", ["resource_id"], unique=False)
    op.create_index(op.f("ix_quality_ticket_status"), "quality_ticket", ["status"], unique=False)
    op.create_table(
        "quality_failure",
        sa.Column("run_id", sa.String(length=32), nullable=False),
        sa.Column("resource_id", sa.String(length=32), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("rule_id", sa.String(length=64), nullable=False),
        sa.Column("key", sa.Text(), nullable=True),
        sa.Column("field", sa.String(length=64), nullable=False),
        sa.Column("value", sa.Text(), nullable=True),
        sa.Column("related", sa.JSON(), nullable=False),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"], ["quality_run.id"], name=op.f("fk_quality_failure_run_id_quality_run"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_quality_failure")),
    )
    op.create_index(op.f("ix_quality_failure_resource_id"), "quality_failure", ["resource_id"], unique=False)
    op.create_index(op.f("ix_quality_failure_run_id"), "quality_failure", ["run_id"], unique=False)
    op.create_table(
        "quality_rule_result",
        sa.Column("run_id", sa.String(length=32), nullable=False),
        sa.Column("rule_id", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("dimension", sa.String(length=16), nullable=False),
        sa.Column("severity", sa.String(length=8), nullable=False),
        sa.Column("origin", sa.String(length=16), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("columns", sa.JSON(), nullable=False),
        sa.Column("checked", sa.Integer(), nullable=False),
        sa.Column("failed", sa.Integer(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("info", sa.JSON(), nullable=False),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"], ["quality_run.id"], name=op.f("fk_quality_rule_result_run_id_quality_run"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_quality_rule_result")),
    )
    op.create_index(op.f("ix_quality_rule_result_run_id"), "quality_rule_result", ["run_id"], unique=False)
    op.create_table(
        "quality_ticket_item",
        sa.Column("ticket_id", sa.String(length=32), nullable=False),
        sa.Column("key", sa.Text(), nullable=True),
        sa.Column("field", sa.String(length=64), nullable=False),
        sa.Column("value", sa.Text(), nullable=True),
        sa.Column("related", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("fixed_version", sa.Integer(), nullable=True),
        sa.Column("fixed_at", citybrain.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(
            ["ticket_id"],
            ["quality_ticket.id"],
            name=op.f("fk_quality_ticket_item_ticket_id_quality_ticket"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_quality_ticket_item")),
    )
    op.create_index(op.f("ix_quality_ticket_item_ticket_id"), "quality_ticket_item", ["ticket_id"], unique=False)


def downgrade() -> None:
    op.drop_table("quality_ticket_item")
    op.drop_table("quality_rule_result")
    op.drop_table("quality_failure")
    op.drop_table("quality_ticket")
    op.drop_table("quality_run")
    op.drop_table("quality_rule")
    op.drop_table("quality_objection")
