"""Payout instructions to partner banks: payouts, top-ups and cash-outs, pulled or pushed.

Life of an instruction::

    pending ──(partner polls: lease)──> claimed ──┐
       │                      (lease ends) <──────┤
       └──(we push it; partner answers 2xx)──> sent
    pending | claimed | sent ──confirm──> confirmed      (final)
    pending | claimed | sent ──fail─────> failed         (final)

:func:`create_payout` runs in the caller's transaction and enqueues the push instruction (push
partners) or a ``payout.created`` webhook (pull partners with a webhook URL) in the same transaction.
Confirm and fail are conditional updates, so of two concurrent calls exactly one changes the state and
calls the :class:`~backend.partners.outcomes.PayoutOutcomeHandler`; a repeat of the same outcome returns
the payout as it is and calls nothing; the opposite outcome is refused with 409.

The beneficiary (personal data) is sealed at rest and unsealed only to hand it to the partner.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import ColumnElement, Update, and_, any_, bindparam, or_, select, update
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.asyncio import AsyncConnection

from backend.clock import as_utc, utcnow
from backend.deferred_inserts import insert_row
from backend.outbox.events import OutboxEvent, enqueue
from backend.partners.outcomes import PayoutOutcomeHandler
from backend.partners.tables import partner_payouts, partners
from compliance.privacy import Sealer
from ledger.money import Money
from sqldirect import direct

__all__ = [
    "PARTNER_ROUTE_COLUMNS",
    "Beneficiary",
    "PartnerRoute",
    "Payout",
    "PayoutConflict",
    "PayoutKind",
    "PayoutNotFound",
    "PayoutRequest",
    "PayoutStatus",
    "claim_pending",
    "confirm_payout",
    "create_payout",
    "fail_payout",
    "get_payout",
    "get_payout_for_partner",
    "list_payouts",
    "mark_sent",
    "open_beneficiary",
]

BENEFICIARY_CONTEXT = "partners.payout.beneficiary"
DEFAULT_LEASE = timedelta(minutes=5)


class PayoutKind(StrEnum):
    PAYOUT = "payout"
    TOPUP = "topup"
    CASHOUT = "cashout"


class PayoutStatus(StrEnum):
    PENDING = "pending"
    CLAIMED = "claimed"
    SENT = "sent"
    CONFIRMED = "confirmed"
    FAILED = "failed"


_OPEN = (PayoutStatus.PENDING.value, PayoutStatus.CLAIMED.value, PayoutStatus.SENT.value)


class PayoutNotFound(Exception):
    code = "payout_not_found"
    status = 404


class PayoutConflict(Exception):
    """The payout already has the opposite final outcome."""

    code = "payout_already_final"
    status = 409


class InvalidPayout(ValueError):
    code = "invalid_payout"
    status = 422


@dataclass(frozen=True, slots=True)
class Beneficiary:
    """Who receives the money and where (personal data: sealed at rest)."""

    name: str
    """Full name as the bank needs it."""
    account_type: str
    """``iban``, ``card``, ``phone`` or ``wallet``."""
    account: str
    """The IBAN, masked card token, phone number (E.164) or wallet id."""
    bank_code: str | None = None
    """BIC or local bank code, when the account needs one."""
    country: str | None = None
    """ISO 3166 alpha-2 country of the account."""

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "accountType": self.account_type,
            "account": self.account,
            "bankCode": self.bank_code,
            "country": self.country,
        }


@dataclass(frozen=True, slots=True)
class PayoutRequest:
    """What the transfer service asks a partner to do."""

    kind: PayoutKind
    """Payout of a transfer, top-up collection or cash-out."""
    partner_id: str
    """Which partner bank."""
    reference: str
    """The transfer or operation reference (at most 35 characters); unique per partner and kind."""
    amount: Money
    """How much the beneficiary receives."""
    beneficiary: Beneficiary
    """Who and where."""


@dataclass(frozen=True, slots=True)
class Payout:
    """A payout instruction without its beneficiary."""

    id: str
    """``po_...``."""
    kind: PayoutKind
    """See :class:`PayoutKind`."""
    partner_id: str
    """Which partner bank."""
    reference: str
    """Transfer or operation reference."""
    amount: Money
    """Amount paid out."""
    status: PayoutStatus
    """See the module docstring."""
    delivery: str
    """``pull`` or ``push``."""
    attempts: int
    """Times it was leased (pull) to the partner."""
    lease_until: datetime | None
    """End of the current lease."""
    partner_reference: str | None
    """The partner's own id of the payout, given on confirm."""
    failure_reason: str | None
    """Why it failed."""
    created_at: datetime
    """When it was created."""
    completed_at: datetime | None
    """When it was confirmed or failed."""

    @classmethod
    def from_row(cls, row: Mapping[Any, Any]) -> Payout:
        return cls(
            id=row["id"],
            kind=PayoutKind(row["kind"]),
            partner_id=row["partner_id"],
            reference=row["reference"],
            amount=Money.from_minor(row["amount_minor"], row["currency"]),
            status=PayoutStatus(row["status"]),
            delivery=row["delivery"],
            attempts=row["attempts"],
            lease_until=as_utc(row["lease_until"]) if row["lease_until"] else None,
            partner_reference=row["partner_reference"],
            failure_reason=row["failure_reason"],
            created_at=as_utc(row["created_at"]),
            completed_at=as_utc(row["completed_at"]) if row["completed_at"] else None,
        )

    def to_json(self, beneficiary: Beneficiary | None = None) -> dict[str, Any]:
        document: dict[str, Any] = {
            "id": self.id,
            "kind": self.kind.value,
            "reference": self.reference,
            "amount": self.amount.to_json(),
            "status": self.status.value,
            "delivery": self.delivery,
            "leaseUntil": self.lease_until.isoformat() if self.lease_until else None,
            "partnerReference": self.partner_reference,
            "failureReason": self.failure_reason,
            "createdAt": self.created_at.isoformat(),
            "completedAt": self.completed_at.isoformat() if self.completed_at else None,
        }
        if beneficiary is not None:
            document["beneficiary"] = beneficiary.to_json()
        return document

    def event_payload(self) -> dict[str, Any]:
        """What webhooks say about a payout: identifiers and amounts, no personal data."""
        return {
            "payoutId": self.id,
            "kind": self.kind.value,
            "reference": self.reference,
            "amount": self.amount.to_json(),
            "status": self.status.value,
            "partnerReference": self.partner_reference,
            "failureReason": self.failure_reason,
        }


