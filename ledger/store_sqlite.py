"""SQLite I/O of a batch: the same loading and writing as on PostgreSQL, without locks.

SQLite serialises writers (every transaction starts with ``BEGIN IMMEDIATE``), so what is read is
current until commit and no entry can appear concurrently. Postings are written before their
entries, whose insert trigger checks that they balance (SQLite has no deferred triggers); ``seq``
is assigned here, one past the last, and ``tx_id`` equals it, which the trigger also checks.
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from uuid import UUID

from sqlalchemy import bindparam, func, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from ledger.planning import CP, DP, AccountRow, HoldRow, Plan, State, StoredEntry, Wanted
from ledger.tables import account_shards, accounts, entries, open_holds, postings

__all__ = ["load", "write"]

_RESOLVER = entries.alias("resolver")
_HOLDS = (
    select(
        entries.c.id,
        entries.c.kind,
        entries.c.expires_at,
        open_holds.c.hold_id.is_not(None).label("is_open"),
        _RESOLVER.c.kind.label("resolved_kind"),
        _RESOLVER.c.id.label("resolved_id"),
        postings.c.account_id,
        postings.c.side,
        postings.c.amount,
        postings.c.currency,
    )
    .select_from(entries)
    .outerjoin(open_holds, open_holds.c.hold_id == entries.c.id)
    .outerjoin(_RESOLVER, _RESOLVER.c.pending_id == entries.c.id)
    .outerjoin(postings, (postings.c.entry_seq == entries.c.seq) & (postings.c.phase == "pending"))
    .where(entries.c.id.in_(bindparam("ids", expanding=True)))
    .order_by(entries.c.seq, postings.c.id)
)
_ACCOUNTS = select(accounts).where(
    or_(
        accounts.c.code.in_(bindparam("codes", expanding=True)),
        accounts.c.id.in_(bindparam("ids", expanding=True)),
    )
)
_EXISTING = select(
    entries.c.id,
    entries.c.seq,
    entries.c.request_hash,
    entries.c.created_at,
    entries.c.effective_at,
    entries.c.expires_at,
).where(entries.c.id.in_(bindparam("ids", expanding=True)))
_STORED_LEGS = (
    select(
        postings.c.entry_seq,
        postings.c.account_id,
        accounts.c.code,
        postings.c.side,
        postings.c.phase,
        postings.c.amount,
        postings.c.currency,
    )
    .join(accounts, accounts.c.id == postings.c.account_id)
    .where(postings.c.entry_seq.in_(bindparam("seqs", expanding=True)))
    .order_by(postings.c.entry_seq, postings.c.id)
)
_NEXT_SEQ = select(func.coalesce(func.max(entries.c.seq), 0) + 1)
_ADD_TO_ACCOUNT = (
    accounts.update()
    .where(accounts.c.id == bindparam("account"))
    .values(
        debits_posted=accounts.c.debits_posted + bindparam("dp"),
        credits_posted=accounts.c.credits_posted + bindparam("cp"),
        debits_pending=accounts.c.debits_pending + bindparam("dq"),
        credits_pending=accounts.c.credits_pending + bindparam("cq"),
    )
)
_ADD_TO_SHARD = (
    account_shards.update()
    .where(account_shards.c.account_id == bindparam("account"), account_shards.c.shard == bindparam("slot"))
    .values(
        debits_posted=account_shards.c.debits_posted + bindparam("dp"),
        credits_posted=account_shards.c.credits_posted + bindparam("cp"),
        debits_pending=account_shards.c.debits_pending + bindparam("dq"),
        credits_pending=account_shards.c.credits_pending + bindparam("cq"),
    )
)
_CLOSE_HOLD = open_holds.delete().where(open_holds.c.hold_id == bindparam("hold"))


async def load(conn: AsyncConnection, wanted: Wanted) -> State:
    """Read everything the batch can touch."""
    holds: dict[UUID, HoldRow] = {}
    hold_accounts: set[int] = set()
    if wanted.hold_ids:
        for row in await conn.execute(_HOLDS, {"ids": wanted.hold_ids}):
            hold = holds.get(row.id)
            if hold is None:
                resolved = (row.resolved_kind, row.resolved_id) if row.resolved_id is not None else None
                hold = holds[row.id] = HoldRow(
                    row.id, row.kind, row.expires_at, [], bool(row.is_open), resolved
                )
            if row.account_id is not None:
                hold.legs.append((row.account_id, row.side, row.amount, row.currency))
                hold_accounts.add(row.account_id)
    loaded: dict[int, AccountRow] = {}
    ids = sorted(set(wanted.account_ids) | hold_accounts)
    if wanted.codes or ids:
        for row in await conn.execute(_ACCOUNTS, {"codes": wanted.codes, "ids": ids}):
            ordinary = row.shards == 1
            loaded[row.id] = AccountRow(
                id=row.id,
                code=row.code,
                currency=row.currency,
                shards=row.shards,
                debits_must_not_exceed_credits=bool(row.debits_must_not_exceed_credits),
                credits_must_not_exceed_debits=bool(row.credits_must_not_exceed_debits),
                counters=(
                    [row.debits_posted, row.credits_posted, row.debits_pending, row.credits_pending]
                    if ordinary
                    else None
                ),
                shard=0 if ordinary else random.randrange(row.shards),
            )
    existing = {
        row.id: StoredEntry(
            row.id, row.seq, row.request_hash, row.created_at, row.effective_at, row.expires_at
        )
        for row in await conn.execute(_EXISTING, {"ids": wanted.entry_ids})
    }
    await _load_legs(conn, list(existing.values()))
    return State(
        accounts=loaded,
        by_code={account.code: account for account in loaded.values()},
        holds=holds,
        existing=existing,
    )


async def _load_legs(conn: AsyncConnection, stored: Sequence[StoredEntry]) -> None:
    if not stored:
        return
    by_seq = {entry.seq: entry for entry in stored}
    for row in await conn.execute(_STORED_LEGS, {"seqs": list(by_seq)}):
        by_seq[row.entry_seq].legs.append(
            [row.account_id, row.code, row.side, row.phase, row.amount, row.currency]
        )


async def write(
    conn: AsyncConnection, plan: Plan, state: State, now: datetime
) -> list[tuple[int, datetime, datetime] | StoredEntry]:
    """Write the planned postings, entries, counters and holds; ``(seq, created_at, effective_at)``
    of each planned entry."""
    if not plan.entries:
        return []
    first = int((await conn.execute(_NEXT_SEQ)).scalar_one())
    seqs = range(first, first + len(plan.entries))
    await conn.execute(
        postings.insert(),
        [
            {
                "entry_seq": seq,
                "account_id": account_id,
                "currency": currency,
                "side": side,
                "phase": phase,
                "amount": units,
                "created_at": now,
            }
            for seq, entry in zip(seqs, plan.entries, strict=True)
            for account_id, side, phase, units, currency in entry.legs
        ],
    )
    await conn.execute(
        entries.insert(),
        [
            {
                "seq": seq,
                "tx_id": seq,
                "id": entry.id,
                "kind": entry.kind,
                "pending_id": entry.pending_id,
                "expires_at": entry.expires_at,
                "reference": entry.reference,
                "metadata": entry.metadata,
                "request_hash": entry.request_hash,
                "effective_at": entry.effective_at or now,
                "created_at": now,
            }
            for seq, entry in zip(seqs, plan.entries, strict=True)
        ],
    )
    deltas: dict[int, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    for entry in plan.entries:
        for account_id, side, phase, units, _ in entry.legs:
            column = (DP if side == "debit" else CP) + (0 if phase == "posted" else 2)
            deltas[account_id][column] += -units if phase == "released" else units
    for account_id, (dp, cp, dq, cq) in sorted(deltas.items()):
        account = state.accounts[account_id]
        values = {"account": account_id, "dp": dp, "cp": cp, "dq": dq, "cq": cq}
        if account.counters is not None:
            await conn.execute(_ADD_TO_ACCOUNT, values)
        else:
            await conn.execute(_ADD_TO_SHARD, {**values, "slot": account.shard})
    for hold_id in plan.holds_closed:
        await conn.execute(_CLOSE_HOLD, {"hold": hold_id})
    opened = [
        {"hold_id": entry.id, "expires_at": entry.expires_at}
        for entry in plan.entries
        if entry.new_hold and state.holds[entry.id].open
    ]
    if opened:
        await conn.execute(open_holds.insert(), opened)
    return [(seq, now, entry.effective_at or now) for seq, entry in zip(seqs, plan.entries, strict=True)]
