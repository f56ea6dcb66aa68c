"""Alerts grouped into cases per customer, officers' decisions on them, and four-eyes releases.

An alert (from monitoring or screening) joins the customer's open case, or opens one: at most one
case per customer is open at a time (a unique column holds the customer while the case is open).
A transfer an alert names is held by compliance as ``in_review`` or ``blocked`` until an officer
decides. Officer actions, each with a required reason:

* ``clear``: the alerts were false alarms; transfers in review or on hold are released. Refused
  while a transfer of the case is blocked (that needs a four-eyes release). Closes the case unless
  it names one transfer.
* ``hold``: keep transfers in review on hold (e.g. waiting for documents); the case goes on hold.
* ``block``: transfers in review or on hold are blocked. Closes the case unless it names one transfer.
* ``escalate``: hand the case to senior officers; from then on only a senior officer decides it.
* ``report``: a suspicious transaction report was filed with the FIU; recorded once per case.

Four eyes: a blocked transfer is released only when two different officers agree. One officer or
senior officer requests the release with a reason; a different officer or senior officer approves
it with a reason (a senior officer when the case is escalated). The requester may withdraw, anyone
else may reject. ``admin`` alone decides nothing here: deciding cases is an officer's job.

Every decision appends a row to ``compliance_case_actions`` (append-only) and an event to the
audit trail, in the caller's transaction; the transfer flow learns of releases, holds and blocks
through the :class:`TransferDecisionSink` it supplies.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, Protocol

from sqlalchemy import and_, func, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from compliance.audit import record_audit
from compliance.clock import as_utc, utc_now
from compliance.errors import (
    BlockedTransferNeedsRelease,
    CaseActionNotAllowed,
    CaseNotFound,
    FourEyesRequired,
    ReasonRequired,
    ReleaseNotAllowed,
    ReleaseRequestNotFound,
    SeniorOfficerRequired,
    TransferNotReviewed,
)
from compliance.officers import OFFICER_ROLES, NotAnOfficer, Officer
from compliance.tables import alerts, case_actions, cases, release_requests, reviewed_transfers

__all__ = [
    "CASE_ACTIONS",
    "OFFICER_ROLES",
    "AlertSource",
    "AlertView",
    "CaseAction",
    "CaseDetail",
    "CaseView",
    "Decision",
    "NotAnOfficer",
    "Officer",
    "ReleaseRequestView",
    "TransferDecisionSink",
    "approve_release",
    "decide",
    "get_case",
    "list_alerts",
    "list_cases",
    "list_release_requests",
    "open_alert",
    "reject_release",
    "request_release",
    "transfer_state",
]

AlertSource = Literal["monitoring", "screening"]
CaseAction = Literal["clear", "hold", "block", "escalate", "report"]
CASE_ACTIONS: tuple[CaseAction, ...] = ("clear", "hold", "block", "escalate", "report")
MAX_REASON = 2000


class TransferDecisionSink(Protocol):
    """How the transfer flow learns of an officer's decision (implemented by the lead)."""

    async def on_release(self, conn: AsyncConnection, transfer_ref: str) -> None:
        """The transfer may proceed (cleared, or released by two officers)."""

    async def on_hold(self, conn: AsyncConnection, transfer_ref: str) -> None:
        """The transfer stays held while the officer waits for more information."""

    async def on_block(self, conn: AsyncConnection, transfer_ref: str) -> None:
        """The transfer must not proceed; the sender's reserved funds are returned."""


@dataclass(frozen=True, slots=True)
class CaseView:
    id: int
    customer_ref: str
    status: str
    resolution: str | None
    reported_at: datetime | None
    opened_at: datetime
    updated_at: datetime
    closed_at: datetime | None
    open_alerts: int


@dataclass(frozen=True, slots=True)
class AlertView:
    id: int
    case_id: int
    customer_ref: str
    transfer_ref: str | None
    source: str
    outcome: str
    reasons: list[dict[str, Any]]
    status: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class ReleaseRequestView:
    id: int
    transfer_ref: str
    case_id: int
    status: str
    requested_by: str
    request_reason: str
    requested_at: datetime
    decided_by: str | None
    decision_reason: str | None
    decided_at: datetime | None