def open_beneficiary(sealed: bytes, sealer: Sealer) -> Beneficiary:
    return Beneficiary(**json.loads(sealer.open_text(sealed, BENEFICIARY_CONTEXT)))


@dataclass(frozen=True, slots=True)
class PartnerRoute:
    """What creating a payout needs of its partner's row."""

    id: str
    status: str
    """``active`` or not (only an active partner is given payouts)."""
    payout_mode: str
    """``push`` (we deliver each instruction) or ``pull`` (the partner polls)."""
    webhook_url: str | None
    """Where a pulling partner is told of new payouts, if anywhere."""


PARTNER_ROUTE_COLUMNS = (partners.c.status, partners.c.payout_mode, partners.c.webhook_url)
_partner = select(*PARTNER_ROUTE_COLUMNS).where(partners.c.id == bindparam("partner_id"))
_existing = select(partner_payouts).where(
    partner_payouts.c.partner_id == bindparam("partner_id"),
    partner_payouts.c.kind == bindparam("kind"),
    partner_payouts.c.reference == bindparam("reference"),
)
_one = direct(
    select(partner_payouts).where(
        partner_payouts.c.id == bindparam("payout_id"),
        partner_payouts.c.partner_id == bindparam("partner_id"),
    )
)
_claimable = (
    select(partner_payouts.c.id)
    .where(
        partner_payouts.c.partner_id == bindparam("partner_id"),
        partner_payouts.c.delivery == "pull",
        or_(
            partner_payouts.c.status == PayoutStatus.PENDING.value,
            and_(
                partner_payouts.c.status == PayoutStatus.CLAIMED.value,
                partner_payouts.c.lease_until <= bindparam("now"),
            ),
        ),
    )
    .order_by(partner_payouts.c.created_at, partner_payouts.c.id)
    .limit(bindparam("limit"))
    .with_for_update(skip_locked=True)
)
_lease = (
    update(partner_payouts)
    .where(partner_payouts.c.id.in_(bindparam("ids", expanding=True)))
    .values(
        status=PayoutStatus.CLAIMED.value,
        lease_owner=bindparam("owner"),
        lease_until=bindparam("until"),
        attempts=partner_payouts.c.attempts + 1,
        updated_at=bindparam("now"),
    )
    .returning(*partner_payouts.c)
)


