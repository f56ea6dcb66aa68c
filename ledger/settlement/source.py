"""Where settlement reads a partner's movements: the one adapter between settlement and the postings.

A :class:`PositionSource` answers two questions about a partner's settlement position in one
currency: which booked movements fall in ``[start, end)``, and what the balance was at a moment
(the sum of everything booked before it). Windows, statements and reconciliation only ever ask
these two.

:class:`LedgerPositionSource` answers them from the ledger. A partner's position is the combined
credit balance of its settlement accounts (for Körpü, the partner's payable and receivable in that
currency): a posted credit on any of them is a credit line (Körpü owes the partner more), a posted
debit is a debit line. Only *posted* postings count: a hold is not a movement until it is posted,
and a voided hold never was one. Movements and balances are timed by the postings' ``created_at``,
the same clock as :func:`ledger.balances.balance`, so a window's opening and closing are the
ledger's balances at its start and cut-off (the balance *before* that moment, as windows are
half-open). The caller says which accounts make up a partner's position and how each movement is
labelled on a statement (the reference both sides know), so that this module knows no chart of
accounts.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import bindparam, case, func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from ledger.money import Money
from ledger.settlement.statements import MAX_REFERENCE_LENGTH, Direction, StatementLine
from ledger.tables import accounts, entries, postings

__all__ = [
    "AccountsOf",
    "Booking",
    "Label",
    "Labeller",
    "LedgerPositionSource",
    "PositionSource",
    "SettlementAccountMismatch",
    "label_by_entry",
]


class PositionSource(Protocol):
    """Booked movements of a partner's settlement account (credit = Körpü owes the partner more)."""

    async def movements(
        self, conn: AsyncConnection, partner_id: str, currency: str, start: datetime, end: datetime
    ) -> list[StatementLine]:
        """Movements booked at or after ``start`` and before ``end``, in booking order."""
        ...

    async def balance_at(self, conn: AsyncConnection, partner_id: str, currency: str, at: datetime) -> Money:
        """Signed balance of everything booked before ``at``."""
        ...


class SettlementAccountMismatch(Exception):
    """A settlement account is in another currency than the window asking for it."""

    code = "settlement_account_mismatch"
    status = 500


@dataclass(frozen=True, slots=True)
class Booking:
    """One posted posting on a settlement account, as the ledger holds it."""

    account: str
    """Code of the account it was posted on."""
    direction: Direction
    """The posting's side: credit or debit."""
    amount: Money
    """Its positive amount."""
    booked_at: datetime
    """When it was recorded (UTC)."""
    entry_id: uuid.UUID
    """The journal entry it belongs to."""
    entry_reference: str | None
    """The entry's external reference, if it has one."""
    metadata: Mapping[str, Any] = field(default_factory=dict)
    """The entry's metadata (e.g. the payout it books)."""


@dataclass(frozen=True, slots=True)
class Label:
    """How a movement appears on a statement."""

    reference: str
    """The reference both sides know, 1 to 35 characters."""
    description: str = ""
    """Free text for people (never personal data)."""


AccountsOf = Callable[[AsyncConnection, str, str], Awaitable[Sequence[str]]]
"""``(conn, partner id, currency) -> account codes`` whose combined credit balance is the position."""

Labeller = Callable[[AsyncConnection, Sequence[Booking]], Awaitable[Sequence[Label]]]
"""``(conn, bookings) -> one label per booking, in order``."""


async def label_by_entry(conn: AsyncConnection, bookings: Sequence[Booking]) -> list[Label]:
    """The entry's own reference when it fits a statement, else the entry id (32 hex digits)."""
    return [Label(_entry_reference(booking)) for booking in bookings]


def _entry_reference(booking: Booking) -> str:
    reference = booking.entry_reference or ""
    return reference if 0 < len(reference) <= MAX_REFERENCE_LENGTH else booking.entry_id.hex


_accounts_by_code = select(accounts.c.id, accounts.c.code, accounts.c.currency).where(
    accounts.c.code.in_(bindparam("codes", expanding=True))
)
_posted_in = (
    postings.c.account_id.in_(bindparam("ids", expanding=True)),
    postings.c.phase == "posted",
)
_bookings = (
    select(
        postings.c.account_id,
        postings.c.side,
        postings.c.amount,
        postings.c.created_at,
        entries.c.id.label("entry_id"),
        entries.c.reference,
        entries.c.metadata,
    )
    .join(entries, entries.c.seq == postings.c.entry_seq)
    .where(*_posted_in, postings.c.created_at >= bindparam("start"), postings.c.created_at < bindparam("end"))
    .order_by(postings.c.created_at, postings.c.id)
)
_credit_balance = select(
    func.coalesce(
        func.sum(case((postings.c.side == "credit", postings.c.amount), else_=-postings.c.amount)), 0
    )
).where(*_posted_in, postings.c.created_at < bindparam("at"))


class LedgerPositionSource:
    """A :class:`PositionSource` over the ledger's postings (see the module docstring)."""

    def __init__(self, accounts_of: AccountsOf, labeller: Labeller = label_by_entry) -> None:
        self._accounts_of = accounts_of
        self._labeller = labeller

    async def _account_ids(self, conn: AsyncConnection, partner_id: str, currency: str) -> dict[int, str]:
        codes = list(await self._accounts_of(conn, partner_id, currency))
        if not codes:
            return {}
        found = {}
        for row in await conn.execute(_accounts_by_code, {"codes": codes}):
            if row.currency != currency:
                raise SettlementAccountMismatch(f"account {row.code} is in {row.currency}, not {currency}")
            found[int(row.id)] = str(row.code)
        return found

    async def bookings(
        self, conn: AsyncConnection, partner_id: str, currency: str, start: datetime, end: datetime
    ) -> list[Booking]:
        """The posted postings of the partner's accounts in ``[start, end)``, in booking order."""
        ids = await self._account_ids(conn, partner_id, currency)
        if not ids:
            return []
        rows = await conn.execute(_bookings, {"ids": list(ids), "start": start, "end": end})
        return [
            Booking(
                account=ids[row.account_id],
                direction=Direction.CREDIT if row.side == "credit" else Direction.DEBIT,
                amount=Money.from_minor(row.amount, currency),
                booked_at=row.created_at,
                entry_id=row.entry_id,
                entry_reference=row.reference,
                metadata=row.metadata or {},
            )
            for row in rows
        ]

    async def movements(
        self, conn: AsyncConnection, partner_id: str, currency: str, start: datetime, end: datetime
    ) -> list[StatementLine]:
        bookings = await self.bookings(conn, partner_id, currency, start, end)
        labels = list(await self._labeller(conn, bookings)) if bookings else []
        if len(labels) != len(bookings):
            raise ValueError(f"the labeller gave {len(labels)} labels for {len(bookings)} movements")
        return [
            StatementLine(
                reference=label.reference,
                amount=booking.amount,
                direction=booking.direction,
                booked_on=booking.booked_at.date(),
                description=label.description,
                entry_id=booking.entry_id.hex,
            )
            for booking, label in zip(bookings, labels, strict=True)
        ]

    async def balance_at(self, conn: AsyncConnection, partner_id: str, currency: str, at: datetime) -> Money:
        ids = await self._account_ids(conn, partner_id, currency)
        if not ids:
            return Money.zero(currency)
        total = (await conn.execute(_credit_balance, {"ids": list(ids), "at": at})).scalar_one()
        return Money.from_minor(int(total), currency)
