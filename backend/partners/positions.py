"""The settlement position source until the ledger's postings are wired in: confirmed partner instructions.

Each confirmed instruction is one booked movement on the partner's settlement account, at the time
it was confirmed: a payout or cash-out the partner paid on our behalf is a credit (we owe the partner
that much more), a top-up the partner collected for us is a debit. The reference is the transfer or
operation reference both sides know. :func:`default_source` is the one place that chooses the
source; once the ledger lands, a source over the partner's ledger account replaces this one there.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import bindparam, case, func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from backend.clock import as_utc
from backend.partners.tables import partner_payouts
from ledger.money import Money
from ledger.settlement.source import PositionSource
from ledger.settlement.statements import Direction, StatementLine

__all__ = ["PayoutPositionSource", "default_source"]

_confirmed = (
    partner_payouts.c.partner_id == bindparam("partner_id"),
    partner_payouts.c.currency == bindparam("currency"),
    partner_payouts.c.status == "confirmed",
)
_movements = (
    select(
        partner_payouts.c.id,
        partner_payouts.c.kind,
        partner_payouts.c.reference,
        partner_payouts.c.amount_minor,
        partner_payouts.c.completed_at,
    )
    .where(
        *_confirmed,
        partner_payouts.c.completed_at >= bindparam("start"),
        partner_payouts.c.completed_at < bindparam("end"),
    )
    .order_by(partner_payouts.c.completed_at, partner_payouts.c.id)
)
_signed_amount = case(
    (partner_payouts.c.kind == "topup", -partner_payouts.c.amount_minor), else_=partner_payouts.c.amount_minor
)
_balance = select(func.coalesce(func.sum(_signed_amount), 0)).where(
    *_confirmed, partner_payouts.c.completed_at < bindparam("at")
)


class PayoutPositionSource:
    """Movements from confirmed payouts, top-ups and cash-outs (see the module docstring)."""

    async def movements(
        self, conn: AsyncConnection, partner_id: str, currency: str, start: datetime, end: datetime
    ) -> list[StatementLine]:
        rows = await conn.execute(
            _movements, {"partner_id": partner_id, "currency": currency, "start": start, "end": end}
        )
        return [
            StatementLine(
                reference=row.reference,
                amount=Money.from_minor(row.amount_minor, currency),
                direction=Direction.DEBIT if row.kind == "topup" else Direction.CREDIT,
                booked_on=as_utc(row.completed_at).date(),
                description=row.kind,
                entry_id=row.id,
            )
            for row in rows
        ]

    async def balance_at(self, conn: AsyncConnection, partner_id: str, currency: str, at: datetime) -> Money:
        total = (
            await conn.execute(_balance, {"partner_id": partner_id, "currency": currency, "at": at})
        ).scalar_one()
        return Money.from_minor(int(total), currency)


def default_source() -> PositionSource:
    """The source settlement reads from."""
    return PayoutPositionSource()
