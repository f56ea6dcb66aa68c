"""Sending money and confirming its payout cost a bounded number of database round trips (PostgreSQL).

Under load a transfer's time is its round trips (docs/performance.md, "Whole send flow over HTTP"):
this test fails when a change adds statements to ``POST /v1/transfers``, so that the cost is seen
and decided on, not found later in the benchmark.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace

import pytest
from sqlalchemy.dialects.postgresql.asyncpg import AsyncAdapt_asyncpg_connection
from sqlalchemy.ext.asyncio import AsyncEngine

from backend.settings import Settings
from tests.signin import SignedIn
from tests.statements import statements_compiled, statements_run, statements_through_sqlalchemy
from tests.transfer_support import World, transfer_world

IBAN = "AZ21NABZ00000000137010001944"
BUDGET = 10
"""Statements of one transfer, its sign-in check included: 28 when this test was written, 18 since
the limits and every monitoring rule read the history in one statement, the rules are cached per
process, both parties' screenings are stored in one statement and the payout takes the partner row
the transfer read; 17 since the transfer's hold is one statement (``ledger.store_pg_at_once``); 16
since the transfer row and its timeline are one statement; 13 since the payout, the outbox events,
the transfer with its timeline and the idempotency reply are one statement
(``backend.deferred_inserts``); 12 since the monitoring event joins that statement; 11 since both
parties' screening records join it too; 10 since the sender's limits lock is taken by the profile
read."""


@asynccontextmanager
async def transactions_begun() -> AsyncIterator[list[int]]:
    """Counts the ``BEGIN``s asyncpg sends inside the block (one element per transaction)."""
    begun: list[int] = []
    original = AsyncAdapt_asyncpg_connection._start_transaction

    async def counting(self: AsyncAdapt_asyncpg_connection) -> None:
        if self.isolation_level != "autocommit":  # SQLAlchemy sends no BEGIN in autocommit mode
            begun.append(1)
        await original(self)

    AsyncAdapt_asyncpg_connection._start_transaction = counting  # type: ignore[method-assign]
    try:
        yield begun
    finally:
        AsyncAdapt_asyncpg_connection._start_transaction = original  # type: ignore[method-assign]


async def sender_paying_a_bank_account(world: World) -> tuple[SignedIn, int]:
    """A funded sender with a recipient paid into a bank account (through the partner)."""
    sender = await world.customer()
    await world.fund(sender, "20000.00", "RUB")
    return sender, await world.recipient(sender, method="bank_account", iban=IBAN)


@pytest.mark.postgres_only
async def test_a_transfer_costs_a_bounded_number_of_round_trips(
    engine: AsyncEngine, settings: Settings
) -> None:
    async with transfer_world(engine, settings) as world:
        sender, recipient_id = await sender_paying_a_bank_account(world)
        warm_up = await world.send(sender, (await world.quote(sender, "1000.00"))["id"], recipient_id)
        assert warm_up.status_code == 201, warm_up.text
        quote = await world.quote(sender, "1200.00")

        async with (
            statements_run(engine) as statements,
            statements_compiled(engine) as compiled,
            transactions_begun() as begun,
        ):
            response = await world.send(sender, quote["id"], recipient_id)
        assert response.status_code == 201, response.text
        # Once warm, no statement is compiled again: compiling the one multi-row INSERT cost the
        # server a fifth of its CPU per transfer under load (backend.deferred_inserts).
        assert compiled == [], "\n".join(s[:100] for s in compiled)
        # The access token's session is read outside any transaction (backend.db.reading): the
        # transfer's own transaction is the only BEGIN and COMMIT (two more round trips each).
        assert len(begun) == 1
        assert response.json()["status"] == "sent_to_partner"
        assert len(statements) <= BUDGET, "\n".join(s[:100] for s in statements)


CONFIRM_BUDGET = 8
"""Statements of a partner's payout confirmation, its signature check included: 15 when this test
was written, 11 since the signature's nonce is stored in one autocommit statement with the sweep of
expired ones and an outbox event takes its sequence number in its own INSERT; 10 since a status
change and its timeline event are one statement; 9 since the payout's update returns where the
partner takes webhooks; 8 since the payout's transfer is found and moved on in one statement."""


@pytest.mark.postgres_only
async def test_a_payout_confirmation_costs_a_bounded_number_of_round_trips(
    engine: AsyncEngine, settings: Settings
) -> None:
    async with transfer_world(engine, settings) as world:
        sender, recipient_id = await sender_paying_a_bank_account(world)
        for amount in ("1000.00", "1200.00"):
            sent = await world.send(sender, (await world.quote(sender, amount))["id"], recipient_id)
            assert sent.status_code == 201, sent.text
        pending = await world.bank.get("/partner/v1/payouts", params={"status": "pending"})
        first, second = pending.json()["items"][:2]
        warmed = await world.bank.post(
            f"/partner/v1/payouts/{first['id']}/confirm", json={"partnerReference": "b-1"}
        )
        assert warmed.status_code == 200, warmed.text
        async with (
            statements_run(engine) as statements,
            statements_compiled(engine) as compiled,
            statements_through_sqlalchemy(engine) as through_sqlalchemy,
            transactions_begun() as begun,
        ):
            done = await world.bank.post(
                f"/partner/v1/payouts/{second['id']}/confirm", json={"partnerReference": "b-2"}
            )
        assert done.status_code == 200, done.text
        assert compiled == [], "\n".join(s[:100] for s in compiled)
        # Each statement straight on the driver (SQLAlchemy's execute costs the server about twice
        # the CPU per statement: docs/scripts/direct-cost.py); the payout's update was the last.
        assert through_sqlalchemy == [], "\n".join(s[:100] for s in through_sqlalchemy)
        assert len(begun) == 1  # the key check and the nonce need none; the confirmation one
        assert len(statements) <= CONFIRM_BUDGET, "\n".join(s[:100] for s in statements)


@pytest.mark.postgres_only
@pytest.mark.parametrize("batch", [1, 16], ids=["alone", "group-committed"])
async def test_a_wallet_payout_takes_its_ledger_locks_in_one_statement(
    engine: AsyncEngine, settings: Settings, batch: int
) -> None:
    # The hold and its posting to the recipient's wallet go in one ledger call: a transaction that
    # locked the sender's wallet in one statement and the recipient's in another could deadlock
    # with the recipient sending to the sender at the same moment.
    async with transfer_world(engine, replace(settings, group_commit_batch=batch)) as world:
        sender = await world.customer()
        await world.fund(sender, "20000.00", "RUB")
        wallet = await world.recipient(sender, method="wallet", phone="+994501234570")
        warm_up = await world.send(
            sender, (await world.quote(sender, "3000.00", method="wallet"))["id"], wallet
        )
        assert warm_up.status_code == 201, warm_up.text
        quote = await world.quote(sender, "3000.00", method="wallet")
        async with statements_run(engine) as statements:
            response = await world.send(sender, quote["id"], wallet)
        assert response.status_code == 201, response.text
        assert response.json()["status"] == "paid_out"
        locking = [s for s in statements if "FROM ledger_accounts" in s and "FOR NO KEY UPDATE" in s]
        assert len(locking) == 1, "\n".join(s[:100] for s in locking)
