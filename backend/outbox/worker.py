"""The outbox worker: claims due events, delivers them, and records the outcome.

Many workers may run at once. Claiming takes the head event of each stream (an aggregate's events
for one destination, in sequence order), skips rows another worker has locked (``FOR UPDATE SKIP
LOCKED`` on PostgreSQL, where the claim and the lease are one autocommit statement; on SQLite one
short ``BEGIN IMMEDIATE`` transaction serialises the claims) and leases them to this worker.
Delivery happens outside any transaction, so a slow receiver holds no database lock. The outcome
is written only if the lease is still ours; deliveries that finish together are marked delivered
in one statement (:mod:`backend.outbox.delivered`).

An event that fails is retried with exponential backoff and jitter; after ``max_attempts`` it is
dead-lettered, and its stream waits (later events of the same aggregate and destination are held
back) until someone re-drives it. Delivery is at least once: a worker that dies after delivering
but before recording leaves the event to be delivered again once its lease ends, with the same id.
"""

from __future__ import annotations

import asyncio
import logging
import random
import socket
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    ARRAY,
    Select,
    String,
    Update,
    and_,
    any_,
    bindparam,
    exists,
    func,
    literal_column,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncEngine

from backend.clock import utcnow
from backend.db import single_statement
from backend.outbox.delivered import DeliveredMarks
from backend.outbox.delivery import DeliveryDeferred, DeliveryFailed, Dispatcher
from backend.outbox.events import StoredEvent
from backend.outbox.tables import outbox_events
from sqldirect import direct

__all__ = ["OutboxWorker", "WorkerConfig", "backoff_delay"]

logger = logging.getLogger("korpu.outbox")


@dataclass(frozen=True, slots=True)
class WorkerConfig:
    """How a worker claims, retries and gives up."""

    batch_size: int = 64
    """Deliveries under way at once, and events claimed per round (at most one per stream)."""
    max_attempts: int = 24
    """Attempts before an event is dead-lettered."""
    base_delay_seconds: float = 2.0
    """Delay after the first failed attempt; doubles with each further failure."""
    max_delay_seconds: float = 3600.0
    """Ceiling of the retry delay."""
    lease_seconds: float = 120.0
    """How long a claim lasts; longer than the slowest delivery a handler allows."""
    poll_interval_seconds: float = 1.0
    """Pause when there is nothing to do."""
    claim_interval_seconds: float = 0.05
    """Pause after a claim that found fewer due events than free slots (:meth:`OutboxWorker.run`)."""


def backoff_delay(attempts: int, config: WorkerConfig, rng: random.Random | None = None) -> float:
    """Seconds to wait after ``attempts`` failed attempts: exponential, capped, with jitter in [50%, 100%]."""
    ceiling = min(config.max_delay_seconds, config.base_delay_seconds * (2 ** max(0, attempts - 1)))
    fraction = rng.random() if rng is not None else random.random()
    return float(ceiling * (0.5 + 0.5 * fraction))


