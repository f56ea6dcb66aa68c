"""Back office: alerts, cases and the officers' actions on them, and four-eyes releases of
blocked transfers. Each decision is recorded in the case history and the audit trail by
:mod:`compliance.cases`; case views are audited here."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from litestar import Controller, get, post
from litestar.datastructures import State
from litestar.params import Parameter
from pydantic import Field

from backend.backoffice.common import OFFICERS, Camel, after_id, next_cursor, officer_of
from backend.backoffice.hooks import hooks_of
from backend.staff.guards import StaffPrincipal
from compliance.audit import record_audit
from compliance.cases import (
    AlertView,
    CaseView,
    ReleaseRequestView,
    approve_release,
    decide,
    get_case,
    list_alerts,
    list_cases,
    list_release_requests,
    reject_release,
    request_release,
)

__all__ = ["CasesController"]

Limit = Annotated[int, Parameter(ge=1, le=200, description="Page size.")]
Reason = Annotated[str, Field(max_length=2000, description="Why; required for every decision.")]


class CaseOut(Camel):
    id: int
    customer_ref: str
    status: str
    resolution: str | None
    reported_at: datetime | None
    opened_at: datetime
    updated_at: datetime
    closed_at: datetime | None
    open_alerts: int

    @classmethod
    def of(cls, view: CaseView) -> CaseOut:
        return cls(**{name: getattr(view, name) for name in cls.model_fields})


class AlertOut(Camel):
    id: int
    case_id: int
    customer_ref: str
    transfer_ref: str | None
    source: str
    outcome: str
    reasons: list[dict[str, Any]]
    status: str
    created_at: datetime

    @classmethod
    def of(cls, view: AlertView) -> AlertOut:
        return cls(**{name: getattr(view, name) for name in cls.model_fields})


class ReleaseRequestOut(Camel):
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

    @classmethod
    def of(cls, view: ReleaseRequestView) -> ReleaseRequestOut:
        return cls(**{name: getattr(view, name) for name in cls.model_fields})


class CaseActionOut(Camel):
    id: int
    transfer_ref: str | None
    action: str
    actor: str
    reason: str
    created_at: datetime


class CaseDetailOut(Camel):
    case: CaseOut
    alerts: list[AlertOut]
    transfers: dict[str, str]
    actions: list[CaseActionOut]
    release_requests: list[ReleaseRequestOut]


class CasePage(Camel):
    items: list[CaseOut]
    next_cursor: str | None


class AlertPage(Camel):
    items: list[AlertOut]
    next_cursor: str | None


class ReleaseRequestPage(Camel):
    items: list[ReleaseRequestOut]
    next_cursor: str | None


class CaseActionIn(Camel):
    action: Literal["clear", "hold", "block", "escalate", "report"]
    reason: Reason
    transfer_ref: str | None = Field(
        default=None, max_length=64, description="Only this transfer of the case."
    )


class DecisionOut(Camel):
    case_id: int
    action: str
    case_status: str
    transfers: dict[str, str]


class ReasonIn(Camel):
    reason: Reason


class CasesController(Controller):
    path = "/backoffice/v1"
    tags = ["back office: alerts and cases"]
    guards = OFFICERS

    @get("/alerts", summary="Alerts, oldest first")
    async def alerts(
        self,
        state: State,
        staff: StaffPrincipal,
        status: str | None = "open",
        limit: Limit = 50,
        cursor: str | None = None,
    ) -> AlertPage:
        officer_of(staff)
        async with state.engine.connect() as conn:
            views = await list_alerts(conn, status=status, after_id=after_id(cursor), limit=limit)
        items = [AlertOut.of(view) for view in views]
        return AlertPage(items=items, next_cursor=next_cursor(items, limit, items[-1].id if items else None))

    @get("/cases", summary="Cases, oldest first (the officers' queue)")
    async def cases(
        self,
        state: State,
        staff: StaffPrincipal,
        status: str | None = None,
        customer_ref: Annotated[str | None, Parameter(query="customerRef")] = None,
        limit: Limit = 50,
        cursor: str | None = None,
    ) -> CasePage:
        officer_of(staff)
        async with state.engine.connect() as conn:
            views = await list_cases(
                conn, status=status, customer_ref=customer_ref, after_id=after_id(cursor), limit=limit
            )
        items = [CaseOut.of(view) for view in views]
        return CasePage(items=items, next_cursor=next_cursor(items, limit, items[-1].id if items else None))

    @get("/cases/{case_id:int}", summary="A case: alerts, transfers, history, release requests")
    async def case(self, case_id: int, state: State, staff: StaffPrincipal) -> CaseDetailOut:
        officer = officer_of(staff)
        async with state.engine.begin() as conn:
            detail = await get_case(conn, case_id)
            await record_audit(conn, officer.actor, "case.viewed", "case", str(case_id))
        return CaseDetailOut(
            case=CaseOut.of(detail.case),
            alerts=[AlertOut.of(alert) for alert in detail.alerts],
            transfers=detail.transfers,
            actions=[
                CaseActionOut(
                    id=a.id,
                    transfer_ref=a.transfer_ref,
                    action=a.action,
                    actor=a.actor,
                    reason=a.reason,
                    created_at=a.created_at,
                )
                for a in detail.actions
            ],
            release_requests=[ReleaseRequestOut.of(r) for r in detail.release_requests],
        )

    @post("/cases/{case_id:int}/actions", status_code=200, summary="Clear, hold, block, escalate or report")
    async def act(self, case_id: int, data: CaseActionIn, state: State, staff: StaffPrincipal) -> DecisionOut:
        officer = officer_of(staff)
        async with state.engine.begin() as conn:
            decision = await decide(
                conn,
                case_id,
                data.action,
                officer,
                data.reason,
                hooks_of(state).transfers,
                transfer_ref=data.transfer_ref,
            )
        return DecisionOut(
            case_id=decision.case_id,
            action=decision.action,
            case_status=decision.case_status,
            transfers=decision.transfers,
        )

    @get("/release-requests", summary="Four-eyes release requests, oldest first")
    async def release_requests(
        self,
        state: State,
        staff: StaffPrincipal,
        status: str | None = "pending",
        limit: Limit = 50,
        cursor: str | None = None,
    ) -> ReleaseRequestPage:
        officer_of(staff)
        async with state.engine.connect() as conn:
            views = await list_release_requests(conn, status=status, after_id=after_id(cursor), limit=limit)
        items = [ReleaseRequestOut.of(view) for view in views]
        return ReleaseRequestPage(
            items=items, next_cursor=next_cursor(items, limit, items[-1].id if items else None)
        )

    @post(
        "/transfers/{transfer_ref:str}/release-requests",
        status_code=201,
        summary="Ask for a blocked transfer to be released (first pair of eyes)",
    )
    async def request(
        self, transfer_ref: str, data: ReasonIn, state: State, staff: StaffPrincipal
    ) -> ReleaseRequestOut:
        officer = officer_of(staff)
        async with state.engine.begin() as conn:
            request_id = await request_release(conn, transfer_ref, officer, data.reason)
            views = await list_release_requests(conn, status=None, after_id=request_id - 1, limit=1)
        return ReleaseRequestOut.of(views[0])

    @post(
        "/release-requests/{request_id:int}/approve",
        status_code=200,
        summary="Approve a release (second pair of eyes: not the requester)",
    )
    async def approve(
        self, request_id: int, data: ReasonIn, state: State, staff: StaffPrincipal
    ) -> ReleaseRequestOut:
        officer = officer_of(staff)
        async with state.engine.begin() as conn:
            await approve_release(conn, request_id, officer, data.reason, hooks_of(state).transfers)
            views = await list_release_requests(conn, status=None, after_id=request_id - 1, limit=1)
        return ReleaseRequestOut.of(views[0])

    @post(
        "/release-requests/{request_id:int}/reject", status_code=200, summary="Reject or withdraw a release"
    )
    async def reject(
        self, request_id: int, data: ReasonIn, state: State, staff: StaffPrincipal
    ) -> ReleaseRequestOut:
        officer = officer_of(staff)
        async with state.engine.begin() as conn:
            await reject_release(conn, request_id, officer, data.reason)
            views = await list_release_requests(conn, status=None, after_id=request_id - 1, limit=1)
        return ReleaseRequestOut.of(views[0])
