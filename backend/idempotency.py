"""Idempotency keys for every money-moving POST (Stripe's contract).

The record and the work it guards commit in one database transaction, so a request either left
both (and a retry replays the stored reply) or neither (and a retry runs afresh). The rules a
client sees:

* same key, same body, first request finished: the first reply is replayed, byte for byte;
* same key, other body: 422 ``idempotency_key_reused``;
* same key while the first request is still running: 409 ``idempotency_key_in_use``.

"Still running" is detected on PostgreSQL with a transaction-scoped advisory lock taken without
waiting (``pg_try_advisory_xact_lock``) on a hash of the scope and key: the first request holds it
until its transaction ends, a concurrent one fails to take it and answers 409 at once instead of
queueing behind it. On SQLite, writers are serialised (``BEGIN IMMEDIATE``), so a second request
only runs after the first committed and finds its stored reply.

Keys are scoped (e.g. ``customer:42``) so one client's key never collides with another's.

A reply that carries personal data (a transfer names its recipient) is stored sealed: pass the
service's :class:`~compliance.privacy.Sealer` to :func:`store_reply` and :func:`claim`, and the
``body`` column holds ``{"sealed": "<base64 AES-GCM>"}`` instead of the reply.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Column,
    DateTime,
    Integer,
    PrimaryKeyConstraint,
    String,
    Table,
    bindparam,
    func,
    select,
    text,
    tuple_,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncConnection

from backend.deferred_inserts import insert_row
from backend.schema import metadata
from compliance.privacy import Sealer
from sqldirect import direct

__all__ = [
    "Claimed",
    "IdempotencyKeyInUse",
    "IdempotencyKeyMissing",
    "IdempotencyKeyReused",
    "StoredReply",
    "claim",
    "claim_ahead",
    "fingerprint",
    "idempotency_keys",
    "open_stored_reply",
    "store_reply",
]

idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    Column("scope", String(64), nullable=False),
    Column("key", String(255), nullable=False),
    Column("request_hash", String(64), nullable=False),
    Column("status_code", Integer, nullable=False),
    Column("body", JSON, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    PrimaryKeyConstraint("scope", "key", name="pk_idempotency_keys"),
)


class IdempotencyKeyMissing(Exception):
    code = "idempotency_key_missing"
    status = 400

    def __init__(self) -> None:
        super().__init__("This request moves money: send an Idempotency-Key header (e.g. a UUID).")


class IdempotencyKeyReused(Exception):
    code = "idempotency_key_reused"
    status = 422

    def __init__(self) -> None:
        super().__init__("This Idempotency-Key was already used with a different request body.")


class IdempotencyKeyInUse(Exception):
    code = "idempotency_key_in_use"
    status = 409

    def __init__(self) -> None:
        super().__init__("A request with this Idempotency-Key is still being processed; retry shortly.")


@dataclass(frozen=True, slots=True)
class StoredReply:
    """The reply of the first request with this key."""

    status_code: int
    body: Any


def fingerprint(method: str, path: str, body: Any) -> str:
    """A stable hash of what the request asks for (canonical JSON, so key order does not matter)."""
    canonical = json.dumps([method.upper(), path, body], sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _lock_id(scope: str, key: str) -> int:
    digest = hashlib.blake2b(f"{scope}\x00{key}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


_lookup = direct(
    select(idempotency_keys.c.request_hash, idempotency_keys.c.status_code, idempotency_keys.c.body).where(
        idempotency_keys.c.scope == bindparam("scope"), idempotency_keys.c.key == bindparam("key")
    )
)
_try_lock = direct(text("SELECT pg_try_advisory_xact_lock(:lock_id)"))
_try_locks = direct(
    text(
        "SELECT pg_try_advisory_xact_lock(t.id)"
        "  FROM unnest(CAST(:lock_ids AS bigint[])) WITH ORDINALITY AS t(id, ord) ORDER BY t.ord"
    )
)
_wanted = (
    func.unnest(bindparam("scopes", type_=ARRAY(String)), bindparam("keys", type_=ARRAY(String)))
    .table_valued("scope", "key")
    .render_derived(name="wanted")
)
_lookup_many = direct(
    select(
        idempotency_keys.c.scope,
        idempotency_keys.c.key,
        idempotency_keys.c.request_hash,
        idempotency_keys.c.status_code,
        idempotency_keys.c.body,
    ).where(
        tuple_(idempotency_keys.c.scope, idempotency_keys.c.key).in_(select(_wanted.c.scope, _wanted.c.key))
    )
)
_SEALED = "sealed"
_REPLY_CONTEXT = "idempotency.reply"


def _stored(body: Any, sealer: Sealer | None) -> Any:
    if sealer is None:
        return body
    plain = json.dumps(body, separators=(",", ":"), ensure_ascii=False)
    return {_SEALED: base64.b64encode(sealer.seal_text(plain, _REPLY_CONTEXT)).decode()}


def open_stored_reply(stored: Any, sealer: Sealer | None) -> Any:
    """A stored reply as it was given (opened when it was stored sealed)."""
    if sealer is None or not (isinstance(stored, dict) and set(stored) == {_SEALED}):
        return stored
    return json.loads(sealer.open_text(base64.b64decode(stored[_SEALED]), _REPLY_CONTEXT))


@dataclass(frozen=True, slots=True)
class Claimed:
    """A key claimed ahead of its request's work (:func:`claim_ahead`)."""

    acquired: bool
    """Whether this transaction took the key's lock (``False``: another request holds it)."""
    stored: Any | None
    """The stored record (``request_hash``, ``status_code``, ``body``), if the key was used before."""


