"""Group commit of new transfers (backend/transfers/group_commit.py), on PostgreSQL.

The units here are small stand-ins that write probe rows through ``insert_row`` and ask the ledger
for real holds, so each invariant of the module docstring is checked on what lands in the
database: which transaction wrote a row, what a failing or refused unit left behind, which
senders shared a batch. The last tests send real transfers over HTTP at once.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import BigInteger, Column, Integer, MetaData, String, Table, select, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncTransaction

from backend.deferred_inserts import insert_row
from backend.group_commit import GroupCommit, GroupCommitConfig, post_last
from backend.settings import Settings
from ledger.accounts import open_account
from ledger.errors import InsufficientFunds
from ledger.journal import post_entry
from ledger.model import AccountFlags, EntryRequest, Side
from ledger.money import Money
from ledger.verify import verify
from tests.probe_support import alone, deadlock_error, occupy_slots, probe_tables, wait_until_queued
from tests.transfer_support import transfer_world

pytestmark = pytest.mark.postgres_only

IBAN = "AZ21NABZ00000000137010001944"

metadata = MetaData()
written = Table(
    "group_commit_probe",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("unit", String(40), nullable=False),
    Column("tx", BigInteger, nullable=False),
)


@pytest.fixture
async def probe(engine: AsyncEngine) -> AsyncIterator[AsyncEngine]:
    async with probe_tables(engine, metadata):
        yield engine


class Hold:
    """A unit's ledger part: a hold from ``account`` to ``to``."""

    def __init__(self, account: str, to: str, amount: str) -> None:
        self.entry = EntryRequest(
            id=uuid.uuid4(),
            postings=[
                (account, Side.DEBIT, Money(Decimal(amount), "USD")),
                (to, Side.CREDIT, Money(Decimal(amount), "USD")),
            ],
            pending=True,
        )

    async def posted(self, engine: AsyncEngine) -> bool:
        """Whether the hold is in the journal."""
        async with engine.connect() as conn:
            found = await conn.execute(
                text("SELECT 1 FROM ledger_entries WHERE id = :id"), {"id": self.entry.id}
            )
            return found.first() is not None


async def _tx(conn: AsyncConnection) -> int:
    return int((await conn.execute(text("SELECT pg_current_xact_id()::text::bigint"))).scalar_one())


def _unit(name: str, *, hold: Hold | None = None, fail: bool = False, log: list[str] | None = None) -> Any:
    async def unit(conn: AsyncConnection) -> str:
        if log is not None:
            log.append(name)
        await insert_row(conn, written, {"unit": name, "tx": await _tx(conn)})
        if fail:
            raise ValueError(f"{name} refuses")
        if hold is not None:
            await post_last(conn, hold.entry)
        return name

    return unit


async def _rows(engine: AsyncEngine) -> dict[str, int]:
    async with engine.connect() as conn:
        return {row.unit: row.tx for row in await conn.execute(select(written.c.unit, written.c.tx))}


async def test_creations_waiting_together_commit_in_one_transaction(probe: AsyncEngine) -> None:
    commits = GroupCommit(probe, GroupCommitConfig(max_batch=16, max_in_flight=1))
    release, blocker = await occupy_slots(commits, probe)
    names = [f"sender-{index}" for index in range(6)]
    runs = [asyncio.create_task(commits.run(name, _unit(name), alone(probe, _unit(name)))) for name in names]
    await asyncio.sleep(0.05)
    release.set()
    assert await asyncio.gather(*runs) == names
    await blocker
    rows = await _rows(probe)
    assert set(rows) == set(names)
    assert len({rows[name] for name in names}) == 1, "the six waited together and share a transaction"
    assert (commits.batches, commits.units) == (2, 7)


