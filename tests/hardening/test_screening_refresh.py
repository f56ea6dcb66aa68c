"""A process screens with the lists stored in the database: loaded at startup, refreshed after."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from backend import screening_refresh
from backend.app import create_app
from backend.settings import Settings
from compliance.screening import load_list, store_snapshot
from tests.signin import serve
from tests.transfer_support import transfer_world

TINY = f"ofac-csv:{Path(__file__).resolve().parents[1] / 'data' / 'sanctions' / 'ofac-sdn-tiny'}"
IBAN = "AZ21NABZ00000000137010001944"


async def test_lists_stored_before_start_screen_the_first_transfer(
    engine: AsyncEngine, settings: Settings
) -> None:
    async with engine.begin() as conn:
        await store_snapshot(conn, load_list(TINY))
    async with transfer_world(engine, settings, lists=False) as world:  # the app loads them itself
        sender = await world.customer()
        await world.fund(sender, "5000.00", "RUB")
        clean = await world.recipient(sender, method="bank_account", iban=IBAN)
        response = await world.send(sender, (await world.quote(sender, "1000.00"))["id"], clean)
        assert response.status_code == 201, response.text
        assert response.json()["status"] == "sent_to_partner"  # not held for want of a list


async def test_a_running_process_picks_up_a_newer_list(
    engine: AsyncEngine, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(screening_refresh, "REFRESH_SECONDS", 0.05)
    app = create_app(settings, engine=engine)
    async with serve(app):
        assert app.state.screener.list_versions == {}
        async with engine.begin() as conn:
            await store_snapshot(conn, load_list(TINY))
        for _ in range(200):
            if app.state.screener.list_versions:
                break
            await asyncio.sleep(0.05)
        assert app.state.screener.list_versions
