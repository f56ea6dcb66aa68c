"""Key-value stores (rate limits, caches, nonces): in process memory on a laptop, Redis when
``KORPU_REDIS_URL`` is set, so that several server processes share one view.

Each named store gets its own Redis namespace (``korpu:<name>``).
"""

from __future__ import annotations

from litestar.stores.base import Store
from litestar.stores.memory import MemoryStore
from litestar.stores.redis import RedisStore
from litestar.stores.registry import StoreRegistry

from backend.settings import Settings

__all__ = ["store_registry"]


def store_registry(settings: Settings) -> StoreRegistry:
    """Stores by name, made on first use."""
    if settings.redis_url:
        root = RedisStore.with_client(settings.redis_url, namespace="korpu")

        def redis_factory(name: str) -> Store:
            return root.with_namespace(name)

        return StoreRegistry(default_factory=redis_factory)

    def memory_factory(_: str) -> Store:
        return MemoryStore()

    return StoreRegistry(default_factory=memory_factory)
