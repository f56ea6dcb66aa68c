"""The JSON a client sees of a transfer (camelCase, amounts as decimal strings).

It lives beside the service rather than in ``mobile_api`` because the first reply to an
idempotent POST is stored and replayed byte for byte: the service must produce it.
"""

from __future__ import annotations

from typing import Any

from backend.transfers.model import Transfer

__all__ = ["transfer_json"]


def transfer_json(transfer: Transfer) -> dict[str, Any]:
    return {
        "id": transfer.id,
        "status": transfer.status.value,
        "failureCode": transfer.failure_code,
        "quoteId": transfer.quote_id,
        "corridor": transfer.corridor,
        "payoutMethod": transfer.payout_method,
        "recipientId": transfer.recipient_id,
        "recipient": transfer.recipient,
        "purpose": transfer.purpose,
        "sendAmount": transfer.send_amount.to_json(),
        "fee": transfer.fee.to_json(),
        "totalToPay": transfer.total_to_pay.to_json(),
        "receiveAmount": transfer.receive_amount.to_json(),
        "midRate": transfer.mid_rate,
        "rate": transfer.rate,
        "totalCostPct": transfer.total_cost_pct,
        "createdAt": transfer.created_at.isoformat(),
        "updatedAt": transfer.updated_at.isoformat(),
        "timeline": [
            {"status": event.status.value, "at": event.at.isoformat(), "code": event.code}
            for event in transfer.timeline
        ],
    }
