"""The policy corridor overview reads each quarter once, whatever the number of corridors."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

from fx.market.analytics import MarketAnalytics
from fx.market.imports import FileKind, import_file
from fx.market.pilot import NoPilotCosts
from tests.hardening.bench_policy_corridors import AVERAGES


async def test_the_corridor_overview_does_not_query_once_per_corridor(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        await import_file(conn, FileKind.RPW_AVERAGES, AVERAGES, now=datetime.now(UTC))
    statements: list[str] = []

    def count(*args: Any) -> None:
        statements.append(str(args[2]))

    event.listen(engine.sync_engine, "before_cursor_execute", count)
    try:
        async with engine.connect() as conn:
            overviews = await MarketAnalytics(conn, NoPilotCosts()).corridors()
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", count)
    assert len(overviews) > 250
    assert sum(1 for sql in statements if "rpw" in sql.lower() or "market" in sql.lower()) < 20, len(
        statements
    )
