"""A batch of new transfers reads once for all of them (backend/transfers/prefetch.py), on PostgreSQL.

Transfers are sent over HTTP while the group commit is kept busy, so that they queue and run as one
batch. The tests check what a client would notice: the batch's statements no longer grow by six a
transfer, and every transfer still gets exactly the answer it would have got alone, its money and
its quote included.
"""

from __future__ import annotations

import asyncio
import uuid
from decimal import Decimal
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from backend.group_commit import GroupCommit
from backend.settings import Settings
from ledger.verify import verify
from tests.probe_support import occupy_slots, wait_until_queued
from tests.signin import SignedIn, sign_in
from tests.statements import statements_run
from tests.transfer_support import World, transfer_world

pytestmark = pytest.mark.postgres_only

IBAN = "AZ21NABZ00000000137010001944"
PREFETCH_STATEMENTS = 7
"""Idempotency locks, stored replies, quotes, recipients, senders' locks, senders, the partner."""


async def _in_one_batch(world: World, sends: list[Any]) -> list[httpx.Response]:
    """Run the ``sends`` (coroutines of HTTP requests) while the group commit is busy, so that all of
    them queue and then commit as one batch."""
    commits: GroupCommit | None = world.app.state.transfers.group_commit
    assert commits is not None
    release, blockers = await occupy_slots(commits, world.engine)
    batches = commits.batches
    sending = asyncio.gather(*sends)
    await wait_until_queued(commits, len(sends))
    release.set()
    replies = await sending
    await blockers
    assert commits.batches - batches <= 2 + 1, "the blocker's batch, then the queued ones together"
    return list(replies)


async def _funded_sender(world: World) -> tuple[SignedIn, int]:
    sender = await world.customer()
    await world.fund(sender, "20000.00", "RUB")
    return sender, await world.recipient(sender, method="bank_account", iban=IBAN)


async def test_a_batch_reads_for_all_its_transfers_in_one_statement_each(
    engine: AsyncEngine, settings: Settings
) -> None:
    async with transfer_world(engine, settings) as world:
        senders = [await _funded_sender(world) for _ in range(4)]
        # Warm: the transfer's accounts opened and the monitoring rules cached by this process.
        warm_up = await world.send(
            senders[0][0], (await world.quote(senders[0][0], "1000.00"))["id"], senders[0][1]
        )
        assert warm_up.status_code == 201, warm_up.text
        spent = Decimal(warm_up.json()["totalToPay"]["amount"])
        quotes = [await world.quote(sender, "1000.00") for sender, _ in senders]
        async with statements_run(engine) as statements:
            replies = await _in_one_batch(
                world,
                [
                    world.send(sender, quote["id"], recipient)
                    for (sender, recipient), quote in zip(senders, quotes, strict=True)
                ],
            )
        assert [reply.status_code for reply in replies] == [201] * 4, [reply.text for reply in replies]
        # Each transfer on its own reads six times before its history (7 x 4 = 28 in the batch).
        assert len(statements) <= 4 + PREFETCH_STATEMENTS + 4 + 2, "\n".join(s[:90] for s in statements)
        assert sum("UPDATE fx_quotes" in statement for statement in statements) == 1
        for index, ((sender, _), reply) in enumerate(zip(senders, replies, strict=True)):
            assert reply.json()["status"] == "sent_to_partner"
            total = Decimal(reply.json()["totalToPay"]["amount"]) + (spent if index == 0 else 0)
            assert await world.available(sender, "RUB") == Decimal("20000.00") - total
    async with engine.connect() as conn:
        assert (await verify(conn)).ok


