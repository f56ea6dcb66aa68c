"""Stand-ins for tests that probe a mechanism directly: throw-away tables, a database's deadlock."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy import MetaData
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

__all__ = ["deadlock_error", "probe_tables"]


@asynccontextmanager
async def probe_tables(engine: AsyncEngine, metadata: MetaData) -> AsyncIterator[AsyncEngine]:
    """``metadata``'s tables created for the block and dropped after it."""
    async with engine.begin() as conn:
        await conn.run_sync(metadata.create_all)
    try:
        yield engine
    finally:
        async with engine.begin() as conn:
            await conn.run_sync(metadata.drop_all)


def deadlock_error() -> DBAPIError:
    """The error SQLAlchemy raises when PostgreSQL aborts a transaction as a deadlock (40P01)."""
    error = DBAPIError("SELECT", {}, Exception("deadlock detected"))
    error.orig.sqlstate = "40P01"  # type: ignore[union-attr]
    return error
