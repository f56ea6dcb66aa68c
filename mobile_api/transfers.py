"""Transfers for the mobile app: send, list, follow, cancel, and the receipt.

Controllers only: parse, take the signed-in customer, call :class:`backend.transfers.service.
TransferService`, shape the reply. ``POST /v1/transfers`` needs an ``Idempotency-Key``.
"""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.datastructures import State
from litestar.params import Parameter

from backend.i18n import translator_for
from backend.identity.principal import CustomerPrincipal
from backend.identity.profiles import load_profile
from backend.transfers.receipts import render_receipt
from backend.transfers.service import TransferService
from backend.transfers.views import transfer_json
from mobile_api.transfer_schemas import ReceiptOut, TransferOut, TransferPage, TransferRequest

__all__ = ["TransfersController"]

IdempotencyKey = Annotated[
    str | None,
    Parameter(
        header="Idempotency-Key",
        max_length=255,
        description="Required: a fresh UUID per transfer; a retry with the same key replays the reply.",
    ),
]


def _service(state: State) -> TransferService:
    service: TransferService = state.transfers
    return service


class TransfersController(Controller):
    path = "/v1/transfers"
    tags = ["transfers"]

    @post(
        "/",
        summary="Send money",
        description="Sends money with a quote to a recipient. Limits, screening and monitoring decide: the "
        "transfer goes to the partner bank (`sent_to_partner`), waits for a compliance officer "
        "(`under_review`), or is stopped (`cancelled`, `compliance_blocked`). Errors: "
        "`idempotency_key_missing` (400), `idempotency_key_reused` (422), `idempotency_key_in_use` "
        "(409), `quote_expired`, `quote_already_used`, `quote_not_found`, `recipient_not_found`, "
        "`payout_method_mismatch`, `insufficient_funds`, tier limit codes.",
        status_code=201,
    )
    async def send(
        self,
        data: TransferRequest,
        principal: CustomerPrincipal,
        state: State,
        idempotency_key: IdempotencyKey = None,
    ) -> Response[TransferOut]:
        status, body = await _service(state).create(
            principal,
            quote_id=data.quote_id,
            recipient_id=data.recipient_id,
            purpose=data.purpose,
            idempotency_key=idempotency_key,
        )
        return Response(msgspec.convert(body, TransferOut), status_code=status)

    @get("/", summary="Your transfers", description="Newest first, with cursor pagination.")
    async def list_transfers(
        self,
        principal: CustomerPrincipal,
        state: State,
        limit: Annotated[int, Parameter(ge=1, le=100)] = 20,
        cursor: Annotated[str | None, Parameter(max_length=200)] = None,
    ) -> TransferPage:
        items, next_cursor = await _service(state).page(principal.customer_id, limit=limit, cursor=cursor)
        return TransferPage(
            items=[msgspec.convert(transfer_json(item), TransferOut) for item in items],
            next_cursor=next_cursor,
        )

    @get("/{transfer_id:str}", summary="A transfer and its timeline")
    async def read(
        self,
        transfer_id: Annotated[str, Parameter(max_length=36)],
        principal: CustomerPrincipal,
        state: State,
    ) -> TransferOut:
        transfer = await _service(state).get(principal.customer_id, transfer_id)
        return msgspec.convert(transfer_json(transfer), TransferOut)

    @post(
        "/{transfer_id:str}/cancel",
        status_code=200,
        summary="Cancel a transfer",
        description="Possible until the transfer is sent to the partner bank; the reserved money is "
        "returned. "
        "Error: `transfer_not_cancellable` (409).",
    )
    async def cancel(
        self,
        transfer_id: Annotated[str, Parameter(max_length=36)],
        principal: CustomerPrincipal,
        state: State,
    ) -> TransferOut:
        transfer = await _service(state).cancel(principal.customer_id, transfer_id)
        return msgspec.convert(transfer_json(transfer), TransferOut)

    @get(
        "/{transfer_id:str}/receipt",
        summary="The receipt",
        description="In the language of `Accept-Language` (en, az, ru, tr), amounts formatted for it.",
    )
    async def receipt(
        self,
        transfer_id: Annotated[str, Parameter(max_length=36)],
        principal: CustomerPrincipal,
        state: State,
        request: Request[Any, Any, Any],
    ) -> ReceiptOut:
        transfer = await _service(state).get(principal.customer_id, transfer_id)
        async with state.engine.connect() as conn:
            profile = await load_profile(conn, state.identity.personal_data, principal.customer_id)
        tr = translator_for(request.headers.get("accept-language"))
        return msgspec.convert(render_receipt(transfer, profile, tr), ReceiptOut)
