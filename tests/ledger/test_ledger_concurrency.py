"""Concurrency on real PostgreSQL: no overdraft, no deadlock reaching a caller, one entry per id."""

from __future__ import annotations

import asyncio
from collections import Counter

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from ledger.balances import balance
from ledger.batching import Batcher
from ledger.journal import post_entry
from ledger.model import Entry, EntryRequest
from ledger.retry import in_transaction
from ledger.tables import entries
from ledger.verify import verify
from tests.ledger.helpers import ALICE, BANK, BOB, open_basic_accounts, transfer, tx, usd

pytestmark = pytest.mark.postgres_only


async def _fund(engine: AsyncEngine, account: str, amount: str) -> None:
    async def work(conn: AsyncConnection) -> None:
        await post_entry(conn, transfer(BANK, account, usd(amount)))

    await tx(engine, work)


async def _posted(engine: AsyncEngine, account: str) -> str:
    async def work(conn: AsyncConnection) -> str:
        return str((await balance(conn, account)).posted.amount)

    return await tx(engine, work)


async def _verified(engine: AsyncEngine) -> list[str]:
    async def work(conn: AsyncConnection) -> list[str]:
        return [str(violation) for violation in (await verify(conn)).violations]

    return await tx(engine, work)


async def _outcomes(calls: list[asyncio.Future[Entry]] | list[object]) -> Counter[str]:
    results = await asyncio.gather(*calls, return_exceptions=True)  # type: ignore[arg-type]
    return Counter(type(result).__name__ for result in results)


@pytest.mark.parametrize("batched", [False, True], ids=["own-transactions", "batcher"])
async def test_200_concurrent_debits_of_a_100_balance(engine: AsyncEngine, batched: bool) -> None:
    await open_basic_accounts(engine)
    await _fund(engine, ALICE, "100.00")
    batcher = Batcher(engine)
    lowest: list[str] = []
    done = asyncio.Event()

    async def debit() -> Entry:
        request = transfer(ALICE, BOB, usd("1.00"))
        if batched:
            return await batcher.post(request)

        async def work(conn: AsyncConnection) -> Entry:
            return await post_entry(conn, request)

        return await in_transaction(engine, work)

    async def watch() -> None:
        while not done.is_set():
            lowest.append(await _posted(engine, ALICE))
            await asyncio.sleep(0.005)

    watcher = asyncio.create_task(watch())
    outcomes = await _outcomes([debit() for _ in range(200)])
    done.set()
    await watcher
    assert outcomes == Counter({"Entry": 100, "InsufficientFunds": 100})
    assert await _posted(engine, ALICE) == "0.00"
    assert await _posted(engine, BOB) == "100.00"
    assert all(not value.startswith("-") for value in lowest)
    assert await _verified(engine) == []


async def test_transfers_both_ways_between_the_same_accounts(engine: AsyncEngine) -> None:
    await open_basic_accounts(engine)
    await _fund(engine, ALICE, "1000.00")
    await _fund(engine, BOB, "1000.00")
    batcher = Batcher(engine)

    async def one_way(index: int) -> Entry:
        source, target = (ALICE, BOB) if index % 2 else (BOB, ALICE)
        request = transfer(source, target, usd("3.00"))
        if index % 3 == 0:
            return await batcher.post(request)

        async def work(conn: AsyncConnection) -> Entry:
            return await post_entry(conn, request)

        return await in_transaction(engine, work)

    outcomes = await _outcomes([one_way(index) for index in range(200)])
    assert outcomes == Counter({"Entry": 200})
    assert await _posted(engine, ALICE) == "1000.00"
    assert await _posted(engine, BOB) == "1000.00"


async def test_opposite_lock_orders_in_one_transaction_are_retried_not_reported(engine: AsyncEngine) -> None:
    """Two entries per transaction, in opposite orders: real deadlocks, which the retry absorbs."""
    await open_basic_accounts(engine)
    await _fund(engine, ALICE, "1000.00")
    await _fund(engine, BOB, "1000.00")
    runs = 0

    async def pair(index: int) -> None:
        first, second = (ALICE, BOB) if index % 2 else (BOB, ALICE)

        async def work(conn: AsyncConnection) -> None:
            nonlocal runs
            runs += 1
            # Detect deadlocks quickly so that the test is quick.
            await conn.execute(text("SET LOCAL deadlock_timeout = '20ms'"))
            await post_entry(conn, transfer(first, "revenue:fees:USD", usd("1.00")))
            await asyncio.sleep(0.01)  # hold the first lock while the other side takes its own
            await post_entry(conn, transfer(second, "revenue:fees:USD", usd("1.00")))

        await in_transaction(engine, work, attempts=50)  # a deadlock error would surface here

    await asyncio.gather(*(pair(index) for index in range(40)))
    assert runs > 40  # some transactions did deadlock, and were run again
    assert await _posted(engine, ALICE) == "960.00"
    assert await _posted(engine, BOB) == "960.00"
    assert await _posted(engine, "revenue:fees:USD") == "80.00"
    assert await _verified(engine) == []


@pytest.mark.parametrize("batched", [False, True], ids=["own-transactions", "batcher"])
async def test_the_same_entry_submitted_50_times_at_once_is_stored_once(
    engine: AsyncEngine, batched: bool
) -> None:
    await open_basic_accounts(engine)
    await _fund(engine, ALICE, "100.00")
    request: EntryRequest = transfer(ALICE, BOB, usd("60.00"))
    batcher = Batcher(engine)

    async def submit() -> Entry:
        if batched:
            return await batcher.post(request)

        async def work(conn: AsyncConnection) -> Entry:
            return await post_entry(conn, request)

        return await in_transaction(engine, work)

    results = await asyncio.gather(*(submit() for _ in range(50)))
    assert {entry.seq for entry in results} == {results[0].seq}
    assert sum(not entry.replayed for entry in results) == 1

    async def stored(conn: AsyncConnection) -> int:
        query = select(func.count()).select_from(entries).where(entries.c.id == request.id)
        return int((await conn.execute(query)).scalar_one())

    assert await tx(engine, stored) == 1
    assert await _posted(engine, ALICE) == "40.00"
