"""Retrying a transaction that the database gave up on: serialization failures and deadlocks.

On PostgreSQL (and the PostgreSQL-compatible distributed engines the design allows for) a
transaction may be aborted with SQLSTATE 40001 (serialization failure) or 40P01 (deadlock
detected); running it again from the start is correct and expected. The ledger's own batch
function takes its locks in one global order, so it does not deadlock with itself, but callers'
other writes in the same transaction might, and distributed engines abort on conflicts.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from typing import TypeVar

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

__all__ = ["RETRYABLE_SQLSTATES", "backoff", "in_transaction", "is_retryable"]

T = TypeVar("T")

RETRYABLE_SQLSTATES = frozenset({"40001", "40P01"})
"""serialization_failure, deadlock_detected."""


def is_retryable(error: BaseException) -> bool:
    """Whether ``error`` (a SQLAlchemy or driver exception) asks for the transaction to be rerun."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        for candidate in (current, getattr(current, "orig", None)):
            state = getattr(candidate, "sqlstate", None) or getattr(candidate, "pgcode", None)
            if state in RETRYABLE_SQLSTATES:
                return True
        current = current.__cause__
    return False


async def backoff(attempt: int) -> None:
    """Sleep a random, exponentially growing while (full jitter, 2 ms base, capped at 0.5 s)."""
    await asyncio.sleep(random.uniform(0, min(0.5, 0.002 * 2**attempt)))


async def in_transaction(
    engine: AsyncEngine, work: Callable[[AsyncConnection], Awaitable[T]], *, attempts: int = 10
) -> T:
    """Run ``work`` in a transaction, rerunning it from the start on a retryable failure.

    ``work`` must be safe to run again: everything it wrote was rolled back, but side effects
    outside the database were not.
    """
    for attempt in range(attempts):
        try:
            async with engine.begin() as conn:
                return await work(conn)
        except Exception as error:
            if not is_retryable(error) or attempt == attempts - 1:
                raise
            await backoff(attempt)
    raise AssertionError("unreachable")
