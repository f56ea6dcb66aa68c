"""compliance: KYC submissions and documents, monitoring rules and events, alerts, cases, four-eyes releases.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Ts = sa.DateTime(timezone=True)
Ref = sa.String(64)

APPEND_ONLY = ("compliance_case_actions", "monitoring_rule_versions")


def upgrade() -> None:
    op.create_table(
        "kyc_submissions",
        sa.Column("id", Id, autoincrement=True, nullable=False),
        sa.Column("customer_ref", Ref, nullable=False),
        sa.Column("target_tier", sa.SmallInteger(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("pending_customer_ref", Ref, nullable=True),
        sa.Column("details_sealed", sa.LargeBinary(), nullable=True),
        sa.Column("submitted_at", Ts, nullable=False),
        sa.Column("reviewed_at", Ts, nullable=True),
        sa.Column("reviewed_by", Ref, nullable=True),
        sa.Column("rejection_reason", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_kyc_submissions"),
        sa.UniqueConstraint("pending_customer_ref", name="uq_kyc_submissions_pending_customer_ref"),
        sa.CheckConstraint(
            "status IN ('submitted', 'approved', 'rejected')", name="ck_kyc_submissions_status"
        ),
        sa.CheckConstraint("target_tier IN (1, 2)", name="ck_kyc_submissions_target_tier"),
    )
    op.create_index("ix_kyc_submissions_status_id", "kyc_submissions", ["status", "id"])
    op.create_index("ix_kyc_submissions_customer_ref_id", "kyc_submissions", ["customer_ref", "id"])

    op.create_table(
        "kyc_documents",
        sa.Column("id", Id, autoincrement=True, nullable=False),
        sa.Column("submission_id", Id, nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("issuing_country", sa.String(2), nullable=True),
        sa.Column("number_sealed", sa.LargeBinary(), nullable=True),
        sa.Column("number_index", sa.String(64), nullable=True),
        sa.Column("image_sealed", sa.LargeBinary(), nullable=False),
        sa.Column("content_type", sa.String(64), nullable=False),
        sa.Column("size_bytes", sa.Integer(), nullable=False),
        sa.Column("created_at", Ts, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_kyc_documents"),
        sa.ForeignKeyConstraint(
            ["submission_id"], ["kyc_submissions.id"], name="fk_kyc_documents_submission_id_kyc_submissions"
        ),
    )
    op.create_index("ix_kyc_documents_submission_id", "kyc_documents", ["submission_id"])
    op.create_index("ix_kyc_documents_number_index", "kyc_documents", ["number_index"])

    op.create_table(
        "monitoring_rule_versions",
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("action", sa.String(8), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("changed_by", Ref, nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("changed_at", Ts, nullable=False),
        sa.PrimaryKeyConstraint("name", "version", name="pk_monitoring_rule_versions"),
        sa.CheckConstraint("action IN ('review', 'block')", name="ck_monitoring_rule_versions_action"),
    )

    op.create_table(
        "monitoring_events",
        sa.Column("id", Id, autoincrement=True, nullable=False),
        sa.Column("transfer_ref", Ref, nullable=False),
        sa.Column("customer_ref", Ref, nullable=False),
        sa.Column("recipient_ref", Ref, nullable=False),
        sa.Column("base_amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("base_currency", sa.String(3), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("country", sa.String(2), nullable=False),
        sa.Column("created_at", Ts, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_monitoring_events"),
        sa.UniqueConstraint("transfer_ref", name="uq_monitoring_events_transfer_ref"),
    )
    op.create_index(
        "ix_monitoring_events_customer_ref_created_at", "monitoring_events", ["customer_ref", "created_at"]
    )
    op.create_index(
        "ix_monitoring_events_recipient_ref_created_at", "monitoring_events", ["recipient_ref", "created_at"]
    )

    op.create_table(
        "compliance_cases",
        sa.Column("id", Id, autoincrement=True, nullable=False),
        sa.Column("customer_ref", Ref, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("open_customer_ref", Ref, nullable=True),
        sa.Column("resolution", sa.String(16), nullable=True),
        sa.Column("reported_at", Ts, nullable=True),
        sa.Column("opened_at", Ts, nullable=False),
        sa.Column("updated_at", Ts, nullable=False),
        sa.Column("closed_at", Ts, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_compliance_cases"),
        sa.UniqueConstraint("open_customer_ref", name="uq_compliance_cases_open_customer_ref"),
        sa.CheckConstraint(
            "status IN ('open', 'on_hold', 'escalated', 'closed')", name="ck_compliance_cases_status"
        ),
    )
    op.create_index("ix_compliance_cases_status_id", "compliance_cases", ["status", "id"])
    op.create_index("ix_compliance_cases_customer_ref_id", "compliance_cases", ["customer_ref", "id"])

    op.create_table(
        "compliance_alerts",
        sa.Column("id", Id, autoincrement=True, nullable=False),
        sa.Column("case_id", Id, nullable=False),
        sa.Column("customer_ref", Ref, nullable=False),
        sa.Column("transfer_ref", Ref, nullable=True),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("outcome", sa.String(8), nullable=False),
        sa.Column("reasons", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(8), nullable=False),
        sa.Column("created_at", Ts, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_compliance_alerts"),
        sa.ForeignKeyConstraint(
            ["case_id"], ["compliance_cases.id"], name="fk_compliance_alerts_case_id_compliance_cases"
        ),
        sa.CheckConstraint("source IN ('monitoring', 'screening')", name="ck_compliance_alerts_source"),
        sa.CheckConstraint("outcome IN ('review', 'block')", name="ck_compliance_alerts_outcome"),
        sa.CheckConstraint("status IN ('open', 'closed')", name="ck_compliance_alerts_status"),
    )
    op.create_index("ix_compliance_alerts_case_id", "compliance_alerts", ["case_id"])
    op.create_index("ix_compliance_alerts_transfer_ref", "compliance_alerts", ["transfer_ref"])
    op.create_index("ix_compliance_alerts_status_id", "compliance_alerts", ["status", "id"])

    op.create_table(
        "compliance_transfers",
        sa.Column("transfer_ref", Ref, nullable=False),
        sa.Column("case_id", Id, nullable=False),
        sa.Column("customer_ref", Ref, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("updated_at", Ts, nullable=False),
        sa.PrimaryKeyConstraint("transfer_ref", name="pk_compliance_transfers"),
        sa.ForeignKeyConstraint(
            ["case_id"], ["compliance_cases.id"], name="fk_compliance_transfers_case_id_compliance_cases"
        ),
        sa.CheckConstraint(
            "state IN ('in_review', 'held', 'blocked', 'released')", name="ck_compliance_transfers_state"
        ),
    )
    op.create_index("ix_compliance_transfers_case_id", "compliance_transfers", ["case_id"])

    op.create_table(
        "compliance_release_requests",
        sa.Column("id", Id, autoincrement=True, nullable=False),
        sa.Column("transfer_ref", Ref, nullable=False),
        sa.Column("case_id", Id, nullable=False),
        sa.Column("pending_transfer_ref", Ref, nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("requested_by", Ref, nullable=False),
        sa.Column("request_reason", sa.Text(), nullable=False),
        sa.Column("requested_at", Ts, nullable=False),
        sa.Column("decided_by", Ref, nullable=True),
        sa.Column("decision_reason", sa.Text(), nullable=True),
        sa.Column("decided_at", Ts, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_compliance_release_requests"),
        sa.UniqueConstraint(
            "pending_transfer_ref", name="uq_compliance_release_requests_pending_transfer_ref"
        ),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["compliance_cases.id"],
            name="fk_compliance_release_requests_case_id_compliance_cases",
        ),
        sa.CheckConstraint(
            "status IN ('pending', 'approved', 'rejected')", name="ck_compliance_release_requests_status"
        ),
    )
    op.create_index(
        "ix_compliance_release_requests_transfer_ref", "compliance_release_requests", ["transfer_ref"]
    )
    op.create_index(
        "ix_compliance_release_requests_status_id", "compliance_release_requests", ["status", "id"]
    )

    op.create_table(
        "compliance_case_actions",
        sa.Column("id", Id, autoincrement=True, nullable=False),
        sa.Column("case_id", Id, nullable=False),
        sa.Column("transfer_ref", Ref, nullable=True),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("actor", Ref, nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("created_at", Ts, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_compliance_case_actions"),
        sa.ForeignKeyConstraint(
            ["case_id"], ["compliance_cases.id"], name="fk_compliance_case_actions_case_id_compliance_cases"
        ),
    )
    op.create_index("ix_compliance_case_actions_case_id", "compliance_case_actions", ["case_id"])

    _append_only_triggers()


def _append_only_triggers() -> None:
    """The database itself refuses UPDATE and DELETE on the decision history and rule versions."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            """
            CREATE FUNCTION compliance_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                RAISE EXCEPTION '% is append-only', TG_TABLE_NAME USING ERRCODE = 'restrict_violation';
            END $$
            """
        )
        for table in APPEND_ONLY:
            op.execute(
                f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION compliance_refuse_change()"
            )
    else:
        for table in APPEND_ONLY:
            for verb in ("update", "delete"):
                op.execute(
                    f"CREATE TRIGGER {table}_no_{verb} BEFORE {verb.upper()} ON {table} "
                    f"BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END"
                )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in APPEND_ONLY:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
        op.execute("DROP FUNCTION IF EXISTS compliance_refuse_change()")
    for table in (
        "compliance_case_actions",
        "compliance_release_requests",
        "compliance_transfers",
        "compliance_alerts",
        "compliance_cases",
        "monitoring_events",
        "monitoring_rule_versions",
        "kyc_documents",
        "kyc_submissions",
    ):
        op.drop_table(table)
