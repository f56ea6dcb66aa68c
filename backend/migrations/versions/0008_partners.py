"""partners: partner banks, API keys, request nonces, payouts, the outbox, settlement and reconciliation.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "partners",
        sa.Column("id", sa.String(40), nullable=False),
        sa.Column("code", sa.String(40), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("payout_mode", sa.String(8), nullable=False),
        sa.Column("payout_url", sa.String(500)),
        sa.Column("webhook_url", sa.String(500)),
        sa.Column("webhook_secret_sealed", sa.LargeBinary, nullable=False),
        sa.Column("previous_webhook_secret_sealed", sa.LargeBinary),
        sa.Column("previous_webhook_secret_until", TZ),
        sa.Column("settlement_period_hours", sa.Integer, nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_partners"),
        sa.UniqueConstraint("code", name="uq_partners_code"),
        sa.CheckConstraint("status IN ('active', 'suspended')", name="ck_partners_status"),
        sa.CheckConstraint("payout_mode IN ('pull', 'push')", name="ck_partners_payout_mode"),
        sa.CheckConstraint("settlement_period_hours > 0", name="ck_partners_settlement_period_hours"),
    )
    op.create_table(
        "partner_api_keys",
        sa.Column("id", sa.String(40), nullable=False),
        sa.Column("partner_id", sa.String(40), nullable=False),
        sa.Column("secret_hash", sa.String(64), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("expires_at", TZ),
        sa.Column("revoked_at", TZ),
        sa.PrimaryKeyConstraint("id", name="pk_partner_api_keys"),
        sa.ForeignKeyConstraint(
            ["partner_id"], ["partners.id"], name="fk_partner_api_keys_partner_id_partners"
        ),
    )
    op.create_index("ix_partner_api_keys_partner_id", "partner_api_keys", ["partner_id"])
    op.create_table(
        "partner_request_nonces",
        sa.Column("key_id", sa.String(40), nullable=False),
        sa.Column("signature", sa.String(64), nullable=False),
        sa.Column("expires_at", TZ, nullable=False),
        sa.PrimaryKeyConstraint("key_id", "signature", name="pk_partner_request_nonces"),
    )
    op.create_index("ix_partner_request_nonces_expires_at", "partner_request_nonces", ["expires_at"])
    op.create_table(
        "partner_payouts",
        sa.Column("id", sa.String(40), nullable=False),
        sa.Column("kind", sa.String(10), nullable=False),
        sa.Column("partner_id", sa.String(40), nullable=False),
        sa.Column("reference", sa.String(35), nullable=False),
        sa.Column("amount_minor", sa.BigInteger, nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("beneficiary_sealed", sa.LargeBinary, nullable=False),
        sa.Column("delivery", sa.String(8), nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("lease_owner", sa.String(40)),
        sa.Column("lease_until", TZ),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("partner_reference", sa.String(64)),
        sa.Column("failure_reason", sa.String(500)),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("updated_at", TZ, nullable=False),
        sa.Column("completed_at", TZ),
        sa.PrimaryKeyConstraint("id", name="pk_partner_payouts"),
        sa.UniqueConstraint(
            "partner_id", "kind", "reference", name="uq_partner_payouts_partner_id_kind_reference"
        ),
        sa.CheckConstraint("kind IN ('payout', 'topup', 'cashout')", name="ck_partner_payouts_kind"),
        sa.CheckConstraint("delivery IN ('pull', 'push')", name="ck_partner_payouts_delivery"),
        sa.CheckConstraint(
            "status IN ('pending', 'claimed', 'sent', 'confirmed', 'failed')",
            name="ck_partner_payouts_status",
        ),
        sa.CheckConstraint("amount_minor > 0", name="ck_partner_payouts_amount_minor"),
        sa.ForeignKeyConstraint(
            ["partner_id"], ["partners.id"], name="fk_partner_payouts_partner_id_partners"
        ),
    )
    op.create_index("ix_partner_payouts_queue", "partner_payouts", ["partner_id", "status", "created_at"])
    op.create_table(
        "outbox_events",
        sa.Column("id", sa.String(40), nullable=False),
        sa.Column("aggregate_type", sa.String(40), nullable=False),
        sa.Column("aggregate_id", sa.String(64), nullable=False),
        sa.Column("sequence", sa.Integer, nullable=False),
        sa.Column("topic", sa.String(80), nullable=False),
        sa.Column("destination", sa.String(200), nullable=False),
        sa.Column("payload", sa.JSON, nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("next_attempt_at", TZ, nullable=False),
        sa.Column("locked_by", sa.String(64)),
        sa.Column("locked_until", TZ),
        sa.Column("last_error", sa.String(1000)),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("delivered_at", TZ),
        sa.Column("dead_at", TZ),
        sa.PrimaryKeyConstraint("id", name="pk_outbox_events"),
        sa.UniqueConstraint(
            "aggregate_type",
            "aggregate_id",
            "sequence",
            name="uq_outbox_events_aggregate_type_aggregate_id_sequence",
        ),
        sa.CheckConstraint("status IN ('pending', 'delivered', 'dead')", name="ck_outbox_events_status"),
        sa.CheckConstraint("attempts >= 0", name="ck_outbox_events_attempts"),
    )
    op.create_index("ix_outbox_events_due", "outbox_events", ["status", "next_attempt_at"])
    op.create_index(
        "ix_outbox_events_stream",
        "outbox_events",
        ["aggregate_type", "aggregate_id", "destination", "sequence"],
    )
    op.create_table(
        "settlement_windows",
        sa.Column("id", sa.String(40), nullable=False),
        sa.Column("partner_id", sa.String(40), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("sequence", sa.Integer, nullable=False),
        sa.Column("status", sa.String(8), nullable=False),
        sa.Column("opened_at", TZ, nullable=False),
        sa.Column("closed_at", TZ),
        sa.Column("settled_at", TZ),
        sa.Column("opening_minor", sa.BigInteger, nullable=False),
        sa.Column("credits_minor", sa.BigInteger),
        sa.Column("debits_minor", sa.BigInteger),
        sa.Column("closing_minor", sa.BigInteger),
        sa.Column("line_count", sa.Integer),
        sa.Column("closed_by", sa.String(80)),
        sa.Column("settled_by", sa.String(80)),
        sa.Column("settlement_reference", sa.String(64)),
        sa.PrimaryKeyConstraint("id", name="pk_settlement_windows"),
        sa.UniqueConstraint(
            "partner_id", "currency", "sequence", name="uq_settlement_windows_partner_id_currency_sequence"
        ),
        sa.CheckConstraint("status IN ('OPEN', 'CLOSED', 'SETTLED')", name="ck_settlement_windows_status"),
        sa.CheckConstraint(
            "status = 'OPEN' OR (closed_at IS NOT NULL AND closing_minor = opening_minor + credits_minor - debits_minor)",
            name="ck_settlement_windows_closing_balance",
        ),
    )
    op.create_index(
        "uq_settlement_windows_one_open",
        "settlement_windows",
        ["partner_id", "currency"],
        unique=True,
        sqlite_where=sa.text("status = 'OPEN'"),
        postgresql_where=sa.text("status = 'OPEN'"),
    )
    op.create_table(
        "settlement_statement_lines",
        sa.Column("window_id", sa.String(40), nullable=False),
        sa.Column("line_no", sa.Integer, nullable=False),
        sa.Column("reference", sa.String(35), nullable=False),
        sa.Column("direction", sa.String(4), nullable=False),
        sa.Column("amount_minor", sa.BigInteger, nullable=False),
        sa.Column("booked_on", sa.Date, nullable=False),
        sa.Column("description", sa.String(140), nullable=False),
        sa.Column("entry_id", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("window_id", "line_no", name="pk_settlement_statement_lines"),
        sa.CheckConstraint("direction IN ('CRDT', 'DBIT')", name="ck_settlement_statement_lines_direction"),
        sa.CheckConstraint("amount_minor > 0", name="ck_settlement_statement_lines_amount_minor"),
        sa.ForeignKeyConstraint(
            ["window_id"],
            ["settlement_windows.id"],
            name="fk_settlement_statement_lines_window_id_settlement_windows",
        ),
    )
    op.create_table(
        "reconciliation_runs",
        sa.Column("id", sa.String(40), nullable=False),
        sa.Column("partner_id", sa.String(40), nullable=False),
        sa.Column("window_id", sa.String(40), nullable=False),
        sa.Column("statement_id", sa.String(35), nullable=False),
        sa.Column("format", sa.String(8), nullable=False),
        sa.Column("content_sha256", sa.String(64), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("summary", sa.JSON, nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_reconciliation_runs"),
        sa.UniqueConstraint(
            "window_id", "content_sha256", name="uq_reconciliation_runs_window_id_content_sha256"
        ),
        sa.CheckConstraint("format IN ('csv', 'camt053')", name="ck_reconciliation_runs_format"),
        sa.ForeignKeyConstraint(
            ["window_id"],
            ["settlement_windows.id"],
            name="fk_reconciliation_runs_window_id_settlement_windows",
        ),
    )
    op.create_index("ix_reconciliation_runs_partner", "reconciliation_runs", ["partner_id", "created_at"])
    op.create_table(
        "reconciliation_items",
        sa.Column("run_id", sa.String(40), nullable=False),
        sa.Column("item_no", sa.Integer, nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("reference", sa.String(35), nullable=False),
        sa.Column("our_amount_minor", sa.BigInteger),
        sa.Column("our_currency", sa.String(3)),
        sa.Column("our_direction", sa.String(4)),
        sa.Column("our_booked_on", sa.Date),
        sa.Column("our_entry_id", sa.String(64)),
        sa.Column("their_amount_minor", sa.BigInteger),
        sa.Column("their_currency", sa.String(3)),
        sa.Column("their_direction", sa.String(4)),
        sa.Column("their_booked_on", sa.Date),
        sa.Column("their_entry_id", sa.String(64)),
        sa.PrimaryKeyConstraint("run_id", "item_no", name="pk_reconciliation_items"),
        sa.ForeignKeyConstraint(
            ["run_id"], ["reconciliation_runs.id"], name="fk_reconciliation_items_run_id_reconciliation_runs"
        ),
    )
    op.create_table(
        "reconciliation_exceptions",
        sa.Column("id", sa.String(40), nullable=False),
        sa.Column("run_id", sa.String(40), nullable=False),
        sa.Column("item_no", sa.Integer, nullable=False),
        sa.Column("partner_id", sa.String(40), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("reference", sa.String(35), nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("opened_at", TZ, nullable=False),
        sa.Column("resolved_at", TZ),
        sa.Column("resolved_by", sa.String(80)),
        sa.Column("resolution_note", sa.String(500)),
        sa.PrimaryKeyConstraint("id", name="pk_reconciliation_exceptions"),
        sa.UniqueConstraint("run_id", "item_no", name="uq_reconciliation_exceptions_run_id_item_no"),
        sa.CheckConstraint("status IN ('open', 'resolved')", name="ck_reconciliation_exceptions_status"),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["reconciliation_runs.id"],
            name="fk_reconciliation_exceptions_run_id_reconciliation_runs",
        ),
    )
    op.create_index(
        "ix_reconciliation_exceptions_status", "reconciliation_exceptions", ["status", "opened_at"]
    )


def downgrade() -> None:
    for table in (
        "reconciliation_exceptions",
        "reconciliation_items",
        "reconciliation_runs",
        "settlement_statement_lines",
        "settlement_windows",
        "outbox_events",
        "partner_payouts",
        "partner_request_nonces",
        "partner_api_keys",
        "partners",
    ):
        op.drop_table(table)
