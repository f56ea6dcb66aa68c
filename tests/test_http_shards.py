"""Requests spread over small httpx clients: each client is used in turn, every one is closed."""

from __future__ import annotations

import httpx
import pytest

from backend.http_shards import CONNECTIONS_PER_CLIENT, ClientShards, client_shards
from backend.partners.http import HttpPolicy, PartnerHttpClient


async def test_partner_posts_go_through_each_client_in_turn() -> None:
    seen: list[str] = []

    def answering(name: str) -> httpx.MockTransport:
        def handle(request: httpx.Request) -> httpx.Response:
            seen.append(name)
            return httpx.Response(202)

        return httpx.MockTransport(handle)

    shards = ClientShards([httpx.AsyncClient(transport=answering(name)) for name in ("a", "b", "c")])
    client = PartnerHttpClient(shards, HttpPolicy(tries=1))
    for _ in range(6):
        response = await client.post("ptn_1", "http://bank.test/payouts", b"{}", {})
        assert response.status_code == 202
    await shards.aclose()
    assert seen == ["a", "b", "c", "a", "b", "c"]
    assert all(c.is_closed for c in shards.clients)


@pytest.mark.parametrize(("concurrency", "clients"), [(1, 1), (4, 1), (5, 2), (64, 16)])
async def test_enough_clients_for_the_requests_in_flight(concurrency: int, clients: int) -> None:
    async with client_shards(concurrency) as shards:
        assert len(shards.clients) == clients
        assert len(shards.clients) * CONNECTIONS_PER_CLIENT >= concurrency
    assert all(c.is_closed for c in shards.clients)


def test_no_clients_is_refused() -> None:
    with pytest.raises(ValueError, match="at least one client"):
        ClientShards([])
