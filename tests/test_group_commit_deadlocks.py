"""Group commit in two server processes at once does not deadlock (backend/group_commit.py), on PostgreSQL.

Two :class:`GroupCommit` instances on one database stand for two server processes. Each test lines
up two batches whose units touch the same customers in opposite orders and holds both at a meeting
point before their ledger writes, the interleaving in which ledger writes made unit by unit would
lock one customer's wallet each and then wait for the other's. A batch rerun
(``GroupCommit.reruns``) is how a deadlock shows: PostgreSQL breaks it after a second.
"""

from __future__ import annotations

import asyncio
import uuid
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from backend.group_commit import GroupCommit
from backend.partners.payouts import get_payout
from backend.settings import Settings
from ledger.verify import verify
from tests.probe_support import alone, occupy_slots, wait_until_queued
from tests.transfer_support import transfer_world

pytestmark = pytest.mark.postgres_only

IBAN = "AZ21NABZ00000000137010001944"


async def test_batches_of_payout_outcomes_in_two_processes_do_not_deadlock(
    engine: AsyncEngine, settings: Settings
) -> None:
    # Two group commits stand for two server processes. Each batch fails one sender's payout and
    # confirms the other's, and both batches finish their units before either writes its ledger
    # requests. A refund that voided its hold at once would hold one sender's wallet while the
    # batch's confirmations wait for the other's: each batch would wait for the other (PostgreSQL
    # breaks that after a second, and the batch reruns).
    async with transfer_world(engine, settings) as world:
        senders = [await world.customer() for _ in range(2)]
        for sender in senders:
            await world.fund(sender, "5000.00", "RUB")
        for sender in senders:
            recipient = await world.recipient(sender, method="bank_account", iban=IBAN)
            for _ in range(2):
                reply = await world.send(sender, (await world.quote(sender, "1000.00"))["id"], recipient)
                assert reply.status_code == 201, reply.text
        claimed = await world.bank.get("/partner/v1/payouts", params={"status": "pending", "limit": 50})
        by_sender: dict[int, list[str]] = {}
        for payout in claimed.json()["items"]:
            mine = await _transfer_of_payout(engine, payout["id"])
            by_sender.setdefault(mine, []).append(payout["id"])
        (a1, a2), (b1, b2) = (by_sender[sender.customer_id] for sender in senders)
        meet = _meeting(parties=2)

        processes = [GroupCommit(engine), GroupCommit(engine)]
        batches = []
        for commits, (failed, confirmed) in zip(processes, ((a1, b1), (b2, a2)), strict=True):
            release, blocker = await occupy_slots(commits, engine)
            world.app.state["partner_group_commit"] = commits  # this "process" takes the next two
            sending = asyncio.gather(
                world.bank.post(f"/partner/v1/payouts/{failed}/fail", json={"reason": "account closed"}),
                world.bank.post(f"/partner/v1/payouts/{confirmed}/confirm", json={}),
            )
            await wait_until_queued(commits, 2)
            # Queued after the two outcomes (its key sorts after payout ids): the batches meet here.
            meeting = asyncio.ensure_future(commits.run("~meet", meet, alone(engine, meet)))
            batches.append((release, blocker, sending, meeting))
        for release, _, _, _ in batches:
            release.set()
        replies = []
        for _, blocker, sending, meeting in batches:
            replies.extend(await sending)
            assert await meeting == "met"
            await blocker
        assert [reply.status_code for reply in replies] == [200] * 4, [reply.text for reply in replies]
        assert [commits.reruns for commits in processes] == [0, 0], "a batch was rerun (deadlock)"
        for sender in senders:
            # One transfer refunded, one paid out: the wallet is short of one transfer's total.
            assert await world.available(sender, "RUB") < Decimal("5000.00")
    async with engine.connect() as conn:
        report = await verify(conn)
        assert report.ok, report
        assert (await conn.execute(text("SELECT count(*) FROM ledger_open_holds"))).scalar_one() == 0


async def _transfer_of_payout(engine: AsyncEngine, payout_id: str) -> int:
    async with engine.connect() as conn:
        found = await conn.execute(
            text("SELECT customer_id FROM transfers WHERE payout_id = :payout"), {"payout": payout_id}
        )
        return int(found.scalar_one())


async def test_cash_outs_settled_in_two_processes_do_not_deadlock(
    engine: AsyncEngine, settings: Settings
) -> None:
    # Each "process" settles one cash-out of each customer, in opposite orders, meeting in between.
    # A settlement that resolved its hold at once would hold the first customer's wallet while
    # waiting for the second's, which the other batch holds.
    async with transfer_world(engine, settings) as world:
        customers = [await world.customer() for _ in range(2)]
        for customer in customers:
            await world.fund(customer, "100.00", "AZN")
        for customer in customers:
            for _ in range(2):
                response = await world.http.post(
                    "/v1/wallet/cashouts",
                    json={"amount": {"amount": "10.00", "currency": "AZN"}, "iban": IBAN},
                    headers={**customer.headers, "Idempotency-Key": str(uuid.uuid4())},
                )
                assert response.status_code == 201, response.text
        payouts: dict[int, list[Any]] = {}
        async with engine.connect() as conn:
            query = text(
                "SELECT o.customer_id, p.partner_id, p.id FROM wallet_operations o"
                " JOIN partner_payouts p ON p.id = o.payout_id WHERE o.kind = 'cashout' ORDER BY o.id"
            )
            for customer_id, partner_id, payout_id in (await conn.execute(query)).all():
                payouts.setdefault(customer_id, []).append(await get_payout(conn, partner_id, payout_id))
        (a1, a2), (b1, b2) = (payouts[customer.customer_id] for customer in customers)
        wallets = world.app.state.wallets
        meet = _meeting(parties=2)

        def confirm(payout: Any) -> Any:
            async def unit(conn: AsyncConnection) -> str:
                await wallets.on_payout_outcome(conn, payout, True)
                return str(payout.id)

            return unit

        processes = [GroupCommit(engine), GroupCommit(engine)]
        releases, runs = [], []
        for commits, (first, second) in zip(processes, ((a1, b1), (b2, a2)), strict=True):
            release, blocker = await occupy_slots(commits, engine)
            for key, unit in (("1", confirm(first)), ("2", meet), ("3", confirm(second))):
                runs.append(asyncio.ensure_future(commits.run(key, unit, alone(engine, unit))))
            await wait_until_queued(commits, 3)
            releases.append(release)
            runs.append(blocker)
        for release in releases:
            release.set()
        results = await asyncio.gather(*runs)
        assert results.count("met") == 2, "both batches reached the meeting"
        assert [commits.reruns for commits in processes] == [0, 0], "a batch was rerun (deadlock)"
        for customer in customers:
            assert await world.available(customer, "AZN") == Decimal("80.00")
    async with engine.connect() as conn:
        report = await verify(conn)
        assert report.ok, report


def _meeting(parties: int) -> Any:
    """A unit that returns ``"met"`` once ``parties`` units (of any batches) have reached it: it
    holds each batch at that point until the others are there too."""
    arrived = 0
    everyone = asyncio.Event()

    async def meet(conn: AsyncConnection) -> str:
        nonlocal arrived
        arrived += 1
        if arrived >= parties:
            everyone.set()
        await asyncio.wait_for(everyone.wait(), 5)
        return "met"

    return meet
