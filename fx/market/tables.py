"""Tables of market prices and indicators, in their own MetaData (registered in backend.schema).

Numbers are stored exactly as integers at a fixed decimal scale (:class:`ScaledDecimal`): percents
and survey amounts at 10^-6, exchange rates at 10^-10. SQLite has no exact decimal type, and these
figures are survey observations, not ledger money, so they need not sit on a currency's minor unit.
"""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

from ledger.sqltypes import NAMING_CONVENTION

__all__ = [
    "ScaledDecimal",
    "bilateral_flows",
    "corridor_quarters",
    "market_imports",
    "metadata",
    "service_prices",
]

metadata = MetaData(naming_convention=NAMING_CONVENTION)
"""Tables owned by ``fx.market``."""


class ScaledDecimal(TypeDecorator[Decimal]):
    """A ``Decimal`` stored as a BIGINT count of 10^-scale units, rounded half-even on the way in."""

    impl = BigInteger
    cache_ok = True

    def __init__(self, scale: int) -> None:
        super().__init__()
        self.scale = scale
        self._quantum = Decimal(1).scaleb(-scale)

    def process_bind_param(self, value: Any, dialect: Dialect) -> int | None:
        if value is None:
            return None
        if not isinstance(value, Decimal):
            raise TypeError(f"ScaledDecimal takes Decimal, not {type(value).__name__}")
        return int(value.quantize(self._quantum, rounding=ROUND_HALF_EVEN).scaleb(self.scale))

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        return Decimal(int(value)).scaleb(-self.scale)


def Percent() -> ScaledDecimal:  # reads as a type in the table definitions
    return ScaledDecimal(6)


def Amount() -> ScaledDecimal:
    return ScaledDecimal(6)


def Rate() -> ScaledDecimal:
    return ScaledDecimal(10)


market_imports = Table(
    "market_imports",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("dataset", String(32), nullable=False),
    Column("file_name", String(255), nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("rows", Integer, nullable=False),
    Column("skipped", Integer, nullable=False),
    Column("imported_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("dataset", "sha256"),
)
"""One row per imported file; the same file imported twice is recognised by its SHA-256."""


def _price_point_columns() -> list[Column[Decimal]]:
    columns: list[Column[Decimal]] = []
    for tier in ("200", "500"):
        columns += [
            Column(f"amount_{tier}", Amount(), nullable=True),
            Column(f"fee_{tier}", Amount(), nullable=True),
            Column(f"fx_rate_{tier}", Rate(), nullable=True),
            Column(f"fx_margin_{tier}_pct", Percent(), nullable=True),
            Column(f"total_cost_{tier}_pct", Percent(), nullable=True),
        ]
    return columns


service_prices = Table(
    "market_service_prices",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("import_id", Integer, ForeignKey("market_imports.id", ondelete="CASCADE"), nullable=False),
    Column("dataset", String(32), nullable=False),
    Column("period", String(7), nullable=False),
    Column("source_country", String(3), nullable=False),
    Column("destination_country", String(3), nullable=False),
    Column("firm", String(200), nullable=False),
    Column("firm_type", String(100), nullable=False),
    Column("payment_instrument", String(200), nullable=False),
    Column("pickup_method", String(200), nullable=False),
    Column("speed", String(60), nullable=False),
    Column("send_currency", String(8), nullable=False),
    Column("receive_currency", String(8), nullable=True),
    *_price_point_columns(),
    Column("interbank_rate", Rate(), nullable=True),
    Column("fee_fixed", Amount(), nullable=True),
    Column("fee_percent", Percent(), nullable=True),
    Column("fx_margin_pct", Percent(), nullable=True),
    Column("transparent", Boolean, nullable=False),
    Column("observed_on", Date, nullable=True),
    Column("basis", String(16), nullable=False),
    Column("source", Text, nullable=False),
    Index("ix_market_service_prices_corridor", "source_country", "destination_country", "period"),
    Index("ix_market_service_prices_dataset", "dataset", "period"),
    Index("ix_market_service_prices_import", "import_id"),
)
"""Surveyed services (RPW workbook rows, provider list rows), priced at USD 200 and USD 500."""

corridor_quarters = Table(
    "market_corridor_quarters",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("import_id", Integer, ForeignKey("market_imports.id", ondelete="CASCADE"), nullable=False),
    Column("dataset", String(32), nullable=False),
    Column("period", String(7), nullable=False),
    Column("source_country", String(3), nullable=False),
    Column("destination_country", String(3), nullable=False),
    Column("avg_cost_200_pct", Percent(), nullable=True),
    Column("avg_cost_500_pct", Percent(), nullable=True),
    Column("avg_fx_margin_200_pct", Percent(), nullable=True),
    Column("avg_fx_margin_500_pct", Percent(), nullable=True),
    Column("smart_pct", Percent(), nullable=True),
    Column("services", Integer, nullable=True),
    Column("services_surveyed", Integer, nullable=True),
    Column("basis", String(16), nullable=False),
    UniqueConstraint(
        "dataset", "period", "source_country", "destination_country", name="uq_market_corridor_quarters_key"
    ),
    Index("ix_market_corridor_quarters_corridor", "source_country", "destination_country", "period"),
    Index("ix_market_corridor_quarters_period", "period"),
    Index("ix_market_corridor_quarters_import", "import_id"),
)
"""Corridor x quarter averages: as published (RPW averages, DataBank) or computed from services."""

bilateral_flows = Table(
    "market_bilateral_flows",
    metadata,
    Column("year", Integer, primary_key=True),
    Column("source_country", String(3), primary_key=True),
    Column("destination_country", String(3), primary_key=True),
    Column("import_id", Integer, ForeignKey("market_imports.id", ondelete="CASCADE"), nullable=False),
    Column("usd_millions", Amount(), nullable=False),
    Index("ix_market_bilateral_flows_import", "import_id"),
)
"""World Bank bilateral remittance estimates, USD millions, the weights of volume-weighted averages."""
