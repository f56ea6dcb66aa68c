"""Tables of the identity capability: customers, their devices, sign-in challenges, sessions and
refresh tokens, and the recipients they send money to.

Personal data never sits here in clear: phone numbers, names, dates of birth and payout details are
sealed (AES-GCM, see :mod:`compliance.privacy`), and the columns that look-ups need hold blind
indexes instead. Only a card's last four digits and its scheme are kept in clear, for display.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    SmallInteger,
    String,
    Table,
    UniqueConstraint,
    Uuid,
)

from backend.schema import metadata

__all__ = [
    "auth_sessions",
    "customer_devices",
    "customers",
    "otp_challenges",
    "recipients",
    "refresh_tokens",
]

# BIGINT on PostgreSQL; on SQLite only INTEGER PRIMARY KEY is an auto-incrementing rowid alias.
_Id = BigInteger().with_variant(Integer(), "sqlite")
_Timestamp = DateTime(timezone=True)

customers = Table(
    "customers",
    metadata,
    Column("id", _Id, primary_key=True, autoincrement=True),
    Column("phone_sealed", LargeBinary, nullable=False),
    Column("phone_index", String(64), nullable=False),
    Column("given_name_sealed", LargeBinary, nullable=True),
    Column("family_name_sealed", LargeBinary, nullable=True),
    Column("birth_date_sealed", LargeBinary, nullable=True),
    Column("language", String(2), nullable=False),
    Column("kyc_tier", SmallInteger, nullable=False),
    Column("status", String(16), nullable=False),
    Column("pin_hash", String(255), nullable=True),
    Column("pin_failed_attempts", SmallInteger, nullable=False),
    Column("pin_locked_until", _Timestamp, nullable=True),
    Column("created_at", _Timestamp, nullable=False),
    Column("updated_at", _Timestamp, nullable=False),
    UniqueConstraint("phone_index"),
    CheckConstraint("status IN ('active', 'blocked', 'closed')", name="status"),
    CheckConstraint("kyc_tier >= 0", name="kyc_tier"),
    CheckConstraint("language IN ('en', 'az', 'ru', 'tr')", name="language"),
    CheckConstraint("pin_failed_attempts >= 0", name="pin_failed_attempts"),
)

customer_devices = Table(
    "customer_devices",
    metadata,
    Column("id", _Id, primary_key=True, autoincrement=True),
    Column("customer_id", _Id, ForeignKey("customers.id"), nullable=False),
    Column("device_id", String(128), nullable=False),
    Column("created_at", _Timestamp, nullable=False),
    Column("last_seen_at", _Timestamp, nullable=False),
    UniqueConstraint("customer_id", "device_id"),
)

otp_challenges = Table(
    "otp_challenges",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("phone_index", String(64), nullable=False),
    Column("phone_sealed", LargeBinary, nullable=False),
    Column("code_hash", String(64), nullable=False),
    Column("attempts", SmallInteger, nullable=False),
    Column("created_at", _Timestamp, nullable=False),
    Column("expires_at", _Timestamp, nullable=False),
    Column("consumed_at", _Timestamp, nullable=True),
    Index("ix_otp_challenges_phone_index_created_at", "phone_index", "created_at"),
)

auth_sessions = Table(
    "auth_sessions",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("customer_id", _Id, ForeignKey("customers.id"), nullable=False),
    Column("device_pk", _Id, ForeignKey("customer_devices.id"), nullable=False),
    Column("pin_verified", Boolean, nullable=False),
    Column("created_at", _Timestamp, nullable=False),
    Column("expires_at", _Timestamp, nullable=False),
    Column("refreshed_at", _Timestamp, nullable=False),
    Column("revoked_at", _Timestamp, nullable=True),
    Column("revoked_reason", String(32), nullable=True),
    Index("ix_auth_sessions_customer_id", "customer_id"),
)
"""A refresh-token family: one sign-in on one device, from OTP verification to logout or revocation."""

refresh_tokens = Table(
    "refresh_tokens",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("session_id", Uuid, ForeignKey("auth_sessions.id"), nullable=False),
    Column("created_at", _Timestamp, nullable=False),
    Column("expires_at", _Timestamp, nullable=False),
    Column("used_at", _Timestamp, nullable=True),
    Index("ix_refresh_tokens_session_id", "session_id"),
)

recipients = Table(
    "recipients",
    metadata,
    Column("id", _Id, primary_key=True, autoincrement=True),
    Column("customer_id", _Id, ForeignKey("customers.id"), nullable=False),
    Column("given_name_sealed", LargeBinary, nullable=False),
    Column("family_name_sealed", LargeBinary, nullable=False),
    Column("country", String(2), nullable=False),
    Column("payout_method", String(16), nullable=False),
    Column("iban_sealed", LargeBinary, nullable=True),
    Column("card_number_sealed", LargeBinary, nullable=True),
    Column("card_last4", String(4), nullable=True),
    Column("card_scheme", String(16), nullable=True),
    Column("wallet_phone_sealed", LargeBinary, nullable=True),
    Column("wallet_phone_index", String(64), nullable=True),
    Column("created_at", _Timestamp, nullable=False),
    Column("updated_at", _Timestamp, nullable=False),
    Column("deleted_at", _Timestamp, nullable=True),
    CheckConstraint(
        "payout_method IN ('bank_account', 'card', 'wallet', 'cash_pickup')", name="payout_method"
    ),
    CheckConstraint(
        "(payout_method = 'bank_account') = (iban_sealed IS NOT NULL)"
        " AND (payout_method = 'card') = (card_number_sealed IS NOT NULL AND card_last4 IS NOT NULL)"
        " AND (payout_method = 'wallet')"
        " = (wallet_phone_sealed IS NOT NULL AND wallet_phone_index IS NOT NULL)",
        name="payout_details",
    ),
    Index("ix_recipients_customer_id_id", "customer_id", "id"),
    Index("ix_recipients_wallet_phone_index", "wallet_phone_index"),
)