@dataclass(frozen=True, slots=True)
class CaseActionView:
    id: int
    transfer_ref: str | None
    action: str
    actor: str
    reason: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class CaseDetail:
    case: CaseView
    alerts: list[AlertView]
    transfers: dict[str, str]
    """Transfer ref -> compliance state (in_review, held, blocked, released)."""
    actions: list[CaseActionView]
    release_requests: list[ReleaseRequestView]


@dataclass(frozen=True, slots=True)
class Decision:
    """What an officer's action changed."""

    case_id: int
    action: str
    case_status: str
    transfers: dict[str, str]
    """Transfer ref -> its new state, for the transfers the action changed."""


# --- statements ---------------------------------------------------------------------------------

_c, _a, _t, _r = cases.c, alerts.c, reviewed_transfers.c, release_requests.c
_NEW_CASE_SQLITE = sqlite_insert(cases).on_conflict_do_nothing(index_elements=[_c.open_customer_ref])
_NEW_CASE_PG = pg_insert(cases).on_conflict_do_nothing(index_elements=[_c.open_customer_ref])
_OPEN_ALERT_COUNT = (
    select(func.count()).where(_a.case_id == _c.id, _a.status == "open").correlate(cases).scalar_subquery()
)
_CASE_SELECT = select(cases, _OPEN_ALERT_COUNT.label("open_alerts"))
_STATE_STRENGTH = {"released": 0, "in_review": 1, "held": 2, "blocked": 3}


def _case_view(row: Any) -> CaseView:
    return CaseView(
        id=int(row.id),
        customer_ref=row.customer_ref,
        status=row.status,
        resolution=row.resolution,
        reported_at=as_utc(row.reported_at) if row.reported_at else None,
        opened_at=as_utc(row.opened_at),
        updated_at=as_utc(row.updated_at),
        closed_at=as_utc(row.closed_at) if row.closed_at else None,
        open_alerts=int(row.open_alerts),
    )


def _alert_view(row: Any) -> AlertView:
    return AlertView(
        id=int(row.id),
        case_id=int(row.case_id),
        customer_ref=row.customer_ref,
        transfer_ref=row.transfer_ref,
        source=row.source,
        outcome=row.outcome,
        reasons=list(row.reasons),
        status=row.status,
        created_at=as_utc(row.created_at),
    )


def _release_view(row: Any) -> ReleaseRequestView:
    return ReleaseRequestView(
        id=int(row.id),
        transfer_ref=row.transfer_ref,
        case_id=int(row.case_id),
        status=row.status,
        requested_by=row.requested_by,
        request_reason=row.request_reason,
        requested_at=as_utc(row.requested_at),
        decided_by=row.decided_by,
        decision_reason=row.decision_reason,
        decided_at=as_utc(row.decided_at) if row.decided_at else None,
    )


def _reason(reason: str | None) -> str:
    text = (reason or "").strip()
    if len(text) < 3:
        raise ReasonRequired("every decision needs a reason (at least 3 characters)")
    if len(text) > MAX_REASON:
        raise ReasonRequired(f"a reason has at most {MAX_REASON} characters")
    return text


def _for_update(conn: AsyncConnection, statement: Any) -> Any:
    # SQLite serialises writers with BEGIN IMMEDIATE; PostgreSQL needs the row lock.
    return statement.with_for_update() if conn.dialect.name == "postgresql" else statement


# --- alerts -------------------------------------------------------------------------------------


async def _open_case_id(conn: AsyncConnection, customer_ref: str, now: datetime) -> int:
    find = _for_update(conn, select(_c.id).where(_c.open_customer_ref == customer_ref))
    case_id = (await conn.execute(find)).scalar_one_or_none()
    if case_id is not None:
        return int(case_id)
    new_case = _NEW_CASE_PG if conn.dialect.name == "postgresql" else _NEW_CASE_SQLITE
    await conn.execute(
        new_case,
        {
            "customer_ref": customer_ref,
            "status": "open",
            "open_customer_ref": customer_ref,
            "opened_at": now,
            "updated_at": now,
        },
    )
    # Either ours, or the one a concurrent alert opened a moment earlier.
    return int((await conn.execute(find)).scalar_one())


