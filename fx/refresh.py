"""The rate refresh job: read a source, store what is new, say what happened.

The source is read before any database transaction opens (a slow publisher never holds a
connection), then everything read is stored in one transaction. The application's scheduler and
``korpu fx refresh`` both call :func:`refresh_rates`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy.ext.asyncio import AsyncEngine

from fx.rate_store import save_bulletins
from fx.sources import RateSource

__all__ = ["RefreshReport", "refresh_rates"]


@dataclass(frozen=True, slots=True)
class RefreshReport:
    """The outcome of one refresh of one source."""

    source: str
    """Source name."""
    read: int
    """Bulletins read from the source."""
    stored: int
    """New bulletins stored."""
    duplicates: int
    """Bulletins already stored (repeated publications)."""
    conflicts: int
    """Bulletins already stored under the same date with other quotes (first kept)."""
    newest: date | None
    """The newest bulletin date read."""

    def to_json(self) -> dict[str, object]:
        return {
            "source": self.source,
            "read": self.read,
            "stored": self.stored,
            "duplicates": self.duplicates,
            "conflicts": self.conflicts,
            "newest": self.newest.isoformat() if self.newest else None,
        }


async def refresh_rates(engine: AsyncEngine, source: RateSource, now: datetime) -> RefreshReport:
    """Read ``source`` and store its new bulletins as fetched at ``now``; raises RateFeedError."""
    read = await source.fetch()
    async with engine.begin() as connection:
        saved = await save_bulletins(connection, read, fetched_at=now)
    return RefreshReport(
        source=source.name,
        read=len(read),
        stored=saved.stored,
        duplicates=saved.duplicates,
        conflicts=saved.conflicts,
        newest=max((b.bulletin_date for b in read), default=None),
    )
