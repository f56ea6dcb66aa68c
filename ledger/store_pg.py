"""PostgreSQL I/O of a batch: load under ordered locks, write with a few set-based statements.

Loading takes every lock the batch needs before it reads what it decides on, in one global
order, so concurrent batches never deadlock:

1. the batch's open holds, by id (``FOR UPDATE``), read with their held postings;
2. its ordinary accounts, by id (``FOR NO KEY UPDATE``), read with their counters; and for each
   hot account the first shard row no other transaction holds (``SKIP LOCKED``, starting from a
   random shard), so hot accounts never make anyone wait;
3. then, in a new statement (so that it sees whatever the transactions it waited for committed),
   the entries that already carry the batch's ids.

Writing is two statements whatever the batch size: the entries (``ON CONFLICT (id) DO
NOTHING``) with their postings, then the counters, shard rows and open holds. An entry that
another transaction inserted since step 3 can only be one that touches no ordinary account
(otherwise that transaction would have held the lock we waited for): it becomes a replay. Any
other surprise raises :class:`RetryBatch` (SQLSTATE 40001), and the caller's retry reruns the
transaction.
"""

from __future__ import annotations

import json
import random
from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from ledger.planning import CP, DP, AccountRow, HoldRow, Plan, State, StoredEntry, Wanted

__all__ = ["RetryBatch", "Written", "load", "write"]

Written = tuple[int, datetime, datetime] | StoredEntry
"""Per planned entry: ``(seq, created_at, effective_at)``, or the entry another transaction stored."""


class RetryBatch(Exception):
    """The batch raced with another transaction in a way that needs the whole transaction rerun."""

    sqlstate = "40001"


_HOLDS = text(
    "WITH open AS ("
    "  SELECT hold_id FROM ledger_open_holds WHERE hold_id = ANY(CAST(:ids AS uuid[]))"
    "  ORDER BY hold_id FOR UPDATE) "
    "SELECT e.id, e.kind, e.expires_at, e.id IN (SELECT hold_id FROM open) AS is_open,"
    "       r.kind AS resolved_kind, r.id AS resolved_id,"
    "       p.account_id, p.side, p.amount, p.currency "
    "FROM ledger_entries e "
    "LEFT JOIN ledger_entries r ON r.pending_id = e.id "
    "LEFT JOIN ledger_postings p ON p.entry_seq = e.seq AND p.phase = 'pending' "
    "WHERE e.id = ANY(CAST(:ids AS uuid[])) "
    "ORDER BY e.seq, p.id"
)

_ACCOUNTS = text(
    "WITH wanted AS ("
    "  SELECT a.id FROM ledger_accounts a WHERE a.code = ANY(CAST(:codes AS text[]))"
    "  UNION SELECT unnest(CAST(:ids AS bigint[]))), "
    "locked AS ("
    "  SELECT a.id, a.debits_posted, a.credits_posted, a.debits_pending, a.credits_pending"
    "    FROM ledger_accounts a WHERE a.id IN (SELECT id FROM wanted) AND a.shards = 1"
    "   ORDER BY a.id FOR NO KEY UPDATE), "
    "picked AS ("
    "  SELECT a.id, s.shard FROM ledger_accounts a"
    "  CROSS JOIN LATERAL ("
    "    SELECT sh.shard FROM ledger_account_shards sh WHERE sh.account_id = a.id"
    "     ORDER BY (sh.shard + CAST(:offset AS integer)) % a.shards"
    "     LIMIT 1 FOR NO KEY UPDATE SKIP LOCKED) s"
    "  WHERE a.id IN (SELECT id FROM wanted) AND a.shards > 1) "
    "SELECT a.id, a.code, a.currency, a.shards, a.debits_must_not_exceed_credits,"
    "       a.credits_must_not_exceed_debits, l.debits_posted, l.credits_posted, l.debits_pending,"
    "       l.credits_pending, p.shard "
    "FROM ledger_accounts a LEFT JOIN locked l ON l.id = a.id LEFT JOIN picked p ON p.id = a.id "
    "WHERE a.id IN (SELECT id FROM wanted) ORDER BY a.id"
)

_WAIT_FOR_SHARD = text(
    "SELECT shard FROM ledger_account_shards WHERE account_id = :account AND shard = :shard FOR NO KEY UPDATE"
)

_EXISTING = text(
    "SELECT id, seq, request_hash, created_at, effective_at, expires_at FROM ledger_entries "
    "WHERE id = ANY(CAST(:ids AS uuid[]))"
)

_STORED_LEGS = text(
    "SELECT p.entry_seq, p.account_id, a.code, p.side, p.phase, p.amount, p.currency "
    "FROM ledger_postings p JOIN ledger_accounts a ON a.id = p.account_id "
    "WHERE p.entry_seq = ANY(CAST(:seqs AS bigint[])) ORDER BY p.entry_seq, p.id"
)

