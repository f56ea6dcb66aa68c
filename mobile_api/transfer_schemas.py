"""Request and response shapes of transfers, wallets and receipts (camelCase JSON)."""

from __future__ import annotations

from typing import Annotated

import msgspec

from mobile_api.quote_schemas import MoneyIn, MoneyOut

__all__ = [
    "CashoutRequest",
    "ReceiptLine",
    "ReceiptOut",
    "RecipientSnapshot",
    "TimelineOut",
    "TopupRequest",
    "TransferOut",
    "TransferPage",
    "TransferRequest",
    "WalletBalanceOut",
    "WalletHistoryItem",
    "WalletHistoryPage",
    "WalletOperationOut",
    "WalletOut",
]

Purpose = Annotated[str, msgspec.Meta(min_length=1, max_length=40, pattern=r"^[a-z_]+$")]


class TransferRequest(msgspec.Struct, rename="camel", forbid_unknown_fields=True):
    """Send money: the quote that prices it, who gets it, and why (e.g. ``family_support``)."""

    quote_id: Annotated[str, msgspec.Meta(min_length=1, max_length=36)]
    recipient_id: Annotated[int, msgspec.Meta(ge=1, le=2**31 - 1)]
    purpose: Purpose = "family_support"


class RecipientSnapshot(msgspec.Struct, rename="camel"):
    given_name: str
    family_name: str
    country: str
    method: str
    account: str | None


class TimelineOut(msgspec.Struct):
    status: str
    at: str
    code: str | None


class TransferOut(msgspec.Struct, rename="camel"):
    id: str
    status: str
    failure_code: str | None
    quote_id: str
    corridor: str
    payout_method: str
    recipient_id: int
    recipient: RecipientSnapshot
    purpose: str
    send_amount: MoneyOut
    fee: MoneyOut
    total_to_pay: MoneyOut
    receive_amount: MoneyOut
    mid_rate: str
    rate: str
    total_cost_pct: str
    created_at: str
    updated_at: str
    timeline: list[TimelineOut]


class TransferPage(msgspec.Struct, rename="camel"):
    items: list[TransferOut]
    next_cursor: str | None


class ReceiptLine(msgspec.Struct):
    label: str
    value: str


class ReceiptOut(msgspec.Struct, rename="camel"):
    transfer_id: str
    language: str
    title: str
    lines: list[ReceiptLine]
    text: str


class WalletBalanceOut(msgspec.Struct):
    currency: str
    available: MoneyOut
    pending: MoneyOut
    posted: MoneyOut


class WalletOut(msgspec.Struct):
    balances: list[WalletBalanceOut]


class WalletHistoryItem(msgspec.Struct, rename="camel"):
    entry_id: str
    direction: str
    phase: str
    amount: MoneyOut
    created_at: str
    reference: str | None


class WalletHistoryPage(msgspec.Struct, rename="camel"):
    items: list[WalletHistoryItem]
    next_cursor: str | None


class TopupRequest(msgspec.Struct, forbid_unknown_fields=True):
    amount: MoneyIn


class CashoutRequest(msgspec.Struct, rename="camel", forbid_unknown_fields=True):
    """Cash out to your own bank account (``iban``) or card (``cardNumber``): give exactly one."""

    amount: MoneyIn
    iban: Annotated[str, msgspec.Meta(max_length=42)] | None = None
    card_number: Annotated[str, msgspec.Meta(max_length=23)] | None = None


class WalletOperationOut(msgspec.Struct, rename="camel"):
    id: str
    kind: str
    amount: MoneyOut
    status: str
    reference: str
    created_at: str
    partner: str
    instructions: str | None = None
