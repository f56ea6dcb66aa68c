"""A small populated world for the hardening suites: who is signed in, and what each of them owns.

The fuzzer, the authorization matrix and the data-at-rest story all need the same cast: a sender
with recipients, a funded wallet, quotes and transfers (one paid out to another customer's wallet,
one held by sanctions screening), a second sender with their own, the person the first sender pays
(a customer too), two partner banks (A pays every transfer out; B has a payout of its own), staff of
every role, and back-office objects (a KYC submission sent through the app, the case of the held
transfer, a release request, a closed settlement window reconciled by partner A).
:func:`build_world` makes them through the public API where one exists and through the
capability's service where none does (settlement window close, partner B's payout).
"""

from __future__ import annotations

import base64
import itertools
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyotp
from httpx import AsyncClient, Response
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from backend.fx_demo import seed_fx
from backend.identity.profiles import set_kyc_tier
from backend.outbox.tables import outbox_events
from backend.partners.client import PartnerAuth
from backend.partners.credentials import PartnerSecrets
from backend.partners.payouts import Beneficiary, PayoutKind, PayoutRequest, create_payout
from backend.partners.service import NewPartner, create_partner
from backend.partners.settlement import close_by_hand, ensure_windows
from backend.settings import Settings
from backend.staff.service import create_staff, login
from compliance.cases import request_release
from compliance.officers import Officer
from compliance.privacy import Sealer
from compliance.screening import load_list, refresh_screener, store_snapshot
from compliance.screening.tables import screening_results
from compliance.tables import cases, kyc_documents
from fx.market.imports import FileKind, import_file
from ledger.money import Money
from tests.signin import SignedIn, sign_in

__all__ = [
    "CUSTOMER_ROLES",
    "PARTNER_ROLES",
    "ROLES",
    "STAFF_ROLES",
    "PartnerKey",
    "Secrets",
    "World",
    "build_world",
]

STAFF_ROLES = {
    "officer": ("officer",),
    "senior_officer": ("senior_officer",),
    "analyst": ("policy_analyst",),
    "operator": ("operator",),
    "admin": ("admin",),
}
"""Matrix role -> the staff roles that staff member holds."""
CUSTOMER_ROLES = ("sender", "other_sender", "recipient")
PARTNER_ROLES = ("partner_a", "partner_b")
ROLES = ("anonymous", *CUSTOMER_ROLES, *PARTNER_ROLES, *STAFF_ROLES)
"""Every role the authorization matrix calls each endpoint as."""

ROOT = Path(__file__).resolve().parents[2]
MARKET_AVERAGES = ROOT / "fx" / "market" / "data" / "rpw-corridor-quarter-averages-2016-2025.csv"
SANCTIONS = ROOT / "tests" / "data" / "sanctions" / "ofac-sdn-tiny"
LISTED = ("Dmitry", "Khoroshev")
"""A name on the tiny OFAC list: a transfer to it is held for review (public data, not the cast's)."""
STAFF_PASSWORD = "a long enough passphrase"
JPEG = b"\xff\xd8\xff\xe0" + b"passport photo page" * 10
JPEG_B64 = base64.b64encode(JPEG).decode()


@dataclass(frozen=True)
class Secrets:
    """Personal data the story puts in; none of it may be readable at rest or in the logs."""

    sender_given: str = "Rəşad"
    sender_family: str = "Qurbanəliyev"
    other_given: str = "Nigar"
    other_family: str = "Hüseynzadə"
    recipient_given: str = "Ləman"
    recipient_family: str = "Cəfərquliyeva"
    payee_given: str = "Kamran"
    payee_family: str = "Babaxanov"
    """The other sender's recipient."""
    iban: str = "AZ93AIIB40060019449442187013"
    card: str = "4169741234567897"
    passport: str = "C09876543"
    birth_date: str = "1987-03-14"
    address: str = "Səməd Vurğun küçəsi 43, mənzil 17, Bakı"

    def names(self) -> list[str]:
        return [
            self.sender_given,
            self.sender_family,
            self.other_given,
            self.other_family,
            self.recipient_given,
            self.recipient_family,
            self.payee_given,
            self.payee_family,
        ]


