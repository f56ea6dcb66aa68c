"""Opening and finding accounts.

Opening is idempotent: the same code with the same currency, normal side, flags and shards returns
the existing account; the same code with anything else is refused (``account_conflict``). An
account's identity never changes afterwards (a trigger refuses it), which is what lets the rest of
the ledger read it without a lock.

Hot accounts (every transfer touches them: fee revenue, a partner's payable, FX positions) are
opened with ``shards > 1``: their counters are spread over that many shard rows, so concurrent
transactions update different rows (see :mod:`ledger`). Accounts with a balance limit cannot be
sharded, because the limit applies to the whole balance.
"""

from __future__ import annotations

import fnmatch
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Insert, Select, bindparam, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from ledger.errors import AccountConflict, InvalidEntry, UnknownAccount
from ledger.model import Account, AccountFlags, Side
from ledger.money import exponent
from ledger.tables import account_shards, accounts

__all__ = [
    "HOT_ACCOUNT_PATTERNS",
    "HOT_ACCOUNT_SHARDS",
    "account_from_row",
    "default_shards",
    "get_account",
    "open_account",
]

HOT_ACCOUNT_SHARDS = 16
"""Shards of a hot account: comfortably more than the transactions in flight at once."""

HOT_ACCOUNT_PATTERNS = ("revenue:*", "partner:*:payable:*", "fx:position:*")
"""Account codes that every transfer touches, sharded unless the caller says otherwise."""

_MAX_CODE_LENGTH = 200

_SELECT_BY_CODE: Select[Any] = select(accounts).where(accounts.c.code == bindparam("code"))
_SELECT_BY_ID: Select[Any] = select(accounts).where(accounts.c.id == bindparam("id"))


def _insert_statement(dialect: str) -> Insert:
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    return insert(accounts).on_conflict_do_nothing(index_elements=["code"]).returning(*accounts.c)


_INSERT = {name: _insert_statement(name) for name in ("postgresql", "sqlite")}


def default_shards(code: str, flags: AccountFlags) -> int:
    """:data:`HOT_ACCOUNT_SHARDS` for a hot account code without balance limits, else 1."""
    limited = flags.debits_must_not_exceed_credits or flags.credits_must_not_exceed_debits
    if not limited and any(fnmatch.fnmatchcase(code, pattern) for pattern in HOT_ACCOUNT_PATTERNS):
        return HOT_ACCOUNT_SHARDS
    return 1


def account_from_row(row: Any) -> Account:
    return Account(
        id=row.id,
        code=row.code,
        currency=row.currency,
        normal_side=Side(row.normal_side),
        flags=AccountFlags(
            debits_must_not_exceed_credits=bool(row.debits_must_not_exceed_credits),
            credits_must_not_exceed_debits=bool(row.credits_must_not_exceed_debits),
        ),
        shards=row.shards,
    )


async def open_account(
    conn: AsyncConnection,
    code: str,
    currency: str,
    normal_side: Side | str,
    flags: AccountFlags | None = None,
    *,
    shards: int | None = None,
) -> Account:
    """Open the account ``code``, or return it if it is already open with the same identity.

    ``shards=None`` applies :func:`default_shards`. Raises :class:`AccountConflict` when ``code``
    exists with another identity, :class:`InvalidEntry` for a malformed request.
    """
    flags = flags or AccountFlags()
    if not isinstance(code, str) or not 0 < len(code) <= _MAX_CODE_LENGTH or not code.isprintable():
        raise InvalidEntry("an account code has 1 to 200 printable characters")
    exponent(currency)  # raises UnknownCurrency
    if normal_side not in (Side.DEBIT, Side.CREDIT):
        raise InvalidEntry(f"normal side is debit or credit, not {normal_side!r}")
    limited = flags.debits_must_not_exceed_credits or flags.credits_must_not_exceed_debits
    if flags.debits_must_not_exceed_credits and flags.credits_must_not_exceed_debits:
        raise InvalidEntry("an account has at most one balance limit")
    shards = default_shards(code, flags) if shards is None else shards
    if not 1 <= shards <= 256:
        raise InvalidEntry("shards is between 1 and 256")
    if limited and shards > 1:
        raise InvalidEntry("an account with a balance limit cannot be sharded")
    wanted = Account(
        id=0, code=code, currency=currency, normal_side=Side(normal_side), flags=flags, shards=shards
    )
    inserted = (
        await conn.execute(
            _INSERT[conn.dialect.name],
            {
                "code": code,
                "currency": currency,
                "normal_side": str(wanted.normal_side),
                "debits_must_not_exceed_credits": flags.debits_must_not_exceed_credits,
                "credits_must_not_exceed_debits": flags.credits_must_not_exceed_debits,
                "shards": shards,
                "created_at": datetime.now(UTC),
            },
        )
    ).first()
    if inserted is not None:
        account = account_from_row(inserted)
        if shards > 1:
            await conn.execute(
                account_shards.insert(),
                [{"account_id": account.id, "shard": shard} for shard in range(shards)],
            )
        return account
    existing = account_from_row((await conn.execute(_SELECT_BY_CODE, {"code": code})).one())
    if (existing.currency, existing.normal_side, existing.flags, existing.shards) != (
        wanted.currency,
        wanted.normal_side,
        wanted.flags,
        wanted.shards,
    ):
        raise AccountConflict(
            f"account {code} is already open as {existing.currency}, {existing.normal_side}-normal, "
            f"{existing.flags}, {existing.shards} shard(s)"
        )
    return existing


async def get_account(conn: AsyncConnection, account: str | int) -> Account:
    """The account with this code (a ``str``) or id (an ``int``); :class:`UnknownAccount` if none."""
    if isinstance(account, str):
        row = (await conn.execute(_SELECT_BY_CODE, {"code": account})).first()
    else:
        row = (await conn.execute(_SELECT_BY_ID, {"id": account})).first()
    if row is None:
        raise UnknownAccount(f"no account {account}")
    return account_from_row(row)
