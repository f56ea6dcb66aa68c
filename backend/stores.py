"""Litestar stores (rate-limit counters, the dev SMS inbox, caches): in memory for one process,
in Redis when ``KORPU_REDIS_URL`` is set so that several processes share them."""

from __future__ import annotations

from litestar.stores.redis import RedisStore
from litestar.stores.registry import StoreRegistry

from backend.settings import Settings

__all__ = ["store_registry"]


def store_registry(settings: Settings) -> StoreRegistry:
    """The application's stores; a name asked for the first time gets its own (namespaced) store."""
    if settings.redis_url:
        root = RedisStore.with_client(url=settings.redis_url, namespace="korpu")
        return StoreRegistry(default_factory=root.with_namespace)
    return StoreRegistry()
