"""Helpers for the partner tests: a real server for an app the test holds, and a partner bank with keys."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import uvicorn
from sqlalchemy.ext.asyncio import AsyncEngine

from backend.partners.credentials import PartnerSecrets
from backend.partners.payouts import Beneficiary, PayoutKind, PayoutRequest, create_payout
from backend.partners.service import IssuedKey, NewPartner, Partner, create_partner
from backend.settings import Settings
from compliance.privacy import Sealer
from ledger.money import Money


@asynccontextmanager
async def serve(app: Any) -> AsyncIterator[str]:
    """``app`` behind a real uvicorn on a loopback port; yields its base URL."""
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_config=None, access_log=False, lifespan="on")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{server.servers[0].sockets[0].getsockname()[1]}"
    finally:
        server.should_exit = True
        await task


def partner_keys(settings: Settings) -> PartnerSecrets:
    return PartnerSecrets(settings.secrets.secret_key, Sealer(settings.secrets.data_keys))


async def make_partner(
    engine: AsyncEngine, settings: Settings, code: str = "kapital-test", **options: Any
) -> tuple[Partner, IssuedKey, str]:
    async with engine.begin() as conn:
        return await create_partner(
            conn, NewPartner(code=code, name=code.title(), **options), partner_keys(settings)
        )


BENEFICIARY = Beneficiary(name="Leyla Mammadova", account_type="iban", account="AZ21NABZ00000000137010001944")


async def make_payout(
    engine: AsyncEngine,
    settings: Settings,
    partner_id: str,
    reference: str,
    amount: str,
    currency: str = "AZN",
    kind: PayoutKind = PayoutKind.PAYOUT,
) -> str:
    async with engine.begin() as conn:
        return await create_payout(
            conn,
            PayoutRequest(kind, partner_id, reference, Money(amount, currency), BENEFICIARY),
            sealer=Sealer(settings.secrets.data_keys),
        )
