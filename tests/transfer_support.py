"""A world for transfer tests: demo corridors and rates, a pull-mode partner bank with a signed
client, the tiny OFAC list loaded into the app's screener, and signed-in customers."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine

from backend.app import create_app
from backend.fx_demo import seed_fx
from backend.identity.profiles import set_kyc_tier
from backend.partners.client import PartnerAuth
from backend.settings import Settings
from compliance.screening import load_list, refresh_screener, store_snapshot
from tests.partner_support import make_partner, serve
from tests.signin import SignedIn, next_phone, sign_in

DATA = Path(__file__).parent / "data" / "sanctions"

__all__ = ["World", "transfer_world"]


@dataclass
class World:
    app: Any
    http: httpx.AsyncClient
    bank: httpx.AsyncClient
    engine: AsyncEngine
    settings: Settings

    async def customer(self, *, tier: int = 1, name: tuple[str, str] = ("Rəşad", "Əliyev")) -> SignedIn:
        signed = await sign_in(self.http, next_phone())
        response = await self.http.patch(
            "/v1/me", json={"givenName": name[0], "familyName": name[1]}, headers=signed.headers
        )
        assert response.status_code == 200, response.text
        async with self.engine.begin() as conn:
            await set_kyc_tier(conn, signed.customer_id, tier)
        return signed

    async def fund(self, who: SignedIn, amount: str, currency: str) -> None:
        """Top the wallet up through the partner, as a customer would."""
        response = await self.http.post(
            "/v1/wallet/topups",
            json={"amount": {"amount": amount, "currency": currency}},
            headers={**who.headers, "Idempotency-Key": str(uuid.uuid4())},
        )
        assert response.status_code == 201, response.text
        await self.partner_pays_all()

    async def partner_pays_all(self, *, fail: bool = False) -> list[dict[str, Any]]:
        """The partner pulls every pending instruction and confirms (or fails) each."""
        claimed = await self.bank.get("/partner/v1/payouts", params={"status": "pending", "limit": 50})
        assert claimed.status_code == 200, claimed.text
        items: list[dict[str, Any]] = claimed.json()["items"]
        for item in items:
            verb = "fail" if fail else "confirm"
            body = {"reason": "account closed"} if fail else {"partnerReference": f"bank-{item['id']}"}
            done = await self.bank.post(f"/partner/v1/payouts/{item['id']}/{verb}", json=body)
            assert done.status_code == 200, done.text
        return items

    async def recipient(self, who: SignedIn, **payout: str) -> int:
        body = {"givenName": "Leyla", "familyName": "Məmmədova", "country": "AZ", "payout": payout}
        response = await self.http.post("/v1/recipients", json=body, headers=who.headers)
        assert response.status_code == 201, response.text
        return int(response.json()["id"])

    async def quote(
        self,
        who: SignedIn | None,
        send: str,
        *,
        corridor: str = "RU-AZ-RUB-AZN",
        method: str = "bank_account",
    ) -> dict[str, Any]:
        body = {
            "corridor": corridor,
            "payoutMethod": method,
            "sendAmount": {"amount": send, "currency": corridor.split("-")[2]},
        }
        response = await self.http.post("/v1/quotes", json=body, headers=who.headers if who else {})
        assert response.status_code == 201, response.text
        quote: dict[str, Any] = response.json()
        return quote

    async def send(
        self, who: SignedIn, quote_id: str, recipient_id: int, key: str | None = None
    ) -> httpx.Response:
        headers = {**who.headers, "Idempotency-Key": key or str(uuid.uuid4())}
        return await self.http.post(
            "/v1/transfers", json={"quoteId": quote_id, "recipientId": recipient_id}, headers=headers
        )

    async def available(self, who: SignedIn, currency: str) -> Decimal:
        balances = (await self.http.get("/v1/wallet", headers=who.headers)).json()["balances"]
        for entry in balances:
            if entry["currency"] == currency:
                return Decimal(entry["available"]["amount"])
        return Decimal(0)


@asynccontextmanager
async def transfer_world(
    engine: AsyncEngine, settings: Settings, *, lists: bool = True
) -> AsyncIterator[World]:
    await seed_fx(engine, settings)
    _, key, _ = await make_partner(engine, settings, code="kapital", payout_mode="pull")
    app = create_app(settings, engine=engine)
    if lists:
        async with engine.begin() as conn:
            await store_snapshot(conn, load_list(f"ofac-csv:{DATA / 'ofac-sdn-tiny'}"))
        async with engine.connect() as conn:
            await refresh_screener(conn, app.state.screener)
    async with (
        serve(app) as url,
        httpx.AsyncClient(base_url=url, timeout=30) as http,
        httpx.AsyncClient(base_url=url, timeout=30, auth=PartnerAuth(key.key_id, key.secret)) as bank,
    ):
        yield World(app, http, bank, engine, settings)
