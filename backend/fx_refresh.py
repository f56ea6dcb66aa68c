"""The scheduled rate refresh: read every configured rate source and store what is new.

:func:`refresh_job` is what a scheduler runs (``korpu fx refresh --every SECONDS``, a cron or
systemd timer running ``korpu fx refresh``, or the application's background scheduler): one failing
source is logged and the others still refresh. Running it in several processes at once is safe,
since a bulletin is stored once whoever reads it first.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine

from fx.errors import RateFeedError
from fx.refresh import RefreshReport, refresh_rates
from fx.sources import CbarSource, EcbDailySource, RateSource

__all__ = ["default_sources", "refresh_forever", "refresh_job"]

logger = logging.getLogger("korpu.fx")


def default_sources(client: httpx.AsyncClient) -> list[RateSource]:
    """The public sources every deployment reads: CBAR (today and tomorrow) and the ECB's daily file."""
    return [CbarSource(client), EcbDailySource(client)]


async def refresh_job(
    engine: AsyncEngine, sources: Sequence[RateSource], now: datetime | None = None
) -> list[RefreshReport]:
    """Refresh each source in turn; a source that fails is logged and skipped."""
    reports = []
    for source in sources:
        try:
            report = await refresh_rates(engine, source, now or datetime.now(UTC))
        except RateFeedError as exc:
            logger.warning("rate refresh failed", extra={"source": source.name, "error": str(exc)})
            continue
        logger.info("rates refreshed", extra=report.to_json())
        reports.append(report)
    return reports


async def refresh_forever(
    engine: AsyncEngine,
    make_sources: Callable[[httpx.AsyncClient], Sequence[RateSource]],
    every_seconds: float,
    on_report: Callable[[RefreshReport], None] = lambda report: None,
) -> None:
    """Run :func:`refresh_job` every ``every_seconds`` until cancelled."""
    async with httpx.AsyncClient() as client:
        sources = make_sources(client)
        while True:
            for report in await refresh_job(engine, sources):
                on_report(report)
            await asyncio.sleep(every_seconds)
