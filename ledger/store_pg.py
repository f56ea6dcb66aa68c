"""PostgreSQL I/O of a batch: one statement to lock and load, one to write, whatever its size.

Loading takes every lock the batch needs, in one global order, so concurrent batches never
deadlock: first the batch's open holds by id (``FOR UPDATE``, read with their held postings, a
statement of their own and only when the batch resolves holds), then in one statement its
ordinary accounts by id (``FOR NO KEY UPDATE``, read with their counters) and, for each hot
account, this connection's preferred shard row or else the next one that no other
transaction holds (``SKIP LOCKED``: a hot account never makes anyone wait), together with the
entries that already carry the batch's ids.

Writing is one statement: the entries (``ON CONFLICT (id) DO NOTHING``), the postings of those
inserted, the counters they move summed per account and shard row, and the open holds they open
or close.

That statement's snapshot is taken before it waits for any lock, so an entry committed by a
transaction it waited for is not among the existing ones it read: the insert then skips it. If it
touches no ordinary account nor a hold (nothing later in the batch was decided on it), it simply
becomes a replay. Otherwise :class:`RetryBatch` (SQLSTATE 40001) asks the caller's retry to rerun
the transaction, which then finds the entry and replays it.
"""

from __future__ import annotations

import json
import random
from collections.abc import Sequence
from datetime import UTC, datetime
from uuid import UUID

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from ledger.planning import AccountRow, HoldRow, Plan, State, StoredEntry, Wanted
from sqldirect import direct

__all__ = [
    "COUNTERS_SET",
    "EXISTING",
    "RetryBatch",
    "Written",
    "load",
    "load_legs",
    "moment",
    "preferred_shard",
    "write",
]

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
    # OFFSET 0 keeps this a probe of each hold's postings by entry (an index scan): flattened into
    # a join, a plan made while the journal was small scanned every posting, and was kept.
    "LEFT JOIN LATERAL (SELECT p.id, p.account_id, p.side, p.amount, p.currency FROM ledger_postings p"
    "                    WHERE p.entry_seq = e.seq AND p.phase = 'pending' OFFSET 0) p ON true "
    "WHERE e.id = ANY(CAST(:ids AS uuid[])) "
    "ORDER BY e.seq, p.id"
)

# One statement: lock the ordinary accounts in id order, pick a free shard of each hot account,
# and read the entries that already carry the batch's ids. A hot account's shard is this
# connection's preferred one, or else the next one no other transaction holds.
_LOAD = text(
    "WITH wanted AS ("
    "  SELECT a.id, a.code, a.currency, a.shards, a.debits_must_not_exceed_credits AS dmnec,"
    "         a.credits_must_not_exceed_debits AS cmned"
    "    FROM ledger_accounts a WHERE a.code = ANY(CAST(:codes AS text[]))"
    "  UNION"
    "  SELECT a.id, a.code, a.currency, a.shards, a.debits_must_not_exceed_credits,"
    "         a.credits_must_not_exceed_debits"
    "    FROM ledger_accounts a WHERE a.id = ANY(CAST(:ids AS bigint[]))), "
    "locked AS ("
    "  SELECT a.id, a.debits_posted, a.credits_posted, a.debits_pending, a.credits_pending"
    "    FROM ledger_accounts a WHERE a.id IN (SELECT id FROM wanted WHERE shards = 1)"
    "   ORDER BY a.id FOR NO KEY UPDATE), "
    "picked AS ("
    "  SELECT w.id, coalesce("
    # This connection's own shard if free (one index probe), else the next free one.
    "    (SELECT sh.shard FROM ledger_account_shards sh"
    "      WHERE sh.account_id = w.id AND sh.shard = CAST(:prefer AS integer) % w.shards"
    "      FOR NO KEY UPDATE SKIP LOCKED),"
    "    (SELECT sh.shard FROM ledger_account_shards sh WHERE sh.account_id = w.id"
    "      ORDER BY (sh.shard - CAST(:prefer AS integer) % w.shards + w.shards) % w.shards"
    "      LIMIT 1 FOR NO KEY UPDATE SKIP LOCKED)) AS shard"
    "    FROM wanted w"
    "   WHERE w.shards > 1) "
    "SELECT"
    " (SELECT json_agg(json_build_array(w.id, w.code, w.currency, w.shards, w.dmnec, w.cmned,"
    "                   l.debits_posted, l.credits_posted, l.debits_pending, l.credits_pending, p.shard)"
    "                   ORDER BY w.id)"
    "    FROM wanted w LEFT JOIN locked l ON l.id = w.id LEFT JOIN picked p ON p.id = w.id) AS accounts,"
    " (SELECT json_agg(json_build_array(e.id, e.seq, e.request_hash, e.created_at, e.effective_at,"
    "                                   e.expires_at))"
    "    FROM ledger_entries e WHERE e.id = ANY(CAST(:entry_ids AS uuid[]))) AS existing"
)

