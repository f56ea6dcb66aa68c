"""The ledger's service API as a caller sees it: accounts, entries, holds, balances, history, on
SQLite and PostgreSQL."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from ledger.accounts import get_account, open_account
from ledger.balances import InvalidCursor, balance, history
from ledger.errors import (
    AccountConflict,
    AccountCurrencyMismatch,
    EntryConflict,
    HoldExpired,
    HoldNotExpired,
    HoldNotFound,
    HoldNotPending,
    InsufficientFunds,
    InvalidAmounts,
    InvalidEntry,
    LedgerError,
    UnbalancedEntry,
    UnknownAccount,
)
from ledger.journal import (
    expire_holds,
    get_entry,
    post_entries,
    post_entry,
    post_pending,
    void_pending,
)
from ledger.model import AccountFlags, EntryKind, EntryRequest, ExpirePendingRequest, Phase, Side
from ledger.tables import entries, postings
from ledger.verify import verify
from tests.ledger.helpers import (
    ALICE,
    ALICE_AZN,
    BANK,
    BANK_AZN,
    BOB,
    FEES,
    WALLET,
    azn,
    open_basic_accounts,
    transfer,
    tx,
    usd,
)


async def _fund(engine: AsyncEngine, account: str, amount: str) -> None:
    async def work(conn: AsyncConnection) -> None:
        await post_entry(conn, transfer(BANK, account, usd(amount)))

    await tx(engine, work)


async def _balance_of(engine: AsyncEngine, account: str) -> tuple[str, str, str]:
    async def work(conn: AsyncConnection) -> tuple[str, str, str]:
        found = await balance(conn, account)
        return str(found.posted.amount), str(found.pending.amount), str(found.available.amount)

    return await tx(engine, work)


async def _count(engine: AsyncEngine) -> tuple[int, int]:
    async def work(conn: AsyncConnection) -> tuple[int, int]:
        n_entries = (await conn.execute(select(func.count()).select_from(entries))).scalar_one()
        n_postings = (await conn.execute(select(func.count()).select_from(postings))).scalar_one()
        return n_entries, n_postings

    return await tx(engine, work)


async def _assert_verified(engine: AsyncEngine) -> None:
    async def work(conn: AsyncConnection) -> list[str]:
        return [str(violation) for violation in (await verify(conn)).violations]

    assert await tx(engine, work) == []


async def test_opening_an_account_is_idempotent_and_conflicts_are_refused(engine: AsyncEngine) -> None:
    async def work(conn: AsyncConnection) -> None:
        first = await open_account(conn, "customer:9:wallet:USD", "USD", Side.CREDIT, WALLET)
        again = await open_account(conn, "customer:9:wallet:USD", "USD", "credit", WALLET)
        assert again == first
        with pytest.raises(AccountConflict):
            await open_account(conn, "customer:9:wallet:USD", "AZN", Side.CREDIT, WALLET)
        with pytest.raises(AccountConflict):
            await open_account(conn, "customer:9:wallet:USD", "USD", Side.CREDIT)
        assert (await get_account(conn, first.id)).code == "customer:9:wallet:USD"
        with pytest.raises(UnknownAccount):
            await get_account(conn, "customer:404:wallet:USD")

    await tx(engine, work)


async def test_hot_accounts_are_sharded_and_limited_accounts_cannot_be(engine: AsyncEngine) -> None:
    async def work(conn: AsyncConnection) -> None:
        assert (await open_account(conn, "revenue:fees:EUR", "EUR", Side.CREDIT)).shards == 16
        assert (await open_account(conn, "partner:kapital:payable:AZN", "AZN", Side.CREDIT)).shards == 16
        assert (await open_account(conn, "customer:1:wallet:EUR", "EUR", Side.CREDIT, WALLET)).shards == 1
        with pytest.raises(InvalidEntry):
            await open_account(conn, "customer:2:wallet:EUR", "EUR", Side.CREDIT, WALLET, shards=4)

    await tx(engine, work)


async def test_posting_moves_balances_and_available(engine: AsyncEngine) -> None:
    await open_basic_accounts(engine)
    await _fund(engine, ALICE, "100.00")

    async def work(conn: AsyncConnection) -> None:
        request = EntryRequest(
            id=uuid.uuid4(),
            postings=[
                (ALICE, Side.DEBIT, usd("30.50")),
                (BOB, Side.CREDIT, usd("30.00")),
                (FEES, "credit", usd("0.50")),
            ],
            metadata={"transferId": "t-1"},
            reference="t-1",
        )
        entry = await post_entry(conn, request)
        assert entry.kind is EntryKind.STANDARD
        assert entry.reference == "t-1"
        assert [(p.account_code, p.side, p.phase, str(p.amount)) for p in entry.postings] == [
            (ALICE, Side.DEBIT, Phase.POSTED, "30.50 USD"),
            (BOB, Side.CREDIT, Phase.POSTED, "30.00 USD"),
            (FEES, Side.CREDIT, Phase.POSTED, "0.50 USD"),
        ]

    await tx(engine, work)
    assert await _balance_of(engine, ALICE) == ("69.50", "0.00", "69.50")
    assert await _balance_of(engine, BOB) == ("30.00", "0.00", "30.00")
    assert await _balance_of(engine, FEES) == ("0.50", "0.00", "0.50")
    await _assert_verified(engine)


@pytest.mark.parametrize(
    ("legs", "error"),
    [
        ([(ALICE, "debit", usd("1.00"))], InvalidEntry),
        ([(ALICE, "debit", usd("1.00")), (BOB, "credit", usd("0.99"))], UnbalancedEntry),
        ([(ALICE, "debit", usd("0")), (BOB, "credit", usd("0"))], InvalidEntry),
        ([(ALICE, "debit", usd("-1")), (BOB, "credit", usd("-1"))], InvalidEntry),
        ([(ALICE, "sideways", usd("1")), (BOB, "credit", usd("1"))], InvalidEntry),
        ([(ALICE, "debit", usd("1")), ("customer:404:wallet:USD", "credit", usd("1"))], UnknownAccount),
        ([(ALICE, "debit", azn("1")), (ALICE_AZN, "credit", azn("1"))], AccountCurrencyMismatch),
        ([(ALICE, "debit", usd("500")), (BOB, "credit", usd("500"))], InsufficientFunds),
    ],
)
async def test_refused_entries_change_nothing(
    engine: AsyncEngine, legs: list[tuple[str, str, object]], error: type[LedgerError]
) -> None:
    await open_basic_accounts(engine)
    await _fund(engine, ALICE, "100.00")
    before = await _count(engine)

    async def work(conn: AsyncConnection) -> None:
        with pytest.raises(error):
            await post_entry(conn, EntryRequest(id=uuid.uuid4(), postings=legs))  # type: ignore[arg-type]
        # The transaction is still usable after a refusal.
        await post_entry(conn, transfer(ALICE, BOB, usd("1.00")))

    await tx(engine, work)
    assert await _count(engine) == (before[0] + 1, before[1] + 2)
    assert await _balance_of(engine, ALICE) == ("99.00", "0.00", "99.00")


async def test_entry_id_is_the_idempotency_key(engine: AsyncEngine) -> None:
    await open_basic_accounts(engine)
    await _fund(engine, ALICE, "100.00")
    request = transfer(ALICE, BOB, usd("100.00"), metadata={"n": 1})

    async def first(conn: AsyncConnection) -> tuple[int, bool]:
        entry = await post_entry(conn, request)
        return entry.seq, entry.replayed

    async def again(conn: AsyncConnection) -> tuple[int, bool]:
        # Alice has nothing left, yet the retry returns the original entry instead of a refusal.
        entry = await post_entry(conn, request)
        return entry.seq, entry.replayed

    seq, replayed = await tx(engine, first)
    assert not replayed
    assert await tx(engine, again) == (seq, True)

    async def conflict(conn: AsyncConnection) -> None:
        other = EntryRequest(id=request.id, postings=request.postings, metadata={"n": 2})
        with pytest.raises(EntryConflict):
            await post_entry(conn, other)

    await tx(engine, conflict)
    assert await _balance_of(engine, BOB) == ("100.00", "0.00", "100.00")


async def test_a_batch_gives_each_request_its_own_result(engine: AsyncEngine) -> None:
    await open_basic_accounts(engine)
    await _fund(engine, ALICE, "10.00")

    async def work(conn: AsyncConnection) -> list[object]:
        duplicate = transfer(ALICE, BOB, usd("4.00"))
        return await post_entries(
            conn,
            [
                duplicate,
                transfer(ALICE, BOB, usd("7.00")),  # refused: only 6.00 left after the first
                duplicate,  # the same request again in the same batch: a replay
                transfer(ALICE, BOB, usd("6.00")),
                transfer(ALICE, BOB, usd("0.01")),  # refused: nothing left
            ],
        )

    results = await tx(engine, work)
    kinds = [type(result).__name__ for result in results]
    assert kinds == ["Entry", "InsufficientFunds", "Entry", "Entry", "InsufficientFunds"]
    assert results[2].replayed  # type: ignore[union-attr]
    assert results[2].seq == results[0].seq  # type: ignore[union-attr]
    assert await _balance_of(engine, ALICE) == ("0.00", "0.00", "0.00")
    await _assert_verified(engine)


async def test_hold_reserves_funds_then_posts_in_full(engine: AsyncEngine) -> None:
    await open_basic_accounts(engine)
    await _fund(engine, ALICE, "100.00")
    hold = transfer(
        ALICE, FEES, usd("60.00"), pending=True, expires_at=datetime.now(UTC) + timedelta(hours=1)
    )

    async def take(conn: AsyncConnection) -> None:
        entry = await post_entry(conn, hold)
        assert entry.kind is EntryKind.PENDING
        assert {p.phase for p in entry.postings} == {Phase.PENDING}
        with pytest.raises(InsufficientFunds):  # only 40.00 is available now
            await post_entry(conn, transfer(ALICE, BOB, usd("40.01")))

    await tx(engine, take)
    assert await _balance_of(engine, ALICE) == ("100.00", "-60.00", "40.00")
    assert await _balance_of(engine, FEES) == ("0.00", "60.00", "0.00")

    async def commit(conn: AsyncConnection) -> None:
        entry = await post_pending(conn, hold.id, uuid.uuid4())
        assert entry.kind is EntryKind.POST_PENDING
        assert entry.pending_id == hold.id

    await tx(engine, commit)
    assert await _balance_of(engine, ALICE) == ("40.00", "0.00", "40.00")
    assert await _balance_of(engine, FEES) == ("60.00", "0.00", "60.00")

    async def twice(conn: AsyncConnection) -> None:
        with pytest.raises(HoldNotPending, match="already resolved by post_pending"):
            await void_pending(conn, hold.id, uuid.uuid4())

    await tx(engine, twice)
    await _assert_verified(engine)


async def test_partial_post_releases_the_rest(engine: AsyncEngine) -> None:
    await open_basic_accounts(engine)
    await _fund(engine, ALICE, "100.00")
    hold = EntryRequest(
        id=uuid.uuid4(),
        postings=[
            (ALICE, "debit", usd("50.00")),
            (BOB, "credit", usd("49.00")),
            (FEES, "credit", usd("1.00")),
        ],
        pending=True,
    )

    async def work(conn: AsyncConnection) -> None:
        await post_entry(conn, hold)
        with pytest.raises(InvalidAmounts, match="balance"):
            await post_pending(conn, hold.id, uuid.uuid4(), [usd("20.00"), usd("20.00"), usd("1.00")])
        with pytest.raises(InvalidAmounts, match="more than"):
            await post_pending(conn, hold.id, uuid.uuid4(), [usd("60.00"), usd("59.00"), usd("1.00")])
        with pytest.raises(InvalidAmounts, match="postings"):
            await post_pending(conn, hold.id, uuid.uuid4(), [usd("20.00")])
        with pytest.raises(InvalidAmounts, match="void"):
            await post_pending(conn, hold.id, uuid.uuid4(), [usd("0"), usd("0"), usd("0")])
        entry = await post_pending(conn, hold.id, uuid.uuid4(), [usd("20.00"), usd("19.50"), usd("0.50")])
        posted = [(p.account_code, str(p.amount)) for p in entry.postings if p.phase is Phase.POSTED]
        assert posted == [(ALICE, "20.00 USD"), (BOB, "19.50 USD"), (FEES, "0.50 USD")]

    await tx(engine, work)
    assert await _balance_of(engine, ALICE) == ("80.00", "0.00", "80.00")
    assert await _balance_of(engine, BOB) == ("19.50", "0.00", "19.50")
    await _assert_verified(engine)


async def test_void_releases_the_hold(engine: AsyncEngine) -> None:
    await open_basic_accounts(engine)
    await _fund(engine, ALICE, "100.00")
    hold = transfer(ALICE, BOB, usd("70.00"), pending=True)

    async def work(conn: AsyncConnection) -> None:
        await post_entry(conn, hold)
        void_id = uuid.uuid4()
        voided = await void_pending(conn, hold.id, void_id)
        assert voided.kind is EntryKind.VOID_PENDING
        assert {p.phase for p in voided.postings} == {Phase.RELEASED}
        assert (await void_pending(conn, hold.id, void_id)).replayed
        with pytest.raises(HoldNotPending):
            await post_pending(conn, hold.id, uuid.uuid4())
        with pytest.raises(HoldNotFound):
            await void_pending(conn, uuid.uuid4(), uuid.uuid4())
        with pytest.raises(HoldNotPending, match="not a hold"):
            await void_pending(conn, voided.id, uuid.uuid4())

    await tx(engine, work)
    assert await _balance_of(engine, ALICE) == ("100.00", "0.00", "100.00")
    assert await _balance_of(engine, BOB) == ("0.00", "0.00", "0.00")
    await _assert_verified(engine)


async def test_holds_expire_at_post_time_and_by_the_sweep(engine: AsyncEngine) -> None:
    await open_basic_accounts(engine)
    await _fund(engine, ALICE, "100.00")
    expires = datetime.now(UTC) + timedelta(minutes=5)
    soon = transfer(ALICE, BOB, usd("10.00"), pending=True, expires_at=expires)
    later = transfer(ALICE, BOB, usd("20.00"), pending=True, expires_at=expires + timedelta(hours=1))
    forever = transfer(ALICE, BOB, usd("30.00"), pending=True)

    async def work(conn: AsyncConnection) -> None:
        for hold in (soon, later, forever):
            await post_entry(conn, hold)
        after = expires + timedelta(seconds=1)
        with pytest.raises(HoldExpired):
            await post_pending(conn, soon.id, uuid.uuid4(), now=after)
        await post_pending(conn, later.id, uuid.uuid4(), now=after)  # not expired yet: posts
        (early,) = await post_entries(
            conn, [ExpirePendingRequest(id=uuid.uuid4(), hold_id=forever.id, at=after)]
        )
        assert isinstance(early, HoldNotExpired)
        expired = await expire_holds(conn, after)
        assert [entry.pending_id for entry in expired] == [soon.id]
        assert expired[0].kind is EntryKind.EXPIRE_PENDING
        assert await expire_holds(conn, after + timedelta(days=365)) == []

    await tx(engine, work)
    # soon expired (released), later was posted, forever is still held.
    assert await _balance_of(engine, ALICE) == ("80.00", "-30.00", "50.00")
    await _assert_verified(engine)


async def test_text_that_postgresql_cannot_store_is_refused_up_front(engine: AsyncEngine) -> None:
    await open_basic_accounts(engine)

    async def work(conn: AsyncConnection) -> None:
        with pytest.raises(InvalidEntry, match="NUL"):
            await post_entry(conn, transfer(BANK, ALICE, usd("1"), reference="a\x00b"))
        with pytest.raises(InvalidEntry, match="NUL"):
            await post_entry(conn, transfer(BANK, ALICE, usd("1"), metadata={"note": ["x\x00"]}))
        with pytest.raises(InvalidEntry, match="printable"):
            await open_account(conn, "customer:\x00:wallet:USD", "USD", Side.CREDIT)
        with pytest.raises(InvalidEntry, match="Unicode"):
            await post_entry(conn, transfer(BANK, ALICE, usd("1"), reference="\ud800"))

    await tx(engine, work)


async def test_hold_expiry_must_be_in_the_future(engine: AsyncEngine) -> None:
    await open_basic_accounts(engine)

    async def work(conn: AsyncConnection) -> None:
        past = datetime.now(UTC) - timedelta(seconds=1)
        with pytest.raises(InvalidEntry, match="future"):
            await post_entry(conn, transfer(BANK, ALICE, usd("1"), pending=True, expires_at=past))
        with pytest.raises(InvalidEntry, match="only a pending"):
            await post_entry(conn, transfer(BANK, ALICE, usd("1"), expires_at=past + timedelta(days=1)))

    await tx(engine, work)


async def test_fx_entry_balances_per_currency(engine: AsyncEngine) -> None:
    await open_basic_accounts(engine)
    await _fund(engine, ALICE, "100.00")

    async def work(conn: AsyncConnection) -> None:
        legs = [
            (ALICE, "debit", usd("100.00")),
            ("fx:position:USD", "credit", usd("100.00")),
            ("fx:position:AZN", "debit", azn("170.00")),
            (ALICE_AZN, "credit", azn("170.00")),
        ]
        await post_entry(conn, EntryRequest(id=uuid.uuid4(), postings=legs))
        legs[3] = (ALICE_AZN, "credit", azn("169.99"))
        with pytest.raises(UnbalancedEntry, match="AZN"):
            await post_entry(conn, EntryRequest(id=uuid.uuid4(), postings=legs))

    await tx(engine, work)
    assert await _balance_of(engine, ALICE_AZN) == ("170.00", "0.00", "170.00")
    await _assert_verified(engine)


async def test_balance_as_of_a_past_time(engine: AsyncEngine) -> None:
    await open_basic_accounts(engine)
    await _fund(engine, ALICE, "100.00")
    between = datetime.now(UTC)
    await _fund(engine, ALICE, "50.00")

    async def work(conn: AsyncConnection) -> None:
        assert str((await balance(conn, ALICE, as_of=between)).posted.amount) == "100.00"
        assert str((await balance(conn, ALICE)).posted.amount) == "150.00"
        assert str((await balance(conn, ALICE, as_of=between - timedelta(days=1))).posted.amount) == "0.00"

    await tx(engine, work)


async def test_history_pages_newest_first(engine: AsyncEngine) -> None:
    await open_basic_accounts(engine)
    for amount in range(1, 8):
        await _fund(engine, ALICE, str(amount))

    async def work(conn: AsyncConnection) -> None:
        seen: list[str] = []
        cursor = None
        pages = 0
        while True:
            page = await history(conn, ALICE, limit=3, cursor=cursor)
            seen += [str(item.amount.amount) for item in page.items]
            pages += 1
            cursor = page.next_cursor
            if cursor is None:
                break
        assert seen == ["7.00", "6.00", "5.00", "4.00", "3.00", "2.00", "1.00"]
        assert pages == 3
        with pytest.raises(InvalidCursor):
            await history(conn, ALICE, cursor="not-a-cursor")

    await tx(engine, work)


async def test_get_entry_returns_what_was_stored(engine: AsyncEngine) -> None:
    await open_basic_accounts(engine)
    request = transfer(BANK_AZN, ALICE_AZN, azn("5.25"), metadata={"corridor": "RU-AZ"}, reference="r-9")

    async def work(conn: AsyncConnection) -> None:
        posted = await post_entry(conn, request)
        stored = await get_entry(conn, request.id)
        assert stored.postings == posted.postings
        assert stored.metadata == {"corridor": "RU-AZ"}
        assert stored.reference == "r-9"
        assert stored.seq == posted.seq

    await tx(engine, work)


async def test_credit_limited_account(engine: AsyncEngine) -> None:
    async def work(conn: AsyncConnection) -> None:
        flags = AccountFlags(credits_must_not_exceed_debits=True)
        await open_account(conn, "customer:5:loan:USD", "USD", Side.DEBIT, flags)
        await open_account(conn, "bank:USD", "USD", Side.DEBIT)
        await open_account(conn, "equity:USD", "USD", Side.CREDIT)
        await post_entry(conn, transfer("customer:5:loan:USD", "equity:USD", usd("10")))
        with pytest.raises(InsufficientFunds):
            await post_entry(conn, transfer("bank:USD", "customer:5:loan:USD", usd("10.01")))
        await post_entry(conn, transfer("bank:USD", "customer:5:loan:USD", usd("10")))

    await tx(engine, work)
