"""cases: 一网统管 grids, components, routing rules, cases, reports, timeline, notifications, outbox

Revision ID: 0002_cases
Revises: 0001_foundation
Create Date: 2026-12-01 07:20:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import citybrain.db

revision: str = "0002_cases"
down_revision: str | Sequence[str] | None = "0001_foundation"
# a branch of its own: every domain migrates independently off the foundation
branch_labels: str | Sequence[str] | None = ("cases",)
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    op.create_table(
        "city_case_outbox",
        sa.Column("event", sa.String(length=32), nullable=False),
        sa.Column("url", sa.String(length=500), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=8), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.String(length=500), nullable=True),
        sa.Column("next_attempt_at", citybrain.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_at", citybrain.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("sent_at", citybrain.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_city_case_outbox")),
    )
    with op.batch_alter_table("city_case_outbox", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_city_case_outbox_status"), ["status"], unique=False)

    op.create_table(
        "case_component",
        sa.Column("ident", sa.String(length=17), nullable=False),
        sa.Column("code", sa.String(length=5), nullable=False),
        sa.Column("edition", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("owner_dept_id", sa.String(length=32), nullable=False),
        sa.Column("owner_uscc", sa.String(length=18), nullable=False),
        sa.Column("grid_id", sa.String(length=15), nullable=True),
        sa.Column("status", sa.String(length=8), nullable=False),
        sa.Column("lon", sa.Float(), nullable=True),
        sa.Column("lat", sa.Float(), nullable=True),
        sa.Column("address", sa.String(length=256), nullable=True),
        sa.Column("created_at", citybrain.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", citybrain.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["owner_dept_id"], ["department.id"], name=op.f("fk_case_component_owner_dept_id_department")
        ),
        sa.PrimaryKeyConstraint("ident", name=op.f("pk_case_component")),
    )
    with op.batch_alter_table("case_component", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_case_component_code"), ["code"], unique=False)
        batch_op.create_index(batch_op.f("ix_case_component_grid_id"), ["grid_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_case_component_owner_dept_id"), ["owner_dept_id"], unique=False)

    op.create_table(
        "case_routing_rule",
        sa.Column("kind", sa.String(length=4), nullable=False),
        sa.Column("code", sa.String(length=5), nullable=False),
        sa.Column("area_prefix", sa.String(length=15), nullable=False),
        sa.Column("dept_id", sa.String(length=32), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("note", sa.String(length=200), nullable=True),
        sa.Column("created_at", citybrain.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(["dept_id"], ["department.id"], name=op.f("fk_case_routing_rule_dept_id_department")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_routing_rule")),
    )
    with op.batch_alter_table("case_routing_rule", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_case_routing_rule_dept_id"), ["dept_id"], unique=False)

    op.create_table(
        "case_grid",
        sa.Column("code", sa.String(length=15), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("level", sa.String(length=16), nullable=False),
        sa.Column("parent_code", sa.String(length=15), nullable=True),
        sa.Column("district_code", sa.String(length=6), nullable=True),
        sa.Column("street_code", sa.String(length=9), nullable=True),
        sa.Column("community_code", sa.String(length=12), nullable=True),
        sa.Column("area_class", sa.String(length=1), nullable=True),
        sa.Column("geometry", sa.JSON(), nullable=False),
        sa.Column("min_lon", sa.Float(), nullable=False),
        sa.Column("min_lat", sa.Float(), nullable=False),
        sa.Column("max_lon", sa.Float(), nullable=False),
        sa.Column("max_lat", sa.Float(), nullable=False),
        sa.Column("worker_user_id", sa.String(length=32), nullable=True),
        sa.Column("imported_at", citybrain.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["worker_user_id"], ["user_account.id"], name=op.f("fk_case_grid_worker_user_id_user_account")
        ),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_case_grid")),
    )
    with op.batch_alter_table("case_grid", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_case_grid_district_code"), ["district_code"], unique=False)
        batch_op.create_index(batch_op.f("ix_case_grid_level"), ["level"], unique=False)
        batch_op.create_index(batch_op.f("ix_case_grid_parent_code"), ["parent_code"], unique=False)
        batch_op.create_index(batch_op.f("ix_case_grid_street_code"), ["street_code"], unique=False)
        batch_op.create_index(batch_op.f("ix_case_grid_worker_user_id"), ["worker_user_id"], unique=False)

    op.create_table(
        "city_case",
        sa.Column("request_id", sa.String(length=24), nullable=False),
        sa.Column("kind", sa.String(length=4), nullable=False),
        sa.Column("code", sa.String(length=5), nullable=True),
        sa.Column("edition", sa.String(length=32), nullable=False),
        sa.Column("code_name", sa.String(length=128), nullable=True),
        sa.Column("classify_confidence", sa.Float(), nullable=True),
        sa.Column("needs_human", sa.Boolean(), nullable=False),
        sa.Column("component_id", sa.String(length=17), nullable=True),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("lon", sa.Float(), nullable=True),
        sa.Column("lat", sa.Float(), nullable=True),
        sa.Column("address", sa.String(length=256), nullable=True),
        sa.Column("geocoded_from", sa.String(length=128), nullable=True),
        sa.Column("grid_id", sa.String(length=15), nullable=True),
        sa.Column("community_code", sa.String(length=12), nullable=True),
        sa.Column("street_code", sa.String(length=9), nullable=True),
        sa.Column("district_code", sa.String(length=6), nullable=True),
        sa.Column("area_class", sa.String(length=1), nullable=False),
        sa.Column("urgency", sa.String(length=8), nullable=False),
        sa.Column("source", sa.String(length=8), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("level", sa.String(length=16), nullable=False),
        sa.Column("assignee_division", sa.String(length=15), nullable=True),
        sa.Column("assignee_dept_id", sa.String(length=32), nullable=True),
        sa.Column("assignee_user_id", sa.String(length=32), nullable=True),
        sa.Column("returned_by", sa.JSON(), nullable=False),
        sa.Column("reported_at", citybrain.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("accepted_at", citybrain.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("registered_at", citybrain.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("rejected_at", citybrain.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("dispatched_at", citybrain.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("dispose_started_at", citybrain.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("signed_at", citybrain.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("hung_at", citybrain.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("disposed_at", citybrain.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("feedback_at", citybrain.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("verified_at", citybrain.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("revisited_at", citybrain.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("closed_at", citybrain.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("evaluated_at", citybrain.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("accept_due_at", citybrain.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("dispatch_due_at", citybrain.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("dispose_due_at", citybrain.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("verify_due_at", citybrain.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("stage", sa.String(length=16), nullable=True),
        sa.Column("due_at", citybrain.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("timer_state", sa.String(length=16), nullable=True),
        sa.Column("overdue", sa.Boolean(), nullable=False),
        sa.Column("registered_on_time", sa.Boolean(), nullable=True),
        sa.Column("dispatched_on_time", sa.Boolean(), nullable=True),
        sa.Column("disposed_on_time", sa.Boolean(), nullable=True),
        sa.Column("closed_on_time", sa.Boolean(), nullable=True),
        sa.Column("extension_pending_days", sa.Float(), nullable=True),
        sa.Column("supervision_level", sa.Integer(), nullable=False),
        sa.Column("supervised_at", citybrain.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("supervision_mark", sa.String(length=32), nullable=True),
        sa.Column("supervise_division", sa.String(length=15), nullable=True),
        sa.Column("dispatch_count", sa.Integer(), nullable=False),
        sa.Column("dispatch_accurate", sa.Boolean(), nullable=True),
        sa.Column("return_count", sa.Integer(), nullable=False),
        sa.Column("rework_count", sa.Integer(), nullable=False),
        sa.Column("redo_count", sa.Integer(), nullable=False),
        sa.Column("extension_count", sa.Integer(), nullable=False),
        sa.Column("reclassify_count", sa.Integer(), nullable=False),
        sa.Column("report_count", sa.Integer(), nullable=False),
        sa.Column("reject_reason", sa.String(length=500), nullable=True),
        sa.Column("disposal_note", sa.Text(), nullable=True),
        sa.Column("satisfaction", sa.String(length=8), nullable=True),
        sa.Column("evaluation", sa.String(length=8), nullable=True),
        sa.Column("evaluation_score", sa.Integer(), nullable=True),
        sa.Column("updated_at", citybrain.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(
            ["assignee_dept_id"], ["department.id"], name=op.f("fk_city_case_assignee_dept_id_department")
        ),
        sa.ForeignKeyConstraint(
            ["assignee_user_id"], ["user_account.id"], name=op.f("fk_city_case_assignee_user_id_user_account")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_city_case")),
        sa.UniqueConstraint("request_id", name=op.f("uq_city_case_request_id")),
    )
    with op.batch_alter_table("city_case", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_city_case_assignee_dept_id"), ["assignee_dept_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_city_case_assignee_user_id"), ["assignee_user_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_city_case_closed_at"), ["closed_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_city_case_code"), ["code"], unique=False)
        batch_op.create_index(batch_op.f("ix_city_case_community_code"), ["community_code"], unique=False)
        batch_op.create_index(batch_op.f("ix_city_case_component_id"), ["component_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_city_case_district_code"), ["district_code"], unique=False)
        batch_op.create_index(batch_op.f("ix_city_case_due_at"), ["due_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_city_case_grid_id"), ["grid_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_city_case_reported_at"), ["reported_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_city_case_source"), ["source"], unique=False)
        batch_op.create_index(batch_op.f("ix_city_case_state"), ["state"], unique=False)
        batch_op.create_index(batch_op.f("ix_city_case_street_code"), ["street_code"], unique=False)

    op.create_table(
        "city_case_event",
        sa.Column("case_id", sa.String(length=32), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(length=24), nullable=False),
        sa.Column("from_state", sa.String(length=16), nullable=True),
        sa.Column("to_state", sa.String(length=16), nullable=True),
        sa.Column("actor_user_id", sa.String(length=32), nullable=True),
        sa.Column("actor_name", sa.String(length=64), nullable=True),
        sa.Column("actor_dept_id", sa.String(length=32), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("details", sa.JSON(), nullable=True),
        sa.Column("at", citybrain.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["city_case.id"], name=op.f("fk_city_case_event_case_id_city_case")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_city_case_event")),
        sa.UniqueConstraint("case_id", "seq", name=op.f("uq_city_case_event_case_id")),
    )
    with op.batch_alter_table("city_case_event", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_city_case_event_case_id"), ["case_id"], unique=False)

    op.create_table(
        "city_case_notification",
        sa.Column("case_id", sa.String(length=32), nullable=True),
        sa.Column("user_id", sa.String(length=32), nullable=True),
        sa.Column("dept_id", sa.String(length=32), nullable=True),
        sa.Column("division_code", sa.String(length=15), nullable=True),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("message", sa.String(length=500), nullable=False),
        sa.Column("created_at", citybrain.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("read_at", citybrain.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"], ["city_case.id"], name=op.f("fk_city_case_notification_case_id_city_case")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_city_case_notification")),
    )
    with op.batch_alter_table("city_case_notification", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_city_case_notification_case_id"), ["case_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_city_case_notification_dept_id"), ["dept_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_city_case_notification_division_code"), ["division_code"], unique=False)
        batch_op.create_index(batch_op.f("ix_city_case_notification_user_id"), ["user_id"], unique=False)

    op.create_table(
        "city_case_report",
        sa.Column("case_id", sa.String(length=32), nullable=False),
        sa.Column("channel", sa.String(length=8), nullable=False),
        sa.Column("external_id", sa.String(length=64), nullable=True),
        sa.Column("token", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=4), nullable=True),
        sa.Column("code", sa.String(length=5), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("lon", sa.Float(), nullable=True),
        sa.Column("lat", sa.Float(), nullable=True),
        sa.Column("address", sa.String(length=256), nullable=True),
        sa.Column("reporter_name", sa.String(length=64), nullable=True),
        sa.Column("reporter_phone", sa.String(length=32), nullable=True),
        sa.Column("reporter_email", sa.String(length=200), nullable=True),
        sa.Column("reporter_user_id", sa.String(length=32), nullable=True),
        sa.Column("payload", sa.JSON(), nullable=True),
        sa.Column("merged", sa.Boolean(), nullable=False),
        sa.Column("received_at", citybrain.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["city_case.id"], name=op.f("fk_city_case_report_case_id_city_case")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_city_case_report")),
        sa.UniqueConstraint("channel", "external_id", name=op.f("uq_city_case_report_channel")),
        sa.UniqueConstraint("token", name=op.f("uq_city_case_report_token")),
    )
    with op.batch_alter_table("city_case_report", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_city_case_report_case_id"), ["case_id"], unique=False)

    op.create_table(
        "city_case_attachment",
        sa.Column("case_id", sa.String(length=32), nullable=False),
        sa.Column("report_id", sa.String(length=32), nullable=True),
        sa.Column("event_id", sa.String(length=32), nullable=True),
        sa.Column("filename", sa.String(length=200), nullable=False),
        sa.Column("content_type", sa.String(length=64), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("path", sa.String(length=300), nullable=False),
        sa.Column("uploaded_by", sa.String(length=64), nullable=True),
        sa.Column("at", citybrain.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["city_case.id"], name=op.f("fk_city_case_attachment_case_id_city_case")),
        sa.ForeignKeyConstraint(
            ["report_id"], ["city_case_report.id"], name=op.f("fk_city_case_attachment_report_id_city_case_report")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_city_case_attachment")),
    )
    with op.batch_alter_table("city_case_attachment", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_city_case_attachment_case_id"), ["case_id"], unique=False)


def downgrade() -> None:

    with op.batch_alter_table("city_case_attachment", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_city_case_attachment_case_id"))

    op.drop_table("city_case_attachment")
    with op.batch_alter_table("city_case_report", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_city_case_report_case_id"))

    op.drop_table("city_case_report")
    with op.batch_alter_table("city_case_notification", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_city_case_notification_user_id"))
        batch_op.drop_index(batch_op.f("ix_city_case_notification_division_code"))
        batch_op.drop_index(batch_op.f("ix_city_case_notification_dept_id"))
        batch_op.drop_index(batch_op.f("ix_city_case_notification_case_id"))

    op.drop_table("city_case_notification")
    with op.batch_alter_table("city_case_event", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_city_case_event_case_id"))

    op.drop_table("city_case_event")
    with op.batch_alter_table("city_case", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_city_case_street_code"))
        batch_op.drop_index(batch_op.f("ix_city_case_state"))
        batch_op.drop_index(batch_op.f("ix_city_case_source"))
        batch_op.drop_index(batch_op.f("ix_city_case_reported_at"))
        batch_op.drop_index(batch_op.f("ix_city_case_grid_id"))
        batch_op.drop_index(batch_op.f("ix_city_case_due_at"))
        batch_op.drop_index(batch_op.f("ix_city_case_district_code"))
        batch_op.drop_index(batch_op.f("ix_city_case_component_id"))
        batch_op.drop_index(batch_op.f("ix_city_case_community_code"))
        batch_op.drop_index(batch_op.f("ix_city_case_code"))
        batch_op.drop_index(batch_op.f("ix_city_case_closed_at"))
        batch_op.drop_index(batch_op.f("ix_city_case_assignee_user_id"))
        batch_op.drop_index(batch_op.f("ix_city_case_assignee_dept_id"))

    op.drop_table("city_case")
    with op.batch_alter_table("case_grid", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_case_grid_worker_user_id"))
        batch_op.drop_index(batch_op.f("ix_case_grid_street_code"))
        batch_op.drop_index(batch_op.f("ix_case_grid_parent_code"))
        batch_op.drop_index(batch_op.f("ix_case_grid_level"))
        batch_op.drop_index(batch_op.f("ix_case_grid_district_code"))

    op.drop_table("case_grid")
    with op.batch_alter_table("case_routing_rule", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_case_routing_rule_dept_id"))

    op.drop_table("case_routing_rule")
    with op.batch_alter_table("case_component", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_case_component_owner_dept_id"))
        batch_op.drop_index(batch_op.f("ix_case_component_grid_id"))
        batch_op.drop_index(batch_op.f("ix_case_component_code"))

    op.drop_table("case_component")
    with op.batch_alter_table("city_case_outbox", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_city_case_outbox_status"))

    op.drop_table("city_case_outbox")
