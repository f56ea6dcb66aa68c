"""The one-statement path on PostgreSQL: all accepted and committed in one round trip, or nothing
written and the batch handed back to the transactional path."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from ledger.balances import balance
from ledger.errors import EntryConflict, InvalidEntry
from ledger.journal import post_entries_at_once, post_entry
from ledger.model import Entry, EntryRequest
from ledger.tables import entries, open_holds
from tests.ledger.helpers import ALICE, BANK, BOB, FEES, open_basic_accounts, transfer, tx, usd

pytestmark = pytest.mark.postgres_only


async def _setup(engine: AsyncEngine) -> None:
    await open_basic_accounts(engine)

    async def fund(conn: AsyncConnection) -> None:
        await post_entry(conn, transfer(BANK, ALICE, usd("10.00")))

    await tx(engine, fund)


async def _count(engine: AsyncEngine, table: object) -> int:
    async def work(conn: AsyncConnection) -> int:
        return int((await conn.execute(select(func.count()).select_from(table))).scalar_one())  # type: ignore[arg-type]

    return await tx(engine, work)


async def _posted(engine: AsyncEngine, account: str) -> str:
    async def work(conn: AsyncConnection) -> str:
        return str((await balance(conn, account)).posted.amount)

    return await tx(engine, work)


async def test_a_batch_that_fits_is_written_in_one_statement(engine: AsyncEngine) -> None:
    await _setup(engine)
    hold = transfer(ALICE, FEES, usd("2.00"), pending=True)
    requests = [
        transfer(ALICE, BOB, usd("3.00")),
        EntryRequest(
            id=uuid.uuid4(), postings=[(ALICE, "debit", usd("5.00")), (FEES, "credit", usd("5.00"))]
        ),
        hold,
        transfer(BOB, ALICE, usd("0.00")),  # refused before the database: does not stop the others
    ]
    results = await post_entries_at_once(engine, requests)
    assert results is not None
    assert [type(result).__name__ for result in results] == ["Entry", "Entry", "Entry", "InvalidEntry"]
    assert isinstance(results[3], InvalidEntry)
    assert await _posted(engine, ALICE) == "2.00"
    assert await _posted(engine, FEES) == "5.00"
    assert await _count(engine, open_holds) == 1  # the hold is open
    first = results[0]
    assert isinstance(first, Entry)
    assert [(p.account_code, str(p.amount)) for p in first.postings] == [
        (ALICE, "3.00 USD"),
        (BOB, "3.00 USD"),
    ]


async def test_a_batch_with_a_refusal_writes_nothing_and_is_handed_back(engine: AsyncEngine) -> None:
    await _setup(engine)
    before = await _count(engine, entries)
    requests = [
        transfer(ALICE, BOB, usd("6.00")),
        transfer(ALICE, BOB, usd("6.00")),  # 12.00 in all: more than Alice has
    ]
    assert await post_entries_at_once(engine, requests) is None
    assert await _count(engine, entries) == before
    assert await _posted(engine, ALICE) == "10.00"


async def test_credits_earlier_in_the_batch_count_and_later_ones_do_not(engine: AsyncEngine) -> None:
    await _setup(engine)
    # In order: Bob gets 10.00 then spends 15.00 of his 10.00: refused, so nothing is written.
    assert (
        await post_entries_at_once(
            engine, [transfer(ALICE, BOB, usd("10.00")), transfer(BOB, ALICE, usd("15.00"))]
        )
        is None
    )
    # Bob spends 5.00 of the 10.00 he received just before in the same batch: accepted.
    results = await post_entries_at_once(
        engine, [transfer(ALICE, BOB, usd("10.00")), transfer(BOB, FEES, usd("5.00"))]
    )
    assert results is not None
    assert await _posted(engine, BOB) == "5.00"


async def test_ids_already_used_are_handed_back(engine: AsyncEngine) -> None:
    await _setup(engine)
    request = transfer(ALICE, BOB, usd("1.00"))
    assert await post_entries_at_once(engine, [request]) is not None
    assert await post_entries_at_once(engine, [request]) is None  # a replay: the usual path answers it
    assert await post_entries_at_once(engine, [request, request]) is None
    changed = EntryRequest(id=request.id, postings=request.postings, metadata={"other": True})

    async def conflict(conn: AsyncConnection) -> None:
        with pytest.raises(EntryConflict):
            await post_entry(conn, changed)

    await tx(engine, conflict)


async def test_several_holds_in_a_callers_transaction_take_one_statement(engine: AsyncEngine) -> None:
    """A group commit's holds: one statement in the caller's transaction when all are accepted; when
    one is refused, the usual path gives it its error and takes the others."""
    from ledger.errors import InsufficientFunds
    from ledger.journal import post_entries
    from tests.statements import statements_run

    await _setup(engine)
    holds = [transfer(ALICE, FEES, usd("2.00"), pending=True) for _ in range(3)]
    async with statements_run(engine) as sent:

        async def post(conn: AsyncConnection) -> list[object]:
            return list(await post_entries(conn, holds))

        results = await tx(engine, post)
    assert [type(result).__name__ for result in results] == ["Entry"] * 3
    assert len([sql for sql in sent if "ledger_" in sql]) == 1, sent
    assert await _count(engine, open_holds) == 3

    too_much = [
        transfer(ALICE, FEES, usd("5.00"), pending=True),
        transfer(ALICE, FEES, usd("1.00"), pending=True),
    ]

    async def post_more(conn: AsyncConnection) -> list[object]:
        return list(await post_entries(conn, too_much))

    refused, accepted = await tx(engine, post_more)  # 4.00 left: the first is refused
    assert isinstance(refused, InsufficientFunds) and isinstance(accepted, Entry)
    assert await _count(engine, open_holds) == 4
