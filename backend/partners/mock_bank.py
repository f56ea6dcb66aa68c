"""A mock partner bank for tests and the demo: a real HTTP server on loopback.

It receives our payout instructions and webhooks, checks their Standard Webhooks signatures, drops
repeats by ``webhook-id``, and settles each payout by one rule: an amount whose cents are ``.13``
fails (``beneficiary account closed``), anything else is confirmed. It answers the instruction with
202 at once and calls our partner API back a moment later, signing like a real partner would. In
pull mode it polls ``GET /partner/v1/payouts?status=pending`` instead.

It can be switched off (``available = False``: it answers 503 but still notes the ``webhook-id`` it
was sent), so tests can watch the outbox retry and catch up. ``GET /_mock/state`` shows what it saw;
``GET /_mock/payouts`` tells, for every payout id, how many distinct instructions (by ``webhook-id``)
asked for it, its reference and how it was settled, so a crash test can prove nothing was paid twice.

Run it with ``korpu partners mock-bank --port 8100`` (see docs/partners.md).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

import httpx
from litestar import Litestar, Request, Response, get, post

from backend.http_post import AiohttpPoster, PostConnectionFailed, PostTimedOut, Timeouts
from backend.partners.client import PartnerAuth, signed_headers
from backend.partners.signing import WebhookVerificationError, verify_webhook

__all__ = ["MockBank", "MockBankConfig", "PayoutRecord", "decide"]

logger = logging.getLogger("korpu.mock_bank")

_CALLBACKS_AT_ONCE = 64
"""Call-backs the bank expects to have in flight at most (the outbox worker delivers 64 at once)."""
_CALLBACK_TIMEOUTS = Timeouts(connect_seconds=10, read_seconds=10)
"""How long a call-back to our API may take before it counts as unanswered and is tried again."""


@dataclass
class MockBankConfig:
    """Where our API is and the credentials the mock bank holds."""

    api_url: str
    """Base URL of the Körpü API, e.g. ``http://127.0.0.1:8000``."""
    key_id: str
    """The bank's API key id."""
    api_secret: str
    """The bank's API secret."""
    webhook_secret: str
    """The ``whsec_...`` secret our messages are signed with."""
    callback_delay_seconds: float = 0.05
    """Pause between accepting an instruction and answering it, like a real bank's processing."""
    callback_attempts: int = 5
    """Tries to report an outcome while our API is unreachable (backoff from 0.2 s, at most 5 s apart)."""


def decide(amount: dict[str, str]) -> str | None:
    """The mock bank's rule: ``None`` to pay, or the reason it cannot (amounts ending in .13 fail)."""
    if Decimal(amount["amount"]) % 1 == Decimal("0.13"):
        return "beneficiary account closed"
    return None


@dataclass
class PayoutRecord:
    """What the bank received for one payout id."""

    reference: str
    """Our reference (the transfer or wallet operation)."""
    instructions: int = 0
    """Distinct instructions (distinct ``webhook-id``) that asked to pay it: more than one is a duplicate."""

    def to_json(self) -> dict[str, Any]:
        return {"reference": self.reference, "instructions": self.instructions}


