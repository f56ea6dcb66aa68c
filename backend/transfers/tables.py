"""Tables of transfers, their status timeline, and wallet operations (top-ups and cash-outs).

A transfer copies what it needs at creation (amounts, rates, the recipient's payout details,
sealed) so that a later edit of the quote or the recipient never changes a transfer already made.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Index,
    Integer,
    LargeBinary,
    String,
    Table,
)

from backend.schema import metadata

__all__ = ["transfer_events", "transfers", "wallet_operations"]

_ID = String(36)

transfers = Table(
    "transfers",
    metadata,
    Column("id", _ID, primary_key=True),
    Column("customer_id", Integer, nullable=False),
    Column("recipient_id", Integer, nullable=False),
    Column("recipient_customer_id", Integer, nullable=True),
    Column("quote_id", _ID, nullable=False, unique=True),
    Column("send_country", String(2), nullable=False),
    Column("receive_country", String(2), nullable=False),
    Column("send_currency", String(3), nullable=False),
    Column("receive_currency", String(3), nullable=False),
    Column("payout_method", String(16), nullable=False),
    Column("send_minor", BigInteger, nullable=False),
    Column("fee_minor", BigInteger, nullable=False),
    Column("total_minor", BigInteger, nullable=False),
    Column("receive_minor", BigInteger, nullable=False),
    Column("fx_margin_minor", BigInteger, nullable=False),
    Column("mid_rate", String(40), nullable=False),
    Column("rate", String(40), nullable=False),
    Column("total_cost_pct", String(20), nullable=False),
    Column("purpose", String(40), nullable=False),
    Column("status", String(20), nullable=False),
    Column("hold_entry_id", _ID, nullable=True),
    Column("partner_id", String(64), nullable=True),
    Column("payout_id", String(64), nullable=True),
    Column("recipient_sealed", LargeBinary, nullable=False),
    Column("failure_code", String(64), nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Index("ix_transfers_customer_created", "customer_id", "created_at", "id"),
    Index("ix_transfers_recipient_customer", "recipient_customer_id"),
    # A partner's confirmation or failure finds its transfer by the payout (once per payout).
    Index("ix_transfers_payout", "payout_id"),
)

transfer_events = Table(
    "transfer_events",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("transfer_id", _ID, nullable=False),
    Column("status", String(20), nullable=False),
    Column("code", String(64), nullable=True),
    Column("occurred_at", DateTime(timezone=True), nullable=False),
    Index("ix_transfer_events_transfer", "transfer_id", "id"),
)

wallet_operations = Table(
    "wallet_operations",
    metadata,
    Column("id", _ID, primary_key=True),
    Column("customer_id", Integer, nullable=False),
    Column("kind", String(8), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("amount_minor", BigInteger, nullable=False),
    Column("status", String(20), nullable=False),
    Column("partner_id", String(64), nullable=False),
    Column("payout_id", String(64), nullable=True),
    Column("hold_entry_id", _ID, nullable=True),
    Column("reference", String(40), nullable=False, unique=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Index("ix_wallet_operations_customer", "customer_id", "created_at"),
)
