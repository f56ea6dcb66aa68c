"""A small populated world for the hardening suites: who is signed in, and what each of them owns.

The fuzzer, the authorization matrix and the data-at-rest story all need the same cast: a sender
with recipients and a quote, a second sender with their own, the person the first sender pays
(a customer too), staff of every role, and back-office objects (a KYC submission with a document,
a case with a blocked transfer, a release request). :func:`build_world` makes them through the
public API where one exists and through the capability's service where none does yet.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyotp
from httpx import AsyncClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from backend.fx_demo import seed_fx
from backend.settings import Settings
from backend.staff.service import create_staff, login
from compliance.cases import open_alert, request_release
from compliance.kyc_review import DocumentUpload, KycVault, submit_kyc
from compliance.officers import Officer
from compliance.privacy import BlindIndex, Sealer
from compliance.tables import kyc_documents
from fx.market.imports import FileKind, import_file
from tests.signin import SignedIn, sign_in

__all__ = [
    "CUSTOMER_ROLES",
    "PARTNER_ROLES",
    "ROLES",
    "STAFF_ROLES",
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

MARKET_AVERAGES = (
    Path(__file__).resolve().parents[2]
    / "fx"
    / "market"
    / "data"
    / "rpw-corridor-quarter-averages-2016-2025.csv"
)
STAFF_PASSWORD = "a long enough passphrase"
JPEG = b"\xff\xd8\xff\xe0" + b"passport photo page" * 10


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


@dataclass
class World:
    """The cast and their belongings; ``ids`` name the sender's objects by path parameter name."""

    base_url: str
    sender: SignedIn
    other_sender: SignedIn
    recipient: SignedIn
    spare: SignedIn
    """A session the fuzzer may spend on the sign-in endpoints (it may lock its PIN or sign out)."""
    staff: dict[str, dict[str, str]]
    """Matrix role -> Authorization headers of a signed-in staff member."""
    ids: dict[str, str]
    """Path parameter -> a value naming the sender's object (or a back-office object)."""
    other_ids: dict[str, str]
    """Path parameter -> the other sender's object of the same kind."""
    secrets: Secrets
    phones: list[str] = field(default_factory=list)
    """Every phone number the story used (all must stay sealed)."""
    staff_factory: Any = None
    """``await world.staff_factory(*roles)`` signs in one more staff member; returns headers."""

    def headers(self, role: str) -> dict[str, str]:
        """The credentials ``role`` sends (none for anonymous; partners have none until issue 7)."""
        if role in CUSTOMER_ROLES:
            return dict(getattr(self, role).headers)
        if role in self.staff:
            return dict(self.staff[role])
        if role in PARTNER_ROLES:
            # TODO(issue 7): sign requests with partner A's and partner B's own API keys. Until then a
            # partner is a caller with a key no customer or staff route accepts.
            return {"X-Partner-Key": f"{role}-key-not-issued-yet"}
        return {}


_staff_numbers = itertools.count(1)


async def _staff_headers(engine: AsyncEngine, settings: Settings, roles: tuple[str, ...]) -> dict[str, str]:
    sealer = Sealer(settings.secrets.data_keys)
    username = f"staff{next(_staff_numbers)}-{'-'.join(roles)}"
    async with engine.begin() as conn:
        _, secret = await create_staff(conn, sealer, username, list(roles), STAFF_PASSWORD)
        session = await login(conn, sealer, username, STAFF_PASSWORD, pyotp.TOTP(secret).now())
    assert not isinstance(session, Exception), session
    return {"Authorization": f"Bearer {session.token}"}


async def _recipient(
    http: AsyncClient, who: SignedIn, given: str, family: str, payout: dict[str, str]
) -> int:
    body = {"givenName": given, "familyName": family, "country": "AZ", "payout": payout}
    response = await http.post("/v1/recipients", json=body, headers=who.headers)
    assert response.status_code == 201, response.text
    recipient_id: int = response.json()["id"]
    return recipient_id


