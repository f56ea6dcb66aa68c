"""A transfer's receipt in the reader's language (en, az, ru, tr), amounts formatted per locale."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from backend.i18n import Translator
from backend.i18n.messages import TRANSFER_STATUS_LABELS, ReceiptLabel
from backend.identity.profiles import Profile
from backend.transfers.model import Transfer

__all__ = ["render_receipt"]


def render_receipt(transfer: Transfer, sender: Profile, tr: Translator) -> dict[str, Any]:
    """The receipt as labelled lines, plus a plain-text version for sharing."""
    sender_name = " ".join(part for part in (sender.given_name, sender.family_name) if part) or sender.phone
    recipient = transfer.recipient
    rate = tr.format_number(Decimal(transfer.rate), digits=None)
    lines = [
        (ReceiptLabel.SENDER, sender_name),
        (ReceiptLabel.RECIPIENT, f"{recipient['givenName']} {recipient['familyName']}"),
        (ReceiptLabel.AMOUNT_SENT, tr.format_money(transfer.send_amount)),
        (ReceiptLabel.FEE, tr.format_money(transfer.fee)),
        (ReceiptLabel.TOTAL_PAID, tr.format_money(transfer.total_to_pay)),
        (
            ReceiptLabel.EXCHANGE_RATE,
            f"1 {transfer.send_amount.currency} = {rate} {transfer.receive_amount.currency}",
        ),
        (ReceiptLabel.AMOUNT_RECEIVED, tr.format_money(transfer.receive_amount)),
        (ReceiptLabel.STATUS, tr.gettext(TRANSFER_STATUS_LABELS[transfer.status.value])),
        (ReceiptLabel.DATE, tr.format_datetime(transfer.created_at)),
        (ReceiptLabel.REFERENCE, transfer.id),
    ]
    rendered = [{"label": tr.gettext(label), "value": value} for label, value in lines]
    title = tr.gettext(ReceiptLabel.RECEIPT)
    text = "\n".join([title, *(f"{line['label']}: {line['value']}" for line in rendered)])
    return {
        "transferId": transfer.id,
        "language": tr.language,
        "title": title,
        "lines": rendered,
        "text": text,
    }
