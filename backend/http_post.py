"""POSTing a body to a URL for the processes that keep many requests in flight (the outbox worker,
the mock bank): what :class:`backend.partners.http.PartnerHttpClient` sends through.

:class:`AiohttpPoster` is the one the processes use: one aiohttp session whose connections are kept
alive. With 64 requests in flight over loopback a POST cost 0.21-0.23 ms of the client's CPU
through aiohttp, against 1.8-1.9 ms through httpx even spread over small clients, which was a
third of the worker's CPU per transfer (docs/performance.md, session 7). :class:`HttpxPoster`
posts through any ``httpx.AsyncClient``, which is what tests give with ``httpx.MockTransport``.

Both answer the status code, and turn what went wrong on the way into :class:`PostTimedOut` or
:class:`PostConnectionFailed`, so that callers decide on retries without knowing the library.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

import aiohttp
import httpx

__all__ = [
    "AiohttpPoster",
    "HttpxPoster",
    "PostConnectionFailed",
    "PostTimedOut",
    "Poster",
    "Timeouts",
]


class PostTimedOut(Exception):
    """No connection, or no answer, within the time allowed."""


class PostConnectionFailed(Exception):
    """The connection could not be made, or broke; the message names the kind of failure only."""


@dataclass(frozen=True, slots=True)
class Timeouts:
    """How long one POST may take."""

    connect_seconds: float
    """Time to open a connection."""
    read_seconds: float
    """Time to wait for each read of the answer."""


class Poster(Protocol):
    """Something that POSTs ``body`` to ``url`` and answers the status code."""

    async def post(self, url: str, body: bytes, headers: Mapping[str, str], timeouts: Timeouts) -> int: ...

    async def aclose(self) -> None: ...


class AiohttpPoster:
    """POSTs through one aiohttp session of up to ``connections`` kept-alive connections (a request
    past them waits for one). The session is made on first use, inside the running event loop."""

    def __init__(self, connections: int) -> None:
        if connections < 1:
            raise ValueError("at least one connection")
        self.connections = connections
        self._session: aiohttp.ClientSession | None = None

    def _open(self) -> aiohttp.ClientSession:
        if self._session is None:
            connector = aiohttp.TCPConnector(limit=self.connections, limit_per_host=self.connections)
            # No cookies: every call stands alone, and nothing a partner sets travels to another.
            self._session = aiohttp.ClientSession(connector=connector, cookie_jar=aiohttp.DummyCookieJar())
        return self._session

    async def post(self, url: str, body: bytes, headers: Mapping[str, str], timeouts: Timeouts) -> int:
        timeout = aiohttp.ClientTimeout(
            # A whole try is bounded too: an answer that trickles in must not outlast the lease.
            total=timeouts.connect_seconds + timeouts.read_seconds,
            sock_connect=timeouts.connect_seconds,
            sock_read=timeouts.read_seconds,
        )
        try:
            async with self._open().post(
                url, data=body, headers=dict(headers), timeout=timeout, allow_redirects=False
            ) as response:
                await response.read()  # the whole answer, so that the connection is kept for the next
                return response.status
        except TimeoutError as exc:
            raise PostTimedOut("timed out") from exc
        except aiohttp.ClientError as exc:
            raise PostConnectionFailed(type(exc).__name__) from exc

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def __aenter__(self) -> AiohttpPoster:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.aclose()


class HttpxPoster:
    """POSTs through an ``httpx.AsyncClient`` (closed by :meth:`aclose`)."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client

    async def post(self, url: str, body: bytes, headers: Mapping[str, str], timeouts: Timeouts) -> int:
        timeout = httpx.Timeout(timeouts.read_seconds, connect=timeouts.connect_seconds)
        try:
            response = await self.client.post(url, content=body, headers=dict(headers), timeout=timeout)
        except httpx.TimeoutException as exc:
            raise PostTimedOut("timed out") from exc
        except httpx.TransportError as exc:
            raise PostConnectionFailed(type(exc).__name__) from exc
        return response.status_code

    async def aclose(self) -> None:
        await self.client.aclose()
