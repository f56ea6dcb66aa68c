"""Back office for partner operations, ``/backoffice/v1`` (roles operator or admin): outbox dead letters
and re-drive, reconciliation exceptions, settlement windows (close, settle), partner banks.

Every change is written to the audit trail with the staff member as actor, in the same transaction.
"""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, get, post
from litestar.datastructures import State
from litestar.params import Parameter
from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel
from sqlalchemy import select

from backend.clock import utcnow
from backend.outbox.admin import count_by_status, list_events, redrive
from backend.partners.service import Partner, list_keys
from backend.partners.settlement import close_by_hand
from backend.partners.tables import partners
from backend.staff.guards import StaffPrincipal, require_roles
from compliance.audit import record_audit
from ledger.settlement.reconciliation import list_exceptions, resolve_exception
from ledger.settlement.windows import list_windows, settle_window

__all__ = ["PartnerBackofficeController"]

Limit = Annotated[int, Parameter(ge=1, le=200, description="Page size.")]


class _Body(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid", frozen=True)


class ResolveBody(_Body):
    """Body of resolving a reconciliation exception."""

    note: str = Field(min_length=3, max_length=500, description="What was found and done.")


class SettleBody(_Body):
    """Body of settling a window."""

    reference: str = Field(min_length=1, max_length=64, description="Reference of the settlement payment.")


def _actor(staff: StaffPrincipal) -> str:
    return f"staff:{staff.staff_id}"


class PartnerBackofficeController(Controller):
    path = "/backoffice/v1"
    tags = ["back office: partners"]
    guards = [require_roles("operator", "admin")]

    @get("/outbox", summary="Outbox events by status", description="Dead letters by default, with counts.")
    async def outbox(
        self, state: State, status: str = "dead", limit: Limit = 50, cursor: str = ""
    ) -> dict[str, Any]:
        async with state.engine.connect() as conn:
            page, next_cursor = await list_events(conn, status, limit=limit, after=cursor)
            counts = await count_by_status(conn)
        return {"items": [e.to_json() for e in page], "nextCursor": next_cursor, "counts": counts}

    @post(
        "/outbox/{event_id:str}/redrive", status_code=200, summary="Re-drive a dead event (same webhook-id)"
    )
    async def redrive_event(self, state: State, staff: StaffPrincipal, event_id: str) -> dict[str, Any]:
        async with state.engine.begin() as conn:
            await redrive(conn, event_id)
            await record_audit(conn, _actor(staff), "outbox.redriven", "outbox_event", event_id)
        return {"id": event_id, "status": "pending"}

    @get("/reconciliation/exceptions", summary="Reconciliation exceptions")
    async def exceptions(
        self,
        state: State,
        status: str = "open",
        partner_id: Annotated[str | None, Parameter(query="partnerId")] = None,
        limit: Limit = 50,
        cursor: str = "",
    ) -> dict[str, Any]:
        async with state.engine.connect() as conn:
            page, next_cursor = await list_exceptions(
                conn, status=status, partner_id=partner_id, limit=limit, after=cursor
            )
        return {"items": page, "nextCursor": next_cursor}

    @post(
        "/reconciliation/exceptions/{exception_id:str}/resolve",
        status_code=200,
        summary="Resolve an exception",
    )
    async def resolve(
        self, state: State, staff: StaffPrincipal, exception_id: str, data: ResolveBody
    ) -> dict[str, Any]:
        async with state.engine.begin() as conn:
            await resolve_exception(
                conn, exception_id, resolved_by=_actor(staff), note=data.note, now=utcnow()
            )
            await record_audit(
                conn,
                _actor(staff),
                "reconciliation.exception_resolved",
                "reconciliation_exception",
                exception_id,
                reason=data.note,
            )
        return {"id": exception_id, "status": "resolved"}

    @get("/settlement/windows", summary="Settlement windows of every partner")
    async def windows(
        self,
        state: State,
        partner_id: Annotated[str | None, Parameter(query="partnerId")] = None,
        status: str | None = None,
        limit: Limit = 50,
        cursor: str = "",
    ) -> dict[str, Any]:
        async with state.engine.connect() as conn:
            page, next_cursor = await list_windows(conn, partner_id, status=status, limit=limit, after=cursor)
        return {
            "items": [{**w.to_json(), "partnerId": w.partner_id} for w in page],
            "nextCursor": next_cursor,
        }

    @post("/settlement/windows/{window_id:str}/close", status_code=200, summary="Close a window now")
    async def close(self, state: State, staff: StaffPrincipal, window_id: str) -> dict[str, Any]:
        async with state.engine.begin() as conn:
            closed, successor = await close_by_hand(conn, window_id, closed_by=_actor(staff))
            await record_audit(
                conn, _actor(staff), "settlement.window_closed", "settlement_window", window_id
            )
        return {"closed": closed.to_json(), "next": successor.to_json()}

    @post("/settlement/windows/{window_id:str}/settle", status_code=200, summary="Record a window as settled")
    async def settle(
        self, state: State, staff: StaffPrincipal, window_id: str, data: SettleBody
    ) -> dict[str, Any]:
        async with state.engine.begin() as conn:
            window = await settle_window(
                conn, window_id, reference=data.reference, settled_by=_actor(staff), now=utcnow()
            )
            await record_audit(
                conn,
                _actor(staff),
                "settlement.window_settled",
                "settlement_window",
                window_id,
                details={"reference": data.reference},
            )
        return window.to_json()

    @get("/partners", summary="Partner banks and their keys (no secrets)")
    async def partner_list(self, state: State) -> dict[str, Any]:
        async with state.engine.connect() as conn:
            rows = (await conn.execute(select(partners).order_by(partners.c.code))).mappings()
            found = [Partner.from_row(row) for row in rows]
            items = [{**p.to_json(), "keys": await list_keys(conn, p.id)} for p in found]
        return {"items": items, "nextCursor": None}