async def _quote(http: AsyncClient, who: SignedIn) -> str:
    body = {
        "corridor": "RU-AZ-RUB-AZN",
        "payoutMethod": "card",
        "sendAmount": {"amount": "14000.00", "currency": "RUB"},
    }
    response = await http.post("/v1/quotes", json=body, headers=who.headers)
    assert response.status_code == 201, response.text
    quote_id: str = response.json()["id"]
    return quote_id


async def _profile(http: AsyncClient, who: SignedIn, given: str, family: str, birth: str | None) -> None:
    body: dict[str, str] = {"givenName": given, "familyName": family}
    if birth:
        body["dateOfBirth"] = birth
    response = await http.patch("/v1/me", json=body, headers=who.headers)
    assert response.status_code == 200, response.text


async def build_world(http: AsyncClient, engine: AsyncEngine, settings: Settings) -> World:
    """Seed corridors and market data, sign the cast in, and give each their belongings."""
    secrets = Secrets()
    await seed_fx(engine, settings)
    async with engine.begin() as conn:
        await import_file(conn, FileKind.RPW_AVERAGES, MARKET_AVERAGES, now=datetime.now(UTC))
    sender, other, recipient, spare = [await sign_in(http) for _ in range(4)]
    await _profile(http, sender, secrets.sender_given, secrets.sender_family, secrets.birth_date)
    await _profile(http, other, secrets.other_given, secrets.other_family, None)
    await _profile(http, recipient, secrets.recipient_given, secrets.recipient_family, None)

    by_iban = await _recipient(
        http,
        sender,
        secrets.recipient_given,
        secrets.recipient_family,
        {"method": "bank_account", "iban": secrets.iban},
    )
    await _recipient(
        http,
        sender,
        secrets.recipient_given,
        secrets.recipient_family,
        {"method": "card", "cardNumber": secrets.card},
    )
    await _recipient(
        http,
        sender,
        secrets.recipient_given,
        secrets.recipient_family,
        {"method": "wallet", "phone": recipient.phone},
    )
    others = await _recipient(
        http, other, secrets.payee_given, secrets.payee_family, {"method": "cash_pickup"}
    )
    quote = await _quote(http, sender)
    other_quote = await _quote(http, other)

    staff = {role: await _staff_headers(engine, settings, roles) for role, roles in STAFF_ROLES.items()}
    vault = KycVault(Sealer(settings.secrets.data_keys), BlindIndex(settings.secrets.secret_key))
    upload = DocumentUpload("passport", JPEG, "image/jpeg", number=secrets.passport, issuing_country="AZ")
    async with engine.begin() as conn:
        submission = await submit_kyc(conn, vault, str(sender.customer_id), 1, [upload], current_tier=0)
        document = await conn.scalar(
            select(kyc_documents.c.id).where(kyc_documents.c.submission_id == submission)
        )
        case = await open_alert(
            conn,
            str(sender.customer_id),
            "tr-1",
            "screening",
            [{"rule": "sanctions", "reason": "name close to a listed person"}],
            outcome="block",
        )
        release = await request_release(
            conn, "tr-1", Officer("staff:999", frozenset({"officer"})), "the match was a namesake"
        )

    async def staff_factory(*roles: str) -> dict[str, str]:
        return await _staff_headers(engine, settings, roles)

    return World(
        base_url=str(http.base_url),
        sender=sender,
        other_sender=other,
        recipient=recipient,
        spare=spare,
        staff=staff,
        ids={
            "recipient_id": str(by_iban),
            "quote_id": quote,
            "submission_id": str(submission),
            "document_id": str(document),
            "case_id": str(case),
            "request_id": str(release),
            "transfer_ref": "tr-1",
            "name": "velocity_24h",
            "corridor": "RUSAZE",
            "path": "openapi.yaml",
        },
        other_ids={"recipient_id": str(others), "quote_id": other_quote},
        secrets=secrets,
        phones=[sender.phone, other.phone, recipient.phone, spare.phone],
        staff_factory=staff_factory,
    )
