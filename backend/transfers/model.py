"""What a transfer is, the statuses it moves through, and the errors its requests can meet.

Statuses (the timeline a sender sees):

    created -> funds_reserved -> sent_to_partner -> paid_out
                     |                 \\-> failed -> refunded   (the partner could not pay)
                     +-> under_review -> (released: sent_to_partner | blocked: refunded)
                     +-> cancelled                                (by the sender, before the partner has it)

``funds_reserved`` means a pending ledger entry (a hold) holds the sender's money; ``paid_out``
posts it, ``refunded`` and ``cancelled`` void it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from ledger.money import Money

__all__ = [
    "FINAL_STATUSES",
    "PayoutMismatch",
    "RecipientWalletUnavailable",
    "TimelineEvent",
    "Transfer",
    "TransferNotCancellable",
    "TransferNotFound",
    "TransferStatus",
]


class TransferStatus(StrEnum):
    CREATED = "created"
    FUNDS_RESERVED = "funds_reserved"
    UNDER_REVIEW = "under_review"
    SENT_TO_PARTNER = "sent_to_partner"
    PAID_OUT = "paid_out"
    FAILED = "failed"
    REFUNDED = "refunded"
    CANCELLED = "cancelled"


FINAL_STATUSES = frozenset({TransferStatus.PAID_OUT, TransferStatus.REFUNDED, TransferStatus.CANCELLED})


class TransferNotFound(Exception):
    code = "transfer_not_found"
    status = 404


class TransferNotCancellable(Exception):
    code = "transfer_not_cancellable"
    status = 409


class PayoutMismatch(Exception):
    """The recipient cannot be paid the way the quote was priced."""

    code = "payout_method_mismatch"
    status = 422


class RecipientWalletUnavailable(Exception):
    code = "recipient_wallet_unavailable"
    status = 422


@dataclass(frozen=True, slots=True)
class TimelineEvent:
    status: TransferStatus
    at: datetime
    code: str | None


@dataclass(frozen=True, slots=True)
class Transfer:
    """A transfer as its sender may see it (the recipient's details are already masked)."""

    id: str
    customer_id: int
    recipient_id: int
    recipient: dict[str, Any]
    quote_id: str
    corridor: str
    payout_method: str
    send_amount: Money
    fee: Money
    total_to_pay: Money
    receive_amount: Money
    fx_margin: Money
    mid_rate: str
    rate: str
    total_cost_pct: str
    purpose: str
    status: TransferStatus
    failure_code: str | None
    partner_id: str | None
    payout_id: str | None
    hold_entry_id: str | None
    recipient_customer_id: int | None
    created_at: datetime
    updated_at: datetime
    timeline: tuple[TimelineEvent, ...] = ()
