"""Stand-ins for tests that probe a mechanism directly: throw-away tables, a database's deadlock,
a group commit kept busy so that what follows queues."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import MetaData
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from backend.group_commit import GroupCommit

__all__ = ["alone", "deadlock_error", "occupy_slots", "probe_tables", "wait_until_queued"]


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


async def occupy_slots(
    commits: GroupCommit, engine: AsyncEngine, slots: int = 1
) -> tuple[asyncio.Event, asyncio.Future[Any]]:
    """Keep ``commits`` busy with ``slots`` units that wait until the returned event is set, so
    that what follows queues; the future ends with them."""
    release = asyncio.Event()

    async def blocker(conn: AsyncConnection) -> str:
        await release.wait()
        return "blocker"

    tasks = [
        asyncio.create_task(commits.run(f"blocker-{slot}", blocker, alone(engine, blocker)))
        for slot in range(slots)
    ]
    await asyncio.sleep(0.05)
    return release, asyncio.gather(*tasks)


async def wait_until_queued(commits: GroupCommit, count: int) -> None:
    """Wait until ``count`` units queue behind the busy slots."""
    async with asyncio.timeout(10):
        while commits.waiting < count:
            await asyncio.sleep(0.01)


def alone(engine: AsyncEngine, unit: Any) -> Any:
    """A group-commit unit run in a transaction of its own (where ``post_last`` posts at once): the
    ``alone`` a caller gives :meth:`GroupCommit.run`."""

    async def run() -> Any:
        async with engine.begin() as conn:
            return await unit(conn)

    return run