_earlier = outbox_events.alias("earlier")
_earlier_undelivered: Select[Any] = (
    select(literal_column("1"))
    .where(
        _earlier.c.aggregate_type == outbox_events.c.aggregate_type,
        _earlier.c.aggregate_id == outbox_events.c.aggregate_id,
        _earlier.c.destination == outbox_events.c.destination,
        _earlier.c.sequence < outbox_events.c.sequence,
        _earlier.c.status != "delivered",
    )
    # OFFSET 0: a probe of the stream index per candidate, never a join that may read the whole
    # outbox once per candidate (docs/performance.md, "Plans that scanned").
    .offset(literal_column("0"))
)
_claimable = (
    select(outbox_events.c.id)
    .where(
        outbox_events.c.status == "pending",
        outbox_events.c.next_attempt_at <= bindparam("now"),
        (outbox_events.c.locked_until.is_(None)) | (outbox_events.c.locked_until <= bindparam("now")),
        ~exists(_earlier_undelivered),
    )
    .order_by(outbox_events.c.next_attempt_at, outbox_events.c.created_at, outbox_events.c.id)
    .limit(bindparam("limit"))
    .with_for_update(skip_locked=True, of=outbox_events)
)
_lease = (
    update(outbox_events)
    .where(outbox_events.c.id.in_(bindparam("ids", expanding=True)))
    .values(
        locked_by=bindparam("worker"),
        locked_until=bindparam("until"),
        attempts=outbox_events.c.attempts + 1,
    )
    .returning(*outbox_events.c)
)
_claim_and_lease = (
    update(outbox_events)
    # = ANY(ARRAY(sub-select)): the claimed ids are collected first, then leased through the
    # primary key. As ``IN (sub-select)`` the generic plan joined the claim to a scan of every
    # event, delivered ones included, on every claim.
    .where(outbox_events.c.id == any_(func.array(_claimable.scalar_subquery(), type_=ARRAY(String))))
    .values(
        locked_by=bindparam("worker"), locked_until=bindparam("until"), attempts=outbox_events.c.attempts + 1
    )
    .returning(*outbox_events.c)
)
"""PostgreSQL: claim and lease in one statement (the sub-select's ``FOR UPDATE SKIP LOCKED`` rows)."""
_ours = and_(outbox_events.c.id == bindparam("event_id"), outbox_events.c.locked_by == bindparam("worker"))
_retry = (
    update(outbox_events)
    .where(_ours)
    .values(
        next_attempt_at=bindparam("next_at"), locked_by=None, locked_until=None, last_error=bindparam("error")
    )
)
_deferred = (
    update(outbox_events)
    .where(_ours)
    .values(
        next_attempt_at=bindparam("next_at"),
        locked_by=None,
        locked_until=None,
        attempts=outbox_events.c.attempts - 1,
        last_error=bindparam("error"),
    )
)
_dead = (
    update(outbox_events)
    .where(_ours)
    .values(
        status="dead",
        dead_at=bindparam("now"),
        locked_by=None,
        locked_until=None,
        last_error=bindparam("error"),
    )
)
_CLAIM_AND_LEASE = direct(_claim_and_lease)


