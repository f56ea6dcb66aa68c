"""The append-only audit trail: every staff action and every compliance decision, in order.

Rows are never updated or deleted: triggers refuse UPDATE and DELETE on both SQLite and
PostgreSQL (created by migration 0005). Each row also carries a SHA-256 chain hash over its own
content and the previous row's hash, so a row altered with the triggers disabled, or removed from
the middle, breaks the chain that :func:`verify_chain` walks. The chain is written under the
database's write lock on SQLite and with an advisory transaction lock on PostgreSQL, which is
affordable because staff actions are rare (this is not a hot path).

Actors are written as ``staff:<id>``, ``customer:<id>``, ``partner:<id>`` or ``system:<job>``;
details hold identifiers and decisions, never personal data in clear.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    DateTime,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    insert,
    select,
    text,
)
from sqlalchemy.ext.asyncio import AsyncConnection

from ledger.sqltypes import NAMING_CONVENTION

__all__ = ["AuditEvent", "audit_events", "metadata", "read_audit", "record_audit", "verify_chain"]

metadata = MetaData(naming_convention=NAMING_CONVENTION)

audit_events = Table(
    "audit_events",
    metadata,
    # BIGINT on PostgreSQL; INTEGER on SQLite, where only that spelling aliases the rowid.
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("occurred_at", DateTime(timezone=True), nullable=False),
    Column("actor", String(80), nullable=False),
    Column("action", String(80), nullable=False),
    Column("subject_type", String(40), nullable=False),
    Column("subject_id", String(80), nullable=False),
    Column("reason", Text, nullable=True),
    Column("details", JSON, nullable=True),
    Column("chain_hash", String(64), nullable=False),
    Index("ix_audit_events_subject", "subject_type", "subject_id", "id"),
    Index("ix_audit_events_actor", "actor", "id"),
)

_AUDIT_LOCK_KEY = 0x4B4F525055  # "KORPU": one advisory lock id for the audit chain
_last_hash = select(audit_events.c.chain_hash).order_by(audit_events.c.id.desc()).limit(1)
_insert = insert(audit_events)


@dataclass(frozen=True, slots=True)
class AuditEvent:
    id: int
    occurred_at: datetime
    actor: str
    action: str
    subject_type: str
    subject_id: str
    reason: str | None
    details: dict[str, Any] | None


def _chain(
    previous: str,
    occurred_at: datetime,
    actor: str,
    action: str,
    subject_type: str,
    subject_id: str,
    reason: str | None,
    details: dict[str, Any] | None,
) -> str:
    canonical = json.dumps(
        [
            previous,
            occurred_at.astimezone(UTC).isoformat(),
            actor,
            action,
            subject_type,
            subject_id,
            reason,
            details,
        ],
        sort_keys=True,
        separators=(",", ":"),
        default=str,
        ensure_ascii=False,
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


async def record_audit(
    conn: AsyncConnection,
    actor: str,
    action: str,
    subject_type: str,
    subject_id: str,
    reason: str | None = None,
    details: dict[str, Any] | None = None,
    *,
    now: datetime | None = None,
) -> None:
    """Append one event in the caller's transaction."""
    if conn.dialect.name == "postgresql":
        await conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _AUDIT_LOCK_KEY})
    occurred_at = now or datetime.now(UTC)
    previous = (await conn.execute(_last_hash)).scalar_one_or_none() or ""
    await conn.execute(
        _insert,
        {
            "occurred_at": occurred_at,
            "actor": actor,
            "action": action,
            "subject_type": subject_type,
            "subject_id": subject_id,
            "reason": reason,
            "details": details,
            "chain_hash": _chain(
                previous, occurred_at, actor, action, subject_type, subject_id, reason, details
            ),
        },
    )


async def read_audit(
    conn: AsyncConnection,
    *,
    subject_type: str | None = None,
    subject_id: str | None = None,
    actor: str | None = None,
    before_id: int | None = None,
    limit: int = 50,
) -> list[AuditEvent]:
    """Newest first, filtered; ``before_id`` is the cursor."""
    query = select(audit_events).order_by(audit_events.c.id.desc()).limit(limit)
    if subject_type is not None:
        query = query.where(audit_events.c.subject_type == subject_type)
    if subject_id is not None:
        query = query.where(audit_events.c.subject_id == subject_id)
    if actor is not None:
        query = query.where(audit_events.c.actor == actor)
    if before_id is not None:
        query = query.where(audit_events.c.id < before_id)
    rows = (await conn.execute(query)).mappings()
    return [
        AuditEvent(
            id=row["id"],
            occurred_at=row["occurred_at"],
            actor=row["actor"],
            action=row["action"],
            subject_type=row["subject_type"],
            subject_id=row["subject_id"],
            reason=row["reason"],
            details=row["details"],
        )
        for row in rows
    ]


async def verify_chain(conn: AsyncConnection) -> int | None:
    """The id of the first event whose chain hash does not verify, or ``None`` when all do."""
    previous = ""
    result = await conn.stream(select(audit_events).order_by(audit_events.c.id))
    async for row in result.mappings():
        occurred_at = row["occurred_at"]
        if occurred_at.tzinfo is None:  # SQLite returns naive datetimes
            occurred_at = occurred_at.replace(tzinfo=UTC)
        expected = _chain(
            previous,
            occurred_at,
            row["actor"],
            row["action"],
            row["subject_type"],
            row["subject_id"],
            row["reason"],
            row["details"],
        )
        if expected != row["chain_hash"]:
            return int(row["id"])
        previous = row["chain_hash"]
    return None
