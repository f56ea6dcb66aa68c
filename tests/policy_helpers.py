"""Shared set-up of the policy tests: a live server whose pilot has completed transfers, and analysts."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyotp
import uvicorn
from sqlalchemy.ext.asyncio import AsyncEngine

from backend.app import create_app
from backend.settings import Settings
from backend.staff.service import create_staff
from compliance.privacy import Sealer
from fx.market.imports import FileKind, import_file
from fx.market.indicators import PilotTransferCost
from fx.market.periods import Quarter
from fx.market.pilot import StaticPilotCosts

DATA = Path(__file__).resolve().parent.parent / "fx" / "market" / "data"
PASSWORD = "correct horse battery staple"

PILOT_TRANSFERS = (
    PilotTransferCost("RUS", "AZE", Quarter(2021, 3), Decimal("200"), Decimal("0.90")),
    PilotTransferCost("RUS", "AZE", Quarter(2021, 3), Decimal("400"), Decimal("0.70")),
    PilotTransferCost("RUS", "AZE", Quarter(2021, 4), Decimal("300"), Decimal("0.80")),
)
"""Seeded completed transfers: 2021_3Q mean cost 0.80 %, 2021_4Q 0.80 %."""


async def import_shipped(engine: AsyncEngine, *kinds: FileKind) -> None:
    files = {
        FileKind.RPW_AVERAGES: DATA / "rpw-corridor-quarter-averages-2016-2025.csv",
        FileKind.DATABANK: DATA / "wb-databank-rpw-atcr-corr-2011-2020.csv",
        FileKind.PROVIDER_LIST: DATA / "provider-price-list.csv",
        FileKind.BILATERAL: DATA / "wb-bilateral-remittance-estimates-2017.xlsx",
    }
    for kind in kinds:
        async with engine.begin() as connection:
            await import_file(connection, kind, files[kind], now=datetime.now(UTC))


async def make_analyst(engine: AsyncEngine, settings: Settings, username: str, *roles: str) -> str:
    """Create a staff account; returns its TOTP secret."""
    async with engine.begin() as connection:
        _, secret = await create_staff(
            connection,
            Sealer(settings.secrets.data_keys),
            username,
            list(roles or ("policy_analyst",)),
            PASSWORD,
        )
    return secret


def totp_now(secret: str) -> str:
    return pyotp.TOTP(secret).now()


async def serve_with_pilot(settings: Settings, engine: AsyncEngine, **state: Any) -> AsyncIterator[str]:
    """Like the ``live_server`` fixture, with :data:`PILOT_TRANSFERS` as the pilot's completed transfers."""
    app = create_app(settings, engine=engine)
    app.state.pilot_costs = StaticPilotCosts(PILOT_TRANSFERS)
    for key, value in state.items():
        app.state[key] = value
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_config=None, access_log=False, lifespan="on")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    await task