_WAIT_FOR_SHARD = text(
    "SELECT shard FROM ledger_account_shards WHERE account_id = :account AND shard = :shard FOR NO KEY UPDATE"
)

EXISTING = text(
    "SELECT id, seq, request_hash, created_at, effective_at, expires_at FROM ledger_entries "
    "WHERE id = ANY(CAST(:ids AS uuid[]))"
)

_STORED_LEGS = text(
    "SELECT p.entry_seq, p.account_id, a.code, p.side, p.phase, p.amount, p.currency "
    "FROM ledger_postings p JOIN ledger_accounts a ON a.id = p.account_id "
    "WHERE p.entry_seq = ANY(CAST(:seqs AS bigint[])) ORDER BY p.entry_seq, p.id"
)

COUNTERS_SET = (
    "SET debits_posted = x.debits_posted + d.dp, credits_posted = x.credits_posted + d.cp,"
    " debits_pending = x.debits_pending + d.dq, credits_pending = x.credits_pending + d.cq"
)

# One statement: the entries (a conflict skips the entry), the postings of those inserted, the
# counters they move (summed per account and shard), and the open holds they close or open.
_WRITE = text(
    "WITH e AS ("
    "  INSERT INTO ledger_entries (id, kind, pending_id, expires_at, reference, metadata, request_hash,"
    "                              effective_at, created_at, tx_id)"
    "  SELECT (x ->> 0)::uuid, x ->> 1, (x ->> 2)::uuid, (x ->> 3)::timestamptz, x ->> 4, x -> 5, x ->> 6,"
    "         coalesce((x ->> 7)::timestamptz, now()), now(), pg_current_xact_id()::text::bigint"
    "    FROM jsonb_array_elements(CAST(:entries AS jsonb)) WITH ORDINALITY AS u(x, ord)"
    "   ORDER BY u.ord"
    "  ON CONFLICT (id) DO NOTHING"
    "  RETURNING id, seq, created_at, effective_at), "
    "legs AS ("
    "  SELECT (x ->> 1)::bigint AS account_id, x ->> 2 AS side, x ->> 3 AS phase,"
    "         (x ->> 4)::bigint AS amount, x ->> 5 AS currency, (x ->> 6)::smallint AS shard,"
    "         l.ord, e.seq, e.created_at"
    "    FROM jsonb_array_elements(CAST(:legs AS jsonb)) WITH ORDINALITY AS l(x, ord)"
    "    JOIN e ON e.id = (x ->> 0)::uuid), "
    "p AS ("
    "  INSERT INTO ledger_postings (entry_seq, account_id, currency, side, phase, amount, created_at)"
    "  SELECT seq, account_id, currency, side, phase, amount, created_at FROM legs ORDER BY ord), "
    "d AS ("
    "  SELECT account_id, shard,"
    "         coalesce(sum(amount) FILTER (WHERE side = 'debit' AND phase = 'posted'), 0) AS dp,"
    "         coalesce(sum(amount) FILTER (WHERE side = 'credit' AND phase = 'posted'), 0) AS cp,"
    "         coalesce(sum(CASE phase WHEN 'pending' THEN amount WHEN 'released' THEN -amount END)"
    "                  FILTER (WHERE side = 'debit'), 0) AS dq,"
    "         coalesce(sum(CASE phase WHEN 'pending' THEN amount WHEN 'released' THEN -amount END)"
    "                  FILTER (WHERE side = 'credit'), 0) AS cq"
    "    FROM legs GROUP BY account_id, shard), "
    f"a AS (UPDATE ledger_accounts x {COUNTERS_SET} FROM d"
    "       WHERE d.shard IS NULL AND x.id = d.account_id RETURNING 1), "
    f"s AS (UPDATE ledger_account_shards x {COUNTERS_SET} FROM d"
    "       WHERE d.shard IS NOT NULL AND x.account_id = d.account_id AND x.shard = d.shard RETURNING 1), "
    "c AS (DELETE FROM ledger_open_holds WHERE hold_id = ANY(CAST(:closed AS uuid[])) RETURNING 1), "
    "o AS ("
    "  INSERT INTO ledger_open_holds (hold_id, expires_at)"
    "  SELECT h.id, h.expires_at"
    "    FROM unnest(CAST(:opened AS uuid[]), CAST(:opened_expiry AS timestamptz[])) AS h(id, expires_at)"
    "    JOIN e ON e.id = h.id RETURNING 1) "
    "SELECT"
    " (SELECT json_agg(json_build_array(e.id, e.seq, e.created_at, e.effective_at)) FROM e) AS inserted,"
    " (SELECT count(*) FROM a) + (SELECT count(*) FROM s) AS counters,"
    " (SELECT count(*) FROM c) AS closed, (SELECT count(*) FROM o) AS opened"
)