@dataclass(frozen=True)
class PartnerKey:
    """A partner bank and its API key."""

    id: str
    key_id: str
    secret: str


@dataclass
class World:
    """The cast and their belongings; ``ids`` name the sender's (or partner A's) objects by path
    parameter name, ``other_ids`` the other sender's (or partner B's) objects of the same kind."""

    base_url: str
    sender: SignedIn
    other_sender: SignedIn
    recipient: SignedIn
    spare: SignedIn
    """A session the fuzzer may spend on the sign-in endpoints (it may lock its PIN or sign out)."""
    staff: dict[str, dict[str, str]]
    """Matrix role -> Authorization headers of a signed-in staff member."""
    partners: dict[str, PartnerKey]
    """``partner_a`` and ``partner_b``."""
    ids: dict[str, str]
    other_ids: dict[str, str]
    secrets: Secrets
    phones: list[str] = field(default_factory=list)
    """Every phone number the story used (all must stay sealed)."""
    staff_factory: Any = None
    """``await world.staff_factory(*roles)`` signs in one more staff member; returns headers."""

    def headers(self, role: str) -> dict[str, str]:
        """The headers ``role`` sends (partners sign each request instead: :meth:`auth`)."""
        if role in CUSTOMER_ROLES:
            return dict(getattr(self, role).headers)
        if role in self.staff:
            return dict(self.staff[role])
        return {}

    def auth(self, role: str) -> PartnerAuth | None:
        """The request signer of a partner role."""
        key = self.partners.get(role)
        return PartnerAuth(key.key_id, key.secret) if key else None


_staff_numbers = itertools.count(1)


async def _staff_headers(engine: AsyncEngine, settings: Settings, roles: tuple[str, ...]) -> dict[str, str]:
    sealer = Sealer(settings.secrets.data_keys)
    username = f"staff{next(_staff_numbers)}-{'-'.join(roles)}"
    async with engine.begin() as conn:
        _, secret = await create_staff(conn, sealer, username, list(roles), STAFF_PASSWORD)
        session = await login(conn, sealer, username, STAFF_PASSWORD, pyotp.TOTP(secret).now())
    assert not isinstance(session, Exception), session
    return {"Authorization": f"Bearer {session.token}"}


def _ok(response: Response, status: int = 200) -> Any:
    assert response.status_code == status, (
        f"{response.request.method} {response.request.url}: {response.text}"
    )
    return response.json()


class _Cast:
    """The HTTP steps of building the world."""

    def __init__(self, http: AsyncClient) -> None:
        self.http = http

    async def profile(self, who: SignedIn, given: str, family: str, birth: str | None = None) -> None:
        body = {"givenName": given, "familyName": family} | ({"dateOfBirth": birth} if birth else {})
        _ok(await self.http.patch("/v1/me", json=body, headers=who.headers))

    async def recipient(self, who: SignedIn, given: str, family: str, payout: dict[str, str]) -> int:
        body = {"givenName": given, "familyName": family, "country": "AZ", "payout": payout}
        return int(_ok(await self.http.post("/v1/recipients", json=body, headers=who.headers), 201)["id"])

    async def quote(self, who: SignedIn, amount: str, method: str) -> str:
        body = {
            "corridor": "RU-AZ-RUB-AZN",
            "payoutMethod": method,
            "sendAmount": {"amount": amount, "currency": "RUB"},
        }
        return str(_ok(await self.http.post("/v1/quotes", json=body, headers=who.headers), 201)["id"])

    async def send(self, who: SignedIn, amount: str, method: str, recipient_id: int) -> dict[str, Any]:
        quote = await self.quote(who, amount, method)
        headers = {**who.headers, "Idempotency-Key": str(uuid.uuid4())}
        body = {"quoteId": quote, "recipientId": recipient_id}
        transfer: dict[str, Any] = _ok(await self.http.post("/v1/transfers", json=body, headers=headers), 201)
        return transfer

    async def top_up(self, who: SignedIn, amount: str) -> None:
        headers = {**who.headers, "Idempotency-Key": str(uuid.uuid4())}
        body = {"amount": {"amount": amount, "currency": "RUB"}}
        _ok(await self.http.post("/v1/wallet/topups", json=body, headers=headers), 201)

    async def partner_claims(self, auth: PartnerAuth) -> list[dict[str, Any]]:
        response = await self.http.get("/partner/v1/payouts", params={"status": "pending"}, auth=auth)
        items: list[dict[str, Any]] = _ok(response)["items"]
        return items

    async def partner_confirms(self, auth: PartnerAuth, payout_id: str) -> None:
        body = {"partnerReference": f"bank-{payout_id}"}
        _ok(await self.http.post(f"/partner/v1/payouts/{payout_id}/confirm", json=body, auth=auth))


