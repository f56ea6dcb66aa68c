"""Devices, sign-in sessions (refresh-token families) and refresh tokens."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from backend.identity.clock import as_utc
from backend.identity.tables import auth_sessions, customer_devices, customers, refresh_tokens
from sqldirect import direct

__all__ = [
    "RefreshRecord",
    "SessionPrincipalRecord",
    "claim_refresh_token",
    "ensure_device",
    "find_refresh_token",
    "insert_refresh_token",
    "insert_session",
    "mark_pin_verified",
    "principal_of_session",
    "revoke_session",
    "touch_session",
]


@dataclass(frozen=True, slots=True)
class SessionPrincipalRecord:
    """What a request's access token resolves to: its session, device and customer."""

    session_id: uuid.UUID
    customer_id: int
    device_id: str
    pin_verified: bool
    expires_at: datetime
    revoked: bool
    customer_status: str
    kyc_tier: int
    language: str
    pin_set: bool


@dataclass(frozen=True, slots=True)
class RefreshRecord:
    """A refresh token with the session it belongs to."""

    session_id: uuid.UUID
    customer_id: int
    device_id: str
    pin_verified: bool
    token_expires_at: datetime
    token_used: bool
    session_expires_at: datetime
    session_revoked: bool


_FIND_DEVICE = select(customer_devices.c.id).where(
    customer_devices.c.customer_id == bindparam("customer_id"),
    customer_devices.c.device_id == bindparam("device_id"),
)
_INSERT_DEVICE = insert(customer_devices).returning(customer_devices.c.id)
_TOUCH_DEVICE = (
    update(customer_devices)
    .where(customer_devices.c.id == bindparam("device_pk"))
    .values(last_seen_at=bindparam("now"))
)
_INSERT_SESSION = insert(auth_sessions)
_INSERT_REFRESH = insert(refresh_tokens)
_PRINCIPAL = direct(
    select(
        auth_sessions.c.id,
        auth_sessions.c.customer_id,
        customer_devices.c.device_id,
        auth_sessions.c.pin_verified,
        auth_sessions.c.expires_at,
        auth_sessions.c.revoked_at,
        customers.c.status,
        customers.c.kyc_tier,
        customers.c.language,
        customers.c.pin_hash.is_not(None),
    )
    .join(customer_devices, customer_devices.c.id == auth_sessions.c.device_pk)
    .join(customers, customers.c.id == auth_sessions.c.customer_id)
    .where(auth_sessions.c.id == bindparam("session_id"))
)
_FIND_REFRESH = (
    select(
        auth_sessions.c.id,
        auth_sessions.c.customer_id,
        customer_devices.c.device_id,
        auth_sessions.c.pin_verified,
        refresh_tokens.c.expires_at,
        refresh_tokens.c.used_at,
        auth_sessions.c.expires_at,
        auth_sessions.c.revoked_at,
    )
    .join(auth_sessions, auth_sessions.c.id == refresh_tokens.c.session_id)
    .join(customer_devices, customer_devices.c.id == auth_sessions.c.device_pk)
    .where(refresh_tokens.c.token_hash == bindparam("hash"))
)
# Conditional on "not used yet", so of two racing refreshes with one token exactly one wins.
_CLAIM_REFRESH = (
    update(refresh_tokens)
    .where(refresh_tokens.c.token_hash == bindparam("hash"), refresh_tokens.c.used_at.is_(None))
    .values(used_at=bindparam("now"))
)
_REVOKE_SESSION = (
    update(auth_sessions)
    .where(auth_sessions.c.id == bindparam("session_id"), auth_sessions.c.revoked_at.is_(None))
    .values(revoked_at=bindparam("now"), revoked_reason=bindparam("reason"))
)
_TOUCH_SESSION = (
    update(auth_sessions)
    .where(auth_sessions.c.id == bindparam("session_id"))
    .values(refreshed_at=bindparam("now"))
)
_MARK_PIN_VERIFIED = (
    update(auth_sessions).where(auth_sessions.c.id == bindparam("session_id")).values(pin_verified=True)
)


