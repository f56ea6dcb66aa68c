"""The transactional outbox table: events written in the same transaction as the state they announce."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Column,
    DateTime,
    Index,
    Integer,
    String,
    Table,
    UniqueConstraint,
)

from backend.schema import metadata

__all__ = ["outbox_events"]

outbox_events = Table(
    "outbox_events",
    metadata,
    Column("id", String(40), primary_key=True),  # Stable across retries: the webhook-id.
    Column("aggregate_type", String(40), nullable=False),
    Column("aggregate_id", String(64), nullable=False),
    Column("sequence", Integer, nullable=False),  # 1, 2, ... per aggregate: delivery order.
    Column("topic", String(80), nullable=False),
    Column("destination", String(200), nullable=False),  # channel:target, e.g. webhook:ptn_...
    Column("payload", JSON, nullable=False),
    Column("status", String(10), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_at", DateTime(timezone=True), nullable=False),
    Column("locked_by", String(64)),
    Column("locked_until", DateTime(timezone=True)),
    Column("last_error", String(1000)),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("delivered_at", DateTime(timezone=True)),
    Column("dead_at", DateTime(timezone=True)),
    UniqueConstraint("aggregate_type", "aggregate_id", "sequence"),
    CheckConstraint("status IN ('pending', 'delivered', 'dead')", name="status"),
    CheckConstraint("attempts >= 0", name="attempts"),
    Index("ix_outbox_events_due", "status", "next_attempt_at"),
    Index("ix_outbox_events_stream", "aggregate_type", "aggregate_id", "destination", "sequence"),
)
