"""Idempotency keys: replay, reuse with another body, and a concurrent retry."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from backend.idempotency import (
    IdempotencyKeyInUse,
    IdempotencyKeyMissing,
    IdempotencyKeyReused,
    claim,
    fingerprint,
    store_reply,
)


async def test_first_request_runs_and_a_retry_replays(engine: AsyncEngine) -> None:
    request = fingerprint("POST", "/v1/transfers", {"quoteId": "q1", "recipientId": 3})
    async with engine.begin() as conn:
        assert await claim(conn, "customer:1", "k-1", request) is None
        await store_reply(conn, "customer:1", "k-1", request, 201, {"id": "t-1"})
    async with engine.begin() as conn:
        replay = await claim(
            conn,
            "customer:1",
            "k-1",
            fingerprint("POST", "/v1/transfers", {"recipientId": 3, "quoteId": "q1"}),
        )
    assert replay is not None
    assert (replay.status_code, replay.body) == (201, {"id": "t-1"})


async def test_same_key_other_body_is_refused(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        await store_reply(conn, "customer:1", "k-1", fingerprint("POST", "/x", {"a": 1}), 201, {})
    with pytest.raises(IdempotencyKeyReused):
        async with engine.begin() as conn:
            await claim(conn, "customer:1", "k-1", fingerprint("POST", "/x", {"a": 2}))


async def test_keys_are_scoped_per_client(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        await store_reply(conn, "customer:1", "k-1", fingerprint("POST", "/x", {"a": 1}), 201, {})
        assert await claim(conn, "customer:2", "k-1", fingerprint("POST", "/x", {"a": 2})) is None


async def test_missing_key_is_refused(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        with pytest.raises(IdempotencyKeyMissing):
            await claim(conn, "customer:1", None, "h")


async def test_work_rolled_back_leaves_no_record(engine: AsyncEngine) -> None:
    request = fingerprint("POST", "/x", {})
    with pytest.raises(RuntimeError):
        async with engine.begin() as conn:
            assert await claim(conn, "customer:1", "k-9", request) is None
            await store_reply(conn, "customer:1", "k-9", request, 201, {"id": 1})
            raise RuntimeError("the work failed after the record was written")
    async with engine.begin() as conn:
        assert await claim(conn, "customer:1", "k-9", request) is None


@pytest.mark.postgres_only
async def test_a_concurrent_retry_gets_409_at_once(engine: AsyncEngine) -> None:
    request = fingerprint("POST", "/x", {})
    first_holds_the_key = asyncio.Event()
    release_first = asyncio.Event()

    async def first() -> None:
        async with engine.begin() as conn:
            assert await claim(conn, "customer:1", "k-2", request) is None
            first_holds_the_key.set()
            await release_first.wait()
            await store_reply(conn, "customer:1", "k-2", request, 201, {"id": 7})

    task = asyncio.create_task(first())
    await first_holds_the_key.wait()
    with pytest.raises(IdempotencyKeyInUse):
        async with engine.begin() as conn:
            await asyncio.wait_for(claim(conn, "customer:1", "k-2", request), timeout=5)
    release_first.set()
    await task
    async with engine.begin() as conn:
        replay = await claim(conn, "customer:1", "k-2", request)
    assert replay is not None and replay.body == {"id": 7}
