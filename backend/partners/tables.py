"""Tables of the partners capability: partner banks, their API keys, request nonces and payouts."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Table,
    UniqueConstraint,
)

from backend.schema import metadata

__all__ = ["partner_api_keys", "partner_payouts", "partner_request_nonces", "partners"]

partners = Table(
    "partners",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("code", String(40), nullable=False, unique=True),
    Column("name", String(200), nullable=False),
    Column("status", String(12), nullable=False),
    Column("payout_mode", String(8), nullable=False),
    Column("payout_url", String(500)),
    Column("webhook_url", String(500)),
    Column("webhook_secret_sealed", LargeBinary, nullable=False),
    Column("previous_webhook_secret_sealed", LargeBinary),
    Column("previous_webhook_secret_until", DateTime(timezone=True)),
    Column("settlement_period_hours", Integer, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    CheckConstraint("status IN ('active', 'suspended')", name="status"),
    CheckConstraint("payout_mode IN ('pull', 'push')", name="payout_mode"),
    CheckConstraint("settlement_period_hours > 0", name="settlement_period_hours"),
)

partner_api_keys = Table(
    "partner_api_keys",
    metadata,
    Column("id", String(40), primary_key=True),  # The public key id partners send in Korpu-Key.
    Column("partner_id", String(40), ForeignKey("partners.id"), nullable=False, index=True),
    Column("secret_hash", String(64), nullable=False),  # Keyed hash; the secret itself is never stored.
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True)),
    Column("revoked_at", DateTime(timezone=True)),
)

partner_request_nonces = Table(
    "partner_request_nonces",
    metadata,
    Column("key_id", String(40), primary_key=True),
    Column("signature", String(64), primary_key=True),
    Column("expires_at", DateTime(timezone=True), nullable=False, index=True),
)

partner_payouts = Table(
    "partner_payouts",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("kind", String(10), nullable=False),
    Column("partner_id", String(40), ForeignKey("partners.id"), nullable=False),
    Column("reference", String(35), nullable=False),  # Transfer or operation reference.
    Column("amount_minor", BigInteger, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("beneficiary_sealed", LargeBinary, nullable=False),
    Column("delivery", String(8), nullable=False),
    Column("status", String(10), nullable=False),
    Column("lease_owner", String(40)),
    Column("lease_until", DateTime(timezone=True)),
    Column("attempts", Integer, nullable=False),
    Column("partner_reference", String(64)),
    Column("failure_reason", String(500)),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("completed_at", DateTime(timezone=True)),
    UniqueConstraint("partner_id", "kind", "reference"),
    CheckConstraint("kind IN ('payout', 'topup', 'cashout')", name="kind"),
    CheckConstraint("delivery IN ('pull', 'push')", name="delivery"),
    CheckConstraint("status IN ('pending', 'claimed', 'sent', 'confirmed', 'failed')", name="status"),
    CheckConstraint("amount_minor > 0", name="amount_minor"),
    Index("ix_partner_payouts_queue", "partner_id", "status", "created_at"),
)
