"""Group commit: concurrent callers share transactions, yet each gets its own outcome."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, func, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from ledger.balances import balance
from ledger.batching import Batcher, BatcherConfig
from ledger.errors import InsufficientFunds
from ledger.journal import post_entry
from ledger.model import Entry
from ledger.tables import entries
from tests.ledger.helpers import ALICE, BANK, BOB, open_basic_accounts, transfer, tx, usd

_scratch = MetaData()
outbox = Table(
    "test_batch_outbox", _scratch, Column("id", Integer, primary_key=True), Column("note", String(50))
)


class Retryable(Exception):
    sqlstate = "40001"


async def _setup(engine: AsyncEngine) -> None:
    await open_basic_accounts(engine)

    async def work(conn: AsyncConnection) -> None:
        await conn.run_sync(lambda sync: _scratch.create_all(sync))
        await post_entry(conn, transfer(BANK, ALICE, usd("10.00")))

    await tx(engine, work)


async def _notes(engine: AsyncEngine) -> list[str]:
    async def work(conn: AsyncConnection) -> list[str]:
        return sorted(row[0] for row in await conn.execute(select(outbox.c.note)))

    return await tx(engine, work)


async def _posted(engine: AsyncEngine, account: str) -> str:
    async def work(conn: AsyncConnection) -> str:
        return str((await balance(conn, account)).posted.amount)

    return await tx(engine, work)


@pytest.fixture
async def scratch_engine(engine: AsyncEngine) -> AsyncEngine:
    await _setup(engine)
    yield engine  # type: ignore[misc]

    async def drop(conn: AsyncConnection) -> None:
        await conn.run_sync(lambda sync: _scratch.drop_all(sync))

    await tx(engine, drop)


async def test_one_transaction_serves_many_callers_each_with_its_own_result(
    scratch_engine: AsyncEngine,
) -> None:
    engine = scratch_engine
    batcher = Batcher(engine, BatcherConfig(max_in_flight=1))

    async def then(conn: AsyncConnection, entry: Entry) -> str:
        await conn.execute(outbox.insert().values(note=str(entry.postings[0].amount)))
        return f"outbox for {entry.id}"

    calls = [batcher.post_with(transfer(ALICE, BOB, usd(f"{amount}.00")), then) for amount in (4, 5, 3, 2)]
    results = await asyncio.gather(*calls, return_exceptions=True)
    # 4 + 5 fit in 10.00; 3 does not fit in what is left (1.00); 2 does not either.
    assert [type(result).__name__ for result in results] == [
        "tuple",
        "tuple",
        "InsufficientFunds",
        "InsufficientFunds",
    ]
    entry, note = results[0]  # type: ignore[misc]
    assert note == f"outbox for {entry.id}"
    assert await _notes(engine) == ["4.00 USD", "5.00 USD"]  # refused entries ran no ``then``
    assert batcher.batches <= 2  # the first caller alone, then the other three together
    await batcher.close()


async def test_a_failing_then_costs_only_its_own_caller(scratch_engine: AsyncEngine) -> None:
    engine = scratch_engine
    batcher = Batcher(engine, BatcherConfig(max_in_flight=1))

    async def good(conn: AsyncConnection, entry: Entry) -> None:
        await conn.execute(outbox.insert().values(note="good"))

    async def bad(conn: AsyncConnection, entry: Entry) -> None:
        await conn.execute(outbox.insert().values(note="bad"))
        raise ValueError("the caller's own rows are refused")

    results = await asyncio.gather(
        batcher.post_with(transfer(ALICE, BOB, usd("1.00")), good),
        batcher.post_with(transfer(ALICE, BOB, usd("2.00")), bad),
        batcher.post_with(transfer(ALICE, BOB, usd("3.00")), good),
        return_exceptions=True,
    )
    assert isinstance(results[1], ValueError)
    assert [type(result).__name__ for result in results] == ["tuple", "ValueError", "tuple"]
    assert await _notes(engine) == ["good", "good"]
    # The failed caller's entry was rolled back with its rows: Alice paid 1 + 3 only.
    assert await _posted(engine, ALICE) == "6.00"


async def test_generic_units_run_under_their_own_savepoint(scratch_engine: AsyncEngine) -> None:
    engine = scratch_engine
    batcher = Batcher(engine, BatcherConfig(max_in_flight=1))

    async def ok(conn: AsyncConnection) -> int:
        await post_entry(conn, transfer(ALICE, BOB, usd("1.00")))
        await conn.execute(outbox.insert().values(note="ok"))
        return 1

    async def fails(conn: AsyncConnection) -> int:
        await conn.execute(outbox.insert().values(note="rolled back"))
        await post_entry(conn, transfer(ALICE, BOB, usd("1000.00")))
        return 2

    results = await asyncio.gather(
        batcher.run(ok), batcher.run(fails), batcher.run(ok), return_exceptions=True
    )
    assert results[0] == 1
    assert isinstance(results[1], InsufficientFunds)
    assert results[2] == 1
    assert await _notes(engine) == ["ok", "ok"]
    assert await _posted(engine, BOB) == "2.00"


async def test_a_retryable_failure_reruns_the_batch_once_for_everyone(scratch_engine: AsyncEngine) -> None:
    engine = scratch_engine
    batcher = Batcher(engine, BatcherConfig(max_in_flight=1))
    failures = [Retryable("could not serialize access")]
    request = transfer(ALICE, BOB, usd("1.00"))

    async def flaky(conn: AsyncConnection, entry: Entry) -> None:
        await conn.execute(outbox.insert().values(note="flaky"))
        if failures:
            raise failures.pop()

    async def other(conn: AsyncConnection, entry: Entry) -> None:
        await conn.execute(outbox.insert().values(note="other"))

    first, _ = await asyncio.gather(
        batcher.post_with(request, flaky), batcher.post_with(transfer(ALICE, BOB, usd("2.00")), other)
    )
    assert not first[0].replayed  # the rerun wrote it afresh: the first try was rolled back
    assert await _notes(engine) == ["flaky", "other"]
    assert await _posted(engine, BOB) == "3.00"

    async def count(conn: AsyncConnection) -> int:
        return int((await conn.execute(select(func.count()).select_from(entries))).scalar_one())

    assert await tx(engine, count) == 3  # funding and the two transfers


async def test_results_arrive_only_after_commit(scratch_engine: AsyncEngine) -> None:
    engine = scratch_engine
    batcher = Batcher(engine)
    request = transfer(ALICE, BOB, usd("1.00"))
    entry = await batcher.post(request)

    async def stored(conn: AsyncConnection) -> int:
        query = select(func.count()).select_from(entries).where(entries.c.id == request.id)
        return int((await conn.execute(query)).scalar_one())

    # A fresh connection sees the entry as soon as the caller has its result.
    assert await tx(engine, stored) == 1
    assert entry.id == request.id
    assert (await batcher.post(request)).replayed


async def test_waiting_callers_are_split_evenly_over_the_batch_slots(scratch_engine: AsyncEngine) -> None:
    """Sixteen callers posting in a loop settle into two batches of eight, never into dribbles."""
    engine = scratch_engine
    batcher = Batcher(engine, BatcherConfig(max_in_flight=2))
    sizes: list[int] = []
    run = batcher._run

    async def counted(units: list[object]) -> None:
        sizes.append(len(units))
        await run(units)  # type: ignore[arg-type]

    batcher._run = counted  # type: ignore[method-assign]

    posted = 0

    async def caller() -> None:
        nonlocal posted
        while posted < 160:  # every caller stays until the end, as under steady load
            await batcher.post(transfer(BANK, ALICE, usd("0.01")))
            posted += 1

    await asyncio.gather(*(caller() for _ in range(16)))
    # Callers leave one by one once the budget is spent, so the last two batches may be smaller.
    assert set(sizes[:-2]) == {8} and len(sizes) >= 20, sizes
    assert await _posted(engine, ALICE) == str(Decimal("10.00") + Decimal("0.01") * posted)


async def test_a_caller_that_gives_up_does_not_stall_the_batcher(scratch_engine: AsyncEngine) -> None:
    """A cancelled caller's unit still runs once (it is idempotent), and the Batcher goes idle."""
    engine = scratch_engine
    batcher = Batcher(engine, BatcherConfig(max_in_flight=1))
    gave_up = asyncio.ensure_future(batcher.post(transfer(BANK, ALICE, usd("0.01"))))
    await asyncio.sleep(0)  # queued, its batch not yet taken
    gave_up.cancel()
    await asyncio.wait_for(batcher.close(), timeout=10)  # no drain left spinning over the queue
    assert await _posted(engine, ALICE) == "10.01"
    entry = await asyncio.wait_for(batcher.post(transfer(BANK, ALICE, usd("0.02"))), timeout=10)
    assert entry.id is not None
    assert await _posted(engine, ALICE) == "10.03"
