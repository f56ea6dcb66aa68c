"""fx: rate bulletins with provenance, corridors, payout options, prices with tiers, quotes.

Mirrors ``fx/tables.py`` exactly (a test compares them). No rows: corridors, prices and demo rates
come from ``korpu demo seed`` and ``korpu fx refresh``.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_PAYOUT_CHECK = "payout_method IN ('bank_account', 'card', 'wallet', 'cash_pickup')"


def _ts(name: str, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "fx_bulletins",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("source", sa.String(32), nullable=False),
        sa.Column("base_currency", sa.String(3), nullable=False),
        sa.Column("bulletin_date", sa.Date(), nullable=False),
        _ts("as_of"),
        _ts("fetched_at"),
        sa.Column("origin", sa.String(500), nullable=False),
        sa.Column("digest", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_fx_bulletins"),
        sa.UniqueConstraint("source", "as_of", name="uq_fx_bulletins_source_as_of"),
    )
    op.create_index("ix_fx_bulletins_source_date", "fx_bulletins", ["source", "bulletin_date"])

    op.create_table(
        "fx_bulletin_rates",
        sa.Column("bulletin_id", sa.Integer(), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("base_amount", sa.String(40), nullable=False),
        sa.Column("units", sa.String(40), nullable=False),
        sa.PrimaryKeyConstraint("bulletin_id", "currency", name="pk_fx_bulletin_rates"),
        sa.ForeignKeyConstraint(
            ["bulletin_id"],
            ["fx_bulletins.id"],
            name="fk_fx_bulletin_rates_bulletin_id_fx_bulletins",
            ondelete="CASCADE",
        ),
    )

    op.create_table(
        "fx_corridors",
        sa.Column("code", sa.String(32), nullable=False),
        sa.Column("send_country", sa.String(2), nullable=False),
        sa.Column("send_currency", sa.String(3), nullable=False),
        sa.Column("receive_country", sa.String(2), nullable=False),
        sa.Column("receive_currency", sa.String(3), nullable=False),
        sa.Column("rate_sources", sa.String(200), nullable=False),
        sa.Column("max_rate_age_seconds", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("code", name="pk_fx_corridors"),
        sa.CheckConstraint("max_rate_age_seconds > 0", name="ck_fx_corridors_max_rate_age_positive"),
    )

    op.create_table(
        "fx_corridor_payouts",
        sa.Column("corridor_code", sa.String(32), nullable=False),
        sa.Column("payout_method", sa.String(16), nullable=False),
        sa.Column("min_send_minor", sa.BigInteger(), nullable=False),
        sa.Column("max_send_minor", sa.BigInteger(), nullable=False),
        sa.Column("delivery_min_minutes", sa.Integer(), nullable=False),
        sa.Column("delivery_max_minutes", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("corridor_code", "payout_method", name="pk_fx_corridor_payouts"),
        sa.ForeignKeyConstraint(
            ["corridor_code"], ["fx_corridors.code"], name="fk_fx_corridor_payouts_corridor_code_fx_corridors"
        ),
        sa.CheckConstraint(_PAYOUT_CHECK, name="ck_fx_corridor_payouts_payout_method_known"),
        sa.CheckConstraint(
            "0 < min_send_minor AND min_send_minor <= max_send_minor",
            name="ck_fx_corridor_payouts_limits_ordered",
        ),
        sa.CheckConstraint(
            "0 <= delivery_min_minutes AND delivery_min_minutes <= delivery_max_minutes",
            name="ck_fx_corridor_payouts_delivery_ordered",
        ),
    )

    op.create_table(
        "fx_prices",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("corridor_code", sa.String(32), nullable=False),
        sa.Column("payout_method", sa.String(16), nullable=False),
        _ts("effective_from"),
        sa.Column("fee_min_minor", sa.BigInteger(), nullable=False),
        sa.Column("fee_max_minor", sa.BigInteger(), nullable=True),
        _ts("created_at"),
        sa.PrimaryKeyConstraint("id", name="pk_fx_prices"),
        sa.ForeignKeyConstraint(
            ["corridor_code"], ["fx_corridors.code"], name="fk_fx_prices_corridor_code_fx_corridors"
        ),
        sa.UniqueConstraint(
            "corridor_code",
            "payout_method",
            "effective_from",
            name="uq_fx_prices_corridor_code_payout_method_effective_from",
        ),
        sa.CheckConstraint(_PAYOUT_CHECK, name="ck_fx_prices_payout_method_known"),
        sa.CheckConstraint("fee_min_minor >= 0", name="ck_fx_prices_fee_min_not_negative"),
    )

    op.create_table(
        "fx_price_tiers",
        sa.Column("price_id", sa.Integer(), nullable=False),
        sa.Column("from_minor", sa.BigInteger(), nullable=False),
        sa.Column("fixed_fee_minor", sa.BigInteger(), nullable=False),
        sa.Column("percent_fee", sa.String(16), nullable=False),
        sa.Column("fx_margin_bps", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("price_id", "from_minor", name="pk_fx_price_tiers"),
        sa.ForeignKeyConstraint(
            ["price_id"], ["fx_prices.id"], name="fk_fx_price_tiers_price_id_fx_prices", ondelete="CASCADE"
        ),
        sa.CheckConstraint(
            "from_minor >= 0 AND fixed_fee_minor >= 0", name="ck_fx_price_tiers_amounts_not_negative"
        ),
        sa.CheckConstraint(
            "fx_margin_bps >= 0 AND fx_margin_bps < 10000", name="ck_fx_price_tiers_margin_in_range"
        ),
    )

    op.create_table(
        "fx_quotes",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("corridor_code", sa.String(32), nullable=False),
        sa.Column("payout_method", sa.String(16), nullable=False),
        sa.Column("send_country", sa.String(2), nullable=False),
        sa.Column("send_currency", sa.String(3), nullable=False),
        sa.Column("receive_country", sa.String(2), nullable=False),
        sa.Column("receive_currency", sa.String(3), nullable=False),
        sa.Column("fixed_side", sa.String(8), nullable=False),
        sa.Column("send_minor", sa.BigInteger(), nullable=False),
        sa.Column("fee_minor", sa.BigInteger(), nullable=False),
        sa.Column("receive_minor", sa.BigInteger(), nullable=False),
        sa.Column("fx_margin_minor", sa.BigInteger(), nullable=False),
        sa.Column("total_cost_minor", sa.BigInteger(), nullable=False),
        sa.Column("mid_rate", sa.String(40), nullable=False),
        sa.Column("rate", sa.String(40), nullable=False),
        sa.Column("fx_margin_bps", sa.Integer(), nullable=False),
        sa.Column("fx_margin_pct", sa.String(20), nullable=False),
        sa.Column("total_cost_pct", sa.String(20), nullable=False),
        sa.Column("rate_source", sa.String(32), nullable=False),
        _ts("rate_as_of"),
        sa.Column("bulletin_id", sa.Integer(), nullable=True),
        sa.Column("price_id", sa.Integer(), nullable=True),
        sa.Column("delivery_min_minutes", sa.Integer(), nullable=False),
        sa.Column("delivery_max_minutes", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.String(64), nullable=True),
        _ts("created_at"),
        _ts("expires_at"),
        _ts("used_at", nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_fx_quotes"),
        sa.ForeignKeyConstraint(
            ["bulletin_id"], ["fx_bulletins.id"], name="fk_fx_quotes_bulletin_id_fx_bulletins"
        ),
        sa.ForeignKeyConstraint(["price_id"], ["fx_prices.id"], name="fk_fx_quotes_price_id_fx_prices"),
        sa.CheckConstraint("fixed_side IN ('send', 'receive')", name="ck_fx_quotes_fixed_side_known"),
        sa.CheckConstraint(
            "send_minor > 0 AND receive_minor > 0 AND fee_minor >= 0", name="ck_fx_quotes_amounts_positive"
        ),
        sa.CheckConstraint("expires_at > created_at", name="ck_fx_quotes_expires_after_creation"),
    )
    op.create_index("ix_fx_quotes_customer_id", "fx_quotes", ["customer_id"])
    op.create_index("ix_fx_quotes_expires_at", "fx_quotes", ["expires_at"])


def downgrade() -> None:
    op.drop_table("fx_quotes")
    op.drop_table("fx_price_tiers")
    op.drop_table("fx_prices")
    op.drop_table("fx_corridor_payouts")
    op.drop_table("fx_corridors")
    op.drop_table("fx_bulletin_rates")
    op.drop_table("fx_bulletins")
