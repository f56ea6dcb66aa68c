"""The ledger entry of a remittance, built from its quote (see :mod:`backend.chart`).

One pending multi-leg entry reserves the sender's money and states where every minor unit goes:
fee and FX margin are legs of their own so revenue from each can be reported per corridor. Legs of
zero (a corridor without a fee, or a rate without margin) are left out, as the ledger takes only
positive amounts.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncConnection

from backend.chart import customer_wallet, fee_revenue, fx_margin_revenue, fx_position, partner_payable
from ledger.accounts import open_account
from ledger.model import AccountFlags, EntryRequest, Side
from ledger.money import Money

__all__ = ["AccountOpener", "remittance_entry"]

_WALLET_FLAGS = AccountFlags(debits_must_not_exceed_credits=True)


def remittance_entry(
    entry_id: UUID,
    *,
    sender_id: int,
    total_to_pay: Money,
    fee: Money,
    send_amount: Money,
    receive_amount: Money,
    fx_margin: Money,
    payout_account: str,
    expires_at: datetime,
    metadata: dict[str, Any],
    reference: str,
) -> EntryRequest:
    """The pending entry of a remittance, balanced per currency."""
    send, receive = send_amount.currency, receive_amount.currency
    legs: list[tuple[str, Side, Money]] = [
        (customer_wallet(sender_id, send), Side.DEBIT, total_to_pay),
        (fee_revenue(send), Side.CREDIT, fee),
        (fx_position(send), Side.CREDIT, send_amount),
        (fx_position(receive), Side.DEBIT, receive_amount + fx_margin),
        (fx_margin_revenue(receive), Side.CREDIT, fx_margin),
        (payout_account, Side.CREDIT, receive_amount),
    ]
    return EntryRequest(
        id=entry_id,
        postings=[(code, side, amount) for code, side, amount in legs if amount.is_positive()],
        pending=True,
        expires_at=expires_at,
        metadata=metadata,
        reference=reference,
    )


class AccountOpener:
    """Opens the accounts an entry needs, once per process (opening is idempotent in the ledger,
    but each check is a round trip that the hot path can skip once it knows the account exists)."""

    def __init__(self) -> None:
        self._known: set[str] = set()

    async def ensure(self, conn: AsyncConnection, codes: Iterable[tuple[str, str]]) -> list[str]:
        """Open what is not known to exist; ``codes`` are ``(account code, currency)`` pairs, and the
        chart of accounts gives each its normal side and limits. Returns the codes it opened, for
        :meth:`remember` once the transaction has committed (a rolled-back account does not exist)."""
        opened: list[str] = []
        for code, currency in codes:
            if code in self._known:
                continue
            kind = code.split(":", 1)[0]
            if kind == "customer":
                await open_account(conn, code, currency, Side.CREDIT, _WALLET_FLAGS)
            elif kind == "revenue" or (kind == "partner" and ":payable:" in code):
                await open_account(conn, code, currency, Side.CREDIT)
            else:
                await open_account(conn, code, currency, Side.DEBIT)
            opened.append(code)
        return opened

    def remember(self, codes: Iterable[str]) -> None:
        self._known.update(codes)


def partner_payout_account(partner_code: str, currency: str) -> str:
    return partner_payable(partner_code, currency)