async def test_the_next_batch_takes_everything_queued_while_one_works(probe: AsyncEngine) -> None:
    # Two slots: while one batch works (here: waits), the other slot waits for its turn and then
    # takes all six, rather than each slot taking a share.
    commits = GroupCommit(probe, GroupCommitConfig(max_batch=16, max_in_flight=2))
    release, blocker = await occupy_slots(commits, probe)
    names = [f"sender-{index}" for index in range(6)]
    runs = [asyncio.create_task(commits.run(name, _unit(name), alone(probe, _unit(name)))) for name in names]
    await wait_until_queued(commits, 6)
    release.set()
    assert await asyncio.gather(*runs) == names
    await blocker
    rows = await _rows(probe)
    assert len({rows[name] for name in names}) == 1, "the six went in one transaction"
    assert (commits.batches, commits.units) == (2, 7)


async def test_a_batch_commits_while_the_next_one_works(probe: AsyncEngine) -> None:
    # The first batch's unit holds its commit back until the second batch's unit has run: with
    # one turn held through the commit, the second could never run and this would time out.
    second_ran = asyncio.Event()

    async def first(conn: AsyncConnection) -> str:
        await insert_row(conn, written, {"unit": "first", "tx": await _tx(conn)})
        return "first"

    async def second(conn: AsyncConnection) -> str:
        second_ran.set()
        await insert_row(conn, written, {"unit": "second", "tx": await _tx(conn)})
        return "second"

    commits = GroupCommit(probe, GroupCommitConfig(max_in_flight=2))
    original_commit = AsyncTransaction.commit

    async def held_commit(self: AsyncTransaction) -> None:
        if not second_ran.is_set():
            queued = asyncio.create_task(commits.run("b", second, alone(probe, second)))
            await asyncio.wait_for(second_ran.wait(), 5)
            await original_commit(self)
            assert await queued == "second"
            return
        await original_commit(self)

    AsyncTransaction.commit = held_commit  # type: ignore[method-assign]
    try:
        assert await asyncio.wait_for(commits.run("a", first, alone(probe, first)), 10) == "first"
    finally:
        AsyncTransaction.commit = original_commit  # type: ignore[method-assign]
    rows = await _rows(probe)
    assert set(rows) == {"first", "second"} and rows["first"] != rows["second"]


async def test_a_lone_creation_runs_at_once(probe: AsyncEngine) -> None:
    commits = GroupCommit(probe, GroupCommitConfig(max_in_flight=1))
    assert await asyncio.wait_for(commits.run(1, _unit("only"), alone(probe, _unit("only"))), 5) == "only"
    assert list(await _rows(probe)) == ["only"]


async def test_a_failing_unit_leaves_nothing_and_its_batch_mates_commit(probe: AsyncEngine) -> None:
    commits = GroupCommit(probe, GroupCommitConfig(max_in_flight=1))
    release, blocker = await occupy_slots(commits, probe)
    good = [asyncio.create_task(commits.run(name, _unit(name), alone(probe, _unit(name)))) for name in "ab"]
    bad = asyncio.create_task(commits.run("c", _unit("c", fail=True), alone(probe, _unit("c", fail=True))))
    more = asyncio.create_task(commits.run("d", _unit("d"), alone(probe, _unit("d"))))
    await asyncio.sleep(0.05)
    release.set()
    assert await asyncio.gather(*good, more) == ["a", "b", "d"]
    with pytest.raises(ValueError, match="c refuses"):
        await bad
    await blocker
    rows = await _rows(probe)
    assert sorted(rows) == ["a", "b", "d"], "the failing unit's row was collected but must not be written"
    assert rows["a"] == rows["b"] == rows["d"]


