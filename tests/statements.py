"""Which SQL statements a block of test code sends: the round-trip and statement-count tests share it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

Keep = Callable[[Any], bool]
"""Whether to record a statement, given its execution context."""


@asynccontextmanager
async def _recording(engine: AsyncEngine, keep: Keep) -> AsyncIterator[list[str]]:
    """The statements ``engine`` sends inside the block that ``keep`` accepts, whitespace collapsed."""
    recorded: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, _params: Any, context: Any, _many: bool) -> None:
        if keep(context):
            recorded.append(" ".join(statement.split()))

    event.listen(engine.sync_engine, "before_cursor_execute", record)
    try:
        yield recorded
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", record)


def statements_run(engine: AsyncEngine) -> AbstractAsyncContextManager[list[str]]:
    """Every statement ``engine`` sends inside the block, its whitespace collapsed, in order."""
    return _recording(engine, lambda _context: True)


def _compiled_anew(context: Any) -> bool:
    if context is None:
        # Sent by sqldirect, which compiles each statement once per process, never per call.
        return False
    dialect = context.dialect
    return getattr(context, "cache_hit", None) in (dialect.CACHE_MISS, dialect.NO_CACHE_KEY)


def statements_compiled(engine: AsyncEngine) -> AbstractAsyncContextManager[list[str]]:
    """The statements ``engine`` compiled anew inside the block: those SQLAlchemy's statement cache
    did not hold (a miss) or cannot hold (no cache key). A hot path should have none once warm."""
    return _recording(engine, _compiled_anew)


def statements_through_sqlalchemy(engine: AsyncEngine) -> AbstractAsyncContextManager[list[str]]:
    """The statements ``engine`` sent through SQLAlchemy's ``execute`` inside the block (sqldirect's
    carry no execution context): a PostgreSQL hot path runs each of its statements directly."""
    return _recording(engine, lambda context: context is not None)
