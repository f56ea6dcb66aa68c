"""Authentication of partner requests: API key, HMAC signature, five-minute window, no replays.

The guard runs before every ``/partner/v1`` handler. It reads the raw body (Litestar keeps it for the
handler), rebuilds the signing string from the request as it arrived, and refuses, with 401 and a
stable ``code``: a missing or malformed header (``signature_missing``), a timestamp more than five
minutes from our clock (``signature_expired``), an unknown, revoked or expired key or a suspended
partner (``invalid_key``), a wrong signature (``invalid_signature``), and a signature seen before
(``replayed_request``: a signature, which covers a fresh nonce, is accepted once).
"""

from __future__ import annotations

import hmac
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from litestar import Request
from litestar.connection import ASGIConnection
from litestar.datastructures import State
from litestar.handlers.base import BaseRouteHandler
from sqlalchemy import bindparam, delete, insert, select, tuple_
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from backend.clock import as_utc
from backend.db import alone
from backend.partners.credentials import PartnerSecrets
from backend.partners.signing import SIGNATURE_TOLERANCE_SECONDS, parse_signature_header, request_signature
from backend.partners.tables import partner_api_keys, partner_request_nonces, partners
from backend.problems import Problem
from backend.settings import Settings
from compliance.privacy import Sealer
from sqldirect import direct

__all__ = ["PartnerPrincipal", "authenticate", "partner_guard", "partner_principal", "partner_secrets"]

KEY_HEADER = "korpu-key"
SIGNATURE_HEADER = "korpu-signature"
_STATE_KEY = "partner_principal"


@dataclass(frozen=True, slots=True)
class PartnerPrincipal:
    """Who is calling: the partner and the key it signed with."""

    partner_id: str
    """Internal partner id."""
    partner_code: str
    """The partner's code."""
    key_id: str
    """The API key that signed the request."""


_key_and_partner = (
    select(
        partner_api_keys.c.id,
        partner_api_keys.c.secret_hash,
        partner_api_keys.c.expires_at,
        partner_api_keys.c.revoked_at,
        partners.c.id.label("partner_id"),
        partners.c.code,
        partners.c.status,
    )
    .join(partners, partners.c.id == partner_api_keys.c.partner_id)
    .where(partner_api_keys.c.id == bindparam("key_id"))
)
_remember_nonce = insert(partner_request_nonces)
# Expired nonces are swept a batch at a time, skipping rows another request is already sweeping,
# so concurrent requests never wait on (or deadlock over) each other's clean-up.
_expired_batch = (
    select(partner_request_nonces.c.key_id, partner_request_nonces.c.signature)
    .where(partner_request_nonces.c.expires_at < bindparam("now"))
    # Oldest first: the expiry index then finds the batch whatever the statistics say (planned on
    # a small table, the unordered look-up scanned every live nonce on each partner request).
    .order_by(partner_request_nonces.c.expires_at)
    .limit(200)
    .with_for_update(skip_locked=True)
)
_forget_old_nonces = delete(partner_request_nonces).where(
    tuple_(partner_request_nonces.c.key_id, partner_request_nonces.c.signature).in_(_expired_batch)
)
# PostgreSQL: the sweep and the insert in one statement, run in autocommit mode (one round trip
# where a transaction of two statements took four). A replayed nonce fails the whole statement.
_sweep_and_remember = insert(partner_request_nonces).add_cte(
    _forget_old_nonces.returning(partner_request_nonces.c.key_id).cte("swept")
)


_KEY_AND_PARTNER = direct(_key_and_partner)
_SWEEP_AND_REMEMBER = direct(_sweep_and_remember)


def partner_secrets(state: State) -> PartnerSecrets:
    """The app's :class:`PartnerSecrets`, made once from its settings."""
    keys = state.get("partner_secrets")
    if keys is None:
        settings: Settings = state.settings
        keys = PartnerSecrets(settings.secrets.secret_key, Sealer(settings.secrets.data_keys))
        state.partner_secrets = keys
    return keys  # type: ignore[no-any-return]


