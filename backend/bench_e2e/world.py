"""The senders of a load run, made the way customers are: over HTTP, funded through the partner.

:func:`seed` gives a fresh database the demo corridors and rates, the one partner bank (push mode,
pointing at the mock bank) and the monitoring rule the run needs (see :data:`VELOCITY_NOTE`).
:func:`prepare_senders` then, against the running stack, signs each sender in (code from the dev
SMS inbox, PIN), names them, adds one recipient with an IBAN of their own, and tops the wallet up
through the partner; :func:`wait_funded` waits until the partner confirmed every top-up.
:func:`make_quotes` stores one quote per planned transfer, bound to its sender, with the same
function ``POST /v1/quotes`` runs (:func:`fx.quotes.create_quote`).

Sign-in is rate limited per client address; each sender therefore talks from its own loopback
address (127.77.x.y), as many phones would from their own.
"""

from __future__ import annotations

import asyncio
import random
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
from schwifty import IBAN
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from backend.fx_demo import seed_fx
from backend.identity.profiles import set_kyc_tier
from backend.partners.credentials import PartnerSecrets
from backend.partners.service import NewPartner, create_partner
from backend.settings import Settings
from backend.transfers.tables import wallet_operations
from compliance.monitoring.store import save_rule
from compliance.privacy import Sealer
from compliance.screening import load_list, store_snapshot
from fx.catalogue_store import load_catalogue
from fx.quotes import create_quote
from fx.rate_store import load_rate_book
from ledger.money import Money

__all__ = [
    "CORRIDOR",
    "DEFAULT_LISTS",
    "VELOCITY_NOTE",
    "BankCredentials",
    "PlannedTransfer",
    "Sender",
    "make_quotes",
    "prepare_senders",
    "seed",
    "store_lists",
    "wait_funded",
    "write_plan",
]

CORRIDOR = "RU-AZ-RUB-AZN"
METHOD = "bank_account"
PARTNER_CODE = "bench-bank"
SENDER_TIER = 2
"""Enhanced KYC: its daily limit (USD 15,000) leaves room for a sender's share of the run."""
VELOCITY_NOTE = (
    "velocity_24h raised to 1,000 transfers and USD 1,000,000 a day: a few hundred senders send "
    "the whole run, where the pilot's default (5 a day) would hold every sixth transfer for review"
)
PIN = "1357"
SANCTIONS = Path(__file__).resolve().parents[2] / "tests" / "data" / "sanctions"


@dataclass(frozen=True, slots=True)
class BankCredentials:
    """What the mock bank needs to call our partner API and check our signatures."""

    key_id: str
    secret: str
    webhook_secret: str


@dataclass(frozen=True, slots=True)
class Sender:
    """A signed-in, funded customer with one recipient."""

    customer_id: int
    access_token: str
    recipient_id: int
    address: str
    """The loopback address the sender talks from."""


@dataclass(frozen=True, slots=True)
class PlannedTransfer:
    """One transfer the load will send: who, to whom, with which quote."""

    sender: Sender
    quote_id: str


DEFAULT_LISTS = (
    f"ofac-csv:{SANCTIONS}/ofac-sdn-tiny",
    f"un-xml:{SANCTIONS}/un-consolidated-2026-02-27.xml",
)
"""Sanctions lists screened against when none are given: the real files the tests read."""


async def store_lists(engine: AsyncEngine, specs: tuple[str, ...]) -> int:
    """Store each list (``format:path``) as the current version; returns the entries loaded."""
    total = 0
    for spec in specs:
        snapshot = await asyncio.to_thread(load_list, spec)
        async with engine.begin() as conn:
            outcome = await store_snapshot(conn, snapshot, source_label=spec, loaded_by="system:bench")
        total += outcome.entry_count
    return total


async def seed(
    engine: AsyncEngine, settings: Settings, bank_url: str, lists: tuple[str, ...]
) -> BankCredentials:
    """Corridors and rates, sanctions lists, the partner bank at ``bank_url``, the run's monitoring rule."""
    await seed_fx(engine, settings)
    await store_lists(engine, lists)
    keys = PartnerSecrets(settings.secrets.secret_key, Sealer(settings.secrets.data_keys))
    now = datetime.now(UTC)
    async with engine.begin() as conn:
        _, key, webhook_secret = await create_partner(
            conn,
            NewPartner(
                code=PARTNER_CODE,
                name="Bench Bank",
                payout_mode="push",
                payout_url=f"{bank_url}/payouts",
                webhook_url=f"{bank_url}/webhooks",
            ),
            keys,
        )
        await save_rule(
            conn,
            "velocity_24h",
            actor="system:bench",
            reason=VELOCITY_NOTE,
            now=now,
            params={
                "windowHours": 24,
                "maxCount": 1000,
                "maxSum": {"amount": "1000000.00", "currency": "USD"},
            },
        )
    return BankCredentials(key.key_id, key.secret, webhook_secret)


def _address(index: int) -> str:
    return f"127.77.{index // 250}.{index % 250 + 1}"