_INSERT = text(
    "WITH e AS ("
    "  INSERT INTO ledger_entries (id, kind, pending_id, expires_at, reference, metadata, request_hash,"
    "                              effective_at, created_at, tx_id)"
    "  SELECT u.id, u.kind, u.pending_id, u.expires_at, u.reference, CAST(u.metadata AS jsonb),"
    "         u.request_hash, coalesce(u.effective_at, now()), now(), pg_current_xact_id()::text::bigint"
    "    FROM unnest(CAST(:ids AS uuid[]), CAST(:kinds AS text[]), CAST(:pending_ids AS uuid[]),"
    "                CAST(:expires AS timestamptz[]), CAST(:refs AS text[]), CAST(:metas AS text[]),"
    "                CAST(:hashes AS text[]), CAST(:effective AS timestamptz[]))"
    "         WITH ORDINALITY AS u(id, kind, pending_id, expires_at, reference, metadata, request_hash,"
    "                              effective_at, ord)"
    "   ORDER BY u.ord"
    "  ON CONFLICT (id) DO NOTHING"
    "  RETURNING id, seq, created_at, effective_at), "
    "p AS ("
    "  INSERT INTO ledger_postings (entry_seq, account_id, currency, side, phase, amount, created_at)"
    "  SELECT e.seq, l.account_id, l.currency, l.side, l.phase, l.amount, e.created_at"
    "    FROM unnest(CAST(:leg_entries AS uuid[]), CAST(:leg_accounts AS bigint[]),"
    "                CAST(:leg_currencies AS text[]), CAST(:leg_sides AS text[]),"
    "                CAST(:leg_phases AS text[]), CAST(:leg_amounts AS bigint[]))"
    "         WITH ORDINALITY AS l(entry_id, account_id, currency, side, phase, amount, ord)"
    "    JOIN e ON e.id = l.entry_id"
    "   ORDER BY l.ord) "
    "SELECT id, seq, created_at, effective_at FROM e"
)

_COUNTERS_SET = (
    "SET debits_posted = x.debits_posted + u.dp, credits_posted = x.credits_posted + u.cp,"
    " debits_pending = x.debits_pending + u.dq, credits_pending = x.credits_pending + u.cq"
)

_UPDATE = text(
    "WITH a AS ("
    f"  UPDATE ledger_accounts x {_COUNTERS_SET}"
    "    FROM unnest(CAST(:acc AS bigint[]), CAST(:acc_dp AS bigint[]), CAST(:acc_cp AS bigint[]),"
    "                CAST(:acc_dq AS bigint[]), CAST(:acc_cq AS bigint[])) AS u(id, dp, cp, dq, cq)"
    "   WHERE x.id = u.id RETURNING 1), "
    "s AS ("
    f"  UPDATE ledger_account_shards x {_COUNTERS_SET}"
    "    FROM unnest(CAST(:hot AS bigint[]), CAST(:hot_shard AS smallint[]), CAST(:hot_dp AS bigint[]),"
    "                CAST(:hot_cp AS bigint[]), CAST(:hot_dq AS bigint[]), CAST(:hot_cq AS bigint[]))"
    "         AS u(account_id, shard, dp, cp, dq, cq)"
    "   WHERE x.account_id = u.account_id AND x.shard = u.shard RETURNING 1), "
    "c AS (DELETE FROM ledger_open_holds WHERE hold_id = ANY(CAST(:closed AS uuid[])) RETURNING 1), "
    "o AS ("
    "  INSERT INTO ledger_open_holds (hold_id, expires_at)"
    "  SELECT * FROM unnest(CAST(:opened AS uuid[]), CAST(:opened_expiry AS timestamptz[])) RETURNING 1) "
    "SELECT (SELECT count(*) FROM a), (SELECT count(*) FROM s), (SELECT count(*) FROM c),"
    " (SELECT count(*) FROM o)"
)


