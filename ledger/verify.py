"""``korpu ledger verify``: recompute every invariant from the rows themselves.

The database refuses broken writes, but triggers can be disabled and rows edited by someone with
enough privileges; this check trusts nothing stored but the postings and entries it re-reads:

1. ``posting``: every posting has a positive amount, an existing entry and an account of its
   currency;
2. ``entry_postings`` / ``entry_balance``: every entry has two or more postings that balance per
   currency and phase;
3. ``hold_release``: every resolved hold was released exactly (what it held, leg by leg);
   ``open_holds``: the open holds are exactly the holds not yet resolved;
4. ``account_counters``: each account's counters (its row plus its shards) equal the sums of its
   postings, are non-negative, and respect its balance limit;
5. ``trial_balance``: per currency, all debits equal all credits (posted, and pending);
6. ``checkpoint``: the signed checkpoints chain, hash and verify.

Checks run in that order and the report lists violations in it, so the first one is the most
basic thing that is wrong.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import TextClause, func, select, text
from sqlalchemy.ext.asyncio import AsyncConnection

from ledger.checkpoints import verify_checkpoints
from ledger.tables import accounts, checkpoints, entries, postings

__all__ = ["VerifyReport", "Violation", "verify"]


@dataclass(frozen=True, slots=True)
class Violation:
    check: str
    """Which invariant: ``posting``, ``entry_balance``, ``account_counters``, ``trial_balance``, ..."""
    message: str
    """What is wrong, naming the row."""

    def __str__(self) -> str:
        return f"{self.check}: {self.message}"


@dataclass(slots=True)
class VerifyReport:
    violations: list[Violation] = field(default_factory=list)
    accounts: int = 0
    entries: int = 0
    postings: int = 0
    checkpoints: int = 0

    @property
    def ok(self) -> bool:
        return not self.violations


_SIGNED = "CASE side WHEN 'debit' THEN amount ELSE -amount END"
_POSTED_NET = f"sum(CASE WHEN phase = 'posted' THEN {_SIGNED} ELSE 0 END)"
_PENDING_NET = (
    f"sum(CASE WHEN phase = 'pending' THEN {_SIGNED} WHEN phase = 'released' THEN -({_SIGNED}) ELSE 0 END)"
)

# Each check: (name, query returning offending rows, message template over the row's mapping).
_CHECKS: list[tuple[str, TextClause, str]] = [
    (
        "posting",
        text(
            "SELECT p.id, p.amount, p.currency, p.entry_seq, p.account_id FROM ledger_postings p "
            "LEFT JOIN ledger_entries e ON e.seq = p.entry_seq "
            "LEFT JOIN ledger_accounts a ON a.id = p.account_id "
            "WHERE p.amount <= 0 OR e.seq IS NULL OR a.id IS NULL OR a.currency <> p.currency "
            "ORDER BY p.id LIMIT :limit"
        ),
        "posting {id} ({amount} {currency}, entry seq {entry_seq}, account {account_id}) has a non-positive "
        "amount, no entry, or no account in its currency",
    ),
    (
        "entry_postings",
        text(
            "SELECT e.seq, e.id, (SELECT count(*) FROM ledger_postings p WHERE p.entry_seq = e.seq) AS legs "
            "FROM ledger_entries e "
            "WHERE (SELECT count(*) FROM ledger_postings p WHERE p.entry_seq = e.seq) < 2 "
            "ORDER BY e.seq LIMIT :limit"
        ),
        "entry {id} (seq {seq}) has {legs} postings; an entry needs at least two",
    ),
    (
        "entry_balance",
        text(
            f"SELECT p.entry_seq, e.id, p.currency, p.phase, sum({_SIGNED}) AS net FROM ledger_postings p "
            "LEFT JOIN ledger_entries e ON e.seq = p.entry_seq "
            "GROUP BY p.entry_seq, e.id, p.currency, p.phase "
            f"HAVING sum({_SIGNED}) <> 0 ORDER BY p.entry_seq LIMIT :limit"
        ),
        "entry {id} (seq {entry_seq}) does not balance in {currency} ({phase}): debits minus credits = {net}",
    ),
    (
        "hold_release",
        text(
            "SELECT h.id AS hold, r.id AS resolution, x.account_id, x.side, x.net FROM ("
            "  SELECT h.seq AS hold_seq, r.seq AS resolution_seq, p.account_id, p.side,"
            "         sum(CASE WHEN p.entry_seq = h.seq AND p.phase = 'pending' THEN p.amount"
            "                  WHEN p.entry_seq = r.seq AND p.phase = 'released' THEN -p.amount"
            "                  ELSE 0 END) AS net"
            "    FROM ledger_entries r JOIN ledger_entries h ON h.id = r.pending_id"
            "    JOIN ledger_postings p ON p.entry_seq IN (h.seq, r.seq)"
            "   GROUP BY h.seq, r.seq, p.account_id, p.side) x"
            " JOIN ledger_entries h ON h.seq = x.hold_seq"
            " JOIN ledger_entries r ON r.seq = x.resolution_seq "
            "WHERE x.net <> 0 ORDER BY x.hold_seq LIMIT :limit"
        ),
        "hold {hold} held {net} minor units more than resolution {resolution} released "
        "on account {account_id} ({side})",
    ),
    (
        "open_holds",
        text(
            "SELECT e.id, 'missing from' AS problem FROM ledger_entries e "
            "WHERE e.kind = 'pending' "
            "AND NOT EXISTS (SELECT 1 FROM ledger_entries r WHERE r.pending_id = e.id) "
            "AND NOT EXISTS (SELECT 1 FROM ledger_open_holds o WHERE o.hold_id = e.id) "
            "UNION ALL "
            "SELECT o.hold_id, 'wrongly in' FROM ledger_open_holds o "
            "LEFT JOIN ledger_entries e ON e.id = o.hold_id "
            "WHERE e.kind IS NULL OR e.kind <> 'pending' "
            "OR EXISTS (SELECT 1 FROM ledger_entries r WHERE r.pending_id = o.hold_id) "
            "LIMIT :limit"
        ),
        "hold {id} is {problem} the open holds",
    ),
    (
        "account_counters",
        text(
            "WITH stored AS ("
            "  SELECT a.id, a.code, a.debits_must_not_exceed_credits AS dmnec,"
            "         a.credits_must_not_exceed_debits AS cmned,"
            "         a.debits_posted + coalesce(s.dp, 0) AS dp, a.credits_posted + coalesce(s.cp, 0) AS cp,"
            "         a.debits_pending + coalesce(s.dq, 0) AS dq, a.credits_pending + coalesce(s.cq, 0) AS cq"
            "    FROM ledger_accounts a LEFT JOIN ("
            "      SELECT account_id, sum(debits_posted) AS dp, sum(credits_posted) AS cp,"
            "             sum(debits_pending) AS dq, sum(credits_pending) AS cq"
            "        FROM ledger_account_shards GROUP BY account_id) s ON s.account_id = a.id),"
            " summed AS ("
            "  SELECT account_id,"
            "    sum(CASE WHEN side = 'debit' AND phase = 'posted' THEN amount ELSE 0 END) AS dp,"
            "    sum(CASE WHEN side = 'credit' AND phase = 'posted' THEN amount ELSE 0 END) AS cp,"
            "    sum(CASE WHEN side = 'debit' AND phase = 'pending' THEN amount"
            "             WHEN side = 'debit' AND phase = 'released' THEN -amount ELSE 0 END) AS dq,"
            "    sum(CASE WHEN side = 'credit' AND phase = 'pending' THEN amount"
            "             WHEN side = 'credit' AND phase = 'released' THEN -amount ELSE 0 END) AS cq"
            "    FROM ledger_postings GROUP BY account_id) "
            "SELECT s.code, s.dp, s.cp, s.dq, s.cq, coalesce(p.dp, 0) AS pdp, coalesce(p.cp, 0) AS pcp,"
            "       coalesce(p.dq, 0) AS pdq, coalesce(p.cq, 0) AS pcq"
            "  FROM stored s LEFT JOIN summed p ON p.account_id = s.id"
            " WHERE s.dp <> coalesce(p.dp, 0) OR s.cp <> coalesce(p.cp, 0)"
            "    OR s.dq <> coalesce(p.dq, 0) OR s.cq <> coalesce(p.cq, 0)"
            "    OR s.dq < 0 OR s.cq < 0"
            "    OR (s.dmnec AND s.dp + s.dq > s.cp) OR (s.cmned AND s.cp + s.cq > s.dp)"
            " ORDER BY s.id LIMIT :limit"
        ),
        "account {code}: counters (debits/credits posted {dp}/{cp}, pending {dq}/{cq}) against its postings "
        "({pdp}/{pcp}, {pdq}/{pcq}): they differ, are negative, or break its balance limit",
    ),
    (
        "trial_balance",
        text(
            f"SELECT currency, {_POSTED_NET} AS posted, {_PENDING_NET} AS pending FROM ledger_postings "
            f"GROUP BY currency HAVING {_POSTED_NET} <> 0 OR {_PENDING_NET} <> 0 "
            "ORDER BY currency LIMIT :limit"
        ),
        "trial balance in {currency} is not zero: debits minus credits = {posted} posted, {pending} pending",
    ),
]


async def verify(
    conn: AsyncConnection, public_key: bytes | Collection[bytes] | None = None, *, limit: int = 20
) -> VerifyReport:
    """Check every invariant; ``public_key`` (raw Ed25519, or the set of trusted ones: current and
    retired) also verifies the signed checkpoints."""
    report = VerifyReport()
    for name, query, template in _CHECKS:
        for row in await conn.execute(query, {"limit": limit}):
            values: dict[str, Any] = dict(row._mapping)
            report.violations.append(Violation(name, template.format(**values)))
    counts = select(
        select(func.count()).select_from(accounts).scalar_subquery(),
        select(func.count()).select_from(entries).scalar_subquery(),
        select(func.count()).select_from(postings).scalar_subquery(),
        select(func.count()).select_from(checkpoints).scalar_subquery(),
    )
    report.accounts, report.entries, report.postings, report.checkpoints = (await conn.execute(counts)).one()
    if public_key is not None:
        for problem in await verify_checkpoints(conn, public_key):
            report.violations.append(Violation("checkpoint", problem.message))
    return report
