"""Bench: the policy corridor overview (``GET /policy/v1/corridors``) over the World Bank RPW averages.

Compares the overview as it was (each corridor re-read its whole latest quarter: one query per
corridor) with ``MarketAnalytics.corridors`` (one read per distinct quarter), in interleaved
rounds, by CPU time; prints one JSON object::

    .venv/bin/python -m tests.hardening.bench_policy_corridors
"""

from __future__ import annotations

import asyncio
import json
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from backend.db import create_engine
from backend.migrate import upgrade
from fx.market.analytics import CorridorOverview, MarketAnalytics, best_per_period
from fx.market.imports import FileKind, import_file
from fx.market.periods import Quarter
from fx.market.pilot import NoPilotCosts

AVERAGES = (
    Path(__file__).resolve().parents[2]
    / "fx"
    / "market"
    / "data"
    / "rpw-corridor-quarter-averages-2016-2025.csv"
)


async def per_corridor_reads(analytics: MarketAnalytics) -> list[CorridorOverview]:
    """The reference: the overview before the fix, one quarter read per corridor."""
    overviews = []
    for summary in await analytics.store.corridor_summaries():
        source, destination = summary["source_country"], summary["destination_country"]
        last = Quarter.parse(summary["last_period"])
        latest = best_per_period(
            row
            for row in await analytics.store.quarters_in(last)
            if row.source_country == source and row.destination_country == destination
        )
        first = Quarter.parse(summary["first_period"])
        overviews.append(CorridorOverview(source, destination, first, last, latest[0] if latest else None))
    return overviews


async def measure(url: str, rounds: int = 5) -> dict[str, Any]:
    engine = create_engine(url)
    async with engine.begin() as conn:
        await import_file(conn, FileKind.RPW_AVERAGES, AVERAGES, now=datetime.now(UTC))
    seconds: dict[str, list[float]] = {"reference": [], "overview": []}
    corridors = 0
    for _ in range(rounds):
        for name, run in (("reference", per_corridor_reads), ("overview", MarketAnalytics.corridors)):
            async with engine.connect() as conn:
                analytics = MarketAnalytics(conn, NoPilotCosts())
                started = time.process_time()
                corridors = len(await run(analytics))
                seconds[name].append(time.process_time() - started)
    await engine.dispose()
    reference, overview = (statistics.median(seconds[name]) for name in ("reference", "overview"))
    return {
        "corridors": corridors,
        "reference_ms": round(reference * 1000, 1),
        "overview_ms": round(overview * 1000, 1),
        "speedup": round(reference / overview, 1),
    }


def main() -> None:
    url = f"sqlite+aiosqlite:///{tempfile.mkdtemp()}/bench.sqlite3"
    upgrade(url)
    print(json.dumps(asyncio.run(measure(url))))


if __name__ == "__main__":
    main()
