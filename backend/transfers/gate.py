"""How many of this process's transactions may hold hot ledger accounts at once.

Every transfer writes the same hot accounts (fee revenue, FX positions, the partner's payable).
The ledger spreads each over :data:`ledger.accounts.HOT_ACCOUNT_SHARDS` shard rows and picks a
free one without waiting, as long as fewer transactions hold them than there are shards. A
transfer posts its ledger entry as the last write of its transaction, so it holds a shard only
from that statement to its commit; :class:`LedgerGate` lets at most ``slots`` transactions of the
process into that stretch at once (the rest queue in the process, not on row locks in the
database, where a queue of waiters each holding another account's shard turns into a convoy).

:func:`run_gated` runs one unit of work in a transaction of its own, rerun on a deadlock or a
serialization failure; the unit calls the ``enter`` it is given right before its ledger writes,
and the slot is given back once the transaction has committed or rolled back.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from ledger.retry import backoff, is_retryable

__all__ = ["Enter", "LedgerGate", "run_gated"]

T = TypeVar("T")
Enter = Callable[[], Awaitable[None]]
"""Called by a unit right before its ledger writes; waits for a slot."""

ATTEMPTS = 10
"""Runs of a transaction that keeps hitting deadlocks or serialization failures."""


class LedgerGate:
    """A per-process limit on transactions between their ledger writes and their commit."""

    def __init__(self, slots: int) -> None:
        if slots < 1:
            raise ValueError("a ledger gate has at least one slot")
        self.slots = slots
        self._free = asyncio.Semaphore(slots)

    async def acquire(self) -> None:
        await self._free.acquire()

    def release(self) -> None:
        self._free.release()


async def run_gated(
    engine: AsyncEngine, gate: LedgerGate, work: Callable[[AsyncConnection, Enter], Awaitable[T]]
) -> T:
    """Run ``work`` in a transaction of its own; see the module docstring."""
    for attempt in range(ATTEMPTS):
        entered = False

        async def enter() -> None:
            nonlocal entered
            if not entered:
                await gate.acquire()
                entered = True

        try:
            async with engine.begin() as conn:
                return await work(conn, enter)
        except Exception as error:
            if not is_retryable(error) or attempt == ATTEMPTS - 1:
                raise
        finally:
            if entered:
                gate.release()
        await backoff(attempt)
    raise AssertionError("unreachable")