def _clean_reasons(reasons: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    cleaned = [dict(reason) for reason in reasons]
    if not cleaned or not all(isinstance(r.get("reason"), str) and r["reason"].strip() for r in cleaned):
        raise ReasonRequired("an alert needs at least one reason, each with a 'reason' text")
    return cleaned


async def open_alert(
    conn: AsyncConnection,
    customer_ref: str,
    transfer_ref: str | None,
    source: AlertSource,
    reasons: Sequence[Mapping[str, Any]],
    *,
    outcome: Literal["review", "block"] = "review",
    now: datetime | None = None,
) -> int:
    """Record an alert in ``customer_ref``'s open case (opening one if needed); returns the case id.

    ``reasons`` are JSON objects with at least a ``reason`` text (monitoring passes
    ``[hit.to_json() for hit in outcome.hits]``). When ``transfer_ref`` is given the transfer is
    held by compliance: ``in_review``, or ``blocked`` when ``outcome`` is ``block``; a second alert
    on the same transfer can make its state stricter, never looser.
    """
    if source not in ("monitoring", "screening"):
        raise ValueError(f"unknown alert source {source!r}")
    if outcome not in ("review", "block"):
        raise ValueError(f"unknown alert outcome {outcome!r}")
    cleaned = _clean_reasons(reasons)
    now = as_utc(now or utc_now())
    case_id = await _open_case_id(conn, customer_ref, now)
    inserted = await conn.execute(
        insert(alerts).returning(_a.id),
        {
            "case_id": case_id,
            "customer_ref": customer_ref,
            "transfer_ref": transfer_ref,
            "source": source,
            "outcome": outcome,
            "reasons": cleaned,
            "status": "open",
            "created_at": now,
        },
    )
    alert_id = int(inserted.scalar_one())
    await conn.execute(update(cases).where(_c.id == case_id).values(updated_at=now))
    if transfer_ref is not None:
        await _hold_transfer(conn, transfer_ref, case_id, customer_ref, outcome, now)
    await record_audit(
        conn,
        f"system:{source}",
        "alert.opened",
        "case",
        str(case_id),
        details={
            "alertId": alert_id,
            "transferRef": transfer_ref,
            "outcome": outcome,
            "rules": [r.get("rule") for r in cleaned if r.get("rule")],
        },
        now=now,
    )
    return case_id


async def _hold_transfer(
    conn: AsyncConnection,
    transfer_ref: str,
    case_id: int,
    customer_ref: str,
    outcome: str,
    now: datetime,
) -> None:
    state = "blocked" if outcome == "block" else "in_review"
    current = (
        await conn.execute(_for_update(conn, select(_t.state).where(_t.transfer_ref == transfer_ref)))
    ).scalar_one_or_none()
    if current is None:
        await conn.execute(
            insert(reviewed_transfers),
            {
                "transfer_ref": transfer_ref,
                "case_id": case_id,
                "customer_ref": customer_ref,
                "state": state,
                "updated_at": now,
            },
        )
    elif current == "released" or _STATE_STRENGTH[state] > _STATE_STRENGTH[current]:
        await conn.execute(
            update(reviewed_transfers)
            .where(_t.transfer_ref == transfer_ref)
            .values(state=state, case_id=case_id, updated_at=now)
        )


async def transfer_state(conn: AsyncConnection, transfer_ref: str) -> str | None:
    """Compliance's hold on a transfer: ``in_review``, ``held``, ``blocked``, ``released`` or None."""
    state = (await conn.execute(select(_t.state).where(_t.transfer_ref == transfer_ref))).scalar_one_or_none()
    return str(state) if state is not None else None


# --- decisions ----------------------------------------------------------------------------------


async def _locked_case(conn: AsyncConnection, case_id: int) -> Any:
    row = (await conn.execute(_for_update(conn, select(cases).where(_c.id == case_id)))).one_or_none()
    if row is None:
        raise CaseNotFound(f"no case {case_id}")
    return row


async def _append_action(
    conn: AsyncConnection,
    case_id: int,
    transfer_ref: str | None,
    action: str,
    officer: Officer,
    reason: str,
    now: datetime,
    details: dict[str, Any] | None = None,
) -> None:
    await conn.execute(
        insert(case_actions),
        {
            "case_id": case_id,
            "transfer_ref": transfer_ref,
            "action": action,
            "actor": officer.actor,
            "reason": reason,
            "created_at": now,
        },
    )
    await record_audit(
        conn,
        officer.actor,
        f"case.{action}",
        "case",
        str(case_id),
        reason,
        {"transferRef": transfer_ref, **(details or {})},
        now=now,
    )


async def decide(
    conn: AsyncConnection,
    case_id: int,
    action: CaseAction,
    officer: Officer,
    reason: str,
    sink: TransferDecisionSink,
    *,
    transfer_ref: str | None = None,
    now: datetime | None = None,
) -> Decision:
    """Apply an officer's ``action`` to case ``case_id`` (or to one of its transfers)."""
    if action not in CASE_ACTIONS:
        raise CaseActionNotAllowed(f"unknown action {action!r}; one of {', '.join(CASE_ACTIONS)}")
    officer.require_officer()
    reason = _reason(reason)
    now = as_utc(now or utc_now())
    case = await _locked_case(conn, case_id)
    if case.status == "closed" and action != "report":
        raise CaseActionNotAllowed(f"case {case_id} is closed; only a report can still be filed")
    if case.status == "escalated" and not officer.is_senior:
        raise SeniorOfficerRequired(f"case {case_id} is escalated: a senior officer decides it")
    transfers_query = select(_t.transfer_ref, _t.state).where(_t.case_id == case_id)
    if transfer_ref is not None:
        transfers_query = transfers_query.where(_t.transfer_ref == transfer_ref)
    transfers = {row.transfer_ref: row.state for row in await conn.execute(transfers_query)}
    if transfer_ref is not None and not transfers:
        raise TransferNotReviewed(f"transfer {transfer_ref} is not held in case {case_id}")

    case_values: dict[str, Any] = {"updated_at": now}
    changed: dict[str, str] = {}
    closes = False
    if action == "clear":
        blocked = sorted(ref for ref, state in transfers.items() if state == "blocked")
        if blocked:
            raise BlockedTransferNeedsRelease(
                f"transfer {blocked[0]} is blocked: releasing it needs a request and a second officer"
            )
        changed = {ref: "released" for ref, state in transfers.items() if state in ("in_review", "held")}
        closes = transfer_ref is None
        if closes:
            case_values["resolution"] = "cleared"
    elif action == "hold":
        changed = {ref: "held" for ref, state in transfers.items() if state == "in_review"}
        case_values["status"] = "on_hold"
    elif action == "block":
        changed = {ref: "blocked" for ref, state in transfers.items() if state in ("in_review", "held")}
        closes = transfer_ref is None
        if closes:
            case_values["resolution"] = "blocked"
    elif action == "escalate":
        if case.status == "escalated":
            raise CaseActionNotAllowed(f"case {case_id} is already escalated")
        case_values["status"] = "escalated"
    elif action == "report":
        if case.reported_at is not None:
            raise CaseActionNotAllowed(f"case {case_id} was already reported")
        case_values["reported_at"] = now

    if closes:
        case_values.update(status="closed", open_customer_ref=None, closed_at=now)
        await conn.execute(update(alerts).where(_a.case_id == case_id).values(status="closed"))
    elif transfer_ref is not None and action in ("clear", "block"):
        await conn.execute(
            update(alerts)
            .where(and_(_a.case_id == case_id, _a.transfer_ref == transfer_ref))
            .values(status="closed")
        )
    await conn.execute(update(cases).where(_c.id == case_id).values(**case_values))
    for ref, state in sorted(changed.items()):
        await conn.execute(
            update(reviewed_transfers).where(_t.transfer_ref == ref).values(state=state, updated_at=now)
        )
    await _append_action(conn, case_id, transfer_ref, action, officer, reason, now, {"transfers": changed})
    for ref, state in sorted(changed.items()):
        if state == "released":
            await sink.on_release(conn, ref)
        elif state == "held":
            await sink.on_hold(conn, ref)
        elif state == "blocked":
            await sink.on_block(conn, ref)
    return Decision(case_id, action, case_values.get("status", case.status), changed)


# --- four eyes ----------------------------------------------------------------------------------


async def request_release(
    conn: AsyncConnection,
    transfer_ref: str,
    officer: Officer,
    reason: str,
    *,
    now: datetime | None = None,
) -> int:
    """The first pair of eyes: ask to release blocked transfer ``transfer_ref``; returns the request id."""
    officer.require_officer()
    reason = _reason(reason)
    now = as_utc(now or utc_now())
    held = (
        await conn.execute(
            _for_update(conn, select(reviewed_transfers).where(_t.transfer_ref == transfer_ref))
        )
    ).one_or_none()
    if held is None:
        raise TransferNotReviewed(f"transfer {transfer_ref} is not held by compliance")
    if held.state != "blocked":
        raise ReleaseNotAllowed(f"transfer {transfer_ref} is {held.state}, not blocked")
    try:
        async with conn.begin_nested():
            inserted = await conn.execute(
                insert(release_requests).returning(_r.id),
                {
                    "transfer_ref": transfer_ref,
                    "case_id": held.case_id,
                    "pending_transfer_ref": transfer_ref,
                    "status": "pending",
                    "requested_by": officer.actor,
                    "request_reason": reason,
                    "requested_at": now,
                },
            )
    except IntegrityError:
        raise ReleaseNotAllowed(f"a release of transfer {transfer_ref} is already pending") from None
    request_id = int(inserted.scalar_one())
    await _append_action(
        conn,
        int(held.case_id),
        transfer_ref,
        "release_requested",
        officer,
        reason,
        now,
        {"requestId": request_id},
    )
    return request_id


async def _pending_request(conn: AsyncConnection, request_id: int) -> Any:
    row = (
        await conn.execute(_for_update(conn, select(release_requests).where(_r.id == request_id)))
    ).one_or_none()
    if row is None:
        raise ReleaseRequestNotFound(f"no release request {request_id}")
    if row.status != "pending":
        raise ReleaseNotAllowed(f"release request {request_id} is already {row.status}")
    return row


async def _close_request(
    conn: AsyncConnection, request_id: int, status: str, officer: Officer, reason: str, now: datetime
) -> None:
    await conn.execute(
        update(release_requests)
        .where(_r.id == request_id)
        .values(
            status=status,
            pending_transfer_ref=None,
            decided_by=officer.actor,
            decision_reason=reason,
            decided_at=now,
        )
    )


async def approve_release(
    conn: AsyncConnection,
    request_id: int,
    officer: Officer,
    reason: str,
    sink: TransferDecisionSink,
    *,
    now: datetime | None = None,
) -> str:
    """The second pair of eyes: release the blocked transfer; returns its ref.

    Refused with ``four_eyes_required`` when ``officer`` is the one who asked.
    """
    officer.require_officer()
    reason = _reason(reason)
    now = as_utc(now or utc_now())
    request = await _pending_request(conn, request_id)
    if request.requested_by == officer.actor:
        raise FourEyesRequired("a release needs a second officer: you requested this one")
    case = await _locked_case(conn, int(request.case_id))
    if case.status == "escalated" and not officer.is_senior:
        raise SeniorOfficerRequired(f"case {case.id} is escalated: a senior officer approves its releases")
    state = await transfer_state(conn, request.transfer_ref)
    if state != "blocked":
        raise ReleaseNotAllowed(f"transfer {request.transfer_ref} is {state}, not blocked")
    await _close_request(conn, request_id, "approved", officer, reason, now)
    await conn.execute(
        update(reviewed_transfers)
        .where(_t.transfer_ref == request.transfer_ref)
        .values(state="released", updated_at=now)
    )
    await _append_action(
        conn,
        int(request.case_id),
        request.transfer_ref,
        "release_approved",
        officer,
        reason,
        now,
        {"requestId": request_id, "requestedBy": request.requested_by},
    )
    await sink.on_release(conn, request.transfer_ref)
    return str(request.transfer_ref)


async def reject_release(
    conn: AsyncConnection,
    request_id: int,
    officer: Officer,
    reason: str,
    *,
    now: datetime | None = None,
) -> None:
    """Turn a pending release down (or, by its requester, withdraw it); the transfer stays blocked."""
    officer.require_officer()
    reason = _reason(reason)
    now = as_utc(now or utc_now())
    request = await _pending_request(conn, request_id)
    await _close_request(conn, request_id, "rejected", officer, reason, now)
    await _append_action(
        conn,
        int(request.case_id),
        request.transfer_ref,
        "release_rejected",
        officer,
        reason,
        now,
        {"requestId": request_id},
    )


# --- reading ------------------------------------------------------------------------------------


async def list_cases(
    conn: AsyncConnection,
    *,
    status: str | None = None,
    customer_ref: str | None = None,
    after_id: int | None = None,
    limit: int = 50,
) -> list[CaseView]:
    """Cases oldest first (a work queue), filtered; ``after_id`` is the cursor."""
    query = _CASE_SELECT.order_by(_c.id).limit(limit)
    if status is not None:
        query = query.where(_c.status == status)
    if customer_ref is not None:
        query = query.where(_c.customer_ref == customer_ref)
    if after_id is not None:
        query = query.where(_c.id > after_id)
    return [_case_view(row) for row in await conn.execute(query)]


async def get_case(conn: AsyncConnection, case_id: int) -> CaseDetail:
    row = (await conn.execute(_CASE_SELECT.where(_c.id == case_id))).one_or_none()
    if row is None:
        raise CaseNotFound(f"no case {case_id}")
    alert_rows = await conn.execute(select(alerts).where(_a.case_id == case_id).order_by(_a.id))
    transfer_rows = await conn.execute(
        select(_t.transfer_ref, _t.state).where(_t.case_id == case_id).order_by(_t.transfer_ref)
    )
    action_rows = await conn.execute(
        select(case_actions).where(case_actions.c.case_id == case_id).order_by(case_actions.c.id)
    )
    request_rows = await conn.execute(select(release_requests).where(_r.case_id == case_id).order_by(_r.id))
    return CaseDetail(
        case=_case_view(row),
        alerts=[_alert_view(alert) for alert in alert_rows],
        transfers={t.transfer_ref: t.state for t in transfer_rows},
        actions=[
            CaseActionView(
                id=int(a.id),
                transfer_ref=a.transfer_ref,
                action=a.action,
                actor=a.actor,
                reason=a.reason,
                created_at=as_utc(a.created_at),
            )
            for a in action_rows
        ],
        release_requests=[_release_view(r) for r in request_rows],
    )


async def list_alerts(
    conn: AsyncConnection, *, status: str | None = None, after_id: int | None = None, limit: int = 50
) -> list[AlertView]:
    """Alerts oldest first, filtered by status; ``after_id`` is the cursor."""
    query = select(alerts).order_by(_a.id).limit(limit)
    if status is not None:
        query = query.where(_a.status == status)
    if after_id is not None:
        query = query.where(_a.id > after_id)
    return [_alert_view(row) for row in await conn.execute(query)]


async def list_release_requests(
    conn: AsyncConnection, *, status: str | None = None, after_id: int | None = None, limit: int = 50
) -> list[ReleaseRequestView]:
    """Release requests oldest first, filtered by status; ``after_id`` is the cursor."""
    query = select(release_requests).order_by(_r.id).limit(limit)
    if status is not None:
        query = query.where(_r.status == status)
    if after_id is not None:
        query = query.where(_r.id > after_id)
    return [_release_view(row) for row in await conn.execute(query)]