def _finishing(still_open: ColumnElement[bool]) -> Update:
    """A payout's outcome, recorded only while ``still_open`` holds (a compare-and-set)."""
    return (
        update(partner_payouts)
        .where(
            partner_payouts.c.id == bindparam("payout_id"),
            partner_payouts.c.partner_id == bindparam("b_partner_id"),
            still_open,
        )
        .values(
            status=bindparam("new_status"),
            partner_reference=bindparam("b_partner_reference"),
            failure_reason=bindparam("b_failure_reason"),
            completed_at=bindparam("now"),
            updated_at=bindparam("now"),
            lease_owner=None,
            lease_until=None,
        )
    )


_finish = _finishing(partner_payouts.c.status.in_(_OPEN)).returning(*partner_payouts.c)
# An array, not an expanding IN: the statement's SQL stays fixed, so it runs through sqldirect.
_FINISH_WITH_WEBHOOK = direct(
    _finishing(partner_payouts.c.status == any_(postgresql.array(_OPEN))).returning(
        *partner_payouts.c,
        select(partners.c.webhook_url)
        .where(partners.c.id == partner_payouts.c.partner_id)
        .scalar_subquery()
        .label("partner_webhook_url"),
    )
)
"""PostgreSQL: the same, also returning where the partner takes webhooks (no separate read)."""
_sent = direct(
    update(partner_payouts)
    .where(
        partner_payouts.c.id == bindparam("payout_id"), partner_payouts.c.status == PayoutStatus.PENDING.value
    )
    .values(status=PayoutStatus.SENT.value, updated_at=bindparam("now"))
)