async def claim(
    conn: AsyncConnection,
    scope: str,
    key: str | None,
    request_hash: str,
    *,
    sealer: Sealer | None = None,
    ahead: Mapping[tuple[str, str], Claimed] | None = None,
) -> StoredReply | None:
    """Start guarded work in the caller's transaction: ``None`` means go ahead (then call
    :func:`store_reply` in the same transaction); a :class:`StoredReply` means replay it (opened
    with ``sealer`` when it was stored sealed). ``ahead``: keys this transaction already claimed
    with :func:`claim_ahead` (a key not among them is claimed here)."""
    if not key:
        raise IdempotencyKeyMissing()
    if len(key) > 255:
        raise IdempotencyKeyReused()
    claimed = None if ahead is None else ahead.get((scope, key))
    if claimed is not None:
        acquired, row = claimed.acquired, claimed.stored
    elif conn.dialect.name == "postgresql":
        acquired = bool(await _try_lock.scalar(conn, {"lock_id": _lock_id(scope, key)}))
        row = await _lookup.first(conn, {"scope": scope, "key": key}) if acquired else None
    else:
        acquired, row = True, await _lookup.first(conn, {"scope": scope, "key": key})
    if not acquired:
        raise IdempotencyKeyInUse()
    if row is None:
        return None
    if row.request_hash != request_hash:
        raise IdempotencyKeyReused()
    return StoredReply(status_code=row.status_code, body=open_stored_reply(row.body, sealer))


async def claim_ahead(
    conn: AsyncConnection, keys: Sequence[tuple[str, str]]
) -> dict[tuple[str, str], Claimed]:
    """Claim many ``(scope, key)`` pairs in two statements (PostgreSQL; for a group commit's
    batch): every lock first, then every stored record, so a record committed by the holder of a
    lock just taken is seen. Pass the result to :func:`claim` as ``ahead``. Keys that
    :func:`claim` refuses (empty, too long) are left out."""
    wanted = sorted({(scope, key) for scope, key in keys if key and len(key) <= 255})
    if not wanted:
        return {}
    locked = await _try_locks.rows(conn, {"lock_ids": [_lock_id(scope, key) for scope, key in wanted]})
    acquired = [pair for pair, (taken,) in zip(wanted, locked, strict=True) if taken]
    stored = {}
    if acquired:
        rows = await _lookup_many.rows(
            conn, {"scopes": [scope for scope, _ in acquired], "keys": [key for _, key in acquired]}
        )
        stored = {(row.scope, row.key): row for row in rows}
    taken = set(acquired)
    return {pair: Claimed(pair in taken, stored.get(pair)) for pair in wanted}


async def store_reply(
    conn: AsyncConnection,
    scope: str,
    key: str,
    request_hash: str,
    status_code: int,
    body: Any,
    *,
    now: datetime | None = None,
    sealer: Sealer | None = None,
) -> None:
    """Record the reply, in the same transaction as the work it answers for (sealed when a
    ``sealer`` is given: do so whenever the reply names a person)."""
    await insert_row(
        conn,
        idempotency_keys,
        {
            "scope": scope,
            "key": key,
            "request_hash": request_hash,
            "status_code": status_code,
            "body": _stored(body, sealer),
            "created_at": now or datetime.now(UTC),
        },
    )
