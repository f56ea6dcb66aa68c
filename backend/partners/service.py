"""Partner banks and their credentials: create, look up; issue, rotate, revoke keys; rotate webhook secrets.

Secrets are returned to the caller exactly once (:class:`IssuedKey`, the webhook secret on creation
or rotation) and never logged.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection

from backend.clock import as_utc, utcnow
from backend.partners.credentials import PartnerSecrets, new_key_id
from backend.partners.signing import new_webhook_secret
from backend.partners.tables import partner_api_keys, partners

__all__ = [
    "IssuedKey",
    "KeyNotFound",
    "NewPartner",
    "Partner",
    "PartnerExists",
    "PartnerNotFound",
    "create_partner",
    "get_partner",
    "get_partner_by_code",
    "issue_key",
    "list_keys",
    "partner_for_delivery",
    "revoke_key",
    "rotate_key",
    "rotate_webhook_secret",
    "webhook_secrets",
]

PayoutMode = Literal["pull", "push"]
_CODE = re.compile(r"^[a-z0-9][a-z0-9-]{1,38}[a-z0-9]$")


class PartnerNotFound(Exception):
    code = "partner_not_found"
    status = 404


class PartnerExists(Exception):
    code = "partner_exists"
    status = 409


class KeyNotFound(Exception):
    code = "key_not_found"
    status = 404


class InvalidPartner(ValueError):
    code = "invalid_partner"
    status = 422


@dataclass(frozen=True, slots=True)
class Partner:
    """A partner bank as the services see it (its secrets stay sealed in the row)."""

    id: str
    """Internal id, ``ptn_...``."""
    code: str
    """Short stable name, e.g. ``kapital-demo``."""
    name: str
    """Display name."""
    status: str
    """``active`` or ``suspended``."""
    payout_mode: PayoutMode
    """``pull`` (the partner polls) or ``push`` (we post instructions)."""
    payout_url: str | None
    """Where push instructions go."""
    webhook_url: str | None
    """Where webhooks go; none means the partner takes no webhooks."""
    settlement_period_hours: int
    """Length of a settlement window."""
    created_at: datetime
    """When it was added."""

    @classmethod
    def from_row(cls, row: RowMapping) -> Partner:
        return cls(
            id=row["id"],
            code=row["code"],
            name=row["name"],
            status=row["status"],
            payout_mode=row["payout_mode"],
            payout_url=row["payout_url"],
            webhook_url=row["webhook_url"],
            settlement_period_hours=row["settlement_period_hours"],
            created_at=as_utc(row["created_at"]),
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "code": self.code,
            "name": self.name,
            "status": self.status,
            "payoutMode": self.payout_mode,
            "payoutUrl": self.payout_url,
            "webhookUrl": self.webhook_url,
            "settlementPeriodHours": self.settlement_period_hours,
        }


@dataclass(frozen=True, slots=True)
class NewPartner:
    """What it takes to add a partner bank."""

    code: str
    """Short stable name: lowercase letters, digits and dashes."""
    name: str
    """Display name."""
    payout_mode: PayoutMode = "pull"
    """``pull`` or ``push``."""
    payout_url: str | None = None
    """Required for ``push``."""
    webhook_url: str | None = None
    """Optional."""
    settlement_period_hours: int = 24
    """Length of a settlement window."""


@dataclass(frozen=True, slots=True)
class IssuedKey:
    """A new API key; the only time its secret is visible."""

    key_id: str
    """Public id, sent as ``Korpu-Key``."""
    secret: str
    """Signs requests; shown once."""
    expires_at: datetime | None = None
    """Set on the *old* key by a rotation (reported here for the operator)."""


_by_id = select(partners).where(partners.c.id == bindparam("partner_id"))
_by_code = select(partners).where(partners.c.code == bindparam("code"))


async def get_partner(conn: AsyncConnection, partner_id: str) -> Partner:
    row = (await conn.execute(_by_id, {"partner_id": partner_id})).mappings().first()
    if row is None:
        raise PartnerNotFound(f"no partner {partner_id}")
    return Partner.from_row(row)


async def get_partner_by_code(conn: AsyncConnection, code: str) -> Partner:
    row = (await conn.execute(_by_code, {"code": code})).mappings().first()
    if row is None:
        raise PartnerNotFound(f"no partner with code {code!r}")
    return Partner.from_row(row)


def _check_url(url: str | None, what: str) -> None:
    if url is not None and not url.startswith(("https://", "http://127.0.0.1", "http://localhost")):
        raise InvalidPartner(f"{what} must be https (plain http only on loopback, for development)")


async def create_partner(
    conn: AsyncConnection, new: NewPartner, keys: PartnerSecrets, *, now: datetime | None = None
) -> tuple[Partner, IssuedKey, str]:
    """Add a partner with its first API key and webhook secret; returns both secrets once."""
    if not _CODE.match(new.code):
        raise InvalidPartner("a partner code is 3 to 40 lowercase letters, digits and dashes")
    if new.payout_mode == "push" and not new.payout_url:
        raise InvalidPartner("a push partner needs a payout URL")
    _check_url(new.payout_url, "the payout URL")
    _check_url(new.webhook_url, "the webhook URL")
    if (await conn.execute(_by_code, {"code": new.code})).first() is not None:
        raise PartnerExists(f"a partner with code {new.code!r} exists")
    moment = now or utcnow()
    webhook_secret = new_webhook_secret()
    partner_id = f"ptn_{uuid.uuid4().hex[:24]}"
    await conn.execute(
        insert(partners).values(
            id=partner_id,
            code=new.code,
            name=new.name,
            status="active",
            payout_mode=new.payout_mode,
            payout_url=new.payout_url,
            webhook_url=new.webhook_url,
            webhook_secret_sealed=keys.seal_webhook_secret(webhook_secret),
            settlement_period_hours=new.settlement_period_hours,
            created_at=moment,
        )
    )
    issued = await issue_key(conn, partner_id, keys, now=moment)
    return await get_partner(conn, partner_id), issued, webhook_secret


async def issue_key(
    conn: AsyncConnection,
    partner_id: str,
    keys: PartnerSecrets,
    *,
    now: datetime | None = None,
    key_id: str | None = None,
) -> IssuedKey:
    """A new API key for ``partner_id``; ``key_id`` may be fixed (the dev demo partner)."""
    await get_partner(conn, partner_id)
    key_id = key_id or new_key_id()
    secret = keys.api_secret(key_id)
    await conn.execute(
        insert(partner_api_keys).values(
            id=key_id, partner_id=partner_id, secret_hash=keys.secret_hash(secret), created_at=now or utcnow()
        )
    )
    return IssuedKey(key_id, secret)


async def rotate_key(
    conn: AsyncConnection, key_id: str, keys: PartnerSecrets, *, grace: timedelta, now: datetime | None = None
) -> IssuedKey:
    """Issue a successor of ``key_id``; the old key keeps working for ``grace``, then expires."""
    moment = now or utcnow()
    row = (
        (await conn.execute(select(partner_api_keys).where(partner_api_keys.c.id == key_id)))
        .mappings()
        .first()
    )
    if row is None or row["revoked_at"] is not None:
        raise KeyNotFound(f"no active key {key_id}")
    old_expiry = moment + grace
    if row["expires_at"] is not None and as_utc(row["expires_at"]) < old_expiry:
        old_expiry = as_utc(row["expires_at"])
    await conn.execute(
        update(partner_api_keys).where(partner_api_keys.c.id == key_id).values(expires_at=old_expiry)
    )
    issued = await issue_key(conn, row["partner_id"], keys, now=moment)
    return IssuedKey(issued.key_id, issued.secret, expires_at=old_expiry)


async def revoke_key(conn: AsyncConnection, key_id: str, *, now: datetime | None = None) -> None:
    """Stop accepting ``key_id`` at once."""
    result = await conn.execute(
        update(partner_api_keys)
        .where(partner_api_keys.c.id == key_id, partner_api_keys.c.revoked_at.is_(None))
        .values(revoked_at=now or utcnow())
    )
    if not result.rowcount:
        raise KeyNotFound(f"no active key {key_id}")


async def list_keys(conn: AsyncConnection, partner_id: str) -> list[dict[str, Any]]:
    rows = (
        await conn.execute(
            select(partner_api_keys)
            .where(partner_api_keys.c.partner_id == partner_id)
            .order_by(partner_api_keys.c.created_at)
        )
    ).mappings()
    return [
        {
            "keyId": row["id"],
            "createdAt": as_utc(row["created_at"]).isoformat(),
            "expiresAt": as_utc(row["expires_at"]).isoformat() if row["expires_at"] else None,
            "revokedAt": as_utc(row["revoked_at"]).isoformat() if row["revoked_at"] else None,
        }
        for row in rows
    ]


async def rotate_webhook_secret(
    conn: AsyncConnection,
    partner_id: str,
    keys: PartnerSecrets,
    *,
    grace: timedelta,
    now: datetime | None = None,
) -> str:
    """A new webhook secret; we sign with both old and new for ``grace`` so the partner can switch."""
    moment = now or utcnow()
    row = (await conn.execute(_by_id, {"partner_id": partner_id})).mappings().first()
    if row is None:
        raise PartnerNotFound(f"no partner {partner_id}")
    secret = new_webhook_secret()
    await conn.execute(
        update(partners)
        .where(partners.c.id == partner_id)
        .values(
            webhook_secret_sealed=keys.seal_webhook_secret(secret),
            previous_webhook_secret_sealed=row["webhook_secret_sealed"],
            previous_webhook_secret_until=moment + grace,
        )
    )
    return secret


async def webhook_secrets(
    conn: AsyncConnection, partner_id: str, keys: PartnerSecrets, *, now: datetime | None = None
) -> list[str]:
    """Secrets to sign a message to ``partner_id``: the current one, and the previous during its grace."""
    _, secrets = await partner_for_delivery(conn, partner_id, keys, now=now)
    return secrets


async def partner_for_delivery(
    conn: AsyncConnection, partner_id: str, keys: PartnerSecrets, *, now: datetime | None = None
) -> tuple[Partner, list[str]]:
    """The partner and the secrets to sign a message to it (see :func:`webhook_secrets`), read in
    one statement: the outbox worker needs both for every delivery."""
    row = (await conn.execute(_by_id, {"partner_id": partner_id})).mappings().first()
    if row is None:
        raise PartnerNotFound(f"no partner {partner_id}")
    return Partner.from_row(row), _signing_secrets(row, keys, now)


def _signing_secrets(row: RowMapping, keys: PartnerSecrets, now: datetime | None) -> list[str]:
    found = [keys.open_webhook_secret(row["webhook_secret_sealed"])]
    until = row["previous_webhook_secret_until"]
    if row["previous_webhook_secret_sealed"] is not None and until and as_utc(until) > (now or utcnow()):
        found.append(keys.open_webhook_secret(row["previous_webhook_secret_sealed"]))
    return found
