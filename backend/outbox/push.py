"""The ``push`` channel: notifications to a customer's phone through a provider.

Events name the customer by id (``push:<customer id>``) and the message by template and parameters,
so the outbox holds no personal data; the provider resolves the device and renders the text.
The dev provider keeps what it was asked to send in memory and logs the template and customer id.
"""

from __future__ import annotations

import logging
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Protocol

from backend.outbox.delivery import DeliveryFailed
from backend.outbox.events import StoredEvent

__all__ = ["DevPushProvider", "PushHandler", "PushMessage", "PushProvider"]

logger = logging.getLogger("korpu.push")


@dataclass(frozen=True, slots=True)
class PushMessage:
    """One notification as handed to a provider."""

    message_id: str
    """The outbox event id; providers use it to drop duplicates."""
    customer_id: str
    """Whose devices to notify."""
    template: str
    """Message template, e.g. ``transfer.failed``."""
    params: dict[str, Any]
    """Template parameters (amounts, references)."""


class PushProvider(Protocol):
    """Sends a push notification; raises on failure so the outbox retries."""

    async def send(self, message: PushMessage) -> None: ...


@dataclass
class DevPushProvider:
    """Development provider: remembers and logs, sends nothing."""

    sent: deque[PushMessage] = field(default_factory=lambda: deque(maxlen=10_000))
    """What it was asked to send, in order: the latest 10,000 (a long-running dev worker would
    otherwise keep every notice in memory)."""

    async def send(self, message: PushMessage) -> None:
        self.sent.append(message)
        logger.info(
            "push notification", extra={"customerId": message.customer_id, "template": message.template}
        )


@dataclass(frozen=True, slots=True)
class PushHandler:
    """Delivery handler of the ``push`` channel."""

    provider: PushProvider
    """Where notifications go."""

    async def deliver(self, event: StoredEvent) -> None:
        template = event.payload.get("template")
        if not isinstance(template, str) or not event.target:
            raise DeliveryFailed("push event without template or customer", permanent=True)
        params = event.payload.get("params") or {}
        await self.provider.send(PushMessage(event.id, event.target, template, dict(params)))
