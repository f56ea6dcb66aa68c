"""Helpers for settlement tests: a payout outcome handler that books each confirmation in the ledger
the way the transfer flow does, without the rest of a transfer."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy.ext.asyncio import AsyncConnection

from backend.chart import partner_payable, partner_receivable
from backend.partners.payouts import Payout, PayoutKind
from ledger.accounts import open_account
from ledger.journal import post_entry
from ledger.model import EntryRequest, Side

__all__ = ["LedgerBookings"]


@dataclass
class LedgerBookings:
    """Books a confirmed payout or cash-out as a credit on the partner's payable and a confirmed top-up
    as a debit on its receivable (the other leg on a clearing account), with the payout id in the
    entry's metadata, as the transfer and wallet services do."""

    partner_code: str
    """The partner whose accounts are booked."""
    booked_on: dict[str, date] = field(default_factory=dict)
    """The ledger's booking date of each payout, by its reference."""

    async def on_confirmed(self, conn: AsyncConnection, payout: Payout) -> None:
        currency = payout.amount.currency
        clearing = f"test:clearing:{currency}"
        await open_account(conn, clearing, currency, Side.DEBIT)
        if payout.kind is PayoutKind.TOPUP:
            partner_account = partner_receivable(self.partner_code, currency)
            await open_account(conn, partner_account, currency, Side.DEBIT)
            legs = [(partner_account, Side.DEBIT, payout.amount), (clearing, Side.CREDIT, payout.amount)]
        else:
            partner_account = partner_payable(self.partner_code, currency)
            await open_account(conn, partner_account, currency, Side.CREDIT)
            legs = [(clearing, Side.DEBIT, payout.amount), (partner_account, Side.CREDIT, payout.amount)]
        entry = await post_entry(
            conn,
            EntryRequest(
                id=uuid.uuid5(uuid.NAMESPACE_URL, f"korpu-test:{payout.id}"),
                postings=legs,
                metadata={"payout": payout.id},
                reference=payout.reference,
            ),
        )
        self.booked_on[payout.reference] = entry.created_at.date()

    async def on_failed(self, conn: AsyncConnection, payout: Payout, reason: str) -> None:
        """A failed payout books nothing."""
