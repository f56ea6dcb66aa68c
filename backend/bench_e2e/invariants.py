"""What must hold after crashes: the checks of ``korpu bench crash``, usable on any database.

:func:`check_invariants` reads the database once everything has drained and returns every
violation it finds (an empty list means all held):

* every transfer a client was told about (a 2xx reply, :class:`Acknowledged`) exists, once, for
  that customer and quote, and its idempotency record replays that very transfer;
* every transfer's hold is posted, voided (or expired), or still open, and its status agrees:
  ``paid_out`` is posted, ``refunded``/``cancelled`` are released, and an open hold waits either
  for an officer (``under_review``) or for the partner, with its payout instruction still on the
  way (a payout row not yet confirmed or failed, and for a push partner its outbox row);
* every payout a partner settled agrees with the transfer it pays;
* the mock bank (its ``GET /_mock/payouts`` report) received no payout twice and no transfer
  under two payout ids, and every payout it received is ours;
* ``ledger.verify`` finds nothing wrong.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from backend.idempotency import idempotency_keys, open_stored_reply
from backend.outbox.tables import outbox_events
from backend.partners.tables import partner_payouts
from backend.transfers.tables import transfers
from compliance.privacy import Sealer
from ledger.tables import entries, open_holds
from ledger.verify import verify

__all__ = ["Acknowledged", "InvariantReport", "check_invariants"]

_RELEASED = {"void_pending", "expire_pending"}
_WAITING = {"funds_reserved", "sent_to_partner", "under_review"}
_RELEASED_STATUSES = {"refunded", "cancelled", "failed"}
_UNSETTLED_PAYOUT = {"pending", "claimed", "sent"}


@dataclass(frozen=True, slots=True)
class Acknowledged:
    """A transfer the server answered 2xx for: what the client recorded."""

    idempotency_key: str
    customer_id: int
    transfer_id: str
    quote_id: str


@dataclass
class InvariantReport:
    """The violations found (none: every invariant held) and what was looked at."""

    violations: list[str] = field(default_factory=list)
    counts: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.violations

    def to_json(self, *, limit: int = 50) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "violationCount": len(self.violations),
            "violations": self.violations[:limit],
            "counts": self.counts,
        }


def _chunks(items: Sequence[Any], size: int = 1000) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


async def check_invariants(
    conn: AsyncConnection,
    acknowledged: Sequence[Acknowledged],
    bank_payouts: Mapping[str, Mapping[str, Any]] | None = None,
    *,
    sealer: Sealer | None = None,
) -> InvariantReport:
    """Every check of the module docstring; ``bank_payouts`` is the mock bank's payout report;
    ``sealer`` opens the stored replies (a transfer's reply names its recipient, so it is sealed)."""
    report = InvariantReport()
    await _acknowledged_exist_once(conn, acknowledged, report, sealer)
    payouts = await _holds_agree(conn, report)
    if bank_payouts is not None:
        _bank_paid_once(bank_payouts, payouts, report)
    ledger = await verify(conn)
    report.violations += [f"ledger verify: {v}" for v in ledger.violations]
    report.counts["ledgerEntries"] = ledger.entries
    return report


async def _acknowledged_exist_once(
    conn: AsyncConnection,
    acknowledged: Sequence[Acknowledged],
    report: InvariantReport,
    sealer: Sealer | None,
) -> None:
    by_key: dict[tuple[int, str], str] = {}
    for ack in acknowledged:
        first = by_key.setdefault((ack.customer_id, ack.idempotency_key), ack.transfer_id)
        if first != ack.transfer_id:
            report.violations.append(
                f"key {ack.idempotency_key} was answered with two transfers: {first} and {ack.transfer_id}"
            )
    owners = Counter(by_key.values())
    report.violations += [
        f"transfer {tid} was acknowledged for {n} different keys" for tid, n in owners.items() if n > 1
    ]
    ids = sorted({ack.transfer_id for ack in acknowledged})
    found: dict[str, Any] = {}
    for chunk in _chunks(ids):
        query = select(transfers.c.id, transfers.c.customer_id, transfers.c.quote_id).where(
            transfers.c.id.in_(chunk)
        )
        found |= {row.id: row for row in await conn.execute(query)}
    replies: dict[tuple[str, str], Any] = {}
    keys = sorted(by_key)
    for chunk in _chunks(keys):
        scopes = [f"customer:{customer}" for customer, _ in chunk]
        query = select(idempotency_keys.c.scope, idempotency_keys.c.key, idempotency_keys.c.body).where(
            idempotency_keys.c.scope.in_(set(scopes)), idempotency_keys.c.key.in_({key for _, key in chunk})
        )
        replies |= {
            (row.scope, row.key): open_stored_reply(row.body, sealer) for row in await conn.execute(query)
        }
    for ack in acknowledged:
        row = found.get(ack.transfer_id)
        if row is None:
            report.violations.append(
                f"acknowledged transfer {ack.transfer_id} (key {ack.idempotency_key}) is missing"
            )
            continue
        if row.customer_id != ack.customer_id or row.quote_id != ack.quote_id:
            report.violations.append(
                f"transfer {ack.transfer_id} is not the one its key {ack.idempotency_key} asked for"
            )
        body = replies.get((f"customer:{ack.customer_id}", ack.idempotency_key))
        if not isinstance(body, Mapping) or body.get("id") != ack.transfer_id:
            report.violations.append(f"key {ack.idempotency_key} does not replay transfer {ack.transfer_id}")
    report.counts["acknowledged"] = len(ids)


async def _holds_agree(conn: AsyncConnection, report: InvariantReport) -> dict[str, Any]:
    """Check each transfer's hold and payout; returns our payouts by id (for the bank check)."""
    rows = (
        await conn.execute(
            select(transfers.c.id, transfers.c.status, transfers.c.hold_entry_id, transfers.c.payout_id)
        )
    ).all()
    holds = {
        row.id: row.kind
        for row in await conn.execute(
            select(entries.c.id, entries.c.kind).where(entries.c.pending_id.is_(None))
        )
    }
    resolved = {
        row.pending_id: row.kind
        for row in await conn.execute(
            select(entries.c.pending_id, entries.c.kind).where(entries.c.pending_id.is_not(None))
        )
    }
    still_open = set((await conn.execute(select(open_holds.c.hold_id))).scalars())
    ledger = _Holds(holds, resolved, still_open)
    payouts = {
        row.id: row
        for row in await conn.execute(
            select(
                partner_payouts.c.id,
                partner_payouts.c.kind,
                partner_payouts.c.reference,
                partner_payouts.c.status,
                partner_payouts.c.delivery,
            )
        )
    }
    queued = set(
        (
            await conn.execute(
                select(outbox_events.c.aggregate_id).where(
                    outbox_events.c.aggregate_type == "payout", outbox_events.c.topic == "payout.instruction"
                )
            )
        ).scalars()
    )
    states: Counter[str] = Counter()
    for row in rows:
        states[_check_transfer(row, ledger, payouts, queued, report)] += 1
    report.counts["transfers"] = len(rows)
    report.counts["statuses"] = dict(Counter(row.status for row in rows))
    report.counts["holds"] = dict(states)
    return payouts


@dataclass(frozen=True, slots=True)
class _Holds:
    kinds: Mapping[uuid.UUID, str]
    """Kind of every entry that resolves no hold, by id."""
    resolutions: Mapping[uuid.UUID, str]
    """Kind of the entry that resolved each hold, by hold id."""
    open: set[uuid.UUID]
    """Holds the ledger still lists as open."""


def _check_transfer(
    row: Any, ledger: _Holds, payouts: Mapping[str, Any], queued: set[str], report: InvariantReport
) -> str:
    where = f"transfer {row.id} ({row.status})"
    if row.hold_entry_id is None:
        if row.status != "cancelled":
            report.violations.append(f"{where} has no hold")
        return "none"
    hold = uuid.UUID(row.hold_entry_id)
    if ledger.kinds.get(hold) != "pending":
        report.violations.append(f"{where}: its hold {row.hold_entry_id} is not a pending ledger entry")
        return "missing"
    resolved_by = ledger.resolutions.get(hold)
    if resolved_by is not None and hold in ledger.open:
        report.violations.append(f"{where}: its hold is resolved and still open")
    state = "posted" if resolved_by == "post_pending" else "released" if resolved_by in _RELEASED else "open"
    if state == "open" and hold not in ledger.open:
        report.violations.append(f"{where}: its hold is neither resolved nor open")
    expected = (
        "posted" if row.status == "paid_out" else "released" if row.status in _RELEASED_STATUSES else "open"
    )
    if row.status not in _WAITING | _RELEASED_STATUSES | {"paid_out"}:
        report.violations.append(f"{where}: unexpected status")
    elif state != expected:
        report.violations.append(f"{where}: its hold is {state}")
    payout = payouts.get(row.payout_id) if row.payout_id else None
    if row.payout_id and payout is None:
        report.violations.append(f"{where}: its payout {row.payout_id} does not exist")
    if state == "open" and row.status != "under_review":
        if payout is None or payout.status not in _UNSETTLED_PAYOUT:
            report.violations.append(f"{where}: its hold is open but no payout is on the way")
        elif payout.delivery == "push" and payout.id not in queued:
            report.violations.append(f"{where}: its payout {payout.id} has no outbox row")
    if payout is not None:
        settled = {"confirmed": "paid_out", "failed": "refunded"}.get(payout.status)
        if settled is not None and settled != row.status:
            report.violations.append(f"{where}: its payout is {payout.status}")
    return state


def _bank_paid_once(
    bank: Mapping[str, Mapping[str, Any]], ours: Mapping[str, Any], report: InvariantReport
) -> None:
    references: Counter[str] = Counter()
    for payout_id, seen in bank.items():
        if int(seen.get("instructions", 0)) > 1:
            report.violations.append(
                f"the bank was asked {seen['instructions']} times to pay payout {payout_id}"
            )
        references[str(seen.get("reference"))] += 1
        payout = ours.get(payout_id)
        if payout is None:
            report.violations.append(f"the bank received payout {payout_id}, which we never created")
        elif seen.get("outcome") == "confirmed" and payout.status != "confirmed":
            report.violations.append(f"the bank paid payout {payout_id} but we have it {payout.status}")
    report.violations += [
        f"the bank received {n} payouts for reference {reference}"
        for reference, n in references.items()
        if n > 1
    ]
    report.counts["bankPayouts"] = len(bank)
