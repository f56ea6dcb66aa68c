"""policy: market prices of remittances and RPW indicators (fx.market tables).

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def _price_point(tier: str) -> list[sa.Column[int]]:
    return [
        sa.Column(f"amount_{tier}", sa.BigInteger(), nullable=True),
        sa.Column(f"fee_{tier}", sa.BigInteger(), nullable=True),
        sa.Column(f"fx_rate_{tier}", sa.BigInteger(), nullable=True),
        sa.Column(f"fx_margin_{tier}_pct", sa.BigInteger(), nullable=True),
        sa.Column(f"total_cost_{tier}_pct", sa.BigInteger(), nullable=True),
    ]


def upgrade() -> None:
    op.create_table(
        "market_imports",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("dataset", sa.String(length=32), nullable=False),
        sa.Column("file_name", sa.String(length=255), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("rows", sa.Integer(), nullable=False),
        sa.Column("skipped", sa.Integer(), nullable=False),
        sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_market_imports"),
        sa.UniqueConstraint("dataset", "sha256", name="uq_market_imports_dataset_sha256"),
    )
    op.create_table(
        "market_service_prices",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("import_id", sa.Integer(), nullable=False),
        sa.Column("dataset", sa.String(length=32), nullable=False),
        sa.Column("period", sa.String(length=7), nullable=False),
        sa.Column("source_country", sa.String(length=3), nullable=False),
        sa.Column("destination_country", sa.String(length=3), nullable=False),
        sa.Column("firm", sa.String(length=200), nullable=False),
        sa.Column("firm_type", sa.String(length=100), nullable=False),
        sa.Column("payment_instrument", sa.String(length=200), nullable=False),
        sa.Column("pickup_method", sa.String(length=200), nullable=False),
        sa.Column("speed", sa.String(length=60), nullable=False),
        sa.Column("send_currency", sa.String(length=8), nullable=False),
        sa.Column("receive_currency", sa.String(length=8), nullable=True),
        *_price_point("200"),
        *_price_point("500"),
        sa.Column("interbank_rate", sa.BigInteger(), nullable=True),
        sa.Column("fee_fixed", sa.BigInteger(), nullable=True),
        sa.Column("fee_percent", sa.BigInteger(), nullable=True),
        sa.Column("fx_margin_pct", sa.BigInteger(), nullable=True),
        sa.Column("transparent", sa.Boolean(), nullable=False),
        sa.Column("observed_on", sa.Date(), nullable=True),
        sa.Column("basis", sa.String(length=16), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["import_id"],
            ["market_imports.id"],
            name="fk_market_service_prices_import_id_market_imports",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_market_service_prices"),
    )
    op.create_index(
        "ix_market_service_prices_corridor",
        "market_service_prices",
        ["source_country", "destination_country", "period"],
    )
    op.create_index("ix_market_service_prices_dataset", "market_service_prices", ["dataset", "period"])
    op.create_index("ix_market_service_prices_import", "market_service_prices", ["import_id"])
    op.create_table(
        "market_corridor_quarters",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("import_id", sa.Integer(), nullable=False),
        sa.Column("dataset", sa.String(length=32), nullable=False),
        sa.Column("period", sa.String(length=7), nullable=False),
        sa.Column("source_country", sa.String(length=3), nullable=False),
        sa.Column("destination_country", sa.String(length=3), nullable=False),
        sa.Column("avg_cost_200_pct", sa.BigInteger(), nullable=True),
        sa.Column("avg_cost_500_pct", sa.BigInteger(), nullable=True),
        sa.Column("avg_fx_margin_200_pct", sa.BigInteger(), nullable=True),
        sa.Column("avg_fx_margin_500_pct", sa.BigInteger(), nullable=True),
        sa.Column("smart_pct", sa.BigInteger(), nullable=True),
        sa.Column("services", sa.Integer(), nullable=True),
        sa.Column("services_surveyed", sa.Integer(), nullable=True),
        sa.Column("basis", sa.String(length=16), nullable=False),
        sa.ForeignKeyConstraint(
            ["import_id"],
            ["market_imports.id"],
            name="fk_market_corridor_quarters_import_id_market_imports",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_market_corridor_quarters"),
        sa.UniqueConstraint(
            "dataset",
            "period",
            "source_country",
            "destination_country",
            name="uq_market_corridor_quarters_key",
        ),
    )
    op.create_index(
        "ix_market_corridor_quarters_corridor",
        "market_corridor_quarters",
        ["source_country", "destination_country", "period"],
    )
    op.create_index("ix_market_corridor_quarters_period", "market_corridor_quarters", ["period"])
    op.create_index("ix_market_corridor_quarters_import", "market_corridor_quarters", ["import_id"])
    op.create_table(
        "market_bilateral_flows",
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("source_country", sa.String(length=3), nullable=False),
        sa.Column("destination_country", sa.String(length=3), nullable=False),
        sa.Column("import_id", sa.Integer(), nullable=False),
        sa.Column("usd_millions", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["import_id"],
            ["market_imports.id"],
            name="fk_market_bilateral_flows_import_id_market_imports",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "year", "source_country", "destination_country", name="pk_market_bilateral_flows"
        ),
    )
    op.create_index("ix_market_bilateral_flows_import", "market_bilateral_flows", ["import_id"])


def downgrade() -> None:
    op.drop_table("market_bilateral_flows")
    op.drop_table("market_corridor_quarters")
    op.drop_table("market_service_prices")
    op.drop_table("market_imports")
