"""Several small httpx clients taken in turn, where one client would carry many requests at once.

httpx's connection pool (httpcore 1.0) looks through every connection it holds on each request, so
a request's cost grows with the requests in flight on the same client. Measured on this project's
machines (docs/performance.md, "Whole send flow over HTTP"): 64 concurrent POSTs over loopback
cost 3.1-3.2 ms of CPU each through one client, 2.0 ms through 8 clients of 8 connections and
1.4 ms through 16 clients of 4 connections. The outbox worker and the mock bank keep up to 64
requests in flight, so each spreads them over clients of :data:`CONNECTIONS_PER_CLIENT`.
"""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx

__all__ = ["CONNECTIONS_PER_CLIENT", "ClientShards", "client_shards", "make_shards"]

CONNECTIONS_PER_CLIENT = 4
"""Connections (all kept alive) per client: fewer connections per pool, cheaper requests."""


class ClientShards:
    """A fixed set of clients handed out in turn (:meth:`next`)."""

    def __init__(self, clients: list[httpx.AsyncClient]) -> None:
        if not clients:
            raise ValueError("at least one client")
        self.clients = clients
        self._turns: Iterator[httpx.AsyncClient] = itertools.cycle(clients)

    def next(self) -> httpx.AsyncClient:
        """The client whose turn it is."""
        return next(self._turns)

    async def aclose(self) -> None:
        for client in self.clients:
            await client.aclose()


def make_shards(concurrency: int, **options: Any) -> ClientShards:
    """Clients enough for ``concurrency`` requests at once, each with ``CONNECTIONS_PER_CLIENT``
    connections; ``options`` go to every ``httpx.AsyncClient``. Close them with ``aclose``."""
    per_client = CONNECTIONS_PER_CLIENT
    count = max(1, -(-concurrency // per_client))  # ceiling division
    limits = httpx.Limits(max_connections=per_client, max_keepalive_connections=per_client)
    return ClientShards([httpx.AsyncClient(limits=limits, **options) for _ in range(count)])


@contextlib.asynccontextmanager
async def client_shards(concurrency: int, **options: Any) -> AsyncIterator[ClientShards]:
    """:func:`make_shards`, all closed on exit."""
    shards = make_shards(concurrency, **options)
    try:
        yield shards
    finally:
        await shards.aclose()