async def test_every_transfer_of_a_batch_gets_its_own_answer(engine: AsyncEngine, settings: Settings) -> None:
    async with transfer_world(engine, settings) as world:
        (good, good_to), (repeat, repeat_to), (spender, spender_to), (thief, thief_to), (stray, _) = [
            await _funded_sender(world) for _ in range(5)
        ]
        good_quote = await world.quote(good, "1000.00")
        repeat_key = str(uuid.uuid4())
        repeat_quote = await world.quote(repeat, "1000.00")
        first = await world.send(repeat, repeat_quote["id"], repeat_to, repeat_key)
        assert first.status_code == 201, first.text
        spent = await world.quote(spender, "1000.00")
        assert (await world.send(spender, spent["id"], spender_to)).status_code == 201
        stray_quote = await world.quote(stray, "1000.00")
        before = {who.phone: await world.available(who, "RUB") for who in (repeat, spender, thief, stray)}

        replies = await _in_one_batch(
            world,
            [
                world.send(good, good_quote["id"], good_to),
                # The same request again: its first reply, nothing new.
                world.send(repeat, repeat_quote["id"], repeat_to, repeat_key),
                # A quote that already funded a transfer.
                world.send(spender, spent["id"], spender_to),
                # Another customer's quote, sent at the same moment as its owner's own transfer.
                world.send(thief, good_quote["id"], thief_to),
                # Another customer's recipient.
                world.send(stray, stray_quote["id"], good_to),
            ],
        )
        codes = [reply.status_code for reply in replies]
        assert codes == [201, 201, 409, 409, 404], [reply.text for reply in replies]
        assert replies[1].json() == first.json()
        # The owner's transfer runs first (senders in order) and spends the quote the other names.
        assert [reply.json()["code"] for reply in replies[2:]] == [
            "quote_already_used",
            "quote_already_used",
            "recipient_not_found",
        ]
        for who in (repeat, spender, thief, stray):
            assert await world.available(who, "RUB") == before[who.phone], "a refused transfer moved money"
        # The stray sender's quote was read ahead with the batch but not spent: it still works.
        retry = await world.send(stray, stray_quote["id"], (await _funded_sender(world))[1])
        assert retry.status_code == 404  # a third customer's recipient is still not theirs
        own = await world.recipient(stray, method="bank_account", iban=IBAN)
        retry = await world.send(stray, stray_quote["id"], own)
        assert retry.status_code == 201, retry.text
    async with engine.connect() as conn:
        assert (await verify(conn)).ok


async def test_wallet_payouts_in_a_batch_are_credited_with_their_hold(
    engine: AsyncEngine, settings: Settings
) -> None:
    # A wallet payout posts its hold at once: two ledger requests of one transfer, kept in order in
    # the batch's one ledger call (beside bank transfers, whose holds stay open).
    async with transfer_world(engine, settings) as world:
        senders = [await _funded_sender(world) for _ in range(4)]
        phones = ["+994501234561", "+994501234562"]
        sends = []
        for index, (sender, bank_recipient) in enumerate(senders):
            if index < 2:
                wallet = await world.recipient(sender, method="wallet", phone=phones[index])
                quote = await world.quote(sender, "3000.00", method="wallet")
                sends.append(world.send(sender, quote["id"], wallet))
            else:
                sends.append(world.send(sender, (await world.quote(sender, "3000.00"))["id"], bank_recipient))
        replies = await _in_one_batch(world, sends)
        assert [reply.status_code for reply in replies] == [201] * 4, [reply.text for reply in replies]
        assert [reply.json()["status"] for reply in replies] == ["paid_out"] * 2 + ["sent_to_partner"] * 2
        for phone, reply in zip(phones, replies[:2], strict=True):
            recipient = await sign_in(world.http, phone)
            balances = (await world.http.get("/v1/wallet", headers=recipient.headers)).json()["balances"]
            assert balances[0]["available"] == reply.json()["receiveAmount"]
        for (sender, _), reply in zip(senders, replies, strict=True):
            total = Decimal(reply.json()["totalToPay"]["amount"])
            assert await world.available(sender, "RUB") == Decimal("20000.00") - total
    async with engine.connect() as conn:
        report = await verify(conn)
        assert report.ok, report
