"""efficiency: 工业企业效益综合评价 cycles, runs, results, decisions, objections, clear-out register

Revision ID: 0002_efficiency
Revises: 0001_foundation
Create Date: 2026-12-01 08:00:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import citybrain.db

revision: str = "0002_efficiency"
down_revision: str | Sequence[str] | None = "0001_foundation"
# a branch of its own: every domain migrates independently off the foundation
branch_labels: str | Sequence[str] | None = ("efficiency",)
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "eff_clearout",
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("uscc", sa.String(length=18), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("town", sa.String(length=64), nullable=False),
        sa.Column("town_code", sa.String(length=12), nullable=True),
        sa.Column("area_mu", sa.Float(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("note", sa.String(length=500), nullable=True),
        sa.Column("run_id", sa.String(length=32), nullable=False),
        sa.Column("updated_by", sa.String(length=64), nullable=True),
        sa.Column("updated_at", citybrain.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_eff_clearout")),
        sa.UniqueConstraint("year", "uscc", name=op.f("uq_eff_clearout_year")),
    )
    with op.batch_alter_table("eff_clearout", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_eff_clearout_town_code"), ["town_code"], unique=False)
        batch_op.create_index(batch_op.f("ix_eff_clearout_uscc"), ["uscc"], unique=False)
        batch_op.create_index(batch_op.f("ix_eff_clearout_year"), ["year"], unique=False)

    op.create_table(
        "eff_cycle",
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("params_version", sa.String(length=32), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("check_deadline", sa.Date(), nullable=True),
        sa.Column("collecting_at", citybrain.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("checking_at", citybrain.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("evaluating_at", citybrain.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("published_at", citybrain.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("check_versions", sa.JSON(), nullable=True),
        sa.Column("confirmed_run_id", sa.String(length=32), nullable=True),
        sa.Column("confirmed_at", citybrain.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("confirmed_by", sa.String(length=64), nullable=True),
        sa.Column("created_by", sa.String(length=64), nullable=True),
        sa.Column("created_at", citybrain.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_eff_cycle")),
        sa.UniqueConstraint("year", name=op.f("uq_eff_cycle_year")),
    )
    with op.batch_alter_table("eff_cycle", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_eff_cycle_state"), ["state"], unique=False)

    op.create_table(
        "eff_confirmation",
        sa.Column("cycle_id", sa.String(length=32), nullable=False),
        sa.Column("uscc", sa.String(length=18), nullable=False),
        sa.Column("by", sa.String(length=64), nullable=True),
        sa.Column("at", citybrain.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(
            ["cycle_id"], ["eff_cycle.id"], name=op.f("fk_eff_confirmation_cycle_id_eff_cycle"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_eff_confirmation")),
        sa.UniqueConstraint("cycle_id", "uscc", name=op.f("uq_eff_confirmation_cycle_id")),
    )
    with op.batch_alter_table("eff_confirmation", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_eff_confirmation_cycle_id"), ["cycle_id"], unique=False)

    op.create_table(
        "eff_decision",
        sa.Column("cycle_id", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("uscc", sa.String(length=18), nullable=False),
        sa.Column("new_class", sa.String(length=1), nullable=True),
        sa.Column("basis", sa.String(length=16), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("by", sa.String(length=64), nullable=True),
        sa.Column("at", citybrain.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(
            ["cycle_id"], ["eff_cycle.id"], name=op.f("fk_eff_decision_cycle_id_eff_cycle"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_eff_decision")),
        sa.UniqueConstraint("cycle_id", "kind", "uscc", name=op.f("uq_eff_decision_cycle_id")),
    )
    with op.batch_alter_table("eff_decision", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_eff_decision_cycle_id"), ["cycle_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_eff_decision_uscc"), ["uscc"], unique=False)

    op.create_table(
        "eff_exception",
        sa.Column("cycle_id", sa.String(length=32), nullable=False),
        sa.Column("resource_key", sa.String(length=64), nullable=False),
        sa.Column("dept_id", sa.String(length=32), nullable=True),
        sa.Column("data_version", sa.Integer(), nullable=False),
        sa.Column("column", sa.String(length=64), nullable=False),
        sa.Column("value", sa.String(length=64), nullable=False),
        sa.Column("problem", sa.String(length=16), nullable=False),
        sa.Column("message", sa.String(length=200), nullable=False),
        sa.Column("rows", sa.Integer(), nullable=False),
        sa.Column("resolved", sa.Boolean(), nullable=False),
        sa.Column("created_at", citybrain.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(
            ["cycle_id"], ["eff_cycle.id"], name=op.f("fk_eff_exception_cycle_id_eff_cycle"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_eff_exception")),
    )
    with op.batch_alter_table("eff_exception", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_eff_exception_cycle_id"), ["cycle_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_eff_exception_dept_id"), ["dept_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_eff_exception_resource_key"), ["resource_key"], unique=False)

    op.create_table(
        "eff_objection",
        sa.Column("cycle_id", sa.String(length=32), nullable=False),
        sa.Column("uscc", sa.String(length=18), nullable=False),
        sa.Column("town_code", sa.String(length=12), nullable=True),
        sa.Column("resource_key", sa.String(length=64), nullable=True),
        sa.Column("field", sa.String(length=64), nullable=True),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("raised_by", sa.String(length=64), nullable=True),
        sa.Column("raised_at", citybrain.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("reply", sa.Text(), nullable=True),
        sa.Column("replied_by", sa.String(length=64), nullable=True),
        sa.Column("replied_at", citybrain.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(
            ["cycle_id"], ["eff_cycle.id"], name=op.f("fk_eff_objection_cycle_id_eff_cycle"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_eff_objection")),
    )
    with op.batch_alter_table("eff_objection", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_eff_objection_cycle_id"), ["cycle_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_eff_objection_status"), ["status"], unique=False)
        batch_op.create_index(batch_op.f("ix_eff_objection_town_code"), ["town_code"], unique=False)
        batch_op.create_index(batch_op.f("ix_eff_objection_uscc"), ["uscc"], unique=False)

    op.create_table(
        "eff_run",
        sa.Column("cycle_id", sa.String(length=32), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("params_version", sa.String(length=32), nullable=False),
        sa.Column("params_fingerprint", sa.String(length=32), nullable=False),
        sa.Column("data_versions", sa.JSON(), nullable=False),
        sa.Column("decisions", sa.JSON(), nullable=False),
        sa.Column("checksum", sa.String(length=64), nullable=False),
        sa.Column("firm_count", sa.Integer(), nullable=False),
        sa.Column("class_counts", sa.JSON(), nullable=False),
        sa.Column("baselines", sa.JSON(), nullable=False),
        sa.Column("excluded_count", sa.Integer(), nullable=False),
        sa.Column("results_version", sa.Integer(), nullable=True),
        sa.Column("seconds", sa.Float(), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=True),
        sa.Column("created_at", citybrain.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(
            ["cycle_id"], ["eff_cycle.id"], name=op.f("fk_eff_run_cycle_id_eff_cycle"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_eff_run")),
    )
    with op.batch_alter_table("eff_run", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_eff_run_cycle_id"), ["cycle_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_eff_run_year"), ["year"], unique=False)

    op.create_table(
        "eff_transition",
        sa.Column("cycle_id", sa.String(length=32), nullable=False),
        sa.Column("from_state", sa.String(length=16), nullable=False),
        sa.Column("to_state", sa.String(length=16), nullable=False),
        sa.Column("note", sa.String(length=500), nullable=True),
        sa.Column("by", sa.String(length=64), nullable=True),
        sa.Column("at", citybrain.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(
            ["cycle_id"], ["eff_cycle.id"], name=op.f("fk_eff_transition_cycle_id_eff_cycle"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_eff_transition")),
    )
    with op.batch_alter_table("eff_transition", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_eff_transition_cycle_id"), ["cycle_id"], unique=False)

    op.create_table(
        "eff_result",
        sa.Column("run_id", sa.String(length=32), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("uscc", sa.String(length=18), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("town", sa.String(length=64), nullable=False),
        sa.Column("town_code", sa.String(length=12), nullable=True),
        sa.Column("unit_id", sa.String(length=64), nullable=False),
        sa.Column("firm_type", sa.String(length=32), nullable=False),
        sa.Column("area_mu", sa.Float(), nullable=False),
        sa.Column("tax_paid", sa.Float(), nullable=False),
        sa.Column("total_score", sa.Float(), nullable=False),
        sa.Column("score_class", sa.String(length=1), nullable=False),
        sa.Column("class", sa.String(length=1), nullable=False),
        sa.Column("override_rule", sa.String(length=32), nullable=True),
        sa.Column("breakdown", sa.Text(), nullable=False),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"], ["eff_run.id"], name=op.f("fk_eff_result_run_id_eff_run"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_eff_result")),
        sa.UniqueConstraint("run_id", "uscc", name=op.f("uq_eff_result_run_id")),
    )
    with op.batch_alter_table("eff_result", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_eff_result_class"), ["class"], unique=False)
        batch_op.create_index(batch_op.f("ix_eff_result_run_id"), ["run_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_eff_result_town_code"), ["town_code"], unique=False)
        batch_op.create_index(batch_op.f("ix_eff_result_uscc"), ["uscc"], unique=False)
        batch_op.create_index(batch_op.f("ix_eff_result_year"), ["year"], unique=False)

    op.create_table(
        "eff_firm_account",
        sa.Column("user_id", sa.String(length=32), nullable=False),
        sa.Column("uscc", sa.String(length=18), nullable=False),
        sa.Column("bound_by", sa.String(length=64), nullable=True),
        sa.Column("bound_at", citybrain.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["user_account.id"], name=op.f("fk_eff_firm_account_user_id_user_account"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_eff_firm_account")),
        sa.UniqueConstraint("user_id", name=op.f("uq_eff_firm_account_user_id")),
    )
    with op.batch_alter_table("eff_firm_account", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_eff_firm_account_uscc"), ["uscc"], unique=False)


def downgrade() -> None:
    op.drop_table("eff_firm_account")
    op.drop_table("eff_clearout")
    op.drop_table("eff_decision")
    op.drop_table("eff_result")
    op.drop_table("eff_run")
    op.drop_table("eff_confirmation")
    op.drop_table("eff_objection")
    op.drop_table("eff_exception")
    op.drop_table("eff_transition")
    op.drop_table("eff_cycle")
