"""Which SQL statements a block of test code sends: the round-trip and statement-count tests share it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine


@asynccontextmanager
async def statements_run(engine: AsyncEngine) -> AsyncIterator[list[str]]:
    """Every statement ``engine`` sends inside the block, its whitespace collapsed, in order."""
    statements: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        statements.append(" ".join(statement.split()))

    event.listen(engine.sync_engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", record)


@asynccontextmanager
async def statements_compiled(engine: AsyncEngine) -> AsyncIterator[list[str]]:
    """The statements ``engine`` compiled anew inside the block: those SQLAlchemy's statement cache
    did not hold (a miss) or cannot hold (no cache key). A hot path should have none once warm."""
    compiled: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, _params: Any, context: Any, _many: bool) -> None:
        dialect = context.dialect
        if getattr(context, "cache_hit", None) in (dialect.CACHE_MISS, dialect.NO_CACHE_KEY):
            compiled.append(" ".join(statement.split()))

    event.listen(engine.sync_engine, "before_cursor_execute", record)
    try:
        yield compiled
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", record)