async def ensure_device(connection: AsyncConnection, customer_id: int, device_id: str, now: datetime) -> int:
    """The row id of the customer's device ``device_id``, registering it on first sight."""
    found = await connection.scalar(_FIND_DEVICE, {"customer_id": customer_id, "device_id": device_id})
    if found is not None:
        await connection.execute(_TOUCH_DEVICE, {"device_pk": found, "now": now})
        return int(found)
    result = await connection.execute(
        _INSERT_DEVICE,
        {"customer_id": customer_id, "device_id": device_id, "created_at": now, "last_seen_at": now},
    )
    return int(result.scalar_one())


async def insert_session(
    connection: AsyncConnection,
    *,
    session_id: uuid.UUID,
    customer_id: int,
    device_pk: int,
    now: datetime,
    expires_at: datetime,
) -> None:
    await connection.execute(
        _INSERT_SESSION,
        {
            "id": session_id,
            "customer_id": customer_id,
            "device_pk": device_pk,
            "pin_verified": False,
            "created_at": now,
            "expires_at": expires_at,
            "refreshed_at": now,
            "revoked_at": None,
            "revoked_reason": None,
        },
    )


async def insert_refresh_token(
    connection: AsyncConnection,
    *,
    token_hash: str,
    session_id: uuid.UUID,
    now: datetime,
    expires_at: datetime,
) -> None:
    await connection.execute(
        _INSERT_REFRESH,
        {
            "token_hash": token_hash,
            "session_id": session_id,
            "created_at": now,
            "expires_at": expires_at,
            "used_at": None,
        },
    )


async def principal_of_session(
    connection: AsyncConnection, session_id: uuid.UUID
) -> SessionPrincipalRecord | None:
    """The session and its customer as every authenticated request checks them; outside a
    transaction a statement of its own (``alone``: one round trip)."""
    row = await _PRINCIPAL.first(connection, {"session_id": session_id}, alone=True)
    if row is None:
        return None
    return SessionPrincipalRecord(
        session_id=row[0],
        customer_id=int(row[1]),
        device_id=row[2],
        pin_verified=bool(row[3]),
        expires_at=as_utc(row[4]),
        revoked=row[5] is not None,
        customer_status=row[6],
        kyc_tier=int(row[7]),
        language=row[8],
        pin_set=bool(row[9]),
    )


async def find_refresh_token(connection: AsyncConnection, token_hash: str) -> RefreshRecord | None:
    row = (await connection.execute(_FIND_REFRESH, {"hash": token_hash})).first()
    if row is None:
        return None
    return RefreshRecord(
        session_id=row[0],
        customer_id=int(row[1]),
        device_id=row[2],
        pin_verified=bool(row[3]),
        token_expires_at=as_utc(row[4]),
        token_used=row[5] is not None,
        session_expires_at=as_utc(row[6]),
        session_revoked=row[7] is not None,
    )


async def claim_refresh_token(connection: AsyncConnection, token_hash: str, now: datetime) -> bool:
    """Mark the token used; ``False`` when it already was (a replay)."""
    result = await connection.execute(_CLAIM_REFRESH, {"hash": token_hash, "now": now})
    return result.rowcount == 1


async def revoke_session(
    connection: AsyncConnection, session_id: uuid.UUID, reason: str, now: datetime
) -> None:
    await connection.execute(_REVOKE_SESSION, {"session_id": session_id, "reason": reason, "now": now})


async def touch_session(connection: AsyncConnection, session_id: uuid.UUID, now: datetime) -> None:
    await connection.execute(_TOUCH_SESSION, {"session_id": session_id, "now": now})


async def mark_pin_verified(connection: AsyncConnection, session_id: uuid.UUID) -> None:
    await connection.execute(_MARK_PIN_VERIFIED, {"session_id": session_id})
