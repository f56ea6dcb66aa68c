"""Outbox channels to partner banks: ``webhook`` (Standard Webhooks) and ``payout`` (push instructions).

Both sign with the partner's webhook secret(s) in the Standard Webhooks format and send the outbox
event id as ``webhook-id``, so a partner that sees the same id twice knows it is a repeat. The
body of a message is the same on every attempt; only ``webhook-timestamp`` and the signature change.
Payload data that is personal (a payout's beneficiary) is unsealed here, at delivery time, and
never stored in the outbox.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from backend.db import alone
from backend.outbox.delivery import DeliveryDeferred, DeliveryFailed
from backend.outbox.events import StoredEvent
from backend.partners.credentials import PartnerSecrets
from backend.partners.directory import PartnerDirectory
from backend.partners.http import CallFailed, CircuitOpen, PartnerHttpClient
from backend.partners.payouts import PayoutNotFound, PayoutStatus, get_payout_for_partner, mark_sent
from backend.partners.service import PartnerNotFound
from backend.partners.signing import webhook_headers

__all__ = ["PayoutPushHandler", "WebhookHandler", "message_body"]

logger = logging.getLogger("korpu.partners.delivery")


def message_body(event_type: str, event: StoredEvent, data: dict[str, Any]) -> bytes:
    """The JSON body of a webhook or instruction: ``{"type", "timestamp", "data"}``, stable across retries."""
    document = {"type": event_type, "timestamp": event.created_at.isoformat(), "data": data}
    return json.dumps(document, separators=(",", ":"), sort_keys=True, ensure_ascii=False).encode()


async def _send(
    http: PartnerHttpClient, partner_id: str, url: str, secrets: list[str], event: StoredEvent, body: bytes
) -> None:
    headers = webhook_headers(secrets, event.id, int(time.time()), body)
    try:
        await http.post(partner_id, url, body, headers)
    except CircuitOpen as exc:
        raise DeliveryDeferred(str(exc), exc.until) from None
    except CallFailed as exc:
        raise DeliveryFailed(str(exc)) from None


@dataclass(frozen=True, slots=True)
class WebhookHandler:
    """Channel ``webhook:<partner id>``: the event's topic and payload, signed, to the webhook URL."""

    partners: PartnerDirectory
    """The partner and its signing secrets (kept a few seconds)."""
    http: PartnerHttpClient
    """Calls partners."""

    async def deliver(self, event: StoredEvent) -> None:
        try:
            partner, secrets = await self.partners.get(event.target)
        except PartnerNotFound:
            raise DeliveryFailed(f"no partner {event.target}", permanent=True) from None
        if not partner.webhook_url:
            logger.info("partner takes no webhooks; event dropped", extra={"eventId": event.id})
            return
        body = message_body(event.topic, event, event.payload)
        await _send(self.http, partner.id, partner.webhook_url, secrets, event, body)


@dataclass(frozen=True, slots=True)
class PayoutPushHandler:
    """Channel ``payout:<partner id>``: the instruction, with its beneficiary, to the payout URL."""

    engine: AsyncEngine
    """Where payouts live."""
    keys: PartnerSecrets
    """Opens beneficiaries."""
    http: PartnerHttpClient
    """Calls partners."""
    partners: PartnerDirectory
    """The partner and its signing secrets (kept a few seconds)."""

    async def deliver(self, event: StoredEvent) -> None:
        try:
            partner, secrets = await self.partners.get(event.target)
            async with alone(self.engine) as conn:
                payout, beneficiary = await get_payout_for_partner(
                    conn, partner.id, event.aggregate_id, self.keys.sealer
                )
        except (PartnerNotFound, PayoutNotFound) as exc:
            raise DeliveryFailed(str(exc), permanent=True) from None
        if payout.status in (PayoutStatus.CONFIRMED, PayoutStatus.FAILED):
            return  # the partner already answered (say, through the pull API): nothing left to ask
        if not partner.payout_url:
            raise DeliveryFailed(f"partner {partner.code} has no payout URL", permanent=True)
        data = {
            **payout.to_json(beneficiary),
            "confirmPath": f"/partner/v1/payouts/{payout.id}/confirm",
            "failPath": f"/partner/v1/payouts/{payout.id}/fail",
        }
        await _send(
            self.http, partner.id, partner.payout_url, secrets, event, message_body(event.topic, event, data)
        )
        async with alone(self.engine) as conn:
            await mark_sent(conn, payout.id)
