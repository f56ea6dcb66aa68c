"""The partner API, ``/partner/v1``: who am I, payouts (pull, confirm, fail). Every route is signed.

Settlement statements and reconciliation live in :mod:`backend.partners.settlement_api` under the
same router, guard and rules.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from litestar import Controller, Request, Response, Router, get, post
from litestar.datastructures import State
from litestar.di import Provide
from litestar.params import Parameter
from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel
from sqlalchemy.ext.asyncio import AsyncConnection

from backend.group_commit import GroupCommit
from backend.idempotency import claim, fingerprint, store_reply
from backend.partners.auth import PartnerPrincipal, partner_guard, partner_principal, partner_secrets
from backend.partners.outcomes import PayoutOutcomeHandler, RecordingOutcomeHandler, RefusingOutcomeHandler
from backend.partners.payouts import (
    PayoutStatus,
    claim_pending,
    confirm_payout,
    fail_payout,
    get_payout_for_partner,
    list_payouts,
)
from backend.partners.service import get_partner

__all__ = ["PartnerPayoutsController", "outcome_handler", "partner_router"]


class _Body(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid", frozen=True)


class ConfirmBody(_Body):
    """Body of ``POST /payouts/{id}/confirm``."""

    partner_reference: str | None = Field(
        default=None, max_length=64, description="Your own id of the payment."
    )


class FailBody(_Body):
    """Body of ``POST /payouts/{id}/fail``."""

    reason: str = Field(min_length=1, max_length=500, description="Why it could not be paid, for the sender.")


def outcome_handler(state: State) -> PayoutOutcomeHandler:
    """The handler the app was given (``state.payout_outcomes``), or the environment's default."""
    handler = state.get("payout_outcomes")
    if handler is None:
        handler = RefusingOutcomeHandler() if state.settings.env == "prod" else RecordingOutcomeHandler()
        state.payout_outcomes = handler
    return handler  # type: ignore[no-any-return]


Limit = Annotated[int, Parameter(ge=1, le=200, description="Page size.")]


class PartnerPayoutsController(Controller):
    path = ""
    tags = ["partner: payouts"]

    @get(
        "/me",
        summary="Who am I",
        description="The partner and key that signed this request: a signature check.",
    )
    async def me(self, state: State, partner: PartnerPrincipal) -> dict[str, Any]:
        async with state.engine.connect() as conn:
            found = await get_partner(conn, partner.partner_id)
        return {**found.to_json(), "keyId": partner.key_id}

    @get(
        "/payouts",
        summary="List or claim payouts",
        description=(
            "`status=pending` claims up to `limit` pending payouts (with their beneficiaries) for 5 minutes; "
            "confirm or fail each before the lease ends, or it is offered again. Other statuses list payouts."
        ),
    )
    async def payouts(
        self,
        state: State,
        partner: PartnerPrincipal,
        status: PayoutStatus = PayoutStatus.PENDING,
        limit: Limit = 50,
        cursor: str = "",
    ) -> dict[str, Any]:
        keys = partner_secrets(state)
        if status is PayoutStatus.PENDING:
            async with state.engine.begin() as conn:
                leased = await claim_pending(
                    conn, partner.partner_id, partner.key_id, limit=limit, sealer=keys.sealer
                )
            return {
                "items": [payout.to_json(beneficiary) for payout, beneficiary in leased],
                "nextCursor": None,
            }
        async with state.engine.connect() as conn:
            page, next_cursor = await list_payouts(
                conn, partner.partner_id, status, limit=limit, after=cursor
            )
        return {"items": [payout.to_json() for payout in page], "nextCursor": next_cursor}

    @get("/payouts/{payout_id:str}", summary="One payout, with its beneficiary")
    async def payout(self, state: State, partner: PartnerPrincipal, payout_id: str) -> dict[str, Any]:
        async with state.engine.connect() as conn:
            payout, beneficiary = await get_payout_for_partner(
                conn, partner.partner_id, payout_id, partner_secrets(state).sealer
            )
        return payout.to_json(beneficiary)

    @post(
        "/payouts/{payout_id:str}/confirm",
        status_code=200,
        summary="Confirm a payout",
        description=(
            "You paid the beneficiary. Repeating it returns the same payout and changes nothing. "
            "An `Idempotency-Key` header is honoured when sent."
        ),
    )
    async def confirm(
        self,
        state: State,
        partner: PartnerPrincipal,
        payout_id: str,
        data: ConfirmBody,
        request: Request[Any, Any, Any],
    ) -> Response[dict[str, Any]]:
        async def work(conn: AsyncConnection) -> dict[str, Any]:
            payout = await confirm_payout(
                conn,
                partner.partner_id,
                payout_id,
                outcome_handler(state),
                partner_reference=data.partner_reference,
            )
            return payout.to_json()

        return await _once(state, partner, request, data, work, payout_id)

    @post(
        "/payouts/{payout_id:str}/fail",
        status_code=200,
        summary="Fail a payout",
        description=(
            "You could not pay. The sender is refunded and told. Repeating it changes nothing. "
            "An `Idempotency-Key` header is honoured when sent."
        ),
    )
    async def fail(
        self,
        state: State,
        partner: PartnerPrincipal,
        payout_id: str,
        data: FailBody,
        request: Request[Any, Any, Any],
    ) -> Response[dict[str, Any]]:
        async def work(conn: AsyncConnection) -> dict[str, Any]:
            payout = await fail_payout(
                conn, partner.partner_id, payout_id, data.reason, outcome_handler(state)
            )
            return payout.to_json()

        return await _once(state, partner, request, data, work, payout_id)


async def _once(
    state: State,
    partner: PartnerPrincipal,
    request: Request[Any, Any, Any],
    data: BaseModel,
    work: Callable[[AsyncConnection], Awaitable[dict[str, Any]]],
    payout_id: str,
) -> Response[dict[str, Any]]:
    """Run ``work`` in one transaction; with an ``Idempotency-Key``, replay the first reply to that key.

    Confirm and fail are idempotent by themselves; the key adds the house contract on top (same key
    with another body: 422), for integrators whose HTTP stack sends one on every POST. With a
    group commit on ``state`` (``partner_group_commit``, PostgreSQL), outcomes arriving together
    share one transaction (:mod:`backend.group_commit`), one per payout.
    """
    key = request.headers.get("idempotency-key")
    scope = f"partner:{partner.partner_id}"
    request_hash = fingerprint("POST", request.url.path, data.model_dump(mode="json"))

    async def unit(conn: AsyncConnection) -> tuple[int, Any]:
        if key:
            stored = await claim(conn, scope, key, request_hash)
            if stored is not None:
                return stored.status_code, stored.body
        body = await work(conn)
        if key:
            await store_reply(conn, scope, key, request_hash, 200, body)
        return 200, body

    async def alone() -> tuple[int, Any]:
        async with state.engine.begin() as conn:
            return await unit(conn)

    commits: GroupCommit | None = state.get("partner_group_commit")
    status_code, body = await (alone() if commits is None else commits.run(payout_id, unit, alone))
    return Response(body, status_code=status_code)


def partner_router() -> Router:
    """``/partner/v1``: every handler behind the signature guard."""
    from backend.partners.settlement_api import PartnerSettlementController

    return Router(
        path="/partner/v1",
        route_handlers=[PartnerPayoutsController, PartnerSettlementController],
        guards=[partner_guard],
        dependencies={"partner": Provide(partner_principal)},
    )