async def create_payout(
    conn: AsyncConnection,
    request: PayoutRequest,
    *,
    sealer: Sealer,
    now: datetime | None = None,
    partner: PartnerRoute | None = None,
    new_reference: bool = False,
) -> str:
    """Record ``request`` and enqueue its delivery, in the caller's transaction; return the payout id.

    Creating the same ``(partner, kind, reference)`` again with the same amount returns the first id
    (the caller may retry); with another amount it is refused. A caller that read the partner's
    row in this transaction passes it as ``partner``; one whose reference was just made (a new
    transfer's id) says ``new_reference`` and no earlier payout is looked for (the unique key on
    ``(partner, kind, reference)`` still refuses a second one).
    """
    if not 0 < len(request.reference) <= 35:
        raise InvalidPayout("a payout reference has 1 to 35 characters")
    if not request.amount.is_positive():
        raise InvalidPayout("a payout amount is positive")
    if partner is None or partner.id != request.partner_id:
        found = (await conn.execute(_partner, {"partner_id": request.partner_id})).first()
        partner = None if found is None else PartnerRoute(request.partner_id, *found)
    if partner is None or partner.status != "active":
        raise InvalidPayout(f"partner {request.partner_id} is unknown or not active")
    keys = {"partner_id": request.partner_id, "kind": request.kind.value, "reference": request.reference}
    existing = None if new_reference else (await conn.execute(_existing, keys)).mappings().first()
    if existing is not None:
        if Money.from_minor(existing["amount_minor"], existing["currency"]) != request.amount:
            raise PayoutConflict(f"{request.kind.value} {request.reference} exists with another amount")
        return str(existing["id"])
    moment = now or utcnow()
    payout_id = f"po_{uuid.uuid4().hex[:24]}"
    sealed = sealer.seal_text(json.dumps(asdict(request.beneficiary), sort_keys=True), BENEFICIARY_CONTEXT)
    row = {
        "id": payout_id,
        **keys,
        "amount_minor": request.amount.minor_units,
        "currency": request.amount.currency,
        "beneficiary_sealed": sealed,
        "delivery": partner.payout_mode,
        "status": PayoutStatus.PENDING.value,
        "attempts": 0,
        "created_at": moment,
        "updated_at": moment,
    }
    await insert_row(conn, partner_payouts, row)
    # The payout as stored, without reading it back.
    payout = Payout.from_row(
        {**row, "lease_until": None, "partner_reference": None, "failure_reason": None, "completed_at": None}
    )
    if partner.payout_mode == "push":
        await enqueue(
            conn,
            OutboxEvent(
                "payout",
                payout_id,
                "payout.instruction",
                f"payout:{request.partner_id}",
                payout.event_payload(),
            ),
            now=moment,
            first=True,
        )
    elif partner.webhook_url:
        await enqueue(
            conn,
            OutboxEvent(
                "payout", payout_id, "payout.created", f"webhook:{request.partner_id}", payout.event_payload()
            ),
            now=moment,
            first=True,
        )
    return payout_id


async def get_payout(conn: AsyncConnection, partner_id: str, payout_id: str) -> Payout:
    row = await _one.first(conn, {"partner_id": partner_id, "payout_id": payout_id})
    if row is None:
        raise PayoutNotFound(f"no payout {payout_id}")
    return Payout.from_row(row._mapping)


async def get_payout_for_partner(
    conn: AsyncConnection, partner_id: str, payout_id: str, sealer: Sealer
) -> tuple[Payout, Beneficiary]:
    """The payout and its unsealed beneficiary, to hand to the partner (outside a transaction, a
    statement of its own)."""
    row = await _one.first(conn, {"partner_id": partner_id, "payout_id": payout_id}, alone=True)
    if row is None:
        raise PayoutNotFound(f"no payout {payout_id}")
    return Payout.from_row(row._mapping), open_beneficiary(row.beneficiary_sealed, sealer)


async def list_payouts(
    conn: AsyncConnection, partner_id: str, status: PayoutStatus, *, limit: int = 50, after: str = ""
) -> tuple[list[Payout], str | None]:
    """A page of the partner's payouts in ``status``, by id; and the cursor of the next page."""
    rows = (
        await conn.execute(
            select(partner_payouts)
            .where(
                partner_payouts.c.partner_id == partner_id,
                partner_payouts.c.status == status.value,
                partner_payouts.c.id > after,
            )
            .order_by(partner_payouts.c.id)
            .limit(limit + 1)
        )
    ).mappings()
    page = [Payout.from_row(row) for row in rows]
    return page[:limit], (page[limit - 1].id if len(page) > limit else None)


async def claim_pending(
    conn: AsyncConnection,
    partner_id: str,
    lease_owner: str,
    *,
    limit: int = 50,
    lease: timedelta = DEFAULT_LEASE,
    now: datetime | None = None,
    sealer: Sealer,
) -> list[tuple[Payout, Beneficiary]]:
    """Lease up to ``limit`` pull payouts that are pending (or whose lease ended) to ``lease_owner``."""
    moment = now or utcnow()
    ids = list(
        (await conn.execute(_claimable, {"partner_id": partner_id, "now": moment, "limit": limit})).scalars()
    )
    if not ids:
        return []
    rows = (
        await conn.execute(_lease, {"ids": ids, "owner": lease_owner, "until": moment + lease, "now": moment})
    ).mappings()
    leased = sorted(rows, key=lambda row: (as_utc(row["created_at"]), row["id"]))
    return [(Payout.from_row(row), open_beneficiary(row["beneficiary_sealed"], sealer)) for row in leased]


