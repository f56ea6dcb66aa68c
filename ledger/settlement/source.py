"""Where settlement reads a partner's movements: the one adapter between settlement and the postings.

A :class:`PositionSource` answers two questions about a partner's settlement account in one
currency: which booked movements fall in ``[start, end)``, and what the balance was at a moment
(the sum of everything booked before it). Windows, statements and reconciliation only ever ask
these two, so the source can move from the payout records to the ledger's postings without touching
the rest.
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncConnection

from ledger.money import Money
from ledger.settlement.statements import StatementLine

__all__ = ["PositionSource"]


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
