"""The reference of ``docs/scripts/minimal-endpoint.py``: the least a transfer endpoint can be on
this stack, served the way ``korpu serve`` serves Körpü (uvicorn, Litestar, SQLAlchemy Core on
asyncpg, statements built once at import).

``POST /transfers`` with ``{"source": int, "target": int, "amount": int}`` debits the source
account (refused when it would go below zero), credits the target and records the transfer, in one
transaction of three statements, and answers 201 with the transfer's id. No sign-in, no
idempotency, no quote, no screening or monitoring, no encryption, no ledger, no outbox: what the
project brief calls "a minimal transfer endpoint". Its database URL comes from
``MINIMAL_DATABASE_URL``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from litestar import Litestar, post
from litestar.exceptions import ClientException
from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    DateTime,
    Identity,
    MetaData,
    Table,
    bindparam,
    func,
)
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

__all__ = ["accounts", "app", "metadata", "transfers"]

metadata = MetaData()
accounts = Table(
    "accounts",
    metadata,
    Column("id", BigInteger, primary_key=True),
    Column("balance", BigInteger, nullable=False),
    CheckConstraint("balance >= 0", name="ck_accounts_not_negative"),
)
transfers = Table(
    "transfers",
    metadata,
    Column("id", BigInteger, Identity(), primary_key=True),
    Column("source", BigInteger, nullable=False),
    Column("target", BigInteger, nullable=False),
    Column("amount", BigInteger, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

_DEBIT = (
    accounts.update()
    .where(accounts.c.id == bindparam("source"), accounts.c.balance >= bindparam("amount"))
    .values(balance=accounts.c.balance - bindparam("amount"))
    .returning(accounts.c.id)
)
_CREDIT = (
    accounts.update()
    .where(accounts.c.id == bindparam("target"))
    .values(balance=accounts.c.balance + bindparam("amount"))
)
_RECORD = transfers.insert().returning(transfers.c.id)

_engine: AsyncEngine | None = None


@dataclass(frozen=True, slots=True)
class TransferIn:
    source: int
    target: int
    amount: int


@post("/transfers", status_code=201)
async def create_transfer(data: TransferIn) -> dict[str, int]:
    assert _engine is not None
    params = {"source": data.source, "target": data.target, "amount": data.amount}
    async with _engine.begin() as conn:
        if (await conn.execute(_DEBIT, params)).first() is None:
            raise ClientException("insufficient funds", status_code=422)
        await conn.execute(_CREDIT, params)
        transfer_id = (await conn.execute(_RECORD, params)).scalar_one()
    return {"id": transfer_id}


async def _open() -> None:
    global _engine
    _engine = create_async_engine(os.environ["MINIMAL_DATABASE_URL"], pool_size=12, max_overflow=12)


async def _close() -> None:
    if _engine is not None:
        await _engine.dispose()


app = Litestar([create_transfer], on_startup=[_open], on_shutdown=[_close])
