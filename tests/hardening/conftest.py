"""Fixtures of the hardening suites: the real app on a loopback port, and a populated world in it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from argon2 import PasswordHasher
from httpx import AsyncClient
from litestar import Litestar
from sqlalchemy.ext.asyncio import AsyncEngine

from backend.app import create_app
from backend.settings import Settings
from backend.staff import service as staff_service
from tests.hardening.world import World, build_world
from tests.signin import serve


@pytest.fixture
def app(settings: Settings, engine: AsyncEngine) -> Litestar:
    """The app exactly as the factory wires it."""
    return create_app(settings, engine=engine)


@pytest.fixture
async def live_server(app: Litestar) -> AsyncIterator[str]:
    async with serve(app) as url:
        yield url


@pytest.fixture
async def world(
    http: AsyncClient, engine: AsyncEngine, settings: Settings, app: Litestar, monkeypatch: pytest.MonkeyPatch
) -> World:
    # Seven staff accounts per test: a cheap argon2 cost keeps the suites fast (the real cost is
    # tested in test_staff.py).
    monkeypatch.setattr(
        staff_service, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    )
    return await build_world(http, engine, settings, app)
