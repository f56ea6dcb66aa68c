"""transfers: idempotency records, transfers, their status timeline, wallet operations.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "idempotency_keys",
        sa.Column("scope", sa.String(64), nullable=False),
        sa.Column("key", sa.String(255), nullable=False),
        sa.Column("request_hash", sa.String(64), nullable=False),
        sa.Column("status_code", sa.Integer, nullable=False),
        sa.Column("body", sa.JSON, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("scope", "key", name="pk_idempotency_keys"),
    )
    tz = sa.DateTime(timezone=True)
    op.create_table(
        "transfers",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("customer_id", sa.Integer, nullable=False),
        sa.Column("recipient_id", sa.Integer, nullable=False),
        sa.Column("recipient_customer_id", sa.Integer, nullable=True),
        sa.Column("quote_id", sa.String(36), nullable=False),
        sa.Column("send_country", sa.String(2), nullable=False),
        sa.Column("receive_country", sa.String(2), nullable=False),
        sa.Column("send_currency", sa.String(3), nullable=False),
        sa.Column("receive_currency", sa.String(3), nullable=False),
        sa.Column("payout_method", sa.String(16), nullable=False),
        sa.Column("send_minor", sa.BigInteger, nullable=False),
        sa.Column("fee_minor", sa.BigInteger, nullable=False),
        sa.Column("total_minor", sa.BigInteger, nullable=False),
        sa.Column("receive_minor", sa.BigInteger, nullable=False),
        sa.Column("fx_margin_minor", sa.BigInteger, nullable=False),
        sa.Column("mid_rate", sa.String(40), nullable=False),
        sa.Column("rate", sa.String(40), nullable=False),
        sa.Column("total_cost_pct", sa.String(20), nullable=False),
        sa.Column("purpose", sa.String(40), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("hold_entry_id", sa.String(36), nullable=True),
        sa.Column("partner_id", sa.String(64), nullable=True),
        sa.Column("payout_id", sa.String(64), nullable=True),
        sa.Column("recipient_sealed", sa.LargeBinary, nullable=False),
        sa.Column("failure_code", sa.String(64), nullable=True),
        sa.Column("created_at", tz, nullable=False),
        sa.Column("updated_at", tz, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_transfers"),
        sa.UniqueConstraint("quote_id", name="uq_transfers_quote_id"),
    )
    op.create_index("ix_transfers_customer_created", "transfers", ["customer_id", "created_at", "id"])
    op.create_index("ix_transfers_recipient_customer", "transfers", ["recipient_customer_id"])
    op.create_table(
        "transfer_events",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("transfer_id", sa.String(36), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("code", sa.String(64), nullable=True),
        sa.Column("occurred_at", tz, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_transfer_events"),
    )
    op.create_index("ix_transfer_events_transfer", "transfer_events", ["transfer_id", "id"])
    op.create_table(
        "wallet_operations",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("customer_id", sa.Integer, nullable=False),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("amount_minor", sa.BigInteger, nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("partner_id", sa.String(64), nullable=False),
        sa.Column("payout_id", sa.String(64), nullable=True),
        sa.Column("hold_entry_id", sa.String(36), nullable=True),
        sa.Column("reference", sa.String(40), nullable=False),
        sa.Column("created_at", tz, nullable=False),
        sa.Column("updated_at", tz, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_wallet_operations"),
        sa.UniqueConstraint("reference", name="uq_wallet_operations_reference"),
    )
    op.create_index("ix_wallet_operations_customer", "wallet_operations", ["customer_id", "created_at"])


def downgrade() -> None:
    for table in ("wallet_operations", "transfer_events", "transfers", "idempotency_keys"):
        op.drop_table(table)