_RUN_HOLDS = direct(_HOLDS)
_RUN_LOAD = direct(_LOAD)
_RUN_WRITE = direct(_WRITE)


async def load(conn: AsyncConnection, wanted: Wanted) -> State:
    """Lock and read everything the batch can touch (see the module docstring)."""
    holds: dict[UUID, HoldRow] = {}
    hold_accounts: set[int] = set()
    if wanted.hold_ids:
        for row in await _RUN_HOLDS.rows(conn, {"ids": wanted.hold_ids}):
            hold = holds.get(row.id)
            if hold is None:
                resolved = (row.resolved_kind, row.resolved_id) if row.resolved_id is not None else None
                hold = holds[row.id] = HoldRow(row.id, row.kind, row.expires_at, [], row.is_open, resolved)
            if row.account_id is not None:
                hold.legs.append((row.account_id, row.side, row.amount, row.currency))
                hold_accounts.add(row.account_id)
    params = {
        "codes": wanted.codes,
        "ids": sorted(set(wanted.account_ids) | hold_accounts),
        "prefer": preferred_shard(conn),
        "entry_ids": wanted.entry_ids,
    }
    loaded = await _RUN_LOAD.first(conn, params)
    assert loaded is not None  # one row of aggregates
    found, stored = loaded
    accounts: dict[int, AccountRow] = {}
    for account_id, code, currency, shards, dmnec, cmned, dp, cp, dq, cq, shard in found or ():
        ordinary = shards == 1
        account = accounts[account_id] = AccountRow(
            id=account_id,
            code=code,
            currency=currency,
            shards=shards,
            debits_must_not_exceed_credits=dmnec,
            credits_must_not_exceed_debits=cmned,
            counters=[dp, cp, dq, cq] if ordinary else None,
            shard=0 if ordinary else shard,
        )
        if shard is None and not ordinary:  # every shard is busy: queue on one
            account.shard = random.randrange(shards)
            await conn.execute(_WAIT_FOR_SHARD, {"account": account_id, "shard": account.shard})
    existing = {}
    for entry_id, seq, request_hash, created_at, effective_at, expires_at in stored or ():
        existing[UUID(entry_id)] = StoredEntry(
            UUID(entry_id), seq, request_hash, moment(created_at), moment(effective_at), _time(expires_at)
        )
    await load_legs(conn, list(existing.values()))
    return State(
        accounts=accounts,
        by_code={account.code: account for account in accounts.values()},
        holds=holds,
        existing=existing,
    )