async def _partner(engine: AsyncEngine, settings: Settings, code: str) -> PartnerKey:
    keys = PartnerSecrets(settings.secrets.secret_key, Sealer(settings.secrets.data_keys))
    async with engine.begin() as conn:
        partner, key, _ = await create_partner(conn, NewPartner(code=code, name=code.title()), keys)
    return PartnerKey(partner.id, key.key_id, key.secret)


async def build_world(http: AsyncClient, engine: AsyncEngine, settings: Settings, app: Any) -> World:
    """Seed corridors, market data and a sanctions list; sign the cast in; give each their belongings."""
    secrets = Secrets()
    cast = _Cast(http)
    await seed_fx(engine, settings)
    async with engine.begin() as conn:
        await import_file(conn, FileKind.RPW_AVERAGES, MARKET_AVERAGES, now=datetime.now(UTC))
        await store_snapshot(conn, load_list(f"ofac-csv:{SANCTIONS}"))
    async with engine.connect() as conn:
        await refresh_screener(conn, app.state.screener)
    # The first active partner pays every transfer out: partner A.
    partners = {
        "partner_a": await _partner(engine, settings, "kapital"),
        "partner_b": await _partner(engine, settings, "pasha"),
    }
    bank = PartnerAuth(partners["partner_a"].key_id, partners["partner_a"].secret)

    sender, other, recipient, spare = [await sign_in(http) for _ in range(4)]
    await cast.profile(sender, secrets.sender_given, secrets.sender_family, secrets.birth_date)
    await cast.profile(other, secrets.other_given, secrets.other_family)
    await cast.profile(recipient, secrets.recipient_given, secrets.recipient_family)
    async with engine.begin() as conn:
        for who in (sender, other):
            await set_kyc_tier(conn, who.customer_id, 1)

    payee = (secrets.recipient_given, secrets.recipient_family)
    by_iban = await cast.recipient(sender, *payee, {"method": "bank_account", "iban": secrets.iban})
    await cast.recipient(sender, *payee, {"method": "card", "cardNumber": secrets.card})
    by_wallet = await cast.recipient(sender, *payee, {"method": "wallet", "phone": recipient.phone})
    listed = await cast.recipient(sender, *LISTED, {"method": "bank_account", "iban": secrets.iban})
    others = await cast.recipient(other, secrets.payee_given, secrets.payee_family, {"method": "cash_pickup"})

    await cast.top_up(sender, "40000.00")
    await cast.top_up(other, "10000.00")
    for item in await cast.partner_claims(bank):
        await cast.partner_confirms(bank, item["id"])
    transfer = await cast.send(sender, "14000.00", "bank_account", by_iban)
    await cast.send(sender, "3000.00", "wallet", by_wallet)  # opens the recipient's wallet
    others_transfer = await cast.send(other, "2000.00", "cash_pickup", others)
    held = await cast.send(sender, "1000.00", "bank_account", listed)
    assert held["status"] in ("under_review", "cancelled"), held  # a hit blocks at once, a near miss holds
    payouts = {
        item["reference"]: item["id"] for item in await cast.partner_claims(bank)
    }  # reference: the transfer id without dashes
    quote = await cast.quote(sender, "7000.00", "card")
    other_quote = await cast.quote(other, "7000.00", "card")

    staff = {role: await _staff_headers(engine, settings, roles) for role, roles in STAFF_ROLES.items()}
    kyc = {
        "targetTier": 2,
        "address": secrets.address,
        "sourceOfFunds": "wages from a construction company",
        "documents": [
            {
                "kind": "passport",
                "contentType": "image/jpeg",
                "image": JPEG_B64,
                "number": secrets.passport,
                "issuingCountry": "AZ",
            },
            {"kind": "proof_of_address", "contentType": "image/jpeg", "image": JPEG_B64},
            {"kind": "source_of_funds", "contentType": "image/jpeg", "image": JPEG_B64},
        ],
    }
    submission = _ok(await http.post("/v1/me/kyc", json=kyc, headers=sender.headers), 201)["submissionId"]
    customer_ref = f"customer:{sender.customer_id}"
    now = datetime.now(UTC)
    async with engine.begin() as conn:
        document = await conn.scalar(
            select(kyc_documents.c.id).where(
                kyc_documents.c.submission_id == submission, kyc_documents.c.kind == "passport"
            )
        )
        result = await conn.scalar(
            select(screening_results.c.id).order_by(screening_results.c.id.desc()).limit(1)
        )
        case = await conn.scalar(select(cases.c.id).where(cases.c.customer_ref == customer_ref))
        b_payout = await create_payout(
            conn,
            PayoutRequest(
                PayoutKind.PAYOUT,
                partners["partner_b"].id,
                "world-b-1",
                Money("10.00", "AZN"),
                Beneficiary(
                    name=f"{secrets.payee_given} {secrets.payee_family}",
                    account_type="iban",
                    account=secrets.iban,
                ),
            ),
            sealer=Sealer(settings.secrets.data_keys),
        )
        windows = await ensure_windows(conn, now=now)
    window = next(w for w in windows if w.partner_id == partners["partner_a"].id)
    b_window = next(w for w in windows if w.partner_id == partners["partner_b"].id)
    async with engine.begin() as conn:
        await close_by_hand(conn, window.id, closed_by="world", cutoff=datetime.now(UTC))
    statement = await http.get(f"/partner/v1/settlement/windows/{window.id}/statement.xml", auth=bank)
    run = _ok(
        await http.post(
            f"/partner/v1/settlement/windows/{window.id}/reconciliations",
            content=statement.content,
            headers={"content-type": "application/xml"},
            auth=bank,
        ),
        201,
    )
    if held["status"] == "under_review":
        blocking = {"action": "block", "reason": "a listed name", "transferRef": held["id"]}
        _ok(await http.post(f"/backoffice/v1/cases/{case}/actions", json=blocking, headers=staff["officer"]))
    async with engine.begin() as conn:
        release = await request_release(
            conn, held["id"], Officer("staff:999", frozenset({"officer"})), "the match was a namesake"
        )
        event = await conn.scalar(select(outbox_events.c.id).limit(1))

    async def staff_factory(*roles: str) -> dict[str, str]:
        return await _staff_headers(engine, settings, roles)

    return World(
        base_url=str(http.base_url),
        sender=sender,
        other_sender=other,
        recipient=recipient,
        spare=spare,
        staff=staff,
        partners=partners,
        ids={
            "recipient_id": str(by_iban),
            "quote_id": quote,
            "transfer_id": transfer["id"],
            "payout_id": payouts[transfer["id"].replace("-", "")],
            "window_id": window.id,
            "run_id": run["id"],
            "event_id": str(event),
            "exception_id": "no-such-exception",
            "submission_id": str(submission),
            "document_id": str(document),
            "customer_ref": customer_ref,
            "result_id": str(result),
            "job_id": "1",
            "case_id": str(case),
            "request_id": str(release),
            "transfer_ref": held["id"],
            "name": "velocity_24h",
            "corridor": "RUSAZE",
            "path": "openapi.yaml",
        },
        other_ids={
            "recipient_id": str(others),
            "quote_id": other_quote,
            "transfer_id": others_transfer["id"],
            "payout_id": b_payout,
            "window_id": b_window.id,
        },
        secrets=secrets,
        phones=[sender.phone, other.phone, recipient.phone, spare.phone],
        staff_factory=staff_factory,
    )
