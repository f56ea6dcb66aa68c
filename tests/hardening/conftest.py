"""Fixtures of the hardening suites: the real app on a loopback port, and a populated world in it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from argon2 import PasswordHasher
from httpx import AsyncClient
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from backend.app import create_app
from backend.backoffice import ComplianceHooks
from backend.settings import Settings
from backend.staff import service as staff_service
from tests.compliance_helpers import RecordingSink
from tests.hardening.world import World, build_world
from tests.signin import serve


async def _record_tier(conn: AsyncConnection, customer_ref: str, tier: int) -> None:
    """Stands in for the tier change until the app factory wires identity to KYC review."""


@pytest.fixture
async def live_server(settings: Settings, engine: AsyncEngine) -> AsyncIterator[str]:
    """As conftest's; the compliance hooks are wired to recorders only where the app leaves them
    unwired, so that these suites test the real wiring as soon as the app factory has it."""
    app = create_app(settings, engine=engine)
    if "compliance_hooks" not in app.state:
        app.state.compliance_hooks = ComplianceHooks(transfers=RecordingSink(), set_tier=_record_tier)
    async with serve(app) as url:
        yield url


@pytest.fixture
async def world(
    http: AsyncClient, engine: AsyncEngine, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> World:
    # Seven staff accounts per test: a cheap argon2 cost keeps the suites fast (the real cost is
    # tested in test_staff.py).
    monkeypatch.setattr(
        staff_service, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    )
    return await build_world(http, engine, settings)
