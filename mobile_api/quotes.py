"""Corridors and quotes for the mobile app: GET /v1/corridors, POST /v1/quotes, GET /v1/quotes/{id}.

Corridors are public. Quotes may be asked for anonymously (to show a price before sign-up); a
signed-in customer's quote is bound to them, so only they can read it or send with it. No business
logic here: parse, call :class:`backend.quotes.QuoteService`, shape the reply.
"""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, get, post
from litestar.di import Provide
from litestar.params import Parameter

from backend.identity.guards import AuthLevel, CustomerPrincipal, auth_level
from backend.problems import Problem
from backend.quotes import QuoteService, quote_service
from mobile_api.quote_schemas import CorridorOut, CorridorPage, QuoteOut, QuoteRequest

__all__ = ["QuotesController"]


class QuotesController(Controller):
    """The price of a transfer before it is sent, guaranteed for a while."""

    path = "/v1"
    tags = ["quotes"]
    dependencies = {"service": Provide(quote_service, sync_to_thread=False)}

    @get(
        "/corridors",
        opt=auth_level(AuthLevel.PUBLIC),
        summary="Corridors",
        description="Where money can be sent from and to, how it is paid out, within which limits, "
        "how fast, and at which price (fees and FX margin of the price in force).",
    )
    async def list_corridors(
        self,
        service: QuoteService,
        limit: Annotated[int, Parameter(ge=1, le=100)] = 50,
        cursor: Annotated[str | None, Parameter(max_length=32)] = None,
    ) -> CorridorPage:
        now = service.now()
        corridors = [c for c in await service.corridors() if cursor is None or c.code > cursor]
        page = corridors[:limit]
        next_cursor = page[-1].code if len(corridors) > limit else None
        return CorridorPage(items=[CorridorOut.of(c, now) for c in page], next_cursor=next_cursor)

    @post(
        "/quotes",
        summary="Get a quote",
        description="Price a transfer for a fixed send amount or a fixed receive amount. The rate is "
        "guaranteed until `expiresAt`; a transfer may use the quote once. Errors: `unknown_corridor`, "
        "`payout_method_unavailable`, `amount_outside_limits`, `amount_not_positive`, `rate_stale`, "
        "`rate_unavailable`, `price_unavailable`, `currency_mismatch`.",
        status_code=201,
        opt=auth_level(AuthLevel.OPTIONAL),
    )
    async def create_quote(
        self, data: QuoteRequest, service: QuoteService, optional_principal: CustomerPrincipal | None
    ) -> QuoteOut:
        if (data.send_amount is None) == (data.receive_amount is None):
            raise Problem(400, "validation_error", "Give exactly one of sendAmount and receiveAmount.")
        quote = await service.quote(
            data.corridor,
            data.payout_method,
            send_amount=data.send_amount.to_money() if data.send_amount else None,
            receive_amount=data.receive_amount.to_money() if data.receive_amount else None,
            customer_id=str(optional_principal.customer_id) if optional_principal else None,
        )
        return QuoteOut.of(quote, service.now())

    @get(
        "/quotes/{quote_id:str}",
        summary="A quote",
        description="A stored quote and whether it is still open. Another customer's quote answers 404.",
        opt=auth_level(AuthLevel.OPTIONAL),
    )
    async def read_quote(
        self,
        quote_id: Annotated[str, Parameter(max_length=36)],
        service: QuoteService,
        optional_principal: CustomerPrincipal | None,
    ) -> QuoteOut:
        quote = await service.get(quote_id)
        owner = optional_principal.customer_id if optional_principal else None
        if quote.customer_id is not None and quote.customer_id != str(owner):
            raise Problem(404, "quote_not_found", f"no quote {quote_id}")
        return QuoteOut.of(quote, service.now())
