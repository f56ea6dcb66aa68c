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
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection

from backend.clock import as_utc, utcnow
from backend.deferred_inserts import insert_row
from backend.outbox.tables import outbox_events
from sqldirect import direct

__all__ = ["OutboxBusy", "OutboxEvent", "StoredEvent", "enqueue", "new_event_id"]

_SEQUENCE_RETRIES = 5


def new_event_id() -> str:
    return f"msg_{uuid.uuid4().hex}"


class OutboxBusy(Exception):
    """Concurrent transactions kept taking the next sequence number of one stream (retry later)."""


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


# The next event of a stream, its sequence number computed by the INSERT itself (one round trip).
_next_in_stream = (
    select(func.coalesce(func.max(outbox_events.c.sequence), 0) + 1)
    .where(
        outbox_events.c.aggregate_type == bindparam("stream_type"),
        outbox_events.c.aggregate_id == bindparam("stream_id"),
    )
    .scalar_subquery()
)
_append = insert(outbox_events).values(sequence=_next_in_stream)
# PostgreSQL: a concurrent transaction that took the same number first makes this insert nothing
# (it waits for that one to commit), and the caller tries the next number.
_append_or_nothing = (
    postgresql.insert(outbox_events)
    .values(sequence=_next_in_stream)
    .on_conflict_do_nothing(index_elements=["aggregate_type", "aggregate_id", "sequence"])
    .returning(outbox_events.c.id)
)


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


_APPEND_OR_NOTHING = direct(_append_or_nothing)


async def enqueue(
    conn: AsyncConnection, event: OutboxEvent, *, now: datetime | None = None, first: bool = False
) -> str:
    """Add ``event`` to the outbox inside the caller's transaction; return its id (the webhook-id).

    Nothing is delivered unless the caller's transaction commits, and nothing the caller commits is
    left unannounced. Two transactions adding to one aggregate at once (PostgreSQL) can race for
    the same sequence number; the loser's insert does nothing and it takes the next one.

    ``first``: the aggregate was created in this very transaction and this is its first event, so
    no other transaction can know its id yet: sequence 1, one INSERT (the hot path of a transfer
    saves three round trips per event).
    """
    moment = now or utcnow()
    event_id = new_event_id()
    keys = {"aggregate_type": event.aggregate_type, "aggregate_id": event.aggregate_id}
    if first:
        await insert_row(conn, outbox_events, _row(event_id, keys, 1, event, moment))
        return event_id
    values = _row(event_id, keys, 0, event, moment)
    del values["sequence"]
    values |= {"stream_type": event.aggregate_type, "stream_id": event.aggregate_id}
    if conn.dialect.name != "postgresql":  # SQLite serialises writers: no race to lose
        await conn.execute(_append, values)
        return event_id
    for _ in range(_SEQUENCE_RETRIES):
        if await _APPEND_OR_NOTHING.first(conn, values) is not None:
            return event_id
    raise OutboxBusy(f"{event.aggregate_type} {event.aggregate_id}: no free sequence number after retries")
    raise AssertionError("unreachable")
