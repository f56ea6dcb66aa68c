"""Marking delivered outbox events in one statement per batch (group commit of outcomes).

Every delivered event used to be marked with an UPDATE of its own, each its own commit and so its
own wait for the write-ahead log to reach the disk: four per transfer (payout instruction, two
customer notices, the partner's webhook). :class:`DeliveredMarks` gathers the deliveries that finish
while one mark is being written and writes them all with the next statement, so a busy worker
commits once for many deliveries and an idle one still commits at once for a lone delivery.

A delivery counts as done only when its mark is written (:meth:`DeliveredMarks.mark` returns then),
as before: until that moment a crash leaves the event leased, and it is delivered again once the
lease runs out (receivers drop duplicates by event id). Failures, retries and dead letters are rare
and keep their statement of their own (:mod:`backend.outbox.worker`).
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime

from sqlalchemy import bindparam, update
from sqlalchemy.ext.asyncio import AsyncEngine

from backend.clock import utcnow
from backend.db import single_statement
from backend.outbox.tables import outbox_events

__all__ = ["DeliveredMarks"]

logger = logging.getLogger("korpu.outbox")

_mark_delivered = (
    update(outbox_events)
    .where(
        outbox_events.c.id.in_(bindparam("event_ids", expanding=True)),
        outbox_events.c.locked_by == bindparam("worker"),
    )
    .values(
        status="delivered", delivered_at=bindparam("now"), locked_by=None, locked_until=None, last_error=None
    )
    .returning(outbox_events.c.id)
)
"""Only events this worker still leases: where a lease ran out and another worker took the event,
that worker's outcome wins."""


class DeliveredMarks:
    """Writes the delivered marks of one worker's events, many in one statement."""

    def __init__(self, engine: AsyncEngine, worker_id: str) -> None:
        self._engine = engine
        self._worker_id = worker_id
        self._waiting: list[str] = []
        self._written: asyncio.Future[None] | None = None
        self._writer: asyncio.Task[None] | None = None

    async def mark(self, event_id: str) -> None:
        """Mark ``event_id`` delivered; returns once the mark is committed, raises if writing failed."""
        loop = asyncio.get_running_loop()
        self._waiting.append(event_id)
        if self._written is None:
            self._written = loop.create_future()
        written = self._written
        if self._writer is None:
            self._writer = loop.create_task(self._write_while_waiting())
        # Shielded: a caller that is cancelled leaves the batch's other events to be written.
        await asyncio.shield(written)

    async def _write_while_waiting(self) -> None:
        try:
            while self._waiting:
                # Deliveries finishing in this pass of the event loop join this statement.
                await asyncio.sleep(0)
                event_ids, self._waiting = self._waiting, []
                written, self._written = self._written, None
                assert written is not None
                try:
                    await self._write(event_ids, utcnow())
                except Exception as error:  # the leases run out and the events are delivered again
                    if not written.done():
                        written.set_exception(error)
                        written.exception()  # retrieved: a caller may have given up waiting
                except BaseException:
                    written.cancel()
                    raise
                else:
                    if not written.done():
                        written.set_result(None)
        finally:
            self._writer = None
            if self._written is not None and self._waiting and not self._written.done():
                # Only when this task itself was cancelled: nothing will write these marks now.
                self._written.cancel()
                self._written, self._waiting = None, []

    async def _write(self, event_ids: list[str], now: datetime) -> None:
        async with single_statement(self._engine) as conn:
            result = await conn.execute(
                _mark_delivered, {"event_ids": event_ids, "worker": self._worker_id, "now": now}
            )
            kept = set(result.scalars())
        for event_id in event_ids:
            if event_id not in kept:
                # Our lease ran out and another worker took the event: its outcome wins.
                logger.warning("lease lost before recording", extra={"eventId": event_id})
