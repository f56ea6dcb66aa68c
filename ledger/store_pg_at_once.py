"""PostgreSQL: a whole batch of new entries in one statement, which is its own transaction.

Run on a connection in autocommit mode, :func:`post_at_once` is one round trip that locks the
batch's ordinary accounts in id order, picks a free shard of each hot account (``SKIP LOCKED``),
checks every request in order (balance limits after each request, all legs of one request
together, with window sums), and, only if every request is accepted and none of their ids is
taken, writes the entries, postings, counters and open holds and commits. A check inside the
statement aborts it if the counters it moved do not match its postings. When something needs a
decision (a refusal, an existing id, every shard of a hot account busy) it writes nothing, and
the batch goes the usual way (:mod:`ledger.store_pg`, in a transaction).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any
from uuid import UUID

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from ledger.planning import StoredEntry
from ledger.store_pg import COUNTERS_SET, EXISTING, Written, load_legs, moment, preferred_shard
from sqldirect import direct

__all__ = ["post_at_once"]

# The whole batch in one statement (run it in autocommit mode: one round trip, commit included).

_AT_ONCE_SQL = text(
    "WITH wanted AS ("
    "  SELECT a.id, a.code, a.currency, a.shards, a.debits_must_not_exceed_credits AS dmnec,"
    "         a.credits_must_not_exceed_debits AS cmned"
    "    FROM ledger_accounts a WHERE a.code = ANY(CAST(:codes AS text[]))"
    "  UNION"
    "  SELECT a.id, a.code, a.currency, a.shards, a.debits_must_not_exceed_credits,"
    "         a.credits_must_not_exceed_debits"
    "    FROM ledger_accounts a WHERE a.id = ANY(CAST(:account_ids AS bigint[]))), "
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
    "   WHERE w.shards > 1), "
    "legs AS ("
    "  SELECT (x ->> 0)::uuid AS entry_id, (x ->> 1)::integer AS item, x ->> 4 AS side, x ->> 5 AS phase,"
    "         (x ->> 6)::bigint AS amount, x ->> 7 AS currency, t.ord,"
    "         w.id AS account_id, w.currency AS account_currency, w.shards,"
    "         CASE WHEN w.shards > 1 THEN p.shard END AS shard"
    "    FROM jsonb_array_elements(CAST(:legs AS jsonb)) WITH ORDINALITY AS t(x, ord)"
    "    LEFT JOIN wanted w ON w.code = x ->> 2 OR w.id = (x ->> 3)::bigint"
    "    LEFT JOIN picked p ON p.id = w.id), "
    "batch AS ("
    "  SELECT (x ->> 0)::uuid AS id, x ->> 1 AS kind, (x ->> 2)::timestamptz AS expires_at,"
    "         x ->> 3 AS reference, x -> 4 AS metadata, x ->> 5 AS request_hash,"
    "         (x ->> 6)::timestamptz AS effective_at, t.ord"
    "    FROM jsonb_array_elements(CAST(:entries AS jsonb)) WITH ORDINALITY AS t(x, ord)), "
    # Balance limits after each request in turn (all legs of one request together).
    "running AS ("
    "  SELECT w.dmnec, w.cmned,"
    "         k.debits_posted + k.debits_pending"
    "           + sum(CASE WHEN l.side = 'debit' THEN l.amount ELSE 0 END) OVER win AS debits_all,"
    "         k.credits_posted + k.credits_pending"
    "           + sum(CASE WHEN l.side = 'credit' THEN l.amount ELSE 0 END) OVER win AS credits_all,"
    "         k.debits_posted"
    "           + sum(CASE WHEN l.side = 'debit' AND l.phase = 'posted' THEN l.amount ELSE 0 END) OVER win"
    "           AS debits_posted,"
    "         k.credits_posted"
    "           + sum(CASE WHEN l.side = 'credit' AND l.phase = 'posted' THEN l.amount ELSE 0 END) OVER win"
    "           AS credits_posted"
    "    FROM legs l JOIN locked k ON k.id = l.account_id JOIN wanted w ON w.id = l.account_id"
    "  WINDOW win AS (PARTITION BY l.account_id ORDER BY l.item RANGE UNBOUNDED PRECEDING)), "
    "verdict AS ("
    "  SELECT NOT EXISTS (SELECT 1 FROM legs WHERE account_id IS NULL OR account_currency <> currency"
    "                                          OR (shards > 1 AND shard IS NULL))"
    # One primary-key probe per request (OFFSET 0: not turned into a join that may scan the journal).
    "     AND NOT EXISTS (SELECT 1 FROM batch b"
    "                      WHERE EXISTS (SELECT 1 FROM ledger_entries x WHERE x.id = b.id OFFSET 0))"
    "     AND NOT EXISTS (SELECT 1 FROM running r"
    "                      WHERE (r.dmnec AND r.debits_all > r.credits_posted)"
    "                         OR (r.cmned AND r.credits_all > r.debits_posted)) AS ok), "
    "e AS ("
    "  INSERT INTO ledger_entries (id, kind, pending_id, expires_at, reference, metadata, request_hash,"
    "                              effective_at, created_at, tx_id)"
    "  SELECT u.id, u.kind, NULL, u.expires_at, u.reference, u.metadata, u.request_hash,"
    "         coalesce(u.effective_at, now()), now(), pg_current_xact_id()::text::bigint"
    "    FROM batch u WHERE (SELECT ok FROM verdict) ORDER BY u.ord"
    "  ON CONFLICT (id) DO NOTHING"
    "  RETURNING id, seq, kind, expires_at, created_at, effective_at), "
    "applied AS (SELECT l.*, e.seq, e.created_at FROM legs l JOIN e ON e.id = l.entry_id), "
    "p AS ("
    "  INSERT INTO ledger_postings (entry_seq, account_id, currency, side, phase, amount, created_at)"
    "  SELECT seq, account_id, currency, side, phase, amount, created_at FROM applied ORDER BY ord), "
    "d AS ("
    "  SELECT account_id, shard,"
    "         coalesce(sum(amount) FILTER (WHERE side = 'debit' AND phase = 'posted'), 0) AS dp,"
    "         coalesce(sum(amount) FILTER (WHERE side = 'credit' AND phase = 'posted'), 0) AS cp,"
    "         coalesce(sum(amount) FILTER (WHERE side = 'debit' AND phase = 'pending'), 0) AS dq,"
    "         coalesce(sum(amount) FILTER (WHERE side = 'credit' AND phase = 'pending'), 0) AS cq"
    "    FROM applied GROUP BY account_id, shard), "
    f"a AS (UPDATE ledger_accounts x {COUNTERS_SET} FROM d"
    "       WHERE d.shard IS NULL AND x.id = d.account_id RETURNING 1), "
    f"s AS (UPDATE ledger_account_shards x {COUNTERS_SET} FROM d"
    "       WHERE d.shard IS NOT NULL AND x.account_id = d.account_id AND x.shard = d.shard RETURNING 1), "
    "o AS ("
    "  INSERT INTO ledger_open_holds (hold_id, expires_at)"
    "  SELECT id, expires_at FROM e WHERE kind = 'pending' RETURNING 1) "
    "SELECT (SELECT ok FROM verdict) AS applied,"
    " (SELECT json_agg(json_build_array(w.id, w.code)) FROM wanted w) AS accounts,"
    " (SELECT json_agg(json_build_array(e.id, e.seq, e.created_at, e.effective_at)) FROM e) AS inserted,"
    " ledger_assert("
    "   (SELECT count(*) FROM a) + (SELECT count(*) FROM s)"
    "     = (SELECT count(*) FROM (SELECT DISTINCT account_id, shard FROM applied) t)"
    "   AND (SELECT count(*) FROM o) = (SELECT count(*) FROM e WHERE kind = 'pending'),"
    "   'ledger: a batch moved other counters than its postings') AS consistent"
)
_AT_ONCE = direct(_AT_ONCE_SQL)


async def post_at_once(
    conn: AsyncConnection, forms: Sequence[dict[str, Any]]
) -> tuple[dict[int, str], dict[UUID, Written]] | None:
    """Post standard entries and holds in one statement, if every one of them is accepted.

    Run on a connection in autocommit mode, the statement is its own transaction: it locks,
    checks, writes and commits in one round trip. ``None`` when it wrote nothing because some
    request needs a decision (a refusal, an existing id, a busy hot account): post them the usual
    way. Otherwise the account codes by id and, per entry id, what was written (another
    transaction's entry, for an id it stored in the meantime).
    """
    legs = [
        [form["id"], index, *leg[:3], "pending" if form["k"] == "pending" else "posted", *leg[3:]]
        for index, form in enumerate(forms)
        for leg in form["p"]
    ]
    row = await _AT_ONCE.first(
        conn,
        {
            "codes": sorted({leg[2] for leg in legs if leg[2] is not None}),
            "account_ids": sorted({leg[3] for leg in legs if leg[3] is not None}),
            "prefer": preferred_shard(conn),
            # JSON rather than arrays: one string to send, parsed by the server in C.
            "legs": json.dumps(legs, separators=(",", ":")),
            "entries": json.dumps(
                [
                    [
                        form["id"],
                        form["k"],
                        form.get("x"),
                        form.get("r"),
                        form.get("m") or {},
                        form["h"],
                        form.get("e"),
                    ]
                    for form in forms
                ],
                separators=(",", ":"),
            ),
        },
    )
    assert row is not None  # one row of aggregates
    if not row.applied:
        return None
    codes = {account_id: code for account_id, code in row.accounts or ()}
    written: dict[UUID, Written] = {
        UUID(entry_id): (seq, moment(created_at), moment(effective_at))
        for entry_id, seq, created_at, effective_at in row.inserted or ()
    }
    raced = [form["uid"] for form in forms if form["uid"] not in written]
    if raced:
        for found in await conn.execute(EXISTING, {"ids": raced}):
            written[found.id] = StoredEntry(
                found.id,
                found.seq,
                found.request_hash,
                found.created_at,
                found.effective_at,
                found.expires_at,
            )
        await load_legs(conn, [item for item in written.values() if isinstance(item, StoredEntry)])
    return codes, written
