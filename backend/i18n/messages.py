"""Message ids that code outside the error classes shows to people: the sign-in SMS and the receipt.

Each constant is an English message id of the ``messages`` catalogs in ``backend/i18n/locales``;
translate it with :meth:`backend.i18n.Translator.gettext` (or ``.format`` when it has placeholders).
"""

from __future__ import annotations

from typing import Final

__all__ = ["OTP_SMS", "RECEIPT_LABELS", "TRANSFER_STATUS_LABELS", "ReceiptLabel", "all_message_ids"]

OTP_SMS: Final = "Your Körpü code is {code}. It is valid for {minutes} minutes. Never share it with anyone."
"""The sign-in SMS; placeholders ``{code}`` and ``{minutes}``."""


class ReceiptLabel:
    """The labels of a transfer receipt, in the order a receipt shows them."""

    RECEIPT: Final = "Receipt"
    SENDER: Final = "Sender"
    RECIPIENT: Final = "Recipient"
    AMOUNT_SENT: Final = "Amount sent"
    FEE: Final = "Fee"
    TOTAL_PAID: Final = "Total paid"
    EXCHANGE_RATE: Final = "Exchange rate"
    AMOUNT_RECEIVED: Final = "Amount received"
    STATUS: Final = "Status"
    DATE: Final = "Date"
    REFERENCE: Final = "Reference"


RECEIPT_LABELS: Final = (
    ReceiptLabel.RECEIPT,
    ReceiptLabel.SENDER,
    ReceiptLabel.RECIPIENT,
    ReceiptLabel.AMOUNT_SENT,
    ReceiptLabel.FEE,
    ReceiptLabel.TOTAL_PAID,
    ReceiptLabel.EXCHANGE_RATE,
    ReceiptLabel.AMOUNT_RECEIVED,
    ReceiptLabel.STATUS,
    ReceiptLabel.DATE,
    ReceiptLabel.REFERENCE,
)


TRANSFER_STATUS_LABELS: Final = {
    "created": "Created",
    "funds_reserved": "Funds reserved",
    "under_review": "Under review",
    "sent_to_partner": "Sent to the partner bank",
    "paid_out": "Paid out",
    "failed": "Failed",
    "refunded": "Refunded",
    "cancelled": "Cancelled",
}
"""How a transfer's status reads on its receipt and timeline, by status value."""


def all_message_ids() -> list[str]:
    """The message ids declared here (the error classes declare theirs)."""
    return [OTP_SMS, *RECEIPT_LABELS, *TRANSFER_STATUS_LABELS.values()]
