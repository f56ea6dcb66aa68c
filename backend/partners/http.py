"""Calling partner banks over HTTP: timeouts, retries with backoff and jitter, a circuit breaker per partner.

Every message we send is idempotent on the partner's side (it carries a stable ``webhook-id``), so a
call that timed out may be repeated. Within one call, connection errors, timeouts, 408, 429 and 5xx
are retried a few times with short exponential backoff and jitter; the outbox retries the call again
later with longer delays. The circuit breaker counts calls (not tries) that failed in a row per
partner; past the threshold it opens and calls fail fast with :class:`CircuitOpen` until the cool-down
ends, then one trial call decides whether it closes again. Its state is per process.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import httpx

from backend.clock import utcnow
from backend.http_post import HttpxPoster, PostConnectionFailed, Poster, PostTimedOut, Timeouts

__all__ = ["CallFailed", "CircuitBreaker", "CircuitOpen", "HttpPolicy", "PartnerHttpClient"]

_RETRYABLE_STATUS = frozenset({408, 425, 429, 500, 502, 503, 504})


@dataclass(frozen=True, slots=True)
class HttpPolicy:
    """Timeouts, retries and breaker thresholds for calls to partners."""

    connect_timeout_seconds: float = 3.0
    """Time to open a connection."""
    read_timeout_seconds: float = 10.0
    """Time to wait for the answer."""
    tries: int = 3
    """Tries within one call."""
    retry_base_seconds: float = 0.2
    """Pause after the first failed try; doubles each time."""
    retry_max_seconds: float = 2.0
    """Ceiling of that pause."""
    breaker_threshold: int = 5
    """Calls failed in a row that open the circuit."""
    breaker_cooldown_seconds: float = 30.0
    """How long an open circuit fails fast."""


class CallFailed(Exception):
    """The partner did not accept the call; the message is safe to store (no body, no secrets)."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class CircuitOpen(Exception):
    """Calls to this partner fail fast until :attr:`until`."""

    def __init__(self, partner_id: str, until: datetime) -> None:
        super().__init__(f"circuit open for partner {partner_id} until {until.isoformat()}")
        self.until = until


@dataclass
class _Circuit:
    failures: int = 0
    open_until: datetime | None = None
    trial_running: bool = False


@dataclass
class CircuitBreaker:
    """Per-partner circuits (closed, open, half-open)."""

    threshold: int
    """Consecutive failed calls that open a circuit."""
    cooldown: timedelta
    """How long it stays open."""
    _circuits: dict[str, _Circuit] = field(default_factory=dict)

    def before_call(self, partner_id: str, now: datetime) -> None:
        circuit = self._circuits.setdefault(partner_id, _Circuit())
        if circuit.open_until is None:
            return
        if now < circuit.open_until or circuit.trial_running:
            raise CircuitOpen(partner_id, max(circuit.open_until, now + timedelta(seconds=1)))
        circuit.trial_running = True  # half-open: this call is the trial

    def succeeded(self, partner_id: str) -> None:
        self._circuits[partner_id] = _Circuit()

    def failed(self, partner_id: str, now: datetime) -> None:
        circuit = self._circuits.setdefault(partner_id, _Circuit())
        circuit.failures += 1
        circuit.trial_running = False
        if circuit.failures >= self.threshold:
            circuit.open_until = now + self.cooldown

    def state(self, partner_id: str, now: datetime) -> str:
        circuit = self._circuits.get(partner_id)
        if circuit is None or circuit.open_until is None:
            return "closed"
        return "open" if now < circuit.open_until else "half-open"


class PartnerHttpClient:
    """POSTs to partners through a :class:`~backend.http_post.Poster` (the processes give an
    aiohttp one; an ``httpx.AsyncClient``, as tests give, is wrapped in an ``HttpxPoster``)."""

    def __init__(self, poster: Poster | httpx.AsyncClient, policy: HttpPolicy | None = None) -> None:
        self.poster: Poster = HttpxPoster(poster) if isinstance(poster, httpx.AsyncClient) else poster
        self.policy = policy or HttpPolicy()
        self.breaker = CircuitBreaker(
            self.policy.breaker_threshold, timedelta(seconds=self.policy.breaker_cooldown_seconds)
        )
        self._timeouts = Timeouts(
            connect_seconds=self.policy.connect_timeout_seconds, read_seconds=self.policy.read_timeout_seconds
        )

    async def post(self, partner_id: str, url: str, body: bytes, headers: Mapping[str, str]) -> int:
        """POST ``body`` to ``url``: the 2xx status, or :class:`CallFailed` / :class:`CircuitOpen`."""
        self.breaker.before_call(partner_id, utcnow())
        try:
            status = await self._post_with_retries(url, body, headers)
        except CallFailed:
            self.breaker.failed(partner_id, utcnow())
            raise
        self.breaker.succeeded(partner_id)
        return status

    async def _post_with_retries(self, url: str, body: bytes, headers: Mapping[str, str]) -> int:
        last: CallFailed | None = None
        sent = {**headers, "content-type": "application/json"}
        for attempt in range(1, self.policy.tries + 1):
            try:
                status = await self.poster.post(url, body, sent, self._timeouts)
            except PostTimedOut:
                last = CallFailed("timed out")
            except PostConnectionFailed as exc:
                last = CallFailed(f"connection failed: {exc}")
            else:
                if 200 <= status < 300:
                    return status
                last = CallFailed(f"partner answered {status}", status=status)
                if status not in _RETRYABLE_STATUS:
                    raise last
            if attempt < self.policy.tries:
                pause = min(
                    self.policy.retry_max_seconds, self.policy.retry_base_seconds * 2 ** (attempt - 1)
                )
                await asyncio.sleep(pause * (0.5 + 0.5 * random.random()))
        assert last is not None
        raise last
