"""Group commit under simulated traffic (TigerBeetle's habit): random requests, failures and
deadlocks, many at once, and the invariants of backend/group_commit.py checked on what landed.

Each example opens fresh accounts, then fires every request at once through a :class:`GroupCommit`
of random shape. A request writes a probe row, may raise, may hit a deadlock on its first run, and
asks the ledger for a hold on its sender's wallet that the wallet may not cover. Afterwards:

* every caller got its own outcome: its own value, or its own error (its raise, or the ledger's
  refusal), never another unit's;
* exactly the requests that succeeded left their row, once each; a failed one left nothing;
* no transaction carried two requests with the same key;
* every wallet's balance is its funding less exactly its succeeded holds, never below zero, and
  ``ledger verify`` passes.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import BigInteger, Column, Integer, MetaData, String, Table, select, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from backend.deferred_inserts import insert_row
from backend.group_commit import GroupCommit, GroupCommitConfig, post_last
from ledger.accounts import open_account
from ledger.balances import balance
from ledger.errors import InsufficientFunds
from ledger.journal import post_entry
from ledger.model import AccountFlags, EntryRequest, Side
from ledger.money import Money
from ledger.verify import verify
from tests.probe_support import deadlock_error, probe_tables

pytestmark = pytest.mark.postgres_only

metadata = MetaData()
landed = Table(
    "group_commit_simulation",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("request", String(40), nullable=False),
    Column("sender", Integer, nullable=False),
    Column("tx", BigInteger, nullable=False),
)

SENDERS = 4

request_plan = st.fixed_dictionaries(
    {
        "sender": st.integers(0, SENDERS - 1),
        "cents": st.integers(1, 4_000),
        "raises": st.sampled_from([False, False, False, True]),
        "deadlock_first": st.booleans(),
    }
)


@pytest.fixture
async def probe(engine: AsyncEngine) -> AsyncIterator[AsyncEngine]:
    async with probe_tables(engine, metadata):
        yield engine


class Refused(Exception):
    """A request's own planned failure, naming the request."""


async def _simulate(
    engine: AsyncEngine, plan: list[dict[str, Any]], funding: list[int], max_batch: int, in_flight: int
) -> None:
    world = uuid.uuid4().hex[:8]
    wallets = [f"customer:{world}:{index}" for index in range(SENDERS)]
    payable, source = f"partner:{world}:payable", f"equity:{world}"
    async with engine.begin() as conn:
        for wallet in wallets:
            await open_account(
                conn, wallet, "USD", Side.CREDIT, AccountFlags(debits_must_not_exceed_credits=True)
            )
        await open_account(conn, payable, "USD", Side.CREDIT)
        await open_account(conn, source, "USD", Side.DEBIT)
        for wallet, cents in zip(wallets, funding, strict=True):
            if cents:
                amount = Money.from_minor(cents, "USD")
                await post_entry(
                    conn,
                    EntryRequest(
                        id=uuid.uuid4(),
                        postings=[(source, Side.DEBIT, amount), (wallet, Side.CREDIT, amount)],
                    ),
                )

    commits = GroupCommit(engine, GroupCommitConfig(max_batch=max_batch, max_in_flight=in_flight))
    names = [f"{world}-{index}" for index in range(len(plan))]
    runs_of: dict[str, int] = {}

    def unit_for(name: str, step: dict[str, Any]) -> Any:
        async def unit(conn: AsyncConnection) -> str:
            runs_of[name] = runs_of.get(name, 0) + 1
            tx = (await conn.execute(text("SELECT pg_current_xact_id()::text::bigint"))).scalar_one()
            await insert_row(conn, landed, {"request": name, "sender": step["sender"], "tx": tx})
            if step["deadlock_first"] and runs_of[name] == 1:
                raise deadlock_error()
            if step["raises"]:
                raise Refused(name)
            amount = Money.from_minor(step["cents"], "USD")
            hold = EntryRequest(
                id=uuid.uuid4(),
                postings=[(wallets[step["sender"]], Side.DEBIT, amount), (payable, Side.CREDIT, amount)],
                pending=True,
            )
            await post_last(conn, hold)
            return name

        return unit

    def alone_for(name: str, step: dict[str, Any]) -> Any:
        async def alone() -> str:  # after a batch's run, so never the deadlocking first one
            async with engine.begin() as conn:
                return str(await unit_for(name, step)(conn))

        return alone

    outcomes = await asyncio.gather(
        *(
            commits.run(step["sender"], unit_for(name, step), alone_for(name, step))
            for name, step in zip(names, plan, strict=True)
        ),
        return_exceptions=True,
    )

    succeeded = set()
    for name, step, outcome in zip(names, plan, outcomes, strict=True):
        if step["raises"]:
            assert isinstance(outcome, Refused) and str(outcome) == name, (name, outcome)
        elif isinstance(outcome, InsufficientFunds):
            assert wallets[step["sender"]] in str(outcome)
        else:
            assert outcome == name, (name, outcome)
            succeeded.add(name)

    async with engine.connect() as conn:
        rows = (await conn.execute(select(landed).where(landed.c.request.like(f"{world}-%")))).all()
        assert sorted(row.request for row in rows) == sorted(succeeded), (
            "exactly the successes landed, once each"
        )
        by_tx: dict[int, list[int]] = {}
        for row in rows:
            by_tx.setdefault(row.tx, []).append(row.sender)
        assert all(len(senders) == len(set(senders)) for senders in by_tx.values()), by_tx
        for index, wallet in enumerate(wallets):
            held = sum(
                step["cents"]
                for name, step in zip(names, plan, strict=True)
                if name in succeeded and step["sender"] == index
            )
            available = (await balance(conn, wallet)).available.minor_units
            assert available == funding[index] - held >= 0, (wallet, available, funding[index], held)
        assert (await verify(conn)).ok


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    plan=st.lists(request_plan, min_size=1, max_size=24),
    funding=st.lists(st.integers(0, 10_000), min_size=SENDERS, max_size=SENDERS),
    max_batch=st.integers(1, 8),
    in_flight=st.integers(1, 3),
)
async def test_random_traffic_keeps_every_invariant(
    probe: AsyncEngine, plan: list[dict[str, Any]], funding: list[int], max_batch: int, in_flight: int
) -> None:
    await _simulate(probe, plan, funding, max_batch, in_flight)
