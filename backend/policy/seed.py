"""Demo seeder: the World Bank's RPW files and the provider price list shipped in ``fx/market/data``.

Idempotent: each file is recognised by its SHA-256 and imported once.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncEngine

import fx.market
from backend.settings import Settings
from fx.market.imports import FileKind, import_file

__all__ = ["SHIPPED_FILES", "seed_market_prices"]

DATA = Path(fx.market.__file__).parent / "data"
"""The World Bank files and provider list shipped with ``fx.market`` (see its README.md)."""
SHIPPED_FILES = (
    (FileKind.DATABANK, DATA / "wb-databank-rpw-atcr-corr-2011-2020.csv"),
    (FileKind.RPW_AVERAGES, DATA / "rpw-corridor-quarter-averages-2016-2025.csv"),
    (FileKind.PROVIDER_LIST, DATA / "provider-price-list.csv"),
    (FileKind.BILATERAL, DATA / "wb-bilateral-remittance-estimates-2017.xlsx"),
)
"""What ``korpu demo seed`` imports, in this order."""


async def seed_market_prices(engine: AsyncEngine, settings: Settings) -> str:
    imported = 0
    for kind, path in SHIPPED_FILES:
        async with engine.begin() as connection:
            result = await import_file(connection, kind, path, now=datetime.now(UTC))
        imported += result.rows
    return f"market prices: {imported} rows imported from {len(SHIPPED_FILES)} RPW and provider-list files"