async def test_a_refused_hold_fails_only_its_own_creation(probe: AsyncEngine) -> None:
    async with probe.begin() as conn:
        for code in ("customer:rich", "customer:poor"):
            await open_account(
                conn, code, "USD", Side.CREDIT, AccountFlags(debits_must_not_exceed_credits=True)
            )
        await open_account(conn, "equity:funding", "USD", Side.DEBIT)
        await open_account(conn, "partner:payable", "USD", Side.CREDIT)
        await post_entry(
            conn,
            EntryRequest(
                id=uuid.uuid4(),
                postings=[
                    ("equity:funding", Side.DEBIT, Money(Decimal("100.00"), "USD")),
                    ("customer:rich", Side.CREDIT, Money(Decimal("100.00"), "USD")),
                ],
            ),
        )
    commits = GroupCommit(probe, GroupCommitConfig(max_in_flight=1))
    release, blocker = await occupy_slots(commits, probe)
    rich, poor = (
        Hold("customer:rich", "partner:payable", "60.00"),
        Hold("customer:poor", "partner:payable", "5.00"),
    )
    runs = [
        asyncio.create_task(commits.run(name, _unit(name, hold=hold), alone(probe, _unit(name, hold=hold))))
        for name, hold in (("rich", rich), ("poor", poor))
    ]
    await asyncio.sleep(0.05)
    release.set()
    results = await asyncio.gather(*runs, return_exceptions=True)
    await blocker
    assert results[0] == "rich"
    assert isinstance(results[1], InsufficientFunds)
    assert await rich.posted(probe) and not await poor.posted(probe)
    assert "poor" not in await _rows(probe), "the refused creation's rows were rolled back with it"
    async with probe.connect() as conn:
        assert (await verify(conn)).ok


async def test_one_creation_per_sender_per_batch_in_sender_order(probe: AsyncEngine) -> None:
    commits = GroupCommit(probe, GroupCommitConfig(max_in_flight=1))
    release, blocker = await occupy_slots(commits, probe)
    order: list[str] = []
    plan = [("s3", "s3-first"), ("s1", "s1-first"), ("s3", "s3-second"), ("s2", "s2-first")]
    runs = [
        asyncio.create_task(commits.run(key, _unit(name, log=order), alone(probe, _unit(name))))
        for key, name in plan
    ]
    await asyncio.sleep(0.05)
    release.set()
    await asyncio.gather(*runs)
    await blocker
    rows = await _rows(probe)
    assert rows["s1-first"] == rows["s2-first"] == rows["s3-first"] != rows["s3-second"]
    assert order == ["s1-first", "s2-first", "s3-first", "s3-second"]


async def test_a_deadlock_reruns_the_whole_batch(probe: AsyncEngine) -> None:
    told: list[int] = []
    commits = GroupCommit(probe, GroupCommitConfig(max_in_flight=1), on_rerun=lambda: told.append(1))
    release, blocker = await occupy_slots(commits, probe)
    attempts: list[str] = []

    def deadlocking(name: str) -> Any:
        async def unit(conn: AsyncConnection) -> str:
            attempts.append(name)
            await insert_row(conn, written, {"unit": f"{name}-{len(attempts)}", "tx": await _tx(conn)})
            if len(attempts) == 2:  # the second unit of the first attempt
                raise deadlock_error()
            return name

        return unit

    runs = [asyncio.create_task(commits.run(n, deadlocking(n), alone(probe, deadlocking(n)))) for n in "xy"]
    await asyncio.sleep(0.05)
    release.set()
    assert await asyncio.gather(*runs) == ["x", "y"]
    await blocker
    assert attempts == ["x", "y", "x", "y"]
    assert sorted(await _rows(probe)) == ["x-3", "y-4"], "the first attempt's rows were rolled back"
    assert commits.batches == 2
    assert commits.reruns == 1 and told == [1], "the rerun is counted and reported (the metric)"