def _time(value: str | None) -> datetime | None:
    return None if value is None else moment(value)


def moment(value: str) -> datetime:
    """A timestamp as JSON renders it (ISO 8601 with an offset), in UTC."""
    return datetime.fromisoformat(value).astimezone(UTC)


def preferred_shard(conn: AsyncConnection) -> int:
    """A shard number kept for the life of the database connection, so that concurrent
    connections mostly write different shards of a hot account (and skip each other when not)."""
    info = conn.sync_connection.info if conn.sync_connection is not None else {}
    if "ledgerpreferred_shard" not in info:
        info["ledgerpreferred_shard"] = random.randrange(1 << 16)
    return int(info["ledgerpreferred_shard"])


async def load_legs(conn: AsyncConnection, stored: Sequence[StoredEntry]) -> None:
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
    opened = [entry for entry in plan.entries if entry.new_hold and state.holds[entry.id].open]
    row = await _RUN_WRITE.first(
        conn,
        {
            # JSON rather than arrays: one string to send, parsed by the server in C.
            "entries": json.dumps(
                [
                    [
                        str(entry.id),
                        entry.kind,
                        None if entry.pending_id is None else str(entry.pending_id),
                        None if entry.expires_at is None else entry.expires_at.isoformat(),
                        entry.reference,
                        entry.metadata,
                        entry.request_hash,
                        None if entry.effective_at is None else entry.effective_at.isoformat(),
                    ]
                    for entry in plan.entries
                ],
                separators=(",", ":"),
            ),
            "legs": json.dumps(
                [
                    [
                        str(entry_id),
                        leg[0],
                        leg[1],
                        leg[2],
                        leg[3],
                        leg[4],
                        None if state.accounts[leg[0]].counters is not None else state.accounts[leg[0]].shard,
                    ]
                    for entry_id, leg in legs
                ],
                separators=(",", ":"),
            ),
            "closed": plan.holds_closed,
            "opened": [entry.id for entry in opened],
            "opened_expiry": [entry.expires_at for entry in opened],
        },
    )
    assert row is not None  # one row of counts
    inserted = {
        UUID(entry_id): (seq, moment(created_at), moment(effective_at))
        for entry_id, seq, created_at, effective_at in row.inserted or ()
    }
    written: list[Written | None] = []
    raced: list[UUID] = []
    for entry in plan.entries:
        if entry.id in inserted:
            written.append(inserted[entry.id])
        elif entry.touches_ordinary_account or entry.new_hold or entry.pending_id is not None:
            # Later requests of the batch were decided assuming this one applies.
            raise RetryBatch(f"entry {entry.id} was written concurrently; rerun the transaction")
        else:
            raced.append(entry.id)
            written.append(None)
    touched = {
        (leg[0], state.accounts[leg[0]].shard)
        for entry in plan.entries
        if entry.id in inserted
        for leg in entry.legs
    }
    expected = (len(touched), len(plan.holds_closed), len(opened))
    if (row.counters, row.closed, row.opened) != expected:
        raise RuntimeError(f"ledger write: expected {expected} rows changed, got {tuple(row)[1:]}")
    if raced:
        found = await conn.execute(EXISTING, {"ids": raced})
        stored = {
            row.id: StoredEntry(
                row.id, row.seq, row.request_hash, row.created_at, row.effective_at, row.expires_at
            )
            for row in found
        }
        await load_legs(conn, list(stored.values()))
        written = [
            stored[entry.id] if item is None else item
            for entry, item in zip(plan.entries, written, strict=True)
        ]
    return [item for item in written if item is not None]
