"""Posting to the journal: entries, holds, and the posting, voiding and expiry of holds.

Every function takes the caller's ``AsyncConnection`` and writes in the caller's transaction, so a
transfer's hold, its idempotency record and its outbox row commit together. Each request is
checked in full before its first write, so a refusal leaves the transaction usable and unchanged.

:func:`post_entries` is the batch form: the whole batch is loaded, decided in memory and written
in a fixed handful of statements (:mod:`ledger.planning`), each request getting its own result
(an :class:`Entry` or a :class:`LedgerError`). The other functions are single requests on top
of it.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from sqlalchemy import bindparam, select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from ledger import store_pg, store_pg_at_once, store_sqlite
from ledger.errors import LedgerError, UnknownEntry
from ledger.model import (
    Entry,
    EntryKind,
    EntryRequest,
    ExpirePendingRequest,
    LedgerRequest,
    PostPendingRequest,
    VoidPendingRequest,
)
from ledger.money import Money
from ledger.planning import StoredEntry, plan, wanted
from ledger.requests import canonical
from ledger.results import build_entry, build_posting, build_result, replay_entry
from ledger.retry import is_retryable
from ledger.tables import accounts, entries, open_holds, postings

__all__ = [
    "EXPIRY_NAMESPACE",
    "expire_holds",
    "get_entry",
    "post_entries",
    "post_entries_at_once",
    "post_entry",
    "post_pending",
    "void_pending",
]

EXPIRY_NAMESPACE = UUID("6f1f4a52-93a5-4c55-9a55-0b8f3e0c1d2e")
"""Namespace of the ids of expiry entries: ``uuid5(EXPIRY_NAMESPACE, str(hold_id))``."""


async def post_entries(conn: AsyncConnection, requests: Sequence[LedgerRequest]) -> list[Entry | LedgerError]:
    """Post each request in order, in the caller's transaction; one result per request.

    A refused request (returned as its :class:`LedgerError`) writes nothing; the others are not
    affected. Later requests see the effects of earlier ones. However many requests, this is a
    fixed handful of statements (see :mod:`ledger.planning`); on PostgreSQL new entries and holds
    that are all accepted take one (:mod:`ledger.store_pg_at_once`).
    """
    now = datetime.now(UTC)
    forms = [canonical(request, now) for request in requests]
    results: list[Entry | LedgerError] = [form for form in forms if isinstance(form, LedgerError)]
    checked = [form for form in forms if isinstance(form, dict)]
    if not checked:
        return results
    postgres = conn.dialect.name == "postgresql"
    if postgres and all("hold" not in form for form in checked):
        # New entries and holds only (a transfer's, a top-up's, a group commit's): the
        # one-statement path, in the caller's transaction; it writes nothing when a request needs
        # a decision, which the usual path below then makes.
        outcome = await store_pg_at_once.post_at_once(conn, checked)
        if outcome is not None:
            return _at_once_results(forms, outcome)
    state = await (
        store_pg.load(conn, wanted(checked)) if postgres else store_sqlite.load(conn, wanted(checked))
    )
    decided = plan(checked, state, now)
    written = await (
        store_pg.write(conn, decided, state) if postgres else store_sqlite.write(conn, decided, state, now)
    )
    outcomes = iter(
        build_result(form, decision, decided, written, state)
        for form, decision in zip(checked, decided.decisions, strict=True)
    )
    return [form if isinstance(form, LedgerError) else next(outcomes) for form in forms]


async def post_entries_at_once(
    engine: AsyncEngine, requests: Sequence[LedgerRequest]
) -> list[Entry | LedgerError] | None:
    """Post entries and holds in one statement, in its own transaction, if all are accepted.

    On PostgreSQL, a batch of new entries that are all accepted (the common case) is locked,
    checked, written and committed in a single round trip, on a connection in autocommit mode.
    ``None`` means nothing was written, because some request needs a decision that the statement
    leaves to :func:`post_entries` (a refusal, an id already used, a hold to resolve, a hot account
    with every shard busy) or because this is not PostgreSQL: post them with :func:`post_entries`.
    """
    if engine.dialect.name != "postgresql":
        return None
    now = datetime.now(UTC)
    forms = [canonical(request, now) for request in requests]
    checked = [form for form in forms if isinstance(form, dict)]
    if not checked or any("hold" in form for form in checked):
        return None
    if len({form["uid"] for form in checked}) != len(checked):
        return None
    try:
        async with engine.connect() as conn:
            autocommit = await conn.execution_options(isolation_level="AUTOCOMMIT")
            outcome = await store_pg_at_once.post_at_once(autocommit, checked)
    except DBAPIError as error:
        if is_retryable(error):
            raise
        return None  # let the transactional path find (and report) what is wrong
    if outcome is None:
        return None
    return _at_once_results(forms, outcome)


def _at_once_results(
    forms: Sequence[dict[str, Any] | LedgerError],
    outcome: tuple[dict[int, str], dict[UUID, store_pg.Written]],
) -> list[Entry | LedgerError]:
    """One result per request from what :func:`store_pg_at_once.post_at_once` wrote."""
    codes, written = outcome
    ids = {code: account_id for account_id, code in codes.items()}
    results: list[Entry | LedgerError] = []
    for form in forms:
        if isinstance(form, LedgerError):
            results.append(form)
            continue
        item = written[form["uid"]]
        if isinstance(item, StoredEntry):
            results.append(replay_entry(form, item))
            continue
        seq, created_at, effective_at = item
        phase = "pending" if form["k"] == "pending" else "posted"
        legs = []
        for code, account_id, side, units, currency in form["p"]:
            account_id = ids[code] if code is not None else account_id
            legs.append([account_id, codes[account_id], side, phase, units, currency])
        results.append(
            build_entry(
                form,
                seq=seq,
                postings=legs,
                expires_at=form.get("xt"),
                effective_at=effective_at,
                created_at=created_at,
                replayed=False,
            )
        )
    return results


async def _one(conn: AsyncConnection, request: LedgerRequest) -> Entry:
    (result,) = await post_entries(conn, [request])
    if isinstance(result, LedgerError):
        raise result
    return result


async def post_entry(conn: AsyncConnection, request: EntryRequest) -> Entry:
    """Post (or hold, with ``pending=True``) one entry; raises its :class:`LedgerError` if refused."""
    return await _one(conn, request)


async def post_pending(
    conn: AsyncConnection,
    hold_id: UUID,
    new_entry_id: UUID,
    amounts: Sequence[Money] | None = None,
    *,
    metadata: dict[str, Any] | None = None,
    reference: str | None = None,
    now: datetime | None = None,
) -> Entry:
    """Post the hold ``hold_id`` in full, or in part with ``amounts`` (one per posting of the hold);
    the rest is released. ``now`` is the time the expiry is checked against (default: now)."""
    request = PostPendingRequest(
        id=new_entry_id,
        hold_id=hold_id,
        amounts=amounts,
        metadata=metadata or {},
        reference=reference,
        at=now,
    )
    return await _one(conn, request)


async def void_pending(
    conn: AsyncConnection,
    hold_id: UUID,
    new_entry_id: UUID,
    *,
    metadata: dict[str, Any] | None = None,
    reference: str | None = None,
) -> Entry:
    """Release the hold ``hold_id`` without posting it."""
    request = VoidPendingRequest(
        id=new_entry_id, hold_id=hold_id, metadata=metadata or {}, reference=reference
    )
    return await _one(conn, request)


_EXPIRED_HOLDS = (
    select(open_holds.c.hold_id)
    .where(open_holds.c.expires_at <= bindparam("now"))
    .order_by(open_holds.c.expires_at)
    .limit(bindparam("limit"))
)


async def expire_holds(
    conn: AsyncConnection, now: datetime | None = None, *, limit: int = 1000
) -> list[Entry]:
    """Expire up to ``limit`` holds whose expiry is at or before ``now``; returns the expiry entries.

    Safe to run from several processes at once: on PostgreSQL each skips the holds another is
    expiring, and an expiry entry's id is derived from its hold, so a repeat is a replay.
    """
    now = now or datetime.now(UTC)
    statement = _EXPIRED_HOLDS
    if conn.dialect.name == "postgresql":
        statement = statement.with_for_update(skip_locked=True)
    hold_ids = [row[0] for row in await conn.execute(statement, {"now": now, "limit": limit})]
    requests = [
        ExpirePendingRequest(id=uuid.uuid5(EXPIRY_NAMESPACE, str(hold_id)), hold_id=hold_id, at=now)
        for hold_id in hold_ids
    ]
    return [result for result in await post_entries(conn, requests) if isinstance(result, Entry)]


_ENTRY = select(entries).where(entries.c.id == bindparam("id"))
_ENTRY_POSTINGS = (
    select(
        postings.c.account_id,
        accounts.c.code,
        postings.c.side,
        postings.c.phase,
        postings.c.amount,
        postings.c.currency,
    )
    .join(accounts, accounts.c.id == postings.c.account_id)
    .where(postings.c.entry_seq == bindparam("seq"))
    .order_by(postings.c.id)
)


async def get_entry(conn: AsyncConnection, entry_id: UUID) -> Entry:
    """The stored entry ``entry_id``; :class:`UnknownEntry` if there is none."""
    row = (await conn.execute(_ENTRY, {"id": entry_id})).first()
    if row is None:
        raise UnknownEntry(f"no entry {entry_id}")
    legs = await conn.execute(_ENTRY_POSTINGS, {"seq": row.seq})
    return Entry(
        id=row.id,
        seq=row.seq,
        kind=EntryKind(row.kind),
        postings=tuple(build_posting(leg) for leg in legs),
        pending_id=row.pending_id,
        expires_at=row.expires_at,
        reference=row.reference,
        metadata=row.metadata,
        effective_at=row.effective_at,
        created_at=row.created_at,
    )
