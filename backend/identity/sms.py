"""Sending SMS: a provider interface, an HTTP gateway implementation, and the developer's inbox.

Production talks to an SMS gateway over HTTPS (:class:`HttpSmsProvider`: a JSON POST with a bearer
token). On a laptop and in tests, :class:`InboxSmsProvider` sends nothing and keeps the last
messages per number in a Litestar store, where ``GET /dev/sms`` (dev only) shows them.
"""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

import httpx
from litestar.stores.base import Store

from backend.identity.clock import Clock, utc_now
from backend.identity.errors import SmsUnavailable

__all__ = ["HttpSmsProvider", "InboxMessage", "InboxSmsProvider", "SmsProvider"]

logger = logging.getLogger("korpu.identity.sms")


class SmsProvider(Protocol):
    """Something that delivers a text message to a phone number, or raises :class:`SmsUnavailable`."""

    async def send(self, phone: str, text: str) -> None: ...


@dataclass(frozen=True, slots=True)
class HttpSmsProvider:
    """An SMS gateway that takes ``POST {url}`` with ``{"to": "+E164", "text": "..."}``."""

    url: str
    """The gateway's send endpoint."""
    token: str | None = None
    """Bearer token of our account at the gateway."""
    timeout_seconds: float = 10.0
    """Give up on the gateway after this long."""
    transport: httpx.AsyncBaseTransport | None = None
    """For tests: an ``httpx.MockTransport``."""

    async def send(self, phone: str, text: str) -> None:
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        try:
            async with httpx.AsyncClient(transport=self.transport, timeout=self.timeout_seconds) as client:
                response = await client.post(self.url, json={"to": phone, "text": text}, headers=headers)
        except httpx.HTTPError as exc:
            logger.warning("sms gateway unreachable", extra={"error": type(exc).__name__})
            raise SmsUnavailable() from None
        if not response.is_success:
            logger.warning("sms gateway refused", extra={"gatewayStatus": response.status_code})
            raise SmsUnavailable()


@dataclass(frozen=True, slots=True)
class InboxMessage:
    """One message in the developer's inbox."""

    phone: str
    """E.164 recipient."""
    text: str
    """What would have been sent."""
    sent_at: datetime
    """When."""


@dataclass
class InboxSmsProvider:
    """Keeps messages instead of sending them (dev and test only)."""

    store: Store
    """Where the inbox lives (memory, or Redis when several processes serve)."""
    keep: int = 10
    """Messages kept per number."""
    ttl_seconds: int = 3600
    """How long a number's inbox lives after its last message."""
    clock: Clock = utc_now
    """Time source."""
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock, repr=False)

    async def send(self, phone: str, text: str) -> None:
        async with self._lock:
            kept = await self._load(phone)
            kept.insert(0, {"phone": phone, "text": text, "sentAt": self.clock().isoformat()})
            await self.store.set(self._key(phone), json.dumps(kept[: self.keep]), expires_in=self.ttl_seconds)

    async def messages(self, phone: str) -> list[InboxMessage]:
        """The messages to ``phone`` (E.164), newest first."""
        return [
            InboxMessage(item["phone"], item["text"], datetime.fromisoformat(item["sentAt"]))
            for item in await self._load(phone)
        ]

    async def _load(self, phone: str) -> list[dict[str, str]]:
        raw = await self.store.get(self._key(phone))
        return list(json.loads(raw)) if raw else []

    @staticmethod
    def _key(phone: str) -> str:
        return f"inbox:{phone}"
