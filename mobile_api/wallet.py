"""The wallet for the mobile app: balances, history, top-ups and cash-outs through a partner bank."""

from __future__ import annotations

from typing import Annotated

import msgspec
from litestar import Controller, Response, get, post
from litestar.datastructures import State
from litestar.params import Parameter

from backend.identity.principal import CustomerPrincipal
from backend.identity.validation import clean_card_number, clean_iban
from backend.problems import Problem
from backend.transfers.wallet import CashoutDestination, WalletService
from mobile_api.quote_schemas import MoneyOut
from mobile_api.transfer_schemas import (
    CashoutRequest,
    TopupRequest,
    WalletBalanceOut,
    WalletHistoryItem,
    WalletHistoryPage,
    WalletOperationOut,
    WalletOut,
)
from mobile_api.transfers import IdempotencyKey

__all__ = ["WalletController"]


def _wallets(state: State) -> WalletService:
    service: WalletService = state.wallets
    return service


class WalletController(Controller):
    path = "/v1/wallet"
    tags = ["wallet"]

    @get("/", summary="Balances", description="Per currency: available (posted less holds), pending, posted.")
    async def balances(self, principal: CustomerPrincipal, state: State) -> WalletOut:
        balances = await _wallets(state).balances(principal.customer_id)
        return WalletOut(
            balances=[
                WalletBalanceOut(
                    currency=b.account.currency,
                    available=MoneyOut.of(b.available),
                    pending=MoneyOut.of(b.pending),
                    posted=MoneyOut.of(b.posted),
                )
                for b in balances
            ]
        )

    @get("/history", summary="Wallet history", description="Postings of one currency, newest first.")
    async def history(
        self,
        principal: CustomerPrincipal,
        state: State,
        currency: Annotated[str, Parameter(min_length=3, max_length=3, pattern="^[A-Z]{3}$")],
        limit: Annotated[int, Parameter(ge=1, le=100)] = 20,
        cursor: Annotated[str | None, Parameter(max_length=200)] = None,
    ) -> WalletHistoryPage:
        page = await _wallets(state).history(principal.customer_id, currency, limit=limit, cursor=cursor)
        return WalletHistoryPage(
            items=[
                WalletHistoryItem(
                    entry_id=str(item.entry_id),
                    direction="in" if item.side.value == "credit" else "out",
                    phase=item.phase.value,
                    amount=MoneyOut.of(item.amount),
                    created_at=item.created_at.isoformat(),
                    reference=item.reference,
                )
                for item in page.items
            ],
            next_cursor=page.next_cursor,
        )

    @post("/topups", status_code=201, summary="Top up", description="Needs an `Idempotency-Key`.")
    async def top_up(
        self,
        data: TopupRequest,
        principal: CustomerPrincipal,
        state: State,
        idempotency_key: IdempotencyKey = None,
    ) -> Response[WalletOperationOut]:
        amount = data.amount.to_money()
        if not amount.is_positive():
            raise Problem(422, "amount_not_positive", "A top-up amount is positive.")
        status, body = await _wallets(state).top_up(
            principal.customer_id, amount, idempotency_key=idempotency_key
        )
        return Response(msgspec.convert(body, WalletOperationOut), status_code=status)

    @post("/cashouts", status_code=201, summary="Cash out", description="Needs an `Idempotency-Key`.")
    async def cash_out(
        self,
        data: CashoutRequest,
        principal: CustomerPrincipal,
        state: State,
        idempotency_key: IdempotencyKey = None,
    ) -> Response[WalletOperationOut]:
        amount = data.amount.to_money()
        if not amount.is_positive():
            raise Problem(422, "amount_not_positive", "A cash-out amount is positive.")
        if (data.iban is None) == (data.card_number is None):
            raise Problem(422, "validation_error", "Give exactly one of iban and cardNumber.")
        if data.iban is not None:
            destination = CashoutDestination("iban", clean_iban(data.iban, data.iban.strip()[:2].upper()))
        else:
            assert data.card_number is not None
            destination = CashoutDestination("card", clean_card_number(data.card_number).digits)
        status, body = await _wallets(state).cash_out(
            principal.customer_id, amount, destination, idempotency_key=idempotency_key
        )
        return Response(msgspec.convert(body, WalletOperationOut), status_code=status)