async def load(conn: AsyncConnection, wanted: Wanted) -> State:
    """Lock and read everything the batch can touch (see the module docstring)."""
    holds: dict[UUID, HoldRow] = {}
    hold_accounts: set[int] = set()
    if wanted.hold_ids:
        for row in await conn.execute(_HOLDS, {"ids": wanted.hold_ids}):
            hold = holds.get(row.id)
            if hold is None:
                resolved = (row.resolved_kind, row.resolved_id) if row.resolved_id is not None else None
                hold = holds[row.id] = HoldRow(row.id, row.kind, row.expires_at, [], row.is_open, resolved)
            if row.account_id is not None:
                hold.legs.append((row.account_id, row.side, row.amount, row.currency))
                hold_accounts.add(row.account_id)
    accounts: dict[int, AccountRow] = {}
    ids = sorted(set(wanted.account_ids) | hold_accounts)
    if wanted.codes or ids:
        params = {"codes": wanted.codes, "ids": ids, "offset": random.randrange(256)}
        for row in await conn.execute(_ACCOUNTS, params):
            ordinary = row.shards == 1
            accounts[row.id] = AccountRow(
                id=row.id,
                code=row.code,
                currency=row.currency,
                shards=row.shards,
                debits_must_not_exceed_credits=row.debits_must_not_exceed_credits,
                credits_must_not_exceed_debits=row.credits_must_not_exceed_debits,
                counters=(
                    [row.debits_posted, row.credits_posted, row.debits_pending, row.credits_pending]
                    if ordinary
                    else None
                ),
                shard=0 if ordinary else (row.shard if row.shard is not None else -1),
            )
        for account in accounts.values():
            if account.shard == -1:  # every shard busy: queue on one
                account.shard = random.randrange(account.shards)
                await conn.execute(_WAIT_FOR_SHARD, {"account": account.id, "shard": account.shard})
    existing = {
        row.id: StoredEntry(
            row.id, row.seq, row.request_hash, row.created_at, row.effective_at, row.expires_at
        )
        for row in await conn.execute(_EXISTING, {"ids": wanted.entry_ids})
    }
    await _load_legs(conn, list(existing.values()))
    return State(
        accounts=accounts,
        by_code={account.code: account for account in accounts.values()},
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


async def write(conn: AsyncConnection, plan: Plan, state: State) -> list[Written]:
    """Write the planned entries, postings, counters and holds; what each planned entry became."""
    if not plan.entries:
        return []
    legs = [(entry.id, leg) for entry in plan.entries for leg in entry.legs]
    rows = await conn.execute(
        _INSERT,
        {
            "ids": [entry.id for entry in plan.entries],
            "kinds": [entry.kind for entry in plan.entries],
            "pending_ids": [entry.pending_id for entry in plan.entries],
            "expires": [entry.expires_at for entry in plan.entries],
            "refs": [entry.reference for entry in plan.entries],
            "metas": [json.dumps(entry.metadata, separators=(",", ":")) for entry in plan.entries],
            "hashes": [entry.request_hash for entry in plan.entries],
            "effective": [entry.effective_at for entry in plan.entries],
            "leg_entries": [entry_id for entry_id, _ in legs],
            "leg_accounts": [leg[0] for _, leg in legs],
            "leg_currencies": [leg[4] for _, leg in legs],
            "leg_sides": [leg[1] for _, leg in legs],
            "leg_phases": [leg[2] for _, leg in legs],
            "leg_amounts": [leg[3] for _, leg in legs],
        },
    )
    inserted = {row.id: (row.seq, row.created_at, row.effective_at) for row in rows}
    written: list[Written] = []
    raced: list[UUID] = []
    for entry in plan.entries:
        if entry.id in inserted:
            written.append(inserted[entry.id])
        elif entry.touches_ordinary_account or entry.new_hold or entry.pending_id is not None:
            raise RetryBatch(f"entry {entry.id} was written concurrently; rerun the transaction")
        else:
            raced.append(entry.id)
            written.append(None)  # type: ignore[arg-type]  # filled in below
    if raced:
        found = await conn.execute(_EXISTING, {"ids": raced})
        stored = {
            row.id: StoredEntry(
                row.id, row.seq, row.request_hash, row.created_at, row.effective_at, row.expires_at
            )
            for row in found
        }
        await _load_legs(conn, list(stored.values()))
        written = [
            stored[entry.id] if item is None else item
            for entry, item in zip(plan.entries, written, strict=True)
        ]
    await _update(conn, plan, state, inserted)
    return written


async def _update(
    conn: AsyncConnection, plan: Plan, state: State, inserted: dict[UUID, tuple[int, datetime, datetime]]
) -> None:
    ordinary: dict[int, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    hot: dict[int, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    for entry in plan.entries:
        if entry.id not in inserted:
            continue
        for account_id, side, phase, units, _ in entry.legs:
            column = (DP if side == "debit" else CP) + (0 if phase == "posted" else 2)
            target = ordinary if state.accounts[account_id].counters is not None else hot
            target[account_id][column] += -units if phase == "released" else units
    opened = [
        (entry.id, entry.expires_at)
        for entry in plan.entries
        if entry.new_hold and entry.id in inserted and state.holds[entry.id].open
    ]
    params: dict[str, Any] = {
        "acc": list(ordinary),
        "hot": list(hot),
        "hot_shard": [state.accounts[account_id].shard for account_id in hot],
        "closed": plan.holds_closed,
        "opened": [hold_id for hold_id, _ in opened],
        "opened_expiry": [expires_at for _, expires_at in opened],
    }
    for prefix, deltas in (("acc", ordinary), ("hot", hot)):
        for column, name in enumerate(("dp", "cp", "dq", "cq")):
            params[f"{prefix}_{name}"] = [values[column] for values in deltas.values()]
    counts = (await conn.execute(_UPDATE, params)).one()
    expected = (len(ordinary), len(hot), len(plan.holds_closed), len(opened))
    if tuple(counts) != expected:
        raise RuntimeError(f"ledger write: expected {expected} rows changed, got {tuple(counts)}")