async def test_transfers_sent_at_once_commit_together_and_each_gets_its_own_reply(
    engine: AsyncEngine, settings: Settings
) -> None:
    async with transfer_world(engine, settings) as world:
        commits = world.app.state.transfers.group_commit
        assert commits is not None
        senders = [await world.customer() for _ in range(6)]
        quotes, recipients = [], []
        for index, sender in enumerate(senders):
            # The last sender has too little money: their hold is refused in the batch.
            await world.fund(sender, "100.00" if index == 5 else "3000.00", "RUB")
            recipients.append(await world.recipient(sender, method="bank_account", iban=IBAN))
            quotes.append(await world.quote(sender, "1000.00"))
        keys = [str(uuid.uuid4()) for _ in senders]
        release, blockers = await occupy_slots(commits, engine, slots=2)
        batches_before = commits.batches
        sending = asyncio.gather(
            *(
                world.send(sender, quote["id"], recipient, key)
                for sender, quote, recipient, key in zip(senders, quotes, recipients, keys, strict=True)
            )
        )
        await wait_until_queued(commits, 6)
        release.set()
        replies = await sending
        await blockers
        assert [reply.status_code for reply in replies] == [201] * 5 + [422], [r.text for r in replies]
        assert replies[5].json()["code"] == "insufficient_funds"
        # Two blockers' batches, then the six in shares of the queue (the refused one reran alone).
        assert commits.batches - batches_before - 2 <= 3, "six creations waiting together took 4+ commits"
        for sender, reply in zip(senders[:5], replies[:5], strict=True):
            mine = await world.http.get(f"/v1/transfers/{reply.json()['id']}", headers=sender.headers)
            assert mine.status_code == 200 and mine.json()["status"] == reply.json()["status"]
            assert await world.available(sender, "RUB") == Decimal("3000.00") - Decimal(
                reply.json()["totalToPay"]["amount"]
            )
        assert await world.available(senders[5], "RUB") == Decimal("100.00")
        # A repeated request replays its reply.
        again = await world.send(senders[0], quotes[0]["id"], recipients[0], keys[0])
        assert again.status_code == 201 and again.json() == replies[0].json()
    async with engine.connect() as conn:
        assert (await verify(conn)).ok


async def test_outside_a_batch_post_last_posts_at_once_and_raises_a_refusal(probe: AsyncEngine) -> None:
    async with probe.begin() as conn:
        await open_account(
            conn, "customer:empty", "USD", Side.CREDIT, AccountFlags(debits_must_not_exceed_credits=True)
        )
        await open_account(conn, "partner:payable", "USD", Side.CREDIT)
    refused = Hold("customer:empty", "partner:payable", "1.00")
    with pytest.raises(InsufficientFunds):
        async with probe.begin() as conn:
            await post_last(conn, refused.entry)
    assert not await refused.posted(probe)


async def test_payouts_confirmed_at_once_share_transactions_and_each_posts_its_hold(
    engine: AsyncEngine, settings: Settings
) -> None:
    async with transfer_world(engine, settings) as world:
        commits = world.app.state.partner_group_commit
        assert commits is not None
        # Four: more senders paying one account would be held for review (a fan-in rule).
        senders = [await world.customer() for _ in range(4)]
        for sender in senders:  # funding confirms every pending payout: fund everyone first
            await world.fund(sender, "3000.00", "RUB")
        sent = []
        for sender in senders:
            recipient = await world.recipient(sender, method="bank_account", iban=IBAN)
            reply = await world.send(sender, (await world.quote(sender, "1000.00"))["id"], recipient)
            assert reply.status_code == 201, reply.text
            sent.append(reply.json())
        claimed = await world.bank.get("/partner/v1/payouts", params={"status": "pending", "limit": 50})
        payouts = claimed.json()["items"]
        assert len(payouts) == 4
        release, blockers = await occupy_slots(commits, engine, slots=2)
        batches_before = commits.batches
        confirming = asyncio.gather(
            *(
                world.bank.post(
                    f"/partner/v1/payouts/{payout['id']}/confirm", json={"partnerReference": f"b-{n}"}
                )
                for n, payout in enumerate(payouts)
            )
        )
        await wait_until_queued(commits, 4)
        release.set()
        confirmed = await confirming
        await blockers
        assert [reply.status_code for reply in confirmed] == [200] * 4, [r.text for r in confirmed]
        assert commits.batches - batches_before - 2 <= 3, "four confirmations waiting together took 4 commits"
        # Confirming again changes nothing.
        again = await world.bank.post(f"/partner/v1/payouts/{payouts[0]['id']}/confirm", json={})
        assert again.status_code == 200
        for sender, transfer in zip(senders, sent, strict=True):
            mine = await world.http.get(f"/v1/transfers/{transfer['id']}", headers=sender.headers)
            assert mine.json()["status"] == "paid_out"
            assert await world.available(sender, "RUB") == Decimal("3000.00") - Decimal(
                transfer["totalToPay"]["amount"]
            )
    async with engine.connect() as conn:
        report = await verify(conn)
        assert report.ok, report
        pending = await conn.execute(text("SELECT count(*) FROM ledger_open_holds"))
        assert pending.scalar_one() == 0, "every hold was posted"
