"""Reading balances: now (from the counters), as of a past time (from the postings), and history.

The current balance reads the account's counters, plus its shard rows for a hot account, in one
statement so that it is one consistent snapshot. A balance as of a past time sums the account's
postings recorded up to then; since entries are append-only that answer never changes once the
time has passed (an entry is timestamped when its transaction starts, so allow for transactions
in flight at that moment). History pages through the account's postings, newest first, with an
opaque cursor over ``(created_at, posting id)``, the order of the index that serves both reads.
"""

from __future__ import annotations

import base64
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Select, and_, bindparam, case, func, select, tuple_
from sqlalchemy.ext.asyncio import AsyncConnection

from ledger.accounts import account_from_row
from ledger.errors import LedgerError, UnknownAccount
from ledger.model import Balance, EntryKind, HistoryItem, HistoryPage, Phase, Side
from ledger.money import Money
from ledger.tables import UtcDateTime, account_shards, accounts, entries, postings

__all__ = ["InvalidCursor", "balance", "history"]

MAX_PAGE = 500


class InvalidCursor(LedgerError):
    code = "invalid_cursor"
    status = 400


def _with_shards(counter: str) -> Any:
    shard_sum = (
        select(func.coalesce(func.sum(account_shards.c[counter]), 0))
        .where(account_shards.c.account_id == accounts.c.id)
        .scalar_subquery()
    )
    return (accounts.c[counter] + shard_sum).label(f"total_{counter}")


_COUNTERS = ("debits_posted", "credits_posted", "debits_pending", "credits_pending")
_CURRENT: Select[Any] = select(accounts, *(_with_shards(name) for name in _COUNTERS))
_CURRENT_BY_CODE = _CURRENT.where(accounts.c.code == bindparam("code"))
_CURRENT_BY_ID = _CURRENT.where(accounts.c.id == bindparam("id"))


def _sum_of(side: str, phase: str) -> Any:
    return func.coalesce(
        func.sum(
            case((and_(postings.c.side == side, postings.c.phase == phase), postings.c.amount), else_=0)
        ),
        0,
    )


_AS_OF = select(
    _sum_of("debit", "posted"),
    _sum_of("credit", "posted"),
    _sum_of("debit", "pending") - _sum_of("debit", "released"),
    _sum_of("credit", "pending") - _sum_of("credit", "released"),
).where(postings.c.account_id == bindparam("account"), postings.c.created_at <= bindparam("as_of"))


async def _current(conn: AsyncConnection, account_code: str | int) -> Any:
    """The account's row with its total counters (row plus shards)."""
    if isinstance(account_code, str):
        row = (await conn.execute(_CURRENT_BY_CODE, {"code": account_code})).first()
    else:
        row = (await conn.execute(_CURRENT_BY_ID, {"id": account_code})).first()
    if row is None:
        raise UnknownAccount(f"no account {account_code}")
    return row


async def balance(conn: AsyncConnection, account_code: str | int, as_of: datetime | None = None) -> Balance:
    """The balance of the account (code or id) now, or as of the past time ``as_of``."""
    row = await _current(conn, account_code)
    account = account_from_row(row)
    if as_of is None:
        counters = [int(row._mapping[f"total_{name}"]) for name in _COUNTERS]
    else:
        counters = [
            int(value)
            for value in (await conn.execute(_AS_OF, {"account": account.id, "as_of": as_of})).one()
        ]
    money = [Money.from_minor(value, account.currency) for value in counters]
    return Balance(account, money[0], money[1], money[2], money[3], as_of)


_HISTORY = (
    select(
        postings.c.id,
        postings.c.side,
        postings.c.phase,
        postings.c.amount,
        postings.c.currency,
        postings.c.created_at,
        entries.c.id.label("entry_id"),
        entries.c.kind,
        entries.c.reference,
        entries.c.metadata,
    )
    .join(entries, entries.c.seq == postings.c.entry_seq)
    .where(postings.c.account_id == bindparam("account"))
    .order_by(postings.c.created_at.desc(), postings.c.id.desc())
    .limit(bindparam("limit"))
)
_HISTORY_AFTER = _HISTORY.where(
    tuple_(postings.c.created_at, postings.c.id)
    < tuple_(bindparam("cursor_time", type_=UtcDateTime), bindparam("cursor_id", type_=BigInteger))
)


def _encode_cursor(created_at: datetime, posting_id: int) -> str:
    return base64.urlsafe_b64encode(f"{created_at.isoformat()}|{posting_id}".encode()).decode().rstrip("=")


def _decode_cursor(cursor: str) -> tuple[datetime, int]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        moment, posting_id = raw.split("|")
        created_at = datetime.fromisoformat(moment)
        if created_at.tzinfo is None:
            raise ValueError
        return created_at, int(posting_id)
    except ValueError:
        raise InvalidCursor("the cursor is not one this API returned") from None


async def history(
    conn: AsyncConnection, account_code: str | int, limit: int = 50, cursor: str | None = None
) -> HistoryPage:
    """One page of the account's postings, newest first."""
    if not 1 <= limit <= MAX_PAGE:
        raise InvalidCursor(f"limit is between 1 and {MAX_PAGE}")
    account = account_from_row(await _current(conn, account_code))
    params: dict[str, Any] = {"account": account.id, "limit": limit + 1}
    statement = _HISTORY
    if cursor is not None:
        params["cursor_time"], params["cursor_id"] = _decode_cursor(cursor)
        statement = _HISTORY_AFTER
    rows = list(await conn.execute(statement, params))
    items = [
        HistoryItem(
            posting_id=row.id,
            entry_id=row.entry_id,
            entry_kind=EntryKind(row.kind),
            side=Side(row.side),
            phase=Phase(row.phase),
            amount=Money.from_minor(row.amount, row.currency),
            created_at=row.created_at,
            reference=row.reference,
            metadata=row.metadata,
        )
        for row in rows[:limit]
    ]
    next_cursor = _encode_cursor(items[-1].created_at, items[-1].posting_id) if len(rows) > limit else None
    return HistoryPage(items=items, next_cursor=next_cursor)
