"""Timestamps as the compliance tables keep them: timezone-aware UTC in, timezone-aware UTC out.

SQLite keeps ``DateTime(timezone=True)`` as naive text, so every value is brought to UTC before it
is bound (text comparisons then order correctly) and read back as UTC.
"""

from __future__ import annotations

from datetime import UTC, datetime

__all__ = ["as_utc", "utc_now"]


def utc_now() -> datetime:
    return datetime.now(UTC)


def as_utc(moment: datetime) -> datetime:
    """``moment`` in UTC; a naive value (as SQLite returns it) is taken to be UTC already."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)
