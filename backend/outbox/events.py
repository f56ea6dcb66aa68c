"""Writing events to the outbox, in the caller's transaction, and reading them back.

An event belongs to an *aggregate* (``("payout", "po_...")``, ``("transfer", "tr_...")``) and gets
the next ``sequence`` of that aggregate; a *stream* is an aggregate's events for one destination,
and the worker delivers a stream strictly in sequence order. The event id is created here and
never changes: it is the ``webhook-id`` a receiver uses to drop duplicates.

The payload is stored in clear, so it carries identifiers and amounts, never personal data: a
delivery handler that needs, say, a beneficiary's name loads and unseals it at delivery time.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, func, insert, select
from sqlalchemy.engine import RowMapping
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from backend.clock import as_utc, utcnow
from backend.outbox.tables import outbox_events

__all__ = ["OutboxEvent", "StoredEvent", "enqueue", "new_event_id"]

_SEQUENCE_RETRIES = 5


def new_event_id() -> str:
    return f"msg_{uuid.uuid4().hex}"


@dataclass(frozen=True, slots=True)
class OutboxEvent:
    """An event to deliver, as the producer describes it."""

    aggregate_type: str
    """What the event is about, e.g. ``payout`` or ``transfer``."""
    aggregate_id: str
    """Which one."""
    topic: str
    """The event type, e.g. ``payout.confirmed`` (the ``type`` of a webhook)."""
    destination: str
    """``channel:target``: ``webhook:<partner id>``, ``payout:<partner id>``, ``push:<customer id>``."""
    payload: Mapping[str, Any] = field(default_factory=dict)
    """JSON-serialisable data: identifiers and amounts, never personal data."""


@dataclass(frozen=True, slots=True)
class StoredEvent:
    """An event as the worker hands it to a delivery handler."""

    id: str
    """Stable id: the ``webhook-id``."""
    aggregate_type: str
    """See :class:`OutboxEvent`."""
    aggregate_id: str
    """See :class:`OutboxEvent`."""
    sequence: int
    """Position within the aggregate."""
    topic: str
    """See :class:`OutboxEvent`."""
    destination: str
    """See :class:`OutboxEvent`."""
    payload: dict[str, Any]
    """See :class:`OutboxEvent`."""
    attempts: int
    """Delivery attempts so far, this one included."""
    created_at: datetime
    """When the event was enqueued."""

    @property
    def channel(self) -> str:
        return self.destination.partition(":")[0]

    @property
    def target(self) -> str:
        return self.destination.partition(":")[2]

    @classmethod
    def from_row(cls, row: RowMapping) -> StoredEvent:
        return cls(
            id=row["id"],
            aggregate_type=row["aggregate_type"],
            aggregate_id=row["aggregate_id"],
            sequence=row["sequence"],
            topic=row["topic"],
            destination=row["destination"],
            payload=dict(row["payload"]),
            attempts=row["attempts"],
            created_at=as_utc(row["created_at"]),
        )


_next_sequence = select(func.coalesce(func.max(outbox_events.c.sequence), 0) + 1).where(
    outbox_events.c.aggregate_type == bindparam("aggregate_type"),
    outbox_events.c.aggregate_id == bindparam("aggregate_id"),
)
_insert = insert(outbox_events)


def _row(
    event_id: str, keys: dict[str, str], sequence: int, event: OutboxEvent, moment: datetime
) -> dict[str, Any]:
    return {
        "id": event_id,
        **keys,
        "sequence": sequence,
        "topic": event.topic,
        "destination": event.destination,
        "payload": dict(event.payload),
        "status": "pending",
        "attempts": 0,
        "next_attempt_at": moment,
        "created_at": moment,
    }


async def enqueue(
    conn: AsyncConnection, event: OutboxEvent, *, now: datetime | None = None, first: bool = False
) -> str:
    """Add ``event`` to the outbox inside the caller's transaction; return its id (the webhook-id).

    Nothing is delivered unless the caller's transaction commits, and nothing the caller commits is
    left unannounced. Two transactions adding to one aggregate at once (PostgreSQL) can race for
    the same sequence number; the loser retries inside a savepoint.

    ``first``: the aggregate was created in this very transaction and this is its first event, so
    no other transaction can know its id yet: sequence 1, one INSERT (the hot path of a transfer
    saves three round trips per event).
    """
    moment = now or utcnow()
    event_id = new_event_id()
    keys = {"aggregate_type": event.aggregate_type, "aggregate_id": event.aggregate_id}
    if first:
        await conn.execute(_insert, _row(event_id, keys, 1, event, moment))
        return event_id
    for attempt in range(_SEQUENCE_RETRIES):
        sequence = (await conn.execute(_next_sequence, keys)).scalar_one()
        values = _row(event_id, keys, sequence, event, moment)
        if conn.dialect.name == "sqlite":  # writers are serialised: no race to lose
            await conn.execute(_insert, values)
            return event_id
        try:
            async with conn.begin_nested():
                await conn.execute(_insert, values)
            return event_id
        except IntegrityError:
            if attempt == _SEQUENCE_RETRIES - 1:
                raise
    raise AssertionError("unreachable")