def _unauthorized(code: str, detail: str) -> Problem:
    return Problem(401, code, detail, headers={"WWW-Authenticate": 'KorpuSignature realm="partner"'})


def _target(scope: Any) -> str:
    raw_path = scope.get("raw_path") or scope["path"].encode()
    query = scope.get("query_string") or b""
    return str((raw_path + (b"?" + query if query else b"")).decode("latin-1"))


async def authenticate(
    engine: AsyncEngine,
    keys: PartnerSecrets,
    *,
    key_id: str | None,
    signature_header: str | None,
    method: str,
    target: str,
    body: bytes,
    now: float | None = None,
) -> PartnerPrincipal:
    """Check one request; raise :class:`Problem` 401 or return the caller."""
    if not key_id or not signature_header:
        raise _unauthorized("signature_missing", "Send Korpu-Key and Korpu-Signature (see docs/partners.md).")
    try:
        timestamp, nonce, candidates = parse_signature_header(signature_header)
    except ValueError as exc:
        raise _unauthorized("signature_missing", f"Korpu-Signature is malformed: {exc}.") from None
    clock = time.time() if now is None else now
    if abs(clock - timestamp) > SIGNATURE_TOLERANCE_SECONDS:
        raise _unauthorized("signature_expired", "The signature's timestamp is over 5 minutes from ours.")
    moment = datetime.fromtimestamp(clock, UTC)
    async with alone(engine) as conn:
        found = await _KEY_AND_PARTNER.first(conn, {"key_id": key_id}, alone=True)
    row = None if found is None else found._mapping
    if (
        row is None
        or row["revoked_at"] is not None
        or (row["expires_at"] is not None and as_utc(row["expires_at"]) <= moment)
        or row["status"] != "active"
    ):
        raise _unauthorized("invalid_key", "Unknown, revoked or expired key, or suspended partner.")
    secret = keys.api_secret(key_id)
    if not hmac.compare_digest(keys.secret_hash(secret), row["secret_hash"]):
        # The server key changed since this key was issued: refuse rather than guess.
        raise _unauthorized("invalid_key", "The key no longer matches our records; ask for a new one.")
    expected = request_signature(secret, timestamp, nonce, method, target, body)
    matching = next((c for c in candidates if hmac.compare_digest(expected, c)), None)
    if matching is None:
        raise _unauthorized("invalid_signature", "The signature does not match the request.")
    expires = datetime.fromtimestamp(timestamp + SIGNATURE_TOLERANCE_SECONDS + 60, UTC)
    remembered = {"key_id": key_id, "signature": matching, "expires_at": expires, "now": moment}
    try:
        if engine.dialect.name == "postgresql":
            async with alone(engine) as conn:
                await _SWEEP_AND_REMEMBER.rows(conn, remembered, alone=True)
        else:
            async with engine.begin() as conn:
                await conn.execute(_forget_old_nonces, {"now": moment})
                await conn.execute(_remember_nonce, remembered)
    except IntegrityError:
        raise _unauthorized("replayed_request", "Signature used before; sign each request anew.") from None
    return PartnerPrincipal(partner_id=row["partner_id"], partner_code=row["code"], key_id=key_id)


async def partner_guard(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    """Litestar guard of the ``/partner/v1`` router."""
    request: Request[Any, Any, Any] = Request(connection.scope, connection.receive)
    body = await request.body()
    state = connection.app.state
    principal = await authenticate(
        state.engine,
        partner_secrets(state),
        key_id=connection.headers.get(KEY_HEADER),
        signature_header=connection.headers.get(SIGNATURE_HEADER),
        method=connection.scope["method"],  # type: ignore[typeddict-item]
        target=_target(connection.scope),
        body=body,
    )
    connection.state[_STATE_KEY] = principal


async def partner_principal(request: Request[Any, Any, Any]) -> PartnerPrincipal:
    """Dependency: the caller the guard authenticated."""
    principal = request.state.get(_STATE_KEY)
    if not isinstance(principal, PartnerPrincipal):
        raise _unauthorized("signature_missing", "This route needs a signed request.")
    return principal
