"""UTC time for services: one ``utcnow`` to pass around, and a fix for SQLite's naive timestamps.

SQLite stores ``DateTime(timezone=True)`` as text without an offset, so a value read back is naive;
every timestamp we write is UTC, so :func:`as_utc` restores the offset instead of guessing.
"""

from __future__ import annotations

from datetime import UTC, datetime

__all__ = ["as_utc", "utcnow"]


def utcnow() -> datetime:
    return datetime.now(UTC)


def as_utc(moment: datetime) -> datetime:
    """``moment`` as an aware UTC datetime (naive values are UTC by our own convention)."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)
