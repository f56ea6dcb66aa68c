"""The settlement position source: a partner's payable and receivable accounts in the ledger.

A partner's position in a currency is what Körpü owes it there: the credit balance of
``partner:<code>:payable:<CUR>`` (payouts and cash-outs the partner made for us) less the debit
balance of ``partner:<code>:receivable:<CUR>`` (top-ups it collected for us). Every posted posting
on either account is one statement line, at the moment the ledger recorded it (see
:mod:`ledger.settlement.source`); holds are not movements until the partner's confirmation posts
them.

A line carries the reference the partner was given for the instruction it books (the transfer or
wallet-operation reference of the payout whose id the ledger entry's metadata names), so the
partner's own statement matches ours line by line; the payout's kind is its description. An entry
booked without a payout (an adjustment) keeps its own reference.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncConnection

from backend.chart import partner_payable, partner_receivable
from backend.partners.tables import partner_payouts, partners
from ledger.settlement.source import Booking, Label, LedgerPositionSource, PositionSource, label_by_entry

__all__ = ["default_source", "partner_accounts", "payout_labels"]

_partner_code = select(partners.c.code).where(partners.c.id == bindparam("partner_id"))
_payouts = select(partner_payouts.c.id, partner_payouts.c.reference, partner_payouts.c.kind).where(
    partner_payouts.c.id.in_(bindparam("ids", expanding=True))
)


async def partner_accounts(conn: AsyncConnection, partner_id: str, currency: str) -> list[str]:
    """The ledger accounts whose combined credit balance is the partner's position in ``currency``."""
    code = (await conn.execute(_partner_code, {"partner_id": partner_id})).scalar_one_or_none()
    if code is None:
        return []
    return [partner_payable(code, currency), partner_receivable(code, currency)]


async def payout_labels(conn: AsyncConnection, bookings: Sequence[Booking]) -> list[Label]:
    """Each booking labelled with the reference and kind of the payout its entry books."""
    payout_ids = {str(b.metadata["payout"]) for b in bookings if isinstance(b.metadata.get("payout"), str)}
    payouts = {}
    if payout_ids:
        rows = await conn.execute(_payouts, {"ids": sorted(payout_ids)})
        payouts = {row.id: Label(row.reference, row.kind) for row in rows}
    fallback = await label_by_entry(conn, bookings)
    return [
        payouts.get(str(booking.metadata.get("payout")), default)
        for booking, default in zip(bookings, fallback, strict=True)
    ]


_SOURCE = LedgerPositionSource(partner_accounts, payout_labels)


def default_source() -> PositionSource:
    """The source settlement reads from: the ledger."""
    return _SOURCE