@dataclass
class MockBank:
    """State and behaviour of the mock bank; :meth:`app` is its HTTP face."""

    config: MockBankConfig
    """Credentials and our URL."""
    available: bool = True
    """When false, every message is answered 503."""
    seen_ids: list[str] = field(default_factory=list)
    """Every ``webhook-id`` we were sent, repeats and refused attempts included."""
    instructions: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Payout instructions by ``webhook-id``, each kept once."""
    webhooks: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Webhooks by ``webhook-id``, each kept once."""
    outcomes: dict[str, str] = field(default_factory=dict)
    """``confirmed`` or ``failed: reason`` by payout id, once our API accepted it."""
    payouts: dict[str, PayoutRecord] = field(default_factory=dict)
    """Every payout id an instruction named: how often (a second distinct instruction is a duplicate)."""
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)
    _poster: AiohttpPoster = field(default_factory=lambda: AiohttpPoster(_CALLBACKS_AT_ONCE))

    async def _call_back(self, path: str, document: dict[str, Any]) -> int | None:
        """POST ``document`` to our partner API, signed as :class:`PartnerAuth` signs (both through
        :func:`~backend.partners.client.signed_headers`): the status, or ``None`` when our API could
        not be reached. Call-backs go out as fast as payouts arrive: through aiohttp
        (:mod:`backend.http_post`)."""
        body = json.dumps(document).encode()
        url = self.config.api_url.rstrip("/") + path
        target = urlsplit(url).path  # what goes on the wire, any prefix of api_url included
        headers = {
            **signed_headers(
                self.config.key_id, self.config.api_secret, int(time.time()), "POST", target, body
            ),
            "content-type": "application/json",
        }
        try:
            return await self._poster.post(url, body, headers, _CALLBACK_TIMEOUTS)
        except (PostTimedOut, PostConnectionFailed):
            return None

    async def aclose(self) -> None:
        await self._poster.aclose()

    def _verify(self, request_headers: Any, body: bytes) -> str:
        headers = {
            name: request_headers.get(name, "")
            for name in ("webhook-id", "webhook-timestamp", "webhook-signature")
        }
        return verify_webhook(self.config.webhook_secret, headers, body, int(time.time()))

    async def receive(self, kind: str, headers: Any, body: bytes) -> Response[Any]:
        message_id = headers.get("webhook-id", "")
        self.seen_ids.append(message_id)
        if not self.available:
            return Response({"error": "bank offline"}, status_code=503)
        try:
            self._verify(headers, body)
        except WebhookVerificationError as exc:
            return Response({"error": str(exc)}, status_code=401)
        store = self.instructions if kind == "payout" else self.webhooks
        if message_id in store:
            return Response({"duplicate": True}, status_code=200)
        message = json.loads(body)
        store[message_id] = message
        if kind == "payout":
            self._count(message["data"])
            task = asyncio.create_task(self._settle_later(message["data"]))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
            return Response({"accepted": True}, status_code=202)
        return Response(None, status_code=204)

    def _count(self, payout: dict[str, Any]) -> None:
        record = self.payouts.setdefault(payout["id"], PayoutRecord(str(payout.get("reference", ""))))
        record.instructions += 1

    def payout_report(self) -> dict[str, Any]:
        """Every payout id received, with its count, reference and outcome (``GET /_mock/payouts``)."""
        return {
            payout_id: {**record.to_json(), "outcome": self.outcomes.get(payout_id)}
            for payout_id, record in self.payouts.items()
        }

    async def _settle_later(self, payout: dict[str, Any]) -> None:
        await asyncio.sleep(self.config.callback_delay_seconds)
        await self.settle(payout)

    async def settle(self, payout: dict[str, Any]) -> None:
        """Confirm or fail ``payout`` through our partner API, retrying while our API is unreachable."""
        reason = decide(payout["amount"])
        action, body = (
            ("fail", {"reason": reason})
            if reason
            else ("confirm", {"partnerReference": f"MOCK-{payout['id'][-8:]}"})
        )
        for attempt in range(self.config.callback_attempts):
            status = await self._call_back(f"/partner/v1/payouts/{payout['id']}/{action}", body)
            if status in (200, 409):
                self.outcomes[payout["id"]] = "confirmed" if action == "confirm" else f"failed: {reason}"
                return
            await asyncio.sleep(min(0.2 * 2**attempt, 5.0))
        logger.warning("mock bank could not report a payout", extra={"payoutId": payout["id"]})

    async def poll_once(self, limit: int = 50) -> int:
        """Pull mode: claim pending payouts and settle each; return how many."""
        auth = PartnerAuth(self.config.key_id, self.config.api_secret)
        async with httpx.AsyncClient(base_url=self.config.api_url, auth=auth, timeout=10) as client:
            response = await client.get("/partner/v1/payouts", params={"status": "pending", "limit": limit})
            response.raise_for_status()
            items = response.json()["items"]
        for payout in items:
            await self.settle(payout)
        return len(items)

    async def wait_idle(self) -> None:
        """Wait until every scheduled call-back has run."""
        while self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    def state(self) -> dict[str, Any]:
        return {
            "available": self.available,
            "seenIds": self.seen_ids,
            "instructions": sorted(self.instructions),
            "webhooks": [{"id": k, "type": v["type"]} for k, v in self.webhooks.items()],
            "outcomes": self.outcomes,
            "payoutsReceived": len(self.payouts),
            "duplicatePayouts": sorted(
                pid for pid, record in self.payouts.items() if record.instructions > 1
            ),
        }

    def app(self) -> Litestar:
        bank = self

        @post("/payouts", status_code=202)
        async def payouts(request: Request[Any, Any, Any]) -> Response[Any]:
            return await bank.receive("payout", request.headers, await request.body())

        @post("/webhooks", status_code=200)
        async def webhooks(request: Request[Any, Any, Any]) -> Response[Any]:
            return await bank.receive("webhook", request.headers, await request.body())

        @get("/_mock/state")
        async def state() -> dict[str, Any]:
            return bank.state()

        @get("/_mock/payouts")
        async def payout_report() -> dict[str, Any]:
            return bank.payout_report()

        @post("/_mock/availability", status_code=200)
        async def availability(data: dict[str, bool]) -> dict[str, Any]:
            bank.available = bool(data.get("available", True))
            return {"available": bank.available}

        return Litestar(
            [payouts, webhooks, state, payout_report, availability], logging_config=None, openapi_config=None
        )


async def run_mock_bank(bank: MockBank, host: str, port: int, poll_interval: float | None = None) -> None:
    """Serve the mock bank until interrupted; in pull mode also poll every ``poll_interval`` seconds."""
    import uvicorn

    server = uvicorn.Server(
        uvicorn.Config(bank.app(), host=host, port=port, log_config=None, access_log=False)
    )
    poller: asyncio.Task[None] | None = None
    if poll_interval:

        async def poll_forever() -> None:
            while True:
                try:
                    await bank.poll_once()
                except httpx.HTTPError as exc:
                    logger.warning("mock bank poll failed", extra={"error": type(exc).__name__})
                await asyncio.sleep(poll_interval)

        poller = asyncio.create_task(poll_forever())
    try:
        await server.serve()
    finally:
        await bank.aclose()
        if poller is not None:
            poller.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await poller
