"""The outbox's gauge for Prometheus: age of the oldest event not yet delivered (pending or dead).

A growing lag means a receiver is down or the workers are not running; dead letters keep it up
until someone re-drives them, which is the point.
"""

from __future__ import annotations

from litestar.datastructures import State
from sqlalchemy import func, select

from backend.clock import as_utc, utcnow
from backend.metrics import OUTBOX_LAG_SECONDS, scrape_hooks
from backend.outbox.tables import outbox_events

__all__ = ["refresh_outbox_lag"]

_oldest = select(func.min(outbox_events.c.created_at)).where(outbox_events.c.status != "delivered")


async def refresh_outbox_lag(state: State) -> None:
    async with state.engine.connect() as conn:
        oldest = (await conn.execute(_oldest)).scalar_one_or_none()
    OUTBOX_LAG_SECONDS.set(0 if oldest is None else max(0.0, (utcnow() - as_utc(oldest)).total_seconds()))


if refresh_outbox_lag not in scrape_hooks:
    scrape_hooks.append(refresh_outbox_lag)