class OutboxWorker:
    """Delivers outbox events through a :class:`Dispatcher`; run :meth:`run_once` or :meth:`run`."""

    def __init__(
        self,
        engine: AsyncEngine,
        dispatcher: Dispatcher,
        config: WorkerConfig | None = None,
        *,
        worker_id: str | None = None,
    ) -> None:
        self.engine = engine
        self.dispatcher = dispatcher
        self.config = config or WorkerConfig()
        self.worker_id = worker_id or f"{socket.gethostname()[:30]}-{uuid.uuid4().hex[:12]}"
        self._delivered = DeliveredMarks(engine, self.worker_id)

    async def claim(self, now: datetime | None = None, *, limit: int | None = None) -> list[StoredEvent]:
        """Lease up to ``limit`` (default ``batch_size``) due events to this worker: on PostgreSQL one
        autocommit statement (the lease takes the rows the sub-select locked), elsewhere one short
        transaction."""
        moment = now or utcnow()
        values = {
            "now": moment,
            "limit": self.config.batch_size if limit is None else limit,
            "worker": self.worker_id,
            "until": moment + timedelta(seconds=self.config.lease_seconds),
        }
        async with self.engine.connect() as conn:
            if conn.dialect.name == "postgresql":
                rows = [row._mapping for row in await _CLAIM_AND_LEASE.rows(conn, values, alone=True)]
            else:
                async with conn.begin():
                    ids = list((await conn.execute(_claimable, values)).scalars())
                    if not ids:
                        return []
                    rows = list((await conn.execute(_lease, {**values, "ids": ids})).mappings())
        return sorted((StoredEvent.from_row(row) for row in rows), key=lambda e: (e.created_at, e.id))

    async def run_once(self) -> int:
        """Claim one batch and deliver it; return how many events were attempted."""
        events = await self.claim()
        # Only the head of each stream is claimed, so one batch can be delivered in parallel.
        await asyncio.gather(*(self._deliver_logged(event) for event in events))
        return len(events)

    async def run(self, stop: asyncio.Event) -> None:
        """Deliver until ``stop`` is set, then finish the deliveries under way.

        Up to ``batch_size`` deliveries run at once, and a slow one holds up only its own slot: once
        half the slots are free (or none is busy) the worker claims again for the free ones, where
        a round of :meth:`run_once` would wait for its slowest delivery before claiming more. When a
        claim finds fewer events than free slots, the next waits ``claim_interval_seconds`` so that
        events gather meanwhile (each claim reads the queue's head, whatever it returns).
        """
        under_way: set[asyncio.Task[None]] = set()
        size = self.config.batch_size
        try:
            while not stop.is_set():
                free = size - len(under_way)
                if under_way and free < max(1, size // 2):
                    await self._wait(stop, under_way, self.config.poll_interval_seconds)
                    continue
                claimed: list[StoredEvent] = []
                try:
                    claimed = await self.claim(limit=free)
                except Exception:  # a database hiccup must not end the worker
                    logger.exception("outbox claim failed")
                for event in claimed:
                    task = asyncio.get_running_loop().create_task(self._deliver_logged(event))
                    under_way.add(task)
                    task.add_done_callback(under_way.discard)
                if len(claimed) == free:
                    continue  # every free slot taken: more may be due
                busy = claimed or under_way
                pause = self.config.claim_interval_seconds if busy else self.config.poll_interval_seconds
                await self._wait(stop, set(), pause)
        finally:
            if under_way:
                await asyncio.gather(*under_way, return_exceptions=True)

    @staticmethod
    async def _wait(stop: asyncio.Event, under_way: set[asyncio.Task[None]], seconds: float) -> None:
        """Wait until ``stop`` is set, a delivery in ``under_way`` finishes, or ``seconds`` pass."""
        stopping = asyncio.ensure_future(stop.wait())
        try:
            await asyncio.wait({stopping, *under_way}, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopping.cancel()

    async def _deliver_logged(self, event: StoredEvent) -> None:
        try:
            await self._deliver(event)
        except Exception:  # recording the outcome failed: the lease runs out and it is retried
            logger.exception("outbox delivery round failed", extra={"eventId": event.id})

    async def _deliver(self, event: StoredEvent) -> None:
        keys = {"event_id": event.id, "worker": self.worker_id}
        try:
            await self.dispatcher.deliver(event)
        except DeliveryDeferred as deferred:
            await self._record(_deferred, {**keys, "next_at": deferred.until, "error": str(deferred)[:1000]})
            return
        except Exception as exc:
            permanent = isinstance(exc, DeliveryFailed) and exc.permanent
            error = str(exc) if isinstance(exc, DeliveryFailed) else f"{type(exc).__name__} in handler"
            if not isinstance(exc, DeliveryFailed):
                logger.exception("delivery handler raised", extra={"eventId": event.id, "topic": event.topic})
            now = utcnow()
            if permanent or event.attempts >= self.config.max_attempts:
                await self._record(_dead, {**keys, "now": now, "error": error[:1000]})
                logger.warning(
                    "event dead-lettered",
                    extra={"eventId": event.id, "topic": event.topic, "attempts": event.attempts},
                )
                return
            next_at = now + timedelta(seconds=backoff_delay(event.attempts, self.config))
            await self._record(_retry, {**keys, "next_at": next_at, "error": error[:1000]})
            return
        await self._delivered.mark(event.id)

    async def _record(self, statement: Update, values: dict[str, object]) -> None:
        async with single_statement(self.engine) as conn:
            result = await conn.execute(statement, values)
            if result.rowcount == 0:
                # Our lease ran out and another worker took the event: its outcome wins.
                logger.warning("lease lost before recording", extra={"eventId": values["event_id"]})
