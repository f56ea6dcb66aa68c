"""Shared stores: memory by default, Redis when configured (CI runs the Redis case)."""

from __future__ import annotations

import os
import uuid

import pytest

from backend.settings import Settings
from backend.stores import store_registry

REDIS_URL = os.environ.get("KORPU_TEST_REDIS_URL")


async def test_memory_store_by_default() -> None:
    registry = store_registry(Settings.from_env({"KORPU_ENV": "test"}))
    store = registry.get("rate_limit")
    await store.set("k", b"v", expires_in=60)
    assert await store.get("k") == b"v"
    assert await registry.get("other").get("k") is None


@pytest.mark.skipif(not REDIS_URL, reason="KORPU_TEST_REDIS_URL not set")
async def test_two_processes_share_a_redis_store() -> None:
    settings = Settings.from_env({"KORPU_ENV": "test", "KORPU_REDIS_URL": str(REDIS_URL)})
    first, second = store_registry(settings), store_registry(settings)
    key = f"k-{uuid.uuid4().hex}"
    await first.get("rate_limit").set(key, b"3", expires_in=30)
    assert await second.get("rate_limit").get(key) == b"3"
    assert await second.get("cache").get(key) is None
    await first.get("rate_limit").delete(key)
