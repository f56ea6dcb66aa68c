"""The scheduled rate refresh: read every configured rate source and store what is new.

:func:`refresh_job` is what the application's background scheduler runs (``korpu fx refresh
--every SECONDS``, or a cron/systemd timer running ``korpu fx refresh``, does the same from the
command line): one failing source is logged and the others still refresh. Running it in several
processes at once is safe, since a bulletin is stored once whoever reads it first.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import UTC, datetime

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine

from fx.errors import RateFeedError
from fx.refresh import RefreshReport, refresh_rates
from fx.sources import CbarSource, EcbDailySource, RateSource

__all__ = ["default_sources", "refresh_job"]

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