def _iban(index: int) -> str:
    return str(IBAN.generate("AZ", bank_code="NABZ", account_code=f"{7_000_000 + index:020d}").compact)


def _phone(run: int, index: int) -> str:
    return f"+7916{run % 100:02d}{index:05d}"


async def _sign_up(api_url: str, engine: AsyncEngine, run: int, index: int, top_up: Money) -> Sender:
    address = _address(index)
    transport = httpx.AsyncHTTPTransport(local_address=address, retries=2)
    async with httpx.AsyncClient(base_url=api_url, transport=transport, timeout=60) as http:
        phone = _phone(run, index)
        challenge = _ok(await http.post("/v1/auth/otp", json={"phone": phone}))["challengeId"]
        code = _ok(await http.get("/dev/sms", params={"phone": phone}))["messages"][0]["code"]
        device = f"bench-{run}-{index:05d}"
        verified = _ok(
            await http.post(
                "/v1/auth/verify", json={"challengeId": challenge, "code": code, "deviceId": device}
            )
        )
        auth = {"Authorization": f"Bearer {verified['accessToken']}"}
        _ok(await http.post("/v1/auth/pin", json={"pin": PIN}, headers=auth), 204)
        _ok(await http.patch("/v1/me", json={"givenName": "Nərgiz", "familyName": "Bağırova"}, headers=auth))
        async with engine.begin() as conn:
            await set_kyc_tier(conn, int(verified["customerId"]), SENDER_TIER)
        recipient = _ok(
            await http.post(
                "/v1/recipients",
                json={
                    "givenName": "Sevinc",
                    "familyName": "Kərimli",
                    "country": "AZ",
                    "payout": {"method": METHOD, "iban": _iban(index)},
                },
                headers=auth,
            ),
            201,
        )
        _ok(
            await http.post(
                "/v1/wallet/topups",
                json={"amount": top_up.to_json()},
                headers={**auth, "Idempotency-Key": str(uuid.uuid4())},
            ),
            201,
        )
    return Sender(int(verified["customerId"]), verified["accessToken"], int(recipient["id"]), address)


def _ok(response: httpx.Response, status: int = 200) -> Any:
    if response.status_code != status:
        raise RuntimeError(
            f"{response.request.method} {response.request.url.path} answered {response.status_code}: "
            f"{response.text[:300]}"
        )
    return response.json() if response.content else None


async def prepare_senders(
    api_url: str, engine: AsyncEngine, count: int, top_up: Money, *, concurrency: int = 8
) -> list[Sender]:
    """Sign up ``count`` senders through the API, each topping up ``top_up``."""
    run = random.randrange(100)
    gate = asyncio.Semaphore(concurrency)

    async def one(index: int) -> Sender:
        async with gate:
            return await _sign_up(api_url, engine, run, index, top_up)

    return list(await asyncio.gather(*(one(i) for i in range(count))))


async def wait_funded(engine: AsyncEngine, count: int, *, within: float = 300.0) -> None:
    """Wait until ``count`` top-ups are completed (the partner confirmed each)."""
    done = select(func.count()).where(
        wallet_operations.c.kind == "topup", wallet_operations.c.status == "completed"
    )
    deadline = asyncio.get_running_loop().time() + within
    while True:
        async with engine.connect() as conn:
            completed = int((await conn.execute(done)).scalar_one())
        if completed >= count:
            return
        if asyncio.get_running_loop().time() > deadline:
            raise TimeoutError(f"only {completed} of {count} top-ups were confirmed in {within:.0f} s")
        await asyncio.sleep(0.5)


async def make_quotes(
    engine: AsyncEngine,
    settings: Settings,
    senders: list[Sender],
    count: int,
    *,
    low: Decimal = Decimal("1000"),
    high: Decimal = Decimal("3000"),
    seed: int = 9,
) -> list[PlannedTransfer]:
    """``count`` quotes for random amounts in [low, high] RUB, round robin over the senders."""
    rng = random.Random(seed)
    ttl = timedelta(seconds=settings.quote_ttl_seconds)
    planned: list[PlannedTransfer] = []
    async with engine.connect() as conn:
        corridor = (await load_catalogue(conn))[CORRIDOR]
        rates = await load_rate_book(conn)
    for start in range(0, count, 500):
        now = datetime.now(UTC)
        async with engine.begin() as conn:
            for index in range(start, min(count, start + 500)):
                sender = senders[index % len(senders)]
                cents = rng.randrange(int(low * 100), int(high * 100) + 1)
                quote = await create_quote(
                    conn,
                    corridor,
                    METHOD,
                    send_amount=Money(Decimal(cents) / 100, "RUB"),
                    rates=rates,
                    now=now,
                    ttl=ttl,
                    customer_id=str(sender.customer_id),
                )
                planned.append(PlannedTransfer(sender, quote.id))
    return planned


def write_plan(path: Path, planned: list[PlannedTransfer]) -> None:
    """One line per transfer for the wrk script: ``token<TAB>quoteId<TAB>recipientId``."""
    with path.open("w") as out:
        for item in planned:
            out.write(f"{item.sender.access_token}\t{item.quote_id}\t{item.sender.recipient_id}\n")
