"""The transports the worker and the mock bank post through (``backend/http_post.py``), against a
real HTTP server on loopback: the status comes back, connections are kept alive, and what goes
wrong on the way is one of two errors the partner client knows how to retry."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator

import httpx
import pytest

from backend.http_post import AiohttpPoster, HttpxPoster, PostConnectionFailed, PostTimedOut, Timeouts
from backend.partners.http import CallFailed, HttpPolicy, PartnerHttpClient

QUICK = Timeouts(connect_seconds=2, read_seconds=2)


class Receiver:
    """An HTTP/1.1 server that answers each request with the next status of ``statuses`` (the
    last one repeated), or never, and counts connections and requests."""

    def __init__(self, statuses: list[int], *, silent: bool = False, trickle: bool = False) -> None:
        self.statuses = statuses
        self.silent = silent
        self.trickle = trickle
        self.connections = 0
        self.requests: list[tuple[str, bytes]] = []

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                lengths = [
                    line.split(":", 1)[1] for line in lines if line.lower().startswith("content-length:")
                ]
                body = await reader.readexactly(int(lengths[0]) if lengths else 0)
                self.requests.append((lines[0], body))
                if self.silent:
                    await asyncio.sleep(3600)
                if self.trickle:  # an answer that never stops coming, a byte at a time
                    writer.write(b"HTTP/1.1 200 X\r\nContent-Length: 1000\r\n\r\n")
                    for _ in range(1000):
                        writer.write(b"x")
                        await writer.drain()
                        await asyncio.sleep(0.05)
                status = self.statuses[min(len(self.requests), len(self.statuses)) - 1]
                extra = "Location: http://127.0.0.1:9/elsewhere\r\n" if status in (301, 302) else ""
                writer.write(f"HTTP/1.1 {status} X\r\nContent-Length: 2\r\n{extra}\r\n{{}}".encode())
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


@contextlib.asynccontextmanager
async def receiving(receiver: Receiver) -> AsyncIterator[str]:
    server = await asyncio.start_server(receiver.handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}/hook"
    finally:
        server.close()


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def test_posts_answer_the_status_and_share_one_kept_alive_connection() -> None:
    receiver = Receiver([202])
    async with receiving(receiver) as url, AiohttpPoster(connections=4) as poster:
        statuses = [await poster.post(url, b'{"n":%d}' % n, {"webhook-id": "msg_1"}, QUICK) for n in range(5)]
    assert statuses == [202] * 5
    assert receiver.connections == 1
    assert [body for _, body in receiver.requests] == [b'{"n":%d}' % n for n in range(5)]
    assert all(line.startswith("POST /hook ") for line, _ in receiver.requests)


async def test_no_more_connections_than_allowed_however_many_posts_at_once() -> None:
    receiver = Receiver([200])
    async with receiving(receiver) as url, AiohttpPoster(connections=3) as poster:
        statuses = await asyncio.gather(*(poster.post(url, b"{}", {}, QUICK) for _ in range(30)))
    assert statuses == [200] * 30
    assert receiver.connections <= 3


async def test_a_redirect_is_answered_not_followed() -> None:
    receiver = Receiver([302])
    async with receiving(receiver) as url, AiohttpPoster(connections=1) as poster:
        assert await poster.post(url, b"{}", {}, QUICK) == 302
    assert len(receiver.requests) == 1


async def test_a_refused_connection_and_a_silent_receiver_are_told_apart() -> None:
    async with AiohttpPoster(connections=1) as poster:
        with pytest.raises(PostConnectionFailed):
            await poster.post(f"http://127.0.0.1:{closed_port()}/hook", b"{}", {}, QUICK)
        async with receiving(Receiver([200], silent=True)) as url:
            with pytest.raises(PostTimedOut):
                await poster.post(url, b"{}", {}, Timeouts(connect_seconds=1, read_seconds=0.2))


async def test_an_answer_that_trickles_in_is_cut_off() -> None:
    """Each byte comes well within the read timeout; the whole try is bounded all the same."""
    async with receiving(Receiver([200], trickle=True)) as url, AiohttpPoster(connections=1) as poster:
        started = asyncio.get_running_loop().time()
        with pytest.raises(PostTimedOut):
            await poster.post(url, b"{}", {}, Timeouts(connect_seconds=0.3, read_seconds=0.5))
        assert asyncio.get_running_loop().time() - started < 2


async def test_the_partner_client_retries_a_busy_partner_through_aiohttp() -> None:
    receiver = Receiver([503, 502, 202])
    async with receiving(receiver) as url, AiohttpPoster(connections=2) as poster:
        client = PartnerHttpClient(poster, HttpPolicy(tries=3, retry_base_seconds=0.001))
        assert await client.post("ptn_1", url, b"{}", {"webhook-id": "msg_1"}) == 202
    assert len(receiver.requests) == 3


async def test_the_partner_client_reports_a_partner_that_is_not_there() -> None:
    async with AiohttpPoster(connections=1) as poster:
        client = PartnerHttpClient(poster, HttpPolicy(tries=2, retry_base_seconds=0.001))
        with pytest.raises(CallFailed, match="connection failed: Client"):
            await client.post("ptn_1", f"http://127.0.0.1:{closed_port()}/hook", b"{}", {})


async def test_httpx_errors_become_the_same_two_errors() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused")

    def stall(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("slow")

    refused = HttpxPoster(httpx.AsyncClient(transport=httpx.MockTransport(refuse)))
    stalled = HttpxPoster(httpx.AsyncClient(transport=httpx.MockTransport(stall)))
    with pytest.raises(PostConnectionFailed, match="ConnectError"):
        await refused.post("http://bank.test/hook", b"{}", {}, QUICK)
    with pytest.raises(PostTimedOut):
        await stalled.post("http://bank.test/hook", b"{}", {}, QUICK)
    await refused.aclose()
    await stalled.aclose()
    assert refused.client.is_closed and stalled.client.is_closed


def test_a_poster_needs_a_connection() -> None:
    with pytest.raises(ValueError, match="at least one connection"):
        AiohttpPoster(connections=0)