async def _finish_payout(
    conn: AsyncConnection,
    partner_id: str,
    payout_id: str,
    outcome: PayoutStatus,
    *,
    partner_reference: str | None,
    reason: str | None,
    now: datetime | None,
) -> tuple[Payout, bool, str | None]:
    """The payout moved to ``outcome`` (or already there: ``False``), and the partner's webhook URL."""
    values = {
        "b_partner_id": partner_id,
        "payout_id": payout_id,
        "new_status": outcome.value,
        "b_partner_reference": partner_reference,
        "b_failure_reason": reason,
        "now": now or utcnow(),
    }
    if conn.dialect.name == "postgresql":
        finished = await _FINISH_WITH_WEBHOOK.first(conn, values)
        if finished is not None:
            row = finished._mapping
            return Payout.from_row(row), True, row["partner_webhook_url"]
    else:
        row = (await conn.execute(_finish, values)).mappings().first()
        if row is not None:
            partner = (await conn.execute(_partner, {"partner_id": partner_id})).mappings().one()
            return Payout.from_row(row), True, partner["webhook_url"]
    current = await get_payout(conn, partner_id, payout_id)
    if current.status is outcome:
        return current, False, None
    raise PayoutConflict(f"payout {payout_id} is already {current.status.value}")


async def confirm_payout(
    conn: AsyncConnection,
    partner_id: str,
    payout_id: str,
    outcomes: PayoutOutcomeHandler,
    *,
    partner_reference: str | None = None,
    now: datetime | None = None,
) -> Payout:
    """The partner paid: mark confirmed, let ``outcomes`` post the hold, tell the partner by webhook."""
    payout, changed, webhook_url = await _finish_payout(
        conn,
        partner_id,
        payout_id,
        PayoutStatus.CONFIRMED,
        partner_reference=partner_reference,
        reason=None,
        now=now,
    )
    if changed:
        await outcomes.on_confirmed(conn, payout)
        await _announce(conn, payout, webhook_url, "payout.confirmed", now)
    return payout


async def fail_payout(
    conn: AsyncConnection,
    partner_id: str,
    payout_id: str,
    reason: str,
    outcomes: PayoutOutcomeHandler,
    *,
    now: datetime | None = None,
) -> Payout:
    """The partner could not pay: mark failed, let ``outcomes`` void the hold, refund and tell the sender."""
    reason = reason.strip()[:500]
    if not reason:
        raise InvalidPayout("say why the payout failed")
    payout, changed, webhook_url = await _finish_payout(
        conn, partner_id, payout_id, PayoutStatus.FAILED, partner_reference=None, reason=reason, now=now
    )
    if changed:
        await outcomes.on_failed(conn, payout, reason)
        await _announce(conn, payout, webhook_url, "payout.failed", now)
    return payout


async def _announce(
    conn: AsyncConnection, payout: Payout, webhook_url: str | None, topic: str, now: datetime | None
) -> None:
    if webhook_url:
        await enqueue(
            conn,
            OutboxEvent("payout", payout.id, topic, f"webhook:{payout.partner_id}", payout.event_payload()),
            now=now,
        )


async def mark_sent(conn: AsyncConnection, payout_id: str, *, now: datetime | None = None) -> None:
    """The partner accepted our push instruction (a no-op if it already confirmed or failed it);
    outside a transaction, a statement of its own, committed when it ends."""
    await _sent.rows(conn, {"payout_id": payout_id, "now": now or utcnow()}, alone=True)
