"""identity: customers, devices, sign-in challenges, sessions, refresh tokens, recipients.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

_Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_Timestamp = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "customers",
        sa.Column("id", _Id, primary_key=True, autoincrement=True),
        sa.Column("phone_sealed", sa.LargeBinary(), nullable=False),
        sa.Column("phone_index", sa.String(64), nullable=False),
        sa.Column("given_name_sealed", sa.LargeBinary(), nullable=True),
        sa.Column("family_name_sealed", sa.LargeBinary(), nullable=True),
        sa.Column("birth_date_sealed", sa.LargeBinary(), nullable=True),
        sa.Column("language", sa.String(2), nullable=False),
        sa.Column("kyc_tier", sa.SmallInteger(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("pin_hash", sa.String(255), nullable=True),
        sa.Column("pin_failed_attempts", sa.SmallInteger(), nullable=False),
        sa.Column("pin_locked_until", _Timestamp, nullable=True),
        sa.Column("created_at", _Timestamp, nullable=False),
        sa.Column("updated_at", _Timestamp, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_customers"),
        sa.UniqueConstraint("phone_index", name="uq_customers_phone_index"),
        sa.CheckConstraint("status IN ('active', 'blocked', 'closed')", name="ck_customers_status"),
        sa.CheckConstraint("kyc_tier >= 0", name="ck_customers_kyc_tier"),
        sa.CheckConstraint("language IN ('en', 'az', 'ru', 'tr')", name="ck_customers_language"),
        sa.CheckConstraint("pin_failed_attempts >= 0", name="ck_customers_pin_failed_attempts"),
    )
    op.create_table(
        "customer_devices",
        sa.Column("id", _Id, primary_key=True, autoincrement=True),
        sa.Column("customer_id", _Id, nullable=False),
        sa.Column("device_id", sa.String(128), nullable=False),
        sa.Column("created_at", _Timestamp, nullable=False),
        sa.Column("last_seen_at", _Timestamp, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_customer_devices"),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name="fk_customer_devices_customer_id_customers"
        ),
        sa.UniqueConstraint("customer_id", "device_id", name="uq_customer_devices_customer_id_device_id"),
    )
    op.create_table(
        "otp_challenges",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("phone_index", sa.String(64), nullable=False),
        sa.Column("phone_sealed", sa.LargeBinary(), nullable=False),
        sa.Column("code_hash", sa.String(64), nullable=False),
        sa.Column("attempts", sa.SmallInteger(), nullable=False),
        sa.Column("created_at", _Timestamp, nullable=False),
        sa.Column("expires_at", _Timestamp, nullable=False),
        sa.Column("consumed_at", _Timestamp, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_otp_challenges"),
    )
    op.create_index(
        "ix_otp_challenges_phone_index_created_at", "otp_challenges", ["phone_index", "created_at"]
    )
    op.create_table(
        "auth_sessions",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("customer_id", _Id, nullable=False),
        sa.Column("device_pk", _Id, nullable=False),
        sa.Column("pin_verified", sa.Boolean(), nullable=False),
        sa.Column("created_at", _Timestamp, nullable=False),
        sa.Column("expires_at", _Timestamp, nullable=False),
        sa.Column("refreshed_at", _Timestamp, nullable=False),
        sa.Column("revoked_at", _Timestamp, nullable=True),
        sa.Column("revoked_reason", sa.String(32), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_auth_sessions"),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name="fk_auth_sessions_customer_id_customers"
        ),
        sa.ForeignKeyConstraint(
            ["device_pk"], ["customer_devices.id"], name="fk_auth_sessions_device_pk_customer_devices"
        ),
    )
    op.create_index("ix_auth_sessions_customer_id", "auth_sessions", ["customer_id"])
    op.create_table(
        "refresh_tokens",
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("session_id", sa.Uuid(), nullable=False),
        sa.Column("created_at", _Timestamp, nullable=False),
        sa.Column("expires_at", _Timestamp, nullable=False),
        sa.Column("used_at", _Timestamp, nullable=True),
        sa.PrimaryKeyConstraint("token_hash", name="pk_refresh_tokens"),
        sa.ForeignKeyConstraint(
            ["session_id"], ["auth_sessions.id"], name="fk_refresh_tokens_session_id_auth_sessions"
        ),
    )
    op.create_index("ix_refresh_tokens_session_id", "refresh_tokens", ["session_id"])
    op.create_table(
        "recipients",
        sa.Column("id", _Id, primary_key=True, autoincrement=True),
        sa.Column("customer_id", _Id, nullable=False),
        sa.Column("given_name_sealed", sa.LargeBinary(), nullable=False),
        sa.Column("family_name_sealed", sa.LargeBinary(), nullable=False),
        sa.Column("country", sa.String(2), nullable=False),
        sa.Column("payout_method", sa.String(16), nullable=False),
        sa.Column("iban_sealed", sa.LargeBinary(), nullable=True),
        sa.Column("card_number_sealed", sa.LargeBinary(), nullable=True),
        sa.Column("card_last4", sa.String(4), nullable=True),
        sa.Column("card_scheme", sa.String(16), nullable=True),
        sa.Column("wallet_phone_sealed", sa.LargeBinary(), nullable=True),
        sa.Column("wallet_phone_index", sa.String(64), nullable=True),
        sa.Column("created_at", _Timestamp, nullable=False),
        sa.Column("updated_at", _Timestamp, nullable=False),
        sa.Column("deleted_at", _Timestamp, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_recipients"),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name="fk_recipients_customer_id_customers"
        ),
        sa.CheckConstraint(
            "payout_method IN ('bank_account', 'card', 'wallet', 'cash_pickup')",
            name="ck_recipients_payout_method",
        ),
        sa.CheckConstraint(
            "(payout_method = 'bank_account') = (iban_sealed IS NOT NULL)"
            " AND (payout_method = 'card') = (card_number_sealed IS NOT NULL AND card_last4 IS NOT NULL)"
            " AND (payout_method = 'wallet') = (wallet_phone_sealed IS NOT NULL AND wallet_phone_index IS NOT NULL)",
            name="ck_recipients_payout_details",
        ),
    )
    op.create_index("ix_recipients_customer_id_id", "recipients", ["customer_id", "id"])
    op.create_index("ix_recipients_wallet_phone_index", "recipients", ["wallet_phone_index"])


def downgrade() -> None:
    op.drop_table("recipients")
    op.drop_table("refresh_tokens")
    op.drop_table("auth_sessions")
    op.drop_table("otp_challenges")
    op.drop_table("customer_devices")
    op.drop_table("customers")
