"""Small builders shared by the ledger tests."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import TypeVar

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from ledger.accounts import open_account
from ledger.model import Account, AccountFlags, EntryRequest, Side
from ledger.money import Money

T = TypeVar("T")
WALLET = AccountFlags(debits_must_not_exceed_credits=True)


def usd(amount: str | int) -> Money:
    return Money(Decimal(amount), "USD")


def azn(amount: str | int) -> Money:
    return Money(Decimal(amount), "AZN")


def transfer(source: str, target: str, amount: Money, **options: object) -> EntryRequest:
    """A 2-leg entry moving ``amount`` from ``source`` (debit) to ``target`` (credit)."""
    return EntryRequest(
        id=uuid.uuid4(),
        postings=[(source, Side.DEBIT, amount), (target, Side.CREDIT, amount)],
        **options,  # type: ignore[arg-type]
    )


async def tx(engine: AsyncEngine, work: Callable[[AsyncConnection], Awaitable[T]]) -> T:
    async with engine.begin() as conn:
        return await work(conn)


async def open_basic_accounts(engine: AsyncEngine) -> dict[str, Account]:
    """A funding account, two USD wallets, an AZN wallet, and sharded fee and FX accounts."""

    async def work(conn: AsyncConnection) -> dict[str, Account]:
        return {
            "bank": await open_account(conn, "bank:USD", "USD", Side.DEBIT),
            "bank_azn": await open_account(conn, "bank:AZN", "AZN", Side.DEBIT),
            "alice": await open_account(conn, "customer:1:wallet:USD", "USD", Side.CREDIT, WALLET),
            "bob": await open_account(conn, "customer:2:wallet:USD", "USD", Side.CREDIT, WALLET),
            "alice_azn": await open_account(conn, "customer:1:wallet:AZN", "AZN", Side.CREDIT, WALLET),
            "fees": await open_account(conn, "revenue:fees:USD", "USD", Side.CREDIT),
            "fx_usd": await open_account(conn, "fx:position:USD", "USD", Side.DEBIT),
            "fx_azn": await open_account(conn, "fx:position:AZN", "AZN", Side.DEBIT),
        }

    return await tx(engine, work)


ALICE = "customer:1:wallet:USD"
BOB = "customer:2:wallet:USD"
ALICE_AZN = "customer:1:wallet:AZN"
BANK = "bank:USD"
BANK_AZN = "bank:AZN"
FEES = "revenue:fees:USD"
