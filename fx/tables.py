"""The tables of the fx capability: rate bulletins, corridors, payout options, prices, quotes.

Declared with SQLAlchemy Core on fx's own ``MetaData`` (the service's naming convention, from
:mod:`ledger.sqltypes`); migration ``0003_fx`` creates exactly these.
Amounts are BIGINT minor units; rates and percentages are exact decimal text (SQLite has no exact
decimal type, and a rate must never pass through a float). Timestamps are stored in UTC and read
back timezone-aware on both SQLite and PostgreSQL (``UtcDateTime``).
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    UniqueConstraint,
)

from ledger.sqltypes import NAMING_CONVENTION, UtcDateTime

__all__ = [
    "UtcDateTime",
    "bulletin_rates",
    "bulletins",
    "corridor_payouts",
    "corridors",
    "metadata",
    "price_tiers",
    "prices",
    "quotes",
]

metadata = MetaData(naming_convention=NAMING_CONVENTION)
"""Tables owned by fx."""


PAYOUT_METHODS = ("bank_account", "card", "wallet", "cash_pickup")
_PAYOUT_CHECK = "payout_method IN ('bank_account', 'card', 'wallet', 'cash_pickup')"

bulletins = Table(
    "fx_bulletins",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("source", String(32), nullable=False),
    Column("base_currency", String(3), nullable=False),
    Column("bulletin_date", Date, nullable=False),
    Column("as_of", UtcDateTime, nullable=False),
    Column("fetched_at", UtcDateTime, nullable=False),
    Column("origin", String(500), nullable=False),
    Column("digest", String(64), nullable=False),
    UniqueConstraint("source", "as_of"),
    Index("ix_fx_bulletins_source_date", "source", "bulletin_date"),
)

bulletin_rates = Table(
    "fx_bulletin_rates",
    metadata,
    Column("bulletin_id", Integer, ForeignKey("fx_bulletins.id", ondelete="CASCADE"), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("base_amount", String(40), nullable=False),
    Column("units", String(40), nullable=False),
    PrimaryKeyConstraint("bulletin_id", "currency"),
)

corridors = Table(
    "fx_corridors",
    metadata,
    Column("code", String(32), primary_key=True),
    Column("send_country", String(2), nullable=False),
    Column("send_currency", String(3), nullable=False),
    Column("receive_country", String(2), nullable=False),
    Column("receive_currency", String(3), nullable=False),
    Column("rate_sources", String(200), nullable=False),
    Column("max_rate_age_seconds", Integer, nullable=False),
    Column("active", Boolean, nullable=False),
    CheckConstraint("max_rate_age_seconds > 0", name="max_rate_age_positive"),
)

corridor_payouts = Table(
    "fx_corridor_payouts",
    metadata,
    Column("corridor_code", String(32), ForeignKey("fx_corridors.code"), nullable=False),
    Column("payout_method", String(16), nullable=False),
    Column("min_send_minor", BigInteger, nullable=False),
    Column("max_send_minor", BigInteger, nullable=False),
    Column("delivery_min_minutes", Integer, nullable=False),
    Column("delivery_max_minutes", Integer, nullable=False),
    Column("active", Boolean, nullable=False),
    PrimaryKeyConstraint("corridor_code", "payout_method"),
    CheckConstraint(_PAYOUT_CHECK, name="payout_method_known"),
    CheckConstraint("0 < min_send_minor AND min_send_minor <= max_send_minor", name="limits_ordered"),
    CheckConstraint(
        "0 <= delivery_min_minutes AND delivery_min_minutes <= delivery_max_minutes", name="delivery_ordered"
    ),
)

prices = Table(
    "fx_prices",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("corridor_code", String(32), ForeignKey("fx_corridors.code"), nullable=False),
    Column("payout_method", String(16), nullable=False),
    Column("effective_from", UtcDateTime, nullable=False),
    Column("fee_min_minor", BigInteger, nullable=False),
    Column("fee_max_minor", BigInteger, nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
    UniqueConstraint("corridor_code", "payout_method", "effective_from"),
    CheckConstraint(_PAYOUT_CHECK, name="payout_method_known"),
    CheckConstraint("fee_min_minor >= 0", name="fee_min_not_negative"),
)

price_tiers = Table(
    "fx_price_tiers",
    metadata,
    Column("price_id", Integer, ForeignKey("fx_prices.id", ondelete="CASCADE"), nullable=False),
    Column("from_minor", BigInteger, nullable=False),
    Column("fixed_fee_minor", BigInteger, nullable=False),
    Column("percent_fee", String(16), nullable=False),
    Column("fx_margin_bps", Integer, nullable=False),
    PrimaryKeyConstraint("price_id", "from_minor"),
    CheckConstraint("from_minor >= 0 AND fixed_fee_minor >= 0", name="amounts_not_negative"),
    CheckConstraint("fx_margin_bps >= 0 AND fx_margin_bps < 10000", name="margin_in_range"),
)

quotes = Table(
    "fx_quotes",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("corridor_code", String(32), nullable=False),
    Column("payout_method", String(16), nullable=False),
    Column("send_country", String(2), nullable=False),
    Column("send_currency", String(3), nullable=False),
    Column("receive_country", String(2), nullable=False),
    Column("receive_currency", String(3), nullable=False),
    Column("fixed_side", String(8), nullable=False),
    Column("send_minor", BigInteger, nullable=False),
    Column("fee_minor", BigInteger, nullable=False),
    Column("receive_minor", BigInteger, nullable=False),
    Column("fx_margin_minor", BigInteger, nullable=False),
    Column("total_cost_minor", BigInteger, nullable=False),
    Column("mid_rate", String(40), nullable=False),
    Column("rate", String(40), nullable=False),
    Column("fx_margin_bps", Integer, nullable=False),
    Column("fx_margin_pct", String(20), nullable=False),
    Column("total_cost_pct", String(20), nullable=False),
    Column("rate_source", String(32), nullable=False),
    Column("rate_as_of", UtcDateTime, nullable=False),
    Column("bulletin_id", Integer, ForeignKey("fx_bulletins.id"), nullable=True),
    Column("price_id", Integer, ForeignKey("fx_prices.id"), nullable=True),
    Column("delivery_min_minutes", Integer, nullable=False),
    Column("delivery_max_minutes", Integer, nullable=False),
    Column("customer_id", String(64), nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
    Column("used_at", UtcDateTime, nullable=True),
    CheckConstraint("fixed_side IN ('send', 'receive')", name="fixed_side_known"),
    CheckConstraint("send_minor > 0 AND receive_minor > 0 AND fee_minor >= 0", name="amounts_positive"),
    CheckConstraint("expires_at > created_at", name="expires_after_creation"),
    Index("ix_fx_quotes_customer_id", "customer_id"),
    Index("ix_fx_quotes_expires_at", "expires_at"),
)
