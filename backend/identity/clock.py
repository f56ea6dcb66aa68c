"""Time for the identity services: always timezone-aware UTC, whatever the database hands back."""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

__all__ = ["Clock", "as_utc", "seconds_until", "utc_now"]

Clock = Callable[[], datetime]
"""Returns the current moment, timezone-aware (tests pass their own)."""


def utc_now() -> datetime:
    return datetime.now(UTC)


def as_utc(moment: datetime) -> datetime:
    """``moment`` as aware UTC; SQLite returns naive datetimes for what was stored as UTC."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def seconds_until(moment: datetime, now: datetime) -> int:
    """Whole seconds from ``now`` to ``moment``, rounded up, at least 1 (for ``Retry-After``)."""
    return max(1, math.ceil((moment - now) / timedelta(seconds=1)))
