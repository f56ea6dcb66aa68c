"""Operating the outbox: list events by status (dead letters first of all), re-drive a dead event.

Re-driving puts a dead event back in the queue with a fresh attempt budget and the same id, so the
receiver still recognises it as the event it may have half-seen before; the stream it was holding
back resumes once it is delivered.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from backend.clock import as_utc, utcnow
from backend.outbox.tables import outbox_events

__all__ = ["EventNotDead", "EventNotFound", "EventSummary", "count_by_status", "list_events", "redrive"]


class EventNotDead(Exception):
    """Only dead events can be re-driven."""

    code = "event_not_dead"
    status = 409


class EventNotFound(Exception):
    code = "event_not_found"
    status = 404


@dataclass(frozen=True, slots=True)
class EventSummary:
    """What an operator sees of an event."""

    id: str
    """The event id (webhook-id)."""
    aggregate: str
    """``type:id`` of the aggregate."""
    sequence: int
    """Position within the aggregate."""
    topic: str
    """Event type."""
    destination: str
    """``channel:target``."""
    status: str
    """``pending``, ``delivered`` or ``dead``."""
    attempts: int
    """Attempts so far."""
    last_error: str | None
    """Why the last attempt failed."""
    created_at: datetime
    """Enqueued at."""
    next_attempt_at: datetime
    """Next try (pending events)."""

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "aggregate": self.aggregate,
            "sequence": self.sequence,
            "topic": self.topic,
            "destination": self.destination,
            "status": self.status,
            "attempts": self.attempts,
            "lastError": self.last_error,
            "createdAt": self.created_at.isoformat(),
            "nextAttemptAt": self.next_attempt_at.isoformat(),
        }


_list = (
    select(outbox_events)
    .where(outbox_events.c.status == bindparam("status"), outbox_events.c.id > bindparam("after"))
    .order_by(outbox_events.c.id)
    .limit(bindparam("limit"))
)
_redrive = (
    update(outbox_events)
    .where(outbox_events.c.id == bindparam("event_id"), outbox_events.c.status == "dead")
    .values(
        status="pending",
        attempts=0,
        next_attempt_at=bindparam("now"),
        dead_at=None,
        locked_by=None,
        locked_until=None,
    )
)
_counts = select(outbox_events.c.status, func.count()).group_by(outbox_events.c.status)


async def list_events(
    conn: AsyncConnection, status: str = "dead", *, limit: int = 50, after: str = ""
) -> tuple[list[EventSummary], str | None]:
    """A page of events in ``status`` ordered by id; returns the page and the cursor of the next one."""
    rows = (
        (await conn.execute(_list, {"status": status, "after": after, "limit": limit + 1})).mappings().all()
    )
    page = [
        EventSummary(
            id=row["id"],
            aggregate=f"{row['aggregate_type']}:{row['aggregate_id']}",
            sequence=row["sequence"],
            topic=row["topic"],
            destination=row["destination"],
            status=row["status"],
            attempts=row["attempts"],
            last_error=row["last_error"],
            created_at=as_utc(row["created_at"]),
            next_attempt_at=as_utc(row["next_attempt_at"]),
        )
        for row in rows[:limit]
    ]
    return page, (page[-1].id if len(rows) > limit else None)


async def redrive(conn: AsyncConnection, event_id: str, *, now: datetime | None = None) -> None:
    """Queue the dead event ``event_id`` again (same id, fresh attempts)."""
    result = await conn.execute(_redrive, {"event_id": event_id, "now": now or utcnow()})
    if result.rowcount:
        return
    exists = (
        await conn.execute(select(outbox_events.c.status).where(outbox_events.c.id == event_id))
    ).first()
    if exists is None:
        raise EventNotFound(f"no outbox event {event_id}")
    raise EventNotDead(f"event {event_id} is {exists[0]}, not dead")


async def count_by_status(conn: AsyncConnection) -> dict[str, int]:
    counts = {"pending": 0, "delivered": 0, "dead": 0}
    for status, count in (await conn.execute(_counts)).all():
        counts[status] = count
    return counts
